/* Physical operators: see ops.h, and ops_int.h for how they are split between files. This file
 * holds what every operator shares and the streaming operators, which pass each batch on as it
 * comes: values, scan, filter, project and limit. */
#include "sql/ops_int.h"

#include "sql/errstage.h"

#include "util/timeutil.h"

#include <string.h>

int q_check(qctx *q, err *er) {
    return budget_check(&q->budget, er);
}

arena *q_scratch(qctx *q) {
    if (!q->scratch) {
        q->scratch = arena_new(0);
        arena_set_budget(q->scratch, &q->budget);
    }
    arena_reset(q->scratch);
    return q->scratch;
}

void op_init(op *o, qctx *q, uint32_t ncols) {
    o->q = q;
    o->ncols = ncols;
    o->types = arena_calloc(q->a, ncols + 1);
    o->units = arena_calloc(q->a, ncols + 1);
    o->has_tz = arena_calloc(q->a, ncols + 1);
}

void op_copy_cols(op *o, uint32_t at, const op *src) {
    memcpy(o->types + at, src->types, src->ncols);
    memcpy(o->units + at, src->units, src->ncols);
    memcpy(o->has_tz + at, src->has_tz, src->ncols);
}

void op_explain_as(op *o, const char *pname, const char *lname, op **children, uint32_t n) {
    o->pname = pname;
    o->lname = lname;
    o->children = children;
    o->nchildren = n;
}

void op_explain_child(op *o, void (*describe)(const op *, op_explain *), op **child) {
    o->describe = describe;
    o->children = child;
    o->nchildren = 1;
}

static void noop_close(op *o) {
    (void)o;
}

void batch_take(arena *a, const batch *in, const uint32_t *idx, uint32_t n, batch *out) {
    out->ncols = in->ncols;
    out->nrows = n;
    out->cols = arena_alloc(a, sizeof *out->cols * (in->ncols ? in->ncols : 1));
    for (uint32_t c = 0; c < in->ncols; c++) vec_take(a, &in->cols[c], idx, n, &out->cols[c]);
}

/* ------------------------------------------------------------------ values */

struct values_op {
    op o;
    batch *batches;
    uint32_t n, pos;
};

static int values_next(op *o, batch *b, err *er) {
    struct values_op *v = (struct values_op *)o;
    if (v->pos >= v->n) return 0;
    *b = v->batches[v->pos++];
    return 1;
}

/* VALUES rows shown in a logical plan; past this many the plan says how many more. */
#define VALUES_SHOWN 16

/* A VALUES list (DataFusion's columns column1, column2, ...), or, without columns, the one
 * empty row of a SELECT without FROM. */
static void values_describe(const op *o, op_explain *x) {
    const struct values_op *v = (const struct values_op *)o;
    uint64_t rows = 0;
    for (uint32_t i = 0; i < v->n; i++) rows += v->batches[i].nrows;
    if (o->ncols == 0) {
        x->lname = "EmptyRelation";
        x->pname = "EmptyExec";
        buf_printf(&x->pd, "produce_one_row=%s", rows ? "true" : "false");
        return;
    }
    x->lname = "Values";
    x->pname = "ValuesExec";
    for (uint32_t c = 0; c < o->ncols; c++)
        x->out.lname[c] = x->out.pname[c] = arena_printf(x->a, "column%u", c + 1);
    uint64_t shown = 0;
    for (uint32_t k = 0; k < v->n; k++)
        for (uint32_t i = 0; i < v->batches[k].nrows && shown < VALUES_SHOWN; i++, shown++) {
            buf_puts(&x->ld, shown ? ", (" : "(");
            for (uint32_t c = 0; c < o->ncols; c++) {
                value val;
                vec_get(&v->batches[k].cols[c], i, &val);
                if (c) buf_puts(&x->ld, ", ");
                ex_value(&x->ld, &val, false);
            }
            buf_putc(&x->ld, ')');
        }
    if (rows > shown) buf_printf(&x->ld, ", ... (%llu rows)", (unsigned long long)rows);
}

