/* In-memory write cache: see memcache.h. */
#include "storage/memcache.h"

#include "util/mem.h"
#include "util/membudget.h"
#include "util/slab.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Memory layout. A series that has seen few rows lives wholly in the cache's slab (slab.h):
 * its header, its column table and arrays of up to SLAB_ROWS rows, with no malloc of its own,
 * so a cache of a million one-row series costs about 100 bytes a series instead of six malloc
 * blocks of 8-row arrays (about 380). Arrays grow by doubling; a move out of the slab leaves the
 * old copy behind (at most SLAB_ROWS rows' worth, under half of what the series then holds),
 * past SLAB_ROWS they are malloc'd and realloc'd. Likewise the column table up to SLAB_COLS
 * columns. Freeing the cache frees the malloc'd arrays and then the slab chunks in one go.
 * Whether an array is in the slab follows from the capacity, never from a flag.
 *
 * Series are found through a two-level table (pages of PAGE_SIDS pointers), so a cache that
 * holds a few series with high ids (a new cache after a flush, an old vnode written late) does
 * not pay 8 bytes for every id below them. */

struct mcol {
    uint32_t col_id;
    uint8_t type;
    union {
        uint8_t *p;    /* cap bits, zero = NULL, when cap > INLINE_VALID_ROWS */
        uint8_t in[8]; /* the same bits in place, when cap <= INLINE_VALID_ROWS */
    } valid;
    union {
        double *f;
        int64_t *i;
        uint64_t *u;
        bool *b;
        strv *s;
        void *raw;
    } d;
};

/* Past SERIES_INDEX_MIN columns: col_id → index + 1, open addressing, at most half full, so
 * a row of a very wide table finds its columns in O(1) each. */
struct colidx {
    uint32_t mask;
    uint32_t slot[];
};

/* 40 bytes: every one-row series pays it, so the rare parts (the column index) live apart. */
struct mseries {
    uint32_t n, cap;
    int64_t *ts;
    struct mcol *cols;
    struct colidx *cidx;
    uint32_t ncols : 31;
    uint32_t sorted : 1; /* timestamps strictly increasing so far */
    uint32_t colcap;
};
_Static_assert(sizeof(void *) != 8 || sizeof(struct mseries) == 40, "series header grew");

#define SERIES_INDEX_MIN 8
#define INLINE_VALID_ROWS 64

/* A column's validity bits: in the column itself while the series holds few rows. */
static inline uint8_t *col_valid(const struct mseries *s, struct mcol *c) {
    return s->cap <= INLINE_VALID_ROWS ? c->valid.in : c->valid.p;
}
#define SLAB_ROWS 8
#define SLAB_COLS 16
#define PAGE_BITS 10
#define TRIM_MIN_BYTES ((size_t)4 << 20)
#define PAGE_SIDS (1u << PAGE_BITS)

/* Strings are copied into blocks that never move, so stored strvs stay valid. */
struct strblock {
    struct strblock *next;
    size_t used, cap;
    char data[];
};

struct memcache {
    int refs;
    uint64_t min_lsn, max_lsn;
    size_t nrows;
    pthread_rwlock_t lock;
    struct mseries ***pages; /* sid >> PAGE_BITS → page, NULL until a series there appears */
    uint32_t npages;
    size_t bytes; /* slab + malloc'd arrays + string blocks */
    slab slab;
    struct strblock *strs;
    bool have_range;
    int64_t tmin, tmax;
};

static size_t type_size(uint8_t t) {
    switch (t) {
    case VT_BOOL:
        return sizeof(bool);
    case VT_STR:
        return sizeof(strv);
    default:
        return 8;
    }
}

static void mc_free(memcache *m);

memcache *mc_new(void) {
    memcache *m = xcalloc(1, sizeof *m);
    m->refs = 1;
    pthread_rwlock_init(&m->lock, NULL);
    return m;
}

void mc_retain(memcache *m) {
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void mc_release(memcache *m) {
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) mc_free(m);
}

void mc_note_lsn(memcache *m, uint64_t lsn) {
    pthread_rwlock_wrlock(&m->lock);
    if (!m->min_lsn || lsn < m->min_lsn) m->min_lsn = lsn;
    if (lsn > m->max_lsn) m->max_lsn = lsn;
    pthread_rwlock_unlock(&m->lock);
}

uint64_t mc_min_lsn(memcache *m) {
    pthread_rwlock_rdlock(&m->lock);
    uint64_t v = m->min_lsn;
    pthread_rwlock_unlock(&m->lock);
    return v;
}

uint64_t mc_max_lsn(memcache *m) {
    pthread_rwlock_rdlock(&m->lock);
    uint64_t v = m->max_lsn;
    pthread_rwlock_unlock(&m->lock);
    return v;
}

size_t mc_row_count(memcache *m) {
    pthread_rwlock_rdlock(&m->lock);
    size_t v = m->nrows;
    pthread_rwlock_unlock(&m->lock);
    return v;
}

static struct mseries *series_at(const memcache *m, uint32_t sid) {
    uint32_t p = sid >> PAGE_BITS;
    return p < m->npages && m->pages[p] ? m->pages[p][sid & (PAGE_SIDS - 1)] : NULL;
}

static struct mseries **series_slot(memcache *m, uint32_t sid) {
    uint32_t p = sid >> PAGE_BITS;
    if (p >= m->npages) {
        uint32_t np = m->npages ? m->npages : 16;
        while (np <= p) np *= 2;
        m->pages = xrealloc(m->pages, sizeof *m->pages * np);
        memset(m->pages + m->npages, 0, sizeof *m->pages * (np - m->npages));
        m->bytes += sizeof *m->pages * (np - m->npages);
        m->npages = np;
    }
    if (!m->pages[p]) {
        m->pages[p] = xcalloc(PAGE_SIDS, sizeof **m->pages);
        m->bytes += sizeof **m->pages * PAGE_SIDS;
    }
    return &m->pages[p][sid & (PAGE_SIDS - 1)];
}

/* Frees what a series holds outside the slab. */
static void series_free(struct mseries *s) {
    if (!s) return;
    if (s->cap > SLAB_ROWS) {
        for (uint32_t c = 0; c < s->ncols; c++) {
            if (s->cap > INLINE_VALID_ROWS) free(s->cols[c].valid.p);
            free(s->cols[c].d.raw);
        }
        free(s->ts);
    }
    if (s->colcap > SLAB_COLS) free(s->cols);
    free(s->cidx);
}

static uint32_t col_slot(uint32_t col_id, uint32_t mask) {
    return (col_id * 2654435761u) & mask;
}

/* Index of column col_id in s, or -1. */
static int series_find(const struct mseries *s, uint32_t col_id) {
    if (!s->cidx) {
        for (uint32_t c = 0; c < s->ncols; c++)
            if (s->cols[c].col_id == col_id) return (int)c;
        return -1;
    }
    const struct colidx *x = s->cidx;
    for (uint32_t i = col_slot(col_id, x->mask);; i = (i + 1) & x->mask) {
        uint32_t v = x->slot[i];
        if (!v) return -1;
        if (s->cols[v - 1].col_id == col_id) return (int)(v - 1);
    }
}

/* Records column index c (just added) in the index, building or doubling it as needed. */
static void series_index_add(memcache *m, struct mseries *s, uint32_t c) {
    if (s->ncols <= SERIES_INDEX_MIN) return;
    struct colidx *x = s->cidx;
    if (!x || (uint64_t)s->ncols * 2 > (uint64_t)x->mask + 1) {
        uint32_t cap = x ? (x->mask + 1) * 2 : 4 * SERIES_INDEX_MIN;
        while ((uint64_t)s->ncols * 2 > cap) cap *= 2;
        m->bytes += sizeof *x->slot * (cap - (x ? x->mask + 1 : 0));
        free(x);
        s->cidx = x = xcalloc(1, sizeof *x + sizeof *x->slot * cap);
        x->mask = cap - 1;
        for (uint32_t k = 0; k < s->ncols; k++) {
            uint32_t i = col_slot(s->cols[k].col_id, x->mask);
            while (x->slot[i]) i = (i + 1) & x->mask;
            x->slot[i] = k + 1;
        }
        return;
    }
    uint32_t i = col_slot(s->cols[c].col_id, x->mask);
    while (x->slot[i]) i = (i + 1) & x->mask;
    x->slot[i] = c + 1;
}

static void mc_free(memcache *m) {
    if (!m) return;
    size_t held = m->bytes;
    membudget_release(MEMBUDGET_MEMCACHE, held);
    for (uint32_t p = 0; p < m->npages; p++) {
        if (!m->pages[p]) continue;
        for (uint32_t i = 0; i < PAGE_SIDS; i++) series_free(m->pages[p][i]);
        free(m->pages[p]);
    }
    free(m->pages);
    slab_free(&m->slab);
    struct strblock *b = m->strs;
    while (b) {
        struct strblock *n = b->next;
        free(b);
        b = n;
    }
    pthread_rwlock_destroy(&m->lock);
    free(m);
    /* glibc keeps freed memory for reuse and gives back only what lies at the top of a heap,
     * so the blocks of a flushed cache, spread through the heaps of every thread that wrote,
     * would stay in the process for good. Once per flushed cache, a trim is cheap. */
    if (held >= TRIM_MIN_BYTES) malloc_trim(0);
}

static strv str_copy(memcache *m, strv s) {
    if (s.len == 0) return (strv){"", 0};
    struct strblock *b = m->strs;
    if (!b || b->cap - b->used < s.len) {
        size_t cap = s.len > 65536 ? s.len : 65536;
        b = xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        b->next = m->strs;
        m->strs = b;
        m->bytes += cap;
    }
    char *p = b->data + b->used;
    memcpy(p, s.p, s.len);
    b->used += s.len;
    return (strv){p, s.len};
}

/* Memory for an array of n bytes that belongs to a series of capacity cap: the slab while
 * cap <= limit, else the heap (counted in m->bytes; the slab counts itself). */
static void *series_mem(memcache *m, uint32_t cap, uint32_t limit, size_t n) {
    if (cap <= limit) return slab_alloc(&m->slab, n ? n : 1, 8);
    m->bytes += n;
    return xmalloc(n ? n : 1);
}

/* Moves an array of a series from capacity ocap to ncap, old_n bytes kept of new_n. */
static void *series_move(memcache *m, void *p, uint32_t ocap, uint32_t ncap, uint32_t limit,
                         size_t old_n, size_t new_n) {
    if (ocap > limit) {
        m->bytes += new_n - old_n;
        return xrealloc(p, new_n);
    }
    void *q = series_mem(m, ncap, limit, new_n);
    if (old_n) memcpy(q, p, old_n);
    return q;
}

static void series_grow(memcache *m, struct mseries *s) {
    uint32_t ocap = s->cap, ncap = ocap ? ocap * 2 : 1;
    s->ts =
        series_move(m, s->ts, ocap, ncap, SLAB_ROWS, sizeof *s->ts * ocap, sizeof *s->ts * ncap);
    for (uint32_t c = 0; c < s->ncols; c++) {
        struct mcol *col = &s->cols[c];
        size_t w = type_size(col->type);
        col->d.raw = series_move(m, col->d.raw, ocap, ncap, SLAB_ROWS, w * ocap, w * ncap);
        if (ncap <= INLINE_VALID_ROWS) continue; /* bits past the rows are zero already */
        uint8_t *v;
        if (ocap <= INLINE_VALID_ROWS) {
            v = xmalloc(bitmap_bytes(ncap));
            memcpy(v, col->valid.in, bitmap_bytes(ocap));
            m->bytes += bitmap_bytes(ncap);
        } else {
            v = xrealloc(col->valid.p, bitmap_bytes(ncap));
            m->bytes += bitmap_bytes(ncap) - bitmap_bytes(ocap);
        }
        memset(v + bitmap_bytes(ocap), 0, bitmap_bytes(ncap) - bitmap_bytes(ocap));
        col->valid.p = v;
    }
    s->cap = ncap;
}

static struct mcol *series_col(memcache *m, struct mseries *s, uint32_t col_id, uint8_t type,
                               uint32_t hint, uint32_t nvals) {
    if (hint < s->ncols && s->cols[hint].col_id == col_id) return &s->cols[hint];
    int found = series_find(s, col_id);
    if (found >= 0) return &s->cols[found];
    if (s->ncols == s->colcap) {
        /* The first row sizes the table to its own width. */
        uint32_t ncap = s->colcap ? s->colcap * 2 : (nvals ? nvals : 1);
        s->cols = series_move(m, s->cols, s->colcap, ncap, SLAB_COLS, sizeof *s->cols * s->ncols,
                              sizeof *s->cols * ncap);
        s->colcap = ncap;
    }
    struct mcol *col = &s->cols[s->ncols++];
    col->col_id = col_id;
    series_index_add(m, s, s->ncols - 1);
    col->type = type;
    col->d.raw = series_mem(m, s->cap, SLAB_ROWS, type_size(type) * s->cap);
    if (s->cap <= INLINE_VALID_ROWS) {
        memset(col->valid.in, 0, sizeof col->valid.in);
    } else {
        col->valid.p = xcalloc(1, bitmap_bytes(s->cap));
        m->bytes += bitmap_bytes(s->cap);
    }
    return col;
}

void mc_append(memcache *m, uint32_t sid, int64_t ts, const mc_val *vals, uint32_t nvals) {
    pthread_rwlock_wrlock(&m->lock);
    size_t slab0 = slab_bytes(&m->slab), bytes0 = m->bytes;
    struct mseries **slot = series_slot(m, sid);
    struct mseries *s = *slot;
    if (!s) {
        s = *slot = slab_calloc(&m->slab, sizeof *s, 8);
        s->sorted = 1;
    }
    if (s->n == s->cap) series_grow(m, s);
    uint32_t r = s->n;
    if (r > 0 && ts <= s->ts[r - 1]) s->sorted = 0;
    s->ts[r] = ts;
    for (uint32_t k = 0; k < nvals; k++) {
        const mc_val *v = &vals[k];
        struct mcol *col = series_col(m, s, v->col_id, v->type, k, nvals);
        if (col->type != v->type) continue;
        switch (v->type) {
        case VT_F64:
            col->d.f[r] = v->v.f;
            break;
        case VT_I64:
            col->d.i[r] = v->v.i;
            break;
        case VT_U64:
            col->d.u[r] = v->v.u;
            break;
        case VT_BOOL:
            col->d.b[r] = v->v.b;
            break;
        case VT_STR:
            col->d.s[r] = str_copy(m, v->v.s);
            break;
        default:
            continue;
        }
        bitmap_set(col_valid(s, col), r);
    }
    s->n++;
    m->nrows++;
    m->bytes += slab_bytes(&m->slab) - slab0;
    /* Growth only happens here; the rows are already durable, so they count past the limit. */
    if (m->bytes > bytes0) membudget_charge(MEMBUDGET_MEMCACHE, m->bytes - bytes0);
    if (!m->have_range) {
        m->tmin = m->tmax = ts;
        m->have_range = true;
    } else {
        if (ts < m->tmin) m->tmin = ts;
        if (ts > m->tmax) m->tmax = ts;
    }
    pthread_rwlock_unlock(&m->lock);
}

void mc_drop_series(memcache *m, const uint32_t *sids, size_t n) {
    pthread_rwlock_wrlock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        struct mseries *s = series_at(m, sids[i]);
        if (!s) continue;
        /* What the series held in the slab stays there until the cache goes. */
        m->nrows -= s->n;
        series_free(s);
        m->pages[sids[i] >> PAGE_BITS][sids[i] & (PAGE_SIDS - 1)] = NULL;
    }
    pthread_rwlock_unlock(&m->lock);
}

