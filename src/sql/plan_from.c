/* The FROM clause: relations and joins, and where each condition runs (see plan_int.h).
 *
 * Every leaf's columns are laid side by side in one scope, so expressions above the FROM bind
 * against it as they would against one table. A condition is then placed as low in the tree as
 * SQL's semantics allow, because low is where it is cheap: a conjunct over one table goes into
 * that table's scan (where plan_table_scan turns it into a time range, a per-series tag
 * predicate or a row filter), a conjunct over both sides of an inner join becomes a join
 * condition (a hash key when it is an equality of one side with the other). A WHERE conjunct
 * cannot go below an outer join into the side that join fills with NULLs (it would remove the
 * NULL-filled rows it removes above, but keep the outer rows they came from); an ON conjunct
 * over the NULL-filled side alone can (it only decides which of those rows match).
 *
 * For the common time-series join, `a JOIN b ON a.host = b.host AND a.time = b.time WHERE
 * a.time > x`, the conjuncts over one key column of a leaf are copied to the column it is
 * joined with, so both scans read only the time range (and series) that can meet: a row of the
 * other side that fails the copy cannot equal a row that passes it. The copy goes only into a
 * side whose unmatched rows the join drops (either side of an inner join, the right of a left
 * join), so no outer row is lost. */
#include "sql/plan_int.h"

#include "sql/ext.h"
#include "sql/streams.h"
#include "sql/sysview.h"
#include "util/timeutil.h"

#include <string.h>

enum rel_kind { REL_TABLE = 1, REL_OP, REL_JOIN };

struct blist {
    bexpr **e;
    uint32_t n, cap;
};

struct rel {
    uint8_t kind;
    uint32_t off, n;   /* its columns in the FROM scope */
    meta_table *table; /* REL_TABLE */
    op *child;         /* REL_OP */
    bool ext;          /* REL_OP: an external table's scan, told which columns are read */
    uint8_t jt;        /* REL_JOIN: enum join_type (a cross join is JT_INNER without conds) */
    struct rel *l, *r;
    struct blist conds;   /* REL_JOIN: conditions of a pair (ON, WHERE over an inner join) */
    struct blist filters; /* conjuncts over this node's output (a leaf's go into its scan) */
    uint32_t norig;       /* filters placed before key ranges were copied: only these are copied */
};

static void blist_add(arena *a, struct blist *l, bexpr *e) {
    if (l->n == l->cap) {
        uint32_t nc = l->cap ? l->cap * 2 : 4;
        l->e = arena_realloc(a, l->e, sizeof *l->e * l->cap, sizeof *l->e * nc);
        l->cap = nc;
    }
    l->e[l->n++] = e;
}

static bexpr *blist_and(arena *a, const struct blist *l) {
    bexpr *acc = NULL;
    for (uint32_t i = 0; i < l->n; i++) plan_and_into(a, &acc, l->e[i]);
    return acc;
}

/* ------------------------------------------------------------------ column sets */

/* Whether every column e reads is in [off, off+n). */
static bool within(const bexpr *e, uint32_t off, uint32_t n) {
    if (e->kind == BX_COL) return e->col >= off && e->col < off + n;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!within(e->args[i], off, n)) return false;
    return true;
}

static bool within_rel(const bexpr *e, const struct rel *r) {
    return plan_has_cols(e) && within(e, r->off, r->n);
}

/* The only column e reads, or UINT32_MAX when it reads none or several. */
static uint32_t sole_col(const bexpr *e) {
    if (e->kind == BX_COL) return e->col;
    uint32_t c = UINT32_MAX;
    for (uint32_t i = 0; i < e->nargs; i++) {
        uint32_t k = sole_col(e->args[i]);
        if (k == UINT32_MAX) {
            if (plan_has_cols(e->args[i])) return UINT32_MAX;
            continue;
        }
        if (c != UINT32_MAX && c != k) return UINT32_MAX;
        c = k;
    }
    return c;
}

/* A map over the whole scope that shifts [off, off+n) down by off. */
static uint32_t *shift_map(arena *a, uint32_t total, uint32_t off, uint32_t n, int64_t by) {
    uint32_t *m = arena_alloc(a, sizeof *m * (total ? total : 1));
    for (uint32_t i = 0; i < total; i++)
        m[i] = (i >= off && i < off + n) ? (uint32_t)((int64_t)i + by) : UINT32_MAX;
    return m;
}

