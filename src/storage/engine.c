/* The storage engine: see engine.h.
 *
 * Write record format (what the WAL holds). Kind 1, a write: a flat stream of tagged sections
 *   'T' varint table_id                       following series belong to this table
 *   'S' varint keylen, key                    following rows belong to this series
 *   'R' zigzag varint ts, 3-byte varint n, n × (varint col_id, u8 vtype, payload)
 * payload: f64 8 bytes LE, i64 zigzag varint, u64 varint, bool 1 byte, string varint len+bytes.
 * Kind 2, a DELETE: varint table_id, zigzag tmin, zigzag tmax, varint n, n × varint sid.
 * A flat stream lets the builder append without back-patching counts, and lets replay apply
 * a record with the same code as a live write. */
#include "storage/engine.h"

#include "storage/memcache.h"
#include "storage/sindex.h"
#include "storage/vnode.h"
#include "storage/wal.h"
#include "util/fs.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/varint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define REC_WRITE 1
#define REC_DELETE 2
/* Writers wait while a database has this many caches waiting to be flushed. */
#define MAX_PENDING_FLUSHES 8

/* ------------------------------------------------------------------ structures */

struct sdb {
    engine *g;
    uint64_t id;
    int refs; /* engine map + running scans and writes */
    bool dropped;
    db_options opts;
    int64_t unit_ns; /* nanoseconds per time unit of the database */
    char *dir;
    wal *wal;
    sindex *idx;
    pthread_mutex_t wmu;    /* serialises writes: WAL order = apply order */
    pthread_cond_t drained; /* signalled when flushes complete (write backpressure) */
    pthread_rwlock_t rw;    /* vnode list and tombstones */
    vnode **vnodes;         /* sorted by (tmin, shard) */
    size_t nvnodes;
    tombstone *tombs;
    size_t ntombs;
    bool want_full_compact;
};

struct engine {
    engine_opts opts;
    char *dir;
    pthread_mutex_t mu;
    hmap *dbs; /* id (8 bytes) → struct sdb* */
    bool starting;
    pthread_t bg;
    bool bg_running;
    bool stop;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cond;
    bool bg_kick;
    pthread_mutex_t bg_work; /* held while a round of background work runs */
    int dirfd;               /* the storage directory as opened, to notice it being removed */
    atomic_bool lost;
    char lost_msg[ERR_MSG_MAX];
    atomic_int close_failures; /* databases whose WAL or index could not be made durable */
};

/* ------------------------------------------------------------------ record builder */

struct wrec {
    arena *a;
    char *p;
    size_t len, cap;
    size_t rows;
    size_t count_pos; /* where the current row's value count sits */
};

wrec *wrec_new(arena *a) {
    wrec *w = arena_calloc(a, sizeof *w);
    w->a = a;
    w->cap = 4096;
    w->p = arena_alloc(a, w->cap);
    w->p[0] = REC_WRITE;
    w->len = 1;
    return w;
}

static inline void wr_reserve(wrec *w, size_t n) {
    if (w->cap - w->len >= n) return;
    size_t ncap = w->cap * 2;
    while (ncap - w->len < n) ncap *= 2;
    w->p = arena_realloc(w->a, w->p, w->len, ncap);
    w->cap = ncap;
}

static inline void wr_byte(wrec *w, unsigned char c) {
    wr_reserve(w, 1);
    w->p[w->len++] = (char)c;
}

