/* The state of one aggregate function over one group, updated row by row (or a run of rows at
 * a time) and turned into the result value at the end. See ops_int.h. */
#include "sql/ops_int.h"
#include "util/vlist.h"

#include "sql/func.h"
#include "util/dec.h"
#include "sql/sketch.h"
#include "util/varint.h"

#include <xxhash.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void st_put(arena *a, value *dst, const vec *v, uint32_t i) {
    vec_get(v, i, dst);
    if (vtype_is_bytes(dst->type))
        dst->v.s = (strv){arena_strndup(a, dst->v.s.p, dst->v.s.len), dst->v.s.len};
}

int agg_value_cmp(const value *x, const value *y) {
    switch (x->type) {
    case VT_F64:
        /* NaN above every number, as ORDER BY sorts it and arrow's min/max see it */
        if (isnan(x->v.f) || isnan(y->v.f)) return isnan(x->v.f) - isnan(y->v.f);
        return (x->v.f > y->v.f) - (x->v.f < y->v.f);
    case VT_U64:
        return (x->v.u > y->v.u) - (x->v.u < y->v.u);
    case VT_BOOL:
        return (int)x->v.b - (int)y->v.b;
    case VT_DEC128: {
        i128 a = dec_get(x->v.dec), b = dec_get(y->v.dec);
        return (a > b) - (a < b);
    }
    case VT_STR: {
        uint32_t n = x->v.s.len < y->v.s.len ? x->v.s.len : y->v.s.len;
        int r = memcmp(x->v.s.p, y->v.s.p, n);
        return r ? r : (x->v.s.len > y->v.s.len) - (x->v.s.len < y->v.s.len);
    }
    case VT_LIST:
    case VT_STRUCT: /* element by element, field by field: not their bytes */
        return vlist_value_cmp(x, y);
    default:
        return (x->v.i > y->v.i) - (x->v.i < y->v.i);
    }
}

/* Row i of a numeric vector as a double. */
double agg_num_at(const vec *x, uint32_t i) {
    switch (x->type) {
    case VT_F64:
        return x->d.f64[i];
    case VT_I64:
        return (double)x->d.i64[i];
    case VT_U64:
        return (double)x->d.u64[i];
    default:
        return 0;
    }
}

static bool is_pair_stat(int kind) {
    return kind == AGG_COVAR || kind == AGG_COVAR_POP || kind == AGG_CORR ||
           (kind >= AGG_REGR_SLOPE && kind <= AGG_REGR_SXY);
}

bool agg_distinct_first(arena *a, struct agg_state *st, const vec *x, const vec *y, uint32_t i) {
    buf kb;
    buf_init(&kb);
    agg_key_encode(&kb, x, i);
    if (y) agg_key_encode(&kb, y, i);
    bool ins;
    if (!st->distinct) st->distinct = keyset_new(a, 4);
    keyset_upsert(st->distinct, kb.p, (uint32_t)kb.len, &ins);
    buf_free(&kb);
    return ins;
}

/* The two-argument statistics: both values non-NULL, Welford's update for each variable and
 * the co-moment, as DataFusion's covariance and variance accumulators make them. */
static void pair_update(const agg_spec *sp, struct agg_state *st, const vec *x, const vec *y,
                        uint32_t i) {
    if (!y || y->type == VT_NULL || !vec_is_valid(y, i)) return;
    double vx = agg_num_at(x, i), vy = agg_num_at(y, i);
    if (sp->kind >= AGG_REGR_SLOPE && sp->kind <= AGG_REGR_SXY) { /* regr_*(y, x) */
        double t = vx;
        vx = vy;
        vy = t;
    }
    double n = (double)(st->count + 1);
    double dx = vx - st->mean, mx = dx / n + st->mean;
    double dy = vy - st->mean_y, my = dy / n + st->mean_y;
    st->cxy += dx * (vy - my);
    st->m2 += dx * (vx - mx);
    st->m2_y += dy * (vy - my);
    st->mean = mx;
    st->mean_y = my;
    st->count++;
}

