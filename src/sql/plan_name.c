/* Display names of expressions, as DataFusion prints them: `COUNT(*)`, `AVG(t.f)`, `Int64(1)`,
 * `CAST(t.x AS Utf8)`. They name output columns that have no alias, and the binder matches
 * group keys and aggregates by them, so two spellings of one expression must print alike. See
 * plan_int.h. */
#include "sql/plan_int.h"

#include "format/fmt_num.h"

#include "format/format.h"
#include "sql/func.h"
#include "util/buf.h"

const char *plan_op_text(uint8_t opc) {
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

const char *plan_type_arrow(const sql_type *t) {
    /* a type Strata does not know goes by its SQL name; a timestamp prints as nanoseconds
     * whatever precision the CAST asked for */
    if (t->vt == VT_NULL) return t->name ? t->name : "?";
    return vtype_arrow_name(t->vt, TU_NS);
}

static void put_i64(buf *b, int64_t v) {
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = sizeof tmp;
    do tmp[--n] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) tmp[--n] = '-';
    buf_append(b, tmp + n, sizeof tmp - n);
}

/* The display name of a literal the DataFusion way: Int64(1), Utf8("a"), Float64(1.5). Names
 * are built for every select item and group key of every query, so without printf. */
static void value_display(buf *b, const value *v) {
    if (v->null || v->type == VT_NULL) {
        buf_puts(b, "NULL");
        return;
    }
    switch (v->type) {
    case VT_BOOL:
        buf_puts(b, v->v.b ? "Boolean(true)" : "Boolean(false)");
        break;
    case VT_I64:
        buf_puts(b, "Int64(");
        put_i64(b, v->v.i);
        buf_putc(b, ')');
        break;
    case VT_U64:
        buf_printf(b, "UInt64(%llu)", (unsigned long long)v->v.u);
        break;
    case VT_F64: {
        char num[330]; /* Rust's Display, as DataFusion names it: Float64(50) */
        buf_puts(b, "Float64(");
        buf_append(b, num, fmt_double_plain(num, v->v.f));
        buf_putc(b, ')');
        break;
    }
    case VT_STR:
        buf_puts(b, "Utf8(\"");
        buf_append(b, v->v.s.p, v->v.s.len);
        buf_puts(b, "\")");
        break;
    case VT_TS:
        buf_puts(b, "TimestampNanosecond(");
        put_i64(b, v->v.i);
        buf_puts(b, ", None)");
        break;
    case VT_INTERVAL:
        buf_puts(b, "IntervalMonthDayNano(\"");
        put_i64(b, v->v.iv.months);
        buf_puts(b, " months ");
        put_i64(b, v->v.iv.days);
        buf_puts(b, " days ");
        put_i64(b, v->v.iv.nanos);
        buf_puts(b, " nanos\")");
        break;
    default:
        buf_putc(b, '?');
    }
}

/* How an expression is printed: DataFusion names a column by its expression's create_name, which
 * drops CASTs and joins arguments with ","; but a LIKE's operands are printed with Display, which
 * keeps `CAST(x AS T)`, joins arguments with ", " and brackets a binary operand of lower
 * precedence (disp). */
struct nctx {
    const struct scope *sc;
    bool disp;
};

static void name_into(buf *b, arena *a, const expr *e, bool top, const struct nctx *sc);

/* The qualifier DataFusion prints before an unqualified column: its table's (or alias's) as
 * the scope resolves it, the first table's when it resolves to none (an output alias). */
static const char *col_qual(const struct scope *sc, const expr *e) {
    if (!sc) return NULL;
    uint32_t i;
    if (plan_scope_find(sc, e, &i)) return sc->cols[i].qual;
    return plan_scope_qual(sc);
}

static void names_list(buf *b, arena *a, expr **args, uint32_t n, const struct nctx *sc,
                       const char *sep) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, sep);
        name_into(b, a, args[i], false, sc);
    }
}

static void name_case(buf *b, arena *a, const expr *e, const struct nctx *sc) {
    buf_puts(b, "CASE ");
    if (e->operand) {
        name_into(b, a, e->operand, false, sc);
        buf_putc(b, ' ');
    }
    for (uint32_t i = 0; i < e->nwhen; i++) {
        buf_puts(b, "WHEN ");
        name_into(b, a, e->when[i], false, sc);
        buf_puts(b, " THEN ");
        name_into(b, a, e->then[i], false, sc);
        buf_putc(b, ' ');
    }
    if (e->els) {
        buf_puts(b, "ELSE ");
        name_into(b, a, e->els, false, sc);
        buf_putc(b, ' ');
    }
    buf_puts(b, "END");
}