static inline void wr_uvarint(wrec *w, uint64_t v) {
    wr_reserve(w, 10);
    while (v >= 0x80) {
        w->p[w->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    w->p[w->len++] = (char)v;
}

static inline void wr_bytes(wrec *w, const void *p, size_t n) {
    wr_reserve(w, n);
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

void wrec_table(wrec *w, uint64_t table_id) {
    wr_byte(w, 'T');
    wr_uvarint(w, table_id);
}

void wrec_series(wrec *w, const void *key, size_t keylen) {
    wr_byte(w, 'S');
    wr_uvarint(w, keylen);
    wr_bytes(w, key, keylen);
}

/* The value count of the current row is written as a fixed 3-byte varint placeholder and
 * bumped as values are added, so rows need no up-front count. */
void wrec_row(wrec *w, int64_t ts) {
    wr_byte(w, 'R');
    wr_uvarint(w, zigzag_encode(ts));
    wr_reserve(w, 3);
    w->count_pos = w->len;
    w->p[w->len++] = (char)0x80;
    w->p[w->len++] = (char)0x80;
    w->p[w->len++] = 0;
    w->rows++;
}

static void bump_count(wrec *w) {
    unsigned char *p = (unsigned char *)w->p + w->count_pos;
    unsigned v = (p[0] & 0x7fu) | ((p[1] & 0x7fu) << 7) | ((unsigned)p[2] << 14);
    v++;
    p[0] = (unsigned char)(0x80 | (v & 0x7f));
    p[1] = (unsigned char)(0x80 | ((v >> 7) & 0x7f));
    p[2] = (unsigned char)(v >> 14);
}

void wrec_f64(wrec *w, uint32_t col_id, double v) {
    bump_count(w);
    wr_uvarint(w, col_id);
    wr_byte(w, VT_F64);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    unsigned char t[8];
    for (int i = 0; i < 8; i++) t[i] = (unsigned char)(bits >> (8 * i));
    wr_bytes(w, t, 8);
}

void wrec_i64(wrec *w, uint32_t col_id, int64_t v) {
    bump_count(w);
    wr_uvarint(w, col_id);
    wr_byte(w, VT_I64);
    wr_uvarint(w, zigzag_encode(v));
}

void wrec_u64(wrec *w, uint32_t col_id, uint64_t v) {
    bump_count(w);
    wr_uvarint(w, col_id);
    wr_byte(w, VT_U64);
    wr_uvarint(w, v);
}

void wrec_bool(wrec *w, uint32_t col_id, bool v) {
    bump_count(w);
    wr_uvarint(w, col_id);
    wr_byte(w, VT_BOOL);
    wr_byte(w, v ? 1 : 0);
}

void wrec_str(wrec *w, uint32_t col_id, const char *p, size_t n) {
    bump_count(w);
    wr_uvarint(w, col_id);
    wr_byte(w, VT_STR);
    wr_uvarint(w, n);
    wr_bytes(w, p, n);
}

size_t wrec_rows(const wrec *w) {
    return w->rows;
}

void series_key_begin(buf *b, uint32_t ntags) {
    buf_reset(b);
    buf_put_uvarint(b, ntags);
}

void series_key_tag(buf *b, uint32_t col_id, const char *val, size_t len) {
    buf_put_uvarint(b, col_id);
    buf_put_uvarint(b, len);
    buf_append(b, val, len);
}

/* ------------------------------------------------------------------ databases and vnodes */

static void sdb_release(struct sdb *d);

static struct sdb *get_db(engine *g, uint64_t id) {
    pthread_mutex_lock(&g->mu);
    uint64_t v;
    struct sdb *d = NULL;
    if (hmap_get(g->dbs, &id, sizeof id, &v)) {
        d = (struct sdb *)(uintptr_t)v;
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g->mu);
    return d;
}

/* Every open database, retained (for the background thread). */
static struct sdb **all_dbs(engine *g, size_t *n) {
    pthread_mutex_lock(&g->mu);
    size_t cnt = hmap_count(g->dbs), k = 0, pos = 0;
    struct sdb **arr = xmalloc(sizeof *arr * (cnt + 1));
    uint64_t v;
    while (hmap_next(g->dbs, &pos, NULL, NULL, &v)) {
        arr[k] = (struct sdb *)(uintptr_t)v;
        __atomic_add_fetch(&arr[k]->refs, 1, __ATOMIC_RELAXED);
        k++;
    }
    pthread_mutex_unlock(&g->mu);
    *n = k;
    return arr;
}

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t vnode_units(const struct sdb *d) {
    int64_t u = d->opts.vnode_duration_ns / d->unit_ns;
    return u > 0 ? u : 1;
}

static uint32_t shard_of(const struct sdb *d, uint32_t sid) {
    return d->opts.shard > 1 ? sid % (uint32_t)d->opts.shard : 0;
}

/* Index of the first vnode with tmax >= ts (vnodes sorted by tmin, ranges disjoint per shard
 * group). Caller holds rw. */
static size_t vnode_lower(const struct sdb *d, int64_t ts) {
    size_t lo = 0, hi = d->nvnodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (vnode_tmax(d->vnodes[mid]) < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void vnode_dir(char *out, size_t cap, const struct sdb *d, int64_t tmin, int64_t tmax,
                      uint32_t shard) {
    snprintf(out, cap, "%s/vnode-%lld_%lld_%u", d->dir, (long long)tmin, (long long)tmax, shard);
}

static int vnode_cmp(const void *pa, const void *pb) {
    const vnode *a = *(vnode *const *)pa, *b = *(vnode *const *)pb;
    if (vnode_tmin(a) != vnode_tmin(b)) return vnode_tmin(a) < vnode_tmin(b) ? -1 : 1;
    return (vnode_shard(a) > vnode_shard(b)) - (vnode_shard(a) < vnode_shard(b));
}

/* The vnode for a row, created if needed. Caller holds wmu. */
static vnode *vnode_for(struct sdb *d, int64_t ts, uint32_t sid, err *e) {
    uint32_t shard = shard_of(d, sid);
    pthread_rwlock_rdlock(&d->rw);
    int64_t rmin = INT64_MIN, rmax = INT64_MAX; /* free range around ts */
    bool have_range = false;
    for (size_t i = vnode_lower(d, ts); i < d->nvnodes; i++) {
        vnode *v = d->vnodes[i];
        if (vnode_tmin(v) > ts) break;
        if (vnode_tmax(v) < ts) continue;
        if (vnode_shard(v) == shard) {
            pthread_rwlock_unlock(&d->rw);
            return v;
        }
        /* Another shard owns this range: the new vnode takes the same range. */
        rmin = vnode_tmin(v);
        rmax = vnode_tmax(v);
        have_range = true;
    }
    if (!have_range) {
        int64_t u = vnode_units(d);
        __int128 start = (__int128)floor_div(ts, u) * u;
        __int128 end = start + u - 1;
        rmin = start < INT64_MIN ? INT64_MIN : (int64_t)start;
        rmax = end > INT64_MAX ? INT64_MAX : (int64_t)end;
        /* A changed VNODE_DURATION must not make ranges overlap: clip to the neighbours. */
        for (size_t i = 0; i < d->nvnodes; i++) {
            vnode *v = d->vnodes[i];
            if (vnode_tmax(v) < ts && vnode_tmax(v) >= rmin) rmin = vnode_tmax(v) + 1;
            if (vnode_tmin(v) > ts && vnode_tmin(v) <= rmax) rmax = vnode_tmin(v) - 1;
        }
    }
    pthread_rwlock_unlock(&d->rw);
    char dir[PATH_MAX];
    vnode_dir(dir, sizeof dir, d, rmin, rmax, shard);
    vnode *v;
    if (vnode_open(dir, floor_div(rmin, vnode_units(d)), shard, rmin, rmax, &v, e) < 0) return NULL;
    pthread_rwlock_wrlock(&d->rw);
    d->vnodes = xrealloc(d->vnodes, sizeof *d->vnodes * (d->nvnodes + 1));
    d->vnodes[d->nvnodes++] = v;
    qsort(d->vnodes, d->nvnodes, sizeof *d->vnodes, vnode_cmp);
    pthread_rwlock_unlock(&d->rw);
    return v;
}

/* Times below this are in expired vnodes (INT64_MIN without a TTL). */
static int64_t expired_before(const struct sdb *d) {
    if (d->opts.ttl_ns <= 0) return INT64_MIN;
    return (time_now_ns() - d->opts.ttl_ns) / d->unit_ns;
}

static int open_vnodes(struct sdb *d, err *e) {
    DIR *dir = opendir(d->dir);
    if (!dir) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", d->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir)) && rc == 0) {
        long long tmin, tmax;
        unsigned shard;
        char tail;
        if (sscanf(de->d_name, "vnode-%lld_%lld_%u%c", &tmin, &tmax, &shard, &tail) != 3) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", d->dir, de->d_name);
        if (expired_before(d) > tmax) {
            /* Past the TTL: retention would drop it at once; never show it again. */
            log_info("database %llu: removing expired %s", (unsigned long long)d->id, path);
            fs_rm_rf(path);
            continue;
        }
        vnode *v;
        if (vnode_open(path, floor_div(tmin, vnode_units(d)), shard, tmin, tmax, &v, e) < 0) {
            rc = -1;
            break;
        }
        d->vnodes = xrealloc(d->vnodes, sizeof *d->vnodes * (d->nvnodes + 1));
        d->vnodes[d->nvnodes++] = v;
    }
    closedir(dir);
    if (d->nvnodes) qsort(d->vnodes, d->nvnodes, sizeof *d->vnodes, vnode_cmp);
    return rc;
}

/* ------------------------------------------------------------------ tombstones */

static void tombs_free(tombstone *t, size_t n) {
    for (size_t i = 0; i < n; i++) free(t[i].sids);
    free(t);
}

static int tombs_save(struct sdb *d, err *e) {
    json_t *arr = json_array();
    for (size_t i = 0; i < d->ntombs; i++) {
        const tombstone *t = &d->tombs[i];
        json_t *sids = json_array();
        for (uint32_t k = 0; k < t->nsids; k++)
            json_array_append_new(sids, json_integer(t->sids[k]));
        json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:I, s:o}", "lsn", (json_int_t)t->lsn,
                                             "table", (json_int_t)t->table_id, "tmin",
                                             (json_int_t)t->tmin, "tmax", (json_int_t)t->tmax,
                                             "sids", sids));
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/TOMBSTONES", d->dir);
    char hdr[16];
    int hl = snprintf(hdr, sizeof hdr, "%08x ", (uint32_t)XXH3_64bits(text, strlen(text)));
    const void *parts[] = {hdr, text};
    size_t lens[] = {(size_t)hl, strlen(text)};
    int rc = fs_write_atomic(path, parts, lens, 2, e);
    free(text);
    return rc;
}

static int tombs_load(struct sdb *d, err *e) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/TOMBSTONES", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT
                   ? 0
                   : err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    unsigned crc;
    json_t *arr = NULL;
    if (len > 9 && line[8] == ' ' && sscanf(line, "%8x", &crc) == 1 &&
        (uint32_t)XXH3_64bits(line + 9, (size_t)len - 9) == crc)
        arr = json_loadb(line + 9, (size_t)len - 9, 0, NULL);
    free(line);
    if (!arr) return err_set(e, 500, EC_STORAGE, "corrupt %s", path);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        d->tombs = xrealloc(d->tombs, sizeof *d->tombs * (d->ntombs + 1));
        tombstone *t = &d->tombs[d->ntombs++];
        t->lsn = (uint64_t)json_integer_value(json_object_get(it, "lsn"));
        t->table_id = (uint64_t)json_integer_value(json_object_get(it, "table"));
        t->tmin = json_integer_value(json_object_get(it, "tmin"));
        t->tmax = json_integer_value(json_object_get(it, "tmax"));
        json_t *sids = json_object_get(it, "sids");
        t->nsids = (uint32_t)json_array_size(sids);
        t->sids = xmalloc(sizeof *t->sids * (t->nsids + 1));
        for (uint32_t k = 0; k < t->nsids; k++)
            t->sids[k] = (uint32_t)json_integer_value(json_array_get(sids, k));
    }
    json_decref(arr);
    return 0;
}

