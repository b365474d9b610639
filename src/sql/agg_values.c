/* The aggregates that keep values rather than a fixed-size state: mode (each distinct value
 * with its count), array_agg (every value, with its ORDER BY key), and the approximate
 * percentiles (values buffered, then folded into a t-digest a batch at a time, see sketch.h),
 * increase (each (time, value) pair, put in time order at the end).
 * Their states grow with the input, in the arena the operator gives (the query's, under its
 * memory budget). See ops_int.h. */
#include "sql/ops_int.h"

#include "sql/func.h"
#include "sql/sketch.h"
#include "util/vlist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sorted values given to the digest at a time: DataFusion merges each input batch (8192 rows)
 * into its digest, so up to this many values the answer is DataFusion's exactly. */
#define TD_BATCH 8192

void agg_vals_push(arena *a, struct agg_state *st, uint64_t bits) {
    if (st->nvals == st->capvals) {
        uint32_t nc = st->capvals ? st->capvals * 2 : 16;
        st->vals =
            arena_realloc(a, st->vals, sizeof *st->vals * st->capvals, sizeof *st->vals * nc);
        st->capvals = nc;
    }
    st->vals[st->nvals++] = bits;
}

static tdigest *td_of(arena *a, const agg_spec *sp, struct agg_state *st) {
    if (!st->td) {
        st->td = arena_alloc(a, sizeof *st->td);
        td_init(st->td, sp->kind == AGG_APPROX_PCT ? (uint32_t)sp->param2 : TD_DEFAULT_SIZE);
    }
    return st->td;
}

/* Moves the buffered values into the digest: sorted values merged in (approx_percentile_cont),
 * or each (value, weight) pair as a digest of its own of count 1, merged with the digest in one
 * go (approx_percentile_cont_with_weight, as DataFusion builds it). */
static void pct_flush(arena *a, const agg_spec *sp, struct agg_state *st) {
    if (!st->nvals) return;
    tdigest *td = td_of(a, sp, st);
    if (sp->kind != AGG_APPROX_PCT_W) {
        double *v = (double *)(void *)st->vals;
        td_sort(v, st->nvals);
        td_add_sorted(a, td, v, st->nvals);
    } else { /* the buffer holds (value, weight) pairs of doubles */
        td_add_weighted(a, td, (const td_centroid *)(const void *)st->vals, st->nvals / 2);
    }
    st->nvals = 0;
}

void agg_pct_update(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *w,
                    uint32_t i) {
    double d = agg_num_at(x, i);
    uint64_t bits;
    memcpy(&bits, &d, 8);
    agg_vals_push(a, st, bits);
    if (sp->kind == AGG_APPROX_PCT_W) {
        double wt = w && vec_is_valid(w, i) && w->type != VT_NULL ? agg_num_at(w, i) : 0;
        memcpy(&bits, &wt, 8);
        agg_vals_push(a, st, bits);
    }
    if (st->nvals >= (sp->kind == AGG_APPROX_PCT_W ? 2 * TD_BATCH : TD_BATCH)) pct_flush(a, sp, st);
}

value agg_value_own(arena *a, value v) {
    if (vtype_is_bytes(v.type) && !v.null)
        v.v.s = (strv){arena_strndup(a, v.v.s.p, v.v.s.len), v.v.s.len};
    return v;
}

static struct agg_items *items_of(arena *a, struct agg_state *st) {
    if (!st->items) st->items = arena_calloc(a, sizeof *st->items);
    return st->items;
}

/* Appends a value (and, for an ordered array_agg, its key) to the items; returns its index. */
static uint32_t items_push(arena *a, struct agg_items *it, const value *v, const value *key,
                           bool counted) {
    if (it->n == it->cap) {
        uint32_t nc = it->cap ? it->cap * 2 : 8;
        it->v = arena_realloc(a, it->v, sizeof *it->v * it->cap, sizeof *it->v * nc);
        if (key)
            it->key = arena_realloc(a, it->key, sizeof *it->key * it->cap, sizeof *it->key * nc);
        if (counted)
            it->cnt = arena_realloc(a, it->cnt, sizeof *it->cnt * it->cap, sizeof *it->cnt * nc);
        it->cap = nc;
    }
    it->v[it->n] = agg_value_own(a, *v);
    if (key) it->key[it->n] = agg_value_own(a, *key);
    if (counted) it->cnt[it->n] = 0;
    return it->n++;
}

