/* Query bodies that are not a plain SELECT: UNION / INTERSECT / EXCEPT, VALUES, and a
 * parenthesised query (see plan_int.h).
 *
 * A set operation's inputs meet at one type per column (the comparison rules of the binder),
 * and its columns take the left input's names. UNION ALL streams both inputs; UNION adds a
 * hash DISTINCT over the result. INTERSECT and EXCEPT are semi and anti joins on every column
 * with NULL equal to NULL (rows are compared as IS NOT DISTINCT FROM), then DISTINCT; the ALL
 * forms skip the DISTINCT, as DataFusion 27 does. */
#include "sql/plan_int.h"

#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

op *plan_cast_cols(qctx *q, op *in, const uint8_t *types, const uint8_t *units, err *er) {
    bool same = true;
    for (uint32_t c = 0; c < in->ncols; c++)
        same &= in->types[c] == types[c] &&
                ((types[c] != VT_TS && types[c] != VT_DEC128) || in->units[c] == units[c]);
    if (same) return in;
    bexpr **ex = arena_alloc(q->a, sizeof *ex * (in->ncols + 1));
    for (uint32_t c = 0; c < in->ncols; c++) {
        ex[c] = bx_col(q->a, c, in->types[c], in->units[c]);
        ex[c]->has_tz = in->has_tz[c];
        uint8_t u = types[c] == VT_TS || types[c] == VT_DEC128 ? units[c] : 0;
        if (bx_cast(q->a, &ex[c], types[c], u, er) < 0) {
            in->close(in);
            return NULL;
        }
    }
    return op_project(q, in, ex, in->ncols);
}

/* The common type of two columns of a set operation or of VALUES, as a comparison would
 * choose it; -1 with an error when there is none. */
static int common_type(struct binder *bd, uint8_t t1, uint8_t u1, uint8_t t2, uint8_t u2,
                       uint8_t *t, uint8_t *u, err *er) {
    bexpr *eq;
    if (plan_bind_eq(bd, bx_col(bd->a, 0, t1, u1), bx_col(bd->a, 1, t2, u2), &eq, er) < 0)
        return -1;
    *t = eq->args[0]->type;
    *u = eq->args[0]->unit;
    return 0;
}

/* ------------------------------------------------------------------ VALUES */

static int plan_values(const struct planner *p, const sql_body *body, plan_out *out, err *er) {
    arena *a = p->a;
    uint32_t nr = body->nvalues, nc = body->nvalue_cols;
    struct scope empty = {NULL, 0};
    struct binder bd = {
        .p = p, .s = p->s, .q = p->q, .a = a, .in = &empty, .now_ns = time_now_ns()};
    bexpr **cells = arena_alloc(a, sizeof *cells * ((size_t)nr * nc + 1));
    uint8_t *types = arena_calloc(a, nc + 1), *units = arena_calloc(a, nc + 1);
    for (uint32_t r = 0; r < nr; r++)
        for (uint32_t c = 0; c < nc; c++) {
            bexpr **cell = &cells[(size_t)r * nc + c];
            if (plan_bind(&bd, body->values[r][c], cell, er) < 0) return -1;
            uint8_t t = (*cell)->type, u = (*cell)->unit;
            if (r == 0 || types[c] == VT_NULL) {
                types[c] = t;
                units[c] = u;
            } else if (t != VT_NULL && (t != types[c] || u != units[c])) {
                /* DataFusion 27 takes each column's type from its first non-NULL value and
                 * coerces nothing: (1), (2.5) is refused like (1), ('x') */
                return plan_err(er, "Inconsistent data type across values list at row %u column %u",
                                r, c);
            }
        }
    /* every row one batch of one row, cast to the column types */
    batch one = {0, 1, NULL};
    batch *rows = arena_alloc(a, sizeof *rows * (nr + 1));
    for (uint32_t r = 0; r < nr; r++) {
        rows[r].ncols = nc;
        rows[r].nrows = 1;
        rows[r].cols = arena_alloc(a, sizeof *rows[r].cols * (nc + 1));
        for (uint32_t c = 0; c < nc; c++) {
            bexpr *cell = cells[(size_t)r * nc + c];
            if (bx_cast(a, &cell, types[c], units[c], er) < 0) return -1;
            if (bexpr_eval(cell, &one, a, &rows[r].cols[c], er) < 0) return -1;
            rows[r].cols[c].len = 1;
        }
    }
    out->root = op_values(p->q, nc, types, units, rows, nr);
    out->ncols = nc;
    out->names = arena_alloc(a, sizeof *out->names * (nc + 1));
    for (uint32_t c = 0; c < nc; c++) {
        char nm[32];
        snprintf(nm, sizeof nm, "column%u", c + 1);
        out->names[c] = arena_strdup(a, nm);
    }
    return 0;
}

