/* Bound expressions (bexpr) printed as DataFusion's plans print expressions: see explain.h.
 * A logical plan shows columns by their qualified names and literals with their type
 * (`cpu.usage > Float64(1)`); a physical plan shows columns as `name@index` and literals by
 * value (`usage@2 > 1`). A binary operand that binds less tightly than its parent, or whose
 * operator has no precedence (||, IS DISTINCT FROM, ~), is parenthesised, as DataFusion does.
 * plan_name.c does the same for AST expressions (output column names); the two meet where a
 * plan prints an expression whose name is also a column's. */
#include "sql/explain.h"

#include "format/fmt_num.h"

#include "format/format.h"
#include "sql/plan_int.h"
#include "util/dec.h"
#include "util/vlist.h"

#include <string.h>

static const char *ts_scalar_name(uint8_t unit) {
    switch (unit) {
    case TU_S:
        return "TimestampSecond";
    case TU_MS:
        return "TimestampMillisecond";
    case TU_US:
        return "TimestampMicrosecond";
    default:
        return "TimestampNanosecond";
    }
}

/* A literal as ScalarValue's Debug (logical: `Int64(1)`, `Utf8("a")`) or Display (physical:
 * `1`, `a`) prints it. */
static void put_value(buf *b, const value *v, uint8_t type, uint8_t unit, bool has_tz,
                      bool physical) {
    const char *tz = has_tz ? "Some(\"+00:00\")" : "None";
    if (v->null || type == VT_NULL) {
        if (physical || type == VT_NULL)
            buf_puts(b, "NULL");
        else if (type == VT_TS)
            buf_printf(b, "%s(NULL, %s)", ts_scalar_name(unit), tz);
        else
            buf_printf(b, "%s(NULL)", vtype_arrow_name(type, unit));
        return;
    }
    switch (type) {
    case VT_BOOL:
        buf_printf(b, physical ? "%s" : "Boolean(%s)", v->v.b ? "true" : "false");
        break;
    case VT_I64:
        buf_printf(b, physical ? "%lld" : "Int64(%lld)", (long long)v->v.i);
        break;
    case VT_U64:
        buf_printf(b, physical ? "%llu" : "UInt64(%llu)", (unsigned long long)v->v.u);
        break;
    case VT_F64: {
        /* Rust's Display: Float64(1), Float64(12345678865), never an exponent */
        char num[330];
        size_t n = fmt_double_plain(num, v->v.f);
        if (!physical) buf_puts(b, "Float64(");
        buf_append(b, num, n);
        if (!physical) buf_putc(b, ')');
        break;
    }
    case VT_STR:
        if (physical)
            buf_append(b, v->v.s.p, v->v.s.len);
        else
            buf_printf(b, "Utf8(\"%.*s\")", (int)v->v.s.len, v->v.s.p);
        break;
    case VT_TS:
        if (physical)
            buf_printf(b, "%lld", (long long)v->v.i);
        else
            buf_printf(b, "%s(%lld, %s)", ts_scalar_name(unit), (long long)v->v.i, tz);
        break;
    case VT_DATE:
        buf_printf(b, physical ? "%lld" : "Date32(\"%lld\")", (long long)v->v.i);
        break;
    case VT_DEC128: {
        /* ScalarValue shows a decimal's integer, precision and scale either way */
        char t[DEC_TEXT_MAX];
        dec_format(dec_get(v->v.dec), 0, t);
        buf_printf(b, physical ? "Some(%s),%d,%d" : "Decimal128(Some(%s),%d,%d)", t, dec_prec(unit),
                   dec_scale(unit));
        break;
    }
    case VT_INTERVAL:
        buf_printf(b, "IntervalMonthDayNano(\"%d months %d days %lld nanos\")", v->v.iv.months,
                   v->v.iv.days, (long long)v->v.iv.nanos);
        break;
    case VT_LIST: { /* ScalarValue::List: its elements' Display joined by commas */
        uint32_t n = vlist_len(v->v.s);
        if (!physical) buf_puts(b, "List([");
        for (uint32_t i = 0; i < n; i++) {
            value el;
            vlist_get(v->v.s, unit, i, &el);
            if (i) buf_putc(b, ',');
            put_value(b, &el, el.type, el.unit, vlist_etz(unit), true);
        }
        if (!physical) buf_puts(b, "])");
        break;
    }
    default:
        buf_puts(b, "?");
    }
}

