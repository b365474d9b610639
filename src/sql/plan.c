/* Binder and planner: see plan.h. */
#include "sql/plan.h"

#include "sql/func.h"
#include "sql/pattern.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A column visible to expressions: a table or subquery column. */
struct col_ref {
    const char *qual;
    const char *name;
    uint8_t type, unit;
    uint8_t kind;    /* CK_TIME / CK_TAG / CK_FIELD, or 0xff for derived columns */
    uint32_t col_id; /* table column id (scans) */
    bool has_tz;
};

struct scope {
    struct col_ref *cols;
    uint32_t n;
};

struct binder {
    sql_session *s;
    qctx *q;
    arena *a;
    const struct scope *in;
    int64_t now_ns;
    /* Aggregation: when agg is set, expressions are bound against the aggregate's output
     * (group keys, then aggregates), and aggregate calls register new aggregates. */
    bool agg;
    char **group_names;
    bexpr **group_bx;
    uint32_t ngroup;
    agg_spec *aggs;
    char **agg_names;
    uint32_t naggs, capaggs;
    bool in_agg_arg;
};

static int plan_err(err *er, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int plan_err(err *er, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(er, 422, EC_QUERY_INTERNAL, fmt, ap);
    va_end(ap);
    err_prefix(er, "Datafusion: Error during planning: ");
    return -1;
}

/* ------------------------------------------------------------------ names */

static const char *op_text(uint8_t opc) {
    switch (opc) {
    case OP_ADD:
        return "+";
    case OP_SUB:
        return "-";
    case OP_MUL:
        return "*";
    case OP_DIV:
        return "/";
    case OP_MOD:
        return "%";
    case OP_EQ:
        return "=";
    case OP_NE:
        return "!=";
    case OP_LT:
        return "<";
    case OP_LE:
        return "<=";
    case OP_GT:
        return ">";
    case OP_GE:
        return ">=";
    case OP_AND:
        return "AND";
    case OP_OR:
        return "OR";
    case OP_CONCAT:
        return "||";
    case OP_REGEX:
        return "~";
    case OP_IREGEX:
        return "~*";
    case OP_NREGEX:
        return "!~";
    case OP_NIREGEX:
        return "!~*";
    case OP_BITAND:
        return "&";
    case OP_BITOR:
        return "|";
    case OP_BITXOR:
        return "#";
    case OP_SHL:
        return "<<";
    case OP_SHR:
        return ">>";
    case OP_IS_DISTINCT:
        return "IS DISTINCT FROM";
    case OP_IS_NOT_DISTINCT:
        return "IS NOT DISTINCT FROM";
    }
    return "?";
}

static const char *type_arrow(const sql_type *t) {
    switch (t->vt) {
    case VT_BOOL:
        return "Boolean";
    case VT_I64:
        return "Int64";
    case VT_U64:
        return "UInt64";
    case VT_F64:
        return "Float64";
    case VT_STR:
        return "Utf8";
    case VT_TS:
        return "Timestamp(Nanosecond, None)";
    case VT_INTERVAL:
        return "Interval(MonthDayNano)";
    case VT_DATE:
        return "Date32";
    }
    return t->name ? t->name : "?";
}

static void name_into(buf *b, arena *a, const expr *e, bool top, const char *qual);

static void names_list(buf *b, arena *a, expr **args, uint32_t n, const char *qual,
                       const char *sep) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, sep);
        name_into(b, a, args[i], false, qual);
    }
}

static void name_into(buf *b, arena *a, const expr *e, bool top, const char *qual) {
    switch (e->kind) {
    case EX_LITERAL:
        buf_puts(b, value_display(a, &e->lit));
        break;
    case EX_COLUMN:
        if (!top) {
            if (e->qual)
                buf_printf(b, "%s.", e->qual);
            else if (qual && e->name[0] != '@')
                buf_printf(b, "%s.", qual);
        }
        buf_puts(b, e->name);
        break;
    case EX_STAR:
        buf_puts(b, "*");
        break;
    case EX_UNARY:
        if (e->op == OP_NOT) {
            buf_puts(b, "NOT ");
            name_into(b, a, e->args[0], false, qual);
        } else {
            buf_puts(b, e->op == OP_NEG ? "(- " : "(+ ");
            name_into(b, a, e->args[0], false, qual);
            buf_putc(b, ')');
        }
        break;
    case EX_BINARY:
        name_into(b, a, e->args[0], false, qual);
        buf_printf(b, " %s ", op_text(e->op));
        name_into(b, a, e->args[1], false, qual);
        break;
    case EX_IS: {
        name_into(b, a, e->args[0], false, qual);
        const char *what = e->op == OP_IS_NULL    ? "NULL"
                           : e->op == OP_IS_TRUE  ? "TRUE"
                           : e->op == OP_IS_FALSE ? "FALSE"
                                                  : "UNKNOWN";
        buf_printf(b, " IS %s%s", e->negated ? "NOT " : "", what);
        break;
    }
    case EX_BETWEEN:
        name_into(b, a, e->args[0], false, qual);
        buf_puts(b, e->negated ? " NOT BETWEEN " : " BETWEEN ");
        name_into(b, a, e->args[1], false, qual);
        buf_puts(b, " AND ");
        name_into(b, a, e->args[2], false, qual);
        break;
    case EX_IN_LIST:
        name_into(b, a, e->args[0], false, qual);
        buf_puts(b, e->negated ? " NOT IN ([" : " IN ([");
        names_list(b, a, e->args + 1, e->nargs - 1, qual, ", ");
        buf_puts(b, "])");
        break;
    case EX_LIKE:
        name_into(b, a, e->args[0], false, qual);
        buf_printf(b, " %s%s ", e->negated ? "NOT " : "", e->op == OP_ILIKE ? "ILIKE" : "LIKE");
        name_into(b, a, e->args[1], false, qual);
        break;
    case EX_CASE:
        buf_puts(b, "CASE ");
        if (e->operand) {
            name_into(b, a, e->operand, false, qual);
            buf_putc(b, ' ');
        }
        for (uint32_t i = 0; i < e->nwhen; i++) {
            buf_puts(b, "WHEN ");
            name_into(b, a, e->when[i], false, qual);
            buf_puts(b, " THEN ");
            name_into(b, a, e->then[i], false, qual);
            buf_putc(b, ' ');
        }
        if (e->els) {
            buf_puts(b, "ELSE ");
            name_into(b, a, e->els, false, qual);
            buf_putc(b, ' ');
        }
        buf_puts(b, "END");
        break;
    case EX_CAST:
        buf_puts(b, e->op == OP_TRY_CAST ? "TRY_CAST(" : "CAST(");
        name_into(b, a, e->args[0], false, qual);
        buf_printf(b, " AS %s)", type_arrow(&e->cast_type));
        break;
    case EX_FUNC: {
        int ak = agg_lookup(e->name);
        if (ak && !e->over) {
            buf_puts(b, agg_display(ak));
            buf_putc(b, '(');
            if (e->distinct) buf_puts(b, "DISTINCT ");
            if (e->star || e->nargs == 0)
                buf_putc(b, '*');
            else
                names_list(b, a, e->args, e->nargs, qual, ",");
            buf_putc(b, ')');
        } else {
            buf_printf(b, "%s(", e->name);
            if (e->distinct) buf_puts(b, "DISTINCT ");
            if (e->star)
                buf_putc(b, '*');
            else
                names_list(b, a, e->args, e->nargs, qual, ",");
            buf_putc(b, ')');
        }
        break;
    }
    case EX_SUBQUERY:
        buf_puts(b, "(<subquery>)");
        break;
    case EX_EXISTS:
        buf_puts(b, e->negated ? "NOT EXISTS (<subquery>)" : "EXISTS (<subquery>)");
        break;
    case EX_IN_QUERY:
        name_into(b, a, e->args[0], false, qual);
        buf_puts(b, e->negated ? " NOT IN (<subquery>)" : " IN (<subquery>)");
        break;
    default:
        buf_puts(b, "?");
    }
}

