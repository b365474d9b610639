/* Vector-keyed hash table: see vhash.h. */
#include "sql/vhash.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

/* A bucket: the newest row of one key and the low half of the key's hash. A key's home
 * bucket is given by the top bits of the hash's high half, so the low half is free to tell
 * keys apart, and the buckets can be redistributed from the high halves alone. */
struct vh_slot {
    uint32_t row; /* VHASH_NONE = empty */
    uint32_t lo;
};

/* Per inserted row: the older row of its key, and its hash's high half (for growing). */
struct vh_row {
    uint32_t dup;
    uint32_t hi;
};

struct vhash {
    arena *a;
    const vec *keys;
    uint32_t nkeys;
    struct vh_slot *slot;
    uint32_t mask;  /* buckets - 1 */
    uint32_t shift; /* 32 - log2(buckets): home bucket = hi >> shift */
    struct vh_row *rows;
    uint8_t *lead; /* per row: 1 = its key's newest row; 0 = an older one, or not inserted */
    uint32_t caprows;
    uint32_t nrows; /* rows below this one have their rows[] and lead[] set */
    uint32_t count; /* distinct keys */
};

/* Types whose values compare alike: keys of different classes never meet. */
enum { KC_NULL, KC_INT, KC_F64, KC_BOOL, KC_STR, KC_IV, KC_DEC };

static int key_class(uint8_t t) {
    switch (t) {
    case VT_NULL:
        return KC_NULL;
    case VT_F64:
        return KC_F64;
    case VT_BOOL:
        return KC_BOOL;
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        return KC_STR;
    case VT_INTERVAL:
        return KC_IV;
    case VT_DEC128:
        return KC_DEC; /* operands share one scale: equal values have equal bits */
    default:
        return KC_INT; /* I64, U64, TS, DATE: 64 bits */
    }
}

/* How many rows ahead the insert and find loops prefetch the buckets and rows they will
 * read: the table is much larger than the caches, and a key's bucket is a random place. */
#define VH_AHEAD 16

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

/* VH_FOLD for a string column: a run of rows sharing one string (a series' tag value, or
 * the join's buffered copies of one) hashes it once. */
static void hash_strings(const vec *v, uint32_t k, uint32_t n, uint64_t *h) {
    strv last = {NULL, 0};
    uint64_t lh = 0;
#define STR_HASH(i)                                                                                \
    (v->d.s[i].p == last.p && v->d.s[i].len == last.len ? lh                                       \
                                                        : (last = v->d.s[i], lh = str_key(last)))
    VH_FOLD(STR_HASH(i));
#undef STR_HASH
}

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
            hash_strings(v, k, n, h);
            break;
        case KC_IV:
            VH_FOLD(iv_key(&v->d.iv[i]));
            break;
        case KC_DEC:
            VH_FOLD(vh_mix(v->d.dec[i].lo) ^ (uint64_t)v->d.dec[i].hi);
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
    case KC_DEC:
        return a->d.dec[i].lo == b->d.dec[j].lo && a->d.dec[i].hi == b->d.dec[j].hi;
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
    case KC_DEC:
        for (uint32_t j = 0; j < m; j++) eq[j] &= key_eq(b, cand[j], p, sel[j]);
        break;
    default:
        for (uint32_t j = 0; j < m; j++) eq[j] &= b->d.u64[cand[j]] == p->d.u64[sel[j]];
    }
}

static void slots_alloc(vhash *t, uint32_t bits) {
    uint32_t nb = 1u << bits;
    t->mask = nb - 1;
    t->shift = 32 - bits;
    t->slot = arena_alloc(t->a, sizeof *t->slot * nb);
    memset(t->slot, 0xff, sizeof *t->slot * nb);
}

vhash *vhash_new(arena *a, const vec *keys, uint32_t nkeys, uint32_t cap) {
    vhash *t = arena_calloc(a, sizeof *t);
    t->a = a;
    t->keys = keys;
    t->nkeys = nkeys;
    uint32_t bits = 4;
    while ((1ull << bits) < 2 * (uint64_t)cap && bits < 31) bits++;
    slots_alloc(t, bits);
    t->caprows = cap ? cap : 16;
    t->rows = arena_alloc(a, sizeof *t->rows * t->caprows);
    t->lead = arena_alloc(a, t->caprows);
    return t;
}

/* Twice the buckets, once the keys fill half of them; keys are placed again from their rows'
 * stored high halves, no key is read. */
static void grow_slots(vhash *t) {
    uint32_t oldn = t->mask + 1;
    if (oldn >= (1u << 31)) return;
    const struct vh_slot *old = t->slot;
    slots_alloc(t, 33 - t->shift);
    for (uint32_t b = 0; b < oldn; b++) {
        if (old[b].row == VHASH_NONE) continue;
        uint32_t i = t->rows[old[b].row].hi >> t->shift;
        while (t->slot[i].row != VHASH_NONE) i = (i + 1) & t->mask;
        t->slot[i] = old[b];
    }
}

static inline uint32_t home(const vhash *t, uint64_t h) {
    /* a shift by 32 (one bucket) is undefined: the table has at least 16 */
    return (uint32_t)(h >> 32) >> t->shift;
}

