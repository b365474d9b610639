/* CnosDB's own statements: databases, tables, tenants, users, roles, privileges, SHOW, DESCRIBE,
 * RECOVER, COMPACT. Grammar and messages follow CnosDB's parser (query_server/query/src/sql/
 * parser.rs), which sits in front of sqlparser-rs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/parse_internal.h"

static char *upper(parser *p, const char *s) {
    char *u = arena_strdup(p->a, s);
    for (char *c = u; *c; c++)
        if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
    return u;
}

/* An unquoted word equal to name whatever its case (CnosDB compares its own keywords so). */
static bool word_is(const token *t, const char *name) {
    return t->kind == TOK_WORD && !t->quote && strcasecmp(t->text, name) == 0;
}

/* Names of new objects: CnosDB refuses `/` and blank names in its parser. */
static int check_name(parser *p, const token *at, const char *name) {
    if (strchr(name, '/'))
        return sqlp_p_error(p, at, "not supported keyword contains '/': %s", name);
    for (const char *c = name; *c; c++)
        if (*c != ' ') return 0;
    return sqlp_p_error(p, at, "Name cannot be empty or contain only spaces");
}

static int parse_new_name(parser *p, const char **name) {
    const token *at = pk(p);
    if (sqlp_parse_ident(p, name, NULL, NULL) < 0) return -1;
    return check_name(p, at, *name);
}

/* An option value: 'string', number, -number, TRUE/FALSE/NULL, or a bare word (ident). */
static int parse_opt_value(parser *p, sql_option *o) {
    const token *t = pk(p);
    switch (t->kind) {
    case TOK_STRING:
    case TOK_NSTRING:
    case TOK_ESTRING:
        o->v.type = VT_STR;
        o->v.v.s.p = t->text;
        o->v.v.s.len = t->len;
        break;
    case TOK_NUMBER:
        sqlp_number_value(t->text, &o->v);
        break;
    case TOK_MINUS:
        if (pk_n(p, 1)->kind != TOK_NUMBER) return sqlp_p_expected(p, "a value", t);
        nx(p);
        sqlp_number_value(arena_printf(p->a, "-%s", pk(p)->text), &o->v);
        break;
    case TOK_WORD:
        if (is_kw(t, KW_TRUE) || is_kw(t, KW_FALSE)) {
            o->v.type = VT_BOOL;
            o->v.v.b = is_kw(t, KW_TRUE);
        } else if (is_kw(t, KW_NULL)) {
            o->v.type = VT_NULL;
            o->v.null = true;
        } else {
            o->ident = true;
            o->v.type = VT_STR;
            o->v.v.s.p = t->text;
            o->v.v.s.len = t->len;
        }
        break;
    default:
        return sqlp_p_expected(p, "a value", t);
    }
    nx(p);
    return 0;
}

static bool is_value_token(const token *t) {
    return t->kind == TOK_STRING || t->kind == TOK_NSTRING || t->kind == TOK_ESTRING ||
           t->kind == TOK_NUMBER || t->kind == TOK_MINUS || t->kind == TOK_WORD;
}

static sql_option *push_opt(parser *p, avec *v, const char *name, const token *at) {
    sql_option *o = AV_PUSH(p, v, sql_option);
    o->name = name;
    o->pos = at->pos;
    return o;
}

/* name [=] value */
static int parse_named_opt(parser *p, avec *v, const char *group) {
    const token *at = pk(p);
    const char *name;
    if (sqlp_parse_ident(p, &name, NULL, NULL) < 0) return -1;
    sqlp_acc(p, TOK_EQ);
    sql_option o = {.name = at->quote ? name : upper(p, name), .pos = at->pos, .group = group};
    if (parse_opt_value(p, &o) < 0) return -1;
    *AV_PUSH(p, v, sql_option) = o;
    return 0;
}

/* Comma-separated `name [=] value`. With groups (tenant limits) an option name followed by
 * further pairs, `object_config max_databases = 3 max_users_number = 2`, is a group. */
