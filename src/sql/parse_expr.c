/* Expression parsing: a Pratt parser with sqlparser-rs 0.34's binding powers, so that operator
 * precedence and error messages match CnosDB's. Also data types, window specifications, ORDER BY
 * items, numeric literal values and INTERVAL strings. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/parse_internal.h"

#include "util/timeutil.h"

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

static expr *mk_func(parser *p, const char *name, srcpos pos, expr **args, uint32_t nargs) {
    expr *e = sqlp_new_expr(p, EX_FUNC, pos);
    e->name = name;
    e->args = args;
    e->nargs = nargs;
    return e;
}

static expr *mk_str_lit(parser *p, const char *s, uint32_t len, srcpos pos) {
    expr *e = sqlp_new_expr(p, EX_LITERAL, pos);
    e->lit.type = VT_STR;
    e->lit.v.s.p = s;
    e->lit.v.s.len = len;
    return e;
}

/* ---------------------------------------------------------------------------------------------
 * literals */

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

void sqlp_number_value(const char *text, value *v) {
    memset(v, 0, sizeof *v);
    bool neg = text[0] == '-';
    if (all_digits(text + neg)) {
        errno = 0;
        long long x = strtoll(text, NULL, 10);
        if (!errno) {
            v->type = VT_I64;
            v->v.i = x;
            return;
        }
        if (!neg) {
            errno = 0;
            unsigned long long u = strtoull(text, NULL, 10);
            if (!errno) {
                v->type = VT_U64;
                v->v.u = u;
                return;
            }
        }
    }
    v->type = VT_F64;
    v->v.f = strtod(text, NULL);
}

static expr *number_lit(parser *p, const token *t) {
    expr *e = sqlp_new_expr(p, EX_LITERAL, t->pos);
    sqlp_number_value(t->text, &e->lit);
    e->text = t->text;
    return e;
}

static expr *interval_lit(parser *p, const token *vt, const char *text, uint32_t len,
                          const char *unit, srcpos pos) {
    char msg[300];
    interval iv;
    if (!interval_parse(text, len, unit, &iv, msg, sizeof msg)) {
        sqlp_p_error(p, vt, "%s", msg);
        return NULL;
    }
    expr *e = sqlp_new_expr(p, EX_LITERAL, pos);
    e->lit.type = VT_INTERVAL;
    e->lit.v.iv = iv;
    e->text = text;
    return e;
}

static bool is_interval_unit_kw(int kw) {
    switch (kw) {
    case KW_YEAR:
    case KW_MONTH:
    case KW_WEEK:
    case KW_DAY:
    case KW_HOUR:
    case KW_MINUTE:
    case KW_SECOND:
    case KW_CENTURY:
    case KW_DECADE:
    case KW_DOW:
    case KW_DOY:
    case KW_EPOCH:
    case KW_ISODOW:
    case KW_ISOYEAR:
    case KW_JULIAN:
    case KW_MICROSECOND:
    case KW_MICROSECONDS:
    case KW_MILLENIUM:
    case KW_MILLENNIUM:
    case KW_MILLISECOND:
    case KW_MILLISECONDS:
    case KW_NANOSECOND:
    case KW_NANOSECONDS:
    case KW_QUARTER:
    case KW_TIMEZONE:
    case KW_TIMEZONE_HOUR:
    case KW_TIMEZONE_MINUTE:
        return true;
    default:
        return false;
    }
}

/* INTERVAL '<value>' [unit [(p)]] — after the INTERVAL keyword. A bare number is accepted as
 * its text. The unit is the default for amounts written without one. */
