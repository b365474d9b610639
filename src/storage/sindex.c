/* Series index: see sindex.h. */
#include "storage/sindex.h"

#include "util/buf.h"
#include "util/fs.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/varint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define REC_SERIES 1
#define REC_DROP_TABLE 2

struct series {
    uint64_t table_id;
    char *key; /* owned; tag values point into it */
    uint32_t keylen;
    uint32_t ntags;
    uint32_t *tag_ids;
    strv *tag_vals;
    bool dead;
};

struct table {
    roaring_bitmap_t *sids;
    hmap *tags; /* (u32 tag id, value bytes) → roaring_bitmap_t* */
};

struct sindex {
    pthread_rwlock_t lock;
    char *dir;
    int fd;
    bool dirty;   /* appended since the last sync */
    hmap *by_key; /* table id (8 bytes) + key → sid */
    struct series **series;
    uint32_t n, cap;
    hmap *tables; /* table id → struct table* */
    buf wbuf;
};

/* Splits a series key into its tag ids and values (pointing into key). */
static bool parse_key(const char *key, size_t len, struct series *s) {
    byte_reader r = {(const unsigned char *)key, (const unsigned char *)key + len, false};
    uint64_t n = br_uvarint(&r);
    if (r.bad || n > len) return false;
    s->tag_ids = xmalloc(sizeof *s->tag_ids * (n ? n : 1));
    s->tag_vals = xmalloc(sizeof *s->tag_vals * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id = br_uvarint(&r);
        uint64_t l = br_uvarint(&r);
        const unsigned char *v = r.bad || id > UINT32_MAX ? NULL : br_bytes(&r, l);
        if (!v) {
            free(s->tag_ids);
            free(s->tag_vals);
            return false;
        }
        s->tag_ids[i] = (uint32_t)id;
        s->tag_vals[i] = (strv){(const char *)v, (uint32_t)l};
    }
    if (r.p != r.end) { /* bytes after the last tag */
        free(s->tag_ids);
        free(s->tag_vals);
        return false;
    }
    s->ntags = (uint32_t)n;
    return true;
}

static struct table *table_of(sindex *x, uint64_t table_id, bool create) {
    uint64_t v;
    if (hmap_get(x->tables, &table_id, 8, &v)) return (struct table *)(uintptr_t)v;
    if (!create) return NULL;
    struct table *t = xcalloc(1, sizeof *t);
    t->sids = roaring_bitmap_create();
    t->tags = hmap_new(16);
    hmap_put(x->tables, &table_id, 8, (uint64_t)(uintptr_t)t);
    return t;
}

static void table_free(struct table *t) {
    roaring_bitmap_free(t->sids);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(t->tags, &pos, NULL, NULL, &v))
        roaring_bitmap_free((roaring_bitmap_t *)(uintptr_t)v);
    hmap_free(t->tags);
    free(t);
}

static void tag_key(buf *b, uint32_t tag_id, const char *val, size_t len) {
    buf_reset(b);
    buf_append(b, &tag_id, 4);
    buf_append(b, val, len);
}

/* Adds a series to the in-memory structures (the log record is the caller's business). */
static int insert(sindex *x, uint32_t sid, uint64_t table_id, const void *key, size_t keylen) {
    struct series *s = xcalloc(1, sizeof *s);
    s->table_id = table_id;
    s->key = xmalloc(keylen ? keylen : 1);
    memcpy(s->key, key, keylen);
    s->keylen = (uint32_t)keylen;
    if (!parse_key(s->key, keylen, s)) {
        free(s->key);
        free(s);
        return -1;
    }
    if (sid >= x->cap) {
        uint32_t nc = x->cap ? x->cap : 1024;
        while (nc <= sid) nc *= 2;
        x->series = xrealloc(x->series, sizeof *x->series * nc);
        memset(x->series + x->cap, 0, sizeof *x->series * (nc - x->cap));
        x->cap = nc;
    }
    x->series[sid] = s;
    if (sid >= x->n) x->n = sid + 1;
    buf k;
    buf_init(&k);
    buf_append(&k, &table_id, 8);
    buf_append(&k, key, keylen);
    hmap_put(x->by_key, k.p, k.len, sid);
    struct table *t = table_of(x, table_id, true);
    roaring_bitmap_add(t->sids, sid);
    for (uint32_t i = 0; i < s->ntags; i++) {
        tag_key(&k, s->tag_ids[i], s->tag_vals[i].p, s->tag_vals[i].len);
        bool ins;
        uint64_t *slot = hmap_upsert(t->tags, k.p, k.len, &ins);
        if (ins) *slot = (uint64_t)(uintptr_t)roaring_bitmap_create();
        roaring_bitmap_add((roaring_bitmap_t *)(uintptr_t)*slot, sid);
    }
    buf_free(&k);
    return 0;
}