/* ------------------------------------------------------------------ the tree */

struct scope_buf {
    struct col_ref *cols;
    uint32_t n, cap;
};

static struct col_ref *scope_add(arena *a, struct scope_buf *sb) {
    if (sb->n == sb->cap) {
        uint32_t nc = sb->cap ? sb->cap * 2 : 16;
        sb->cols = arena_realloc(a, sb->cols, sizeof *sb->cols * sb->cap, sizeof *sb->cols * nc);
        sb->cap = nc;
    }
    struct col_ref *c = &sb->cols[sb->n++];
    memset(c, 0, sizeof *c);
    return c;
}

static const struct cte_env *cte_find(const struct cte_env *env, const char *name) {
    for (; env; env = env->next)
        if (!strcmp(env->cte->name, name)) return env;
    return NULL;
}

/* A leaf over a planned query: its columns named after the query's output, or after the
 * column list of a CTE or an alias. */
static int leaf_query(const struct planner *p, const sql_query *sub, const struct cte_env *env,
                      const char *qual, const char **names, uint32_t nnames, struct scope_buf *sb,
                      struct rel *r, err *er) {
    struct planner sp = *p;
    sp.ctes = env;
    plan_out po;
    if (plan_query_env(&sp, sub, &po, er) < 0) return -1;
    if (nnames > po.ncols)
        return plan_err(er, "Source table contains %u columns but only %u names given", po.ncols,
                        nnames);
    r->kind = REL_OP;
    r->child = po.root;
    r->off = sb->n;
    r->n = po.ncols;
    for (uint32_t i = 0; i < po.ncols; i++) {
        struct col_ref *c = scope_add(p->a, sb);
        c->qual = qual;
        c->name = i < nnames ? names[i] : po.names[i];
        c->type = po.root->types[i];
        c->unit = po.root->units[i];
        c->has_tz = po.root->has_tz[i];
        c->kind = 0xff;
    }
    return 0;
}

/* A leaf over an operator that is not a query: its columns named names[0..o->ncols), or after
 * the alias's column list. */
static int leaf_op(const struct planner *p, const sql_table_ref *tr, op *o,
                   const char *const *names, struct scope_buf *sb, struct rel *r, err *er) {
    if (tr->nalias_cols > o->ncols)
        return plan_err(er, "Source table contains %u columns but only %u names given", o->ncols,
                        tr->nalias_cols);
    r->kind = REL_OP;
    r->child = o;
    r->off = sb->n;
    r->n = o->ncols;
    const char *qual = tr->alias ? tr->alias : arena_strdup(p->a, tr->name);
    for (uint32_t i = 0; i < o->ncols; i++) {
        struct col_ref *c = scope_add(p->a, sb);
        c->qual = qual;
        c->name = i < tr->nalias_cols ? tr->alias_cols[i] : arena_strdup(p->a, names[i]);
        c->type = o->types[i];
        c->unit = o->units[i];
        c->kind = 0xff;
    }
    return 0;
}

/* An external table: a scan of its files (sql/ext.h) under the filters placed on it. */
static int leaf_external(const struct planner *p, const sql_table_ref *tr, meta_table *t,
                         struct scope_buf *sb, struct rel *r, err *er) {
    op *o;
    int rc = ext_table_scan(p->q, t, &o, er);
    if (rc == 0) {
        const char **names = arena_alloc(p->a, sizeof *names * (t->ncols + 1));
        for (uint32_t i = 0; i < t->ncols; i++) names[i] = t->cols[i].name;
        rc = leaf_op(p, tr, o, names, sb, r, er);
        r->ext = true;
    }
    meta_table_release(t);
    return rc;
}

/* A system view (sql/sysview.h): its rows, made now, under the filters placed on it. */
static int leaf_sysview(const struct planner *p, const sql_table_ref *tr, const char *schema,
                        struct scope_buf *sb, struct rel *r, err *er) {
    op *o;
    const char *const *names;
    if (sysview_open(p->s, p->q, schema, tr->name, &o, &names, er) < 0) return -1;
    return leaf_op(p, tr, o, names, sb, r, er);
}

