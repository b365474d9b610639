/* Id set: see idset.h. */
#include "util/idset.h"

#include "util/mem.h"

#include <stdlib.h>

#define MIN_CAP 16

void idset_free(idset *s) {
    free(s->slots);
    *s = (idset)IDSET_INIT;
}

static void place(uint64_t *slots, uint32_t mask, uint64_t v) {
    uint32_t i = (uint32_t)(v >> 32) & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = v;
}

static void grow(idset *s) {
    size_t cap = s->slots ? ((size_t)s->mask + 1) * 2 : MIN_CAP;
    uint64_t *slots = xcalloc(cap, sizeof *slots);
    if (s->slots)
        for (size_t i = 0; i <= s->mask; i++)
            if (s->slots[i]) place(slots, (uint32_t)(cap - 1), s->slots[i]);
    free(s->slots);
    s->slots = slots;
    s->mask = (uint32_t)(cap - 1);
}

void idset_insert(idset *s, uint32_t h, uint32_t id) {
    if (!s->slots || ((uint64_t)s->count + 1) * 4 > ((uint64_t)s->mask + 1) * 3) grow(s);
    place(s->slots, s->mask, (uint64_t)h << 32 | ((uint64_t)id + 1));
    s->count++;
}

bool idset_remove(idset *s, uint32_t h, uint32_t id) {
    uint64_t want = (uint64_t)h << 32 | ((uint64_t)id + 1);
    if (!s->slots) return false;
    uint32_t i = h & s->mask;
    while (s->slots[i] != want) {
        if (!s->slots[i]) return false;
        i = (i + 1) & s->mask;
    }
    /* Backward shift: pull later members of the run into the hole when the hole lies between
     * their home slot and where they sit, so every member stays reachable from its home. */
    for (uint32_t j = (i + 1) & s->mask; s->slots[j]; j = (j + 1) & s->mask) {
        uint32_t home = (uint32_t)(s->slots[j] >> 32) & s->mask;
        if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = 0;
    s->count--;
    return true;
}
