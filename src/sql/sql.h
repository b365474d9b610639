/* The SQL engine's front door: text in, a stream of result batches out.
 *
 * sql_run parses one request body (exactly one statement; empty statements are ignored, two
 * or more non-empty ones are 010013), binds it against the catalog, plans it and, for
 * statements without a result set (DDL, DCL), executes it at once. For queries it returns a
 * cursor the caller drains with sql_result_next; execution happens as batches are pulled, so
 * a large result streams with bounded memory.
 *
 * Memory: the session's arena holds the plan and everything that must live for the whole
 * statement; batch data comes from a second arena that sql_result_next resets on each call,
 * so a batch is valid until the next call. Thread safety: a result is used by one thread;
 * any number of statements run concurrently.
 *
 * Errors: 422 with CnosDB's codes (010009 parse, 010001 planning, 030017/030019 unknown
 * database/table, ...); an execution error in sql_result_next is reported the same way. */
#ifndef STRATA_SQL_SQL_H
#define STRATA_SQL_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "meta/catalog.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

/* The event-time range [lo, hi) (nanoseconds) a stream job's run reads (sql/streams.h). */
struct stream_range {
    int64_t lo, hi;
};

typedef struct sql_session {
    catalog *cat;
    engine *eng;
    const char *tenant;
    const char *db;
    const char *user;
    bool is_admin;
    bool must_change;     /* only ALTER USER may run (auth on, MUST_CHANGE_PASSWORD set) */
    const char *role;     /* the user's role in the tenant, NULL = none */
    arena *a;             /* statement lifetime */
    int64_t deadline_ns;  /* monotonic deadline (time_mono_ns), 0 = none */
    uint64_t mem_limit;   /* statement memory budget in bytes, 0 = none */
    uint32_t parallelism; /* threads an aggregation may use (qctx.parallelism); 0 = one */
    /* Run nothing but a query (SELECT, WITH, VALUES): sql_run declines any other statement
     * (returns 1, having done nothing). For a caller that may run the statement twice, or
     * somewhere it must not block (see sql_result_estimate). */
    bool queries_only;
    /* A stream job's run (sql/streams.h): its stream tables read their source's rows in this
     * event-time range. NULL for every other statement, which may not read a stream table. */
    const struct stream_range *stream;
} sql_session;

typedef struct sql_result sql_result;

/* 0 = *out holds the result, -1 = error, 1 = declined (queries_only). */
int sql_run(sql_session *s, const char *text, size_t len, sql_result **out, err *e);
/* About the work a query's result has left, in values its storage scans will read, counted
 * up to cap (cap + 1 = more), from the storage indexes alone. Subqueries the planner ran
 * (uncorrelated ones) are done already. A measure for queries whose other operators are
 * linear in their input; a join may multiply it. */
size_t sql_result_estimate(sql_result *r, size_t cap);
/* Result columns; ncols == 0 for statements that return nothing (DDL). */
const rschema *sql_result_schema(const sql_result *r);
/* 1 = *b holds a batch, 0 = end, -1 = error. */
int sql_result_next(sql_result *r, batch *b, err *e);
/* Encoding in parallel: when the result's rows are computed by several threads (a plain
 * scan's answer), fn encodes each batch on the thread that made it (several at once, so fn
 * must only read ctx); sql_result_next_text then hands some batches over encoded: *text is
 * the rows' encoding and b holds only nrows. Without fn, or for other results, *text is
 * always NULL and this is sql_result_next. Call before the first batch. */
typedef void (*sql_encode_fn)(void *ctx, const batch *b, buf *out);
void sql_result_encode_apart(sql_result *r, sql_encode_fn fn, void *ctx);
int sql_result_next_text(sql_result *r, batch *b, const buf **text, err *e);
void sql_result_close(sql_result *r);

/* The DDL that recreates the users and, for tenant (NULL: every tenant), the tenant, its
 * limits, databases, tables, roles, grants and members, as a script (sql_dump.c). */
int sql_dump_ddl(catalog *c, const char *tenant, buf *out, err *e);

#endif
