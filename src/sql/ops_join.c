/* The join operator: a hash join on equality keys, a nested loop when there are none, for
 * every join type of ops.h (inner, left/right/full outer, left semi and anti).
 *
 * Build side. The smaller input is hashed, whatever the SQL order: the right input is read
 * whole, then the left one up to as many rows; if the left ends first it becomes the build
 * side and the buffered right rows are the probe stream, otherwise the buffered left rows are
 * probed first and the rest of the left input streams. Memory is therefore at most twice the
 * smaller input, all of it in arenas under the query's budget. Which side is built changes
 * only which side's unmatched rows are found by a bitmap at the end, not the answer. Each
 * input is buffered column by column (struct sidebuf), every column in an arena of its own,
 * so a column grows by reallocating its own newest block rather than by copying. The build
 * rows' keys go into a vhash (vhash.h): hashed a column at a time, compared in place in the
 * buffered rows, never copied.
 *
 * Probing. A probe batch's key columns are hashed in one pass each and looked up together
 * (vhash_find), giving each probe row its first candidate build row; the others follow down
 * the key's chain. Pairs are generated in chunks of at most JOIN_CHUNK rows, so a
 * many-to-many or cross join never builds more than a chunk at a time; the residual filter
 * runs over each chunk, and the output columns are gathered a type at a time. A probe row is
 * matched when one of its pairs passes the filter; a build row likewise (a bitmap), which is
 * all the outer, semi and anti joins need.
 *
 * Whose memory. A probe batch's pairs may fill several output batches, and the consumer
 * resets the batch arena after each (ops.h), so a probe batch must not live there: the join
 * reads its inputs with the query's batch arena pointed at an arena of its own (pull), which
 * it resets only when it moves to the next input batch, when nothing of the previous one is
 * referenced any more. Buffered probe rows are probed in place, a slice at a time. Output
 * batches go to the batch arena as usual; their strings point into the probe batch or the
 * build buffer, both of which outlive the output batch.
 *
 * NULL keys match nothing (SQL's `=`), unless null_eq is set (set operations compare rows as
 * IS NOT DISTINCT FROM). Keys compare as the aggregate's group keys do, so -0.0 meets 0.0 and
 * NaN meets NaN; both sides' key expressions have the same types (the planner casts them). */
#include "sql/ops_int.h"

#include "sql/vhash.h"
#include "util/buf.h"

#include <string.h>

#define JOIN_CHUNK 8192 /* a multiple of 8: buffered rows are sliced at whole bitmap bytes */
#define NONE UINT32_MAX

/* A buffered input: its rows column by column, each column's slots and bitmap in arenas of
 * their own, so that growing a column reallocates its arena's newest block, in place or by
 * remapping it, instead of copying it into a new one. */
struct sidebuf {
    uint32_t ncols;
    uint32_t n, cap;
    vec *cols;
    arena **ca, **va; /* per column: the slots' arena, the bitmap's */
};

enum join_phase { JP_BUILD, JP_NEXT_PROBE, JP_PAIRS, JP_PROBE_TAIL, JP_BUILD_TAIL, JP_DONE };

struct join_op {
    op o;
    op *left, *right;
    join_spec js;
    uint32_t nl, nr; /* columns of the left and right inputs */
    uint8_t phase;
    bool swapped; /* the left input is the build side */
    bool probe_outer, build_outer;
    bool mark_probe, mark_build; /* whether a side's matched bits are read (outer, semi, anti) */
    struct sidebuf side[2];      /* the left and the right input's buffered rows */
    /* build side */
    struct sidebuf *build;
    vec *bkeys; /* the build rows' key vectors (over build) */
    vhash *ht;  /* the build rows by key; NULL without keys (a nested loop) */
    uint8_t *bmatched;
    uint32_t btail; /* next build row looked at by the build tail */
    /* probe side: the rows buffered while sizing the inputs, then the stream */
    struct sidebuf *pbuf;
    uint32_t ppos; /* next buffered probe row */
    bool pstream_done;
    arena *pa; /* the current input batch and what is computed over it */
    batch pb;
    uint32_t *phead; /* per probe row: its first candidate build row, NONE for none */
    uint8_t *pmatched;
    uint32_t prow, pcur; /* pair generation: current probe row and its candidate build row */
    uint32_t ptail;      /* next probe row looked at by the probe tail */
};

