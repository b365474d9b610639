/* The expand operator of GROUPING SETS, ROLLUP and CUBE: each input batch comes out once per
 * grouping set, with that set's absent keys NULL and the set's index as a last column, so one
 * hash aggregate over (keys, set index) computes every set in one pass over the input (as
 * DataFusion does). The set index keeps a key that is NULL in the data apart from a key the
 * set leaves out. See ops.h. */
#include "sql/ops_int.h"

#include <string.h>

struct expand_op {
    op o;
    op *child;
    bexpr **keys;
    uint32_t nkeys;
    const uint64_t *sets; /* bit k set: key k is in the set */
    uint32_t nsets;
    /* The current input batch and its keys, in an arena of the operator's own: the batch
     * arena is reset by the aggregate above after each batch it consumes. */
    arena *xa;
    batch in;
    vec *kv;
    uint32_t next_set; /* nsets = read the next input batch */
};

static int expand_next(op *o, batch *b, err *er) {
    struct expand_op *x = (struct expand_op *)o;
    arena *ba = o->q->ba;
    if (x->next_set >= x->nsets) {
        batch in;
        int rc = x->child->next(x->child, &in, er);
        if (rc <= 0) return rc;
        arena_reset(x->xa);
        struct colbuf cb;
        colbuf_init(x->xa, &cb, x->child->ncols, x->child->types, x->child->units);
        colbuf_append(x->xa, &cb, &in);
        x->in = (batch){cb.ncols, cb.n, cb.cols};
        x->kv = arena_alloc(x->xa, sizeof *x->kv * (x->nkeys + 1));
        for (uint32_t k = 0; k < x->nkeys; k++)
            if (bexpr_eval(x->keys[k], &x->in, x->xa, &x->kv[k], er) < 0) return -1;
        x->next_set = 0;
    }
    uint32_t s = x->next_set++, nin = x->child->ncols, n = x->in.nrows;
    b->ncols = o->ncols;
    b->nrows = n;
    b->cols = arena_alloc(ba, sizeof *b->cols * (o->ncols + 1));
    memcpy(b->cols, x->in.cols, sizeof *b->cols * nin);
    for (uint32_t k = 0; k < x->nkeys; k++) {
        if (x->sets[s] >> k & 1)
            b->cols[nin + k] = x->kv[k];
        else
            vec_alloc_null(ba, o->types[nin + k], o->units[nin + k], n, &b->cols[nin + k]);
    }
    value id = {.type = VT_I64};
    id.v.i = s;
    vec_broadcast(ba, &id, n, &b->cols[nin + x->nkeys]);
    return 1;
}

static void expand_close(op *o) {
    struct expand_op *x = (struct expand_op *)o;
    x->child->close(x->child);
    arena_free(x->xa);
    x->xa = NULL;
}

op *op_expand(qctx *q, op *child, bexpr **keys, uint32_t nkeys, const uint64_t *sets,
              uint32_t nsets) {
    struct expand_op *x = arena_calloc(q->a, sizeof *x);
    uint32_t nin = child->ncols;
    op_init(&x->o, q, nin + nkeys + 1);
    op_explain_as(&x->o, "ExpandExec", "Expand", &x->child, 1);
    op_copy_cols(&x->o, 0, child);
    for (uint32_t k = 0; k < nkeys; k++) {
        x->o.types[nin + k] = keys[k]->type;
        x->o.units[nin + k] = keys[k]->unit;
        x->o.has_tz[nin + k] = keys[k]->has_tz;
    }
    x->o.types[nin + nkeys] = VT_I64;
    x->o.next = expand_next;
    x->o.close = expand_close;
    x->child = child;
    x->keys = keys;
    x->nkeys = nkeys;
    x->sets = sets;
    x->nsets = nsets;
    x->next_set = nsets;
    x->xa = arena_new(0);
    arena_set_budget(x->xa, &q->budget);
    return &x->o;
}