/* DataFusion's Operator::precedence; 0 = always parenthesised as an operand. */
static int precedence(const bexpr *e) {
    switch (e->kind) {
    case BX_OR:
        return 5;
    case BX_AND:
        return 10;
    case BX_CMP:
        return 20;
    case BX_ARITH:
        return plan_op_precedence(e->op);
    default:
        return -1; /* not a binary operator */
    }
}

static bool is_binary(const bexpr *e) {
    return precedence(e) >= 0 || e->kind == BX_CONCAT || e->kind == BX_DISTINCT_FROM ||
           e->kind == BX_REGEX;
}

static void put_expr(buf *b, const bexpr *e, const ex_cols *in, bool phys);

static void put_operand(buf *b, const bexpr *child, int parent_prec, const ex_cols *in, bool phys) {
    if (is_binary(child)) {
        int p = precedence(child);
        if (p <= 0 || p < parent_prec) {
            buf_putc(b, '(');
            put_expr(b, child, in, phys);
            buf_putc(b, ')');
            return;
        }
    }
    put_expr(b, child, in, phys);
}

static void put_binary(buf *b, const bexpr *e, const char *optext, const ex_cols *in, bool phys) {
    int p = precedence(e);
    put_operand(b, e->args[0], p, in, phys);
    buf_printf(b, " %s ", optext);
    put_operand(b, e->args[1], p, in, phys);
}

static void put_list(buf *b, bexpr *const *args, uint32_t n, const ex_cols *in, bool phys) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, ", ");
        put_expr(b, args[i], in, phys);
    }
}

static void put_col(buf *b, uint32_t col, const ex_cols *in, bool phys) {
    const char *nm = NULL;
    if (in && col < in->n) nm = phys ? in->pname[col] : in->lname[col];
    if (nm)
        buf_puts(b, nm);
    else
        buf_printf(b, "#%u", col);
    if (phys) buf_printf(b, "@%u", (in ? in->base : 0) + col);
}

/* A physical IN list's items as DataFusion's Debug shows them: `Literal { value: Int64(1) }`. */
static void put_in_items(buf *b, const bexpr *e, const ex_cols *in) {
    buf_putc(b, '[');
    for (uint32_t i = 1; i < e->nargs; i++) {
        const bexpr *x = e->args[i];
        if (i > 1) buf_puts(b, ", ");
        if (x->kind == BX_CONST) {
            buf_puts(b, "Literal { value: ");
            put_value(b, &x->cval, x->type, x->unit, x->has_tz, false);
            buf_puts(b, " }");
        } else if (x->kind == BX_COL) {
            const char *nm = in && x->col < in->n ? in->pname[x->col] : NULL;
            buf_printf(b, "Column { name: \"%s\", index: %u }", nm ? nm : "?",
                       (in ? in->base : 0) + x->col);
        } else {
            put_expr(b, x, in, true);
        }
    }
    buf_putc(b, ']');
}

static void put_in(buf *b, const bexpr *e, const ex_cols *in, bool phys) {
    const char *neg = e->negated ? " NOT" : "";
    if (e->nargs == 1) {
        /* the rows of a subquery, run while planning */
        put_expr(b, e->args[0], in, phys);
        buf_printf(b, "%s IN (<subquery>)", neg);
        return;
    }
    if (!phys) {
        put_expr(b, e->args[0], in, phys);
        buf_printf(b, "%s IN ([", neg);
        put_list(b, e->args + 1, e->nargs - 1, in, phys);
        buf_puts(b, "])");
        return;
    }
    bool set = e->aux != NULL; /* a hashed set of constants */
    if (set && !e->negated) buf_puts(b, "Use ");
    put_expr(b, e->args[0], in, phys);
    buf_printf(b, "%s IN %s(", neg, set ? "(SET) " : "");
    put_in_items(b, e, in);
    buf_putc(b, ')');
}

static void put_case(buf *b, const bexpr *e, const ex_cols *in, bool phys) {
    buf_puts(b, "CASE ");
    uint32_t i = 0, n = e->nargs;
    if (e->case_has_operand) {
        put_expr(b, e->args[i++], in, phys);
        buf_putc(b, ' ');
    }
    uint32_t end = e->case_has_else ? n - 1 : n;
    for (; i + 2 <= end; i += 2) {
        buf_puts(b, "WHEN ");
        put_expr(b, e->args[i], in, phys);
        buf_puts(b, " THEN ");
        put_expr(b, e->args[i + 1], in, phys);
        buf_putc(b, ' ');
    }
    if (e->case_has_else) {
        buf_puts(b, "ELSE ");
        put_expr(b, e->args[n - 1], in, phys);
        buf_putc(b, ' ');
    }
    buf_puts(b, "END");
}

