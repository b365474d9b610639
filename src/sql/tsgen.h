/* CnosDB's time-series generating functions (after Apache IoTDB's data-repair library): a
 * SELECT whose one item is timestamp_repair(time, x [, 'args']), value_fill(time, x [, 'args'])
 * or value_repair(time, x [, 'args']) answers a repaired series, one row (time, value) per
 * point, instead of one row per input row (plan_tsgen.c plans it, ops_tsgen.c runs it).
 *
 * - timestamp_repair puts the points on a regular grid: the interval is the median gap
 *   (method=median, the default), the most frequent gap (method=mode), the mean of the largest
 *   of three k-means clusters of gaps (method=cluster) or interval=<ms>; the grid starts at
 *   the time most points agree on modulo the interval (start_mode=mode, the default) or at a
 *   least-squares fit (start_mode=linear). A dynamic program then aligns the points with the
 *   grid at the least cost of moving, adding (a NaN value) and dropping points.
 * - value_fill replaces NaN and infinite values: method=linear (the default; ends take the
 *   nearest value), previous, mean, ar (an AR(1) model fitted to the series) or ma (a moving
 *   average of the five points around).
 * - value_repair smooths values whose speed is out of range: method=screen (the default; speed
 *   limits min_speed, max_speed per nanosecond, by default the median speed -/+ 3 scaled MADs,
 *   each point kept within reach of the repaired previous one) or lsgreedy (changes of speed
 *   beyond 3 sigma about center are pulled in, the largest first).
 *
 * Times are nanoseconds here, values doubles (NaN for none). The argument string is
 * application/x-www-form-urlencoded as CnosDB reads it (`method=mode&interval=10000`); its
 * errors and the computations' are CnosDB's words. Pure functions: memory from the arena. */
#ifndef STRATA_SQL_TSGEN_H
#define STRATA_SQL_TSGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

enum tsgen_kind { TSGEN_TIMESTAMP_REPAIR = 1, TSGEN_VALUE_FILL, TSGEN_VALUE_REPAIR };

typedef struct tsgen_opts {
    int method;          /* per kind: see tsgen.c */
    int start_mode;      /* timestamp_repair */
    int64_t interval_ms; /* timestamp_repair; 0 = from the method */
    bool has_min_speed, has_max_speed, has_center, has_sigma;
    double min_speed, max_speed, center, sigma; /* value_repair */
} tsgen_opts;

/* The kind of a function name, 0 if it is none of them. */
int tsgen_kind(const char *name);
/* Parses s[0..n) (NULL for no argument) into *o; -1 with CnosDB's error. */
int tsgen_parse_opts(int kind, const char *s, size_t n, tsgen_opts *o, err *e);
/* Replaces each NaN or infinite value of v[0..n) (times t) by the line through its finite
 * neighbours, extrapolated at the ends; -1 (CnosDB's `At least two non-NaN values are needed`)
 * with fewer than two finite values. The data-quality aggregates share it (agg_quality.c). */
int tsgen_fill_nan(const int64_t *t, double *v, uint32_t n, err *e);
/* Runs kind over the points t[0..n) (ascending) and v[0..n); the result's times and values in
 * *ot, *ov (*on points). -1 with CnosDB's error (too few values, a model that does not fit, an
 * alignment too large to compute). */
int tsgen_run(int kind, const tsgen_opts *o, arena *a, const int64_t *t, const double *v,
              uint32_t n, int64_t **ot, double **ov, uint32_t *on, err *e);

#endif
