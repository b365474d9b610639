/* Unit tests for the SQL lexer and parser (src/sql/lexer.c, parser.c, parse_*.c).
 *
 * Most cases are table driven: a statement and the canonical dump of the AST it must produce
 * (see dump_* below: a compact S-expression form of every field the binder reads), or a
 * statement and the exact error message, position included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sql/ast.h"
#include "sql/lexer.h"
#include "sql/parser.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

/* ---------------------------------------------------------------------------------------------
 * AST dump */

static void dump_expr(buf *b, const expr *e);
static void dump_query(buf *b, const sql_query *q);

static const char *binop_name(int op) {
    switch (op) {
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
        return "<>";
    case OP_LT:
        return "<";
    case OP_LE:
        return "<=";
    case OP_GT:
        return ">";
    case OP_GE:
        return ">=";
    case OP_AND:
        return "and";
    case OP_OR:
        return "or";
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
        return "^";
    case OP_SHL:
        return "<<";
    case OP_SHR:
        return ">>";
    case OP_IS_DISTINCT:
        return "isdistinct";
    case OP_IS_NOT_DISTINCT:
        return "notdistinct";
    default:
        return "?";
    }
}

static void dump_value(buf *b, const value *v, bool ident) {
    switch (v->type) {
    case VT_NULL:
        buf_puts(b, "NULL");
        break;
    case VT_BOOL:
        buf_puts(b, v->v.b ? "true" : "false");
        break;
    case VT_I64:
        buf_printf(b, "%lld", (long long)v->v.i);
        break;
    case VT_U64:
        buf_printf(b, "u%llu", (unsigned long long)v->v.u);
        break;
    case VT_F64:
        buf_printf(b, "%gf", v->v.f);
        break;
    case VT_STR:
        if (ident)
            buf_printf(b, "%.*s", (int)v->v.s.len, v->v.s.p);
        else
            buf_printf(b, "'%.*s'", (int)v->v.s.len, v->v.s.p);
        break;
    case VT_INTERVAL:
        buf_printf(b, "iv(%d,%d,%lld)", v->v.iv.months, v->v.iv.days, (long long)v->v.iv.nanos);
        break;
    default:
        buf_printf(b, "?vt%d", v->type);
        break;
    }
}

static void dump_list(buf *b, expr *const *xs, uint32_t n, const char *sep) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, sep);
        dump_expr(b, xs[i]);
    }
}

static void dump_order(buf *b, const sql_order_item *o, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, ", ");
        dump_expr(b, o[i].e);
        if (o[i].desc) buf_puts(b, " desc");
        if (o[i].nulls_first == 1) buf_puts(b, " nf");
        if (o[i].nulls_first == 0) buf_puts(b, " nl");
    }
}

static void dump_bound(buf *b, const sql_frame_bound *fb) {
    switch (fb->kind) {
    case FB_UNBOUNDED_PRECEDING:
        buf_puts(b, "up");
        break;
    case FB_PRECEDING:
        buf_puts(b, "p:");
        dump_expr(b, fb->offset);
        break;
    case FB_CURRENT_ROW:
        buf_puts(b, "cur");
        break;
    case FB_FOLLOWING:
        buf_puts(b, "f:");
        dump_expr(b, fb->offset);
        break;
    case FB_UNBOUNDED_FOLLOWING:
        buf_puts(b, "uf");
        break;
    default:
        buf_puts(b, "?");
        break;
    }
}

static void dump_window(buf *b, const sql_window *w) {
    buf_puts(b, "over(");
    const char *sp = "";
    if (w->ref_name) {
        buf_printf(b, "w=%s", w->ref_name);
        sp = " ";
    }
    if (w->npartition) {
        buf_printf(b, "%spartition ", sp);
        dump_list(b, w->partition_by, w->npartition, ",");
        sp = " ";
    }
    if (w->norder) {
        buf_printf(b, "%sorder ", sp);
        dump_order(b, w->order_by, w->norder);
        sp = " ";
    }
    if (w->frame_units) {
        static const char *units[] = {"", "rows", "range", "groups"};
        buf_printf(b, "%s%s(", sp, units[w->frame_units]);
        dump_bound(b, &w->frame_start);
        buf_puts(b, ",");
        dump_bound(b, &w->frame_end);
        buf_puts(b, ")");
    }
    buf_puts(b, ")");
}

static void dump_expr(buf *b, const expr *e) {
    if (!e) {
        buf_puts(b, "<null>");
        return;
    }
    static const char *is_names[] = {[OP_IS_NULL] = "null",
                                     [OP_IS_TRUE] = "true",
                                     [OP_IS_FALSE] = "false",
                                     [OP_IS_UNKNOWN] = "unknown"};
    const char *neg = e->negated ? "not" : "";
    switch (e->kind) {
    case EX_LITERAL:
        dump_value(b, &e->lit, false);
        break;
    case EX_COLUMN:
        if (e->qual) buf_printf(b, "%s.", e->qual);
        buf_printf(b, e->quoted ? "\"%s\"" : "%s", e->name);
        break;
    case EX_STAR:
        if (e->qual) buf_printf(b, "%s.", e->qual);
        buf_puts(b, "*");
        if (e->nexcept) {
            buf_puts(b, "-(");
            for (uint32_t i = 0; i < e->nexcept; i++)
                buf_printf(b, "%s%s", i ? "," : "", e->except_cols[i]);
            buf_puts(b, ")");
        }
        break;
    case EX_UNARY:
        buf_printf(b, "(%s ", e->op == OP_NOT ? "not" : e->op == OP_NEG ? "neg" : "pos");
        dump_expr(b, e->args[0]);
        buf_puts(b, ")");
        break;
    case EX_BINARY:
        buf_printf(b, "(%s ", binop_name(e->op));
        dump_expr(b, e->args[0]);
        buf_puts(b, " ");
        dump_expr(b, e->args[1]);
        buf_puts(b, ")");
        break;
    case EX_IS:
        buf_printf(b, "(is%s%s ", neg, e->op < 64 && is_names[e->op] ? is_names[e->op] : "?");
        dump_expr(b, e->args[0]);
        buf_puts(b, ")");
        break;
    case EX_BETWEEN:
        buf_printf(b, "(%sbetween ", neg);
        dump_list(b, e->args, 3, " ");
        buf_puts(b, ")");
        break;
    case EX_IN_LIST:
        buf_printf(b, "(%sin ", neg);
        dump_list(b, e->args, e->nargs, " ");
        buf_puts(b, ")");
        break;
    case EX_IN_QUERY:
        buf_printf(b, "(%sin ", neg);
        dump_expr(b, e->args[0]);
        buf_puts(b, " {");
        dump_query(b, e->sub);
        buf_puts(b, "})");
        break;
    case EX_EXISTS:
        buf_printf(b, "(%sexists {", neg);
        dump_query(b, e->sub);
        buf_puts(b, "})");
        break;
    case EX_SUBQUERY:
        buf_puts(b, "{");
        dump_query(b, e->sub);
        buf_puts(b, "}");
        break;
    case EX_LIKE:
        buf_printf(b, "(%s%s ", neg,
                   e->op == OP_LIKE    ? "like"
                   : e->op == OP_ILIKE ? "ilike"
                                       : "similar");
        dump_list(b, e->args, e->nargs, " ");
        buf_puts(b, ")");
        break;
    case EX_CASE:
        buf_puts(b, "(case");
        if (e->operand) {
            buf_puts(b, " ");
            dump_expr(b, e->operand);
        }
        for (uint32_t i = 0; i < e->nwhen; i++) {
            buf_puts(b, " (when ");
            dump_expr(b, e->when[i]);
            buf_puts(b, " ");
            dump_expr(b, e->then[i]);
            buf_puts(b, ")");
        }
        if (e->els) {
            buf_puts(b, " (else ");
            dump_expr(b, e->els);
            buf_puts(b, ")");
        }
        buf_puts(b, ")");
        break;
    case EX_CAST:
        buf_printf(b, "(%s ", e->op == OP_TRY_CAST ? "try_cast" : "cast");
        dump_expr(b, e->args[0]);
        buf_printf(b, " %s)", e->cast_type.name);
        break;
    case EX_FUNC:
        if (e->qual) buf_printf(b, "%s.", e->qual);
        buf_printf(b, "%s(", e->name);
        if (e->distinct) buf_puts(b, "distinct ");
        dump_list(b, e->args, e->nargs, ", ");
        if (e->nfunc_order) {
            buf_puts(b, " order ");
            dump_order(b, e->func_order, e->nfunc_order);
        }
        buf_puts(b, ")");
        if (e->filter) {
            buf_puts(b, " filter(");
            dump_expr(b, e->filter);
            buf_puts(b, ")");
        }
        if (e->over) {
            buf_puts(b, " ");
            dump_window(b, e->over);
        }
        break;
    case EX_TUPLE:
        buf_puts(b, "(tuple ");
        dump_list(b, e->args, e->nargs, " ");
        buf_puts(b, ")");
        break;
    default:
        buf_printf(b, "?kind%d", e->kind);
        break;
    }
}

static void dump_ref(buf *b, const sql_table_ref *r) {
    static const char *joins[] = {"",      "inner",    "left",     "right",     "full",
                                  "cross", "leftsemi", "leftanti", "rightsemi", "rightanti"};
    switch (r->kind) {
    case TR_TABLE:
    case TR_FUNC:
        if (r->tenant) buf_printf(b, "%s.", r->tenant);
        if (r->db) buf_printf(b, "%s.", r->db);
        buf_puts(b, r->name);
        if (r->kind == TR_FUNC) {
            buf_puts(b, "(");
            dump_list(b, r->fargs, r->nfargs, ", ");
            buf_puts(b, ")");
        }
        break;
    case TR_SUBQUERY:
        buf_puts(b, "{");
        dump_query(b, r->sub);
        buf_puts(b, "}");
        break;
    case TR_JOIN:
        buf_printf(b, "(%s%s ", r->natural ? "natural-" : "", joins[r->join]);
        dump_ref(b, r->left);
        buf_puts(b, " ");
        dump_ref(b, r->right);
        if (r->on) {
            buf_puts(b, " on ");
            dump_expr(b, r->on);
        }
        if (r->nusing) {
            buf_puts(b, " using(");
            for (uint32_t i = 0; i < r->nusing; i++)
                buf_printf(b, "%s%s", i ? "," : "", r->using_cols[i]);
            buf_puts(b, ")");
        }
        buf_puts(b, ")");
        break;
    default:
        buf_puts(b, "?ref");
        break;
    }
    if (r->alias) {
        buf_printf(b, " as %s", r->alias);
        if (r->nalias_cols) {
            buf_puts(b, "(");
            for (uint32_t i = 0; i < r->nalias_cols; i++)
                buf_printf(b, "%s%s", i ? "," : "", r->alias_cols[i]);
            buf_puts(b, ")");
        }
    }
}

static void dump_select(buf *b, const sql_select *s) {
    buf_puts(b, "select ");
    if (s->distinct) buf_puts(b, "distinct ");
    if (s->ndistinct_on) {
        buf_puts(b, "on(");
        dump_list(b, s->distinct_on, s->ndistinct_on, ",");
        buf_puts(b, ") ");
    }
    for (uint32_t i = 0; i < s->nitems; i++) {
        if (i) buf_puts(b, ", ");
        dump_expr(b, s->items[i].e);
        if (s->items[i].alias) buf_printf(b, " as %s", s->items[i].alias);
    }
    if (s->from) {
        buf_puts(b, " from ");
        dump_ref(b, s->from);
    }
    if (s->where) {
        buf_puts(b, " where ");
        dump_expr(b, s->where);
    }
    if (s->ngroup || s->nsets || s->group_kind) {
        static const char *kinds[] = {"", "rollup", "cube", "sets"};
        buf_printf(b, " group by %s%s", kinds[s->group_kind], s->group_kind ? "(" : "");
        if (s->group_kind == 3) {
            for (uint32_t i = 0; i < s->nsets; i++) {
                buf_puts(b, i ? ",(" : "(");
                dump_list(b, s->grouping_sets[i], s->grouping_set_len[i], ",");
                buf_puts(b, ")");
            }
        } else {
            dump_list(b, s->group_by, s->ngroup, ", ");
        }
        if (s->group_kind) buf_puts(b, ")");
    }
    if (s->having) {
        buf_puts(b, " having ");
        dump_expr(b, s->having);
    }
    for (uint32_t i = 0; i < s->nwindows; i++) {
        buf_printf(b, " window %s as ", s->windows[i].name);
        dump_window(b, s->windows[i].w);
    }
}

static void dump_body(buf *b, const sql_body *y) {
    static const char *ops[] = {"", "union", "intersect", "except"};
    if (y->setop) {
        buf_printf(b, "(%s%s ", ops[y->setop], y->all ? "-all" : "");
        dump_body(b, y->left);
        buf_puts(b, " ");
        dump_body(b, y->right);
        buf_puts(b, ")");
    } else if (y->select) {
        dump_select(b, y->select);
    } else if (y->nested) {
        buf_puts(b, "(");
        dump_query(b, y->nested);
        buf_puts(b, ")");
    } else {
        buf_puts(b, "values ");
        for (uint32_t i = 0; i < y->nvalues; i++) {
            buf_puts(b, i ? ",(" : "(");
            dump_list(b, y->values[i], y->nvalue_cols, ",");
            buf_puts(b, ")");
        }
    }
}