static void drop_table_mem(sindex *x, uint64_t table_id) {
    struct table *t = table_of(x, table_id, false);
    if (!t) return;
    uint64_t card = roaring_bitmap_get_cardinality(t->sids);
    uint32_t *ids = xmalloc(sizeof *ids * (card ? card : 1));
    roaring_bitmap_to_uint32_array(t->sids, ids);
    buf k;
    buf_init(&k);
    for (uint64_t i = 0; i < card; i++) {
        struct series *s = x->series[ids[i]];
        if (!s) continue;
        buf_reset(&k);
        buf_append(&k, &table_id, 8);
        buf_append(&k, s->key, s->keylen);
        hmap_del(x->by_key, k.p, k.len);
        s->dead = true;
    }
    buf_free(&k);
    free(ids);
    hmap_del(x->tables, &table_id, 8);
    table_free(t);
}

static int append_record(sindex *x, const void *payload, size_t len, err *e) {
    unsigned char hdr[8];
    uint32_t l = (uint32_t)len;
    uint32_t crc = (uint32_t)XXH3_64bits(payload, len);
    memcpy(hdr, &l, 4);
    memcpy(hdr + 4, &crc, 4);
    buf_reset(&x->wbuf);
    buf_append(&x->wbuf, hdr, 8);
    buf_append(&x->wbuf, payload, len);
    if (fs_write_all(x->fd, x->wbuf.p, x->wbuf.len) < 0)
        return err_set(e, 500, EC_STORAGE, "series index: cannot write %s/series.log: %s", x->dir,
                       strerror(errno));
    x->dirty = true;
    return 0;
}

/* Whether an intact record starts at off: its length fits and its checksum matches. When
 * scanning damaged bytes for the next record, a plausible kind and series id are required
 * first: cheap filters that keep the scan fast and chance matches out. */
static bool rec_at(const sindex *x, const unsigned char *d, size_t size, size_t off, bool scanning,
                   uint32_t *len) {
    if (off > size || size - off < 9) return false;
    uint32_t n, crc;
    memcpy(&n, d + off, 4);
    memcpy(&crc, d + off + 4, 4);
    if (n == 0 || n > size - off - 8) return false;
    const unsigned char *p = d + off + 8;
    if (scanning && *p == REC_SERIES) {
        byte_reader r = {p + 1, p + n, false};
        uint64_t sid = br_uvarint(&r);
        if (r.bad || sid < x->n || sid - x->n > size / 8) return false;
    } else if (scanning && *p != REC_DROP_TABLE) {
        return false;
    }
    if ((uint32_t)XXH3_64bits(p, n) != crc) return false;
    *len = n;
    return true;
}

static size_t next_rec(const sindex *x, const unsigned char *d, size_t size, size_t from) {
    uint32_t len;
    for (size_t o = from; o + 9 <= size; o++)
        if (rec_at(x, d, size, o, true, &len)) return o;
    return size;
}

/* Applies one intact record; NULL, or why it cannot be applied (it was written by a bug). */
static const char *apply(sindex *x, const unsigned char *p, size_t len) {
    byte_reader r = {p + 1, p + len, false};
    if (*p == REC_SERIES) {
        uint64_t sid = br_uvarint(&r);
        uint64_t tid = br_uvarint(&r);
        if (r.bad) return "truncated series record";
        /* Ids are handed out in order, so an older one here would replace a live series. */
        if (sid < x->n || sid >= UINT32_MAX) return "series id out of order";
        if (insert(x, (uint32_t)sid, tid, r.p, (size_t)(r.end - r.p)) < 0)
            return "malformed series key";
    } else if (*p == REC_DROP_TABLE) {
        uint64_t tid = br_uvarint(&r);
        if (r.bad) return "truncated drop record";
        drop_table_mem(x, tid);
    }
    return NULL; /* other kinds come from a newer format: skipped */
}

static int read_whole(const char *path, unsigned char **out, size_t *size, err *e) {
    *out = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return err_set(e, 500, EC_STORAGE, "cannot stat %s: %s", path, strerror(errno));
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *data = xmalloc(n ? n : 1);
    while (got < n) {
        ssize_t r = read(fd, data + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            /* Never take a short read for a torn tail: the cut would drop intact records. */
            int en = r < 0 ? errno : EIO;
            close(fd);
            free(data);
            return err_set(e, 500, EC_STORAGE, "cannot read %s: %s", path, strerror(en));
        }
        got += (size_t)r;
    }
    close(fd);
    *out = data;
    *size = n;
    return 0;
}

