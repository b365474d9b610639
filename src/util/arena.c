/* Region allocator: see arena.h. */
#include "util/arena.h"

#include "util/mem.h"
#include "util/membudget.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
    struct block *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct block *head; /* current block, newest first */
    size_t block_size;
    size_t used;
    void *last; /* most recent allocation, for in-place realloc */
    size_t last_n;
    size_t held; /* bytes of the blocks held (what a budget is charged) */
    arena_budget *budget;
    /* The most recent big allocation and the link that points to its block: growing it
     * reallocs the block (a remap for large ones) instead of copying into a new one and
     * leaving the old behind, so a buffer doubled up to n bytes costs n, not 2n. */
    struct block *big;
    struct block **big_link;
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

/* Bytes of blocks taken or given back, counted in the arena, its budget and, when the budget
 * asks, the server's memory budget (charged, not reserved: a block already malloc'ed is held;
 * the query layer refuses to go on once the server is past its budget). */
static void held_add(arena *a, size_t n) {
    a->held += n;
    for (arena_budget *b = a->budget; b; b = b->parent) {
        atomic_fetch_add_explicit(&b->held, n, memory_order_relaxed);
        if (b->server) membudget_charge(MEMBUDGET_QUERY, n);
    }
}

static void held_sub(arena *a, size_t n) {
    a->held -= n;
    for (arena_budget *b = a->budget; b; b = b->parent) {
        atomic_fetch_sub_explicit(&b->held, n, memory_order_relaxed);
        if (b->server) membudget_release(MEMBUDGET_QUERY, n);
    }
}

/* Freed blocks are kept for the next arenas, up to BLOCK_CACHE_MAX bytes: memory a query has
 * touched is reused by the next one as it is, where a fresh block's pages would each fault
 * and be zeroed by the kernel again (a query grouping into 100k groups spent half its CPU time
 * so). Blocks come in classes of 64 KiB << c, big allocations rounded up to one; a block of
 * another size is freed. The sanitizer builds keep nothing, so ASan still sees every reuse. */
#define BLOCK_UNIT ((size_t)64 * 1024)
#define BLOCK_CLASSES 16 /* up to 2 GiB */
#define BLOCK_CACHE_MAX ((size_t)256 << 20)
#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_CACHE 0
#else
#define BLOCK_CACHE 1
#endif