static int parse_opt_list(parser *p, avec *v, bool groups) {
    do {
        const token *t = pk(p), *n1 = pk_n(p, 1), *n2 = pk_n(p, 2);
        bool group = groups && t->kind == TOK_WORD && n1->kind == TOK_WORD && !is_kw(n1, KW_TRUE) &&
                     !is_kw(n1, KW_FALSE) && !is_kw(n1, KW_NULL) &&
                     (n2->kind == TOK_EQ || (is_value_token(n2) && n2->kind != TOK_WORD));
        if (!group) {
            if (parse_named_opt(p, v, NULL) < 0) return -1;
            continue;
        }
        nx(p);
        const char *gname = t->quote ? t->text : upper(p, t->text);
        do {
            if (parse_named_opt(p, v, gname) < 0) return -1;
        } while (pk(p)->kind == TOK_WORD &&
                 (pk_n(p, 1)->kind == TOK_EQ ||
                  (is_value_token(pk_n(p, 1)) && pk_n(p, 1)->kind != TOK_WORD)));
    } while (sqlp_acc(p, TOK_COMMA));
    return 0;
}

static void set_opts(sql_stmt *s, avec *v) {
    s->opts = v->p;
    s->nopts = v->n;
}

/* ---------------------------------------------------------------------------------------------
 * databases */

enum { DBO_STR, DBO_NUM };
static const struct {
    const char *name;
    uint8_t kind;
    bool alterable;
} db_opts[] = {
    {"TTL", DBO_STR, true},
    {"SHARD", DBO_NUM, true},
    {"VNODE_DURATION", DBO_STR, true},
    {"REPLICA", DBO_NUM, true},
    {"PRECISION", DBO_STR, false},
    {"MAX_MEMCACHE_SIZE", DBO_STR, false},
    {"MEMCACHE_PARTITIONS", DBO_NUM, false},
    {"WAL_MAX_FILE_SIZE", DBO_STR, false},
    {"WAL_SYNC", DBO_STR, false},
    {"STRICT_WRITE", DBO_STR, false},
    {"MAX_CACHE_READERS", DBO_NUM, false},
};

static int db_opt_index(const token *t) {
    for (size_t i = 0; i < sizeof db_opts / sizeof db_opts[0]; i++)
        if (word_is(t, db_opts[i].name)) return (int)i;
    return -1;
}

/* OPTION [=] value. Numeric options take an unsigned integer, as CnosDB's parser checks. */
static int parse_db_opt(parser *p, avec *v, int idx) {
    const token *at = nx(p);
    sqlp_acc(p, TOK_EQ);
    sql_option *o = push_opt(p, v, db_opts[idx].name, at);
    if (db_opts[idx].kind == DBO_NUM) {
        const token *t = pk(p);
        if (t->kind != TOK_NUMBER) return sqlp_p_expected(p, "literal number", t);
        bool digits = true;
        for (uint32_t i = 0; i < t->len; i++)
            digits = digits && t->text[i] >= '0' && t->text[i] <= '9';
        errno = 0;
        unsigned long long u = digits ? strtoull(t->text, NULL, 10) : 0;
        if (!digits || errno)
            return sqlp_p_error(p, t, "this option should be a unsigned number, but get %s",
                                t->text);
        nx(p);
        o->v.type = u > INT64_MAX ? VT_U64 : VT_I64;
        if (u > INT64_MAX)
            o->v.v.u = u;
        else
            o->v.v.i = (int64_t)u;
        return 0;
    }
    return parse_opt_value(p, o);
}

static sql_stmt *parse_create_database(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_DATABASE, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (parse_new_name(p, &s->name) < 0) return NULL;
    /* WITH is optional: CnosDB needs it, accepting the options without it is harmless. */
    sqlp_acc_kw(p, KW_WITH);
    avec v = {0};
    int idx;
    while ((idx = db_opt_index(pk(p))) >= 0)
        if (parse_db_opt(p, &v, idx) < 0) return NULL;
    set_opts(s, &v);
    return s;
}