/* The next batch of input `in`, made in `into` rather than in the batch arena (see the header:
 * operators put their batch data in q->ba while next() runs, so pointing it elsewhere for the
 * call moves all of it). */
static int pull(struct join_op *j, op *in, arena *into, batch *b, err *er) {
    qctx *q = j->o.q;
    arena *ba = q->ba;
    q->ba = into;
    int rc = in->next(in, b, er);
    q->ba = ba;
    return rc;
}

/* Rows [from, from + n) of src, in place; from is a multiple of 8. */
static void vec_slice(const vec *src, uint32_t from, uint32_t n, vec *dst) {
    *dst = *src;
    dst->len = n;
    if (src->d.raw) dst->d.raw = (char *)src->d.raw + vtype_size(src->type) * from;
    if (src->valid) dst->valid = src->valid + from / 8;
}

/* Gathers rows idx[0..n) of s into d (allocated, slots of s's size); NONE = NULL. Without NULLs
 * in s and with no NONE, a plain indexed copy per type. */
#define GATHER(T, F, ZERO)                                                                         \
    do {                                                                                           \
        const T *src = s->d.F;                                                                     \
        T *dst = d->d.F;                                                                           \
        if (fast) {                                                                                \
            for (uint32_t i = 0; i < n; i++) dst[i] = src[idx[i]];                                 \
            break;                                                                                 \
        }                                                                                          \
        for (uint32_t i = 0; i < n; i++) {                                                         \
            uint32_t x = idx[i];                                                                   \
            if (x != NONE && vec_is_valid(s, x)) {                                                 \
                dst[i] = src[x];                                                                   \
                bitmap_set(valid, i);                                                              \
            } else                                                                                 \
                dst[i] = ZERO;                                                                     \
        }                                                                                          \
    } while (0)