/* A copy of the tombstones (of one table, or all when table_id is 0) in the arena. */
static tomb_set tombs_snapshot(struct sdb *d, uint64_t table_id, arena *a) {
    pthread_rwlock_rdlock(&d->rw);
    tombstone *t = arena_alloc(a, sizeof *t * (d->ntombs + 1));
    size_t n = 0;
    for (size_t i = 0; i < d->ntombs; i++) {
        if (table_id && d->tombs[i].table_id != table_id) continue;
        t[n] = d->tombs[i];
        t[n].sids = arena_alloc(a, sizeof *t[n].sids * (d->tombs[i].nsids + 1));
        memcpy(t[n].sids, d->tombs[i].sids, sizeof *t[n].sids * d->tombs[i].nsids);
        n++;
    }
    pthread_rwlock_unlock(&d->rw);
    return (tomb_set){t, n};
}

/* ------------------------------------------------------------------ applying records */

/* The vnodes a record wrote to (usually one). */
struct touched {
    vnode *inline_v[8];
    vnode **v;
    size_t n, cap;
};

static void touch(struct touched *t, vnode *v) {
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i] == v) return;
    if (t->n == t->cap) {
        size_t nc = t->cap * 2;
        vnode **nv = xmalloc(sizeof *nv * nc);
        memcpy(nv, t->v, sizeof *nv * t->n);
        if (t->v != t->inline_v) free(t->v);
        t->v = nv;
        t->cap = nc;
    }
    t->v[t->n++] = v;
}

static int apply_delete(struct sdb *d, uint64_t lsn, byte_reader *r, bool replay, err *e) {
    uint64_t table_id = br_uvarint(r);
    int64_t tmin = zigzag_decode(br_uvarint(r)), tmax = zigzag_decode(br_uvarint(r));
    uint64_t n = br_uvarint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) return -1;
    uint32_t *sids = xmalloc(sizeof *sids * (n + 1));
    for (uint64_t i = 0; i < n; i++) sids[i] = (uint32_t)br_uvarint(r);
    if (r->bad) {
        free(sids);
        return -1;
    }
    /* Rows already in the active caches go now; older sources are covered by the tombstone. */
    pthread_rwlock_rdlock(&d->rw);
    for (size_t i = 0; i < d->nvnodes; i++) {
        vnode *v = d->vnodes[i];
        if (vnode_tmax(v) < tmin || vnode_tmin(v) > tmax) continue;
        for (uint64_t k = 0; k < n; k++) mc_delete(vnode_active(v), sids[k], tmin, tmax);
        mc_note_lsn(vnode_active(v), lsn);
    }
    pthread_rwlock_unlock(&d->rw);
    pthread_rwlock_wrlock(&d->rw);
    bool exists = false;
    for (size_t i = 0; i < d->ntombs; i++) exists |= d->tombs[i].lsn == lsn;
    int rc = 0;
    if (!exists) {
        d->tombs = xrealloc(d->tombs, sizeof *d->tombs * (d->ntombs + 1));
        d->tombs[d->ntombs++] = (tombstone){lsn, table_id, tmin, tmax, (uint32_t)n, sids};
        sids = NULL;
        rc = tombs_save(d, e);
    }
    pthread_rwlock_unlock(&d->rw);
    free(sids);
    (void)replay;
    return rc;
}

/* Applies one WAL record to the caches. Caller holds wmu. */
static int apply_record(engine *g, struct sdb *d, uint64_t lsn, const void *rec, size_t len,
                        bool replay, err *e) {
    byte_reader r = {rec, (const unsigned char *)rec + len, false};
    const unsigned char *kind = br_bytes(&r, 1);
    if (!kind) return 0;
    if (*kind == REC_DELETE) {
        if (apply_delete(d, lsn, &r, replay, e) < 0) {
            if (!e->msg[0])
                err_set(e, 500, EC_STORAGE, "malformed delete record %llu",
                        (unsigned long long)lsn);
            return -1;
        }
        return 0;
    }
    if (*kind != REC_WRITE) return 0; /* a newer format's record: skip */
    uint64_t table_id = 0;
    bool live = false, have_series = false;
    uint32_t sid = 0;
    mc_val stackvals[64];
    mc_val *vals = stackvals;
    size_t vcap = 64;
    vnode *last = NULL;
    struct touched tv = {.n = 0, .cap = 8};
    tv.v = tv.inline_v;
    int64_t cutoff = expired_before(d);
    int rc = 0;
    while (r.p < r.end && !r.bad) {
        unsigned char tag = *r.p++;
        if (tag == 'T') {
            table_id = br_uvarint(&r);
            live =
                !g->opts.table_live || g->opts.table_live(g->opts.table_live_ctx, d->id, table_id);
            have_series = false;
        } else if (tag == 'S') {
            uint64_t kl = br_uvarint(&r);
            const unsigned char *key = br_bytes(&r, kl);
            if (r.bad) break;
            have_series = false;
            if (live) {
                if (sindex_get_or_add(d->idx, table_id, key, kl, &sid, e) < 0) {
                    rc = -1;
                    break;
                }
                have_series = true;
                last = NULL;
            }
        } else if (tag == 'R') {
            int64_t ts = zigzag_decode(br_uvarint(&r));
            uint64_t nv = br_uvarint(&r);
            if (r.bad || nv > (uint64_t)(r.end - r.p)) {
                r.bad = true;
                break;
            }
            if (nv > vcap) {
                if (vals != stackvals) free(vals);
                vcap = nv;
                vals = xmalloc(sizeof *vals * vcap);
            }
            for (uint64_t i = 0; i < nv && !r.bad; i++) {
                mc_val *v = &vals[i];
                v->col_id = (uint32_t)br_uvarint(&r);
                const unsigned char *t = br_bytes(&r, 1);
                if (!t) break;
                v->type = *t;
                switch (v->type) {
                case VT_F64: {
                    const unsigned char *p = br_bytes(&r, 8);
                    if (!p) break;
                    uint64_t bits = 0;
                    for (int b = 7; b >= 0; b--) bits = (bits << 8) | p[b];
                    memcpy(&v->v.f, &bits, 8);
                    break;
                }
                case VT_I64:
                    v->v.i = zigzag_decode(br_uvarint(&r));
                    break;
                case VT_U64:
                    v->v.u = br_uvarint(&r);
                    break;
                case VT_BOOL: {
                    const unsigned char *p = br_bytes(&r, 1);
                    if (p) v->v.b = *p != 0;
                    break;
                }
                case VT_STR: {
                    uint64_t sl = br_uvarint(&r);
                    const unsigned char *p = br_bytes(&r, sl);
                    v->v.s = (strv){(const char *)p, (uint32_t)sl};
                    break;
                }
                default:
                    r.bad = true;
                }
            }
            if (r.bad) break;
            if (!live || !have_series) continue;
            if (cutoff != INT64_MIN) {
                /* A row of a vnode that retention has (or would have) dropped: replaying it
                 * must not bring expired data back. */
                int64_t u = vnode_units(d);
                __int128 end = (__int128)floor_div(ts, u) * u + u - 1;
                if (end < cutoff) continue;
            }
            vnode *vn = last && ts >= vnode_tmin(last) && ts <= vnode_tmax(last)
                            ? last
                            : vnode_for(d, ts, sid, e);
            if (!vn) {
                rc = -1;
                break;
            }
            last = vn;
            /* On replay, rows this vnode has already put in files are skipped. */
            if (lsn <= vnode_flushed_lsn(vn)) continue;
            mc_append(vnode_active(vn), sid, ts, vals, (uint32_t)nv);
            touch(&tv, vn);
        } else {
            r.bad = true;
        }
    }
    for (size_t i = 0; i < tv.n; i++) mc_note_lsn(vnode_active(tv.v[i]), lsn);
    if (vals != stackvals) free(vals);
    if (r.bad && !rc)
        rc = err_set(e, 500, EC_STORAGE, "malformed write record %llu in database %llu",
                     (unsigned long long)lsn, (unsigned long long)d->id);
    /* Caches past their limit are frozen here, at a record boundary, and flushed later. */
    if (!rc) {
        for (size_t i = 0; i < tv.n; i++)
            if (vnode_mem_bytes(tv.v[i]) > g->opts.max_memcache_size && vnode_freeze(tv.v[i]))
                engine_kick(g);
    }
    if (tv.v != tv.inline_v) free(tv.v);
    return rc;
}

