/* Slab: see slab.h. */
#include "util/slab.h"

#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slab_chunk {
    struct slab_chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

void *slab_alloc(slab *s, size_t n, size_t align) {
    struct slab_chunk *c = s->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->cap || c->cap - at < n) {
        size_t cap = c ? c->cap * 2 : SLAB_CHUNK_MIN;
        if (cap > SLAB_CHUNK_MAX) cap = SLAB_CHUNK_MAX;
        if (cap < n) cap = n;
        struct slab_chunk *nc = xmalloc(sizeof *nc + cap);
        nc->cap = cap;
        nc->used = 0;
        s->bytes += sizeof *nc + cap;
        if (c && n > SLAB_CHUNK_MAX) {
            /* An outsized record: its own chunk, behind the current one, which keeps serving
             * small records. */
            nc->next = c->next;
            c->next = nc;
            nc->used = n;
            return nc->data;
        }
        nc->next = c;
        s->head = c = nc;
        at = 0;
    }
    c->used = at + n;
    return c->data + at;
}

void *slab_calloc(slab *s, size_t n, size_t align) {
    void *p = slab_alloc(s, n, align);
    memset(p, 0, n);
    return p;
}

void slab_free(slab *s) {
    struct slab_chunk *c = s->head;
    while (c) {
        struct slab_chunk *n = c->next;
        free(c);
        c = n;
    }
    s->head = NULL;
    s->bytes = 0;
}
