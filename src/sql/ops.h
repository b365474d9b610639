/* Physical operators of the executor: pull-based, batch at a time.
 *
 * Every operator has next() (1 = a batch, 0 = end, -1 = error) and close(). Operators keep
 * state that spans calls in the query arena (q->a) and put batch data in the batch arena
 * (q->ba), which the top of the tree resets between batches; blocking operators (sort,
 * aggregate) reset it themselves after consuming each input batch, so a query's memory is its
 * blocking state plus one batch in flight. */
#ifndef STRATA_SQL_OPS_H
#define STRATA_SQL_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "sql/expr.h"
#include "sql/sql.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

typedef struct qctx {
    arena *a;       /* query lifetime */
    arena *ba;      /* batch lifetime */
    arena *scratch; /* per-call scratch (q_scratch); NULL until first used */
    /* Every arena of the query (a, ba, scratch, sort buffers) is charged here; hash tables
     * and IN sets live in those arenas, so budget.held is what the query holds. budget.limit
     * is the query memory limit and budget.deadline_ns its timeout (0 = none). */
    arena_budget budget;
    /* Threads an aggregate may run its input on (ops_parallel.c); 0 or 1 = the caller's only.
     * A worker's own qctx has 1, and a budget whose parent is the query's. */
    uint32_t parallelism;
    /* The storage scans of the query, newest first (op_scan): what op_scans_estimate weighs. */
    struct scan_op *scans;
    /* A scan whose work no index can tell (external files, sql/ext.h): op_scans_estimate then
     * answers "more than any cap". */
    bool unestimated;
} qctx;

/* The query's scratch arena, reset: for work whose memory must not outlive one call (a
 * series predicate evaluated once per series). Freed by whoever frees the qctx's arenas. */
arena *q_scratch(qctx *q);

typedef struct op op;
typedef struct op_explain op_explain; /* explain.h */
struct op {
    int (*next)(op *o, batch *b, err *er);
    void (*close)(op *o);
    qctx *q;
    uint32_t ncols;
    uint8_t *types;
    uint8_t *units;
    bool *has_tz;
    /* EXPLAIN (explain.h). describe says what the operator is and does, in both of the plans
     * EXPLAIN prints; children are its inputs, so the tree can be walked. An operator that
     * sets neither is printed as a leaf named after its column count; one that sets only its
     * children (op_explain_as) prints under its given name. stats is NULL except under EXPLAIN
     * ANALYZE, which wraps next() to count rows and time: the normal path reads no clock. */
    void (*describe)(const op *o, op_explain *x);
    op **children;
    uint32_t nchildren;
    const char *pname, *lname; /* op_explain_as names, for operators without describe */
    struct op_stats *stats;
    /* Parallel execution (ops_parallel.c): splits an operator that has not been read yet into
     * up to n operators over disjoint parts of its rows, part i built in worker context qs[i],
     * such that the parts' rows in part order are its rows in its order. Returns how many
     * (0 = it cannot split); the parts are closed before the operator. NULL = cannot split:
     * scans split, filters and projections split their input. */
    uint32_t (*split)(op *o, qctx *const *qs, uint32_t n, op **parts);
};

/* For an operator without a describe function of its own: its physical and logical names
 * ("WindowAggExec", "WindowAggr") and its inputs (children[0..n), kept by reference), so
 * EXPLAIN prints it and walks through it. */
void op_explain_as(op *o, const char *pname, const char *lname, op **children, uint32_t n);

/* Checks the query deadline (500 when past it) and the memory limit (500 when the query's
 * arenas hold more than it: a sort, aggregation or IN list too large for the budget). */
int q_check(qctx *q, err *er);

/* A leaf that yields prepared batches (SHOW, DESCRIBE, SELECT without FROM, VALUES). */
op *op_values(qctx *q, uint32_t ncols, const uint8_t *types, const uint8_t *units, batch *batches,
              uint32_t nbatches);
/* What EXPLAIN shows of a scan beyond its spec: the planner's names and the tag predicate. */
typedef struct scan_desc {
    const char *table;     /* the table's name */
    const char *qual;      /* the name the query gives it (an alias), NULL = table */
    const char **cols;     /* names of the output columns: time, spec tags, spec fields */
    const bexpr *tag_pred; /* over the spec's tags (column k = spec tag k), NULL = none */
} scan_desc;
/* Storage scan: output = time, spec tags, spec fields. spec and desc memory must live in q->a;
 * desc may be NULL (EXPLAIN then prints ids for names). */
op *op_scan(qctx *q, engine *g, const scan_spec *spec, const scan_desc *desc, err *er);
/* About the values (rows times the columns read) the query's scans will read, counted up
 * to cap (cap + 1 = more), from storage's indexes (engine_scan_estimate): the work of a query
 * whose other operators are linear in their input. */