op *op_values(qctx *q, uint32_t ncols, const uint8_t *types, const uint8_t *units, batch *batches,
              uint32_t nbatches) {
    struct values_op *v = arena_calloc(q->a, sizeof *v);
    op_init(&v->o, q, ncols);
    if (ncols) memcpy(v->o.types, types, ncols);
    if (units && ncols) memcpy(v->o.units, units, ncols);
    v->o.next = values_next;
    v->o.close = noop_close;
    v->o.describe = values_describe;
    v->batches = batches;
    v->n = nbatches;
    return &v->o;
}

/* ------------------------------------------------------------------ scan */

struct scan_op {
    op o;
    scan *s;
    const scan_spec *spec;
    const scan_desc *desc;
    bool newest;               /* op_scan_newest */
    struct scan_op *next_scan; /* qctx.scans */
};

static int scan_next(op *o, batch *b, err *er) {
    struct scan_op *s = (struct scan_op *)o;
    if (q_check(o->q, er) < 0) return -1;
    int rc = engine_scan_next(s->s, o->q->ba, b, er);
    /* an error of a filter the scan evaluates is the storage scan's, as CnosDB words it */
    if (rc < 0) errstage_in_scan(er);
    /* Storage leaves the slots of NULL field values unspecified: any bits are a number, but
     * not a bool or a string view (util/types.h). Only such columns with NULLs pay. */
    if (rc > 0)
        for (uint32_t c = 0; c < b->ncols; c++)
            if (b->cols[c].type == VT_BOOL || b->cols[c].type == VT_STR)
                vec_zero_nulls(&b->cols[c], b->nrows);
    return rc;
}

static void scan_close(op *o) {
    struct scan_op *s = (struct scan_op *)o;
    engine_scan_close(s->s);
}

/* One end of the scan's time range, or none (-inf / +inf). */
static void put_time_bound(buf *b, int64_t v, int64_t none, uint8_t unit) {
    if (v == none) {
        buf_puts(b, v < 0 ? "-inf" : "+inf");
        return;
    }
    char tmp[48];
    buf_append(b, tmp, time_format(tmp, v, unit, TSFMT_TRIM, false));
}

/* The conjuncts storage applies exactly, as a logical plan prints pushed filters: the time
 * range as comparisons of time, then the tag predicate. */
static void scan_full_filters(const struct scan_op *s, const ex_cols *out, const ex_cols *tags,
                              buf *b) {
    const scan_spec *sp = s->spec;
    const char *t = out->lname[0];
    value v = {.type = VT_TS, .unit = sp->precision};
    bool any = false;
    if (sp->tmin > sp->tmax) {
        buf_puts(b, "Boolean(false)");
        any = true;
    } else if (sp->tmin == sp->tmax) {
        v.v.i = sp->tmin;
        buf_printf(b, "%s = ", t);
        ex_value(b, &v, false);
        any = true;
    } else {
        if (sp->tmin != INT64_MIN) {
            v.v.i = sp->tmin;
            buf_printf(b, "%s >= ", t);
            ex_value(b, &v, false);
            any = true;
        }
        if (sp->tmax != INT64_MAX) {
            v.v.i = sp->tmax;
            buf_printf(b, "%s%s <= ", any ? ", " : "", t);
            ex_value(b, &v, false);
            any = true;
        }
    }
    if (s->desc && s->desc->tag_pred) {
        if (any) buf_puts(b, ", ");
        ex_expr(b, s->desc->tag_pred, tags, false);
    }
}

/* TableScan / TskvExec: the table, the columns read, and what storage applies: the time range,
 * the tag predicate (once per series) and the `tag = constant` lookups in the series index. */
