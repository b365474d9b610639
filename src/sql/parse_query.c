/* Query parsing: WITH, set operations, SELECT, VALUES, FROM with joins, GROUP BY forms, ORDER BY,
 * LIMIT/OFFSET, following sqlparser-rs 0.34's grammar and alias rules. */
#include <string.h>

#include "sql/parse_internal.h"

/* Words that cannot be an alias without AS (sqlparser-rs's RESERVED_FOR_COLUMN_ALIAS and
 * RESERVED_FOR_TABLE_ALIAS), so that `FROM t JOIN u` or `SELECT a FROM t` read as intended. */
static bool reserved_alias(int kw, bool table_ctx) {
    switch (kw) {
    case KW_WITH:
    case KW_EXPLAIN:
    case KW_ANALYZE:
    case KW_SELECT:
    case KW_WHERE:
    case KW_GROUP:
    case KW_SORT:
    case KW_HAVING:
    case KW_ORDER:
    case KW_TOP:
    case KW_LATERAL:
    case KW_VIEW:
    case KW_LIMIT:
    case KW_OFFSET:
    case KW_FETCH:
    case KW_UNION:
    case KW_EXCEPT:
    case KW_INTERSECT:
    case KW_CLUSTER:
    case KW_DISTRIBUTE:
    case KW_END:
        return true;
    case KW_FROM:
    case KW_INTO:
        return !table_ctx;
    case KW_PIVOT:
    case KW_UNPIVOT:
    case KW_ON:
    case KW_JOIN:
    case KW_INNER:
    case KW_CROSS:
    case KW_FULL:
    case KW_LEFT:
    case KW_RIGHT:
    case KW_NATURAL:
    case KW_USING:
    case KW_OUTER:
    case KW_SET:
    case KW_QUALIFY:
    case KW_WINDOW:
    case KW_SEMI:
    case KW_ANTI:
        return table_ctx;
    default:
        return false;
    }
}

int sqlp_parse_optional_alias(parser *p, bool table_ctx, const char **alias) {
    *alias = NULL;
    bool after_as = sqlp_acc_kw(p, KW_AS);
    const token *t = pk(p);
    if (t->kind == TOK_WORD) {
        /* `SELECT a WINDOW w AS (...)`: the WINDOW clause, not an alias named window. */
        bool window_clause =
            is_kw(t, KW_WINDOW) && pk_n(p, 1)->kind == TOK_WORD && is_kw(pk_n(p, 2), KW_AS);
        if (after_as || t->quote || (!reserved_alias(t->kw, table_ctx) && !window_clause)) {
            nx(p);
            *alias = sqlp_ident_text(p, t);
            return 0;
        }
    } else if (t->kind == TOK_STRING) {
        nx(p);
        *alias = t->text;
        return 0;
    }
    if (after_as) return sqlp_p_expected(p, "an identifier after AS", t);
    return 0;
}

/* alias [(c1, c2)] of a table factor */
static int table_alias(parser *p, sql_table_ref *r) {
    if (sqlp_parse_optional_alias(p, true, &r->alias) < 0) return -1;
    if (r->alias && pk(p)->kind == TOK_LPAREN)
        return sqlp_parse_ident_list(p, &r->alias_cols, &r->nalias_cols);
    return 0;
}

static sql_table_ref *new_ref(parser *p, int kind, srcpos pos) {
    sql_table_ref *r = arena_calloc(p->a, sizeof *r);
    r->kind = (uint8_t)kind;
    r->pos = pos;
    return r;
}

static sql_table_ref *parse_table_and_joins(parser *p);

static int parse_fargs(parser *p, expr ***out, uint32_t *n) {
    *out = NULL;
    *n = 0;
    if (sqlp_acc(p, TOK_RPAREN)) return 0;
    plist v = {0};
    do {
        expr *e = sqlp_parse_wildcard_expr(p);
        if (!e) return -1;
        sqlp_pl_push(p, &v, e);
    } while (sqlp_acc(p, TOK_COMMA));
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
    *out = (expr **)sqlp_pl_done(p, &v);
    *n = v.n;
    return 0;
}

