/* Physical operators: see ops.h. */
#include "sql/ops.h"

#include "sql/func.h"
#include "sql/keyset.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdlib.h>
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

static void op_init(op *o, qctx *q, uint32_t ncols) {
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

/* ------------------------------------------------------------------ materialisation */

/* A growing columnar buffer in the query arena: blocking operators collect rows into it. */
struct colbuf {
    uint32_t ncols;
    uint32_t n, cap;
    vec *cols;
};

static void colbuf_init(arena *a, struct colbuf *cb, uint32_t ncols, const uint8_t *types,
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

static void colbuf_append(arena *a, struct colbuf *cb, const batch *b) {
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

/* ------------------------------------------------------------------ sort */

struct sort_op {
    op o;
    op *child;
    sort_key *keys;
    uint32_t nkeys;
    int64_t keep;
    bool done;
    arena *da;          /* holds data: replaced whole when a top-N sort drops rows */
    struct colbuf data; /* child columns then key columns */
    uint32_t *perm;
    uint32_t pos, total;
};

static int cmp_vals(const vec *v, uint32_t i, uint32_t j) {
    switch (v->type) {
    case VT_F64: {
        double a = v->d.f64[i], b = v->d.f64[j];
        /* NaN sorts above everything, as in arrow. */
        if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
        return (a > b) - (a < b);
    }
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        return (v->d.i64[i] > v->d.i64[j]) - (v->d.i64[i] < v->d.i64[j]);
    case VT_U64:
        return (v->d.u64[i] > v->d.u64[j]) - (v->d.u64[i] < v->d.u64[j]);
    case VT_BOOL:
        return (int)v->d.b[i] - (int)v->d.b[j];
    case VT_STR: {
        strv a = v->d.s[i], b = v->d.s[j];
        uint32_t n = a.len < b.len ? a.len : b.len;
        int r = memcmp(a.p, b.p, n);
        return r ? (r > 0) - (r < 0) : (a.len > b.len) - (a.len < b.len);
    }
    default:
        return 0;
    }
}

static int sort_cmp(const void *pa, const void *pb, void *ctx) {
    uint32_t i = *(const uint32_t *)pa, j = *(const uint32_t *)pb;
    struct sort_op *s = ctx;
    for (uint32_t k = 0; k < s->nkeys; k++) {
        const vec *v = &s->data.cols[s->o.ncols + k];
        bool vi = vec_is_valid(v, i), vj = vec_is_valid(v, j);
        int r;
        if (!vi || !vj) {
            if (vi == vj) continue;
            r = !vi ? -1 : 1; /* null first */
            if (!s->keys[k].nulls_first) r = -r;
            return r;
        }
        r = cmp_vals(v, i, j);
        if (r) return s->keys[k].desc ? -r : r;
    }
    return (i > j) - (i < j); /* stable */
}

#define SORT_RUN 4096

/* Sorts the rows held so far into s->perm: runs of SORT_RUN rows with qsort_r, then bottom-up
 * merges. A single qsort of millions of rows cannot be interrupted; this checks the query's
 * deadline and budget between runs and every 64k merged rows. */
static int sort_perm(struct sort_op *s, err *er) {
    uint32_t n = s->total = s->data.n;
    uint32_t *src = arena_alloc(s->da, sizeof *src * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) src[i] = i;
    for (uint32_t i = 0; i < n; i += SORT_RUN) {
        qsort_r(src + i, n - i < SORT_RUN ? n - i : SORT_RUN, sizeof *src, sort_cmp, s);
        if ((i / SORT_RUN) % 16 == 15 && q_check(s->o.q, er) < 0) return -1;
    }
    uint32_t *dst = n > SORT_RUN ? arena_alloc(s->da, sizeof *dst * n) : NULL;
    uint32_t since = 0;
    for (uint64_t w = SORT_RUN; w < n; w *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = (uint32_t)(lo + w < n ? lo + w : n);
            uint32_t hi = (uint32_t)(lo + 2 * w < n ? lo + 2 * w : n);
            uint32_t i = (uint32_t)lo, j = mid, k = (uint32_t)lo;
            while (i < mid && j < hi)
                dst[k++] = sort_cmp(&src[i], &src[j], s) <= 0 ? src[i++] : src[j++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
            since += hi - (uint32_t)lo;
            if (since >= 65536) {
                since = 0;
                if (q_check(s->o.q, er) < 0) return -1;
            }
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    s->perm = src;
    return 0;
}

/* Top-N: keeps only the first `keep` rows of what has arrived, so ORDER BY ... LIMIT n holds
 * O(n) rows however large its input. */
static int sort_trim(struct sort_op *s, const uint8_t *types, const uint8_t *units, err *er) {
    if (sort_perm(s, er) < 0) return -1;
    uint32_t n = (uint32_t)s->keep;
    arena *na = arena_new(0);
    arena_set_budget(na, &s->o.q->budget);
    batch all = {s->data.ncols, s->data.n, s->data.cols}, top;
    batch_take(na, &all, s->perm, n, &top);
    struct colbuf fresh;
    colbuf_init(na, &fresh, s->data.ncols, types, units);
    colbuf_append(na, &fresh, &top);
    arena_free(s->da);
    s->da = na;
    s->data = fresh;
    return 0;
}

static int sort_next(op *o, batch *b, err *er) {
    struct sort_op *s = (struct sort_op *)o;
    if (!s->done) {
        uint8_t *types = arena_alloc(o->q->a, o->ncols + s->nkeys + 1);
        uint8_t *units = arena_alloc(o->q->a, o->ncols + s->nkeys + 1);
        memcpy(types, o->types, o->ncols);
        memcpy(units, o->units, o->ncols);
        for (uint32_t k = 0; k < s->nkeys; k++) {
            types[o->ncols + k] = s->keys[k].e->type;
            units[o->ncols + k] = s->keys[k].e->unit;
        }
        /* default 64 KiB blocks: the budget counts blocks, and a sort of a few rows must not
         * look like a megabyte (colbuf's large arrays get blocks of their own) */
        s->da = arena_new(0);
        arena_set_budget(s->da, &o->q->budget);
        colbuf_init(s->da, &s->data, o->ncols + s->nkeys, types, units);
        /* a limit past what a batch index can hold is no limit for trimming */
        uint64_t trim_at =
            s->keep >= 0 && s->keep < (1 << 30) ? 2 * (uint64_t)s->keep + 16384 : UINT64_MAX;
        for (;;) {
            batch in;
            int rc = s->child->next(s->child, &in, er);
            if (rc < 0) return -1;
            if (rc == 0) break;
            if (q_check(o->q, er) < 0) return -1;
            batch ext = {o->ncols + s->nkeys, in.nrows, NULL};
            ext.cols = arena_alloc(o->q->ba, sizeof *ext.cols * ext.ncols);
            memcpy(ext.cols, in.cols, sizeof *ext.cols * o->ncols);
            for (uint32_t k = 0; k < s->nkeys; k++)
                if (bexpr_eval(s->keys[k].e, &in, o->q->ba, &ext.cols[o->ncols + k], er) < 0)
                    return -1;
            colbuf_append(s->da, &s->data, &ext);
            arena_reset(o->q->ba);
            if (s->data.n >= trim_at && sort_trim(s, types, units, er) < 0) return -1;
        }
        if (q_check(o->q, er) < 0 || sort_perm(s, er) < 0) return -1;
        if (s->keep >= 0 && (uint64_t)s->keep < s->total) s->total = (uint32_t)s->keep;
        s->done = true;
    }
    if (s->pos >= s->total) return 0;
    uint32_t n = s->total - s->pos;
    if (n > 4096) n = 4096;
    batch all = {o->ncols, s->data.n, s->data.cols};
    batch_take(o->q->ba, &all, s->perm + s->pos, n, b);
    s->pos += n;
    return 1;
}

static void sort_close(op *o) {
    struct sort_op *s = (struct sort_op *)o;
    arena_free(s->da);
    s->da = NULL;
    s->child->close(s->child);
}

op *op_sort(qctx *q, op *child, sort_key *keys, uint32_t nkeys, int64_t keep) {
    struct sort_op *s = arena_calloc(q->a, sizeof *s);
    op_init(&s->o, q, child->ncols);
    memcpy(s->o.types, child->types, child->ncols);
    memcpy(s->o.units, child->units, child->ncols);
    memcpy(s->o.has_tz, child->has_tz, child->ncols);
    s->o.next = sort_next;
    s->o.close = sort_close;
    s->child = child;
    s->keys = keys;
    s->nkeys = nkeys;
    s->keep = keep;
    return &s->o;
}

/* ------------------------------------------------------------------ aggregate */

struct aggst {
    int64_t count;
    double sum_f, m2, mean; /* Welford for variance */
    int64_t sum_i;
    uint64_t sum_u;
    bool has;       /* min/max/first/last seen a value */
    value v, v2;    /* min/max; first/last value (v) */
    int64_t ts;     /* first/last time */
    uint64_t *vals; /* median: the raw 8 bytes of each f64/i64/u64 value */
    uint32_t nvals, capvals;
    keyset *distinct; /* DISTINCT: values seen (query arena) */
};

struct agg_op {
    op o;
    op *child;
    bexpr **keys;
    uint32_t nkeys;
    agg_spec *aggs;
    uint32_t naggs;
    bool done;
    keyset *groups;        /* encoded key → group index (query arena) */
    struct colbuf gkeys;   /* one row per group */
    struct aggst **states; /* per group: naggs states */
    uint32_t ngroups, capgroups;
    uint32_t pos;
};

static void key_encode(buf *kb, const vec *v, uint32_t i) {
    if (!vec_is_valid(v, i) || v->type == VT_NULL) {
        buf_putc(kb, 0);
        return;
    }
    buf_putc(kb, 1);
    switch (v->type) {
    case VT_STR:
        buf_put_uvarint(kb, v->d.s[i].len);
        buf_append(kb, v->d.s[i].p, v->d.s[i].len);
        break;
    case VT_BOOL:
        buf_putc(kb, v->d.b[i] ? 1 : 0);
        break;
    case VT_F64: {
        double d = v->d.f64[i];
        if (d == 0) d = 0; /* -0.0 groups with 0.0 */
        /* Every NaN is one group: 0.0 % 0.0 gives the sign-set NaN of the FPU, 'NaN' a positive
         * one, and both print alike (SQL fuzzer finding 025). */
        if (isnan(d)) d = NAN;
        buf_append(kb, &d, 8);
        break;
    }
    case VT_INTERVAL:
        buf_append(kb, &v->d.iv[i], sizeof(interval));
        break;
    default:
        buf_append(kb, &v->d.i64[i], 8);
    }
}

/* Whether row i has the same group key values as row i-1. */
static bool same_keys(const vec *kv, uint32_t nkeys, uint32_t i) {
    for (uint32_t k = 0; k < nkeys; k++) {
        const vec *v = &kv[k];
        bool a = vec_is_valid(v, i - 1), b = vec_is_valid(v, i);
        if (a != b) return false;
        if (!a || v->type == VT_NULL) continue;
        switch (v->type) {
        case VT_STR: {
            strv x = v->d.s[i - 1], y = v->d.s[i];
            if (x.len != y.len || (x.p != y.p && memcmp(x.p, y.p, x.len) != 0)) return false;
            break;
        }
        case VT_BOOL:
            if (v->d.b[i - 1] != v->d.b[i]) return false;
            break;
        case VT_INTERVAL:
            if (memcmp(&v->d.iv[i - 1], &v->d.iv[i], sizeof(interval)) != 0) return false;
            break;
        case VT_F64:
            /* NaN and -0.0 need the hashed path's normalisation */
            if (!(v->d.f64[i - 1] == v->d.f64[i]) || v->d.f64[i] == 0) return false;
            break;
        default:
            if (v->d.i64[i - 1] != v->d.i64[i]) return false;
        }
    }
    return true;
}

static void st_put(arena *a, value *dst, const vec *v, uint32_t i) {
    vec_get(v, i, dst);
    if (dst->type == VT_STR)
        dst->v.s = (strv){arena_strndup(a, dst->v.s.p, dst->v.s.len), dst->v.s.len};
}

static int cmp_value(const value *x, const value *y) {
    switch (x->type) {
    case VT_F64:
        /* NaN above every number, as ORDER BY sorts it and arrow's min/max see it */
        if (isnan(x->v.f) || isnan(y->v.f)) return isnan(x->v.f) - isnan(y->v.f);
        return (x->v.f > y->v.f) - (x->v.f < y->v.f);
    case VT_U64:
        return (x->v.u > y->v.u) - (x->v.u < y->v.u);
    case VT_BOOL:
        return (int)x->v.b - (int)y->v.b;
    case VT_STR: {
        uint32_t n = x->v.s.len < y->v.s.len ? x->v.s.len : y->v.s.len;
        int r = memcmp(x->v.s.p, y->v.s.p, n);
        return r ? r : (x->v.s.len > y->v.s.len) - (x->v.s.len < y->v.s.len);
    }
    default:
        return (x->v.i > y->v.i) - (x->v.i < y->v.i);
    }
}

static void agg_update(arena *a, const agg_spec *sp, struct aggst *st, const vec *x, const vec *y,
                       uint32_t i) {
    if (sp->kind == AGG_COUNT && !sp->arg) {
        st->count++;
        return;
    }
    if (sp->kind == AGG_FIRST || sp->kind == AGG_LAST) {
        if (!vec_is_valid(x, i) || !vec_is_valid(y, i) || y->type == VT_NULL) return;
        int64_t t = x->d.i64[i];
        bool take = !st->has || (sp->kind == AGG_FIRST ? t < st->ts : t >= st->ts);
        if (take) {
            st->ts = t;
            st_put(a, &st->v, y, i);
            st->has = true;
        }
        return;
    }
    if (x->type == VT_NULL || !vec_is_valid(x, i)) return;
    if (sp->distinct) {
        buf kb;
        buf_init(&kb);
        key_encode(&kb, x, i);
        bool ins;
        if (!st->distinct) st->distinct = keyset_new(a, 4);
        keyset_upsert(st->distinct, kb.p, (uint32_t)kb.len, &ins);
        buf_free(&kb);
        if (!ins) return;
    }
    st->count++;
    switch (sp->kind) {
    case AGG_COUNT:
        break;
    case AGG_SUM:
    case AGG_AVG:
    case AGG_STDDEV:
    case AGG_STDDEV_POP:
    case AGG_VAR:
    case AGG_VAR_POP: {
        double d;
        switch (x->type) {
        case VT_F64:
            d = x->d.f64[i];
            break;
        case VT_I64:
            d = (double)x->d.i64[i];
            st->sum_i = (int64_t)((uint64_t)st->sum_i + (uint64_t)x->d.i64[i]);
            break;
        case VT_U64:
            d = (double)x->d.u64[i];
            st->sum_u += x->d.u64[i];
            break;
        default:
            d = 0;
        }
        st->sum_f += d;
        if (sp->kind != AGG_SUM && sp->kind != AGG_AVG) {
            double delta = d - st->mean;
            st->mean += delta / (double)st->count;
            st->m2 += delta * (d - st->mean);
        }
        break;
    }
    case AGG_MEDIAN: {
        if (st->nvals == st->capvals) {
            uint32_t nc = st->capvals ? st->capvals * 2 : 16;
            st->vals =
                arena_realloc(a, st->vals, sizeof *st->vals * st->capvals, sizeof *st->vals * nc);
            st->capvals = nc;
        }
        st->vals[st->nvals++] = x->d.u64[i]; /* all three types are 8 bytes */
        break;
    }
    case AGG_MIN:
    case AGG_MAX:
    case AGG_SPREAD: {
        value v;
        vec_get(x, i, &v);
        if (!st->has) {
            st_put(a, &st->v, x, i);
            st_put(a, &st->v2, x, i);
            st->has = true;
            break;
        }
        if (sp->kind != AGG_MAX && cmp_value(&v, &st->v) < 0) st_put(a, &st->v, x, i);
        if (sp->kind != AGG_MIN && cmp_value(&v, &st->v2) > 0) st_put(a, &st->v2, x, i);
        break;
    }
    }
}

/* Update of one state with rows [from, to): tight loops for the common aggregates, the
 * row-at-a-time path for the rest. */
static void agg_update_range(arena *a, const agg_spec *sp, struct aggst *st, const vec *x,
                             const vec *y, uint32_t from, uint32_t to) {
    uint32_t n = to - from;
    if (sp->kind == AGG_COUNT && !sp->arg) {
        st->count += n;
        return;
    }
    if (!sp->distinct && x && x->type == VT_F64 &&
        (sp->kind == AGG_SUM || sp->kind == AGG_AVG || sp->kind == AGG_COUNT)) {
        const double *d = x->d.f64;
        double sum = 0;
        int64_t cnt = 0;
        if (!x->valid) {
            for (uint32_t i = from; i < to; i++) sum += d[i];
            cnt = n;
        } else {
            for (uint32_t i = from; i < to; i++) {
                bool ok = (x->valid[i >> 3] >> (i & 7)) & 1;
                sum += ok ? d[i] : 0.0;
                cnt += ok;
            }
        }
        st->sum_f += sum;
        st->count += cnt;
        return;
    }
    if (!sp->distinct && x && x->type == VT_F64 && !x->valid &&
        (sp->kind == AGG_MIN || sp->kind == AGG_MAX)) {
        const double *d = x->d.f64;
        uint32_t i = from;
        if (!st->has) {
            st->v = (value){.type = VT_F64};
            st->v.v.f = d[i];
            st->v2 = st->v;
            st->has = true;
            st->count++;
            i++;
        }
        /* NaN is above every number (cmp_value): max takes it, min only keeps it while it has
         * seen nothing else. */
        double lo = st->v.v.f, hi = st->v2.v.f;
        if (sp->kind == AGG_MIN) {
            for (; i < to; i++) lo = d[i] < lo || lo != lo ? d[i] : lo;
        } else {
            for (; i < to; i++) hi = d[i] > hi || d[i] != d[i] ? d[i] : hi;
        }
        st->v.v.f = lo;
        st->v2.v.f = hi;
        st->count += to - i;
        return;
    }
    if (!sp->distinct && x && x->type == VT_I64 && !x->valid &&
        (sp->kind == AGG_SUM || sp->kind == AGG_AVG || sp->kind == AGG_COUNT)) {
        const int64_t *d = x->d.i64;
        uint64_t si = 0;
        double sf = 0;
        for (uint32_t i = from; i < to; i++) {
            si += (uint64_t)d[i];
            sf += (double)d[i];
        }
        st->sum_i = (int64_t)((uint64_t)st->sum_i + si);
        st->sum_f += sf;
        st->count += n;
        return;
    }
    for (uint32_t i = from; i < to; i++) agg_update(a, sp, st, x, y, i);
}

static int cmp_f64(const void *a, const void *b) {
    double x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return (x > y) - (x < y);
}
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Median in the argument's own type: integers exactly (the mean of the two middle values
 * truncated toward zero, computed in 128 bits), never through a double that cannot hold them. */
static void median_final(const agg_spec *sp, struct aggst *st, vec *out, uint32_t r) {
    uint64_t *v = st->vals;
    uint32_t n = st->nvals, hi = n / 2, lo = n % 2 ? hi : hi - 1;
    if (sp->type == VT_F64) {
        qsort(v, n, 8, cmp_f64);
        double a, b;
        memcpy(&a, &v[lo], 8);
        memcpy(&b, &v[hi], 8);
        out->d.f64[r] = lo == hi ? a : (a + b) / 2;
    } else if (sp->type == VT_I64) {
        qsort(v, n, 8, cmp_i64);
        __int128 sum = (__int128)(int64_t)v[lo] + (int64_t)v[hi];
        out->d.i64[r] = (int64_t)(sum / 2);
    } else {
        qsort(v, n, 8, cmp_u64);
        unsigned __int128 sum = (unsigned __int128)v[lo] + v[hi];
        out->d.u64[r] = (uint64_t)(sum / 2);
    }
}

static void agg_final(const agg_spec *sp, struct aggst *st, vec *out, uint32_t r, arena *a) {
    bool null = false;
    switch (sp->kind) {
    case AGG_COUNT:
        out->d.i64[r] = st->count;
        break;
    case AGG_SUM:
        if (!st->count)
            null = true;
        else if (sp->type == VT_F64)
            out->d.f64[r] = st->sum_f;
        else if (sp->type == VT_I64)
            out->d.i64[r] = st->sum_i;
        else
            out->d.u64[r] = st->sum_u;
        break;
    case AGG_AVG:
        if (!st->count)
            null = true;
        else
            out->d.f64[r] = st->sum_f / (double)st->count;
        break;
    case AGG_VAR:
    case AGG_STDDEV:
        if (st->count < 2)
            null = true;
        else {
            double var = st->m2 / (double)(st->count - 1);
            out->d.f64[r] = sp->kind == AGG_STDDEV ? sqrt(var) : var;
        }
        break;
    case AGG_VAR_POP:
    case AGG_STDDEV_POP:
        if (!st->count)
            null = true;
        else {
            double var = st->m2 / (double)st->count;
            out->d.f64[r] = sp->kind == AGG_STDDEV_POP ? sqrt(var) : var;
        }
        break;
    case AGG_MEDIAN:
        if (!st->nvals)
            null = true;
        else
            median_final(sp, st, out, r);
        break;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_SPREAD: {
        if (!st->has) {
            null = true;
            break;
        }
        const value *v = sp->kind == AGG_MAX ? &st->v2 : &st->v;
        if (sp->kind == AGG_SPREAD) {
            if (sp->type == VT_F64)
                out->d.f64[r] = st->v2.v.f - st->v.v.f;
            else if (sp->type == VT_I64) /* wraps, as arrow's subtraction kernel does */
                out->d.i64[r] = (int64_t)((uint64_t)st->v2.v.i - (uint64_t)st->v.v.i);
            else
                out->d.u64[r] = st->v2.v.u - st->v.v.u;
            break;
        }
        switch (sp->type) {
        case VT_F64:
            out->d.f64[r] = v->v.f;
            break;
        case VT_U64:
            out->d.u64[r] = v->v.u;
            break;
        case VT_BOOL:
            out->d.b[r] = v->v.b;
            break;
        case VT_STR:
            out->d.s[r] = v->v.s;
            break;
        default:
            out->d.i64[r] = v->v.i;
            break;
        }
        break;
    }
    }
    if (null) vec_set_null(a, out, r);
}

static int agg_next(op *o, batch *b, err *er) {
    struct agg_op *g = (struct agg_op *)o;
    arena *qa = o->q->a;
    if (!g->done) {
        g->groups = keyset_new(qa, 64);
        uint8_t *kt = arena_alloc(qa, g->nkeys + 1), *ku = arena_alloc(qa, g->nkeys + 1);
        for (uint32_t k = 0; k < g->nkeys; k++) {
            kt[k] = g->keys[k]->type;
            ku[k] = g->keys[k]->unit;
        }
        colbuf_init(qa, &g->gkeys, g->nkeys, kt, ku);
        buf kb;
        buf_init(&kb);
        vec *kv = arena_alloc(qa, sizeof *kv * (g->nkeys + 1));
        vec *av = arena_alloc(qa, sizeof *av * (g->naggs + 1));
        vec *av2 = arena_alloc(qa, sizeof *av2 * (g->naggs + 1));
        uint32_t *gidx = NULL;
        uint32_t gcap = 0;
        if (g->nkeys == 0) {
            /* No GROUP BY: exactly one group, even over no rows. */
            g->states = arena_calloc(qa, sizeof *g->states);
            g->states[0] = arena_calloc(qa, sizeof **g->states * (g->naggs + 1));
            g->ngroups = 1;
        }
        int rc;
        batch in;
        while ((rc = g->child->next(g->child, &in, er)) > 0) {
            if (q_check(o->q, er) < 0) goto fail;
            arena *ba = o->q->ba;
            for (uint32_t k = 0; k < g->nkeys; k++)
                if (bexpr_eval(g->keys[k], &in, ba, &kv[k], er) < 0) goto fail;
            for (uint32_t k = 0; k < g->naggs; k++) {
                if (g->aggs[k].arg && bexpr_eval(g->aggs[k].arg, &in, ba, &av[k], er) < 0)
                    goto fail;
                if (g->aggs[k].arg2 && bexpr_eval(g->aggs[k].arg2, &in, ba, &av2[k], er) < 0)
                    goto fail;
            }
            if (in.nrows > gcap) {
                gcap = in.nrows;
                gidx = xrealloc(gidx, sizeof *gidx * gcap);
            }
            if (g->nkeys) {
                /* Group index per row; new groups get their key row appended. */
                uint32_t *newrows = arena_alloc(ba, sizeof *newrows * in.nrows);
                uint32_t nnew = 0;
                for (uint32_t i = 0; i < in.nrows; i++) {
                    /* Rows usually arrive in runs of one group (a series' rows, a time
                     * bucket): reuse the previous row's group without hashing. */
                    if (i > 0 && same_keys(kv, g->nkeys, i)) {
                        gidx[i] = gidx[i - 1];
                        continue;
                    }
                    buf_reset(&kb);
                    for (uint32_t k = 0; k < g->nkeys; k++) key_encode(&kb, &kv[k], i);
                    bool ins;
                    uint32_t *slot = keyset_upsert(g->groups, kb.p, (uint32_t)kb.len, &ins);
                    if (ins) {
                        if (g->ngroups == g->capgroups) {
                            uint32_t nc = g->capgroups ? g->capgroups * 2 : 64;
                            g->states =
                                arena_realloc(qa, g->states, sizeof *g->states * g->capgroups,
                                              sizeof *g->states * nc);
                            g->capgroups = nc;
                        }
                        g->states[g->ngroups] =
                            arena_calloc(qa, sizeof **g->states * (g->naggs + 1));
                        *slot = g->ngroups++;
                        newrows[nnew++] = i;
                    }
                    gidx[i] = *slot;
                }
                if (nnew) {
                    batch kbatch = {g->nkeys, in.nrows, kv}, sel;
                    batch_take(ba, &kbatch, newrows, nnew, &sel);
                    colbuf_append(qa, &g->gkeys, &sel);
                }
            } else {
                memset(gidx, 0, sizeof *gidx * in.nrows);
            }
            for (uint32_t k = 0; k < g->naggs; k++) {
                const agg_spec *sp = &g->aggs[k];
                /* runs of rows of one group go through the range update */
                for (uint32_t i = 0; i < in.nrows;) {
                    uint32_t j = i + 1;
                    while (j < in.nrows && gidx[j] == gidx[i]) j++;
                    agg_update_range(qa, sp, &g->states[gidx[i]][k], sp->arg ? &av[k] : NULL,
                                     sp->arg2 ? &av2[k] : NULL, i, j);
                    i = j;
                }
            }
            arena_reset(o->q->ba);
        }
        free(gidx);
        buf_free(&kb);
        g->groups = NULL;
        if (rc < 0) return -1;
        g->done = true;
        goto produce;
    fail:
        free(gidx);
        buf_free(&kb);
        g->groups = NULL;
        return -1;
    }
produce:
    if (g->pos >= g->ngroups) return 0;
    uint32_t n = g->ngroups - g->pos;
    if (n > 4096) n = 4096;
    arena *ba = o->q->ba;
    b->ncols = o->ncols;
    b->nrows = n;
    b->cols = arena_alloc(ba, sizeof *b->cols * o->ncols);
    if (g->nkeys) {
        uint32_t *idx = arena_alloc(ba, sizeof *idx * n);
        for (uint32_t i = 0; i < n; i++) idx[i] = g->pos + i;
        batch all = {g->nkeys, g->gkeys.n, g->gkeys.cols}, sel;
        batch_take(ba, &all, idx, n, &sel);
        memcpy(b->cols, sel.cols, sizeof *b->cols * g->nkeys);
    }
    for (uint32_t k = 0; k < g->naggs; k++) {
        vec *v = &b->cols[g->nkeys + k];
        vec_alloc(ba, g->aggs[k].type, g->aggs[k].unit, n, v);
        memset(v->d.raw, 0, vtype_size(v->type) * n);
        for (uint32_t i = 0; i < n; i++)
            agg_final(&g->aggs[k], &g->states[g->pos + i][k], v, i, ba);
    }
    g->pos += n;
    return 1;
}

static void agg_close(op *o) {
    struct agg_op *g = (struct agg_op *)o;
    g->child->close(g->child);
}

op *op_agg(qctx *q, op *child, bexpr **keys, uint32_t nkeys, agg_spec *aggs, uint32_t naggs) {
    struct agg_op *g = arena_calloc(q->a, sizeof *g);
    op_init(&g->o, q, nkeys + naggs);
    for (uint32_t k = 0; k < nkeys; k++) {
        g->o.types[k] = keys[k]->type;
        g->o.units[k] = keys[k]->unit;
        g->o.has_tz[k] = keys[k]->has_tz;
    }
    for (uint32_t k = 0; k < naggs; k++) {
        g->o.types[nkeys + k] = aggs[k].type;
        g->o.units[nkeys + k] = aggs[k].unit;
    }
    g->o.next = agg_next;
    g->o.close = agg_close;
    g->child = child;
    g->keys = keys;
    g->nkeys = nkeys;
    g->aggs = aggs;
    g->naggs = naggs;
    return &g->o;
}