static void scan_describe(const op *o, op_explain *x) {
    const struct scan_op *s = (const struct scan_op *)o;
    const scan_spec *sp = s->spec;
    const scan_desc *d = s->desc;
    const char *table = d && d->table ? d->table : "?";
    const char *qual = d && d->qual ? d->qual : table;
    for (uint32_t c = 0; c < o->ncols; c++) {
        const char *nm = d && d->cols ? d->cols[c] : NULL;
        if (!nm)
            nm = c == 0 ? "time"
                        : arena_printf(x->a, "%s#%u", c <= sp->ntags ? "tag" : "field",
                                       c <= sp->ntags ? sp->tag_ids[c - 1]
                                                      : sp->field_ids[c - 1 - sp->ntags]);
        x->out.pname[c] = nm;
        x->out.lname[c] = arena_printf(x->a, "%s.%s", qual, nm);
    }
    /* the tag predicate reads the spec's tags: output columns 1..ntags */
    ex_cols tags = {sp->ntags, x->out.lname + 1, x->out.pname + 1, 1};
    x->lname = "TableScan";
    x->pname = "TskvExec";
    buf_printf(&x->ld, "%s projection=[", table);
    buf_printf(&x->pd, "table=%s, projection=[", table);
    for (uint32_t c = 0; c < o->ncols; c++) {
        buf_printf(&x->ld, "%s%s", c ? ", " : "", x->out.pname[c]);
        buf_printf(&x->pd, "%s%s", c ? "," : "", x->out.pname[c]);
    }
    buf_puts(&x->ld, "]");
    buf_puts(&x->pd, "]");
    if (sp->tmin != INT64_MIN || sp->tmax != INT64_MAX || (d && d->tag_pred)) {
        buf_puts(&x->ld, ", full_filters=[");
        scan_full_filters(s, &x->out, &tags, &x->ld);
        buf_puts(&x->ld, "]");
    }
    buf_puts(&x->pd, ", time_range=");
    if (sp->tmin > sp->tmax) {
        buf_puts(&x->pd, "empty");
    } else {
        buf_putc(&x->pd, '[');
        put_time_bound(&x->pd, sp->tmin, INT64_MIN, sp->precision);
        buf_puts(&x->pd, ", ");
        put_time_bound(&x->pd, sp->tmax, INT64_MAX, sp->precision);
        buf_putc(&x->pd, ']');
    }
    if (d && d->tag_pred) {
        buf_puts(&x->pd, ", tag_filter=");
        ex_expr(&x->pd, d->tag_pred, &tags, true);
    }
    if (sp->neq) {
        buf_puts(&x->pd, ", series_index=[");
        for (uint32_t i = 0; i < sp->neq; i++) {
            const char *nm = "?";
            for (uint32_t k = 0; k < sp->ntags; k++)
                if (sp->tag_ids[k] == sp->eq_tag_ids[i]) nm = tags.pname[k];
            uint32_t lo = sp->eq_off[i], hi = sp->eq_off[i + 1];
            buf_printf(&x->pd, "%s%s %s", i ? ", " : "", nm, hi - lo == 1 ? "= " : "IN (");
            for (uint32_t v = lo; v < hi; v++)
                buf_printf(&x->pd, "%s%.*s", v > lo ? ", " : "", (int)sp->eq_vals[v].len,
                           sp->eq_vals[v].p);
            if (hi - lo != 1) buf_putc(&x->pd, ')');
        }
        buf_putc(&x->pd, ']');
    }
    if (!sp->need_time) buf_puts(&x->pd, ", time_read=false");
    if (s->newest) buf_puts(&x->pd, ", newest_rows_per_series=true");
}

/* Parts over runs of the scan's series (engine_scan_split). A spec that checks the deadline
 * through this scan's context (the planner's) checks through each part's in that part. */
static uint32_t scan_split(op *o, qctx *const *qs, uint32_t n, op **parts) {
    struct scan_op *s = (struct scan_op *)o;
    arena **as = arena_alloc(o->q->a, sizeof *as * n);
    scan **cur = arena_alloc(o->q->a, sizeof *cur * n);
    for (uint32_t i = 0; i < n; i++) as[i] = qs[i]->a;
    uint32_t m =
        engine_scan_split(s->s, n, as, s->spec->check_ctx == o->q ? (void *const *)qs : NULL, cur);
    for (uint32_t i = 0; i < m; i++) {
        struct scan_op *p = arena_alloc(qs[i]->a, sizeof *p);
        *p = *s;
        p->o.q = qs[i];
        p->o.next = scan_next;
        p->o.stats = NULL;
        p->o.split = NULL;
        p->s = cur[i];
        parts[i] = &p->o;
    }
    return m;
}