static sql_table_ref *table_factor_body(parser *p) {
    const token *t = pk(p);
    if (sqlp_acc(p, TOK_LPAREN)) {
        /* A derived table or a parenthesised join: try the query first (as sqlparser-rs does)
         * unless the text makes it plain which one it is. */
        const token *n1 = pk(p);
        bool surely_query = is_kw(n1, KW_SELECT) || is_kw(n1, KW_WITH) || is_kw(n1, KW_VALUES);
        if (surely_query || n1->kind == TOK_LPAREN) {
            uint32_t save_i = p->i;
            int save_depth = p->depth;
            err scratch, *save_e = p->e;
            if (!surely_query) p->e = &scratch;
            sql_query *q = sqlp_parse_query(p);
            if (q && sqlp_exp_tok(p, TOK_RPAREN) == 0) {
                p->e = save_e;
                sql_table_ref *r = new_ref(p, TR_SUBQUERY, t->pos);
                r->sub = q;
                return table_alias(p, r) < 0 ? NULL : r;
            }
            p->e = save_e;
            if (surely_query) return NULL;
            p->i = save_i;
            p->depth = save_depth;
        }
        sql_table_ref *inner = parse_table_and_joins(p);
        if (!inner) return NULL;
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
        const char *alias = NULL;
        if (sqlp_parse_optional_alias(p, true, &alias) < 0) return NULL;
        if (alias) {
            inner->alias = alias;
            if (pk(p)->kind == TOK_LPAREN &&
                sqlp_parse_ident_list(p, &inner->alias_cols, &inner->nalias_cols) < 0)
                return NULL;
        }
        return inner;
    }
    if (is_kw(t, KW_LATERAL)) {
        sqlp_p_error_code(p, t, EC_NOT_IMPL, "This feature is not implemented: LATERAL");
        return NULL;
    }
    const char **parts;
    uint32_t n;
    srcpos pos;
    if (sqlp_parse_object_name(p, &parts, &n, &pos) < 0) return NULL;
    if (n > 3) {
        sqlp_p_error(p, t, "Unsupported compound identifier: %s.%s.%s.%s%s", parts[0], parts[1],
                     parts[2], parts[3], n > 4 ? "..." : "");
        return NULL;
    }
    sql_table_ref *r = new_ref(p, TR_TABLE, pos);
    r->name = parts[n - 1];
    r->db = n >= 2 ? parts[n - 2] : NULL;
    r->tenant = n == 3 ? parts[0] : NULL;
    if (sqlp_acc(p, TOK_LPAREN)) {
        r->kind = TR_FUNC;
        if (parse_fargs(p, &r->fargs, &r->nfargs) < 0) return NULL;
    }
    return table_alias(p, r) < 0 ? NULL : r;
}

static sql_table_ref *parse_table_factor(parser *p) {
    if (sqlp_p_enter(p) < 0) return NULL;
    sql_table_ref *r = table_factor_body(p);
    sqlp_p_leave(p);
    return r;
}