static void dump_query(buf *b, const sql_query *q) {
    if (q->nctes) {
        buf_printf(b, "with %s", q->recursive ? "recursive " : "");
        for (uint32_t i = 0; i < q->nctes; i++) {
            if (i) buf_puts(b, ", ");
            buf_puts(b, q->ctes[i].name);
            if (q->ctes[i].ncols) {
                buf_puts(b, "(");
                for (uint32_t j = 0; j < q->ctes[i].ncols; j++)
                    buf_printf(b, "%s%s", j ? "," : "", q->ctes[i].cols[j]);
                buf_puts(b, ")");
            }
            buf_puts(b, " as {");
            dump_query(b, q->ctes[i].q);
            buf_puts(b, "}");
        }
        buf_puts(b, " ");
    }
    dump_body(b, q->body);
    if (q->norder) {
        buf_puts(b, " order by ");
        dump_order(b, q->order_by, q->norder);
    }
    if (q->limit) {
        buf_puts(b, " limit ");
        dump_expr(b, q->limit);
    }
    if (q->offset) {
        buf_puts(b, " offset ");
        dump_expr(b, q->offset);
    }
}

static void dump_table(buf *b, const sql_table_name *t) {
    if (t->tenant) buf_printf(b, "%s.", t->tenant);
    if (t->db) buf_printf(b, "%s.", t->db);
    buf_puts(b, t->name ? t->name : "<null>");
}

static void dump_opts(buf *b, const sql_stmt *s) {
    if (!s->nopts) return;
    buf_puts(b, " {");
    for (uint32_t i = 0; i < s->nopts; i++) {
        if (i) buf_puts(b, ", ");
        if (s->opts[i].group) buf_printf(b, "%s.", s->opts[i].group);
        buf_printf(b, "%s=", s->opts[i].name);
        dump_value(b, &s->opts[i].v, s->opts[i].ident);
    }
    buf_puts(b, "}");
}

static void dump_col(buf *b, const sql_column_def *c) {
    buf_printf(b, "%s %s/%d", c->name, c->type.name ? c->type.name : "<null>", c->type.vt);
    if (c->codec) buf_printf(b, " %s", c->codec);
    if (c->is_tag) buf_puts(b, " tag");
    if (c->not_null) buf_puts(b, " notnull");
}

/* The file side of CREATE EXTERNAL TABLE and COPY: only what was given. */
static void dump_ext(buf *b, const sql_ext *x) {
    if (x->format) buf_printf(b, " fmt=%s", x->format);
    if (x->header >= 0) buf_printf(b, " header=%d", x->header);
    if (x->delimiter) buf_printf(b, " delim=%s", x->delimiter);
    if (x->compression) buf_printf(b, " comp=%s", x->compression);
    for (uint32_t i = 0; i < x->npartition; i++)
        buf_printf(b, "%s%s", i ? "," : " part=", x->partition_cols[i]);
    buf_printf(b, " loc=%s@%u:%u", x->location, x->location_pos.line, x->location_pos.col);
    for (uint32_t i = 0; i < x->nopts; i++) {
        buf_printf(b, "%s%s=", i ? ", " : " {", x->opts[i].name);
        dump_value(b, &x->opts[i].v, x->opts[i].ident);
        if (i + 1 == x->nopts) buf_puts(b, "}");
    }
    if (x->nconn) buf_printf(b, " conn=%u", x->nconn);
}

static void dump_show_tail(buf *b, const sql_stmt *s) {
    if (s->where) {
        buf_puts(b, " where ");
        dump_expr(b, s->where);
    }
    if (s->norder) {
        buf_puts(b, " order by ");
        dump_order(b, s->order_by, s->norder);
    }
    if (s->limit) {
        buf_puts(b, " limit ");
        dump_expr(b, s->limit);
    }
    if (s->offset) {
        buf_puts(b, " offset ");
        dump_expr(b, s->offset);
    }
}

static void dump_stmt(buf *b, const sql_stmt *s) {
    const char *ine = s->if_not_exists ? "ine " : "", *ie = s->if_exists ? "ie " : "";
    switch (s->kind) {
    case ST_QUERY:
        dump_query(b, s->q);
        break;
    case ST_INSERT:
        buf_puts(b, "insert ");
        dump_table(b, &s->table);
        if (s->ninsert_cols) {
            buf_puts(b, "(");
            for (uint32_t i = 0; i < s->ninsert_cols; i++)
                buf_printf(b, "%s%s", i ? "," : "", s->insert_cols[i]);
            buf_puts(b, ")");
        }
        buf_puts(b, " ");
        dump_query(b, s->q);
        break;
    case ST_DELETE:
        buf_puts(b, "delete ");
        dump_table(b, &s->table);
        if (s->table_alias) buf_printf(b, " as %s", s->table_alias);
        if (s->where) {
            buf_puts(b, " where ");
            dump_expr(b, s->where);
        }
        break;
    case ST_UPDATE:
        buf_puts(b, "update ");
        dump_table(b, &s->table);
        if (s->table_alias) buf_printf(b, " as %s", s->table_alias);
        buf_puts(b, " set");
        for (uint32_t i = 0; i < s->nassigns; i++) {
            buf_printf(b, "%s %s=", i ? "," : "", s->assigns[i].col);
            dump_expr(b, s->assigns[i].e);
        }
        if (s->where) {
            buf_puts(b, " where ");
            dump_expr(b, s->where);
        }
        break;
    case ST_EXPLAIN:
        buf_printf(b, "explain %s%s", s->analyze ? "analyze " : "", s->verbose ? "verbose " : "");
        if (s->explain_format) buf_printf(b, "format %s ", s->explain_format);
        dump_stmt(b, s->inner);
        break;
    case ST_CREATE_DATABASE:
        buf_printf(b, "create-db %s%s", ine, s->name);
        break;
    case ST_ALTER_DATABASE:
        buf_printf(b, "alter-db %s", s->name);
        break;
    case ST_DROP_DATABASE:
        buf_printf(b, "drop-db %s%s", ie, s->name);
        break;
    case ST_RECOVER_DATABASE:
        buf_printf(b, "recover-db %s%s", ie, s->name);
        break;
    case ST_CREATE_TABLE:
        buf_printf(b, "create-table %s", ine);
        dump_table(b, &s->table);
        buf_puts(b, " (");
        for (uint32_t i = 0; i < s->ncols; i++) {
            if (i) buf_puts(b, ", ");
            dump_col(b, &s->cols[i]);
        }
        buf_puts(b, ")");
        break;
    case ST_ALTER_TABLE:
        buf_puts(b, "alter-table ");
        dump_table(b, &s->table);
        switch (s->alter_action) {
        case AT_ADD_TAG:
            buf_puts(b, " add-tag ");
            break;
        case AT_ADD_FIELD:
            buf_puts(b, " add-field ");
            break;
        case AT_DROP_COLUMN:
            buf_printf(b, " drop %s", s->name);
            break;
        case AT_ALTER_CODEC:
            buf_puts(b, " alter ");
            break;
        case AT_RENAME_COLUMN:
            buf_printf(b, " rename %s %s", s->name, s->name2);
            break;
        default:
            buf_puts(b, " ?");
            break;
        }
        if (s->ncols) dump_col(b, &s->cols[0]);
        break;
    case ST_DROP_TABLE:
        buf_printf(b, "drop-table %s", ie);
        dump_table(b, &s->table);
        break;
    case ST_SHOW_DATABASES:
        buf_puts(b, "show-databases");
        break;
    case ST_SHOW_TABLES:
        buf_puts(b, "show-tables");
        if (s->on_db) buf_printf(b, " on %s", s->on_db);
        break;
    case ST_SHOW_SERIES:
    case ST_SHOW_TAG_VALUES:
        buf_puts(b, s->kind == ST_SHOW_SERIES ? "show-series" : "show-tag-values");
        if (s->on_db) buf_printf(b, " on %s", s->on_db);
        buf_printf(b, " from %s", s->table.name);
        if (s->kind == ST_SHOW_TAG_VALUES) {
            static const char *ops[] = {"", "=", "<>", "in", "notin"};
            buf_printf(b, " key %s(", ops[s->tag_key_op]);
            for (uint32_t i = 0; i < s->ntag_keys; i++)
                buf_printf(b, "%s%s", i ? "," : "", s->tag_keys[i]);
            buf_puts(b, ")");
        }
        dump_show_tail(b, s);
        break;
    case ST_SHOW_QUERIES:
        buf_puts(b, "show-queries");
        break;
    case ST_DESCRIBE_DATABASE:
        buf_printf(b, "describe-db %s", s->name);
        break;
    case ST_DESCRIBE_TABLE:
        buf_puts(b, "describe-table ");
        dump_table(b, &s->table);
        break;
    case ST_CREATE_TENANT:
        buf_printf(b, "create-tenant %s%s", ine, s->name);
        break;
    case ST_ALTER_TENANT:
        buf_printf(b, "alter-tenant %s", s->name);
        switch (s->alter_action) {
        case TA_ADD_USER:
            buf_printf(b, " add-user %s %s", s->name2, s->role);
            break;
        case TA_SET_USER:
            buf_printf(b, " set-user %s %s", s->name2, s->role);
            break;
        case TA_REMOVE_USER:
            buf_printf(b, " remove-user %s", s->name2);
            break;
        case TA_SET:
            buf_puts(b, " set");
            break;
        case TA_UNSET:
            buf_puts(b, " unset");
            break;
        default:
            buf_puts(b, " ?");
            break;
        }
        break;
    case ST_DROP_TENANT:
        buf_printf(b, "drop-tenant %s%s", ie, s->name);
        break;
    case ST_RECOVER_TENANT:
        buf_printf(b, "recover-tenant %s%s", ie, s->name);
        break;
    case ST_CREATE_USER:
        buf_printf(b, "create-user %s%s", ine, s->name);
        break;
    case ST_ALTER_USER:
        buf_printf(b, "alter-user %s", s->name);
        if (s->name2) buf_printf(b, " rename %s", s->name2);
        break;
    case ST_DROP_USER:
        buf_printf(b, "drop-user %s%s", ie, s->name);
        break;
    case ST_CREATE_ROLE:
        buf_printf(b, "create-role %s%s", ine, s->name);
        if (s->role) buf_printf(b, " inherit %s", s->role);
        break;
    case ST_DROP_ROLE:
        buf_printf(b, "drop-role %s%s", ie, s->name);
        break;
    case ST_GRANT:
    case ST_REVOKE: {
        static const char *privs[] = {"", "read", "write", "all"};
        buf_puts(b, s->kind == ST_GRANT ? "grant " : "revoke ");
        for (uint32_t i = 0; i < s->npriv; i++)
            buf_printf(b, "%s%s@%s", i ? "," : "", privs[s->privileges[i]], s->priv_dbs[i]);
        buf_printf(b, " %s %s", s->kind == ST_GRANT ? "to" : "from", s->name);
        if (s->privilege != s->privileges[0] || s->on_db != s->priv_dbs[0])
            buf_puts(b, " MISMATCH");
        break;
    }
    case ST_KILL_QUERY:
        buf_printf(b, "kill %llu", (unsigned long long)s->query_id);
        break;
    case ST_COMPACT:
        buf_printf(b, "compact %s", s->name ? s->name : "vnodes");
        break;
    case ST_SET:
        buf_printf(b, "set %s = ", s->name);
        dump_list(b, s->set_values, s->nset_values, ", ");
        break;
    case ST_CREATE_EXTERNAL_TABLE:
        buf_printf(b, "create-external %s", ine);
        dump_table(b, &s->table);
        buf_puts(b, " (");
        for (uint32_t i = 0; i < s->ncols; i++) {
            if (i) buf_puts(b, ", ");
            dump_col(b, &s->cols[i]);
        }
        buf_puts(b, ")");
        dump_ext(b, s->ext);
        break;
    case ST_COPY_INTO_TABLE:
        buf_puts(b, "copy-into ");
        dump_table(b, &s->table);
        for (uint32_t i = 0; i < s->ninsert_cols; i++)
            buf_printf(b, "%s%s", i ? "," : "(", s->insert_cols[i]);
        if (s->ninsert_cols) buf_puts(b, ")");
        dump_ext(b, s->ext);
        break;
    case ST_COPY_INTO_LOCATION:
        buf_puts(b, "copy-out (");
        dump_query(b, s->q);
        buf_puts(b, ")");
        dump_ext(b, s->ext);
        break;
    case ST_CREATE_STREAM_TABLE:
        buf_printf(b, "create-stream-table %s", ine);
        dump_table(b, &s->table);
        buf_puts(b, " (");
        for (uint32_t i = 0; i < s->ncols; i++) {
            if (i) buf_puts(b, ", ");
            dump_col(b, &s->cols[i]);
        }
        buf_printf(b, ") engine=%s", s->name2 ? s->name2 : "-");
        break;
    case ST_CREATE_STREAM:
        buf_printf(b, "create-stream %s%s as ", ine, s->name);
        dump_stmt(b, s->inner);
        break;
    case ST_DROP_STREAM:
        buf_printf(b, "drop-stream %s%s", s->if_exists ? "ie " : "", s->name);
        break;
    case ST_SHOW_STREAMS:
        buf_printf(b, "show-streams%s", s->verbose ? " verbose" : "");
        break;
    default:
        buf_printf(b, "?stmt%d", s->kind);
        break;
    }
    dump_opts(b, s);
}

