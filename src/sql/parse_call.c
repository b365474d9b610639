/* Names and calls: identifiers and compound names (`db.t.col`, `q.*`), function calls with their
 * DISTINCT, ORDER BY, FILTER and OVER clauses, ARRAY_AGG, and the ORDER BY item lists and window
 * specifications that calls and queries share. See parse_internal.h. */
#include "sql/parse_internal.h"

const char *sqlp_join_parts(parser *p, const char **parts, uint32_t n) {
    char *q = (char *)parts[0];
    for (uint32_t i = 1; i < n; i++) q = arena_printf(p->a, "%s.%s", q, parts[i]);
    return q;
}

int sqlp_parse_order_item(parser *p, sql_order_item *it) {
    it->e = sqlp_parse_expr(p);
    if (!it->e) return -1;
    if (sqlp_acc_kw(p, KW_DESC))
        it->desc = true;
    else
        sqlp_acc_kw(p, KW_ASC);
    it->nulls_first = -1;
    if (sqlp_acc_kws(p, KW_NULLS, KW_FIRST))
        it->nulls_first = 1;
    else if (sqlp_acc_kws(p, KW_NULLS, KW_LAST))
        it->nulls_first = 0;
    return 0;
}

int sqlp_parse_order_by_list(parser *p, sql_order_item **items, uint32_t *n) {
    avec v = {0};
    do {
        sql_order_item it = {0};
        if (sqlp_parse_order_item(p, &it) < 0) return -1;
        *AV_PUSH(p, &v, sql_order_item) = it;
    } while (sqlp_acc(p, TOK_COMMA));
    *items = v.p;
    *n = v.n;
    return 0;
}

static int parse_frame_bound(parser *p, sql_frame_bound *b) {
    if (sqlp_acc_kws(p, KW_CURRENT, KW_ROW)) {
        b->kind = FB_CURRENT_ROW;
        return 0;
    }
    expr *off = NULL;
    if (!sqlp_acc_kw(p, KW_UNBOUNDED)) {
        const token *t = pk(p);
        if (t->kind == TOK_STRING) {
            nx(p);
            off = sqlp_interval_lit(p, t, t->text, t->len, "second", t->pos);
        } else {
            off = sqlp_parse_expr(p);
        }
        if (!off) return -1;
    }
    if (sqlp_acc_kw(p, KW_PRECEDING))
        b->kind = off ? FB_PRECEDING : FB_UNBOUNDED_PRECEDING;
    else if (sqlp_acc_kw(p, KW_FOLLOWING))
        b->kind = off ? FB_FOLLOWING : FB_UNBOUNDED_FOLLOWING;
    else
        return sqlp_p_expected(p, "PRECEDING or FOLLOWING", pk(p));
    b->offset = off;
    return 0;
}

int sqlp_parse_window_spec(parser *p, sql_window **out) {
    sql_window *w = arena_calloc(p->a, sizeof *w);
    const token *t = pk(p);
    if (t->kind == TOK_WORD && !is_kw(t, KW_PARTITION) && !is_kw(t, KW_ORDER) &&
        !is_kw(t, KW_ROWS) && !is_kw(t, KW_RANGE) && !is_kw(t, KW_GROUPS)) {
        nx(p);
        w->ref_name = sqlp_ident_text(p, t);
    }
    if (sqlp_acc_kws(p, KW_PARTITION, KW_BY) &&
        sqlp_parse_expr_list(p, &w->partition_by, &w->npartition) < 0)
        return -1;
    if (sqlp_acc_kws(p, KW_ORDER, KW_BY) &&
        sqlp_parse_order_by_list(p, &w->order_by, &w->norder) < 0)
        return -1;
    if (!sqlp_acc(p, TOK_RPAREN)) {
        const token *u = nx(p);
        if (is_kw(u, KW_ROWS))
            w->frame_units = FRAME_ROWS;
        else if (is_kw(u, KW_RANGE))
            w->frame_units = FRAME_RANGE;
        else if (is_kw(u, KW_GROUPS))
            w->frame_units = FRAME_GROUPS;
        else
            return sqlp_p_expected(p, "ROWS, RANGE, GROUPS", u);
        if (sqlp_acc_kw(p, KW_BETWEEN)) {
            if (parse_frame_bound(p, &w->frame_start) < 0) return -1;
            if (sqlp_exp_kw(p, KW_AND) < 0) return -1;
            if (parse_frame_bound(p, &w->frame_end) < 0) return -1;
        } else {
            if (parse_frame_bound(p, &w->frame_start) < 0) return -1;
            w->frame_end.kind = FB_CURRENT_ROW;
        }
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
    }
    *out = w;
    return 0;
}

/* ARRAY_AGG([DISTINCT] x [ORDER BY one item] [LIMIT n]): sqlparser-rs parses it apart from
 * other calls, so it takes exactly one argument and no OVER or FILTER. */
