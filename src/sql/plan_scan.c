/* What storage does for a query: see plan_int.h. A WHERE clause is split into its AND
 * conjuncts; `time <op> constant` ones narrow the scan's time range, those over tags only
 * become a predicate that runs once per series (and `tag = 'constant'` ones pick candidate
 * series straight from the index), and the rest is a filter over the scan's rows. */
#include "sql/plan_int.h"

#include "util/timeutil.h"

#include <string.h>

/* ------------------------------------------------------------------ pushdown helpers */

void plan_split_and(arena *a, bexpr *e, bexpr ***list, uint32_t *n, uint32_t *cap) {
    if (e->kind == BX_AND) {
        plan_split_and(a, e->args[0], list, n, cap);
        plan_split_and(a, e->args[1], list, n, cap);
        return;
    }
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        *list = arena_realloc(a, *list, sizeof **list * *cap, sizeof **list * nc);
        *cap = nc;
    }
    (*list)[(*n)++] = e;
}

void plan_mark_cols(const bexpr *e, bool *used) {
    if (e->kind == BX_COL) used[e->col] = true;
    for (uint32_t i = 0; i < e->nargs; i++) plan_mark_cols(e->args[i], used);
}

static bool only_tags(const bexpr *e, const struct scope *sc) {
    if (e->kind == BX_COL) return sc->cols[e->col].kind == CK_TAG;
    if (e->kind == BX_FUNC && e->fname && !strcmp(e->fname, "now")) return true;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!only_tags(e->args[i], sc)) return false;
    return true;
}

bool plan_has_cols(const bexpr *e) {
    if (e->kind == BX_COL) return true;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (plan_has_cols(e->args[i])) return true;
    return false;
}

bexpr *plan_remap(arena *a, const bexpr *e, const uint32_t *map) {
    bexpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->kind == BX_COL) r->col = map[e->col];
    if (e->nargs) {
        r->args = arena_alloc(a, sizeof *r->args * e->nargs);
        for (uint32_t i = 0; i < e->nargs; i++) r->args[i] = plan_remap(a, e->args[i], map);
    }
    return r;
}

/* Whether e reads the time column, itself or cast to a finer unit (a comparison with a value of
 * a finer unit, such as now(), casts the column): *k is the scale from the column's unit. */
static bool time_ref(const bexpr *e, uint32_t time_col, int64_t *k) {
    if (e->kind == BX_COL && e->col == time_col && e->type == VT_TS) {
        *k = 1;
        return true;
    }
    if (e->kind != BX_CAST || e->try_cast || e->type != VT_TS) return false;
    const bexpr *c = e->args[0];
    if (c->kind != BX_COL || c->col != time_col || c->type != VT_TS) return false;
    int64_t fine = tunit_per_sec((enum tunit)e->unit), col = tunit_per_sec((enum tunit)c->unit);
    if (fine < col || fine % col) return false; /* to a coarser unit truncates */
    *k = fine / col;
    return true;
}

/* Tightens [tmin, tmax] with a conjunct `time <op> x` (or reversed), x a constant timestamp
 * (`now() - INTERVAL '1 hour'` included: now() is fixed for the query); true if absorbed. */
