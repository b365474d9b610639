/* Expression parsing: a Pratt parser with sqlparser-rs 0.34's binding powers, so that operator
 * precedence and error messages match CnosDB's: the node constructors, the prefix forms (the
 * special syntax of CASE, CAST, EXTRACT, ...) and the infix operators. Literals and types are
 * in parse_type.c, names, calls and window specifications in parse_call.c. */
#include <string.h>

#include "sql/parse_internal.h"

/* sqlparser-rs's binding powers (PostgreSQL's order). Unary minus/plus bind their operand at
 * PREC_MUL, NOT at PREC_NOT. */
enum {
    PREC_OR = 5,
    PREC_AND = 10,
    PREC_NOT = 15,
    PREC_IS = 17,
    PREC_LIKE = 19,
    PREC_BETWEEN = 20, /* also IN and the comparison operators */
    PREC_PIPE = 21,
    PREC_CARET = 22, /* ^ << >> */
    PREC_AMP = 23,
    PREC_PLUS = 30,
    PREC_MUL = 40,    /* * / % || */
    PREC_POSTFIX = 50 /* :: and [ ] */
};

expr *sqlp_new_expr(parser *p, int kind, srcpos pos) {
    expr *e = arena_calloc(p->a, sizeof *e);
    e->kind = (uint8_t)kind;
    e->pos = pos;
    e->height = 1;
    return e;
}

static inline uint32_t hmax(uint32_t h, const expr *c) {
    return c && c->height > h ? c->height : h;
}

static uint32_t window_height(const sql_window *w, uint32_t h) {
    if (!w) return h;
    for (uint32_t i = 0; i < w->npartition; i++) h = hmax(h, w->partition_by[i]);
    for (uint32_t i = 0; i < w->norder; i++) h = hmax(h, w->order_by[i].e);
    h = hmax(h, w->frame_start.offset);
    return hmax(h, w->frame_end.offset);
}

expr *sqlp_expr_fin(parser *p, expr *e) {
    uint32_t h = 0;
    for (uint32_t i = 0; i < e->nargs; i++) h = hmax(h, e->args[i]);
    for (uint32_t i = 0; i < e->nwhen; i++) h = hmax(hmax(h, e->when[i]), e->then[i]);
    h = hmax(hmax(hmax(h, e->operand), e->els), e->filter);
    for (uint32_t i = 0; i < e->nfunc_order; i++) h = hmax(h, e->func_order[i].e);
    h = window_height(e->over, h);
    e->height = h + 1;
    if (e->height > SQL_MAX_EXPR_HEIGHT) {
        token at = {.pos = e->pos};
        sqlp_p_error(p, &at, "recursion limit exceeded");
        return NULL;
    }
    return e;
}

static expr *mk_unary(parser *p, int op, srcpos pos, expr *x) {
    expr *e = sqlp_new_expr(p, EX_UNARY, pos);
    e->op = (uint8_t)op;
    e->args = arena_alloc(p->a, sizeof(expr *));
    e->args[0] = x;
    e->nargs = 1;
    return sqlp_expr_fin(p, e);
}

static expr *mk_binary(parser *p, int op, expr *l, expr *r) {
    expr *e = sqlp_new_expr(p, EX_BINARY, l->pos);
    e->op = (uint8_t)op;
    e->args = arena_alloc(p->a, 2 * sizeof(expr *));
    e->args[0] = l;
    e->args[1] = r;
    e->nargs = 2;
    return sqlp_expr_fin(p, e);
}

expr *sqlp_new_func(parser *p, const char *name, srcpos pos, expr **args, uint32_t nargs) {
    expr *e = sqlp_new_expr(p, EX_FUNC, pos);
    e->name = name;
    e->args = args;
    e->nargs = nargs;
    return e;
}

expr *sqlp_str_lit(parser *p, const char *s, uint32_t len, srcpos pos) {
    expr *e = sqlp_new_expr(p, EX_LITERAL, pos);
    e->lit.type = VT_STR;
    e->lit.v.s.p = s;
    e->lit.v.s.len = len;
    return e;
}

/* ---------------------------------------------------------------------------------------------
 * special forms */