static sql_stmt *parse_alter_database(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_ALTER_DATABASE, first);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    if (sqlp_exp_kw(p, KW_SET) < 0) return NULL;
    const token *t = pk(p);
    int idx = db_opt_index(t);
    if (idx < 0) {
        char d[128];
        sql_tok_display(t, d, sizeof d);
        sqlp_p_error(p, t, "expected database option, but found %s", d);
        return NULL;
    }
    if (!db_opts[idx].alterable) {
        sqlp_p_error(
            p, t,
            "database config is unmodifiable, only can modify database option: TTL, SHARD, "
            "VNODE_DURATION, REPLICA");
        return NULL;
    }
    avec v = {0};
    if (parse_db_opt(p, &v, idx) < 0) return NULL;
    set_opts(s, &v);
    return s;
}

/* [AFTER 'duration'] of DROP DATABASE/TENANT */
static int parse_after(parser *p, sql_stmt *s) {
    const token *at = pk(p);
    if (!sqlp_acc_kw(p, KW_AFTER)) return 0;
    avec v = {0};
    sql_option *o = push_opt(p, &v, "AFTER", at);
    if (parse_opt_value(p, o) < 0) return -1;
    set_opts(s, &v);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * tables */

static int parse_table(parser *p, sql_table_name *tn, bool new_name) {
    const token *at = pk(p);
    const char **parts;
    uint32_t n;
    if (sqlp_parse_object_name(p, &parts, &n, &tn->pos) < 0) return -1;
    if (n > 3) {
        return sqlp_p_error(p, at, "Unsupported compound identifier: %s.%s.%s.%s%s", parts[0],
                            parts[1], parts[2], parts[3], n > 4 ? "..." : "");
    }
    tn->name = parts[n - 1];
    tn->db = n >= 2 ? parts[n - 2] : NULL;
    tn->tenant = n == 3 ? parts[0] : NULL;
    if (new_name) {
        const token *last = &p->t[p->i - 1];
        return check_name(p, last, tn->name);
    }
    return 0;
}

int sqlp_parse_table_name(parser *p, sql_table_name *tn, bool new_name) {
    return parse_table(p, tn, new_name);
}

int sqlp_parse_opt_value(parser *p, sql_option *o) {
    return parse_opt_value(p, o);
}

static const char *const codecs[] = {"DEFAULT",  "NULL",    "DELTA", "DELTATS", "GORILLA",
                                     "QUANTILE", "BITPACK", "ZSTD",  "SNAPPY",  "GZIP",
                                     "BZIP",     "ZLIB",    "SDT",   "DEADBAND"};

/* CODEC(name) */
static int parse_codec(parser *p, const char **codec) {
    if (!word_is(pk(p), "CODEC")) return sqlp_p_expected(p, "CODEC or ','", pk(p));
    nx(p);
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
    if (pk(p)->kind == TOK_RPAREN)
        return sqlp_p_error(p, pk(p), "expect codec encoding type in ()");
    const token *t = nx(p);
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        if (word_is(t, codecs[i])) {
            *codec = codecs[i];
            return sqlp_exp_tok(p, TOK_RPAREN);
        }
    }
    char d[128];
    sql_tok_display(t, d, sizeof d);
    return sqlp_p_error(p, t, "%s is not valid encoding", d);
}

static int parse_column_type(parser *p, sql_type *ty) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD) {
        char d[128];
        sql_tok_display(t, d, sizeof d);
        return sqlp_p_error(p, t, "%s is not a type", d);
    }
    return sqlp_parse_type(p, ty);
}