size_t op_scans_estimate(qctx *q, size_t cap);
/* If o is a storage scan whose columns cols[0..ncols) are all tags, makes it return only each
 * series' newest rows (engine_scan_newest) and returns true; else false. For an aggregate
 * that needs no more (last(time, x) grouped by tags). Call before o is read. */
bool op_scan_newest(op *o, const uint32_t *cols, uint32_t ncols);
op *op_filter(qctx *q, op *child, bexpr *pred);
/* A filter of which the scan below applies a part already (scan_spec.keep): shows pred in
 * EXPLAIN, evaluates only eval (the rest; NULL = passes its input through). */
op *op_filter_pushed(qctx *q, op *child, bexpr *pred, bexpr *eval);
/* The rows of b where pred is TRUE: their indexes into idx (b->nrows of room), increasing;
 * returns how many, or -1 with er filled. */
int op_select(const bexpr *pred, const batch *b, arena *a, uint32_t *idx, err *er);
op *op_project(qctx *q, op *child, bexpr **exprs, uint32_t n);
op *op_limit(qctx *q, op *child, uint64_t offset, int64_t limit /* -1 = none */);
/* Gap filling (ops_gapfill.c) over an aggregate's output: keys [0, nkeys), time_col among them
 * the bucket start; stride, origin, width and [tmin, tmax] in that column's unit. The buckets
 * are those starting every stride from the origin that end after tmin and start by tmax. The output
 * is the input's columns (gaps NULL) and then nfill filled copies: column fill_src[j] filled as
 * fill_mode[j] says (one aggregate may be shown both raw and filled, or filled two ways). */
enum { GF_LOCF = 1, GF_INTERP };
typedef struct gapfill_spec {
    uint32_t nkeys, time_col;
    int64_t stride, origin, tmin, tmax;
    int64_t width; /* a bucket's span: the stride, or a sliding window's width */
    uint32_t nfill;
    const uint32_t *fill_src;
    const uint8_t *fill_mode;
} gapfill_spec;
op *op_gapfill(qctx *q, op *child, const gapfill_spec *gs);
/* child's rows in child's order, computed by up to q->parallelism threads when child splits
 * (a scan under filters and projections; ops_parallel.c), else child itself. For a streaming
 * root whose reader does work of its own between batches (formatting a result), and for the
 * input of a sort. EXPLAIN shows child in its place. */
op *op_gather(qctx *q, op *child);
/* Encoding where the rows are made: fn (sql.h) appends the encoding of a batch's rows to out;
 * it is called by a gather's helper threads, several at once. Set on a gather before its
 * first batch (false: o is not a gather, or has started). */
bool op_gather_encode(op *o, sql_encode_fn fn, void *ctx);
/* o's next batch, as o->next, except that a gather with an encode function may hand a batch
 * over encoded: *text is then its rows' encoding and b holds only nrows (no columns); else
 * *text is NULL. Both valid until the next call. */
int op_gather_next_text(op *o, batch *b, const buf **text, err *er);

typedef struct sort_key {
    bexpr *e;
    bool desc;
    bool nulls_first;
} sort_key;
/* Sorts its whole input; with limit >= 0 keeps only the first offset+limit rows (top-N). */
op *op_sort(qctx *q, op *child, sort_key *keys, uint32_t nkeys, int64_t keep);

typedef struct agg_spec {
    int kind;    /* enum agg_kind */
    bexpr *arg;  /* NULL for count(*) */
    bexpr *arg2; /* first/last: the value (arg is the time); two-argument statistics: the second;
                    approx_percentile_cont_with_weight: the weight; array_agg: the ORDER BY key */
    bool distinct;
    bool order_desc, order_nulls_first; /* array_agg(x ORDER BY arg2 ...) */
    uint8_t type;                       /* result type */
    uint8_t unit;
    double param;   /* approx_percentile_cont[_with_weight]: the percentile, in [0, 1] */
    int64_t param2; /* approx_percentile_cont: the t-digest's centroids (0 = 100); gauge_agg,
                       state_agg: the accessor reading it */
    value *params;  /* state_agg's accessor: its constant arguments after the aggregate */
    uint32_t nparams;
} agg_spec;
/* Hash aggregate: output = group keys then aggregates. With no keys, exactly one row. When
 * q->parallelism > 1 and its input splits (a table scan under filters and projections), each
 * part is aggregated on its own thread and the partial states merged in part order, so the
 * groups come out in the order the serial plan gives them, with the same values (but for the
 * rounding of float sums, which depends on how rows are grouped into batches anyway). Under
 * EXPLAIN ANALYZE it stays serial, so the counts are the plan's. */
op *op_agg(qctx *q, op *child, bexpr **keys, uint32_t nkeys, agg_spec *aggs, uint32_t naggs);