static bool time_bound(arena *a, const bexpr *c, uint32_t time_col, int64_t *tmin, int64_t *tmax) {
    if (c->kind != BX_CMP) return false;
    const bexpr *l = c->args[0], *r = c->args[1];
    uint8_t opc = c->op;
    int64_t k;
    if (!time_ref(l, time_col, &k)) {
        const bexpr *t = l;
        l = r;
        r = t;
        switch (opc) {
        case OP_LT:
            opc = OP_GT;
            break;
        case OP_LE:
            opc = OP_GE;
            break;
        case OP_GT:
            opc = OP_LT;
            break;
        case OP_GE:
            opc = OP_LE;
            break;
        }
        if (!time_ref(l, time_col, &k)) return false;
    }
    if (r->type != VT_TS || r->unit != l->unit || !bx_is_const(r)) return false;
    value cv;
    err fe;
    if (bx_fold(a, (bexpr *)r, &cv, &fe) < 0 || cv.null) return false;
    int64_t v = cv.v.i, lo = INT64_MIN, hi = INT64_MAX;
    bool empty = false;
    switch (opc) {
    case OP_EQ:
        lo = hi = v;
        break;
    case OP_GT:
        if (v == INT64_MAX)
            empty = true;
        else
            lo = v + 1;
        break;
    case OP_GE:
        lo = v;
        break;
    case OP_LT:
        if (v == INT64_MIN)
            empty = true;
        else
            hi = v - 1;
        break;
    case OP_LE:
        hi = v;
        break;
    default:
        return false;
    }
    if (!empty && k > 1) {
        /* column * k in [lo, hi]  <=>  column in [ceil(lo / k), floor(hi / k)] */
        int64_t q, m;
        if (lo != INT64_MIN) {
            time_floor_divmod(lo, k, &q, &m);
            lo = q + (m != 0);
        }
        if (hi != INT64_MAX) {
            time_floor_divmod(hi, k, &q, &m);
            hi = q;
        }
    }
    if (empty || lo > hi) {
        *tmin = INT64_MAX;
        *tmax = INT64_MIN;
        return true;
    }
    if (lo > *tmin) *tmin = lo;
    if (hi < *tmax) *tmax = hi;
    return true;
}

bool plan_time_bound(arena *a, const bexpr *c, uint32_t time_col, int64_t *tmin, int64_t *tmax) {
    return time_bound(a, c, time_col, tmin, tmax);
}

/* The per-series tag predicate, evaluated on a one-row batch of the series' tag values. Its
 * memory is the query's scratch arena, reset for every series: a table of 300,000 series must
 * not keep 300,000 evaluations (an IN list of 1,000 strings once cost 60 KB each). */
struct series_pred {
    bexpr *pred;
    uint32_t ntags;
    qctx *q;
    err er;
    bool failed;
};

/* The scan's interrupt: the query's deadline and memory limit, checked while it searches. */
static int scan_check(void *ctx, err *e) {
    return q_check(ctx, e);
}

static bool series_pred_eval(void *ctx, const strv *tags) {
    struct series_pred *sp = ctx;
    if (sp->failed) return false;
    arena *a = q_scratch(sp->q);
    vec *cols = arena_alloc(a, sizeof *cols * (sp->ntags + 1));
    for (uint32_t k = 0; k < sp->ntags; k++) {
        vec_alloc(a, VT_STR, 0, 1, &cols[k]);
        if (tags[k].p)
            cols[k].d.s[0] = tags[k];
        else
            vec_set_null(a, &cols[k], 0); /* storage's (NULL, 0) view becomes "" */
    }
    batch b = {sp->ntags, 1, cols};
    vec r;
    /* the scan being opened may run a long time over many series: the deadline counts here */
    if (q_check(sp->q, &sp->er) < 0 || bexpr_eval(sp->pred, &b, a, &r, &sp->er) < 0) {
        sp->failed = true;
        return false;
    }
    return r.type == VT_BOOL && vec_is_valid(&r, 0) && r.d.b[0];
}

static struct series_pred *series_pred_new(qctx *q, bexpr *pred, uint32_t ntags) {
    struct series_pred *spd = arena_calloc(q->a, sizeof *spd);
    spd->pred = pred;
    spd->ntags = ntags;
    spd->q = q;
    return spd;
}

/* The row filter a scan applies itself (scan_spec.keep): the rows where the predicate, over
 * the scan's time and field columns, is TRUE. */
static int rows_keep(void *ctx, batch *b, arena *a, uint32_t *sel, err *er) {
    /* storage's NULL slots of bools and strings are not yet the zero the kernels expect */
    for (uint32_t c = 0; c < b->ncols; c++)
        if (b->cols[c].type == VT_BOOL || b->cols[c].type == VT_STR)
            vec_zero_nulls(&b->cols[c], b->nrows);
    return op_select(ctx, b, a, sel, er);
}

/* ------------------------------------------------------------------ WHERE */

