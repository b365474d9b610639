/* Internals of src/influxql/ (see iql.h): the lexer (iql_lex.c), the SQL side (iql_sql.c),
 * aggregates (iql_agg.c), SELECT (iql_eval.c and its family, iql_select.h), the other
 * statements (iql_exec.c) and time zones (iql_tz.c). */
#ifndef STRATA_INFLUXQL_IQL_INT_H
#define STRATA_INFLUXQL_IQL_INT_H

#include "influxql/iql.h"
#include "util/buf.h"

/* ---- lexer (iql_lex.c) ---- */

enum iql_tok {
    T_EOF,
    T_IDENT,    /* bare or double-quoted identifier (quoted: never a keyword) */
    T_STRING,   /* single-quoted */
    T_INT,      /* an integer */
    T_NUMBER,   /* a number with a fraction or exponent */
    T_DURATION, /* integer + unit */
    T_REGEX,    /* /.../, read only where the parser asks for one */
    T_COMMA,
    T_LPAREN,
    T_RPAREN,
    T_SEMI,
    T_DOT,
    T_DCOLON, /* :: */
    T_STAR,
    T_PLUS,
    T_MINUS,
    T_SLASH,
    T_PERCENT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_EQRE,  /* =~ */
    T_NEQRE, /* !~ */
    T_BAD,   /* a character that starts no token, or an unterminated string */
};

typedef struct iql_token {
    enum iql_tok t;
    const char *s;      /* the text (for T_IDENT, T_STRING, T_REGEX: the unescaped value) */
    size_t len;         /* bytes of s */
    bool quoted;        /* T_IDENT in double quotes */
    int64_t i;          /* T_INT, T_DURATION (ns) */
    double f;           /* T_NUMBER */
    unsigned line, col; /* 1-based, col counting characters as InfluxDB's "char" does */
    size_t off;         /* byte offset of the token */
} iql_token;

typedef struct iql_lexer {
    arena *a;
    const char *p;
    size_t len, pos;
    unsigned line, col;
} iql_lexer;

void iql_lex_init(iql_lexer *lx, arena *a, const char *q, size_t len);
/* The next token. */
void iql_lex_next(iql_lexer *lx, iql_token *t);
/* A regex starting at the next non-space character, which must be '/'. */
void iql_lex_regex(iql_lexer *lx, iql_token *t);
/* How InfluxDB names a token in an error: the keyword or its text, "EOF" at the end. */
const char *iql_tok_text(arena *a, const iql_token *t);
/* A duration literal's nanoseconds: digits then ns, u, µ, ms, s, m, h, d, w; false if not. */
bool iql_duration(const char *s, size_t n, int64_t *ns);

/* ---- the scan as SQL (iql_sql.c) ---- */

/* A table's columns, from DESCRIBE TABLE. */
typedef struct iql_table {
    const char *name;
    const char **tags;
    size_t ntags;
    const char **fields;
    uint8_t *ftypes; /* enum vtype of each field */
    size_t nfields;
    enum tunit unit; /* of the time column */
    bool missing;    /* no such table */
} iql_table;

/* A SQL result held whole: ncols names and types, nrows x ncols values (strings copied). */
typedef struct iql_rows {
    size_t ncols, nrows;
    const char **names;
    uint8_t *types;
    value *v;
} iql_rows;

/* Runs sql (NUL-terminated) in the session and holds its rows in a; -1 with e. */
int iql_run_sql(sql_session *ss, arena *a, const char *sql, iql_rows *out, err *e);
/* DESCRIBE TABLE; a missing table is t->missing, not an error. */
int iql_describe(sql_session *ss, arena *a, const char *name, iql_table *t, err *e);
/* Appends s as a SQL identifier / string literal. */
void iql_sql_ident(buf *b, const char *s);
void iql_sql_str(buf *b, const char *s, size_t n);
/* The WHERE clause of st as SQL over table t (time literals in its unit) into b; -1 with e
 * (InfluxDB's wording) for what cannot be translated. Sets *tmin / *tmax to the time range
 * the clause's top-level AND bounds (INT64_MIN / INT64_MAX where unbounded). */
int iql_sql_where(const iql_expr *w, const iql_table *t, int64_t now_ns, buf *b, int64_t *tmin,
                  int64_t *tmax, err *e);
/* The value of a time expression (now() +- durations, RFC 3339 strings, integers in ns or
 * durations as epoch offsets); false if it is not one. */
bool iql_time_value(const iql_expr *x, int64_t now_ns, int64_t *ns);

/* ---- aggregates (iql_agg.c) ---- */

/* A point of a series: its time and one value. */
typedef struct iql_pt {
    int64_t t;
    value v;
} iql_pt;
#define IQL_NO_TIME INT64_MIN /* an aggregate's answer: the bucket's time */

double iql_num(const value *v);
bool iql_is_aggregate(const char *fn); /* aggregates and selectors */
bool iql_is_selector(const char *fn);
bool iql_is_multi(const char *fn); /* top, bottom, sample, distinct: several rows */
/* fn over the bucket's points p[0..n) (time order, non-null): *out[0..*nout) (one for all but
 * the multi-row functions), each with the chosen point's time or IQL_NO_TIME. */
int iql_aggregate(const char *fn, const iql_expr *call, iql_pt *p, size_t n, arena *a, iql_pt **out,
                  size_t *nout, err *e);

/* ---- evaluation (iql_eval.c) ---- */

int iql_run_select(sql_session *ss, arena *a, const iql_select *sel, int64_t now_ns,
                   iql_result *out, err *e);
/* The tables matching re (all for NULL), sorted by name. */
int iql_measurements(sql_session *ss, arena *a, const char *re, const char ***out, size_t *n,
                     err *e);

/* ---- time zones (iql_tz.c) ---- */
/* The zone named (tzdata's names, read from /usr/share/zoneinfo); -1 with InfluxDB's
 * "unable to find time zone" for an unknown one. */
int iql_zone_load(arena *a, const char *name, iql_zone **out, err *e);
/* Whether the zone keeps one UTC offset over [from, to] (nanoseconds). */
bool iql_zone_fixed(const iql_zone *z, int64_t from, int64_t to);
/* The GROUP BY time(every, offset) bucket holding t in local time: [*start, *end). A bucket
 * that spans an offset change is longer or shorter by it (a 23- or 25-hour day), unless the
 * change is at least a bucket long. */
void iql_zone_window(const iql_zone *z, int64_t t, int64_t every, int64_t offset, int64_t *start,
                     int64_t *end);

/* ---- shared ---- */
/* Case-insensitive comparison of an identifier with a keyword. */
bool iql_is(const iql_token *t, const char *kw);
/* An error of a statement: 400-less (the caller places it), message in e->msg. */
int iql_fail(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
