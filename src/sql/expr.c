/* Vectorized expression evaluation: see expr.h, and expr_int.h for how the kernels are split
 * between files. */
#include "sql/expr_int.h"

#include "sql/keyset.h"
#include "sql/pattern.h"
#include "util/membudget.h"
#include "util/timeutil.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizer builds check the NULL-slot invariant on every vector an expression produces or
 * reads, so a kernel that leaves a slot undefined is caught where it happens (by the tests and
 * the fuzzer), not when a later kernel trips over the garbage. Reading every byte of a NULL
 * row's string lets ASan flag a view of freed or wild memory. */
static void vec_check(const vec *v, uint32_t n, const bexpr *e) {
    if (v->type != VT_BOOL && !vtype_is_bytes(v->type)) return;
    volatile unsigned char sink = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool ok = true;
        if (v->type == VT_BOOL) {
            uint8_t raw;
            memcpy(&raw, &v->d.b[i], 1);
            ok = raw <= 1;
        } else {
            strv sv = v->d.s[i];
            ok = sv.p != NULL;
            if (ok && !vec_is_valid(v, i))
                for (uint32_t k = 0; k < sv.len; k++) sink ^= (unsigned char)sv.p[k];
        }
        if (!ok) {
            fprintf(stderr,
                    "BUG: expression kind %d (%s) left row %u (%s) of a %s vector undefined\n",
                    e->kind, e->fname ? e->fname : "-", i, vec_is_valid(v, i) ? "valid" : "NULL",
                    vtype_arrow_name(v->type, v->unit));
            abort();
        }
    }
    (void)sink;
}
#define VEC_CHECK(v, n, e) vec_check((v), (n), (e))
#else
#define VEC_CHECK(v, n, e) ((void)0)
#endif

bexpr *bx_new(arena *a, uint8_t kind, uint8_t type, uint32_t nargs) {
    bexpr *e = arena_calloc(a, sizeof *e);
    e->kind = kind;
    e->type = type;
    e->nargs = nargs;
    if (nargs) e->args = arena_calloc(a, sizeof *e->args * nargs);
    return e;
}

bexpr *bx_const(arena *a, value v) {
    bexpr *e = bx_new(a, BX_CONST, v.type, 0);
    e->unit = v.unit;
    e->cval = v;
    return e;
}

bexpr *bx_col(arena *a, uint32_t col, uint8_t type, uint8_t unit) {
    bexpr *e = bx_new(a, BX_COL, type, 0);
    e->col = col;
    e->unit = unit;
    return e;
}

bool bx_is_const(const bexpr *e) {
    if (e->kind == BX_CONST) return true;
    if (e->kind == BX_COL) return false;
    /* volatile: a new value per row */
    if (e->kind == BX_FUNC && e->fname &&
        (!strcmp(e->fname, "random") || !strcmp(e->fname, "uuid")))
        return false;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!bx_is_const(e->args[i])) return false;
    return e->kind != BX_FUNC || e->fn != NULL;
}

int bx_fold(arena *a, bexpr *e, value *out, err *er) {
    batch one = {0, 1, NULL};
    vec v;
    if (bexpr_eval(e, &one, a, &v, er) < 0) return -1;
    vec_get(&v, 0, out);
    out->type = e->type;
    out->unit = e->unit;
    return 0;
}

/* ------------------------------------------------------------------ null bitmaps */

uint8_t *expr_valid_and(arena *a, const vec *x, const vec *y, uint32_t n) {
    if (!x->valid && (!y || !y->valid)) return NULL;
    size_t nb = bitmap_bytes(n);
    uint8_t *v = arena_alloc(a, nb ? nb : 1);
    if (x->valid && y && y->valid) {
        for (size_t i = 0; i < nb; i++) v[i] = x->valid[i] & y->valid[i];
    } else {
        memcpy(v, x->valid ? x->valid : y->valid, nb);
    }
    return v;
}

/* ------------------------------------------------------------------ LIKE */

/* LIKE over every row: the pattern compiled at bind time when it is a constant (e->aux), else
 * once per row. The budget is checked every few rows: a LIKE over long strings is the kind of
 * per-row kernel that can outlast the query's timeout within one batch. */
