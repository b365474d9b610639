/* Abstract syntax tree of CnosDB's SQL dialect, as the parser produces it.
 *
 * Every node lives in the arena passed to sql_parse and carries the source position of its
 * first token, so later stages (binder, planner) can name the line and column of an error.
 * Identifiers: unquoted ones are folded to lower case by the parser, double-quoted ones are
 * kept verbatim; `quoted` records which, for messages. String literals keep their text with
 * '' unescaped. Nothing here is resolved against the catalog: that is the binder's job. */
#ifndef STRATA_SQL_AST_H
#define STRATA_SQL_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "util/types.h"

typedef struct srcpos {
    uint32_t line, col; /* 1-based; byte column */
} srcpos;

typedef struct sql_query sql_query;

/* A type name as written in CAST or DDL: vt is VT_NULL when the name is not one Strata knows,
 * in which case `name` lets the binder report it. */
typedef struct sql_type {
    uint8_t vt;       /* enum vtype */
    uint8_t unit;     /* enum tunit for VT_TS (TIMESTAMP = ns) */
    const char *name; /* as written, upper-cased: BIGINT, BIGINT UNSIGNED, DOUBLE, ... */
    /* Added by the parser: for a name sqlparser-rs does not know, the type exactly as written
     * with its modifiers, as CnosDB quotes it in messages (`geometry(point, 1)`, `geometry` for
     * `geometry()`); otherwise the same as name. */
    const char *text;
    /* GEOMETRY(sub_type, srid): the sub_type (enum gis_type of gis/gis.h) when the declaration
     * is sound (vt is then VT_STR), else 0 and geo_err says what is wrong with it. */
    uint8_t geo;
    uint8_t geo_err; /* enum sql_geo_err */
} sql_type;

enum sql_geo_err {
    GEO_ERR_NONE = 0,
    GEO_ERR_FORMAT,  /* not two modifiers */
    GEO_ERR_SUBTYPE, /* the first names no geometry type */
    GEO_ERR_SRID,    /* the second is not 0 */
};

enum expr_kind {
    EX_LITERAL = 1, /* lit */
    EX_COLUMN,      /* [qual.]name */
    EX_STAR,        /* `*` or `qual.*` in a select list, or the argument of count(*) */
    EX_UNARY,       /* op, args[0] */
    EX_BINARY,      /* op, args[0], args[1] */
    EX_IS,          /* args[0] IS [NOT] {NULL|TRUE|FALSE|UNKNOWN}: op = OP_IS_NULL/TRUE/... */
    EX_BETWEEN,     /* args[0] [NOT] BETWEEN args[1] AND args[2] */
    EX_IN_LIST,     /* args[0] [NOT] IN (args[1..nargs)) */
    EX_IN_QUERY,    /* args[0] [NOT] IN (sub) */
    EX_EXISTS,      /* [NOT] EXISTS (sub) */
    EX_SUBQUERY,    /* scalar (sub) */
    EX_LIKE,        /* args[0] [NOT] LIKE|ILIKE args[1] [ESCAPE args[2]]; op = OP_LIKE/OP_ILIKE */
    EX_CASE,        /* CASE [operand] WHEN when[i] THEN then[i] ... [ELSE els] END */
    EX_CAST,        /* CAST(args[0] AS cast_type), args[0]::cast_type, TRY_CAST (op = 1) */
    EX_FUNC,        /* name(args...), with distinct, star (count(*)), order_by, filter, over */
    /* Added by the parser: */
    EX_TUPLE, /* (a, b, ...) row value: args. Reaches the binder as an operand (DataFusion 27
                 rejects most uses) and as a ROLLUP/CUBE element */
};

enum expr_op {
    OP_NONE = 0,
    /* unary */
    OP_NOT,
    OP_NEG,
    OP_PLUS,
    /* binary */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
    OP_CONCAT,  /* || */
    OP_REGEX,   /* ~ */
    OP_IREGEX,  /* ~* */
    OP_NREGEX,  /* !~ */
    OP_NIREGEX, /* !~* */
    OP_BITAND,  /* & */
    OP_BITOR,   /* | */
    OP_BITXOR,  /* # or ^ per dialect */
    OP_SHL,
    OP_SHR,
    OP_IS_DISTINCT,     /* IS DISTINCT FROM */
    OP_IS_NOT_DISTINCT, /* IS NOT DISTINCT FROM */
    /* EX_IS */
    OP_IS_NULL,
    OP_IS_TRUE,
    OP_IS_FALSE,
    OP_IS_UNKNOWN,
    /* EX_LIKE */
    OP_LIKE,
    OP_ILIKE,
    OP_SIMILAR,
    /* EX_CAST */
    OP_TRY_CAST,
};

