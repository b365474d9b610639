/* Correlated subqueries, decorrelated into joins of the outer query's FROM tree, as DataFusion
 * does (see plan_int.h). A subquery is correlated when its WHERE names a column that its own
 * FROM does not have and the outer query's does. Its WHERE conjuncts split into local ones
 * (only its own columns), which stay in it, and correlated ones, which become the condition of
 * a join between the outer rows and the subquery's rows:
 *
 *   WHERE [NOT] EXISTS (SELECT .. FROM s WHERE local AND corr)
 *       → outer SEMI (ANTI) JOIN (SELECT <s columns corr reads> FROM s WHERE local) ON corr
 *   WHERE x [NOT] IN (SELECT y FROM s WHERE local AND corr)
 *       → the same with x = y added to the condition; NOT IN adds (x = y) IS NOT FALSE, so a
 *         NULL on either side keeps the row out as SQL's NOT IN does
 *   (SELECT agg FROM s WHERE local AND s.k = outer.k ...)   (anywhere in WHERE or SELECT)
 *       → outer LEFT JOIN (SELECT s.k, agg FROM s WHERE local GROUP BY s.k) ON outer.k = s.k,
 *         the subquery replaced by the aggregate's column (count's NULL for no rows read as 0)
 *
 * EXISTS and IN must be conjuncts of WHERE (under OR or NOT they cannot become a join); a
 * scalar subquery must aggregate and correlate by equalities only. Anything else correlated is
 * refused with DataFusion's messages. Uncorrelated subqueries are left to plan_subquery.c. */
#include "sql/plan_int.h"

#include "sql/func.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ AST helpers */

static expr *ast_col(arena *a, const char *qual, const char *name, srcpos pos) {
    expr *e = arena_calloc(a, sizeof *e);
    e->kind = EX_COLUMN;
    e->qual = qual;
    e->name = name;
    e->pos = pos;
    e->height = 1;
    return e;
}

static expr *ast_bin(arena *a, uint8_t opc, expr *x, expr *y) {
    expr *e = arena_calloc(a, sizeof *e);
    e->kind = EX_BINARY;
    e->op = opc;
    e->pos = x->pos;
    e->args = arena_alloc(a, sizeof *e->args * 2);
    e->args[0] = x;
    e->args[1] = y;
    e->nargs = 2;
    e->height = (x->height > y->height ? x->height : y->height) + 1;
    return e;
}

static expr *ast_and(arena *a, expr **list, uint32_t n) {
    expr *acc = NULL;
    for (uint32_t i = 0; i < n; i++) acc = acc ? ast_bin(a, OP_AND, acc, list[i]) : list[i];
    return acc;
}

struct elist {
    expr **e;
    uint32_t n, cap;
};

static void elist_add(arena *a, struct elist *l, expr *e) {
    if (l->n == l->cap) {
        uint32_t nc = l->cap ? l->cap * 2 : 8;
        l->e = arena_realloc(a, l->e, sizeof *l->e * l->cap, sizeof *l->e * nc);
        l->cap = nc;
    }
    l->e[l->n++] = e;
}

static void split_and(arena *a, expr *e, struct elist *out) {
    if (e->kind == EX_BINARY && e->op == OP_AND) {
        split_and(a, e->args[0], out);
        split_and(a, e->args[1], out);
        return;
    }
    elist_add(a, out, e);
}

/* Calls f on every column reference of e, not entering nested subqueries' bodies. */
static void each_col(const expr *e, void (*f)(const expr *, void *), void *ctx) {
    if (!e) return;
    if (e->kind == EX_COLUMN) f(e, ctx);
    for (uint32_t i = 0; i < e->nargs; i++) each_col(e->args[i], f, ctx);
    each_col(e->operand, f, ctx);
    for (uint32_t i = 0; i < e->nwhen; i++) {
        each_col(e->when[i], f, ctx);
        each_col(e->then[i], f, ctx);
    }
    each_col(e->els, f, ctx);
}

/* A copy of e whose nodes are rewritten by f (which returns NULL to keep a node and descend). */
static expr *map_expr(arena *a, const expr *e, expr *(*f)(const expr *, void *), void *ctx) {
    if (!e) return NULL;
    expr *r = f(e, ctx);
    if (r) return r;
    r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->nargs) {
        r->args = arena_alloc(a, sizeof *r->args * e->nargs);
        for (uint32_t i = 0; i < e->nargs; i++) r->args[i] = map_expr(a, e->args[i], f, ctx);
    }
    r->operand = map_expr(a, e->operand, f, ctx);
    if (e->nwhen) {
        r->when = arena_alloc(a, sizeof *r->when * e->nwhen);
        r->then = arena_alloc(a, sizeof *r->then * e->nwhen);
        for (uint32_t i = 0; i < e->nwhen; i++) {
            r->when[i] = map_expr(a, e->when[i], f, ctx);
            r->then[i] = map_expr(a, e->then[i], f, ctx);
        }
    }
    r->els = map_expr(a, e->els, f, ctx);
    return r;
}