static int eval_like(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                     err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = expr_valid_and(a, x, y, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.b[i] = false;
            continue;
        }
        if ((i & 255) == 255 && budget_check(arena_get_budget(a), er) < 0) return -1;
        const like_pat *pt = e->aux ? e->aux : like_compile(a, y->d.s[i], e->ilike);
        int m = like_match(pt, x->d.s[i], a, er);
        if (m < 0) return -1;
        out->d.b[i] = e->negated ? !m : m;
    }
    return 0;
}

/* x ~ pattern: compiled at bind time when the pattern is a constant, else per row. */
static int eval_regex(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                      err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = expr_valid_and(a, x, y, n);
    regex_run *run = regex_begin();
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        out->d.b[i] = false;
        if (!vec_is_valid(out, i)) continue;
        if ((i & 255) == 255 && (rc = budget_check(arena_get_budget(a), er)) < 0) break;
        const regex_pat *re = e->aux ? e->aux : regex_compile(a, y->d.s[i], e->ilike, er);
        int m = re ? regex_exec(run, re, x->d.s[i], er) : -1;
        if (m < 0)
            rc = -1;
        else
            out->d.b[i] = e->negated ? !m : m;
    }
    regex_end(run);
    return rc;
}

/* ------------------------------------------------------------------ IN sets */

/* A constant IN list, hashed once when the query is bound: probing costs the same for 3 items
 * or 100,000, and nothing is allocated per row or per series. */
struct in_set {
    keyset *set;
    bool has_null;
    bool empty; /* no values at all: a NaN is a value no key holds */
};

/* The hash key of a non-NULL value: its bytes, with -0.0 folded into 0.0; false for NaN, which
 * equals nothing (as in expr_values_equal). */
static bool value_key(const value *v, char tmp[16], const void **k, uint32_t *klen) {
    switch (v->type) {
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        *k = v->v.s.p;
        *klen = v->v.s.len;
        return true;
    case VT_BOOL:
        tmp[0] = v->v.b;
        *klen = 1;
        break;
    case VT_F64: {
        double d = v->v.f;
        if (isnan(d)) return false;
        if (d == 0) d = 0;
        memcpy(tmp, &d, 8);
        *klen = 8;
        break;
    }
    case VT_INTERVAL:
        memcpy(tmp, &v->v.iv, sizeof(interval));
        *klen = sizeof(interval);
        break;
    case VT_DEC128:
        memcpy(tmp, &v->v.dec, sizeof(dec128));
        *klen = sizeof(dec128);
        break;
    default:
        memcpy(tmp, &v->v.i, 8);
        *klen = 8;
    }
    *k = tmp;
    return true;
}

void bx_in_list_prepare(arena *a, bexpr *e) {
    for (uint32_t k = 1; k < e->nargs; k++)
        if (e->args[k]->kind != BX_CONST) return;
    struct in_set *s = arena_alloc(a, sizeof *s);
    s->set = keyset_new(a, e->nargs - 1);
    s->has_null = false;
    s->empty = e->nargs <= 1;
    for (uint32_t k = 1; k < e->nargs; k++) {
        const value *v = &e->args[k]->cval;
        char tmp[16];
        const void *key;
        uint32_t klen;
        bool ins;
        if (v->null || v->type == VT_NULL)
            s->has_null = true;
        else if (value_key(v, tmp, &key, &klen))
            keyset_upsert(s->set, key, klen, &ins);
    }
    e->aux = s;
}

bexpr *bx_in_values(arena *a, bexpr *x, const batch *b, uint32_t nb, bool negated) {
    bexpr *e = bx_new(a, BX_IN_LIST, VT_BOOL, 1);
    e->args[0] = x;
    e->negated = negated;
    struct in_set *s = arena_alloc(a, sizeof *s);
    uint32_t total = 0;
    for (uint32_t k = 0; k < nb; k++) total += b[k].nrows;
    s->set = keyset_new(a, total);
    s->has_null = false;
    s->empty = total == 0;
    for (uint32_t k = 0; k < nb; k++)
        for (uint32_t i = 0; i < b[k].nrows; i++) {
            value p;
            vec_get(&b[k].cols[0], i, &p);
            char tmp[16];
            const void *key;
            uint32_t klen;
            bool ins;
            if (p.null || p.type == VT_NULL)
                s->has_null = true;
            else if (value_key(&p, tmp, &key, &klen))
                keyset_upsert(s->set, key, klen, &ins);
        }
    e->aux = s;
    return e;
}