void plan_and_into(arena *a, bexpr **acc, bexpr *c) {
    bexpr *r = *acc ? bx_new(a, BX_AND, VT_BOOL, 2) : c;
    if (*acc) {
        r->args[0] = *acc;
        r->args[1] = c;
    }
    *acc = r;
}

/* Sorts the conjuncts of where (BOOL, over the columns of sc, time first; NULL for none):
 * `time <op> constant` ones narrow [*tmin, *tmax], those over tags only are ANDed into
 * *tagpred, the others into *residual (each NULL when it gets none). */
static void split_where(arena *a, bexpr *where, const struct scope *sc, int64_t *tmin,
                        int64_t *tmax, bexpr **tagpred, bexpr **residual) {
    *tagpred = *residual = NULL;
    if (!where) return;
    bexpr **conj = NULL;
    uint32_t nconj = 0, cap = 0;
    plan_split_and(a, where, &conj, &nconj, &cap);
    for (uint32_t i = 0; i < nconj; i++) {
        if (time_bound(a, conj[i], 0, tmin, tmax)) continue;
        plan_and_into(a, plan_has_cols(conj[i]) && only_tags(conj[i], sc) ? tagpred : residual,
                      conj[i]);
    }
}

/* ------------------------------------------------------------------ series filters */

int plan_series_filter(sql_session *s, qctx *q, meta_table *t, const expr *where,
                       series_filter *out, err *er) {
    arena *a = q->a;
    memset(out, 0, sizeof *out);
    out->tmin = INT64_MIN;
    out->tmax = INT64_MAX;
    if (!where) return 0;
    struct scope sc = {arena_calloc(a, sizeof *sc.cols * (t->ncols + 1)), t->ncols};
    for (uint32_t i = 0; i < t->ncols; i++) {
        struct col_ref *c = &sc.cols[i];
        c->qual = t->name;
        c->name = t->cols[i].name;
        c->type = t->cols[i].type;
        c->unit = t->cols[i].kind == CK_TIME ? t->precision : 0;
        c->kind = t->cols[i].kind;
        c->col_id = t->cols[i].id;
    }
    struct binder bd = {
        .s = s, .q = q, .a = a, .in = &sc, .now_ns = time_now_ns(), .unqualified_errors = true};
    bexpr *w;
    if (plan_bind(&bd, where, &w, er) < 0 || bx_cast(a, &w, VT_BOOL, 0, er) < 0) return -1;
    bexpr *tagpred, *residual;
    split_where(a, w, &sc, &out->tmin, &out->tmax, &tagpred, &residual);
    out->has_other = residual != NULL;
    if (!tagpred) return 0;
    bool *used = arena_calloc(a, t->ncols + 1);
    plan_mark_cols(tagpred, used);
    uint32_t *map = arena_alloc(a, sizeof *map * (t->ncols + 1));
    out->tag_ids = arena_alloc(a, sizeof *out->tag_ids * (t->ncols + 1));
    for (uint32_t i = 0; i < t->ncols; i++) {
        map[i] = UINT32_MAX;
        if (used[i]) {
            map[i] = out->ntags;
            out->tag_ids[out->ntags++] = t->cols[i].id;
        }
    }
    out->pred = series_pred_eval;
    out->ctx = series_pred_new(q, plan_remap(a, tagpred, map), out->ntags);
    return 0;
}

int series_filter_check(const series_filter *sf, err *er) {
    const struct series_pred *spd = sf->ctx;
    if (!sf->pred || !spd->failed) return 0;
    *er = spd->er;
    return -1;
}

/* ------------------------------------------------------------------ table scans */

/* The values one conjunct lists for one column (tag_values). */
struct value_list {
    bool have_col;
    uint32_t col;
    strv *vals;
    uint32_t n, cap;
};

/* Whether c allows a column only listed string values: `col = 'v'`, `col IN ('v', ...)`, or
 * an OR of such on one column; appends the column and values to l. */