static sql_table_ref *parse_table_and_joins(parser *p) {
    sql_table_ref *rel = parse_table_factor(p);
    if (!rel) return NULL;
    for (uint32_t chain = 0;; chain++) {
        if (chain >= SQL_MAX_CHAIN) {
            sqlp_p_error(p, pk(p), "recursion limit exceeded");
            return NULL;
        }
        const token *t = pk(p);
        int kind = 0;
        bool natural = false;
        if (sqlp_acc_kw(p, KW_CROSS)) {
            if (is_kw(pk(p), KW_APPLY)) {
                sqlp_p_error_code(p, pk(p), EC_NOT_IMPL,
                                  "This feature is not implemented: CROSS APPLY");
                return NULL;
            }
            if (!sqlp_acc_kw(p, KW_JOIN)) {
                sqlp_p_expected(p, "JOIN or APPLY after CROSS", pk(p));
                return NULL;
            }
            kind = JOIN_CROSS;
        } else if (sqlp_acc_kw(p, KW_OUTER)) {
            if (sqlp_exp_kw(p, KW_APPLY) < 0) return NULL;
            sqlp_p_error_code(p, t, EC_NOT_IMPL, "This feature is not implemented: OUTER APPLY");
            return NULL;
        } else {
            natural = sqlp_acc_kw(p, KW_NATURAL);
            const token *k = pk(p);
            if (is_kw(k, KW_INNER) || is_kw(k, KW_JOIN)) {
                sqlp_acc_kw(p, KW_INNER);
                if (sqlp_exp_kw(p, KW_JOIN) < 0) return NULL;
                kind = JOIN_INNER;
            } else if (is_kw(k, KW_LEFT) || is_kw(k, KW_RIGHT)) {
                nx(p);
                bool left = is_kw(k, KW_LEFT);
                if (sqlp_acc_kw(p, KW_OUTER)) {
                    if (sqlp_exp_kw(p, KW_JOIN) < 0) return NULL;
                    kind = left ? JOIN_LEFT : JOIN_RIGHT;
                } else if (sqlp_acc_kw(p, KW_SEMI)) {
                    if (sqlp_exp_kw(p, KW_JOIN) < 0) return NULL;
                    kind = left ? JOIN_LEFT_SEMI : JOIN_RIGHT_SEMI;
                } else if (sqlp_acc_kw(p, KW_ANTI)) {
                    if (sqlp_exp_kw(p, KW_JOIN) < 0) return NULL;
                    kind = left ? JOIN_LEFT_ANTI : JOIN_RIGHT_ANTI;
                } else if (sqlp_acc_kw(p, KW_JOIN)) {
                    kind = left ? JOIN_LEFT : JOIN_RIGHT;
                } else {
                    sqlp_p_error(p, pk(p), "expected OUTER, SEMI, ANTI or JOIN after %s",
                                 left ? "LEFT" : "RIGHT");
                    return NULL;
                }
            } else if (is_kw(k, KW_FULL)) {
                nx(p);
                sqlp_acc_kw(p, KW_OUTER);
                if (sqlp_exp_kw(p, KW_JOIN) < 0) return NULL;
                kind = JOIN_FULL;
            } else if (natural) {
                sqlp_p_expected(p, "a join type after NATURAL", k);
                return NULL;
            } else {
                break;
            }
        }
        sql_table_ref *right = parse_table_factor(p);
        if (!right) return NULL;
        sql_table_ref *j = new_ref(p, TR_JOIN, t->pos);
        j->join = (uint8_t)kind;
        j->left = rel;
        j->right = right;
        j->natural = natural;
        if (kind != JOIN_CROSS && !natural) {
            if (sqlp_acc_kw(p, KW_ON)) {
                if (!(j->on = sqlp_parse_expr(p))) return NULL;
            } else if (sqlp_acc_kw(p, KW_USING)) {
                if (pk(p)->kind != TOK_LPAREN) {
                    sqlp_p_expected(p, "a list of columns in parentheses", pk(p));
                    return NULL;
                }
                if (sqlp_parse_ident_list(p, &j->using_cols, &j->nusing) < 0) return NULL;
            }
        }
        rel = j;
    }
    return rel;
}

static sql_table_ref *parse_from(parser *p) {
    sql_table_ref *ref = parse_table_and_joins(p);
    if (!ref) return NULL;
    uint32_t chain = 0;
    while (pk(p)->kind == TOK_COMMA) {
        const token *c = nx(p);
        if (++chain >= SQL_MAX_CHAIN) {
            sqlp_p_error(p, c, "recursion limit exceeded");
            return NULL;
        }
        sql_table_ref *r = parse_table_and_joins(p);
        if (!r) return NULL;
        sql_table_ref *j = new_ref(p, TR_JOIN, ref->pos);
        j->join = JOIN_CROSS;
        j->left = ref;
        j->right = r;
        ref = j;
    }
    return ref;
}

