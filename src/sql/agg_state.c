/* The state of one aggregate function over one group, updated row by row (or a run of rows at
 * a time) and turned into the result value at the end. See ops_int.h. */
#include "sql/ops_int.h"

#include "sql/func.h"
#include "util/varint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    if (x->type == VT_NULL || !vec_is_valid(x, i)) return;
    if (sp->distinct) {
        buf kb;
        buf_init(&kb);
        agg_key_encode(&kb, x, i);
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
    if (klen == 0 || r.p[0] == 0) return; /* NULL: never counted */
    r.p++;
    vec v = {.type = m->type, .unit = m->unit, .len = 1};
    union {
        double f;
        int64_t i;
        bool b;
        strv s;
        interval iv;
    } one;
    memset(&one, 0, sizeof one);
    v.d.raw = &one;
    switch (m->type) {
    case VT_STR: {
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
    default:
        if (r.end - r.p < 8) return;
        memcpy(&one.i, r.p, 8);
    }
    agg_update(m->a, m->sp, m->dst, &v, NULL, 0);
}

static void merge_extreme(arena *a, const agg_spec *sp, struct agg_state *dst,
                          const struct agg_state *src) {
    if (!dst->has) {
        dst->v = src->v;
        dst->v2 = src->v2;
        if (dst->v.type == VT_STR)
            dst->v.v.s = (strv){arena_strndup(a, src->v.v.s.p, src->v.v.s.len), src->v.v.s.len};
        if (dst->v2.type == VT_STR)
            dst->v2.v.s = (strv){arena_strndup(a, src->v2.v.s.p, src->v2.v.s.len), src->v2.v.s.len};
        dst->has = true;
        return;
    }
    /* ties keep dst's value, as the row-at-a-time update keeps the first it saw */
    if (sp->kind != AGG_MAX && cmp_value(&src->v, &dst->v) < 0) {
        dst->v = src->v;
        if (dst->v.type == VT_STR)
            dst->v.v.s = (strv){arena_strndup(a, src->v.v.s.p, src->v.v.s.len), src->v.v.s.len};
    }
    if (sp->kind != AGG_MIN && cmp_value(&src->v2, &dst->v2) > 0) {
        dst->v2 = src->v2;
        if (dst->v2.type == VT_STR)
            dst->v2.v.s = (strv){arena_strndup(a, src->v2.v.s.p, src->v2.v.s.len), src->v2.v.s.len};
    }
}

void agg_state_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                     const struct agg_state *src) {
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
        if (dst->v.type == VT_STR)
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
        if (!src->nvals) return;
        if (dst->nvals + src->nvals > dst->capvals) {
            uint32_t nc = dst->nvals + src->nvals;
            dst->vals = arena_realloc(a, dst->vals, sizeof *dst->vals * dst->capvals,
                                      sizeof *dst->vals * nc);
            dst->capvals = nc;
        }
        memcpy(dst->vals + dst->nvals, src->vals, sizeof *src->vals * src->nvals);
        dst->nvals += src->nvals;
        return;
    default:
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

void agg_state_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r, arena *a) {
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
