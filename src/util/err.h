/* Error reporting shared by every layer.
 *
 * A function that can fail returns an int status (0 ok, -1 error) and fills a caller-owned
 * `err` with what the user should see: the HTTP status, CnosDB's six-character error code and
 * a message. Lower layers set the code that best describes the failure; the server maps the
 * struct straight onto the JSON error body, so no layer above needs to translate. */
#ifndef STRATA_UTIL_ERR_H
#define STRATA_UTIL_ERR_H

#include <stdarg.h>

#define ERR_MSG_MAX 4096 /* DataFusion lists every candidate signature: increase's run to 2 KiB */

typedef struct err {
    int http;     /* HTTP status to answer with */
    char code[8]; /* CnosDB error code, e.g. "040004" */
    char msg[ERR_MSG_MAX];
    /* Where in the request the error is (SQL syntax errors), 1-based; 0 = nowhere. Kept out
     * of msg so the message is CnosDB's text, which clients match; the server adds it to the
     * JSON body as error_line / error_column. */
    unsigned line, col;
} err;

/* CnosDB error codes Strata produces (module 2 digits + number 4 digits). */
#define EC_GENERIC "000000"
#define EC_QUERY_INTERNAL "010001" /* planning errors, prefixed "Datafusion: " */
#define EC_PRIVILEGE "010004"
#define EC_NOT_IMPL "010005"
#define EC_SQL_PARSE "010009"
#define EC_CONCURRENCY "010012"
#define EC_MULTI_STMT "010013"
#define EC_QUERY_NOT_FOUND "010011" /* KILL QUERY of an id not running */
#define EC_QUERY_CANCELED "010014"  /* a query stopped by KILL QUERY */
#define EC_AUTH "010016"
#define EC_SEMANTIC "010008"
#define EC_TENANT_NOT_FOUND "030010"
#define EC_DB_NOT_FOUND "030017"
#define EC_DB_EXISTS "030018"
#define EC_TABLE_NOT_FOUND "030019"
#define EC_TABLE_EXISTS "030020"
#define EC_META "030000"
#define EC_EXPIRED "030034"
#define EC_LIMIT "030024" /* a tenant's request limit */
#define EC_INVALID_HEADER "040005"
#define EC_PARSE_AUTH "040006"
#define EC_FETCH_RESULT "040007"
#define EC_LP_PARSE "040004"
#define EC_OPENTSDB_TEXT "040010"
#define EC_OPENTSDB_JSON "040011"
#define EC_DECODE "040013"
#define EC_UTF8 "040015"
#define EC_WRITE "050014"
#define EC_STORAGE "020000"
#define EC_INTERNAL "000001"

/* Fills e (if not NULL) and returns -1, so callers can `return err_set(...)`. */
int err_set(err *e, int http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int err_vset(err *e, int http, const char *code, const char *fmt, va_list ap);
void err_clear(err *e);
/* err_set, with the position the error is at. */
int err_set_at(err *e, int http, const char *code, unsigned line, unsigned col, const char *fmt,
               ...) __attribute__((format(printf, 6, 7)));
/* DataFusion's planning error: 422, 010001, "Datafusion: Error during planning: " + message. */
int err_vplan(err *e, const char *fmt, va_list ap);
/* Prepends text to an existing message (used to add context while unwinding). */
void err_prefix(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