static bool tag_values(arena *a, const bexpr *c, struct value_list *l) {
    if (c->kind == BX_OR) return tag_values(a, c->args[0], l) && tag_values(a, c->args[1], l);
    const bexpr *x;
    bexpr *const *items;
    uint32_t nitems;
    if (c->kind == BX_CMP && c->op == OP_EQ) {
        bool flip = c->args[0]->kind == BX_CONST;
        x = c->args[flip];
        items = &c->args[!flip];
        nitems = 1;
    } else if (c->kind == BX_IN_LIST && !c->negated && c->nargs > 1) {
        x = c->args[0];
        items = c->args + 1;
        nitems = c->nargs - 1;
    } else {
        return false;
    }
    if (x->kind != BX_COL || (l->have_col && x->col != l->col)) return false;
    l->have_col = true;
    l->col = x->col;
    for (uint32_t i = 0; i < nitems; i++) {
        const bexpr *v = items[i];
        if (v->kind != BX_CONST || v->type != VT_STR) return false;
        if (v->cval.null) continue; /* equal to nothing */
        if (l->n == l->cap) {
            uint32_t nc = l->cap ? 2 * l->cap : 8;
            strv *grown = arena_alloc(a, sizeof *grown * nc);
            if (l->n) memcpy(grown, l->vals, sizeof *grown * l->n);
            l->vals = grown;
            l->cap = nc;
        }
        l->vals[l->n++] = v->cval.v.s;
    }
    return true;
}

/* Conjuncts of the tag predicate that list a tag's values (tag_values): candidate series
 * straight from the index bitmaps. */
static void scan_eq_lookups(arena *a, const meta_table *t, bexpr *tagpred, scan_spec *sp) {
    bexpr **tc = NULL;
    uint32_t ntc = 0, captc = 0;
    plan_split_and(a, tagpred, &tc, &ntc, &captc);
    uint32_t *eq_ids = arena_alloc(a, sizeof *eq_ids * (ntc + 1));
    uint32_t *eq_off = arena_alloc(a, sizeof *eq_off * (ntc + 1));
    struct value_list l = {0};
    uint32_t neq = 0;
    eq_off[0] = 0;
    for (uint32_t i = 0; i < ntc; i++) {
        uint32_t before = l.n;
        l.have_col = false;
        if (!tag_values(a, tc[i], &l)) {
            l.n = before; /* partly a list: no use */
            continue;
        }
        /* a list of nothing but NULLs stays, empty: the conjunct allows no series */
        eq_ids[neq] = t->cols[l.col].id;
        eq_off[++neq] = l.n;
    }
    sp->neq = neq;
    sp->eq_tag_ids = eq_ids;
    sp->eq_off = eq_off;
    sp->eq_vals = l.vals;
}

/* Sorts the conjuncts of the residual predicate (over table positions): those naming no tag
 * into *pushed, which the scan can apply before it builds the tags of a row (rows_keep), the
 * others into *rest (each NULL when it gets none). */
static void split_pushable(arena *a, const meta_table *t, bexpr *residual, bexpr **pushed,
                           bexpr **rest) {
    *pushed = *rest = NULL;
    bexpr **conj = NULL;
    uint32_t nconj = 0, cap = 0;
    plan_split_and(a, residual, &conj, &nconj, &cap);
    bool *cols = arena_alloc(a, t->ncols + 1);
    for (uint32_t i = 0; i < nconj; i++) {
        memset(cols, 0, t->ncols + 1);
        plan_mark_cols(conj[i], cols);
        bool tag = false;
        for (uint32_t c = 0; c < t->ncols; c++) tag |= cols[c] && t->cols[c].kind == CK_TAG;
        plan_and_into(a, tag ? rest : pushed, conj[i]);
    }
}

