/* Planner of queries: see plan.h, and plan_int.h for how the work is split between files. */
#include "sql/plan_int.h"

#include "sql/func.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ SELECT */

static int const_int(struct binder *bd, const expr *e, int64_t *out, const char *what, err *er) {
    bexpr *b;
    if (plan_bind(bd, e, &b, er) < 0) return -1;
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

/* The select list with `*` expanded: each item's expression and output name. */
struct select_list {
    const expr **items;
    const char **names;
    const char **aliases; /* an item's alias, NULL when it has none */
    uint32_t nitems;
};

static int cmp_name_at(const void *x, const void *y) {
    const char *const *a = x, *const *b = y;
    int c = strcmp(a[0], b[0]);
    return c ? c : (a[1] > b[1]) - (a[1] < b[1]);
}

/* DataFusion refuses a select list where two items have the same name: an alias, or the
 * expression's qualified display name (t1.a and t2.a differ, a and CAST(a AS DOUBLE) do not).
 * Output names are unqualified, so only items whose output names collide are named again. */
static int unique_names(arena *a, const struct scope *sc, const struct select_list *sl, err *er) {
    uint32_t n = sl->nitems;
    if (n < 2) return 0;
    /* (name, position) pairs sorted by name, then position */
    const char **byname = arena_alloc(a, sizeof *byname * 2 * n);
    for (uint32_t i = 0; i < n; i++) {
        byname[2 * i] = sl->names[i];
        byname[2 * i + 1] = (const char *)(uintptr_t)i;
    }
    qsort(byname, n, 2 * sizeof *byname, cmp_name_at);
    for (uint32_t i = 0; i + 1 < n; i++) {
        if (strcmp(byname[2 * i], byname[2 * i + 2]) != 0) continue;
        uint32_t j = (uint32_t)(uintptr_t)byname[2 * i + 1];
        const char *qj = NULL;
        for (uint32_t k = i + 1; k < n && !strcmp(byname[2 * i], byname[2 * k]); k++) {
            uint32_t m = (uint32_t)(uintptr_t)byname[2 * k + 1];
            if (!qj)
                qj = sl->aliases[j] ? sl->aliases[j] : plan_expr_name(a, sl->items[j], false, sc);
            const char *qm =
                sl->aliases[m] ? sl->aliases[m] : plan_expr_name(a, sl->items[m], false, sc);
            if (!strcmp(qj, qm))
                return plan_err(er,
                                "Projections require unique expression names but the expression "
                                "\"%s\" at position %u and \"%s\" at position %u have the same "
                                "name. Consider aliasing (\"AS\") one of them.",
                                qj, j, qm, m);
        }
    }
    return 0;
}

static int expand_items(arena *a, const sql_select *sel, const struct scope *sc,
                        struct select_list *out, err *er) {
    uint32_t nitems = 0, capitems = sel->nitems + sc->n + 1;
    const expr **items = arena_alloc(a, sizeof *items * capitems);
    const char **names = arena_alloc(a, sizeof *names * capitems);
    const char **aliases = arena_alloc(a, sizeof *aliases * capitems);
    for (uint32_t i = 0; i < sel->nitems; i++) {
        const sql_select_item *it = &sel->items[i];
        if (it->e->kind == EX_STAR) {
            if (!sel->from) return plan_err(er, "SELECT * with no tables specified is not valid");
            for (uint32_t c = 0; c < sc->n; c++) {
                if (sc->cols[c].vis != CV_VISIBLE) continue;
                if (it->e->qual && (!sc->cols[c].qual || strcmp(it->e->qual, sc->cols[c].qual)))
                    continue;
                if (nitems == capitems) {
                    capitems *= 2;
                    items =
                        arena_realloc(a, items, sizeof *items * nitems, sizeof *items * capitems);
                    names =
                        arena_realloc(a, names, sizeof *names * nitems, sizeof *names * capitems);
                    aliases = arena_realloc(a, aliases, sizeof *aliases * nitems,
                                            sizeof *aliases * capitems);
                }
                expr *ce = arena_calloc(a, sizeof *ce);
                ce->kind = EX_COLUMN;
                ce->name = sc->cols[c].name;
                ce->qual = sc->cols[c].qual;
                ce->pos = it->pos;
                items[nitems] = ce;
                aliases[nitems] = NULL;
                names[nitems++] = sc->cols[c].name;
            }
            continue;
        }
        if (nitems == capitems) {
            capitems *= 2;
            items = arena_realloc(a, items, sizeof *items * nitems, sizeof *items * capitems);
            names = arena_realloc(a, names, sizeof *names * nitems, sizeof *names * capitems);
            aliases =
                arena_realloc(a, aliases, sizeof *aliases * nitems, sizeof *aliases * capitems);
        }
        items[nitems] = it->e;
        aliases[nitems] = it->alias;
        names[nitems++] = it->alias ? it->alias : plan_expr_name(a, it->e, true, sc);
    }
    out->items = items;
    out->names = names;
    out->aliases = aliases;
    out->nitems = nitems;
    return unique_names(a, sc, out, er);
}

/* Whether the query aggregates: GROUP BY, HAVING, or an aggregate call anywhere in the select
 * list (not inside a subquery) or as an ORDER BY item. */
/* An explicit stack of expressions to visit, grown in the arena. */
struct expr_stack {
    const expr **e;
    size_t n, cap;
};

static void expr_push(arena *a, struct expr_stack *st, const expr *e) {
    if (!e) return;
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        st->e = arena_realloc(a, st->e, sizeof *st->e * st->cap, sizeof *st->e * nc);
        st->cap = nc;
    }
    st->e[st->n++] = e;
}