/* Keeps a usage_schema table's rows of tenant: a condition on its tenant tag (none: no rows). */
static void own_usage_rows(arena *a, struct rel *r, const meta_table *t, const char *tenant) {
    int k = meta_table_col(t, "tenant", 6);
    bexpr *keep;
    if (k < 0 || t->cols[k].kind != CK_TAG) {
        keep = bx_const(a, (value){.type = VT_BOOL, .v.b = false});
    } else {
        keep = bx_new(a, BX_CMP, VT_BOOL, 2);
        keep->op = OP_EQ;
        keep->args[0] = bx_col(a, r->off + (uint32_t)k, VT_STR, 0);
        keep->args[1] = bx_const(
            a, (value){.type = VT_STR, .v.s = {arena_strdup(a, tenant), (uint32_t)strlen(tenant)}});
    }
    blist_add(a, &r->filters, keep);
}

static int leaf_table(const struct planner *p, const sql_table_ref *tr, struct scope_buf *sb,
                      struct rel *r, err *er) {
    sql_session *s = p->s;
    arena *a = p->a;
    if (!tr->db) {
        const struct cte_env *ce = cte_find(p->ctes, tr->name);
        if (ce) {
            const char *qual = tr->alias ? tr->alias : ce->cte->name;
            const char **names = tr->nalias_cols ? tr->alias_cols : ce->cte->cols;
            uint32_t nn = tr->nalias_cols ? tr->nalias_cols : ce->cte->ncols;
            return leaf_query(p, ce->cte->q, ce->env, qual, names, nn, sb, r, er);
        }
    }
    const char *db = tr->db ? tr->db : s->db;
    if (sysview_is_schema(db)) return leaf_sysview(p, tr, db, sb, r, er);
    /* usage_schema is the tenant cnosdb's (server/usage.h): every tenant reads its own rows of
     * it, and only administrators in cnosdb see all of them */
    bool usage = !strcmp(db, "usage_schema");
    bool usage_own = usage && !(s->is_admin && !strcmp(s->tenant, "cnosdb"));
    /* READ on each database a query reads (sql_dcl.c has the statement-level rules) */
    if (!usage && !s->is_admin && s->user &&
        catalog_require(s->cat, s->user, s->tenant, NEED_READ, db, er) < 0)
        return -1;
    meta_table *t = catalog_find_table(s->cat, usage ? "cnosdb" : s->tenant, db, tr->name, er);
    if (!t) return -1;
    if (meta_table_is_stream(t)) {
        /* a stream job's run reads its source's rows in the run's event-time range */
        const sql_query *q;
        int rc = sqlx_stream_query(s, t, &q, er);
        const char *qual = tr->alias ? tr->alias : arena_strdup(a, tr->name);
        const char **names = arena_alloc(a, sizeof *names * (t->ncols + 1));
        for (uint32_t i = 0; i < t->ncols; i++)
            names[i] = i < tr->nalias_cols ? tr->alias_cols[i] : arena_strdup(a, t->cols[i].name);
        uint32_t ncols = t->ncols;
        meta_table_release(t);
        if (rc < 0) return -1;
        return leaf_query(p, q, NULL, qual, names, ncols, sb, r, er);
    }
    if (t->ext) return leaf_external(p, tr, t, sb, r, er);
    r->kind = REL_TABLE;
    r->table = t;
    r->off = sb->n;
    r->n = t->ncols;
    if (tr->nalias_cols > t->ncols)
        return plan_err(er, "Source table contains %u columns but only %u names given", t->ncols,
                        tr->nalias_cols);
    const char *qual = tr->alias ? tr->alias : arena_strdup(a, tr->name);
    for (uint32_t i = 0; i < t->ncols; i++) {
        struct col_ref *c = scope_add(a, sb);
        c->qual = qual;
        c->name = i < tr->nalias_cols ? tr->alias_cols[i] : arena_strdup(a, t->cols[i].name);
        c->type = t->cols[i].type;
        c->unit = t->cols[i].kind == CK_TIME ? t->precision : 0;
        c->kind = t->cols[i].kind;
        c->col_id = t->cols[i].id;
    }
    if (usage_own) own_usage_rows(a, r, t, s->tenant);
    return 0;
}

/* WHERE semantics: c holds for every row of node's output. */
static void place_where(arena *a, struct rel *node, bexpr *c) {
    if (node->kind != REL_JOIN) {
        blist_add(a, &node->filters, c);
        return;
    }
    uint8_t jt = node->jt;
    bool left_kept = jt == JT_INNER || jt == JT_LEFT || jt == JT_SEMI || jt == JT_ANTI;
    bool right_kept = jt == JT_INNER || jt == JT_RIGHT;
    if (left_kept && within_rel(c, node->l))
        place_where(a, node->l, c);
    else if (right_kept && within_rel(c, node->r))
        place_where(a, node->r, c);
    else if (jt == JT_INNER && plan_has_cols(c))
        blist_add(a, &node->conds, c);
    else
        blist_add(a, &node->filters, c);
}