typedef struct sql_order_item sql_order_item;

/* Window frame: ROWS|RANGE|GROUPS BETWEEN start AND end. */
enum frame_units { FRAME_ROWS = 1, FRAME_RANGE, FRAME_GROUPS };
enum frame_bound_kind {
    FB_UNBOUNDED_PRECEDING = 1,
    FB_PRECEDING,
    FB_CURRENT_ROW,
    FB_FOLLOWING,
    FB_UNBOUNDED_FOLLOWING
};
typedef struct sql_frame_bound {
    uint8_t kind;
    struct expr *offset; /* for FB_PRECEDING / FB_FOLLOWING */
} sql_frame_bound;

typedef struct sql_window {
    struct expr **partition_by;
    uint32_t npartition;
    sql_order_item *order_by;
    uint32_t norder;
    uint8_t frame_units; /* 0 = no frame clause */
    sql_frame_bound frame_start, frame_end;
    /* Added by the parser: `OVER w` or `OVER (w ORDER BY ...)` names a window of the SELECT's
     * WINDOW clause that this one starts from; NULL if none. */
    const char *ref_name;
} sql_window;

/* WINDOW w AS (...) in a SELECT (added by the parser). */
typedef struct sql_named_window {
    const char *name;
    sql_window *w;
    srcpos pos;
} sql_named_window;

typedef struct expr {
    uint8_t kind;  /* enum expr_kind */
    uint8_t op;    /* enum expr_op */
    bool negated;  /* NOT BETWEEN, NOT IN, NOT LIKE, IS NOT, NOT EXISTS */
    bool distinct; /* f(DISTINCT ...) */
    bool star;     /* f(*) */
    bool quoted;   /* name was double-quoted */
    srcpos pos;
    value lit;        /* EX_LITERAL: VT_NULL/BOOL/I64/U64 (too big for i64)/F64/STR/INTERVAL */
    const char *name; /* EX_COLUMN column, EX_FUNC function (lower-cased unless quoted) */
    const char *qual; /* EX_COLUMN/EX_STAR qualifier: table or alias (may be "db.t") */
    struct expr **args;
    uint32_t nargs;
    /* EX_CASE */
    struct expr *operand;
    struct expr **when, **then;
    uint32_t nwhen;
    struct expr *els;
    /* EX_CAST */
    sql_type cast_type;
    /* EX_IN_QUERY, EX_EXISTS, EX_SUBQUERY */
    sql_query *sub;
    /* EX_FUNC extras */
    sql_order_item *func_order; /* array_agg(x ORDER BY y) */
    uint32_t nfunc_order;
    struct expr *filter; /* FILTER (WHERE ...) */
    sql_window *over;    /* OVER (...) : window function call */
    /* Literal text of a numeric literal as written (for names like Int64(1), Float64(1.5)). */
    const char *text;
    /* Added by the parser: */
    const char **parts; /* EX_COLUMN: every part of a compound name (`db.t.c` = 3), folded */
    uint32_t nparts;
    const char **except_cols; /* EX_STAR: `* EXCLUDE (a, b)` / `* EXCEPT (a, b)`, folded */
    uint32_t nexcept;
    uint32_t height; /* levels in this subtree (a leaf is 1); never above SQL_MAX_EXPR_HEIGHT, so
                        later stages may recurse over an expression without checking */
} expr;

/* The parser refuses statements nested deeper than these (message `recursion limit exceeded`),
 * so every later stage can walk the AST recursively on a normal thread stack. */
#define SQL_MAX_DEPTH 256 /* nested parentheses, subqueries, operators parsed recursively */
#define SQL_MAX_EXPR_HEIGHT                                                                        \
    1000                   /* height of any expression tree, flat operator chains included         \
                            */
#define SQL_MAX_CHAIN 1000 /* joins in one FROM clause, set operations in one query */

struct sql_order_item {
    expr *e;
    bool desc;
    int8_t nulls_first; /* -1 not given, 0 NULLS LAST, 1 NULLS FIRST */
};

typedef struct sql_select_item {
    expr *e;
    const char *alias; /* NULL if none */
    srcpos pos;
} sql_select_item;