static bool has_aggregate(arena *a, const sql_query *qy, const sql_select *sel,
                          const struct select_list *sl) {
    bool has_agg = sel->ngroup > 0 || sel->group_kind || sel->having;
    struct expr_stack todo = {0};
    for (uint32_t i = 0; i < sl->nitems && !has_agg; i++) {
        todo.n = 0;
        expr_push(a, &todo, sl->items[i]);
        while (todo.n && !has_agg) {
            const expr *e = todo.e[--todo.n];
            if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) has_agg = true;
            for (uint32_t k = 0; k < e->nargs; k++) expr_push(a, &todo, e->args[k]);
            expr_push(a, &todo, e->operand);
            for (uint32_t k = 0; k < e->nwhen; k++) {
                expr_push(a, &todo, e->when[k]);
                expr_push(a, &todo, e->then[k]);
            }
            expr_push(a, &todo, e->els);
        }
    }
    for (uint32_t i = 0; i < qy->norder && !has_agg; i++) {
        const expr *e = qy->order_by[i].e;
        if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) has_agg = true;
    }
    return has_agg;
}

/* ROLLUP, CUBE and GROUPING SETS as one list of distinct key expressions (*keys) and the sets
 * over them (bit k of a set: key k is in it). ROLLUP(a, b) is (a, b), (a), (); CUBE(a, b) every
 * subset; an element may be a parenthesised list of keys. */
#define MAX_GROUPING_KEYS 64
#define MAX_CUBE_ELEMENTS 12

static int key_index(arena *a, expr **keys, const char **names, uint32_t *nkeys, expr *e,
                     const struct scope *sc, err *er) {
    const char *nm = plan_expr_name(a, e, false, sc);
    for (uint32_t k = 0; k < *nkeys; k++)
        if (!strcmp(names[k], nm)) return (int)k;
    if (*nkeys == MAX_GROUPING_KEYS)
        return plan_err(er, "Grouping sets support at most %d distinct expressions",
                        MAX_GROUPING_KEYS);
    keys[*nkeys] = e;
    names[*nkeys] = nm;
    return (int)(*nkeys)++;
}