static void agg_update(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x,
                       const vec *y, uint32_t i) {
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
    if (sp->kind == AGG_ARRAY_AGG) {
        agg_array_add(a, sp, st, x, y, i);
        return;
    }
    if (sp->kind == AGG_FIRST_VALUE || sp->kind == AGG_LAST_VALUE) {
        agg_pick_add(a, sp, st, x, y, i);
        return;
    }
    if (x->type == VT_NULL || !vec_is_valid(x, i)) return;
    if (sp->kind == AGG_COUNT && y) { /* count(DISTINCT x, y) */
        if (y->type == VT_NULL || !vec_is_valid(y, i)) return;
        st->count += agg_distinct_first(a, st, x, y, i);
        return;
    }
    if (sp->kind == AGG_INCREASE) {
        agg_increase_add(a, st, x, y, i);
        return;
    }
    if (agg_kind_checked(sp->kind)) {
        agg_quality_add(a, st, x, y, i);
        return;
    }
    if (sp->kind == AGG_GAUGE) {
        agg_gauge_add(a, st, x, y, i);
        return;
    }
    if (sp->kind == AGG_STATE_AGG || sp->kind == AGG_COMPACT_STATE_AGG) {
        agg_stateagg_add(a, st, x, y, i);
        return;
    }
    if (is_pair_stat(sp->kind)) {
        pair_update(sp, st, x, y, i);
        return;
    }
    if (sp->distinct && !agg_distinct_first(a, st, x, NULL, i)) return;
    st->count++;
    switch (sp->kind) {
    case AGG_COUNT:
        break;
    case AGG_BIT_AND:
    case AGG_BIT_OR:
    case AGG_BIT_XOR: {
        uint64_t b = x->d.u64[i]; /* the bits of an i64 or u64 */
        if (!st->has) {
            st->sum_u = b;
            st->has = true;
        } else if (sp->kind == AGG_BIT_AND) {
            st->sum_u &= b;
        } else if (sp->kind == AGG_BIT_OR) {
            st->sum_u |= b;
        } else {
            st->sum_u ^= b;
        }
        break;
    }
    case AGG_BOOL_AND:
    case AGG_BOOL_OR: {
        bool b = x->d.b[i];
        st->v.v.b = !st->has ? b : sp->kind == AGG_BOOL_AND ? (st->v.v.b && b) : (st->v.v.b || b);
        st->has = true;
        break;
    }
    case AGG_MODE:
        agg_mode_add(a, st, x, i, 1);
        break;
    case AGG_SAMPLE:
        agg_sample_add(a, sp, st, x, i);
        break;
    case AGG_APPROX_DISTINCT: {
        buf kb;
        buf_init(&kb);
        agg_key_encode(&kb, x, i);
        if (!st->hll) st->hll = arena_calloc(a, HLL_REGISTERS);
        hll_add(st->hll, XXH3_64bits(kb.p, kb.len));
        buf_free(&kb);
        break;
    }
    case AGG_APPROX_MEDIAN:
    case AGG_APPROX_PCT:
    case AGG_APPROX_PCT_W:
        agg_pct_update(a, sp, st, x, y, i);
        break;
    default:
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
        case VT_DEC128: /* wraps past 128 bits, as DataFusion's sum does */
            d = 0;
            st->sum_d = dec_add_wrap(st->sum_d, x->d.dec[i]);
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
    case AGG_MEDIAN:
        agg_vals_push(a, st, x->d.u64[i]); /* all three types are 8 bytes */
        break;
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
        if (sp->kind != AGG_MAX && agg_value_cmp(&v, &st->v) < 0) st_put(a, &st->v, x, i);
        if (sp->kind != AGG_MIN && agg_value_cmp(&v, &st->v2) > 0) st_put(a, &st->v2, x, i);
        break;
    }
    }
}

/* first/last over rows [from, to): the winning row is found over the times alone and its value
 * copied once (row by row, last() copied every row of a time-ordered series). The winner is
 * the one the row-at-a-time rule picks: last takes the latest of equal times, first the
 * earliest. */