void vhash_insert(vhash *t, uint32_t from, uint32_t n, const uint64_t *h, const uint8_t *skip) {
    uint64_t need = (uint64_t)from + n;
    if (need > t->caprows) {
        uint64_t nc = t->caprows;
        while (nc < need) nc *= 2;
        if (nc > UINT32_MAX - 1) nc = UINT32_MAX - 1;
        t->rows = arena_realloc(t->a, t->rows, sizeof *t->rows * t->caprows, sizeof *t->rows * nc);
        t->lead = arena_realloc(t->a, t->lead, t->caprows, nc);
        t->caprows = (uint32_t)nc;
    }
    /* rows skipped here or over by an earlier call are nobody's: never predicted (find) */
    for (uint32_t r = t->nrows; r < need; r++) {
        t->rows[r] = (struct vh_row){VHASH_NONE, 0};
        t->lead[r] = 0;
    }
    if (need > t->nrows) t->nrows = (uint32_t)need;
    for (uint32_t i = 0; i < n; i++) {
        if (i + VH_AHEAD < n) __builtin_prefetch(&t->slot[home(t, h[i + VH_AHEAD])], 1);
        if (skip && bitmap_get(skip, i)) continue;
        uint32_t r = from + i, lo = (uint32_t)h[i];
        t->rows[r].hi = (uint32_t)(h[i] >> 32);
        t->lead[r] = 1;
        for (uint32_t b = home(t, h[i]);; b = (b + 1) & t->mask) {
            struct vh_slot *s = &t->slot[b];
            if (s->row == VHASH_NONE) {
                *s = (struct vh_slot){r, lo};
                t->rows[r].dup = VHASH_NONE;
                if (++t->count > (t->mask + 1) / 2) grow_slots(t);
                break;
            }
            if (s->lo == lo && rows_eq(t, s->row, r)) {
                /* r leads the key's rows */
                t->rows[r].dup = s->row;
                t->lead[s->row] = 0;
                s->row = r;
                break;
            }
        }
    }
}

/* From bucket b on, the first bucket holding a key whose low half is lo (then *row is its
 * newest row), or the empty bucket ending the run (*row = VHASH_NONE). */
static inline uint32_t scan_run(const vhash *t, uint32_t b, uint32_t lo, uint32_t *row) {
    for (;; b = (b + 1) & t->mask) {
        const struct vh_slot *s = &t->slot[b];
        if (s->row == VHASH_NONE || s->lo == lo) {
            *row = s->row;
            return b;
        }
    }
}

/* A candidate found by prediction rather than in a bucket (find's `at`). */
#define VH_PREDICTED UINT32_MAX

void vhash_find(const vhash *t, const vec *pkeys, uint32_t n, const uint64_t *h,
                const uint8_t *skip, uint32_t *first, arena *a) {
    uint32_t *sel = arena_alloc(a, sizeof *sel * (n ? n : 1));
    uint32_t *cand = arena_alloc(a, sizeof *cand * (n ? n : 1));
    uint32_t *at = arena_alloc(a, sizeof *at * (n ? n : 1));
    uint8_t *eq = arena_alloc(a, n ? n : 1);
    /* Rows often meet the rows inserted in the same order (both sides of a time-series join
     * come from scans in series and time order): the row after the previous candidate is
     * tried first, and when it leads its key and its hash agrees it is the candidate, with no
     * bucket read. Otherwise the home bucket, fetched ahead while predictions fail. */
    uint32_t m = 0, guess = VHASH_NONE;
    bool streak = false;
    for (uint32_t i = 0; i < n; i++) {
        if (!streak && i + VH_AHEAD < n) __builtin_prefetch(&t->slot[home(t, h[i + VH_AHEAD])]);
        first[i] = VHASH_NONE;
        if (skip && bitmap_get(skip, i)) continue;
        uint32_t row, b;
        streak = guess < t->nrows && t->lead[guess] && t->rows[guess].hi == (uint32_t)(h[i] >> 32);
        if (streak) {
            row = guess;
            b = VH_PREDICTED;
        } else {
            b = scan_run(t, home(t, h[i]), (uint32_t)h[i], &row);
            if (row == VHASH_NONE) continue;
        }
        sel[m] = i;
        cand[m] = row;
        at[m++] = b;
        guess = row + 1;
    }
    while (m) {
        memset(eq, 1, m);
        for (uint32_t k = 0; k < t->nkeys; k++) eq_col(&t->keys[k], &pkeys[k], m, sel, cand, eq);
        /* a candidate with the same half hash but another key (rare): search on */
        uint32_t m2 = 0;
        for (uint32_t j = 0; j < m; j++) {
            uint32_t i = sel[j];
            if (eq[j]) {
                first[i] = cand[j];
                continue;
            }
            uint32_t from = at[j] == VH_PREDICTED ? home(t, h[i]) : (at[j] + 1) & t->mask;
            uint32_t row, b = scan_run(t, from, (uint32_t)h[i], &row);
            if (row == VHASH_NONE) continue;
            sel[m2] = i;
            cand[m2] = row;
            at[m2++] = b;
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