static int grouping_sets(arena *a, const sql_select *sel, const struct scope *sc, expr ***keys_out,
                         uint32_t *nkeys_out, uint64_t **sets_out, uint32_t *nsets_out, err *er) {
    uint32_t nel = sel->group_kind == 3 ? sel->nsets : sel->ngroup;
    if (sel->group_kind == 2 && nel > MAX_CUBE_ELEMENTS)
        return plan_err(er, "CUBE supports up to %d grouping expressions, got %u",
                        MAX_CUBE_ELEMENTS, nel);
    expr **keys = arena_alloc(a, sizeof *keys * MAX_GROUPING_KEYS);
    const char **names = arena_alloc(a, sizeof *names * MAX_GROUPING_KEYS);
    uint32_t nkeys = 0;
    uint64_t *el = arena_calloc(a, sizeof *el * (nel + 1)); /* each element's keys */
    for (uint32_t i = 0; i < nel; i++) {
        expr **list;
        uint32_t n;
        if (sel->group_kind == 3) {
            list = sel->grouping_sets[i];
            n = sel->grouping_set_len[i];
        } else if (sel->group_by[i]->kind == EX_TUPLE) {
            list = sel->group_by[i]->args;
            n = sel->group_by[i]->nargs;
        } else {
            list = &sel->group_by[i];
            n = 1;
        }
        for (uint32_t j = 0; j < n; j++) {
            int k = key_index(a, keys, names, &nkeys, list[j], sc, er);
            if (k < 0) return -1;
            el[i] |= (uint64_t)1 << k;
        }
    }
    uint32_t nsets = sel->group_kind == 1 ? nel + 1 : sel->group_kind == 2 ? 1u << nel : nel;
    uint64_t *sets = arena_calloc(a, sizeof *sets * (nsets + 1));
    for (uint32_t s = 0; s < nsets; s++) {
        if (sel->group_kind == 3) {
            sets[s] = el[s];
        } else if (sel->group_kind == 1) {
            for (uint32_t i = 0; i < nel - s; i++) sets[s] |= el[i]; /* the prefix of nel-s */
        } else {
            uint32_t m = nsets - 1 - s; /* the full set first */
            for (uint32_t i = 0; i < nel; i++)
                if (m >> i & 1) sets[s] |= el[i];
        }
    }
    *keys_out = keys;
    *nkeys_out = nkeys;
    *sets_out = sets;
    *nsets_out = nsets;
    return 0;
}

/* The aggregate of grouping sets: the input expanded once per set, one aggregate over (keys,
 * set index), the set index dropped so the output is keys then aggregates as for GROUP BY. */
static op *plan_grouping_sets(qctx *q, op *root, const struct binder *bd, const uint64_t *sets,
                              uint32_t nsets) {
    arena *a = q->a;
    uint32_t nin = root->ncols, k = bd->ngroup;
    root = op_expand(q, root, bd->group_bx, k, sets, nsets);
    bexpr **keys = arena_alloc(a, sizeof *keys * (k + 2));
    for (uint32_t i = 0; i <= k; i++)
        keys[i] = bx_col(a, nin + i, root->types[nin + i], root->units[nin + i]);
    root = op_agg(q, root, keys, k + 1, bd->aggs, bd->naggs);
    bexpr **out = arena_alloc(a, sizeof *out * (k + bd->naggs + 1));
    for (uint32_t i = 0; i < k + bd->naggs; i++) {
        uint32_t c = i < k ? i : i + 1;
        out[i] = bx_col(a, c, root->types[c], root->units[c]);
        out[i]->has_tz = root->has_tz[c];
    }
    return op_project(q, root, out, k + bd->naggs);
}

/* Binds the GROUP BY keys and turns the binder to the aggregate's output. */
static int bind_group_by(struct binder *bd, const sql_select *sel, expr *const *keys,
                         uint32_t ngroup, const struct select_list *sl, err *er) {
    arena *a = bd->a;
    const struct scope *sc = bd->in;
    bexpr **group_bx = arena_alloc(a, sizeof *group_bx * (ngroup + 1));
    bd->group_names = arena_alloc(a, sizeof *bd->group_names * (ngroup + 1));
    bd->group_keys = arena_alloc(a, sizeof *bd->group_keys * (ngroup + 1));
    const expr **group_ast = arena_alloc(a, sizeof *group_ast * (ngroup + 1));
    bd->group_ast = group_ast;
    for (uint32_t k = 0; k < ngroup; k++) {
        const expr *ge = keys[k];
        /* GROUP BY 1 / GROUP BY alias refer to select items; a number that is no item's
         * position is a constant key, as DataFusion's resolve_positions_to_exprs leaves it. */
        if (ge->kind == EX_LITERAL && ge->lit.type == VT_I64) {
            int64_t pos = ge->lit.v.i;
            if (pos >= 1 && pos <= sl->nitems) ge = sl->items[pos - 1];
        } else if (ge->kind == EX_COLUMN && !ge->qual) {
            for (uint32_t i = 0; i < sl->nitems; i++)
                if (sel->items[i < sel->nitems ? i : 0].alias && i < sel->nitems &&
                    !strcmp(sel->items[i].alias, ge->name)) {
                    bool is_col = false;
                    for (uint32_t c = 0; c < sc->n; c++)
                        is_col |= !strcmp(sc->cols[c].name, ge->name);
                    if (!is_col) ge = sel->items[i].e;
                    break;
                }
        }
        if (plan_bind_item(bd, ge, &group_bx[k], er) < 0) return -1;
        bd->group_names[k] = plan_expr_name(a, ge, false, sc);
        bd->group_keys[k] = plan_expr_display(a, ge, sc);
        group_ast[k] = ge;
    }
    bd->group_bx = group_bx;
    bd->ngroup = ngroup;
    bd->agg = true;
    return 0;
}