static int eval_in_set(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    const struct in_set *s = e->aux;
    vec x;
    if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
    uint32_t n = b->nrows;
    vec_alloc(a, VT_BOOL, 0, n, out);
    if (s->empty) {
        /* x IN (no rows) is false and x NOT IN (no rows) true, even for a NULL x */
        for (uint32_t i = 0; i < n; i++) out->d.b[i] = e->negated;
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        value p;
        vec_get(&x, i, &p);
        char tmp[16];
        const void *key;
        uint32_t klen;
        bool found =
            !p.null && value_key(&p, tmp, &key, &klen) && keyset_get(s->set, key, klen, NULL);
        if (p.null || (!found && s->has_null))
            vec_set_null(a, out, i);
        else
            out->d.b[i] = e->negated ? !found : found;
    }
    return 0;
}

static int eval_node(const bexpr *e, const batch *b, arena *a, vec *out, err *er);

int str_len_check(size_t len, err *er) {
    if (len <= UINT32_MAX) return 0;
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Execution error: a string of %zu bytes is longer than the 4 GiB a value may "
                   "hold",
                   len);
}

/* What a query may hold however busy the server is. */
#define QUERY_SERVER_ALLOWANCE (8u << 20)

/* budget_check without the clock: what an expression checks after each of its nodes. */
static int memory_check(const arena_budget *b, err *er) {
    if (!b) return 0;
    /* KILL QUERY (sql/queries.h) marks the query's root budget */
    if (atomic_load_explicit(&arena_budget_root(b)->killed, memory_order_relaxed))
        return err_set(er, 422, EC_QUERY_CANCELED, "The query has been canceled");
    /* a worker of a parallel query: stopped when another part failed, else the query's limits */
    if (arena_budget_cancelled(b))
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Query cancelled: another part of the parallel query failed");
    b = arena_budget_root(b);
    if (b->limit && b->held > b->limit)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the query needs more than its memory limit of %llu "
                       "bytes (query.query_memory_limit)",
                       (unsigned long long)b->limit);
    /* Past the server's budget a query may not grow beyond a small allowance, so the server
     * stays within its memory while small queries (SHOW, point lookups) still answer. */
    uint64_t server_limit = membudget_limit();
    if (b->server && server_limit && b->held > QUERY_SERVER_ALLOWANCE &&
        membudget_used() > server_limit)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the server's memory budget of %llu bytes "
                       "(memory.max_memory) is in use; retry later",
                       (unsigned long long)server_limit);
    return 0;
}

int budget_check(const arena_budget *b, err *er) {
    if (memory_check(b, er) < 0) return -1;
    if (!b) return 0;
    b = arena_budget_root(b);
    if (b->deadline_ns && time_mono_ns() > b->deadline_ns)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Query timeout: the query ran past its deadline (query.query_timeout)");
    return 0;
}

/* An operand of a node: memory is checked after every node (a long || chain grows with
 * each), the clock once per expression (bexpr_eval): reading it costs more than a node over a
 * few rows (a tag predicate runs once per series). */
static int eval_arg(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    if (eval_node(e, b, a, out, er) < 0) return -1;
    VEC_CHECK(out, b->nrows, e);
    return memory_check(arena_get_budget(a), er);
}

int bexpr_eval(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    if (eval_node(e, b, a, out, er) < 0) return -1;
    VEC_CHECK(out, b->nrows, e);
    return budget_check(arena_get_budget(a), er);
}

/* AND and OR in three-valued logic: FALSE AND NULL is FALSE, TRUE OR NULL is TRUE. */
static int eval_logic(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    vec x, y;
    if (eval_arg(e->args[0], b, a, &x, er) < 0) return -1;
    if (eval_arg(e->args[1], b, a, &y, er) < 0) return -1;
    vec_alloc(a, VT_BOOL, 0, n, out);
    bool is_and = e->kind == BX_AND;
    for (uint32_t i = 0; i < n; i++) {
        bool xv = vec_is_valid(&x, i), yv = vec_is_valid(&y, i);
        bool xb = xv && x.d.b[i], yb = yv && y.d.b[i];
        if (is_and) {
            if ((xv && !xb) || (yv && !yb))
                out->d.b[i] = false;
            else if (xv && yv)
                out->d.b[i] = true;
            else
                vec_set_null(a, out, i);
        } else {
            if (xb || yb)
                out->d.b[i] = true;
            else if (xv && yv)
                out->d.b[i] = false;
            else
                vec_set_null(a, out, i);
        }
    }
    return 0;
}