/* Salvage: the intact records (kept) replace the file; the original stays beside it. */
static int rewrite_salvaged(const char *path, const buf *kept, err *e) {
    char dmg[PATH_MAX + 32];
    snprintf(dmg, sizeof dmg, "%s.damaged-%lld", path, (long long)time(NULL));
    if (link(path, dmg) != 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot keep %s as %s: %s", path, dmg, strerror(errno));
    const void *part = kept->p ? kept->p : "";
    size_t len = kept->len;
    if (fs_write_atomic(path, &part, &len, 1, e) < 0) return -1;
    log_warn("series index salvage: %s rewritten; the damaged original is kept as %s", path, dmg);
    return 0;
}

/* Replays the log. A bad record with nothing intact after it is a torn tail (only series not
 * yet synced, which no column file refers to, can be in it) and is cut. Anything else is
 * damage: cutting there would forget synced series whose ids files use, and their ids would
 * go to new series, so replay refuses, or in salvage mode skips the damaged bytes. */
static int replay(sindex *x, const char *path, bool salvage, err *e) {
    unsigned char *data;
    size_t size;
    if (read_whole(path, &data, &size, e) < 0) return -1;
    size_t off = 0, spans = 0, bytes = 0, dropped = 0, kept = 0;
    buf keep;
    buf_init(&keep);
    bool damaged = false;
    int rc = 0;
    while (off < size) {
        uint32_t len;
        const char *why = NULL;
        if (rec_at(x, data, size, off, false, &len)) {
            why = apply(x, data + off + 8, len);
            if (!why) {
                buf_append(&keep, data + off, 8 + (size_t)len);
                kept++;
                off += 8 + (size_t)len;
                continue;
            }
            if (!salvage) {
                rc = err_set(e, 500, EC_STORAGE,
                             "series index %s: intact record at offset %zu cannot be applied "
                             "(%s): refusing to start. Start once with --wal-salvage to drop it",
                             path, off, why);
                break;
            }
            log_warn("series index salvage: %s: dropping the record at offset %zu (%s)", path, off,
                     why);
            dropped++;
            damaged = true;
            off += 8 + (size_t)len;
            continue;
        }
        size_t nxt = next_rec(x, data, size, off + 1);
        if (nxt == size) {
            log_warn("series index %s: cut %zu bytes of torn tail at offset %zu", path, size - off,
                     off);
            if (!damaged && truncate(path, (off_t)off) < 0)
                rc = err_set(e, 500, EC_STORAGE, "cannot truncate %s: %s", path, strerror(errno));
            break;
        }
        if (!salvage) {
            rc = err_set(e, 500, EC_STORAGE,
                         "series index %s: damaged record at offset %zu, and an intact record "
                         "follows at offset %zu. The log is damaged, not torn: refusing to start "
                         "rather than give its series ids to other series. Start once with "
                         "--wal-salvage to keep every intact record and skip the damaged bytes",
                         path, off, nxt);
            break;
        }
        log_warn("series index salvage: %s: skipping %zu damaged bytes at offsets %zu..%zu", path,
                 nxt - off, off, nxt - 1);
        spans++;
        bytes += nxt - off;
        damaged = true;
        off = nxt;
    }
    free(data);
    if (rc == 0 && damaged) {
        log_warn("series index salvage: %s: kept %zu intact records, dropped %zu, skipped %zu "
                 "damaged bytes in %zu places; series registered there are lost (rows of theirs "
                 "in column files are unreachable)",
                 path, kept, dropped, bytes, spans);
        rc = rewrite_salvaged(path, &keep, e);
    }
    buf_free(&keep);
    return rc;
}

int sindex_open(const char *dir, bool salvage, sindex **out, err *e) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot create %s: %s", dir, strerror(errno));
    sindex *x = xcalloc(1, sizeof *x);
    pthread_rwlock_init(&x->lock, NULL);
    x->dir = xstrdup(dir);
    x->by_key = hmap_new(1024);
    x->tables = hmap_new(16);
    buf_init(&x->wbuf);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/series.log", dir);
    if (replay(x, path, salvage, e) < 0) {
        x->fd = -1;
        (void)sindex_close(x);
        return -1;
    }
    x->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (x->fd < 0) {
        err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
        (void)sindex_close(x);
        return -1;
    }
    *out = x;
    return 0;
}