static sql_stmt *parse_create_table(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_TABLE, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (parse_table(p, &s->table, true) < 0) return NULL;
    const token *at = pk(p);
    if (!sqlp_acc(p, TOK_LPAREN) || pk(p)->kind == TOK_RPAREN) {
        sqlp_p_error(p, at->kind == TOK_LPAREN ? pk(p) : at,
                     "Expected field columns when create table");
        return NULL;
    }
    avec fields = {0}, tags = {0};
    for (;;) {
        sql_column_def c = {.pos = pk(p)->pos};
        if (sqlp_parse_ident(p, &c.name, NULL, NULL) < 0) return NULL;
        if (parse_column_type(p, &c.type) < 0) return NULL;
        if (sqlp_acc_kws(p, KW_NOT, KW_NULL)) c.not_null = true;
        if (pk(p)->kind != TOK_COMMA && pk(p)->kind != TOK_RPAREN && parse_codec(p, &c.codec) < 0)
            return NULL;
        *AV_PUSH(p, &fields, sql_column_def) = c;
        if (sqlp_acc(p, TOK_COMMA)) {
            if (word_is(pk(p), "TAGS") && pk_n(p, 1)->kind == TOK_LPAREN) {
                nx(p), nx(p);
                while (!sqlp_acc(p, TOK_RPAREN)) {
                    sql_column_def tg = {.pos = pk(p)->pos, .is_tag = true};
                    if (sqlp_parse_ident(p, &tg.name, NULL, NULL) < 0) return NULL;
                    tg.type.vt = VT_STR;
                    tg.type.name = "STRING";
                    *AV_PUSH(p, &tags, sql_column_def) = tg;
                    bool comma = sqlp_acc(p, TOK_COMMA);
                    if (sqlp_acc(p, TOK_RPAREN)) break;
                    if (!comma) {
                        sqlp_p_error(p, pk(p), ", is expected after column");
                        return NULL;
                    }
                }
                if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
                break;
            }
            continue;
        }
        if (sqlp_acc(p, TOK_RPAREN)) break;
        sqlp_p_expected(p, "',' or ')' after column definition", pk(p));
        return NULL;
    }
    /* Column order of the table: tags first, then fields (CnosDB's all_columns). */
    s->ncols = tags.n + fields.n;
    s->cols = arena_alloc(p->a, (s->ncols ? s->ncols : 1) * sizeof(sql_column_def));
    if (tags.n) memcpy(s->cols, tags.p, tags.n * sizeof(sql_column_def));
    if (fields.n) memcpy(s->cols + tags.n, fields.p, fields.n * sizeof(sql_column_def));
    return s;
}

static sql_stmt *parse_alter_table(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_ALTER_TABLE, first);
    if (parse_table(p, &s->table, false) < 0) return NULL;
    sql_column_def *c = arena_calloc(p->a, sizeof *c);
    if (sqlp_acc_kw(p, KW_ADD)) {
        c->pos = pk_n(p, 1)->pos;
        if (word_is(pk(p), "FIELD")) {
            nx(p);
            s->alter_action = AT_ADD_FIELD;
            if (sqlp_parse_ident(p, &c->name, NULL, NULL) < 0) return NULL;
            if (parse_column_type(p, &c->type) < 0) return NULL;
            if (word_is(pk(p), "CODEC") && parse_codec(p, &c->codec) < 0) return NULL;
        } else if (word_is(pk(p), "TAG")) {
            nx(p);
            s->alter_action = AT_ADD_TAG;
            if (sqlp_parse_ident(p, &c->name, NULL, NULL) < 0) return NULL;
            c->is_tag = true;
            c->type.vt = VT_STR;
            c->type.name = "STRING";
        } else {
            sqlp_p_expected(p, "FIELD or TAG", pk(p));
            return NULL;
        }
        s->cols = c;
        s->ncols = 1;
    } else if (sqlp_acc_kw(p, KW_ALTER)) {
        s->alter_action = AT_ALTER_CODEC;
        c->pos = pk(p)->pos;
        if (sqlp_parse_ident(p, &c->name, NULL, NULL) < 0) return NULL;
        if (sqlp_exp_kw(p, KW_SET) < 0) return NULL;
        if (parse_codec(p, &c->codec) < 0) return NULL;
        s->name = c->name;
        s->cols = c;
        s->ncols = 1;
    } else if (sqlp_acc_kw(p, KW_DROP)) {
        s->alter_action = AT_DROP_COLUMN;
        if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    } else if (sqlp_acc_kw(p, KW_RENAME)) {
        s->alter_action = AT_RENAME_COLUMN;
        if (sqlp_exp_kw(p, KW_COLUMN) < 0) return NULL;
        if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
        if (sqlp_exp_kw(p, KW_TO) < 0) return NULL;
        if (sqlp_parse_ident(p, &s->name2, NULL, NULL) < 0) return NULL;
    } else {
        sqlp_p_expected(p, "ADD or ALTER or DROP or RENAME", pk(p));
        return NULL;
    }
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * tenants, users, roles */

