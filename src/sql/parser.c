/* SQL parser entry points, shared helpers and the statement dispatcher (see parser.h and
 * parse_internal.h). DML statements live here; queries in parse_query.c, expressions in
 * parse_expr.c, DDL/DCL/SHOW in parse_ddl.c. */
#include "sql/parser.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/parse_internal.h"

/* ---------------------------------------------------------------------------------------------
 * helpers */

void *sqlp_av_push(parser *p, avec *v, size_t elsz) {
    if (v->n == v->cap) {
        uint32_t ncap = v->cap ? v->cap * 2 : 4;
        v->p = arena_realloc(p->a, v->p, (size_t)v->cap * elsz, (size_t)ncap * elsz);
        v->cap = ncap;
    }
    void *slot = (char *)v->p + (size_t)v->n++ * elsz;
    memset(slot, 0, elsz);
    return slot;
}

void sqlp_pl_push(parser *p, plist *l, void *x) {
    if (!l->p) {
        l->p = l->inl;
        l->cap = sizeof l->inl / sizeof l->inl[0];
    }
    if (l->n == l->cap) {
        void **np = arena_alloc(p->a, (size_t)l->cap * 2 * sizeof(void *));
        memcpy(np, l->p, (size_t)l->n * sizeof(void *));
        l->p = np;
        l->cap *= 2;
    }
    l->p[l->n++] = x;
}

void **sqlp_pl_done(parser *p, plist *l) {
    if (!l->n) return NULL;
    if (l->p != l->inl) return l->p;
    void **out = arena_alloc(p->a, (size_t)l->n * sizeof(void *));
    memcpy(out, l->inl, (size_t)l->n * sizeof(void *));
    return out;
}

bool sqlp_acc(parser *p, int kind) {
    if (pk(p)->kind != kind || kind == TOK_EOF) return false;
    nx(p);
    return true;
}

bool sqlp_acc_kw(parser *p, int kw) {
    if (!is_kw(pk(p), kw)) return false;
    nx(p);
    return true;
}

bool sqlp_acc_kws(parser *p, int k1, int k2) {
    if (!is_kw(pk(p), k1) || !is_kw(pk_n(p, 1), k2)) return false;
    nx(p);
    nx(p);
    return true;
}

bool sqlp_acc_kws3(parser *p, int k1, int k2, int k3) {
    if (!is_kw(pk(p), k1) || !is_kw(pk_n(p, 1), k2) || !is_kw(pk_n(p, 2), k3)) return false;
    nx(p);
    nx(p);
    nx(p);
    return true;
}

int sqlp_exp_tok(parser *p, int kind) {
    if (pk(p)->kind == kind) {
        nx(p);
        return 0;
    }
    token want = {.kind = (uint8_t)kind};
    char w[16];
    sql_tok_display(&want, w, sizeof w);
    return sqlp_p_expected(p, w, pk(p));
}

int sqlp_exp_kw(parser *p, int kw) {
    if (sqlp_acc_kw(p, kw)) return 0;
    return sqlp_p_expected(p, sql_kw_name(kw), pk(p));
}

int sqlp_p_expected(parser *p, const char *what, const token *found) {
    char d[256];
    sql_tok_display(found, d, sizeof d);
    return err_set_at(p->e, 422, EC_SQL_PARSE, found->pos.line, found->pos.col,
                      "sql parser error: Expected %s, found: %s", what, d);
}

int sqlp_p_error(parser *p, const token *at, const char *fmt, ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set_at(p->e, 422, EC_SQL_PARSE, at->pos.line, at->pos.col, "sql parser error: %s",
                      msg);
}

int sqlp_p_error_code(parser *p, const token *at, const char *code, const char *fmt, ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set_at(p->e, 422, code, at->pos.line, at->pos.col, "%s", msg);
}

int sqlp_p_enter(parser *p) {
    if (++p->depth > SQL_MAX_DEPTH) return sqlp_p_error(p, pk(p), "recursion limit exceeded");
    return 0;
}