/* ORDER BY keys: output positions, aliases/output names, or hidden extra columns, which are
 * bound into proj[*nproj...] (proj has room for one per ORDER BY item). */
static int order_keys(struct binder *bd, const sql_query *qy, const struct select_list *sl,
                      bexpr **proj, uint32_t *nproj, sort_key **out, err *er) {
    arena *a = bd->a;
    sort_key *keys = arena_alloc(a, sizeof *keys * (qy->norder + 1));
    /* the names of the ORDER BY items added to the projection, by position */
    char **hidden = arena_calloc(a, sizeof *hidden * (*nproj + qy->norder + 1));
    for (uint32_t k = 0; k < qy->norder; k++) {
        const sql_order_item *oi = &qy->order_by[k];
        int col = -1;
        if (oi->e->kind == EX_LITERAL && oi->e->lit.type == VT_I64) {
            int64_t pos = oi->e->lit.v.i;
            if (pos < 1 || pos > sl->nitems)
                return plan_err(er, "Order by column out of bounds, specified: %lld, max: %u",
                                (long long)pos, sl->nitems);
            col = (int)pos - 1;
        } else {
            char *nm = oi->e->kind == EX_COLUMN && !oi->e->qual
                           ? (char *)oi->e->name
                           : plan_expr_name(a, oi->e, true, bd->in);
            for (uint32_t i = 0; i < sl->nitems && col < 0; i++)
                if (!strcmp(sl->names[i], nm)) col = (int)i;
        }
        if (col < 0) {
            /* DataFusion adds them to the projection, whose names must stay unique */
            char *q = plan_expr_name(a, oi->e, false, bd->in);
            for (uint32_t i = 0; i < *nproj; i++)
                if (hidden[i] && !strcmp(hidden[i], q))
                    return plan_err(
                        er,
                        "Projections require unique expression names but the "
                        "expression \"%s\" at position %u and \"%s\" at position "
                        "%u have the same name. Consider aliasing (\"AS\") one of them.",
                        q, i, q, *nproj);
            if (plan_bind(bd, oi->e, &proj[*nproj], er) < 0) return -1;
            hidden[*nproj] = q;
            col = (int)(*nproj)++;
        }
        keys[k].e = bx_col(a, (uint32_t)col, proj[col]->type, proj[col]->unit);
        keys[k].desc = oi->desc;
        keys[k].nulls_first = oi->nulls_first < 0 ? oi->desc : oi->nulls_first;
    }
    *out = keys;
    return 0;
}

/* Every expression of the window functions: marked into used (when not NULL), or rewritten
 * through map (when not NULL). */
static void window_exprs(arena *a, struct binder *bd, bool *used, const uint32_t *map) {
    for (uint32_t k = 0; k < bd->nwins; k++) {
        win_spec *w = &bd->wins[k];
        bexpr **slots[4 + 1];
        uint32_t ns = 0;
        if (w->agg.arg) slots[ns++] = &w->agg.arg;
        if (w->agg.arg2) slots[ns++] = &w->agg.arg2;
        for (uint32_t i = 0; i < ns; i++) {
            if (used) plan_mark_cols(*slots[i], used);
            if (map) *slots[i] = plan_remap(a, *slots[i], map);
        }
        for (uint32_t i = 0; i < w->nargs; i++) {
            if (!w->args[i]) continue;
            if (used) plan_mark_cols(w->args[i], used);
            if (map) w->args[i] = plan_remap(a, w->args[i], map);
        }
        for (uint32_t i = 0; i < w->npart; i++) {
            if (used) plan_mark_cols(w->part[i], used);
            if (map) w->part[i] = plan_remap(a, w->part[i], map);
        }
        for (uint32_t i = 0; i < w->norder; i++) {
            if (used) plan_mark_cols(w->order[i].e, used);
            if (map) w->order[i].e = plan_remap(a, w->order[i].e, map);
        }
    }
}