enum table_ref_kind { TR_TABLE = 1, TR_SUBQUERY, TR_JOIN, TR_FUNC /* table function */ };
enum join_kind {
    JOIN_INNER = 1,
    JOIN_LEFT,
    JOIN_RIGHT,
    JOIN_FULL,
    JOIN_CROSS,
    JOIN_LEFT_SEMI,
    JOIN_LEFT_ANTI,
    /* Added by the parser: */
    JOIN_RIGHT_SEMI,
    JOIN_RIGHT_ANTI
};

typedef struct sql_table_ref {
    uint8_t kind;
    srcpos pos;
    /* TR_TABLE: [db.]name ; names folded like identifiers */
    const char *db;
    const char *name;
    const char *alias;
    /* TR_SUBQUERY */
    sql_query *sub;
    /* TR_JOIN */
    uint8_t join;
    bool natural;
    struct sql_table_ref *left, *right;
    expr *on;
    const char **using_cols;
    uint32_t nusing;
    /* TR_FUNC: name(args) */
    expr **fargs;
    uint32_t nfargs;
    /* Added by the parser: */
    const char *tenant;      /* TR_TABLE/TR_FUNC: first part of a three-part name tenant.db.t */
    const char **alias_cols; /* `AS a(c1, c2)` column aliases */
    uint32_t nalias_cols;
} sql_table_ref;

typedef struct sql_select {
    bool distinct;
    expr **distinct_on; /* DISTINCT ON (...) */
    uint32_t ndistinct_on;
    sql_select_item *items;
    uint32_t nitems;
    sql_table_ref *from; /* NULL = no FROM; several comma-separated tables = cross joins */
    expr *where;
    expr **group_by;
    uint32_t ngroup;
    uint8_t group_kind;    /* 0 plain, 1 ROLLUP(...), 2 CUBE(...), 3 GROUPING SETS */
    expr ***grouping_sets; /* for GROUPING SETS: nsets lists */
    uint32_t *grouping_set_len;
    uint32_t nsets;
    expr *having;
    /* Added by the parser: WINDOW w AS (...), ... */
    sql_named_window *windows;
    uint32_t nwindows;
} sql_select;

enum setop_kind { SETOP_NONE = 0, SETOP_UNION, SETOP_INTERSECT, SETOP_EXCEPT };

/* A query body is either a SELECT or a set operation of two bodies, or VALUES rows. */
typedef struct sql_body {
    uint8_t setop; /* SETOP_NONE: select (or values) */
    bool all;      /* UNION ALL */
    sql_select *select;
    expr ***values; /* VALUES (..),(..): nvalues rows of nvalue_cols exprs */
    uint32_t nvalues, nvalue_cols;
    sql_query *nested; /* a parenthesised query used as a body operand */
    struct sql_body *left, *right;
} sql_body;

typedef struct sql_cte {
    const char *name;
    const char **cols;
    uint32_t ncols;
    sql_query *q;
} sql_cte;

struct sql_query {
    srcpos pos;
    sql_cte *ctes;
    uint32_t nctes;
    bool recursive;
    sql_body *body;
    sql_order_item *order_by;
    uint32_t norder;
    expr *limit;  /* NULL = none */
    expr *offset; /* NULL = none */
};

/* Option list as written (`TTL '10d' SHARD 2`, `PASSWORD = 'x'`): name upper-cased, value a
 * literal (string, number, boolean) or an identifier (stored as a VT_STR literal, ident=true). */
typedef struct sql_option {
    const char *name;
    value v;
    bool ident;
    srcpos pos;
    /* Added by the parser: tenant limits are written in groups, `object_config max_databases = 3
     * max_users_number = 2, http_queries remote_max = 10 ...`; each inner pair becomes one option
     * whose group is the upper-cased group name. NULL for plain options. */
    const char *group;
} sql_option;

typedef struct sql_column_def {
    const char *name;
    sql_type type;
    const char *codec; /* upper-cased codec name, NULL = not given */
    bool is_tag;
    bool not_null;
    srcpos pos;
} sql_column_def;

enum alter_table_action {
    AT_ADD_TAG = 1,
    AT_ADD_FIELD,
    AT_DROP_COLUMN,
    AT_ALTER_CODEC,
    AT_RENAME_COLUMN
};

