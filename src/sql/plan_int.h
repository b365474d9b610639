/* Internals shared by the binder and planner files; nothing outside them includes this.
 *
 * Planning a query (plan.h) is split by job, one file each:
 *   bind.c          names → columns, and types: AST expressions become typed bexpr trees bound
 *                   against a scope (the columns of the FROM clause, or of an aggregate's
 *                   output);
 *   plan.c          a query level: its CTEs, and a SELECT's select list, grouping, ordering and
 *                   limits, as named steps over the operator pipeline
 *                   FROM → aggregate → project → distinct → sort → limit;
 *   plan_from.c     the FROM clause: tables, subqueries and joins, and where each WHERE and ON
 *                   conjunct runs (pushed into a scan, a join key, a filter over a join);
 *   plan_scan.c     what storage does for one table: the WHERE conjuncts split into a time
 *                   range, a per-series tag predicate and a residual row filter; the columns
 *                   read; the scan operator (and the series filters of DELETE and SHOW);
 *   plan_set.c      UNION / INTERSECT / EXCEPT, VALUES, parenthesised queries;
 *   plan_subquery.c scalar, IN and EXISTS subqueries inside expressions.
 * plan_name.c prints expressions the way DataFusion names them, which both output column
 * names and the binder's matching of group keys and aggregates rely on.
 *
 * Memory: everything here lives in the query arena (q->a). Errors: 422 (plan_err's wording for
 * planning errors). */
#ifndef STRATA_SQL_PLAN_INT_H
#define STRATA_SQL_PLAN_INT_H

#include "sql/plan.h"

/* How a column of a FROM clause can be named. The right column of a USING pair is reached
 * only by its qualified name and is left out of `*`; the right columns of a semi or anti join
 * are gone above it. */
enum col_vis { CV_VISIBLE = 0, CV_USING_RIGHT, CV_GONE };

/* A column visible to expressions: a table or subquery column. */
struct col_ref {
    const char *qual;
    const char *name;
    uint8_t type, unit;
    uint8_t kind;    /* CK_TIME / CK_TAG / CK_FIELD, or 0xff for derived columns */
    uint32_t col_id; /* table column id (scans) */
    bool has_tz;
    uint8_t vis; /* enum col_vis */
};

/* The CTEs a query can name: the innermost WITH first. A CTE sees the ones defined before it
 * (env), not itself: WITH RECURSIVE is refused. */
struct cte_env {
    const sql_cte *cte;
    const struct cte_env *env;  /* what the CTE's own query sees */
    const struct cte_env *next; /* the next (outer or earlier) CTE */
};

/* An error DataFusion meets only after the plan is built (its type_coercion rule, then
 * simplify_expressions, then the physical planner): any error of building the plan comes first,
 * wherever it is in the query. So the first such error is kept while the rest of the query is
 * bound, and a later one replaces it only when an earlier pass would have met it (rank). */
struct plan_defer {
    err e;
    int rank; /* 0: none kept */
};

/* One query level being planned. */
struct planner {
    sql_session *s;
    qctx *q;
    arena *a;
    const struct cte_env *ctes;
    struct plan_defer *defer; /* shared by every level of one query */
};

/* A query planned into an operator: its output names (ncols of root). */
int plan_query_env(const struct planner *p, const sql_query *qy, plan_out *out, err *er);
/* One SELECT, with qy's ORDER BY / LIMIT / OFFSET (qy NULL: none). */
int plan_select(const struct planner *p, const sql_select *sel, const sql_query *qy, plan_out *out,
                err *er);

struct scope {
    struct col_ref *cols;
    uint32_t n;
};

