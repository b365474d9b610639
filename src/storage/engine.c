/* The storage engine: see engine.h.
 *
 * Write record format (what the WAL holds), a flat stream of tagged sections:
 *   'T' varint table_id                       following series belong to this table
 *   'S' varint keylen, key                    following rows belong to this series
 *   'R' zigzag varint ts, varint nvals, nvals × (varint col_id, u8 vtype, payload)
 * payload: f64 8 bytes LE, i64 zigzag varint, u64 varint, bool 1 byte, string varint len+bytes.
 * A flat stream lets the builder append without back-patching counts, and lets replay apply
 * a record with the same code as a live write. */
#include "storage/engine.h"

#include "storage/memcache.h"
#include "storage/wal.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_WRITE 1

/* ------------------------------------------------------------------ structures */

struct series {
    uint64_t table_id;
    uint32_t sid;
    uint32_t ntags;
    char *key; /* owned; tag_vals point into it */
    uint32_t keylen;
    uint32_t *tag_ids;
    strv *tag_vals;
};

struct table_series {
    uint32_t *sids;
    size_t n, cap;
};

struct vnode {
    int64_t bucket;     /* floor(time / duration) */
    int64_t tmin, tmax; /* the time range the vnode covers, in db units */
    memcache *mc;
};

struct sdb {
    uint64_t id;
    int refs; /* engine map + running scans */
    bool dropped;
    db_options opts;
    int64_t vnode_units; /* vnode duration in db precision units */
    char *dir;
    wal *wal;
    pthread_mutex_t wmu; /* serialises writes: WAL order = apply order */
    pthread_rwlock_t rw; /* series registry and vnode list */
    hmap *series_by_key; /* table id (8 bytes) + key → sid */
    struct series **series;
    size_t nseries, series_cap;
    hmap *tables;          /* table id → struct table_series* */
    struct vnode **vnodes; /* sorted by bucket */
    size_t nvnodes;
};

struct engine {
    engine_opts opts;
    char *dir;
    pthread_mutex_t mu;
    hmap *dbs; /* id (8 bytes) → struct sdb* */
    bool starting;
};

/* ------------------------------------------------------------------ varints */

static inline uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

struct reader {
    const unsigned char *p, *end;
    bool bad;
};

static inline uint64_t rd_uvarint(struct reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static inline const unsigned char *rd_bytes(struct reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

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
    wr_uvarint(w, zigzag(ts));
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
    wr_uvarint(w, zigzag(v));
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

/* ------------------------------------------------------------------ databases */

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

static int64_t vnode_units(const db_options *o) {
    int64_t per_ns = 1000000000 / tunit_per_sec((enum tunit)o->precision);
    int64_t u = o->vnode_duration_ns / per_ns;
    return u > 0 ? u : 1;
}

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* The vnode holding ts, created if needed. Caller holds wmu (single writer). */
static struct vnode *vnode_for(struct sdb *d, int64_t ts) {
    int64_t bucket = floor_div(ts, d->vnode_units);
    size_t lo = 0, hi = d->nvnodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->vnodes[mid]->bucket < bucket)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < d->nvnodes && d->vnodes[lo]->bucket == bucket) return d->vnodes[lo];
    struct vnode *v = xcalloc(1, sizeof *v);
    v->bucket = bucket;
    /* Saturate the range at the ends of int64. */
    __int128 start = (__int128)bucket * d->vnode_units;
    __int128 end = start + d->vnode_units - 1;
    v->tmin = start < INT64_MIN ? INT64_MIN : (int64_t)start;
    v->tmax = end > INT64_MAX ? INT64_MAX : (int64_t)end;
    v->mc = mc_new();
    pthread_rwlock_wrlock(&d->rw);
    d->vnodes = xrealloc(d->vnodes, sizeof *d->vnodes * (d->nvnodes + 1));
    memmove(d->vnodes + lo + 1, d->vnodes + lo, sizeof *d->vnodes * (d->nvnodes - lo));
    d->vnodes[lo] = v;
    d->nvnodes++;
    pthread_rwlock_unlock(&d->rw);
    return v;
}

/* Parses a series key into tag ids/values; false if malformed. */
static bool parse_key(const char *key, size_t len, uint32_t *ntags, uint32_t **ids, strv **vals) {
    struct reader r = {(const unsigned char *)key, (const unsigned char *)key + len, false};
    uint64_t n = rd_uvarint(&r);
    if (r.bad || n > len) return false;
    *ids = xmalloc(sizeof **ids * (n ? n : 1));
    *vals = xmalloc(sizeof **vals * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id = rd_uvarint(&r);
        uint64_t l = rd_uvarint(&r);
        const unsigned char *p = rd_bytes(&r, l);
        if (r.bad || id > UINT32_MAX) {
            free(*ids);
            free(*vals);
            return false;
        }
        (*ids)[i] = (uint32_t)id;
        (*vals)[i] = (strv){(const char *)p, (uint32_t)l};
    }
    *ntags = (uint32_t)n;
    return r.p == r.end;
}

