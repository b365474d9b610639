/* InfluxQL, InfluxDB 1.x's query language, over Strata's SQL engine.
 *
 * iql_parse reads a request's `q` (statements separated by `;`) into an AST; a syntax error is
 * reported as InfluxDB words it ("found X, expected Y at line L, char C"), for the whole text,
 * as InfluxDB refuses the whole request then. iql_exec runs one statement against a database
 * and returns its result as InfluxDB shapes it: a list of series, each with a name, tags,
 * columns and rows of values; an error of one statement is that statement's message, the
 * others still run (InfluxDB answers 200 with the error in that statement's entry).
 *
 * How a SELECT runs: the measurement is the table, its tags and fields its columns. The scan is
 * a CnosDB SQL query built from the statement (iql_sql.c) with the WHERE clause's time range,
 * tag and field conditions pushed into it and the rows ordered by the GROUP BY tags then time;
 * what SQL lacks is done here per series over those rows (iql_eval.c): buckets of GROUP BY
 * time with fill over the whole time range, aggregates and selectors (with the point's time),
 * transformations, per-series LIMIT/OFFSET, SLIMIT/SOFFSET and ORDER BY time DESC. The rows of
 * one statement are held in memory, bounded by the session's memory limit.
 *
 * Memory: the AST and every result live in the arena given; nothing else is allocated beyond
 * the calls. Thread safety: none shared; any number of statements may run concurrently. */
#ifndef STRATA_INFLUXQL_IQL_H
#define STRATA_INFLUXQL_IQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/sql.h"
#include "util/arena.h"
#include "util/err.h"

/* ---- AST ---- */

enum iql_ek {
    IE_INT,   /* i */
    IE_FLOAT, /* f */
    IE_STR,   /* s, single quoted */
    IE_BOOL,  /* i = 0 / 1 */
    IE_DUR,   /* i nanoseconds */
    IE_REGEX, /* s */
    IE_REF,   /* s name, cast IC_* */
    IE_CALL,  /* s function name (lower case), args */
    IE_BIN,   /* op, l, r */
    IE_NOW,   /* now() */
    IE_STAR,  /* * (in SELECT or a call's argument) */
};

enum iql_op {
    IO_ADD,
    IO_SUB,
    IO_MUL,
    IO_DIV,
    IO_MOD,
    IO_AND,
    IO_OR,
    IO_EQ,
    IO_NE,
    IO_LT,
    IO_LE,
    IO_GT,
    IO_GE,
    IO_RE,  /* =~ */
    IO_NRE, /* !~ */
};

enum iql_cast { IC_NONE, IC_FIELD, IC_TAG };

typedef struct iql_expr iql_expr;
struct iql_expr {
    enum iql_ek k;
    enum iql_op op;
    enum iql_cast cast;
    int64_t i;
    double f;
    const char *s;
    iql_expr *l, *r;
    iql_expr **args;
    size_t nargs;
};

enum iql_fill { FILL_NULL, FILL_NONE, FILL_PREVIOUS, FILL_LINEAR, FILL_VALUE };

typedef struct iql_field {
    iql_expr *e;
    const char *alias; /* NULL = derived from the expression */
} iql_field;

typedef struct iql_select {
    iql_field *fields;
    size_t nfields;
    const char **from; /* measurement names */
    size_t nfrom;
    const char *from_re;    /* FROM /re/ (then nfrom == 0) */
    const char *db;         /* FROM db.rp.m: the database (NULL: the request's) */
    struct iql_select *sub; /* FROM (SELECT ...): its series are the rows (then nfrom == 0) */
    iql_expr *where;
    int64_t every;  /* GROUP BY time(every[, offset]); 0 = none */
    int64_t offset; /* nanoseconds */
    const char **tags;
    size_t ntags;
    bool group_all;      /* GROUP BY * */
    const char *tags_re; /* GROUP BY /re/: the tags whose keys match */
    enum iql_fill fill;
    iql_expr *fill_value; /* FILL_VALUE: a number */
    bool desc;
    int64_t limit, offset_rows, slimit, soffset; /* -1 = none / 0 */
    const char *tz;
} iql_select;

enum iql_sk {
    IS_SELECT,
    IS_SHOW_DATABASES,
    IS_SHOW_MEASUREMENTS,
    IS_SHOW_TAG_KEYS,
    IS_SHOW_TAG_VALUES,
    IS_SHOW_FIELD_KEYS,
    IS_SHOW_SERIES,
    IS_SHOW_RP,
    IS_CREATE_DB,
    IS_DROP_DB,
    IS_DROP_MEASUREMENT,
    IS_DELETE,      /* DELETE [FROM m] [WHERE tags and time] */
    IS_DROP_SERIES, /* DROP SERIES [FROM m] [WHERE tags] */
};

typedef struct iql_stmt {
    enum iql_sk k;
    iql_select sel; /* IS_SELECT */
    /* SHOW and DDL */
    const char *db;   /* ON db, or the database of CREATE / DROP DATABASE */
    const char *name; /* DROP MEASUREMENT's, or the measurement of FROM */
    const char *from_re;
    const char *meas_re; /* WITH MEASUREMENT =~ /re/ */
    enum iql_op key_op;  /* WITH KEY: IO_EQ, IO_NE, IO_RE, IO_NRE; IO_ADD = IN (..) */
    const char **keys;
    size_t nkeys;
    const char *key_re;
    iql_expr *where;
    int64_t limit, offset;
    int64_t duration; /* CREATE DATABASE ... WITH DURATION; 0 = none (INF) */
} iql_stmt;

typedef struct iql_query {
    iql_stmt *stmts;
    size_t n;
} iql_query;

/* Parses q[0..len): 0 and *out, or -1 with e (400, "error parsing query: ..."). */
int iql_parse(arena *a, const char *q, size_t len, iql_query *out, err *e);

/* ---- results ---- */

typedef struct iql_series {
    const char *name;
    const char **tag_keys, **tag_vals; /* sorted by key */
    size_t ntags;
    const char **cols;
    size_t ncols;
    value *vals; /* nrows x ncols, row major; column 0 is time (VT_TS, ns) where there is one */
    size_t nrows;
    bool time_col; /* column 0 is a time */
} iql_series;

/* A time zone of tz('...') (iql_tz.c). */
typedef struct iql_zone iql_zone;
/* The zone's UTC offset at ns, in nanoseconds (0 for NULL: UTC). */
int64_t iql_zone_offset(const iql_zone *z, int64_t ns);

typedef struct iql_result {
    iql_series *series;
    size_t n;
    const char *error;  /* the statement failed: InfluxDB's message */
    const iql_zone *tz; /* times are shown in this zone (NULL: UTC, `Z`) */
} iql_result;

/* Runs st with the session's tenant, database and user (the session's arena holds the SQL
 * statements it runs; out lives in a). now_ns: the request's now(). Returns -1 only for a
 * failure of the whole request (e set); a statement's own error is out->error. */
int iql_exec(sql_session *ss, arena *a, const iql_stmt *st, int64_t now_ns, iql_result *out,
             err *e);

#endif
