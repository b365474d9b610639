/* Parallel execution: an operator's input split into parts, each run on its own thread.
 *
 * Shape: a blocking operator (the hash aggregate) asks par_split for its input in parts. The
 * input splits when its leaf does (a table scan: engine_scan_split shares out consecutive
 * runs of (series, vnode)) and every operator above the leaf can be rebuilt over a part
 * (filters, projections: op.split). Each part runs in a worker context of its own: its own
 * statement and batch arenas, charged to a budget whose parent is the query's, so the query's
 * memory limit and deadline bound all its threads together. The caller's thread runs part 0
 * and one thread per other part is started for the run; the operator then merges what the
 * parts produced, in part order, which is the serial plan's order.
 *
 * Failure: the first part to fail cancels the others (arena_budget.cancelled, seen by their
 * next q_check or budget check) and its error is the run's. Nothing a worker holds is freed
 * until par_free, so results built in worker arenas (aggregate states) can be adopted by the
 * merge without copying.
 *
 * Threads are started per run, not pooled: a run is a whole scan of at least two (series,
 * vnode) units, against which thread start-up (tens of microseconds) is small. The server's
 * extra threads are capped at one per core over all queries: a part that finds no thread
 * free runs on the caller's thread, so many heavy queries at once do not multiply threads. */
#include "sql/ops_int.h"

#include "util/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic int extra_threads; /* running part threads, over all queries */

static bool thread_take(void) {
    static _Atomic long cap;
    long c = atomic_load(&cap);
    if (!c) {
        c = sysconf(_SC_NPROCESSORS_ONLN);
        if (c < 1) c = 1;
        atomic_store(&cap, c);
    }
    int cur = atomic_load(&extra_threads);
    while (cur < c)
        if (atomic_compare_exchange_weak(&extra_threads, &cur, cur + 1)) return true;
    return false;
}

static void thread_give(void) {
    atomic_fetch_sub(&extra_threads, 1);
}

struct par {
    qctx *q;
    uint32_t n;
    uint32_t nq; /* worker contexts allocated (qs[0..nq), NULL once freed) */
    qctx **qs;
    op **parts;
};

struct par_job {
    struct par *p;
    uint32_t i;
    int (*fn)(void *arg, uint32_t i, err *er);
    void *arg;
    err er;
    int rc;
    _Atomic int *first_failed;
};

/* Room a part needs at least (its arenas, a batch in flight, a small group table): a query
 * whose memory limit leaves less per part stays serial rather than fail for its threads. */
#define PART_MIN_ROOM (1u << 20)

/* child in up to n parts. */
static struct par *par_split_n(qctx *q, op *child, uint32_t n) {
    /* EXPLAIN ANALYZE measures the operators of the plan; their parts would go unmeasured */
    if (q->parallelism < 2 || n < 2 || !child->split || child->stats) return NULL;
    const arena_budget *root = arena_budget_root(&q->budget);
    if (root->limit && (root->held > root->limit ||
                        root->limit - root->held < (size_t)q->parallelism * PART_MIN_ROOM))
        return NULL;
    struct par *p = arena_calloc(q->a, sizeof *p);
    p->q = q;
    p->nq = n;
    p->qs = arena_calloc(q->a, sizeof *p->qs * n);
    p->parts = arena_calloc(q->a, sizeof *p->parts * n);
    for (uint32_t i = 0; i < n; i++) {
        qctx *w = arena_calloc(q->a, sizeof *w);
        w->budget.parent = &q->budget;
        /* small blocks: a part that groups a few rows holds a few KiB, not 64 */
        w->a = arena_new(16 << 10);
        w->ba = arena_new(16 << 10);
        arena_set_budget(w->a, &w->budget);
        arena_set_budget(w->ba, &w->budget);
        w->parallelism = 1;
        p->qs[i] = w;
    }
    p->n = child->split(child, p->qs, n, p->parts);
    if (p->n < 2) {
        if (p->n == 1) p->parts[0]->close(p->parts[0]);
        p->n = 0;
        par_free(p);
        return NULL;
    }
    for (uint32_t i = p->n; i < n; i++) {
        /* unused contexts: the split made fewer parts than asked */
        arena_free(p->qs[i]->a);
        arena_free(p->qs[i]->ba);
        p->qs[i] = NULL;
    }
    return p;
}

struct par *par_split(qctx *q, op *child) {
    return par_split_n(q, child, q->parallelism);
}

