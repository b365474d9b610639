/* The binder: resolves the names of an AST expression against a scope and types every node,
 * producing a bexpr tree (sql/expr.h) whose column references are input positions. Operands
 * are coerced to a common type the way DataFusion coerces them, and constant casts and
 * function calls are folded. Over an aggregate (binder.agg), a group key expression becomes a
 * column of the aggregate's output and each aggregate call a new aggregate. See plan_int.h. */
#include "sql/plan_int.h"

#include "sql/errstage.h"
#include "sql/func.h"
#include "sql/pattern.h"
#include "util/buf.h"
#include "util/dec.h"
#include "util/vstruct.h"

#include <string.h>
#include <strings.h>

int plan_err(err *er, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vplan(er, fmt, ap);
    va_end(ap);
    return -1;
}

const char *plan_scope_qual(const struct scope *sc) {
    return sc->n ? sc->cols[0].qual : NULL;
}

uint32_t plan_scope_find(const struct scope *sc, const expr *e, uint32_t *idx) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < sc->n; i++) {
        const char *cn = sc->cols[i].name; /* the first byte rules out most columns */
        if (sc->cols[i].vis == CV_GONE || cn[0] != e->name[0] || strcmp(cn, e->name) != 0) continue;
        if (!e->qual && sc->cols[i].vis == CV_USING_RIGHT) continue;
        if (e->qual) {
            /* `t.col`, or `db.t.col` where the table part decides; table names may themselves
             * contain dots (OpenTSDB metrics), so an exact match comes first. */
            const char *cq = sc->cols[i].qual;
            if (!cq) continue;
            if (strcmp(cq, e->qual) != 0) {
                const char *dot = strrchr(e->qual, '.');
                if (!dot || strcmp(cq, dot + 1) != 0) continue;
            }
        }
        if (n++ == 0) *idx = i;
    }
    return n;
}

/* DataFusion's quote_identifier: a name that is not lower-case letters, digits and _ (or
 * starts with a digit) is shown in double quotes, inner quotes doubled. */
static void put_ident(buf *b, const char *s) {
    bool plain = *s && !(*s >= '0' && *s <= '9');
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (plain) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"') buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

static void put_qualified(buf *b, const char *qual, const char *name) {
    if (qual) {
        put_ident(b, qual);
        buf_putc(b, '.');
    }
    put_ident(b, name);
}

static int find_col(const struct binder *bd, const expr *e, uint32_t *idx, err *er) {
    const struct scope *sc = bd->in;
    uint32_t n = plan_scope_find(sc, e, idx);
    if (n > 1) return plan_err(er, "Ambiguous reference to unqualified field %s", e->name);
    if (n == 0) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "Datafusion: Schema error: No field named ");
        put_qualified(&b, e->qual, e->name);
        buf_putc(&b, '.');
        /* DataFusion lists the valid fields only when there are some */
        for (uint32_t i = 0; i < sc->n; i++) {
            buf_puts(&b, i ? ", " : " Valid fields are ");
            put_qualified(&b, bd->unqualified_errors ? NULL : sc->cols[i].qual, sc->cols[i].name);
        }
        if (sc->n) buf_putc(&b, '.');
        int r = err_set(er, 422, EC_QUERY_INTERNAL, "%s", buf_cstr(&b));
        buf_free(&b);
        return r;
    }
    return 0;
}

/* A decimal beside a number (DataFusion 27's comparison coercion, which prefers decimals to
 * floats): both take the wider decimal, an integer counting as the decimal of its digits
 * (Int64 = Decimal128(20, 0)) and a float as Decimal128(30, 15) (Float32: (14, 7)). */
static int unify_dec(arena *a, bexpr **x, bexpr **y, err *er) {
    int cx = dec_code_of_num((*x)->type, (*x)->unit), cy = dec_code_of_num((*y)->type, (*y)->unit);
    int w = cx < 0 || cy < 0 ? -1 : dec_wider_code((uint8_t)cx, (uint8_t)cy);
    if (w < 0) return plan_err(er, "more distinct decimal types than Strata keeps");
    if (bx_cast(a, x, VT_DEC128, (uint8_t)w, er) < 0) return -1;
    return bx_cast(a, y, VT_DEC128, (uint8_t)w, er);
}

/* Decimal arithmetic (DataFusion 27): beside a float both are Float64; otherwise an integer is
 * the decimal of its digits, the result type is dec_result_code's, and the operands are
 * brought to their wider type first except for `*`, whose kernel adds the scales. */
static int bind_dec_arith(arena *a, bexpr *r, bexpr **x, bexpr **y, err *er) {
    uint8_t tx = (*x)->type, ty = (*y)->type;
    if (tx == VT_NULL) tx = ty;
    if (ty == VT_NULL) ty = tx;
    if (tx == VT_F64 || ty == VT_F64) {
        r->type = VT_F64;
        if (bx_cast(a, x, VT_F64, 0, er) < 0) return -1;
        return bx_cast(a, y, VT_F64, 0, er);
    }
    uint8_t ux = (*x)->type == VT_NULL ? (*y)->unit : (*x)->unit;
    uint8_t uy = (*y)->type == VT_NULL ? (*x)->unit : (*y)->unit;
    int cx = dec_code_of_num(tx, ux), cy = dec_code_of_num(ty, uy);
    char opch = r->op == OP_ADD   ? '+'
                : r->op == OP_SUB ? '-'
                : r->op == OP_MUL ? '*'
                : r->op == OP_DIV ? '/'
                                  : '%';
    int rc = cx < 0 || cy < 0 ? -1 : dec_result_code(opch, (uint8_t)cx, (uint8_t)cy);
    int w = rc < 0 ? -1 : dec_wider_code((uint8_t)cx, (uint8_t)cy);
    if (w < 0) return plan_err(er, "more distinct decimal types than Strata keeps");
    if (opch != '*') cx = cy = w;
    r->type = VT_DEC128;
    r->unit = (uint8_t)rc;
    if (bx_cast(a, x, VT_DEC128, (uint8_t)cx, er) < 0) return -1;
    return bx_cast(a, y, VT_DEC128, (uint8_t)cy, er);
}

