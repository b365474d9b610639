/* Window functions: the operator holds its whole input, and for each window function sorts
 * the rows by (partition keys, order keys), walks the partitions and writes one result per row.
 * See ops.h.
 *
 * Per partition, the rows' peer groups (runs of equal order keys) are found once; the ranking
 * functions read them directly, lag/lead read positions. Functions over a frame find each
 * row's frame [fs, fe) in the partition's sorted positions: by row counts (ROWS), by peer
 * groups (GROUPS) or by binary search over the order key (RANGE with an offset).
 *
 * Aggregates over frames avoid the quadratic recomputation where the frame only grows: when
 * every frame starts at the partition's first row (the default frame with ORDER BY, and every
 * UNBOUNDED PRECEDING frame) the aggregate state is extended row by row and read after each;
 * when every frame ends at the partition's last row, the same runs backwards. Other frames
 * (n PRECEDING to m FOLLOWING) are recomputed per row, which costs the frame's width per row.
 *
 * The output is the input's columns then one per window function, in the order of the last
 * window's sort (as DataFusion's window operator emits them). Memory: the input, the key and
 * result vectors, in an arena of the operator's own under the query's budget. */
#include "sql/func.h"
#include "sql/ops_int.h"

#include <string.h>

#define OUT_BATCH 4096

struct window_op {
    op o;
    op *child;
    win_spec *w;
    uint32_t nw;
    bool done;
    arena *da;
    struct colbuf data;
    vec *res;
    uint32_t *perm; /* output order */
    uint32_t pos;
};

/* One partition's rows in sorted order, and what the functions read of them. */
struct part {
    const uint32_t *rows; /* data row of each position */
    uint32_t m;           /* positions */
    uint32_t base;        /* position of the partition's first row in the window's sort */
    uint32_t *pg_start, *pg_end, *gi; /* per position: its peer group's bounds and index */
    uint32_t *gstart, *gend;          /* per peer group: its bounds */
    uint32_t ngroups;
};

static void copy_cell(vec *dst, uint32_t di, const vec *src, uint32_t si, arena *a) {
    if (src->type == VT_NULL || !vec_is_valid(src, si)) {
        vec_set_null(a, dst, di);
        return;
    }
    size_t sz = vtype_size(dst->type);
    memcpy((char *)dst->d.raw + sz * di, (const char *)src->d.raw + sz * si, sz);
}

/* ------------------------------------------------------------------ frames */

/* The order key as a number on which offsets are taken (RANGE frames): integer keys (signed,
 * unsigned, times) in 128 bits, so a key near either end plus an offset neither wraps nor
 * saturates onto another key's value. */
static bool key_num(const vec *k, uint32_t row, __int128 *i, double *f) {
    if (!vec_is_valid(k, row)) return false;
    if (k->type == VT_F64)
        *f = k->d.f64[row];
    else if (k->type == VT_U64)
        *i = k->d.u64[row];
    else
        *i = k->d.i64[row];
    return true;
}

static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* First position in [lo, hi) whose key is past (after == true) or at-or-past the target, in
 * the sort's direction. */
