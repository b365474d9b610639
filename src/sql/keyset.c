/* Arena hash table: see keyset.h. */
#include "sql/keyset.h"

#include <string.h>
#include <xxhash.h>

struct kslot {
    uint64_t hash;
    const char *key; /* NULL = empty */
    uint32_t klen;
    uint32_t val;
};

struct keyset {
    arena *a;
    struct kslot *slots;
    uint32_t cap; /* power of two */
    uint32_t count;
};

static struct kslot *slots_new(arena *a, uint32_t cap) {
    return arena_calloc(a, sizeof(struct kslot) * cap);
}

keyset *keyset_new(arena *a, uint32_t cap_hint) {
    keyset *k = arena_alloc(a, sizeof *k);
    k->a = a;
    k->cap = 8;
    while (k->cap < 2 * (uint64_t)cap_hint && k->cap < (1u << 31)) k->cap *= 2;
    k->count = 0;
    k->slots = slots_new(a, k->cap);
    return k;
}

uint32_t keyset_count(const keyset *k) {
    return k->count;
}

static struct kslot *probe(const keyset *k, uint64_t h, const void *key, uint32_t klen) {
    uint32_t mask = k->cap - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        struct kslot *s = &k->slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && (!klen || !memcmp(s->key, key, klen))))
            return s;
    }
}

static void grow(keyset *k) {
    struct kslot *old = k->slots;
    uint32_t oldcap = k->cap;
    k->cap *= 2;
    k->slots = slots_new(k->a, k->cap);
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].key) *probe(k, old[i].hash, old[i].key, old[i].klen) = old[i];
}

uint32_t *keyset_upsert(keyset *k, const void *key, uint32_t klen, bool *inserted) {
    uint64_t h = XXH3_64bits(key, klen);
    struct kslot *s = probe(k, h, key, klen);
    *inserted = false;
    if (s->key) return &s->val;
    if (2 * (uint64_t)(k->count + 1) > k->cap) {
        grow(k);
        s = probe(k, h, key, klen);
    }
    /* a zero-length key still needs a non-NULL pointer: NULL marks an empty slot */
    char *copy = arena_alloc(k->a, klen ? klen : 1);
    if (klen) memcpy(copy, key, klen);
    *s = (struct kslot){h, copy, klen, 0};
    k->count++;
    *inserted = true;
    return &s->val;
}

bool keyset_get(const keyset *k, const void *key, uint32_t klen, uint32_t *val) {
    const struct kslot *s = probe(k, XXH3_64bits(key, klen), key, klen);
    if (!s->key) return false;
    if (val) *val = s->val;
    return true;
}

void keyset_each(const keyset *k, void (*fn)(void *ctx, const void *key, uint32_t klen),
                 void *ctx) {
    for (uint32_t i = 0; i < k->cap; i++)
        if (k->slots[i].key) fn(ctx, k->slots[i].key, k->slots[i].klen);
}