int sqlp_parse_expr_list(parser *p, expr ***out, uint32_t *n) {
    plist v = {0};
    do {
        expr *e = sqlp_parse_expr(p);
        if (!e) return -1;
        sqlp_pl_push(p, &v, e);
    } while (sqlp_acc(p, TOK_COMMA));
    *out = (expr **)sqlp_pl_done(p, &v);
    *n = v.n;
    return 0;
}

static expr *parse_case(parser *p, srcpos pos) {
    expr *e = sqlp_new_expr(p, EX_CASE, pos);
    if (!sqlp_acc_kw(p, KW_WHEN)) {
        if (!(e->operand = sqlp_parse_expr(p))) return NULL;
        if (sqlp_exp_kw(p, KW_WHEN) < 0) return NULL;
    }
    avec w = {0}, t = {0};
    do {
        expr *c = sqlp_parse_expr(p);
        if (!c) return NULL;
        if (sqlp_exp_kw(p, KW_THEN) < 0) return NULL;
        expr *r = sqlp_parse_expr(p);
        if (!r) return NULL;
        *AV_PUSH(p, &w, expr *) = c;
        *AV_PUSH(p, &t, expr *) = r;
    } while (sqlp_acc_kw(p, KW_WHEN));
    e->when = w.p;
    e->then = t.p;
    e->nwhen = w.n;
    if (sqlp_acc_kw(p, KW_ELSE) && !(e->els = sqlp_parse_expr(p))) return NULL;
    if (sqlp_exp_kw(p, KW_END) < 0) return NULL;
    return sqlp_expr_fin(p, e);
}

static expr *parse_cast(parser *p, srcpos pos, bool try_cast) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *x = sqlp_parse_expr(p);
    if (!x) return NULL;
    if (sqlp_exp_kw(p, KW_AS) < 0) return NULL;
    expr *e = sqlp_new_expr(p, EX_CAST, pos);
    if (sqlp_parse_type(p, &e->cast_type) < 0) return NULL;
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    e->op = try_cast ? OP_TRY_CAST : OP_NONE;
    e->args = arena_alloc(p->a, sizeof(expr *));
    e->args[0] = x;
    e->nargs = 1;
    return sqlp_expr_fin(p, e);
}

static expr *parse_exists(parser *p, srcpos pos, bool negated) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *e = sqlp_new_expr(p, EX_EXISTS, pos);
    e->negated = negated;
    if (!(e->sub = sqlp_parse_query(p))) return NULL;
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    return e;
}

static bool is_datetime_field_kw(int kw) {
    return kw == KW_DATE || sqlp_is_interval_unit_kw(kw);
}

static expr *parse_extract(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    const token *f = nx(p);
    expr *field;
    if (f->kind == TOK_WORD && is_datetime_field_kw(f->kw)) {
        const char *up = sql_kw_name(f->kw);
        field = sqlp_str_lit(p, up, (uint32_t)strlen(up), f->pos);
    } else if (f->kind == TOK_STRING) {
        field = sqlp_str_lit(p, f->text, f->len, f->pos);
    } else {
        sqlp_p_expected(p, "date/time field", f);
        return NULL;
    }
    if (sqlp_exp_kw(p, KW_FROM) < 0) return NULL;
    expr *x = sqlp_parse_expr(p);
    if (!x) return NULL;
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    expr **args = arena_alloc(p->a, 2 * sizeof(expr *));
    args[0] = field;
    args[1] = x;
    return sqlp_expr_fin(p, sqlp_new_func(p, "date_part", pos, args, 2));
}

static expr *parse_position(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *needle = sqlp_parse_subexpr(p, PREC_BETWEEN);
    if (!needle) return NULL;
    if (!sqlp_acc_kw(p, KW_IN)) {
        sqlp_p_error(p, pk(p), "Position function must include IN keyword");
        return NULL;
    }
    expr *hay = sqlp_parse_expr(p);
    if (!hay) return NULL;
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    expr **args = arena_alloc(p->a, 2 * sizeof(expr *));
    args[0] = hay;
    args[1] = needle;
    return sqlp_expr_fin(p, sqlp_new_func(p, "strpos", pos, args, 2));
}