static sql_stmt *parse_create_tenant(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_TENANT, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (parse_new_name(p, &s->name) < 0) return NULL;
    if (sqlp_acc_kw(p, KW_WITH)) {
        avec v = {0};
        if (parse_opt_list(p, &v, true) < 0) return NULL;
        set_opts(s, &v);
    }
    return s;
}

static sql_stmt *parse_create_user(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_USER, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (parse_new_name(p, &s->name) < 0) return NULL;
    if (sqlp_acc_kw(p, KW_WITH)) {
        avec v = {0};
        if (parse_opt_list(p, &v, false) < 0) return NULL;
        set_opts(s, &v);
    }
    return s;
}

static sql_stmt *parse_create_role(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_ROLE, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (parse_new_name(p, &s->name) < 0) return NULL;
    /* CnosDB ignores a malformed INHERIT target; the binder then reports the missing role. */
    if (word_is(pk(p), "INHERIT")) {
        nx(p);
        if (pk(p)->kind == TOK_WORD || pk(p)->kind == TOK_STRING)
            sqlp_parse_ident(p, &s->role, NULL, NULL);
    }
    return s;
}

static sql_stmt *parse_alter_tenant(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_ALTER_TENANT, first);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    bool add = is_kw(pk(p), KW_ADD);
    if (add || (is_kw(pk(p), KW_SET) && is_kw(pk_n(p, 1), KW_USER))) {
        /* ADD USER u AS role | SET USER u AS role */
        nx(p);
        if (sqlp_exp_kw(p, KW_USER) < 0) return NULL;
        s->alter_action = add ? TA_ADD_USER : TA_SET_USER;
        if (sqlp_parse_ident(p, &s->name2, NULL, NULL) < 0) return NULL;
        if (sqlp_exp_kw(p, KW_AS) < 0) return NULL;
        if (sqlp_parse_ident(p, &s->role, NULL, NULL) < 0) return NULL;
    } else if (word_is(pk(p), "REMOVE")) {
        nx(p);
        s->alter_action = TA_REMOVE_USER;
        if (sqlp_exp_kw(p, KW_USER) < 0) return NULL;
        if (sqlp_parse_ident(p, &s->name2, NULL, NULL) < 0) return NULL;
    } else if (sqlp_acc_kw(p, KW_SET)) {
        s->alter_action = TA_SET;
        avec v = {0};
        if (parse_opt_list(p, &v, true) < 0) return NULL;
        set_opts(s, &v);
    } else if (word_is(pk(p), "UNSET")) {
        nx(p);
        s->alter_action = TA_UNSET;
        const token *at = pk(p);
        const char *name;
        if (sqlp_parse_ident(p, &name, NULL, NULL) < 0) return NULL;
        avec v = {0};
        sql_option *o = push_opt(p, &v, at->quote ? name : upper(p, name), at);
        o->v.type = VT_NULL;
        o->v.null = true;
        set_opts(s, &v);
    } else {
        sqlp_p_expected(p, "ADD, REMOVE, SET, UNSET", pk(p));
        return NULL;
    }
    return s;
}

