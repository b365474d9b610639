/* Hash map from byte strings to a 64-bit value (an id, or a pointer cast to uintptr_t).
 *
 * Open addressing with linear probing; keys are copied into memory the map owns, so callers may
 * pass transient buffers. Not thread safe: the owner serialises access. Hashes are XXH3; the
 * _h variants take a precomputed hash so a caller that hashes once can probe several maps. */
#ifndef STRATA_UTIL_HMAP_H
#define STRATA_UTIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap hmap;

hmap *hmap_new(size_t cap_hint);
void hmap_free(hmap *h);
size_t hmap_count(const hmap *h);
uint64_t hmap_hash(const void *key, size_t klen);

bool hmap_get(const hmap *h, const void *key, size_t klen, uint64_t *val);
bool hmap_get_h(const hmap *h, uint64_t hash, const void *key, size_t klen, uint64_t *val);
/* Returns the value slot for key, inserting it with value 0 when absent (*inserted = true).
 * The pointer is valid until the next insertion. */
uint64_t *hmap_upsert(hmap *h, const void *key, size_t klen, bool *inserted);
uint64_t *hmap_upsert_h(hmap *h, uint64_t hash, const void *key, size_t klen, bool *inserted);
void hmap_put(hmap *h, const void *key, size_t klen, uint64_t val);
bool hmap_del(hmap *h, const void *key, size_t klen);

/* Iteration: start with *pos = 0; returns false at the end. Order is unspecified.
 * The map must not be modified during iteration. */
bool hmap_next(const hmap *h, size_t *pos, const char **key, size_t *klen, uint64_t *val);

#endif