/* Common type for comparison / arithmetic / CASE branches. */
static int unify(struct binder *bd, bexpr **x, bexpr **y, bool arith, uint8_t opc, err *er) {
    arena *a = bd->a;
    uint8_t tx = (*x)->type, ty = (*y)->type;
    if (tx == VT_NULL && ty == VT_NULL) return 0;
    if (tx == VT_NULL) return bx_cast(a, x, ty, (*y)->unit, er);
    if (ty == VT_NULL) return bx_cast(a, y, tx, (*x)->unit, er);
    /* lists meet only lists of the same element type, and then only for (in)equality and
     * DISTINCT FROM: their bytes are canonical (util/vlist.h), so equal bytes are equal lists;
     * structs alike (util/vstruct.h) */
    if (tx == VT_LIST || ty == VT_LIST || tx == VT_STRUCT || ty == VT_STRUCT) {
        bool eq =
            opc == OP_EQ || opc == OP_NE || opc == OP_IS_DISTINCT || opc == OP_IS_NOT_DISTINCT;
        if (tx == ty && (*x)->unit == (*y)->unit && !arith && eq) return 0;
        goto no_common;
    }
    if (tx == ty && (tx == VT_I64 || tx == VT_F64) && (*x)->unit != (*y)->unit) {
        /* Int32 beside Int64, Float32 beside Float64: the wider */
        if (bx_cast(a, x, tx, NU_64, er) < 0) return -1;
        return bx_cast(a, y, tx, NU_64, er);
    }
    if (tx == ty && ((tx != VT_TS && tx != VT_DEC128) || (*x)->unit == (*y)->unit)) return 0;
    if ((tx == VT_DEC128 && vtype_numeric(ty)) || (ty == VT_DEC128 && vtype_numeric(tx)) ||
        (tx == VT_DEC128 && ty == VT_DEC128))
        return unify_dec(a, x, y, er);
    if (tx == VT_TS && ty == VT_TS) {
        uint8_t u = (*x)->unit < (*y)->unit ? (*x)->unit : (*y)->unit; /* finer unit */
        if (bx_cast(a, x, VT_TS, u, er) < 0) return -1;
        return bx_cast(a, y, VT_TS, u, er);
    }
    /* a DATE beside a timestamp is its midnight (DataFusion's temporal coercion) */
    if (tx == VT_TS && ty == VT_DATE) return bx_cast(a, y, VT_TS, (*x)->unit, er);
    if (ty == VT_TS && tx == VT_DATE) return bx_cast(a, x, VT_TS, (*y)->unit, er);
    if (vtype_numeric(tx) && vtype_numeric(ty)) {
        uint8_t t = (tx == VT_F64 || ty == VT_F64) ? VT_F64 : VT_I64;
        if (bx_cast(a, x, t, 0, er) < 0) return -1;
        return bx_cast(a, y, t, 0, er);
    }
    /* text and booleans do not compare (DataFusion 27's comparison_coercion) */
    if ((tx == VT_STR && ty == VT_BOOL) || (tx == VT_BOOL && ty == VT_STR)) goto no_common;
    if (!arith) {
        /* time vs string / integer: the other side takes the timestamp's type. */
        if (tx == VT_TS && (ty == VT_STR || vtype_numeric(ty)))
            return bx_cast(a, y, VT_TS, (*x)->unit, er);
        if (ty == VT_TS && (tx == VT_STR || vtype_numeric(tx)))
            return bx_cast(a, x, VT_TS, (*y)->unit, er);
        if (tx == VT_STR) return bx_cast(a, y, VT_STR, 0, er);
        if (ty == VT_STR) return bx_cast(a, x, VT_STR, 0, er);
    }
no_common:
    return plan_err(er, "Cannot infer common argument type for comparison operation %s %s %s",
                    vtype_arrow_name(tx, (*x)->unit), plan_op_text(opc),
                    vtype_arrow_name(ty, (*y)->unit));
}

/* Arithmetic: timestamp ± interval, interval ± interval, timestamp - timestamp, or numbers
 * widened to one type (a string beside a number takes the number's type). */
static int bind_arith(struct binder *bd, const expr *e, bexpr *x, bexpr *y, bexpr **out, err *er) {
    arena *a = bd->a;
    uint8_t tx = x->type, ty = y->type;
    bexpr *r = bx_new(a, BX_ARITH, 0, 2);
    r->op = e->op;
    if ((tx == VT_TS && ty == VT_INTERVAL && (e->op == OP_ADD || e->op == OP_SUB)) ||
        (tx == VT_INTERVAL && ty == VT_TS && e->op == OP_ADD)) {
        r->type = VT_TS;
        r->unit = tx == VT_TS ? x->unit : y->unit;
    } else if ((tx == VT_DATE && ty == VT_INTERVAL && (e->op == OP_ADD || e->op == OP_SUB)) ||
               (tx == VT_INTERVAL && ty == VT_DATE && e->op == OP_ADD)) {
        r->type = VT_DATE; /* date '1996-01-01' + interval '3' month (TPC-H) */
    } else if (tx == VT_INTERVAL && ty == VT_INTERVAL && (e->op == OP_ADD || e->op == OP_SUB)) {
        r->type = VT_INTERVAL;
    } else if (tx == VT_TS && ty == VT_TS && e->op == OP_SUB) {
        r->type = VT_INTERVAL; /* max(time) - min(time): days and nanoseconds, as DataFusion */
    } else {
        if (tx == VT_STR && (vtype_numeric(ty) || ty == VT_DEC128)) {
            if (bx_cast(a, &x, ty, y->unit, er) < 0) return -1;
        } else if (ty == VT_STR && (vtype_numeric(tx) || tx == VT_DEC128)) {
            if (bx_cast(a, &y, tx, x->unit, er) < 0) return -1;
        }
        tx = x->type;
        ty = y->type;
        if (!(vtype_numeric(tx) || tx == VT_NULL || tx == VT_DEC128) ||
            !(vtype_numeric(ty) || ty == VT_NULL || ty == VT_DEC128)) {
            return plan_err(er, "Unsupported argument types. Can not evaluate %s %s %s",
                            vtype_arrow_name(tx, x->unit), plan_op_text(e->op),
                            vtype_arrow_name(ty, y->unit));
        }
        if (tx == VT_NULL && ty == VT_NULL) {
            value v = {.type = VT_NULL, .null = true};
            *out = bx_const(a, v);
            return 0;
        }
        if (tx == VT_DEC128 || ty == VT_DEC128) {
            bool ok = e->op == OP_ADD || e->op == OP_SUB || e->op == OP_MUL || e->op == OP_DIV ||
                      e->op == OP_MOD;
            if (!ok || bind_dec_arith(a, r, &x, &y, er) < 0) {
                if (ok) return -1;
                return plan_err(er, "Unsupported argument types. Can not evaluate %s %s %s",
                                vtype_arrow_name(tx, x->unit), plan_op_text(e->op),
                                vtype_arrow_name(ty, y->unit));
            }
            r->args[0] = x;
            r->args[1] = y;
            *out = r;
            return 0;
        }
        uint8_t t = (tx == VT_F64 || ty == VT_F64)   ? VT_F64
                    : (tx == VT_U64 && ty == VT_U64) ? VT_U64
                    : (tx == VT_NULL)                ? ty
                    : (ty == VT_NULL)                ? tx
                                                     : VT_I64;
        if (tx == VT_U64 && ty == VT_NULL) t = VT_U64;
        /* DataFusion's simplifier: A * NULL, A / NULL and A % NULL (either side) are NULL */
        if ((tx == VT_NULL || ty == VT_NULL) &&
            (e->op == OP_MUL || e->op == OP_DIV || e->op == OP_MOD)) {
            *out = bx_const(a, (value){.type = VT_NULL, .null = true});
            return bx_cast(a, out, t, 0, er);
        }
        if (bx_cast(a, &x, t, 0, er) < 0 || bx_cast(a, &y, t, 0, er) < 0) return -1;
        r->type = t;
    }
    r->args[0] = x;
    r->args[1] = y;
    *out = r;
    return 0;
}