/* mode: count one more of value v (n times). */
void agg_mode_add(arena *a, struct agg_state *st, const vec *x, uint32_t i, uint32_t n) {
    struct agg_items *it = items_of(a, st);
    if (!it->index) it->index = keyset_new(a, 8);
    buf kb;
    buf_init(&kb);
    agg_key_encode(&kb, x, i);
    bool ins;
    uint32_t *slot = keyset_upsert(it->index, kb.p, (uint32_t)kb.len, &ins);
    buf_free(&kb);
    if (ins) {
        value v;
        vec_get(x, i, &v);
        *slot = items_push(a, it, &v, NULL, true);
    }
    it->cnt[*slot] += n;
}

/* array_agg: keeps every value, NULLs included, with its ORDER BY key when there is one. */
void agg_array_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *k,
                   uint32_t i) {
    value v, key;
    vec_get(x, i, &v);
    if (!vec_is_valid(x, i) || x->type == VT_NULL) v.null = true;
    if (k) {
        vec_get(k, i, &key);
        if (!vec_is_valid(k, i) || k->type == VT_NULL) key.null = true;
    }
    if (sp->distinct && !agg_distinct_first(a, st, x, NULL, i)) return;
    items_push(a, items_of(a, st), &v, k ? &key : NULL, false);
}

void agg_vals_append(arena *a, struct agg_state *dst, const struct agg_state *src) {
    if (!src->nvals) return;
    if (dst->nvals + src->nvals > dst->capvals) {
        uint32_t nc = dst->nvals + src->nvals;
        dst->vals =
            arena_realloc(a, dst->vals, sizeof *dst->vals * dst->capvals, sizeof *dst->vals * nc);
        dst->capvals = nc;
    }
    memcpy(dst->vals + dst->nvals, src->vals, sizeof *src->vals * src->nvals);
    dst->nvals += src->nvals;
}

void agg_mode_merge(arena *a, struct agg_state *dst, const struct agg_state *from) {
    const struct agg_items *src = from->items;
    if (!src) return;
    for (uint32_t k = 0; k < src->n; k++) {
        value v = src->v[k];
        vec one = {.type = v.type, .unit = v.unit, .len = 1};
        one.d.raw = &v.v;
        agg_mode_add(a, dst, &one, 0, src->cnt[k]);
    }
}

/* Buffers that together stay under a batch concatenate, so a split input gives the serial
 * answer; otherwise both go into digests that merge as DataFusion merges partial states. */
void agg_pct_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                   const struct agg_state *src) {
    uint32_t lim = sp->kind == AGG_APPROX_PCT_W ? 2 * TD_BATCH : TD_BATCH;
    bool src_td = src->td && src->td->count > 0, dst_td = dst->td && dst->td->count > 0;
    if (!src_td && !dst_td && dst->nvals + src->nvals < lim) {
        agg_vals_append(a, dst, src);
        return;
    }
    struct agg_state tmp = *src; /* src stays as it is: its buffer goes into a copy's digest */
    tmp.td = NULL;
    if (src->td) {
        tmp.td = arena_alloc(a, sizeof *tmp.td);
        *tmp.td = *src->td;
    }
    pct_flush(a, sp, &tmp);
    pct_flush(a, sp, dst);
    if (!tmp.td) return;
    tdigest ds[2] = {*td_of(a, sp, dst), *tmp.td};
    td_merge(a, dst->td, ds, 2);
}

/* The most frequent value; of equally frequent ones the smallest, so that the answer does not
 * depend on the order rows arrive in (CnosDB's is whichever its hash map yields first). */
