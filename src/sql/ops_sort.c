/* ORDER BY: the sort operator, which holds its whole input, and top-N, which holds only the
 * rows a LIMIT can still return. See ops.h. */
#include "sql/ops_int.h"
#include "util/vlist.h"
#include "util/vstruct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    case VT_TIME64:
        return (v->d.i64[i] > v->d.i64[j]) - (v->d.i64[i] < v->d.i64[j]);
    case VT_U64:
        return (v->d.u64[i] > v->d.u64[j]) - (v->d.u64[i] < v->d.u64[j]);
    case VT_BOOL:
        return (int)v->d.b[i] - (int)v->d.b[j];
    case VT_DEC128: {
        dec128 a = v->d.dec[i], b = v->d.dec[j];
        if (a.hi != b.hi) return (a.hi > b.hi) - (a.hi < b.hi);
        return (a.lo > b.lo) - (a.lo < b.lo);
    }
    case VT_STR: {
        strv a = v->d.s[i], b = v->d.s[j];
        uint32_t n = a.len < b.len ? a.len : b.len;
        int r = memcmp(a.p, b.p, n);
        return r ? (r > 0) - (r < 0) : (a.len > b.len) - (a.len < b.len);
    }
    case VT_LIST:
        return vlist_cmp(v->d.s[i], v->d.s[j], v->unit);
    case VT_STRUCT:
        return vstruct_cmp(v->d.s[i], v->d.s[j], v->unit);
    default:
        return 0;
    }
}

int rows_cmp(const struct row_order *ro, uint32_t i, uint32_t j) {
    for (uint32_t k = 0; k < ro->nkeys; k++) {
        const vec *v = &ro->keys[k];
        bool vi = vec_is_valid(v, i), vj = vec_is_valid(v, j);
        int r;
        if (!vi || !vj) {
            if (vi == vj) continue;
            r = !vi ? -1 : 1; /* null first */
            if (!ro->spec[k].nulls_first) r = -r;
            return r;
        }
        r = cmp_vals(v, i, j);
        if (r) return ro->spec[k].desc ? -r : r;
    }
    return 0;
}

static int sort_cmp(const void *pa, const void *pb, void *ctx) {
    uint32_t i = *(const uint32_t *)pa, j = *(const uint32_t *)pb;
    int r = rows_cmp(ctx, i, j);
    return r ? r : (i > j) - (i < j); /* stable */
}

#define SORT_RUN 4096

int rows_sort(qctx *q, arena *a, const struct row_order *ro, uint32_t n, uint32_t **perm, err *er) {
    uint32_t *src = arena_alloc(a, sizeof *src * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) src[i] = i;
    void *ctx = (void *)ro;
    /* Input that is in order already (groups of a time bucket met in time order, a series'
     * rows by time) costs one comparison per row instead of a sort. */
    uint32_t in_order = 1;
    while (in_order < n && rows_cmp(ro, in_order - 1, in_order) <= 0) in_order++;
    if (in_order >= n) {
        *perm = src;
        return q_check(q, er);
    }
    for (uint32_t i = 0; i < n; i += SORT_RUN) {
        qsort_r(src + i, n - i < SORT_RUN ? n - i : SORT_RUN, sizeof *src, sort_cmp, ctx);
        if ((i / SORT_RUN) % 16 == 15 && q_check(q, er) < 0) return -1;
    }
    uint32_t *dst = n > SORT_RUN ? arena_alloc(a, sizeof *dst * n) : NULL;
    uint32_t since = 0;
    for (uint64_t w = SORT_RUN; w < n; w *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = (uint32_t)(lo + w < n ? lo + w : n);
            uint32_t hi = (uint32_t)(lo + 2 * w < n ? lo + 2 * w : n);
            uint32_t i = (uint32_t)lo, j = mid, k = (uint32_t)lo;
            while (i < mid && j < hi)
                dst[k++] = sort_cmp(&src[i], &src[j], ctx) <= 0 ? src[i++] : src[j++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
            since += hi - (uint32_t)lo;
            if (since >= 65536) {
                since = 0;
                if (q_check(q, er) < 0) return -1;
            }
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    *perm = src;
    return 0;
}

/* Sorts the rows held so far into s->perm. */
static int sort_perm(struct sort_op *s, err *er) {
    s->total = s->data.n;
    struct row_order ro = {s->data.cols + s->o.ncols, s->keys, s->nkeys};
    return rows_sort(s->o.q, s->da, &ro, s->data.n, &s->perm, er);
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

/* Sort: keys with their order (a logical plan spells out NULLS FIRST/LAST, a physical one only
 * NULLS LAST, arrow's default being first), and the top-N row count as fetch. */
static void sort_describe(const op *o, op_explain *x) {
    const struct sort_op *s = (const struct sort_op *)o;
    x->lname = "Sort";
    x->pname = "SortExec";
    x->passthrough = true;
    if (s->keep >= 0) buf_printf(&x->pd, "fetch=%lld, ", (long long)s->keep);
    buf_puts(&x->pd, "expr=[");
    for (uint32_t k = 0; k < s->nkeys; k++) {
        const sort_key *sk = &s->keys[k];
        if (k) {
            buf_puts(&x->ld, ", ");
            buf_putc(&x->pd, ',');
        }
        ex_expr(&x->ld, sk->e, &x->in[0], false);
        buf_printf(&x->ld, " %s NULLS %s", sk->desc ? "DESC" : "ASC",
                   sk->nulls_first ? "FIRST" : "LAST");
        ex_expr(&x->pd, sk->e, &x->in[0], true);
        buf_puts(&x->pd, sk->desc ? " DESC" : " ASC");
        if (!sk->nulls_first) buf_puts(&x->pd, " NULLS LAST"); /* arrow's default is first */
    }
    buf_putc(&x->pd, ']');
    if (s->keep >= 0) buf_printf(&x->ld, ", fetch=%lld", (long long)s->keep);
}

op *op_sort(qctx *q, op *child, sort_key *keys, uint32_t nkeys, int64_t keep) {
    struct sort_op *s = arena_calloc(q->a, sizeof *s);
    op_init(&s->o, q, child->ncols);
    op_copy_cols(&s->o, 0, child);
    s->o.next = sort_next;
    s->o.close = sort_close;
    s->child = op_gather(q, child);
    op_explain_child(&s->o, sort_describe, &s->child);
    s->keys = keys;
    s->nkeys = nkeys;
    s->keep = keep;
    return &s->o;
}
