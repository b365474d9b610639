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

#include <pthread.h>
#include <stdatomic.h>
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

struct par *par_split(qctx *q, op *child) {
    uint32_t n = q->parallelism;
    /* EXPLAIN ANALYZE measures the operators of the plan; their parts would go unmeasured */
    if (n < 2 || !child->split || child->stats) return NULL;
    const arena_budget *root = arena_budget_root(&q->budget);
    if (root->limit &&
        (root->held > root->limit || root->limit - root->held < (size_t)n * PART_MIN_ROOM))
        return NULL;
    struct par *p = arena_calloc(q->a, sizeof *p);
    p->q = q;
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
    for (uint32_t i = 0; i < p->q->parallelism; i++) {
        qctx *w = p->qs[i];
        if (!w) continue;
        arena_free(w->a);
        arena_free(w->ba);
        arena_free(w->scratch);
        p->qs[i] = NULL;
    }
}