const char *sqlp_ident_text(parser *p, const token *t) {
    if (t->kind != TOK_WORD || t->quote) return t->text;
    bool upper = false;
    for (uint32_t i = 0; i < t->len; i++)
        if (t->text[i] >= 'A' && t->text[i] <= 'Z') upper = true;
    if (!upper) return t->text;
    char *s = arena_strndup(p->a, t->text, t->len);
    for (uint32_t i = 0; i < t->len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
    return s;
}

int sqlp_parse_ident(parser *p, const char **out, bool *quoted, srcpos *pos) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD && t->kind != TOK_STRING) return sqlp_p_expected(p, "identifier", t);
    nx(p);
    *out = sqlp_ident_text(p, t);
    if (quoted) *quoted = t->kind == TOK_STRING || t->quote;
    if (pos) *pos = t->pos;
    return 0;
}

int sqlp_parse_object_name(parser *p, const char ***parts, uint32_t *nparts, srcpos *pos) {
    avec v = {0};
    if (pos) *pos = pk(p)->pos;
    do {
        const char **slot = AV_PUSH(p, &v, const char *);
        if (sqlp_parse_ident(p, slot, NULL, NULL) < 0) return -1;
    } while (sqlp_acc(p, TOK_PERIOD));
    *parts = v.p;
    *nparts = v.n;
    return 0;
}

int sqlp_parse_ident_list(parser *p, const char ***out, uint32_t *n) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
    avec v = {0};
    do {
        const char **slot = AV_PUSH(p, &v, const char *);
        if (sqlp_parse_ident(p, slot, NULL, NULL) < 0) return -1;
    } while (sqlp_acc(p, TOK_COMMA));
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
    *out = v.p;
    *n = v.n;
    return 0;
}

sql_stmt *sqlp_new_stmt(parser *p, int kind, const token *first) {
    sql_stmt *s = arena_calloc(p->a, sizeof *s);
    s->kind = (uint8_t)kind;
    s->pos = first->pos;
    return s;
}

/* [tenant.][db.]name into a table name; `at` is the first token, for the error position. */
static int table_name_from(parser *p, const token *at, const char **parts, uint32_t n, srcpos pos,
                           sql_table_name *tn) {
    if (n > 3) {
        return sqlp_p_error(p, at, "Unsupported compound identifier: %s.%s.%s.%s%s", parts[0],
                            parts[1], parts[2], parts[3], n > 4 ? "..." : "");
    }
    tn->name = parts[n - 1];
    tn->db = n >= 2 ? parts[n - 2] : NULL;
    tn->tenant = n == 3 ? parts[0] : NULL;
    tn->pos = pos;
    return 0;
}

static int parse_table_name(parser *p, sql_table_name *tn) {
    const token *at = pk(p);
    const char **parts;
    uint32_t n;
    srcpos pos;
    if (sqlp_parse_object_name(p, &parts, &n, &pos) < 0) return -1;
    return table_name_from(p, at, parts, n, pos, tn);
}

/* ---------------------------------------------------------------------------------------------
 * DML */

static sql_stmt *parse_insert(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_INSERT, first);
    if (is_kw(pk(p), KW_OVERWRITE)) {
        sqlp_p_error_code(p, pk(p), EC_NOT_IMPL,
                          "This feature is not implemented: INSERT OVERWRITE");
        return NULL;
    }
    sqlp_acc_kw(p, KW_INTO);
    sqlp_acc_kw(p, KW_TABLE);
    if (parse_table_name(p, &s->table) < 0) return NULL;
    /* `INSERT INTO t (SELECT ...)` is a query, not a column list. */
    if (pk(p)->kind == TOK_LPAREN && !is_kw(pk_n(p, 1), KW_SELECT) && !is_kw(pk_n(p, 1), KW_WITH) &&
        !is_kw(pk_n(p, 1), KW_VALUES) && pk_n(p, 1)->kind != TOK_LPAREN) {
        if (sqlp_parse_ident_list(p, &s->insert_cols, &s->ninsert_cols) < 0) return NULL;
    }
    s->q = sqlp_parse_query(p);
    return s->q ? s : NULL;
}