char *expr_name(arena *a, const expr *e, bool top, const char *qual) {
    buf b;
    buf_init(&b);
    name_into(&b, a, e, top, qual);
    char *r = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}

/* ------------------------------------------------------------------ binding */

static int bind(struct binder *bd, const expr *e, bexpr **out, err *er);

static const char *scope_qual(const struct scope *sc) {
    return sc->n ? sc->cols[0].qual : NULL;
}

static int find_col(const struct binder *bd, const expr *e, uint32_t *idx, err *er) {
    const struct scope *sc = bd->in;
    int found = -1;
    for (uint32_t i = 0; i < sc->n; i++) {
        if (strcmp(sc->cols[i].name, e->name) != 0) continue;
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
        if (found >= 0) return plan_err(er, "Ambiguous reference to unqualified field %s", e->name);
        found = (int)i;
    }
    if (found < 0) {
        buf b;
        buf_init(&b);
        for (uint32_t i = 0; i < sc->n; i++) {
            if (i) buf_puts(&b, ", ");
            if (sc->cols[i].qual) buf_printf(&b, "%s.", sc->cols[i].qual);
            buf_puts(&b, sc->cols[i].name);
        }
        int r;
        if (e->qual)
            r = err_set(er, 422, EC_QUERY_INTERNAL,
                        "Datafusion: Schema error: No field named %s.%s. Valid fields are %s.",
                        e->qual, e->name, b.len ? buf_cstr(&b) : "");
        else
            r = err_set(er, 422, EC_QUERY_INTERNAL,
                        "Datafusion: Schema error: No field named %s. Valid fields are %s.",
                        e->name, b.len ? buf_cstr(&b) : "");
        buf_free(&b);
        return r;
    }
    *idx = (uint32_t)found;
    return 0;
}

/* Common type for comparison / arithmetic / CASE branches. */
static int unify(struct binder *bd, bexpr **x, bexpr **y, bool arith, uint8_t opc, err *er) {
    arena *a = bd->a;
    uint8_t tx = (*x)->type, ty = (*y)->type;
    if (tx == VT_NULL && ty == VT_NULL) return 0;
    if (tx == VT_NULL) return bx_cast(a, x, ty, (*y)->unit, er);
    if (ty == VT_NULL) return bx_cast(a, y, tx, (*x)->unit, er);
    if (tx == ty && (tx != VT_TS || (*x)->unit == (*y)->unit)) return 0;
    if (tx == VT_TS && ty == VT_TS) {
        uint8_t u = (*x)->unit < (*y)->unit ? (*x)->unit : (*y)->unit; /* finer unit */
        if (bx_cast(a, x, VT_TS, u, er) < 0) return -1;
        return bx_cast(a, y, VT_TS, u, er);
    }
    if (vtype_numeric(tx) && vtype_numeric(ty)) {
        uint8_t t = (tx == VT_F64 || ty == VT_F64) ? VT_F64 : VT_I64;
        if (bx_cast(a, x, t, 0, er) < 0) return -1;
        return bx_cast(a, y, t, 0, er);
    }
    if (!arith) {
        /* time vs string / integer: the other side takes the timestamp's type. */
        if (tx == VT_TS && (ty == VT_STR || vtype_numeric(ty)))
            return bx_cast(a, y, VT_TS, (*x)->unit, er);
        if (ty == VT_TS && (tx == VT_STR || vtype_numeric(tx)))
            return bx_cast(a, x, VT_TS, (*y)->unit, er);
        if (tx == VT_STR) return bx_cast(a, y, VT_STR, 0, er);
        if (ty == VT_STR) return bx_cast(a, x, VT_STR, 0, er);
    }
    return plan_err(er, "Cannot infer common argument type for comparison operation %s %s %s",
                    arrow_type_name(tx, (*x)->unit), op_text(opc), arrow_type_name(ty, (*y)->unit));
}