/* Parses sql and renders every statement (" ; " between them), or "ERR <http> <code> <msg>". */
static char *render(const char *sql) {
    arena *a = arena_new(0);
    err e;
    err_clear(&e);
    sql_stmt **st;
    size_t n;
    buf b;
    buf_init(&b);
    if (sql_parse(a, sql, strlen(sql), &st, &n, &e) < 0) {
        buf_printf(&b, "ERR %d %s %s", e.http, e.code, e.msg);
        if (e.line) buf_printf(&b, " @%u:%u", e.line, e.col);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i) buf_puts(&b, " ; ");
            dump_stmt(&b, st[i]);
        }
    }
    arena_free(a);
    buf_cstr(&b);
    return b.p ? b.p : strdup("");
}

typedef struct pcase {
    const char *sql;
    const char *want;
} pcase;

/* Runs every case and reports all mismatches before failing, so one run shows them all. */
static void run_cases(const pcase *cs, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char *got = render(cs[i].sql);
        if (strcmp(got, cs[i].want) != 0) {
            print_error("case %zu: %s\n   want: %s\n    got: %s\n", i, cs[i].sql, cs[i].want, got);
            bad++;
        }
        free(got);
    }
    if (bad) fail_msg("%d of %zu cases failed", bad, n);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))
#define PERR "ERR 422 010009 sql parser error: "

/* ---------------------------------------------------------------------------------------------
 * lexer */

static void test_keyword_table(void **state) {
    (void)state;
    for (int k = 2; k < KW__COUNT; k++) {
        if (strcmp(sql_kw_name(k - 1), sql_kw_name(k)) >= 0)
            fail_msg("keywords out of order: %s before %s", sql_kw_name(k - 1), sql_kw_name(k));
    }
    for (int k = 1; k < KW__COUNT; k++)
        assert_int_equal(sql_kw_lookup(sql_kw_name(k), strlen(sql_kw_name(k))), k);
    assert_int_equal(sql_kw_lookup("select", 6), KW_SELECT);
    assert_int_equal(sql_kw_lookup("SeLeCt", 6), KW_SELECT);
    assert_int_equal(sql_kw_lookup("selects", 7), KW_NONE);
    assert_int_equal(sql_kw_lookup("selec", 5), KW_NONE);
    assert_int_equal(sql_kw_lookup("", 0), KW_NONE);
    assert_int_equal(sql_kw_lookup("a_very_long_word_that_is_no_keyword", 35), KW_NONE);
    assert_int_equal(sql_kw_lookup("s\xc3\xa9lect", 7), KW_NONE);
    assert_string_equal(sql_kw_name(KW_NONE), "");
    assert_string_equal(sql_kw_name(KW__COUNT), "");
}

static void test_lexer_tokens(void **state) {
    (void)state;
    arena *a = arena_new(0);
    err e;
    token *t;
    uint32_t n;
    const char *sql = "SELECT a1,\"Q\"\"x\",'it''s' -- c\n /* x /* y */ z */ 1.5e3 .5 1. <> != <=> "
                      "|| ::x @@v #t E'a\\nb' N'n' X'1F' $1 ? \xc3\xa9t\xc3\xa9 `b`";
    assert_int_equal(sql_lex(a, a, sql, strlen(sql), &t, &n, &e), 0);
    struct {
        int kind;
        const char *text;
        uint32_t line, col;
    } want[] = {
        {TOK_WORD, "SELECT", 1, 1},
        {TOK_WORD, "a1", 1, 8},
        {TOK_COMMA, NULL, 1, 10},
        {TOK_WORD, "Q\"x", 1, 11},
        {TOK_COMMA, NULL, 1, 17},
        {TOK_STRING, "it's", 1, 18},
        {TOK_NUMBER, "1.5e3", 2, 20},
        {TOK_NUMBER, ".5", 2, 26},
        {TOK_NUMBER, "1.", 2, 29},
        {TOK_NEQ, NULL, 2, 32},
        {TOK_NEQ, NULL, 2, 35},
        {TOK_SPACESHIP, NULL, 2, 38},
        {TOK_CONCAT, NULL, 2, 42},
        {TOK_DCOLON, NULL, 2, 45},
        {TOK_WORD, "x", 2, 47},
        {TOK_WORD, "@@v", 2, 49},
        {TOK_WORD, "#t", 2, 53},
        {TOK_ESTRING, "a\nb", 2, 56},
        {TOK_NSTRING, "n", 2, 64},
        {TOK_XSTRING, "1F", 2, 69},
        {TOK_PLACEHOLDER, "$1", 2, 75},
        {TOK_PLACEHOLDER, "?", 2, 78},
        {TOK_WORD, "\xc3\xa9t\xc3\xa9", 2, 80},
        {TOK_WORD, "b", 2, 86},
        {TOK_EOF, NULL, 2, 89},
    };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (uint32_t i = 0; i < n; i++) {
        if (t[i].kind != want[i].kind || t[i].pos.line != want[i].line ||
            t[i].pos.col != want[i].col || (want[i].text && strcmp(t[i].text, want[i].text)))
            fail_msg("token %u: kind %d text %s at %u:%u", i, t[i].kind,
                     t[i].text ? t[i].text : "-", t[i].pos.line, t[i].pos.col);
    }
    assert_int_equal(t[0].kw, KW_SELECT);
    assert_int_equal(t[3].quote, '"');
    assert_int_equal(t[3].kw, KW_NONE);
    assert_int_equal(t[23].quote, '`');
    char d[64];
    sql_tok_display(&t[3], d, sizeof d);
    assert_string_equal(d, "\"Q\"x\"");
    sql_tok_display(&t[5], d, sizeof d);
    assert_string_equal(d, "'it's'");
    sql_tok_display(&t[10], d, sizeof d);
    assert_string_equal(d, "<>");
    sql_tok_display(&t[n - 1], d, sizeof d);
    assert_string_equal(d, "EOF");
    sql_tok_display(&t[17], d, sizeof d);
    assert_string_equal(d, "E'a\nb'");

    /* a string may contain a NUL byte and spans lines */
    const char raw[] = "'a\0b\nc' x";
    assert_int_equal(sql_lex(a, a, raw, sizeof raw - 1, &t, &n, &e), 0);
    assert_int_equal(t[0].len, 5);
    assert_memory_equal(t[0].text, "a\0b\nc", 5);
    assert_int_equal(t[1].pos.line, 2);
    assert_int_equal(t[1].pos.col, 4);

    /* empty input: just EOF */
    assert_int_equal(sql_lex(a, a, "", 0, &t, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].kind, TOK_EOF);

    /* many tokens: the array grows */
    buf b;
    buf_init(&b);
    for (int i = 0; i < 5000; i++) buf_puts(&b, "a,");
    assert_int_equal(sql_lex(a, a, b.p, b.len, &t, &n, &e), 0);
    assert_int_equal(n, 10001);
    assert_int_equal(t[9998].kind, TOK_WORD);
    assert_int_equal(t[9999].kind, TOK_COMMA);
    /* one-byte tokens only, at the one-pass limit (a token per byte fills the array to its
     * last slot) and past it (two passes): the same tokens either way */
    for (uint32_t len = 16382; len <= 16388; len += 2) {
        buf_reset(&b);
        for (uint32_t i = 0; i < len / 2; i++) buf_puts(&b, "b,");
        assert_int_equal(sql_lex(a, a, b.p, b.len, &t, &n, &e), 0);
        assert_int_equal(n, len + 1);
        for (uint32_t i = 0; i < len; i++) {
            assert_int_equal(t[i].kind, i % 2 ? TOK_COMMA : TOK_WORD);
            assert_int_equal(t[i].pos.col, i + 1);
            if (i % 2 == 0) assert_string_equal(t[i].text, "b");
        }
        assert_int_equal(t[len].kind, TOK_EOF);
    }
    buf_free(&b);
    arena_free(a);
}

static void test_lexer_errors(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select 'abc", PERR "Unterminated string literal at Line: 1, Column 8"},
        {"select upper('JKJKKJ\");", PERR "Unterminated string literal at Line: 1, Column 14"},
        {"select 1;\n\nselect 'x''", PERR "Unterminated string literal at Line: 3, Column 8"},
        {"select \"abc", PERR "Expected close delimiter '\"' before EOF. at Line: 1, Column 8"},
        {"select `abc", PERR "Expected close delimiter '`' before EOF. at Line: 1, Column 8"},
        {"select 1 /* a /* b */", PERR "Unexpected EOF while in a multi-line comment at Line: 1, "
                                       "Column 10"},
        {"select E'abc\\'", PERR "Unterminated string literal at Line: 1, Column 8"},
        {"select N'x", PERR "Unterminated string literal at Line: 1, Column 8"},
        /* a tokenizer error wins over a syntax error earlier in the text */
        {"select (; select 'x", PERR "Unterminated string literal at Line: 1, Column 18"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------------------------------------
 * literals and expressions */

static void test_literals(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select 1, 0, 007, 9223372036854775807, 9223372036854775808, 18446744073709551615, "
         "18446744073709551616, 123456789012345678901234567890",
         "select 1, 0, 7, 9223372036854775807, u9223372036854775808, u18446744073709551615, "
         "1.84467e+19f, 1.23457e+29f"},
        {"select -1, - 2, -9223372036854775808, -9223372036854775809, -(3), - -4, +5",
         "select -1, -2, -9223372036854775808, -9.22337e+18f, (neg 3), (neg -4), (pos 5)"},
        {"select 1.5, 1., .25, 1e3, 2.5E-2, 1e, 3ex",
         "select 1.5f, 1f, 0.25f, 1000f, 0.025f, 1 as e, 3 as ex"},
        {"select 0.67586811981509653524113900857628323137760162353515625", "select 0.675868f"},
        {"select 'a', '', 'it''s', '''', E'a\\tb\\'c', N'nat', 'multi\nline'",
         "select 'a', '', 'it's', ''', 'a\tb'c', 'nat', 'multi\nline'"},
        {"select true, FALSE, null, NULL", "select true, false, NULL, NULL"},
        {"select interval '1 hour', INTERVAL '1' HOUR, interval '1 day 2 hours 30 minutes'",
         "select iv(0,0,3600000000000), iv(0,0,3600000000000), iv(0,1,9000000000000)"},
        {"select interval '1.5 hours', interval '1.5 months', interval '2 weeks', "
         "interval '1' year, interval '3' month, interval '5', interval '1.5 days'",
         "select iv(0,0,5400000000000), iv(1,15,0), iv(0,14,0), iv(12,0,0), iv(3,0,0), "
         "iv(0,0,5000000000), iv(0,1,43200000000000)"},
        {"select interval '1 year 2 months 3 days 4 hours 5 minutes 6 seconds 7 milliseconds "
         "8 microseconds 9 nanoseconds'",
         "select iv(14,3,14706007008009)"},
        {"select interval '-1 day', interval '1 century', interval '2 decades', interval ''",
         "select iv(0,-1,0), iv(1200,0,0), iv(240,0,0), iv(0,0,0)"},
        {"select interval '10 MINUTES', interval '12 day 6 hour 30 minute', interval '15' minute",
         "select iv(0,0,600000000000), iv(0,12,23400000000000), iv(0,0,900000000000)"},
        {"select interval 5 minute, interval '1' second (3)",
         "select iv(0,0,300000000000), iv(0,0,1000000000)"},
        {"select interval '1 foo'", PERR "Invalid input syntax for type interval: \"1 foo\" @1:17"},
        {"select interval 'x day'", PERR "Invalid input syntax for type interval: \"x day\" @1:17"},
        {"select interval '1 day 2 day'",
         PERR "Invalid input syntax for type interval: \"1 day 2 day\" @1:17"},
        {"select interval '99999999999 years'",
         PERR "Interval field value out of range: \"99999999999 years\" @1:17"},
        {"select interval '1-2' year to month",
         "ERR 422 010005 This feature is not implemented: Unsupported Interval Expression with "
         "last_field @1:28"},
        {"select interval, interval from t", "select interval, interval from t"},
        {"select timestamp '2022-01-31T06:30:30.123Z', date '2021-01-01', time '10:00', "
         "bigint '5', double precision '1.5'",
         "select (cast '2022-01-31T06:30:30.123Z' TIMESTAMP), (cast '2021-01-01' DATE), "
         "(cast '10:00' TIME), (cast '5' BIGINT), (cast '1.5' DOUBLE PRECISION)"},
        {"select date, time, timestamp, string from t",
         "select date, time, timestamp, string from t"},
        {"select X'1F'", "ERR 422 010005 This feature is not implemented: hex string literal @1:8"},
        {"select $1", "ERR 422 010005 This feature is not implemented: placeholder $1 @1:8"},
    };
    RUN(cases);
}