/* GROUPING SETS (ops_expand.c): every input batch once per set, as the input's columns, the
 * keys (NULL where sets[s] leaves key k out: bit k clear) and the set's index (BIGINT). */
op *op_expand(qctx *q, op *child, bexpr **keys, uint32_t nkeys, const uint64_t *sets,
              uint32_t nsets);

/* time_window (ops_twindow.c): every input row once per window [start, start + width) that
 * holds its time (windows start at origin + k * slide, all in nanoseconds; time is a timestamp
 * expression over the input; a row whose time is NULL has none), as the input's columns then
 * the window as a struct of shape {start, end} (nanosecond timestamps), or with shape 0 as its
 * start alone (a nanosecond timestamp: sliding gap filling's bucket). The caller keeps
 * ceil(width / slide) small (CnosDB's limit is 100): a batch grows by that factor. */
op *op_twindow(qctx *q, op *child, bexpr *time, int64_t width, int64_t slide, int64_t origin,
               uint8_t shape);

/* A time-series generating function (ops_tsgen.c, sql/tsgen.h: kind and its options) over a
 * child of two columns, time (a timestamp) and a number, in time order: the function's points
 * as (time in the child's unit, DOUBLE). Reads the child whole before its first batch. */
struct tsgen_opts;
op *op_tsgen(qctx *q, op *child, int kind, const struct tsgen_opts *opts);

/* Window functions (ops_window.c). Each is computed over its partition (rows equal on `part`)
 * ordered by `order`; the ranking ones and lag/lead look at positions and peers (rows equal on
 * `order`), the others at the frame of each row. */
enum win_fn {
    WF_ROW_NUMBER = 1,
    WF_RANK,
    WF_DENSE_RANK,
    WF_PERCENT_RANK,
    WF_CUME_DIST,
    WF_NTILE, /* args[0]: constant bucket count */
    WF_LAG,   /* args: value, constant offset, default (of the value's type) */
    WF_LEAD,
    WF_FIRST_VALUE, /* args[0] */
    WF_LAST_VALUE,
    WF_NTH_VALUE, /* args[0], constant n */
    WF_AGG,       /* an aggregate over the frame: agg */
};
enum frame_bound { FRB_UNBOUNDED = 1, FRB_OFFSET, FRB_CURRENT };
typedef struct win_spec {
    uint8_t fn; /* enum win_fn */
    agg_spec agg;
    bexpr **args;
    uint32_t nargs;
    int64_t n; /* ntile's buckets, lag/lead's offset, nth_value's n */
    bexpr **part;
    uint32_t npart;
    sort_key *order;
    uint32_t norder;
    /* The frame: ROWS, RANGE or GROUPS (FRAME_* of ast.h) from start to end. An offset bound
     * counts rows (ROWS), peer groups (GROUPS) or order-key units (RANGE: off for integer and
     * time keys, in the key's unit; offf for float keys); start_preceding / end_preceding say
     * which direction. */
    uint8_t units;
    uint8_t start, end; /* enum frame_bound */
    bool start_preceding, end_preceding;
    int64_t start_off, end_off;
    double start_offf, end_offf;
    uint8_t type, unit; /* result */
} win_spec;
/* Holds its whole input and appends one column per window function. */
op *op_window(qctx *q, op *child, win_spec *w, uint32_t n);

/* Join types. SEMI and ANTI keep the left input's rows that have (do not have) a match, and
 * output only the left columns; the others output the left columns then the right ones. */
enum join_type { JT_INNER = 1, JT_LEFT, JT_RIGHT, JT_FULL, JT_SEMI, JT_ANTI };
typedef struct join_spec {
    uint8_t type;   /* enum join_type */
    uint32_t nkeys; /* equality keys; 0 = a nested loop over every pair */
    bexpr **lkeys;  /* over the left input's columns */
    bexpr **rkeys;  /* over the right input's columns, each the type of its lkeys */
    bexpr *filter;  /* over a pair's row (left columns, then right); NULL = none */
    bool null_eq;   /* NULL keys equal each other (set operations); else they match nothing */
} join_spec;
/* Hash join (ops_join.c): hashes the smaller input, streams the other. */
op *op_join(qctx *q, op *left, op *right, const join_spec *js);

/* The rows of every child in turn (UNION ALL); the children have the same column types. */
op *op_concat(qctx *q, op **children, uint32_t n);

/* Runs o to its end, or until it has given more than max_rows rows (*more set, out holding the
 * first max_rows), collecting the rows into one batch in a; closes o. For subqueries run while
 * the enclosing query is planned (the batch arena is reset between batches). */
int op_collect(op *o, arena *a, uint64_t max_rows, batch *out, bool *more, err *er);

/* Gathers rows idx[0..n) of in into out (memory from a). */
void batch_take(arena *a, const batch *in, const uint32_t *idx, uint32_t n, batch *out);

#endif
