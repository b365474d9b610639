/* Hash table from byte-string keys to a 32-bit value, in an arena: the executor's group, DISTINCT
 * and IN-list sets.
 *
 * Everything it holds (slots and copies of the keys) comes from the arena it was created on,
 * so the table is charged to the query's memory budget with the rest of the query and freed
 * with it; nothing is freed piecemeal (there is no delete). Open addressing, linear probing,
 * load at most 1/2; growing copies the slots to a new array and leaves the old one in the
 * arena (at most as much again). Hashes are XXH3. Not thread safe; a finished table may be
 * probed by any number of threads (keyset_get does not write). */
#ifndef STRATA_SQL_KEYSET_H
#define STRATA_SQL_KEYSET_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"

typedef struct keyset keyset;

keyset *keyset_new(arena *a, uint32_t cap_hint);
uint32_t keyset_count(const keyset *k);
/* The value slot of key, inserted with value 0 when absent (*inserted = true). The pointer is
 * valid until the next insertion. */
uint32_t *keyset_upsert(keyset *k, const void *key, uint32_t klen, bool *inserted);
bool keyset_get(const keyset *k, const void *key, uint32_t klen, uint32_t *val);
/* Calls fn with every key, in slot order (the hash's, not the order of insertion). */
void keyset_each(const keyset *k, void (*fn)(void *ctx, const void *key, uint32_t klen), void *ctx);

#endif
