/* The gap filler: over an aggregate's output (GROUP BY keys, then aggregates), one row for every
 * time bucket of [tmin, tmax] per combination of the other keys ("series"); buckets no input row
 * had get NULL aggregates, then locf columns take the series' last non-NULL value before them
 * and interpolate columns a straight line between the non-NULL values on either side (those
 * before the first and after the last stay NULL). Blocking: it reads all its input first.
 * Series come out in the order of their keys, buckets in time order. See ops.h. */
#include "sql/ops_int.h"

#include "util/mem.h"
#include "util/vec.h"

#include <stdlib.h>
#include <string.h>

struct gapfill_op {
    op o;
    op *child;
    gapfill_spec gs;
    bool done;
    batch out; /* the whole result, handed out in slices */
    uint32_t pos;
};

#define GF_MAX_ROWS 50000000u

struct gf_row {
    uint32_t series, row;
    int64_t t;
};

static int gf_row_cmp(const void *x, const void *y) {
    const struct gf_row *a = x, *b = y;
    if (a->series != b->series) return a->series < b->series ? -1 : 1;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Fills column c of the result (rows [from, to) of one series, bucket starts ts) per its mode. */
static void gf_fill(vec *v, uint8_t mode, const int64_t *ts, uint32_t from, uint32_t to) {
    uint32_t last = UINT32_MAX;
    for (uint32_t i = from; i < to; i++) {
        if (vec_is_valid(v, i)) {
            if (mode == GF_INTERP && last != UINT32_MAX && last + 1 < i &&
                (v->type == VT_F64 || v->type == VT_I64 || v->type == VT_U64)) {
                for (uint32_t k = last + 1; k < i; k++) {
                    /* integers step from the earlier value by the truncated share of the
                     * difference, exactly (128 bits), so a falling line rounds like a rising one */
                    __int128 dt = (__int128)ts[k] - ts[last], span = (__int128)ts[i] - ts[last];
                    if (v->type == VT_F64) {
                        double y0 = v->d.f64[last];
                        v->d.f64[k] = y0 + (v->d.f64[i] - y0) * ((double)dt / (double)span);
                    } else {
                        bool u = v->type == VT_U64;
                        __int128 y0 = u ? (__int128)v->d.u64[last] : v->d.i64[last];
                        __int128 y1 = u ? (__int128)v->d.u64[i] : v->d.i64[i], p, y;
                        if (__builtin_mul_overflow(y1 - y0, dt, &p)) /* 2^65 x 2^64 */
                            y = y0 + (__int128)((long double)(y1 - y0) * dt / span);
                        else
                            y = y0 + p / span;
                        if (u)
                            v->d.u64[k] = (uint64_t)y;
                        else
                            v->d.i64[k] = (int64_t)y;
                    }
                    bitmap_set(v->valid, k);
                }
            }
            last = i;
        } else if (mode == GF_LOCF && last != UINT32_MAX) {
            value x;
            vec_get(v, last, &x);
            bitmap_set(v->valid, i);
            vec_put(v, i, &x);
        }
    }
}

/* Renumbers the series in the order of their keys (the GROUP BY's other keys, in its order,
 * ascending, NULLs last), as IOx's gap filler sorts its input: the answer does not depend on
 * the order the aggregate's hash table gave. first[] follows. */
static int gf_sort_series(qctx *q, const struct colbuf *in, const gapfill_spec *gs, uint32_t *first,
                          uint32_t nseries, struct gf_row *rows, uint32_t nrows, err *er) {
    arena *qa = q->a;
    if (nseries < 2 || gs->nkeys < 2) return 0;
    uint32_t nk = 0;
    vec *keys = arena_alloc(qa, sizeof *keys * gs->nkeys);
    sort_key *spec = arena_calloc(qa, sizeof *spec * gs->nkeys);
    for (uint32_t k = 0; k < gs->nkeys; k++)
        if (k != gs->time_col) vec_take(qa, &in->cols[k], first, nseries, &keys[nk++]);
    struct row_order ro = {keys, spec, nk};
    uint32_t *perm, *rank = arena_alloc(qa, sizeof *rank * nseries);
    if (rows_sort(q, qa, &ro, nseries, &perm, er) < 0) return -1;
    uint32_t *f2 = arena_alloc(qa, sizeof *f2 * nseries);
    for (uint32_t i = 0; i < nseries; i++) {
        rank[perm[i]] = i;
        f2[i] = first[perm[i]];
    }
    memcpy(first, f2, sizeof *first * nseries);
    for (uint32_t i = 0; i < nrows; i++) rows[i].series = rank[rows[i].series];
    return 0;
}

static int gapfill_build(struct gapfill_op *g, err *er) {
    op *o = &g->o;
    arena *qa = o->q->a;
    const gapfill_spec *gs = &g->gs;
    struct colbuf in;
    colbuf_init(qa, &in, g->child->ncols, g->child->types, g->child->units);
    batch b;
    int rc;
    while ((rc = g->child->next(g->child, &b, er)) > 0) {
        if (q_check(o->q, er) < 0) return -1;
        colbuf_append(qa, &in, &b);
        arena_reset(o->q->ba);
    }
    if (rc < 0) return -1;
    /* series of each input row, by the other keys' encoding */
    keyset *ks = keyset_new(qa, 64);
    struct gf_row *rows = arena_alloc(qa, sizeof *rows * (in.n + 1));
    uint32_t *first = arena_alloc(qa, sizeof *first * (in.n + 1)), nseries = 0, nrows = 0;
    buf kb;
    buf_init(&kb);
    const vec *tv = &in.cols[gs->time_col];
    for (uint32_t i = 0; i < in.n; i++) {
        if (!vec_is_valid(tv, i)) continue; /* NULL time: no bucket to put it in */
        buf_reset(&kb);
        for (uint32_t k = 0; k < gs->nkeys; k++)
            if (k != gs->time_col) agg_key_encode(&kb, &in.cols[k], i);
        bool ins;
        uint32_t *slot = keyset_upsert(ks, kb.p, (uint32_t)kb.len, &ins);
        if (ins) {
            first[nseries] = i;
            *slot = nseries++;
        }
        rows[nrows++] = (struct gf_row){*slot, i, tv->d.i64[i]};
    }
    buf_free(&kb);
    if (gf_sort_series(o->q, &in, gs, first, nseries, rows, nrows, er) < 0) return -1;
    qsort(rows, nrows, sizeof *rows, gf_row_cmp);
    /* The first bucket: the earliest that ends after tmin (for tumbling ones, the one holding
     * it). 128 bits: tmin - width may pass INT64_MIN. */
    __int128 step = gs->stride, lo = (__int128)gs->tmin - gs->width - gs->origin, m = lo % step;
    __int128 s0 = lo - m - (m < 0 ? step : 0) + gs->origin + step;
    if (s0 < INT64_MIN) s0 += ((INT64_MIN - s0) + step - 1) / step * step;
    int64_t start = s0 > gs->tmax ? gs->tmax : (int64_t)s0;
    uint64_t per = s0 > gs->tmax ? 0 : (uint64_t)((__int128)gs->tmax - start) / (uint64_t)step + 1;
    /* Each output row costs its columns' slots: a range far wider than the stride (a year of
     * nanoseconds) is refused before it is allocated. */
    if (nseries && per > GF_MAX_ROWS / nseries)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Execution error: gap filling would produce more than %u rows: narrow "
                       "the time range or widen the stride",
                       GF_MAX_ROWS);
    uint32_t total = (uint32_t)(per * nseries);
    /* idx: the input row of each output row, in.n (an appended all-NULL row) for a gap */
    uint32_t *idx = arena_alloc(qa, sizeof *idx * (total + 1));
    uint32_t *keyrow = arena_alloc(qa, sizeof *keyrow * (total + 1));
    int64_t *ts = arena_alloc(qa, sizeof *ts * (total + 1));
    uint32_t r = 0, out = 0;
    for (uint32_t s = 0; s < nseries; s++) {
        int64_t t = start;
        for (uint64_t k = 0; k < per; k++, t += step) {
            while (r < nrows && rows[r].series == s && rows[r].t < t) r++;
            bool hit = r < nrows && rows[r].series == s && rows[r].t == t;
            idx[out] = hit ? rows[r].row : in.n;
            keyrow[out] = first[s];
            ts[out++] = t;
        }
        while (r < nrows && rows[r].series == s) r++;
    }
    /* the all-NULL row */
    batch nb = {o->ncols, 1, arena_alloc(qa, sizeof(vec) * (o->ncols + 1))};
    for (uint32_t c = 0; c < o->ncols; c++)
        vec_alloc_null(qa, o->types[c], o->units[c], 1, &nb.cols[c]);
    colbuf_append(qa, &in, &nb);
    uint32_t nin = g->child->ncols;
    g->out = (batch){o->ncols, total, arena_alloc(qa, sizeof(vec) * (o->ncols + 1))};
    for (uint32_t c = 0; c < nin; c++) {
        vec *v = &g->out.cols[c];
        if (c == gs->time_col) {
            vec_alloc(qa, o->types[c], o->units[c], total, v);
            memcpy(v->d.i64, ts, sizeof *ts * total);
            v->has_tz = tv->has_tz;
            continue;
        }
        vec_take(qa, &in.cols[c], c < gs->nkeys ? keyrow : idx, total, v);
    }
    for (uint32_t j = 0; j < gs->nfill; j++) {
        vec *v = &g->out.cols[nin + j];
        vec_take(qa, &in.cols[gs->fill_src[j]], idx, total, v);
        if (!v->valid) continue;
        for (uint32_t s = 0; s < nseries; s++)
            gf_fill(v, gs->fill_mode[j], ts, (uint32_t)(s * per), (uint32_t)((s + 1) * per));
        vec_compact_valid(v, total);
    }
    return 0;
}

