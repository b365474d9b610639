/* Posting list: a set of series ids (uint32), sized for the series index, where most lists hold
 * one id (a tag value that only one series carries: a host name, a container id), many hold a
 * few, and some hold millions (every series of a table, a region shared by a tenth of them).
 *
 * Representation, chosen by count, never by caller:
 *   n <= 1             the id inline, no allocation: 16 bytes in all;
 *   n <= PLIST_ARRAY_MAX  a sorted malloc'd uint32 array, capacity a power of two;
 *   larger             a roaring bitmap (about 2 bytes per id in sparse containers, 1 bit in
 *                      dense ones), which it never leaves.
 * Ids are mostly added in increasing order (the index hands them out that way), which costs
 * O(1) amortised; an id out of order is inserted in O(n) in an array. Adding an id already
 * present changes nothing; removing one (a series whose key an UPDATE changed) costs O(n) in an
 * array.
 *
 * Not thread safe: the owner serialises access (the series index holds its lock). */
#ifndef STRATA_STORAGE_PLIST_H
#define STRATA_STORAGE_PLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLIST_ARRAY_MAX 256

typedef struct plist {
    uint32_t n;
    uint32_t cap; /* array capacity; 0 inline; UINT32_MAX roaring */
    union {
        uint32_t one;
        uint32_t *arr;
        void *bm; /* roaring_bitmap_t */
    } u;
} plist;

#define PLIST_INIT                                                                                 \
    {                                                                                              \
        0, 0, {                                                                                    \
            0                                                                                      \
        }                                                                                          \
    }

void plist_free(plist *p); /* leaves an empty list */
void plist_add(plist *p, uint32_t id);
static inline size_t plist_count(const plist *p) {
    return p->n;
}
bool plist_contains(const plist *p, uint32_t id);
/* Removes id if present. The representation stays (a shrunk array keeps its memory, a roaring
 * list stays roaring), which a rare removal (UPDATE of tags) does not mind; an emptied list is
 * freed. */
void plist_remove(plist *p, uint32_t id);
/* The smallest id; the list must not be empty. */
uint32_t plist_min(const plist *p);
/* Writes the ids in increasing order (plist_count of them). */
void plist_to_array(const plist *p, uint32_t *out);
/* Heap bytes the list holds beyond its own 16, in O(1): exact for arrays, an estimate for
 * roaring bitmaps (for the memory budget). */
size_t plist_heap_bytes(const plist *p);

#endif