/* The rows the query reads: the FROM tree with WHERE placed in it, each table's scan reading
 * only the columns used. What is evaluated over them (the aggregate's keys and arguments when
 * bd aggregates, the projection otherwise) is rewritten to the FROM's output columns. */
static int plan_source(const struct planner *p, struct rel *from, const struct scope *sc,
                       bexpr *where, struct binder *bd, bexpr **proj, uint32_t nproj, op **out,
                       err *er) {
    arena *a = p->a;
    bool *used = arena_calloc(a, sc->n + 1);
    /* time is read only when something uses it (the scan skips decoding it otherwise) */
    if (bd->agg) {
        for (uint32_t k = 0; k < bd->ngroup; k++) plan_mark_cols(bd->group_bx[k], used);
        for (uint32_t k = 0; k < bd->naggs; k++) {
            if (bd->aggs[k].arg) plan_mark_cols(bd->aggs[k].arg, used);
            if (bd->aggs[k].arg2) plan_mark_cols(bd->aggs[k].arg2, used);
        }
    } else {
        for (uint32_t i = 0; i < nproj; i++) plan_mark_cols(proj[i], used);
        window_exprs(a, bd, used, NULL);
    }
    if (bd->tw) plan_mark_cols(bd->tw->time, used);
    plan_from_where(a, from, where);
    const uint32_t *map;
    if (plan_from_build(p, from, sc, used, out, &map, er) < 0) return -1;
    if (bd->tw) plan_twindow_build(p->q, bd->tw, out, &map, sc->n);
    if (bd->agg) {
        for (uint32_t k = 0; k < bd->ngroup; k++)
            bd->group_bx[k] = plan_remap(a, bd->group_bx[k], map);
        for (uint32_t k = 0; k < bd->naggs; k++) {
            if (bd->aggs[k].arg) bd->aggs[k].arg = plan_remap(a, bd->aggs[k].arg, map);
            if (bd->aggs[k].arg2) bd->aggs[k].arg2 = plan_remap(a, bd->aggs[k].arg2, map);
        }
    } else {
        window_exprs(a, bd, NULL, map);
        /* the window's results follow the FROM's columns */
        uint32_t *ext = arena_alloc(a, sizeof *ext * (sc->n + bd->nwins + 1));
        memcpy(ext, map, sizeof *ext * sc->n);
        for (uint32_t k = 0; k < bd->nwins; k++) ext[sc->n + k] = (*out)->ncols + k;
        for (uint32_t i = 0; i < nproj; i++) proj[i] = plan_remap(a, proj[i], ext);
    }
    return 0;
}

/* ORDER BY, LIMIT and OFFSET of qy over a planned body whose output columns are named out->names
 * (a set operation, VALUES, a parenthesised query): by position or by output name. */
