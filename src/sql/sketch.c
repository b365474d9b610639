/* t-digest and HyperLogLog: see sketch.h. */
#include "sql/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ t-digest */

/* The bits of a double as a signed integer that orders like IEEE 754's totalOrder. */
static int64_t total_key(double d) {
    int64_t k;
    memcpy(&k, &d, 8);
    return k ^ (int64_t)((uint64_t)(k >> 63) >> 1);
}

static int cmp_total(const void *x, const void *y) {
    int64_t a = total_key(*(const double *)x), b = total_key(*(const double *)y);
    return (a > b) - (a < b);
}

void td_sort(double *v, uint32_t n) {
    qsort(v, n, sizeof *v, cmp_total);
}

/* Stable, and linear on the nearly sorted runs a compression leaves. */
static void sort_centroids(td_centroid *c, uint32_t n) {
    for (uint32_t i = 1; i < n; i++) {
        td_centroid x = c[i];
        int64_t k = total_key(x.mean);
        uint32_t j = i;
        for (; j > 0 && total_key(c[j - 1].mean) > k; j--) c[j] = c[j - 1];
        c[j] = x;
    }
}

/* *p with room for need centroids, grown geometrically in a. */
static td_centroid *room(arena *a, td_centroid **p, uint32_t *cap, uint32_t need) {
    if (*cap < need) {
        uint32_t nc = *cap ? *cap : 16;
        while (nc < need) nc *= 2;
        *p = arena_alloc(a, sizeof **p * nc);
        *cap = nc;
    }
    return *p;
}

/* The spare buffer, just built, becomes the centroids; the old centroids the spare. */
static void swap_spare(tdigest *td) {
    td_centroid *c = td->c;
    uint32_t cap = td->cap;
    td->c = td->spare;
    td->cap = td->spare_cap;
    td->spare = c;
    td->spare_cap = cap;
}

void td_init(tdigest *td, uint32_t max_size) {
    memset(td, 0, sizeof *td);
    td->max_size = max_size ? max_size : TD_DEFAULT_SIZE;
    td->min = td->max = NAN;
}

static double k_to_q(double k, double d) {
    double kd = k / d;
    if (kd >= 0.5) {
        double base = 1.0 - kd;
        return 1.0 - 2.0 * base * base;
    }
    return 2.0 * kd * kd;
}

/* Folds sum/weight into c; returns c's new sum. */
static double centroid_add(td_centroid *c, double sum, double weight) {
    double s = sum + c->weight * c->mean;
    c->weight += weight;
    c->mean = s / c->weight;
    return s;
}

/* The one-pass compression both merges share: centroids arrive in order through next(); a run
 * whose cumulative weight stays within the current limit folds into the run's first. limits[0]
 * and limits[1] are the k of the first two limits (DataFusion's digest merge reuses k = 1). */
struct compress {
    td_centroid *out;
    uint32_t n;
    td_centroid cur;
    double so_far, sums, weights, limit, k, count, size, sum;
};

static void compress_start(struct compress *z, td_centroid first, double count, double size,
                           double k_first, double k_next) {
    z->cur = first;
    z->so_far = first.weight;
    z->sums = z->weights = 0;
    z->count = count;
    z->size = size;
    z->limit = k_to_q(k_first, size) * count;
    z->k = k_next;
    z->n = 0;
    z->sum = 0;
}

static void compress_next(struct compress *z, td_centroid c) {
    z->so_far += c.weight;
    if (z->so_far <= z->limit) {
        z->sums += c.mean * c.weight;
        z->weights += c.weight;
        return;
    }
    z->sum += centroid_add(&z->cur, z->sums, z->weights);
    z->sums = z->weights = 0;
    z->out[z->n++] = z->cur;
    z->limit = k_to_q(z->k, z->size) * z->count;
    z->k += 1;
    z->cur = c;
}

static void compress_end(struct compress *z) {
    z->sum += centroid_add(&z->cur, z->sums, z->weights);
    z->out[z->n++] = z->cur;
    sort_centroids(z->out, z->n);
}

/* Ends the compression, built in td's spare buffer, and makes it td's centroids. */
static void install(tdigest *td, struct compress *z, double lo, double hi) {
    compress_end(z);
    swap_spare(td);
    td->n = z->n;
    td->sum = z->sum;
    td->count = z->count;
    td->min = lo;
    td->max = hi;
}

