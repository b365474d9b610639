/* SQL tokenizer, internal to sql/: turns the whole request text into an array of tokens before
 * any parsing starts, the way sqlparser-rs (which CnosDB uses) does, so a tokenizer error
 * anywhere in the text is reported before a syntax error in an earlier statement.
 *
 * Tokens follow sqlparser-rs's GenericDialect:
 *  - words: identifiers start with a letter, `_`, `#`, `@` or any non-ASCII byte and continue
 *    with those, digits and `$`; "double" and `back` quoted identifiers ("" / `` escape the
 *    quote). An unquoted word carries its keyword id (KW_NONE if it is not one Strata's grammar
 *    looks at); quoted words are never keywords.
 *  - numbers: digits, one optional `.` and more digits, an optional exponent; `.` alone is a
 *    period. `1a` is the number 1 followed by the word a.
 *  - strings: '...' with '' for a quote and no backslash escapes; E'...' with C-style escapes;
 *    N'...' like a plain string; X'...' a hex string.
 *  - comments: `--` to the end of the line, and block comments (slash-star to star-slash),
 *    which nest.
 * Text of words, numbers and strings is copied (unescaped, NUL-terminated) into the arena.
 * Errors use sqlparser-rs's tokenizer wording, which already names the position:
 * `sql parser error: Unterminated string literal at Line: 1, Column 14` (HTTP 422, 010009).
 * Columns are 1-based byte offsets in the line. No global mutable state; thread safe. */
#ifndef STRATA_SQL_LEXER_H
#define STRATA_SQL_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "sql/ast.h"
#include "util/arena.h"
#include "util/err.h"

enum tok_kind {
    TOK_EOF = 0,
    TOK_WORD,
    TOK_NUMBER,
    TOK_STRING,      /* 'x' */
    TOK_NSTRING,     /* N'x' */
    TOK_ESTRING,     /* E'x' */
    TOK_XSTRING,     /* X'1F' */
    TOK_PLACEHOLDER, /* ? or $1 */
    TOK_COMMA,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_PERIOD,
    TOK_SEMI,
    TOK_COLON,
    TOK_DCOLON,
    TOK_EQ,  /* = */
    TOK_DEQ, /* == */
    TOK_NEQ, /* <> and != (sqlparser prints both as <>) */
    TOK_LT,
    TOK_GT,
    TOK_LE,
    TOK_GE,
    TOK_SPACESHIP, /* <=> */
    TOK_PLUS,
    TOK_MINUS,
    TOK_MUL,
    TOK_DIV,
    TOK_MOD,
    TOK_CONCAT, /* || */
    TOK_PIPE,
    TOK_AMP,
    TOK_CARET,
    TOK_SHL,
    TOK_SHR,
    TOK_TILDE,
    TOK_TILDE_STAR,
    TOK_EXCL_TILDE,
    TOK_EXCL_TILDE_STAR,
    TOK_EXCL,  /* ! */
    TOK_DEXCL, /* !! */
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_BACKSLASH,
    TOK_ARROW,       /* -> */
    TOK_LONG_ARROW,  /* ->> */
    TOK_RARROW,      /* => */
    TOK_PIPE_SLASH,  /* |/ */
    TOK_DPIPE_SLASH, /* ||/ */
    TOK_CHAR,        /* any other single character */
};

/* Keywords the grammar tests for, in strictly ascending order (the lexer binary-searches this
 * list; a unit test checks the order). Appending out of order breaks lookups. */