struct binder {
    const struct planner *p; /* for subqueries */
    sql_session *s;
    qctx *q;
    arena *a;
    const struct scope *in;
    int64_t now_ns;
    /* Aggregation: when agg is set, expressions are bound against the aggregate's output
     * (group keys, then aggregates), and aggregate calls register new aggregates. */
    bool agg;
    /* "Valid fields are ..." without qualifiers (DELETE and UPDATE, as CnosDB words them) */
    bool unqualified_errors;
    /* Binding where DataFusion builds the plan without typing the expression (WHERE, ON, the
     * inside of a CAST): a call that fits no signature fails later, in its type_coercion rule,
     * with other words (func.h: fn_env.lazy). */
    bool lazy_types;
    /* Binding ORDER BY over an aggregate: DataFusion builds the sort over the projection without
     * checking it, and finding a column that is neither there nor a group key fails only when
     * the physical plan is made ("Schema error: No field named ..." listing these names). */
    const char *const *order_fields;
    uint32_t norder_fields;
    /* The select items and HAVING of the aggregate: DataFusion finds all their aggregate calls
     * before it checks any item, so its "available columns" name those not bound yet too. */
    const expr *const *agg_items;
    uint32_t nagg_items;
    const expr *agg_having;
    /* Typing the select list over the input rows only for its errors, as DataFusion builds a
     * projection of it before it looks at GROUP BY: aggregates, windows and subqueries are
     * not registered, each read as NULL. */
    bool typing_only;
    char **group_names;
    char **group_keys;      /* plan_expr_display of each group key: what an expression matches */
    const expr **group_ast; /* each group key's expression, for the cheap tests before that */
    bexpr **group_bx;
    uint32_t ngroup;
    agg_spec *aggs;
    char **agg_names;
    uint32_t naggs, capaggs;
    bool in_agg_arg;
    /* Window functions (plan_window.c), allowed where allow_window is set (the select list and
     * ORDER BY): each call registers a win_spec, and its result is read as column
     * PLAN_WIN_COL + k until plan_window_fix moves it after the window's input columns. */
    bool allow_window;
    const sql_named_window *named;
    uint32_t nnamed;
    win_spec *wins;
    char **win_names;
    uint32_t nwins, capwins;
    /* The SELECT's time_window call (plan_twindow.c), NULL when it has none. */
    const struct tw_plan *tw;
};

#define PLAN_WIN_COL 0x40000000u

