/* The hash aggregate: GROUP BY keys hashed to a group index, each aggregate's state per group
 * (agg_state.c), and one output row per group once the input is consumed. See ops.h. */
#include "sql/ops_int.h"

#include "sql/func.h"
#include "sql/keyset.h"
#include "format/format.h"
#include "util/buf.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct agg_op {
    op o;
    op *child;
    bexpr **keys;
    uint32_t nkeys;
    agg_spec *aggs;
    uint32_t naggs;
    bool done;
    keyset *groups;            /* encoded key → group index (query arena) */
    struct colbuf gkeys;       /* one row per group */
    struct agg_state **states; /* per group: naggs states */
    uint32_t ngroups, capgroups;
    uint32_t pos;
    struct par *par; /* the parts of a parallel run, held until close (their states are adopted) */
};

void agg_key_encode(buf *kb, const vec *v, uint32_t i) {
    if (!vec_is_valid(v, i) || v->type == VT_NULL) {
        buf_putc(kb, 0);
        return;
    }
    buf_putc(kb, 1);
    switch (v->type) {
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        buf_put_uvarint(kb, v->d.s[i].len);
        buf_append(kb, v->d.s[i].p, v->d.s[i].len);
        break;
    case VT_BOOL:
        buf_putc(kb, v->d.b[i] ? 1 : 0);
        break;
    case VT_F64: {
        double d = v->d.f64[i];
        if (d == 0) d = 0; /* -0.0 groups with 0.0 */
        /* Every NaN is one group: 0.0 % 0.0 gives the sign-set NaN of the FPU, 'NaN' a positive
         * one, and both print alike (SQL fuzzer finding 025). */
        if (isnan(d)) d = NAN;
        buf_append(kb, &d, 8);
        break;
    }
    case VT_INTERVAL:
        buf_append(kb, &v->d.iv[i], sizeof(interval));
        break;
    case VT_DEC128:
        buf_append(kb, &v->d.dec[i], sizeof(dec128));
        break;
    default:
        buf_append(kb, &v->d.i64[i], 8);
    }
}

/* Whether row i has the same group key values as row i-1. */
static bool same_keys(const vec *kv, uint32_t nkeys, uint32_t i) {
    for (uint32_t k = 0; k < nkeys; k++) {
        const vec *v = &kv[k];
        bool a = vec_is_valid(v, i - 1), b = vec_is_valid(v, i);
        if (a != b) return false;
        if (!a || v->type == VT_NULL) continue;
        switch (v->type) {
        case VT_STR:
        case VT_LIST:
        case VT_STRUCT: {
            strv x = v->d.s[i - 1], y = v->d.s[i];
            if (x.len != y.len || (x.p != y.p && memcmp(x.p, y.p, x.len) != 0)) return false;
            break;
        }
        case VT_BOOL:
            if (v->d.b[i - 1] != v->d.b[i]) return false;
            break;
        case VT_INTERVAL:
            if (memcmp(&v->d.iv[i - 1], &v->d.iv[i], sizeof(interval)) != 0) return false;
            break;
        case VT_DEC128:
            if (memcmp(&v->d.dec[i - 1], &v->d.dec[i], sizeof(dec128)) != 0) return false;
            break;
        case VT_F64:
            /* NaN and -0.0 need the hashed path's normalisation */
            if (!(v->d.f64[i - 1] == v->d.f64[i]) || v->d.f64[i] == 0) return false;
            break;
        default:
            if (v->d.i64[i - 1] != v->d.i64[i]) return false;
        }
    }
    return true;
}

/* Group index of each of the batch's nrows rows into gidx (key vectors kv); a new group gets its
 * states and its key row. */