/* ON semantics: c decides which pairs of node match. */
static void place_on(arena *a, struct rel *node, bexpr *c) {
    uint8_t jt = node->jt;
    if (within_rel(c, node->r) && jt != JT_RIGHT && jt != JT_FULL)
        place_where(a, node->r, c);
    else if (within_rel(c, node->l) && (jt == JT_INNER || jt == JT_RIGHT))
        place_where(a, node->l, c);
    else
        blist_add(a, &node->conds, c);
}

/* The one visible column called name in [off, off+n), for USING; -1 with an error if none or
 * several. */
static int using_col(const struct scope_buf *sb, uint32_t off, uint32_t n, const char *name,
                     uint32_t *out, err *er) {
    int found = -1;
    for (uint32_t i = off; i < off + n; i++) {
        if (sb->cols[i].vis != CV_VISIBLE || strcmp(sb->cols[i].name, name)) continue;
        if (found >= 0) return plan_err(er, "Ambiguous reference to unqualified field %s", name);
        found = (int)i;
    }
    if (found < 0)
        return err_set(er, 422, EC_QUERY_INTERNAL, "Datafusion: Schema error: No field named %s.",
                       name);
    *out = (uint32_t)found;
    return 0;
}

static int join_type(const sql_table_ref *tr, uint8_t *jt, err *er) {
    switch (tr->join) {
    case JOIN_INNER:
    case JOIN_CROSS:
        *jt = JT_INNER;
        return 0;
    case JOIN_LEFT:
        *jt = JT_LEFT;
        return 0;
    case JOIN_RIGHT:
        *jt = JT_RIGHT;
        return 0;
    case JOIN_FULL:
        *jt = JT_FULL;
        return 0;
    case JOIN_LEFT_SEMI:
        *jt = JT_SEMI;
        return 0;
    case JOIN_LEFT_ANTI:
        *jt = JT_ANTI;
        return 0;
    default:
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: RIGHT SEMI and RIGHT ANTI joins");
    }
}

static int from_node(const struct planner *p, const sql_table_ref *tr, struct scope_buf *sb,
                     struct rel **out, err *er);

/* The conditions of a join: USING / NATURAL pairs and ON, bound against its two sides. */
static int join_conds(const struct planner *p, const sql_table_ref *tr, struct scope_buf *sb,
                      struct rel *j, err *er) {
    arena *a = p->a;
    struct scope sub = {sb->cols + j->off, j->n};
    struct binder bd = {.p = p, .s = p->s, .q = p->q, .a = a, .in = &sub, .now_ns = time_now_ns()};
    uint32_t *to_scope = shift_map(a, j->n, 0, j->n, j->off);
    const char **names = (const char **)tr->using_cols;
    uint32_t nnames = tr->nusing;
    if (tr->natural) {
        /* every visible name both sides have */
        names = arena_alloc(a, sizeof *names * (j->l->n + 1));
        nnames = 0;
        for (uint32_t i = j->l->off; i < j->l->off + j->l->n; i++) {
            if (sb->cols[i].vis != CV_VISIBLE) continue;
            for (uint32_t k = j->r->off; k < j->r->off + j->r->n; k++)
                if (sb->cols[k].vis == CV_VISIBLE && !strcmp(sb->cols[i].name, sb->cols[k].name)) {
                    names[nnames++] = sb->cols[i].name;
                    break;
                }
        }
    }
    for (uint32_t u = 0; u < nnames; u++) {
        uint32_t lc, rc;
        if (using_col(sb, j->l->off, j->l->n, names[u], &lc, er) < 0 ||
            using_col(sb, j->r->off, j->r->n, names[u], &rc, er) < 0)
            return -1;
        const struct col_ref *x = &sb->cols[lc], *y = &sb->cols[rc];
        bexpr *bx = bx_col(a, lc - j->off, x->type, x->unit),
              *by = bx_col(a, rc - j->off, y->type, y->unit);
        bexpr *eq;
        if (plan_bind_eq(&bd, bx, by, &eq, er) < 0) return -1;
        place_on(a, j, plan_remap(a, eq, to_scope));
    }
    for (uint32_t u = 0; u < nnames; u++) {
        uint32_t rc;
        if (using_col(sb, j->r->off, j->r->n, names[u], &rc, er) < 0) return -1;
        sb->cols[rc].vis = CV_USING_RIGHT;
    }
    if (tr->on) {
        bexpr *on;
        bd.lazy_types = true; /* ON is a filter: not typed while the plan is built */
        if (plan_bind(&bd, tr->on, &on, er) < 0) return -1;
        if (bx_cast(a, &on, VT_BOOL, 0, er) < 0) return -1;
        on = plan_remap(a, on, to_scope);
        bexpr **conj = NULL;
        uint32_t nconj = 0, cap = 0;
        plan_split_and(a, on, &conj, &nconj, &cap);
        for (uint32_t i = 0; i < nconj; i++) place_on(a, j, conj[i]);
    }
    if (j->jt == JT_SEMI || j->jt == JT_ANTI)
        for (uint32_t i = j->r->off; i < j->r->off + j->r->n; i++) sb->cols[i].vis = CV_GONE;
    return 0;
}

