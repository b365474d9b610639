/* Series index: see sindex.h. */
#include "storage/sindex.h"

#include "storage/plist.h"

#include "util/buf.h"
#include "util/fs.h"
#include "util/idset.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/membudget.h"
#include "util/slab.h"
#include "util/varint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define REC_SERIES 1
#define REC_DROP_TABLE 2
#define REC_RETAG 3

#define NONE UINT32_MAX
/* `at` of a posting no series carries any more (its tag was changed by an UPDATE): it stays in
 * its table's chain, which is singly linked, until the table is dropped. */
#define DEAD_POST UINT32_MAX

/* Memory layout (what a series costs is the point of it; see "Memory" in docs/benchmarks.md).
 *
 * A series is one record in the `keys` slab, `u32 table slot | varint key length | key`,
 * packed at byte alignment, and one pointer to it in `recs` (by series id): about 30 bytes for
 * a key of two short tags, and no malloc of its own. Tag values are not copied: a posting
 * names the series that first carried its value and where in that series' key the value sits.
 *
 * Lookups go through three id sets (idset.h: 8 bytes a member, the key compared in place):
 * series by (table, key), table slots by table id, postings by (table slot, tag id, value).
 *
 * A table slot is one life of a table: DROP TABLE kills the slot (its series stay dead with
 * their keys, so scans of old files can still name them), and a table id seen again later gets
 * a new slot. Postings of a slot are chained through `next` so SHOW TAG VALUES and DROP TABLE
 * walk only that table's. A posting of one series holds it inline (`list` 0); more go to a
 * posting list (plist.h) in `lists`. Freed postings and lists are chained for reuse. */

struct tslot {
    uint64_t table_id;
    plist sids;
    uint32_t posts; /* first posting of the table, NONE when none */
    bool dead;
};

struct post {
    uint32_t first; /* series whose key holds the value */
    uint32_t at;    /* offset in that key of the (varint tag id, varint len, value) entry;
                       DEAD_POST when no series holds it */
    uint32_t list;  /* 0: `first` is the only series; else its index in lists */
    uint32_t next;  /* next posting of the table (or of the free chain), NONE at the end */
};

/* A key change (UPDATE of tags), remembered so that WAL replay gives a write record made
 * before it, which names the old key, to the series that carried that key then. */
struct retag {
    uint64_t lsn; /* the change came after every WAL record up to this one */
    uint64_t table_id;
    uint32_t sid;
    uint32_t len;
    const unsigned char *old_key; /* in `keys`: a replaced record is never freed */
};

struct sindex {
    pthread_rwlock_t lock;
    char *dir;
    int fd;
    bool dirty;       /* appended since the last sync */
    uint64_t appends; /* records appended so far: a sync clears dirty only if none came since */
    slab keys;
    const unsigned char **recs; /* by series id; NULL = retired id */
    uint32_t n, cap;
    idset by_key; /* live series */
    struct tslot *tslots;
    uint32_t ntslots, tslotcap;
    idset by_table; /* live table slots */
    struct post *posts;
    uint32_t nposts, postcap, free_post;
    idset by_val;
    plist *lists; /* [0] unused, so that list 0 means "inline" */
    uint32_t nlists, listcap, free_list;
    size_t plist_bytes; /* heap bytes of every posting list (plist_heap_bytes) */
    struct retag *retags;
    uint32_t nretags, retagcap;
    idset by_old;       /* retags by (table, old key) */
    uint64_t retag_lsn; /* the largest lsn of retags */
    size_t charged;     /* bytes charged to the memory budget */
    buf wbuf;
};

static inline uint32_t rec_tslot(const unsigned char *rec) {
    uint32_t t;
    memcpy(&t, rec, 4);
    return t;
}

/* The key of a record; the record was written by insert, so the length is well formed. */
static inline const unsigned char *rec_key(const unsigned char *rec, size_t *len) {
    byte_reader r = {rec + 4, rec + 4 + 10, false};
    *len = (size_t)br_uvarint(&r);
    return r.p;
}

/* The record of a series id, NULL when unknown or retired. */
static const unsigned char *rec_of(const sindex *x, uint32_t sid) {
    return sid < x->n ? x->recs[sid] : NULL;
}

static uint32_t hash_key(uint64_t table_id, const void *key, size_t len) {
    return (uint32_t)XXH3_64bits_withSeed(key, len, table_id);
}