static int replay_cb(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e) {
    void **c = ctx;
    int rc = apply_record(c[0], c[1], lsn, rec, len, true, e);
    if (rc) {
        /* A record that passed its checksum but does not decode was written by a buggy or
         * newer build: skip it loudly rather than refuse to start. */
        log_error("wal replay: skipping record %llu: %s", (unsigned long long)lsn, e->msg);
        err_clear(e);
    }
    return 0;
}

static void sdb_free(struct sdb *d) {
    int rc = wal_close(d->wal);
    rc |= sindex_close(d->idx);
    if (rc) atomic_fetch_add(&d->g->close_failures, 1);
    for (size_t i = 0; i < d->nvnodes; i++) vnode_close(d->vnodes[i]);
    free(d->vnodes);
    tombs_free(d->tombs, d->ntombs);
    pthread_mutex_destroy(&d->wmu);
    pthread_cond_destroy(&d->drained);
    pthread_rwlock_destroy(&d->rw);
    free(d->dir);
    free(d);
}

static void sdb_release(struct sdb *d) {
    if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    bool dropped = d->dropped;
    char *dir = dropped ? xstrdup(d->dir) : NULL;
    if (dropped)
        for (size_t i = 0; i < d->nvnodes; i++) vnode_mark_dropped(d->vnodes[i]);
    sdb_free(d);
    if (dropped) {
        if (fs_rm_rf(dir) < 0) log_error("cannot remove %s: %s", dir, strerror(errno));
        free(dir);
    }
}

/* ------------------------------------------------------------------ background work */

static uint8_t env_codec(void *ctx, uint64_t table_id, uint32_t col_id) {
    struct sdb *d = ctx;
    engine *g = d->g;
    return g->opts.col_codec ? g->opts.col_codec(g->opts.table_live_ctx, d->id, table_id, col_id)
                             : 0;
}

static bool env_live(void *ctx, uint64_t table_id) {
    struct sdb *d = ctx;
    engine *g = d->g;
    return !g->opts.table_live || g->opts.table_live(g->opts.table_live_ctx, d->id, table_id);
}

static bool env_series_table(void *ctx, uint32_t sid, uint64_t *table_id) {
    struct sdb *d = ctx;
    return sindex_series_table(d->idx, sid, table_id);
}

static int env_sync(void *ctx, err *e) {
    struct sdb *d = ctx;
    return sindex_sync(d->idx, e);
}

/* The database's vnodes, each retained: release with vnodes_release. */
static vnode **vnodes_snapshot(struct sdb *d, size_t *n) {
    pthread_rwlock_rdlock(&d->rw);
    vnode **arr = xmalloc(sizeof *arr * (d->nvnodes + 1));
    for (size_t i = 0; i < d->nvnodes; i++) {
        arr[i] = d->vnodes[i];
        vnode_retain(arr[i]);
    }
    *n = d->nvnodes;
    pthread_rwlock_unlock(&d->rw);
    return arr;
}

static void vnodes_release(vnode **vs, size_t n) {
    for (size_t i = 0; i < n; i++) vnode_close(vs[i]);
    free(vs);
}

/* Flushes what is waiting, compacts, trims the WAL. Vnodes are only removed by retention,
 * which runs on this same thread, so the snapshot of pointers stays valid. */
