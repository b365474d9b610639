/* The SELECT family's shared state (iql_cols.c, iql_eval.c, iql_push.c, iql_sub.c); nothing
 * else includes this. A sel_ctx is one measurement (or one subquery's rows) of one SELECT. */
#ifndef STRATA_INFLUXQL_IQL_SELECT_H
#define STRATA_INFLUXQL_IQL_SELECT_H

#include "influxql/iql_int.h"
#include "sql/pattern.h"

/* Cells a statement may produce (buckets x series x columns) before it is refused. */
#define MAX_CELLS 20000000u

typedef struct col {
    const iql_expr *e;
    const char *name;
    bool has_field; /* names a field (a raw row is kept when one such column has a value) */
} out_col;

typedef struct sel_ctx {
    sql_session *ss;
    arena *a;
    const iql_select *sel;
    int64_t now;
    err *e;
    const iql_table *t;
    out_col *cols;
    size_t ncols;
    const char **gtags; /* GROUP BY tags, sorted */
    size_t ngtags;
    bool agg;
    iql_rows rows;
    int *gidx; /* column of each group tag in rows, -1 = the table lacks it */
    /* Aggregates computed by the SQL scan (see push_sql): rows are then one per group and
     * bucket, and pushed[i]'s value is in column pcol[i] (spread: its max, then its min). */
    const iql_expr **pushed;
    size_t npushed, *pcol;
    const iql_zone *zone;
    bool sql_desc; /* the scan answered newest first (a raw LIMIT pushed into it) */
    /* FROM (subquery): the inner statement's rows (time, the table's tags, its fields), which
     * the WHERE clause filters here; and the regexes it compiled, by expression */
    const iql_rows *given;
    const iql_expr **re_x;
    regex_pat **re_p;
    size_t nre;
    /* GROUP BY time's buckets start at this offset from the epoch: the offset given (now()
     * with `time(1h, now())`) less the zone's UTC offset at the start of the time range */
    int64_t boff;
    /* tz() with an offset change inside the time range: buckets follow local time, so their
     * lengths differ (a 23-hour day); they are cut one by one (iql_zone_window) and the scan
     * does not aggregate (date_bin's buckets are all as long) */
    bool zone_varies;
    int64_t ioff; /* GROUP BY time's own offset */
} sel_ctx;

/* ---- the columns of a SELECT (iql_cols.c) ---- */
bool iql_is_transform(const char *fn);
bool iql_has(const char *const *names, size_t n, const char *s);
int iql_cmp_str(const void *a, const void *b);
/* Expands * and f(*), names the columns, tells raw from aggregate; -1 with c->e. */
int iql_columns(sel_ctx *c);
/* Adds the names x refers to (first arguments of calls included) to refs[0..n). */
void iql_collect_refs(const iql_expr *x, const char ***refs, size_t *n, arena *a);

/* ---- rows and values (iql_eval.c) ---- */
int iql_row_col(const sel_ctx *c, const char *name);
value iql_null(void);
/* x on row `row` of c->rows (fields, tags, literals, arithmetic). */
value iql_ev_row(const sel_ctx *c, const iql_expr *x, size_t row);
int64_t iql_row_time(const sel_ctx *c, size_t row);
/* One measurement's series (c->t, or c->given rows), appended to out. */
int iql_measurement(sel_ctx *c, iql_result *out, size_t *cap);

/* ---- what the SQL scan computes (iql_push.c) ---- */
/* Plans aggregates the scan computes (c->pushed); false if it cannot compute them all. */
bool iql_plan_push(sel_ctx *c);
/* The SELECT list (into q) and GROUP BY (into group) of the aggregating scan. */
void iql_push_sql(const sel_ctx *c, buf *q, buf *group);
/* A raw query's "some field it names is not null" condition into w; true when exact. */
bool iql_raw_filter(const sel_ctx *c, buf *w);

/* ---- FROM (subquery) (iql_sub.c) ---- */
/* c->given's rows that pass the WHERE clause, in series order, as c->rows. */
int iql_sub_rows(sel_ctx *c);
int iql_cmp_series_name(const void *a, const void *b);
/* The inner series ser[lo, hi) (one name) as a table and its rows, then the outer SELECT. */
int iql_sub_measurement(sel_ctx *c, const iql_series *ser, size_t lo, size_t hi, iql_result *out,
                        size_t *cap);

#endif