/* A planning error: 422 "Datafusion: Error during planning: ..."; returns -1. */
int plan_err(err *er, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- names (plan_name.c) ---- */
/* Name of an expression as DataFusion prints it; `top` leaves a bare column unqualified; an
 * unqualified column inside gets the qualifier sc resolves it to (sc may be NULL). */
char *plan_expr_name(arena *a, const expr *e, bool top, const struct scope *sc);
/* e as DataFusion's Display prints it (CASTs kept): two expressions that print alike are the
 * same expression, where names may not tell them apart (`CAST(t.x AS Int64)` is named t.x). */
char *plan_expr_display(arena *a, const expr *e, const struct scope *sc);
/* Arrow's name of a SQL type (Int64, Utf8, Timestamp(Nanosecond, None), ...). */
const char *plan_type_arrow(const sql_type *t);

/* ---- binding (bind.c) ---- */
/* How many columns of sc the column reference e names (the first in *idx), without errors. */
uint32_t plan_scope_find(const struct scope *sc, const expr *e, uint32_t *idx);
/* Binds e against bd->in (or, with bd->agg, against the aggregate's output). */
int plan_bind(struct binder *bd, const expr *e, bexpr **out, err *er);
/* plan_bind for a whole clause item (a select item, a group key, WHERE, HAVING, an ORDER BY
 * key): an error of a pass after plan building is kept in bd->p->defer and the item bound as
 * NULL, so that an error of building the plan in a later item is still found. */
int plan_bind_item(struct binder *bd, const expr *e, bexpr **out, err *er);
/* Which pass of DataFusion raises er: 0 building the plan, 1 type_coercion,
 * 2 simplify_expressions, 3 the physical planner. */
int plan_err_rank(const err *er);
/* The qualifier of the scope's columns, for naming expressions (NULL for none). */
const char *plan_scope_qual(const struct scope *sc);

/* ---- FROM (plan_from.c) ---- */
/* The FROM clause as a tree of relations: tables, subqueries (with CTEs and VALUES) and the
 * joins over them. Its columns are one scope, every leaf's columns in order (rel.off, rel.n
 * locate a node's). Built in three steps: plan_from resolves the tree and binds the join
 * conditions; plan_from_where places each WHERE conjunct as low in the tree as SQL allows;
 * plan_from_build makes the operators, each leaf reading only the columns marked used, and
 * gives *map: each scope column's position in the output (UINT32_MAX if not read). */
struct rel;
int plan_from(const struct planner *p, const sql_table_ref *tr, struct rel **root, struct scope *sc,
              err *er);
/* where: bound against sc, BOOL (NULL for none). */
void plan_from_where(arena *a, struct rel *root, bexpr *where);
/* used[c] marks the scope columns read above the FROM (the conditions inside it are marked
 * here). */
int plan_from_build(const struct planner *p, struct rel *root, const struct scope *sc, bool *used,
                    op **out, const uint32_t **map, err *er);
/* Joins the query sub (its columns qualified by alias) to the right of the tree: *root
 * becomes (*root JT sub) ON on, an AST condition bound against the whole scope, which *sc
 * grows to (a semi or anti join's new columns are gone above it). For decorrelated
 * subqueries. */
int plan_from_join_query(const struct planner *p, struct rel **root, struct scope *sc,
                         const sql_query *sub, const char *alias, const expr *on, uint8_t jt,
                         err *er);
/* Releases the tables the tree holds. */
void plan_from_release(struct rel *root);

/* ---- set operations, VALUES (plan_set.c) ---- */
/* A query body that is not a plain SELECT: a set operation, VALUES, or a parenthesised query. */
int plan_body(const struct planner *p, const sql_body *body, plan_out *out, err *er);
/* Casts the columns of in (names kept) to types/units, projecting only where they differ. */
op *plan_cast_cols(qctx *q, op *in, const uint8_t *types, const uint8_t *units, err *er);

/* ---- window functions (plan_window.c) ---- */
/* A call with OVER: registers the window function in bd. */
int plan_bind_window(struct binder *bd, const expr *e, bexpr **out, err *er);
/* Makes e's window results read columns base + k. */
void plan_window_fix(bexpr *e, uint32_t base);
/* An aggregate call's spec; its arguments bound against the input rows when input_rows (a
 * grouping aggregate), else as bd binds (a window aggregate). */
int plan_bind_agg_spec(struct binder *bd, const expr *e, bool input_rows, agg_spec *out, err *er);

/* ---- time_window (plan_twindow.c) ---- */
/* The window column of a SELECT: its position in the FROM scope, what fills it. */
struct tw_plan {
    uint32_t col;
    bexpr *time;                  /* bound against the FROM scope */
    int64_t width, slide, origin; /* nanoseconds; origin already taken modulo width */
    uint8_t shape;                /* the struct {start, end} (util/vstruct.h); 0 for gapfill */
    bool gapfill; /* a sliding time_window_gapfill: the column is the window's start */
};
/* Whether e is a time_window call, or a time_window_gapfill with a slide (which needs the same
 * window column when the slide is not the width). */
bool plan_is_time_window(const expr *e);
bool plan_is_gapfill_window(const expr *e);
/* Finds the time_window call of a SELECT (its items, GROUP BY, HAVING, qy's ORDER BY),
 * checks it as CnosDB does and appends its window column to sc, which every occurrence of the
 * call then binds to (bd->tw). Nothing when there is none. */
int plan_twindow(struct binder *bd, const sql_select *sel, const sql_query *qy,
                 const expr *const *items, uint32_t nitems, struct scope *sc, err *er);
/* Puts the window operator over *root, the FROM's operators, and makes *map (nmap scope
 * columns) give the window column's position too. */
int plan_twindow_build(qctx *q, const struct tw_plan *tw, op **root, const uint32_t **map,
                       uint32_t nmap);

/* ORDER BY, LIMIT and OFFSET of qy over a planned body whose output columns are out->names
 * (a set operation, VALUES, a parenthesised query, a generating function): by position or by
 * output name (plan.c). */
int plan_order_limit(const struct planner *p, const sql_query *qy, plan_out *out, err *er);

/* ---- time-series generating functions (plan_tsgen.c) ---- */
/* A SELECT whose one item is timestamp_repair, value_fill or value_repair (sql/tsgen.h),
 * planned whole into *out (1); 0 when it is not one; -1 with CnosDB's error. */
int plan_tsgen(const struct planner *p, const sql_select *sel, const sql_query *qy, plan_out *out,
               err *er);

/* ---- topk / bottom (plan_topk.c) ---- */
/* When the SELECT *selp has a topk(x, k) or bottom(x, k) item, points *selp and *qyp at copies
 * rewritten to select x ORDER BY x DESC|ASC LIMIT k (1); 0 when it has none; -1 with CnosDB's
 * error for several or nested ones, or where the rewrite does not apply. sc: the FROM scope,
 * for names in errors. */
int plan_topk(const struct planner *p, const sql_select **selp, const sql_query **qyp,
              const struct scope *sc, err *er);

/* ---- correlated subqueries (plan_correlate.c) ---- */
/* Rewrites the correlated subqueries of a SELECT's WHERE (*where, an AST conjunction) and of
 * its select items into joins of the FROM tree (*root, *sc): EXISTS and IN conjuncts become
 * semi/anti joins and leave *where, scalar subqueries become left joins and a column. */
int plan_decorrelate(const struct planner *p, struct rel **root, struct scope *sc,
                     const expr **where, const expr **items, uint32_t nitems, err *er);

/* ---- subqueries in expressions (plan_subquery.c) ---- */
/* Scalar subqueries, [NOT] IN (subquery) and [NOT] EXISTS: bound into bd. */
int plan_bind_subquery(struct binder *bd, const expr *e, bexpr **out, err *er);
/* x = y with y's and x's types unified as a comparison does. */
int plan_bind_eq(struct binder *bd, bexpr *x, bexpr *y, bexpr **out, err *er);

/* ---- scans (plan_scan.c) ---- */
/* Whether e reads any column. */
bool plan_has_cols(const bexpr *e);
/* Appends the AND conjuncts of e to *list. */
void plan_split_and(arena *a, bexpr *e, bexpr ***list, uint32_t *n, uint32_t *cap);
/* Tightens [*tmin, *tmax] (inclusive, the column's unit) with conjunct c when it is
 * `time_col <op> constant`; true if it did (plan_scan.c). */
bool plan_time_bound(arena *a, const bexpr *c, uint32_t time_col, int64_t *tmin, int64_t *tmax);
/* Wraps *root (the aggregate) in a gap filler when a GROUP BY key is date_bin_gapfill or
 * time_window_gapfill, its buckets spanning where's time bounds; refuses locf, interpolate and
 * the gapfill functions anywhere else (plan_gapfill.c). proj: the bound select list, having
 * the HAVING clause (*having NULL for none); their fill calls become the filled columns.
 * grouping_sets: the aggregate is GROUPING SETS/ROLLUP/CUBE's, which gap filling refuses. */
int plan_gapfill(qctx *q, const struct binder *bd, bexpr *where, bool grouping_sets, bexpr **proj,
                 uint32_t nproj, bexpr **having, op **root, err *er);
/* *acc AND c (c alone when *acc is NULL). */
void plan_and_into(arena *a, bexpr **acc, bexpr *c);
/* Sets used[c] for every column e reads. */
void plan_mark_cols(const bexpr *e, bool *used);
/* A copy of e whose column c reads map[c] instead. */
bexpr *plan_remap(arena *a, const bexpr *e, const uint32_t *map);
/* The scan of table t (scope sc) with `where` pushed into it as far as storage can take it
 * (time range, tag predicate, the rest as a filter above the scan). used[c] is set for the
 * columns read above the scan (the caller marks them; the residual filter adds its own);
 * *map gives each table column's position in the scan's output (UINT32_MAX if not read), for
 * plan_remap. */
int plan_table_scan(sql_session *s, qctx *q, meta_table *t, const struct scope *sc, bexpr *where,
                    bool *used, op **out, const uint32_t **map, err *er);

#endif