static int from_node(const struct planner *p, const sql_table_ref *tr, struct scope_buf *sb,
                     struct rel **out, err *er) {
    arena *a = p->a;
    struct rel *r = arena_calloc(a, sizeof *r);
    *out = r;
    switch (tr->kind) {
    case TR_TABLE:
        return leaf_table(p, tr, sb, r, er);
    case TR_SUBQUERY:
        return leaf_query(p, tr->sub, p->ctes, tr->alias, tr->alias_cols, tr->nalias_cols, sb, r,
                          er);
    case TR_JOIN:
        r->kind = REL_JOIN;
        if (join_type(tr, &r->jt, er) < 0) return -1;
        if (from_node(p, tr->left, sb, &r->l, er) < 0) return -1;
        if (from_node(p, tr->right, sb, &r->r, er) < 0) return -1;
        r->off = r->l->off;
        r->n = r->l->n + r->r->n;
        return join_conds(p, tr, sb, r, er);
    default:
        return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: table functions");
    }
}

int plan_from(const struct planner *p, const sql_table_ref *tr, struct rel **root, struct scope *sc,
              err *er) {
    arena *a = p->a;
    struct scope_buf sb = {0};
    if (!tr) {
        /* No FROM: one row without columns. */
        struct rel *r = arena_calloc(a, sizeof *r);
        batch *b = arena_calloc(a, sizeof *b);
        b->nrows = 1;
        r->kind = REL_OP;
        r->child = op_values(p->q, 0, NULL, NULL, b, 1);
        *root = r;
        sc->cols = NULL;
        sc->n = 0;
        return 0;
    }
    int rc = from_node(p, tr, &sb, root, er);
    sc->cols = sb.cols;
    sc->n = sb.n;
    return rc;
}

int plan_from_join_query(const struct planner *p, struct rel **root, struct scope *sc,
                         const sql_query *sub, const char *alias, const expr *on, uint8_t jt,
                         err *er) {
    arena *a = p->a;
    struct scope_buf sb = {sc->cols, sc->n, sc->n};
    struct rel *leaf = arena_calloc(a, sizeof *leaf);
    if (leaf_query(p, sub, p->ctes, alias, NULL, 0, &sb, leaf, er) < 0) return -1;
    struct rel *j = arena_calloc(a, sizeof *j);
    j->kind = REL_JOIN;
    j->jt = jt;
    j->l = *root;
    j->r = leaf;
    j->off = 0;
    j->n = sb.n;
    *root = j;
    sc->cols = sb.cols;
    sc->n = sb.n;
    struct binder bd = {.p = p, .s = p->s, .q = p->q, .a = a, .in = sc, .now_ns = time_now_ns()};
    bexpr *cond;
    bd.lazy_types = true;
    if (plan_bind(&bd, on, &cond, er) < 0 || bx_cast(a, &cond, VT_BOOL, 0, er) < 0) return -1;
    bexpr **conj = NULL;
    uint32_t nconj = 0, cap = 0;
    plan_split_and(a, cond, &conj, &nconj, &cap);
    for (uint32_t i = 0; i < nconj; i++) place_on(a, j, conj[i]);
    if (jt == JT_SEMI || jt == JT_ANTI)
        for (uint32_t i = leaf->off; i < leaf->off + leaf->n; i++) sc->cols[i].vis = CV_GONE;
    return 0;
}

