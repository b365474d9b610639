/* Open-addressing hash map: see hmap.h. */
#include "util/hmap.h"

#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Slot states are encoded in key: NULL = empty, TOMB = deleted. */
static char tomb_marker;
#define TOMB (&tomb_marker)

struct slot {
    uint64_t hash;
    char *key;
    uint32_t klen;
    uint64_t val;
};

struct hmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
    size_t used; /* count + tombstones */
};

uint64_t hmap_hash(const void *key, size_t klen) {
    return XXH3_64bits(key, klen);
}

hmap *hmap_new(size_t cap_hint) {
    hmap *h = xcalloc(1, sizeof *h);
    size_t cap = 16;
    while (cap < cap_hint * 2) cap *= 2;
    h->cap = cap;
    h->slots = xcalloc(cap, sizeof *h->slots);
    return h;
}

void hmap_free(hmap *h) {
    if (!h) return;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slots[i].key && h->slots[i].key != TOMB) free(h->slots[i].key);
    free(h->slots);
    free(h);
}

size_t hmap_count(const hmap *h) {
    return h->count;
}

static struct slot *find(const hmap *h, uint64_t hash, const void *key, size_t klen) {
    size_t mask = h->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct slot *s = &h->slots[i];
        if (!s->key) return NULL;
        if (s->key != TOMB && s->hash == hash && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

bool hmap_get_h(const hmap *h, uint64_t hash, const void *key, size_t klen, uint64_t *val) {
    struct slot *s = find(h, hash, key, klen);
    if (!s) return false;
    if (val) *val = s->val;
    return true;
}

bool hmap_get(const hmap *h, const void *key, size_t klen, uint64_t *val) {
    return hmap_get_h(h, hmap_hash(key, klen), key, klen, val);
}

static void rehash(hmap *h, size_t cap) {
    struct slot *old = h->slots;
    size_t oldcap = h->cap;
    h->slots = xcalloc(cap, sizeof *h->slots);
    h->cap = cap;
    h->used = h->count;
    size_t mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        struct slot *s = &old[i];
        if (!s->key || s->key == TOMB) continue;
        size_t j = s->hash & mask;
        while (h->slots[j].key) j = (j + 1) & mask;
        h->slots[j] = *s;
    }
    free(old);
}

uint64_t *hmap_upsert_h(hmap *h, uint64_t hash, const void *key, size_t klen, bool *inserted) {
    struct slot *s = find(h, hash, key, klen);
    if (s) {
        if (inserted) *inserted = false;
        return &s->val;
    }
    if ((h->used + 1) * 4 > h->cap * 3) rehash(h, h->count * 2 >= h->cap / 2 ? h->cap * 2 : h->cap);
    size_t mask = h->cap - 1;
    size_t i = hash & mask;
    while (h->slots[i].key && h->slots[i].key != TOMB) i = (i + 1) & mask;
    s = &h->slots[i];
    if (!s->key) h->used++;
    s->hash = hash;
    s->key = xmalloc(klen ? klen : 1);
    memcpy(s->key, key, klen);
    s->klen = (uint32_t)klen;
    s->val = 0;
    h->count++;
    if (inserted) *inserted = true;
    return &s->val;
}

uint64_t *hmap_upsert(hmap *h, const void *key, size_t klen, bool *inserted) {
    return hmap_upsert_h(h, hmap_hash(key, klen), key, klen, inserted);
}

void hmap_put(hmap *h, const void *key, size_t klen, uint64_t val) {
    *hmap_upsert(h, key, klen, NULL) = val;
}

bool hmap_del(hmap *h, const void *key, size_t klen) {
    struct slot *s = find(h, hmap_hash(key, klen), key, klen);
    if (!s) return false;
    free(s->key);
    s->key = TOMB;
    h->count--;
    return true;
}

bool hmap_next(const hmap *h, size_t *pos, const char **key, size_t *klen, uint64_t *val) {
    for (size_t i = *pos; i < h->cap; i++) {
        struct slot *s = &h->slots[i];
        if (s->key && s->key != TOMB) {
            if (key) *key = s->key;
            if (klen) *klen = s->klen;
            if (val) *val = s->val;
            *pos = i + 1;
            return true;
        }
    }
    *pos = h->cap;
    return false;
}
