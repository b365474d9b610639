/* The storage engine's write records: the builder (what ingest encodes), the decoder that
 * applies a record to the caches (live writes and WAL replay alike), and engine_write /
 * engine_delete. See engine.h for the contract, engine_int.h for the locks.
 *
 * Write record format (what the WAL holds). Kind 1, a write: a flat stream of tagged sections
 *   'T' varint table_id                       following series belong to this table
 *   'S' varint keylen, key                    following rows belong to this series
 *   'R' zigzag varint ts, 3-byte varint n, n × (varint col_id, u8 vtype, payload)
 * payload: f64 8 bytes LE, i64 zigzag varint, u64 varint, bool 1 byte, string varint len+bytes.
 * Kind 2, a DELETE: varint table_id, zigzag tmin, zigzag tmax, varint n, n × varint sid.
 * A series key in a record is resolved as of the record's lsn (sindex_resolve): an UPDATE of
 * tags may have given its series another key since.
 * A flat stream lets the builder append without back-patching counts, and lets replay apply
 * a record with the same code as a live write. */
#include "storage/engine_int.h"

#include "util/log.h"
#include "util/mem.h"
#include "util/varint.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    }
    pthread_rwlock_unlock(&d->rw);
    if (!exists) rc = sdb_tombs_save(d, e);
    free(sids);
    (void)replay;
    return rc;
}

int sdb_apply_record_locked(engine *g, struct sdb *d, uint64_t lsn, const void *rec, size_t len,
                            bool replay, err *e) {
    STRATA_ASSERT(omutex_held(&d->wmu));
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
    int64_t cutoff = sdb_expired_before(d);
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
                if (sindex_resolve(d->idx, table_id, key, kl, lsn, &sid, e) < 0) {
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
                int64_t u = sdb_vnode_units(d);
                __int128 end = (__int128)floor_div(ts, u) * u + u - 1;
                if (end < cutoff) continue;
            }
            vnode *vn = last && ts >= vnode_tmin(last) && ts <= vnode_tmax(last)
                            ? last
                            : sdb_vnode_for_locked(d, ts, sid, e);
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

int sdb_replay_cb(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e) {
    void **c = ctx;
    int rc = sdb_apply_record_locked(c[0], c[1], lsn, rec, len, true, e);
    if (rc) {
        /* A record that passed its checksum but does not decode was written by a buggy or
         * newer build: skip it loudly rather than refuse to start. */
        log_error("wal replay: skipping record %llu: %s", (unsigned long long)lsn, e->msg);
        err_clear(e);
    }
    return 0;
}

int engine_write(engine *g, uint64_t db_id, wrec *w, err *e) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    uint64_t lsn = 0;
    omutex_lock(&d->wmu);
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
        omutex_wait(&d->wmu, &d->drained, &ts);
    }
    int rc = wal_append(d->wal, w->p, w->len, &lsn, e);
    if (rc == 0) rc = sdb_apply_record_locked(g, d, lsn, w->p, w->len, false, e);
    omutex_unlock(&d->wmu);
    if (rc == 0) rc = wal_sync(d->wal, lsn, e);
    sdb_release(d);
    return rc;
}

int engine_delete(engine *g, uint64_t db_id, uint64_t table_id, const uint32_t *sids, size_t n,
                  int64_t tmin, int64_t tmax, err *e) {
    struct sdb *d = sdb_get(g, db_id);
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
    omutex_lock(&d->wmu);
    int rc = wal_append(d->wal, b.p, b.len, &lsn, e);
    if (rc == 0) rc = sdb_apply_record_locked(g, d, lsn, b.p, b.len, false, e);
    omutex_unlock(&d->wmu);
    if (rc == 0) rc = wal_sync(d->wal, lsn, e);
    buf_free(&b);
    sdb_release(d);
    return rc;
}

int engine_retag(engine *g, uint64_t db_id, uint64_t table_id, size_t n, const uint32_t *sids,
                 const strv *keys, size_t *conflict, err *e) {
    *conflict = SIZE_MAX;
    struct sdb *d = sdb_get(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    /* Under the write lock no record is being appended: every record up to the WAL's last lsn
     * came before the change, every later one after it. */
    omutex_lock(&d->wmu);
    int rc = sindex_retag(d->idx, wal_last_lsn(d->wal), table_id, n, sids, keys, conflict, e);
    omutex_unlock(&d->wmu);
    sdb_release(d);
    return rc;
}