/* One element of ROLLUP/CUBE/GROUPING SETS: `(a, b)`, `()` or `a`, as a list of expressions. */
static int parse_group_tuple(parser *p, expr ***out, uint32_t *n) {
    *out = NULL;
    *n = 0;
    if (sqlp_acc(p, TOK_LPAREN)) {
        if (sqlp_acc(p, TOK_RPAREN)) return 0;
        plist v = {0};
        do {
            expr *e = sqlp_parse_expr(p);
            if (!e) return -1;
            sqlp_pl_push(p, &v, e);
        } while (sqlp_acc(p, TOK_COMMA));
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
        *out = (expr **)sqlp_pl_done(p, &v);
        *n = v.n;
        return 0;
    }
    expr *e = sqlp_parse_expr(p);
    if (!e) return -1;
    *out = arena_alloc(p->a, sizeof(expr *));
    (*out)[0] = e;
    *n = 1;
    return 0;
}

static int grouping_set_error(parser *p, const token *at) {
    return sqlp_p_error_code(p, at, EC_QUERY_INTERNAL,
                             "Datafusion: Error during planning: Invalid group by expressions, "
                             "GroupingSet must be the only expression");
}

/* GROUP BY items; ROLLUP(...), CUBE(...) and GROUPING SETS (...) must stand alone, as in
 * DataFusion 27. ROLLUP/CUBE elements go to group_by (a parenthesised element of several
 * expressions as EX_TUPLE); GROUPING SETS to grouping_sets. */
static int parse_group_by(parser *p, sql_select *s) {
    avec items = {0};
    bool special = false;
    for (;;) {
        const token *t = pk(p);
        int kind = 0;
        if (is_kw(t, KW_GROUPING) && is_kw(pk_n(p, 1), KW_SETS))
            kind = 3;
        else if (is_kw(t, KW_CUBE) && pk_n(p, 1)->kind == TOK_LPAREN)
            kind = 2;
        else if (is_kw(t, KW_ROLLUP) && pk_n(p, 1)->kind == TOK_LPAREN)
            kind = 1;
        if (special || (kind && items.n)) return grouping_set_error(p, t);
        if (!kind) {
            expr *e = sqlp_parse_expr(p);
            if (!e) return -1;
            *AV_PUSH(p, &items, expr *) = e;
        } else {
            special = true;
            nx(p);
            if (kind == 3) nx(p);
            if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
            avec sets = {0}, lens = {0};
            do {
                expr **list;
                uint32_t n;
                if (parse_group_tuple(p, &list, &n) < 0) return -1;
                if (kind == 3) {
                    *AV_PUSH(p, &sets, expr **) = list;
                    *AV_PUSH(p, &lens, uint32_t) = n;
                } else if (n == 1) {
                    *AV_PUSH(p, &items, expr *) = list[0];
                } else {
                    expr *tu = sqlp_new_expr(p, EX_TUPLE, t->pos);
                    tu->args = list;
                    tu->nargs = n;
                    if (!sqlp_expr_fin(p, tu)) return -1;
                    *AV_PUSH(p, &items, expr *) = tu;
                }
            } while (sqlp_acc(p, TOK_COMMA));
            if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
            s->group_kind = (uint8_t)kind;
            s->grouping_sets = sets.p;
            s->grouping_set_len = lens.p;
            s->nsets = sets.n;
        }
        if (!sqlp_acc(p, TOK_COMMA)) break;
    }
    s->group_by = items.p;
    s->ngroup = items.n;
    return 0;
}

/* `*` / `q.*` options: EXCLUDE (a, b) | EXCLUDE a | EXCEPT (a, b). */
static int star_options(parser *p, expr *star) {
    if (sqlp_acc_kw(p, KW_EXCLUDE)) {
        if (pk(p)->kind == TOK_LPAREN)
            return sqlp_parse_ident_list(p, &star->except_cols, &star->nexcept);
        star->except_cols = arena_alloc(p->a, sizeof(char *));
        star->nexcept = 1;
        return sqlp_parse_ident(p, &star->except_cols[0], NULL, NULL);
    }
    const token *n1 = pk_n(p, 1);
    if (is_kw(pk(p), KW_EXCEPT) && n1->kind == TOK_LPAREN && pk_n(p, 2)->kind == TOK_WORD &&
        !is_kw(pk_n(p, 2), KW_SELECT) && !is_kw(pk_n(p, 2), KW_WITH) &&
        !is_kw(pk_n(p, 2), KW_VALUES)) {
        nx(p);
        return sqlp_parse_ident_list(p, &star->except_cols, &star->nexcept);
    }
    return 0;
}

