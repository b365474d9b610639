/* Slab: append-only storage for many small long-lived records (series keys, the first rows of
 * a memcache series) that are freed all together.
 *
 * Why not malloc per record: glibc spends 8 to 24 bytes of header and rounding on each block,
 * as much as the record itself for a 20-byte series key, and a million freed small blocks
 * leave the heap fragmented so the memory rarely goes back to the OS. Why not arena.h: that is
 * the per-request allocator (16-byte alignment, query budgets); a slab packs records at the
 * alignment the caller asks for, down to 1.
 *
 * Records never move, so pointers into a slab stay valid until slab_free. Chunks start small
 * (a slab per vnode memcache may hold a handful of rows) and double up to SLAB_CHUNK_MAX; a
 * record larger than that gets a chunk of its own. Nothing is freed piecemeal.
 *
 * Not thread safe: the owner serialises access. */
#ifndef STRATA_UTIL_SLAB_H
#define STRATA_UTIL_SLAB_H

#include <stddef.h>

#define SLAB_CHUNK_MIN (4u << 10)
#define SLAB_CHUNK_MAX (1u << 20)

struct slab_chunk;

typedef struct slab {
    struct slab_chunk *head; /* newest first */
    size_t bytes;            /* bytes of every chunk held, headers included */
} slab;

#define SLAB_INIT                                                                                  \
    { NULL, 0 }

/* n bytes aligned to align (a power of two, at most 16). */
void *slab_alloc(slab *s, size_t n, size_t align);
void *slab_calloc(slab *s, size_t n, size_t align);
/* Releases every chunk; the slab is empty and usable again. */
void slab_free(slab *s);
static inline size_t slab_bytes(const slab *s) {
    return s->bytes;
}

#endif