static uint32_t range_search(const struct part *p, const vec *k, bool desc, bool after, uint32_t lo,
                             uint32_t hi, __int128 ti, double tf) {
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        __int128 vi = 0;
        double vf = 0;
        key_num(k, p->rows[mid], &vi, &vf);
        int c = k->type == VT_F64 ? (vf > tf) - (vf < tf) : (vi > ti) - (vi < ti);
        if (desc) c = -c;
        bool before = after ? c <= 0 : c < 0;
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The bounds of RANGE offsets: positions of the partition holding non-NULL keys. */
static void nonnull_span(const struct part *p, const vec *k, uint32_t *s, uint32_t *e) {
    uint32_t a = 0, b = p->m;
    while (a < b && !vec_is_valid(k, p->rows[a])) a++;
    while (b > a && !vec_is_valid(k, p->rows[b - 1])) b--;
    *s = a;
    *e = b;
}

static uint32_t group_bound(const struct part *p, int64_t g, bool end) {
    if (g < 0) return 0;
    if (g >= (int64_t)p->ngroups) return p->m;
    return end ? p->gend[g] : p->gstart[g];
}

static void frame_of(const win_spec *w, const struct part *p, const vec *key, uint32_t i,
                     uint32_t *fs, uint32_t *fe) {
    int64_t m = p->m;
    int64_t s = 0, e = m;
    bool desc = w->norder && w->order[0].desc;
    for (int side = 0; side < 2; side++) {
        uint8_t kind = side ? w->end : w->start;
        bool prec = side ? w->end_preceding : w->start_preceding;
        int64_t off = side ? w->end_off : w->start_off;
        double offf = side ? w->end_offf : w->start_offf;
        int64_t *out = side ? &e : &s;
        if (kind == FRB_UNBOUNDED) {
            *out = side ? m : 0;
            continue;
        }
        if (kind == FRB_CURRENT && w->units == FRAME_ROWS) {
            *out = side ? (int64_t)i + 1 : (int64_t)i;
            continue;
        }
        if (kind == FRB_CURRENT) {
            *out = side ? p->pg_end[i] : p->pg_start[i];
            continue;
        }
        if (w->units == FRAME_ROWS) {
            int64_t at = prec ? (int64_t)i - off : sat_add((int64_t)i, off);
            if (side) at = sat_add(at, 1);
            *out = at < 0 ? 0 : at > m ? m : at;
        } else if (w->units == FRAME_GROUPS) {
            int64_t g = prec ? (int64_t)p->gi[i] - off : sat_add((int64_t)p->gi[i], off);
            *out = group_bound(p, g, side);
        } else {
            __int128 vi = 0;
            double vf = 0;
            if (!key_num(key, p->rows[i], &vi, &vf)) {
                /* a NULL key's frame is its peers, the other NULLs */
                *out = side ? p->pg_end[i] : p->pg_start[i];
                continue;
            }
            /* preceding = towards the partition's start: smaller keys ascending */
            bool minus = prec != desc;
            __int128 ti = minus ? vi - off : vi + off;
            double tf = minus ? vf - offf : vf + offf;
            uint32_t lo, hi;
            nonnull_span(p, key, &lo, &hi);
            *out = range_search(p, key, desc, side == 1, lo, hi, ti, tf);
        }
    }
    if (e < s) e = s;
    *fs = (uint32_t)s;
    *fe = (uint32_t)e;
}

/* ------------------------------------------------------------------ functions */

/* An aggregate over each row's frame; xs/ys are its arguments in sort order. */
static void agg_frames(struct window_op *wo, const win_spec *w, const struct part *p,
                       const vec *key, const vec *xs, const vec *ys, vec *res) {
    arena *a = wo->da;
    uint32_t m = p->m;
    struct agg_state st;
    memset(&st, 0, sizeof st);
    if (w->start == FRB_UNBOUNDED || w->end == FRB_UNBOUNDED) {
        bool fwd = w->start == FRB_UNBOUNDED;
        uint32_t added_lo = fwd ? 0 : m, added_hi = fwd ? 0 : m;
        for (uint32_t k = 0; k < m; k++) {
            uint32_t i = fwd ? k : m - 1 - k, fs, fe;
            frame_of(w, p, key, i, &fs, &fe);
            if (fwd && fe > added_hi) {
                agg_state_update_range(a, &w->agg, &st, xs, ys, p->base + added_hi, p->base + fe);
                added_hi = fe;
            } else if (!fwd && fs < added_lo) {
                agg_state_update_range(a, &w->agg, &st, xs, ys, p->base + fs, p->base + added_lo);
                added_lo = fs;
            }
            agg_state_final(&w->agg, &st, res, p->rows[i], a);
        }
        return;
    }
    arena *scratch = q_scratch(wo->o.q);
    for (uint32_t i = 0; i < m; i++) {
        uint32_t fs, fe;
        frame_of(w, p, key, i, &fs, &fe);
        arena_reset(scratch);
        memset(&st, 0, sizeof st);
        if (fs < fe)
            agg_state_update_range(scratch, &w->agg, &st, xs, ys, p->base + fs, p->base + fe);
        uint32_t r = p->rows[i];
        agg_state_final(&w->agg, &st, res, r, scratch);
        if (vtype_is_bytes(res->type) && vec_is_valid(res, r))
            res->d.s[r].p = arena_strndup(a, res->d.s[r].p, res->d.s[r].len);
    }
}

static void eval_part(struct window_op *wo, const win_spec *w, const struct part *p, const vec *key,
                      const vec *args, const vec *xs, const vec *ys, vec *res) {
    arena *a = wo->da;
    uint32_t m = p->m;
    for (uint32_t i = 0; i < m && w->fn != WF_AGG; i++) {
        uint32_t r = p->rows[i];
        switch (w->fn) {
        case WF_ROW_NUMBER:
            res->d.u64[r] = i + 1;
            break;
        case WF_RANK:
            res->d.u64[r] = p->pg_start[i] + 1;
            break;
        case WF_DENSE_RANK:
            res->d.u64[r] = p->gi[i] + 1;
            break;
        case WF_PERCENT_RANK:
            res->d.f64[r] = m > 1 ? (double)p->pg_start[i] / (double)(m - 1) : 0.0;
            break;
        case WF_CUME_DIST:
            res->d.f64[r] = (double)p->pg_end[i] / (double)m;
            break;
        case WF_NTILE:
            res->d.u64[r] = (uint64_t)((unsigned __int128)i * (uint64_t)w->n / m) + 1;
            break;
        case WF_LAG:
        case WF_LEAD: {
            /* an offset of any size, INT64_MIN included, only moves out of the partition */
            __int128 src = w->fn == WF_LAG ? (__int128)i - w->n : (__int128)i + w->n;
            if (src >= 0 && src < (__int128)m)
                copy_cell(res, r, &args[0], p->rows[(uint32_t)src], a);
            else if (w->nargs > 2)
                copy_cell(res, r, &args[2], r, a);
            else
                vec_set_null(a, res, r);
            break;
        }
        default: { /* first_value, last_value, nth_value */
            uint32_t fs, fe;
            frame_of(w, p, key, i, &fs, &fe);
            __int128 at = w->fn == WF_FIRST_VALUE  ? (__int128)fs
                          : w->fn == WF_LAST_VALUE ? (__int128)fe - 1
                                                   : (__int128)fs + w->n - 1;
            if (fs < fe && at >= fs && at < fe)
                copy_cell(res, r, &args[0], p->rows[(uint32_t)at], a);
            else
                vec_set_null(a, res, r);
        }
        }
    }
    if (w->fn == WF_AGG) agg_frames(wo, w, p, key, xs, ys, res);
}

/* Peer groups of a partition's positions. */
static void peers(arena *a, struct part *p, const struct row_order *order) {
    uint32_t m = p->m;
    p->pg_start = arena_alloc(a, sizeof(uint32_t) * (m + 1));
    p->pg_end = arena_alloc(a, sizeof(uint32_t) * (m + 1));
    p->gi = arena_alloc(a, sizeof(uint32_t) * (m + 1));
    p->gstart = arena_alloc(a, sizeof(uint32_t) * (m + 1));
    p->gend = arena_alloc(a, sizeof(uint32_t) * (m + 1));
    p->ngroups = 0;
    for (uint32_t i = 0; i < m;) {
        uint32_t j = i + 1;
        while (j < m && rows_cmp(order, p->rows[i], p->rows[j]) == 0) j++;
        for (uint32_t k = i; k < j; k++) {
            p->pg_start[k] = i;
            p->pg_end[k] = j;
            p->gi[k] = p->ngroups;
        }
        p->gstart[p->ngroups] = i;
        p->gend[p->ngroups++] = j;
        i = j;
    }
}

static void gather(arena *a, const vec *src, const uint32_t *perm, uint32_t n, vec *out) {
    batch in = {1, n, (vec *)src}, o;
    batch_take(a, &in, perm, n, &o);
    *out = o.cols[0];
}

/* Computes window w over the held rows into res; *perm_out is the window's sort. */
static int compute(struct window_op *wo, const win_spec *w, vec *res, uint32_t **perm_out,
                   err *er) {
    qctx *q = wo->o.q;
    arena *a = wo->da;
    uint32_t n = wo->data.n;
    batch all = {wo->data.ncols, n, wo->data.cols};
    uint32_t nk = w->npart + w->norder;
    vec *keys = arena_alloc(a, sizeof *keys * (nk + 1));
    sort_key *spec = arena_alloc(a, sizeof *spec * (nk + 1));
    for (uint32_t k = 0; k < w->npart; k++) {
        if (bexpr_eval(w->part[k], &all, a, &keys[k], er) < 0) return -1;
        spec[k] = (sort_key){w->part[k], false, true};
    }
    for (uint32_t k = 0; k < w->norder; k++) {
        if (bexpr_eval(w->order[k].e, &all, a, &keys[w->npart + k], er) < 0) return -1;
        spec[w->npart + k] = w->order[k];
    }
    vec *args = arena_alloc(a, sizeof *args * (w->nargs + 1));
    for (uint32_t k = 0; k < w->nargs; k++)
        if (w->args[k] && bexpr_eval(w->args[k], &all, a, &args[k], er) < 0) return -1;
    if (q_check(q, er) < 0) return -1;
    struct row_order by = {keys, spec, nk};
    struct row_order part = {keys, spec, w->npart};
    struct row_order order = {keys + w->npart, spec + w->npart, w->norder};
    uint32_t *perm;
    if (rows_sort(q, a, &by, n, &perm, er) < 0) return -1;
    vec xs = {0}, ys = {0};
    if (w->fn == WF_AGG) {
        vec x, y;
        if (w->agg.arg) {
            if (bexpr_eval(w->agg.arg, &all, a, &x, er) < 0) return -1;
            gather(a, &x, perm, n, &xs);
        }
        if (w->agg.arg2) {
            if (bexpr_eval(w->agg.arg2, &all, a, &y, er) < 0) return -1;
            gather(a, &y, perm, n, &ys);
        }
    }
    vec_alloc(a, w->type, w->unit, n, res);
    /* the validity bitmap exists from the start, in the operator's arena: a NULL written while
     * a frame's state lives in the scratch arena must not create it there */
    res->valid = arena_alloc(a, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
    memset(res->valid, 0xff, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
    res->has_tz = w->nargs && w->args[0] ? w->args[0]->has_tz : false;
    const vec *key = w->norder ? &keys[w->npart] : NULL;
    for (uint32_t ps = 0; ps < n;) {
        uint32_t pe = ps + 1;
        while (pe < n && rows_cmp(&part, perm[ps], perm[pe]) == 0) pe++;
        struct part p = {.rows = perm + ps, .m = pe - ps, .base = ps};
        peers(a, &p, &order);
        eval_part(wo, w, &p, key, args, w->agg.arg ? &xs : NULL, w->agg.arg2 ? &ys : NULL, res);
        if (q_check(q, er) < 0) return -1;
        ps = pe;
    }
    *perm_out = perm;
    return 0;
}

static int window_next(op *o, batch *b, err *er) {
    struct window_op *wo = (struct window_op *)o;
    uint32_t nin = wo->child->ncols;
    if (!wo->done) {
        for (uint32_t k = 0; k < wo->nw; k++)
            if (wo->w[k].fn == WF_AGG && agg_exec_check(&wo->w[k].agg, er) < 0) return -1;
        wo->da = arena_new(0);
        arena_set_budget(wo->da, &o->q->budget);
        colbuf_init(wo->da, &wo->data, nin, wo->child->types, wo->child->units);
        for (;;) {
            batch in;
            int rc = wo->child->next(wo->child, &in, er);
            if (rc < 0) return -1;
            if (rc == 0) break;
            colbuf_append(wo->da, &wo->data, &in);
            arena_reset(o->q->ba);
            if (q_check(o->q, er) < 0) return -1;
        }
        for (uint32_t c = 0; c < nin; c++) wo->data.cols[c].len = wo->data.n;
        wo->res = arena_alloc(wo->da, sizeof *wo->res * (wo->nw + 1));
        for (uint32_t k = 0; k < wo->nw; k++)
            if (compute(wo, &wo->w[k], &wo->res[k], &wo->perm, er) < 0) return -1;
        wo->done = true;
    }
    uint32_t n = wo->data.n;
    if (wo->pos >= n) return 0;
    uint32_t take = n - wo->pos < OUT_BATCH ? n - wo->pos : OUT_BATCH;
    batch all = {o->ncols, n, arena_alloc(o->q->ba, sizeof(vec) * (o->ncols + 1))};
    memcpy(all.cols, wo->data.cols, sizeof(vec) * nin);
    memcpy(all.cols + nin, wo->res, sizeof(vec) * wo->nw);
    batch_take(o->q->ba, &all, wo->perm + wo->pos, take, b);
    wo->pos += take;
    return 1;
}

static void window_close(op *o) {
    struct window_op *wo = (struct window_op *)o;
    arena_free(wo->da);
    wo->da = NULL;
    wo->child->close(wo->child);
}

op *op_window(qctx *q, op *child, win_spec *w, uint32_t n) {
    struct window_op *wo = arena_calloc(q->a, sizeof *wo);
    op_init(&wo->o, q, child->ncols + n);
    op_explain_as(&wo->o, "WindowAggExec", "WindowAggr", &wo->child, 1);
    op_copy_cols(&wo->o, 0, child);
    for (uint32_t k = 0; k < n; k++) {
        wo->o.types[child->ncols + k] = w[k].type;
        wo->o.units[child->ncols + k] = w[k].unit;
        wo->o.has_tz[child->ncols + k] = w[k].nargs && w[k].args[0] && w[k].args[0]->has_tz;
    }
    wo->o.next = window_next;
    wo->o.close = window_close;
    wo->child = child;
    wo->w = w;
    wo->nw = n;
    return &wo->o;
}
