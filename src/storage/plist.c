/* Posting list: see plist.h. */
#include "storage/plist.h"

#include "util/mem.h"

#include <roaring/roaring.h>
#include <stdlib.h>
#include <string.h>

#define ROARING UINT32_MAX

void plist_free(plist *p) {
    if (p->cap == ROARING)
        roaring_bitmap_free(p->u.bm);
    else if (p->cap)
        free(p->u.arr);
    *p = (plist)PLIST_INIT;
}

/* First index in arr[0..n) whose value is >= id. */
static uint32_t lower_bound(const uint32_t *arr, uint32_t n, uint32_t id) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (arr[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void to_roaring(plist *p) {
    roaring_bitmap_t *bm = roaring_bitmap_of_ptr(p->n, p->u.arr);
    free(p->u.arr);
    p->u.bm = bm;
    p->cap = ROARING;
}

void plist_add(plist *p, uint32_t id) {
    if (p->cap == ROARING) {
        if (roaring_bitmap_add_checked(p->u.bm, id)) p->n++;
        return;
    }
    if (p->n == 0) {
        p->u.one = id;
        p->n = 1;
        return;
    }
    if (p->cap == 0) {
        uint32_t first = p->u.one;
        if (first == id) return;
        p->u.arr = xmalloc(sizeof *p->u.arr * 2);
        p->cap = 2;
        p->u.arr[0] = first < id ? first : id;
        p->u.arr[1] = first < id ? id : first;
        p->n = 2;
        return;
    }
    uint32_t at = p->u.arr[p->n - 1] < id ? p->n : lower_bound(p->u.arr, p->n, id);
    if (at < p->n && p->u.arr[at] == id) return;
    if (p->n == PLIST_ARRAY_MAX) {
        to_roaring(p);
        roaring_bitmap_add(p->u.bm, id);
        p->n++;
        return;
    }
    if (p->n == p->cap) {
        p->cap *= 2;
        p->u.arr = xrealloc(p->u.arr, sizeof *p->u.arr * p->cap);
    }
    memmove(p->u.arr + at + 1, p->u.arr + at, sizeof *p->u.arr * (p->n - at));
    p->u.arr[at] = id;
    p->n++;
}

void plist_remove(plist *p, uint32_t id) {
    if (p->cap == ROARING) {
        if (roaring_bitmap_remove_checked(p->u.bm, id)) p->n--;
    } else if (p->cap == 0) {
        if (p->n == 1 && p->u.one == id) p->n = 0;
    } else {
        uint32_t at = lower_bound(p->u.arr, p->n, id);
        if (at == p->n || p->u.arr[at] != id) return;
        memmove(p->u.arr + at, p->u.arr + at + 1, sizeof *p->u.arr * (p->n - at - 1));
        p->n--;
    }
    /* An empty list is always the inline one, which plist_add expects. */
    if (p->n == 0) plist_free(p);
}

uint32_t plist_min(const plist *p) {
    if (p->cap == ROARING) return roaring_bitmap_minimum(p->u.bm);
    return p->cap == 0 ? p->u.one : p->u.arr[0];
}

bool plist_contains(const plist *p, uint32_t id) {
    if (p->cap == ROARING) return roaring_bitmap_contains(p->u.bm, id);
    if (p->cap == 0) return p->n == 1 && p->u.one == id;
    uint32_t at = lower_bound(p->u.arr, p->n, id);
    return at < p->n && p->u.arr[at] == id;
}

void plist_to_array(const plist *p, uint32_t *out) {
    if (p->cap == ROARING)
        roaring_bitmap_to_uint32_array(p->u.bm, out);
    else if (p->cap == 0) {
        if (p->n) out[0] = p->u.one;
    } else
        memcpy(out, p->u.arr, sizeof *out * p->n);
}

size_t plist_heap_bytes(const plist *p) {
    /* Roaring: 2 bytes an id (array containers; bitset ones hold more for less) and its
     * header, an estimate that costs O(1) where measuring walks every container. */
    if (p->cap == ROARING) return 64 + 2 * (size_t)p->n;
    return sizeof *p->u.arr * p->cap;
}