static void test_precedence(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select 1 + 2 * 3", "select (+ 1 (* 2 3))"},
        {"select (1 + 2) * 3", "select (* (+ 1 2) 3)"},
        {"select a OR b AND c", "select (or a (and b c))"},
        {"select a AND b OR c", "select (or (and a b) c)"},
        {"select NOT a = b", "select (not (= a b))"},
        {"select NOT a AND b", "select (and (not a) b)"},
        {"select -x::bigint", "select (neg (cast x BIGINT))"},
        {"select -a * b, 2 * -3, -1 + 2", "select (* (neg a) b), (* 2 -3), (+ -1 2)"},
        {"select a = b = c, a - b - c, a / b / c",
         "select (= (= a b) c), (- (- a b) c), (/ (/ a b) c)"},
        {"select a || b * c, a * b || c", "select (* (|| a b) c), (|| (* a b) c)"},
        {"select a & b | c, a | b & c, a ^ b << c, a + b & c",
         "select (| (& a b) c), (| a (& b c)), (<< (^ a b) c), (& (+ a b) c)"},
        {"select a + b * c - d / e % f", "select (- (+ a (* b c)) (% (/ d e) f))"},
        {"select a < b + 1, a <= b, a > b, a >= b, a <> b, a != b, a == b, a <=> b",
         "select (< a (+ b 1)), (<= a b), (> a b), (>= a b), (<> a b), (<> a b), (= a b), "
         "(notdistinct a b)"},
        {"select a ~ 'x' or a ~* 'y' or a !~ 'z' or a !~* 'w'",
         "select (or (or (or (~ a 'x') (~* a 'y')) (!~ a 'z')) (!~* a 'w'))"},
        {"select a LIKE b || c, a NOT LIKE b, a ILIKE b, a NOT ILIKE b ESCAPE '!', "
         "a SIMILAR TO b, a NOT SIMILAR TO b",
         "select (like a (|| b c)), (notlike a b), (ilike a b), (notilike a b '!'), "
         "(similar a b), (notsimilar a b)"},
        {"select a BETWEEN 1 AND 2 AND b, a NOT BETWEEN 1 + 1 AND 3",
         "select (and (between a 1 2) b), (notbetween a (+ 1 1) 3)"},
        {"select x IN (1) = true, x NOT IN (1, 2), (1, 2) IN (select 1, 2)",
         "select (= (in x 1) true), (notin x 1 2), (in (tuple 1 2) {select 1, 2})"},
        {"select a IS NULL, a IS NOT NULL, a IS TRUE, a IS NOT TRUE, a IS FALSE, "
         "a IS NOT FALSE, a IS UNKNOWN, a IS NOT UNKNOWN, a IS NULL IS NULL",
         "select (isnull a), (isnotnull a), (istrue a), (isnottrue a), (isfalse a), "
         "(isnotfalse a), (isunknown a), (isnotunknown a), (isnull (isnull a))"},
        /* sqlparser-rs reads a whole expression after DISTINCT FROM */
        {"select a IS DISTINCT FROM b, a IS NOT DISTINCT FROM b AND c",
         "select (isdistinct a b), (notdistinct a (and b c))"},
        {"select a = 1 or b = 2 and not c = 3", "select (or (= a 1) (and (= b 2) (not (= c 3))))"},
        {"select a::int::text, a[1][2], NOT NOT a, - - a",
         "select (cast (cast a INT) TEXT), array_element(array_element(a, 1), 2), "
         "(not (not a)), (neg (neg a))"},
        {"select a + b is null, not a is null", "select (isnull (+ a b)), (not (isnull a))"},
        {"select (a)", "select a"},
        {"select ((((1))))", "select 1"},
    };
    RUN(cases);
}