void mc_delete(memcache *m, uint32_t sid, int64_t tmin, int64_t tmax) {
    pthread_rwlock_wrlock(&m->lock);
    struct mseries *s = series_at(m, sid);
    if (s) {
        /* Compact the surviving rows to the front of every column. */
        uint32_t w = 0;
        for (uint32_t r = 0; r < s->n; r++) {
            if (s->ts[r] >= tmin && s->ts[r] <= tmax) continue;
            if (w != r) {
                s->ts[w] = s->ts[r];
                for (uint32_t c = 0; c < s->ncols; c++) {
                    struct mcol *col = &s->cols[c];
                    size_t sz = type_size(col->type);
                    memcpy((char *)col->d.raw + sz * w, (char *)col->d.raw + sz * r, sz);
                    uint8_t *v = col_valid(s, col);
                    if ((v[r >> 3] >> (r & 7)) & 1)
                        bitmap_set(v, w);
                    else
                        bitmap_clear(v, w);
                }
            }
            w++;
        }
        for (uint32_t c = 0; c < s->ncols; c++)
            for (uint32_t r = w; r < s->n; r++) bitmap_clear(col_valid(s, &s->cols[c]), r);
        m->nrows -= s->n - w;
        s->n = w;
    }
    pthread_rwlock_unlock(&m->lock);
}

