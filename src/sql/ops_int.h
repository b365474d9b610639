/* Internals shared by the operator files; nothing outside them includes this.
 *
 * The operators (ops.h) are split by family:
 *   ops.c        what every operator shares (op_init, batch_take, the column buffer) and the
 *                streaming operators: values, scan, filter, project, limit, concat;
 *   ops_sort.c   sort and top-N;
 *   ops_agg.c    the hash aggregate: grouping rows by key;
 *   ops_join.c   the hash join (and nested loop) for every join type;
 *   agg_state.c  the aggregate functions: one state per aggregate and group, its update, its
 *                merge with another part's state and its result;
 *   agg_values.c those of them whose state keeps values: mode, array_agg, the percentiles;
 *   ops_parallel.c  an input split into parts run on threads of their own (par_*).
 * Memory: operator state and blocking operators' buffers live in the query arena (or, for the
 * sort, in an arena of its own under the query's budget); batches in the batch arena. */
#ifndef STRATA_SQL_OPS_INT_H
#define STRATA_SQL_OPS_INT_H

#include "sql/explain.h"
#include "sql/keyset.h"
#include "sql/ops.h"
#include "util/buf.h"

/* Fills the fields every operator has, with room for ncols output columns in q->a. */
void op_init(op *o, qctx *q, uint32_t ncols);
/* Copies the column types, units and zone flags of src into o's columns from position at. */
void op_copy_cols(op *o, uint32_t at, const op *src);
/* The operator's describe function and its one input (EXPLAIN). */
void op_explain_child(op *o, void (*describe)(const op *, op_explain *), op **child);

/* ---- materialisation ---- */
/* A growing columnar buffer in the query arena: blocking operators collect rows into it. */
struct colbuf {
    uint32_t ncols;
    uint32_t n, cap;
    vec *cols;
};
void colbuf_init(arena *a, struct colbuf *cb, uint32_t ncols, const uint8_t *types,
                 const uint8_t *units);
/* Appends b's rows, copying strings into a (they must outlive the batch arena). */
void colbuf_append(arena *a, struct colbuf *cb, const batch *b);

/* ---- ordering rows (ops_sort.c) ---- */
/* Rows compared by key vectors (one per key, indexed by row), each with its direction and
 * NULL placement. */
struct row_order {
    const vec *keys;
    const sort_key *spec;
    uint32_t nkeys;
};
/* <0, 0, >0 as row i sorts before, with, after row j. */
int rows_cmp(const struct row_order *ro, uint32_t i, uint32_t j);
/* The permutation of rows 0..n-1 that sorts them (stable), in a; checks the query's deadline
 * and budget as it goes (a sort of millions of rows is interruptible). */
int rows_sort(qctx *q, arena *a, const struct row_order *ro, uint32_t n, uint32_t **perm, err *er);

/* ---- the hash aggregate (ops_agg.c) ---- */
/* Appends row i of v to kb as part of a group or DISTINCT key: a NULL marker, then the value's
 * bytes (strings length-prefixed, -0.0 as 0.0, every NaN as one), so equal keys encode alike. */
void agg_key_encode(buf *kb, const vec *v, uint32_t i);

/* ---- aggregate functions (agg_state.c) ---- */
/* The state of one aggregate over one group; all zero before the first row. */
struct agg_state {
    int64_t count;
    double sum_f, m2, mean;   /* Welford for variance; two-argument statistics: x's */
    double mean_y, m2_y, cxy; /* two-argument statistics: y's mean and squared deviations, and
                                 the co-moment sum (x - mean)(y - mean_y) */
    int64_t sum_i;
    uint64_t sum_u; /* also bit_and/bit_or/bit_xor's bits */
    dec128 sum_d;   /* sum and avg of decimals */
    bool has;       /* min/max/first/last, bit_ and bool_ aggregates: seen a value */
    value v, v2;    /* min/max; first/last value (v); bool_and/bool_or (v.v.b) */
    int64_t ts;     /* first/last time */
    uint64_t *vals; /* median: the raw 8 bytes of each f64/i64/u64 value; approximate
                       percentiles: values (with weights: value, weight pairs) not yet in td */
    uint32_t nvals, capvals;
    keyset *distinct;        /* DISTINCT: values seen (query arena) */
    struct agg_items *items; /* mode, array_agg */
    struct tdigest *td;      /* approx_median, approx_percentile_cont[_with_weight] */
    uint8_t *hll;            /* approx_distinct: HLL_REGISTERS registers */
};
/* The values mode and array_agg keep, in arrival order. */
struct agg_items {
    value *v;      /* mode: each distinct value; array_agg: each value (text or NULL) */
    value *key;    /* array_agg ORDER BY: each value's key */
    uint32_t *cnt; /* mode: occurrences of v[i] */
    uint32_t n, cap;
    keyset *index; /* mode: encoded value -> i + 1 */
};

/* Shared by agg_state.c and agg_values.c: values ordered as min/max order them (NaN above every
 * number); row i of a numeric vector as a double; v written into row r of out (v's type). */
int agg_value_cmp(const value *x, const value *y);
/* DISTINCT: whether value i of x (with y's, when y is given) is new to st's set, and now in
 * it. */
