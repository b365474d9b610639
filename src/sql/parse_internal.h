/* Shared state and helpers of the recursive-descent parser, internal to sql/parse_*.c and
 * parser.c. The grammar, error wording and choices follow sqlparser-rs 0.34 (GenericDialect) and
 * CnosDB's statement extensions, so that messages match CnosDB's; see parser.h for the contract.
 *
 * Conventions: functions that build a node return it, or NULL after filling p->e; functions
 * that only consume syntax return 0 / -1. Everything is allocated from p->a. The error helpers
 * fill p->e and return -1, so a status function can `return sqlp_p_expected(...)`. Functions
 * shared between the files carry the sqlp_ prefix because every module is linked together.
 * Errors all have HTTP status 422 and end with ` at line L, column C` (1-based, byte column) of
 * the offending token. */
#ifndef STRATA_SQL_PARSE_INTERNAL_H
#define STRATA_SQL_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/ast.h"
#include "sql/lexer.h"
#include "util/arena.h"
#include "util/err.h"

typedef struct parser {
    arena *a;
    const token *t; /* tokens, the last is TOK_EOF */
    uint32_t n, i;  /* count, index of the next unconsumed token (never past the EOF) */
    err *e;
    int depth; /* current recursion depth, bounded by SQL_MAX_DEPTH */
} parser;

/* Growable array on the arena. Element pointers stay valid only until the next push. */
typedef struct avec {
    void *p;
    uint32_t n, cap;
} avec;

void *sqlp_av_push(parser *p, avec *v, size_t elsz);
#define AV_PUSH(p, v, T) ((T *)sqlp_av_push((p), (v), sizeof(T)))

/* A list of pointers kept in the struct while short and copied to an exact-size arena array by
 * sqlp_pl_done: most argument lists and VALUES rows have a few elements, and a large INSERT
 * has many rows. Must not be copied while in use (it may point into itself). */
typedef struct plist {
    void **p;
    uint32_t n, cap;
    void *inl[8];
} plist;

void sqlp_pl_push(parser *p, plist *l, void *x);
void **sqlp_pl_done(parser *p, plist *l); /* NULL when empty */

/* ---- tokens ---- */
static inline const token *pk(const parser *p) {
    return &p->t[p->i];
}
static inline const token *pk_n(const parser *p, uint32_t k) {
    uint32_t j = p->i + k;
    return &p->t[j < p->n ? j : p->n - 1];
}
static inline const token *nx(parser *p) {
    const token *t = &p->t[p->i];
    if (p->i + 1 < p->n) p->i++;
    return t;
}
static inline bool is_kw(const token *t, int kw) {
    return t->kind == TOK_WORD && t->kw == kw;
}

bool sqlp_acc(parser *p, int kind);           /* consumes the token if it is of that kind */
bool sqlp_acc_kw(parser *p, int kw);          /* consumes an unquoted keyword */
bool sqlp_acc_kws(parser *p, int k1, int k2); /* consumes two keywords, or nothing */
bool sqlp_acc_kws3(parser *p, int k1, int k2, int k3);
int sqlp_exp_tok(parser *p, int kind); /* "Expected X, found: Y" unless the next token is kind */
int sqlp_exp_kw(parser *p, int kw);