static void range_first_last(arena *a, bool last, struct agg_state *st, const vec *x, const vec *y,
                             uint32_t from, uint32_t to) {
    const int64_t *t = x->d.i64;
    uint32_t bi = UINT32_MAX;
    if (from >= to) return;
    int64_t best = 0;
    if (!x->valid && !y->valid) {
        bi = from;
        best = t[from];
        if (last) {
            for (uint32_t i = from + 1; i < to; i++)
                if (t[i] >= best) best = t[bi = i];
        } else {
            for (uint32_t i = from + 1; i < to; i++)
                if (t[i] < best) best = t[bi = i];
        }
    } else {
        for (uint32_t i = from; i < to; i++) {
            if (!vec_is_valid(x, i) || !vec_is_valid(y, i)) continue;
            if (bi == UINT32_MAX || (last ? t[i] >= best : t[i] < best)) best = t[bi = i];
        }
    }
    if (bi == UINT32_MAX || (st->has && (last ? best < st->ts : best >= st->ts))) return;
    st->ts = best;
    st_put(a, &st->v, y, bi);
    st->has = true;
}

/* Update of one state with rows [from, to): tight loops for the common aggregates, the
 * row-at-a-time path for the rest. */
void agg_state_update_range(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x,
                            const vec *y, uint32_t from, uint32_t to) {
    uint32_t n = to - from;
    if (sp->kind == AGG_COUNT && !sp->arg) {
        st->count += n;
        return;
    }
    if ((sp->kind == AGG_FIRST || sp->kind == AGG_LAST) && x->type == VT_TS && y->type != VT_NULL) {
        range_first_last(a, sp->kind == AGG_LAST, st, x, y, from, to);
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

/* ------------------------------------------------------------------ merging partial states */

/* A DISTINCT state's values come back from their encoded keys (agg_key_encode) and go through
 * the other state's update, whose own set drops the values it has already counted. */
struct distinct_merge {
    arena *a;
    const agg_spec *sp;
    struct agg_state *dst;
    uint8_t type, unit;
};

static void distinct_merge_one(void *ctx, const void *key, uint32_t klen) {
    struct distinct_merge *m = ctx;
    byte_reader r = {key, (const unsigned char *)key + klen, false};
    vec v = {.type = m->type, .unit = m->unit, .len = 1};
    if (klen == 0 || r.p[0] == 0) return; /* NULL: never counted */
    r.p++;
    union {
        double f;
        int64_t i;
        bool b;
        strv s;
        interval iv;
        dec128 dec;
    } one;
    memset(&one, 0, sizeof one);
    v.d.raw = &one;
    switch (m->type) {
    case VT_STR:
    case VT_LIST: {
        uint64_t len = br_uvarint(&r);
        if (r.bad || len > (uint64_t)(r.end - r.p)) return;
        one.s = (strv){(const char *)r.p, (uint32_t)len};
        break;
    }
    case VT_BOOL:
        one.b = r.p < r.end && r.p[0];
        break;
    case VT_INTERVAL:
        if ((size_t)(r.end - r.p) < sizeof one.iv) return;
        memcpy(&one.iv, r.p, sizeof one.iv);
        break;
    case VT_DEC128:
        if ((size_t)(r.end - r.p) < sizeof one.dec) return;
        memcpy(&one.dec, r.p, sizeof one.dec);
        break;
    default:
        if (r.end - r.p < 8) return;
        memcpy(&one.i, r.p, 8);
    }
    agg_update(m->a, m->sp, m->dst, &v, NULL, 0);
}

struct count_merge {
    arena *a;
    struct agg_state *dst;
};

static void count_merge_one(void *ctx, const void *key, uint32_t klen) {
    struct count_merge *m = ctx;
    bool ins;
    if (!m->dst->distinct) m->dst->distinct = keyset_new(m->a, 4);
    keyset_upsert(m->dst->distinct, key, klen, &ins);
    m->dst->count += ins;
}

static void merge_extreme(arena *a, const agg_spec *sp, struct agg_state *dst,
                          const struct agg_state *src) {
    if (!dst->has) {
        dst->v = src->v;
        dst->v2 = src->v2;
        if (vtype_is_bytes(dst->v.type))
            dst->v.v.s = (strv){arena_strndup(a, src->v.v.s.p, src->v.v.s.len), src->v.v.s.len};
        if (vtype_is_bytes(dst->v2.type))
            dst->v2.v.s = (strv){arena_strndup(a, src->v2.v.s.p, src->v2.v.s.len), src->v2.v.s.len};
        dst->has = true;
        return;
    }
    /* ties keep dst's value, as the row-at-a-time update keeps the first it saw */
    if (sp->kind != AGG_MAX && agg_value_cmp(&src->v, &dst->v) < 0) {
        dst->v = src->v;
        if (vtype_is_bytes(dst->v.type))
            dst->v.v.s = (strv){arena_strndup(a, src->v.v.s.p, src->v.v.s.len), src->v.v.s.len};
    }
    if (sp->kind != AGG_MIN && agg_value_cmp(&src->v2, &dst->v2) > 0) {
        dst->v2 = src->v2;
        if (vtype_is_bytes(dst->v2.type))
            dst->v2.v.s = (strv){arena_strndup(a, src->v2.v.s.p, src->v2.v.s.len), src->v2.v.s.len};
    }
}

/* Chan et al.'s pairwise combination, in DataFusion's arithmetic. */
static void pair_merge(struct agg_state *dst, const struct agg_state *src) {
    if (!src->count) return;
    if (!dst->count) {
        dst->count = src->count;
        dst->mean = src->mean;
        dst->mean_y = src->mean_y;
        dst->m2 = src->m2;
        dst->m2_y = src->m2_y;
        dst->cxy = src->cxy;
        return;
    }
    double na = (double)dst->count, nb = (double)src->count, n = na + nb;
    double dx = dst->mean - src->mean, dy = dst->mean_y - src->mean_y;
    dst->cxy += src->cxy + dx * dy * na * nb / n;
    dst->m2 += src->m2 + dx * dx * na * nb / n;
    dst->m2_y += src->m2_y + dy * dy * na * nb / n;
    dst->mean = dst->mean * na / n + src->mean * nb / n;
    dst->mean_y = dst->mean_y * na / n + src->mean_y * nb / n;
    dst->count += src->count;
}

void agg_state_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                     const struct agg_state *src) {
    if (sp->kind == AGG_ARRAY_AGG) {
        agg_array_merge(a, sp, dst, src);
        return;
    }
    if (sp->kind == AGG_FIRST_VALUE || sp->kind == AGG_LAST_VALUE) {
        agg_pick_merge(a, sp, dst, src);
        return;
    }
    if (sp->distinct && sp->kind == AGG_COUNT) {
        /* the key sets' union: every key is a counted value (NULLs never enter) */
        struct count_merge m = {a, dst};
        if (src->distinct) keyset_each(src->distinct, count_merge_one, &m);
        return;
    }
    if (sp->distinct && sp->arg && sp->kind != AGG_FIRST && sp->kind != AGG_LAST) {
        if (!src->distinct) return;
        struct distinct_merge m = {a, sp, dst, sp->arg->type, sp->arg->unit};
        keyset_each(src->distinct, distinct_merge_one, &m);
        return;
    }
    switch (sp->kind) {
    case AGG_FIRST:
    case AGG_LAST:
        /* src's rows follow dst's: last takes the later of equal times, first the earlier */
        if (!src->has ||
            (dst->has && (sp->kind == AGG_LAST ? src->ts < dst->ts : src->ts >= dst->ts)))
            return;
        dst->ts = src->ts;
        dst->v = src->v;
        if (vtype_is_bytes(dst->v.type))
            dst->v.v.s = (strv){arena_strndup(a, src->v.v.s.p, src->v.v.s.len), src->v.v.s.len};
        dst->has = true;
        return;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_SPREAD:
        dst->count += src->count;
        if (src->has) merge_extreme(a, sp, dst, src);
        return;
    case AGG_MEDIAN:
    case AGG_INCREASE:
    case AGG_COMPLETENESS:
    case AGG_CONSISTENCY:
    case AGG_TIMELINESS:
    case AGG_VALIDITY:
        agg_vals_append(a, dst, src);
        return;
    case AGG_GAUGE:
        agg_gauge_merge(a, dst, src);
        return;
    case AGG_STATE_AGG:
    case AGG_COMPACT_STATE_AGG:
        agg_stateagg_merge(a, dst, src);
        return;
    case AGG_BIT_AND:
    case AGG_BIT_OR:
    case AGG_BIT_XOR:
        if (!src->has) return;
        dst->count += src->count;
        dst->sum_u = !dst->has                 ? src->sum_u
                     : sp->kind == AGG_BIT_AND ? dst->sum_u & src->sum_u
                     : sp->kind == AGG_BIT_OR  ? dst->sum_u | src->sum_u
                                               : dst->sum_u ^ src->sum_u;
        dst->has = true;
        return;
    case AGG_BOOL_AND:
    case AGG_BOOL_OR:
        if (!src->has) return;
        dst->v.v.b = !dst->has                  ? src->v.v.b
                     : sp->kind == AGG_BOOL_AND ? dst->v.v.b && src->v.v.b
                                                : dst->v.v.b || src->v.v.b;
        dst->has = true;
        return;
    case AGG_MODE:
        agg_mode_merge(a, dst, src);
        return;
    case AGG_SAMPLE:
        agg_sample_merge(a, sp, dst, src);
        return;
    case AGG_APPROX_DISTINCT:
        if (!src->hll) return;
        if (!dst->hll) dst->hll = arena_calloc(a, HLL_REGISTERS);
        hll_merge(dst->hll, src->hll);
        return;
    case AGG_APPROX_MEDIAN:
    case AGG_APPROX_PCT:
    case AGG_APPROX_PCT_W:
        agg_pct_merge(a, sp, dst, src);
        return;
    default:
        if (is_pair_stat(sp->kind)) {
            pair_merge(dst, src);
            return;
        }
        break;
    }
    /* count, sum, avg, variance: the sums add; the variance's mean and sum of squared
     * deviations combine by Chan et al.'s pairwise formula */
    if (src->count && dst->count) {
        double na = (double)dst->count, nb = (double)src->count, n = na + nb;
        double delta = src->mean - dst->mean;
        dst->m2 += src->m2 + delta * delta * na * nb / n;
        dst->mean += delta * nb / n;
    } else if (src->count) {
        dst->mean = src->mean;
        dst->m2 = src->m2;
    }
    dst->count += src->count;
    dst->sum_f += src->sum_f;
    dst->sum_i = (int64_t)((uint64_t)dst->sum_i + (uint64_t)src->sum_i);
    dst->sum_u += src->sum_u;
    dst->sum_d = dec_add_wrap(dst->sum_d, src->sum_d);
}

static int cmp_f64(const void *a, const void *b) {
    double x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    /* NaN above every number, as cmp_value: a total order, so the median does not depend on
     * the order the values came in */
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
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
static void median_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r) {
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

/* Writes v into row r of out, whose type is v's. */
/* The two-argument statistics from the pair state, NULL where DataFusion gives NULL. */
static bool pair_final(const agg_spec *sp, const struct agg_state *st, double *res) {
    double n = (double)st->count;
    double cov = st->cxy / n, vx = st->m2 / n, vy = st->m2_y / n;
    switch (sp->kind) {
    case AGG_COVAR:
        if (st->count < 2) return false;
        *res = st->cxy / (n - 1);
        return true;
    case AGG_COVAR_POP:
        if (!st->count) return false;
        *res = cov;
        return true;
    case AGG_CORR: {
        if (!st->count) return false;
        double sx = sqrt(vx), sy = sqrt(vy);
        *res = sx == 0 || sy == 0 ? 0.0 : cov / sx / sy;
        return true;
    }
    case AGG_REGR_COUNT:
        *res = n;
        return true;
    case AGG_REGR_SLOPE:
    case AGG_REGR_INTERCEPT:
        if (st->count < 2 || vx == 0) return false;
        *res = sp->kind == AGG_REGR_SLOPE ? cov / vx : st->mean_y - cov / vx * st->mean;
        return true;
    case AGG_REGR_R2:
        if (st->count < 2 || vx == 0) return false;
        *res = vy == 0 ? 1.0 : cov * cov / (vx * vy);
        return true;
    default:
        if (!st->count) return false;
        *res = sp->kind == AGG_REGR_AVGX   ? st->mean
               : sp->kind == AGG_REGR_AVGY ? st->mean_y
               : sp->kind == AGG_REGR_SXX  ? st->m2
               : sp->kind == AGG_REGR_SYY  ? st->m2_y
                                           : st->cxy;
        return true;
    }
}

/* DataFusion 27's DecimalAverager: the sum brought to the result's scale, then divided by the
 * count with truncation. An average past the result's precision is NULL here (DataFusion fails
 * the query with "Arithmetic Overflow in AvgAccumulator"). */
static int dec_avg(const agg_spec *sp, const struct agg_state *st, dec128 *out, arena *a) {
    (void)a;
    int s_in = dec_scale(sp->arg->unit), s_out = dec_scale(sp->unit);
    i128 v;
    if (!dec_rescale(dec_get(st->sum_d), s_in, s_out, &v)) return -1;
    v /= st->count;
    if (!dec_fits(v, dec_prec(sp->unit))) return -1;
    *out = dec_put(v);
    return 0;
}

void agg_state_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r, arena *a) {
    bool null = false;
    switch (sp->kind) {
    case AGG_BIT_AND:
    case AGG_BIT_OR:
    case AGG_BIT_XOR:
        if (!st->has)
            null = true;
        else
            out->d.u64[r] = st->sum_u;
        break;
    case AGG_BOOL_AND:
    case AGG_BOOL_OR:
        if (!st->has)
            null = true;
        else
            out->d.b[r] = st->v.v.b;
        break;
    case AGG_MODE:
        null = !agg_mode_final(st, out, r);
        break;
    case AGG_ARRAY_AGG:
        agg_array_final(sp, st, out, r, a);
        break;
    case AGG_SAMPLE:
        if (!st->count)
            null = true;
        else
            agg_sample_final(sp, st, out, r, a);
        break;
    case AGG_INCREASE:
        agg_increase_final(sp, st, out, r, a);
        break;
    case AGG_COMPLETENESS:
    case AGG_CONSISTENCY:
    case AGG_TIMELINESS:
    case AGG_VALIDITY:
        out->d.f64[r] = st->sum_f; /* agg_quality_check's */
        break;
    case AGG_GAUGE:
        null = !agg_gauge_final(sp, st, out, r, a);
        break;
    case AGG_STATE_AGG:
    case AGG_COMPACT_STATE_AGG:
        null = !agg_stateagg_final(sp, st, out, r, a);
        break;
    case AGG_FIRST_VALUE:
    case AGG_LAST_VALUE:
        if (!st->has || st->v.null)
            null = true;
        else
            vec_put(out, r, &st->v);
        break;
    case AGG_APPROX_DISTINCT:
        out->d.u64[r] = st->hll ? hll_count(st->hll) : 0;
        break;
    case AGG_APPROX_MEDIAN:
    case AGG_APPROX_PCT:
    case AGG_APPROX_PCT_W:
        null = !agg_pct_final(sp, st, out, r, a);
        break;
    case AGG_COUNT:
        out->d.i64[r] = st->count;
        break;
    case AGG_SUM:
        if (!st->count)
            null = true;
        else if (sp->type == VT_DEC128)
            out->d.dec[r] = st->sum_d;
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
        else if (sp->type == VT_DEC128) {
            if (dec_avg(sp, st, &out->d.dec[r], a) < 0) null = true;
        } else
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
        vec_put(out, r, v);
        break;
    }
    default:
        if (is_pair_stat(sp->kind)) null = !pair_final(sp, st, &out->d.f64[r]);
        break;
    }
    if (null) vec_set_null(a, out, r);
}