bool op_scan_newest(op *o, const uint32_t *cols, uint32_t ncols) {
    if (o->next != scan_next) return false;
    struct scan_op *s = (struct scan_op *)o;
    if (s->spec->keep) return false; /* a row filter, which newest rows would not honour */
    for (uint32_t i = 0; i < ncols; i++)
        if (cols[i] < 1 || cols[i] > s->spec->ntags) return false;
    engine_scan_newest(s->s);
    s->newest = true;
    return true;
}

op *op_scan(qctx *q, engine *g, const scan_spec *spec, const scan_desc *desc, err *er) {
    struct scan_op *s = arena_calloc(q->a, sizeof *s);
    uint32_t n = 1 + spec->ntags + spec->nfields;
    op_init(&s->o, q, n);
    s->o.types[0] = VT_TS;
    s->o.units[0] = spec->precision;
    for (uint32_t i = 0; i < spec->ntags; i++) s->o.types[1 + i] = VT_STR;
    for (uint32_t i = 0; i < spec->nfields; i++)
        s->o.types[1 + spec->ntags + i] = spec->field_types[i];
    s->o.next = scan_next;
    s->o.close = scan_close;
    s->o.describe = scan_describe;
    s->o.split = scan_split;
    s->spec = spec;
    s->desc = desc;
    if (engine_scan_open(g, spec, q->a, &s->s, er) < 0) return NULL;
    s->next_scan = q->scans;
    q->scans = s;
    return &s->o;
}

size_t op_scans_estimate(qctx *q, size_t cap) {
    if (q->unestimated) return cap + 1;
    size_t values = 0;
    for (struct scan_op *s = q->scans; s && values <= cap; s = s->next_scan) {
        size_t per_row = 1 + s->spec->nfields;
        size_t rows = engine_scan_estimate(s->s, cap / per_row + 1);
        values += rows * per_row;
    }
    return values > cap ? cap + 1 : values;
}

/* ------------------------------------------------------------------ filter */

struct filter_op {
    op o;
    op *child;
    bexpr *pred; /* shown */
    bexpr *eval; /* evaluated: pred less what the scan below applies; NULL = nothing */
};

int op_select(const bexpr *pred, const batch *b, arena *a, uint32_t *idx, err *er) {
    vec p;
    if (bexpr_eval(pred, b, a, &p, er) < 0) return -1;
    int n = 0;
    if (p.type == VT_BOOL) {
        for (uint32_t i = 0; i < b->nrows; i++)
            if (p.d.b[i] && vec_is_valid(&p, i)) idx[n++] = i;
    }
    return n;
}

static int filter_next(op *o, batch *b, err *er) {
    struct filter_op *f = (struct filter_op *)o;
    if (!f->eval) return f->child->next(f->child, b, er);
    for (;;) {
        batch in;
        int rc = f->child->next(f->child, &in, er);
        if (rc <= 0) return rc;
        uint32_t *idx = arena_alloc(o->q->ba, sizeof *idx * (in.nrows ? in.nrows : 1));
        int n = op_select(f->eval, &in, o->q->ba, idx, er);
        if (n < 0) return -1;
        if (n == 0) continue;
        if ((uint32_t)n == in.nrows) {
            *b = in;
        } else {
            batch_take(o->q->ba, &in, idx, (uint32_t)n, b);
        }
        return 1;
    }
}

static void filter_close(op *o) {
    struct filter_op *f = (struct filter_op *)o;
    f->child->close(f->child);
}

static void filter_describe(const op *o, op_explain *x) {
    const struct filter_op *f = (const struct filter_op *)o;
    x->lname = "Filter";
    x->pname = "FilterExec";
    x->passthrough = true;
    ex_expr(&x->ld, f->pred, &x->in[0], false);
    ex_expr(&x->pd, f->pred, &x->in[0], true);
}