expr *sqlp_parse_array_agg(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    bool distinct = sqlp_acc_kw(p, KW_DISTINCT);
    expr *x = sqlp_parse_expr(p);
    if (!x) return NULL;
    expr **args = arena_alloc(p->a, sizeof(expr *));
    args[0] = x;
    expr *e = sqlp_new_func(p, "array_agg", pos, args, 1);
    e->distinct = distinct;
    if (sqlp_acc_kws(p, KW_ORDER, KW_BY)) {
        e->func_order = arena_calloc(p->a, sizeof(sql_order_item));
        if (sqlp_parse_order_item(p, e->func_order) < 0) return NULL;
        e->nfunc_order = 1;
    }
    if (is_kw(pk(p), KW_LIMIT)) {
        sqlp_p_error_code(p, pk(p), EC_NOT_IMPL,
                          "This feature is not implemented: LIMIT not supported in ARRAY_AGG");
        return NULL;
    }
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    return sqlp_expr_fin(p, e);
}

/* name(...) [FILTER (WHERE ...)] [OVER (...) | OVER w], after the name. */
expr *sqlp_parse_call(parser *p, const char **parts, uint32_t nparts, bool quoted, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *e = sqlp_new_expr(p, EX_FUNC, pos);
    e->name = parts[nparts - 1];
    e->quoted = quoted;
    if (nparts > 1) e->qual = sqlp_join_parts(p, parts, nparts - 1);
    const token *at = pk(p);
    bool all = sqlp_acc_kw(p, KW_ALL);
    e->distinct = sqlp_acc_kw(p, KW_DISTINCT);
    if (all && e->distinct) {
        sqlp_p_error(p, at, "Cannot specify both ALL and DISTINCT");
        return NULL;
    }
    if (!sqlp_acc(p, TOK_RPAREN)) {
        plist v = {0};
        do {
            expr *a = sqlp_parse_wildcard_expr(p);
            if (!a) return NULL;
            sqlp_pl_push(p, &v, a);
        } while (sqlp_acc(p, TOK_COMMA));
        e->args = (expr **)sqlp_pl_done(p, &v);
        e->nargs = v.n;
        if (e->nargs == 1 && e->args[0]->kind == EX_STAR && !e->args[0]->qual) e->star = true;
        if (sqlp_acc_kws(p, KW_ORDER, KW_BY) &&
            sqlp_parse_order_by_list(p, &e->func_order, &e->nfunc_order) < 0)
            return NULL;
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    }
    if (is_kw(pk(p), KW_FILTER) && pk_n(p, 1)->kind == TOK_LPAREN) {
        nx(p), nx(p);
        if (sqlp_exp_kw(p, KW_WHERE) < 0) return NULL;
        if (!(e->filter = sqlp_parse_expr(p))) return NULL;
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    }
    if (is_kw(pk(p), KW_OVER)) {
        const token *n1 = pk_n(p, 1);
        if (n1->kind == TOK_LPAREN) {
            nx(p), nx(p);
            if (sqlp_parse_window_spec(p, &e->over) < 0) return NULL;
        } else if (n1->kind == TOK_WORD && !(n1->kw == KW_FROM || n1->kw == KW_AS)) {
            nx(p), nx(p);
            e->over = arena_calloc(p->a, sizeof(sql_window));
            e->over->ref_name = sqlp_ident_text(p, n1);
        } else {
            nx(p);
            sqlp_p_expected(p, "(", n1);
            return NULL;
        }
    }
    return sqlp_expr_fin(p, e);
}

/* A word that starts an identifier, a compound identifier, `q.*` or a call. */
expr *sqlp_parse_name_expr(parser *p, const token *first) {
    avec v = {0};
    *AV_PUSH(p, &v, const char *) = sqlp_ident_text(p, first);
    while (pk(p)->kind == TOK_PERIOD) {
        nx(p);
        const token *t = nx(p);
        if (t->kind == TOK_WORD) {
            *AV_PUSH(p, &v, const char *) = sqlp_ident_text(p, t);
        } else if (t->kind == TOK_MUL) {
            expr *s = sqlp_new_expr(p, EX_STAR, first->pos);
            s->qual = sqlp_join_parts(p, v.p, v.n);
            return s;
        } else {
            sqlp_p_expected(p, "an identifier or a '*' after '.'", t);
            return NULL;
        }
    }
    const char **parts = v.p;
    if (pk(p)->kind == TOK_LPAREN)
        return sqlp_parse_call(p, parts, v.n, first->quote != 0, first->pos);
    expr *e = sqlp_new_expr(p, EX_COLUMN, first->pos);
    e->name = parts[v.n - 1];
    e->quoted = p->t[p->i - 1].quote != 0;
    e->parts = parts;
    e->nparts = v.n;
    if (v.n > 1) e->qual = sqlp_join_parts(p, parts, v.n - 1);
    return e;
}
