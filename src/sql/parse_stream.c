/* The grammar of CnosDB's streams:
 *
 *   CREATE STREAM TABLE [IF NOT EXISTS] name [(col TYPE, ...)]
 *       WITH (db = 'd', table = 't', event_time_column = 'c') [engine = tskv]
 *   CREATE STREAM [IF NOT EXISTS] name [TRIGGER = ONCE | 'interval'] [WATERMARK = 'interval']
 *       [OUTPUT_MODE = COMPLETE | APPEND | UPDATE] AS INSERT INTO ...
 *   DROP STREAM [IF EXISTS] name
 *   SHOW STREAMS [VERBOSE]
 *
 * Meaning (options, the source table, what the INSERT may do) is checked by the executor
 * (sql/sql_stream.c). See parse_internal.h for the conventions. */
#include <string.h>
#include <strings.h>

#include "sql/parse_internal.h"

static bool word(const token *t, const char *name) {
    return t->kind == TOK_WORD && !t->quote && strcasecmp(t->text, name) == 0;
}

/* name = value pairs until a word that is not followed by `=`, or a `)` when in_parens;
 * names upper-cased. */
static int parse_assignments(parser *p, bool in_parens, sql_option **out, uint32_t *n) {
    avec v = {0};
    for (;;) {
        const token *k = pk(p);
        if (in_parens && sqlp_acc(p, TOK_RPAREN)) break;
        if (!in_parens && (k->kind != TOK_WORD || pk_n(p, 1)->kind != TOK_EQ)) break;
        if (k->kind != TOK_WORD) return sqlp_p_expected(p, "an option name", k);
        nx(p);
        sql_option *o = AV_PUSH(p, &v, sql_option);
        memset(o, 0, sizeof *o);
        char *u = arena_strdup(p->a, k->text);
        for (char *c = u; *c; c++)
            if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
        o->name = u;
        o->pos = k->pos;
        if (sqlp_exp_tok(p, TOK_EQ) < 0) return -1;
        if (sqlp_parse_opt_value(p, o) < 0) return -1;
        if (in_parens && !sqlp_acc(p, TOK_COMMA) && pk(p)->kind != TOK_RPAREN)
            return sqlp_p_expected(p, "',' or ')' after an option", pk(p));
    }
    *out = v.p;
    *n = v.n;
    return 0;
}

static sql_stmt *parse_stream_table(parser *p, const token *first) {
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_STREAM_TABLE, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (sqlp_parse_table_name(p, &s->table, true) < 0) return NULL;
    /* without columns the stream has its source's (sql_stream.c) */
    if (pk(p)->kind == TOK_LPAREN && sqlp_parse_column_defs(p, s) < 0) return NULL;
    if (sqlp_exp_kw(p, KW_WITH) < 0 || sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    if (parse_assignments(p, true, &s->opts, &s->nopts) < 0) return NULL;
    if (word(pk(p), "ENGINE")) {
        nx(p);
        if (sqlp_exp_tok(p, TOK_EQ) < 0) return NULL;
        if (pk(p)->kind != TOK_WORD) return sqlp_p_expected(p, "an engine name", pk(p)), NULL;
        s->name2 = arena_strdup(p->a, nx(p)->text);
    }
    return s;
}

sql_stmt *sqlp_parse_create_stream(parser *p, const token *first) {
    nx(p); /* STREAM */
    if (sqlp_acc_kw(p, KW_TABLE)) return parse_stream_table(p, first);
    sql_stmt *s = sqlp_new_stmt(p, ST_CREATE_STREAM, first);
    s->if_not_exists = sqlp_acc_kws3(p, KW_IF, KW_NOT, KW_EXISTS);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    if (parse_assignments(p, false, &s->opts, &s->nopts) < 0) return NULL;
    if (sqlp_exp_kw(p, KW_AS) < 0) return NULL;
    const token *ins = pk(p);
    if (!is_kw(ins, KW_INSERT)) return sqlp_p_expected(p, "INSERT after AS", ins), NULL;
    s->inner = sqlp_parse_statement(p);
    return s->inner ? s : NULL;
}

sql_stmt *sqlp_parse_drop_stream(parser *p, const token *first) {
    nx(p); /* STREAM */
    sql_stmt *s = sqlp_new_stmt(p, ST_DROP_STREAM, first);
    s->if_exists = sqlp_acc_kws(p, KW_IF, KW_EXISTS);
    if (sqlp_parse_ident(p, &s->name, NULL, NULL) < 0) return NULL;
    return s;
}

sql_stmt *sqlp_parse_show_streams(parser *p, const token *first) {
    nx(p); /* STREAMS */
    sql_stmt *s = sqlp_new_stmt(p, ST_SHOW_STREAMS, first);
    if (word(pk(p), "VERBOSE")) {
        nx(p);
        s->verbose = true;
    }
    return s;
}