static void put_expr(buf *b, const bexpr *e, const ex_cols *in, bool phys) {
    switch (e->kind) {
    case BX_CONST:
        put_value(b, &e->cval, e->type, e->unit, e->has_tz, phys);
        break;
    case BX_COL:
        put_col(b, e->col, in, phys);
        break;
    case BX_NOT:
        buf_puts(b, "NOT ");
        put_expr(b, e->args[0], in, phys);
        break;
    case BX_NEG:
        buf_puts(b, "(- ");
        put_expr(b, e->args[0], in, phys);
        buf_putc(b, ')');
        break;
    case BX_ARITH:
    case BX_CMP:
        put_binary(b, e, plan_op_text(e->op), in, phys);
        break;
    case BX_AND:
        put_binary(b, e, "AND", in, phys);
        break;
    case BX_OR:
        put_binary(b, e, "OR", in, phys);
        break;
    case BX_CONCAT:
        put_binary(b, e, "||", in, phys);
        break;
    case BX_DISTINCT_FROM:
        put_binary(b, e, e->negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", in, phys);
        break;
    case BX_REGEX:
        put_binary(b, e, e->negated ? (e->ilike ? "!~*" : "!~") : (e->ilike ? "~*" : "~"), in,
                   phys);
        break;
    case BX_IS_NULL:
        put_expr(b, e->args[0], in, phys);
        buf_puts(b, e->negated ? " IS NOT NULL" : " IS NULL");
        break;
    case BX_IS_BOOL:
        put_expr(b, e->args[0], in, phys);
        buf_printf(b, " IS %s%s", e->negated ? "NOT " : "", e->op == OP_IS_TRUE ? "TRUE" : "FALSE");
        break;
    case BX_IN_LIST:
        put_in(b, e, in, phys);
        break;
    case BX_LIKE:
        put_expr(b, e->args[0], in, phys);
        buf_printf(b, " %s%s ", e->negated ? "NOT " : "", e->ilike ? "ILIKE" : "LIKE");
        put_expr(b, e->args[1], in, phys);
        break;
    case BX_CASE:
        put_case(b, e, in, phys);
        break;
    case BX_CAST:
        buf_puts(b, e->try_cast ? "TRY_CAST(" : "CAST(");
        put_expr(b, e->args[0], in, phys);
        buf_printf(b, " AS %s)", vtype_arrow_name(e->type, e->unit));
        break;
    case BX_FUNC:
        buf_printf(b, "%s(", e->fname ? e->fname : "?");
        put_list(b, e->args, e->nargs, in, phys);
        buf_putc(b, ')');
        break;
    default:
        buf_puts(b, "?");
    }
}

void ex_value(buf *b, const value *v, bool physical) {
    put_value(b, v, v->type, v->unit, false, physical);
}

void ex_expr(buf *b, const bexpr *e, const ex_cols *in, bool physical) {
    put_expr(b, e, in, physical);
}

void ex_cols_init(arena *a, ex_cols *c, uint32_t n) {
    c->n = n;
    c->base = 0;
    c->lname = arena_calloc(a, sizeof *c->lname * (n + 1));
    c->pname = arena_calloc(a, sizeof *c->pname * (n + 1));
}

void ex_cols_concat(arena *a, const ex_cols *x, const ex_cols *y, ex_cols *out) {
    ex_cols_init(a, out, x->n + y->n);
    memcpy(out->lname, x->lname, sizeof *x->lname * x->n);
    memcpy(out->pname, x->pname, sizeof *x->pname * x->n);
    memcpy(out->lname + x->n, y->lname, sizeof *y->lname * y->n);
    memcpy(out->pname + x->n, y->pname, sizeof *y->pname * y->n);
}

void ex_expr_col(arena *a, const bexpr *e, const ex_cols *in, const char *alias, ex_cols *out,
                 uint32_t k) {
    if (alias) {
        out->lname[k] = out->pname[k] = alias;
        return;
    }
    if (e->kind == BX_COL && in && e->col < in->n) {
        out->lname[k] = in->lname[e->col];
        out->pname[k] = in->pname[e->col];
        return;
    }
    buf b;
    buf_init(&b);
    put_expr(&b, e, in, false);
    out->lname[k] = out->pname[k] = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
}