void td_add_sorted(arena *a, tdigest *td, const double *v, uint32_t n) {
    if (!n) return;
    double count = td->count + n;
    double lo = v[0], hi = v[n - 1];
    if (td->count > 0) {
        lo = fmin(td->min, lo);
        hi = fmax(td->max, hi);
    }
    struct compress z;
    z.out = room(a, &td->spare, &td->spare_cap, td->n + n);
    uint32_t ci = 0, vi = 0;
    /* the next input in order: a centroid when its mean is below the next value */
#define TD_NEXT()                                                                                  \
    ((ci < td->n && (vi >= n || td->c[ci].mean < v[vi])) ? td->c[ci++]                             \
                                                         : (td_centroid){v[vi++], 1.0})
    td_centroid first = TD_NEXT();
    compress_start(&z, first, count, td->max_size, 1, 2);
    while (ci < td->n || vi < n) compress_next(&z, TD_NEXT());
#undef TD_NEXT
    install(td, &z, lo, hi);
}

/* The stable sort of c[0..n) by mean, runs merged left first (tmp: room for n). */
static void stable_sort(td_centroid *c, td_centroid *tmp, uint32_t n) {
    for (uint32_t w = 1; w < n; w *= 2) {
        for (uint32_t lo = 0; lo + w < n; lo += 2 * w) {
            uint32_t mid = lo + w, end = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < end)
                tmp[k++] = total_key(c[j].mean) < total_key(c[i].mean) ? c[j++] : c[i++];
            while (i < mid) tmp[k++] = c[i++];
            while (j < end) tmp[k++] = c[j++];
            memcpy(c + lo, tmp + lo, sizeof *c * (end - lo));
        }
    }
}

void td_add_weighted(arena *a, tdigest *td, const td_centroid *pairs, uint32_t n) {
    if (!n) return;
    uint32_t m = td->n + n;
    td_centroid *all = room(a, &td->spare, &td->spare_cap, m);
    td_centroid *tmp = room(a, &td->work, &td->work_cap, m);
    double lo = td->count > 0 ? td->min : INFINITY, hi = td->count > 0 ? td->max : -INFINITY;
    if (td->n) memcpy(all, td->c, sizeof *all * td->n);
    memcpy(all + td->n, pairs, sizeof *all * n);
    for (uint32_t i = 0; i < n; i++) {
        lo = fmin(lo, pairs[i].mean);
        hi = fmax(hi, pairs[i].mean);
    }
    /* td's run is sorted: sort the pairs, then merge the two runs, td's first on ties */
    stable_sort(all + td->n, tmp, n);
    if (td->n) {
        memcpy(tmp, all, sizeof *all * m);
        uint32_t i = 0, j = td->n, k = 0;
        while (i < td->n && j < m)
            all[k++] = total_key(tmp[j].mean) < total_key(tmp[i].mean) ? tmp[j++] : tmp[i++];
        while (i < td->n) all[k++] = tmp[i++];
        while (j < m) all[k++] = tmp[j++];
    }
    /* compressed in place: the output never passes the input read */
    double count = td->count + n;
    struct compress z;
    z.out = all;
    compress_start(&z, all[0], count, td->max_size, 1, 1);
    for (uint32_t i = 1; i < m; i++) compress_next(&z, all[i]);
    install(td, &z, lo, hi);
}

static int cmp_centroid(const void *x, const void *y) {
    return cmp_total(&((const td_centroid *)x)->mean, &((const td_centroid *)y)->mean);
}