static int parse_select_item(parser *p, sql_select_item *it) {
    it->pos = pk(p)->pos;
    if (!(it->e = sqlp_parse_wildcard_expr(p))) return -1;
    if (it->e->kind == EX_STAR) return star_options(p, it->e);
    return sqlp_parse_optional_alias(p, false, &it->alias);
}

static sql_select *parse_select(parser *p) {
    sql_select *s = arena_calloc(p->a, sizeof *s);
    const token *at = pk(p);
    bool all = sqlp_acc_kw(p, KW_ALL);
    s->distinct = sqlp_acc_kw(p, KW_DISTINCT);
    if (all && s->distinct) {
        sqlp_p_error(p, at, "Cannot specify both ALL and DISTINCT");
        return NULL;
    }
    if (s->distinct && sqlp_acc_kw(p, KW_ON)) {
        if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
        if (pk(p)->kind != TOK_RPAREN) {
            avec v = {0};
            do {
                expr *e = sqlp_parse_expr(p);
                if (!e) return NULL;
                *AV_PUSH(p, &v, expr *) = e;
            } while (sqlp_acc(p, TOK_COMMA));
            s->distinct_on = v.p;
            s->ndistinct_on = v.n;
        }
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    }
    avec items = {0};
    do {
        sql_select_item it = {0};
        if (parse_select_item(p, &it) < 0) return NULL;
        *AV_PUSH(p, &items, sql_select_item) = it;
    } while (sqlp_acc(p, TOK_COMMA));
    s->items = items.p;
    s->nitems = items.n;
    if (sqlp_acc_kw(p, KW_FROM) && !(s->from = parse_from(p))) return NULL;
    if (sqlp_acc_kw(p, KW_WHERE) && !(s->where = sqlp_parse_expr(p))) return NULL;
    if (sqlp_acc_kws(p, KW_GROUP, KW_BY) && parse_group_by(p, s) < 0) return NULL;
    if (sqlp_acc_kw(p, KW_HAVING) && !(s->having = sqlp_parse_expr(p))) return NULL;
    if (is_kw(pk(p), KW_WINDOW) && pk_n(p, 1)->kind == TOK_WORD && is_kw(pk_n(p, 2), KW_AS)) {
        nx(p);
        avec v = {0};
        do {
            sql_named_window nw = {.pos = pk(p)->pos};
            if (sqlp_parse_ident(p, &nw.name, NULL, NULL) < 0) return NULL;
            if (sqlp_exp_kw(p, KW_AS) < 0) return NULL;
            if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
            if (sqlp_parse_window_spec(p, &nw.w) < 0) return NULL;
            *AV_PUSH(p, &v, sql_named_window) = nw;
        } while (sqlp_acc(p, TOK_COMMA));
        s->windows = v.p;
        s->nwindows = v.n;
    }
    return s;
}

static int parse_values(parser *p, sql_body *b) {
    avec rows = {0};
    do {
        sqlp_acc_kw(p, KW_ROW);
        const token *rt = pk(p);
        if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
        plist v = {0};
        do {
            expr *e = sqlp_parse_expr(p);
            if (!e) return -1;
            sqlp_pl_push(p, &v, e);
        } while (sqlp_acc(p, TOK_COMMA));
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return -1;
        if (rows.n && v.n != b->nvalue_cols) {
            return sqlp_p_error_code(p, rt, EC_QUERY_INTERNAL,
                                     "Datafusion: Error during planning: Inconsistent data length "
                                     "across values list: got %u values in row %u but expected %u",
                                     v.n, rows.n, b->nvalue_cols);
        }
        b->nvalue_cols = v.n;
        *AV_PUSH(p, &rows, expr **) = (expr **)sqlp_pl_done(p, &v);
    } while (sqlp_acc(p, TOK_COMMA));
    b->values = rows.p;
    b->nvalues = rows.n;
    return 0;
}