void plan_from_release(struct rel *r) {
    if (!r) return;
    if (r->kind == REL_TABLE && r->table) {
        meta_table_release(r->table);
        r->table = NULL;
    }
    /* a planned subquery the operator tree never took (planning failed after FROM): its
     * scans are open */
    if (r->kind == REL_OP && r->child) {
        r->child->close(r->child);
        r->child = NULL;
    }
    if (r->kind == REL_JOIN) {
        plan_from_release(r->l);
        plan_from_release(r->r);
    }
}

/* ------------------------------------------------------------------ WHERE */

static struct rel *leaf_of(struct rel *r, uint32_t col) {
    while (r->kind == REL_JOIN) r = col < r->r->off ? r->l : r->r;
    return r;
}

static void mark_orig(struct rel *r) {
    r->norig = r->filters.n;
    if (r->kind == REL_JOIN) {
        mark_orig(r->l);
        mark_orig(r->r);
    }
}

/* Copies the one-column conjuncts of each join key's leaf to the column it equals (see the
 * header note for when that is sound). */
static void infer_key_ranges(arena *a, struct rel *root, struct rel *j, uint32_t total) {
    if (j->kind != REL_JOIN) return;
    infer_key_ranges(a, root, j->l, total);
    infer_key_ranges(a, root, j->r, total);
    if (j->jt != JT_INNER && j->jt != JT_LEFT && j->jt != JT_RIGHT) return;
    uint32_t nconds = j->conds.n;
    for (uint32_t i = 0; i < nconds; i++) {
        const bexpr *c = j->conds.e[i];
        if (c->kind != BX_CMP || c->op != OP_EQ) continue;
        const bexpr *x = c->args[0], *y = c->args[1];
        if (x->kind != BX_COL || y->kind != BX_COL || x->type != y->type || x->unit != y->unit)
            continue;
        if (!within_rel(x, j->l)) {
            const bexpr *t = x;
            x = y;
            y = t;
        }
        if (!within_rel(x, j->l) || !within_rel(y, j->r)) continue;
        /* x is on the left, y on the right; copy towards a side whose unmatched rows go */
        for (int dir = 0; dir < 2; dir++) {
            const bexpr *from = dir ? y : x, *to = dir ? x : y;
            bool to_right = dir == 0;
            if (j->jt == JT_LEFT && !to_right) continue;
            if (j->jt == JT_RIGHT && to_right) continue;
            struct rel *src = leaf_of(root, from->col), *dst = leaf_of(root, to->col);
            uint32_t nf = src->norig;
            for (uint32_t k = 0; k < nf; k++) {
                bexpr *f = src->filters.e[k];
                if (sole_col(f) != from->col) continue;
                uint32_t *m = shift_map(a, total, 0, total, 0);
                m[from->col] = to->col;
                blist_add(a, &dst->filters, plan_remap(a, f, m));
            }
        }
    }
}

void plan_from_where(arena *a, struct rel *root, bexpr *where) {
    if (where) {
        bexpr **conj = NULL;
        uint32_t nconj = 0, cap = 0;
        plan_split_and(a, where, &conj, &nconj, &cap);
        for (uint32_t i = 0; i < nconj; i++) {
            if (plan_has_cols(conj[i]))
                place_where(a, root, conj[i]);
            else
                blist_add(a, &root->filters, conj[i]);
        }
    }
    uint32_t total = root->off + root->n;
    mark_orig(root);
    infer_key_ranges(a, root, root, total);
}

/* ------------------------------------------------------------------ operators */

struct build_ctx {
    const struct planner *p;
    const struct scope *sc;
    bool *used;
    uint32_t *map; /* scope column → position in the output of the node that holds it */
};

static void mark_tree(const struct rel *r, bool *used) {
    if (r->kind != REL_JOIN) return;
    for (uint32_t i = 0; i < r->conds.n; i++) plan_mark_cols(r->conds.e[i], used);
    for (uint32_t i = 0; i < r->filters.n; i++) plan_mark_cols(r->filters.e[i], used);
    mark_tree(r->l, used);
    mark_tree(r->r, used);
}

