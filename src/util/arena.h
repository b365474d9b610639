/* Region allocator: one per request and one per query.
 *
 * Everything a request or query allocates while it runs comes from its arena and is released
 * at once by arena_free, so no code on those paths frees piecemeal. Allocations are 16-byte
 * aligned. An arena is used by one thread at a time. Large allocations get their own block so
 * a single big body does not waste a block's tail. arena_used reports the bytes handed out.
 *
 * Budgets: arenas that serve one query share an arena_budget, which every block they malloc
 * is charged to and every block they free is credited back, so the query layer compares what
 * the query really holds (its statement, batch, sort and scratch arenas together) with its
 * memory limit. A budget may have a parent: a worker thread of a parallel query charges its
 * own budget and, through it, the query's, so the query's limit bounds all its threads
 * together. The counters are atomics, so arenas of one budget tree may be used by different
 * threads at once (each arena still by one thread at a time). */
#ifndef STRATA_UTIL_ARENA_H
#define STRATA_UTIL_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct arena arena;

arena *arena_new(size_t block_size); /* 0 = default (64 KiB) */
void arena_free(arena *a);
void arena_reset(arena *a); /* drops everything but keeps the first block */
void *arena_alloc(arena *a, size_t n);
void *arena_calloc(arena *a, size_t n);
/* Grows the most recent allocation in place when possible, else copies. */
void *arena_realloc(arena *a, void *p, size_t old_n, size_t new_n);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t arena_used(const arena *a);

typedef struct arena_budget {
    _Atomic size_t held; /* bytes of the blocks the charged arenas (and child budgets') hold */
    size_t limit;        /* 0 = none */
    /* The owner's wall-clock deadline (monotonic ns, 0 = none). Arenas only carry it, so that
     * code which reaches the query through nothing but its arena (expression kernels) can
     * check for cancellation too. */
    int64_t deadline_ns;
    /* Also charge the blocks to the server-wide budget (util/membudget.h, kind query), so that
     * what queries hold counts beside bodies, caches and the index. */
    bool server;
    /* The budget this one is part of (NULL = a root): every charge goes up the chain, and
     * the limit, deadline and server flag that count are the root's (arena_budget_root). */
    struct arena_budget *parent;
    /* Set by another thread to stop the work charged here (a parallel query whose other
     * part failed); checked with the root's limits. */
    _Atomic bool cancelled;
    /* Set on a root by KILL QUERY (sql/queries.h): the query stops at its next check. */
    _Atomic bool killed;
} arena_budget;
/* The root of b's chain (b itself when it has no parent). */
const arena_budget *arena_budget_root(const arena_budget *b);
/* Whether b or a budget above it was cancelled. */
bool arena_budget_cancelled(const arena_budget *b);
/* Charges a's blocks (those it holds now and later) to b; NULL credits them back and detaches.
 * An arena must be detached before its budget goes away. */
void arena_set_budget(arena *a, arena_budget *b);
/* The budget a is charged to, or NULL. */
const arena_budget *arena_get_budget(const arena *a);

#endif
