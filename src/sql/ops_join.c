/* The join operator: a hash join on equality keys, a nested loop when there are none, for
 * every join type of ops.h (inner, left/right/full outer, left semi and anti).
 *
 * Build side. The smaller input is hashed, whatever the SQL order: the right input is read
 * whole, then the left one up to as many rows; if the left ends first it becomes the build
 * side and the buffered right rows are the probe stream, otherwise the buffered left rows are
 * probed first and the rest of the left input streams. Memory is therefore at most twice the
 * smaller input, all of it in the query arena under the query's budget. Which side is built
 * changes only which side's unmatched rows are found by a bitmap at the end, not the answer.
 *
 * Probing. Each probe batch is copied into an arena of the join's own (reset per probe batch),
 * because its pairs may fill several output batches and the batch arena is reset between
 * them. Pairs are generated in chunks of at most JOIN_CHUNK rows, so a many-to-many or cross
 * join never builds more than a chunk at a time; the residual filter runs over each chunk.
 * A probe row is matched when one of its pairs passes the filter; a build row likewise (a
 * bitmap), which is all the outer, semi and anti joins need.
 *
 * NULL keys match nothing (SQL's `=`), unless null_eq is set (set operations compare rows as
 * IS NOT DISTINCT FROM). Keys are encoded as the aggregate encodes its group keys, so -0.0
 * meets 0.0; both sides' key expressions have the same types (the planner casts them). */
#include "sql/ops_int.h"

#include "sql/keyset.h"
#include "util/buf.h"

#include <string.h>

#define JOIN_CHUNK 8192
#define NONE UINT32_MAX

enum join_phase { JP_BUILD, JP_NEXT_PROBE, JP_PAIRS, JP_PROBE_TAIL, JP_BUILD_TAIL, JP_DONE };

struct join_op {
    op o;
    op *left, *right;
    join_spec js;
    uint32_t nl, nr; /* columns of the left and right inputs */
    uint8_t phase;
    bool swapped; /* the left input is the build side */
    bool probe_outer, build_outer;
    /* build side */
    struct colbuf build;
    vec *bkeys;      /* the build rows' key vectors (over build) */
    keyset *ks;      /* encoded key → 1 + index of the chain's first row */
    uint32_t *chain; /* next build row with the same key, NONE at the end */
    uint8_t *bmatched;
    uint32_t btail; /* next build row looked at by the build tail */
    /* probe side: buffered rows first (pbuf, read while sizing the inputs), then the stream */
    struct colbuf pbuf;
    uint32_t ppos;
    bool pstream_done;
    arena *pa; /* the current probe batch */
    batch pb;
    uint32_t *phead; /* per probe row: its first candidate build row, NONE for none */
    uint8_t *pmatched;
    uint32_t prow, pcur; /* pair generation: current probe row and its candidate build row */
    uint32_t ptail;      /* next probe row looked at by the probe tail */
    buf kb;
};

/* Gathers rows idx[0..n) of one side (NONE = a NULL row) into dst; src NULL = every row NULL,
 * typed after the side's operator. */
static void take_side(arena *a, const op *side, const vec *src, const uint32_t *idx, uint32_t n,
                      vec *dst) {
    for (uint32_t c = 0; c < side->ncols; c++) {
        uint8_t type = side->types[c];
        vec *d = &dst[c];
        if (type == VT_NULL || !src) {
            vec_alloc_null(a, type, side->units[c], n, d);
            d->has_tz = side->has_tz[c];
            continue;
        }
        const vec *s = &src[c];
        vec_alloc(a, type, side->units[c], n, d);
        d->has_tz = side->has_tz[c] || s->has_tz;
        size_t sz = vtype_size(type);
        for (uint32_t i = 0; i < n; i++) {
            if (idx[i] == NONE || !vec_is_valid(s, idx[i])) {
                vec_set_null(a, d, i);
                continue;
            }
            memcpy((char *)d->d.raw + sz * i, (const char *)s->d.raw + sz * idx[i], sz);
        }
    }
}

/* An output batch of n rows: the left columns from the rows li of the left side, the right
 * columns from ri (NONE = NULLs), each side read from the probe batch or the build buffer;
 * probe NULL when no probe row is read (the build tail). */