static int bind_binary(struct binder *bd, const expr *e, bexpr **out, err *er) {
    bexpr *x, *y;
    if (bind(bd, e->args[0], &x, er) < 0 || bind(bd, e->args[1], &y, er) < 0) return -1;
    arena *a = bd->a;
    switch (e->op) {
    case OP_AND:
    case OP_OR: {
        if (bx_cast(a, &x, VT_BOOL, 0, er) < 0 || bx_cast(a, &y, VT_BOOL, 0, er) < 0) return -1;
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
    case OP_MOD: {
        uint8_t tx = x->type, ty = y->type;
        bexpr *r = bx_new(a, BX_ARITH, 0, 2);
        r->op = e->op;
        if ((tx == VT_TS && ty == VT_INTERVAL && (e->op == OP_ADD || e->op == OP_SUB)) ||
            (tx == VT_INTERVAL && ty == VT_TS && e->op == OP_ADD)) {
            r->type = VT_TS;
            r->unit = tx == VT_TS ? x->unit : y->unit;
        } else if (tx == VT_INTERVAL && ty == VT_INTERVAL && (e->op == OP_ADD || e->op == OP_SUB)) {
            r->type = VT_INTERVAL;
        } else {
            if (tx == VT_STR && vtype_numeric(ty)) {
                if (bx_cast(a, &x, ty, 0, er) < 0) return -1;
            } else if (ty == VT_STR && vtype_numeric(tx)) {
                if (bx_cast(a, &y, tx, 0, er) < 0) return -1;
            }
            tx = x->type;
            ty = y->type;
            if (!(vtype_numeric(tx) || tx == VT_NULL) || !(vtype_numeric(ty) || ty == VT_NULL)) {
                return plan_err(er, "Cannot coerce arithmetic expression %s %s %s to valid types",
                                arrow_type_name(tx, x->unit), op_text(e->op),
                                arrow_type_name(ty, y->unit));
            }
            if (tx == VT_NULL && ty == VT_NULL) {
                value v = {.type = VT_NULL, .null = true};
                *out = bx_const(a, v);
                return 0;
            }
            uint8_t t = (tx == VT_F64 || ty == VT_F64)   ? VT_F64
                        : (tx == VT_U64 && ty == VT_U64) ? VT_U64
                        : (tx == VT_NULL)                ? ty
                        : (ty == VT_NULL)                ? tx
                                                         : VT_I64;
            if (tx == VT_U64 && ty == VT_NULL) t = VT_U64;
            if (bx_cast(a, &x, t, 0, er) < 0 || bx_cast(a, &y, t, 0, er) < 0) return -1;
            r->type = t;
        }
        r->args[0] = x;
        r->args[1] = y;
        *out = r;
        return 0;
    }
    default:
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: operator %s",
                       op_text(e->op));
    }
}