/* ------------------------------------------------------------------ analysis */

/* A subquery's parts, split by what its WHERE conjuncts read. */
struct sub {
    const sql_select *sel;
    struct rel *from;
    struct scope sc;
    struct elist local, corr;
    /* the subquery's own columns that corr reads, and the names they get in the join */
    const expr **inner;
    const char **inner_as;
    uint32_t ninner;
};

/* The columns of an expression by where they resolve: the subquery's own scope first (SQL's
 * rule), then the outer query's. */
struct col_check {
    const struct scope *in, *out;
    uint32_t n_in, n_out, n_unknown;
};

static void check_col(const expr *c, void *ctx) {
    struct col_check *k = ctx;
    uint32_t i;
    if (plan_scope_find(k->in, c, &i))
        k->n_in++;
    else if (plan_scope_find(k->out, c, &i))
        k->n_out++;
    else
        k->n_unknown++;
}

static struct col_check cols_of(const expr *e, const struct scope *in, const struct scope *out) {
    struct col_check k = {in, out, 0, 0, 0};
    each_col(e, check_col, &k);
    return k;
}

static bool reads_outer(const expr *e, const struct sub *s, const struct scope *outer) {
    return cols_of(e, &s->sc, outer).n_out > 0;
}

/* Plans the FROM of sub and sorts its WHERE conjuncts; *correlated when any reads the outer
 * scope. A subquery that is not a plain SELECT is never taken as correlated (its columns are
 * then bound, and refused, as usual). */
static int analyse(const struct planner *p, const sql_query *q, const struct scope *outer,
                   struct sub *s, bool *correlated, err *er) {
    arena *a = p->a;
    memset(s, 0, sizeof *s);
    *correlated = false;
    const sql_body *b = q->body;
    if (q->nctes || b->setop != SETOP_NONE || b->nested || b->values || !b->select) return 0;
    s->sel = b->select;
    if (!s->sel->where) return 0;
    if (plan_from(p, s->sel->from, &s->from, &s->sc, er) < 0) {
        plan_from_release(s->from);
        return -1;
    }
    struct elist all = {0};
    split_and(a, s->sel->where, &all);
    for (uint32_t i = 0; i < all.n; i++)
        elist_add(a, reads_outer(all.e[i], s, outer) ? &s->corr : &s->local, all.e[i]);
    plan_from_release(s->from);
    *correlated = s->corr.n > 0;
    if (!*correlated) return 0;
    if (q->limit || q->offset)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: LIMIT or OFFSET in a correlated "
                       "subquery");
    for (uint32_t i = 0; i < s->sel->nitems; i++)
        if (reads_outer(s->sel->items[i].e, s, outer))
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: a subquery whose select list reads "
                           "the outer query's columns");
    return 0;
}

struct inner_ctx {
    arena *a;
    struct sub *s;
    const char *alias;
};

/* An own column of the subquery, renamed to the join's column (added to s->inner). */
static expr *to_join_col(const expr *e, void *ctx) {
    struct inner_ctx *ic = ctx;
    struct sub *s = ic->s;
    if (e->kind == EX_SUBQUERY || e->kind == EX_EXISTS) return (expr *)e;
    if (e->kind != EX_COLUMN) return NULL;
    uint32_t i;
    if (!plan_scope_find(&s->sc, e, &i)) return (expr *)e; /* outer: kept */
    for (uint32_t k = 0; k < s->ninner; k++)
        if (!strcmp(s->inner[k]->name, e->name) &&
            (s->inner[k]->qual == e->qual ||
             (s->inner[k]->qual && e->qual && !strcmp(s->inner[k]->qual, e->qual))))
            return ast_col(ic->a, ic->alias, s->inner_as[k], e->pos);
    char nm[24];
    snprintf(nm, sizeof nm, "__c%u", s->ninner);
    s->inner = arena_realloc(ic->a, s->inner, sizeof *s->inner * s->ninner,
                             sizeof *s->inner * (s->ninner + 1));
    s->inner_as = arena_realloc(ic->a, s->inner_as, sizeof *s->inner_as * s->ninner,
                                sizeof *s->inner_as * (s->ninner + 1));
    s->inner[s->ninner] = e;
    s->inner_as[s->ninner] = arena_strdup(ic->a, nm);
    return ast_col(ic->a, ic->alias, s->inner_as[s->ninner++], e->pos);
}