static void assign_groups(struct agg_op *g, vec *kv, uint32_t nrows, uint32_t *gidx, buf *kb,
                          arena *ba) {
    arena *qa = g->o.q->a;
    uint32_t *newrows = arena_alloc(ba, sizeof *newrows * nrows);
    uint32_t nnew = 0;
    for (uint32_t i = 0; i < nrows; i++) {
        /* Rows usually arrive in runs of one group (a series' rows, a time bucket): reuse
         * the previous row's group without hashing. */
        if (i > 0 && same_keys(kv, g->nkeys, i)) {
            gidx[i] = gidx[i - 1];
            continue;
        }
        buf_reset(kb);
        for (uint32_t k = 0; k < g->nkeys; k++) agg_key_encode(kb, &kv[k], i);
        bool ins;
        uint32_t *slot = keyset_upsert(g->groups, kb->p, (uint32_t)kb->len, &ins);
        if (ins) {
            if (g->ngroups == g->capgroups) {
                uint32_t nc = g->capgroups ? g->capgroups * 2 : 64;
                g->states = arena_realloc(qa, g->states, sizeof *g->states * g->capgroups,
                                          sizeof *g->states * nc);
                g->capgroups = nc;
            }
            /* none for DISTINCT: a group is its key */
            g->states[g->ngroups] =
                g->naggs ? arena_calloc(qa, sizeof **g->states * g->naggs) : NULL;
            *slot = g->ngroups++;
            newrows[nnew++] = i;
        }
        gidx[i] = *slot;
    }
    if (nnew) {
        batch kbatch = {g->nkeys, nrows, kv}, sel;
        batch_take(ba, &kbatch, newrows, nnew, &sel);
        colbuf_append(qa, &g->gkeys, &sel);
    }
}

/* The empty group table (and, without GROUP BY, its one group). */
static void agg_tables_init(struct agg_op *g) {
    arena *qa = g->o.q->a;
    g->groups = keyset_new(qa, 64);
    uint8_t *kt = arena_alloc(qa, g->nkeys + 1), *ku = arena_alloc(qa, g->nkeys + 1);
    for (uint32_t k = 0; k < g->nkeys; k++) {
        kt[k] = g->keys[k]->type;
        ku[k] = g->keys[k]->unit;
    }
    colbuf_init(qa, &g->gkeys, g->nkeys, kt, ku);
    if (g->nkeys == 0) {
        /* No GROUP BY: exactly one group, even over no rows. */
        g->states = arena_calloc(qa, sizeof *g->states);
        g->states[0] = g->naggs ? arena_calloc(qa, sizeof **g->states * g->naggs) : NULL;
        g->ngroups = 1;
    }
}

/* Reads the whole input into the groups' states. */
static int agg_consume(struct agg_op *g, err *er) {
    op *o = &g->o;
    arena *qa = o->q->a;
    agg_tables_init(g);
    buf kb;
    buf_init(&kb);
    vec *kv = arena_alloc(qa, sizeof *kv * (g->nkeys + 1));
    vec *av = arena_alloc(qa, sizeof *av * (g->naggs + 1));
    vec *av2 = arena_alloc(qa, sizeof *av2 * (g->naggs + 1));
    uint32_t *gidx = NULL;
    uint32_t gcap = 0;
    int rc;
    batch in;
    while ((rc = g->child->next(g->child, &in, er)) > 0) {
        if (q_check(o->q, er) < 0) goto fail;
        arena *ba = o->q->ba;
        for (uint32_t k = 0; k < g->nkeys; k++)
            if (bexpr_eval(g->keys[k], &in, ba, &kv[k], er) < 0) goto fail;
        for (uint32_t k = 0; k < g->naggs; k++) {
            if (g->aggs[k].arg && bexpr_eval(g->aggs[k].arg, &in, ba, &av[k], er) < 0) goto fail;
            if (g->aggs[k].arg2 && bexpr_eval(g->aggs[k].arg2, &in, ba, &av2[k], er) < 0) goto fail;
        }
        if (in.nrows > gcap) {
            gcap = in.nrows;
            gidx = xrealloc(gidx, sizeof *gidx * gcap);
        }
        if (g->nkeys)
            assign_groups(g, kv, in.nrows, gidx, &kb, ba);
        else
            memset(gidx, 0, sizeof *gidx * in.nrows);
        /* Runs of rows of one group go through the range update: found once for all the
         * aggregates (ten averages walked the group indexes ten times). runs[r] is the first
         * row of run r; runs[nruns] = nrows. */
        uint32_t *runs = arena_alloc(ba, sizeof *runs * (in.nrows + 1));
        uint32_t nruns = 0;
        for (uint32_t i = 0; i < in.nrows; i++)
            if (i == 0 || gidx[i] != gidx[i - 1]) runs[nruns++] = i;
        runs[nruns] = in.nrows;
        for (uint32_t k = 0; k < g->naggs; k++) {
            const agg_spec *sp = &g->aggs[k];
            for (uint32_t r = 0; r < nruns; r++)
                agg_state_update_range(qa, sp, &g->states[gidx[runs[r]]][k],
                                       sp->arg ? &av[k] : NULL, sp->arg2 ? &av2[k] : NULL, runs[r],
                                       runs[r + 1]);
        }
        arena_reset(o->q->ba);
    }
    free(gidx);
    buf_free(&kb);
    /* the table stays: a parallel run's first part hands it on (agg_consume_parallel) */
    return rc < 0 ? -1 : 0;
fail:
    free(gidx);
    buf_free(&kb);
    g->groups = NULL;
    return -1;
}