static int eval_is(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    vec x;
    if (eval_arg(e->args[0], b, a, &x, er) < 0) return -1;
    vec_alloc(a, VT_BOOL, 0, n, out);
    for (uint32_t i = 0; i < n; i++) {
        bool r;
        bool valid = x.type != VT_NULL && vec_is_valid(&x, i);
        if (e->kind == BX_IS_NULL)
            r = !valid;
        else if (e->op == OP_IS_TRUE)
            r = valid && x.d.b[i];
        else if (e->op == OP_IS_FALSE)
            r = valid && !x.d.b[i];
        else
            r = !valid; /* IS UNKNOWN */
        out->d.b[i] = e->negated ? !r : r;
    }
    return 0;
}

static int eval_distinct(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    vec x, y;
    if (eval_arg(e->args[0], b, a, &x, er) < 0) return -1;
    if (eval_arg(e->args[1], b, a, &y, er) < 0) return -1;
    vec_alloc(a, VT_BOOL, 0, n, out);
    for (uint32_t i = 0; i < n; i++) {
        value p, q;
        vec_get(&x, i, &p);
        vec_get(&y, i, &q);
        bool distinct = p.null != q.null || (!p.null && !expr_values_equal(&p, &q));
        out->d.b[i] = e->negated ? !distinct : distinct;
    }
    return 0;
}

/* x IN (items): a hashed set when every item is a constant, else each row against each
 * item; NULL when nothing matched and an item was NULL. */
static int eval_in_list(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    if (e->aux) return eval_in_set(e, b, a, out, er);
    vec x;
    if (eval_arg(e->args[0], b, a, &x, er) < 0) return -1;
    vec *items = arena_alloc(a, sizeof *items * e->nargs);
    for (uint32_t k = 1; k < e->nargs; k++)
        if (eval_arg(e->args[k], b, a, &items[k], er) < 0) return -1;
    vec_alloc(a, VT_BOOL, 0, n, out);
    for (uint32_t i = 0; i < n; i++) {
        /* n x items comparisons: a long list of non-constant items is a heavy kernel */
        if ((i & 255) == 255 && budget_check(arena_get_budget(a), er) < 0) return -1;
        value p;
        vec_get(&x, i, &p);
        if (p.null) {
            vec_set_null(a, out, i);
            continue;
        }
        bool found = false, saw_null = false;
        for (uint32_t k = 1; k < e->nargs && !found; k++) {
            value q;
            vec_get(&items[k], i, &q);
            if (q.null)
                saw_null = true;
            else if (expr_values_equal(&p, &q))
                found = true;
        }
        if (!found && saw_null)
            vec_set_null(a, out, i);
        else
            out->d.b[i] = e->negated ? !found : found;
    }
    return 0;
}

static int eval_case(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    /* Row-wise: evaluate all branches vectorized, then pick per row. */
    uint32_t k = 0;
    vec operand;
    if (e->case_has_operand && eval_arg(e->args[k++], b, a, &operand, er) < 0) return -1;
    uint32_t npairs = (e->nargs - k - (e->case_has_else ? 1 : 0)) / 2;
    vec *when = arena_alloc(a, sizeof *when * (npairs + 1));
    vec *then = arena_alloc(a, sizeof *then * (npairs + 1));
    for (uint32_t p = 0; p < npairs; p++) {
        if (eval_arg(e->args[k + 2 * p], b, a, &when[p], er) < 0) return -1;
        if (eval_arg(e->args[k + 2 * p + 1], b, a, &then[p], er) < 0) return -1;
    }
    vec els;
    bool has_else = e->case_has_else;
    if (has_else && eval_arg(e->args[e->nargs - 1], b, a, &els, er) < 0) return -1;
    vec_alloc(a, e->type, e->unit, n, out);
    size_t sz = vtype_size(e->type);
    for (uint32_t i = 0; i < n; i++) {
        const vec *src = NULL;
        for (uint32_t p = 0; p < npairs && !src; p++) {
            bool hit;
            if (e->case_has_operand) {
                value ov, wv;
                vec_get(&operand, i, &ov);
                vec_get(&when[p], i, &wv);
                hit = !ov.null && !wv.null && expr_values_equal(&ov, &wv);
            } else {
                hit = vec_is_valid(&when[p], i) && when[p].d.b[i];
            }
            if (hit) src = &then[p];
        }
        if (!src && has_else) src = &els;
        if (!src || src->type == VT_NULL || !vec_is_valid(src, i)) {
            vec_set_null(a, out, i);
            continue;
        }
        memcpy((char *)out->d.raw + sz * i, (const char *)src->d.raw + sz * i, sz);
    }
    return 0;
}