static void gather(arena *a, const vec *s, const uint32_t *idx, uint32_t n, bool any_none, vec *d) {
    bool fast = !any_none && !s->valid;
    uint8_t *valid = NULL;
    if (!fast) valid = arena_calloc(a, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
    switch (d->type) {
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        GATHER(strv, s, ((strv){"", 0}));
        break;
    case VT_INTERVAL:
        GATHER(interval, iv, ((interval){0, 0, 0}));
        break;
    case VT_DEC128:
        GATHER(dec128, dec, ((dec128){0, 0}));
        break;
    case VT_BOOL:
        GATHER(bool, b, false);
        break;
    default:
        GATHER(uint64_t, u64, 0);
    }
    d->valid = valid;
    vec_compact_valid(d, n);
}

/* Gathers rows idx[0..n) of one side (NONE = a NULL row) into dst; src NULL = every row NULL,
 * typed after the side's operator. */
static void take_side(arena *a, const op *side, const vec *src, const uint32_t *idx, uint32_t n,
                      vec *dst) {
    bool any_none = false;
    for (uint32_t i = 0; i < n && !any_none && src; i++) any_none = idx[i] == NONE;
    for (uint32_t c = 0; c < side->ncols; c++) {
        uint8_t type = side->types[c];
        vec *d = &dst[c];
        /* a stream batch may carry an untyped NULL column where the operator has a type */
        if (type == VT_NULL || !src || src[c].type == VT_NULL ||
            vtype_size(src[c].type) != vtype_size(type)) {
            vec_alloc_null(a, type, side->units[c], n, d);
            d->has_tz = side->has_tz[c];
            continue;
        }
        vec_alloc(a, type, side->units[c], n, d);
        d->has_tz = side->has_tz[c] || src[c].has_tz;
        gather(a, &src[c], idx, n, any_none, d);
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
    const vec *lsrc = j->swapped ? j->build->cols : pcols;
    const vec *rsrc = j->swapped ? pcols : j->build->cols;
    const uint32_t *li = j->swapped ? bi : pi, *ri = j->swapped ? pi : bi;
    take_side(a, j->left, lsrc, li, n, out->cols);
    if (both) take_side(a, j->right, rsrc, ri, n, out->cols + j->nl);
}

static int eval_keys(qctx *q, bexpr **keys, uint32_t nkeys, const batch *b, arena *a, vec **out,
                     err *er) {
    *out = arena_alloc(a, sizeof **out * (nkeys ? nkeys : 1));
    for (uint32_t k = 0; k < nkeys; k++)
        if (bexpr_eval(keys[k], b, a, &(*out)[k], er) < 0) return -1;
    return q_check(q, er);
}

/* Makes room for need rows in every column of sb. */
static void sidebuf_reserve(struct sidebuf *sb, uint64_t need) {
    if (need <= sb->cap) return;
    uint32_t nc = sb->cap ? sb->cap : 1024;
    while (nc < need) nc = nc > UINT32_MAX / 2 ? UINT32_MAX : nc * 2;
    for (uint32_t c = 0; c < sb->ncols; c++) {
        vec *v = &sb->cols[c];
        size_t sz = vtype_size(v->type);
        v->d.raw = arena_realloc(sb->ca[c], v->d.raw, sz * sb->cap, sz * nc);
        if (v->valid) {
            v->valid = arena_realloc(sb->va[c], v->valid, bitmap_bytes(sb->cap), bitmap_bytes(nc));
            memset(v->valid + bitmap_bytes(sb->cap), 0, bitmap_bytes(nc) - bitmap_bytes(sb->cap));
        }
    }
    sb->cap = nc;
}

/* Column c's bitmap, made (rows so far valid) when its first NULL arrives. */
static uint8_t *sidebuf_valid(struct sidebuf *sb, uint32_t c) {
    vec *v = &sb->cols[c];
    if (!v->valid) {
        v->valid = arena_calloc(sb->va[c], bitmap_bytes(sb->cap) ? bitmap_bytes(sb->cap) : 1);
        memset(v->valid, 0xff, sb->n / 8);
        for (uint32_t i = sb->n & ~7u; i < sb->n; i++) bitmap_set(v->valid, i);
    }
    return v->valid;
}

/* Appends batch in (of the input side's columns): slots copied, strings copied into sa (a run
 * of rows sharing one string, such as a series' tag value, shares one copy). A stream's
 * untyped NULL column becomes NULLs of the operator's type. */
static void sidebuf_append(struct sidebuf *sb, arena *sa, const op *side, const batch *in) {
    uint32_t n = in->nrows, at = sb->n;
    if (n == 0) return;
    sidebuf_reserve(sb, (uint64_t)at + n);
    for (uint32_t c = 0; c < sb->ncols; c++) {
        const vec *s = &in->cols[c];
        vec *d = &sb->cols[c];
        size_t sz = vtype_size(d->type);
        char *dst = (char *)d->d.raw + sz * at;
        if (side->types[c] == VT_NULL || s->type == VT_NULL || vtype_size(s->type) != sz) {
            memset(dst, 0, sz * n);
            if (vtype_is_bytes(d->type))
                for (uint32_t i = 0; i < n; i++) d->d.s[at + i] = (strv){"", 0};
            sidebuf_valid(sb, c); /* rows from at on are clear */
            continue;
        }
        d->has_tz |= s->has_tz;
        if (s->valid || d->valid) {
            uint8_t *bm = sidebuf_valid(sb, c);
            for (uint32_t i = 0; i < n; i++)
                if (vec_is_valid(s, i)) bitmap_set(bm, at + i);
        }
        if (!vtype_is_bytes(d->type)) {
            memcpy(dst, s->d.raw, sz * n);
            continue;
        }
        strv from = {NULL, 0}, copy = {"", 0};
        for (uint32_t i = 0; i < n; i++) {
            strv v = s->d.s[i];
            if (!v.len) {
                d->d.s[at + i] = (strv){"", 0};
                continue;
            }
            if (v.p != from.p || v.len != from.len) {
                from = v;
                copy = (strv){arena_strndup(sa, v.p, v.len), v.len};
            }
            d->d.s[at + i] = copy;
        }
    }
    sb->n = at + n;
}

static void sidebuf_init(struct sidebuf *sb, qctx *q, const op *side) {
    sb->ncols = side->ncols;
    sb->n = sb->cap = 0;
    sb->cols = arena_calloc(q->a, sizeof *sb->cols * (side->ncols + 1));
    sb->ca = arena_calloc(q->a, sizeof *sb->ca * 2 * (side->ncols + 1));
    sb->va = sb->ca + side->ncols + 1;
    for (uint32_t c = 0; c < side->ncols; c++) {
        sb->cols[c].type = side->types[c];
        sb->cols[c].unit = side->units[c];
        sb->cols[c].has_tz = side->has_tz[c];
        for (int k = 0; k < 2; k++) {
            arena **a = k ? &sb->va[c] : &sb->ca[c];
            *a = arena_new(0);
            arena_set_budget(*a, &q->budget);
        }
    }
}

static void sidebuf_free(struct sidebuf *sb) {
    for (uint32_t c = 0; sb->ca && c < sb->ncols; c++) {
        arena_free(sb->ca[c]);
        arena_free(sb->va[c]);
    }
}

/* Buffers the batches of `in` while sb holds at most upto rows (one row past it says `in` is
 * the larger input); *done when `in` ended. Each input batch is dead once appended, so the
 * join's arena is reset between them. */
static int buffer_input(struct join_op *j, op *in, struct sidebuf *sb, uint64_t upto, bool *done,
                        err *er) {
    qctx *q = j->o.q;
    *done = false;
    while (sb->n <= upto) {
        arena_reset(j->pa);
        batch b;
        int rc = pull(j, in, j->pa, &b, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            *done = true;
            break;
        }
        if ((uint64_t)sb->n + b.nrows >= NONE)
            return err_set(er, 500, EC_QUERY_INTERNAL,
                           "Resources exhausted: a join input of more than %u rows", NONE - 1);
        sidebuf_append(sb, q->a, in, &b);
        if (q_check(q, er) < 0) return -1;
    }
    arena_reset(j->pa);
    for (uint32_t c = 0; c < sb->ncols; c++) {
        sb->cols[c].len = sb->n;
        vec_compact_valid(&sb->cols[c], sb->n);
    }
    return 0;
}

/* Reads the inputs and hashes the smaller one. */
static int join_build(struct join_op *j, err *er) {
    qctx *q = j->o.q;
    sidebuf_init(&j->side[0], q, j->left);
    sidebuf_init(&j->side[1], q, j->right);
    bool right_done, left_done;
    if (buffer_input(j, j->right, &j->side[1], UINT64_MAX, &right_done, er) < 0 ||
        buffer_input(j, j->left, &j->side[0], j->side[1].n, &left_done, er) < 0)
        return -1;
    j->swapped = left_done && j->side[0].n < j->side[1].n;
    j->build = &j->side[!j->swapped];
    j->pbuf = &j->side[j->swapped];
    j->pstream_done = j->swapped || left_done;
    bool probe_left = !j->swapped;
    uint8_t t = j->js.type;
    j->probe_outer = t == JT_FULL || (t == JT_LEFT && probe_left) || (t == JT_RIGHT && !probe_left);
    j->build_outer = t == JT_FULL || (t == JT_LEFT && !probe_left) || (t == JT_RIGHT && probe_left);
    bool semi_like = t == JT_SEMI || t == JT_ANTI;
    j->mark_probe = j->probe_outer || (semi_like && probe_left);
    j->mark_build = j->build_outer || (semi_like && !probe_left);

    uint32_t nb = j->build->n, nk = j->js.nkeys;
    j->bmatched = arena_calloc(q->a, bitmap_bytes(nb) ? bitmap_bytes(nb) : 1);
    if (nk == 0) return 0;
    batch bb = {j->swapped ? j->nl : j->nr, nb, j->build->cols};
    if (eval_keys(q, j->swapped ? j->js.lkeys : j->js.rkeys, nk, &bb, q->a, &j->bkeys, er) < 0)
        return -1;
    j->ht = vhash_new(q->a, j->bkeys, nk, nb);
    uint64_t *h = arena_alloc(j->pa, sizeof *h * JOIN_CHUNK);
    uint8_t *nulls = arena_alloc(j->pa, bitmap_bytes(JOIN_CHUNK));
    vec *part = arena_alloc(j->pa, sizeof *part * nk);
    for (uint32_t from = 0; from < nb; from += JOIN_CHUNK) {
        uint32_t n = nb - from < JOIN_CHUNK ? nb - from : JOIN_CHUNK;
        for (uint32_t k = 0; k < nk; k++) vec_slice(&j->bkeys[k], from, n, &part[k]);
        vhash_hash(part, nk, n, h, nulls);
        /* a NULL key matches nothing, unless NULLs are equal */
        vhash_insert(j->ht, from, n, h, j->js.null_eq ? NULL : nulls);
        if (q_check(q, er) < 0) return -1;
    }
    return 0;
}

/* The next probe batch: a slice of the buffered rows, else the stream's next batch; 0 at the
 * end of the probe side. */
static int next_probe(struct join_op *j, err *er) {
    qctx *q = j->o.q;
    arena_reset(j->pa);
    if (j->ppos < j->pbuf->n) {
        /* a slice of the buffered rows, in place */
        uint32_t n = j->pbuf->n - j->ppos < JOIN_CHUNK ? j->pbuf->n - j->ppos : JOIN_CHUNK;
        j->pb.ncols = j->pbuf->ncols;
        j->pb.nrows = n;
        j->pb.cols = arena_alloc(j->pa, sizeof *j->pb.cols * (j->pbuf->ncols + 1));
        for (uint32_t c = 0; c < j->pbuf->ncols; c++)
            vec_slice(&j->pbuf->cols[c], j->ppos, n, &j->pb.cols[c]);
        j->ppos += n;
    } else {
        if (j->pstream_done) return 0;
        int rc = pull(j, j->left, j->pa, &j->pb, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            j->pstream_done = true;
            return 0;
        }
    }
    uint32_t n = j->pb.nrows, nk = j->js.nkeys;
    j->phead = arena_alloc(j->pa, sizeof *j->phead * (n ? n : 1));
    j->pmatched = arena_calloc(j->pa, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
    if (nk == 0) {
        for (uint32_t i = 0; i < n; i++) j->phead[i] = j->build->n ? 0 : NONE;
    } else {
        vec *pk;
        if (eval_keys(q, j->swapped ? j->js.rkeys : j->js.lkeys, nk, &j->pb, j->pa, &pk, er) < 0)
            return -1;
        uint64_t *h = arena_alloc(j->pa, sizeof *h * (n ? n : 1));
        uint8_t *nulls = arena_alloc(j->pa, bitmap_bytes(n) ? bitmap_bytes(n) : 1);
        vhash_hash(pk, nk, n, h, nulls);
        vhash_find(j->ht, pk, n, h, j->js.null_eq ? NULL : nulls, j->phead, j->pa);
    }
    j->prow = 0;
    j->pcur = n ? j->phead[0] : NONE;
    j->ptail = 0;
    return q_check(q, er) < 0 ? -1 : 1;
}

/* The candidate build row after b for the current probe row. */
static uint32_t next_candidate(const struct join_op *j, uint32_t b) {
    if (j->js.nkeys == 0) return b + 1 < j->build->n ? b + 1 : NONE;
    return vhash_next(j->ht, b);
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
        /* without a filter every candidate is a match: marked as it is found, so a left
         * semi/anti row stops at its first */
        bool mark_now = !j->js.filter && j->mark_probe;
        bool first_only = semi_like && !j->swapped && !j->js.filter;
        while (n < JOIN_CHUNK && j->prow < j->pb.nrows) {
            if (j->pcur == NONE || (first_only && bitmap_get(j->pmatched, j->prow))) {
                if (++j->prow < j->pb.nrows) j->pcur = j->phead[j->prow];
                continue;
            }
            pi[n] = j->prow;
            bi[n++] = j->pcur;
            if (mark_now) bitmap_set(j->pmatched, j->prow);
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
        if (j->js.filter && j->mark_probe)
            for (uint32_t i = 0; i < n; i++) bitmap_set(j->pmatched, pi[i]);
        if (j->mark_build)
            for (uint32_t i = 0; i < n; i++) bitmap_set(j->bmatched, bi[i]);
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
                n = tail_rows(o->q->ba, j->bmatched, &j->btail, j->build->n, want, &rows, &nones);
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
    sidebuf_free(&j->side[0]);
    sidebuf_free(&j->side[1]);
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
    return &j->o;
}