/* Series id for (table, key), registering a new series. Caller holds wmu. */
static int series_id(struct sdb *d, uint64_t table_id, const char *key, size_t keylen,
                     uint32_t *sid) {
    char stack[512];
    char *k = keylen + 8 <= sizeof stack ? stack : xmalloc(keylen + 8);
    memcpy(k, &table_id, 8);
    memcpy(k + 8, key, keylen);
    uint64_t v;
    uint64_t h = hmap_hash(k, keylen + 8);
    int rc = 0;
    if (hmap_get_h(d->series_by_key, h, k, keylen + 8, &v)) {
        *sid = (uint32_t)v;
    } else {
        struct series *s = xcalloc(1, sizeof *s);
        s->key = xmalloc(keylen ? keylen : 1);
        memcpy(s->key, key, keylen);
        s->keylen = (uint32_t)keylen;
        s->table_id = table_id;
        if (!parse_key(s->key, keylen, &s->ntags, &s->tag_ids, &s->tag_vals)) {
            free(s->key);
            free(s);
            rc = -1;
            goto out;
        }
        pthread_rwlock_wrlock(&d->rw);
        if (d->nseries == d->series_cap) {
            d->series_cap = d->series_cap ? d->series_cap * 2 : 256;
            d->series = xrealloc(d->series, sizeof *d->series * d->series_cap);
        }
        s->sid = (uint32_t)d->nseries;
        d->series[d->nseries++] = s;
        *hmap_upsert_h(d->series_by_key, h, k, keylen + 8, NULL) = s->sid;
        uint64_t tv;
        struct table_series *ts;
        if (hmap_get(d->tables, &table_id, 8, &tv)) {
            ts = (struct table_series *)(uintptr_t)tv;
        } else {
            ts = xcalloc(1, sizeof *ts);
            hmap_put(d->tables, &table_id, 8, (uint64_t)(uintptr_t)ts);
        }
        if (ts->n == ts->cap) {
            ts->cap = ts->cap ? ts->cap * 2 : 16;
            ts->sids = xrealloc(ts->sids, sizeof *ts->sids * ts->cap);
        }
        ts->sids[ts->n++] = s->sid;
        pthread_rwlock_unlock(&d->rw);
        *sid = s->sid;
    }
out:
    if (k != stack) free(k);
    return rc;
}

/* Applies one write record to the memcaches. Caller holds wmu. */
static int apply_record(engine *g, struct sdb *d, const void *rec, size_t len, err *e) {
    struct reader r = {rec, (const unsigned char *)rec + len, false};
    const unsigned char *kind = rd_bytes(&r, 1);
    if (!kind || *kind != REC_WRITE) return 0; /* unknown kinds: newer format, skip */
    uint64_t table_id = 0;
    bool live = false, have_series = false;
    uint32_t sid = 0;
    mc_val stackvals[64];
    mc_val *vals = stackvals;
    size_t vcap = 64;
    struct vnode *last = NULL;
    int rc = 0;
    while (r.p < r.end && !r.bad) {
        unsigned char tag = *r.p++;
        if (tag == 'T') {
            table_id = rd_uvarint(&r);
            live =
                !g->opts.table_live || g->opts.table_live(g->opts.table_live_ctx, d->id, table_id);
            have_series = false;
        } else if (tag == 'S') {
            uint64_t kl = rd_uvarint(&r);
            const unsigned char *key = rd_bytes(&r, kl);
            if (r.bad) break;
            have_series = false;
            if (live) {
                if (series_id(d, table_id, (const char *)key, kl, &sid) < 0) {
                    r.bad = true;
                    break;
                }
                have_series = true;
            }
        } else if (tag == 'R') {
            int64_t ts = unzigzag(rd_uvarint(&r));
            uint64_t nv = rd_uvarint(&r);
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
                v->col_id = (uint32_t)rd_uvarint(&r);
                const unsigned char *t = rd_bytes(&r, 1);
                if (!t) break;
                v->type = *t;
                switch (v->type) {
                case VT_F64: {
                    const unsigned char *p = rd_bytes(&r, 8);
                    if (!p) break;
                    uint64_t bits = 0;
                    for (int b = 7; b >= 0; b--) bits = (bits << 8) | p[b];
                    memcpy(&v->v.f, &bits, 8);
                    break;
                }
                case VT_I64:
                    v->v.i = unzigzag(rd_uvarint(&r));
                    break;
                case VT_U64:
                    v->v.u = rd_uvarint(&r);
                    break;
                case VT_BOOL: {
                    const unsigned char *p = rd_bytes(&r, 1);
                    if (p) v->v.b = *p != 0;
                    break;
                }
                case VT_STR: {
                    uint64_t sl = rd_uvarint(&r);
                    const unsigned char *p = rd_bytes(&r, sl);
                    v->v.s = (strv){(const char *)p, (uint32_t)sl};
                    break;
                }
                default:
                    r.bad = true;
                }
            }
            if (r.bad) break;
            if (!live || !have_series) continue;
            struct vnode *vn =
                last && ts >= last->tmin && ts <= last->tmax ? last : vnode_for(d, ts);
            last = vn;
            mc_append(vn->mc, sid, ts, vals, (uint32_t)nv);
        } else {
            r.bad = true;
        }
    }
    if (vals != stackvals) free(vals);
    if (r.bad)
        rc = err_set(e, 500, EC_STORAGE, "malformed write record in database %llu",
                     (unsigned long long)d->id);
    return rc;
}