size_t mc_sids(memcache *m, arena *a, uint32_t **sids) {
    pthread_rwlock_rdlock(&m->lock);
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) *sids = arena_alloc(a, sizeof **sids * (n ? n : 1));
        n = 0;
        for (uint32_t p = 0; p < m->npages; p++) {
            struct mseries **page = m->pages[p];
            for (uint32_t i = 0; page && i < PAGE_SIDS; i++) {
                if (!page[i] || !page[i]->n) continue;
                if (pass) (*sids)[n] = p << PAGE_BITS | i;
                n++;
            }
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return n;
}

uint32_t mc_series_cols(memcache *m, uint32_t sid, arena *a, uint32_t **col_ids, uint8_t **types) {
    pthread_rwlock_rdlock(&m->lock);
    struct mseries *s = series_at(m, sid);
    uint32_t n = s ? s->ncols : 0;
    *col_ids = arena_alloc(a, sizeof **col_ids * (n ? n : 1));
    *types = arena_alloc(a, n ? n : 1);
    for (uint32_t c = 0; c < n; c++) {
        (*col_ids)[c] = s->cols[c].col_id;
        (*types)[c] = s->cols[c].type;
    }
    pthread_rwlock_unlock(&m->lock);
    return n;
}

size_t mc_bytes(const memcache *m) {
    return __atomic_load_n(&m->bytes, __ATOMIC_RELAXED);
}