static uint32_t hash_table(uint64_t table_id) {
    return (uint32_t)XXH3_64bits(&table_id, 8);
}

static uint32_t hash_val(uint32_t tslot, uint32_t tag_id, const void *val, size_t len) {
    return (uint32_t)XXH3_64bits_withSeed(val, len, (uint64_t)tslot << 32 | tag_id);
}

/* Reads the tag entry at r (varint id, varint len, bytes); false when malformed. */
static bool next_tag(byte_reader *r, uint32_t *id, const unsigned char **val, size_t *len) {
    uint64_t i = br_uvarint(r);
    uint64_t l = br_uvarint(r);
    const unsigned char *v = r->bad || i > UINT32_MAX ? NULL : br_bytes(r, l);
    if (!v) return false;
    *id = (uint32_t)i;
    *val = v;
    *len = (size_t)l;
    return true;
}

/* A series key: varint ntags, then ntags tag entries, and nothing after. */
static bool key_valid(const unsigned char *key, size_t len) {
    byte_reader r = {key, key + len, false};
    uint64_t n = br_uvarint(&r);
    if (r.bad || n > len) return false;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t id;
        const unsigned char *v;
        size_t l;
        if (!next_tag(&r, &id, &v, &l)) return false;
    }
    return r.p == r.end;
}

/* Tag id and value of a posting. */
static void post_tag(const sindex *x, const struct post *p, uint32_t *id, const unsigned char **val,
                     size_t *len) {
    size_t kl;
    const unsigned char *key = rec_key(x->recs[p->first], &kl);
    byte_reader r = {key + p->at, key + kl, false};
    (void)next_tag(&r, id, val, len);
}

static uint32_t table_find(const sindex *x, uint64_t table_id) {
    uint32_t h = hash_table(table_id), pos = idset_start(&x->by_table, h), t;
    while ((t = idset_probe(&x->by_table, h, &pos)) != NONE)
        if (x->tslots[t].table_id == table_id) return t;
    return NONE;
}

static uint32_t series_find(const sindex *x, uint32_t t, uint32_t h, const void *key, size_t len) {
    uint32_t pos = idset_start(&x->by_key, h), sid;
    while ((sid = idset_probe(&x->by_key, h, &pos)) != NONE) {
        size_t kl;
        const unsigned char *k = rec_key(x->recs[sid], &kl);
        if (rec_tslot(x->recs[sid]) == t && kl == len && memcmp(k, key, len) == 0) return sid;
    }
    return NONE;
}

static uint32_t post_find(const sindex *x, uint32_t t, uint32_t h, uint32_t tag_id, const void *val,
                          size_t len) {
    uint32_t pos = idset_start(&x->by_val, h), p;
    while ((p = idset_probe(&x->by_val, h, &pos)) != NONE) {
        const struct post *ps = &x->posts[p];
        uint32_t id;
        const unsigned char *v;
        size_t l;
        post_tag(x, ps, &id, &v, &l);
        if (id == tag_id && l == len && rec_tslot(x->recs[ps->first]) == t &&
            memcmp(v, val, len) == 0)
            return p;
    }
    return NONE;
}

/* Adds id to a posting list, keeping the count of the lists' heap bytes. */
static void pl_add(sindex *x, plist *p, uint32_t id) {
    size_t before = plist_heap_bytes(p);
    plist_add(p, id);
    x->plist_bytes += plist_heap_bytes(p) - before;
}

static void pl_free(sindex *x, plist *p) {
    x->plist_bytes -= plist_heap_bytes(p);
    plist_free(p);
}

/* Brings the memory budget's count of the index up (or down) to what it holds now. Growth
 * cannot be refused (the series it registers are in a durable log record), so it is charged
 * past the limit. */
static void account_locked(sindex *x) {
    size_t now = slab_bytes(&x->keys) + sizeof *x->recs * x->cap + idset_bytes(&x->by_key) +
                 idset_bytes(&x->by_table) + idset_bytes(&x->by_val) +
                 sizeof *x->tslots * x->tslotcap + sizeof *x->posts * x->postcap +
                 sizeof *x->lists * x->listcap + x->plist_bytes + sizeof *x->retags * x->retagcap +
                 idset_bytes(&x->by_old);
    if (now > x->charged)
        membudget_charge(MEMBUDGET_INDEX, now - x->charged);
    else
        membudget_release(MEMBUDGET_INDEX, x->charged - now);
    x->charged = now;
}