static int replay_cb(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e) {
    void **c = ctx;
    int rc = apply_record(c[0], c[1], rec, len, e);
    if (rc) {
        /* A record that passed its checksum but does not decode was written by a buggy or
         * newer build: skip it loudly rather than refuse to start. */
        log_error("wal replay: skipping record %llu: %s", (unsigned long long)lsn, e->msg);
        err_clear(e);
    }
    return 0;
}

static void sdb_free(struct sdb *d) {
    wal_close(d->wal);
    for (size_t i = 0; i < d->nseries; i++) {
        free(d->series[i]->key);
        free(d->series[i]->tag_ids);
        free(d->series[i]->tag_vals);
        free(d->series[i]);
    }
    free(d->series);
    hmap_free(d->series_by_key);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(d->tables, &pos, NULL, NULL, &v)) {
        struct table_series *ts = (struct table_series *)(uintptr_t)v;
        free(ts->sids);
        free(ts);
    }
    hmap_free(d->tables);
    for (size_t i = 0; i < d->nvnodes; i++) {
        mc_free(d->vnodes[i]->mc);
        free(d->vnodes[i]);
    }
    free(d->vnodes);
    pthread_mutex_destroy(&d->wmu);
    pthread_rwlock_destroy(&d->rw);
    free(d->dir);
    free(d);
}

static int rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir) return -1;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(dir);
        return rmdir(path);
    }
    return unlink(path);
}

static void sdb_release(struct sdb *d) {
    if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    bool dropped = d->dropped;
    char *dir = dropped ? xstrdup(d->dir) : NULL;
    sdb_free(d);
    if (dropped) {
        if (rm_rf(dir) < 0) log_error("cannot remove %s: %s", dir, strerror(errno));
        free(dir);
    }
}

int engine_open(const engine_opts *o, engine **out, err *e) {
    if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot create %s: %s", o->dir, strerror(errno));
    engine *g = xcalloc(1, sizeof *g);
    g->opts = *o;
    g->dir = xstrdup(o->dir);
    g->opts.dir = g->dir;
    pthread_mutex_init(&g->mu, NULL);
    g->dbs = hmap_new(16);
    g->starting = true;
    *out = g;
    return 0;
}

bool engine_starting(engine *g) {
    return __atomic_load_n(&g->starting, __ATOMIC_ACQUIRE);
}

void engine_started(engine *g) {
    __atomic_store_n(&g->starting, false, __ATOMIC_RELEASE);
}

void engine_close(engine *g) {
    if (!g) return;
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(g->dbs, &pos, NULL, NULL, &v)) sdb_release((struct sdb *)(uintptr_t)v);
    hmap_free(g->dbs);
    pthread_mutex_destroy(&g->mu);
    free(g->dir);
    free(g);
}