/* ---- parallel: each part of the input aggregated on its own thread, then merged ---- */

static int part_consume(void *arg, uint32_t i, err *er) {
    struct agg_op **w = arg;
    return agg_consume(w[i], er);
}

/* Adds part w's groups to g's, in w's order: a group new to g adopts w's states (they live in
 * w's arena until close), one g already has merges them. Parts merged in order give the
 * groups in the order a serial run meets them. */
static void merge_part(struct agg_op *g, struct agg_op *w, buf *kb) {
    arena *qa = g->o.q->a;
    if (g->nkeys == 0) {
        for (uint32_t k = 0; k < g->naggs; k++)
            agg_state_merge(qa, &g->aggs[k], &g->states[0][k], &w->states[0][k]);
        return;
    }
    uint32_t *newrows = arena_alloc(qa, sizeof *newrows * (w->ngroups + 1));
    uint32_t nnew = 0;
    for (uint32_t r = 0; r < w->ngroups; r++) {
        buf_reset(kb);
        for (uint32_t k = 0; k < g->nkeys; k++) agg_key_encode(kb, &w->gkeys.cols[k], r);
        bool ins;
        uint32_t *slot = keyset_upsert(g->groups, kb->p, (uint32_t)kb->len, &ins);
        if (!ins) {
            for (uint32_t k = 0; k < g->naggs; k++)
                agg_state_merge(qa, &g->aggs[k], &g->states[*slot][k], &w->states[r][k]);
            continue;
        }
        if (g->ngroups == g->capgroups) {
            uint32_t nc = g->capgroups ? g->capgroups * 2 : 64;
            g->states = arena_realloc(qa, g->states, sizeof *g->states * g->capgroups,
                                      sizeof *g->states * nc);
            g->capgroups = nc;
        }
        g->states[g->ngroups] = w->states[r];
        *slot = g->ngroups++;
        newrows[nnew++] = r;
    }
    if (nnew) {
        batch all = {g->nkeys, w->gkeys.n, w->gkeys.cols}, sel;
        batch_take(qa, &all, newrows, nnew, &sel);
        colbuf_append(qa, &g->gkeys, &sel);
    }
}

/* The input split into parts aggregated at once; 0 = done, 1 = it does not split (run
 * serially), -1 = error. */
static int agg_consume_parallel(struct agg_op *g, err *er) {
    g->par = par_split(g->o.q, g->child);
    if (!g->par) return 1;
    qctx **qs;
    op **parts;
    uint32_t n = par_parts(g->par, &qs, &parts);
    struct agg_op **w = arena_alloc(g->o.q->a, sizeof *w * n);
    for (uint32_t i = 0; i < n; i++)
        w[i] = (struct agg_op *)op_agg(qs[i], parts[i], g->keys, g->nkeys, g->aggs, g->naggs);
    if (par_run(g->par, part_consume, w, er) < 0) return -1;
    /* The first part's groups, in its order, are the start of the serial order: adopt its
     * table, keys and states whole (they live in its arena until close) and merge the rest
     * into them, instead of inserting every group of every part into a new table. */
    buf kb;
    buf_init(&kb);
    if (g->nkeys && w[0]->groups) {
        g->groups = w[0]->groups;
        g->gkeys = w[0]->gkeys;
        g->states = w[0]->states;
        g->ngroups = w[0]->ngroups;
        g->capgroups = w[0]->capgroups;
    } else {
        agg_tables_init(g);
    }
    for (uint32_t i = g->groups == w[0]->groups && g->nkeys ? 1 : 0; i < n; i++) {
        if (q_check(g->o.q, er) < 0) {
            buf_free(&kb);
            return -1;
        }
        merge_part(g, w[i], &kb);
    }
    buf_free(&kb);
    g->groups = NULL;
    return 0;
}