/* SELECT items (named as) FROM the subquery's FROM WHERE its local conjuncts [GROUP BY]. */
static sql_query *derived(arena *a, const struct sub *s, expr **items, const char **as, uint32_t n,
                          expr **group, uint32_t ngroup) {
    sql_select *sel = arena_calloc(a, sizeof *sel);
    sel->items = arena_calloc(a, sizeof *sel->items * (n + 1));
    for (uint32_t i = 0; i < n; i++) {
        sel->items[i].e = items[i];
        sel->items[i].alias = as[i];
        sel->items[i].pos = items[i]->pos;
    }
    sel->nitems = n;
    sel->from = s->sel->from;
    sel->where = ast_and(a, s->local.e, s->local.n);
    sel->group_by = group;
    sel->ngroup = ngroup;
    sql_body *b = arena_calloc(a, sizeof *b);
    b->select = sel;
    sql_query *q = arena_calloc(a, sizeof *q);
    q->body = b;
    return q;
}

/* ------------------------------------------------------------------ the rewrites */

struct ctx {
    const struct planner *p;
    struct rel **root;
    struct scope *sc;
    uint32_t nsub;
    int rc;
    err *er;
};

static const char *next_alias(struct ctx *c) {
    char nm[24];
    snprintf(nm, sizeof nm, "__sq%u", ++c->nsub);
    return arena_strdup(c->p->a, nm);
}

/* WHERE [NOT] EXISTS / x [NOT] IN (correlated subquery): a semi or anti join. */
static int to_semi_join(struct ctx *c, const expr *e, const struct sub *s0) {
    arena *a = c->p->a;
    struct sub s = *s0;
    const char *alias = next_alias(c);
    struct inner_ctx ic = {a, &s, alias};
    struct elist on = {0};
    for (uint32_t i = 0; i < s.corr.n; i++)
        elist_add(a, &on, map_expr(a, s.corr.e[i], to_join_col, &ic));
    uint32_t nitems = s.ninner;
    expr **items = arena_alloc(a, sizeof *items * (nitems + 2));
    const char **as = arena_alloc(a, sizeof *as * (nitems + 2));
    for (uint32_t k = 0; k < s.ninner; k++) {
        items[k] = (expr *)s.inner[k];
        as[k] = s.inner_as[k];
    }
    if (e->kind == EX_IN_QUERY) {
        if (s.sel->nitems != 1 || s.sel->items[0].e->kind == EX_STAR)
            return plan_err(c->er, "InSubquery should only return one column, but found %u",
                            s.sel->nitems);
        items[nitems] = s.sel->items[0].e;
        as[nitems++] = "__in";
        expr *eq = ast_bin(a, OP_EQ, e->args[0], ast_col(a, alias, "__in", e->pos));
        if (e->negated) {
            /* NOT IN: a pair whose comparison is NULL also keeps the outer row out */
            expr *is = arena_calloc(a, sizeof *is);
            is->kind = EX_IS;
            is->op = OP_IS_FALSE;
            is->negated = true;
            is->pos = eq->pos;
            is->args = arena_alloc(a, sizeof *is->args);
            is->args[0] = eq;
            is->nargs = 1;
            is->height = eq->height + 1;
            eq = is;
        }
        elist_add(a, &on, eq);
    }
    if (nitems == 0) {
        items[0] = arena_calloc(a, sizeof(expr));
        items[0]->kind = EX_LITERAL;
        items[0]->lit = (value){.type = VT_BOOL, .v.b = true};
        items[0]->height = 1;
        as[nitems++] = "__one";
    }
    sql_query *d = derived(a, &s, items, as, nitems, NULL, 0);
    return plan_from_join_query(c->p, c->root, c->sc, d, alias, ast_and(a, on.e, on.n),
                                e->negated ? JT_ANTI : JT_SEMI, c->er);
}

static bool is_count(const expr *e) {
    int k = e->kind == EX_FUNC && !e->over ? agg_lookup(e->name) : 0;
    return k == AGG_COUNT || k == AGG_EXACT_COUNT;
}

static bool has_agg(const expr *e) {
    if (!e) return false;
    if (e->kind == EX_FUNC && !e->over && agg_lookup(e->name)) return true;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (has_agg(e->args[i])) return true;
    if (has_agg(e->operand) || has_agg(e->els)) return true;
    for (uint32_t i = 0; i < e->nwhen; i++)
        if (has_agg(e->when[i]) || has_agg(e->then[i])) return true;
    return false;
}

/* (correlated scalar subquery): a LEFT JOIN of the subquery grouped by its correlation keys;
 * *out reads its value. */