static struct {
    pthread_mutex_t mu;
    struct block *free[BLOCK_CLASSES];
    size_t bytes;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int block_class(size_t cap) {
    for (int c = 0; c < BLOCK_CLASSES; c++)
        if (cap == BLOCK_UNIT << c) return c;
    return -1;
}

/* The class capacity that holds n bytes (n itself past the largest class). */
static size_t class_cap(size_t n) {
    for (int c = 0; c < BLOCK_CLASSES; c++)
        if (n <= BLOCK_UNIT << c) return BLOCK_UNIT << c;
    return n;
}

static struct block *block_new(arena *a, size_t cap) {
    struct block *b = NULL;
    int c = BLOCK_CACHE ? block_class(cap) : -1;
    if (c >= 0) {
        pthread_mutex_lock(&cache.mu);
        b = cache.free[c];
        if (b) {
            cache.free[c] = b->next;
            cache.bytes -= sizeof *b + cap;
        }
        pthread_mutex_unlock(&cache.mu);
    }
    if (!b) b = xmalloc(sizeof *b + cap);
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    held_add(a, sizeof *b + cap);
    return b;
}

static void block_free(arena *a, struct block *b) {
    size_t n = sizeof *b + b->cap;
    held_sub(a, n);
    int c = BLOCK_CACHE ? block_class(b->cap) : -1;
    if (c >= 0) {
        pthread_mutex_lock(&cache.mu);
        if (cache.bytes + n <= BLOCK_CACHE_MAX) {
            b->next = cache.free[c];
            cache.free[c] = b;
            cache.bytes += n;
            b = NULL;
        }
        pthread_mutex_unlock(&cache.mu);
    }
    free(b);
}

arena *arena_new(size_t block_size) {
    arena *a = xcalloc(1, sizeof *a);
    a->block_size = block_size ? block_size : 64 * 1024;
    return a;
}

void arena_free(arena *a) {
    if (!a) return;
    struct block *b = a->head;
    while (b) {
        struct block *n = b->next;
        block_free(a, b);
        b = n;
    }
    free(a);
}

void arena_reset(arena *a) {
    struct block *b = a->head, *keep = NULL;
    while (b) {
        struct block *n = b->next;
        if (!n && b->cap == a->block_size) {
            keep = b; /* the oldest regular block survives */
        } else {
            block_free(a, b);
        }
        b = n;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->used = 0;
    a->last = NULL;
    a->last_n = 0;
    a->big = NULL;
    a->big_link = NULL;
}

void *arena_alloc(arena *a, size_t n) {
    size_t need = ALIGN16(n ? n : 1);
    struct block *b = a->head;
    if (!b || b->cap - b->used < need) {
        if (need > a->block_size / 4) {
            /* Big allocation: own block, linked behind the current one so the current
             * block keeps serving small requests. */
            struct block *big = block_new(a, BLOCK_CACHE ? class_cap(need) : need);
            big->used = need;
            if (b) {
                big->next = b->next;
                b->next = big;
                a->big_link = &b->next;
            } else {
                a->head = big;
                a->big_link = &a->head;
            }
            a->big = big;
            a->used += need;
            a->last = NULL;
            return big->data;
        }
        b = block_new(a, a->block_size);
        b->next = a->head;
        a->head = b;
        if (a->big_link == &a->head) a->big_link = &b->next;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    a->last = p;
    a->last_n = need;
    return p;
}

void *arena_calloc(arena *a, size_t n) {
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_realloc(arena *a, void *p, size_t old_n, size_t new_n) {
    if (!p) return arena_alloc(a, new_n);
    if (new_n <= old_n) return p;
    if (a->big && p == a->big->data) {
        size_t need = ALIGN16(new_n);
        if (need <= a->big->cap) { /* room in its class */
            a->used += need - a->big->used;
            a->big->used = need;
            return p;
        }
        size_t old_cap = a->big->cap, cap = BLOCK_CACHE ? class_cap(need) : need;
        struct block *nb = xrealloc(a->big, sizeof *nb + cap);
        a->used += need - nb->used;
        held_add(a, cap - old_cap);
        nb->cap = cap;
        nb->used = need;
        *a->big_link = nb;
        a->big = nb;
        return nb->data;
    }
    struct block *b = a->head;
    if (p == a->last && b && (unsigned char *)p + a->last_n == b->data + b->used) {
        size_t need = ALIGN16(new_n);
        if ((size_t)((unsigned char *)p - b->data) + need <= b->cap) {
            b->used = (size_t)((unsigned char *)p - b->data) + need;
            a->used += need - a->last_n;
            a->last_n = need;
            return p;
        }
    }
    void *q = arena_alloc(a, new_n);
    memcpy(q, p, old_n);
    return q;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(arena *a, const char *s) {
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t arena_used(const arena *a) {
    return a->used;
}

void arena_set_budget(arena *a, arena_budget *b) {
    size_t n = a->held;
    held_sub(a, n); /* credited back along the old chain */
    a->budget = b;
    held_add(a, n);
}

const arena_budget *arena_get_budget(const arena *a) {
    return a->budget;
}

const arena_budget *arena_budget_root(const arena_budget *b) {
    while (b && b->parent) b = b->parent;
    return b;
}

bool arena_budget_cancelled(const arena_budget *b) {
    for (; b; b = b->parent)
        if (atomic_load_explicit(&b->cancelled, memory_order_relaxed)) return true;
    return false;
}