/* x || y: NULL where either side is. */
static int eval_concat(const vec *x, const vec *y, uint32_t n, arena *a, vec *out, err *er) {
    vec_alloc(a, VT_STR, 0, n, out);
    out->valid = expr_valid_and(a, x, y, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.s[i] = (strv){"", 0};
            continue;
        }
        strv p = x->d.s[i], q = y->d.s[i];
        if (str_len_check((size_t)p.len + q.len, er) < 0) return -1;
        char *m = arena_alloc(a, (size_t)p.len + q.len + 1);
        memcpy(m, p.p, p.len);
        memcpy(m + p.len, q.p, q.len);
        out->d.s[i] = (strv){m, p.len + q.len};
    }
    return 0;
}

static int eval_node(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    switch (e->kind) {
    case BX_CONST:
        vec_broadcast(a, &e->cval, n, out);
        out->has_tz = e->has_tz;
        return 0;
    case BX_COL:
        *out = b->cols[e->col];
        return 0;
    case BX_CAST: {
        vec in;
        if (eval_arg(e->args[0], b, a, &in, er) < 0) return -1;
        return expr_eval_cast(e, &in, n, a, out, er);
    }
    case BX_NOT:
    case BX_NEG: {
        vec in;
        if (eval_arg(e->args[0], b, a, &in, er) < 0) return -1;
        return expr_eval_unary(e, &in, n, a, out, er);
    }
    case BX_CMP:
        if (e->args[1]->kind == BX_CONST && !e->args[1]->cval.null && e->args[0]->kind != BX_CONST)
            return expr_eval_cmp_scalar(e, b, a, out, er);
        /* fall through */
    case BX_ARITH:
    case BX_LIKE:
    case BX_REGEX:
    case BX_CONCAT: {
        vec x, y;
        if (eval_arg(e->args[0], b, a, &x, er) < 0) return -1;
        if (eval_arg(e->args[1], b, a, &y, er) < 0) return -1;
        if (e->kind == BX_ARITH) return expr_eval_arith(e, &x, &y, n, a, out, er);
        if (e->kind == BX_CMP) return expr_eval_cmp(e, &x, &y, n, a, out, er);
        if (e->kind == BX_LIKE) return eval_like(e, &x, &y, n, a, out, er);
        if (e->kind == BX_REGEX) return eval_regex(e, &x, &y, n, a, out, er);
        return eval_concat(&x, &y, n, a, out, er);
    }
    case BX_AND:
    case BX_OR:
        return eval_logic(e, b, a, out, er);
    case BX_IS_NULL:
    case BX_IS_BOOL:
        return eval_is(e, b, a, out, er);
    case BX_DISTINCT_FROM:
        return eval_distinct(e, b, a, out, er);
    case BX_IN_LIST:
        return eval_in_list(e, b, a, out, er);
    case BX_CASE:
        return eval_case(e, b, a, out, er);
    case BX_FUNC: {
        vec *args = arena_alloc(a, sizeof *args * (e->nargs + 1));
        for (uint32_t k = 0; k < e->nargs; k++) {
            if (bx_scalar_const(e, k)) {
                args[k] = (vec){.type = e->args[k]->type, .unit = e->args[k]->unit};
                continue;
            }
            if (eval_arg(e->args[k], b, a, &args[k], er) < 0) return -1;
        }
        vec_alloc(a, e->type, e->unit, n, out);
        out->has_tz = e->has_tz;
        return e->fn(e, args, n, a, out, er);
    }
    }
    return err_set(er, 500, EC_INTERNAL, "unknown expression kind %d", e->kind);
}
