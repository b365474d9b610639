/* SQL lexer and recursive-descent parser for CnosDB's dialect (see ../shared/sql-dialect.md
 * and cnosdb-sql-reference.md §2-3).
 *
 * sql_parse splits the text into statements at top-level `;` (empty statements are skipped)
 * and parses each into a sql_stmt (ast.h) allocated from the arena. On a syntax error it
 * returns -1 with HTTP 422, code 010009 and a message in sqlparser-rs's (0.34, CnosDB's) exact
 * wording, e.g. `sql parser error: Expected an SQL statement, found: 1`, and the position of
 * the offending token in e->line / e->col (the HTTP body's error_line / error_column), so
 * clients matching CnosDB's text still match and users still see where.
 * Thread safe; no global state. */
#ifndef STRATA_SQL_PARSER_H
#define STRATA_SQL_PARSER_H

#include <stddef.h>

#include "sql/ast.h"
#include "util/arena.h"
#include "util/err.h"

int sql_parse(arena *a, const char *sql, size_t len, sql_stmt ***stmts, size_t *nstmts, err *e);

/* Parses a single scalar expression (used for defaults and tests). */
int sql_parse_expr(arena *a, const char *sql, size_t len, expr **out, err *e);

#endif
