/* Binder and planner for queries: AST → operator tree.
 *
 * plan_query resolves names against the catalog, types every expression, and builds the
 * operator tree: scans and joins → filter → aggregate → project → sort → limit for each
 * SELECT, with set operations, VALUES, CTEs and subqueries around and inside it. It pushes
 * into each storage scan what storage can do better: the time range (from `time` comparisons
 * with constants among the WHERE conjuncts, and through the keys of a join), tag predicates
 * (evaluated once per series instead of once per row) and the set of columns read.
 *
 * Output column names follow DataFusion's naming (`COUNT(*)`, `AVG(t.f)`, `Int64(1)`) unless
 * aliased. Errors: 422 with CnosDB's codes and wording. */
#ifndef STRATA_SQL_PLAN_H
#define STRATA_SQL_PLAN_H

#include "sql/ast.h"
#include "sql/ops.h"
#include "sql/sql.h"

typedef struct plan_out {
    op *root;
    uint32_t ncols;
    const char **names;
} plan_out;

int plan_query(sql_session *s, qctx *q, const sql_query *qy, plan_out *out, err *er);

/* EXPLAIN of a query over a stream table: 1 with CnosDB's streaming logical plan in *text
 * (from a), 0 when qy reads no stream table, -1 for a streaming query it cannot show
 * (plan_stream.c). */
int plan_stream_explain(sql_session *s, arena *a, const sql_query *qy, char **text, err *er);

/* A WHERE clause reduced to what storage can apply per series: a time range and a predicate
 * over tag values (DELETE, SHOW SERIES, SHOW TAG VALUES). has_other is set when some conjunct
 * touches a field or mixes columns, which those statements refuse. */
typedef struct series_filter {
    int64_t tmin, tmax;
    uint32_t ntags;
    uint32_t *tag_ids;
    bool (*pred)(void *ctx, const strv *tags); /* NULL = every series */
    void *ctx;
    bool has_other;
} series_filter;

int plan_series_filter(sql_session *s, qctx *q, meta_table *t, const expr *where,
                       series_filter *out, err *er);
/* After the predicate ran over the series: -1 with its error if an evaluation failed (a cast,
 * the deadline, the memory limit), in which case the series it rejected mean nothing. */
int series_filter_check(const series_filter *sf, err *er);

#endif