static expr *parse_substring(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *x = sqlp_parse_expr(p), *from = NULL, *len = NULL;
    if (!x) return NULL;
    if ((sqlp_acc_kw(p, KW_FROM) || sqlp_acc(p, TOK_COMMA)) && !(from = sqlp_parse_expr(p)))
        return NULL;
    if ((sqlp_acc_kw(p, KW_FOR) || sqlp_acc(p, TOK_COMMA)) && !(len = sqlp_parse_expr(p)))
        return NULL;
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    expr **args = arena_alloc(p->a, 3 * sizeof(expr *));
    uint32_t n = 0;
    args[n++] = x;
    if (from) {
        args[n++] = from;
    } else if (len) {
        expr *one = sqlp_new_expr(p, EX_LITERAL, pos);
        one->lit.type = VT_I64;
        one->lit.v.i = 1;
        one->text = "1";
        args[n++] = one;
    }
    if (len) args[n++] = len;
    return sqlp_expr_fin(p, sqlp_new_func(p, "substr", pos, args, n));
}

static expr *parse_trim(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    const char *fn = "trim";
    if (sqlp_acc_kw(p, KW_BOTH))
        fn = "btrim";
    else if (sqlp_acc_kw(p, KW_LEADING))
        fn = "ltrim";
    else if (sqlp_acc_kw(p, KW_TRAILING))
        fn = "rtrim";
    /* TRIM(LEADING FROM s): no characters given */
    bool side_from = strcmp(fn, "trim") != 0 && sqlp_acc_kw(p, KW_FROM);
    expr *first = sqlp_parse_expr(p), *what = NULL, *x = first;
    if (!first) return NULL;
    if (side_from) goto done;
    if (sqlp_acc_kw(p, KW_FROM)) {
        what = first;
        if (!(x = sqlp_parse_expr(p))) return NULL;
    } else if (sqlp_acc(p, TOK_COMMA)) {
        if (!(what = sqlp_parse_expr(p))) return NULL;
    }
done:
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    expr **args = arena_alloc(p->a, 2 * sizeof(expr *));
    args[0] = x;
    args[1] = what;
    return sqlp_expr_fin(p, sqlp_new_func(p, fn, pos, args, what ? 2 : 1));
}

/* [a, b, ...] after the `[`. */
static expr *parse_array(parser *p, srcpos pos) {
    expr **args = NULL;
    uint32_t n = 0;
    if (!sqlp_acc(p, TOK_RBRACKET)) {
        if (sqlp_parse_expr_list(p, &args, &n) < 0) return NULL;
        if (sqlp_exp_tok(p, TOK_RBRACKET) < 0) return NULL;
    }
    return sqlp_expr_fin(p, sqlp_new_func(p, "make_array", pos, args, n));
}

/* A prefix that starts with a word t (n1 the token after it): a keyword's special form, else a
 * name or a call. */