/* ---- errors (all HTTP 422) ---- */
int sqlp_p_expected(parser *p, const char *what, const token *found);
int sqlp_p_error(parser *p, const token *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sqlp_p_error_code(parser *p, const token *at, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int sqlp_p_enter(parser *p); /* recursion guard: -1 past SQL_MAX_DEPTH */
static inline void sqlp_p_leave(parser *p) {
    p->depth--;
}

/* ---- names ---- */
/* Folds an identifier as DataFusion does: unquoted words to ASCII lower case, quoted verbatim. */
const char *sqlp_ident_text(parser *p, const token *t);
/* A word or a 'single-quoted' name. */
int sqlp_parse_ident(parser *p, const char **out, bool *quoted, srcpos *pos);
/* a[.b[.c...]] : every part folded. */
int sqlp_parse_object_name(parser *p, const char ***parts, uint32_t *nparts, srcpos *pos);
/* ( a, b, ... ) */
int sqlp_parse_ident_list(parser *p, const char ***out, uint32_t *n);

/* ---- expressions (parse_expr.c) ---- */
expr *sqlp_parse_expr(parser *p);
expr *sqlp_parse_subexpr(parser *p, int prec);
/* A select-list or function-argument item: `*`, `q.*` or an expression. */
expr *sqlp_parse_wildcard_expr(parser *p);
/* e1, e2, ...: one or more expressions separated by commas. */
int sqlp_parse_expr_list(parser *p, expr ***out, uint32_t *n);
/* Sets the height of a freshly built node from its children; NULL if over the limit. */
expr *sqlp_expr_fin(parser *p, expr *e);
expr *sqlp_new_expr(parser *p, int kind, srcpos pos);
/* A call of name with args (not yet through sqlp_expr_fin). */
expr *sqlp_new_func(parser *p, const char *name, srcpos pos, expr **args, uint32_t nargs);
/* A string literal of the token text s. */
expr *sqlp_str_lit(parser *p, const char *s, uint32_t len, srcpos pos);

/* ---- literals and types (parse_type.c) ---- */
int sqlp_parse_type(parser *p, sql_type *ty);
/* Numeric literal from its text (optionally with a leading '-'): I64, else U64, else F64. */
void sqlp_number_value(const char *text, value *v);
expr *sqlp_number_lit(parser *p, const token *t);
/* An interval literal of text, in unit where an amount has none; the error names token vt. */
expr *sqlp_interval_lit(parser *p, const token *vt, const char *text, uint32_t len,
                        const char *unit, srcpos pos);
/* INTERVAL '<value>' [unit [(p)]], after the INTERVAL keyword. */
expr *sqlp_parse_interval(parser *p, srcpos pos);
/* Whether kw names an INTERVAL unit or date part (YEAR, DOW, EPOCH, ...). */
bool sqlp_is_interval_unit_kw(int kw);
/* `<builtin type> 'string'` at the next token as a CAST, or NULL with nothing consumed. */
expr *sqlp_typed_string(parser *p);

/* ---- names, calls, ORDER BY, windows (parse_call.c) ---- */
/* parts[0..n) joined with dots (n >= 1): the qualifier of a compound name. */
const char *sqlp_join_parts(parser *p, const char **parts, uint32_t n);
/* A word that starts an identifier, a compound identifier, `q.*` or a call. */
expr *sqlp_parse_name_expr(parser *p, const token *first);
/* name(...) [FILTER (WHERE ...)] [OVER ...], after the name's parts. */
expr *sqlp_parse_call(parser *p, const char **parts, uint32_t nparts, bool quoted, srcpos pos);
/* ARRAY_AGG(...), after the keyword. */
expr *sqlp_parse_array_agg(parser *p, srcpos pos);
int sqlp_parse_order_by_list(parser *p, sql_order_item **items, uint32_t *n);
int sqlp_parse_order_item(parser *p, sql_order_item *it);
int sqlp_parse_window_spec(parser *p, sql_window **out); /* after OVER's `(` */

/* ---- queries (parse_query.c) ---- */
sql_query *sqlp_parse_query(parser *p);
/* [AS] alias after a select item (table_ctx false) or a table (true); *alias NULL if none. */
int sqlp_parse_optional_alias(parser *p, bool table_ctx, const char **alias);

/* ---- statements (parser.c, parse_ddl.c) ---- */
sql_stmt *sqlp_parse_statement(parser *p);
sql_stmt *sqlp_new_stmt(parser *p, int kind, const token *first);
sql_stmt *sqlp_parse_create(parser *p, const token *first);
sql_stmt *sqlp_parse_alter(parser *p, const token *first);
sql_stmt *sqlp_parse_drop(parser *p, const token *first);
/* [tenant.][db.]name; with new_name the name is checked as CREATE checks it. */
int sqlp_parse_table_name(parser *p, sql_table_name *tn, bool new_name);
/* An option value: 'string', number, -number, TRUE/FALSE/NULL, or a bare word (ident). */
int sqlp_parse_opt_value(parser *p, sql_option *o);
/* CREATE [UNBOUNDED] EXTERNAL TABLE ..., at UNBOUNDED/EXTERNAL; COPY INTO ..., after COPY
 * (ext_parse.c). */
sql_stmt *sqlp_parse_create_external(parser *p, const token *first);
sql_stmt *sqlp_parse_copy(parser *p, const token *first);
sql_stmt *sqlp_parse_show(parser *p, const token *first);
/* Streams (parse_stream.c), each at the word STREAM / STREAMS. */
sql_stmt *sqlp_parse_create_stream(parser *p, const token *first);
sql_stmt *sqlp_parse_drop_stream(parser *p, const token *first);
sql_stmt *sqlp_parse_show_streams(parser *p, const token *first);
sql_stmt *sqlp_parse_describe(parser *p, const token *first);
sql_stmt *sqlp_parse_grant_revoke(parser *p, const token *first, bool grant);
sql_stmt *sqlp_parse_recover(parser *p, const token *first);
sql_stmt *sqlp_parse_compact(parser *p, const token *first);

#endif