static sql_stmt *parse_delete(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_DELETE, first);
    if (sqlp_exp_kw(p, KW_FROM) < 0) return NULL;
    if (parse_table_name(p, &s->table) < 0) return NULL;
    if (sqlp_parse_optional_alias(p, true, &s->table_alias) < 0) return NULL;
    if (sqlp_acc_kw(p, KW_WHERE) && !(s->where = sqlp_parse_expr(p))) return NULL;
    return s;
}

static sql_stmt *parse_update(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_UPDATE, first);
    if (parse_table_name(p, &s->table) < 0) return NULL;
    if (sqlp_parse_optional_alias(p, true, &s->table_alias) < 0) return NULL;
    if (sqlp_exp_kw(p, KW_SET) < 0) return NULL;
    avec v = {0};
    do {
        const token *at = pk(p);
        const char **parts;
        uint32_t n;
        srcpos pos;
        if (sqlp_parse_object_name(p, &parts, &n, &pos) < 0) return NULL;
        if (sqlp_exp_tok(p, TOK_EQ) < 0) return NULL;
        expr *e = sqlp_parse_expr(p);
        if (!e) return NULL;
        sql_assign *as = AV_PUSH(p, &v, sql_assign);
        as->col = parts[n - 1];
        as->e = e;
        as->pos = at->pos;
    } while (sqlp_acc(p, TOK_COMMA));
    s->assigns = v.p;
    s->nassigns = v.n;
    if (is_kw(pk(p), KW_FROM)) {
        sqlp_p_error_code(p, pk(p), EC_NOT_IMPL,
                          "This feature is not implemented: UPDATE ... FROM");
        return NULL;
    }
    if (sqlp_acc_kw(p, KW_WHERE) && !(s->where = sqlp_parse_expr(p))) return NULL;
    return s;
}

static sql_stmt *parse_explain(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_EXPLAIN, first);
    s->analyze = sqlp_acc_kw(p, KW_ANALYZE);
    s->verbose = sqlp_acc_kw(p, KW_VERBOSE);
    if (sqlp_acc_kw(p, KW_FORMAT)) {
        const token *f = pk(p);
        if (f->kind != TOK_WORD) {
            sqlp_p_expected(p, "an explain format", f);
            return NULL;
        }
        nx(p);
        s->explain_format = f->text;
    }
    if (is_kw(pk(p), KW_EXPLAIN)) {
        sqlp_p_error(p, pk(p), "EXPLAIN can only appear once");
        return NULL;
    }
    s->inner = sqlp_parse_statement(p);
    return s->inner ? s : NULL;
}

static sql_stmt *parse_kill(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_KILL_QUERY, first);
    if (!sqlp_acc_kw(p, KW_QUERY) && !sqlp_acc_kw(p, KW_CONNECTION)) sqlp_acc_kw(p, KW_MUTATION);
    const token *t = pk(p);
    bool ok = t->kind == TOK_NUMBER;
    for (uint32_t i = 0; ok && i < t->len; i++) ok = t->text[i] >= '0' && t->text[i] <= '9';
    if (!ok) {
        sqlp_p_expected(p, "literal int", t);
        return NULL;
    }
    errno = 0;
    unsigned long long v = strtoull(t->text, NULL, 10);
    if (errno) {
        sqlp_p_error(p, t, "Could not parse '%s' as u64: number too large to fit in target type",
                     t->text);
        return NULL;
    }
    nx(p);
    s->query_id = v;
    return s;
}