/* An equality of one side with the other: its two halves, each over one side. */
static bool key_pair(const bexpr *c, const struct rel *j, bexpr **lk, bexpr **rk) {
    if (c->kind != BX_CMP || c->op != OP_EQ) return false;
    bexpr *x = c->args[0], *y = c->args[1];
    if (within_rel(x, j->l) && within_rel(y, j->r)) {
        *lk = x;
        *rk = y;
        return true;
    }
    if (within_rel(y, j->l) && within_rel(x, j->r)) {
        *lk = y;
        *rk = x;
        return true;
    }
    return false;
}

static int build(struct build_ctx *bc, struct rel *r, op **out, err *er) {
    const struct planner *p = bc->p;
    arena *a = p->a;
    uint32_t total = bc->sc->n;
    op *o;
    if (r->kind == REL_TABLE) {
        uint32_t *to_local = shift_map(a, total, r->off, r->n, -(int64_t)r->off);
        bexpr *where = blist_and(a, &r->filters);
        if (where) where = plan_remap(a, where, to_local);
        struct scope ls = {bc->sc->cols + r->off, r->n};
        const uint32_t *lmap;
        if (plan_table_scan(p->s, p->q, r->table, &ls, where, bc->used + r->off, &o, &lmap, er) < 0)
            return -1;
        for (uint32_t i = 0; i < r->n; i++) bc->map[r->off + i] = lmap[i];
        *out = o;
        return 0;
    }
    if (r->kind == REL_OP) {
        for (uint32_t i = 0; i < r->n; i++) bc->map[r->off + i] = i;
        o = r->child;
        r->child = NULL; /* the operator tree owns it now */
        if (r->ext) {
            /* what the query reads of it, and what its own filters read (a leaf's filters are
             * not in used: a table scan takes them itself) */
            bool *need = arena_alloc(a, bc->sc->n + 1);
            memcpy(need, bc->used, bc->sc->n);
            for (uint32_t i = 0; i < r->filters.n; i++) plan_mark_cols(r->filters.e[i], need);
            op_ext_scan_need(o, need + r->off);
        }
        bexpr *f = blist_and(a, &r->filters);
        if (f) o = op_filter(p->q, o, plan_remap(a, f, bc->map));
        *out = o;
        return 0;
    }
    op *lo, *ro;
    if (build(bc, r->l, &lo, er) < 0) return -1;
    if (build(bc, r->r, &ro, er) < 0) {
        lo->close(lo);
        return -1;
    }
    join_spec js = {.type = r->jt};
    js.lkeys = arena_alloc(a, sizeof *js.lkeys * (r->conds.n + 1));
    js.rkeys = arena_alloc(a, sizeof *js.rkeys * (r->conds.n + 1));
    struct blist rest = {0};
    for (uint32_t i = 0; i < r->conds.n; i++) {
        bexpr *lk, *rk;
        if (key_pair(r->conds.e[i], r, &lk, &rk)) {
            /* each side's key over that side's own output */
            js.lkeys[js.nkeys] = plan_remap(a, lk, bc->map);
            js.rkeys[js.nkeys++] = plan_remap(a, rk, bc->map);
        } else {
            blist_add(a, &rest, r->conds.e[i]);
        }
    }
    for (uint32_t i = r->r->off; i < r->r->off + r->r->n; i++)
        if (bc->map[i] != UINT32_MAX) bc->map[i] += lo->ncols;
    bexpr *f = blist_and(a, &rest);
    if (f) js.filter = plan_remap(a, f, bc->map);
    o = op_join(p->q, lo, ro, &js);
    if (r->jt == JT_SEMI || r->jt == JT_ANTI)
        for (uint32_t i = r->r->off; i < r->r->off + r->r->n; i++) bc->map[i] = UINT32_MAX;
    bexpr *post = blist_and(a, &r->filters);
    if (post) o = op_filter(p->q, o, plan_remap(a, post, bc->map));
    *out = o;
    return 0;
}

int plan_from_build(const struct planner *p, struct rel *root, const struct scope *sc, bool *used,
                    op **out, const uint32_t **map, err *er) {
    mark_tree(root, used);
    struct build_ctx bc = {p, sc, used, arena_alloc(p->a, sizeof(uint32_t) * (sc->n + 1))};
    for (uint32_t i = 0; i < sc->n; i++) bc.map[i] = UINT32_MAX;
    if (build(&bc, root, out, er) < 0) return -1;
    *map = bc.map;
    return 0;
}