uint32_t par_parts(const struct par *p, qctx ***qs, op ***parts) {
    *qs = p->qs;
    *parts = p->parts;
    return p->n;
}

static void *job_main(void *arg) {
    struct par_job *j = arg;
    j->rc = j->fn(j->arg, j->i, &j->er);
    if (j->rc < 0) {
        int none = -1;
        if (atomic_compare_exchange_strong(j->first_failed, &none, (int)j->i))
            for (uint32_t k = 0; k < j->p->n; k++)
                atomic_store(&j->p->qs[k]->budget.cancelled, true);
    }
    return NULL;
}

int par_run(struct par *p, int (*fn)(void *arg, uint32_t i, err *er), void *arg, err *er) {
    struct par_job *jobs = arena_calloc(p->q->a, sizeof *jobs * p->n);
    pthread_t *th = arena_calloc(p->q->a, sizeof *th * p->n);
    bool *started = arena_calloc(p->q->a, p->n);
    _Atomic int first_failed = -1;
    for (uint32_t i = 0; i < p->n; i++)
        jobs[i] = (struct par_job){p, i, fn, arg, {0}, 0, &first_failed};
    for (uint32_t i = 1; i < p->n; i++) {
        if (!thread_take()) continue;
        started[i] = pthread_create(&th[i], NULL, job_main, &jobs[i]) == 0;
        if (!started[i]) thread_give();
    }
    job_main(&jobs[0]);
    /* a part whose thread could not start runs here, after the caller's own */
    for (uint32_t i = 1; i < p->n; i++)
        if (!started[i]) job_main(&jobs[i]);
    for (uint32_t i = 1; i < p->n; i++)
        if (started[i]) {
            pthread_join(th[i], NULL);
            thread_give();
        }
    int f = atomic_load(&first_failed);
    if (f < 0) return 0;
    *er = jobs[f].er;
    return -1;
}

void par_free(struct par *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->n; i++) p->parts[i]->close(p->parts[i]);
    p->n = 0;
    for (uint32_t i = 0; i < p->nq; i++) {
        qctx *w = p->qs[i];
        if (!w) continue;
        arena_free(w->a);
        arena_free(w->ba);
        arena_free(w->scratch);
        p->qs[i] = NULL;
    }
}

/* ---- gather: a streaming input run on several threads, its rows in their order ----
 *
 * The input is cut into more parts ("morsels") than there are threads. The caller's thread
 * streams the morsel due next straight through; helper threads run the morsels after it
 * ahead of time, each into a queue of batches copied out of the morsel's batch arena. Rows
 * come out in morsel order, which is the serial plan's order. Memory stays bounded: a helper
 * starts no morsel more than GATHER_AHEAD past the one being read, and a morsel's queue
 * holds at most GATHER_QUEUE_BYTES before its helper waits for the reader. The copies live
 * in arenas of their own under the query's budget, each freed once read. */

#define GATHER_MORSELS_PER_THREAD 8
#define GATHER_AHEAD 4
#define GATHER_QUEUE_BYTES (8u << 20)

struct gbatch {
    struct gbatch *next;
    arena *a; /* holds the copy (NULL when encoded) */
    batch b;  /* encoded: nrows only */
    buf text; /* the batch's encoding, when the gather has an encode function */
    bool encoded;
    size_t bytes;
};

/* PAUSED: run ahead by the reader, which stopped when its queue filled (it cannot wait for
 * itself to read); the reader carries on with it, inline, when it comes due. */
enum { GM_WAITING, GM_RUNNING, GM_PAUSED, GM_DONE };

struct morsel {
    uint8_t state;
    bool inline_run; /* the reader streams it itself */
    struct gbatch *head, *tail;
    size_t queued;
    int rc;
    err er;
};

struct gather_op {
    op o;
    op *child;
    bool started, serial;
    struct par *par;
    struct morsel *m;
    uint32_t n;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a morsel was queued to, finished, or read from; or stop */
    uint32_t take;     /* next morsel no thread has started */
    uint32_t emit;     /* the morsel being read */
    bool stop;
    pthread_t *th;
    uint32_t nth;
    struct gbatch *held; /* the copy last handed out, freed at the next call */
    sql_encode_fn enc;   /* helpers encode their batches (op_gather_encode), or NULL */
    void *enc_ctx;
};

static void gbatch_free(struct gbatch *gb) {
    if (!gb) return;
    if (gb->encoded) {
        buf_free(&gb->text);
        free(gb);
    } else {
        arena_free(gb->a);
    }
}