static sql_stmt *parse_set(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_SET, first);
    if (!sqlp_acc_kw(p, KW_SESSION)) sqlp_acc_kw(p, KW_LOCAL);
    const token *nt = pk(p);
    if (sqlp_acc_kws(p, KW_TIME, KW_ZONE)) {
        s->name = "timezone";
    } else {
        const char **parts;
        uint32_t n;
        if (sqlp_parse_object_name(p, &parts, &n, NULL) < 0) return NULL;
        char *name = (char *)parts[0];
        for (uint32_t i = 1; i < n; i++) name = arena_printf(p->a, "%s.%s", name, parts[i]);
        s->name = name;
    }
    bool tz = strcmp(s->name, "timezone") == 0 && nt->kind == TOK_WORD && nt->kw == KW_TIME;
    if (!sqlp_acc(p, TOK_EQ) && !sqlp_acc_kw(p, KW_TO) && !tz) {
        sqlp_p_expected(p, "equals sign or TO", pk(p));
        return NULL;
    }
    avec v = {0};
    do {
        const token *vt = pk(p);
        expr *e = sqlp_parse_expr(p);
        if (!e) return NULL;
        *AV_PUSH(p, &v, expr *) = e;
        if (v.n == 1 && (e->kind == EX_LITERAL || (e->kind == EX_COLUMN && e->nparts <= 1))) {
            sql_option *o = arena_calloc(p->a, sizeof *o);
            char *up = arena_strdup(p->a, s->name);
            for (char *c = up; *c; c++)
                if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
            o->name = up;
            o->pos = nt->pos;
            if (e->kind == EX_LITERAL) {
                o->v = e->lit;
            } else {
                o->ident = true;
                o->v.type = VT_STR;
                o->v.v.s.p = vt->text;
                o->v.v.s.len = vt->len;
            }
            s->opts = o;
            s->nopts = 1;
        }
    } while (sqlp_acc(p, TOK_COMMA));
    s->set_values = v.p;
    s->nset_values = v.n;
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * statements */

static sql_stmt *not_implemented(parser *p, const token *t) {
    char d[128];
    sql_tok_display(t, d, sizeof d);
    for (char *c = d; *c; c++)
        if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
    sqlp_p_error_code(p, t, EC_NOT_IMPL, "This feature is not implemented: %s statement", d);
    return NULL;
}

static sql_stmt *statement_body(parser *p) {
    const token *t = pk(p);
    if (t->kind == TOK_LPAREN) {
        sql_stmt *s = sqlp_new_stmt(p, ST_QUERY, t);
        s->q = sqlp_parse_query(p);
        return s->q ? s : NULL;
    }
    if (t->kind != TOK_WORD) {
        sqlp_p_expected(p, "an SQL statement", t);
        return NULL;
    }
    switch (t->kw) {
    case KW_SELECT:
    case KW_WITH:
    case KW_VALUES: {
        sql_stmt *s = sqlp_new_stmt(p, ST_QUERY, t);
        s->q = sqlp_parse_query(p);
        return s->q ? s : NULL;
    }
    case KW_INSERT:
        nx(p);
        return parse_insert(p, t);
    case KW_DELETE:
        nx(p);
        return parse_delete(p, t);
    case KW_UPDATE:
        nx(p);
        return parse_update(p, t);
    case KW_EXPLAIN:
        nx(p);
        return parse_explain(p, t);
    case KW_CREATE:
        nx(p);
        return sqlp_parse_create(p, t);
    case KW_ALTER:
        nx(p);
        return sqlp_parse_alter(p, t);
    case KW_DROP:
        nx(p);
        return sqlp_parse_drop(p, t);
    case KW_SHOW:
        nx(p);
        return sqlp_parse_show(p, t);
    case KW_DESCRIBE:
    case KW_DESC:
        nx(p);
        return sqlp_parse_describe(p, t);
    case KW_GRANT:
        nx(p);
        return sqlp_parse_grant_revoke(p, t, true);
    case KW_REVOKE:
        nx(p);
        return sqlp_parse_grant_revoke(p, t, false);
    case KW_KILL:
        nx(p);
        return parse_kill(p, t);
    case KW_SET:
        nx(p);
        return parse_set(p, t);
    case KW_RECOVER:
        nx(p);
        return sqlp_parse_recover(p, t);
    case KW_COMPACT:
        nx(p);
        return sqlp_parse_compact(p, t);
    case KW_COPY:
        if (is_kw(pk_n(p, 1), KW_INTO)) return nx(p), sqlp_parse_copy(p, t);
        return not_implemented(p, t);
    /* Statements sqlparser-rs or CnosDB know and Strata does not carry out. */
    case KW_TRUNCATE:
    case KW_ANALYZE:
    case KW_MSCK:
    case KW_CACHE:
    case KW_UNCACHE:
    case KW_START:
    case KW_BEGIN:
    case KW_COMMIT:
    case KW_ROLLBACK:
    case KW_SAVEPOINT:
    case KW_ASSERT:
    case KW_DEALLOCATE:
    case KW_EXECUTE:
    case KW_PREPARE:
    case KW_MERGE:
    case KW_DECLARE:
    case KW_FETCH:
    case KW_CLOSE:
    case KW_DISCARD:
    case KW_USE:
    case KW_MOVE:
    case KW_CHECKSUM:
    case KW_REPLICA:
        return not_implemented(p, t);
    default:
        sqlp_p_expected(p, "an SQL statement", t);
        return NULL;
    }
}