static void test_expressions(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select a.b, db.t.c, \"Foo\", \"t\".\"A\", t.*, db.t.*, *",
         "select a.b, db.t.c, \"Foo\", t.\"A\", t.*, db.t.*, *"},
        {"select A, Bc, \"Bc\", `Bq`, @@server_version, #tmp",
         "select a, bc, \"Bc\", \"Bq\", @@server_version, #tmp"},
        {"select count(*), count(distinct a), count(all a), count(t.*), count(), f(1, 'x', g(y))",
         "select count(*), count(distinct a), count(a), count(t.*), count(), f(1, 'x', g(y))"},
        {"select Upper(x), \"Upper\"(x), s.f(1), sum(x) filter (where x > 1) from t",
         "select upper(x), Upper(x), s.f(1), sum(x) filter((> x 1)) from t"},
        {"select first_value(x order by t desc, u), array_agg(distinct x order by y nulls first)",
         "select first_value(x order t desc, u), array_agg(distinct x order y nf)"},
        {"select row_number() over (), rank() over (partition by a, b order by c desc), "
         "sum(x) over (order by t rows between unbounded preceding and current row), "
         "avg(x) over (range between 1 preceding and 2 following), "
         "min(x) over (groups between current row and unbounded following), "
         "max(x) over (rows 3 preceding), lag(x) over w, lead(x) over (w order by t), "
         "sum(x) over (range between '1 day' preceding and current row) from t",
         "select row_number() over(), rank() over(partition a,b order c desc), "
         "sum(x) over(order t rows(up,cur)), avg(x) over(range(p:1,f:2)), "
         "min(x) over(groups(cur,uf)), max(x) over(rows(p:3,cur)), lag(x) over(w=w), "
         "lead(x) over(w=w order t), sum(x) over(range(p:iv(0,1,0),cur)) from t"},
        {"select sum(x) over w from t window w as (partition by a), v as (order by b)",
         "select sum(x) over(w=w) from t window w as over(partition a) window v as over(order b)"},
        {"select case when a then 1 when b then 2 else 3 end, case x when 1 then 'a' end",
         "select (case (when a 1) (when b 2) (else 3)), (case x (when 1 'a'))"},
        {"select cast(a as bigint unsigned), try_cast(b as double), safe_cast(c as string), "
         "d::timestamp, e::timestamp(3), f::int, g::varchar(10), h::decimal(10,2), "
         "i::geometry(point, 0), j::foo, k::\"Bar\", l::unsigned bigint, m::character varying",
         "select (cast a BIGINT UNSIGNED), (try_cast b DOUBLE), (try_cast c STRING), "
         "(cast d TIMESTAMP), (cast e TIMESTAMP(3)), (cast f INT), (cast g VARCHAR(10)), "
         "(cast h DECIMAL(10,2)), (cast i GEOMETRY(POINT, 0)), (cast j FOO), (cast k Bar), "
         "(cast l BIGINT UNSIGNED), (cast m CHARACTER VARYING)"},
        {"select extract(year from time), extract(DOW from t), extract('hour' from t)",
         "select date_part('YEAR', time), date_part('DOW', t), date_part('hour', t)"},
        {"select position('a' in s), substring(s from 2 for 3), substring(s, 2), "
         "substring(s for 3), substring(s, 1, 2)",
         "select strpos(s, 'a'), substr(s, 2, 3), substr(s, 2), substr(s, 1, 3), substr(s, 1, 2)"},
        {"select trim(s), trim(both 'x' from s), trim(leading from s), trim(trailing 'y' from s), "
         "trim(s, 'x'), trim('x' from s)",
         "select trim(s), btrim(s, 'x'), ltrim(s), rtrim(s, 'y'), trim(s, 'x'), trim(s, 'x')"},
        {"select [1, 2], [], array[3], make_array(1), a[1]",
         "select make_array(1, 2), make_array(), make_array(3), make_array(1), "
         "array_element(a, 1)"},
        {"select current_timestamp, current_date(), current_time, localtime, now()",
         "select current_timestamp(), current_date(), current_time(), localtime(), now()"},
        {"select exists (select 1), not exists (select 2), (select max(x) from t), "
         "a in (select b from u)",
         "select (exists {select 1}), (notexists {select 2}), {select max(x) from t}, "
         "(in a {select b from u})"},
        {"select symmetric(1) from t where a between symmetric (1) and 2",
         "select symmetric(1) from t where (between a symmetric(1) 2)"},
        {"select cast, extract, position, substring, trim, exists, array from t",
         "select cast, extract, position, substring, trim, exists, array from t"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------------------------------------
 * queries */

static void test_select(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select a from t", "select a from t"},
        {"SELECT a AS x, b y, c \"Z\", d AS 'w', count(*) c2, e as from from t time",
         "select a as x, b as y, c as Z, d as w, count(*) as c2, e as from from t as time"},
        {"select distinct a, b from t", "select distinct a, b from t"},
        {"select all a from t", "select a from t"},
        {"select distinct on (a, b) a, c from t", "select distinct on(a,b) a, c from t"},
        {"select * exclude (a, b), t.* except (c), * exclude d from t",
         "select *-(a,b), t.*-(c), *-(d) from t"},
        {"select 1", "select 1"},
        {"select a from db.t, tn.db.t2, 'quoted' q",
         "select a from (cross (cross db.t tn.db.t2) quoted as q)"},
        {"select a from t where a > 1 group by a, 2 having count(*) > 1",
         "select a from t where (> a 1) group by a, 2 having (> count(*) 1)"},
        {"select a from t group by rollup (a, (b, c))",
         "select a from t group by rollup(a, (tuple b c))"},
        {"select a from t group by cube (a, b)", "select a from t group by cube(a, b)"},
        {"select a from t group by grouping sets ((a, b), (a), a, ())",
         "select a from t group by sets((a,b),(a),(a),())"},
        {"select a from t order by a desc nulls last, 2 asc nulls first limit 10 offset 5",
         "select a from t order by a desc nl, 2 nf limit 10 offset 5"},
        {"select a from t offset 5 rows limit 10", "select a from t limit 10 offset 5"},
        {"select a from t limit 5, 10", "select a from t limit 10 offset 5"},
        {"select a from t limit all", "select a from t"},
        {"select a from t limit 1 + 1", "select a from t limit (+ 1 1)"},
        {"select a from t as x join u y on x.a = y.a",
         "select a from (inner t as x u as y on (= x.a y.a))"},
        {"select * from a left join b using (k) left outer join c on true right join d on 1=1 "
         "right outer join e on 1=1 full join f on 1=1 full outer join g on 1=1",
         "select * from (full (full (right (right (left (left a b using(k)) c on true) d on "
         "(= 1 1)) e on (= 1 1)) f on (= 1 1)) g on (= 1 1))"},
        {"select * from a cross join b natural join c inner join d on true, e",
         "select * from (cross (inner (natural-inner (cross a b) c) d on true) e)"},
        {"select * from a natural left join b, c left semi join d on true left anti join e on "
         "true right semi join f on true right anti join g on true",
         "select * from (cross (natural-left a b) (rightanti (rightsemi (leftanti (leftsemi c d "
         "on true) e on true) f on true) g on true))"},
        {"select * from a join b", "select * from (inner a b)"},
        {"select * from (select 1) as s(a), (values (1, 'a'), (2, 'b')) v(x, y)",
         "select * from (cross {select 1} as s(a) {values (1,'a'),(2,'b')} as v(x,y))"},
        {"select * from ((a join b on true)), (t), ((select 1)) s, (a join b on true) j",
         "select * from (cross (cross (cross (inner a b on true) t) {(select 1)} as s) (inner a b "
         "on true) as j)"},
        {"select * from generate_series(1, 3) g, db.f() as h(c)",
         "select * from (cross generate_series(1, 3) as g db.f() as h(c))"},
        {"select * from information_schema.tables", "select * from information_schema.tables"},
        {"with x as (select 1), y(a, b) as (select 1, 2) select * from x",
         "with x as {select 1}, y(a,b) as {select 1, 2} select * from x"},
        {"with recursive r as (select 1 union all select n + 1 from r) select * from r",
         "with recursive r as {(union-all select 1 select (+ n 1) from r)} select * from r"},
        {"select 1 union select 2 union all select 3 intersect select 4 except select 5",
         "(except (union-all (union select 1 select 2) (intersect select 3 select 4)) select 5)"},
        {"select 1 intersect all select 2 except distinct select 3 union distinct select 4",
         "(union (except (intersect-all select 1 select 2) select 3) select 4)"},
        {"(select 1) union (select 2) order by 1 limit 1",
         "(union (select 1) (select 2)) order by 1 limit 1"},
        {"((select 1))", "((select 1))"},
        {"values (1, 2), (3, 4)", "values (1,2),(3,4)"},
        {"values row(1), row(2)", "values (1),(2)"},
        {"select * from t where a in (select b from u where u.c = t.c) and exists (select 1)",
         "select * from t where (and (in a {select b from u where (= u.c t.c)}) (exists {select "
         "1}))"},
        {"select time, value, key, status, type, name, level, host, region, database, table, "
         "tags, user, role, tenant, series, queries, ttl, year, month, day, hour, first, last, "
         "values, tag, field, codec from t",
         "select time, value, key, status, type, name, level, host, region, database, table, "
         "tags, user, role, tenant, series, queries, ttl, year, month, day, hour, first, last, "
         "values, tag, field, codec from t"},
        {"select date_bin(INTERVAL '1 minute', time, '2020-01-01T00:00:00Z') as b, "
         "time_window(time, '1m', '30s'), avg(v) from t where time >= now() - interval '1 hour' "
         "and host = 'a' group by b order by b",
         "select date_bin(iv(0,0,60000000000), time, '2020-01-01T00:00:00Z') as b, "
         "time_window(time, '1m', '30s'), avg(v) from t where (and (>= time (- now() "
         "iv(0,0,3600000000000))) (= host 'a')) group by b order by b"},
        {"select a window w as (partition by b)", "select a window w as over(partition b)"},
        {"select a window from t", "select a as window from t"},
        /* sqlparser-rs reads any word in expression position as a name */
        {"select from t", "select from as t"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------------------------------------
 * statements */

static void test_dml(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"INSERT INTO air (TIME, station, visibility) VALUES (1666165200290401000, 'XiaoMaiDao', "
         "1), (2, 'b', -1.5)",
         "insert air(time,station,visibility) values (1666165200290401000,'XiaoMaiDao',1),"
         "(2,'b',-1.5f)"},
        {"insert public.test(TIME, ta) values (7, '7a')",
         "insert public.test(time,ta) values (7,'7a')"},
        {"insert into table t values (1)", "insert t values (1)"},
        {"INSERT INTO data_ttl.test(time, t1, f4) VALUES(NOW(), 't11', true)",
         "insert data_ttl.test(time,t1,f4) values (now(),'t11',true)"},
        {"insert into t select * from u where a > 1", "insert t select * from u where (> a 1)"},
        {"insert into t (select 1)", "insert t (select 1)"},
        {"insert into t(a, \"B\") (select 1, 2)", "insert t(a,B) (select 1, 2)"},
        {"insert into t with x as (select 1) select * from x",
         "insert t with x as {select 1} select * from x"},
        {"insert into tn.db.t values (1)", "insert tn.db.t values (1)"},
        {"DELETE FROM dml_tb2 WHERE times = '1999-12-31T00:00:00.111'",
         "delete dml_tb2 where (= times '1999-12-31T00:00:00.111')"},
        {"delete from t", "delete t"},
        {"delete from db.t as x where x.a = 1", "delete db.t as x where (= x.a 1)"},
        {"delete from t x", "delete t as x"},
        {"update dml_tb2 set f2_boolean = 'FALSE', t.b = 2 where time = '1999-12-31T00:00:00'",
         "update dml_tb2 set f2_boolean='FALSE', b=2 where (= time '1999-12-31T00:00:00')"},
        {"update t x set a = length(t0) + 1", "update t as x set a=(+ length(t0) 1)"},
        {"insert into t values (1), (1, 2)",
         "ERR 422 010001 Datafusion: Error during planning: Inconsistent data length across "
         "values list: got 2 values in row 1 but expected 1 @1:27"},
        {"insert overwrite t values (1)",
         "ERR 422 010005 This feature is not implemented: INSERT OVERWRITE @1:8"},
        {"update t set a = 1 from u",
         "ERR 422 010005 This feature is not implemented: UPDATE ... FROM @1:20"},
        {"delete t", PERR "Expected FROM, found: t @1:8"},
        {"update t a = 1", PERR "Expected SET, found: = @1:12"},
        {"update t set a 1", PERR "Expected =, found: 1 @1:16"},
        {"insert into t (a b) values (1)", PERR "Expected ), found: b @1:18"},
    };
    RUN(cases);
}

static void test_external_and_copy(void **state) {
    (void)state;
    static const pcase cases[] = {
        /* streams (parse_stream.c) */
        {"CREATE STREAM TABLE IF NOT EXISTS s (time TIMESTAMP, h STRING) WITH (db = 'd', "
         "table = 't', event_time_column = 'time') engine = tskv",
         "create-stream-table ine s (time TIMESTAMP/6, h STRING/5) engine=tskv {DB='d', "
         "TABLE='t', EVENT_TIME_COLUMN='time'}"},
        {"create stream j trigger = '5s' watermark = '1m' as insert into k select * from s",
         "create-stream j as insert k select * from s {TRIGGER='5s', WATERMARK='1m'}"},
        {"drop stream if exists j", "drop-stream ie j"},
        {"drop stream j", "drop-stream j"},
        {"CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'x'",
         "create-external t () fmt=CSV loc=x@1:48"},
        /* clauses in any order, a trailing comma, NULL / NOT NULL, quoted and 3-part names */
        {"create unbounded external table if not exists db.\"T\" (a int not null, b decimal(10,2) "
         "null,) location '/p/' compression type gzip delimiter ';' with header row stored as "
         "ndjson partitioned by (a) options ('k' 'v', format.x = 1)",
         "create-external ine db.T (a INT/2 notnull, b DECIMAL(10,2)/9) fmt=NDJSON header=1 "
         "delim=; comp=GZIP part=a loc=/p/@1:103 {K='v', FORMAT.X=1}"},
        {"create external table t (a int) stored as csv", PERR "Missing LOCATION clause in CREATE "
                                                               "EXTERNAL TABLE statement @1:46"},
        {"create external table t (a int) location 'x'", PERR "Missing STORED AS clause in CREATE "
                                                              "EXTERNAL TABLE statement @1:45"},
        {"create external table t stored as csv stored as json location 'x'",
         PERR "STORED AS specified more than once @1:39"},
        {"create external table t stored as csv location x", PERR "Expected a location string, "
                                                                  "found: x @1:48"},
        {"create external table '' (a int) stored as csv location 'x'",
         PERR "Name cannot be empty or contain only spaces @1:23"},
        {"create external table t (a) stored as csv location 'x'",
         PERR "Expected a data type name, found: ) @1:27"},
        {"copy into db.t (time, a) from 'f.csv' file_format = (type = 'csv', with_header = false, "
         "delimiter = ';') copy_options = (auto_infer_schema = true)",
         "copy-into db.t(time,a) fmt=CSV header=0 delim=; loc=f.csv@1:31 "
         "{AUTO_INFER_SCHEMA=true}"},
        {"COPY INTO t FROM 'file:///f' CONNECTION = (region = 'r') FILE_FORMAT = (TYPE = json)",
         "copy-into t fmt=JSON loc=file:///f@1:18 conn=1"},
        {"copy into 'out/' from t file_format = (type = 'csv')",
         "copy-out (select * from t) fmt=CSV loc=out/@1:11"},
        {"copy into 'out/' from (select a from t where a > 1) file_format = (type = 'json')",
         "copy-out (select a from t where (> a 1)) fmt=JSON loc=out/@1:11"},
        {"copy into t from 'f' file_format = (type = 'csv') file_format = (type = 'csv')",
         PERR "FILE_FORMAT specified more than once @1:51"},
        {"copy into t from x", PERR "Expected a location string, found: x @1:18"},
        {"copy into t from 'f' file_format = (type = 'csv', bogus = 1)",
         "ERR 422 010005 This feature is not implemented: FILE_FORMAT option BOGUS @1:51"},
    };
    RUN(cases);
}

static void test_ddl(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"CREATE DATABASE IF NOT EXISTS db with TTl '10d' SHARD 5 VNOdE_DURATiON '3d' REPLICA 1 "
         "pRECISIOn 'us'",
         "create-db ine db {TTL='10d', SHARD=5, VNODE_DURATION='3d', REPLICA=1, PRECISION='us'}"},
        {"create database tttest with ttl 'inf' shard 6 vnode_duration '2y1M' replica 1 precision "
         "'us' max_memcache_size '128MiB' memcache_partitions 10 wal_max_file_size '300M' "
         "wal_sync 'true' strict_write 'true' max_cache_readers 100;",
         "create-db tttest {TTL='inf', SHARD=6, VNODE_DURATION='2y1M', REPLICA=1, "
         "PRECISION='us', MAX_MEMCACHE_SIZE='128MiB', MEMCACHE_PARTITIONS=10, "
         "WAL_MAX_FILE_SIZE='300M', WAL_SYNC='true', STRICT_WRITE='true', MAX_CACHE_READERS=100}"},
        {"create database d with shard = 2 ttl = 10 precision ms wal_sync true",
         "create-db d {SHARD=2, TTL=10, PRECISION=ms, WAL_SYNC=true}"},
        {"create database d ttl '1d'", "create-db d {TTL='1d'}"},
        {"create database \"Db\"", "create-db Db"},
        {"ALTER DATABASE alter_database Set TTL '30d'", "alter-db alter_database {TTL='30d'}"},
        {"alter database public set shard 6", "alter-db public {SHARD=6}"},
        {"DROP DATABASE IF EXISTS db; drop database db_delay after '1m'; drop database x after 3",
         "drop-db ie db ; drop-db db_delay {AFTER='1m'} ; drop-db x {AFTER=3}"},
        {"recover database if exists db_delay; RECOVER DATABASE d; recover tenant t",
         "recover-db ie db_delay ; recover-db d ; recover-tenant t"},
        {"CREATE TABLE IF NOT EXISTS test(column1 BIGINT CODEC(DELTA), column2 STRING CODEC(GZIP), "
         "column3 BIGINT UNSIGNED CODEC(NULL), column4 BOOLEAN, column5 DOUBLE CODEC(gorilla), "
         "TAGS(column6, column7))",
         "create-table ine test (column6 STRING/5 tag, column7 STRING/5 tag, column1 BIGINT/2 "
         "DELTA, column2 STRING/5 GZIP, column3 BIGINT UNSIGNED/3 NULL, column4 BOOLEAN/1, "
         "column5 DOUBLE/4 GORILLA)"},
        {"create table air(d1 double)", "create-table air (d1 DOUBLE/4)"},
        {"create table test_dps_table(a bigint, tags(b))",
         "create-table test_dps_table (b STRING/5 tag, a BIGINT/2)"},
        {"create table db.t (f double, tags(a, b,))",
         "create-table db.t (a STRING/5 tag, b STRING/5 tag, f DOUBLE/4)"},
        {"create table t (f double, tags())", "create-table t (f DOUBLE/4)"},
        {"create table t (tags bigint, \"Tags\" string)",
         "create-table t (tags BIGINT/2, Tags STRING/5)"},
        {"create table t (a int, b timestamp, c geometry(point, 0), d foo, e unsigned bigint, "
         "f bigint not null, g bigint not null codec(delta))",
         "create-table t (a INT/2, b TIMESTAMP/6, c GEOMETRY(POINT, 0)/5, d FOO/0, e BIGINT "
         "UNSIGNED/3, f BIGINT/2 notnull, g BIGINT/2 DELTA notnull)"},
        {"create table t (a double codec(deltats), b double codec(quantile), c bigint "
         "codec(bitpack), d string codec(zstd), e string codec(snappy), f string codec(bzip), "
         "g string codec(zlib), h double codec(sdt), i double codec(deadband), j double "
         "codec(default))",
         "create-table t (a DOUBLE/4 DELTATS, b DOUBLE/4 QUANTILE, c BIGINT/2 BITPACK, d "
         "STRING/5 ZSTD, e STRING/5 SNAPPY, f STRING/5 BZIP, g STRING/5 ZLIB, h DOUBLE/4 SDT, i "
         "DOUBLE/4 DEADBAND, j DOUBLE/4 DEFAULT)"},
        {"create table 'q t' ('x y' bigint)", "create-table q t (x y BIGINT/2)"},
        {"ALTER TABLE test ADD FIELD b0 BOOLEAN CODEC(NULL)",
         "alter-table test add-field b0 BOOLEAN/1 NULL"},
        {"alter table db.test add field f1 bigint", "alter-table db.test add-field f1 BIGINT/2"},
        {"ALTER TABLE test ADD TAG t0", "alter-table test add-tag t0 STRING/5 tag"},
        {"ALTER TABLE test ALTER b0 SET CODEC(BITPACK)",
         "alter-table test alter b0 <null>/0 BITPACK"},
        {"ALTER TABLE test DROP f0", "alter-table test drop f0"},
        {"alter table ddl_tbl rename column f0 to \"F0_new\"",
         "alter-table ddl_tbl rename f0 F0_new"},
        {"DROP TABLE IF EXISTS db.t; drop table t", "drop-table ie db.t ; drop-table t"},
        {"compact database file_query; compact vnode 1 2, 3",
         "compact file_query ; compact vnodes {VNODE=1, VNODE=2, VNODE=3}"},
    };
    RUN(cases);
}