static int agg_next(op *o, batch *b, err *er) {
    struct agg_op *g = (struct agg_op *)o;
    if (!g->done) {
        for (uint32_t k = 0; k < g->naggs; k++)
            if (agg_exec_check(&g->aggs[k], er) < 0) return -1;
        int rc = agg_consume_parallel(g, er);
        if (rc > 0) rc = agg_consume(g, er);
        if (rc < 0) return -1;
        g->done = true;
    }
    if (g->pos >= g->ngroups) return 0;
    uint32_t n = g->ngroups - g->pos;
    if (n > 4096) n = 4096;
    arena *ba = o->q->ba;
    b->ncols = o->ncols;
    b->nrows = n;
    b->cols = arena_alloc(ba, sizeof *b->cols * o->ncols);
    if (g->nkeys) {
        uint32_t *idx = arena_alloc(ba, sizeof *idx * n);
        for (uint32_t i = 0; i < n; i++) idx[i] = g->pos + i;
        batch all = {g->nkeys, g->gkeys.n, g->gkeys.cols}, sel;
        batch_take(ba, &all, idx, n, &sel);
        memcpy(b->cols, sel.cols, sizeof *b->cols * g->nkeys);
    }
    for (uint32_t k = 0; k < g->naggs; k++) {
        vec *v = &b->cols[g->nkeys + k];
        vec_alloc(ba, g->aggs[k].type, g->aggs[k].unit, n, v);
        memset(v->d.raw, 0, vtype_size(v->type) * n);
        for (uint32_t i = 0; i < n && agg_kind_checked(g->aggs[k].kind); i++)
            if (agg_quality_check(&g->aggs[k], &g->states[g->pos + i][k], ba, er) < 0) return -1;
        for (uint32_t i = 0; i < n; i++)
            agg_state_final(&g->aggs[k], &g->states[g->pos + i][k], v, i, ba);
    }
    g->pos += n;
    return 1;
}

static void agg_close(op *o) {
    struct agg_op *g = (struct agg_op *)o;
    par_free(g->par); /* the parts first: they share what the child holds */
    g->par = NULL;
    g->child->close(g->child);
}

/* An aggregate's arguments as the call wrote them: array_agg's key as ` ORDER BY [...]`, the
 * percentiles' constants as literals. */
static void describe_args(buf *b, const agg_spec *sp, const ex_cols *in, const char *sep) {
    const bexpr *x = sp->arg, *y = sp->arg2;
    if (!x) {
        buf_puts(b, "*)");
        return;
    }
    if (sp->kind == AGG_ARRAY_AGG) y = NULL;
    ex_expr(b, x, in, false);
    if (y) {
        buf_puts(b, sep);
        ex_expr(b, y, in, false);
    }
    if (sp->kind == AGG_APPROX_PCT || sp->kind == AGG_APPROX_PCT_W) {
        char tmp[48];
        tmp[fmt_double(tmp, sp->param)] = 0;
        buf_printf(b, "%sFloat64(%s)", sep, tmp);
        if (sp->param2) buf_printf(b, "%sInt64(%lld)", sep, (long long)sp->param2);
    }
    buf_putc(b, ')');
    if (sp->kind == AGG_ARRAY_AGG && sp->arg2) {
        buf_puts(b, " ORDER BY [");
        ex_expr(b, sp->arg2, in, false);
        buf_puts(b, sp->order_desc ? " DESC" : " ASC");
        buf_puts(b, sp->order_nulls_first ? " NULLS FIRST]" : " NULLS LAST]");
    }
}

/* Aggregate: the group keys, then each aggregate by its display name (`COUNT(cpu.usage)`),
 * which also names its output column. One phase: mode=Single. */