static uint32_t filter_split(op *o, qctx *const *qs, uint32_t n, op **parts) {
    struct filter_op *f = (struct filter_op *)o;
    uint32_t m = f->child->split ? f->child->split(f->child, qs, n, parts) : 0;
    for (uint32_t i = 0; i < m; i++) parts[i] = op_filter_pushed(qs[i], parts[i], f->pred, f->eval);
    return m;
}

op *op_filter(qctx *q, op *child, bexpr *pred) {
    return op_filter_pushed(q, child, pred, pred);
}

op *op_filter_pushed(qctx *q, op *child, bexpr *pred, bexpr *eval) {
    struct filter_op *f = arena_calloc(q->a, sizeof *f);
    op_init(&f->o, q, child->ncols);
    op_copy_cols(&f->o, 0, child);
    f->o.next = filter_next;
    f->o.close = filter_close;
    f->o.split = filter_split;
    f->child = child;
    op_explain_child(&f->o, filter_describe, &f->child);
    f->pred = pred;
    f->eval = eval;
    return &f->o;
}

/* ------------------------------------------------------------------ project */

struct project_op {
    op o;
    op *child;
    bexpr **exprs;
    uint32_t n;
};

static int project_next(op *o, batch *b, err *er) {
    struct project_op *p = (struct project_op *)o;
    batch in;
    int rc = p->child->next(p->child, &in, er);
    if (rc <= 0) return rc;
    b->ncols = p->n;
    b->nrows = in.nrows;
    b->cols = arena_alloc(o->q->ba, sizeof *b->cols * (p->n ? p->n : 1));
    for (uint32_t i = 0; i < p->n; i++) {
        if (bexpr_eval(p->exprs[i], &in, o->q->ba, &b->cols[i], er) < 0) return -1;
        b->cols[i].len = in.nrows;
        b->cols[i].has_tz = p->exprs[i]->has_tz || b->cols[i].has_tz;
    }
    return 1;
}

static void project_close(op *o) {
    struct project_op *p = (struct project_op *)o;
    p->child->close(p->child);
}

/* A logical projection prints `expr AS alias` only where the alias is not the expression's own
 * name; a physical one always prints `expr as name`. Selecting a strict prefix of the input's
 * columns unchanged (what ORDER BY by a column not selected leaves above the sort) passes the
 * query's names on to the projection below. */
static void project_describe(const op *o, op_explain *x) {
    const struct project_op *p = (const struct project_op *)o;
    const ex_cols *in = &x->in[0];
    x->lname = "Projection";
    x->pname = "ProjectionExec";
    /* a strict prefix: an identity projection can also be an outer query renaming columns */
    x->passthrough = p->n < in->n;
    buf_puts(&x->pd, "expr=[");
    for (uint32_t i = 0; i < p->n; i++) {
        const bexpr *e = p->exprs[i];
        if (e->kind != BX_COL || e->col != i) x->passthrough = false;
        const char *alias = x->alias ? x->alias[i] : NULL;
        ex_expr_col(x->a, e, in, NULL, &x->out, i);
        const char *natural = e->kind == BX_COL ? x->out.pname[i] : x->out.lname[i];
        if (alias && strcmp(alias, natural) == 0) alias = NULL; /* keeps a column's qualifier */
        if (alias) x->out.lname[i] = x->out.pname[i] = alias;
        if (i) {
            buf_puts(&x->ld, ", ");
            buf_puts(&x->pd, ", ");
        }
        ex_expr(&x->ld, e, in, false);
        if (alias) buf_printf(&x->ld, " AS %s", alias);
        ex_expr(&x->pd, e, in, true);
        buf_printf(&x->pd, " as %s", x->out.pname[i]);
    }
    buf_putc(&x->pd, ']');
}

static uint32_t project_split(op *o, qctx *const *qs, uint32_t n, op **parts) {
    struct project_op *p = (struct project_op *)o;
    uint32_t m = p->child->split ? p->child->split(p->child, qs, n, parts) : 0;
    for (uint32_t i = 0; i < m; i++) parts[i] = op_project(qs[i], parts[i], p->exprs, p->n);
    return m;
}