/* b's rows encoded by the gather's encode function. */
static struct gbatch *gbatch_encode(struct gather_op *g, const batch *b) {
    struct gbatch *gb = xcalloc(1, sizeof *gb);
    gb->encoded = true;
    gb->b.nrows = b->nrows;
    buf_init(&gb->text);
    g->enc(g->enc_ctx, b, &gb->text);
    gb->bytes = gb->text.len;
    return gb;
}

/* A copy of b in its own arena (strings too: they may point into the batch arena). */
static struct gbatch *gbatch_copy(const batch *b, arena_budget *budget) {
    arena *a = arena_new(0);
    arena_set_budget(a, budget);
    struct gbatch *g = arena_calloc(a, sizeof *g);
    g->a = a;
    g->b.ncols = b->ncols;
    g->b.nrows = b->nrows;
    g->b.cols = arena_alloc(a, sizeof *g->b.cols * (b->ncols ? b->ncols : 1));
    for (uint32_t c = 0; c < b->ncols; c++) {
        const vec *s = &b->cols[c];
        vec *d = &g->b.cols[c];
        *d = *s;
        size_t sz = vtype_size(s->type) * b->nrows;
        if (s->type != VT_NULL && sz) {
            d->d.raw = arena_alloc(a, sz);
            memcpy(d->d.raw, s->d.raw, sz);
        }
        if (s->valid) {
            d->valid = arena_alloc(a, bitmap_bytes(b->nrows) ? bitmap_bytes(b->nrows) : 1);
            memcpy(d->valid, s->valid, bitmap_bytes(b->nrows));
        }
        if (vtype_is_bytes(s->type)) {
            size_t total = 0;
            for (uint32_t i = 0; i < b->nrows; i++) total += s->d.s[i].len;
            char *chars = arena_alloc(a, total ? total : 1);
            for (uint32_t i = 0; i < b->nrows; i++) {
                uint32_t len = s->d.s[i].len;
                if (len) memcpy(chars, s->d.s[i].p, len);
                d->d.s[i] = (strv){len ? chars : "", len};
                chars += len;
            }
        }
    }
    g->bytes = arena_used(a);
    return g;
}

/* Runs morsel i into its queue: on a helper, or (reader) on the reading thread while the
 * morsel due is on a helper. Called and returns with mu held. */
static void morsel_fill(struct gather_op *g, uint32_t i, qctx *w, op *part, bool reader) {
    struct morsel *m = &g->m[i];
    int rc;
    for (;;) {
        pthread_mutex_unlock(&g->mu);
        batch b;
        err er = {0};
        rc = part->next(part, &b, &er);
        struct gbatch *gb = NULL;
        if (rc > 0) {
            gb = g->enc ? gbatch_encode(g, &b) : gbatch_copy(&b, &g->o.q->budget);
            arena_reset(w->ba);
            if (q_check(w, &er) < 0) rc = -1;
        }
        pthread_mutex_lock(&g->mu);
        if (rc < 0) {
            gbatch_free(gb);
            m->rc = -1;
            m->er = er;
            break;
        }
        if (rc == 0) break;
        if (m->tail)
            m->tail->next = gb;
        else
            m->head = gb;
        m->tail = gb;
        m->queued += gb->bytes;
        pthread_cond_broadcast(&g->cv);
        if (reader && m->queued > GATHER_QUEUE_BYTES) {
            m->state = GM_PAUSED;
            return;
        }
        while (m->queued > GATHER_QUEUE_BYTES && !g->stop) pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop) break;
    }
    m->state = GM_DONE;
    pthread_cond_broadcast(&g->cv);
}