static int gapfill_next(op *o, batch *b, err *er) {
    struct gapfill_op *g = (struct gapfill_op *)o;
    if (!g->done) {
        if (gapfill_build(g, er) < 0) return -1;
        g->done = true;
    }
    if (g->pos >= g->out.nrows) return 0;
    uint32_t n = g->out.nrows - g->pos;
    if (n > 4096) n = 4096;
    arena *ba = o->q->ba;
    uint32_t *ix = arena_alloc(ba, sizeof *ix * n);
    for (uint32_t i = 0; i < n; i++) ix[i] = g->pos + i;
    batch_take(ba, &g->out, ix, n, b);
    g->pos += n;
    return 1;
}

static void gapfill_close(op *o) {
    struct gapfill_op *g = (struct gapfill_op *)o;
    g->child->close(g->child);
}

op *op_gapfill(qctx *q, op *child, const gapfill_spec *gs) {
    struct gapfill_op *g = arena_calloc(q->a, sizeof *g);
    op_init(&g->o, q, child->ncols + gs->nfill);
    op_copy_cols(&g->o, 0, child);
    for (uint32_t j = 0; j < gs->nfill; j++) {
        uint32_t c = child->ncols + j, src = gs->fill_src[j];
        g->o.types[c] = child->types[src];
        g->o.units[c] = child->units[src];
        g->o.has_tz[c] = child->has_tz[src];
    }
    g->o.next = gapfill_next;
    g->o.close = gapfill_close;
    g->child = child;
    g->gs = *gs;
    op_explain_as(&g->o, "GapFillExec", "GapFill", &g->child, 1);
    return &g->o;
}