int plan_bind_eq(struct binder *bd, bexpr *x, bexpr *y, bexpr **out, err *er) {
    if (unify(bd, &x, &y, false, OP_EQ, er) < 0) return -1;
    bexpr *r = bx_new(bd->a, BX_CMP, VT_BOOL, 2);
    r->op = OP_EQ;
    r->args[0] = x;
    r->args[1] = y;
    *out = r;
    return 0;
}

/* 1 or 0 for a constant TRUE or FALSE, -1 for anything else (NULL included). */
static int bool_const(const bexpr *x) {
    if (x->kind != BX_CONST || x->type != VT_BOOL || x->cval.null) return -1;
    return x->cval.v.b ? 1 : 0;
}

static int bind_binary(struct binder *bd, const expr *e, bexpr **out, err *er) {
    bexpr *x, *y;
    if (plan_bind(bd, e->args[0], &x, er) < 0 || plan_bind(bd, e->args[1], &y, er) < 0) return -1;
    arena *a = bd->a;
    switch (e->op) {
    case OP_AND:
    case OP_OR: {
        if (bx_cast(a, &x, VT_BOOL, 0, er) < 0 || bx_cast(a, &y, VT_BOOL, 0, er) < 0) return -1;
        /* DataFusion's simplifier: A OR true is true and A AND false false (A never runs, so
         * its errors never happen), A OR false and A AND true are A */
        int cx = bool_const(x), cy = bool_const(y);
        bool is_or = e->op == OP_OR;
        if (cx == is_or || cy == is_or) {
            *out = cx == is_or ? x : y;
            return 0;
        }
        if (cx == !is_or || cy == !is_or) {
            *out = cx == !is_or ? y : x;
            return 0;
        }
        bexpr *r = bx_new(a, e->op == OP_AND ? BX_AND : BX_OR, VT_BOOL, 2);
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        if (unify(bd, &x, &y, false, e->op, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_CMP, VT_BOOL, 2);
        r->op = e->op;
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    case OP_IS_DISTINCT:
    case OP_IS_NOT_DISTINCT: {
        if (unify(bd, &x, &y, false, e->op, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_DISTINCT_FROM, VT_BOOL, 2);
        r->negated = e->op == OP_IS_NOT_DISTINCT;
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    case OP_REGEX:
    case OP_IREGEX:
    case OP_NREGEX:
    case OP_NIREGEX: {
        if (bx_cast(a, &x, VT_STR, 0, er) < 0 || bx_cast(a, &y, VT_STR, 0, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_REGEX, VT_BOOL, 2);
        r->ilike = e->op == OP_IREGEX || e->op == OP_NIREGEX;
        r->negated = e->op == OP_NREGEX || e->op == OP_NIREGEX;
        r->args[0] = x;
        r->args[1] = y;
        if (y->kind == BX_CONST && !y->cval.null &&
            !(r->aux = regex_compile(a, y->cval.v.s, r->ilike, er)))
            return -1;
        *out = r;
        return 0;
    }
    case OP_CONCAT: {
        /* DataFusion's string_concat_coercion: one side must be text, the other is cast */
        if (x->type != VT_STR && y->type != VT_STR)
            return plan_err(er, "Unsupported argument types. Can not evaluate %s || %s",
                            vtype_arrow_name(x->type, x->unit), vtype_arrow_name(y->type, y->unit));
        if (bx_cast(a, &x, VT_STR, 0, er) < 0 || bx_cast(a, &y, VT_STR, 0, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_CONCAT, VT_STR, 2);
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        return bind_arith(bd, e, x, y, out, er);
    case OP_BITAND:
    case OP_BITOR:
    case OP_BITXOR:
    case OP_SHL:
    case OP_SHR: {
        /* integers only (DataFusion's bitwise_coercion); an UNSIGNED side makes it UNSIGNED */
        bool ix = x->type == VT_I64 || x->type == VT_U64,
             iy = y->type == VT_I64 || y->type == VT_U64;
        if (!(ix && (iy || y->type == VT_NULL)) && !(iy && x->type == VT_NULL))
            return plan_err(er, "Unsupported argument types. Can not evaluate %s %s %s",
                            vtype_arrow_name(x->type, x->unit), plan_op_text(e->op),
                            vtype_arrow_name(y->type, y->unit));
        uint8_t t = x->type == VT_U64 || y->type == VT_U64 ? VT_U64 : VT_I64;
        if (bx_cast(a, &x, t, 0, er) < 0 || bx_cast(a, &y, t, 0, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_ARITH, t, 2);
        r->op = e->op;
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    default:
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: operator %s",
                       plan_op_text(e->op));
    }
}

/* An accessor of a two-step aggregate's struct (delta, duration_in ...) called on that
 * aggregate itself, which the binder fuses into one aggregate since Strata has no struct
 * values to pass between them: the aggregate's kind, 0 for another call. */
static int fused_kind(const expr *e) {
    if (e->kind != EX_FUNC || e->over || !e->nargs || e->args[0]->kind != EX_FUNC ||
        e->args[0]->over)
        return 0;
    const char *inner = e->args[0]->name;
    if (e->nargs == 1 && agg_gauge_accessor(e->name) && !strcmp(inner, "gauge_agg"))
        return AGG_GAUGE;
    if (agg_state_accessor(e->name)) {
        int k = agg_lookup(inner);
        if (k == AGG_STATE_AGG || k == AGG_COMPACT_STATE_AGG) return k;
    }
    return 0;
}

int plan_bind_agg_spec(struct binder *bd, const expr *e, bool input_rows, agg_spec *out, err *er) {
    int kind = agg_lookup(e->name);
    int64_t accessor = 0;
    const expr *outer = NULL; /* delta(gauge_agg(t, v)): one aggregate (agg_gauge.c) */
    if (!kind && (kind = fused_kind(e))) {
        accessor = kind == AGG_GAUGE ? agg_gauge_accessor(e->name) : agg_state_accessor(e->name);
        outer = e;
        e = e->args[0];
    }
    agg_spec sp = {.kind = kind, .distinct = e->distinct, .param2 = accessor};
    /* A grouping aggregate's arguments are bound against the input rows, not the aggregate's
     * output; a window aggregate's against whatever the window reads. */
    bool saved = bd->agg;
    if (input_rows) {
        bd->agg = false;
        bd->in_agg_arg = true;
    }
    int rc = 0;
    if (kind == AGG_FIRST || kind == AGG_LAST) {
        if (e->nargs != 2) {
            rc = plan_err(er, "The function %s expects 2 arguments (time, value), got %u", e->name,
                          e->nargs);
        } else {
            rc = plan_bind(bd, e->args[0], &sp.arg, er);
            if (!rc) rc = plan_bind(bd, e->args[1], &sp.arg2, er);
            if (!rc && sp.arg->type != VT_TS)
                rc = plan_err(er, "The first argument of %s must be a timestamp", e->name);
            if (!rc && sp.arg2->type == VT_INTERVAL)
                rc = plan_err(er, "The function %s does not support inputs of type %s.", e->name,
                              vtype_arrow_name(sp.arg2->type, sp.arg2->unit));
        }
        if (!rc) {
            sp.type = sp.arg2->type;
            sp.unit = sp.arg2->unit;
        }
    } else {
        /* count(*) may come through the parser as a star argument */
        bool star = e->star || (e->nargs == 1 && e->args[0]->kind == EX_STAR);
        uint32_t n = star ? 0 : e->nargs;
        bexpr **args = arena_alloc(bd->a, sizeof *args * (n + 1));
        for (uint32_t i = 0; i < n && !rc; i++) rc = plan_bind(bd, e->args[i], &args[i], er);
        if (!rc && (kind == AGG_STATE_AGG || kind == AGG_COMPACT_STATE_AGG)) {
            /* the accessor's own arguments after the aggregate: constants */
            uint32_t np = outer ? outer->nargs - 1 : 0;
            bexpr **params = arena_alloc(bd->a, sizeof *params * (np + 1));
            for (uint32_t i = 0; i < np && !rc; i++)
                rc = plan_bind(bd, outer->args[i + 1], &params[i], er);
            if (!rc) rc = agg_stateagg_bind(bd->a, e->name, args, n, params, np, &sp, er);
        } else if (!rc) {
            rc = agg_bind(bd->a, args, n, star, &sp, er);
        }
        /* array_agg(x ORDER BY k): the values are collected with their key and sorted at the
         * end; first_value/last_value keep the row whose key sorts first/last; other
         * aggregates do not depend on the order of their rows */
        bool ordered = kind == AGG_ARRAY_AGG || kind == AGG_FIRST_VALUE || kind == AGG_LAST_VALUE;
        if (!rc && kind == AGG_ARRAY_AGG && e->nfunc_order && e->distinct)
            rc = err_set(er, 422, EC_NOT_IMPL,
                         "This feature is not implemented: ARRAY_AGG(DISTINCT) with ORDER BY");
        if (!rc && ordered && e->nfunc_order > 1)
            rc = err_set(er, 422, EC_NOT_IMPL,
                         "This feature is not implemented: %s with more than one ORDER BY key",
                         agg_display(kind));
        if (!rc && ordered && e->nfunc_order == 1) {
            const sql_order_item *oi = e->func_order;
            rc = plan_bind(bd, oi->e, &sp.arg2, er);
            sp.order_desc = oi->desc;
            sp.order_nulls_first = oi->nulls_first < 0 ? oi->desc : oi->nulls_first;
        }
    }
    /* FILTER (WHERE p): the argument becomes CASE WHEN p THEN x END (count(*): THEN 1), which
     * the aggregate skips like any NULL, so only the rows p selects count; the aggregates that
     * keep NULL values cannot tell those rows apart */
    bexpr *filter = NULL;
    if (!rc && e->filter) {
        if (kind == AGG_FIRST || kind == AGG_LAST || kind == AGG_ARRAY_AGG ||
            kind == AGG_FIRST_VALUE || kind == AGG_LAST_VALUE)
            rc = err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: FILTER on %s",
                         e->name);
        else if (!(rc = plan_bind(bd, e->filter, &filter, er)))
            rc = bx_cast(bd->a, &filter, VT_BOOL, 0, er);
    }
    bd->agg = saved;
    if (input_rows) bd->in_agg_arg = false;
    if (rc < 0) return -1;
    if (filter) {
        if (!sp.arg) {
            value one = {.type = VT_I64};
            one.v.i = 1;
            sp.arg = bx_const(bd->a, one);
        }
        bexpr *c = bx_new(bd->a, BX_CASE, sp.arg->type, 2);
        c->unit = sp.arg->unit;
        c->has_tz = sp.arg->has_tz;
        c->args[0] = filter;
        c->args[1] = sp.arg;
        sp.arg = c;
    }
    *out = sp;
    return 0;
}

static int add_agg(struct binder *bd, const expr *e, bexpr **out, err *er) {
    if (bd->typing_only) {
        agg_spec sp;
        if (plan_bind_agg_spec(bd, e, true, &sp, er) < 0) return -1;
        /* a value of the aggregate's type that is no constant, never read */
        *out = bx_col(bd->a, 0, sp.type, sp.unit);
        return 0;
    }
    if (!bd->agg) {
        return plan_err(er, "Aggregate function %s is not allowed here", e->name);
    }
    if (bd->in_agg_arg) return plan_err(er, "Aggregate functions cannot be nested");
    char *nm = plan_expr_name(bd->a, e, false, bd->in);
    for (uint32_t k = 0; k < bd->naggs; k++)
        if (!strcmp(bd->agg_names[k], nm)) {
            *out = bx_col(bd->a, bd->ngroup + k, bd->aggs[k].type, bd->aggs[k].unit);
            return 0;
        }
    agg_spec sp;
    if (plan_bind_agg_spec(bd, e, true, &sp, er) < 0) return -1;
    if (bd->naggs == bd->capaggs) {
        uint32_t nc = bd->capaggs ? bd->capaggs * 2 : 8;
        bd->aggs =
            arena_realloc(bd->a, bd->aggs, sizeof *bd->aggs * bd->capaggs, sizeof *bd->aggs * nc);
        bd->agg_names = arena_realloc(bd->a, bd->agg_names, sizeof *bd->agg_names * bd->capaggs,
                                      sizeof *bd->agg_names * nc);
        bd->capaggs = nc;
    }
    bd->aggs[bd->naggs] = sp;
    bd->agg_names[bd->naggs] = nm;
    *out = bx_col(bd->a, bd->ngroup + bd->naggs, sp.type, sp.unit);
    bd->naggs++;
    return 0;
}

/* Appends to b the names of the aggregate calls in e not yet in b's list (names, *n), in the
 * order DataFusion's find_aggregate_exprs meets them. */
static void list_aggs(struct binder *bd, const expr *e, buf *b, char ***names, uint32_t *n,
                      uint32_t *cap) {
    if (!e) return;
    if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) {
        char *nm = plan_expr_name(bd->a, e, false, bd->in);
        for (uint32_t k = 0; k < *n; k++)
            if (!strcmp((*names)[k], nm)) return;
        if (*n == *cap) {
            uint32_t nc = *cap ? *cap * 2 : 8;
            *names = arena_realloc(bd->a, *names, sizeof **names * *cap, sizeof **names * nc);
            *cap = nc;
        }
        (*names)[(*n)++] = nm;
        buf_printf(b, "%s%s", b->len ? ", " : "", nm);
        return;
    }
    for (uint32_t k = 0; k < e->nargs; k++) list_aggs(bd, e->args[k], b, names, n, cap);
    list_aggs(bd, e->operand, b, names, n, cap);
    for (uint32_t k = 0; k < e->nwhen; k++) {
        list_aggs(bd, e->when[k], b, names, n, cap);
        list_aggs(bd, e->then[k], b, names, n, cap);
    }
    list_aggs(bd, e->els, b, names, n, cap);
}

/* `s.field`, `t.s.field.inner`: a compound name that names no column but runs past a struct
 * column, the longest such column first, then the struct's fields. 1 when e was bound so, 0
 * when no prefix of it is a struct column (the caller reports e as an unknown column), -1 on
 * error (a field the struct lacks). */
static int bind_field_access(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    if (e->kind != EX_COLUMN || e->nparts < 2) return 0;
    for (uint32_t k = e->nparts - 1; k >= 1; k--) {
        expr pre = *e;
        pre.nparts = k;
        pre.name = e->parts[k - 1];
        pre.qual = NULL;
        if (k >= 2) {
            buf q;
            buf_init(&q);
            for (uint32_t j = 0; j + 1 < k; j++) buf_printf(&q, "%s%s", j ? "." : "", e->parts[j]);
            pre.qual = arena_strdup(a, buf_cstr(&q));
            buf_free(&q);
        }
        bexpr *x;
        err ignored = {0};
        if (plan_bind(bd, &pre, &x, &ignored) < 0) {
            err_clear(&ignored);
            continue;
        }
        if (x->type != VT_STRUCT) return 0;
        for (uint32_t j = k; j < e->nparts; j++) {
            if (x->type != VT_STRUCT)
                return plan_err(er, "%s is not a struct: no field %s", e->parts[j - 1],
                                e->parts[j]);
            int f = vstruct_find(x->unit, e->parts[j]);
            if (f < 0)
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "Datafusion: Schema error: No field named %s in %s", e->parts[j],
                               vtype_arrow_name(x->type, x->unit));
            x = func_get_field(a, x, (uint32_t)f);
        }
        *out = x;
        return 1;
    }
    return 0;
}

/* Over an aggregate: a group key expression is a column of the aggregate's output, and a bare
 * column that is not a group key cannot be read. 1 when e was bound so, 0 when it is to be
 * bound as usual (an aggregate call, or an expression over them), -1 on error. */
static int bind_group_key(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    /* a literal is never a group key: it binds as itself (its display is work for nothing) */
    if (e->kind == EX_LITERAL) return 0;
    /* A key's display is long (a date_bin's interval spelled out): it is made only for an
     * expression that could be a key, and not at all for the key's own expression (GROUP BY
     * naming a select item by alias or position). */
    int match = -1;
    bool maybe = false;
    for (uint32_t k = 0; k < bd->ngroup && match < 0; k++) {
        const expr *g = bd->group_ast ? bd->group_ast[k] : NULL;
        if (g == e)
            match = (int)k;
        else if (!g || (g->kind == e->kind &&
                        (e->kind != EX_FUNC || (g->nargs == e->nargs && g->name && e->name &&
                                                !strcasecmp(g->name, e->name)))))
            maybe = true;
    }
    if (match < 0 && maybe) {
        char *key = plan_expr_display(a, e, bd->in);
        for (uint32_t k = 0; k < bd->ngroup && match < 0; k++)
            if (!strcmp(bd->group_keys[k], key)) match = (int)k;
    }
    if (match >= 0) {
        *out = bx_col(a, (uint32_t)match, bd->group_bx[match]->type, bd->group_bx[match]->unit);
        (*out)->has_tz = bd->group_bx[match]->has_tz;
        return 1;
    }
    if (e->kind != EX_COLUMN && !plan_is_time_window(e)) return 0;
    if (e->kind == EX_COLUMN && e->nparts >= 2) {
        int r = bind_field_access(bd, e, out, er);
        if (r) return r;
    }
    /* the errors name the column (only they need its name) */
    char *nm = plan_expr_name(a, e, false, bd->in);
    if (bd->order_fields) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "Execute logical plan: Datafusion: Schema error: No field named %s.", nm);
        for (uint32_t k = 0; k < bd->norder_fields; k++) {
            buf_puts(&b, k ? ", " : " Valid fields are ");
            put_ident(&b, bd->order_fields[k]);
        }
        if (bd->norder_fields) buf_putc(&b, '.');
        int r = err_set(er, 422, EC_QUERY_INTERNAL, "%s", buf_cstr(&b));
        buf_free(&b);
        return r;
    }
    {
        buf b;
        buf_init(&b);
        for (uint32_t k = 0; k < bd->ngroup; k++)
            buf_printf(&b, "%s%s", k ? ", " : "", bd->group_names[k]);
        char **seen = NULL;
        uint32_t nseen = 0, cap = 0;
        if (bd->agg_items || bd->agg_having) {
            for (uint32_t k = 0; k < bd->nagg_items; k++)
                list_aggs(bd, bd->agg_items[k], &b, &seen, &nseen, &cap);
            list_aggs(bd, bd->agg_having, &b, &seen, &nseen, &cap);
        } else {
            for (uint32_t k = 0; k < bd->naggs; k++)
                buf_printf(&b, "%s%s", (k || bd->ngroup) ? ", " : "", bd->agg_names[k]);
        }
        int r = plan_err(er,
                         "Projection references non-aggregate values: Expression %s could "
                         "not be resolved from available columns: %s",
                         nm, b.len ? buf_cstr(&b) : "");
        buf_free(&b);
        return r;
    }
    return 0;
}

static int bind_unary(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    bexpr *x;
    if (plan_bind(bd, e->args[0], &x, er) < 0) return -1;
    if (e->op == OP_PLUS) {
        *out = x;
        return 0;
    }
    if (e->op == OP_NOT) {
        if (bx_cast(a, &x, VT_BOOL, 0, er) < 0) return -1;
        int c = bool_const(x);
        if (c >= 0) {
            value v = {.type = VT_BOOL};
            v.v.b = !c;
            *out = bx_const(a, v);
            return 0;
        }
        bexpr *r = bx_new(a, BX_NOT, VT_BOOL, 1);
        r->args[0] = x;
        *out = r;
        return 0;
    }
    if (x->type == VT_U64 && bx_cast(a, &x, VT_I64, 0, er) < 0) return -1;
    if (!vtype_numeric(x->type) && x->type != VT_INTERVAL && x->type != VT_NULL &&
        x->type != VT_DEC128)
        return plan_err(er, "Negation only supports numeric, interval and timestamp types");
    bexpr *r = bx_new(a, BX_NEG, x->type, 1);
    r->unit = x->unit;
    r->args[0] = x;
    *out = r;
    return 0;
}

static int bind_between(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    /* x BETWEEN lo AND hi  ==  x >= lo AND x <= hi */
    expr ge = {.kind = EX_BINARY, .op = OP_GE, .pos = e->pos}, le = ge, both = ge;
    expr *ga[2] = {e->args[0], e->args[1]}, *la[2] = {e->args[0], e->args[2]};
    ge.args = ga;
    ge.nargs = 2;
    le.op = OP_LE;
    le.args = la;
    le.nargs = 2;
    expr *ba[2] = {&ge, &le};
    both.op = OP_AND;
    both.args = ba;
    both.nargs = 2;
    bexpr *r;
    if (bind_binary(bd, &both, &r, er) < 0) return -1;
    if (e->negated) {
        bexpr *n = bx_new(a, BX_NOT, VT_BOOL, 1);
        n->args[0] = r;
        r = n;
    }
    *out = r;
    return 0;
}

static int bind_case(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    uint32_t n = (e->operand ? 1 : 0) + 2 * e->nwhen + (e->els ? 1 : 0);
    bexpr *r = bx_new(a, BX_CASE, VT_NULL, n);
    r->case_has_operand = e->operand != NULL;
    r->case_has_else = e->els != NULL;
    uint32_t k = 0;
    if (e->operand && plan_bind(bd, e->operand, &r->args[k++], er) < 0) return -1;
    uint32_t first_then = k + 1;
    for (uint32_t i = 0; i < e->nwhen; i++) {
        if (plan_bind(bd, e->when[i], &r->args[k], er) < 0) return -1;
        if (e->operand) {
            if (unify(bd, &r->args[0], &r->args[k], false, OP_EQ, er) < 0) return -1;
        } else if (bx_cast(a, &r->args[k], VT_BOOL, 0, er) < 0) {
            return -1;
        }
        k++;
        if (plan_bind(bd, e->then[i], &r->args[k++], er) < 0) return -1;
    }
    if (e->els && plan_bind(bd, e->els, &r->args[k++], er) < 0) return -1;
    /* Result type: unify every THEN and the ELSE against the first THEN, then cast them all
     * to it (the evaluator copies slots of the result type from whichever branch). */
    uint32_t *res_at = arena_alloc(a, sizeof *res_at * (e->nwhen + 1)), nres = 0;
    for (uint32_t i = 0; i < e->nwhen; i++) res_at[nres++] = first_then + 2 * i;
    if (e->els) res_at[nres++] = n - 1;
    uint32_t res = res_at[0];
    for (uint32_t i = 1; i < nres; i++)
        if (unify(bd, &r->args[res], &r->args[res_at[i]], true, OP_EQ, er) < 0 &&
            unify(bd, &r->args[res], &r->args[res_at[i]], false, OP_EQ, er) < 0)
            return -1;
    for (uint32_t i = 0; i < nres; i++)
        if (bx_cast(a, &r->args[res_at[i]], r->args[res]->type, r->args[res]->unit, er) < 0)
            return -1;
    r->type = r->args[res]->type;
    r->unit = r->args[res]->unit;
    if (e->els && e->operand == NULL && n == 1) r->type = r->args[0]->type;
    *out = r;
    return 0;
}

static int bind_cast(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    bexpr *x;
    /* DataFusion types a CAST by its target alone: what is inside is typed later */
    bool lazy = bd->lazy_types;
    bd->lazy_types = true;
    int rc = plan_bind(bd, e->args[0], &x, er);
    bd->lazy_types = lazy;
    if (rc < 0) return -1;
    if (e->cast_type.vt == VT_NULL)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: Unsupported SQL type %s",
                       e->cast_type.name ? e->cast_type.name : "?");
    uint8_t unit = e->cast_type.vt == VT_TS       ? (x->type == VT_TS ? x->unit : e->cast_type.unit)
                   : e->cast_type.vt == VT_DEC128 ? e->cast_type.unit
                                                  : 0;
    if (e->cast_type.vt == VT_TS && x->type == VT_TS) unit = e->cast_type.unit;
    if (!bx_can_cast(x->type, e->cast_type.vt))
        return bx_cast_unsupported(er, x->type, x->unit, e->cast_type.vt, unit ? unit : TU_NS,
                                   bx_is_const(x));
    bexpr *r = bx_new(a, BX_CAST, e->cast_type.vt, 1);
    r->unit = unit;
    r->try_cast = e->op == OP_TRY_CAST;
    r->args[0] = x;
    if (bx_is_const(r)) {
        value v;
        if (bx_fold(a, r, &v, er) < 0) return -1;
        *out = bx_const(a, v);
        return 0;
    }
    *out = r;
    return 0;
}

/* @@cluster_name, @@server_version, @@deployment_mode, @@node_id: CnosDB's system variables,
 * constants of this server. Anything else starting with @ is a variable DataFusion has no type
 * for. */
static int bind_variable(struct binder *bd, const expr *e, bexpr **out, err *er) {
    static const struct {
        const char *name, *text;
    } vars[] = {{"@@cluster_name", "cluster_xxx"},
                {"@@server_version", STRATA_VERSION},
                {"@@deployment_mode", "singleton"}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (!strcasecmp(e->name, vars[i].name)) {
            value v = {.type = VT_STR};
            v.v.s = (strv){vars[i].text, (uint32_t)strlen(vars[i].text)};
            *out = bx_const(bd->a, v);
            return 0;
        }
    if (!strcasecmp(e->name, "@@node_id")) {
        value v = {.type = VT_U64};
        v.v.u = 1001; /* CnosDB's single node */
        *out = bx_const(bd->a, v);
        return 0;
    }
    return plan_err(er, "variable [\"%s\"] has no type information", e->name);
}

static int bind_func(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    if (plan_is_time_window(e)) { /* the window column (plan_twindow.c) */
        if (!bd->tw || bd->agg)
            return plan_err(er, "time_window is only supported in a SELECT's select list, "
                                "GROUP BY, HAVING and ORDER BY");
        *out = bx_col(a, bd->tw->col, VT_STRUCT, bd->tw->shape);
        return 0;
    }
    if (plan_is_gapfill_window(e) && bd->tw && bd->tw->gapfill) {
        /* the window's start (plan_twindow.c), bucketed by the slide: the gap filler's call */
        if (bd->agg) return plan_err(er, "time_window_gapfill is not allowed in an aggregate");
        bexpr **args = arena_alloc(a, sizeof *args * 4);
        value iv = {.type = VT_INTERVAL}, ov = {.type = VT_TS, .unit = TU_NS};
        iv.v.iv.nanos = bd->tw->slide;
        ov.v.i = bd->tw->origin;
        args[0] = bx_col(a, bd->tw->col, VT_TS, TU_NS);
        args[1] = bx_const(a, iv);
        args[2] = bx_const(a, iv);
        args[3] = bx_const(a, ov);
        fn_env env = {.now_ns = bd->now_ns};
        return func_bind(a, e->name, args, 4, &env, out, er);
    }
    if (e->over && bd->typing_only) {
        /* only what the window reads is typed here: the call itself is planned later */
        const sql_window *w = e->over;
        bexpr *ignored;
        for (uint32_t i = 0; i < e->nargs; i++)
            if (e->args[i]->kind != EX_STAR && plan_bind(bd, e->args[i], &ignored, er) < 0)
                return -1;
        for (uint32_t i = 0; i < w->npartition; i++)
            if (plan_bind(bd, w->partition_by[i], &ignored, er) < 0) return -1;
        for (uint32_t i = 0; i < w->norder; i++)
            if (plan_bind(bd, w->order_by[i].e, &ignored, er) < 0) return -1;
        *out = bx_const(a, (value){.type = VT_NULL});
        return 0;
    }
    if (e->over) return plan_bind_window(bd, e, out, er);
    if (agg_lookup(e->name) || fused_kind(e)) return add_agg(bd, e, out, er);
    if (agg_gauge_accessor(e->name)) { /* over a GaugeData value, or CnosDB's error */
        bexpr *arg = NULL;
        if (e->nargs == 1 && plan_bind(bd, e->args[0], &arg, er) < 0) return -1;
        return agg_gauge_accessor_scalar(a, e->name, e->nargs, arg, out, er);
    }
    bexpr **args = arena_alloc(a, sizeof *args * (e->nargs + 1));
    for (uint32_t i = 0; i < e->nargs; i++)
        if (plan_bind(bd, e->args[i], &args[i], er) < 0) return -1;
    bexpr *r;
    const sql_session *ss = bd->s;
    fn_env env = {bd->now_ns,         ss ? ss->user : NULL, ss ? ss->tenant : NULL,
                  ss ? ss->db : NULL, ss ? ss->role : NULL, bd->lazy_types};
    if (func_bind(a, e->name, args, e->nargs, &env, &r, er) < 0) return -1;
    if (bx_is_const(r) && strcmp(e->name, "now") != 0) {
        value v;
        if (bx_fold(a, r, &v, er) < 0) return -1;
        bexpr *c = bx_const(a, v);
        c->has_tz = r->has_tz;
        *out = c;
        return 0;
    }
    *out = r;
    return 0;
}

int plan_err_rank(const err *er) {
    static const char exec[] = "Execute logical plan: Datafusion: ";
    if (errstage_is_eval(er)) return 2; /* a constant folded: sql.c words it so */
    if (strncmp(er->msg, exec, sizeof exec - 1) != 0) return 0;
    const char *m = er->msg + sizeof exec - 1;
    if (!strncmp(m, "type_coercion", 13)) return 1;
    if (!strncmp(m, "Optimizer rule 'simplify_expressions'", 37)) return 2;
    return 3;
}

int plan_bind_item(struct binder *bd, const expr *e, bexpr **out, err *er) {
    if (plan_bind(bd, e, out, er) == 0) return 0;
    struct plan_defer *d = bd->p ? bd->p->defer : NULL;
    int rank = plan_err_rank(er);
    if (!d || !rank) return -1;
    if (!d->rank || rank < d->rank) {
        d->e = *er;
        d->rank = rank;
    }
    *out = bx_const(bd->a, (value){.type = VT_NULL});
    return 0;
}

int plan_bind(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    if (bd->agg) {
        int r = bind_group_key(bd, e, out, er);
        if (r != 0) return r > 0 ? 0 : -1;
    }
    switch (e->kind) {
    case EX_LITERAL:
        *out = bx_const(a, e->lit);
        return 0;
    case EX_COLUMN: {
        if (e->name[0] == '@') return bind_variable(bd, e, out, er);
        uint32_t idx = 0;
        if (e->nparts >= 2 && plan_scope_find(bd->in, e, &idx) == 0) {
            int r = bind_field_access(bd, e, out, er);
            if (r) return r < 0 ? -1 : 0;
        }
        if (find_col(bd, e, &idx, er) < 0) return -1;
        const struct col_ref *c = &bd->in->cols[idx];
        *out = bx_col(a, idx, c->type, c->unit);
        (*out)->has_tz = c->has_tz;
        return 0;
    }
    case EX_STAR:
        return plan_err(er, "Wildcard is not allowed here");
    case EX_UNARY:
        return bind_unary(bd, e, out, er);
    case EX_BINARY:
        return bind_binary(bd, e, out, er);
    case EX_IS: {
        bexpr *x;
        if (plan_bind(bd, e->args[0], &x, er) < 0) return -1;
        bexpr *r = bx_new(a, e->op == OP_IS_NULL ? BX_IS_NULL : BX_IS_BOOL, VT_BOOL, 1);
        r->op = e->op;
        r->negated = e->negated;
        if (e->op != OP_IS_NULL && bx_cast(a, &x, VT_BOOL, 0, er) < 0) return -1;
        r->args[0] = x;
        *out = r;
        return 0;
    }
    case EX_BETWEEN:
        return bind_between(bd, e, out, er);
    case EX_IN_LIST: {
        bexpr *r = bx_new(a, BX_IN_LIST, VT_BOOL, e->nargs);
        r->negated = e->negated;
        for (uint32_t i = 0; i < e->nargs; i++)
            if (plan_bind(bd, e->args[i], &r->args[i], er) < 0) return -1;
        for (uint32_t i = 1; i < e->nargs; i++)
            if (unify(bd, &r->args[0], &r->args[i], false, OP_EQ, er) < 0) {
                /* DataFusion's type_coercion rule words it over the whole list */
                buf b;
                buf_init(&b);
                for (uint32_t k = 1; k < e->nargs; k++) {
                    if (k > 1) buf_puts(&b, ", ");
                    buf_puts(&b, vtype_arrow_name(r->args[k]->type, r->args[k]->unit));
                }
                err_set(er, 422, EC_QUERY_INTERNAL,
                        "Execute logical plan: Datafusion: type_coercion\ncaused by\nError during "
                        "planning: Can not find compatible types to compare %s with [%s]",
                        vtype_arrow_name(r->args[0]->type, r->args[0]->unit), buf_cstr(&b));
                buf_free(&b);
                return -1;
            }
        /* A later item may have widened args[0]; bring the earlier ones along. */
        for (uint32_t i = 1; i < e->nargs; i++)
            if (bx_cast(a, &r->args[i], r->args[0]->type, r->args[0]->unit, er) < 0) return -1;
        bx_in_list_prepare(a, r);
        *out = r;
        return 0;
    }
    case EX_LIKE: {
        bexpr *x, *p;
        /* DataFusion types a LIKE pattern as it builds the plan, wherever the LIKE is, and
         * before it turns to the LIKE's operand */
        bool lazy = bd->lazy_types;
        bd->lazy_types = false;
        int rc = plan_bind(bd, e->args[1], &p, er);
        bd->lazy_types = lazy;
        if (rc < 0) return -1;
        if (plan_bind(bd, e->args[0], &x, er) < 0) return -1;
        if (x->type == VT_LIST || p->type == VT_LIST) /* found by DataFusion's type_coercion */
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execute logical plan: Datafusion: type_coercion\ncaused by\nError "
                           "during planning: There isn't a common type to coerce %s and %s in "
                           "%s expression",
                           vtype_arrow_name(x->type, x->unit), vtype_arrow_name(p->type, p->unit),
                           e->op == OP_ILIKE ? "ILIKE" : "LIKE");
        if (bx_cast(a, &x, VT_STR, 0, er) < 0 || bx_cast(a, &p, VT_STR, 0, er) < 0) return -1;
        if (e->op == OP_SIMILAR)
            return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: SIMILAR TO");
        bexpr *r = bx_new(a, BX_LIKE, VT_BOOL, 2);
        r->negated = e->negated;
        r->ilike = e->op == OP_ILIKE;
        r->args[0] = x;
        r->args[1] = p;
        if (p->kind == BX_CONST && !p->cval.null) r->aux = like_compile(a, p->cval.v.s, r->ilike);
        *out = r;
        return 0;
    }
    case EX_CASE:
        return bind_case(bd, e, out, er);
    case EX_CAST:
        return bind_cast(bd, e, out, er);
    case EX_FUNC:
        return bind_func(bd, e, out, er);
    case EX_SUBQUERY:
    case EX_IN_QUERY:
    case EX_EXISTS:
        if (bd->typing_only) {
            *out = bx_const(a, (value){.type = VT_NULL});
            return 0;
        }
        return plan_bind_subquery(bd, e, out, er);
    }
    return plan_err(er, "unsupported expression");
}