bool agg_mode_final(const struct agg_state *st, vec *out, uint32_t r) {
    const struct agg_items *it = st->items;
    if (!it || !it->n) return false;
    uint32_t best = 0;
    for (uint32_t k = 1; k < it->n; k++)
        if (it->cnt[k] > it->cnt[best] ||
            (it->cnt[k] == it->cnt[best] && agg_value_cmp(&it->v[k], &it->v[best]) < 0))
            best = k;
    vec_put(out, r, &it->v[best]);
    return true;
}

static int keys_cmp(const value *x, const value *y, const agg_spec *sp) {
    if (x->null || y->null) {
        if (x->null && y->null) return 0;
        return (x->null ? -1 : 1) * (sp->order_nulls_first ? 1 : -1);
    }
    int c = agg_value_cmp(x, y);
    return sp->order_desc ? -c : c;
}

/* array_agg: the values as a list in ORDER BY order (stable: ties keep arrival order); no rows
 * make an empty list, as DataFusion 27's accumulator gives. */
void agg_array_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                     arena *a) {
    const struct agg_items *it = st->items;
    uint32_t n = it ? it->n : 0;
    uint32_t *ord = arena_alloc(a, sizeof *ord * (n + 1));
    for (uint32_t k = 0; k < n; k++) ord[k] = k;
    if (n && it->key) /* insertion sort for stability, merging runs would do better */
        for (uint32_t k = 1; k < n; k++) {
            uint32_t x = ord[k], j = k;
            for (; j > 0 && keys_cmp(&it->key[ord[j - 1]], &it->key[x], sp) > 0; j--)
                ord[j] = ord[j - 1];
            ord[j] = x;
        }
    value *vals = arena_alloc(a, sizeof *vals * (n + 1));
    for (uint32_t k = 0; k < n; k++) vals[k] = it->v[ord[k]];
    out->d.s[r] = vlist_make(a, vlist_etype(sp->unit), vals, n);
}

/* The estimate: the buffered values go into the digest first (a window reads a growing state
 * after each row, one row more each time, as DataFusion's window accumulator is fed). */
bool agg_pct_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r, arena *a) {
    pct_flush(a, sp, st);
    if (!st->td || !(st->td->count > 0)) return false;
    double q = td_quantile(st->td, sp->kind == AGG_APPROX_MEDIAN ? 0.5 : sp->param);
    /* Rust's `as` casts: saturating, NaN to 0 */
    switch (sp->type) {
    case VT_I64:
        out->d.i64[r] = isnan(q)                      ? 0
                        : q <= -9223372036854775808.0 ? INT64_MIN
                        : q >= 9223372036854775808.0  ? INT64_MAX
                                                      : (int64_t)q;
        break;
    case VT_U64:
        out->d.u64[r] = isnan(q) || q <= 0            ? 0
                        : q >= 18446744073709551616.0 ? UINT64_MAX
                                                      : (uint64_t)q;
        break;
    default:
        out->d.f64[r] = q;
    }
    return true;
}

/* array_agg's partial states: src's values follow dst's, through dst's DISTINCT set if it has
 * one. */
void agg_array_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                     const struct agg_state *src) {
    const struct agg_items *it = src->items;
    for (uint32_t k = 0; it && k < it->n; k++) {
        if (!sp->distinct) {
            items_push(a, items_of(a, dst), &it->v[k], it->key ? &it->key[k] : NULL, false);
            continue;
        }
        static const uint8_t none = 0;
        value v = it->v[k];
        vec one = {
            .type = v.type, .unit = v.unit, .len = 1, .valid = v.null ? (uint8_t *)&none : NULL};
        one.d.raw = &v.v;
        agg_array_add(a, sp, dst, &one, NULL, 0);
    }
}

/* increase: the pairs are kept and sorted by time when read, so the rows may come in any order
 * and parts merge by appending (CnosDB's accumulator needs its rows in time order and adds the
 * partial increases of its partitions, which loses the steps across their boundaries). */