static uint32_t table_new(sindex *x, uint64_t table_id) {
    if (x->ntslots == x->tslotcap) {
        x->tslotcap = x->tslotcap ? x->tslotcap * 2 : 16;
        x->tslots = xrealloc(x->tslots, sizeof *x->tslots * x->tslotcap);
    }
    uint32_t t = x->ntslots++;
    x->tslots[t] = (struct tslot){table_id, PLIST_INIT, NONE, false};
    idset_insert(&x->by_table, hash_table(table_id), t);
    return t;
}

static uint32_t post_new(sindex *x) {
    if (x->free_post != NONE) {
        uint32_t p = x->free_post;
        x->free_post = x->posts[p].next;
        return p;
    }
    if (x->nposts == x->postcap) {
        x->postcap = x->postcap ? x->postcap * 2 : 64;
        x->posts = xrealloc(x->posts, sizeof *x->posts * x->postcap);
    }
    return x->nposts++;
}

static uint32_t list_new(sindex *x) {
    if (x->free_list) {
        uint32_t l = x->free_list;
        x->free_list = x->lists[l].u.one;
        x->lists[l] = (plist)PLIST_INIT;
        return l;
    }
    if (x->nlists == x->listcap) {
        x->listcap = x->listcap ? x->listcap * 2 : 16;
        x->lists = xrealloc(x->lists, sizeof *x->lists * x->listcap);
        if (x->nlists == 0) x->nlists = 1; /* list 0 means "inline" */
    }
    x->lists[x->nlists] = (plist)PLIST_INIT;
    return x->nlists++;
}

/* Series sid (table slot t) carries tag_id = val, found at offset at of its key. */
static void post_add(sindex *x, uint32_t t, uint32_t sid, uint32_t at, uint32_t tag_id,
                     const unsigned char *val, size_t len) {
    uint32_t h = hash_val(t, tag_id, val, len);
    uint32_t p = post_find(x, t, h, tag_id, val, len);
    if (p == NONE) {
        p = post_new(x);
        x->posts[p] = (struct post){sid, at, 0, x->tslots[t].posts};
        x->tslots[t].posts = p;
        idset_insert(&x->by_val, h, p);
        return;
    }
    struct post *ps = &x->posts[p];
    if (!ps->list) {
        if (ps->first == sid) return; /* the same tag twice in one key */
        uint32_t l = list_new(x);
        ps = &x->posts[p];
        ps->list = l;
        pl_add(x, &x->lists[l], ps->first);
    }
    pl_add(x, &x->lists[ps->list], sid);
}

static void grow_recs(sindex *x, uint64_t need) {
    if (need <= x->cap) return;
    uint32_t nc = x->cap ? x->cap : 1024;
    while (nc < need) nc = nc > UINT32_MAX / 2 ? UINT32_MAX : nc * 2;
    x->recs = xrealloc(x->recs, sizeof *x->recs * nc);
    memset(x->recs + x->cap, 0, sizeof *x->recs * (nc - x->cap));
    x->cap = nc;
}

/* Adds a series to the in-memory structures (the log record is the caller's business). h is
 * hash_key(table_id, key). */
/* A record `u32 table slot | varint key length | key` in the keys slab; *k = its key. */
static unsigned char *new_rec(sindex *x, uint32_t t, const void *key, size_t keylen,
                              const unsigned char **k) {
    unsigned char hdr[4 + 10];
    memcpy(hdr, &t, 4);
    size_t hl = 4;
    uint64_t kv = keylen;
    for (; kv >= 0x80; kv >>= 7) hdr[hl++] = (unsigned char)(kv | 0x80);
    hdr[hl++] = (unsigned char)kv;
    unsigned char *rec = slab_alloc(&x->keys, hl + keylen, 1);
    memcpy(rec, hdr, hl);
    memcpy(rec + hl, key, keylen);
    *k = rec + hl;
    return rec;
}