static expr *parse_interval(parser *p, srcpos pos) {
    const token *vt = pk(p);
    if (vt->kind != TOK_STRING && vt->kind != TOK_NUMBER && vt->kind != TOK_NSTRING &&
        vt->kind != TOK_ESTRING) {
        sqlp_p_expected(p, "a string literal", vt);
        return NULL;
    }
    nx(p);
    const char *unit = "second";
    const token *ut = pk(p);
    if (ut->kind == TOK_WORD && is_interval_unit_kw(ut->kw)) {
        nx(p);
        char *u = arena_strdup(p->a, ut->text);
        for (char *c = u; *c; c++) *c = (char)tolower((unsigned char)*c);
        unit = u;
        if (pk(p)->kind == TOK_LPAREN && pk_n(p, 1)->kind == TOK_NUMBER &&
            pk_n(p, 2)->kind == TOK_RPAREN) {
            nx(p), nx(p), nx(p);
        }
        if (is_kw(pk(p), KW_TO)) {
            sqlp_p_error_code(
                p, pk(p), EC_NOT_IMPL,
                "This feature is not implemented: Unsupported Interval Expression with "
                "last_field");
            return NULL;
        }
    }
    return interval_lit(p, vt, vt->text, vt->len, unit, pos);
}

/* ---------------------------------------------------------------------------------------------
 * data types */

static bool is_builtin_type_kw(int kw) {
    switch (kw) {
    case KW_BOOLEAN:
    case KW_BOOL:
    case KW_FLOAT:
    case KW_FLOAT4:
    case KW_FLOAT8:
    case KW_REAL:
    case KW_DOUBLE:
    case KW_TINYINT:
    case KW_SMALLINT:
    case KW_INT:
    case KW_INT2:
    case KW_INT4:
    case KW_INT8:
    case KW_INTEGER:
    case KW_BIGINT:
    case KW_VARCHAR:
    case KW_CHAR:
    case KW_CHARACTER:
    case KW_TEXT:
    case KW_STRING:
    case KW_DATE:
    case KW_TIME:
    case KW_TIMESTAMP:
    case KW_DATETIME:
    case KW_DECIMAL:
    case KW_NUMERIC:
    case KW_BYTEA:
    case KW_UUID:
    case KW_JSON:
        return true;
    default:
        return false;
    }
}

static bool is_int_type_kw(int kw) {
    return kw == KW_TINYINT || kw == KW_SMALLINT || kw == KW_INT || kw == KW_INT2 ||
           kw == KW_INT4 || kw == KW_INT8 || kw == KW_INTEGER || kw == KW_BIGINT;
}

/* Optional `( n [, m] )` after a type name; appends it to the name. */
static int type_params(parser *p, char **name, bool allow_two, int *first) {
    if (pk(p)->kind != TOK_LPAREN) return 0;
    nx(p);
    const token *a = pk(p);
    if (a->kind != TOK_NUMBER) return sqlp_p_expected(p, "literal int", a);
    nx(p);
    if (first) *first = atoi(a->text);
    if (allow_two && sqlp_acc(p, TOK_COMMA)) {
        const token *b = pk(p);
        if (b->kind != TOK_NUMBER) return sqlp_p_expected(p, "literal int", b);
        nx(p);
        *name = arena_printf(p->a, "%s(%s,%s)", *name, a->text, b->text);
    } else {
        *name = arena_printf(p->a, "%s(%s)", *name, a->text);
    }
    return sqlp_exp_tok(p, TOK_RPAREN);
}

static int time_zone_suffix(parser *p, char **name) {
    if (sqlp_acc_kws3(p, KW_WITH, KW_TIME, KW_ZONE))
        *name = arena_printf(p->a, "%s WITH TIME ZONE", *name);
    else if (sqlp_acc_kws3(p, KW_WITHOUT, KW_TIME, KW_ZONE))
        *name = arena_printf(p->a, "%s WITHOUT TIME ZONE", *name);
    return 0;
}

