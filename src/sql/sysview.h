/* System views: `information_schema.<view>` and `cluster_schema.<view>` as tables of a query.
 *
 * A system schema is not a database of the catalog (CREATE and DROP refuse its name); a table
 * reference whose database is one resolves here instead, in the planner's FROM (plan_from.c),
 * to a leaf operator that yields the view's rows. The rows are made when the query is planned,
 * from the catalog and the server's state as they are at that moment, for the session's tenant
 * only: a view never lists another tenant's objects. Above the leaf the query is an ordinary
 * one, so WHERE, projections, joins, ORDER BY and aggregates work on views as on tables.
 *
 * Schema and view names match case-insensitively (`INFORMATION_SCHEMA.Databases`); columns
 * are lower case, which unquoted identifiers are folded to. An unknown view fails as an
 * unknown table does: 030019 `Table not found: "<tenant>.<schema>.<view>"`.
 *
 * Adding a view: define a `struct sysview` (its columns, in CnosDB's order and types, and a
 * function that appends its rows to a table builder) and list it in sysview.c's table. Views
 * that show only some users' rows check s->user / s->is_admin in that function. */
#ifndef STRATA_SQL_SYSVIEW_H
#define STRATA_SQL_SYSVIEW_H

#include <stdbool.h>

#include "sql/sql_int.h"

struct sysview_col {
    const char *name;
    uint8_t type; /* enum vtype: VT_STR, VT_U64, VT_I64, VT_F64, VT_BOOL (a table builder's) */
};

struct sysview {
    const char *schema; /* "information_schema" or "cluster_schema" */
    const char *name;
    const struct sysview_col *cols;
    uint32_t ncols;
    /* Appends the rows the session may see (cells typed as cols, NULL where unset). */
    int (*rows)(sql_session *s, struct table_builder *tb, err *e);
};

/* Whether name is a system schema (case-insensitive). */
bool sysview_is_schema(const char *name);
/* The view schema.name as a leaf operator (rows made now, memory from q->a) and its column
 * names; 030019 when there is no such view. */
int sysview_open(sql_session *s, qctx *q, const char *schema, const char *name, op **out,
                 const char *const **names, err *e);

/* The views (sysview_info.c, sysview_queries.c). */
extern const struct sysview sysview_databases, sysview_tables, sysview_columns,
    sysview_resource_status, sysview_queries;
/* sysview_access.c */
extern const struct sysview sysview_roles, sysview_members, sysview_enabled_roles,
    sysview_database_privileges, sysview_tenants, sysview_users;

/* ---- query management statements (sysview_queries.c) ---- */
int sqlx_show_queries(sql_session *s, sql_result *r, err *e);
int sqlx_kill_query(sql_session *s, const sql_stmt *st, err *e);

#endif