int sindex_close(sindex *x) {
    if (!x) return 0;
    int rc = 0;
    if (x->fd >= 0) {
        if (x->dirty && fdatasync(x->fd) < 0) {
            log_error("series index: fsync %s/series.log: %s", x->dir, strerror(errno));
            rc = -1;
        }
        close(x->fd);
    }
    for (uint32_t i = 0; i < x->n; i++) {
        struct series *s = x->series[i];
        if (!s) continue;
        free(s->key);
        free(s->tag_ids);
        free(s->tag_vals);
        free(s);
    }
    free(x->series);
    hmap_free(x->by_key);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(x->tables, &pos, NULL, NULL, &v)) table_free((struct table *)(uintptr_t)v);
    hmap_free(x->tables);
    buf_free(&x->wbuf);
    pthread_rwlock_destroy(&x->lock);
    free(x->dir);
    free(x);
    return rc;
}

void sindex_destroy(sindex *x) {
    if (!x) return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/series.log", x->dir);
    unlink(path);
    rmdir(x->dir);
    (void)sindex_close(x);
}

int sindex_get_or_add(sindex *x, uint64_t table_id, const void *key, size_t keylen, uint32_t *sid,
                      err *e) {
    char stack[512];
    char *k = keylen + 8 <= sizeof stack ? stack : xmalloc(keylen + 8);
    memcpy(k, &table_id, 8);
    memcpy(k + 8, key, keylen);
    uint64_t h = hmap_hash(k, keylen + 8);
    uint64_t v;
    int rc = 0;
    pthread_rwlock_rdlock(&x->lock);
    bool found = hmap_get_h(x->by_key, h, k, keylen + 8, &v);
    pthread_rwlock_unlock(&x->lock);
    if (found) {
        *sid = (uint32_t)v;
        goto out;
    }
    pthread_rwlock_wrlock(&x->lock);
    if (hmap_get_h(x->by_key, h, k, keylen + 8, &v)) {
        *sid = (uint32_t)v;
    } else {
        uint32_t id = x->n;
        if (insert(x, id, table_id, key, keylen) < 0) {
            rc = err_set(e, 500, EC_STORAGE, "malformed series key for table %llu",
                         (unsigned long long)table_id);
        } else {
            buf rec;
            buf_init(&rec);
            buf_putc(&rec, REC_SERIES);
            buf_put_uvarint(&rec, id);
            buf_put_uvarint(&rec, table_id);
            buf_append(&rec, key, keylen);
            rc = append_record(x, rec.p, rec.len, e);
            buf_free(&rec);
            *sid = id;
        }
    }
    pthread_rwlock_unlock(&x->lock);
out:
    if (k != stack) free(k);
    return rc;
}