static void test_show_describe(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"SHOW DATABASES; show tables; show tables on db; SHOW QUERIES",
         "show-databases ; show-tables ; show-tables on db ; show-queries"},
        {"SHOW SERIES ON db FROM t WHERE a = 'x' ORDER BY key DESC LIMIT 10 OFFSET 2",
         "show-series on db from t where (= a 'x') order by key desc limit 10 offset 2"},
        {"show series from T offset 1", "show-series from t offset 1"},
        {"SHOW TAG VALUES FROM test WITH KEY IN (t0, t1, \"T2\") ORDER BY key, value",
         "show-tag-values from test key in(t0,t1,T2) order by key, value"},
        {"show tag values on db from t with key = k where time > 0 limit 1",
         "show-tag-values on db from t key =(k) where (> time 0) limit 1"},
        {"show tag values from t with key != \"K\" offset 1 limit 2",
         "show-tag-values from t key <>(K) limit 2 offset 1"},
        {"show tag values from t with key <> k", "show-tag-values from t key <>(k)"},
        {"show tag values from t with key not in (a, b)", "show-tag-values from t key notin(a,b)"},
        {"DESCRIBE TABLE test; desc table db.t; DESCRIBE DATABASE db1; desc database x",
         "describe-table test ; describe-table db.t ; describe-db db1 ; describe-db x"},
        {"explain select 1; explain analyze verbose select 1; explain format indent select 1; "
         "explain create database x; explain verbose show tables",
         "explain select 1 ; explain analyze verbose select 1 ; explain format indent select 1 ; "
         "explain create-db x ; explain verbose show-tables"},
    };
    RUN(cases);
}

static void test_dcl(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"create user u1; create user if not exists u2 with password='abc', "
         "must_change_password=true, comment='c', granted_admin = false, RSA_PUBLIC_KEY = 'k'",
         "create-user u1 ; create-user ine u2 {PASSWORD='abc', MUST_CHANGE_PASSWORD=true, "
         "COMMENT='c', GRANTED_ADMIN=false, RSA_PUBLIC_KEY='k'}"},
        {"create user 'd d'; drop user if exists 'd d'", "create-user d d ; drop-user ie d d"},
        {"create user U with comment 'no equals sign', \"Quoted\" = 1",
         "create-user u {COMMENT='no equals sign', Quoted=1}"},
        {"alter user u set granted_admin = true; alter user u rename to v; "
         "alter user u set comment 'x'",
         "alter-user u {GRANTED_ADMIN=true} ; alter-user u rename v ; alter-user u {COMMENT='x'}"},
        {"drop user if exists u1; drop user root; DROP ROLE IF EXISTS r1; drop role owner",
         "drop-user ie u1 ; drop-user root ; drop-role ie r1 ; drop-role owner"},
        {"CREATE ROLE r1 INHERIT owner; create role if not exists r2; create role r3 inherit; "
         "create role r4 inherit Member",
         "create-role r1 inherit owner ; create-role ine r2 ; create-role r3 ; create-role r4 "
         "inherit member"},
        {"CREATE TENANT t; create tenant if not exists t2 with comment 'create and alter "
         "tenant', drop_after ='1d', object_config max_users_number = 1 max_databases = 3, "
         "coord_data_in remote_max = 10 remote_initial 2, _limiter = '{}'",
         "create-tenant t ; create-tenant ine t2 {COMMENT='create and alter tenant', "
         "DROP_AFTER='1d', OBJECT_CONFIG.MAX_USERS_NUMBER=1, OBJECT_CONFIG.MAX_DATABASES=3, "
         "COORD_DATA_IN.REMOTE_MAX=10, COORD_DATA_IN.REMOTE_INITIAL=2, _LIMITER='{}'}"},
        {"ALTER TENANT cnosdb ADD USER u1 as owner; alter tenant t remove user u; "
         "alter tenant t set comment = 'x'; alter tenant t unset comment; "
         "alter tenant t set user u as member",
         "alter-tenant cnosdb add-user u1 owner ; alter-tenant t remove-user u ; alter-tenant t "
         "set {COMMENT='x'} ; alter-tenant t unset {COMMENT=NULL} ; alter-tenant t set-user u "
         "member"},
        {"alter tenant t set http_queries remote_max = -1 local_max = 5",
         "alter-tenant t set {HTTP_QUERIES.REMOTE_MAX=-1, HTTP_QUERIES.LOCAL_MAX=5}"},
        {"DROP TENANT IF EXISTS t after '7d'; drop tenant t",
         "drop-tenant ie t {AFTER='7d'} ; drop-tenant t"},
        {"grant read on database db1 to r5; grant write on database d to role r; "
         "grant all on database a, read on database b to r",
         "grant read@db1 to r5 ; grant write@d to r ; grant all@a,read@b to r"},
        {"revoke read on database db1 from r6; revoke all on database x from role y",
         "revoke read@db1 from r6 ; revoke all@x from y"},
        {"kill 123; kill query 5; KILL CONNECTION 7", "kill 123 ; kill 5 ; kill 7"},
        {"set a = 1; set session b to 'x'; set time zone 'UTC'; set c = d, 2; set x.y = z",
         "set a = 1 {A=1} ; set b = 'x' {B='x'} ; set timezone = 'UTC' {TIMEZONE='UTC'} ; "
         "set c = d, 2 {C=d} ; set x.y = z {X.Y=z}"},
    };
    RUN(cases);
}

static void test_multi_statements(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"select 1; select 2;;", "select 1 ; select 2"},
        {";;;", ""},
        {"", ""},
        {"  -- only a comment\n", ""},
        {"/* block */", ""},
        {"select 1 -- tail", "select 1"},
        {"-- c\nselect /* x /* nested */ y */ 1 -- tail\n;/**/select 2--", "select 1 ; select 2"},
        {"select ';' as \"a;b\"; select 2", "select ';' as a;b ; select 2"},
        {"select 1; -- comment; with semicolon\nselect 3", "select 1 ; select 3"},
        {"CREATE DATABASE show_tag_values WITH TTL '100000d';;", "create-db show_tag_values "
                                                                 "{TTL='100000d'}"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------------------------------------
 * errors, with CnosDB's wording and Strata's position */

static void test_errors(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"1", PERR "Expected an SQL statement, found: 1 @1:1"},
        {"1;", PERR "Expected an SQL statement, found: 1 @1:1"},
        {"foo bar", PERR "Expected an SQL statement, found: foo @1:1"},
        {"\"select\" 1", PERR "Expected an SQL statement, found: \"select\" @1:1"},
        {"'x'", PERR "Expected an SQL statement, found: 'x' @1:1"},
        {"c\xec\x8f\xb4Qt', 'bf(h', 'a\nSELECT 1;",
         PERR "Expected an SQL statement, found: c\xec\x8f\xb4Qt @1:1"},
        {"select rates(gauge_agg(time, f0)) from func_tb2;\\",
         PERR "Expected an SQL statement, found: \\ @1:49"},
        {"SELECT 1 2", PERR "Expected end of statement, found: 2 @1:10"},
        {"select 1 select 2", PERR "Expected end of statement, found: select @1:10"},
        {"select", PERR "Expected an expression:, found: EOF @1:7"},
        {"select\n  a,\n  b from t where", PERR "Expected an expression:, found: EOF @3:17"},
        {"select (1", PERR "Expected ), found: EOF @1:10"},
        {"select f(1, 2", PERR "Expected ), found: EOF @1:14"},
        {"select * from", PERR "Expected identifier, found: EOF @1:14"},
        {"select * from t wher x", PERR "Expected end of statement, found: x @1:22"},
        {"select a FROM t AS", PERR "Expected an identifier after AS, found: EOF @1:19"},
        /* sqlparser-rs reads any word in expression position as a name */
        {"select a, from t", "select a, from as t"},
        {"SELECT ascii(!);", PERR "Expected an expression:, found: ! @1:14"},
        {"select initcap(,);", PERR "Expected an expression:, found: , @1:16"},
        {"select increase(, f0) from func_tb2;", PERR "Expected an expression:, found: , @1:17"},
        {"select lpad(func_tb2.f3, ) from t", PERR "Expected an expression:, found: ) @1:26"},
        {"select rates({first: 1})", PERR "Expected an expression:, found: { @1:14"},
        {"select array_agg() from func_tbl;", PERR "Expected an expression:, found: ) @1:18"},
        {"select array_agg(*) from func_tbl;", PERR "Expected an expression:, found: * @1:18"},
        {"select array_agg(f0, f1) from func_tb2;", PERR "Expected ), found: , @1:20"},
        /* `over` is read as an alias here, as sqlparser-rs does */
        {"select array_agg(x) over () from t", PERR "Expected end of statement, found: ( @1:26"},
        {"select array_agg(x limit 3) from t",
         "ERR 422 010005 This feature is not implemented: LIMIT not supported in ARRAY_AGG @1:20"},
        {"SELECT time, ROW_NUMBER() OVER ('') FROM t",
         PERR "Expected ROWS, RANGE, GROUPS, found: '' @1:33"},
        {"select f() over (rows between 1 and 2) from t",
         PERR "Expected PRECEDING or FOLLOWING, found: ) @1:38"},
        {"select f() over (rows 1 and)", PERR "Expected an expression:, found: ) @1:28"},
        {"select f() over x y", "select f() over(w=x) as y"},
        {"select f() over from t", PERR "Expected (, found: from @1:17"},
        {"SELECT * FROM m4 WHERE (CAST(CAST(m4.f0 AS BOOLEAN) AS STRING)) NOTNULL;",
         PERR "Expected end of statement, found: NOTNULL @1:65"},
        {"SELECT m0.t0 FROM m0 WHERE NOT ((0.0241197153905911) NOTNULL);",
         PERR "Expected ), found: NOTNULL @1:54"},
        {"SELECT m1.f1 FROM m1 WHERE CAST(((m1.f1) IS NULL) NOTNULL AS BOOLEAN)",
         PERR "Expected AS, found: NOTNULL @1:51"},
        {"select a is foo", PERR "Expected [NOT] NULL or TRUE|FALSE or [NOT] DISTINCT FROM after "
                                 "IS, found: foo @1:13"},
        {"select a between 1 or 2", PERR "Expected AND, found: or @1:20"},
        {"select a in 1", PERR "Expected (, found: 1 @1:13"},
        {"select a in ()", PERR "Expected an expression:, found: ) @1:14"},
        {"select a like b escape 'xy'",
         PERR "Expected a single character string literal, found: 'xy' @1:24"},
        {"select case when a then 1", PERR "Expected END, found: EOF @1:26"},
        {"select case a b", PERR "Expected WHEN, found: b @1:15"},
        {"select cast(a bigint)", PERR "Expected AS, found: bigint @1:15"},
        {"select cast(a as 1)", PERR "Expected a data type name, found: 1 @1:18"},
        {"select a::", PERR "Expected a data type name, found: EOF @1:11"},
        {"select extract(1 from TIME) from t", PERR "Expected date/time field, found: 1 @1:16"},
        {"select extract(foo from TIME) from t", PERR "Expected date/time field, found: foo @1:16"},
        {"select position('a', 'b')", PERR "Position function must include IN keyword @1:20"},
        {"select interval", "select interval"},
        {"select interval x", "select interval as x"},
        {"select a.1", PERR "Expected end of statement, found: .1 @1:9"},
        {"select a.)", PERR "Expected an identifier or a '*' after '.', found: ) @1:10"},
        {"select a.b.", PERR "Expected an identifier or a '*' after '.', found: EOF @1:12"},
        {"select ALL DISTINCT a", PERR "Cannot specify both ALL and DISTINCT @1:8"},
        {"select count(all distinct a)", PERR "Cannot specify both ALL and DISTINCT @1:14"},
        {"select * from t join u on", PERR "Expected an expression:, found: EOF @1:26"},
        {"select * from t join u using a", PERR "Expected a list of columns in parentheses, "
                                                "found: a @1:30"},
        {"select * from t cross u", PERR "Expected JOIN or APPLY after CROSS, found: u @1:23"},
        {"select * from t natural u", PERR "Expected a join type after NATURAL, found: u @1:25"},
        {"select * from t left u", PERR "expected OUTER, SEMI, ANTI or JOIN after LEFT @1:22"},
        {"select * from t outer join u", PERR "Expected APPLY, found: join @1:23"},
        {"select * from (select 1", PERR "Expected ), found: EOF @1:24"},
        {"select * from (a join b", PERR "Expected ), found: EOF @1:24"},
        {"select * from a.b.c.d", PERR "Unsupported compound identifier: a.b.c.d @1:15"},
        {"select 1 union", PERR "Expected SELECT, VALUES, or a subquery in the query body, "
                                "found: EOF @1:15"},
        {"with x select 1", PERR "Expected AS, found: select @1:8"},
        {"with x as select 1", PERR "Expected (, found: select @1:11"},
        {"values 1", PERR "Expected (, found: 1 @1:8"},
        {"select a from t group by grouping sets ((a)), b",
         "ERR 422 010001 Datafusion: Error during planning: Invalid group by expressions, "
         "GroupingSet must be the only expression @1:47"},
        {"select a from t group by a, rollup (b)",
         "ERR 422 010001 Datafusion: Error during planning: Invalid group by expressions, "
         "GroupingSet must be the only expression @1:29"},
        {"select a from t order by", PERR "Expected an expression:, found: EOF @1:25"},
        {"select a from t limit", PERR "Expected an expression:, found: EOF @1:22"},
        {"select 1 from t group", PERR "Expected end of statement, found: group @1:17"},
        {"select * except select 1", "(except select * select 1)"},
        {"select * exclude", PERR "Expected identifier, found: EOF @1:17"},
        {"select a window w as ('x')", PERR "Expected ROWS, RANGE, GROUPS, found: 'x' @1:23"},
        {"truncate table t",
         "ERR 422 010005 This feature is not implemented: TRUNCATE statement @1:1"},
        {"copy vnode 1 to node 2",
         "ERR 422 010005 This feature is not implemented: COPY statement @1:1"},
        {"create stream table s (time timestamp)", PERR "Expected WITH, found: EOF @1:39"},
        {"create stream s as select 1", PERR "Expected INSERT after AS, found: select @1:20"},
        {"create stream table s (a int) with (db 'x')", PERR "Expected =, found: 'x' @1:40"},
        {"select lateral_t from lateral (select 1)",
         "ERR 422 010005 This feature is not implemented: LATERAL @1:23"},
    };
    RUN(cases);
}