int engine_open_db(engine *g, uint64_t db_id, const db_options *o, err *e) {
    struct sdb *existing = get_db(g, db_id);
    if (existing) {
        sdb_release(existing);
        return 0;
    }
    struct sdb *d = xcalloc(1, sizeof *d);
    d->id = db_id;
    d->refs = 1;
    d->opts = *o;
    d->vnode_units = vnode_units(o);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
    d->dir = xstrdup(path);
    pthread_mutex_init(&d->wmu, NULL);
    pthread_rwlock_init(&d->rw, NULL);
    d->series_by_key = hmap_new(1024);
    d->tables = hmap_new(16);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        err_set(e, 500, EC_STORAGE, "cannot create %s: %s", path, strerror(errno));
        sdb_free(d);
        return -1;
    }
    wal_opts wo = {.sync_each = g->opts.wal_sync,
                   .sync_interval_ms = g->opts.wal_sync_interval_ms,
                   .max_segment_bytes = g->opts.wal_max_file_size};
    snprintf(path, sizeof path, "%s/db-%llu/wal", g->dir, (unsigned long long)db_id);
    if (wal_open(path, &wo, &d->wal, e) < 0) {
        sdb_free(d);
        return -1;
    }
    void *ctx[2] = {g, d};
    int64_t t0 = time_mono_ns();
    if (wal_replay(d->wal, replay_cb, ctx, e) < 0) {
        sdb_free(d);
        return -1;
    }
    log_info("database %llu: replayed WAL up to lsn %llu (%zu series) in %.1f ms",
             (unsigned long long)db_id, (unsigned long long)wal_last_lsn(d->wal), d->nseries,
             (double)(time_mono_ns() - t0) / 1e6);
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
    /* A new vnode duration applies to vnodes created from now on; existing buckets keep their
     * ranges because lookups go by range, not by recomputing the bucket. */
    d->opts.vnode_duration_ns = o->vnode_duration_ns;
    pthread_mutex_unlock(&d->wmu);
    sdb_release(d);
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
        d->dropped = true;
        sdb_release(d);
    } else {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
        rm_rf(path);
    }
    return 0;
}

int engine_drop_table(engine *g, uint64_t db_id, uint64_t table_id, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return 0;
    pthread_mutex_lock(&d->wmu);
    uint64_t v;
    if (hmap_get(d->tables, &table_id, 8, &v)) {
        struct table_series *ts = (struct table_series *)(uintptr_t)v;
        for (size_t i = 0; i < d->nvnodes; i++) mc_drop_series(d->vnodes[i]->mc, ts->sids, ts->n);
    }
    pthread_mutex_unlock(&d->wmu);
    sdb_release(d);
    return 0;
}