/* ------------------------------------------------------------------ set operations */

static op *distinct_rows(qctx *q, op *in) {
    bexpr **keys = arena_alloc(q->a, sizeof *keys * (in->ncols + 1));
    for (uint32_t c = 0; c < in->ncols; c++) {
        keys[c] = bx_col(q->a, c, in->types[c], in->units[c]);
        keys[c]->has_tz = in->has_tz[c];
    }
    return op_agg(q, in, keys, in->ncols, NULL, 0);
}

static int plan_setop(const struct planner *p, const sql_body *body, plan_out *out, err *er) {
    qctx *q = p->q;
    arena *a = p->a;
    plan_out l, r;
    if (plan_body(p, body->left, &l, er) < 0) return -1;
    if (plan_body(p, body->right, &r, er) < 0) {
        l.root->close(l.root);
        return -1;
    }
    const char *what = body->setop == SETOP_UNION       ? "Union"
                       : body->setop == SETOP_INTERSECT ? "INTERSECT"
                                                        : "EXCEPT";
    if (l.ncols != r.ncols) {
        l.root->close(l.root);
        r.root->close(r.root);
        if (body->setop == SETOP_UNION)
            return plan_err(er,
                            "Union queries must have the same number of columns, (left is %u, "
                            "right is %u)",
                            l.ncols, r.ncols);
        return plan_err(er,
                        "%s queries must have the same number of columns, (left is %u, right "
                        "is %u)",
                        what, l.ncols, r.ncols);
    }
    uint32_t n = l.ncols;
    struct scope empty = {NULL, 0};
    struct binder bd = {.p = p, .s = p->s, .q = q, .a = a, .in = &empty};
    uint8_t *types = arena_alloc(a, n + 1), *units = arena_alloc(a, n + 1);
    for (uint32_t c = 0; c < n; c++) {
        uint8_t lt = l.root->types[c], rt = r.root->types[c];
        if (common_type(&bd, lt, l.root->units[c], rt, r.root->units[c], &types[c], &units[c], er) <
            0) {
            l.root->close(l.root);
            r.root->close(r.root);
            return -1;
        }
    }
    op *lo = plan_cast_cols(q, l.root, types, units, er);
    if (!lo) {
        r.root->close(r.root);
        return -1;
    }
    op *ro = plan_cast_cols(q, r.root, types, units, er);
    if (!ro) {
        lo->close(lo);
        return -1;
    }
    op *root;
    if (body->setop == SETOP_UNION) {
        op **kids = arena_alloc(a, sizeof *kids * 2);
        kids[0] = lo;
        kids[1] = ro;
        root = op_concat(q, kids, 2);
    } else {
        join_spec js = {.type = body->setop == SETOP_INTERSECT ? JT_SEMI : JT_ANTI,
                        .nkeys = n,
                        .null_eq = true};
        js.lkeys = arena_alloc(a, sizeof *js.lkeys * (n + 1));
        js.rkeys = arena_alloc(a, sizeof *js.rkeys * (n + 1));
        for (uint32_t c = 0; c < n; c++) {
            js.lkeys[c] = bx_col(a, c, types[c], units[c]);
            js.rkeys[c] = bx_col(a, c, types[c], units[c]);
        }
        root = op_join(q, lo, ro, &js);
    }
    if (!body->all) root = distinct_rows(q, root);
    out->root = root;
    out->ncols = n;
    out->names = l.names;
    return 0;
}

int plan_body(const struct planner *p, const sql_body *body, plan_out *out, err *er) {
    if (body->nested) return plan_query_env(p, body->nested, out, er);
    if (body->values) return plan_values(p, body, out, er);
    if (body->setop != SETOP_NONE) return plan_setop(p, body, out, er);
    return plan_select(p, body->select, NULL, out, er);
}