static int to_left_join(struct ctx *c, const expr *e, const struct sub *s, expr **out) {
    arena *a = c->p->a;
    if (s->sel->nitems != 1 || s->sel->ngroup || s->sel->group_kind)
        return plan_err(c->er, "Correlated scalar subquery must return one aggregated column");
    const expr *item = s->sel->items[0].e;
    if (!has_agg(item))
        return plan_err(c->er,
                        "Correlated scalar subquery must be aggregated to return at most one row");
    const char *alias = next_alias(c);
    uint32_t nk = s->corr.n;
    expr **items = arena_alloc(a, sizeof *items * (nk + 2));
    const char **as = arena_alloc(a, sizeof *as * (nk + 2));
    expr **group = arena_alloc(a, sizeof *group * (nk + 1));
    struct elist on = {0};
    for (uint32_t i = 0; i < nk; i++) {
        const expr *k = s->corr.e[i];
        /* inner_expr = outer_expr, in either order */
        int inner_side = -1;
        if (k->kind == EX_BINARY && k->op == OP_EQ)
            for (int side = 0; side < 2 && inner_side < 0; side++) {
                struct col_check in = cols_of(k->args[side], &s->sc, c->sc);
                struct col_check ou = cols_of(k->args[!side], &s->sc, c->sc);
                if (in.n_in && !in.n_out && !in.n_unknown && ou.n_out && !ou.n_in && !ou.n_unknown)
                    inner_side = side;
            }
        if (inner_side < 0)
            return err_set(c->er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: a correlated scalar subquery that "
                           "correlates other than by equality");
        char nm[24];
        snprintf(nm, sizeof nm, "__k%u", i);
        items[i] = group[i] = k->args[inner_side];
        as[i] = arena_strdup(a, nm);
        elist_add(a, &on,
                  ast_bin(a, OP_EQ, k->args[!inner_side], ast_col(a, alias, as[i], k->pos)));
    }
    items[nk] = (expr *)item;
    as[nk] = "__v";
    sql_query *d = derived(a, s, items, as, nk + 1, group, nk);
    if (plan_from_join_query(c->p, c->root, c->sc, d, alias, ast_and(a, on.e, on.n), JT_LEFT,
                             c->er) < 0)
        return -1;
    expr *v = ast_col(a, alias, "__v", e->pos);
    if (is_count(item)) {
        /* no row of the subquery for this outer row: count is 0, not NULL */
        expr *cs = arena_calloc(a, sizeof *cs);
        cs->kind = EX_FUNC;
        cs->name = "coalesce";
        cs->pos = e->pos;
        cs->args = arena_alloc(a, sizeof *cs->args * 2);
        cs->args[0] = v;
        cs->args[1] = arena_calloc(a, sizeof(expr));
        cs->args[1]->kind = EX_LITERAL;
        cs->args[1]->lit = (value){.type = VT_I64};
        cs->args[1]->text = "0";
        cs->args[1]->height = 1;
        cs->nargs = 2;
        cs->height = 2;
        v = cs;
    }
    *out = v;
    return 0;
}

static expr *scalar_rewrite(const expr *e, void *vctx) {
    struct ctx *c = vctx;
    if (c->rc < 0) return (expr *)e;
    if (e->kind == EX_EXISTS || e->kind == EX_IN_QUERY) return (expr *)e; /* not here */
    if (e->kind != EX_SUBQUERY) return NULL;
    struct sub s;
    bool correlated;
    if (analyse(c->p, e->sub, c->sc, &s, &correlated, c->er) < 0) {
        c->rc = -1;
        return (expr *)e;
    }
    if (!correlated) return (expr *)e;
    expr *out = NULL;
    if (to_left_join(c, e, &s, &out) < 0) {
        c->rc = -1;
        return (expr *)e;
    }
    return out;
}

int plan_decorrelate(const struct planner *p, struct rel **root, struct scope *sc,
                     const expr **where, const expr **items, uint32_t nitems, err *er) {
    arena *a = p->a;
    struct ctx c = {p, root, sc, 0, 0, er};
    if (*where) {
        struct elist conj = {0}, keep = {0};
        split_and(a, (expr *)*where, &conj);
        for (uint32_t i = 0; i < conj.n; i++) {
            expr *e = conj.e[i];
            if (e->kind == EX_EXISTS || e->kind == EX_IN_QUERY) {
                struct sub s;
                bool correlated;
                if (analyse(p, e->sub, sc, &s, &correlated, er) < 0) return -1;
                if (correlated) {
                    if (to_semi_join(&c, e, &s) < 0) return -1;
                    continue;
                }
            }
            expr *r = map_expr(a, e, scalar_rewrite, &c);
            if (c.rc < 0) return -1;
            elist_add(a, &keep, r);
        }
        *where = ast_and(a, keep.e, keep.n);
    }
    for (uint32_t i = 0; i < nitems; i++) {
        items[i] = map_expr(a, items[i], scalar_rewrite, &c);
        if (c.rc < 0) return -1;
    }
    return 0;
}
