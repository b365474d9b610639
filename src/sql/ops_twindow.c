/* The time_window operator: each input row comes out once per window that holds its time, with
 * the window as a last struct column {start, end}. Windows of one query have one width and
 * one slide and start at origin + k * slide; a tumbling window (slide = width) gives every row
 * exactly one. Rows come out window by window within each input batch (all rows in their
 * latest window, then all in the one before), as CnosDB's Expand does. See ops.h. */
#include "sql/ops_int.h"

#include <string.h>

#include "util/vstruct.h"

struct twindow_op {
    op o;
    op *child;
    bexpr *time;
    int64_t width, slide, origin; /* nanoseconds */
    uint32_t nwin;                /* windows that can hold one instant: ceil(width / slide) */
    uint8_t shape;
};

static int64_t floor_mod(int64_t x, int64_t m) {
    int64_t r = x % m;
    return r < 0 ? r + m : r;
}

static int twindow_next(op *o, batch *b, err *er) {
    struct twindow_op *w = (struct twindow_op *)o;
    arena *ba = o->q->ba;
    for (;;) {
        batch in;
        int rc = w->child->next(w->child, &in, er);
        if (rc <= 0) return rc;
        vec t;
        if (bexpr_eval(w->time, &in, ba, &t, er) < 0) return -1;
        int64_t mul = 1000000000 / tunit_per_sec((enum tunit)t.unit);
        uint32_t n = in.nrows, cap = n * w->nwin, m = 0;
        uint32_t *idx = arena_alloc(ba, sizeof *idx * (cap + 1));
        int64_t *starts = arena_alloc(ba, sizeof *starts * (cap + 1));
        int64_t *last = arena_alloc(ba, sizeof *last * (n + 1));
        for (uint32_t r = 0; r < n; r++) {
            int64_t ns;
            if (!vec_is_valid(&t, r) || __builtin_mul_overflow(t.d.i64[r], mul, &ns)) {
                last[r] = INT64_MIN; /* no window: NULL time, or past what nanoseconds hold */
                continue;
            }
            last[r] = ns - floor_mod(ns - w->origin, w->slide);
        }
        for (uint32_t k = 0; k < w->nwin; k++) {
            for (uint32_t r = 0; r < n; r++) {
                if (last[r] == INT64_MIN) continue;
                int64_t ns = t.d.i64[r] * mul, start, end;
                if (__builtin_mul_overflow((int64_t)k, w->slide, &start) ||
                    __builtin_sub_overflow(last[r], start, &start) ||
                    __builtin_add_overflow(start, w->width, &end) || end <= ns)
                    continue;
                idx[m] = r;
                starts[m++] = start;
            }
        }
        if (!m) continue;
        b->ncols = o->ncols;
        b->nrows = m;
        b->cols = arena_alloc(ba, sizeof *b->cols * (o->ncols + 1));
        for (uint32_t c = 0; c < in.ncols; c++) vec_take(ba, &in.cols[c], idx, m, &b->cols[c]);
        vec *sv = &b->cols[in.ncols];
        if (!w->shape) {
            vec_alloc(ba, VT_TS, TU_NS, m, sv);
            memcpy(sv->d.i64, starts, sizeof *starts * m);
            return 1;
        }
        vec_alloc(ba, VT_STRUCT, w->shape, m, sv);
        for (uint32_t i = 0; i < m; i++) {
            value f[2] = {{.type = VT_TS, .unit = TU_NS}, {.type = VT_TS, .unit = TU_NS}};
            f[0].v.i = starts[i];
            f[1].v.i = starts[i] + w->width;
            sv->d.s[i] = vstruct_make(ba, w->shape, f);
        }
        return 1;
    }
}

static void twindow_close(op *o) {
    struct twindow_op *w = (struct twindow_op *)o;
    w->child->close(w->child);
}

static op *twindow_new(qctx *q, op *child, const struct twindow_op *like);

static uint32_t twindow_split(op *o, qctx *const *qs, uint32_t n, op **parts) {
    struct twindow_op *w = (struct twindow_op *)o;
    uint32_t m = w->child->split ? w->child->split(w->child, qs, n, parts) : 0;
    for (uint32_t i = 0; i < m; i++) parts[i] = twindow_new(qs[i], parts[i], w);
    return m;
}

static op *twindow_new(qctx *q, op *child, const struct twindow_op *like) {
    struct twindow_op *w = arena_calloc(q->a, sizeof *w);
    *w = *like;
    op_init(&w->o, q, child->ncols + 1);
    op_explain_as(&w->o, "ExpandExec", "Expand", &w->child, 1);
    op_copy_cols(&w->o, 0, child);
    w->o.types[child->ncols] = like->shape ? VT_STRUCT : VT_TS;
    w->o.units[child->ncols] = like->shape ? like->shape : TU_NS;
    w->o.next = twindow_next;
    w->o.close = twindow_close;
    w->o.split = twindow_split;
    w->child = child;
    return &w->o;
}

op *op_twindow(qctx *q, op *child, bexpr *time, int64_t width, int64_t slide, int64_t origin,
               uint8_t shape) {
    struct twindow_op like = {.time = time,
                              .width = width,
                              .slide = slide,
                              .origin = origin,
                              .nwin = (uint32_t)((width + slide - 1) / slide),
                              .shape = shape};
    return twindow_new(q, child, &like);
}
