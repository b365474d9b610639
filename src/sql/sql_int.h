/* Internals shared by the statement executors; nothing outside them includes this.
 *
 * sql_run (sql.c) parses a request and dispatches its statement:
 *   sql.c       queries (planned by plan.h), INSERT and DELETE, the result plumbing;
 *   sql_ddl.c   CREATE / ALTER / DROP DATABASE and TABLE, COMPACT;
 *   sql_show.c  SHOW DATABASES / TABLES / SERIES / TAG VALUES, DESCRIBE;
 *   sql_update.c  UPDATE of fields and of tags;
 *   copy.c      CREATE EXTERNAL TABLE, COPY INTO a table or a location (over sql/ext.h).
 * An executor takes the session and the parsed statement, and fills the result (statements
 * with rows) or changes the catalog and storage (statements without). Memory: the session's
 * arena (s->a). Errors: 0 / -1 with e filled, as sql.h describes. */
#ifndef STRATA_SQL_SQL_INT_H
#define STRATA_SQL_SQL_INT_H

#include "sql/ast.h"
#include "sql/ops.h"
#include "sql/plan.h"
#include "sql/sql.h"

struct sql_result {
    qctx q;
    rschema schema;
    op *root;
    /* sql_result_estimate's last answer: est values, counted up to est_cap */
    size_t est, est_cap;
    /* The statement in the registry of running ones (sql/queries.h), from sql_run to
     * sql_result_close. */
    struct query_entry *qe;
};

/* ---- results (sql.c) ---- */
/* Sets r's schema from the names and the output types of o. */
void set_schema(sql_result *r, uint32_t ncols, const char **names, const op *o);

/* Builds a one-batch result of string/integer/boolean cells given row by row. */
struct table_builder {
    arena *a;
    uint32_t ncols;
    const char **names;
    uint8_t *types;
    uint32_t nrows, cap;
    value *cells; /* nrows * ncols */
};

void tb_init(struct table_builder *tb, arena *a, uint32_t ncols, const char **names,
             const uint8_t *types);
/* A new row of ncols cells, all NULL until set. */
value *tb_row(struct table_builder *tb);
/* Cells: a string (copied into a), an unsigned integer, a boolean. */
value tb_str(arena *a, const char *s);
value tb_u64(uint64_t u);
value tb_bool(bool b);
/* Makes the rows r's result. */
void tb_finish(struct table_builder *tb, sql_result *r);
/* The rows as a leaf operator of q (tb->a must live as long as q). */
op *tb_op(struct table_builder *tb, qctx *q);
/* The result of INSERT and UPDATE: one row, one column `rows` (UInt64) = n. */
void sqlx_rows_result(sql_session *s, sql_result *r, uint64_t n);

/* The series of table t that a WHERE over tags and time selects (DELETE, SHOW SERIES): *sf
 * is the filter (sf->has_other when WHERE also reads fields), *sids the series ids. */
int sqlx_series_filter(sql_session *s, sql_result *r, meta_table *t, const expr *where,
                       series_filter *sf, uint32_t **sids, size_t *n, err *e);

/* ---- UPDATE (sql_update.c) ---- */
int sqlx_update(sql_session *s, const sql_stmt *st, sql_result *r, err *e);

/* Writes the rows of root into table t through the write path, in slices: root's columns are
 * time, every tag of t in table order, then the fields fcols[0..nf) (column indexes of t). A
 * NULL field is left out of its point and a row without fields is not written; with need_time
 * a NULL time is an error. *rows counts the rows read. Closes root. */
int sqlx_write_rows(sql_session *s, sql_result *r, const meta_table *t, op *root,
                    const uint32_t *fcols, uint32_t nf, bool need_time, uint64_t *rows, err *e);

/* INSERT's write of a source's rows into t: src column k goes into column idx[k] of t (cast
 * to its type), tags not given are NULL; answers `rows`. Closes src. */
int sqlx_insert_rows(sql_session *s, sql_result *r, const meta_table *t, const int *idx,
                     uint32_t ncols, op *src, err *e);