static void emit_pairs(struct join_op *j, const uint32_t *pi, const uint32_t *bi, uint32_t n,
                       bool both, bool probe, batch *out) {
    arena *a = j->o.q->ba;
    /* both sides even for a semi/anti join, whose output is the left side only: its filter
     * reads a pair */
    out->ncols = both ? j->nl + j->nr : j->nl;
    out->nrows = n;
    out->cols = arena_alloc(a, sizeof *out->cols * (out->ncols ? out->ncols : 1));
    const vec *pcols = probe ? j->pb.cols : NULL;
    const vec *lsrc = j->swapped ? j->build.cols : pcols;
    const vec *rsrc = j->swapped ? pcols : j->build.cols;
    const uint32_t *li = j->swapped ? bi : pi, *ri = j->swapped ? pi : bi;
    take_side(a, j->left, lsrc, li, n, out->cols);
    if (both) take_side(a, j->right, rsrc, ri, n, out->cols + j->nl);
}

static void encode_keys(struct join_op *j, const vec *kv, uint32_t i, bool *has_null) {
    buf_reset(&j->kb);
    *has_null = false;
    for (uint32_t k = 0; k < j->js.nkeys; k++) {
        if (!vec_is_valid(&kv[k], i) || kv[k].type == VT_NULL) *has_null = true;
        agg_key_encode(&j->kb, &kv[k], i);
    }
}

static int eval_keys(qctx *q, bexpr **keys, uint32_t nkeys, const batch *b, arena *a, vec **out,
                     err *er) {
    *out = arena_alloc(a, sizeof **out * (nkeys ? nkeys : 1));
    for (uint32_t k = 0; k < nkeys; k++)
        if (bexpr_eval(keys[k], b, a, &(*out)[k], er) < 0) return -1;
    return q_check(q, er);
}

/* Reads the inputs and hashes the smaller one. */
static int join_build(struct join_op *j, err *er) {
    qctx *q = j->o.q;
    struct colbuf rbuf, lbuf;
    colbuf_init(q->a, &rbuf, j->nr, j->right->types, j->right->units);
    colbuf_init(q->a, &lbuf, j->nl, j->left->types, j->left->units);
    for (;;) {
        batch b;
        int rc = j->right->next(j->right, &b, er);
        if (rc < 0) return -1;
        if (rc == 0) break;
        colbuf_append(q->a, &rbuf, &b);
        if (q_check(q, er) < 0) return -1;
    }
    bool left_done = false;
    while (lbuf.n <= rbuf.n) {
        batch b;
        int rc = j->left->next(j->left, &b, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            left_done = true;
            break;
        }
        colbuf_append(q->a, &lbuf, &b);
        if (q_check(q, er) < 0) return -1;
    }
    j->swapped = left_done && lbuf.n < rbuf.n;
    j->build = j->swapped ? lbuf : rbuf;
    j->pbuf = j->swapped ? rbuf : lbuf;
    j->pstream_done = j->swapped || left_done;
    bool probe_left = !j->swapped;
    uint8_t t = j->js.type;
    j->probe_outer = t == JT_FULL || (t == JT_LEFT && probe_left) || (t == JT_RIGHT && !probe_left);
    j->build_outer = t == JT_FULL || (t == JT_LEFT && !probe_left) || (t == JT_RIGHT && probe_left);

    uint32_t nb = j->build.n;
    batch bb = {j->swapped ? j->nl : j->nr, nb, j->build.cols};
    if (eval_keys(q, j->swapped ? j->js.lkeys : j->js.rkeys, j->js.nkeys, &bb, q->a, &j->bkeys,
                  er) < 0)
        return -1;
    j->chain = arena_alloc(q->a, sizeof *j->chain * (nb ? nb : 1));
    j->bmatched = arena_calloc(q->a, bitmap_bytes(nb) ? bitmap_bytes(nb) : 1);
    j->ks = keyset_new(q->a, nb);
    for (uint32_t i = 0; i < nb; i++) {
        j->chain[i] = NONE;
        bool has_null;
        encode_keys(j, j->bkeys, i, &has_null);
        if (has_null && !j->js.null_eq) continue; /* matches nothing */
        bool ins;
        uint32_t *slot = keyset_upsert(j->ks, j->kb.p, (uint32_t)j->kb.len, &ins);
        /* Chains keep insertion order reversed: the newest row first. */
        j->chain[i] = ins ? NONE : *slot - 1;
        *slot = i + 1;
        if ((i & 4095) == 4095 && q_check(q, er) < 0) return -1;
    }
    return 0;
}

