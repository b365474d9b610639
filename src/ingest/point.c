/* Point batches and the canonical ordering of a point's tags and fields: see point.h. */
#include "ingest/point.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void point_cursor_init(point_cursor *c, const char *body, size_t len) {
    *c = (point_cursor){.body = body, .end = body + len, .p = body, .line = 1};
}

point *point_batch_push(arena *a, point_batch *b) {
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        b->pts = arena_realloc(a, b->pts, b->cap * sizeof *b->pts, ncap * sizeof *b->pts);
        b->cap = ncap;
    }
    point *p = &b->pts[b->n++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Bytewise comparison (memcmp order, shorter first on a tie). Keys of a point often share a
 * long prefix ("usage_user", "usage_system"), so compare eight bytes at a time: a big-endian
 * reading of two words orders them as memcmp would, without a call per comparison. */
static inline int key_cmp(strv a, strv b) {
    uint32_t n = a.len < b.len ? a.len : b.len, i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a.p + i, 8);
        memcpy(&y, b.p + i, 8);
        if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
#endif
    for (; i < n; i++)
        if (a.p[i] != b.p[i]) return (unsigned char)a.p[i] < (unsigned char)b.p[i] ? -1 : 1;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* The sorts must be stable so that, among equal keys, the order of writing is kept and the
 * last occurrence of a field key is the one de-duplication keeps. Points have a handful of keys,
 * where insertion sort wins; bigger ones (a line with thousands of fields) take a merge sort. */
#define SMALL_SORT 24

#define DEFINE_SORT(NAME, T, KEY)                                                                  \
    static void NAME##_insertion(T *v, size_t n) {                                                 \
        for (size_t i = 1; i < n; i++) {                                                           \
            if (key_cmp(v[i - 1].KEY, v[i].KEY) <= 0) continue;                                    \
            T x = v[i];                                                                            \
            size_t j = i;                                                                          \
            while (j > 0 && key_cmp(v[j - 1].KEY, x.KEY) > 0) {                                    \
                v[j] = v[j - 1];                                                                   \
                j--;                                                                               \
            }                                                                                      \
            v[j] = x;                                                                              \
        }                                                                                          \
    }                                                                                              \
    static void NAME##_merge(T *v, T *tmp, size_t n) {                                             \
        if (n <= SMALL_SORT) {                                                                     \
            NAME##_insertion(v, n);                                                                \
            return;                                                                                \
        }                                                                                          \
        size_t h = n / 2;                                                                          \
        NAME##_merge(v, tmp, h);                                                                   \
        NAME##_merge(v + h, tmp, n - h);                                                           \
        if (key_cmp(v[h - 1].KEY, v[h].KEY) <= 0) return;                                          \
        memcpy(tmp, v, h * sizeof *v);                                                             \
        size_t i = 0, j = h, k = 0;                                                                \
        while (i < h && j < n) v[k++] = key_cmp(v[j].KEY, tmp[i].KEY) < 0 ? v[j++] : tmp[i++];     \
        while (i < h) v[k++] = tmp[i++];                                                           \
    }                                                                                              \
    /* Sorts v; false when the keys were already strictly increasing (no duplicates). */           \
    static bool NAME(T *v, uint32_t n) {                                                           \
        uint32_t i = 1;                                                                            \
        while (i < n && key_cmp(v[i - 1].KEY, v[i].KEY) < 0) i++;                                  \
        if (i >= n) return false;                                                                  \
        if (n <= SMALL_SORT) {                                                                     \
            NAME##_insertion(v, n);                                                                \
        } else {                                                                                   \
            T *tmp = xmalloc((n / 2 + 1) * sizeof *v);                                             \
            NAME##_merge(v, tmp, n);                                                               \
            free(tmp);                                                                             \
        }                                                                                          \
        return true;                                                                               \
    }

DEFINE_SORT(sort_tags, pt_tag, key)
DEFINE_SORT(sort_fields, pt_field, key)

uint32_t point_normalize(point *p) {
    if (p->nfields > 1 && sort_fields(p->fields, p->nfields)) {
        /* Of a run of equal keys (in writing order, the sort being stable) the last wins. */
        uint32_t o = 0;
        for (uint32_t k = 0; k < p->nfields; k++) {
            if (o > 0 && key_cmp(p->fields[o - 1].key, p->fields[k].key) == 0)
                p->fields[o - 1] = p->fields[k];
            else
                p->fields[o++] = p->fields[k];
        }
        p->nfields = o;
    }
    if (p->ntags > 1 && sort_tags(p->tags, p->ntags)) {
        for (uint32_t k = 1; k < p->ntags; k++)
            if (key_cmp(p->tags[k - 1].key, p->tags[k].key) == 0) return k + 1;
    }
    return 0;
}
