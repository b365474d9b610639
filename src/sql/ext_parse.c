/* The grammar of external tables and COPY, as DataFusion 27's parser and CnosDB's take them:
 *
 *   CREATE [UNBOUNDED] EXTERNAL TABLE [IF NOT EXISTS] name [(col TYPE [NOT NULL|NULL], ...)]
 *       { STORED AS fmt | WITH HEADER ROW | DELIMITER 'c' | COMPRESSION TYPE t
 *       | PARTITIONED BY (c, ...) | OPTIONS ('k' 'v', ...) | LOCATION 'path' } ...
 *   COPY INTO [db.]t [(cols)] FROM 'path' [CONNECTION = (...)] [FILE_FORMAT = (...)]
 *       [COPY_OPTIONS = (...)]
 *   COPY INTO 'path' FROM { [db.]t | (query) } [CONNECTION = (...)] [FILE_FORMAT = (...)]
 *
 * The clauses of CREATE EXTERNAL TABLE come in any order, each at most once (DataFusion's
 * rule); STORED AS and LOCATION are required. A trailing comma in the column list is taken, as
 * DataFusion takes it. `COPY INTO 'path' FROM t` becomes the query `SELECT * FROM t`, so the
 * executor sees one form. Meaning (formats, paths, options) is checked by the executor
 * (sql/copy.c), not here. See parse_internal.h for the conventions. */
#include <string.h>
#include <strings.h>

#include "sql/parse_internal.h"

static bool word(const token *t, const char *name) {
    return t->kind == TOK_WORD && !t->quote && strcasecmp(t->text, name) == 0;
}

static const char *upper_text(parser *p, const char *s, uint32_t len) {
    char *u = arena_alloc(p->a, len + 1);
    for (uint32_t i = 0; i < len; i++)
        u[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    u[len] = 0;
    return u;
}

static bool is_string(const token *t) {
    return t->kind == TOK_STRING || t->kind == TOK_NSTRING || t->kind == TOK_ESTRING;
}

/* A 'string' (copied to the arena, NUL-terminated). */
static int parse_string(parser *p, const char *what, const char **out, srcpos *pos) {
    const token *t = pk(p);
    if (!is_string(t)) return sqlp_p_expected(p, what, t);
    nx(p);
    *out = arena_strndup(p->a, t->text, t->len);
    if (pos) *pos = t->pos;
    return 0;
}

/* A word or a string, upper-cased: a format or compression name. */
static int parse_name_upper(parser *p, const char *what, const char **out) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD && !is_string(t)) return sqlp_p_expected(p, what, t);
    nx(p);
    *out = upper_text(p, t->text, t->len);
    return 0;
}

static int duplicate(parser *p, const token *at, const char *clause) {
    return sqlp_p_error(p, at, "%s specified more than once", clause);
}

/* ( k v, ... ) or ( k = v, ... ): keys upper-cased unless quoted; commas optional. */
static int parse_kv_list(parser *p, sql_option **out, uint32_t *n) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
    avec v = {0};
    while (!sqlp_acc(p, TOK_RPAREN)) {
        const token *k = pk(p);
        if (k->kind != TOK_WORD && !is_string(k)) return sqlp_p_expected(p, "an option name", k);
        nx(p);
        sql_option *o = AV_PUSH(p, &v, sql_option);
        memset(o, 0, sizeof *o);
        o->name = upper_text(p, k->text, k->len);
        o->pos = k->pos;
        /* DataFusion's keys may be dotted: format.has_header */
        while (pk(p)->kind == TOK_PERIOD && pk_n(p, 1)->kind == TOK_WORD) {
            nx(p);
            const token *w = nx(p);
            o->name = arena_printf(p->a, "%s.%s", o->name, upper_text(p, w->text, w->len));
        }
        sqlp_acc(p, TOK_EQ);
        if (sqlp_parse_opt_value(p, o) < 0) return -1;
        if (pk(p)->kind != TOK_RPAREN && pk(p)->kind != TOK_EOF) sqlp_acc(p, TOK_COMMA);
        if (pk(p)->kind == TOK_EOF) return sqlp_exp_tok(p, TOK_RPAREN);
    }
    *out = v.p;
    *n = v.n;
    return 0;
}