static expr *parse_word(parser *p, const token *t, const token *n1) {
    if (!t->quote) {
        switch (t->kw) {
        case KW_TRUE:
        case KW_FALSE: {
            expr *e = sqlp_new_expr(p, EX_LITERAL, t->pos);
            e->lit.type = VT_BOOL;
            e->lit.v.b = t->kw == KW_TRUE;
            return e;
        }
        case KW_NULL: {
            expr *e = sqlp_new_expr(p, EX_LITERAL, t->pos);
            e->lit.type = VT_NULL;
            e->lit.null = true;
            return e;
        }
        case KW_CURRENT_TIMESTAMP:
        case KW_CURRENT_TIME:
        case KW_CURRENT_DATE:
        case KW_LOCALTIME:
        case KW_LOCALTIMESTAMP: {
            const char *nm = sqlp_ident_text(p, t);
            if (n1->kind == TOK_LPAREN) return sqlp_parse_call(p, &nm, 1, false, t->pos);
            return sqlp_expr_fin(p, sqlp_new_func(p, nm, t->pos, NULL, 0));
        }
        case KW_CASE:
            return parse_case(p, t->pos);
        case KW_CAST:
            if (n1->kind == TOK_LPAREN) return parse_cast(p, t->pos, false);
            break;
        case KW_TRY_CAST:
        case KW_SAFE_CAST:
            if (n1->kind == TOK_LPAREN) return parse_cast(p, t->pos, true);
            break;
        case KW_EXISTS:
            if (n1->kind == TOK_LPAREN) return parse_exists(p, t->pos, false);
            break;
        case KW_EXTRACT:
            if (n1->kind == TOK_LPAREN) return parse_extract(p, t->pos);
            break;
        case KW_POSITION:
            if (n1->kind == TOK_LPAREN) return parse_position(p, t->pos);
            break;
        case KW_SUBSTRING:
            if (n1->kind == TOK_LPAREN) return parse_substring(p, t->pos);
            break;
        case KW_TRIM:
            if (n1->kind == TOK_LPAREN) return parse_trim(p, t->pos);
            break;
        case KW_INTERVAL:
            if (n1->kind == TOK_STRING || n1->kind == TOK_NUMBER || n1->kind == TOK_NSTRING ||
                n1->kind == TOK_ESTRING)
                return sqlp_parse_interval(p, t->pos);
            break;
        case KW_ARRAY:
            if (n1->kind == TOK_LBRACKET) {
                nx(p);
                return parse_array(p, t->pos);
            }
            break;
        case KW_ARRAY_AGG:
            if (n1->kind == TOK_LPAREN) return sqlp_parse_array_agg(p, t->pos);
            break;
        case KW_NOT:
            if (is_kw(n1, KW_EXISTS) && pk_n(p, 1)->kind == TOK_LPAREN) {
                nx(p);
                return parse_exists(p, t->pos, true);
            } else {
                expr *x = sqlp_parse_subexpr(p, PREC_NOT);
                return x ? mk_unary(p, OP_NOT, t->pos, x) : NULL;
            }
        default:
            break;
        }
    }
    return sqlp_parse_name_expr(p, t);
}

static expr *parse_prefix(parser *p) {
    const token *t = pk(p);
    expr *typed = sqlp_typed_string(p);
    if (typed) return typed;
    nx(p);
    const token *n1 = pk(p);
    switch (t->kind) {
    case TOK_WORD:
        return parse_word(p, t, n1);
    case TOK_NUMBER:
        return sqlp_number_lit(p, t);
    case TOK_STRING:
    case TOK_NSTRING:
    case TOK_ESTRING:
        return sqlp_str_lit(p, t->text, t->len, t->pos);
    case TOK_XSTRING:
        sqlp_p_error_code(p, t, EC_NOT_IMPL, "This feature is not implemented: hex string literal");
        return NULL;
    case TOK_MINUS:
    case TOK_PLUS: {
        expr *x = sqlp_parse_subexpr(p, PREC_MUL);
        if (!x) return NULL;
        /* -<number> is a negative literal (as DataFusion folds it); -(10) is not. */
        if (t->kind == TOK_MINUS && n1->kind == TOK_NUMBER && x->kind == EX_LITERAL && x->text &&
            x->pos.line == n1->pos.line && x->pos.col == n1->pos.col) {
            char *txt = arena_printf(p->a, "-%s", x->text);
            sqlp_number_value(txt, &x->lit);
            x->text = txt;
            x->pos = t->pos;
            return x;
        }
        return mk_unary(p, t->kind == TOK_MINUS ? OP_NEG : OP_PLUS, t->pos, x);
    }
    case TOK_LPAREN: {
        if (is_kw(n1, KW_SELECT) || is_kw(n1, KW_WITH)) {
            expr *e = sqlp_new_expr(p, EX_SUBQUERY, t->pos);
            if (!(e->sub = sqlp_parse_query(p))) return NULL;
            if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
            return e;
        }
        expr **args;
        uint32_t n;
        if (sqlp_parse_expr_list(p, &args, &n) < 0) return NULL;
        if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
        if (n == 1) return args[0];
        expr *e = sqlp_new_expr(p, EX_TUPLE, t->pos);
        e->args = args;
        e->nargs = n;
        return sqlp_expr_fin(p, e);
    }
    case TOK_LBRACKET:
        return parse_array(p, t->pos);
    case TOK_PLACEHOLDER:
        sqlp_p_error_code(p, t, EC_NOT_IMPL, "This feature is not implemented: placeholder %s",
                          t->text);
        return NULL;
    default:
        sqlp_p_expected(p, "an expression:", t);
        return NULL;
    }
}