int plan_table_scan(sql_session *s, qctx *q, meta_table *t, const struct scope *sc, bexpr *where,
                    bool *used, op **out, const uint32_t **map_out, err *er) {
    arena *a = q->a;
    int64_t tmin = INT64_MIN, tmax = INT64_MAX;
    bexpr *residual, *tagpred, *pushed = NULL, *rest = NULL;
    split_where(a, where, sc, &tmin, &tmax, &tagpred, &residual);
    if (residual) {
        plan_mark_cols(residual, used);
        split_pushable(a, t, residual, &pushed, &rest);
    }
    /* Scan columns: time, used tags, used fields; map table positions to scan outputs. */
    uint32_t *map = arena_alloc(a, sizeof *map * (t->ncols + 1));
    uint32_t ntag = 0, nfield = 0;
    uint32_t *tag_ids = arena_alloc(a, sizeof *tag_ids * (t->ncols + 1));
    uint32_t *field_ids = arena_alloc(a, sizeof *field_ids * (t->ncols + 1));
    uint8_t *field_types = arena_alloc(a, t->ncols + 1);
    bool *tag_used = arena_calloc(a, t->ncols + 1);
    if (tagpred) plan_mark_cols(tagpred, tag_used);
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_TAG && (used[i] || tag_used[i])) tag_ids[ntag++] = t->cols[i].id;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_FIELD && used[i]) {
            field_types[nfield] = t->cols[i].type;
            field_ids[nfield++] = t->cols[i].id;
        }
    uint32_t ti = 0, fi = 0;
    uint32_t *tagmap = arena_alloc(a, sizeof *tagmap * (t->ncols + 1));
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].kind == CK_TIME)
            map[i] = 0;
        else if (t->cols[i].kind == CK_TAG && (used[i] || tag_used[i])) {
            tagmap[i] = ti;
            map[i] = 1 + ti++;
        } else if (t->cols[i].kind == CK_FIELD && used[i])
            map[i] = 1 + ntag + fi++;
        else
            map[i] = UINT32_MAX;
    }
    scan_spec *sp = arena_calloc(a, sizeof *sp);
    sp->db_id = t->db_id;
    sp->table_id = t->id;
    sp->precision = t->precision;
    sp->tmin = tmin;
    sp->tmax = tmax;
    sp->ntags = ntag;
    sp->tag_ids = tag_ids;
    sp->nfields = nfield;
    sp->field_ids = field_ids;
    sp->field_types = field_types;
    sp->need_time = used[0];
    sp->check = scan_check;
    sp->check_ctx = q;
    struct series_pred *spd = NULL;
    if (tagpred) {
        spd = series_pred_new(q, plan_remap(a, tagpred, tagmap), ntag);
        sp->series_pred = series_pred_eval;
        sp->pred_ctx = spd;
        scan_eq_lookups(a, t, tagpred, sp);
    }
    if (pushed) {
        bool *in_pushed = arena_calloc(a, t->ncols + 1);
        plan_mark_cols(pushed, in_pushed);
        bool *keep_fields = arena_calloc(a, nfield + 1);
        for (uint32_t i = 0; i < t->ncols; i++)
            if (in_pushed[i] && t->cols[i].kind == CK_FIELD) keep_fields[map[i] - 1 - ntag] = true;
        sp->keep = rows_keep;
        sp->keep_ctx = plan_remap(a, pushed, map);
        sp->keep_fields = keep_fields;
    }
    if (tmin > tmax) {
        /* Contradictory time range: nothing to read. */
        sp->tmin = 1;
        sp->tmax = 0;
    }
    /* for EXPLAIN */
    scan_desc *sd = arena_calloc(a, sizeof *sd);
    const char **names = arena_calloc(a, sizeof *names * (1 + ntag + nfield));
    for (uint32_t i = 0; i < t->ncols; i++)
        if (map[i] != UINT32_MAX) names[map[i]] = t->cols[i].name;
    *sd = (scan_desc){t->name, sc->cols[0].qual, names, spd ? spd->pred : NULL};
    op *root = op_scan(q, s->eng, sp, sd, er);
    if (!root) return -1;
    if (spd && spd->failed) {
        *er = spd->er;
        root->close(root);
        return -1;
    }
    /* The filter the scan applies stays in the plan (EXPLAIN shows it where SQL puts it) but
     * evaluates only what the scan does not. */
    if (residual) {
        bexpr *shown = plan_remap(a, residual, map);
        root = op_filter_pushed(q, root, shown,
                                !pushed ? shown
                                : rest  ? plan_remap(a, rest, map)
                                        : NULL);
    }
    *out = root;
    *map_out = map;
    return 0;
}