static void name_bound(buf *b, arena *a, const sql_frame_bound *fb) {
    switch (fb->kind) {
    case FB_UNBOUNDED_PRECEDING:
        buf_puts(b, "UNBOUNDED PRECEDING");
        return;
    case FB_CURRENT_ROW:
        buf_puts(b, "CURRENT ROW");
        return;
    case FB_UNBOUNDED_FOLLOWING:
        buf_puts(b, "UNBOUNDED FOLLOWING");
        return;
    default:
        if (fb->offset && fb->offset->kind == EX_LITERAL && fb->offset->text)
            buf_puts(b, fb->offset->text); /* a number as written: `2 PRECEDING` */
        else if (fb->offset && fb->offset->kind == EX_LITERAL)
            value_display(b, &fb->offset->lit);
        else if (fb->offset)
            name_into(b, a, fb->offset, false, &(struct nctx){0});
        buf_puts(b, fb->kind == FB_PRECEDING ? " PRECEDING" : " FOLLOWING");
    }
}

/* ` ORDER BY [t.b ASC NULLS LAST, ...]` of a window or an aggregate (nothing for no keys). */
static void name_order(buf *b, arena *a, const sql_order_item *items, uint32_t n,
                       const struct nctx *sc) {
    if (!n) return;
    buf_puts(b, " ORDER BY [");
    for (uint32_t i = 0; i < n; i++) {
        const sql_order_item *oi = &items[i];
        if (i) buf_puts(b, ", ");
        name_into(b, a, oi->e, false, sc);
        bool nf = oi->nulls_first < 0 ? oi->desc : oi->nulls_first;
        buf_puts(b, oi->desc ? " DESC" : " ASC");
        buf_puts(b, nf ? " NULLS FIRST" : " NULLS LAST");
    }
    buf_putc(b, ']');
}

/* A window function call as DataFusion names it: `SUM(t.v) PARTITION BY [t.a] ORDER BY [t.b ASC
 * NULLS LAST] RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`, the default frame spelled
 * out. */
static void name_window(buf *b, arena *a, const expr *e, const struct nctx *sc) {
    int ak = agg_lookup(e->name);
    if (ak) {
        buf_puts(b, agg_display(ak));
    } else {
        for (const char *c = e->name; *c; c++)
            buf_putc(b, (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c));
    }
    buf_putc(b, '(');
    if (e->distinct) buf_puts(b, "DISTINCT ");
    if (e->star || (ak && e->nargs == 0))
        buf_putc(b, '*');
    else
        names_list(b, a, e->args, e->nargs, sc, sc->disp ? ", " : ",");
    buf_putc(b, ')');
    const sql_window *w = e->over;
    if (w->npartition) {
        buf_puts(b, " PARTITION BY [");
        names_list(b, a, w->partition_by, w->npartition, sc, ", ");
        buf_putc(b, ']');
    }
    name_order(b, a, w->order_by, w->norder, sc);
    if (w->ref_name && !w->npartition && !w->norder && !w->frame_units)
        buf_printf(b, " OVER %s", w->ref_name);
    if (!w->frame_units) {
        buf_puts(b, w->norder ? " RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
                              : " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING");
        return;
    }
    buf_puts(b, w->frame_units == FRAME_ROWS    ? " ROWS BETWEEN "
                : w->frame_units == FRAME_RANGE ? " RANGE BETWEEN "
                                                : " GROUPS BETWEEN ");
    name_bound(b, a, &w->frame_start);
    buf_puts(b, " AND ");
    name_bound(b, a, &w->frame_end);
}

/* An aggregate call prints its name as DataFusion displays it (COUNT, AVG) and `*` for no
 * argument. */
static void name_func(buf *b, arena *a, const expr *e, const struct nctx *sc) {
    int ak = agg_lookup(e->name);
    if (e->over) {
        name_window(b, a, e, sc);
        return;
    }
    if (ak) {
        buf_puts(b, agg_display(ak));
        buf_putc(b, '(');
        if (e->distinct) buf_puts(b, "DISTINCT ");
        if (e->star || e->nargs == 0)
            buf_putc(b, '*');
        else
            names_list(b, a, e->args, e->nargs, sc, sc->disp ? ", " : ",");
        buf_putc(b, ')');
        if (e->filter) {
            buf_puts(b, " FILTER (WHERE ");
            name_into(b, a, e->filter, false, sc);
            buf_putc(b, ')');
        }
        name_order(b, a, e->func_order, e->nfunc_order, sc);
    } else if (!strcmp(e->name, "array_element") && e->nargs == 2 &&
               e->args[1]->kind == EX_LITERAL && e->args[1]->lit.type == VT_I64 &&
               !e->args[1]->lit.null) {
        /* l[i] is DataFusion's GetIndexedField, named `l[i]` with the key's Display */
        name_into(b, a, e->args[0], false, sc);
        buf_printf(b, "[%lld]", (long long)e->args[1]->lit.v.i);
    } else {
        buf_puts(b, func_display(e->name));
        buf_putc(b, '(');
        if (e->distinct) buf_puts(b, "DISTINCT ");
        if (e->star)
            buf_putc(b, '*');
        else
            names_list(b, a, e->args, e->nargs, sc, sc->disp ? ", " : ",");
        buf_putc(b, ')');
    }
}

