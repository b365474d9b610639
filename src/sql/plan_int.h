/* Internals shared by the binder and planner files; nothing outside them includes this.
 *
 * Planning a query (plan.h) is three jobs, one file each:
 *   bind.c       names → columns, and types: AST expressions become typed bexpr trees bound
 *                against a scope (the columns of a table or subquery, or of an aggregate's
 *                output);
 *   plan_scan.c  what storage does for the query: the WHERE conjuncts split into a time
 *                range, a per-series tag predicate and a residual row filter; the columns read;
 *                the scan operator (and the series filters of DELETE and SHOW);
 *   plan.c       the SELECT: FROM, select list, grouping, ordering, limits, and the operator
 *                pipeline scan → filter → aggregate → project → sort → limit.
 * plan_name.c prints expressions the way DataFusion names them, which both output column
 * names and the binder's matching of group keys and aggregates rely on.
 *
 * Memory: everything here lives in the query arena (q->a). Errors: 422 (plan_err's wording for
 * planning errors). */
#ifndef STRATA_SQL_PLAN_INT_H
#define STRATA_SQL_PLAN_INT_H

#include "sql/plan.h"

/* A column visible to expressions: a table or subquery column. */
struct col_ref {
    const char *qual;
    const char *name;
    uint8_t type, unit;
    uint8_t kind;    /* CK_TIME / CK_TAG / CK_FIELD, or 0xff for derived columns */
    uint32_t col_id; /* table column id (scans) */
    bool has_tz;
};

struct scope {
    struct col_ref *cols;
    uint32_t n;
};

struct binder {
    sql_session *s;
    qctx *q;
    arena *a;
    const struct scope *in;
    int64_t now_ns;
    /* Aggregation: when agg is set, expressions are bound against the aggregate's output
     * (group keys, then aggregates), and aggregate calls register new aggregates. */
    bool agg;
    char **group_names;
    bexpr **group_bx;
    uint32_t ngroup;
    agg_spec *aggs;
    char **agg_names;
    uint32_t naggs, capaggs;
    bool in_agg_arg;
};

/* A planning error: 422 "Datafusion: Error during planning: ..."; returns -1. */
int plan_err(err *er, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- names (plan_name.c) ---- */
/* Name of an expression as DataFusion prints it; `top` leaves a bare column unqualified. */
char *plan_expr_name(arena *a, const expr *e, bool top, const char *qual);
const char *plan_op_text(uint8_t opc);
/* Arrow's name of a SQL type (Int64, Utf8, Timestamp(Nanosecond, None), ...). */
const char *plan_type_arrow(const sql_type *t);

/* ---- binding (bind.c) ---- */
/* Binds e against bd->in (or, with bd->agg, against the aggregate's output). */
int plan_bind(struct binder *bd, const expr *e, bexpr **out, err *er);
/* The qualifier of the scope's columns, for naming expressions (NULL for none). */
const char *plan_scope_qual(const struct scope *sc);

/* ---- scans (plan_scan.c) ---- */
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