/* clang-format off */
#define SQL_KEYWORDS(X) \
    X(ADD) X(AFTER) X(ALL) X(ALTER) X(ANALYZE) X(AND) X(ANTI) X(APPLY) X(ARRAY) X(ARRAY_AGG)      \
    X(AS) X(ASC) X(ASSERT) X(BEGIN) X(BETWEEN) X(BIGINT) X(BOOL) X(BOOLEAN) X(BOTH) X(BY)         \
    X(BYTEA) X(CACHE) X(CASE) X(CAST) X(CENTURY) X(CHAR) X(CHARACTER) X(CHECKSUM) X(CLOSE)        \
    X(CLUSTER) X(CODEC) X(COLUMN) X(COMMIT) X(COMPACT) X(CONNECTION) X(COPY) X(CREATE) X(CROSS)   \
    X(CUBE) X(CURRENT) X(CURRENT_DATE) X(CURRENT_TIME) X(CURRENT_TIMESTAMP) X(DATABASE)           \
    X(DATABASES) X(DATE) X(DATETIME) X(DAY) X(DEALLOCATE) X(DECADE) X(DECIMAL) X(DECLARE)         \
    X(DELETE) X(DESC) X(DESCRIBE) X(DISCARD) X(DISTINCT) X(DISTRIBUTE) X(DOUBLE) X(DOW) X(DOY)    \
    X(DROP) X(ELSE) X(END) X(EPOCH) X(ESCAPE) X(EXCEPT) X(EXCLUDE) X(EXECUTE) X(EXISTS)           \
    X(EXPLAIN) X(EXTERNAL) X(EXTRACT) X(FALSE) X(FETCH) X(FIELD) X(FILTER) X(FIRST) X(FLOAT)      \
    X(FLOAT4) X(FLOAT8) X(FOLLOWING) X(FOR) X(FORMAT) X(FROM) X(FULL) X(GEOMETRY) X(GRANT)        \
    X(GROUP) X(GROUPING) X(GROUPS) X(HAVING) X(HOUR) X(IF) X(ILIKE) X(IN) X(INHERIT) X(INNER)     \
    X(INSERT) X(INT) X(INT2) X(INT4) X(INT8) X(INTEGER) X(INTERSECT) X(INTERVAL) X(INTO) X(IS)    \
    X(ISODOW) X(ISOYEAR) X(JOIN) X(JSON) X(JULIAN) X(KEY) X(KILL) X(LAST) X(LATERAL) X(LEADING)   \
    X(LEFT) X(LIKE) X(LIMIT) X(LOCAL) X(LOCALTIME) X(LOCALTIMESTAMP) X(MERGE) X(MICROSECOND)      \
    X(MICROSECONDS) X(MILLENIUM) X(MILLENNIUM) X(MILLISECOND) X(MILLISECONDS) X(MINUTE) X(MONTH)  \
    X(MOVE) X(MSCK) X(MUTATION) X(NANOSECOND) X(NANOSECONDS) X(NATURAL) X(NOT) X(NULL) X(NULLS)   \
    X(NUMERIC) X(OFFSET) X(ON) X(OR) X(ORDER) X(OUTER) X(OVER) X(OVERWRITE) X(PARTITION)          \
    X(PIVOT) X(POSITION) X(PRECEDING) X(PRECISION) X(PREPARE) X(QUALIFY) X(QUARTER) X(QUERIES)    \
    X(QUERY) X(RANGE) X(READ) X(REAL) X(RECOVER) X(RECURSIVE) X(REMOVE) X(RENAME) X(REPLICA)      \
    X(REVOKE) X(RIGHT) X(ROLE) X(ROLLBACK) X(ROLLUP) X(ROW) X(ROWS) X(SAFE_CAST) X(SAVEPOINT)     \
    X(SECOND) X(SELECT) X(SEMI) X(SERIES) X(SESSION) X(SET) X(SETS) X(SHOW) X(SIMILAR)            \
    X(SMALLINT) X(SORT) X(START) X(STREAM) X(STREAMS) X(STRING) X(SUBSTRING) X(TABLE) X(TABLES)   \
    X(TAG) X(TAGS) X(TENANT) X(TEXT) X(THEN) X(TIME) X(TIMESTAMP) X(TIMEZONE) X(TIMEZONE_HOUR)    \
    X(TIMEZONE_MINUTE) X(TINYINT) X(TO) X(TOP) X(TRAILING) X(TRIM) X(TRUE) X(TRUNCATE)            \
    X(TRY_CAST) X(UNBOUNDED) X(UNCACHE) X(UNION) X(UNKNOWN) X(UNPIVOT) X(UNSET) X(UNSIGNED)       \
    X(UPDATE) X(USE) X(USER) X(USING) X(UUID) X(VALUES) X(VARCHAR) X(VARYING) X(VERBOSE) X(VIEW)  \
    X(VNODE) X(WEEK) X(WHEN) X(WHERE) X(WINDOW) X(WITH) X(WITHOUT) X(WRITE) X(XOR) X(YEAR)        \
    X(ZONE)
/* clang-format on */

#define SQL_KW_ENUM(k) KW_##k,
enum sql_keyword { KW_NONE = 0, SQL_KEYWORDS(SQL_KW_ENUM) KW__COUNT };
#undef SQL_KW_ENUM

typedef struct token {
    uint8_t kind;     /* enum tok_kind */
    char quote;       /* TOK_WORD: 0 unquoted, '"' or '`' quoted */
    uint16_t kw;      /* enum sql_keyword; KW_NONE for quoted words and non-words */
    uint32_t len;     /* bytes in text */
    const char *text; /* NUL-terminated: word value, number as written, string contents
                         unescaped, the character of TOK_CHAR; NULL for punctuation */
    srcpos pos;       /* first character; for TOK_EOF the position just past the input */
} token;

/* Tokenizes sql[0..len). On success *toks holds *ntoks tokens, the last one TOK_EOF. The token
 * array comes from tok_arena and the texts from a (they may be the same arena): the parser keeps
 * text pointers in the AST but no token, so the array can go with a short-lived arena. */
int sql_lex(arena *a, arena *tok_arena, const char *sql, size_t len, token **toks, uint32_t *ntoks,
            err *e);

/* Writes the token as sqlparser-rs prints it in "found: X" (EOF, words as written, quoted
 * words with their quotes, strings as 'x', <> for both inequality forms) into out. */
void sql_tok_display(const token *t, char *out, size_t outsz);

/* Upper-case name of a keyword ("SELECT"), "" for KW_NONE. */
const char *sql_kw_name(int kw);

/* Keyword id of an ASCII word, case-insensitively; KW_NONE if it is not in SQL_KEYWORDS. */
int sql_kw_lookup(const char *s, size_t n);

#endif