static sql_body *parse_query_body(parser *p, int prec) {
    sql_body *b = arena_calloc(p->a, sizeof *b);
    if (sqlp_acc_kw(p, KW_SELECT)) {
        if (!(b->select = parse_select(p))) return NULL;
    } else if (sqlp_acc(p, TOK_LPAREN)) {
        if (!(b->nested = sqlp_parse_query(p))) return NULL;
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    } else if (sqlp_acc_kw(p, KW_VALUES)) {
        if (parse_values(p, b) < 0) return NULL;
    } else {
        sqlp_p_expected(p, "SELECT, VALUES, or a subquery in the query body", pk(p));
        return NULL;
    }
    for (uint32_t chain = 0;; chain++) {
        const token *t = pk(p);
        int op, np;
        if (is_kw(t, KW_UNION))
            op = SETOP_UNION, np = 10;
        else if (is_kw(t, KW_EXCEPT))
            op = SETOP_EXCEPT, np = 10;
        else if (is_kw(t, KW_INTERSECT))
            op = SETOP_INTERSECT, np = 20;
        else
            break;
        if (prec >= np) break;
        if (chain >= SQL_MAX_CHAIN) {
            sqlp_p_error(p, t, "recursion limit exceeded");
            return NULL;
        }
        nx(p);
        bool all = sqlp_acc_kw(p, KW_ALL);
        if (!all) sqlp_acc_kw(p, KW_DISTINCT);
        if (sqlp_p_enter(p) < 0) return NULL;
        sql_body *r = parse_query_body(p, np);
        sqlp_p_leave(p);
        if (!r) return NULL;
        sql_body *s = arena_calloc(p->a, sizeof *s);
        s->setop = (uint8_t)op;
        s->all = all;
        s->left = b;
        s->right = r;
        b = s;
    }
    return b;
}

static int parse_cte(parser *p, sql_cte *c) {
    if (sqlp_parse_ident(p, &c->name, NULL, NULL) < 0) return -1;
    if (!sqlp_acc_kw(p, KW_AS)) {
        if (pk(p)->kind == TOK_LPAREN && sqlp_parse_ident_list(p, &c->cols, &c->ncols) < 0)
            return -1;
        if (sqlp_exp_kw(p, KW_AS) < 0) return -1;
    }
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return -1;
    if (!(c->q = sqlp_parse_query(p))) return -1;
    return sqlp_exp_tok(p, TOK_RPAREN);
}

static sql_query *query_body(parser *p) {
    sql_query *q = arena_calloc(p->a, sizeof *q);
    q->pos = pk(p)->pos;
    if (sqlp_acc_kw(p, KW_WITH)) {
        q->recursive = sqlp_acc_kw(p, KW_RECURSIVE);
        avec v = {0};
        do {
            sql_cte c = {0};
            if (parse_cte(p, &c) < 0) return NULL;
            *AV_PUSH(p, &v, sql_cte) = c;
        } while (sqlp_acc(p, TOK_COMMA));
        q->ctes = v.p;
        q->nctes = v.n;
    }
    if (!(q->body = parse_query_body(p, 0))) return NULL;
    if (sqlp_acc_kws(p, KW_ORDER, KW_BY) &&
        sqlp_parse_order_by_list(p, &q->order_by, &q->norder) < 0)
        return NULL;
    bool limit_seen = false;
    for (int round = 0; round < 2; round++) {
        if (!limit_seen && sqlp_acc_kw(p, KW_LIMIT)) {
            limit_seen = true;
            if (!sqlp_acc_kw(p, KW_ALL) && !(q->limit = sqlp_parse_expr(p))) return NULL;
        }
        if (!q->offset && sqlp_acc_kw(p, KW_OFFSET)) {
            if (!(q->offset = sqlp_parse_expr(p))) return NULL;
            if (!sqlp_acc_kw(p, KW_ROW)) sqlp_acc_kw(p, KW_ROWS);
        }
        if (q->limit && !q->offset && sqlp_acc(p, TOK_COMMA)) {
            /* LIMIT offset, count */
            q->offset = q->limit;
            if (!(q->limit = sqlp_parse_expr(p))) return NULL;
        }
    }
    return q;
}

sql_query *sqlp_parse_query(parser *p) {
    if (sqlp_p_enter(p) < 0) return NULL;
    sql_query *q = query_body(p);
    sqlp_p_leave(p);
    return q;
}
