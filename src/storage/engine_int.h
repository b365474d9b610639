/* The storage engine's private header: the structures and helpers its files share. Nothing
 * outside src/storage/engine*.c and tombstone.c includes it; everyone else uses engine.h.
 *
 * Files, one job each:
 *   engine.c        the database registry (open, update, drop, references) and life cycle
 *   engine_write.c  write records: the builder, the decoder that applies them, engine_write
 *   engine_vnode.c  vnode routing: the vnode of a row, vnodes on disk, vnode list snapshots
 *   tombstone.c     DELETE tombstones: in memory and in `TOMBSTONES`
 *   engine_bg.c     background work: flush, compaction, retention, WAL trim, tombstone pruning
 *   engine_meta.c   metadata queries: series, tag values, statistics
 *   engine_scan.c   the scan cursor
 *
 * Locks, in the order they are taken (never take one while holding a later one):
 *   1. g->bg_work   a round of background work (sdb_maintain_locked); DROP DATABASE waits it out
 *   1b. g->flush_work  flushing caches and dropping expired vnodes: the flusher thread takes it
 *                   alone, a background round around its flush and retention steps (so a flush
 *                   never waits behind a compaction); DROP DATABASE waits it out too
 *   2. d->wmu       a database's writes: WAL order = apply order; the vnode list changes
 *                   only under it, so a holder may keep vnode pointers without d->rw
 *   3. d->tomb_mu   orders the saves of TOMBSTONES, held across the write and fsync
 *   4. d->rw        a database's vnode list and tombstones (read: look up; write: change);
 *                   never held across I/O
 *   5. the locks inside vnode, memcache, sindex and wal (each module's own)
 * Leaves, taken with any of the above held and never holding another: g->mu (the registry
 * map), g->bg_mu (the background thread's wake-up). A helper whose name ends in `_locked`
 * needs the lock its comment names held by the caller. */
#ifndef STRATA_STORAGE_ENGINE_INT_H
#define STRATA_STORAGE_ENGINE_INT_H

#include "storage/engine.h"

#include "storage/memcache.h"
#include "storage/sindex.h"
#include "storage/vnode.h"
#include "storage/wal.h"
#include "util/assert.h"
#include "util/hmap.h"

#include <pthread.h>
#include <stdatomic.h>

#define REC_WRITE 1
#define REC_DELETE 2
/* Writers wait while a database has this many caches waiting to be flushed. */
#define MAX_PENDING_FLUSHES 8

/* One open database. */
struct sdb {
    engine *g;
    uint64_t id;
    int refs; /* engine map + running scans and writes */
    bool dropped;
    engine_db_opts opts;
    int64_t unit_ns; /* nanoseconds per time unit of the database */
    char *dir;
    wal *wal;
    sindex *idx;
    owned_mutex wmu;         /* serialises writes: WAL order = apply order */
    pthread_cond_t drained;  /* signalled when flushes complete (write backpressure) */
    pthread_rwlock_t rw;     /* vnode list and tombstones */
    pthread_mutex_t tomb_mu; /* orders the saves of TOMBSTONES */
    vnode **vnodes;          /* sorted by (tmin, shard) */
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
    pthread_t bg, flusher;
    bool bg_running, flusher_running;
    bool stop;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cond; /* both threads wait on it, each for its own kick */
    bool bg_kick, flush_kick;
    owned_mutex bg_work;    /* held while a round of background work runs */
    owned_mutex flush_work; /* held while caches are flushed or vnodes expire */
    int dirfd;              /* the storage directory as opened, to notice it being removed */
    _Atomic(const char *) lost_why; /* set once the directory is gone (fs_dir_gone) */
    atomic_int close_failures;      /* databases whose WAL or index could not be made durable */
};

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- engine.c: the registry */
/* The open database, retained (NULL if not open): release with sdb_release. */
struct sdb *sdb_get(engine *g, uint64_t id);
/* Every open database, retained (for the background thread); free the array. */
struct sdb **sdb_all(engine *g, size_t *n);
/* Drops a reference; the last one frees the database (and its files if it was dropped). */
void sdb_release(struct sdb *d);

/* ---- engine_write.c: records */
/* Applies one WAL record to the caches. Caller holds d->wmu. */
int sdb_apply_record_locked(engine *g, struct sdb *d, uint64_t lsn, const void *rec, size_t len,
                            bool replay, err *e);
/* wal_replay callback; ctx is {engine *, struct sdb *}. */
int sdb_replay_cb(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e);

/* ---- engine_vnode.c: routing */
/* VNODE_DURATION in database time units (at least 1). */
/* The database's name for log lines (engine_opts.db_label), else `database <id>`. */
void sdb_label(const engine *g, uint64_t id, char *out, size_t cap);
int64_t sdb_vnode_units(const struct sdb *d);
/* Times below this are in expired vnodes (INT64_MIN without a TTL). */
int64_t sdb_expired_before(const struct sdb *d);
/* The vnode for a row, created if needed. Caller holds d->wmu. */
vnode *sdb_vnode_for_locked(struct sdb *d, int64_t ts, uint32_t sid, err *e);
/* Opens the vnodes found in the database's directory (at open, before anyone else sees d). */
int sdb_open_vnodes(struct sdb *d, err *e);
/* The database's vnodes, each retained: release with sdb_vnodes_release. */
vnode **sdb_vnodes_snapshot(struct sdb *d, size_t *n);
void sdb_vnodes_release(vnode **vs, size_t n);

/* ---- tombstone.c */
void sdb_tombs_free(tombstone *t, size_t n);
/* Saves d->tombs to TOMBSTONES (takes d->tomb_mu, then d->rw to read; caller holds neither). */
int sdb_tombs_save(struct sdb *d, err *e);
/* Loads TOMBSTONES (at open, before anyone else sees d). */
int sdb_tombs_load(struct sdb *d, err *e);
/* A copy of the tombstones (of one table, or all when table_id is 0) in the arena. */
tomb_set sdb_tombs_snapshot(struct sdb *d, uint64_t table_id, arena *a);

/* ---- engine_bg.c: background work */
/* Flushes what is waiting, compacts (fully with full), expires vnodes, trims the WAL, prunes
 * tombstones. Caller holds g->bg_work. Returns -1 with the first flush error in *flush_err (when
 * not NULL) if a memcache could not be written; the other steps log their errors. */
int sdb_maintain_locked(engine *g, struct sdb *d, bool full, err *flush_err);
/* Flushes every frozen cache of d, waking writers that wait for room. Caller holds
 * g->flush_work. Returns -1 with the first error in *flush_err (when not NULL). */
int sdb_flush_locked(engine *g, struct sdb *d, err *flush_err);
/* Whether the storage directory was removed or replaced under the running server (sticky). */
bool engine_check_lost(engine *g);
/* The background thread and the flusher (started by engine_open, stopped by engine_close):
 * compactions can take seconds, and writers waiting for cache room must not wait for them. */
void *engine_bg_main(void *arg);
void *engine_flush_main(void *arg);

#endif
