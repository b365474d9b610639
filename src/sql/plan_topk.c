/* CnosDB's selection functions topk(x, k) and bottom(x, k): the k whole rows with the largest
 * (smallest) x, the call itself reading x. CnosDB rewrites the query into a TopK node over its
 * input; here the SELECT is rewritten the same way before it is planned: the call becomes x
 * and the query gains ORDER BY x DESC (ASC) LIMIT k, NULLs last.
 *
 * One selection function per query, and only as a whole select item; the query may not
 * aggregate, nor have its own ORDER BY, LIMIT or OFFSET (the rewrite would change what they
 * mean), which are refused with a clear error rather than answered differently. */
#include <ctype.h>
#include <string.h>

#include "sql/plan_int.h"

static bool is_selection(const expr *e) {
    return e && e->kind == EX_FUNC && !e->over &&
           (!strcmp(e->name, "topk") || !strcmp(e->name, "bottom"));
}

struct sel_found {
    arena *a;
    const struct scope *sc;
    buf names;
    uint32_t n;
    bool nested;
};

static void find_sel(struct sel_found *f, const expr *e, bool top) {
    if (!e) return;
    if (is_selection(e)) {
        char *nm = plan_expr_name(f->a, e, false, f->sc);
        for (char *c = nm; *c && *c != '('; c++) *c = (char)toupper((unsigned char)*c);
        buf_printf(&f->names, "%s%s", f->n ? ", " : "", nm);
        f->n++;
        if (!top) f->nested = true;
    }
    for (uint32_t i = 0; i < e->nargs; i++) find_sel(f, e->args[i], false);
    find_sel(f, e->operand, false);
    for (uint32_t i = 0; i < e->nwhen; i++) {
        find_sel(f, e->when[i], false);
        find_sel(f, e->then[i], false);
    }
    find_sel(f, e->els, false);
}

int plan_topk(const struct planner *p, const sql_select **selp, const sql_query **qyp,
              const struct scope *sc, err *er) {
    arena *a = p->a;
    const sql_select *sel = *selp;
    const sql_query *qy = *qyp;
    struct sel_found f = {.a = a, .sc = sc};
    buf_init(&f.names);
    uint32_t at = 0;
    for (uint32_t i = 0; i < sel->nitems; i++) {
        uint32_t before = f.n;
        find_sel(&f, sel->items[i].e, true);
        if (f.n > before) at = i;
    }
    if (!f.n) {
        buf_free(&f.names);
        return 0;
    }
    if (f.n > 1 || f.nested) {
        int r = err_set(er, 422, EC_QUERY_INTERNAL,
                        "Datafusion: transform_bottom_func_to_topk_node\n"
                        "caused by\nError during planning: 1. There cannot be nested selection "
                        "functions. 2. There cannot be multiple selection functions., found: [%s]",
                        buf_cstr(&f.names));
        buf_free(&f.names);
        return r;
    }
    buf_free(&f.names);
    const expr *call = sel->items[at].e;
    if (call->nargs != 2)
        return plan_err(er, "The function \"%s\" expects 2 arguments, but %u were provided",
                        call->name, call->nargs);
    const expr *k = call->args[1];
    if (k->kind != EX_LITERAL || k->lit.type != VT_I64 || k->lit.v.i <= 0)
        return plan_err(er,
                        "The second argument of %s must be a positive integer literal, "
                        "the number of rows to select",
                        call->name);
    if (sel->ngroup || sel->group_kind || sel->having)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: %s with GROUP BY or HAVING", call->name);
    if (qy && (qy->norder || qy->limit || qy->offset))
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: %s with ORDER BY, LIMIT or OFFSET: "
                       "select from a subquery that calls it",
                       call->name);
    sql_select *sel_out = arena_alloc(a, sizeof *sel_out);
    sql_query *qy_out = arena_alloc(a, sizeof *qy_out);
    *sel_out = *sel;
    sel_out->items = arena_alloc(a, sizeof *sel_out->items * sel->nitems);
    memcpy(sel_out->items, sel->items, sizeof *sel->items * sel->nitems);
    sel_out->items[at].e = call->args[0];
    *qy_out = qy ? *qy : (sql_query){0};
    qy_out->order_by = arena_calloc(a, sizeof *qy_out->order_by);
    qy_out->order_by[0] =
        (sql_order_item){.e = call->args[0], .desc = !strcmp(call->name, "topk"), .nulls_first = 0};
    qy_out->norder = 1;
    qy_out->limit = (expr *)k;
    *selp = sel_out;
    *qyp = qy_out;
    return 1;
}