static int db_maintain(engine *g, struct sdb *d, bool full, err *flush_err) {
    int frc = 0;
    err e;
    err_clear(&e);
    arena *a = arena_new(0);
    vnode_env env = {env_codec, env_live, env_series_table, env_sync, d, tombs_snapshot(d, 0, a)};
    size_t nv;
    vnode **vs = vnodes_snapshot(d, &nv);
    for (size_t i = 0; i < nv; i++) {
        int rc;
        while ((rc = vnode_flush_one(vs[i], &env, &e)) == 1) {
            pthread_mutex_lock(&d->wmu);
            pthread_cond_broadcast(&d->drained);
            pthread_mutex_unlock(&d->wmu);
        }
        if (rc < 0) {
            log_error("flush: %s", e.msg);
            if (frc == 0 && flush_err) *flush_err = e;
            frc = -1;
            err_clear(&e);
        }
    }
    bool force = full || __atomic_exchange_n(&d->want_full_compact, false, __ATOMIC_ACQ_REL);
    /* Compaction needs every tombstone older than the files it merges: a DELETE that came
     * during the flushes above may be newer than a cache they just wrote, and merging that
     * file with older ones under the first snapshot would bring the deleted rows back. Files
     * only appear on this thread, so one snapshot taken now covers every compaction below. */
    env.tombs = tombs_snapshot(d, 0, a);
    for (size_t i = 0; i < nv && !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE); i++) {
        int rc = 0;
        while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE) && (rc = vnode_compact(vs[i], &env, force, &e)) == 1)
            if (force) break;
        if (rc < 0) {
            log_error("compaction: %s", e.msg);
            err_clear(&e);
        }
    }
    /* Retention: a vnode whose whole range is older than the TTL goes at once. */
    if (d->opts.ttl_ns > 0) {
        int64_t cutoff = (time_now_ns() - d->opts.ttl_ns) / d->unit_ns;
        pthread_mutex_lock(&d->wmu);
        pthread_rwlock_wrlock(&d->rw);
        size_t k = 0;
        for (size_t i = 0; i < d->nvnodes; i++) {
            vnode *v = d->vnodes[i];
            if (vnode_tmax(v) < cutoff) {
                log_info("database %llu: dropping expired vnode [%lld, %lld]",
                         (unsigned long long)d->id, (long long)vnode_tmin(v),
                         (long long)vnode_tmax(v));
                vnode_mark_dropped(v);
                vnode_close(v);
            } else {
                d->vnodes[k++] = v;
            }
        }
        bool changed = k != d->nvnodes;
        d->nvnodes = k;
        pthread_rwlock_unlock(&d->rw);
        pthread_mutex_unlock(&d->wmu);
        if (changed) {
            vnodes_release(vs, nv);
            vs = vnodes_snapshot(d, &nv);
        }
    }
    /* WAL: segments wholly before the oldest unflushed record can go. Computed under the
     * write lock so no record lands between the check and a rotation. */
    pthread_mutex_lock(&d->wmu);
    uint64_t keep = wal_last_lsn(d->wal) + 1;
    for (size_t i = 0; i < nv; i++) {
        uint64_t m = vnode_min_unflushed_lsn(vs[i]);
        if (m < keep) keep = m;
    }
    /* Everything flushed: start a new segment so the old one can go and a restart replays
     * nothing. (An empty current segment is not rotated again.) */
    if (keep == wal_last_lsn(d->wal) + 1 && wal_size(d->wal) > 0) {
        uint64_t r = wal_rotate(d->wal, &e);
        if (r) keep = r;
    }
    pthread_mutex_unlock(&d->wmu);
    if (wal_trim(d->wal, keep, &e) < 0) {
        log_error("wal trim: %s", e.msg);
        err_clear(&e);
    }
    /* A vnode that sees few writes would pin old WAL segments forever: when the WAL grows
     * past a few segments, freeze the cache holding the oldest record. */
    if (wal_size(d->wal) > 4 * g->opts.wal_max_file_size) {
        vnode *oldest = NULL;
        uint64_t ol = UINT64_MAX;
        for (size_t i = 0; i < nv; i++) {
            uint64_t m = vnode_min_unflushed_lsn(vs[i]);
            if (m < ol) {
                ol = m;
                oldest = vs[i];
            }
        }
        if (oldest) {
            pthread_mutex_lock(&d->wmu);
            if (vnode_freeze(oldest)) engine_kick(g);
            pthread_mutex_unlock(&d->wmu);
        }
    }
    /* Tombstones no source needs any more are dropped. */
    pthread_rwlock_wrlock(&d->rw);
    size_t k = 0;
    bool pruned = false;
    for (size_t i = 0; i < d->ntombs; i++) {
        tombstone *t = &d->tombs[i];
        bool needed = false;
        for (size_t j = 0; j < d->nvnodes && !needed; j++)
            if (vnode_tmax(d->vnodes[j]) >= t->tmin && vnode_tmin(d->vnodes[j]) <= t->tmax)
                needed = vnode_has_data_before(d->vnodes[j], t->lsn);
        if (needed)
            d->tombs[k++] = *t;
        else {
            free(t->sids);
            pruned = true;
        }
    }
    d->ntombs = k;
    if (pruned && tombs_save(d, &e) < 0) {
        log_error("tombstones: %s", e.msg);
        err_clear(&e);
    }
    pthread_rwlock_unlock(&d->rw);
    vnodes_release(vs, nv);
    arena_free(a);
    return frc;
}

/* Whether the storage directory is still the one at its path: `rm -rf` of the data directory
 * leaves the server holding a directory with no name, and everything acknowledged from then
 * on would be gone at the next start. Sticky, like a failed fsync. */
static bool check_lost(engine *g) {
    if (atomic_load(&g->lost)) return true;
    const char *why = fs_dir_gone(g->dirfd, g->dir);
    if (!why) return false;
    snprintf(g->lost_msg, sizeof g->lost_msg,
             "the storage directory %s %s while the server was running: writes are refused "
             "because they could not be kept; restart the server",
             g->dir, why);
    if (!atomic_exchange(&g->lost, true)) log_error("%s", g->lost_msg);
    return true;
}

bool engine_healthy(engine *g, err *e) {
    if (!check_lost(g)) return true;
    err_set(e, 500, EC_STORAGE, "%s", g->lost_msg);
    return false;
}

static void *bg_main(void *arg) {
    engine *g = arg;
    int period = g->opts.bg_interval_ms > 0 ? g->opts.bg_interval_ms : 1000;
    pthread_mutex_lock(&g->bg_mu);
    while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
        if (!g->bg_kick) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += period / 1000;
            ts.tv_nsec += (long)(period % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g->bg_cond, &g->bg_mu, &ts);
        }
        g->bg_kick = false;
        if (__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) break;
        pthread_mutex_unlock(&g->bg_mu);
        (void)check_lost(g);
        pthread_mutex_lock(&g->bg_work);
        size_t n;
        struct sdb **dbs = all_dbs(g, &n);
        for (size_t i = 0; i < n; i++) {
            if (!dbs[i]->dropped) (void)db_maintain(g, dbs[i], false, NULL);
            sdb_release(dbs[i]);
        }
        free(dbs);
        pthread_mutex_unlock(&g->bg_work);
        pthread_mutex_lock(&g->bg_mu);
    }
    pthread_mutex_unlock(&g->bg_mu);
    return NULL;
}

void engine_kick(engine *g) {
    pthread_mutex_lock(&g->bg_mu);
    g->bg_kick = true;
    pthread_cond_signal(&g->bg_cond);
    pthread_mutex_unlock(&g->bg_mu);
}

/* ------------------------------------------------------------------ engine */

int engine_open(const engine_opts *o, engine **out, err *e) {
    if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot create %s: %s", o->dir, strerror(errno));
    int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", o->dir, strerror(errno));
    engine *g = xcalloc(1, sizeof *g);
    g->dirfd = dfd;
    g->opts = *o;
    g->dir = xstrdup(o->dir);
    g->opts.dir = g->dir;
    if (!g->opts.max_memcache_size) g->opts.max_memcache_size = 128ull << 20;
    if (!g->opts.wal_max_file_size) g->opts.wal_max_file_size = 128ull << 20;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->bg_mu, NULL);
    pthread_mutex_init(&g->bg_work, NULL);
    pthread_cond_init(&g->bg_cond, NULL);
    g->dbs = hmap_new(16);
    g->starting = true;
    if (pthread_create(&g->bg, NULL, bg_main, g) != 0) {
        close(g->dirfd);
        free(g->dir);
        free(g);
        return err_set(e, 500, EC_STORAGE, "cannot start the background thread");
    }
    g->bg_running = true;
    *out = g;
    return 0;
}

bool engine_starting(engine *g) {
    return __atomic_load_n(&g->starting, __ATOMIC_ACQUIRE);
}

void engine_started(engine *g) {
    __atomic_store_n(&g->starting, false, __ATOMIC_RELEASE);
}