/* (col TYPE [NOT NULL | NULL], ...[,]), at the `(` */
int sqlp_parse_column_defs(parser *p, sql_stmt *s) {
    nx(p); /* ( */
    avec cols = {0};
    while (!sqlp_acc(p, TOK_RPAREN)) {
        sql_column_def c = {.pos = pk(p)->pos};
        if (sqlp_parse_ident(p, &c.name, NULL, NULL) < 0) return -1;
        if (pk(p)->kind != TOK_WORD) return sqlp_p_expected(p, "a data type name", pk(p));
        if (sqlp_parse_type(p, &c.type) < 0) return -1;
        if (sqlp_acc_kws(p, KW_NOT, KW_NULL))
            c.not_null = true;
        else
            sqlp_acc_kw(p, KW_NULL);
        *AV_PUSH(p, &cols, sql_column_def) = c;
        if (sqlp_acc(p, TOK_COMMA)) continue;
        if (sqlp_acc(p, TOK_RPAREN)) break;
        return sqlp_p_expected(p, "',' or ')' after column definition", pk(p));
    }
    s->cols = cols.p;
    s->ncols = cols.n;
    return 0;
}

sql_stmt *sqlp_parse_create_external(parser *p, const token *first) {
    if (word(pk(p), "UNBOUNDED")) nx(p);
    if (sqlp_exp_kw(p, KW_EXTERNAL) < 0 || sqlp_exp_kw(p, KW_TABLE) < 0) return NULL;
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_EXTERNAL_TABLE, first);
    sql_ext *x = arena_calloc(p->a, sizeof *x);
    x->header = -1;
    s->ext = x;
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (sqlp_parse_table_name(p, &s->table, true) < 0) return NULL;
    if (pk(p)->kind == TOK_LPAREN && sqlp_parse_column_defs(p, s) < 0) return NULL;
    bool have_opts = false;
    for (;;) {
        const token *t = pk(p);
        if (word(t, "STORED")) {
            if (x->format) return duplicate(p, t, "STORED AS"), NULL;
            nx(p);
            if (sqlp_exp_kw(p, KW_AS) < 0) return NULL;
            if (parse_name_upper(p, "a file type", &x->format) < 0) return NULL;
        } else if (is_kw(t, KW_WITH) && word(pk_n(p, 1), "HEADER")) {
            if (x->header >= 0) return duplicate(p, t, "WITH HEADER ROW"), NULL;
            nx(p), nx(p);
            if (!word(pk(p), "ROW")) return sqlp_p_expected(p, "ROW", pk(p)), NULL;
            nx(p);
            x->header = 1;
        } else if (word(t, "DELIMITER")) {
            if (x->delimiter) return duplicate(p, t, "DELIMITER"), NULL;
            nx(p);
            if (parse_string(p, "a delimiter string", &x->delimiter, NULL) < 0) return NULL;
        } else if (word(t, "COMPRESSION")) {
            if (x->compression) return duplicate(p, t, "COMPRESSION TYPE"), NULL;
            nx(p);
            if (!word(pk(p), "TYPE")) return sqlp_p_expected(p, "TYPE", pk(p)), NULL;
            nx(p);
            if (parse_name_upper(p, "a compression type", &x->compression) < 0) return NULL;
        } else if (word(t, "PARTITIONED")) {
            if (x->partition_cols) return duplicate(p, t, "PARTITIONED BY"), NULL;
            nx(p);
            if (sqlp_exp_kw(p, KW_BY) < 0) return NULL;
            if (sqlp_parse_ident_list(p, &x->partition_cols, &x->npartition) < 0) return NULL;
        } else if (word(t, "OPTIONS")) {
            if (have_opts) return duplicate(p, t, "OPTIONS"), NULL;
            nx(p);
            have_opts = true;
            if (parse_kv_list(p, &x->opts, &x->nopts) < 0) return NULL;
        } else if (word(t, "LOCATION")) {
            if (x->location) return duplicate(p, t, "LOCATION"), NULL;
            nx(p);
            if (parse_string(p, "a location string", &x->location, &x->location_pos) < 0)
                return NULL;
        } else if (t->kind == TOK_EOF || t->kind == TOK_SEMI) {
            break;
        } else {
            sqlp_p_expected(p, "end of statement", t);
            return NULL;
        }
    }
    if (!x->format) {
        sqlp_p_error(p, pk(p), "Missing STORED AS clause in CREATE EXTERNAL TABLE statement");
        return NULL;
    }
    if (!x->location) {
        sqlp_p_error(p, pk(p), "Missing LOCATION clause in CREATE EXTERNAL TABLE statement");
        return NULL;
    }
    return s;
}