static int insert(sindex *x, uint32_t sid, uint64_t table_id, const void *key, size_t keylen,
                  uint32_t h) {
    if (!key_valid(key, keylen) || keylen > UINT32_MAX) return -1;
    uint32_t t = table_find(x, table_id);
    if (t == NONE) t = table_new(x, table_id);
    const unsigned char *k;
    unsigned char *rec = new_rec(x, t, key, keylen, &k);
    grow_recs(x, (uint64_t)sid + 1);
    x->recs[sid] = rec;
    if (sid >= x->n) x->n = sid + 1;
    idset_insert(&x->by_key, h, sid);
    pl_add(x, &x->tslots[t].sids, sid);
    byte_reader r = {k, k + keylen, false};
    uint64_t ntags = br_uvarint(&r);
    for (uint64_t i = 0; i < ntags; i++) {
        uint32_t at = (uint32_t)(r.p - k), id;
        const unsigned char *v;
        size_t l;
        (void)next_tag(&r, &id, &v, &l);
        post_add(x, t, sid, at, id, v, l);
    }
    return 0;
}

static void drop_table_mem(sindex *x, uint64_t table_id) {
    uint32_t t = table_find(x, table_id);
    if (t == NONE) return;
    struct tslot *ts = &x->tslots[t];
    size_t card = plist_count(&ts->sids);
    uint32_t *ids = xmalloc(sizeof *ids * (card ? card : 1));
    plist_to_array(&ts->sids, ids);
    for (size_t i = 0; i < card; i++) {
        size_t kl;
        const unsigned char *k = rec_key(x->recs[ids[i]], &kl);
        idset_remove(&x->by_key, hash_key(table_id, k, kl), ids[i]);
    }
    free(ids);
    for (uint32_t p = ts->posts; p != NONE;) {
        struct post *ps = &x->posts[p];
        uint32_t id, next = ps->next;
        const unsigned char *v;
        size_t l;
        if (ps->at != DEAD_POST) {
            post_tag(x, ps, &id, &v, &l);
            idset_remove(&x->by_val, hash_val(t, id, v, l), p);
        }
        if (ps->list) {
            pl_free(x, &x->lists[ps->list]);
            x->lists[ps->list].u.one = x->free_list;
            x->free_list = ps->list;
        }
        ps->next = x->free_post;
        x->free_post = p;
        p = next;
    }
    idset_remove(&x->by_table, hash_table(table_id), t);
    pl_free(x, &ts->sids);
    ts->posts = NONE;
    ts->dead = true;
}

/* ------------------------------------------------------------------ key changes */

/* Offset in key of the entry of tag_id, or NONE. */
static uint32_t tag_at(const unsigned char *key, size_t len, uint32_t tag_id) {
    byte_reader r = {key, key + len, false};
    uint64_t n = br_uvarint(&r);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t at = (uint32_t)(r.p - key), id;
        const unsigned char *v;
        size_t l;
        if (!next_tag(&r, &id, &v, &l)) break;
        if (id == tag_id) return at;
    }
    return NONE;
}

/* Whether key holds tag_id = val. */
static bool key_has(const unsigned char *key, size_t len, uint32_t tag_id, const unsigned char *val,
                    size_t vlen) {
    uint32_t at = tag_at(key, len, tag_id);
    if (at == NONE) return false;
    byte_reader r = {key + at, key + len, false};
    uint32_t id;
    const unsigned char *v;
    size_t l;
    return next_tag(&r, &id, &v, &l) && l == vlen && memcmp(v, val, l) == 0;
}

/* Series sid (table slot t) no longer carries tag_id = val. Caller: sid's record still holds
 * the old key. A posting left without series is marked dead (see DEAD_POST). */
static void post_remove(sindex *x, uint32_t t, uint32_t sid, uint32_t tag_id,
                        const unsigned char *val, size_t len) {
    uint32_t h = hash_val(t, tag_id, val, len);
    uint32_t p = post_find(x, t, h, tag_id, val, len);
    if (p == NONE) return;
    struct post *ps = &x->posts[p];
    if (ps->list) {
        plist *l = &x->lists[ps->list];
        size_t before = plist_heap_bytes(l);
        plist_remove(l, sid);
        x->plist_bytes = x->plist_bytes - before + plist_heap_bytes(l);
        if (plist_count(l)) {
            if (ps->first == sid) {
                /* The value is read from the first series' key: name one that still has it. */
                uint32_t o = plist_min(l);
                size_t kl;
                const unsigned char *k = rec_key(x->recs[o], &kl);
                ps->first = o;
                ps->at = tag_at(k, kl, tag_id);
            }
            return;
        }
        pl_free(x, l);
        l->u.one = x->free_list;
        x->free_list = ps->list;
        ps->list = 0;
    } else if (ps->first != sid) {
        return;
    }
    idset_remove(&x->by_val, h, p);
    ps->at = DEAD_POST;
}

