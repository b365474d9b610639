/* Sketches behind the approximate aggregates: a t-digest (approx_median,
 * approx_percentile_cont[_with_weight]) and a HyperLogLog (approx_distinct).
 *
 * Both follow DataFusion 27, so that small inputs give CnosDB's very answers:
 *
 * t-digest (Dunning's merging digest as Facebook Folly and DataFusion implement it): a digest
 * is at most max_size centroids (mean, weight) sorted by mean, with the count, sum, min and max
 * of what it has seen. Values arrive sorted and are merged with the centroids in one pass
 * (td_add_sorted): a run of neighbours is folded into one centroid while the weight so far
 * stays under the k-size limit q(k) * count, q(k) = 2 (k/d)^2 below the middle and 1 - 2 (1 -
 * k/d)^2 above it. Digests merge the same way (td_merge). Up to about 2 * max_size^2 values
 * every value is a centroid of its own and a quantile is the interpolation DataFusion makes
 * between neighbouring centroids, clamped to them (td_quantile). Beyond that the answer depends
 * on how the input was cut into batches, as DataFusion's does.
 *
 * HyperLogLog: 2^14 one-byte registers indexed by the low 14 bits of a 64-bit hash, each the
 * largest position of the lowest set bit of the remaining 50 bits (+1) seen; the count is
 * Ertl's improved raw estimator over the histogram of register values ("New cardinality
 * estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables and is
 * exact or within one for small counts. The hash is XXH3 of the value's encoded bytes, not
 * DataFusion's aHash, so large estimates differ from CnosDB's by the sketch's error (~0.8%).
 *
 * Memory: centroids come from the caller's arena; the registers are the caller's
 * (HLL_REGISTERS bytes). Not thread safe; no errors. */
#ifndef STRATA_SQL_SKETCH_H
#define STRATA_SQL_SKETCH_H

#include <stdint.h>

#include "util/arena.h"

#define TD_DEFAULT_SIZE 100

typedef struct td_centroid {
    double mean, weight;
} td_centroid;

typedef struct tdigest {
    td_centroid *c; /* n centroids sorted by mean (total order), room for cap */
    uint32_t n, cap;
    uint32_t max_size;
    double sum, count, min, max; /* count 0: nothing seen, min and max NaN */
    /* Scratch the next merge builds in, then swaps with c: a digest fed batch after batch
     * allocates only while its batches grow (td_init: none yet). */
    td_centroid *spare, *work;
    uint32_t spare_cap, work_cap;
} tdigest;

/* An empty digest of at most max_size centroids. */
void td_init(tdigest *td, uint32_t max_size);
/* Adds n values sorted by total order. */
void td_add_sorted(arena *a, tdigest *td, const double *v, uint32_t n);
/* Adds n (value, weight) pairs, in any order, each as a digest of its own of count 1 merged
 * with td (DataFusion's approx_percentile_cont_with_weight: the count is of rows, the weights
 * only shape the centroids). */
void td_add_weighted(arena *a, tdigest *td, const td_centroid *pairs, uint32_t n);
/* Replaces out with the merge of ds[0..nd) (out may be one of them); every digest's max_size
 * is ds[0]'s. */
void td_merge(arena *a, tdigest *out, const tdigest *ds, uint32_t nd);
/* The estimate of quantile q in [0, 1]; 0 for an empty digest. */
double td_quantile(const tdigest *td, double q);
/* Sorts n doubles by total order (-NaN < -Inf < ... < -0.0 < 0.0 < ... < Inf < NaN). */
void td_sort(double *v, uint32_t n);

#define HLL_BITS 14
#define HLL_REGISTERS (1u << HLL_BITS)

/* Records a hashed value in the registers. */
void hll_add(uint8_t *regs, uint64_t hash);
/* Each register the larger of the two. */
void hll_merge(uint8_t *dst, const uint8_t *src);
/* The estimated number of distinct values recorded. */
uint64_t hll_count(const uint8_t *regs);

#endif