int engine_close(engine *g) {
    if (!g) return 0;
    int rc = 0;
    if (g->bg_running) {
        pthread_mutex_lock(&g->bg_mu);
        __atomic_store_n(&g->stop, true, __ATOMIC_RELEASE);
        pthread_cond_signal(&g->bg_cond);
        pthread_mutex_unlock(&g->bg_mu);
        pthread_join(g->bg, NULL);
    }
    /* Everything in memory goes to files, so the next start replays (almost) nothing. */
    size_t n;
    struct sdb **dbs = all_dbs(g, &n);
    __atomic_store_n(&g->stop, false, __ATOMIC_RELEASE);
    for (size_t i = 0; i < n; i++) {
        err e;
        if (!dbs[i]->dropped && engine_flush_all(g, dbs[i]->id, false, &e) < 0) {
            log_error("flush at shutdown: %s", e.msg);
            rc = -1;
        }
        sdb_release(dbs[i]);
    }
    free(dbs);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(g->dbs, &pos, NULL, NULL, &v)) sdb_release((struct sdb *)(uintptr_t)v);
    hmap_free(g->dbs);
    if (atomic_load(&g->close_failures)) rc = -1;
    /* Whatever was synced into a directory that is gone is not durable either. */
    if (check_lost(g)) rc = -1;
    close(g->dirfd);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->bg_mu);
    pthread_mutex_destroy(&g->bg_work);
    pthread_cond_destroy(&g->bg_cond);
    free(g->dir);
    free(g);
    return rc;
}

/* Column files must not use series ids the index does not know (see sindex_check_bound). */
static int check_series_ids(struct sdb *d, err *e) {
    uint64_t bound = 0;
    const char *user = NULL;
    for (size_t i = 0; i < d->nvnodes; i++) {
        const char *u = vnode_sid_bound(d->vnodes[i], &bound);
        if (u) user = u;
    }
    return user ? sindex_check_bound(d->idx, bound, user, d->g->opts.salvage, e) : 0;
}

/* Newest LSN whose rows some vnode holds in files. The WAL must hand out larger ones, or replay
 * would take new records for rows already flushed and skip them (a WAL that lost its tail or
 * its files while the column files stayed). */
static uint64_t flushed_lsn(struct sdb *d) {
    uint64_t m = 0;
    for (size_t i = 0; i < d->nvnodes; i++)
        if (vnode_flushed_lsn(d->vnodes[i]) > m) m = vnode_flushed_lsn(d->vnodes[i]);
    return m;
}

int engine_open_db(engine *g, uint64_t db_id, const db_options *o, err *e) {
    struct sdb *existing = get_db(g, db_id);
    if (existing) {
        sdb_release(existing);
        return 0;
    }
    struct sdb *d = xcalloc(1, sizeof *d);
    d->g = g;
    d->id = db_id;
    d->refs = 1;
    d->opts = *o;
    d->unit_ns = 1000000000 / tunit_per_sec((enum tunit)o->precision);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
    d->dir = xstrdup(path);
    pthread_mutex_init(&d->wmu, NULL);
    pthread_cond_init(&d->drained, NULL);
    pthread_rwlock_init(&d->rw, NULL);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        err_set(e, 500, EC_STORAGE, "cannot create %s: %s", path, strerror(errno));
        sdb_free(d);
        return -1;
    }
    snprintf(path, sizeof path, "%s/index", d->dir);
    if (sindex_open(path, g->opts.salvage, &d->idx, e) < 0 || tombs_load(d, e) < 0 ||
        open_vnodes(d, e) < 0 || check_series_ids(d, e) < 0) {
        sdb_free(d);
        return -1;
    }
    wal_opts wo = {.sync_each = g->opts.wal_sync,
                   .sync_interval_ms = g->opts.wal_sync_interval_ms,
                   .max_segment_bytes = g->opts.wal_max_file_size,
                   .salvage = g->opts.salvage};
    snprintf(path, sizeof path, "%s/wal", d->dir);
    if (wal_open(path, &wo, &d->wal, e) < 0) {
        sdb_free(d);
        return -1;
    }
    void *ctx[2] = {g, d};
    int64_t t0 = time_mono_ns();
    pthread_mutex_lock(&d->wmu);
    int rc = wal_replay(d->wal, replay_cb, ctx, e);
    if (rc == 0) rc = wal_skip_to(d->wal, flushed_lsn(d) + 1, e);
    pthread_mutex_unlock(&d->wmu);
    if (rc < 0) {
        sdb_free(d);
        return -1;
    }
    log_info("database %llu: %zu vnodes, %zu series, WAL replayed up to lsn %llu in %.1f ms",
             (unsigned long long)db_id, d->nvnodes, sindex_count(d->idx),
             (unsigned long long)wal_last_lsn(d->wal), (double)(time_mono_ns() - t0) / 1e6);
    pthread_mutex_lock(&g->mu);
    hmap_put(g->dbs, &db_id, sizeof db_id, (uint64_t)(uintptr_t)d);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void engine_update_db(engine *g, uint64_t db_id, const db_options *o) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return;
    pthread_mutex_lock(&d->wmu);
    d->opts.ttl_ns = o->ttl_ns;
    d->opts.shard = o->shard;
    d->opts.replica = o->replica;
    /* A new duration shapes vnodes created from now on; existing ones keep their ranges. */
    d->opts.vnode_duration_ns = o->vnode_duration_ns;
    pthread_mutex_unlock(&d->wmu);
    sdb_release(d);
    engine_kick(g);
}

int engine_drop_db(engine *g, uint64_t db_id, err *e) {
    pthread_mutex_lock(&g->mu);
    uint64_t v;
    struct sdb *d = NULL;
    if (hmap_get(g->dbs, &db_id, sizeof db_id, &v)) {
        d = (struct sdb *)(uintptr_t)v;
        hmap_del(g->dbs, &db_id, sizeof db_id);
    }
    pthread_mutex_unlock(&g->mu);
    if (d) {
        /* Wait out a background round that may hold it, then let the last reference go. */
        pthread_mutex_lock(&g->bg_work);
        d->dropped = true;
        pthread_mutex_unlock(&g->bg_work);
        sdb_release(d);
    } else {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
        fs_rm_rf(path);
    }
    return 0;
}

int engine_drop_table(engine *g, uint64_t db_id, uint64_t table_id, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return 0;
    arena *a = arena_new(0);
    uint32_t *sids;
    size_t n = sindex_table_sids(d->idx, table_id, a, &sids);
    pthread_mutex_lock(&d->wmu);
    pthread_rwlock_rdlock(&d->rw);
    for (size_t i = 0; i < d->nvnodes; i++) {
        vversion *vv = vnode_acquire(d->vnodes[i]);
        (void)vv;
        mc_drop_series(vnode_active(d->vnodes[i]), sids, n);
        vversion_release(vv);
    }
    pthread_rwlock_unlock(&d->rw);
    int rc = sindex_drop_table(d->idx, table_id, e);
    pthread_mutex_unlock(&d->wmu);
    arena_free(a);
    /* Files still hold the rows; a full compaction drops them and frees the space. */
    __atomic_store_n(&d->want_full_compact, true, __ATOMIC_RELEASE);
    engine_kick(g);
    sdb_release(d);
    return rc;
}

int engine_write(engine *g, uint64_t db_id, wrec *w, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    uint64_t lsn = 0;
    pthread_mutex_lock(&d->wmu);
    /* Backpressure: while flushes lag far behind, writers wait instead of growing memory. */
    size_t pending;
    for (;;) {
        pending = 0;
        pthread_rwlock_rdlock(&d->rw);
        for (size_t i = 0; i < d->nvnodes; i++) pending += vnode_pending(d->vnodes[i]);
        pthread_rwlock_unlock(&d->rw);
        if (pending < MAX_PENDING_FLUSHES) break;
        engine_kick(g);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->drained, &d->wmu, &ts);
    }
    int rc = wal_append(d->wal, w->p, w->len, &lsn, e);
    if (rc == 0) rc = apply_record(g, d, lsn, w->p, w->len, false, e);
    pthread_mutex_unlock(&d->wmu);
    if (rc == 0) rc = wal_sync(d->wal, lsn, e);
    sdb_release(d);
    return rc;
}