static void test_statement_errors(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"create user '';", PERR "Name cannot be empty or contain only spaces @1:13"},
        {"create user ' ';", PERR "Name cannot be empty or contain only spaces @1:13"},
        {"create user \"u/1\";", PERR "not supported keyword contains '/': u/1 @1:13"},
        {"create user u7 with comment;", PERR "Expected a value, found: ; @1:28"},
        {"create user u7 with comment = ,", PERR "Expected a value, found: , @1:31"},
        {"CREATE ROLE \"r/1\" INHERIT owner;",
         PERR "not supported keyword contains '/': r/1 @1:13"},
        {"create role '' INHERIT owner;", PERR "Name cannot be empty or contain only spaces @1:13"},
        {"create table \"tb/1\"(ma string);",
         PERR "not supported keyword contains '/': tb/1 @1:14"},
        {"create table ''(ma string);", PERR "Name cannot be empty or contain only spaces @1:14"},
        {"create table \"\"(ma string);", PERR "Name cannot be empty or contain only spaces @1:14"},
        {"create table db.' '(ma string);",
         PERR "Name cannot be empty or contain only spaces @1:17"},
        {"create database \"a/b\"", PERR "not supported keyword contains '/': a/b @1:17"},
        {"create tenant ' '", PERR "Name cannot be empty or contain only spaces @1:15"},
        {"CREATE TABLE createtable.\"tesT\"(column1 BIGINT,);",
         PERR "Expected identifier, found: ) @1:48"},
        {"CREATE TABLE createtable.tesT;", PERR "Expected field columns when create table @1:30"},
        {"CREATE TABLE t()", PERR "Expected field columns when create table @1:16"},
        {"CREATE TABLE t(c BIGINT CODEC(DEL))", PERR "DEL is not valid encoding @1:31"},
        {"CREATE TABLE t(c BIGINT CODEC(\"DELTA\"))", PERR "\"DELTA\" is not valid encoding @1:31"},
        {"CREATE TABLE t(c BIGINT CODEC())", PERR "expect codec encoding type in () @1:31"},
        {"CREATE TABLE t(c BIGINT CODEC(DELTA)", PERR "Expected ',' or ')' after column "
                                                      "definition, found: EOF @1:37"},
        {"CREATE TABLE t(c BIGINT foo)", PERR "Expected CODEC or ',', found: foo @1:25"},
        {"CREATE TABLE t(c BIGINT CODEC DELTA)", PERR "Expected (, found: DELTA @1:31"},
        {"CREATE TABLE t(c 1)", PERR "1 is not a type @1:18"},
        {"CREATE TABLE t(c bigint, tags(a b))", PERR ", is expected after column @1:33"},
        {"CREATE TABLE t(c bigint, tags(a), d bigint)", PERR "Expected ), found: , @1:33"},
        {"alter table ddl_tbl rename column f0, f1 to f0_new000, f1_new_001;",
         PERR "Expected TO, found: , @1:37"},
        {"alter table t rename f0 to f1", PERR "Expected COLUMN, found: f0 @1:22"},
        {"alter table t add column x", PERR "Expected FIELD or TAG, found: column @1:19"},
        {"alter table t add field x", PERR "EOF is not a type @1:26"},
        {"alter table t alter x codec(delta)", PERR "Expected SET, found: codec @1:23"},
        {"alter table t modify x",
         PERR "Expected ADD or ALTER or DROP or RENAME, found: modify @1:15"},
        {"ALTER DATABASE alter_database Set TTL '30d' SHARD 6;",
         PERR "Expected end of statement, found: SHARD @1:45"},
        {"alter database tttest set max_memcache_size '100MiB';",
         PERR "database config is unmodifiable, only can modify database option: TTL, SHARD, "
              "VNODE_DURATION, REPLICA @1:27"},
        {"ALTER DATABASE alter_database Set PRECision 'ms';",
         PERR "database config is unmodifiable, only can modify database option: TTL, SHARD, "
              "VNODE_DURATION, REPLICA @1:35"},
        {"alter database x set foo 1", PERR "expected database option, but found foo @1:22"},
        {"alter database x ttl '1d'", PERR "Expected SET, found: ttl @1:18"},
        {"create database d with shard 'x'", PERR "Expected literal number, found: 'x' @1:30"},
        {"create database d with shard 1.5",
         PERR "this option should be a unsigned number, but get 1.5 @1:30"},
        {"create database d with ttl", PERR "Expected a value, found: EOF @1:27"},
        {"create database d with foo 1", PERR "Expected end of statement, found: foo @1:24"},
        {"create view v as select 1",
         PERR "Expected an object type after CREATE, found: view @1:8"},
        {"drop index i", PERR "Expected TABLE,DATABASE,TENANT,USER,ROLE,VNODE,STREAM after DROP, "
                              "found: index @1:6"},
        {"drop database x after", PERR "Expected a value, found: EOF @1:22"},
        {"alter foo", PERR "Expected TABLE/DATABASE/TENANT/USER, found: foo @1:7"},
        {"alter user u drop", PERR "Expected RENAME,SET, found: drop @1:14"},
        {"alter tenant t foo", PERR "Expected ADD, REMOVE, SET, UNSET, found: foo @1:16"},
        {"alter tenant t add user u", PERR "Expected AS, found: EOF @1:26"},
        {"alter tenant t remove u", PERR "Expected USER, found: u @1:23"},
        {"SHOW TAG VALUES;", PERR "Expected FROM, found: ; @1:16"},
        {"SHOW TAG VALUES ON public FROM show_series.test;", PERR "Expected WITH, found: . @1:43"},
        {"SHOW TAG VALUES FROM test;", PERR "Expected WITH, found: ; @1:26"},
        {"show tag values from t with k = x", PERR "Expected KEY, found: k @1:29"},
        {"show tag values from t with key ~ a",
         PERR "Expected =, !=, <>, IN, NOT IN, found: ~ @1:33"},
        {"show tag values from t with key not a", PERR "Expected IN, found: a @1:37"},
        {"show tag keys from t", PERR "Expected VALUES, found: keys @1:10"},
        {"SHOW SERIES FROM db.t", PERR "Expected end of statement, found: . @1:20"},
        {"show users", PERR "Expected TABLES or DATABASES or SERIES or TAG or QUERIES or STREAMS, "
                            "found: users @1:6"},
        {"show streams", "show-streams"},
        {"show streams verbose", "show-streams verbose"},
        {"describe t", PERR "Expected table/database, found: t @1:10"},
        {"grant select on database d to r",
         PERR "Expected a privilege keyword [Read, Write, All], found: select @1:7"},
        {"grant read on table t to r", PERR "Expected DATABASE, found: table @1:15"},
        {"grant read on database d r", PERR "Expected TO, found: r @1:26"},
        {"revoke read on database d to r", PERR "Expected FROM, found: to @1:27"},
        {"kill x", PERR "Expected literal int, found: x @1:6"},
        {"kill 1.5", PERR "Expected literal int, found: 1.5 @1:6"},
        {"kill 99999999999999999999",
         PERR "Could not parse '99999999999999999999' as u64: number too large to fit in target "
              "type @1:6"},
        {"compact foo", PERR "Expected DATABASE or VNODE, found: foo @1:9"},
        {"compact vnode x", PERR "Expected literal number, found: x @1:15"},
        {"recover table t", PERR "Expected DATABASE or TENANT, found: table @1:9"},
        {"set a", PERR "Expected equals sign or TO, found: EOF @1:6"},
        {"set timezone 'x'", PERR "Expected equals sign or TO, found: 'x' @1:14"},
        {"explain explain select 1", PERR "EXPLAIN can only appear once @1:9"},
        {"explain format 1 select 1", PERR "Expected an explain format, found: 1 @1:16"},
    };
    RUN(cases);
}

/* ---------------------------------------------------------------------------------------------
 * AST details the dump does not show */

static sql_stmt *parse1(arena *a, const char *sql) {
    sql_stmt **st;
    size_t n;
    err e;
    err_clear(&e);
    if (sql_parse(a, sql, strlen(sql), &st, &n, &e) < 0) fail_msg("%s: %s", sql, e.msg);
    assert_int_equal(n, 1);
    return st[0];
}

static void test_ast_details(void **state) {
    (void)state;
    arena *a = arena_new(0);

    /* positions */
    sql_stmt *s = parse1(a, "\n  select a,\n\tf(b) + 1 AS x\nfrom t where c");
    assert_int_equal(s->pos.line, 2);
    assert_int_equal(s->pos.col, 3);
    sql_select *sel = s->q->body->select;
    assert_int_equal(sel->items[0].pos.line, 2);
    assert_int_equal(sel->items[0].pos.col, 10);
    assert_int_equal(sel->items[1].pos.line, 3);
    assert_int_equal(sel->items[1].pos.col, 2);
    expr *plus = sel->items[1].e;
    assert_int_equal(plus->kind, EX_BINARY);
    assert_int_equal(plus->pos.col, 2);
    assert_int_equal(plus->args[1]->pos.col, 9); /* a tab is one column */
    assert_int_equal(plus->height, 3);
    assert_int_equal(sel->from->pos.line, 4);
    assert_int_equal(sel->from->pos.col, 6);
    assert_int_equal(sel->where->pos.col, 14);

    /* literal texts and types */
    s = parse1(a, "select 1.50, -7, 'x', 18446744073709551615");
    sel = s->q->body->select;
    assert_string_equal(sel->items[0].e->text, "1.50");
    assert_int_equal(sel->items[0].e->lit.type, VT_F64);
    assert_string_equal(sel->items[1].e->text, "-7");
    assert_int_equal(sel->items[1].e->lit.v.i, -7);
    assert_int_equal(sel->items[1].e->pos.col, 14);
    assert_int_equal(sel->items[2].e->lit.type, VT_STR);
    assert_int_equal(sel->items[2].e->lit.v.s.len, 1);
    assert_int_equal(sel->items[3].e->lit.type, VT_U64);
    assert_true(sel->items[3].e->lit.v.u == UINT64_MAX);

    /* names: folding, quoting, compound parts */
    s = parse1(a, "select Db.\"T\".Col, \"Mixed\", count(*) from \"Tbl\" AS \"Al\"");
    sel = s->q->body->select;
    expr *c = sel->items[0].e;
    assert_int_equal(c->kind, EX_COLUMN);
    assert_int_equal(c->nparts, 3);
    assert_string_equal(c->parts[0], "db");
    assert_string_equal(c->parts[1], "T");
    assert_string_equal(c->parts[2], "col");
    assert_string_equal(c->qual, "db.T");
    assert_false(c->quoted);
    assert_true(sel->items[1].e->quoted);
    assert_string_equal(sel->items[1].e->name, "Mixed");
    expr *cnt = sel->items[2].e;
    assert_true(cnt->star);
    assert_int_equal(cnt->nargs, 1);
    assert_int_equal(cnt->args[0]->kind, EX_STAR);
    assert_string_equal(sel->from->name, "Tbl");
    assert_string_equal(sel->from->alias, "Al");

    /* types */
    s = parse1(a, "select a::timestamp(3), b::timestamp(0), c::timestamp(6), d::timestamp(5), "
                  "e::date, f::interval, g::boolean, h::bool, i::real, j::text, k::bytea, "
                  "l::geometry(Point, 0), m::Geometrys(point, 1), n::geometry()");
    sel = s->q->body->select;
    struct {
        int vt, unit;
        const char *name, *text;
    } tw[] = {
        {VT_TS, TU_MS, "TIMESTAMP(3)", "TIMESTAMP(3)"},
        {VT_TS, TU_S, "TIMESTAMP(0)", "TIMESTAMP(0)"},
        {VT_TS, TU_US, "TIMESTAMP(6)", "TIMESTAMP(6)"},
        {VT_NULL, 0, "TIMESTAMP(5)", "TIMESTAMP(5)"},
        {VT_DATE, 0, "DATE", "DATE"},
        {VT_INTERVAL, 0, "INTERVAL", "INTERVAL"},
        {VT_BOOL, 0, "BOOLEAN", "BOOLEAN"},
        {VT_BOOL, 0, "BOOL", "BOOL"},
        {VT_F64, 0, "REAL", "REAL"},
        {VT_STR, 0, "TEXT", "TEXT"},
        {VT_NULL, 0, "BYTEA", "BYTEA"},
        {VT_STR, 0, "GEOMETRY(POINT, 0)", "geometry(Point, 0)"},
        {VT_NULL, 0, "GEOMETRYS(point, 1)", "Geometrys(point, 1)"},
        {VT_NULL, 0, "GEOMETRY", "geometry"}, /* GEOMETRY() is malformed */
    };
    for (size_t i = 0; i < sizeof tw / sizeof tw[0]; i++) {
        sql_type *t = &sel->items[i].e->cast_type;
        if (t->vt != tw[i].vt || (tw[i].vt == VT_TS && t->unit != tw[i].unit) ||
            strcmp(t->name, tw[i].name) || strcmp(t->text, tw[i].text))
            fail_msg("type %zu: vt %d unit %d name %s text %s", i, t->vt, t->unit, t->name,
                     t->text);
    }
    assert_int_equal(sel->items[11].e->cast_type.geo, 1); /* GIS_POINT */
    assert_int_equal(sel->items[12].e->cast_type.geo_err, GEO_ERR_NONE);
    assert_int_equal(sel->items[13].e->cast_type.geo_err, GEO_ERR_FORMAT);

    /* windows and frames */
    s = parse1(a, "select f() over (order by t rows 2 preceding) from t");
    sql_window *w = s->q->body->select->items[0].e->over;
    assert_int_equal(w->frame_units, FRAME_ROWS);
    assert_int_equal(w->frame_start.kind, FB_PRECEDING);
    assert_int_equal(w->frame_start.offset->lit.v.i, 2);
    assert_int_equal(w->frame_end.kind, FB_CURRENT_ROW);
    assert_int_equal(w->order_by[0].nulls_first, -1);

    /* statements */
    s = parse1(a, "create table tn.db.\"T\" (f double)");
    assert_string_equal(s->table.tenant, "tn");
    assert_string_equal(s->table.db, "db");
    assert_string_equal(s->table.name, "T");
    assert_int_equal(s->table.pos.col, 14);
    assert_int_equal(s->cols[0].pos.col, 25);
    s = parse1(a, "show tag values from t with key = \"K\"");
    assert_int_equal(s->tag_key_op, TK_EQ);
    s = parse1(a, "create database d with ttl 'x' shard 2");
    assert_int_equal(s->opts[0].pos.col, 24);
    assert_int_equal(s->opts[1].v.type, VT_I64);
    assert_false(s->opts[0].ident);
    s = parse1(a, "create database d with precision ms");
    assert_true(s->opts[0].ident);
    s = parse1(a, "kill query 18446744073709551615");
    assert_true(s->query_id == UINT64_MAX);
    s = parse1(a, "explain analyze select 1");
    assert_true(s->analyze);
    assert_false(s->verbose);
    assert_int_equal(s->inner->kind, ST_QUERY);
    s = parse1(a, "grant write on database d to r");
    assert_int_equal(s->privilege, PRIV_WRITE);
    assert_string_equal(s->on_db, "d");
    s = parse1(a, "alter table t alter c set codec(zstd)");
    assert_int_equal(s->alter_action, AT_ALTER_CODEC);
    assert_int_equal(s->ncols, 1);
    assert_string_equal(s->cols[0].name, "c");
    assert_string_equal(s->cols[0].codec, "ZSTD");
    arena_free(a);
}