/* ---------------------------------------------------------------------------------------------
 * infix operators */

static int next_prec(const parser *p) {
    const token *t = pk(p);
    switch (t->kind) {
    case TOK_WORD:
        switch (t->kw) {
        case KW_OR:
            return PREC_OR;
        case KW_AND:
            return PREC_AND;
        case KW_NOT: {
            const token *u = pk_n(p, 1);
            if (is_kw(u, KW_IN) || is_kw(u, KW_BETWEEN)) return PREC_BETWEEN;
            if (is_kw(u, KW_LIKE) || is_kw(u, KW_ILIKE) || is_kw(u, KW_SIMILAR)) return PREC_LIKE;
            return 0;
        }
        case KW_IS:
            return PREC_IS;
        case KW_IN:
        case KW_BETWEEN:
            return PREC_BETWEEN;
        case KW_LIKE:
        case KW_ILIKE:
        case KW_SIMILAR:
            return PREC_LIKE;
        default:
            return 0;
        }
    case TOK_EQ:
    case TOK_DEQ:
    case TOK_NEQ:
    case TOK_LT:
    case TOK_LE:
    case TOK_GT:
    case TOK_GE:
    case TOK_SPACESHIP:
    case TOK_TILDE:
    case TOK_TILDE_STAR:
    case TOK_EXCL_TILDE:
    case TOK_EXCL_TILDE_STAR:
        return PREC_BETWEEN;
    case TOK_PIPE:
        return PREC_PIPE;
    case TOK_CARET:
    case TOK_SHL:
    case TOK_SHR:
        return PREC_CARET;
    case TOK_AMP:
        return PREC_AMP;
    case TOK_PLUS:
    case TOK_MINUS:
        return PREC_PLUS;
    case TOK_MUL:
    case TOK_DIV:
    case TOK_MOD:
    case TOK_CONCAT:
        return PREC_MUL;
    case TOK_DCOLON:
    case TOK_LBRACKET:
        return PREC_POSTFIX;
    default:
        return 0;
    }
}

static int binop_of(const token *t) {
    switch (t->kind) {
    case TOK_EQ:
    case TOK_DEQ:
        return OP_EQ;
    case TOK_NEQ:
        return OP_NE;
    case TOK_LT:
        return OP_LT;
    case TOK_LE:
        return OP_LE;
    case TOK_GT:
        return OP_GT;
    case TOK_GE:
        return OP_GE;
    case TOK_SPACESHIP:
        return OP_IS_NOT_DISTINCT;
    case TOK_PLUS:
        return OP_ADD;
    case TOK_MINUS:
        return OP_SUB;
    case TOK_MUL:
        return OP_MUL;
    case TOK_DIV:
        return OP_DIV;
    case TOK_MOD:
        return OP_MOD;
    case TOK_CONCAT:
        return OP_CONCAT;
    case TOK_PIPE:
        return OP_BITOR;
    case TOK_CARET:
        return OP_BITXOR;
    case TOK_AMP:
        return OP_BITAND;
    case TOK_SHL:
        return OP_SHL;
    case TOK_SHR:
        return OP_SHR;
    case TOK_TILDE:
        return OP_REGEX;
    case TOK_TILDE_STAR:
        return OP_IREGEX;
    case TOK_EXCL_TILDE:
        return OP_NREGEX;
    case TOK_EXCL_TILDE_STAR:
        return OP_NIREGEX;
    case TOK_WORD:
        if (t->kw == KW_AND) return OP_AND;
        if (t->kw == KW_OR) return OP_OR;
        return OP_NONE;
    default:
        return OP_NONE;
    }
}