static void agg_describe(const op *o, op_explain *x) {
    const struct agg_op *g = (const struct agg_op *)o;
    const ex_cols *in = &x->in[0];
    x->lname = "Aggregate";
    x->pname = "AggregateExec";
    buf_puts(&x->ld, "groupBy=[[");
    buf_puts(&x->pd, "mode=Single, gby=[");
    for (uint32_t k = 0; k < g->nkeys; k++) {
        ex_expr_col(x->a, g->keys[k], in, x->alias ? x->alias[k] : NULL, &x->out, k);
        if (k) {
            buf_puts(&x->ld, ", ");
            buf_puts(&x->pd, ", ");
        }
        ex_expr(&x->ld, g->keys[k], in, false);
        ex_expr(&x->pd, g->keys[k], in, true);
        buf_printf(&x->pd, " as %s", x->out.pname[k]);
    }
    buf_puts(&x->ld, "]], aggr=[[");
    buf_puts(&x->pd, "], aggr=[");
    buf nm;
    buf_init(&nm);
    for (uint32_t k = 0; k < g->naggs; k++) {
        /* the column is named with its arguments joined by "," (DataFusion's create_name),
         * the logical plan displays them joined by ", " */
        const agg_spec *sp = &g->aggs[k];
        buf_printf(&x->ld, "%s%s(%s", k ? ", " : "", agg_display(sp->kind),
                   sp->distinct ? "DISTINCT " : "");
        buf_printf(&nm, "%s(%s", agg_display(sp->kind), sp->distinct ? "DISTINCT " : "");
        describe_args(&x->ld, sp, in, ", ");
        describe_args(&nm, sp, in, ",");
        const char *name = arena_strndup(x->a, nm.p, nm.len);
        x->out.lname[g->nkeys + k] = x->out.pname[g->nkeys + k] = name;
        buf_printf(&x->pd, "%s%s", k ? ", " : "", name);
        buf_reset(&nm);
    }
    buf_free(&nm);
    buf_puts(&x->ld, "]]");
    buf_putc(&x->pd, ']');
}

/* lastpoint: last(time, column) and max(time) and nothing else, grouped by tags only, straight
 * over a scan,
 * needs of each series only its newest row per column: the scan reads no more (op_scan_newest).
 * A group holds whole series (its keys are tags), so the newest rows of its series give its
 * answer. */
static void agg_try_newest(struct agg_op *g) {
    if (!g->naggs) return;
    for (uint32_t k = 0; k < g->naggs; k++) {
        const agg_spec *sp = &g->aggs[k];
        if (sp->distinct || !sp->arg || sp->arg->kind != BX_COL || sp->arg->col != 0) return;
        /* max(time) is the time of a series' newest row, which the newest rows hold */
        if (sp->kind == AGG_MAX) continue;
        if (sp->kind != AGG_LAST || sp->arg2->kind != BX_COL) return;
    }
    uint32_t *cols = arena_alloc(g->o.q->a, sizeof *cols * (g->nkeys + 1));
    for (uint32_t k = 0; k < g->nkeys; k++) {
        if (g->keys[k]->kind != BX_COL) return;
        cols[k] = g->keys[k]->col;
    }
    op_scan_newest(g->child, cols, g->nkeys);
}

op *op_agg(qctx *q, op *child, bexpr **keys, uint32_t nkeys, agg_spec *aggs, uint32_t naggs) {
    struct agg_op *g = arena_calloc(q->a, sizeof *g);
    op_init(&g->o, q, nkeys + naggs);
    for (uint32_t k = 0; k < nkeys; k++) {
        g->o.types[k] = keys[k]->type;
        g->o.units[k] = keys[k]->unit;
        g->o.has_tz[k] = keys[k]->has_tz;
    }
    for (uint32_t k = 0; k < naggs; k++) {
        g->o.types[nkeys + k] = aggs[k].type;
        g->o.units[nkeys + k] = aggs[k].unit;
    }
    g->o.next = agg_next;
    g->o.close = agg_close;
    g->child = child;
    op_explain_child(&g->o, agg_describe, &g->child);
    g->keys = keys;
    g->nkeys = nkeys;
    g->aggs = aggs;
    g->naggs = naggs;
    agg_try_newest(g);
    return &g->o;
}
