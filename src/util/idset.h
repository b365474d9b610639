/* Id set: an open-addressing hash set of uint32 ids whose keys live with the owner (a series
 * key in a slab, a tag value inside one), so a member costs 8 bytes of table and nothing else:
 * the id and 32 bits of its key's hash. hmap.h copies every key into its own malloc block and
 * spends 32 bytes a slot, about 100 bytes a key in all; for a million series keys that
 * difference is most of the index.
 *
 * The owner hashes its key (any 32-bit hash; equal keys must hash equal) and walks the
 * candidates with that hash, comparing keys itself:
 *
 *     uint32_t pos = idset_start(s, h), id;
 *     while ((id = idset_probe(s, h, &pos)) != IDSET_NONE)
 *         if (key_of(id) equals key) return id;
 *
 * Linear probing, at most three quarters full, deletion by backward shift (no tombstones, so
 * a set that sees many deletions does not slow down). Ids must be below IDSET_NONE. Not thread
 * safe: the owner serialises access; a probe must not overlap an insertion or removal. */
#ifndef STRATA_UTIL_IDSET_H
#define STRATA_UTIL_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDSET_NONE UINT32_MAX

typedef struct idset {
    uint64_t *slots; /* (hash << 32) | (id + 1); 0 = empty */
    uint32_t mask;   /* capacity - 1 */
    uint32_t count;
} idset;

#define IDSET_INIT                                                                                 \
    { NULL, 0, 0 }

void idset_free(idset *s); /* leaves an empty set */
/* Adds id under hash h; the caller has checked that its key is not present. */
void idset_insert(idset *s, uint32_t h, uint32_t id);
/* Removes id (stored under hash h); false when it is not there. */
bool idset_remove(idset *s, uint32_t h, uint32_t id);
static inline size_t idset_bytes(const idset *s) {
    return s->slots ? sizeof *s->slots * ((size_t)s->mask + 1) : 0;
}

static inline uint32_t idset_start(const idset *s, uint32_t h) {
    return h & s->mask;
}

/* The next id stored under hash h from *pos on, or IDSET_NONE when there is none. */
static inline uint32_t idset_probe(const idset *s, uint32_t h, uint32_t *pos) {
    if (!s->slots) return IDSET_NONE;
    for (uint32_t i = *pos;; i = (i + 1) & s->mask) {
        uint64_t v = s->slots[i];
        if (!v) {
            *pos = i;
            return IDSET_NONE;
        }
        if ((uint32_t)(v >> 32) == h) {
            *pos = (i + 1) & s->mask;
            return (uint32_t)v - 1;
        }
    }
}

#endif
