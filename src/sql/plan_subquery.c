/* Subqueries inside expressions: scalar `(SELECT ...)`, `x [NOT] IN (SELECT ...)` and
 * `[NOT] EXISTS (SELECT ...)`.
 *
 * An uncorrelated subquery has one answer for the whole statement, so it is run once, while
 * the statement is planned, and its answer becomes a constant (scalar, EXISTS) or a hashed set
 * (IN) that the expression probes per row like an IN list. That makes every position work the
 * same (SELECT list, WHERE, HAVING, under OR or CASE) and costs one execution. IN follows SQL's
 * NULL rules through the set: NULL when nothing matched and the subquery gave a NULL.
 *
 * A correlated subquery (one naming a column of the outer query) does not bind on its own; it
 * is refused with the binder's error and a note that correlation is not supported yet. */
#include "sql/plan_int.h"

#include <string.h>

/* Plans sub in the binder's query; a name it cannot find is noted as maybe a correlation. */
static int plan_sub(struct binder *bd, const sql_query *sub, plan_out *po, err *er) {
    if (!bd->p)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: subqueries in this statement");
    if (plan_query_env(bd->p, sub, po, er) < 0) {
        if (strstr(er->msg, "Schema error: No field named"))
            err_prefix(er, "correlated subqueries are not supported yet: ");
        return -1;
    }
    return 0;
}

/* Plans and runs sub, collecting at most max_rows rows (*more when there were others). */
static int run_sub(struct binder *bd, const sql_query *sub, uint64_t max_rows, op **shape,
                   batch *rows, bool *more, err *er) {
    plan_out po;
    if (plan_sub(bd, sub, &po, er) < 0) return -1;
    *shape = po.root;
    return op_collect(po.root, bd->q->a, max_rows, rows, more, er);
}

static int one_column(const op *o, err *er) {
    if (o->ncols == 1) return 0;
    return plan_err(er, "Scalar subquery should only return one column, got %u", o->ncols);
}

int plan_bind_subquery(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    op *shape;
    batch rows;
    bool more;
    if (e->kind == EX_EXISTS) {
        if (run_sub(bd, e->sub, 1, &shape, &rows, &more, er) < 0) return -1;
        value v = {.type = VT_BOOL};
        v.v.b = (rows.nrows > 0) != e->negated;
        *out = bx_const(a, v);
        return 0;
    }
    if (e->kind == EX_SUBQUERY) {
        if (run_sub(bd, e->sub, 1, &shape, &rows, &more, er) < 0) return -1;
        if (one_column(shape, er) < 0) return -1;
        if (more)
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execution error: a scalar subquery returned more than one row");
        value v = {.type = shape->types[0], .null = true};
        if (rows.nrows) vec_get(&rows.cols[0], 0, &v);
        v.type = shape->types[0];
        *out = bx_const(a, v);
        (*out)->unit = shape->units[0];
        (*out)->has_tz = shape->has_tz[0];
        return 0;
    }
    /* x [NOT] IN (subquery): x and the subquery's column meet at their common type */
    bexpr *x;
    if (plan_bind(bd, e->args[0], &x, er) < 0) return -1;
    plan_out po;
    if (plan_sub(bd, e->sub, &po, er) < 0) return -1;
    if (po.root->ncols != 1) {
        po.root->close(po.root);
        return plan_err(er, "InSubquery should only return one column, but found %u",
                        po.root->ncols);
    }
    bexpr *y = bx_col(a, 0, po.root->types[0], po.root->units[0]), *eq;
    if (plan_bind_eq(bd, x, y, &eq, er) < 0) {
        po.root->close(po.root);
        return -1;
    }
    x = eq->args[0];
    op *sub = plan_cast_cols(bd->q, po.root, &eq->args[1]->type, &eq->args[1]->unit, er);
    if (!sub || op_collect(sub, bd->q->a, UINT64_MAX, &rows, &more, er) < 0) return -1;
    *out = bx_in_values(a, x, &rows, 1, e->negated);
    return 0;
}