static expr *parse_in(parser *p, expr *left, bool negated) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *e;
    if (is_kw(pk(p), KW_SELECT) || is_kw(pk(p), KW_WITH)) {
        e = sqlp_new_expr(p, EX_IN_QUERY, left->pos);
        if (!(e->sub = sqlp_parse_query(p))) return NULL;
        e->args = arena_alloc(p->a, sizeof(expr *));
        e->args[0] = left;
        e->nargs = 1;
    } else {
        plist v = {0};
        sqlp_pl_push(p, &v, left);
        do {
            expr *x = sqlp_parse_expr(p);
            if (!x) return NULL;
            sqlp_pl_push(p, &v, x);
        } while (sqlp_acc(p, TOK_COMMA));
        e = sqlp_new_expr(p, EX_IN_LIST, left->pos);
        e->args = (expr **)sqlp_pl_done(p, &v);
        e->nargs = v.n;
    }
    if (sqlp_exp_tok(p, TOK_RPAREN) < 0) return NULL;
    e->negated = negated;
    return sqlp_expr_fin(p, e);
}

static expr *parse_like(parser *p, expr *left, bool negated, int op) {
    expr *pat = sqlp_parse_subexpr(p, PREC_LIKE);
    if (!pat) return NULL;
    expr *esc = NULL;
    if (sqlp_acc_kw(p, KW_ESCAPE)) {
        const token *c = pk(p);
        if (c->kind != TOK_STRING || c->len != 1) {
            sqlp_p_expected(p, "a single character string literal", c);
            return NULL;
        }
        nx(p);
        esc = sqlp_str_lit(p, c->text, c->len, c->pos);
    }
    expr *e = sqlp_new_expr(p, EX_LIKE, left->pos);
    e->op = (uint8_t)op;
    e->negated = negated;
    e->args = arena_alloc(p->a, 3 * sizeof(expr *));
    e->args[0] = left;
    e->args[1] = pat;
    e->args[2] = esc;
    e->nargs = esc ? 3 : 2;
    return sqlp_expr_fin(p, e);
}