bool mc_has_series(memcache *m, uint32_t sid) {
    pthread_rwlock_rdlock(&m->lock);
    const struct mseries *s = series_at(m, sid);
    bool r = s && s->n > 0;
    pthread_rwlock_unlock(&m->lock);
    return r;
}

uint32_t mc_series_rows(memcache *m, uint32_t sid) {
    pthread_rwlock_rdlock(&m->lock);
    struct mseries *s = series_at(m, sid);
    uint32_t n = s ? s->n : 0;
    pthread_rwlock_unlock(&m->lock);
    return n;
}

struct order {
    int64_t ts;
    uint32_t idx;
};

static int cmp_order(const void *a, const void *b) {
    const struct order *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Puts the rows of s in time order, one row per timestamp (a later write's valid values win),
 * so that every later read is a binary search and a copy. Out-of-order rows usually arrive
 * near the newest ones (concurrent writers, late points), so only the rows from the first
 * one the unsorted tail must precede are rearranged. */
static void series_sort(memcache *m, struct mseries *s) {
    uint32_t r0 = 1;
    while (r0 < s->n && s->ts[r0] > s->ts[r0 - 1]) r0++;
    if (r0 >= s->n) {
        s->sorted = 1;
        return;
    }
    int64_t tail_min = s->ts[r0];
    for (uint32_t i = r0 + 1; i < s->n; i++)
        if (s->ts[i] < tail_min) tail_min = s->ts[i];
    uint32_t pos = 0, h = r0;
    while (pos < h) {
        uint32_t mid = pos + (h - pos) / 2;
        if (s->ts[mid] < tail_min)
            pos = mid + 1;
        else
            h = mid;
    }
    uint32_t k = s->n - pos;
    struct order *ord = xmalloc(sizeof *ord * k);
    for (uint32_t i = 0; i < k; i++) ord[i] = (struct order){s->ts[pos + i], pos + i};
    qsort(ord, k, sizeof *ord, cmp_order);
    /* dst[i]: the output row of ord[i] (equal timestamps are adjacent, in write order). */
    uint32_t *dst = xmalloc(sizeof *dst * k), outk = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (i == 0 || ord[i].ts != ord[i - 1].ts) s->ts[pos + outk++] = ord[i].ts;
        dst[i] = pos + outk - 1;
    }
    void *tmp = xmalloc(sizeof(strv) * k);
    uint8_t *bits = xmalloc(bitmap_bytes(k));
    for (uint32_t c = 0; c < s->ncols; c++) {
        struct mcol *col = &s->cols[c];
        size_t w = type_size(col->type);
        uint8_t *v = col_valid(s, col);
        char *raw = col->d.raw;
        memset(bits, 0, bitmap_bytes(k));
        for (uint32_t i = 0; i < k; i++) {
            uint32_t r = ord[i].idx, o = dst[i] - pos;
            if (!((v[r >> 3] >> (r & 7)) & 1)) continue;
            memcpy((char *)tmp + w * o, raw + w * r, w);
            bitmap_set(bits, o);
        }
        for (uint32_t o = 0; o < k; o++) {
            if (o < outk && ((bits[o >> 3] >> (o & 7)) & 1)) {
                memcpy(raw + w * (pos + o), (char *)tmp + w * o, w);
                bitmap_set(v, pos + o);
            } else {
                bitmap_clear(v, pos + o);
            }
        }
    }
    free(bits);
    free(tmp);
    free(dst);
    free(ord);
    m->nrows -= k - outk;
    s->n = pos + outk;
    s->sorted = 1;
}

/* Returns s (series sid) sorted if a reader holding the read lock finds it unsorted: the lock
 * is dropped for the writer's while it sorts, so the series is looked up again, and a write
 * in between may have unsorted it again (readers keep their unsorted path for that). */
static struct mseries *series_sorted(memcache *m, uint32_t sid, struct mseries *s) {
    if (!s || s->sorted) return s;
    pthread_rwlock_unlock(&m->lock);
    pthread_rwlock_wrlock(&m->lock);
    s = series_at(m, sid);
    if (s && !s->sorted) series_sort(m, s);
    pthread_rwlock_unlock(&m->lock);
    pthread_rwlock_rdlock(&m->lock);
    return series_at(m, sid);
}

bool mc_series_range(memcache *m, uint32_t sid, int64_t *tmin, int64_t *tmax) {
    pthread_rwlock_rdlock(&m->lock);
    struct mseries *s = series_sorted(m, sid, series_at(m, sid));
    bool r = s && s->n > 0;
    if (r) {
        if (s->sorted) {
            *tmin = s->ts[0];
            *tmax = s->ts[s->n - 1];
        } else {
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (uint32_t i = 0; i < s->n; i++) {
                if (s->ts[i] < lo) lo = s->ts[i];
                if (s->ts[i] > hi) hi = s->ts[i];
            }
            *tmin = lo;
            *tmax = hi;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return r;
}

bool mc_time_range(memcache *m, int64_t *tmin, int64_t *tmax) {
    pthread_rwlock_rdlock(&m->lock);
    bool r = m->have_range;
    *tmin = m->tmin;
    *tmax = m->tmax;
    pthread_rwlock_unlock(&m->lock);
    return r;
}

/* Copies row src_row of col into out at dst_row (types match). */
static inline void put_val(vec *out, uint32_t dst, const struct mcol *col, uint32_t src) {
    switch (col->type) {
    case VT_F64:
        out->d.f64[dst] = col->d.f[src];
        break;
    case VT_I64:
        out->d.i64[dst] = col->d.i[src];
        break;
    case VT_U64:
        out->d.u64[dst] = col->d.u[src];
        break;
    case VT_BOOL:
        out->d.b[dst] = col->d.b[src];
        break;
    case VT_STR:
        out->d.s[dst] = col->d.s[src];
        break;
    }
    bitmap_set(out->valid, dst);
}

int mc_read(memcache *m, uint32_t sid, int64_t tmin, int64_t tmax, uint32_t ncols,
            const uint32_t *col_ids, const uint8_t *types, arena *a, mc_rows *out) {
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&m->lock);
    struct mseries *s = series_sorted(m, sid, series_at(m, sid));
    if (!s || s->n == 0) {
        pthread_rwlock_unlock(&m->lock);
        return 0;
    }
    /* Which rows, in which order. */
    uint32_t n = 0;
    struct order *ord = NULL;
    uint32_t lo = 0, hi = 0;
    if (s->sorted) {
        uint32_t l = 0, h = s->n;
        while (l < h) {
            uint32_t mid = l + (h - l) / 2;
            if (s->ts[mid] < tmin)
                l = mid + 1;
            else
                h = mid;
        }
        lo = l;
        h = s->n;
        while (l < h) {
            uint32_t mid = l + (h - l) / 2;
            if (s->ts[mid] <= tmax)
                l = mid + 1;
            else
                h = mid;
        }
        hi = l;
        n = hi - lo;
    } else {
        ord = arena_alloc(a, sizeof *ord * s->n);
        for (uint32_t i = 0; i < s->n; i++)
            if (s->ts[i] >= tmin && s->ts[i] <= tmax) ord[n++] = (struct order){s->ts[i], i};
        qsort(ord, n, sizeof *ord, cmp_order);
    }
    if (n == 0) {
        pthread_rwlock_unlock(&m->lock);
        return 0;
    }
    out->ts = arena_alloc(a, sizeof *out->ts * n);
    out->cols = arena_calloc(a, sizeof *out->cols * (ncols ? ncols : 1));
    struct mcol **src = arena_alloc(a, sizeof *src * (ncols ? ncols : 1));
    const uint8_t **srcv = arena_alloc(a, sizeof *srcv * (ncols ? ncols : 1));
    for (uint32_t k = 0; k < ncols; k++) {
        vec *v = &out->cols[k];
        v->type = types[k];
        v->d.raw = arena_alloc(a, type_size(types[k]) * n);
        v->valid = arena_calloc(a, bitmap_bytes(n));
        int c = series_find(s, col_ids[k]);
        src[k] = c >= 0 && s->cols[c].type == types[k] ? &s->cols[c] : NULL;
        srcv[k] = src[k] ? col_valid(s, src[k]) : NULL;
    }
    uint32_t outn = 0;
    if (s->sorted) {
        memcpy(out->ts, s->ts + lo, sizeof *out->ts * n);
        for (uint32_t k = 0; k < ncols; k++) {
            if (!src[k]) continue;
            for (uint32_t i = 0; i < n; i++)
                if ((srcv[k][(lo + i) >> 3] >> ((lo + i) & 7)) & 1)
                    put_val(&out->cols[k], i, src[k], lo + i);
        }
        outn = n;
    } else {
        /* Equal timestamps are adjacent and in write order: later valid values overwrite. */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t r = ord[i].idx;
            if (outn == 0 || out->ts[outn - 1] != ord[i].ts) out->ts[outn++] = ord[i].ts;
            uint32_t dst = outn - 1;
            for (uint32_t k = 0; k < ncols; k++) {
                if (src[k] && ((srcv[k][r >> 3] >> (r & 7)) & 1))
                    put_val(&out->cols[k], dst, src[k], r);
            }
        }
    }
    /* Strings are copied out too: a cache may be freed (flushed, dropped) while the reader
     * still holds its rows. */
    for (uint32_t k = 0; k < ncols; k++) {
        out->cols[k].len = outn;
        vec_compact_valid(&out->cols[k], outn);
        if (types[k] == VT_STR) {
            for (uint32_t i = 0; i < outn; i++) {
                if (!vec_is_valid(&out->cols[k], i)) {
                    out->cols[k].d.s[i] = (strv){"", 0};
                    continue;
                }
                strv sv = out->cols[k].d.s[i];
                out->cols[k].d.s[i] = (strv){arena_strndup(a, sv.p, sv.len), sv.len};
            }
        }
    }
    out->n = outn;
    pthread_rwlock_unlock(&m->lock);
    return 0;
}