op *op_project(qctx *q, op *child, bexpr **exprs, uint32_t n) {
    struct project_op *p = arena_calloc(q->a, sizeof *p);
    op_init(&p->o, q, n);
    for (uint32_t i = 0; i < n; i++) {
        p->o.types[i] = exprs[i]->type;
        p->o.units[i] = exprs[i]->unit;
        p->o.has_tz[i] = exprs[i]->has_tz;
    }
    p->o.next = project_next;
    p->o.close = project_close;
    p->o.split = project_split;
    p->child = child;
    op_explain_child(&p->o, project_describe, &p->child);
    p->exprs = exprs;
    p->n = n;
    return &p->o;
}

/* ------------------------------------------------------------------ limit */

struct limit_op {
    op o;
    op *child;
    uint64_t skip;
    int64_t left; /* -1 = unlimited */
    uint64_t skip0;
    int64_t fetch0;
};

static int limit_next(op *o, batch *b, err *er) {
    struct limit_op *l = (struct limit_op *)o;
    for (;;) {
        if (l->left == 0) return 0;
        batch in;
        int rc = l->child->next(l->child, &in, er);
        if (rc <= 0) return rc;
        uint32_t start = 0, n = in.nrows;
        if (l->skip) {
            uint64_t s = l->skip < n ? l->skip : n;
            l->skip -= s;
            start = (uint32_t)s;
            n -= (uint32_t)s;
        }
        if (l->left >= 0 && (int64_t)n > l->left) n = (uint32_t)l->left;
        if (l->left > 0) l->left -= n;
        if (n == 0) continue;
        if (start == 0 && n == in.nrows) {
            *b = in;
        } else {
            uint32_t *idx = arena_alloc(o->q->ba, sizeof *idx * n);
            for (uint32_t i = 0; i < n; i++) idx[i] = start + i;
            batch_take(o->q->ba, &in, idx, n, b);
        }
        return 1;
    }
}

static void limit_close(op *o) {
    struct limit_op *l = (struct limit_op *)o;
    l->child->close(l->child);
}

static void limit_describe(const op *o, op_explain *x) {
    const struct limit_op *l = (const struct limit_op *)o;
    x->lname = "Limit";
    x->pname = "GlobalLimitExec";
    x->passthrough = true;
    /* skip and left count down as rows pass: after ANALYZE they no longer say what was asked */
    buf_printf(&x->ld, "skip=%llu, fetch=", (unsigned long long)l->skip0);
    if (l->fetch0 >= 0)
        buf_printf(&x->ld, "%lld", (long long)l->fetch0);
    else
        buf_puts(&x->ld, "None");
    buf_append(&x->pd, x->ld.p, x->ld.len);
}

op *op_limit(qctx *q, op *child, uint64_t offset, int64_t limit) {
    struct limit_op *l = arena_calloc(q->a, sizeof *l);
    op_init(&l->o, q, child->ncols);
    op_copy_cols(&l->o, 0, child);
    l->o.next = limit_next;
    l->o.close = limit_close;
    l->child = child;
    l->skip = l->skip0 = offset;
    l->left = l->fetch0 = limit;
    op_explain_child(&l->o, limit_describe, &l->child);
    return &l->o;
}

/* ------------------------------------------------------------------ concat */

struct concat_op {
    op o;
    op **children;
    uint32_t n, cur;
};

static int concat_next(op *o, batch *b, err *er) {
    struct concat_op *c = (struct concat_op *)o;
    while (c->cur < c->n) {
        op *ch = c->children[c->cur];
        int rc = ch->next(ch, b, er);
        if (rc != 0) return rc;
        c->cur++;
    }
    return 0;
}

static void concat_close(op *o) {
    struct concat_op *c = (struct concat_op *)o;
    for (uint32_t i = 0; i < c->n; i++) c->children[i]->close(c->children[i]);
}

static void concat_describe(const op *o, op_explain *x) {
    (void)o;
    x->lname = "Union";
    x->pname = "UnionExec";
}