int engine_delete(engine *g, uint64_t db_id, uint64_t table_id, const uint32_t *sids, size_t n,
                  int64_t tmin, int64_t tmax, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    buf b;
    buf_init(&b);
    buf_putc(&b, REC_DELETE);
    buf_put_uvarint(&b, table_id);
    buf_put_uvarint(&b, zigzag_encode(tmin));
    buf_put_uvarint(&b, zigzag_encode(tmax));
    buf_put_uvarint(&b, n);
    for (size_t i = 0; i < n; i++) buf_put_uvarint(&b, sids[i]);
    uint64_t lsn = 0;
    pthread_mutex_lock(&d->wmu);
    int rc = wal_append(d->wal, b.p, b.len, &lsn, e);
    if (rc == 0) rc = apply_record(g, d, lsn, b.p, b.len, false, e);
    pthread_mutex_unlock(&d->wmu);
    if (rc == 0) rc = wal_sync(d->wal, lsn, e);
    buf_free(&b);
    sdb_release(d);
    return rc;
}

int engine_flush_all(engine *g, uint64_t db_id, bool compact, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return 0;
    pthread_mutex_lock(&d->wmu);
    pthread_rwlock_rdlock(&d->rw);
    for (size_t i = 0; i < d->nvnodes; i++) vnode_freeze(d->vnodes[i]);
    pthread_rwlock_unlock(&d->rw);
    pthread_mutex_unlock(&d->wmu);
    pthread_mutex_lock(&g->bg_work);
    int rc = db_maintain(g, d, compact, e);
    pthread_mutex_unlock(&g->bg_work);
    sdb_release(d);
    return rc;
}

size_t engine_table_series(engine *g, uint64_t db_id, uint64_t table_id) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return 0;
    arena *a = arena_new(0);
    uint32_t *sids;
    size_t n = sindex_table_sids(d->idx, table_id, a, &sids);
    arena_free(a);
    sdb_release(d);
    return n;
}

int engine_table_sids(engine *g, uint64_t db_id, uint64_t table_id, uint32_t ntags,
                      const uint32_t *tag_ids, bool (*pred)(void *ctx, const strv *tags), void *ctx,
                      arena *a, uint32_t **sids, size_t *n, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    uint32_t *all;
    size_t cnt = sindex_table_sids(d->idx, table_id, a, &all);
    size_t k = 0;
    strv *tags = arena_alloc(a, sizeof *tags * (ntags + 1));
    for (size_t i = 0; i < cnt; i++) {
        if (pred) {
            sindex_series_tags(d->idx, all[i], ntags, tag_ids, a, tags);
            if (!pred(ctx, tags)) continue;
        }
        all[k++] = all[i];
    }
    *sids = all;
    *n = k;
    sdb_release(d);
    return 0;
}

void engine_series_tags(engine *g, uint64_t db_id, uint32_t sid, uint32_t ntags,
                        const uint32_t *tag_ids, arena *a, strv *out) {
    struct sdb *d = get_db(g, db_id);
    if (!d) {
        for (uint32_t k = 0; k < ntags; k++) out[k] = (strv){NULL, 0};
        return;
    }
    sindex_series_tags(d->idx, sid, ntags, tag_ids, a, out);
    sdb_release(d);
}

size_t engine_tag_values(engine *g, uint64_t db_id, uint64_t table_id, uint32_t tag_id, arena *a,
                         strv **vals) {
    struct sdb *d = get_db(g, db_id);
    if (!d) {
        *vals = NULL;
        return 0;
    }
    size_t n = sindex_tag_values(d->idx, table_id, tag_id, a, vals);
    sdb_release(d);
    return n;
}

bool engine_series_has_rows(engine *g, uint64_t db_id, uint32_t sid, int64_t tmin, int64_t tmax) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return false;
    arena *a = arena_new(0);
    uint64_t table_id = 0;
    bool found = false;
    if (sindex_series_table(d->idx, sid, &table_id)) {
        tomb_set ts = tombs_snapshot(d, table_id, a);
        size_t nv;
        vnode **vs = vnodes_snapshot(d, &nv);
        for (size_t i = 0; i < nv && !found; i++) {
            if (vnode_tmax(vs[i]) < tmin || vnode_tmin(vs[i]) > tmax) continue;
            vversion *vv = vnode_acquire(vs[i]);
            mc_rows r;
            err e;
            if (vversion_read(vv, sid, tmin, tmax, 0, NULL, NULL, &ts, a, &r, &e) == 0)
                found = r.n > 0;
            vversion_release(vv);
        }
        vnodes_release(vs, nv);
    }
    arena_free(a);
    sdb_release(d);
    return found;
}

void engine_db_stats(engine *g, uint64_t db_id, engine_stats *st) {
    memset(st, 0, sizeof *st);
    struct sdb *d = get_db(g, db_id);
    if (!d) return;
    size_t nv;
    vnode **vs = vnodes_snapshot(d, &nv);
    st->vnodes = nv;
    for (size_t i = 0; i < nv; i++) {
        size_t f;
        uint64_t b;
        vnode_disk_usage(vs[i], &f, &b);
        st->files += f;
        st->file_bytes += b;
        st->mem_bytes += vnode_mem_bytes(vs[i]);
        st->pending_flushes += vnode_pending(vs[i]);
    }
    vnodes_release(vs, nv);
    st->wal_bytes = wal_size(d->wal);
    st->series = sindex_count(d->idx);
    sdb_release(d);
}

/* ------------------------------------------------------------------ scans */

struct scan {
    struct sdb *d;
    scan_spec spec;
    arena *a;
    uint32_t *sids;
    strv **sid_tags; /* per selected series: values of spec.tag_ids */
    size_t nsids;
    vversion **vers; /* versions of the vnodes overlapping the range, in time order */
    size_t nvers;
    tomb_set tombs;
    /* cursor: series si, vnode version vi, piece pi, chunk ci */
    size_t si, vi;
    vpiece *pieces;
    size_t npieces, pi;
    const cf_reader *cf; /* file of the current piece */
    uint32_t ci;
};