/* The next probe batch, copied into the join's arena; 0 at the end of the probe side. */
static int next_probe(struct join_op *j, err *er) {
    qctx *q = j->o.q;
    arena_reset(j->pa);
    if (j->ppos < j->pbuf.n) {
        uint32_t n = j->pbuf.n - j->ppos < JOIN_CHUNK ? j->pbuf.n - j->ppos : JOIN_CHUNK;
        uint32_t *idx = arena_alloc(j->pa, sizeof *idx * n);
        for (uint32_t i = 0; i < n; i++) idx[i] = j->ppos + i;
        batch all = {j->pbuf.ncols, j->pbuf.n, j->pbuf.cols};
        batch_take(j->pa, &all, idx, n, &j->pb);
        j->ppos += n;
    } else {
        if (j->pstream_done) return 0;
        batch b;
        int rc = j->left->next(j->left, &b, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            j->pstream_done = true;
            return 0;
        }
        struct colbuf cb;
        colbuf_init(j->pa, &cb, j->nl, j->left->types, j->left->units);
        colbuf_append(j->pa, &cb, &b);
        j->pb = (batch){cb.ncols, cb.n, cb.cols};
    }
    uint32_t n = j->pb.nrows;
    vec *pk;
    if (eval_keys(q, j->swapped ? j->js.rkeys : j->js.lkeys, j->js.nkeys, &j->pb, j->pa, &pk, er) <
        0)
        return -1;
    j->phead = arena_alloc(j->pa, sizeof *j->phead * (n ? n : 1));
    j->pmatched = arena_calloc(j->pa, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
    for (uint32_t i = 0; i < n; i++) {
        j->phead[i] = NONE;
        if (j->js.nkeys == 0) {
            j->phead[i] = j->build.n ? 0 : NONE;
            continue;
        }
        bool has_null;
        encode_keys(j, pk, i, &has_null);
        uint32_t v;
        if ((!has_null || j->js.null_eq) && keyset_get(j->ks, j->kb.p, (uint32_t)j->kb.len, &v))
            j->phead[i] = v - 1;
    }
    j->prow = 0;
    j->pcur = n ? j->phead[0] : NONE;
    j->ptail = 0;
    return 1;
}

/* The candidate build row after b for the current probe row. */
static uint32_t next_candidate(const struct join_op *j, uint32_t b) {
    if (j->js.nkeys == 0) return b + 1 < j->build.n ? b + 1 : NONE;
    return j->chain[b];
}

/* The next chunk of candidate pairs of the current probe batch, with the filter applied; the
 * survivors are marked matched on both sides. 0 when the batch has no pairs left. */
static int next_pairs(struct join_op *j, uint32_t **pi_out, uint32_t **bi_out, uint32_t *n_out,
                      err *er) {
    qctx *q = j->o.q;
    arena *a = q->ba;
    for (;;) {
        if (j->prow >= j->pb.nrows) return 0;
        uint32_t *pi = arena_alloc(a, sizeof *pi * JOIN_CHUNK);
        uint32_t *bi = arena_alloc(a, sizeof *bi * JOIN_CHUNK);
        uint32_t n = 0;
        bool semi_like = j->js.type == JT_SEMI || j->js.type == JT_ANTI;
        while (n < JOIN_CHUNK && j->prow < j->pb.nrows) {
            if (j->pcur == NONE ||
                (semi_like && !j->swapped && !j->js.filter && bitmap_get(j->pmatched, j->prow))) {
                /* next probe row (a left semi/anti row needs one match, not all of them) */
                if (++j->prow < j->pb.nrows) j->pcur = j->phead[j->prow];
                continue;
            }
            pi[n] = j->prow;
            bi[n++] = j->pcur;
            if (!j->js.filter) bitmap_set(j->pmatched, j->prow);
            j->pcur = next_candidate(j, j->pcur);
        }
        if (q_check(q, er) < 0) return -1;
        if (n == 0) continue;
        if (j->js.filter) {
            batch pairs;
            emit_pairs(j, pi, bi, n, true, true, &pairs);
            vec p;
            if (bexpr_eval(j->js.filter, &pairs, a, &p, er) < 0) return -1;
            uint32_t m = 0;
            for (uint32_t i = 0; i < n; i++)
                if (p.type == VT_BOOL && vec_is_valid(&p, i) && p.d.b[i]) {
                    pi[m] = pi[i];
                    bi[m++] = bi[i];
                }
            n = m;
        }
        for (uint32_t i = 0; i < n; i++) {
            bitmap_set(j->pmatched, pi[i]);
            bitmap_set(j->bmatched, bi[i]);
        }
        if (n == 0) continue;
        *pi_out = pi;
        *bi_out = bi;
        *n_out = n;
        return 1;
    }
}

/* Rows [*pos, end) of one side whose matched bit equals want, as the side's indexes (the other
 * side NONE); 0 when none are left. */
static uint32_t tail_rows(arena *a, const uint8_t *matched, uint32_t *pos, uint32_t end, bool want,
                          uint32_t **idx, uint32_t **nones) {
    uint32_t *x = arena_alloc(a, sizeof *x * JOIN_CHUNK),
             *y = arena_alloc(a, sizeof *y * JOIN_CHUNK);
    uint32_t n = 0;
    while (*pos < end && n < JOIN_CHUNK) {
        uint32_t i = (*pos)++;
        if (bitmap_get(matched, i) == want) {
            x[n] = i;
            y[n++] = NONE;
        }
    }
    *idx = x;
    *nones = y;
    return n;
}

static int join_next(op *o, batch *b, err *er) {
    struct join_op *j = (struct join_op *)o;
    uint8_t t = j->js.type;
    bool semi_like = t == JT_SEMI || t == JT_ANTI;
    for (;;) {
        switch (j->phase) {
        case JP_BUILD:
            if (join_build(j, er) < 0) return -1;
            j->phase = JP_NEXT_PROBE;
            break;
        case JP_NEXT_PROBE: {
            int rc = next_probe(j, er);
            if (rc < 0) return -1;
            j->phase = rc ? JP_PAIRS : JP_BUILD_TAIL;
            break;
        }
        case JP_PAIRS: {
            uint32_t *pi, *bi, n;
            int rc = next_pairs(j, &pi, &bi, &n, er);
            if (rc < 0) return -1;
            if (rc == 0) {
                j->phase = JP_PROBE_TAIL;
                break;
            }
            if (semi_like) break; /* only the matched bits count */
            emit_pairs(j, pi, bi, n, true, true, b);
            return 1;
        }
        case JP_PROBE_TAIL:
        case JP_BUILD_TAIL: {
            /* The rows of one side by their matched bit: unmatched rows of an outer join's
             * kept side, or the answer of a semi/anti join on the side that holds the left. */
            bool probe = j->phase == JP_PROBE_TAIL;
            uint8_t after = probe ? JP_NEXT_PROBE : JP_DONE;
            bool want;
            if (semi_like && j->swapped != probe)
                want = t == JT_SEMI;
            else if (probe ? j->probe_outer : j->build_outer)
                want = false;
            else {
                j->phase = after;
                break;
            }
            uint32_t *rows, *nones, n;
            if (probe)
                n = tail_rows(o->q->ba, j->pmatched, &j->ptail, j->pb.nrows, want, &rows, &nones);
            else
                n = tail_rows(o->q->ba, j->bmatched, &j->btail, j->build.n, want, &rows, &nones);
            if (n == 0) {
                j->phase = after;
                break;
            }
            if (probe)
                emit_pairs(j, rows, nones, n, !semi_like, true, b);
            else
                emit_pairs(j, nones, rows, n, !semi_like, false, b);
            return 1;
        }
        default:
            return 0;
        }
    }
}

static void join_close(op *o) {
    struct join_op *j = (struct join_op *)o;
    j->left->close(j->left);
    j->right->close(j->right);
    arena_free(j->pa);
    buf_free(&j->kb);
}

static const char *join_type_name(uint8_t t) {
    switch (t) {
    case JT_LEFT:
        return "Left";
    case JT_RIGHT:
        return "Right";
    case JT_FULL:
        return "Full";
    case JT_SEMI:
        return "LeftSemi";
    case JT_ANTI:
        return "LeftAnti";
    default:
        return "Inner";
    }
}

/* A join: its type, equality keys and residual filter. Which side was hashed is decided while
 * running (the smaller one), so only a plan that has run (ANALYZE) names it. */
static void join_describe(const op *o, op_explain *x) {
    const struct join_op *j = (const struct join_op *)o;
    const join_spec *js = &j->js;
    ex_cols pair;
    ex_cols_concat(x->a, &x->in[0], &x->in[1], &pair);
    if (js->type == JT_SEMI || js->type == JT_ANTI)
        x->out = x->in[0];
    else
        x->out = pair;
    bool cross = js->nkeys == 0 && !js->filter && js->type == JT_INNER;
    if (cross) {
        x->lname = "CrossJoin:";
        x->pname = "CrossJoinExec";
        return;
    }
    x->lname = arena_printf(x->a, "%s Join:", join_type_name(js->type));
    const char *eq = js->null_eq ? "IS NOT DISTINCT FROM" : "=";
    for (uint32_t k = 0; k < js->nkeys; k++) {
        buf_puts(&x->ld, k ? ", " : "");
        ex_expr(&x->ld, js->lkeys[k], &x->in[0], false);
        buf_printf(&x->ld, " %s ", eq);
        ex_expr(&x->ld, js->rkeys[k], &x->in[1], false);
    }
    if (js->filter) {
        buf_puts(&x->ld, js->nkeys ? " Filter: " : "Filter: ");
        ex_expr(&x->ld, js->filter, &pair, false);
    }
    x->pname = js->nkeys ? "HashJoinExec" : "NestedLoopJoinExec";
    const char *mode = !x->analyzed ? "CollectSmaller"
                       : j->swapped ? "CollectLeft"
                                    : "CollectRight";
    buf_printf(&x->pd, "mode=%s, join_type=%s", mode, join_type_name(js->type));
    if (js->nkeys) {
        buf_puts(&x->pd, ", on=[");
        for (uint32_t k = 0; k < js->nkeys; k++) {
            buf_puts(&x->pd, k ? ", (" : "(");
            ex_expr(&x->pd, js->lkeys[k], &x->in[0], true);
            buf_puts(&x->pd, ", ");
            ex_expr(&x->pd, js->rkeys[k], &x->in[1], true);
            buf_putc(&x->pd, ')');
        }
        buf_putc(&x->pd, ']');
    }
    if (js->filter) {
        buf_puts(&x->pd, ", filter=");
        ex_expr(&x->pd, js->filter, &pair, true);
    }
    if (js->null_eq) buf_puts(&x->pd, ", null_equals_null=true");
}

op *op_join(qctx *q, op *left, op *right, const join_spec *js) {
    struct join_op *j = arena_calloc(q->a, sizeof *j);
    bool semi_like = js->type == JT_SEMI || js->type == JT_ANTI;
    uint32_t n = left->ncols + (semi_like ? 0 : right->ncols);
    op_init(&j->o, q, n);
    op_copy_cols(&j->o, 0, left);
    if (!semi_like) op_copy_cols(&j->o, left->ncols, right);
    j->o.next = join_next;
    j->o.close = join_close;
    j->left = left;
    j->right = right;
    op **kids = arena_alloc(q->a, sizeof *kids * 2);
    kids[0] = left;
    kids[1] = right;
    op_explain_as(&j->o, NULL, NULL, kids, 2);
    j->o.describe = join_describe;
    j->js = *js;
    j->nl = left->ncols;
    j->nr = right->ncols;
    j->pa = arena_new(0);
    arena_set_budget(j->pa, &q->budget);
    buf_init(&j->kb);
    return &j->o;
}