void agg_increase_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i) {
    if (!x || x->type == VT_NULL || !vec_is_valid(x, i)) return;
    agg_vals_push(a, st, (uint64_t)t->d.i64[i]);
    agg_vals_push(a, st, x->d.u64[i]); /* the bits of an i64, u64 or f64 */
}

struct tpoint {
    int64_t t;
    uint64_t v;
    uint32_t seq; /* arrival: equal times keep it */
};

static int cmp_tpoint(const void *x, const void *y) {
    const struct tpoint *p = x, *q = y;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return (p->seq > q->seq) - (p->seq < q->seq);
}

/* The sum of the rises from each value to the next; a fall is a counter reset, which adds the
 * new value (it counted up from 0). Wrapping integer sums, as ScalarValue's add. */
void agg_increase_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                        arena *a) {
    uint32_t n = st->nvals / 2;
    struct tpoint *p = arena_alloc(a, sizeof *p * (n + 1));
    for (uint32_t k = 0; k < n; k++)
        p[k] = (struct tpoint){(int64_t)st->vals[2 * k], st->vals[2 * k + 1], k};
    qsort(p, n, sizeof *p, cmp_tpoint);
    double sf = 0;
    uint64_t si = 0;
    for (uint32_t k = 1; k < n; k++) {
        uint64_t prev = p[k - 1].v, cur = p[k].v;
        if (sp->type == VT_F64) {
            double x, y;
            memcpy(&x, &prev, 8);
            memcpy(&y, &cur, 8);
            sf += y > x ? y - x : y < x ? y : 0;
        } else if (sp->type == VT_I64) {
            int64_t x = (int64_t)prev, y = (int64_t)cur;
            si += y > x ? (uint64_t)y - (uint64_t)x : y < x ? (uint64_t)y : 0;
        } else {
            si += cur > prev ? cur - prev : cur < prev ? cur : 0;
        }
    }
    if (sp->type == VT_F64)
        out->d.f64[r] = sf;
    else
        out->d.u64[r] = si;
}

/* first_value/last_value: row i's value when its ORDER BY key (from k; none: arrival order)
 * sorts before the kept one's (first_value, ties keep the earlier row) or not before it
 * (last_value, ties take the later row). NULL values count like any other. */
void agg_pick_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *k,
                  uint32_t i) {
    value key = {0};
    if (k) {
        vec_get(k, i, &key);
        if (!vec_is_valid(k, i) || k->type == VT_NULL) key.null = true;
    }
    bool take = !st->has;
    if (!take) {
        int c = k ? keys_cmp(&key, &st->v2, sp) : 1;
        take = sp->kind == AGG_FIRST_VALUE ? c < 0 : c >= 0;
    }
    if (!take) return;
    vec_get(x, i, &st->v);
    if (!vec_is_valid(x, i) || x->type == VT_NULL) st->v.null = true;
    st->v = agg_value_own(a, st->v);
    st->v2 = agg_value_own(a, key);
    st->has = true;
}

void agg_pick_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                    const struct agg_state *src) {
    if (!src->has) return;
    if (dst->has) {
        int c = sp->arg2 ? keys_cmp(&src->v2, &dst->v2, sp) : 1;
        if (sp->kind == AGG_FIRST_VALUE ? c >= 0 : c < 0) return;
    }
    /* src's value and key through the row path: one-row vectors */
    static const uint8_t none = 0;
    value v = src->v, key = src->v2;
    vec x = {.type = v.type, .unit = v.unit, .len = 1, .valid = v.null ? (uint8_t *)&none : NULL};
    vec k = {
        .type = key.type, .unit = key.unit, .len = 1, .valid = key.null ? (uint8_t *)&none : NULL};
    x.d.raw = &v.v;
    k.d.raw = &key.v;
    dst->has = false;
    agg_pick_add(a, sp, dst, &x, sp->arg2 ? &k : NULL, 0);
}