/* Gives series sid of table slot t the key `key` (valid, held by no other series), keeping
 * its id, and remembers the old key for WAL replay (retag at lsn). */
static void retag_one(sindex *x, uint32_t t, uint32_t sid, const unsigned char *key, size_t len,
                      uint64_t lsn) {
    uint64_t table_id = x->tslots[t].table_id;
    size_t ol;
    const unsigned char *old = rec_key(x->recs[sid], &ol);
    /* Tags that keep their value keep their posting; one that reads its value from this key
     * must move its offset to the new key once the record is replaced. */
    byte_reader r = {old, old + ol, false};
    uint64_t n = br_uvarint(&r);
    uint32_t *keep = xmalloc(sizeof *keep * (n + 1)), nkeep = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t id;
        const unsigned char *v;
        size_t l;
        (void)next_tag(&r, &id, &v, &l);
        if (!key_has(key, len, id, v, l)) {
            post_remove(x, t, sid, id, v, l);
            continue;
        }
        uint32_t p = post_find(x, t, hash_val(t, id, v, l), id, v, l);
        if (p != NONE && x->posts[p].first == sid) keep[nkeep++] = p;
    }
    idset_remove(&x->by_key, hash_key(table_id, old, ol), sid);
    const unsigned char *k;
    x->recs[sid] = new_rec(x, t, key, len, &k);
    idset_insert(&x->by_key, hash_key(table_id, k, len), sid);
    for (uint32_t i = 0; i < nkeep; i++) {
        struct post *ps = &x->posts[keep[i]];
        byte_reader pr = {old + ps->at, old + ol, false};
        uint32_t id;
        const unsigned char *v;
        size_t l;
        (void)next_tag(&pr, &id, &v, &l);
        ps->at = tag_at(k, len, id);
    }
    free(keep);
    r = (byte_reader){k, k + len, false};
    n = br_uvarint(&r);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t at = (uint32_t)(r.p - k), id;
        const unsigned char *v;
        size_t l;
        (void)next_tag(&r, &id, &v, &l);
        if (!key_has(old, ol, id, v, l)) post_add(x, t, sid, at, id, v, l);
    }
    if (x->nretags == x->retagcap) {
        x->retagcap = x->retagcap ? x->retagcap * 2 : 16;
        x->retags = xrealloc(x->retags, sizeof *x->retags * x->retagcap);
    }
    x->retags[x->nretags] = (struct retag){lsn, table_id, sid, (uint32_t)ol, old};
    idset_insert(&x->by_old, hash_key(table_id, old, ol), x->nretags++);
    if (lsn > x->retag_lsn) x->retag_lsn = lsn;
}

/* The series that carried (table, key) at WAL position lsn, if a key change since took the key
 * from it: the earliest change at or after lsn of that key. NONE when none did. */
static uint32_t retag_find(const sindex *x, uint64_t table_id, const void *key, size_t len,
                           uint64_t lsn) {
    if (!x->nretags || lsn > x->retag_lsn) return NONE;
    uint32_t h = hash_key(table_id, key, len), pos = idset_start(&x->by_old, h), i, best = NONE;
    while ((i = idset_probe(&x->by_old, h, &pos)) != NONE) {
        const struct retag *rt = &x->retags[i];
        if (rt->lsn >= lsn && rt->table_id == table_id && rt->len == len &&
            memcmp(rt->old_key, key, len) == 0 && (best == NONE || i < best))
            best = i;
    }
    return best == NONE ? NONE : x->retags[best].sid;
}

/* One series of a retag record, as decoded. */
struct retag_item {
    uint32_t sid;
    const unsigned char *key;
    size_t len;
};

/* Decodes and checks a retag record's entries (after kind, lsn, table id, count): every series
 * is live in table slot t and every key well formed. NULL, or why not. */