/* FILE_FORMAT = (TYPE = 'csv', DELIMITER = ',', WITH_HEADER = true, ...) into x. */
static int file_format(parser *p, sql_ext *x) {
    sql_option *o;
    uint32_t n;
    if (parse_kv_list(p, &o, &n) < 0) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const sql_option *k = &o[i];
        bool str = k->v.type == VT_STR && !k->v.null;
        if (!strcmp(k->name, "TYPE") && str) {
            x->format = upper_text(p, k->v.v.s.p, k->v.v.s.len);
        } else if ((!strcmp(k->name, "DELIMITER") || !strcmp(k->name, "FIELD_DELIMITER")) && str) {
            x->delimiter = arena_strndup(p->a, k->v.v.s.p, k->v.v.s.len);
        } else if (!strcmp(k->name, "WITH_HEADER") && k->v.type == VT_BOOL) {
            x->header = k->v.v.b;
        } else if ((!strcmp(k->name, "COMPRESSION") || !strcmp(k->name, "FILE_COMPRESSION_TYPE")) &&
                   str) {
            x->compression = upper_text(p, k->v.v.s.p, k->v.v.s.len);
        } else {
            return err_set_at(p->e, 422, EC_NOT_IMPL, k->pos.line, k->pos.col,
                              "This feature is not implemented: FILE_FORMAT option %s", k->name);
        }
    }
    return 0;
}

/* A SELECT * FROM t query for `COPY INTO 'path' FROM t`. */
static sql_query *select_star(parser *p, const sql_table_name *tn) {
    sql_query *q = arena_calloc(p->a, sizeof *q);
    q->pos = tn->pos;
    q->body = arena_calloc(p->a, sizeof *q->body);
    sql_select *sel = arena_calloc(p->a, sizeof *sel);
    q->body->select = sel;
    sel->items = arena_calloc(p->a, sizeof *sel->items);
    sel->nitems = 1;
    expr *star = sqlp_new_expr(p, EX_STAR, tn->pos);
    if (!(sel->items[0].e = sqlp_expr_fin(p, star))) return NULL;
    sel->items[0].pos = tn->pos;
    sql_table_ref *tr = arena_calloc(p->a, sizeof *tr);
    tr->kind = TR_TABLE;
    tr->pos = tn->pos;
    tr->db = tn->db;
    tr->name = tn->name;
    tr->tenant = tn->tenant;
    sel->from = tr;
    return q;
}

sql_stmt *sqlp_parse_copy(parser *p, const token *first) {
    if (sqlp_exp_kw(p, KW_INTO) < 0) return NULL;
    sql_ext *x = arena_calloc(p->a, sizeof *x);
    x->header = -1;
    sql_stmt *s;
    if (is_string(pk(p))) {
        s = sqlp_new_stmt(p, ST_COPY_INTO_LOCATION, first);
        if (parse_string(p, "a location", &x->location, &x->location_pos) < 0) return NULL;
        if (sqlp_exp_kw(p, KW_FROM) < 0) return NULL;
        if (sqlp_acc(p, TOK_LPAREN)) {
            if (!(s->q = sqlp_parse_query(p))) return NULL;
            if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
        } else {
            if (sqlp_parse_table_name(p, &s->table, false) < 0) return NULL;
            if (!(s->q = select_star(p, &s->table))) return NULL;
        }
    } else {
        s = sqlp_new_stmt(p, ST_COPY_INTO_TABLE, first);
        if (sqlp_parse_table_name(p, &s->table, false) < 0) return NULL;
        if (pk(p)->kind == TOK_LPAREN &&
            sqlp_parse_ident_list(p, &s->insert_cols, &s->ninsert_cols) < 0)
            return NULL;
        if (sqlp_exp_kw(p, KW_FROM) < 0) return NULL;
        if (parse_string(p, "a location string", &x->location, &x->location_pos) < 0) return NULL;
    }
    s->ext = x;
    bool have_conn = false, have_fmt = false, have_opts = false;
    for (;;) {
        const token *t = pk(p);
        bool *seen = is_kw(t, KW_CONNECTION)   ? &have_conn
                     : word(t, "FILE_FORMAT")  ? &have_fmt
                     : word(t, "COPY_OPTIONS") ? &have_opts
                                               : NULL;
        if (!seen) break;
        if (*seen) return duplicate(p, t, upper_text(p, t->text, t->len)), NULL;
        *seen = true;
        nx(p);
        if (sqlp_exp_tok(p, TOK_EQ) < 0) return NULL;
        int rc = seen == &have_conn  ? parse_kv_list(p, &x->conn, &x->nconn)
                 : seen == &have_fmt ? file_format(p, x)
                                     : parse_kv_list(p, &x->opts, &x->nopts);
        if (rc < 0) return NULL;
    }
    return s;
}
