/* Physical operators: see ops.h, and ops_int.h for how they are split between files. This file
 * holds what every operator shares and the streaming operators, which pass each batch on as it
 * comes: values, scan, filter, project and limit. */
#include "sql/ops_int.h"

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

static void noop_close(op *o) {
    (void)o;
}

void batch_take(arena *a, const batch *in, const uint32_t *idx, uint32_t n, batch *out) {
    out->ncols = in->ncols;
    out->nrows = n;
    out->cols = arena_alloc(a, sizeof *out->cols * (in->ncols ? in->ncols : 1));
    for (uint32_t c = 0; c < in->ncols; c++) {
        const vec *src = &in->cols[c];
        vec *dst = &out->cols[c];
        if (src->type == VT_NULL) {
            vec_alloc_null(a, VT_NULL, 0, n, dst);
            continue;
        }
        vec_alloc(a, src->type, src->unit, n, dst);
        dst->has_tz = src->has_tz;
        size_t sz = vtype_size(src->type);
        char *d = dst->d.raw;
        const char *s = src->d.raw;
        switch (sz) {
        case 8:
            for (uint32_t i = 0; i < n; i++)
                ((uint64_t *)(void *)d)[i] = ((const uint64_t *)(const void *)s)[idx[i]];
            break;
        default:
            for (uint32_t i = 0; i < n; i++) memcpy(d + sz * i, s + sz * idx[i], sz);
        }
        if (src->valid) {
            size_t nb = bitmap_bytes(n);
            dst->valid = arena_calloc(a, nb ? nb : 1);
            for (uint32_t i = 0; i < n; i++)
                if (vec_is_valid(src, idx[i])) bitmap_set(dst->valid, i);
        }
    }
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

op *op_values(qctx *q, uint32_t ncols, const uint8_t *types, const uint8_t *units, batch *batches,
              uint32_t nbatches) {
    struct values_op *v = arena_calloc(q->a, sizeof *v);
    op_init(&v->o, q, ncols);
    if (ncols) memcpy(v->o.types, types, ncols);
    if (units && ncols) memcpy(v->o.units, units, ncols);
    v->o.next = values_next;
    v->o.close = noop_close;
    v->batches = batches;
    v->n = nbatches;
    return &v->o;
}

/* ------------------------------------------------------------------ scan */

struct scan_op {
    op o;
    scan *s;
};

static int scan_next(op *o, batch *b, err *er) {
    struct scan_op *s = (struct scan_op *)o;
    if (q_check(o->q, er) < 0) return -1;
    int rc = engine_scan_next(s->s, o->q->ba, b, er);
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

op *op_scan(qctx *q, engine *g, const scan_spec *spec, err *er) {
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
    if (engine_scan_open(g, spec, q->a, &s->s, er) < 0) return NULL;
    return &s->o;
}

/* ------------------------------------------------------------------ filter */

struct filter_op {
    op o;
    op *child;
    bexpr *pred;
};

static int filter_next(op *o, batch *b, err *er) {
    struct filter_op *f = (struct filter_op *)o;
    for (;;) {
        batch in;
        int rc = f->child->next(f->child, &in, er);
        if (rc <= 0) return rc;
        vec p;
        if (bexpr_eval(f->pred, &in, o->q->ba, &p, er) < 0) return -1;
        uint32_t *idx = arena_alloc(o->q->ba, sizeof *idx * (in.nrows ? in.nrows : 1));
        uint32_t n = 0;
        if (p.type == VT_BOOL) {
            for (uint32_t i = 0; i < in.nrows; i++)
                if (p.d.b[i] && vec_is_valid(&p, i)) idx[n++] = i;
        }
        if (n == 0) continue;
        if (n == in.nrows) {
            *b = in;
        } else {
            batch_take(o->q->ba, &in, idx, n, b);
        }
        return 1;
    }
}

static void filter_close(op *o) {
    struct filter_op *f = (struct filter_op *)o;
    f->child->close(f->child);
}

op *op_filter(qctx *q, op *child, bexpr *pred) {
    struct filter_op *f = arena_calloc(q->a, sizeof *f);
    op_init(&f->o, q, child->ncols);
    memcpy(f->o.types, child->types, child->ncols);
    memcpy(f->o.units, child->units, child->ncols);
    memcpy(f->o.has_tz, child->has_tz, child->ncols);
    f->o.next = filter_next;
    f->o.close = filter_close;
    f->child = child;
    f->pred = pred;
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
    p->child = child;
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

op *op_limit(qctx *q, op *child, uint64_t offset, int64_t limit) {
    struct limit_op *l = arena_calloc(q->a, sizeof *l);
    op_init(&l->o, q, child->ncols);
    memcpy(l->o.types, child->types, child->ncols);
    memcpy(l->o.units, child->units, child->ncols);
    memcpy(l->o.has_tz, child->has_tz, child->ncols);
    l->o.next = limit_next;
    l->o.close = limit_close;
    l->child = child;
    l->skip = offset;
    l->left = limit;
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
            if (!ok && v->type != VT_STR) memset((char *)v->d.raw + sz * (cb->n + i), 0, sz);
            if (v->type == VT_STR) {
                /* Strings must outlive the batch arena. */
                strv sv = ok ? s->d.s[i] : (strv){"", 0};
                v->d.s[cb->n + i] = (strv){arena_strndup(a, sv.p, sv.len), sv.len};
            }
        }
    }
    cb->n = need;
}