static void *gather_main(void *arg) {
    struct gather_op *g = arg;
    qctx **qs;
    op **parts;
    par_parts(g->par, &qs, &parts);
    pthread_mutex_lock(&g->mu);
    while (!g->stop && g->take < g->n) {
        if (g->take > g->emit + GATHER_AHEAD) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        uint32_t i = g->take++;
        g->m[i].state = GM_RUNNING;
        morsel_fill(g, i, qs[i], parts[i], false);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static bool gather_start(struct gather_op *g) {
    qctx *q = g->o.q;
    g->par = par_split_n(q, g->child, q->parallelism * GATHER_MORSELS_PER_THREAD);
    if (!g->par) return false;
    qctx **qs;
    op **parts;
    g->n = par_parts(g->par, &qs, &parts);
    g->m = arena_calloc(q->a, sizeof *g->m * g->n);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->th = arena_calloc(q->a, sizeof *g->th * q->parallelism);
    for (uint32_t i = 1; i < q->parallelism; i++) {
        if (!thread_take()) break;
        if (pthread_create(&g->th[g->nth], NULL, gather_main, g) != 0) {
            thread_give();
            break;
        }
        g->nth++;
    }
    return true;
}

static int gather_next_text(op *o, batch *b, const buf **text, err *er) {
    struct gather_op *g = (struct gather_op *)o;
    *text = NULL;
    if (!g->started) {
        g->started = true;
        g->serial = !gather_start(g);
    }
    if (g->serial) return g->child->next(g->child, b, er);
    gbatch_free(g->held);
    g->held = NULL;
    qctx **qs;
    op **parts;
    par_parts(g->par, &qs, &parts);
    pthread_mutex_lock(&g->mu);
    while (g->emit < g->n) {
        struct morsel *m = &g->m[g->emit];
        if (m->state == GM_WAITING && g->take == g->emit) {
            /* nobody runs it yet: the reader streams it without copies */
            g->take++;
            m->state = GM_RUNNING;
            m->inline_run = true;
        }
        if (m->head) {
            struct gbatch *gb = m->head;
            m->head = gb->next;
            if (!m->head) m->tail = NULL;
            m->queued -= gb->bytes;
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            g->held = gb;
            *b = gb->b;
            if (gb->encoded) *text = &gb->text;
            return 1;
        } else if (m->state == GM_PAUSED) {
            /* what the reader queued of it is read: the rest streams */
            m->state = GM_RUNNING;
            m->inline_run = true;
            continue;
        } else if (m->inline_run && m->state != GM_DONE) {
            pthread_mutex_unlock(&g->mu);
            arena_reset(qs[g->emit]->ba);
            int rc = parts[g->emit]->next(parts[g->emit], b, er);
            if (rc != 0) return rc;
            pthread_mutex_lock(&g->mu);
            m->state = GM_DONE;
        } else if (m->state != GM_DONE) {
            /* the morsel due runs on a helper: rather than wait for it, run one ahead too */
            if (g->take < g->n && g->take <= g->emit + GATHER_AHEAD) {
                uint32_t i = g->take++;
                g->m[i].state = GM_RUNNING;
                morsel_fill(g, i, qs[i], parts[i], true);
            } else {
                pthread_cond_wait(&g->cv, &g->mu);
            }
            continue;
        } else if (m->rc < 0) {
            *er = m->er;
            pthread_mutex_unlock(&g->mu);
            return -1;
        }
        g->emit++;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static int gather_next(op *o, batch *b, err *er) {
    const buf *text;
    /* without an encode function no batch comes back encoded */
    return gather_next_text(o, b, &text, er);
}

int op_gather_next_text(op *o, batch *b, const buf **text, err *er) {
    if (o->next != gather_next) {
        *text = NULL;
        return o->next(o, b, er);
    }
    return gather_next_text(o, b, text, er);
}

bool op_gather_encode(op *o, sql_encode_fn fn, void *ctx) {
    if (o->next != gather_next) return false;
    struct gather_op *g = (struct gather_op *)o;
    if (g->started) return false;
    g->enc = fn;
    g->enc_ctx = ctx;
    return true;
}

static void gather_close(op *o) {
    struct gather_op *g = (struct gather_op *)o;
    if (g->par) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        /* a helper inside a morsel's next() stops at its next q_check */
        for (uint32_t i = 0; i < g->n; i++) atomic_store(&g->par->qs[i]->budget.cancelled, true);
        for (uint32_t i = 0; i < g->nth; i++) {
            pthread_join(g->th[i], NULL);
            thread_give();
        }
        for (uint32_t i = 0; i < g->n; i++)
            for (struct gbatch *gb = g->m[i].head, *nx; gb; gb = nx) {
                nx = gb->next;
                gbatch_free(gb);
            }
        gbatch_free(g->held);
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
        par_free(g->par);
    }
    g->child->close(g->child);
}

op *op_gather(qctx *q, op *child) {
    if (q->parallelism < 2 || !child->split) return child;
    struct gather_op *g = arena_calloc(q->a, sizeof *g);
    op_init(&g->o, q, child->ncols);
    op_copy_cols(&g->o, 0, child);
    g->o.next = gather_next;
    g->o.close = gather_close;
    g->child = child;
    op_explain_as(&g->o, NULL, NULL, &g->child, 1);
    return &g->o;
}