static sql_stmt *parse_alter_user(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_ALTER_USER, first);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    if (sqlp_acc_kw(p, KW_RENAME)) {
        if (sqlp_exp_kw(p, KW_TO) < 0) return NULL;
        if (parse_new_name(p, &s->name2) < 0) return NULL;
    } else if (sqlp_acc_kw(p, KW_SET)) {
        avec v = {0};
        if (parse_named_opt(p, &v, NULL) < 0) return NULL;
        set_opts(s, &v);
    } else {
        sqlp_p_expected(p, "RENAME,SET", pk(p));
        return NULL;
    }
    return s;
}

sql_stmt *sqlp_parse_grant_revoke(parser *p, const token *first, bool grant) {
    sql_stmt *s = sqlp_new_stmt(p, grant ? ST_GRANT : ST_REVOKE, first);
    avec privs = {0}, dbs = {0};
    do {
        const token *t = pk(p);
        uint8_t priv;
        if (word_is(t, "READ"))
            priv = PRIV_READ;
        else if (word_is(t, "WRITE"))
            priv = PRIV_WRITE;
        else if (is_kw(t, KW_ALL))
            priv = PRIV_ALL;
        else {
            sqlp_p_expected(p, "a privilege keyword [Read, Write, All]", t);
            return NULL;
        }
        nx(p);
        if (sqlp_exp_kw(p, KW_ON) < 0 || sqlp_exp_kw(p, KW_DATABASE) < 0) return NULL;
        const char *db;
        if (sqlp_parse_ident(p, &db, NULL, NULL) < 0) return NULL;
        *AV_PUSH(p, &privs, uint8_t) = priv;
        *AV_PUSH(p, &dbs, const char *) = db;
    } while (sqlp_acc(p, TOK_COMMA));
    if (sqlp_exp_kw(p, grant ? KW_TO : KW_FROM) < 0) return NULL;
    sqlp_acc_kw(p, KW_ROLE);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    s->privileges = privs.p;
    s->priv_dbs = dbs.p;
    s->npriv = privs.n;
    s->privilege = s->privileges[0];
    s->on_db = s->priv_dbs[0];
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * CREATE / ALTER / DROP */

static sql_stmt *not_impl(parser *p, const token *first, const char *what) {
    sqlp_p_error_code(p, first, EC_NOT_IMPL, "This feature is not implemented: %s", what);
    return NULL;
}

sql_stmt *sqlp_parse_create(parser *p, const token *first) {
    const token *t = pk(p);
    if (is_kw(t, KW_TABLE)) return nx(p), parse_create_table(p, first);
    if (is_kw(t, KW_DATABASE)) return nx(p), parse_create_database(p, first);
    if (word_is(t, "TENANT")) return nx(p), parse_create_tenant(p, first);
    if (is_kw(t, KW_USER)) return nx(p), parse_create_user(p, first);
    if (is_kw(t, KW_ROLE)) return nx(p), parse_create_role(p, first);
    if (is_kw(t, KW_EXTERNAL) || word_is(t, "UNBOUNDED"))
        return sqlp_parse_create_external(p, first);
    if (word_is(t, "STREAM")) return sqlp_parse_create_stream(p, first);
    sqlp_p_expected(p, "an object type after CREATE", t);
    return NULL;
}

sql_stmt *sqlp_parse_alter(parser *p, const token *first) {
    const token *t = pk(p);
    if (is_kw(t, KW_TABLE)) return nx(p), parse_alter_table(p, first);
    if (is_kw(t, KW_DATABASE)) return nx(p), parse_alter_database(p, first);
    if (word_is(t, "TENANT")) return nx(p), parse_alter_tenant(p, first);
    if (is_kw(t, KW_USER)) return nx(p), parse_alter_user(p, first);
    sqlp_p_expected(p, "TABLE/DATABASE/TENANT/USER", t);
    return NULL;
}

sql_stmt *sqlp_parse_drop(parser *p, const token *first) {
    const token *t = pk(p);
    sql_stmt *s;
    if (is_kw(t, KW_TABLE)) {
        nx(p);
        s = sqlp_new_stmt(p, ST_DROP_TABLE, first);
        s->if_exists = sqlp_acc_kws(p, KW_IF, KW_EXISTS);
        return parse_table(p, &s->table, false) < 0 ? NULL : s;
    }
    int kind = 0;
    if (is_kw(t, KW_DATABASE))
        kind = ST_DROP_DATABASE;
    else if (word_is(t, "TENANT"))
        kind = ST_DROP_TENANT;
    else if (is_kw(t, KW_USER))
        kind = ST_DROP_USER;
    else if (is_kw(t, KW_ROLE))
        kind = ST_DROP_ROLE;
    else if (word_is(t, "VNODE"))
        return not_impl(p, first, "DROP VNODE");
    else if (word_is(t, "STREAM"))
        return sqlp_parse_drop_stream(p, first);
    if (!kind) {
        sqlp_p_expected(p, "TABLE,DATABASE,TENANT,USER,ROLE,VNODE,STREAM after DROP", t);
        return NULL;
    }
    nx(p);
    s = sqlp_new_stmt(p, kind, first);
    s->if_exists = sqlp_acc_kws(p, KW_IF, KW_EXISTS);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    if ((kind == ST_DROP_DATABASE || kind == ST_DROP_TENANT) && parse_after(p, s) < 0) return NULL;
    return s;
}

sql_stmt *sqlp_parse_recover(parser *p, const token *first) {
    const token *t = pk(p);
    int kind = is_kw(t, KW_DATABASE)  ? ST_RECOVER_DATABASE
               : word_is(t, "TENANT") ? ST_RECOVER_TENANT
                                      : 0;
    if (!kind) {
        sqlp_p_expected(p, "DATABASE or TENANT", t);
        return NULL;
    }
    nx(p);
    sql_stmt *s = sqlp_new_stmt(p, kind, first);
    s->if_exists = sqlp_acc_kws(p, KW_IF, KW_EXISTS);
    return sqlp_parse_ident(p, &s->name, NULL, NULL) < 0 ? NULL : s;
}

sql_stmt *sqlp_parse_compact(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_COMPACT, first);
    if (sqlp_acc_kw(p, KW_DATABASE))
        return sqlp_parse_ident(p, &s->name, NULL, NULL) < 0 ? NULL : s;
    if (!word_is(pk(p), "VNODE")) {
        sqlp_p_expected(p, "DATABASE or VNODE", pk(p));
        return NULL;
    }
    const token *vt = nx(p);
    avec v = {0};
    do {
        const token *n = pk(p);
        if (n->kind != TOK_NUMBER) {
            sqlp_p_expected(p, "literal number", n);
            return NULL;
        }
        sql_option *o = push_opt(p, &v, "VNODE", vt);
        if (parse_opt_value(p, o) < 0) return NULL;
    } while (pk(p)->kind == TOK_NUMBER || sqlp_acc(p, TOK_COMMA));
    set_opts(s, &v);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * SHOW, DESCRIBE */

/* [WHERE e] [ORDER BY ...] [LIMIT n] [OFFSET m] (LIMIT and OFFSET in either order) */
static int parse_show_tail(parser *p, sql_stmt *s) {
    if (sqlp_acc_kw(p, KW_WHERE) && !(s->where = sqlp_parse_expr(p))) return -1;
    if (sqlp_acc_kws(p, KW_ORDER, KW_BY) &&
        sqlp_parse_order_by_list(p, &s->order_by, &s->norder) < 0)
        return -1;
    bool limit_seen = false;
    for (int round = 0; round < 2; round++) {
        if (!limit_seen && sqlp_acc_kw(p, KW_LIMIT)) {
            limit_seen = true;
            if (!sqlp_acc_kw(p, KW_ALL) && !(s->limit = sqlp_parse_expr(p))) return -1;
        }
        if (!s->offset && sqlp_acc_kw(p, KW_OFFSET)) {
            if (!(s->offset = sqlp_parse_expr(p))) return -1;
            if (!sqlp_acc_kw(p, KW_ROW)) sqlp_acc_kw(p, KW_ROWS);
        }
    }
    return 0;
}

static int parse_show_on_from(parser *p, sql_stmt *s) {
    if (sqlp_acc_kw(p, KW_ON) && sqlp_parse_ident(p, &s->on_db, NULL, NULL) < 0) return -1;
    if (sqlp_exp_kw(p, KW_FROM) < 0) return -1;
    s->table.pos = pk(p)->pos;
    return sqlp_parse_ident(p, &s->table.name, NULL, NULL);
}

static int parse_with_key(parser *p, sql_stmt *s) {
    if (sqlp_exp_kw(p, KW_WITH) < 0 || sqlp_exp_kw(p, KW_KEY) < 0) return -1;
    const token *t = nx(p);
    if (t->kind == TOK_EQ || t->kind == TOK_NEQ) {
        s->tag_key_op = t->kind == TOK_EQ ? TK_EQ : TK_NE;
        s->tag_keys = arena_alloc(p->a, sizeof(char *));
        s->ntag_keys = 1;
        return sqlp_parse_ident(p, &s->tag_keys[0], NULL, NULL);
    }
    if (is_kw(t, KW_IN) || is_kw(t, KW_NOT)) {
        s->tag_key_op = is_kw(t, KW_IN) ? TK_IN : TK_NOT_IN;
        if (is_kw(t, KW_NOT) && sqlp_exp_kw(p, KW_IN) < 0) return -1;
        return sqlp_parse_ident_list(p, &s->tag_keys, &s->ntag_keys);
    }
    return sqlp_p_expected(p, "=, !=, <>, IN, NOT IN", t);
}

sql_stmt *sqlp_parse_show(parser *p, const token *first) {
    const token *t = pk(p);
    sql_stmt *s;
    if (is_kw(t, KW_TABLES)) {
        nx(p);
        s = sqlp_new_stmt(p, ST_SHOW_TABLES, first);
        if (sqlp_acc_kw(p, KW_ON) && sqlp_parse_ident(p, &s->on_db, NULL, NULL) < 0) return NULL;
        return s;
    }
    if (word_is(t, "DATABASES")) return nx(p), sqlp_new_stmt(p, ST_SHOW_DATABASES, first);
    if (word_is(t, "QUERIES")) return nx(p), sqlp_new_stmt(p, ST_SHOW_QUERIES, first);
    if (word_is(t, "STREAMS")) return sqlp_parse_show_streams(p, first);
    if (word_is(t, "SERIES")) {
        nx(p);
        s = sqlp_new_stmt(p, ST_SHOW_SERIES, first);
        if (parse_show_on_from(p, s) < 0 || parse_show_tail(p, s) < 0) return NULL;
        return s;
    }
    if (word_is(t, "TAG")) {
        nx(p);
        if (sqlp_exp_kw(p, KW_VALUES) < 0) return NULL;
        s = sqlp_new_stmt(p, ST_SHOW_TAG_VALUES, first);
        if (parse_show_on_from(p, s) < 0 || parse_with_key(p, s) < 0 || parse_show_tail(p, s) < 0)
            return NULL;
        return s;
    }
    if (word_is(t, "STREAMS")) return not_impl(p, first, "SHOW STREAMS");
    sqlp_p_expected(p, "TABLES or DATABASES or SERIES or TAG or QUERIES or STREAMS", t);
    return NULL;
}

sql_stmt *sqlp_parse_describe(parser *p, const token *first) {
    const token *t = pk(p);
    sql_stmt *s;
    if (is_kw(t, KW_TABLE)) {
        nx(p);
        s = sqlp_new_stmt(p, ST_DESCRIBE_TABLE, first);
        return parse_table(p, &s->table, false) < 0 ? NULL : s;
    }
    if (is_kw(t, KW_DATABASE)) {
        nx(p);
        s = sqlp_new_stmt(p, ST_DESCRIBE_DATABASE, first);
        return sqlp_parse_ident(p, &s->name, NULL, NULL) < 0 ? NULL : s;
    }
    sqlp_p_expected(p, "table/database", t);
    return NULL;
}