static int add_agg(struct binder *bd, const expr *e, bexpr **out, err *er) {
    if (!bd->agg) {
        return plan_err(er, "Aggregate function %s is not allowed here", e->name);
    }
    if (bd->in_agg_arg) return plan_err(er, "Aggregate functions cannot be nested");
    char *nm = expr_name(bd->a, e, false, scope_qual(bd->in));
    for (uint32_t k = 0; k < bd->naggs; k++)
        if (!strcmp(bd->agg_names[k], nm)) {
            *out = bx_col(bd->a, bd->ngroup + k, bd->aggs[k].type, bd->aggs[k].unit);
            return 0;
        }
    int kind = agg_lookup(e->name);
    agg_spec sp = {.kind = kind, .distinct = e->distinct};
    /* Arguments are bound against the input rows, not the aggregate's output. */
    bool saved = bd->agg;
    bd->agg = false;
    bd->in_agg_arg = true;
    int rc = 0;
    uint8_t argt = VT_NULL;
    if (kind == AGG_COUNT) {
        if (!e->star && e->nargs > 0) {
            if (e->args[0]->kind == EX_STAR) {
                /* count(*) spelled through the parser as a star argument */
            } else {
                rc = bind(bd, e->args[0], &sp.arg, er);
                if (!rc) argt = sp.arg->type;
            }
        }
    } else if (kind == AGG_FIRST || kind == AGG_LAST) {
        if (e->nargs != 2) {
            rc = plan_err(er, "The function %s expects 2 arguments (time, value), got %u", e->name,
                          e->nargs);
        } else {
            rc = bind(bd, e->args[0], &sp.arg, er);
            if (!rc) rc = bind(bd, e->args[1], &sp.arg2, er);
            if (!rc && sp.arg->type != VT_TS)
                rc = plan_err(er, "The first argument of %s must be a timestamp", e->name);
            if (!rc) argt = sp.arg2->type;
        }
    } else {
        if (e->nargs != 1 || e->star) {
            rc = plan_err(er, "The function %s expects 1 argument, got %u", agg_display(kind),
                          e->nargs);
        } else {
            rc = bind(bd, e->args[0], &sp.arg, er);
            if (!rc) argt = sp.arg->type;
        }
    }
    bd->agg = saved;
    bd->in_agg_arg = false;
    if (rc < 0) return -1;
    if (agg_result_type(kind, argt, &sp.type, er) < 0) return -1;
    sp.unit = (kind == AGG_FIRST || kind == AGG_LAST) ? sp.arg2->unit : sp.arg ? sp.arg->unit : 0;
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

static int bind(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    if (bd->agg) {
        /* Over an aggregate: a group key expression is a column of the aggregate's output. */
        char *nm = expr_name(a, e, false, scope_qual(bd->in));
        for (uint32_t k = 0; k < bd->ngroup; k++)
            if (!strcmp(bd->group_names[k], nm)) {
                *out = bx_col(a, k, bd->group_bx[k]->type, bd->group_bx[k]->unit);
                (*out)->has_tz = bd->group_bx[k]->has_tz;
                return 0;
            }
        if (e->kind == EX_COLUMN) {
            buf b;
            buf_init(&b);
            for (uint32_t k = 0; k < bd->ngroup; k++)
                buf_printf(&b, "%s%s", k ? ", " : "", bd->group_names[k]);
            for (uint32_t k = 0; k < bd->naggs; k++)
                buf_printf(&b, "%s%s", (k || bd->ngroup) ? ", " : "", bd->agg_names[k]);
            int r = plan_err(er,
                             "Projection references non-aggregate values: Expression %s could "
                             "not be resolved from available columns: %s",
                             nm, b.len ? buf_cstr(&b) : "");
            buf_free(&b);
            return r;
        }
    }
    switch (e->kind) {
    case EX_LITERAL:
        *out = bx_const(a, e->lit);
        return 0;
    case EX_COLUMN: {
        if (e->name[0] == '@')
            return err_set(er, 422, EC_QUERY_INTERNAL, "variable [\"%s\"] has no type information",
                           e->name);
        uint32_t idx = 0;
        if (find_col(bd, e, &idx, er) < 0) return -1;
        const struct col_ref *c = &bd->in->cols[idx];
        *out = bx_col(a, idx, c->type, c->unit);
        (*out)->has_tz = c->has_tz;
        return 0;
    }
    case EX_STAR:
        return plan_err(er, "Wildcard is not allowed here");
    case EX_UNARY: {
        bexpr *x;
        if (bind(bd, e->args[0], &x, er) < 0) return -1;
        if (e->op == OP_PLUS) {
            *out = x;
            return 0;
        }
        if (e->op == OP_NOT) {
            if (bx_cast(a, &x, VT_BOOL, 0, er) < 0) return -1;
            bexpr *r = bx_new(a, BX_NOT, VT_BOOL, 1);
            r->args[0] = x;
            *out = r;
            return 0;
        }
        if (x->type == VT_U64 && bx_cast(a, &x, VT_I64, 0, er) < 0) return -1;
        if (!vtype_numeric(x->type) && x->type != VT_INTERVAL && x->type != VT_NULL)
            return plan_err(er, "Negation only supports numeric, interval and timestamp types");
        bexpr *r = bx_new(a, BX_NEG, x->type, 1);
        r->args[0] = x;
        *out = r;
        return 0;
    }
    case EX_BINARY:
        return bind_binary(bd, e, out, er);
    case EX_IS: {
        bexpr *x;
        if (bind(bd, e->args[0], &x, er) < 0) return -1;
        bexpr *r = bx_new(a, e->op == OP_IS_NULL ? BX_IS_NULL : BX_IS_BOOL, VT_BOOL, 1);
        r->op = e->op;
        r->negated = e->negated;
        if (e->op != OP_IS_NULL && bx_cast(a, &x, VT_BOOL, 0, er) < 0) return -1;
        r->args[0] = x;
        *out = r;
        return 0;
    }
    case EX_BETWEEN: {
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
    case EX_IN_LIST: {
        bexpr *r = bx_new(a, BX_IN_LIST, VT_BOOL, e->nargs);
        r->negated = e->negated;
        for (uint32_t i = 0; i < e->nargs; i++)
            if (bind(bd, e->args[i], &r->args[i], er) < 0) return -1;
        for (uint32_t i = 1; i < e->nargs; i++)
            if (unify(bd, &r->args[0], &r->args[i], false, OP_EQ, er) < 0) return -1;
        /* A later item may have widened args[0]; bring the earlier ones along. */
        for (uint32_t i = 1; i < e->nargs; i++)
            if (bx_cast(a, &r->args[i], r->args[0]->type, r->args[0]->unit, er) < 0) return -1;
        bx_in_list_prepare(a, r);
        *out = r;
        return 0;
    }
    case EX_LIKE: {
        bexpr *x, *p;
        if (bind(bd, e->args[0], &x, er) < 0 || bind(bd, e->args[1], &p, er) < 0) return -1;
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
    case EX_CASE: {
        uint32_t n = (e->operand ? 1 : 0) + 2 * e->nwhen + (e->els ? 1 : 0);
        bexpr *r = bx_new(a, BX_CASE, VT_NULL, n);
        r->case_has_operand = e->operand != NULL;
        r->case_has_else = e->els != NULL;
        uint32_t k = 0;
        if (e->operand && bind(bd, e->operand, &r->args[k++], er) < 0) return -1;
        uint32_t first_then = k + 1;
        for (uint32_t i = 0; i < e->nwhen; i++) {
            if (bind(bd, e->when[i], &r->args[k], er) < 0) return -1;
            if (e->operand) {
                if (unify(bd, &r->args[0], &r->args[k], false, OP_EQ, er) < 0) return -1;
            } else if (bx_cast(a, &r->args[k], VT_BOOL, 0, er) < 0) {
                return -1;
            }
            k++;
            if (bind(bd, e->then[i], &r->args[k++], er) < 0) return -1;
        }
        if (e->els && bind(bd, e->els, &r->args[k++], er) < 0) return -1;
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
    case EX_CAST: {
        bexpr *x;
        if (bind(bd, e->args[0], &x, er) < 0) return -1;
        if (e->cast_type.vt == VT_NULL)
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: Unsupported SQL type %s",
                           e->cast_type.name ? e->cast_type.name : "?");
        uint8_t unit =
            e->cast_type.vt == VT_TS ? (x->type == VT_TS ? x->unit : e->cast_type.unit) : 0;
        if (e->cast_type.vt == VT_TS && x->type == VT_TS) unit = e->cast_type.unit;
        if (!bx_can_cast(x->type, e->cast_type.vt))
            return plan_err(er, "Cannot cast to %s", type_arrow(&e->cast_type));
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
    case EX_FUNC: {
        if (e->over)
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: window functions");
        if (agg_lookup(e->name)) return add_agg(bd, e, out, er);
        bexpr **args = arena_alloc(a, sizeof *args * (e->nargs + 1));
        for (uint32_t i = 0; i < e->nargs; i++)
            if (bind(bd, e->args[i], &args[i], er) < 0) return -1;
        bexpr *r;
        if (func_bind(a, e->name, args, e->nargs, bd->now_ns, &r, er) < 0) return -1;
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
    case EX_SUBQUERY:
    case EX_IN_QUERY:
    case EX_EXISTS:
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: subqueries in expressions");
    }
    return plan_err(er, "unsupported expression");
}

/* ------------------------------------------------------------------ pushdown helpers */

static void split_and(arena *a, bexpr *e, bexpr ***list, uint32_t *n, uint32_t *cap) {
    if (e->kind == BX_AND) {
        split_and(a, e->args[0], list, n, cap);
        split_and(a, e->args[1], list, n, cap);
        return;
    }
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        *list = arena_realloc(a, *list, sizeof **list * *cap, sizeof **list * nc);
        *cap = nc;
    }
    (*list)[(*n)++] = e;
}

static void mark_cols(const bexpr *e, bool *used) {
    if (e->kind == BX_COL) used[e->col] = true;
    for (uint32_t i = 0; i < e->nargs; i++) mark_cols(e->args[i], used);
}

static bool only_tags(const bexpr *e, const struct scope *sc) {
    if (e->kind == BX_COL) return sc->cols[e->col].kind == CK_TAG;
    if (e->kind == BX_FUNC && e->fname && !strcmp(e->fname, "now")) return true;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!only_tags(e->args[i], sc)) return false;
    return true;
}

static bool has_cols(const bexpr *e) {
    if (e->kind == BX_COL) return true;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (has_cols(e->args[i])) return true;
    return false;
}

static bexpr *remap(arena *a, const bexpr *e, const uint32_t *map) {
    bexpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->kind == BX_COL) r->col = map[e->col];
    if (e->nargs) {
        r->args = arena_alloc(a, sizeof *r->args * e->nargs);
        for (uint32_t i = 0; i < e->nargs; i++) r->args[i] = remap(a, e->args[i], map);
    }
    return r;
}

/* Tightens [tmin, tmax] with a conjunct `time <op> const` (or reversed); true if absorbed. */
static bool time_bound(const bexpr *c, uint32_t time_col, int64_t *tmin, int64_t *tmax) {
    if (c->kind != BX_CMP) return false;
    const bexpr *l = c->args[0], *r = c->args[1];
    uint8_t opc = c->op;
    if (r->kind == BX_COL && l->kind == BX_CONST) {
        const bexpr *t = l;
        l = r;
        r = t;
        switch (opc) {
        case OP_LT:
            opc = OP_GT;
            break;
        case OP_LE:
            opc = OP_GE;
            break;
        case OP_GT:
            opc = OP_LT;
            break;
        case OP_GE:
            opc = OP_LE;
            break;
        }
    }
    if (l->kind != BX_COL || l->col != time_col || r->kind != BX_CONST || r->type != VT_TS ||
        r->cval.null || r->unit != l->unit)
        return false;
    int64_t v = r->cval.v.i;
    switch (opc) {
    case OP_EQ:
        if (v > *tmin) *tmin = v;
        if (v < *tmax) *tmax = v;
        return true;
    case OP_GT:
        if (v == INT64_MAX) {
            *tmin = INT64_MAX;
            *tmax = INT64_MIN;
        } else if (v + 1 > *tmin)
            *tmin = v + 1;
        return true;
    case OP_GE:
        if (v > *tmin) *tmin = v;
        return true;
    case OP_LT:
        if (v == INT64_MIN) {
            *tmin = INT64_MAX;
            *tmax = INT64_MIN;
        } else if (v - 1 < *tmax)
            *tmax = v - 1;
        return true;
    case OP_LE:
        if (v < *tmax) *tmax = v;
        return true;
    }
    return false;
}

/* The per-series tag predicate, evaluated on a one-row batch of the series' tag values. Its
 * memory is the query's scratch arena, reset for every series: a table of 300,000 series must
 * not keep 300,000 evaluations (an IN list of 1,000 strings once cost 60 KB each). */
struct series_pred {
    bexpr *pred;
    uint32_t ntags;
    qctx *q;
    err er;
    bool failed;
};

/* The scan's interrupt: the query's deadline and memory limit, checked while it searches. */
static int scan_check(void *ctx, err *e) {
    return q_check(ctx, e);
}

static bool series_pred_eval(void *ctx, const strv *tags) {
    struct series_pred *sp = ctx;
    if (sp->failed) return false;
    arena *a = q_scratch(sp->q);
    vec *cols = arena_alloc(a, sizeof *cols * (sp->ntags + 1));
    for (uint32_t k = 0; k < sp->ntags; k++) {
        vec_alloc(a, VT_STR, 0, 1, &cols[k]);
        if (tags[k].p)
            cols[k].d.s[0] = tags[k];
        else
            vec_set_null(a, &cols[k], 0); /* storage's (NULL, 0) view becomes "" */
    }
    batch b = {sp->ntags, 1, cols};
    vec r;
    /* the scan being opened may run a long time over many series: the deadline counts here */
    if (q_check(sp->q, &sp->er) < 0 || bexpr_eval(sp->pred, &b, a, &r, &sp->er) < 0) {
        sp->failed = true;
        return false;
    }
    return r.type == VT_BOOL && vec_is_valid(&r, 0) && r.d.b[0];
}

/* ------------------------------------------------------------------ series filters */

int plan_series_filter(sql_session *s, qctx *q, meta_table *t, const expr *where,
                       series_filter *out, err *er) {
    arena *a = q->a;
    memset(out, 0, sizeof *out);
    out->tmin = INT64_MIN;
    out->tmax = INT64_MAX;
    if (!where) return 0;
    struct scope sc = {arena_calloc(a, sizeof *sc.cols * (t->ncols + 1)), t->ncols};
    for (uint32_t i = 0; i < t->ncols; i++) {
        struct col_ref *c = &sc.cols[i];
        c->qual = t->name;
        c->name = t->cols[i].name;
        c->type = t->cols[i].type;
        c->unit = t->cols[i].kind == CK_TIME ? t->precision : 0;
        c->kind = t->cols[i].kind;
        c->col_id = t->cols[i].id;
    }
    struct binder bd = {.s = s, .q = q, .a = a, .in = &sc, .now_ns = time_now_ns()};
    bexpr *w;
    if (bind(&bd, where, &w, er) < 0 || bx_cast(a, &w, VT_BOOL, 0, er) < 0) return -1;
    bexpr **conj = NULL;
    uint32_t nconj = 0, cap = 0;
    split_and(a, w, &conj, &nconj, &cap);
    bexpr *tagpred = NULL;
    for (uint32_t i = 0; i < nconj; i++) {
        if (time_bound(conj[i], 0, &out->tmin, &out->tmax)) continue;
        if (has_cols(conj[i]) && only_tags(conj[i], &sc)) {
            bexpr *r = tagpred ? bx_new(a, BX_AND, VT_BOOL, 2) : conj[i];
            if (tagpred) {
                r->args[0] = tagpred;
                r->args[1] = conj[i];
            }
            tagpred = r;
            continue;
        }
        out->has_other = true;
    }
    if (!tagpred) return 0;
    bool *used = arena_calloc(a, t->ncols + 1);
    mark_cols(tagpred, used);
    uint32_t *map = arena_alloc(a, sizeof *map * (t->ncols + 1));
    out->tag_ids = arena_alloc(a, sizeof *out->tag_ids * (t->ncols + 1));
    for (uint32_t i = 0; i < t->ncols; i++) {
        map[i] = UINT32_MAX;
        if (used[i]) {
            map[i] = out->ntags;
            out->tag_ids[out->ntags++] = t->cols[i].id;
        }
    }
    struct series_pred *spd = arena_calloc(a, sizeof *spd);
    spd->pred = remap(a, tagpred, map);
    spd->ntags = out->ntags;
    spd->q = q;
    out->pred = series_pred_eval;
    out->ctx = spd;
    return 0;
}

int series_filter_check(const series_filter *sf, err *er) {
    const struct series_pred *spd = sf->ctx;
    if (!sf->pred || !spd->failed) return 0;
    *er = spd->er;
    return -1;
}

/* ------------------------------------------------------------------ FROM */

struct source {
    struct scope sc;
    meta_table *table; /* NULL for non-table sources */
    op *child;         /* subquery or values source */
};

static int plan_from(sql_session *s, qctx *q, const sql_table_ref *tr, struct source *src,
                     err *er) {
    arena *a = q->a;
    memset(src, 0, sizeof *src);
    if (!tr) {
        /* No FROM: one row without columns. */
        batch *b = arena_calloc(a, sizeof *b);
        b->nrows = 1;
        src->child = op_values(q, 0, NULL, NULL, b, 1);
        return 0;
    }
    if (tr->kind == TR_TABLE) {
        const char *db = tr->db ? tr->db : s->db;
        meta_table *t = catalog_get_table(s->cat, s->tenant, db, tr->name, er);
        if (!t) return -1;
        src->table = t;
        src->sc.n = t->ncols;
        src->sc.cols = arena_calloc(a, sizeof *src->sc.cols * t->ncols);
        const char *qual = tr->alias ? tr->alias : arena_strdup(a, tr->name);
        for (uint32_t i = 0; i < t->ncols; i++) {
            struct col_ref *c = &src->sc.cols[i];
            c->qual = qual;
            c->name = arena_strdup(a, t->cols[i].name);
            c->type = t->cols[i].type;
            c->unit = t->cols[i].kind == CK_TIME ? t->precision : 0;
            c->kind = t->cols[i].kind;
            c->col_id = t->cols[i].id;
        }
        return 0;
    }
    if (tr->kind == TR_SUBQUERY) {
        plan_out sub;
        if (plan_query(s, q, tr->sub, &sub, er) < 0) return -1;
        src->child = sub.root;
        src->sc.n = sub.ncols;
        src->sc.cols = arena_calloc(a, sizeof *src->sc.cols * (sub.ncols + 1));
        for (uint32_t i = 0; i < sub.ncols; i++) {
            struct col_ref *c = &src->sc.cols[i];
            c->qual = tr->alias;
            c->name = sub.names[i];
            c->type = sub.root->types[i];
            c->unit = sub.root->units[i];
            c->has_tz = sub.root->has_tz[i];
            c->kind = 0xff;
        }
        return 0;
    }
    return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: joins");
}

/* ------------------------------------------------------------------ SELECT */

static int const_int(struct binder *bd, const expr *e, int64_t *out, const char *what, err *er) {
    bexpr *b;
    if (bind(bd, e, &b, er) < 0) return -1;
    if (!bx_is_const(b) || (b->type != VT_I64 && b->type != VT_U64))
        return plan_err(er, "Unexpected expression in %s clause", what);
    value v;
    if (bx_fold(bd->a, b, &v, er) < 0) return -1;
    if (v.null) {
        *out = -1;
        return 0;
    }
    if (b->type == VT_U64) v.v.i = v.v.u > INT64_MAX ? INT64_MAX : (int64_t)v.v.u;
    if (v.v.i < 0) return plan_err(er, "%s must not be negative", what);
    *out = v.v.i;
    return 0;
}

int plan_query(sql_session *s, qctx *q, const sql_query *qy, plan_out *out, err *er) {
    arena *a = q->a;
    if (qy->nctes) return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: WITH");
    const sql_body *body = qy->body;
    if (body->setop != SETOP_NONE)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: UNION/INTERSECT/EXCEPT");
    if (body->nested) {
        if (qy->norder || qy->limit || qy->offset)
            return err_set(
                er, 422, EC_NOT_IMPL,
                "This feature is not implemented: ORDER BY/LIMIT around a parenthesised query");
        return plan_query(s, q, body->nested, out, er);
    }
    if (body->values)
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: VALUES as a query");
    const sql_select *sel = body->select;
    if (sel->from && sel->from->kind == TR_JOIN)
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: joins");

    struct source src;
    if (plan_from(s, q, sel->from, &src, er) < 0) return -1;
    int rc = -1;
    struct binder bd = {.s = s, .q = q, .a = a, .in = &src.sc, .now_ns = time_now_ns()};

    /* Select list with * expanded. */
    uint32_t nitems = 0, capitems = sel->nitems + src.sc.n + 1;
    const expr **items = arena_alloc(a, sizeof *items * capitems);
    const char **names = arena_alloc(a, sizeof *names * capitems);
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const sql_select_item *it = &sel->items[i];
        if (it->e->kind == EX_STAR) {
            if (!sel->from) {
                plan_err(er, "SELECT * with no tables specified is not valid");
                goto done;
            }
            for (uint32_t c = 0; c < src.sc.n; c++) {
                if (it->e->qual && src.sc.cols[c].qual && strcmp(it->e->qual, src.sc.cols[c].qual))
                    continue;
                if (nitems == capitems) {
                    capitems *= 2;
                    items =
                        arena_realloc(a, items, sizeof *items * nitems, sizeof *items * capitems);
                    names =
                        arena_realloc(a, names, sizeof *names * nitems, sizeof *names * capitems);
                }
                expr *ce = arena_calloc(a, sizeof *ce);
                ce->kind = EX_COLUMN;
                ce->name = src.sc.cols[c].name;
                ce->qual = src.sc.cols[c].qual;
                ce->pos = it->pos;
                items[nitems] = ce;
                names[nitems++] = src.sc.cols[c].name;
            }
            continue;
        }
        if (nitems == capitems) {
            capitems *= 2;
            items = arena_realloc(a, items, sizeof *items * nitems, sizeof *items * capitems);
            names = arena_realloc(a, names, sizeof *names * nitems, sizeof *names * capitems);
        }
        items[nitems] = it->e;
        names[nitems++] = it->alias ? it->alias : expr_name(a, it->e, true, scope_qual(&src.sc));
    }

    /* WHERE */
    bexpr *where = NULL;
    if (sel->where) {
        if (bind(&bd, sel->where, &where, er) < 0) goto done;
        if (bx_cast(a, &where, VT_BOOL, 0, er) < 0) goto done;
    }

    /* Aggregation? */
    bool has_agg = sel->ngroup > 0 || sel->having;
    {
        struct stack {
            const expr *e;
        };
        /* Any aggregate call anywhere in the select list (not inside a subquery). */
        const expr **todo = arena_alloc(a, sizeof *todo * 256);
        for (uint32_t i = 0; i < nitems && !has_agg; i++) {
            uint32_t n = 0;
            todo[n++] = items[i];
            while (n && !has_agg) {
                const expr *e = todo[--n];
                if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) has_agg = true;
                for (uint32_t k = 0; k < e->nargs && n < 250; k++) todo[n++] = e->args[k];
                if (e->operand && n < 250) todo[n++] = e->operand;
                for (uint32_t k = 0; k < e->nwhen && n < 248; k++) {
                    todo[n++] = e->when[k];
                    todo[n++] = e->then[k];
                }
                if (e->els && n < 250) todo[n++] = e->els;
            }
        }
        for (uint32_t i = 0; i < qy->norder && !has_agg; i++) {
            const expr *e = qy->order_by[i].e;
            if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) has_agg = true;
        }
    }
    if (sel->distinct && !has_agg) {
        /* DISTINCT = GROUP BY every output column. */
    }

    bexpr **group_bx = NULL;
    uint32_t ngroup = 0;
    if (sel->group_kind) {
        err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: ROLLUP/CUBE/GROUPING SETS");
        goto done;
    }
    if (has_agg) {
        ngroup = sel->ngroup;
        group_bx = arena_alloc(a, sizeof *group_bx * (ngroup + 1));
        bd.group_names = arena_alloc(a, sizeof *bd.group_names * (ngroup + 1));
        for (uint32_t k = 0; k < ngroup; k++) {
            const expr *ge = sel->group_by[k];
            /* GROUP BY 1 / GROUP BY alias refer to select items. */
            if (ge->kind == EX_LITERAL && ge->lit.type == VT_I64) {
                int64_t pos = ge->lit.v.i;
                if (pos < 1 || pos > nitems) {
                    plan_err(er,
                             "Projection references non-aggregate values: GROUP BY position "
                             "%lld is not in select list",
                             (long long)pos);
                    goto done;
                }
                ge = items[pos - 1];
            } else if (ge->kind == EX_COLUMN && !ge->qual) {
                for (uint32_t i = 0; i < nitems; i++)
                    if (sel->items[i < sel->nitems ? i : 0].alias && i < sel->nitems &&
                        !strcmp(sel->items[i].alias, ge->name)) {
                        bool is_col = false;
                        for (uint32_t c = 0; c < src.sc.n; c++)
                            is_col |= !strcmp(src.sc.cols[c].name, ge->name);
                        if (!is_col) ge = sel->items[i].e;
                        break;
                    }
            }
            if (bind(&bd, ge, &group_bx[k], er) < 0) goto done;
            bd.group_names[k] = expr_name(a, ge, false, scope_qual(&src.sc));
        }
        bd.group_bx = group_bx;
        bd.ngroup = ngroup;
        bd.agg = true;
    }

    /* Projection (bound in aggregate mode when aggregating). */
    bexpr **proj = arena_alloc(a, sizeof *proj * (nitems + qy->norder + 1));
    for (uint32_t i = 0; i < nitems; i++)
        if (bind(&bd, items[i], &proj[i], er) < 0) goto done;
    bexpr *having = NULL;
    if (sel->having) {
        if (bind(&bd, sel->having, &having, er) < 0) goto done;
        if (bx_cast(a, &having, VT_BOOL, 0, er) < 0) goto done;
    }

    /* ORDER BY: output positions, aliases/output names, or hidden extra columns. */
    uint32_t nproj = nitems;
    sort_key *keys = arena_alloc(a, sizeof *keys * (qy->norder + 1));
    for (uint32_t k = 0; k < qy->norder; k++) {
        const sql_order_item *oi = &qy->order_by[k];
        int col = -1;
        if (oi->e->kind == EX_LITERAL && oi->e->lit.type == VT_I64) {
            int64_t pos = oi->e->lit.v.i;
            if (pos < 1 || pos > nitems) {
                plan_err(er, "Order by column out of bounds, specified: %lld, max: %u",
                         (long long)pos, nitems);
                goto done;
            }
            col = (int)pos - 1;
        } else {
            char *nm = oi->e->kind == EX_COLUMN && !oi->e->qual
                           ? (char *)oi->e->name
                           : expr_name(a, oi->e, true, scope_qual(&src.sc));
            for (uint32_t i = 0; i < nitems && col < 0; i++)
                if (!strcmp(names[i], nm)) col = (int)i;
        }
        if (col < 0) {
            if (bind(&bd, oi->e, &proj[nproj], er) < 0) goto done;
            col = (int)nproj++;
        }
        keys[k].e = bx_col(a, (uint32_t)col, proj[col]->type, proj[col]->unit);
        keys[k].desc = oi->desc;
        keys[k].nulls_first = oi->nulls_first < 0 ? oi->desc : oi->nulls_first;
    }

    int64_t limit = -1, offset = 0;
    if (qy->limit && const_int(&bd, qy->limit, &limit, "LIMIT", er) < 0) goto done;
    if (qy->offset) {
        if (const_int(&bd, qy->offset, &offset, "OFFSET", er) < 0) goto done;
        if (offset < 0) offset = 0;
    }

    /* Build: source → filter → aggregate → project → sort → limit. */
    op *root;
    if (src.table) {
        meta_table *t = src.table;
        bool *used = arena_calloc(a, src.sc.n + 1);
        /* time is read only when something uses it (the scan skips decoding it otherwise) */
        int64_t tmin = INT64_MIN, tmax = INT64_MAX;
        bexpr **conj = NULL;
        uint32_t nconj = 0, capconj = 0;
        bexpr *residual = NULL, *tagpred = NULL;
        if (where) split_and(a, where, &conj, &nconj, &capconj);
        for (uint32_t i = 0; i < nconj; i++) {
            if (time_bound(conj[i], 0, &tmin, &tmax)) continue;
            if (has_cols(conj[i]) && only_tags(conj[i], &src.sc)) {
                bexpr *r = tagpred ? bx_new(a, BX_AND, VT_BOOL, 2) : conj[i];
                if (tagpred) {
                    r->args[0] = tagpred;
                    r->args[1] = conj[i];
                }
                tagpred = r;
                continue;
            }
            bexpr *r = residual ? bx_new(a, BX_AND, VT_BOOL, 2) : conj[i];
            if (residual) {
                r->args[0] = residual;
                r->args[1] = conj[i];
            }
            residual = r;
        }
        if (residual) mark_cols(residual, used);
        if (has_agg) {
            for (uint32_t k = 0; k < ngroup; k++) mark_cols(group_bx[k], used);
            for (uint32_t k = 0; k < bd.naggs; k++) {
                if (bd.aggs[k].arg) mark_cols(bd.aggs[k].arg, used);
                if (bd.aggs[k].arg2) mark_cols(bd.aggs[k].arg2, used);
            }
        } else {
            for (uint32_t i = 0; i < nproj; i++) mark_cols(proj[i], used);
        }
        /* Scan columns: time, used tags, used fields; map table positions to scan outputs. */
        uint32_t *map = arena_alloc(a, sizeof *map * (t->ncols + 1));
        uint32_t ntag = 0, nfield = 0;
        uint32_t *tag_ids = arena_alloc(a, sizeof *tag_ids * (t->ncols + 1));
        uint32_t *field_ids = arena_alloc(a, sizeof *field_ids * (t->ncols + 1));
        uint8_t *field_types = arena_alloc(a, t->ncols + 1);
        bool *tag_used = arena_calloc(a, t->ncols + 1);
        if (tagpred) mark_cols(tagpred, tag_used);
        for (uint32_t i = 0; i < t->ncols; i++)
            if (t->cols[i].kind == CK_TAG && (used[i] || tag_used[i]))
                tag_ids[ntag++] = t->cols[i].id;
        for (uint32_t i = 0; i < t->ncols; i++)
            if (t->cols[i].kind == CK_FIELD && used[i]) {
                field_types[nfield] = t->cols[i].type;
                field_ids[nfield++] = t->cols[i].id;
            }
        uint32_t ti = 0, fi = 0;
        uint32_t *tagmap = arena_alloc(a, sizeof *tagmap * (t->ncols + 1));
        for (uint32_t i = 0; i < t->ncols; i++) {
            if (t->cols[i].kind == CK_TIME)
                map[i] = 0;
            else if (t->cols[i].kind == CK_TAG && (used[i] || tag_used[i])) {
                tagmap[i] = ti;
                map[i] = 1 + ti++;
            } else if (t->cols[i].kind == CK_FIELD && used[i])
                map[i] = 1 + ntag + fi++;
            else
                map[i] = UINT32_MAX;
        }
        scan_spec *sp = arena_calloc(a, sizeof *sp);
        sp->db_id = t->db_id;
        sp->table_id = t->id;
        sp->precision = t->precision;
        sp->tmin = tmin;
        sp->tmax = tmax;
        sp->ntags = ntag;
        sp->tag_ids = tag_ids;
        sp->nfields = nfield;
        sp->field_ids = field_ids;
        sp->field_types = field_types;
        sp->need_time = used[0];
        sp->check = scan_check;
        sp->check_ctx = q;
        if (tagpred) {
            struct series_pred *spd = arena_calloc(a, sizeof *spd);
            spd->pred = remap(a, tagpred, tagmap);
            spd->ntags = ntag;
            spd->q = q;
            sp->series_pred = series_pred_eval;
            sp->pred_ctx = spd;
            /* tag = 'const' conjuncts: candidate series straight from the index bitmaps */
            bexpr **tc = NULL;
            uint32_t ntc = 0, captc = 0;
            split_and(a, tagpred, &tc, &ntc, &captc);
            uint32_t *eq_ids = arena_alloc(a, sizeof *eq_ids * (ntc + 1));
            strv *eq_vals = arena_alloc(a, sizeof *eq_vals * (ntc + 1));
            uint32_t neq = 0;
            for (uint32_t i = 0; i < ntc; i++) {
                const bexpr *c = tc[i];
                if (c->kind != BX_CMP || c->op != OP_EQ) continue;
                const bexpr *l = c->args[0], *r = c->args[1];
                if (l->kind == BX_CONST) {
                    const bexpr *tmp = l;
                    l = r;
                    r = tmp;
                }
                if (l->kind != BX_COL || r->kind != BX_CONST || r->cval.null || r->type != VT_STR)
                    continue;
                eq_ids[neq] = t->cols[l->col].id;
                eq_vals[neq++] = r->cval.v.s;
            }
            sp->neq = neq;
            sp->eq_tag_ids = eq_ids;
            sp->eq_vals = eq_vals;
        }
        if (tmin > tmax) {
            /* Contradictory time range: nothing to read. */
            sp->tmin = 1;
            sp->tmax = 0;
        }
        root = op_scan(q, s->eng, sp, er);
        if (!root) goto done;
        if (tagpred && ((struct series_pred *)sp->pred_ctx)->failed) {
            *er = ((struct series_pred *)sp->pred_ctx)->er;
            root->close(root);
            goto done;
        }
        if (residual) root = op_filter(q, root, remap(a, residual, map));
        if (has_agg) {
            for (uint32_t k = 0; k < ngroup; k++) group_bx[k] = remap(a, group_bx[k], map);
            for (uint32_t k = 0; k < bd.naggs; k++) {
                if (bd.aggs[k].arg) bd.aggs[k].arg = remap(a, bd.aggs[k].arg, map);
                if (bd.aggs[k].arg2) bd.aggs[k].arg2 = remap(a, bd.aggs[k].arg2, map);
            }
        } else {
            for (uint32_t i = 0; i < nproj; i++) proj[i] = remap(a, proj[i], map);
        }
    } else {
        root = src.child;
        if (where) root = op_filter(q, root, where);
    }
    if (has_agg) {
        root = op_agg(q, root, group_bx, ngroup, bd.aggs, bd.naggs);
        if (having) root = op_filter(q, root, having);
    }
    root = op_project(q, root, proj, nproj);
    if (sel->distinct) {
        bexpr **dk = arena_alloc(a, sizeof *dk * (nproj + 1));
        for (uint32_t i = 0; i < nproj; i++) dk[i] = bx_col(a, i, proj[i]->type, proj[i]->unit);
        root = op_agg(q, root, dk, nproj, NULL, 0);
    }
    if (qy->norder) {
        int64_t keep = -1; /* LIMIT 2^63-1 OFFSET 10 keeps everything, it does not wrap */
        if (limit >= 0 && __builtin_add_overflow(limit, offset, &keep)) keep = INT64_MAX;
        root = op_sort(q, root, keys, qy->norder, keep);
    }
    if (limit >= 0 || offset > 0) root = op_limit(q, root, (uint64_t)offset, limit);
    if (nproj > nitems) {
        bexpr **fin = arena_alloc(a, sizeof *fin * (nitems + 1));
        for (uint32_t i = 0; i < nitems; i++) {
            fin[i] = bx_col(a, i, proj[i]->type, proj[i]->unit);
            fin[i]->has_tz = proj[i]->has_tz;
        }
        root = op_project(q, root, fin, nitems);
    }
    out->root = root;
    out->ncols = nitems;
    out->names = names;
    rc = 0;
done:
    if (src.table) meta_table_release(src.table);
    return rc;
}