enum stmt_kind {
    ST_QUERY = 1,        /* SELECT / WITH / VALUES: q */
    ST_INSERT,           /* INSERT INTO table [(cols)] query-or-values */
    ST_DELETE,           /* DELETE FROM table [WHERE where] */
    ST_UPDATE,           /* UPDATE table SET assignments [WHERE where] */
    ST_EXPLAIN,          /* EXPLAIN [ANALYZE] [VERBOSE] inner */
    ST_CREATE_DATABASE,  /* name, if_not_exists, opts */
    ST_ALTER_DATABASE,   /* name, opts (one) */
    ST_DROP_DATABASE,    /* name, if_exists, opts (AFTER) */
    ST_RECOVER_DATABASE, /* name, if_exists */
    ST_CREATE_TABLE,     /* table, if_not_exists, cols */
    ST_ALTER_TABLE,      /* table, alter_action, cols[0] (ADD/ALTER), name (DROP/RENAME from),
                            name2 (RENAME to) */
    ST_DROP_TABLE,       /* table, if_exists */
    ST_SHOW_DATABASES,
    ST_SHOW_TABLES,     /* on_db */
    ST_SHOW_SERIES,     /* on_db, table, where, order_by, limit, offset */
    ST_SHOW_TAG_VALUES, /* on_db, table, tag_key_op, tag_keys, where, order_by, limit, offset */
    ST_SHOW_QUERIES,
    ST_DESCRIBE_DATABASE, /* name */
    ST_DESCRIBE_TABLE,    /* table */
    ST_CREATE_TENANT,     /* name, if_not_exists, opts */
    ST_ALTER_TENANT,      /* name, alter_action (TA_*), name2 (user), role, opts */
    ST_DROP_TENANT,       /* name, if_exists, opts (AFTER) */
    ST_RECOVER_TENANT,
    ST_CREATE_USER, /* name, if_not_exists, opts */
    ST_ALTER_USER,  /* name, opts (SET), name2 (RENAME TO) */
    ST_DROP_USER,   /* name, if_exists */
    ST_CREATE_ROLE, /* name, if_not_exists, role (INHERIT owner|member) */
    ST_DROP_ROLE,   /* name, if_exists */
    ST_GRANT,       /* privilege, on_db, name (role) */
    ST_REVOKE,      /* privilege, on_db, name (role) */
    ST_KILL_QUERY,  /* query_id */
    ST_COMPACT,     /* COMPACT DATABASE name / COMPACT VNODE ... (opts) */
    ST_SET,         /* SET name = value */
    /* Added by the parser: */
    ST_CREATE_EXTERNAL_TABLE, /* table, if_not_exists, cols (every one a field), ext */
    ST_COPY_INTO_TABLE,       /* COPY INTO table [(insert_cols)] FROM ext->location */
    ST_COPY_INTO_LOCATION,    /* COPY INTO ext->location FROM q (a table is SELECT * FROM it) */
    ST_CREATE_STREAM_TABLE,   /* table, if_not_exists, cols, opts (WITH), name2 (engine) */
    ST_CREATE_STREAM,         /* name, if_not_exists, opts (TRIGGER ...), inner (the INSERT) */
    ST_DROP_STREAM,           /* name, if_exists */
    ST_SHOW_STREAMS,          /* verbose */
};

enum tenant_action {
    TA_ADD_USER = 1,
    TA_REMOVE_USER,
    TA_SET,
    TA_UNSET,
    TA_SET_USER /* added by the parser: ALTER TENANT t SET USER u AS role */
};
enum privilege { PRIV_READ = 1, PRIV_WRITE, PRIV_ALL };
/* SHOW TAG VALUES ... WITH KEY <op> */
enum tag_key_op { TK_EQ = 1, TK_NE, TK_IN, TK_NOT_IN };

typedef struct sql_table_name {
    const char *db; /* NULL = session database */
    const char *name;
    srcpos pos;
    const char *tenant; /* added by the parser: tenant.db.t; NULL = session tenant */
} sql_table_name;

/* The file side of CREATE EXTERNAL TABLE and COPY INTO (added by the parser). Option names are
 * upper-cased, values as written. */
typedef struct sql_ext {
    const char *format;          /* STORED AS / FILE_FORMAT TYPE, upper-cased; NULL = not given */
    const char *location;        /* LOCATION / the quoted path of COPY */
    int8_t header;               /* WITH HEADER ROW / WITH_HEADER: -1 not given, 0, 1 */
    const char *delimiter;       /* NULL = not given */
    const char *compression;     /* COMPRESSION TYPE, upper-cased; NULL = not given */
    const char **partition_cols; /* PARTITIONED BY (...) */
    uint32_t npartition;
    sql_option *opts; /* OPTIONS ('k' 'v', ...) of CREATE; COPY_OPTIONS (...) of COPY */
    uint32_t nopts;
    sql_option *conn; /* CONNECTION = (...) of COPY */
    uint32_t nconn;
    srcpos location_pos;
} sql_ext;

