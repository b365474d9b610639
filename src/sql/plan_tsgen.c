/* A SELECT of one time-series generating function (sql/tsgen.h): `SELECT f(time, x [, 'args'])
 * FROM ... WHERE ...` is planned as the SELECT of (time, x) in time order, which the function's
 * operator (ops_tsgen.c) turns into its points, named `time` and the call (or its alias); the
 * query's own ORDER BY and LIMIT then apply to those. CnosDB's rules: the function must be
 * the only select item, its argument string a literal. */
#include <string.h>

#include "sql/func.h"
#include "sql/plan_int.h"
#include "sql/tsgen.h"

static bool is_tsgen(const expr *e) {
    return e && e->kind == EX_FUNC && !e->over && tsgen_kind(e->name);
}

int plan_tsgen(const struct planner *p, const sql_select *sel, const sql_query *qy, plan_out *out,
               err *er) {
    arena *a = p->a;
    int found = -1;
    for (uint32_t i = 0; i < sel->nitems; i++)
        if (is_tsgen(sel->items[i].e)) found = (int)i;
    if (found < 0) return 0;
    if (sel->nitems != 1)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: TransformTSGenFunc\ncaused by\nError during planning: "
                       "Projection must have only one expression when using time series "
                       "generation function");
    const expr *call = sel->items[0].e;
    int kind = tsgen_kind(call->name);
    if (call->nargs != 2 && call->nargs != 3)
        return plan_err(er, "The function \"%s\" does not accept %u function arguments.",
                        call->name, call->nargs);
    if (sel->ngroup || sel->group_kind || sel->having || sel->distinct)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: %s with GROUP BY, HAVING or DISTINCT "
                       "(select from a subquery that aggregates)",
                       call->name);
    tsgen_opts opts;
    const expr *arg = call->nargs == 3 ? call->args[2] : NULL;
    if (arg && (arg->kind != EX_LITERAL || arg->lit.type != VT_STR))
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: TransformTSGenFunc\ncaused by\nError during planning: "
                       "Expected argument to be a string literal");
    if (tsgen_parse_opts(kind, arg ? arg->lit.v.s.p : NULL, arg ? arg->lit.v.s.len : 0, &opts, er) <
        0)
        return -1;
    /* the input: (time, x) in time order */
    sql_select *in = arena_alloc(a, sizeof *in);
    *in = *sel;
    in->items = arena_calloc(a, sizeof *in->items * 2);
    in->nitems = 2;
    in->items[0].e = call->args[0];
    in->items[1].e = call->args[1];
    sql_query *order = arena_calloc(a, sizeof *order);
    order->order_by = arena_calloc(a, sizeof *order->order_by);
    order->order_by[0] = (sql_order_item){.e = call->args[0], .desc = false, .nulls_first = 0};
    order->norder = 1;
    plan_out po;
    if (plan_select(p, in, order, &po, er) < 0) return -1;
    uint8_t tt = po.root->types[0], xt = po.root->types[1];
    if (tt != VT_TS || !(vtype_numeric(xt) || xt == VT_NULL)) {
        int rc = plan_err(er,
                          "No function matches the given name and argument types '%s(%s, %s)'. "
                          "You might need to add explicit type casts.",
                          call->name, vtype_arrow_name(tt, po.root->units[0]),
                          vtype_arrow_name(xt, po.root->units[1]));
        po.root->close(po.root);
        return rc;
    }
    out->root = op_tsgen(p->q, po.root, kind, &opts);
    out->ncols = 2;
    out->names = arena_alloc(a, sizeof *out->names * 2);
    out->names[0] = "time";
    out->names[1] = sel->items[0].alias ? sel->items[0].alias : plan_expr_name(a, call, true, NULL);
    return qy ? plan_order_limit(p, qy, out, er) == 0 ? 1 : -1 : 1;
}
