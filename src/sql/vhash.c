/* Vector-keyed hash table: see vhash.h. */
#include "sql/vhash.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

/* Per inserted row. next links the keys of one bucket (read on a key's newest row only), dup
 * the rows of one key, newest first. One struct, so a probe's hash check and its step down
 * the chain touch one cache line. */
struct vh_row {
    uint64_t hash;
    uint32_t next, dup;
};

struct vhash {
    arena *a;
    const vec *keys;
    uint32_t nkeys;
    uint32_t *bucket; /* newest row of a key in the bucket, VHASH_NONE = empty */
    uint32_t mask;    /* buckets - 1 */
    struct vh_row *rows;
    uint32_t caprows;
    uint32_t count; /* distinct keys */
};

/* Types whose values compare alike: keys of different classes never meet. */
enum { KC_NULL, KC_INT, KC_F64, KC_BOOL, KC_STR, KC_IV };

static int key_class(uint8_t t) {
    switch (t) {
    case VT_NULL:
        return KC_NULL;
    case VT_F64:
        return KC_F64;
    case VT_BOOL:
        return KC_BOOL;
    case VT_STR:
        return KC_STR;
    case VT_INTERVAL:
        return KC_IV;
    default:
        return KC_INT; /* I64, U64, TS, DATE: 64 bits */
    }
}

/* What a NULL contributes to a row's hash, whatever its slot holds. */
#define VH_NULL 0x6a09e667f3bcc909ULL

/* A bijective 64-bit mixer (xorshift-multiply): every input bit reaches every output bit, so
 * the low bits that pick a bucket depend on all of a key, timestamps' zero low bits too. */