static const char *retag_decode(const sindex *x, byte_reader *r, uint32_t t, uint64_t n,
                                struct retag_item *out) {
    for (uint64_t i = 0; i < n; i++) {
        uint64_t sid = br_uvarint(r);
        uint64_t kl = br_uvarint(r);
        const unsigned char *k = r->bad ? NULL : br_bytes(r, kl);
        if (!k) return "truncated retag record";
        const unsigned char *rec = sid < x->n ? x->recs[sid] : NULL;
        if (!rec || rec_tslot(rec) != t) return "retag of an unknown series";
        if (!key_valid(k, kl)) return "malformed series key";
        out[i] = (struct retag_item){(uint32_t)sid, k, (size_t)kl};
    }
    return NULL;
}

static const char *apply_retag(sindex *x, byte_reader *r) {
    uint64_t lsn = br_uvarint(r);
    uint64_t tid = br_uvarint(r);
    uint64_t n = br_uvarint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) return "truncated retag record";
    uint32_t t = table_find(x, tid);
    if (t == NONE) return n ? "retag of an unknown table" : NULL;
    struct retag_item *items = xmalloc(sizeof *items * (n + 1));
    const char *why = retag_decode(x, r, t, n, items);
    for (uint64_t i = 0; !why && i < n; i++)
        retag_one(x, t, items[i].sid, items[i].key, items[i].len, lsn);
    free(items);
    return why;
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
    x->appends++;
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
    } else if (scanning && *p != REC_DROP_TABLE && *p != REC_RETAG) {
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
        size_t kl = (size_t)(r.end - r.p);
        if (insert(x, (uint32_t)sid, tid, r.p, kl, hash_key(tid, r.p, kl)) < 0)
            return "malformed series key";
    } else if (*p == REC_DROP_TABLE) {
        uint64_t tid = br_uvarint(&r);
        if (r.bad) return "truncated drop record";
        drop_table_mem(x, tid);
    } else if (*p == REC_RETAG) {
        return apply_retag(x, &r);
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
    x->free_post = NONE;
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
    account_locked(x);
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
    membudget_release(MEMBUDGET_INDEX, x->charged);
    slab_free(&x->keys);
    free(x->recs);
    idset_free(&x->by_key);
    for (uint32_t t = 0; t < x->ntslots; t++) plist_free(&x->tslots[t].sids);
    free(x->tslots);
    idset_free(&x->by_table);
    free(x->posts);
    idset_free(&x->by_val);
    /* Freed lists are empty (plist_free), and their u.one chains the free slots. */
    for (uint32_t l = 1; l < x->nlists; l++)
        if (x->lists[l].n) plist_free(&x->lists[l]);
    free(x->lists);
    free(x->retags);
    idset_free(&x->by_old);
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
    uint32_t h = hash_key(table_id, key, keylen);
    pthread_rwlock_rdlock(&x->lock);
    uint32_t t = table_find(x, table_id);
    uint32_t found = t == NONE ? NONE : series_find(x, t, h, key, keylen);
    pthread_rwlock_unlock(&x->lock);
    if (found != NONE) {
        *sid = found;
        return 0;
    }
    int rc = 0;
    pthread_rwlock_wrlock(&x->lock);
    t = table_find(x, table_id);
    found = t == NONE ? NONE : series_find(x, t, h, key, keylen);
    if (found != NONE) {
        *sid = found;
    } else if (x->n >= NONE) {
        rc = err_set(e, 500, EC_STORAGE, "series index %s: out of series ids", x->dir);
    } else {
        uint32_t id = x->n;
        if (insert(x, id, table_id, key, keylen, h) < 0) {
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
            account_locked(x);
        }
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

int sindex_sync(sindex *x, err *e) {
    /* The fsync runs without the lock: writers registering series and readers looking them up
     * must not wait for the disk (a flush syncs the index before it writes a file). Records
     * appended during the fsync keep the log dirty for the next sync. */
    pthread_rwlock_rdlock(&x->lock);
    bool dirty = x->dirty;
    uint64_t gen = x->appends;
    int fd = x->fd;
    pthread_rwlock_unlock(&x->lock);
    if (!dirty) return 0;
    if (fdatasync(fd) < 0)
        return err_set(e, 500, EC_STORAGE, "series index: fsync %s/series.log: %s", x->dir,
                       strerror(errno));
    pthread_rwlock_wrlock(&x->lock);
    if (x->appends == gen) x->dirty = false;
    pthread_rwlock_unlock(&x->lock);
    return 0;
}

int sindex_resolve(sindex *x, uint64_t table_id, const void *key, size_t keylen, uint64_t lsn,
                   uint32_t *sid, err *e) {
    pthread_rwlock_rdlock(&x->lock);
    uint32_t old = retag_find(x, table_id, key, keylen, lsn);
    pthread_rwlock_unlock(&x->lock);
    if (old != NONE) {
        *sid = old;
        return 0;
    }
    return sindex_get_or_add(x, table_id, key, keylen, sid, e);
}

int sindex_retag(sindex *x, uint64_t lsn, uint64_t table_id, size_t n, const uint32_t *sids,
                 const strv *keys, size_t *conflict, err *e) {
    *conflict = SIZE_MAX;
    pthread_rwlock_wrlock(&x->lock);
    uint32_t t = table_find(x, table_id);
    int rc = 0;
    idset fresh = IDSET_INIT; /* indexes of the new keys seen so far, by key hash */
    buf rec;
    buf_init(&rec);
    buf_putc(&rec, REC_RETAG);
    buf_put_uvarint(&rec, lsn);
    buf_put_uvarint(&rec, table_id);
    size_t changed = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const unsigned char *rk = rec_of(x, sids[i]);
        const unsigned char *k = (const unsigned char *)keys[i].p;
        size_t kl = keys[i].len;
        if (t == NONE || !rk || rec_tslot(rk) != t || !key_valid(k, kl)) {
            rc = err_set(e, 500, EC_STORAGE, "series index: no series %u in table %llu to retag",
                         sids[i], (unsigned long long)table_id);
            break;
        }
        uint32_t h = hash_key(table_id, k, kl), pos = idset_start(&fresh, h), j;
        while ((j = idset_probe(&fresh, h, &pos)) != NONE)
            if (keys[j].len == kl && memcmp(keys[j].p, k, kl) == 0) break;
        uint32_t holder = series_find(x, t, h, k, kl);
        if (j != NONE || (holder != NONE && holder != sids[i])) {
            *conflict = i;
            rc = err_set(e, 422, EC_STORAGE, "series already exists");
            break;
        }
        idset_insert(&fresh, h, (uint32_t)i);
        if (holder != sids[i]) changed++;
    }
    idset_free(&fresh);
    if (!rc && changed) {
        buf_put_uvarint(&rec, changed);
        for (size_t i = 0; i < n; i++) {
            size_t kl;
            const unsigned char *old = rec_key(x->recs[sids[i]], &kl);
            if (kl == keys[i].len && memcmp(old, keys[i].p, kl) == 0) continue;
            buf_put_uvarint(&rec, sids[i]);
            buf_put_uvarint(&rec, keys[i].len);
            buf_append(&rec, keys[i].p, keys[i].len);
        }
        /* One record for the statement, synced before anything changes in memory: after a
         * crash every key of it is new, or (a torn record is cut) every key is old. */
        rc = append_record(x, rec.p, rec.len, e);
        if (!rc && fdatasync(x->fd) < 0)
            rc = err_set(e, 500, EC_STORAGE, "series index: fsync %s/series.log: %s", x->dir,
                         strerror(errno));
        if (!rc) {
            for (size_t i = 0; i < n; i++) {
                size_t kl;
                const unsigned char *old = rec_key(x->recs[sids[i]], &kl);
                if (kl != keys[i].len || memcmp(old, keys[i].p, kl) != 0)
                    retag_one(x, t, sids[i], (const unsigned char *)keys[i].p, keys[i].len, lsn);
            }
            account_locked(x);
        }
    }
    buf_free(&rec);
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

uint64_t sindex_retag_lsn(sindex *x) {
    pthread_rwlock_rdlock(&x->lock);
    uint64_t l = x->retag_lsn;
    pthread_rwlock_unlock(&x->lock);
    return l;
}

int sindex_drop_table(sindex *x, uint64_t table_id, err *e) {
    pthread_rwlock_wrlock(&x->lock);
    int rc = 0;
    if (table_find(x, table_id) != NONE) {
        buf rec;
        buf_init(&rec);
        buf_putc(&rec, REC_DROP_TABLE);
        buf_put_uvarint(&rec, table_id);
        rc = append_record(x, rec.p, rec.len, e);
        buf_free(&rec);
        if (!rc && fdatasync(x->fd) < 0)
            rc = err_set(e, 500, EC_STORAGE, "series index: fsync: %s", strerror(errno));
        if (!rc) {
            drop_table_mem(x, table_id);
            account_locked(x);
        }
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

static size_t plist_out(const plist *p, arena *a, uint32_t **out) {
    size_t n = p ? plist_count(p) : 0;
    *out = arena_alloc(a, sizeof **out * (n ? n : 1));
    if (n) plist_to_array(p, *out);
    return n;
}

size_t sindex_table_sids(sindex *x, uint64_t table_id, arena *a, uint32_t **sids) {
    pthread_rwlock_rdlock(&x->lock);
    uint32_t t = table_find(x, table_id);
    size_t n = plist_out(t == NONE ? NULL : &x->tslots[t].sids, a, sids);
    pthread_rwlock_unlock(&x->lock);
    return n;
}

bool sindex_series_table(sindex *x, uint32_t sid, uint64_t *table_id) {
    pthread_rwlock_rdlock(&x->lock);
    const unsigned char *rec = rec_of(x, sid);
    const struct tslot *ts = rec ? &x->tslots[rec_tslot(rec)] : NULL;
    bool ok = ts && !ts->dead;
    if (ok) *table_id = ts->table_id;
    pthread_rwlock_unlock(&x->lock);
    return ok;
}

void sindex_series_tags(sindex *x, uint32_t sid, uint32_t ntags, const uint32_t *tag_ids, arena *a,
                        strv *out) {
    for (uint32_t k = 0; k < ntags; k++) out[k] = (strv){NULL, 0};
    pthread_rwlock_rdlock(&x->lock);
    const unsigned char *rec = rec_of(x, sid);
    if (rec) {
        size_t kl;
        const unsigned char *key = rec_key(rec, &kl);
        byte_reader r = {key, key + kl, false};
        uint64_t n = br_uvarint(&r);
        for (uint64_t i = 0; i < n; i++) {
            uint32_t id;
            const unsigned char *v;
            size_t l;
            (void)next_tag(&r, &id, &v, &l);
            /* The first entry of a tag id wins, as a key lists each tag once. */
            for (uint32_t k = 0; k < ntags; k++)
                if (tag_ids[k] == id && !out[k].p)
                    out[k] = (strv){arena_strndup(a, (const char *)v, l), (uint32_t)l};
        }
    }
    pthread_rwlock_unlock(&x->lock);
}

strv sindex_series_key(sindex *x, uint32_t sid, arena *a) {
    pthread_rwlock_rdlock(&x->lock);
    const unsigned char *rec = rec_of(x, sid);
    strv r = {"", 0};
    if (rec) {
        size_t kl;
        const unsigned char *key = rec_key(rec, &kl);
        r = (strv){arena_strndup(a, (const char *)key, kl), (uint32_t)kl};
    }
    pthread_rwlock_unlock(&x->lock);
    return r;
}

size_t sindex_tag_eq(sindex *x, uint64_t table_id, uint32_t tag_id, const char *val, size_t len,
                     arena *a, uint32_t **sids) {
    pthread_rwlock_rdlock(&x->lock);
    uint32_t t = table_find(x, table_id);
    uint32_t p =
        t == NONE ? NONE : post_find(x, t, hash_val(t, tag_id, val, len), tag_id, val, len);
    size_t n;
    if (p != NONE && !x->posts[p].list) {
        *sids = arena_alloc(a, sizeof **sids);
        **sids = x->posts[p].first;
        n = 1;
    } else {
        n = plist_out(p == NONE ? NULL : &x->lists[x->posts[p].list], a, sids);
    }
    pthread_rwlock_unlock(&x->lock);
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
    uint32_t t = table_find(x, table_id);
    size_t n = 0, cap = 0;
    for (uint32_t p = t == NONE ? NONE : x->tslots[t].posts; p != NONE; p = x->posts[p].next) cap++;
    strv *out = arena_alloc(a, sizeof *out * (cap ? cap : 1));
    for (uint32_t p = t == NONE ? NONE : x->tslots[t].posts; p != NONE; p = x->posts[p].next) {
        uint32_t id;
        const unsigned char *v;
        size_t l;
        if (x->posts[p].at == DEAD_POST) continue;
        post_tag(x, &x->posts[p], &id, &v, &l);
        if (id == tag_id) out[n++] = (strv){arena_strndup(a, (const char *)v, l), (uint32_t)l};
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
            grow_recs(x, bound);
            x->n = (uint32_t)bound;
            account_locked(x);
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