int sqlp_parse_type(parser *p, sql_type *ty) {
    const token *t = pk(p);
    if (t->kind != TOK_WORD) return sqlp_p_expected(p, "a data type name", t);
    nx(p);
    memset(ty, 0, sizeof *ty);
    ty->vt = VT_NULL;
    if (t->quote) {
        ty->name = ty->text = t->text;
        return 0;
    }
    char *name = arena_strdup(p->a, t->text);
    for (char *c = name; *c; c++) *c = (char)toupper((unsigned char)*c);
    int kw = t->kw;
    if (kw == KW_UNSIGNED && pk(p)->kind == TOK_WORD && is_int_type_kw(pk(p)->kw)) {
        /* UNSIGNED BIGINT: accepted as BIGINT UNSIGNED */
        const token *u = nx(p);
        name = arena_strdup(p->a, sql_kw_name(u->kw));
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_U64;
        ty->name = ty->text = arena_printf(p->a, "%s UNSIGNED", name);
        return 0;
    }
    switch (kw) {
    case KW_BOOLEAN:
    case KW_BOOL:
        ty->vt = VT_BOOL;
        break;
    case KW_FLOAT:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_F64;
        break;
    case KW_FLOAT4:
    case KW_FLOAT8:
    case KW_REAL:
        ty->vt = VT_F64;
        break;
    case KW_DOUBLE:
        if (sqlp_acc_kw(p, KW_PRECISION)) name = arena_printf(p->a, "%s PRECISION", name);
        ty->vt = VT_F64;
        break;
    case KW_TINYINT:
    case KW_SMALLINT:
    case KW_INT:
    case KW_INT2:
    case KW_INT4:
    case KW_INT8:
    case KW_INTEGER:
    case KW_BIGINT:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_I64;
        if (sqlp_acc_kw(p, KW_UNSIGNED)) {
            name = arena_printf(p->a, "%s UNSIGNED", name);
            ty->vt = VT_U64;
        }
        break;
    case KW_CHARACTER:
    case KW_CHAR:
        if (sqlp_acc_kw(p, KW_VARYING)) name = arena_printf(p->a, "%s VARYING", name);
        /* fallthrough */
    case KW_VARCHAR:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        ty->vt = VT_STR;
        break;
    case KW_TEXT:
    case KW_STRING:
        ty->vt = VT_STR;
        break;
    case KW_DATE:
        ty->vt = VT_DATE;
        break;
    case KW_TIMESTAMP: {
        int prec = -1;
        if (type_params(p, &name, false, &prec) < 0) return -1;
        time_zone_suffix(p, &name);
        ty->vt = VT_TS;
        switch (prec) {
        case -1:
        case 9:
            ty->unit = TU_NS;
            break;
        case 6:
            ty->unit = TU_US;
            break;
        case 3:
            ty->unit = TU_MS;
            break;
        case 0:
            ty->unit = TU_S;
            break;
        default:
            ty->vt = VT_NULL;
            break;
        }
        break;
    }
    case KW_TIME:
        if (type_params(p, &name, false, NULL) < 0) return -1;
        time_zone_suffix(p, &name);
        break;
    case KW_INTERVAL:
        ty->vt = VT_INTERVAL;
        break;
    case KW_DECIMAL:
    case KW_NUMERIC:
        if (type_params(p, &name, true, NULL) < 0) return -1;
        break;
    case KW_DATETIME:
    case KW_BYTEA:
    case KW_UUID:
    case KW_JSON:
        break;
    default:
        /* A name Strata does not know (GEOMETRY(POINT, 0) among them): keep it with its
         * modifiers, for the binder to accept or report. */
        if (pk(p)->kind == TOK_LPAREN) {
            nx(p);
            char *mods = "", *raw = "";
            int k = 0;
            while (!sqlp_acc(p, TOK_RPAREN)) {
                const token *m = pk(p);
                if (m->kind != TOK_WORD && m->kind != TOK_NUMBER && m->kind != TOK_STRING)
                    return sqlp_p_expected(p, "type modifiers", m);
                nx(p);
                raw = arena_printf(p->a, "%s%s%s", raw, k ? ", " : "", m->text);
                mods = arena_printf(p->a, "%s%s%s", mods, k ? ", " : "", m->text);
                k++;
                if (!sqlp_acc(p, TOK_COMMA) && pk(p)->kind != TOK_RPAREN)
                    return sqlp_p_expected(p, ")", pk(p));
            }
            if (kw == KW_GEOMETRY) {
                for (char *c = mods; *c; c++) *c = (char)toupper((unsigned char)*c);
                ty->vt = VT_STR;
            }
            if (k) {
                name = arena_printf(p->a, "%s(%s)", name, mods);
                ty->text = arena_printf(p->a, "%s(%s)", t->text, raw);
            }
        }
        if (!ty->text) ty->text = t->text;
        break;
    }
    ty->name = name;
    if (!ty->text) ty->text = name;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * ORDER BY items, window specifications */

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
            off = interval_lit(p, t, t->text, t->len, "second", t->pos);
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
    if (sqlp_acc_kws(p, KW_PARTITION, KW_BY)) {
        plist v = {0};
        do {
            expr *e = sqlp_parse_expr(p);
            if (!e) return -1;
            sqlp_pl_push(p, &v, e);
        } while (sqlp_acc(p, TOK_COMMA));
        w->partition_by = (expr **)sqlp_pl_done(p, &v);
        w->npartition = v.n;
    }
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

/* ---------------------------------------------------------------------------------------------
 * special forms */

static int parse_expr_list(parser *p, expr ***out, uint32_t *n) {
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
    return kw == KW_DATE || is_interval_unit_kw(kw);
}

static expr *parse_extract(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    const token *f = nx(p);
    expr *field;
    if (f->kind == TOK_WORD && is_datetime_field_kw(f->kw)) {
        const char *up = sql_kw_name(f->kw);
        field = mk_str_lit(p, up, (uint32_t)strlen(up), f->pos);
    } else if (f->kind == TOK_STRING) {
        field = mk_str_lit(p, f->text, f->len, f->pos);
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
    return sqlp_expr_fin(p, mk_func(p, "date_part", pos, args, 2));
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
    return sqlp_expr_fin(p, mk_func(p, "strpos", pos, args, 2));
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
    return sqlp_expr_fin(p, mk_func(p, "substr", pos, args, n));
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
    return sqlp_expr_fin(p, mk_func(p, fn, pos, args, what ? 2 : 1));
}

/* ARRAY_AGG([DISTINCT] x [ORDER BY one item] [LIMIT n]): sqlparser-rs parses it apart from
 * other calls, so it takes exactly one argument and no OVER or FILTER. */
static expr *parse_array_agg(parser *p, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    bool distinct = sqlp_acc_kw(p, KW_DISTINCT);
    expr *x = sqlp_parse_expr(p);
    if (!x) return NULL;
    expr **args = arena_alloc(p->a, sizeof(expr *));
    args[0] = x;
    expr *e = mk_func(p, "array_agg", pos, args, 1);
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

/* [a, b, ...] after the `[`. */
static expr *parse_array(parser *p, srcpos pos) {
    expr **args = NULL;
    uint32_t n = 0;
    if (!sqlp_acc(p, TOK_RBRACKET)) {
        if (parse_expr_list(p, &args, &n) < 0) return NULL;
        if (sqlp_exp_tok(p, TOK_RBRACKET) < 0) return NULL;
    }
    return sqlp_expr_fin(p, mk_func(p, "make_array", pos, args, n));
}

/* name(...) [FILTER (WHERE ...)] [OVER (...) | OVER w], after the name. */
static expr *parse_call(parser *p, const char **parts, uint32_t nparts, bool quoted, srcpos pos) {
    if (sqlp_exp_tok(p, TOK_LPAREN) < 0) return NULL;
    expr *e = sqlp_new_expr(p, EX_FUNC, pos);
    e->name = parts[nparts - 1];
    e->quoted = quoted;
    if (nparts > 1) {
        char *q = (char *)parts[0];
        for (uint32_t i = 1; i + 1 < nparts; i++) q = arena_printf(p->a, "%s.%s", q, parts[i]);
        e->qual = q;
    }
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
static expr *parse_name_expr(parser *p, const token *first) {
    avec v = {0};
    *AV_PUSH(p, &v, const char *) = sqlp_ident_text(p, first);
    while (pk(p)->kind == TOK_PERIOD) {
        nx(p);
        const token *t = nx(p);
        if (t->kind == TOK_WORD) {
            *AV_PUSH(p, &v, const char *) = sqlp_ident_text(p, t);
        } else if (t->kind == TOK_MUL) {
            expr *s = sqlp_new_expr(p, EX_STAR, first->pos);
            const char **parts = v.p;
            char *q = (char *)parts[0];
            for (uint32_t i = 1; i < v.n; i++) q = arena_printf(p->a, "%s.%s", q, parts[i]);
            s->qual = q;
            return s;
        } else {
            sqlp_p_expected(p, "an identifier or a '*' after '.'", t);
            return NULL;
        }
    }
    const char **parts = v.p;
    if (pk(p)->kind == TOK_LPAREN) return parse_call(p, parts, v.n, first->quote != 0, first->pos);
    expr *e = sqlp_new_expr(p, EX_COLUMN, first->pos);
    e->name = parts[v.n - 1];
    e->quoted = p->t[p->i - 1].quote != 0;
    e->parts = parts;
    e->nparts = v.n;
    if (v.n > 1) {
        char *q = (char *)parts[0];
        for (uint32_t i = 1; i + 1 < v.n; i++) q = arena_printf(p->a, "%s.%s", q, parts[i]);
        e->qual = q;
    }
    return e;
}

/* `<builtin type> 'string'` is a typed literal. The attempt is undone, with its error, when
 * no string follows the type (so `date`, `time` and friends stay column names). */
static expr *try_typed_string(parser *p) {
    const token *t = pk(p);
    uint32_t save_i = p->i;
    int save_depth = p->depth;
    err scratch, *save_e = p->e;
    p->e = &scratch;
    sql_type ty;
    int rc = sqlp_parse_type(p, &ty);
    p->e = save_e;
    const token *s = pk(p);
    if (rc < 0 || (s->kind != TOK_STRING && s->kind != TOK_NSTRING && s->kind != TOK_ESTRING)) {
        p->i = save_i;
        p->depth = save_depth;
        return NULL;
    }
    nx(p);
    expr *e = sqlp_new_expr(p, EX_CAST, t->pos);
    e->cast_type = ty;
    e->args = arena_alloc(p->a, sizeof(expr *));
    e->args[0] = mk_str_lit(p, s->text, s->len, s->pos);
    e->nargs = 1;
    return sqlp_expr_fin(p, e);
}

static expr *parse_prefix(parser *p) {
    const token *t = pk(p);
    if (t->kind == TOK_WORD && !t->quote && is_builtin_type_kw(t->kw)) {
        expr *e = try_typed_string(p);
        if (e) return e;
    }
    nx(p);
    const token *n1 = pk(p);
    switch (t->kind) {
    case TOK_WORD:
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
                if (n1->kind == TOK_LPAREN) return parse_call(p, &nm, 1, false, t->pos);
                return sqlp_expr_fin(p, mk_func(p, nm, t->pos, NULL, 0));
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
                    return parse_interval(p, t->pos);
                break;
            case KW_ARRAY:
                if (n1->kind == TOK_LBRACKET) {
                    nx(p);
                    return parse_array(p, t->pos);
                }
                break;
            case KW_ARRAY_AGG:
                if (n1->kind == TOK_LPAREN) return parse_array_agg(p, t->pos);
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
        return parse_name_expr(p, t);
    case TOK_NUMBER:
        return number_lit(p, t);
    case TOK_STRING:
    case TOK_NSTRING:
    case TOK_ESTRING:
        return mk_str_lit(p, t->text, t->len, t->pos);
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
        if (parse_expr_list(p, &args, &n) < 0) return NULL;
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
        esc = mk_str_lit(p, c->text, c->len, c->pos);
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
        return sqlp_expr_fin(p, mk_func(p, "array_element", left->pos, args, 2));
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
            const char **parts = v.p;
            char *q = (char *)parts[0];
            for (uint32_t i = 1; i < v.n; i++) q = arena_printf(p->a, "%s.%s", q, parts[i]);
            for (uint32_t i = 0; i <= k; i++) nx(p);
            expr *s = sqlp_new_expr(p, EX_STAR, t->pos);
            s->qual = q;
            return s;
        }
    }
    return sqlp_parse_expr(p);
}