op *op_concat(qctx *q, op **children, uint32_t n) {
    struct concat_op *c = arena_calloc(q->a, sizeof *c);
    op *first = children[0];
    op_init(&c->o, q, first->ncols);
    memcpy(c->o.types, first->types, first->ncols);
    memcpy(c->o.units, first->units, first->ncols);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < first->ncols; k++) c->o.has_tz[k] |= children[i]->has_tz[k];
    c->o.next = concat_next;
    c->o.close = concat_close;
    c->children = children;
    c->n = n;
    op_explain_as(&c->o, NULL, NULL, children, n);
    c->o.describe = concat_describe;
    return &c->o;
}

/* ------------------------------------------------------------------ materialisation */

int op_collect(op *o, arena *a, uint64_t max_rows, batch *out, bool *more, err *er) {
    struct colbuf cb;
    colbuf_init(a, &cb, o->ncols, o->types, o->units);
    *more = false;
    int rc;
    for (;;) {
        batch b;
        rc = o->next(o, &b, er);
        if (rc <= 0) break;
        if (cb.n + (uint64_t)b.nrows > max_rows) {
            *more = true;
            b.nrows = (uint32_t)(max_rows - cb.n);
        }
        colbuf_append(a, &cb, &b);
        arena_reset(o->q->ba);
        if (*more || (rc = q_check(o->q, er)) < 0) break;
    }
    o->close(o);
    for (uint32_t c = 0; c < cb.ncols; c++) cb.cols[c].len = cb.n;
    *out = (batch){cb.ncols, cb.n, cb.cols};
    return rc < 0 ? -1 : 0;
}

void colbuf_init(arena *a, struct colbuf *cb, uint32_t ncols, const uint8_t *types,
                 const uint8_t *units) {
    cb->ncols = ncols;
    cb->n = 0;
    cb->cap = 0;
    cb->cols = arena_calloc(a, sizeof *cb->cols * (ncols ? ncols : 1));
    for (uint32_t c = 0; c < ncols; c++) {
        cb->cols[c].type = types[c];
        cb->cols[c].unit = units[c];
    }
}

void colbuf_append(arena *a, struct colbuf *cb, const batch *b) {
    uint32_t need = cb->n + b->nrows;
    if (need > cb->cap) {
        uint32_t ncap = cb->cap ? cb->cap : 1024;
        while (ncap < need) ncap *= 2;
        for (uint32_t c = 0; c < cb->ncols; c++) {
            vec *v = &cb->cols[c];
            size_t sz = vtype_size(v->type);
            v->d.raw = arena_realloc(a, v->d.raw, sz * cb->cap, sz * ncap);
            v->valid = arena_realloc(a, v->valid, bitmap_bytes(cb->cap), bitmap_bytes(ncap));
            memset(v->valid + bitmap_bytes(cb->cap), 0, bitmap_bytes(ncap) - bitmap_bytes(cb->cap));
        }
        cb->cap = ncap;
    }
    for (uint32_t c = 0; c < cb->ncols; c++) {
        vec *v = &cb->cols[c];
        const vec *s = &b->cols[c];
        size_t sz = vtype_size(v->type);
        if (s->type != VT_NULL) memcpy((char *)v->d.raw + sz * cb->n, s->d.raw, sz * b->nrows);
        v->has_tz = s->has_tz;
        for (uint32_t i = 0; i < b->nrows; i++) {
            bool ok = s->type != VT_NULL && vec_is_valid(s, i);
            if (ok) bitmap_set(v->valid, cb->n + i);
            if (!ok && !vtype_is_bytes(v->type)) memset((char *)v->d.raw + sz * (cb->n + i), 0, sz);
            if (vtype_is_bytes(v->type)) {
                /* Strings must outlive the batch arena. */
                strv sv = ok ? s->d.s[i] : (strv){"", 0};
                v->d.s[cb->n + i] = (strv){arena_strndup(a, sv.p, sv.len), sv.len};
            }
        }
    }
    cb->n = need;
}
