/* Shared, append-only columns of a table: see colset.h. */
#include "meta/colset.h"

#include "util/assert.h"
#include "util/hmap.h"
#include "util/mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Slot: 0 = empty, else (high 32 bits of the name's hash) << 32 | (column index + 1). At most
 * half full, so a probe always ends at an empty slot. */
struct colidx {
    uint32_t mask;
    uint64_t slots[];
};

struct colset {
    int refs; /* atomic */
    uint32_t n, cap;
    meta_column *cols;  /* current array: [0, n) written */
    struct colidx *idx; /* current index; atomic pointer */
    void **retired;     /* arrays and indexes replaced by growth (readers may still use them) */
    size_t nretired, retcap;
    bool ids_sorted; /* atomic; ids increase with the index */
};

colset *colset_new(uint32_t cap_hint) {
    colset *cs = xcalloc(1, sizeof *cs);
    cs->refs = 1;
    cs->cap = cap_hint > 4 ? cap_hint : 4;
    cs->cols = xmalloc(sizeof *cs->cols * cs->cap);
    uint32_t slots = 16;
    while (slots < cs->cap * 2) slots *= 2;
    cs->idx = xcalloc(1, sizeof *cs->idx + sizeof(uint64_t) * slots);
    cs->idx->mask = slots - 1;
    cs->ids_sorted = true;
    return cs;
}

void colset_retain(colset *cs) {
    __atomic_add_fetch(&cs->refs, 1, __ATOMIC_RELAXED);
}

void colset_release(colset *cs) {
    if (!cs || __atomic_sub_fetch(&cs->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (uint32_t i = 0; i < cs->n; i++) free(cs->cols[i].name);
    free(cs->cols);
    free(cs->idx);
    for (size_t i = 0; i < cs->nretired; i++) free(cs->retired[i]);
    free(cs->retired);
    free(cs);
}

uint32_t colset_count(const colset *cs) {
    return cs->n;
}

static void retire(colset *cs, void *p) {
    if (cs->nretired == cs->retcap) {
        cs->retcap = cs->retcap ? cs->retcap * 2 : 8;
        cs->retired = xrealloc(cs->retired, sizeof *cs->retired * cs->retcap);
    }
    cs->retired[cs->nretired++] = p;
}

static uint64_t name_hash(const char *name, size_t len) {
    return hmap_hash(name, len) >> 32;
}

static void idx_put(struct colidx *ix, uint64_t h, uint32_t index) {
    for (uint32_t i = (uint32_t)h & ix->mask;; i = (i + 1) & ix->mask) {
        if (!ix->slots[i]) {
            /* Release: a reader that sees the slot sees the column it names. */
            __atomic_store_n(&ix->slots[i], h << 32 | ((uint64_t)index + 1), __ATOMIC_RELEASE);
            return;
        }
    }
}

meta_column *colset_append(colset *cs, uint32_t id, const char *name, size_t len, uint8_t kind,
                           uint8_t type, uint8_t codec, uint8_t geo) {
    STRATA_ASSERT(cs->n < UINT32_MAX - 1);
    if (cs->n == cs->cap) {
        uint32_t ncap = cs->cap * 2;
        meta_column *na = xmalloc(sizeof *na * ncap);
        memcpy(na, cs->cols, sizeof *na * cs->n);
        retire(cs, cs->cols);
        cs->cols = na;
        cs->cap = ncap;
    }
    meta_column *c = &cs->cols[cs->n];
    c->id = id;
    c->name = xstrndup(name, len);
    c->kind = kind;
    c->type = type;
    c->codec = codec;
    c->geo = geo;
    if (cs->n && id <= cs->cols[cs->n - 1].id)
        __atomic_store_n(&cs->ids_sorted, false, __ATOMIC_RELAXED);
    struct colidx *ix = cs->idx;
    if (((uint64_t)cs->n + 1) * 2 > (uint64_t)ix->mask + 1) {
        uint32_t slots = (ix->mask + 1) * 2;
        struct colidx *nx = xcalloc(1, sizeof *nx + sizeof(uint64_t) * slots);
        nx->mask = slots - 1;
        for (uint32_t i = 0; i < cs->n; i++)
            idx_put(nx, name_hash(cs->cols[i].name, strlen(cs->cols[i].name)), i);
        __atomic_store_n(&cs->idx, nx, __ATOMIC_RELEASE);
        retire(cs, ix);
        ix = nx;
    }
    idx_put(ix, name_hash(c->name, strlen(c->name)), cs->n);
    cs->n++;
    return cs->cols;
}

int colset_find(const colset *cs, const meta_column *cols, uint32_t limit, const char *name,
                size_t len) {
    const struct colidx *ix = __atomic_load_n(&cs->idx, __ATOMIC_ACQUIRE);
    uint64_t h = name_hash(name, len);
    for (uint32_t i = (uint32_t)h & ix->mask;; i = (i + 1) & ix->mask) {
        uint64_t s = __atomic_load_n(&ix->slots[i], __ATOMIC_ACQUIRE);
        if (!s) return -1;
        if (s >> 32 != h) continue;
        uint32_t k = (uint32_t)s - 1;
        /* A column past limit was appended after the caller's version: not in it. */
        if (k < limit && strnlen(cols[k].name, len + 1) == len && !memcmp(cols[k].name, name, len))
            return (int)k;
    }
}

int colset_find_id(const colset *cs, const meta_column *cols, uint32_t limit, uint32_t id) {
    if (!__atomic_load_n(&cs->ids_sorted, __ATOMIC_RELAXED)) {
        for (uint32_t i = 0; i < limit; i++)
            if (cols[i].id == id) return (int)i;
        return -1;
    }
    uint32_t lo = 0, hi = limit;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cols[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < limit && cols[lo].id == id ? (int)lo : -1;
}