static int plan_order_limit(const struct planner *p, const sql_query *qy, plan_out *out, err *er) {
    arena *a = p->a;
    if (!qy->norder && !qy->limit && !qy->offset) return 0;
    op *root = out->root;
    struct scope sc = {arena_calloc(a, sizeof *sc.cols * (out->ncols + 1)), out->ncols};
    for (uint32_t c = 0; c < out->ncols; c++) {
        sc.cols[c].name = out->names[c];
        sc.cols[c].type = root->types[c];
        sc.cols[c].unit = root->units[c];
        sc.cols[c].has_tz = root->has_tz[c];
        sc.cols[c].kind = 0xff;
    }
    struct binder bd = {.p = p, .s = p->s, .q = p->q, .a = a, .in = &sc, .now_ns = time_now_ns()};
    struct select_list sl = {arena_alloc(a, sizeof *sl.items * (out->ncols + 1)), out->names,
                             arena_calloc(a, sizeof *sl.aliases * (out->ncols + 1)), out->ncols};
    bexpr **proj = arena_alloc(a, sizeof *proj * (out->ncols + qy->norder + 1));
    for (uint32_t c = 0; c < out->ncols; c++) {
        expr *ce = arena_calloc(a, sizeof *ce);
        ce->kind = EX_COLUMN;
        ce->name = out->names[c];
        sl.items[c] = ce;
        proj[c] = bx_col(a, c, root->types[c], root->units[c]);
        proj[c]->has_tz = root->has_tz[c];
    }
    uint32_t nproj = out->ncols;
    sort_key *keys = NULL;
    int rc = order_keys(&bd, qy, &sl, proj, &nproj, &keys, er);
    if (rc == 0 && nproj > out->ncols)
        rc = plan_err(er, "ORDER BY of a set operation must name one of its output columns");
    int64_t limit = -1, offset = 0;
    if (rc == 0 && qy->limit) rc = const_int(&bd, qy->limit, &limit, "LIMIT", er);
    if (rc == 0 && qy->offset) rc = const_int(&bd, qy->offset, &offset, "OFFSET", er);
    if (rc < 0) {
        root->close(root);
        return -1;
    }
    if (offset < 0) offset = 0;
    if (qy->norder) {
        int64_t keep = -1;
        if (limit >= 0 && __builtin_add_overflow(limit, offset, &keep)) keep = INT64_MAX;
        root = op_sort(p->q, root, keys, qy->norder, keep);
    }
    if (limit >= 0 || offset > 0) root = op_limit(p->q, root, (uint64_t)offset, limit);
    out->root = root;
    return 0;
}

int plan_query_env(const struct planner *p, const sql_query *qy, plan_out *out, err *er) {
    if (qy->recursive)
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: Recursive CTEs");
    struct planner sp = *p;
    for (uint32_t i = 0; i < qy->nctes; i++) {
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(qy->ctes[k].name, qy->ctes[i].name))
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "sql parser error: WITH query name \"%s\" specified more than once",
                               qy->ctes[i].name);
        struct cte_env *ce = arena_calloc(p->a, sizeof *ce);
        ce->cte = &qy->ctes[i];
        ce->env = sp.ctes;
        ce->next = sp.ctes;
        sp.ctes = ce;
    }
    const sql_body *body = qy->body;
    if (body->setop == SETOP_NONE && !body->nested && !body->values && body->select)
        return plan_select(&sp, body->select, qy, out, er);
    if (plan_body(&sp, body, out, er) < 0) return -1;
    return plan_order_limit(&sp, qy, out, er);
}

int plan_query(sql_session *s, qctx *q, const sql_query *qy, plan_out *out, err *er) {
    /* not calloc: its error is 4 KiB, written only when an error is deferred */
    struct plan_defer *d = arena_alloc(q->a, sizeof *d);
    d->rank = 0;
    struct planner p = {.s = s, .q = q, .a = q->a, .ctes = NULL, .defer = d};
    int rc = plan_query_env(&p, qy, out, er);
    if (!d->rank) return rc;
    if (rc == 0) {
        out->root->close(out->root); /* planned, but not to be run */
    } else {
        int rank = plan_err_rank(er);
        if (!rank || rank < d->rank) return -1;
    }
    *er = d->e;
    return -1;
}

/* A SELECT being planned: what each step fills in for the next. */
struct select_plan {
    const struct planner *p;
    const sql_select *sel;
    const sql_query *qy; /* its ORDER BY, LIMIT, OFFSET */
    struct rel *from;
    struct scope sc;
    struct binder bd;
    struct select_list sl;
    const expr *where_ast;
    bexpr *where, *having;
    bool has_agg;
    uint64_t *gsets; /* grouping sets over bd's keys; NULL for a plain GROUP BY */
    uint32_t ngsets;
    bexpr **proj; /* select items, then ORDER BY keys that are not items */
    uint32_t nproj;
    sort_key *keys;
    int64_t limit, offset;
};

/* Step 1: the FROM tree, the select list with `*` expanded, and the correlated subqueries of
 * WHERE and the select list rewritten into joins of the tree. */