static void test_parse_expr_api(void **state) {
    (void)state;
    arena *a = arena_new(0);
    err e;
    expr *x;
    const char *s = "a + 1 * 2";
    assert_int_equal(sql_parse_expr(a, s, strlen(s), &x, &e), 0);
    assert_int_equal(x->kind, EX_BINARY);
    assert_int_equal(x->op, OP_ADD);
    s = "now() - interval '1 hour'";
    assert_int_equal(sql_parse_expr(a, s, strlen(s), &x, &e), 0);
    assert_int_equal(x->args[1]->lit.type, VT_INTERVAL);
    s = "a b";
    assert_int_equal(sql_parse_expr(a, s, strlen(s), &x, &e), -1);
    assert_null(x);
    assert_string_equal(e.msg, "sql parser error: Expected end of expression, found: b");
    assert_int_equal(e.line, 1);
    assert_int_equal(e.col, 3);
    s = "";
    assert_int_equal(sql_parse_expr(a, s, 0, &x, &e), -1);
    assert_string_equal(e.msg, "sql parser error: Expected an expression:, found: EOF");
    assert_int_equal(e.col, 1);
    s = "'abc";
    assert_int_equal(sql_parse_expr(a, s, strlen(s), &x, &e), -1);
    assert_int_equal(e.http, 422);
    assert_string_equal(e.code, EC_SQL_PARSE);
    /* only len bytes are read: the text need not be NUL-terminated */
    char nt[3] = {'4', '2', '+'};
    assert_int_equal(sql_parse_expr(a, nt, 2, &x, &e), 0);
    assert_int_equal(x->lit.v.i, 42);
    arena_free(a);
}

/* A NULL err must not crash either path. */
static void test_null_err(void **state) {
    (void)state;
    arena *a = arena_new(0);
    sql_stmt **st;
    size_t n;
    assert_int_equal(sql_parse(a, "select (", 8, &st, &n, NULL), -1);
    assert_null(st);
    assert_int_equal(n, 0);
    assert_int_equal(sql_parse(a, "select 'x", 9, &st, &n, NULL), -1);
    assert_int_equal(sql_parse(a, "select date 'x", 14, &st, &n, NULL), -1);
    assert_int_equal(sql_parse(a, "select date", 11, &st, &n, NULL), 0);
    arena_free(a);
}

/* ---------------------------------------------------------------------------------------------
 * nesting limits */

/* pre x n, mid, post x n */
static char *nest(const char *head, const char *pre, int n, const char *mid, const char *post) {
    buf b;
    buf_init(&b);
    buf_puts(&b, head);
    for (int i = 0; i < n; i++) buf_puts(&b, pre);
    buf_puts(&b, mid);
    for (int i = 0; i < n; i++) buf_puts(&b, post);
    buf_cstr(&b);
    return b.p;
}

static void expect_limit(char *sql) {
    char *got = render(sql);
    if (!strstr(got, "sql parser error: recursion limit exceeded @1:"))
        fail_msg("no limit error for %.60s...: %.200s", sql, got);
    free(got);
    free(sql);
}

static void expect_ok(char *sql) {
    char *got = render(sql);
    if (!strncmp(got, "ERR", 3)) fail_msg("unexpected error for %.60s...: %.300s", sql, got);
    free(got);
    free(sql);
}

static void test_deep_nesting(void **state) {
    (void)state;
    expect_limit(nest("select ", "(", 1000, "1", ")"));
    expect_ok(nest("select ", "(", 200, "1", ")"));
    expect_limit(nest("", "(", 1000, "select 1", ")"));
    expect_ok(nest("", "(", 100, "select 1", ")"));
    expect_limit(nest("select * from ", "(select * from ", 1000, "t", ")"));
    expect_ok(nest("select * from ", "(select * from ", 60, "t", ")"));
    expect_limit(nest("select * from ", "(", 1000, "t", ")"));
    expect_ok(nest("select * from ", "(", 100, "t", ")"));
    expect_limit(nest("select ", "not ", 1000, "1", ""));
    expect_ok(nest("select ", "not ", 200, "1", ""));
    expect_limit(nest("select ", "- ", 1000, "1", ""));
    expect_limit(nest("select ", "f(", 1000, "1", ")"));
    expect_ok(nest("select ", "f(", 200, "1", ")"));
    expect_limit(nest("select ", "[", 1000, "1", "]"));
    expect_limit(nest("select ", "case when 1 then ", 1000, "1", " end"));
    expect_limit(nest("select ", "a in (", 1000, "1", ")"));
    expect_limit(nest("select ", "cast(", 1000, "1", " as bigint)"));
    char *in = nest("select ", "(", 300, "1", ")");
    expect_limit(nest("explain ", "", 0, in, ""));
    free(in);
    /* flat chains build deep trees without recursion: bounded by height and chain limits */
    expect_ok(nest("select 1", " + 1", 998, "", ""));
    expect_limit(nest("select 1", " + 1", 1000, "", ""));
    expect_limit(nest("select 1", " or 1", 5000, "", ""));
    expect_limit(nest("select 1", "::bigint", 1000, "", ""));
    expect_limit(nest("select a", "[1]", 1000, "", ""));
    expect_ok(nest("", "select 1 union ", 999, "select 2", ""));
    expect_limit(nest("", "select 1 union ", 1001, "select 2", ""));
    expect_ok(nest("select * from t", ", t", 998, "", ""));
    expect_limit(nest("select * from t", ", t", 1001, "", ""));
    expect_limit(nest("select * from t", " join t on true", 1001, "", ""));
    /* long flat lists are fine */
    expect_ok(nest("select 1 in (1", ", 1", 100000, ")", ""));
    expect_ok(nest("select 1", ", 1", 100000, " from t", ""));
}

/* ---------------------------------------------------------------------------------------------
 * robustness: every prefix and many byte mutations of real statements parse or fail cleanly
 * (ASan/UBSan watch for the rest), and errors always carry a position */

static const char *const corpus[] = {
    "SELECT a, count(DISTINCT b) AS c FROM db.t AS x LEFT JOIN u ON x.k = u.k WHERE time >= "
    "now() - interval '1 hour' AND host IN ('a', 'b') GROUP BY a HAVING c > 1 ORDER BY 1 DESC "
    "NULLS LAST LIMIT 10 OFFSET 2",
    "with w(a) as (select 1 union all select 2) select case when a between 1 and 2 then 'x' "
    "else cast(a as string) end, sum(a) over (partition by a order by a rows between 1 "
    "preceding and current row) from w",
    "CREATE TABLE IF NOT EXISTS t (f BIGINT UNSIGNED CODEC(DELTA), s STRING, TAGS(a, b))",
    "create database d with ttl '10d' shard 2 vnode_duration '1d' replica 1 precision 'ms'",
    "insert into t (time, a, f) values (1, 'x', -1.5e3), (2, E'y\\n', 18446744073709551615)",
    "show tag values on db from t with key not in (\"a\", b) where time > 0 order by key limit 3",
    "create tenant t with comment = 'c', object_config max_users_number = 1 max_databases = 2",
    "select \"Q\"\"\", `b`, [1, 2][1], x::timestamp(3), extract(year from t), trim(both 'x' from "
    "s), substring(s from 1 for 2), position('a' in s) from t; /* c */ -- d\n select 1;",
    "grant read on database a, write on database b to role r; alter tenant t add user u as "
    "owner; drop database if exists x after '7d'; kill query 1; set x = 1",
};

static void check_clean(arena *a, const char *sql, size_t len) {
    sql_stmt **st;
    size_t n;
    err e;
    err_clear(&e);
    int rc = sql_parse(a, sql, len, &st, &n, &e);
    if (rc < 0) {
        assert_int_equal(e.http, 422);
        if (!e.line && !strstr(e.msg, "at Line: ")) fail_msg("error without position: %s", e.msg);
    } else {
        for (size_t i = 0; i < n; i++) assert_non_null(st[i]);
    }
}

static void test_prefixes_and_mutations(void **state) {
    (void)state;
    arena *a = arena_new(0);
    static const char repl[] = "(),;'\"`.*-/+=<>!~|:[]{}\\ \n0aZ\x80\xff";
    uint32_t seed = 12345;
    for (size_t c = 0; c < sizeof corpus / sizeof corpus[0]; c++) {
        const char *sql = corpus[c];
        size_t len = strlen(sql);
        check_clean(a, sql, len);
        for (size_t k = 0; k <= len; k++) {
            /* a heap copy of exactly k bytes, so ASan catches any read past len */
            char *cut = malloc(k ? k : 1);
            memcpy(cut, sql, k);
            check_clean(a, cut, k);
            free(cut);
            arena_reset(a);
        }
        for (int m = 0; m < 400; m++) {
            char *mut = malloc(len);
            memcpy(mut, sql, len);
            for (int j = 0; j < 3; j++) {
                seed = seed * 1103515245u + 12345u;
                size_t pos = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                mut[pos] = repl[(seed >> 8) % (sizeof repl - 1)];
            }
            check_clean(a, mut, len);
            free(mut);
            arena_reset(a);
        }
    }
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_table),
        cmocka_unit_test(test_lexer_tokens),
        cmocka_unit_test(test_lexer_errors),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_dml),
        cmocka_unit_test(test_ddl),
        cmocka_unit_test(test_show_describe),
        cmocka_unit_test(test_dcl),
        cmocka_unit_test(test_multi_statements),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_external_and_copy),
        cmocka_unit_test(test_statement_errors),
        cmocka_unit_test(test_ast_details),
        cmocka_unit_test(test_parse_expr_api),
        cmocka_unit_test(test_null_err),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_prefixes_and_mutations),
    };
    return cmocka_run_group_tests_name("sql_parser", tests, NULL, NULL);
}