static inline uint64_t vh_mix(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

/* The bits of a double as a key: -0.0 as 0.0 and every NaN as one (agg_key_encode's rules). */
static inline uint64_t f64_key(double d) {
    if (d == 0) d = 0;
    if (isnan(d)) d = NAN;
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline uint64_t iv_key(const interval *iv) {
    return vh_mix(((uint64_t)(uint32_t)iv->months << 32) | (uint32_t)iv->days) ^
           (uint64_t)iv->nanos;
}

static inline uint64_t str_key(strv s) {
    return XXH3_64bits(s.p, s.len);
}

/* Folds column value X(i) of every row into h: the first column sets h, the others mix the
 * running hash and add theirs. A NULL row folds VH_NULL, so its slot's content is not read. */
#define VH_FOLD(X)                                                                                 \
    do {                                                                                           \
        if (!v->valid && k == 0)                                                                   \
            for (uint32_t i = 0; i < n; i++) h[i] = (X);                                           \
        else if (!v->valid)                                                                        \
            for (uint32_t i = 0; i < n; i++) h[i] = vh_mix(h[i]) ^ (X);                            \
        else                                                                                       \
            for (uint32_t i = 0; i < n; i++) {                                                     \
                uint64_t x = vec_is_valid(v, i) ? (X) : VH_NULL;                                   \
                h[i] = k ? vh_mix(h[i]) ^ x : x;                                                   \
            }                                                                                      \
    } while (0)

void vhash_hash(const vec *keys, uint32_t nkeys, uint32_t n, uint64_t *h, uint8_t *nulls) {
    memset(nulls, 0, bitmap_bytes(n));
    if (nkeys == 0) memset(h, 0, sizeof *h * n);
    for (uint32_t k = 0; k < nkeys; k++) {
        const vec *v = &keys[k];
        switch (key_class(v->type)) {
        case KC_NULL:
            for (uint32_t i = 0; i < n; i++) h[i] = k ? vh_mix(h[i]) ^ VH_NULL : VH_NULL;
            memset(nulls, 0xff, bitmap_bytes(n));
            continue;
        case KC_F64:
            VH_FOLD(f64_key(v->d.f64[i]));
            break;
        case KC_BOOL:
            VH_FOLD((uint64_t)v->d.b[i]);
            break;
        case KC_STR:
            VH_FOLD(str_key(v->d.s[i]));
            break;
        case KC_IV:
            VH_FOLD(iv_key(&v->d.iv[i]));
            break;
        default:
            VH_FOLD(v->d.u64[i]);
        }
        if (v->valid)
            for (uint32_t i = 0; i < n; i++)
                if (!vec_is_valid(v, i)) bitmap_set(nulls, i);
    }
    for (uint32_t i = 0; i < n; i++) h[i] = vh_mix(h[i]);
}

/* Whether row i of a and row j of b hold equal keys (NULL equal to NULL). */
static bool key_eq(const vec *a, uint32_t i, const vec *b, uint32_t j) {
    int ca = key_class(a->type), cb = key_class(b->type);
    bool va = ca != KC_NULL && vec_is_valid(a, i), vb = cb != KC_NULL && vec_is_valid(b, j);
    if (va != vb) return false;
    if (!va) return true;
    if (ca != cb) return false;
    switch (ca) {
    case KC_F64:
        return f64_key(a->d.f64[i]) == f64_key(b->d.f64[j]);
    case KC_BOOL:
        return a->d.b[i] == b->d.b[j];
    case KC_STR: {
        strv x = a->d.s[i], y = b->d.s[j];
        return x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
    }
    case KC_IV:
        return a->d.iv[i].months == b->d.iv[j].months && a->d.iv[i].days == b->d.iv[j].days &&
               a->d.iv[i].nanos == b->d.iv[j].nanos;
    default:
        return a->d.u64[i] == b->d.u64[j];
    }
}

static bool rows_eq(const vhash *t, uint32_t r, uint32_t s) {
    for (uint32_t k = 0; k < t->nkeys; k++)
        if (!key_eq(&t->keys[k], r, &t->keys[k], s)) return false;
    return true;
}

/* eq[j] &= (row cand[j] of b equals row sel[j] of p), for j < m: one loop per type over the
 * candidates, the row-by-row comparison only for columns with NULLs or mixed types. */
static void eq_col(const vec *b, const vec *p, uint32_t m, const uint32_t *sel,
                   const uint32_t *cand, uint8_t *eq) {
    int cls = key_class(b->type);
    if (b->valid || p->valid || cls == KC_NULL || cls != key_class(p->type)) {
        for (uint32_t j = 0; j < m; j++)
            if (eq[j]) eq[j] = key_eq(b, cand[j], p, sel[j]);
        return;
    }
    switch (cls) {
    case KC_F64:
        for (uint32_t j = 0; j < m; j++)
            eq[j] &= f64_key(b->d.f64[cand[j]]) == f64_key(p->d.f64[sel[j]]);
        break;
    case KC_BOOL:
        for (uint32_t j = 0; j < m; j++) eq[j] &= b->d.b[cand[j]] == p->d.b[sel[j]];
        break;
    case KC_STR:
        for (uint32_t j = 0; j < m; j++) {
            strv x = b->d.s[cand[j]], y = p->d.s[sel[j]];
            if (eq[j]) eq[j] = x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
        }
        break;
    case KC_IV:
        for (uint32_t j = 0; j < m; j++) eq[j] &= key_eq(b, cand[j], p, sel[j]);
        break;
    default:
        for (uint32_t j = 0; j < m; j++) eq[j] &= b->d.u64[cand[j]] == p->d.u64[sel[j]];
    }
}

vhash *vhash_new(arena *a, const vec *keys, uint32_t nkeys, uint32_t cap) {
    vhash *t = arena_calloc(a, sizeof *t);
    t->a = a;
    t->keys = keys;
    t->nkeys = nkeys;
    uint32_t nb = 16;
    while (nb < 2 * (uint64_t)cap && nb < (1u << 31)) nb *= 2;
    t->mask = nb - 1;
    t->bucket = arena_alloc(a, sizeof *t->bucket * nb);
    memset(t->bucket, 0xff, sizeof *t->bucket * nb);
    t->caprows = cap ? cap : 16;
    t->rows = arena_alloc(a, sizeof *t->rows * t->caprows);
    return t;
}

/* Twice the buckets, once the keys outnumber half of them; the chains are relinked from the
 * stored hashes, no key is read. */
static void grow_buckets(vhash *t) {
    uint32_t oldn = t->mask + 1;
    if (oldn >= (1u << 31)) return;
    const uint32_t *old = t->bucket;
    t->mask = oldn * 2 - 1;
    t->bucket = arena_alloc(t->a, sizeof *t->bucket * (oldn * 2));
    memset(t->bucket, 0xff, sizeof *t->bucket * (oldn * 2));
    for (uint32_t b = 0; b < oldn; b++)
        for (uint32_t e = old[b]; e != VHASH_NONE;) {
            uint32_t nx = t->rows[e].next;
            uint32_t *s = &t->bucket[t->rows[e].hash & t->mask];
            t->rows[e].next = *s;
            *s = e;
            e = nx;
        }
}

void vhash_insert(vhash *t, uint32_t from, uint32_t n, const uint64_t *h, const uint8_t *skip) {
    uint64_t need = (uint64_t)from + n;
    if (need > t->caprows) {
        uint64_t nc = t->caprows;
        while (nc < need) nc *= 2;
        if (nc > UINT32_MAX - 1) nc = UINT32_MAX - 1;
        t->rows = arena_realloc(t->a, t->rows, sizeof *t->rows * t->caprows, sizeof *t->rows * nc);
        t->caprows = (uint32_t)nc;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (skip && bitmap_get(skip, i)) continue;
        uint32_t r = from + i;
        uint64_t hv = h[i];
        uint32_t *link = &t->bucket[hv & t->mask];
        uint32_t e = *link;
        while (e != VHASH_NONE && !(t->rows[e].hash == hv && rows_eq(t, e, r))) {
            link = &t->rows[e].next;
            e = *link;
        }
        t->rows[r].hash = hv;
        if (e == VHASH_NONE) {
            uint32_t *head = &t->bucket[hv & t->mask];
            t->rows[r].next = *head;
            t->rows[r].dup = VHASH_NONE;
            *head = r;
            if (++t->count > (t->mask + 1) / 2) grow_buckets(t);
        } else {
            /* r takes e's place in the bucket chain and leads the key's rows */
            t->rows[r].next = t->rows[e].next;
            t->rows[r].dup = e;
            *link = r;
        }
    }
}

void vhash_find(const vhash *t, const vec *pkeys, uint32_t n, const uint64_t *h,
                const uint8_t *skip, uint32_t *first, arena *a) {
    uint32_t *sel = arena_alloc(a, sizeof *sel * (n ? n : 1));
    uint32_t *cand = arena_alloc(a, sizeof *cand * (n ? n : 1));
    uint8_t *eq = arena_alloc(a, n ? n : 1);
    const struct vh_row *rows = t->rows;
    /* Every row's bucket first: independent loads the CPU overlaps. */
    for (uint32_t i = 0; i < n; i++) first[i] = t->bucket[h[i] & t->mask];
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t e = first[i];
        first[i] = VHASH_NONE;
        if (skip && bitmap_get(skip, i)) continue;
        while (e != VHASH_NONE && rows[e].hash != h[i]) e = rows[e].next;
        if (e == VHASH_NONE) continue;
        sel[m] = i;
        cand[m++] = e;
    }
    while (m) {
        memset(eq, 1, m);
        for (uint32_t k = 0; k < t->nkeys; k++) eq_col(&t->keys[k], &pkeys[k], m, sel, cand, eq);
        /* a hash-equal candidate with another key (rare): the next one down its chain */
        uint32_t m2 = 0;
        for (uint32_t j = 0; j < m; j++) {
            uint32_t i = sel[j];
            if (eq[j]) {
                first[i] = cand[j];
                continue;
            }
            uint32_t e = rows[cand[j]].next;
            while (e != VHASH_NONE && rows[e].hash != h[i]) e = rows[e].next;
            if (e == VHASH_NONE) continue;
            sel[m2] = i;
            cand[m2++] = e;
        }
        m = m2;
    }
}

uint32_t vhash_next(const vhash *t, uint32_t r) {
    return t->rows[r].dup;
}

uint32_t vhash_nkeys(const vhash *t) {
    return t->count;
}