/* A BuiltinScalarFunction variant as Rust's Debug prints it: the name in CamelCase, but for
 * the variants DataFusion spells otherwise. */
static void put_fun_variant(buf *b, const char *name) {
    static const char *const odd[][2] = {
        {"md5", "MD5"},         {"sha224", "SHA224"}, {"sha256", "SHA256"},
        {"sha384", "SHA384"},   {"sha512", "SHA512"}, {"concat_ws", "ConcatWithSeparator"},
        {"initcap", "InitCap"}, {"nullif", "NullIf"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        if (!strcmp(name, odd[i][0])) {
            buf_puts(b, odd[i][1]);
            return;
        }
    bool up = true;
    for (const char *c = name; *c; c++) {
        if (*c == '_') {
            up = true;
            continue;
        }
        buf_putc(b, (char)(up && *c >= 'a' && *c <= 'z' ? *c - 32 : *c));
        up = false;
    }
}

/* An expression as Rust's derived Debug prints DataFusion's Expr, for the forms an IN list
 * holds in practice (literals, calls over them, columns, casts, negations); anything else by
 * its name. */
static void debug_into(buf *b, arena *a, const expr *e, const struct nctx *sc) {
    switch (e->kind) {
    case EX_LITERAL:
        buf_puts(b, "Literal(");
        value_display(b, &e->lit);
        buf_putc(b, ')');
        return;
    case EX_COLUMN: {
        const char *q = e->qual ? e->qual : col_qual(sc->sc, e);
        buf_puts(b, "Column(Column { relation: ");
        if (q)
            buf_printf(b, "Some(Bare { table: \"%s\" })", q);
        else
            buf_puts(b, "None");
        buf_printf(b, ", name: \"%s\" })", e->name);
        return;
    }
    case EX_UNARY:
        if (e->op == OP_NEG || e->op == OP_NOT) {
            buf_puts(b, e->op == OP_NEG ? "Negative(" : "Not(");
            debug_into(b, a, e->args[0], sc);
            buf_putc(b, ')');
        } else {
            debug_into(b, a, e->args[0], sc);
        }
        return;
    case EX_CAST: {
        const char *k = e->op == 1 ? "TryCast" : "Cast";
        buf_printf(b, "%s(%s { expr: ", k, k);
        debug_into(b, a, e->args[0], sc);
        buf_printf(b, ", data_type: %s })", plan_type_arrow(&e->cast_type));
        return;
    }
    case EX_FUNC:
        if (!e->over && !agg_lookup(e->name) && !e->star) {
            buf_puts(b, "ScalarFunction(ScalarFunction { fun: ");
            put_fun_variant(b, func_display(e->name));
            buf_puts(b, ", args: [");
            for (uint32_t i = 0; i < e->nargs; i++) {
                if (i) buf_puts(b, ", ");
                debug_into(b, a, e->args[i], sc);
            }
            buf_puts(b, "] })");
            return;
        }
        break;
    default:
        break;
    }
    name_into(b, a, e, false, sc);
}

int plan_op_precedence(uint8_t opc) {
    switch (opc) {
    case OP_OR:
        return 5;
    case OP_AND:
        return 10;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return 20;
    case OP_ADD:
    case OP_SUB:
        return 30;
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        return 40;
    default:
        return 0;
    }
}

/* An operand of a binary operator; Display brackets one of lower precedence. */
static void name_operand(buf *b, arena *a, const expr *x, uint8_t opc, const struct nctx *sc) {
    int p = x->kind == EX_BINARY ? plan_op_precedence(x->op) : -1;
    bool paren = sc->disp && p >= 0 && (p == 0 || p < plan_op_precedence(opc));
    if (paren) buf_putc(b, '(');
    name_into(b, a, x, false, sc);
    if (paren) buf_putc(b, ')');
}

static void name_into(buf *b, arena *a, const expr *e, bool top, const struct nctx *sc) {
    switch (e->kind) {
    case EX_LITERAL:
        value_display(b, &e->lit);
        break;
    case EX_COLUMN:
        if (!top) {
            const char *q = e->qual ? e->qual : e->name[0] != '@' ? col_qual(sc->sc, e) : NULL;
            if (q) {
                buf_puts(b, q);
                buf_putc(b, '.');
            }
        }
        buf_puts(b, e->name);
        break;
    case EX_STAR:
        buf_puts(b, "*");
        break;
    case EX_UNARY:
        if (e->op == OP_NOT) {
            buf_puts(b, "NOT ");
            name_into(b, a, e->args[0], false, sc);
        } else if (e->op == OP_NEG) {
            buf_puts(b, "(- ");
            name_into(b, a, e->args[0], false, sc);
            buf_putc(b, ')');
        } else {
            /* DataFusion's planner drops a unary plus */
            name_into(b, a, e->args[0], top, sc);
        }
        break;
    case EX_BINARY:
        name_operand(b, a, e->args[0], e->op, sc);
        buf_putc(b, ' ');
        buf_puts(b, plan_op_text(e->op));
        buf_putc(b, ' ');
        name_operand(b, a, e->args[1], e->op, sc);
        break;
    case EX_IS: {
        name_into(b, a, e->args[0], false, sc);
        const char *what = e->op == OP_IS_NULL    ? "NULL"
                           : e->op == OP_IS_TRUE  ? "TRUE"
                           : e->op == OP_IS_FALSE ? "FALSE"
                                                  : "UNKNOWN";
        buf_printf(b, " IS %s%s", e->negated ? "NOT " : "", what);
        break;
    }
    case EX_BETWEEN:
        name_into(b, a, e->args[0], false, sc);
        buf_puts(b, e->negated ? " NOT BETWEEN " : " BETWEEN ");
        name_into(b, a, e->args[1], false, sc);
        buf_puts(b, " AND ");
        name_into(b, a, e->args[2], false, sc);
        break;
    case EX_IN_LIST:
        name_into(b, a, e->args[0], false, sc);
        if (sc->disp) {
            buf_puts(b, e->negated ? " NOT IN ([" : " IN ([");
            names_list(b, a, e->args + 1, e->nargs - 1, sc, ", ");
            buf_puts(b, "])");
            break;
        }
        /* DataFusion 27's create_name prints the list as the Debug of an iterator over it */
        buf_puts(b, e->negated ? " NOT IN (Map { iter: Iter([" : " IN (Map { iter: Iter([");
        for (uint32_t i = 1; i < e->nargs; i++) {
            if (i > 1) buf_puts(b, ", ");
            debug_into(b, a, e->args[i], sc);
        }
        buf_puts(b, "]) })");
        break;
    case EX_LIKE: {
        /* create_name leaves a space for the ESCAPE character even when there is none */
        const struct nctx d = {.sc = sc->sc, .disp = true};
        name_into(b, a, e->args[0], false, &d);
        buf_printf(b, " %s%s ", e->negated ? "NOT " : "", e->op == OP_ILIKE ? "ILIKE" : "LIKE");
        name_into(b, a, e->args[1], false, &d);
        if (!sc->disp) buf_putc(b, ' ');
        break;
    }
    case EX_CASE:
        name_case(b, a, e, sc);
        break;
    case EX_CAST:
        if (sc->disp) {
            buf_puts(b, e->op == 1 ? "TRY_CAST(" : "CAST(");
            name_into(b, a, e->args[0], false, sc);
            buf_printf(b, " AS %s)", plan_type_arrow(&e->cast_type));
            break;
        }
        /* DataFusion: "CAST does not change the expression name" */
        name_into(b, a, e->args[0], top, sc);
        break;
    case EX_FUNC:
        name_func(b, a, e, sc);
        break;
    case EX_SUBQUERY:
        buf_puts(b, "(<subquery>)");
        break;
    case EX_EXISTS:
        buf_puts(b, e->negated ? "NOT EXISTS (<subquery>)" : "EXISTS (<subquery>)");
        break;
    case EX_IN_QUERY:
        name_into(b, a, e->args[0], false, sc);
        buf_puts(b, e->negated ? " NOT IN (<subquery>)" : " IN (<subquery>)");
        break;
    default:
        buf_puts(b, "?");
    }
}

char *plan_expr_display(arena *a, const expr *e, const struct scope *sc) {
    buf b;
    buf_init(&b);
    name_into(&b, a, e, false, &(struct nctx){.sc = sc, .disp = true});
    char *r = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}

char *plan_expr_name(arena *a, const expr *e, bool top, const struct scope *sc) {
    buf b;
    buf_init(&b);
    name_into(&b, a, e, top, &(struct nctx){.sc = sc});
    char *r = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}