bool agg_distinct_first(arena *a, struct agg_state *st, const vec *x, const vec *y, uint32_t i);
double agg_num_at(const vec *x, uint32_t i);

/* ---- aggregates that keep values (agg_values.c) ---- */
/* v with its bytes (a string's, a list's, a struct's) copied into a: a kept value must outlive
 * the batch it came from. */
value agg_value_own(arena *a, value v);
/* The raw 8 bytes of a value appended to st->vals; src's appended to dst's. */
void agg_vals_push(arena *a, struct agg_state *st, uint64_t bits);
void agg_vals_append(arena *a, struct agg_state *dst, const struct agg_state *src);
/* mode: value i of x counted n more times; src's counts added; the most frequent value (of
 * equals the smallest) into row r of out, false if none. */
void agg_mode_add(arena *a, struct agg_state *st, const vec *x, uint32_t i, uint32_t n);
void agg_mode_merge(arena *a, struct agg_state *dst, const struct agg_state *src);
bool agg_mode_final(const struct agg_state *st, vec *out, uint32_t r);
/* array_agg: value i of x (text or NULL) kept with its ORDER BY key from k (NULL: none);
 * src's values after dst's; the list's text `[a, NULL, b]` in key order into row r. */
void agg_array_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *k,
                   uint32_t i);
void agg_array_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                     const struct agg_state *src);
void agg_array_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                     arena *a);
/* sample (agg_sample.c): value i of x (already counted in st->count) offered to the reservoir
 * of sp->param2 values; src's
 * reservoir merged into dst's (uniform over both parts); the reservoir, shuffled, as a list. */
void agg_sample_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, uint32_t i);
void agg_sample_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                      const struct agg_state *src);
void agg_sample_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                      arena *a);
/* approx_median / approx_percentile_cont[_with_weight]: value i of x (weight from w); src
 * merged in; the estimate into row r, false if there were no values. The final folds the
 * buffered values into the digest with memory from a: a must outlive every later read of st
 * (the state's own arena, or one reset only once st is no longer read). */
void agg_pct_update(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *w,
                    uint32_t i);
void agg_pct_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                   const struct agg_state *src);
bool agg_pct_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r, arena *a);

/* increase(time, x): row i's pair kept (none when x is NULL); the increase over the pairs in
 * time order into row r (0 for none). Parts merge with agg_vals_append. */
void agg_increase_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i);
/* Data quality (agg_quality.c): add a (time, x) row; compute the result into st->sum_f before
 * agg_state_final, failing (-1) as CnosDB does with fewer than two non-NaN values. */
void agg_quality_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i);
int agg_quality_check(const agg_spec *sp, struct agg_state *st, arena *a, err *er);
void agg_increase_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                        arena *a);

/* gauge_agg (agg_gauge.c): row i's point (time t, value x) kept when among the two earliest or
 * two latest; src's points added; the accessor sp->param2 into row r, false for NULL. */
void agg_gauge_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i);
void agg_gauge_merge(arena *a, struct agg_state *dst, const struct agg_state *src);
bool agg_gauge_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                     arena *a);

/* state_agg, compact_state_agg (agg_stateagg.c): row i's (time t, state s) kept unless s is
 * NULL; src's rows appended; the accessor sp->param2 into row r, false for NULL. */
void agg_stateagg_add(arena *a, struct agg_state *st, const vec *t, const vec *s, uint32_t i);
void agg_stateagg_merge(arena *a, struct agg_state *dst, const struct agg_state *src);
bool agg_stateagg_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                        arena *a);

/* first_value/last_value (x, ORDER BY key k or NULL): row i taken when it sorts first/last;
 * src's pick against dst's (src's rows after dst's). The kept value is st->v, its key st->v2. */
void agg_pick_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, const vec *k,
                  uint32_t i);
void agg_pick_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                    const struct agg_state *src);

/* Updates st with rows [from, to) of the argument vectors x (NULL for count(*)) and y
 * (first/last: x is the time, y the value). Memory that outlives the batch (strings, DISTINCT
 * sets, median values) comes from a. */
void agg_state_update_range(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x,
                            const vec *y, uint32_t from, uint32_t to);
/* Adds src, the state of the same aggregate over rows that come after dst's (the next part of
 * a parallel input), into dst, as if dst had been updated with those rows too. Memory that
 * outlives src's part (strings, sets, values) comes from a. */
void agg_state_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                     const struct agg_state *src);
/* Writes the aggregate's result for st into row r of out (NULL where SQL says so). */
void agg_state_final(const agg_spec *sp, struct agg_state *st, vec *out, uint32_t r, arena *a);

/* ---- parallel execution (ops_parallel.c) ---- */
struct par;
/* child in up to q->parallelism parts, each with its worker context; NULL when it does not
 * split into two or more (run it serially then). */
struct par *par_split(qctx *q, op *child);
/* The parts and their worker contexts (valid until par_free); returns how many. */
uint32_t par_parts(const struct par *p, qctx ***qs, op ***parts);
/* Runs fn(arg, i) for every part i at once, part 0 on the caller's thread; the first to fail
 * cancels the others and its error is returned (-1). */
int par_run(struct par *p, int (*fn)(void *arg, uint32_t i, err *er), void *arg, err *er);
/* Closes the parts and frees what the workers hold. NULL is a no-op. */
void par_free(struct par *p);

#endif