static int select_from(struct select_plan *sp, err *er) {
    const sql_select *sel = sp->sel;
    arena *a = sp->p->a;
    /* DataFusion 27 has no DISTINCT ON: refused rather than read as plain SELECT */
    if (sel->ndistinct_on)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: DISTINCT ON Exprs not supported");
    if (plan_from(sp->p, sel->from, &sp->from, &sp->sc, er) < 0) return -1;
    if (plan_topk(sp->p, &sp->sel, &sp->qy, &sp->sc, er) < 0) return -1;
    sel = sp->sel;
    if (expand_items(a, sel, &sp->sc, &sp->sl, er) < 0) return -1;
    sp->where_ast = sel->where;
    if (plan_decorrelate(sp->p, &sp->from, &sp->sc, &sp->where_ast, sp->sl.items, sp->sl.nitems,
                         er) < 0)
        return -1;
    return plan_twindow(&sp->bd, sel, sp->qy, sp->sl.items, sp->sl.nitems, &sp->sc, er);
}

/* Step 2: every expression bound and typed: WHERE, GROUP BY (the binder then reads the
 * aggregate's output), the select items, HAVING, ORDER BY, LIMIT / OFFSET; window calls met
 * on the way registered with the binder. */
static int select_bind(struct select_plan *sp, err *er) {
    const sql_select *sel = sp->sel;
    const sql_query *qy = sp->qy;
    struct binder *bd = &sp->bd;
    arena *a = sp->p->a;
    if (sp->where_ast) {
        bd->lazy_types = true; /* DataFusion does not type a filter while building the plan */
        int rc = plan_bind_item(bd, sp->where_ast, &sp->where, er);
        bd->lazy_types = false;
        if (rc < 0) return -1;
        if (bx_cast(a, &sp->where, VT_BOOL, 0, er) < 0) return -1;
    }
    expr **gkeys = sel->group_by;
    uint32_t ngkeys = sel->ngroup;
    if (sel->group_kind &&
        grouping_sets(a, sel, &sp->sc, &gkeys, &ngkeys, &sp->gsets, &sp->ngsets, er) < 0)
        return -1;
    sp->has_agg = has_aggregate(a, qy, sel, &sp->sl);
    bd->agg_items = sp->sl.items;
    bd->nagg_items = sp->sl.nitems;
    bd->agg_having = sel->having;
    if (sp->has_agg) {
        /* DataFusion types the select list over the input rows (a projection that resolves
         * the aliases GROUP BY may name) before it turns to GROUP BY */
        bd->typing_only = true;
        for (uint32_t i = 0; i < sp->sl.nitems; i++) {
            bexpr *ignored;
            if (plan_bind_item(bd, sp->sl.items[i], &ignored, er) < 0) {
                bd->typing_only = false;
                return -1;
            }
        }
        bd->typing_only = false;
    }
    if (sp->has_agg && bind_group_by(bd, sel, gkeys, ngkeys, &sp->sl, er) < 0) return -1;

    /* the projection, bound in aggregate mode when aggregating */
    uint32_t nitems = sp->sl.nitems;
    sp->proj = arena_alloc(a, sizeof *sp->proj * (nitems + qy->norder + 1));
    bd->allow_window = true;
    for (uint32_t i = 0; i < nitems; i++)
        if (plan_bind_item(bd, sp->sl.items[i], &sp->proj[i], er) < 0) return -1;
    bd->allow_window = false;
    if (sel->having) {
        if (plan_bind_item(bd, sel->having, &sp->having, er) < 0) return -1;
        if (bx_cast(a, &sp->having, VT_BOOL, 0, er) < 0) return -1;
    }
    sp->nproj = nitems;
    bd->allow_window = true;
    if (sp->has_agg) {
        bd->order_fields = sp->sl.names;
        bd->norder_fields = nitems;
    }
    if (order_keys(bd, qy, &sp->sl, sp->proj, &sp->nproj, &sp->keys, er) < 0) return -1;
    bd->order_fields = NULL;
    bd->allow_window = false;
    /* An unaliased window call is named after the window it resolved to (`OVER w` names a
     * WINDOW clause entry). Then window results are read after the window's input: the FROM's
     * columns (remapped with them by plan_source) or the aggregate's output. */
    for (uint32_t i = 0; i < nitems && bd->nwins; i++) {
        bexpr *x = sp->proj[i];
        if (x->kind != BX_COL || x->col < PLAN_WIN_COL) continue;
        for (uint32_t j = 0; j < sel->nitems; j++)
            if (sel->items[j].e == sp->sl.items[i] && !sel->items[j].alias)
                sp->sl.names[i] = bd->win_names[x->col - PLAN_WIN_COL];
    }
    for (uint32_t i = 0; i < sp->nproj && bd->nwins; i++)
        plan_window_fix(sp->proj[i], sp->has_agg ? bd->ngroup + bd->naggs : sp->sc.n);

    sp->limit = -1;
    sp->offset = 0;
    if (qy->limit && const_int(bd, qy->limit, &sp->limit, "LIMIT", er) < 0) return -1;
    if (qy->offset) {
        if (const_int(bd, qy->offset, &sp->offset, "OFFSET", er) < 0) return -1;
        if (sp->offset < 0) sp->offset = 0;
    }
    return 0;
}

