/* The registry of running statements: what SHOW QUERIES and information_schema.queries list and
 * KILL QUERY stops.
 *
 * A statement enters when sql_run has parsed it and leaves when its result is closed, so every
 * way a statement runs (a query drained on the event loop or on a worker, a chunked answer
 * streamed batch by batch, DDL, a statement that fails) is listed for exactly as long as it
 * holds resources. Each entry gets a fresh id (a process-wide counter, never reused while the
 * process runs) and copies of its text, user, tenant and database.
 *
 * Killing: queries_kill marks the statement's root memory budget (arena_budget.killed); every
 * place that checks the query's deadline and memory limit (each scan batch, storage's own
 * check hook, every expression evaluation, sort and join loops) then fails with 422 (010014)
 * "The query has been canceled", CnosDB's words, which the client receives as the statement's
 * error (or, when the answer is
 * already streaming, as the error that ends the stream). Listing and killing are scoped to a
 * tenant, and for a caller who is not an administrator to the caller's own statements: an id
 * outside that is "not found", so ids leak nothing across tenants or users.
 *
 * Threads: one mutex guards the registry; entries are touched by their statement's thread and
 * read or marked by listings and kills under the mutex. An entry's budget pointer is valid while
 * it is registered, and queries_leave is called before the budget goes away. */
#ifndef STRATA_SQL_QUERIES_H
#define STRATA_SQL_QUERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

typedef struct query_entry query_entry;

/* Registers a statement; b is its root memory budget (marked by a kill). Never fails. */
query_entry *queries_enter(const char *tenant, const char *user, const char *db, const char *text,
                           size_t len, arena_budget *b);
/* The statement has been planned and is producing rows. */
void queries_running(query_entry *q);
/* Counts rows the statement has handed to its client. */
void queries_processed(query_entry *q, uint64_t rows);
/* The statement failed (counted in error_count). */
void queries_failed(query_entry *q);
/* Unregisters and frees q (NULL: nothing). */
void queries_leave(query_entry *q);

/* One statement as the views show it (strings from the arena given to queries_list). */
typedef struct query_row {
    uint64_t id;
    const char *text, *user, *tenant, *db;
    const char *state; /* CnosDB's QueryState: ANALYZING while planned, then SCHEDULING */
    double duration_s; /* since it entered */
    uint64_t processed, errors;
} query_row;

/* The statements of tenant, by id (oldest first); with user, only that user's. */
void queries_list(const char *tenant, const char *user, arena *a, query_row **out, size_t *n);
/* Marks query id of tenant (with user: of that user) killed; 422 (010011) "Query not found:
 * QueryId(<id>)", CnosDB's words, when there is no such query, so that one cannot learn of queries
 * one may not list. */
int queries_kill(const char *tenant, const char *user, uint64_t id, err *e);

#endif