/* ---- external tables and COPY (copy.c) ---- */
/* 010005 `This feature is not implemented: <what> of the external table <table>` (sql.c). */
int not_impl_external(const char *what, const char *table, err *e);
int sqlx_create_external(sql_session *s, const sql_stmt *st, err *e);
int sqlx_copy_into_table(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
int sqlx_copy_into_location(sql_session *s, const sql_stmt *st, sql_result *r, err *e);

/* ---- streams (sql_stream.c, over sql/streams.h) ---- */
int sqlx_create_stream_table(sql_session *s, const sql_stmt *st, err *e);
/* text[0..len): the statement, which the job keeps and runs. */
int sqlx_create_stream(sql_session *s, const sql_stmt *st, const char *text, size_t len, err *e);
int sqlx_drop_stream(sql_session *s, const sql_stmt *st, err *e);
int sqlx_show_streams(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
/* An INSERT that reads a stream table starts a continuous job instead of running: 1 when it
 * did, 0 when the INSERT reads none (or is a job's own run), -1 on error. */
int sqlx_stream_insert(sql_session *s, const sql_stmt *st, const char *text, size_t len, err *e);

/* ---- DDL (sql_ddl.c) ---- */
int sqlx_create_db(sql_session *s, const sql_stmt *st, err *e);
int sqlx_alter_db(sql_session *s, const sql_stmt *st, err *e);
int sqlx_drop_db(sql_session *s, const sql_stmt *st, err *e);
/* The AFTER 'duration' of DROP DATABASE/TENANT (0 = none; a bare number is days). */
int sqlx_after_option(const sql_stmt *st, int64_t *after, err *e);
int sqlx_recover_db(sql_session *s, const sql_stmt *st, err *e);
int sqlx_create_table(sql_session *s, const sql_stmt *st, err *e);
int sqlx_drop_table(sql_session *s, const sql_stmt *st, err *e);
int sqlx_alter_table(sql_session *s, const sql_stmt *st, err *e);
int sqlx_compact(sql_session *s, const sql_stmt *st, err *e);

/* ---- metadata statements (sql_show.c) ---- */
int sqlx_show_databases(sql_session *s, sql_result *r, err *e);

/* ---- sql_dcl.c: users, tenants, roles, grants; who may run what */
/* Whether the session's user may run st (catalog_require); reads of tables are checked as
 * they are planned (plan_from.c). */
int sqlx_authorize(sql_session *s, const sql_stmt *st, err *e);
/* CREATE/ALTER/DROP USER, TENANT, ROLE, RECOVER TENANT, GRANT, REVOKE. */
int sqlx_dcl(sql_session *s, const sql_stmt *st, err *e);
/* text, or for a statement that sets a password (CREATE/ALTER USER) a text without it; *len is
 * the length of what is returned. */
const char *sqlx_secret_free_text(arena *a, const sql_stmt *st, const char *text, size_t *len);
int sqlx_show_tables(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
int sqlx_describe_table(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
int sqlx_describe_db(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
int sqlx_show_series(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
int sqlx_show_tag_values(sql_session *s, const sql_stmt *st, sql_result *r, err *e);
/* What DESCRIBE DATABASE and information_schema.databases show of a database's options: the
 * columns (names, types) and one row's cells (row[0..SQLX_DB_OPTION_COLS)). */
#define SQLX_DB_OPTION_COLS 11
extern const char *sqlx_db_option_names[SQLX_DB_OPTION_COLS];
extern const uint8_t sqlx_db_option_types[SQLX_DB_OPTION_COLS];
void sqlx_db_option_cells(arena *a, const db_options *o, value *row);
/* What DESCRIBE TABLE and information_schema.columns show of a table's columns: each one's
 * data type (Arrow's names for an external table), and a column kind's name (TIME, TAG,
 * FIELD). */
int sqlx_column_types(arena *a, const meta_table *t, const char ***out, err *e);
const char *sqlx_column_kind(uint8_t kind);

#endif