int engine_write(engine *g, uint64_t db_id, wrec *w, err *e) {
    struct sdb *d = get_db(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    uint64_t lsn = 0;
    pthread_mutex_lock(&d->wmu);
    int rc = wal_append(d->wal, w->p, w->len, &lsn, e);
    if (rc == 0) rc = apply_record(g, d, w->p, w->len, e);
    pthread_mutex_unlock(&d->wmu);
    if (rc == 0) rc = wal_sync(d->wal, lsn, e);
    sdb_release(d);
    return rc;
}

size_t engine_table_series(engine *g, uint64_t db_id, uint64_t table_id) {
    struct sdb *d = get_db(g, db_id);
    if (!d) return 0;
    pthread_rwlock_rdlock(&d->rw);
    uint64_t v;
    size_t n = hmap_get(d->tables, &table_id, 8, &v) ? ((struct table_series *)(uintptr_t)v)->n : 0;
    pthread_rwlock_unlock(&d->rw);
    sdb_release(d);
    return n;
}

/* ------------------------------------------------------------------ scans */

struct scan {
    struct sdb *d;
    scan_spec spec;
    arena *a;
    uint32_t *sids;
    strv **sid_tags; /* per selected series: values of spec.tag_ids */
    size_t nsids, pos;
    struct vnode **vnodes; /* overlapping the time range, in time order */
    size_t nvnodes;
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
    pthread_rwlock_rdlock(&d->rw);
    uint64_t v;
    if (hmap_get(d->tables, &sp->table_id, 8, &v)) {
        struct table_series *ts = (struct table_series *)(uintptr_t)v;
        s->sids = arena_alloc(a, sizeof *s->sids * (ts->n + 1));
        s->sid_tags = arena_alloc(a, sizeof *s->sid_tags * (ts->n + 1));
        strv *tags = arena_alloc(a, sizeof *tags * (sp->ntags + 1));
        for (size_t i = 0; i < ts->n; i++) {
            struct series *se = d->series[ts->sids[i]];
            for (uint32_t k = 0; k < sp->ntags; k++) {
                tags[k] = (strv){NULL, 0};
                for (uint32_t j = 0; j < se->ntags; j++)
                    if (se->tag_ids[j] == sp->tag_ids[k]) tags[k] = se->tag_vals[j];
            }
            if (sp->series_pred && !sp->series_pred(sp->pred_ctx, tags)) continue;
            strv *copy = arena_alloc(a, sizeof *copy * (sp->ntags + 1));
            for (uint32_t k = 0; k < sp->ntags; k++)
                copy[k] = tags[k].p ? (strv){arena_strndup(a, tags[k].p, tags[k].len), tags[k].len}
                                    : (strv){NULL, 0};
            s->sid_tags[s->nsids] = copy;
            s->sids[s->nsids++] = ts->sids[i];
        }
    }
    s->vnodes = arena_alloc(a, sizeof *s->vnodes * (d->nvnodes + 1));
    for (size_t i = 0; i < d->nvnodes; i++)
        if (d->vnodes[i]->tmax >= sp->tmin && d->vnodes[i]->tmin <= sp->tmax)
            s->vnodes[s->nvnodes++] = d->vnodes[i];
    pthread_rwlock_unlock(&d->rw);
    *out = s;
    return 0;
}

static size_t vt_size(uint8_t t) {
    switch (t) {
    case VT_BOOL:
        return sizeof(bool);
    case VT_STR:
        return sizeof(strv);
    default:
        return 8;
    }
}

int engine_scan_next(scan *s, arena *ba, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    uint32_t ncols = 1 + sp->ntags + sp->nfields;
    /* Gather series until the batch is full enough. */
    size_t cap = 16, nparts = 0, total = 0;
    mc_rows *parts = arena_alloc(ba, sizeof *parts * cap);
    uint32_t *part_series = arena_alloc(ba, sizeof *part_series * cap);
    while (s->pos < s->nsids && total < sp->batch_rows) {
        size_t si = s->pos++;
        for (size_t vi = 0; vi < s->nvnodes; vi++) {
            mc_rows r;
            mc_read(s->vnodes[vi]->mc, s->sids[si], sp->tmin, sp->tmax, sp->nfields, sp->field_ids,
                    sp->field_types, ba, &r);
            if (r.n == 0) continue;
            if (nparts == cap) {
                parts = arena_realloc(ba, parts, sizeof *parts * cap, sizeof *parts * cap * 2);
                part_series = arena_realloc(ba, part_series, sizeof *part_series * cap,
                                            sizeof *part_series * cap * 2);
                cap *= 2;
            }
            parts[nparts] = r;
            part_series[nparts++] = (uint32_t)si;
            total += r.n;
        }
    }
    if (nparts == 0) return 0;
    b->ncols = ncols;
    b->nrows = (uint32_t)total;
    b->cols = arena_calloc(ba, sizeof *b->cols * ncols);
    vec *tv = &b->cols[0];
    tv->type = VT_TS;
    tv->unit = sp->precision;
    tv->len = (uint32_t)total;
    tv->d.i64 = arena_alloc(ba, 8 * total);
    for (uint32_t k = 0; k < sp->ntags; k++) {
        vec *v = &b->cols[1 + k];
        v->type = VT_STR;
        v->len = (uint32_t)total;
        v->d.s = arena_alloc(ba, sizeof(strv) * total);
        v->valid = arena_calloc(ba, bitmap_bytes((uint32_t)total));
    }
    for (uint32_t k = 0; k < sp->nfields; k++) {
        vec *v = &b->cols[1 + sp->ntags + k];
        v->type = sp->field_types[k];
        v->len = (uint32_t)total;
        v->d.raw = arena_alloc(ba, vt_size(v->type) * total);
        v->valid = arena_calloc(ba, bitmap_bytes((uint32_t)total));
    }
    size_t at = 0;
    for (size_t p = 0; p < nparts; p++) {
        mc_rows *r = &parts[p];
        memcpy(tv->d.i64 + at, r->ts, 8 * r->n);
        strv *tags = s->sid_tags[part_series[p]];
        for (uint32_t k = 0; k < sp->ntags; k++) {
            vec *v = &b->cols[1 + k];
            for (uint32_t i = 0; i < r->n; i++) {
                v->d.s[at + i] = tags[k].p ? tags[k] : (strv){"", 0};
                if (tags[k].p) bitmap_set(v->valid, (uint32_t)(at + i));
            }
        }
        for (uint32_t k = 0; k < sp->nfields; k++) {
            vec *v = &b->cols[1 + sp->ntags + k];
            const vec *src = &r->cols[k];
            size_t sz = vt_size(v->type);
            memcpy((char *)v->d.raw + sz * at, src->d.raw, sz * r->n);
            for (uint32_t i = 0; i < r->n; i++)
                if (vec_is_valid(src, i)) bitmap_set(v->valid, (uint32_t)(at + i));
        }
        at += r->n;
    }
    return 1;
}

void engine_scan_close(scan *s) {
    if (!s || !s->d) return;
    sdb_release(s->d);
    s->d = NULL;
}