typedef struct sql_assign {
    const char *col;
    expr *e;
    srcpos pos;
} sql_assign;

typedef struct sql_stmt {
    uint8_t kind; /* enum stmt_kind */
    srcpos pos;
    sql_query *q; /* ST_QUERY, ST_INSERT source (VALUES become a query body) */
    /* explain */
    bool analyze, verbose;
    struct sql_stmt *inner;
    /* names */
    const char *name;
    const char *name2;
    const char *role; /* role name for ALTER TENANT ADD USER ... AS role, INHERIT */
    const char *on_db;
    bool if_exists, if_not_exists;
    sql_option *opts;
    uint32_t nopts;
    /* tables */
    sql_table_name table;
    sql_column_def *cols; /* CREATE TABLE columns; ALTER TABLE ADD column */
    uint32_t ncols;
    uint8_t alter_action; /* enum alter_table_action or enum tenant_action */
    const char **insert_cols;
    uint32_t ninsert_cols;
    sql_assign *assigns;
    uint32_t nassigns;
    expr *where;
    /* SHOW SERIES / TAG VALUES */
    uint8_t tag_key_op;
    const char **tag_keys;
    uint32_t ntag_keys;
    sql_order_item *order_by;
    uint32_t norder;
    expr *limit, *offset;
    /* DCL */
    uint8_t privilege;
    /* KILL QUERY */
    uint64_t query_id;
    /* Added by the parser: */
    const char *table_alias; /* DELETE FROM t [AS] a, UPDATE t [AS] a */
    expr **set_values;       /* ST_SET: the value list (SET x = 1, 2); opts[0] also holds the
                                first value when it is a literal or a bare word */
    uint32_t nset_values;
    uint8_t *privileges;   /* ST_GRANT/ST_REVOKE: every `priv ON DATABASE db` of the list, */
    const char **priv_dbs; /* privilege/on_db repeat the first one */
    uint32_t npriv;
    const char *explain_format; /* EXPLAIN FORMAT x: the word x as written, NULL if absent */
    sql_ext *ext;               /* CREATE EXTERNAL TABLE, COPY INTO */
} sql_stmt;

/* How the parser fills the AST where the grammar leaves a choice (added by the parser):
 * - A minus sign directly before a numeric literal is folded into the literal (`-10` is the
 *   I64 literal -10 with text "-10", `-9223372036854775808` fits I64), as DataFusion does; any
 *   other unary minus stays EX_UNARY OP_NEG. `+x` stays EX_UNARY OP_PLUS.
 * - TIMESTAMP 'x', DATE 'x' and other `<builtin type> 'string'` literals are EX_CAST of the
 *   string; INTERVAL literals are folded to VT_INTERVAL values at parse time.
 * - EXTRACT(f FROM x) is date_part('F', x) with the field upper-cased; SUBSTRING(x FROM a FOR b)
 *   is substr(x, a, b) (substr(x, 1, b) without FROM); TRIM([BOTH|LEADING|TRAILING] [c FROM] x)
 *   is btrim/ltrim/rtrim(x[, c]) and plain trim(x[, c]) without a side; POSITION(a IN b) is
 *   strpos(b, a); [a, b] and ARRAY[a, b] are make_array(a, b); x[i] is array_element(x, i);
 *   CURRENT_TIMESTAMP and friends are calls without arguments. Function names are folded.
 * - `@@name` variables are EX_COLUMN whose name starts with "@@".
 * - CREATE TABLE: cols lists the TAGS(...) columns first (in their order), then the fields in
 *   declaration order: the table's column order after `time`. ALTER TABLE ADD TAG/FIELD and
 *   ALTER c SET CODEC put the column in cols[0] (ncols = 1).
 * - DROP DATABASE/TENANT ... AFTER 'd' is the option AFTER; ALTER TENANT UNSET x is opts[0]
 *   with name X and a NULL value; KILL sets query_id; COMPACT VNODE 1 2 stores options VNODE.
 * - IS [NOT] DISTINCT FROM takes a whole expression on its right, as sqlparser-rs does:
 *   `a IS DISTINCT FROM b AND c` compares a with (b AND c). */

/* An operator as DataFusion writes it (`+`, `||`, `AND`, `IS DISTINCT FROM` ...), for names,
 * plans and messages (plan_name.c). */
const char *plan_op_text(uint8_t opc);
/* DataFusion's Operator::precedence of a binary operator; 0 (||, IS DISTINCT FROM, bitwise,
 * regex): always bracketed as an operand. */
int plan_op_precedence(uint8_t opc);

#endif