/* Step 3: the operators: FROM (scans and joins, WHERE placed in them) → aggregate → HAVING →
 * window → project → DISTINCT → sort → limit → the select items alone. */
static int select_build(struct select_plan *sp, plan_out *out, err *er) {
    const sql_query *qy = sp->qy;
    struct binder *bd = &sp->bd;
    qctx *q = sp->p->q;
    arena *a = q->a;
    uint32_t nitems = sp->sl.nitems, nproj = sp->nproj;
    bexpr **proj = sp->proj;
    op *root;
    if (plan_source(sp->p, sp->from, &sp->sc, sp->where, bd, proj, nproj, &root, er) < 0) return -1;
    if (sp->has_agg) {
        root = sp->ngsets ? plan_grouping_sets(q, root, bd, sp->gsets, sp->ngsets)
                          : op_agg(q, root, bd->group_bx, bd->ngroup, bd->aggs, bd->naggs);
        if (plan_gapfill(q, bd, sp->where, sp->ngsets > 0, proj, nproj, &sp->having, &root, er) < 0)
            goto fail;
        if (sp->having) root = op_filter(q, root, sp->having);
    }
    if (!sp->has_agg && plan_gapfill(q, bd, NULL, false, proj, nproj, &sp->having, &root, er) < 0)
        goto fail;
    if (bd->nwins) root = op_window(q, root, bd->wins, bd->nwins);
    root = op_project(q, root, proj, nproj);
    if (sp->sel->distinct) {
        bexpr **dk = arena_alloc(a, sizeof *dk * (nproj + 1));
        for (uint32_t i = 0; i < nproj; i++) dk[i] = bx_col(a, i, proj[i]->type, proj[i]->unit);
        root = op_agg(q, root, dk, nproj, NULL, 0);
    }
    if (qy->norder) {
        int64_t keep = -1; /* LIMIT 2^63-1 OFFSET 10 keeps everything, it does not wrap */
        if (sp->limit >= 0 && __builtin_add_overflow(sp->limit, sp->offset, &keep))
            keep = INT64_MAX;
        root = op_sort(q, root, sp->keys, qy->norder, keep);
    }
    if (sp->limit >= 0 || sp->offset > 0) root = op_limit(q, root, (uint64_t)sp->offset, sp->limit);
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
    out->names = sp->sl.names;
    return 0;
fail:
    root->close(root); /* the scans it opened */
    return -1;
}

int plan_select(const struct planner *p, const sql_select *sel, const sql_query *qy, plan_out *out,
                err *er) {
    static const sql_query no_order = {0};
    struct select_plan sp = {.p = p, .sel = sel, .qy = qy ? qy : &no_order};
    sp.bd = (struct binder){.p = p,
                            .s = p->s,
                            .q = p->q,
                            .a = p->a,
                            .in = &sp.sc,
                            .now_ns = time_now_ns(),
                            .named = sel->windows,
                            .nnamed = sel->nwindows};
    int rc = -1;
    if (select_from(&sp, er) == 0 && select_bind(&sp, er) == 0 && select_build(&sp, out, er) == 0)
        rc = 0;
    plan_from_release(sp.from);
    return rc;
}