int sindex_sync(sindex *x, err *e) {
    pthread_rwlock_wrlock(&x->lock);
    int rc = 0;
    if (x->dirty) {
        if (fdatasync(x->fd) < 0)
            rc = err_set(e, 500, EC_STORAGE, "series index: fsync %s/series.log: %s", x->dir,
                         strerror(errno));
        else
            x->dirty = false;
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

int sindex_drop_table(sindex *x, uint64_t table_id, err *e) {
    pthread_rwlock_wrlock(&x->lock);
    int rc = 0;
    if (table_of(x, table_id, false)) {
        buf rec;
        buf_init(&rec);
        buf_putc(&rec, REC_DROP_TABLE);
        buf_put_uvarint(&rec, table_id);
        rc = append_record(x, rec.p, rec.len, e);
        buf_free(&rec);
        if (!rc && fdatasync(x->fd) < 0)
            rc = err_set(e, 500, EC_STORAGE, "series index: fsync: %s", strerror(errno));
        if (!rc) drop_table_mem(x, table_id);
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

static size_t bitmap_out(const roaring_bitmap_t *b, arena *a, uint32_t **out) {
    uint64_t card = b ? roaring_bitmap_get_cardinality(b) : 0;
    *out = arena_alloc(a, sizeof **out * (card ? card : 1));
    if (card) roaring_bitmap_to_uint32_array(b, *out);
    return (size_t)card;
}

size_t sindex_table_sids(sindex *x, uint64_t table_id, arena *a, uint32_t **sids) {
    pthread_rwlock_rdlock(&x->lock);
    struct table *t = table_of(x, table_id, false);
    size_t n = bitmap_out(t ? t->sids : NULL, a, sids);
    pthread_rwlock_unlock(&x->lock);
    return n;
}

bool sindex_series_table(sindex *x, uint32_t sid, uint64_t *table_id) {
    pthread_rwlock_rdlock(&x->lock);
    struct series *s = sid < x->n ? x->series[sid] : NULL;
    bool ok = s && !s->dead;
    if (ok) *table_id = s->table_id;
    pthread_rwlock_unlock(&x->lock);
    return ok;
}

void sindex_series_tags(sindex *x, uint32_t sid, uint32_t ntags, const uint32_t *tag_ids, arena *a,
                        strv *out) {
    pthread_rwlock_rdlock(&x->lock);
    struct series *s = sid < x->n ? x->series[sid] : NULL;
    for (uint32_t k = 0; k < ntags; k++) {
        out[k] = (strv){NULL, 0};
        if (!s) continue;
        for (uint32_t j = 0; j < s->ntags; j++)
            if (s->tag_ids[j] == tag_ids[k]) {
                out[k] = (strv){arena_strndup(a, s->tag_vals[j].p, s->tag_vals[j].len),
                                s->tag_vals[j].len};
                break;
            }
    }
    pthread_rwlock_unlock(&x->lock);
}

strv sindex_series_key(sindex *x, uint32_t sid, arena *a) {
    pthread_rwlock_rdlock(&x->lock);
    struct series *s = sid < x->n ? x->series[sid] : NULL;
    strv r = s ? (strv){arena_strndup(a, s->key, s->keylen), s->keylen} : (strv){"", 0};
    pthread_rwlock_unlock(&x->lock);
    return r;
}

size_t sindex_tag_eq(sindex *x, uint64_t table_id, uint32_t tag_id, const char *val, size_t len,
                     arena *a, uint32_t **sids) {
    buf k;
    buf_init(&k);
    tag_key(&k, tag_id, val, len);
    pthread_rwlock_rdlock(&x->lock);
    struct table *t = table_of(x, table_id, false);
    uint64_t v;
    const roaring_bitmap_t *b = NULL;
    if (t && hmap_get(t->tags, k.p, k.len, &v)) b = (const roaring_bitmap_t *)(uintptr_t)v;
    size_t n = bitmap_out(b, a, sids);
    pthread_rwlock_unlock(&x->lock);
    buf_free(&k);
    return n;
}

static int cmp_strv(const void *pa, const void *pb) {
    const strv *a = pa, *b = pb;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->p, b->p, n);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

size_t sindex_tag_values(sindex *x, uint64_t table_id, uint32_t tag_id, arena *a, strv **vals) {
    pthread_rwlock_rdlock(&x->lock);
    struct table *t = table_of(x, table_id, false);
    size_t cap = t ? hmap_count(t->tags) : 0, n = 0;
    strv *out = arena_alloc(a, sizeof *out * (cap ? cap : 1));
    if (t) {
        size_t pos = 0;
        const char *key;
        size_t kl;
        uint64_t v;
        while (hmap_next(t->tags, &pos, &key, &kl, &v)) {
            uint32_t id;
            memcpy(&id, key, 4);
            if (id != tag_id || roaring_bitmap_is_empty((roaring_bitmap_t *)(uintptr_t)v)) continue;
            out[n++] = (strv){arena_strndup(a, key + 4, kl - 4), (uint32_t)(kl - 4)};
        }
    }
    pthread_rwlock_unlock(&x->lock);
    qsort(out, n, sizeof *out, cmp_strv);
    *vals = out;
    return n;
}

int sindex_check_bound(sindex *x, uint64_t bound, const char *user, bool salvage, err *e) {
    pthread_rwlock_wrlock(&x->lock);
    int rc = 0;
    if (bound > x->n) {
        if (!salvage || bound >= UINT32_MAX) {
            rc = err_set(e, 500, EC_STORAGE,
                         "series index %s/series.log knows %u series ids, but %s uses series id "
                         "%llu: series records were lost, and new series would take their ids. "
                         "Refusing to start; start once with --wal-salvage to retire the lost ids "
                         "(rows of those series stay unreachable)",
                         x->dir, x->n, user, (unsigned long long)bound - 1);
        } else {
            log_warn("series index salvage: %s/series.log: series ids %u..%llu are lost (used by "
                     "%s); they are retired, and rows of theirs are unreachable",
                     x->dir, x->n, (unsigned long long)bound - 1, user);
            x->n = (uint32_t)bound;
        }
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

size_t sindex_count(sindex *x) {
    pthread_rwlock_rdlock(&x->lock);
    size_t n = x->n;
    pthread_rwlock_unlock(&x->lock);
    return n;
}