int engine_scan_open(engine *g, const scan_spec *sp, arena *a, scan **out, err *e) {
    struct sdb *d = get_db(g, sp->db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)sp->db_id);
    scan *s = arena_calloc(a, sizeof *s);
    s->d = d;
    s->spec = *sp;
    s->a = a;
    if (!s->spec.batch_rows) s->spec.batch_rows = 4096;
    uint32_t *all;
    size_t cnt;
    if (sp->neq) {
        cnt = sindex_tag_eq(d->idx, sp->table_id, sp->eq_tag_ids[0], sp->eq_vals[0].p,
                            sp->eq_vals[0].len, a, &all);
        for (uint32_t k = 1; k < sp->neq && cnt; k++) {
            uint32_t *other;
            size_t on = sindex_tag_eq(d->idx, sp->table_id, sp->eq_tag_ids[k], sp->eq_vals[k].p,
                                      sp->eq_vals[k].len, a, &other);
            size_t i = 0, j = 0, w = 0;
            while (i < cnt && j < on) {
                if (all[i] < other[j])
                    i++;
                else if (all[i] > other[j])
                    j++;
                else {
                    all[w++] = all[i];
                    i++;
                    j++;
                }
            }
            cnt = w;
        }
    } else {
        cnt = sindex_table_sids(d->idx, sp->table_id, a, &all);
    }
    s->sids = arena_alloc(a, sizeof *s->sids * (cnt + 1));
    s->sid_tags = arena_alloc(a, sizeof *s->sid_tags * (cnt + 1));
    for (size_t i = 0; i < cnt; i++) {
        strv *tags = arena_alloc(a, sizeof *tags * (sp->ntags + 1));
        sindex_series_tags(d->idx, all[i], sp->ntags, sp->tag_ids, a, tags);
        if (sp->series_pred && !sp->series_pred(sp->pred_ctx, tags)) continue;
        s->sid_tags[s->nsids] = tags;
        s->sids[s->nsids++] = all[i];
    }
    pthread_rwlock_rdlock(&d->rw);
    s->vers = arena_alloc(a, sizeof *s->vers * (d->nvnodes + 1));
    for (size_t i = 0; i < d->nvnodes; i++)
        if (vnode_tmax(d->vnodes[i]) >= sp->tmin && vnode_tmin(d->vnodes[i]) <= sp->tmax)
            s->vers[s->nvers++] = vnode_acquire(d->vnodes[i]);
    pthread_rwlock_unlock(&d->rw);
    s->tombs = tombs_snapshot(d, sp->table_id, a);
    *out = s;
    return 0;
}

static size_t vtype_size_of(uint8_t t) {
    return t == VT_BOOL ? sizeof(bool) : t == VT_STR ? sizeof(strv) : 8;
}

/* Output batch of nrows rows for series index si: time, tags, fields. */
static void batch_shell(scan *s, arena *ba, size_t si, uint32_t nrows, batch *b) {
    const scan_spec *sp = &s->spec;
    uint32_t ncols = 1 + sp->ntags + sp->nfields;
    b->ncols = ncols;
    b->nrows = nrows;
    b->cols = arena_calloc(ba, sizeof *b->cols * ncols);
    b->cols[0].type = VT_TS;
    b->cols[0].unit = sp->precision;
    b->cols[0].len = nrows;
    strv *tags = s->sid_tags[si];
    for (uint32_t k = 0; k < sp->ntags; k++) {
        vec *v = &b->cols[1 + k];
        v->type = VT_STR;
        v->len = nrows;
        v->d.s = arena_alloc(ba, sizeof(strv) * (nrows ? nrows : 1));
        strv t = tags[k].p ? tags[k] : (strv){"", 0};
        for (uint32_t i = 0; i < nrows; i++) v->d.s[i] = t;
        if (!tags[k].p) v->valid = arena_calloc(ba, bitmap_bytes(nrows) + 1);
    }
}

/* One chunk of the single-file fast path, decoded straight into the batch. */
static int scan_chunk(scan *s, arena *ba, const cf_chunk *ch, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    int64_t *ts = arena_alloc(ba, sizeof *ts * ch->nrows);
    bool inside = ch->tmin >= sp->tmin && ch->tmax <= sp->tmax;
    if ((sp->need_time || !inside) && cf_read_ts(s->cf, ch, ts, e) < 0) return -1;
    uint32_t lo = 0, hi = ch->nrows;
    if (ch->tmin < sp->tmin)
        while (lo < hi && ts[lo] < sp->tmin) lo++;
    if (ch->tmax > sp->tmax)
        while (hi > lo && ts[hi - 1] > sp->tmax) hi--;
    uint32_t n = hi - lo;
    batch_shell(s, ba, s->si, n, b);
    b->cols[0].d.i64 = ts + lo;
    for (uint32_t k = 0; k < sp->nfields; k++) {
        vec *v = &b->cols[1 + sp->ntags + k];
        if (cf_read_col(s->cf, ch, sp->field_ids[k], sp->field_types[k], ba, v, e) < 0) return -1;
        if (lo || hi != ch->nrows) {
            /* Trim to the range: move values and validity down by lo. */
            size_t sz = vtype_size_of(v->type);
            memmove(v->d.raw, (char *)v->d.raw + sz * lo, sz * n);
            if (v->valid) {
                uint8_t *nv = arena_calloc(ba, bitmap_bytes(n) + 1);
                for (uint32_t i = 0; i < n; i++)
                    if (vec_is_valid(v, lo + i)) bitmap_set(nv, i);
                v->valid = nv;
            }
        }
        v->len = n;
    }
    return 1;
}

/* Rows from a cache piece or a merge, as one batch. */
static int rows_batch(scan *s, arena *ba, size_t si, mc_rows *r, batch *b) {
    const scan_spec *sp = &s->spec;
    batch_shell(s, ba, si, r->n, b);
    b->cols[0].d.i64 = r->ts;
    for (uint32_t k = 0; k < sp->nfields; k++) b->cols[1 + sp->ntags + k] = r->cols[k];
    return 1;
}

int engine_scan_next(scan *s, arena *ba, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    for (;;) {
        /* Continue the pieces of the current (series, vnode). */
        while (s->pi < s->npieces) {
            vpiece *p = &s->pieces[s->pi];
            if (p->file) {
                s->cf = p->file;
                while (s->ci < p->series->nchunks) {
                    const cf_chunk *ch = &p->series->chunks[s->ci++];
                    if (ch->tmax < sp->tmin || ch->tmin > sp->tmax) continue;
                    if (scan_chunk(s, ba, ch, b, e) < 0) return -1;
                    if (b->nrows) return 1;
                }
                s->ci = 0;
                s->pi++;
                continue;
            }
            s->pi++;
            mc_rows r;
            if (mc_read(p->mem, s->sids[s->si], sp->tmin, sp->tmax, sp->nfields, sp->field_ids,
                        sp->field_types, ba, &r) < 0)
                return -1;
            if (r.n) return rows_batch(s, ba, s->si, &r, b);
        }
        if (s->npieces) {
            s->npieces = 0;
            s->pi = 0;
            s->vi++;
        }
        if (s->si >= s->nsids) return 0;
        if (s->vi >= s->nvers) {
            s->si++;
            s->vi = 0;
            continue;
        }
        vversion *vv = s->vers[s->vi];
        uint32_t sid = s->sids[s->si];
        vpiece *pieces;
        int np = vversion_pieces(vv, sid, sp->tmin, sp->tmax, &s->tombs, s->a, &pieces);
        if (np > 0) {
            s->pieces = pieces;
            s->npieces = (size_t)np;
            s->pi = 0;
            s->ci = 0;
            continue;
        }
        s->vi++;
        if (np == 0) continue;
        /* Overlapping sources or tombstones: merge. */
        mc_rows r;
        if (vversion_read(vv, sid, sp->tmin, sp->tmax, sp->nfields, sp->field_ids, sp->field_types,
                          &s->tombs, ba, &r, e) < 0)
            return -1;
        if (r.n) return rows_batch(s, ba, s->si, &r, b);
    }
}

void engine_scan_close(scan *s) {
    if (!s || !s->d) return;
    for (size_t i = 0; i < s->nvers; i++) vversion_release(s->vers[i]);
    s->nvers = 0;
    sdb_release(s->d);
    s->d = NULL;
}