static expr *parse_infix(parser *p, expr *left, int prec) {
    const token *t = nx(p);
    int op = binop_of(t);
    if (op != OP_NONE) {
        expr *r = sqlp_parse_subexpr(p, prec);
        return r ? mk_binary(p, op, left, r) : NULL;
    }
    if (t->kind == TOK_DCOLON) {
        expr *e = sqlp_new_expr(p, EX_CAST, left->pos);
        if (sqlp_parse_type(p, &e->cast_type) < 0) return NULL;
        e->args = arena_alloc(p->a, sizeof(expr *));
        e->args[0] = left;
        e->nargs = 1;
        return sqlp_expr_fin(p, e);
    }
    if (t->kind == TOK_LBRACKET) {
        expr *idx = sqlp_parse_expr(p);
        if (!idx) return NULL;
        if (sqlp_exp_tok(p, TOK_RBRACKET) < 0) return NULL;
        expr **args = arena_alloc(p->a, 2 * sizeof(expr *));
        args[0] = left;
        args[1] = idx;
        return sqlp_expr_fin(p, sqlp_new_func(p, "array_element", left->pos, args, 2));
    }
    if (is_kw(t, KW_IS)) {
        int isop = 0;
        bool neg = false;
        if (sqlp_acc_kw(p, KW_NULL))
            isop = OP_IS_NULL;
        else if (sqlp_acc_kws(p, KW_NOT, KW_NULL))
            isop = OP_IS_NULL, neg = true;
        else if (sqlp_acc_kw(p, KW_TRUE))
            isop = OP_IS_TRUE;
        else if (sqlp_acc_kws(p, KW_NOT, KW_TRUE))
            isop = OP_IS_TRUE, neg = true;
        else if (sqlp_acc_kw(p, KW_FALSE))
            isop = OP_IS_FALSE;
        else if (sqlp_acc_kws(p, KW_NOT, KW_FALSE))
            isop = OP_IS_FALSE, neg = true;
        else if (sqlp_acc_kw(p, KW_UNKNOWN))
            isop = OP_IS_UNKNOWN;
        else if (sqlp_acc_kws(p, KW_NOT, KW_UNKNOWN))
            isop = OP_IS_UNKNOWN, neg = true;
        if (isop) {
            expr *e = sqlp_new_expr(p, EX_IS, left->pos);
            e->op = (uint8_t)isop;
            e->negated = neg;
            e->args = arena_alloc(p->a, sizeof(expr *));
            e->args[0] = left;
            e->nargs = 1;
            return sqlp_expr_fin(p, e);
        }
        int dop = 0;
        if (sqlp_acc_kws(p, KW_DISTINCT, KW_FROM))
            dop = OP_IS_DISTINCT;
        else if (sqlp_acc_kws3(p, KW_NOT, KW_DISTINCT, KW_FROM))
            dop = OP_IS_NOT_DISTINCT;
        if (dop) {
            expr *r = sqlp_parse_expr(p);
            return r ? mk_binary(p, dop, left, r) : NULL;
        }
        sqlp_p_expected(p, "[NOT] NULL or TRUE|FALSE or [NOT] DISTINCT FROM after IS", pk(p));
        return NULL;
    }
    bool negated = false;
    const token *k = t;
    if (is_kw(t, KW_NOT)) {
        negated = true;
        k = nx(p);
    }
    if (is_kw(k, KW_IN)) return parse_in(p, left, negated);
    if (is_kw(k, KW_BETWEEN)) {
        expr *lo = sqlp_parse_subexpr(p, PREC_BETWEEN);
        if (!lo) return NULL;
        if (sqlp_exp_kw(p, KW_AND) < 0) return NULL;
        expr *hi = sqlp_parse_subexpr(p, PREC_BETWEEN);
        if (!hi) return NULL;
        expr *e = sqlp_new_expr(p, EX_BETWEEN, left->pos);
        e->negated = negated;
        e->args = arena_alloc(p->a, 3 * sizeof(expr *));
        e->args[0] = left;
        e->args[1] = lo;
        e->args[2] = hi;
        e->nargs = 3;
        return sqlp_expr_fin(p, e);
    }
    if (is_kw(k, KW_LIKE)) return parse_like(p, left, negated, OP_LIKE);
    if (is_kw(k, KW_ILIKE)) return parse_like(p, left, negated, OP_ILIKE);
    if (is_kw(k, KW_SIMILAR)) {
        if (sqlp_exp_kw(p, KW_TO) < 0) return NULL;
        return parse_like(p, left, negated, OP_SIMILAR);
    }
    sqlp_p_expected(p, "IN or BETWEEN after NOT", k);
    return NULL;
}

expr *sqlp_parse_subexpr(parser *p, int prec) {
    if (sqlp_p_enter(p) < 0) return NULL;
    expr *e = parse_prefix(p);
    while (e) {
        int np = next_prec(p);
        if (prec >= np) break;
        e = parse_infix(p, e, np);
    }
    sqlp_p_leave(p);
    return e;
}

expr *sqlp_parse_expr(parser *p) {
    return sqlp_parse_subexpr(p, 0);
}

expr *sqlp_parse_wildcard_expr(parser *p) {
    const token *t = pk(p);
    if (t->kind == TOK_MUL) {
        nx(p);
        return sqlp_new_expr(p, EX_STAR, t->pos);
    }
    if (t->kind == TOK_WORD && pk_n(p, 1)->kind == TOK_PERIOD) {
        /* q.* ends in a star; anything else is an ordinary expression, parsed afresh. */
        uint32_t k = 0;
        while (pk_n(p, k)->kind == TOK_WORD && pk_n(p, k + 1)->kind == TOK_PERIOD) k += 2;
        if (k > 0 && pk_n(p, k)->kind == TOK_MUL) {
            avec v = {0};
            for (uint32_t i = 0; i < k; i += 2)
                *AV_PUSH(p, &v, const char *) = sqlp_ident_text(p, pk_n(p, i));
            const char *q = sqlp_join_parts(p, v.p, v.n);
            for (uint32_t i = 0; i <= k; i++) nx(p);
            expr *s = sqlp_new_expr(p, EX_STAR, t->pos);
            s->qual = q;
            return s;
        }
    }
    return sqlp_parse_expr(p);
}