void td_merge(arena *a, tdigest *out, const tdigest *ds, uint32_t nd) {
    uint32_t total = 0;
    for (uint32_t i = 0; i < nd; i++) total += ds[i].n;
    uint32_t max_size = nd ? ds[0].max_size : TD_DEFAULT_SIZE;
    if (!total) {
        td_init(out, max_size);
        return;
    }
    /* all centroids, stably sorted: the digests' sorted runs merged left first */
    td_centroid *all = arena_alloc(a, sizeof *all * total);
    double count = 0, lo = INFINITY, hi = -INFINITY;
    uint32_t m = 0;
    for (uint32_t i = 0; i < nd; i++) {
        if (!(ds[i].count > 0)) continue;
        lo = fmin(lo, ds[i].min);
        hi = fmax(hi, ds[i].max);
        count += ds[i].count;
        memcpy(all + m, ds[i].c, sizeof *all * ds[i].n);
        m += ds[i].n;
    }
    if (!m) {
        td_init(out, max_size);
        return;
    }
    /* mergesort keeps ties in digest order; qsort would not, so sort runs pairwise */
    td_centroid *tmp = arena_alloc(a, sizeof *tmp * m);
    uint32_t *starts = arena_alloc(a, sizeof *starts * (nd + 1));
    uint32_t nruns = 0, at = 0;
    for (uint32_t i = 0; i < nd; i++) {
        if (!(ds[i].count > 0)) continue;
        starts[nruns++] = at;
        at += ds[i].n;
    }
    starts[nruns] = m;
    for (uint32_t w = 1; w < nruns; w *= 2) {
        for (uint32_t r = 0; r + w < nruns; r += 2 * w) {
            uint32_t lo_i = starts[r], mid = starts[r + w];
            uint32_t end = r + 2 * w < nruns ? starts[r + 2 * w] : m;
            uint32_t i = lo_i, j = mid, k = lo_i;
            while (i < mid && j < end)
                tmp[k++] = cmp_centroid(&all[j], &all[i]) < 0 ? all[j++] : all[i++];
            while (i < mid) tmp[k++] = all[i++];
            while (j < end) tmp[k++] = all[j++];
            memcpy(all + lo_i, tmp + lo_i, sizeof *all * (end - lo_i));
        }
    }
    struct compress z;
    z.out = arena_alloc(a, sizeof *z.out * m);
    compress_start(&z, all[0], count, max_size, 1, 1);
    for (uint32_t i = 1; i < m; i++) compress_next(&z, all[i]);
    compress_end(&z);
    *out = (tdigest){.c = z.out, .n = z.n, .cap = m};
    out->max_size = max_size;
    out->sum = z.sum;
    out->count = count;
    out->min = lo;
    out->max = hi;
}

double td_quantile(const tdigest *td, double q) {
    if (!td->n) return 0.0;
    double rank = q * td->count, t;
    uint32_t pos;
    const td_centroid *c = td->c;
    uint32_t n = td->n;
    if (q > 0.5) {
        if (q >= 1.0) return td->max;
        pos = 0;
        t = td->count;
        for (uint32_t k = n; k-- > 0;) {
            t -= c[k].weight;
            if (rank >= t) {
                pos = k;
                break;
            }
        }
    } else {
        if (q <= 0.0) return td->min;
        pos = n - 1;
        t = 0;
        for (uint32_t k = 0; k < n; k++) {
            if (rank < t + c[k].weight) {
                pos = k;
                break;
            }
            t += c[k].weight;
        }
    }
    double delta = 0, lo = td->min, hi = td->max;
    if (n > 1) {
        if (pos == 0) {
            delta = c[1].mean - c[0].mean;
            hi = c[1].mean;
        } else if (pos == n - 1) {
            delta = c[pos].mean - c[pos - 1].mean;
            lo = c[pos - 1].mean;
        } else {
            delta = (c[pos + 1].mean - c[pos - 1].mean) / 2.0;
            lo = c[pos - 1].mean;
            hi = c[pos + 1].mean;
        }
    }
    double v = c[pos].mean + ((rank - t) / c[pos].weight - 0.5) * delta;
    if (isnan(lo) && isnan(hi)) return v;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
}

/* ------------------------------------------------------------------ HyperLogLog */

#define HLL_Q (64 - HLL_BITS)

void hll_add(uint8_t *regs, uint64_t hash) {
    uint32_t i = (uint32_t)(hash & (HLL_REGISTERS - 1));
    uint64_t rest = (hash >> HLL_BITS) | (1ull << HLL_Q);
    uint8_t p = (uint8_t)(__builtin_ctzll(rest) + 1);
    if (p > regs[i]) regs[i] = p;
}

void hll_merge(uint8_t *dst, const uint8_t *src) {
    for (uint32_t i = 0; i < HLL_REGISTERS; i++)
        if (src[i] > dst[i]) dst[i] = src[i];
}

static double hll_sigma(double x) {
    if (x == 1.0) return INFINITY;
    double y = 1, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (prev != z);
    return z;
}

static double hll_tau(double x) {
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1, z = 1 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (prev != z);
    return z / 3;
}

uint64_t hll_count(const uint8_t *regs) {
    uint32_t hist[HLL_Q + 2] = {0};
    for (uint32_t i = 0; i < HLL_REGISTERS; i++) hist[regs[i]]++;
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - hist[HLL_Q + 1]) / m);
    for (uint32_t k = HLL_Q; k >= 1; k--) {
        z += hist[k];
        z *= 0.5;
    }
    z += m * hll_sigma(hist[0] / m);
    return (uint64_t)llround(0.5 / log(2.0) * m * m / z);
}