sql_stmt *sqlp_parse_statement(parser *p) {
    if (sqlp_p_enter(p) < 0) return NULL;
    sql_stmt *s = statement_body(p);
    sqlp_p_leave(p);
    return s;
}

/* Statements are parsed one after another from one token stream, as sqlparser-rs does: after
 * a statement only `;` or the end may follow ("Expected end of statement, found: x"), and runs
 * of `;` are skipped. The token array lives in its own arena, dropped before returning. */
int sql_parse(arena *a, const char *sql, size_t len, sql_stmt ***stmts, size_t *nstmts, err *e) {
    *stmts = NULL;
    *nstmts = 0;
    if (len > UINT32_MAX / 2)
        return err_set(e, 413, EC_SQL_PARSE, "sql parser error: statement text too long");
    arena *ta = arena_new(0);
    parser P = {.a = a, .e = e};
    int rc = -1;
    token *toks;
    if (sql_lex(a, ta, sql, len, &toks, &P.n, e) < 0) goto out;
    P.t = toks;
    avec v = {0};
    bool expecting_delim = false;
    for (;;) {
        while (sqlp_acc(&P, TOK_SEMI)) expecting_delim = false;
        if (pk(&P)->kind == TOK_EOF) break;
        if (expecting_delim) {
            sqlp_p_expected(&P, "end of statement", pk(&P));
            goto out;
        }
        sql_stmt *s = sqlp_parse_statement(&P);
        if (!s) goto out;
        *AV_PUSH(&P, &v, sql_stmt *) = s;
        expecting_delim = true;
    }
    *stmts = v.p;
    *nstmts = v.n;
    rc = 0;
out:
    arena_free(ta);
    return rc;
}

int sql_parse_expr(arena *a, const char *sql, size_t len, expr **out, err *e) {
    *out = NULL;
    if (len > UINT32_MAX / 2)
        return err_set(e, 413, EC_SQL_PARSE, "sql parser error: expression text too long");
    arena *ta = arena_new(0);
    parser P = {.a = a, .e = e};
    int rc = -1;
    token *toks;
    if (sql_lex(a, ta, sql, len, &toks, &P.n, e) < 0) goto done;
    P.t = toks;
    expr *x = sqlp_parse_expr(&P);
    if (!x) goto done;
    if (pk(&P)->kind != TOK_EOF) {
        sqlp_p_expected(&P, "end of expression", pk(&P));
        goto done;
    }
    *out = x;
    rc = 0;
done:
    arena_free(ta);
    return rc;
}
