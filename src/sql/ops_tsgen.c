/* The operator of the time-series generating functions (sql/tsgen.h): it reads its input
 * whole (time, value: the rows in time order), runs the function over the points and answers
 * the result's (time, value) rows. See ops.h. */
#include "sql/ops_int.h"

#include <math.h>
#include <string.h>

#include "sql/tsgen.h"

struct tsgen_op {
    op o;
    op *child;
    int kind;
    tsgen_opts opts;
    bool done;
    int64_t *t; /* the result, in the time column's unit */
    double *v;
    uint32_t n, pos;
};

static int tsgen_compute(struct tsgen_op *g, err *er) {
    qctx *q = g->o.q;
    arena *a = q->a;
    int64_t per = 1000000000 / tunit_per_sec((enum tunit)g->o.units[0]);
    uint32_t n = 0, cap = 1024;
    int64_t *t = arena_alloc(a, sizeof *t * cap);
    double *v = arena_alloc(a, sizeof *v * cap);
    batch in;
    int rc;
    while ((rc = g->child->next(g->child, &in, er)) > 0) {
        if (q_check(q, er) < 0) return -1;
        const vec *tv = &in.cols[0], *xv = &in.cols[1];
        for (uint32_t i = 0; i < in.nrows; i++) {
            if (!vec_is_valid(tv, i)) continue; /* no time, no point */
            if (n == cap) {
                if (cap > UINT32_MAX / 2)
                    return err_set(er, 422, EC_QUERY_INTERNAL, "too many points");
                t = arena_realloc(a, t, sizeof *t * cap, sizeof *t * cap * 2);
                v = arena_realloc(a, v, sizeof *v * cap, sizeof *v * cap * 2);
                cap *= 2;
            }
            t[n] = tv->d.i64[i] * per;
            double x = NAN;
            if (xv->type != VT_NULL && vec_is_valid(xv, i))
                x = xv->type == VT_F64   ? xv->d.f64[i]
                    : xv->type == VT_I64 ? (double)xv->d.i64[i]
                                         : (double)xv->d.u64[i];
            v[n++] = x;
        }
        arena_reset(q->ba);
    }
    if (rc < 0) return -1;
    int64_t *ot;
    double *ov;
    uint32_t on;
    if (n == 0) {
        g->n = 0;
        return 0;
    }
    if (tsgen_run(g->kind, &g->opts, a, t, v, n, &ot, &ov, &on, er) < 0) return -1;
    g->t = arena_alloc(a, sizeof *g->t * (on + 1));
    for (uint32_t i = 0; i < on; i++) {
        int64_t x = ot[i], r = x % per;
        g->t[i] = x / per - (r < 0); /* floor: a grid slot between two units goes to the earlier */
    }
    g->v = ov;
    g->n = on;
    return 0;
}

static int tsgen_next(op *o, batch *b, err *er) {
    struct tsgen_op *g = (struct tsgen_op *)o;
    if (!g->done) {
        if (tsgen_compute(g, er) < 0) return -1;
        g->done = true;
    }
    if (g->pos >= g->n) return 0;
    uint32_t n = g->n - g->pos;
    if (n > 4096) n = 4096;
    arena *ba = o->q->ba;
    b->ncols = 2;
    b->nrows = n;
    b->cols = arena_alloc(ba, sizeof *b->cols * 2);
    vec_alloc(ba, VT_TS, o->units[0], n, &b->cols[0]);
    vec_alloc(ba, VT_F64, 0, n, &b->cols[1]);
    memcpy(b->cols[0].d.i64, g->t + g->pos, sizeof(int64_t) * n);
    memcpy(b->cols[1].d.f64, g->v + g->pos, sizeof(double) * n);
    g->pos += n;
    return 1;
}

static void tsgen_close(op *o) {
    struct tsgen_op *g = (struct tsgen_op *)o;
    g->child->close(g->child);
}

op *op_tsgen(qctx *q, op *child, int kind, const struct tsgen_opts *opts) {
    struct tsgen_op *g = arena_calloc(q->a, sizeof *g);
    op_init(&g->o, q, 2);
    op_explain_as(&g->o, "TSGenFuncExec", "TSGenFunc", &g->child, 1);
    g->o.types[0] = VT_TS;
    g->o.units[0] = child->units[0];
    g->o.types[1] = VT_F64;
    g->o.next = tsgen_next;
    g->o.close = tsgen_close;
    g->child = child;
    g->kind = kind;
    g->opts = *opts;
    return &g->o;
}
