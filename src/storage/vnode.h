/* A vnode: one time range (and shard) of a database, with its in-memory caches and its column
 * files, and the versioning that lets readers work on a snapshot.
 *
 * State: one active memcache (taking writes), a queue of immutable memcaches waiting to be
 * flushed, and column files in levels 0-3. A version is an immutable snapshot of that state
 * held by reference counts: readers acquire the current version and keep every file and cache
 * in it alive until they release it, so flushes, compactions and retention never pull data
 * from under a running scan. Files and frozen caches in a version never change; the active
 * cache is shared with the live vnode, so rows written after a reader acquired its version may
 * be visible to it (never rows it already saw changing).
 *
 * Durability: `<dir>/MANIFEST` (checksummed JSON, replaced atomically) lists the live files
 * with their level and data LSN (the newest WAL record whose rows they hold) and the vnode's
 * flushed LSN (every row of this vnode from WAL records up to it is in files). At open, files
 * the manifest does not list (a flush or compaction cut short) are deleted, so a crash at any
 * point leaves either the old files or the new ones in force, never a mix.
 *
 * Precedence: rows of newer sources win field by field (last write wins). Files at higher
 * levels hold older data than lower levels; within a level, data LSNs order them; immutable
 * caches are newer than every file and the active cache newest of all.
 *
 * Threads: freeze and writes to the active cache happen under the database's write lock (the
 * caller's); flush and compaction run on the engine's background thread; versions may be
 * acquired from any thread. */
#ifndef STRATA_STORAGE_VNODE_H
#define STRATA_STORAGE_VNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/colfile.h"
#include "storage/memcache.h"
#include "util/arena.h"
#include "util/err.h"

typedef struct vnode vnode;
typedef struct vversion vversion;

/* A DELETE's tombstone: rows of these series with tmin <= time <= tmax, in sources whose data
 * LSN is older than lsn, are gone. */
typedef struct tombstone {
    uint64_t lsn;
    uint64_t table_id;
    int64_t tmin, tmax;
    uint32_t nsids;
    uint32_t *sids; /* sorted */
} tombstone;

typedef struct tomb_set {
    const tombstone *t;
    size_t n;
} tomb_set;

/* What flush and compaction need from the engine. */
typedef struct vnode_env {
    /* codec for a column (enum codec_use), DEFAULT if unknown */
    uint8_t (*codec_of)(void *ctx, uint64_t table_id, uint32_t col_id);
    /* whether a table still exists (compaction drops rows of dropped tables) */
    bool (*table_live)(void *ctx, uint64_t table_id);
    /* table of a series */
    bool (*series_table)(void *ctx, uint32_t sid, uint64_t *table_id);
    /* makes series registrations durable before a file refers to them */
    int (*sync_series)(void *ctx, err *e);
    void *ctx;
    tomb_set tombs;
} vnode_env;

int vnode_open(const char *dir, int64_t bucket, uint32_t shard, int64_t tmin, int64_t tmax,
               vnode **out, err *e);
/* Vnodes are reference counted: vnode_open returns one reference; whoever copies a vnode
 * pointer out of the database's list under its lock retains it. vnode_close drops a
 * reference and frees the vnode with the last one (its directory stays unless
 * vnode_mark_dropped was called). */
void vnode_retain(vnode *v);
void vnode_close(vnode *v);
/* The directory is removed when the last version referring to its files is released. */
void vnode_mark_dropped(vnode *v);

int64_t vnode_bucket(const vnode *v);
uint32_t vnode_shard(const vnode *v);
int64_t vnode_tmin(const vnode *v);
int64_t vnode_tmax(const vnode *v);
uint64_t vnode_flushed_lsn(const vnode *v);
/* Raises *bound past every series id the vnode's files use; returns the path of the file with
 * the largest one when it raised it (valid while the vnode is open), else NULL. */
const char *vnode_sid_bound(vnode *v, uint64_t *bound);

/* The active cache (write lock of the database held by the caller). */
memcache *vnode_active(vnode *v);
/* Moves a non-empty active cache to the flush queue; true if it did. */
bool vnode_freeze(vnode *v);
/* Immutable caches waiting for flush. */
size_t vnode_pending(vnode *v);
/* Bytes held in memory by the active and waiting caches. */
size_t vnode_mem_bytes(vnode *v);
/* Smallest WAL LSN still only in memory here (UINT64_MAX if none). */
uint64_t vnode_min_unflushed_lsn(vnode *v);
/* Number of files and bytes on disk. */
void vnode_disk_usage(vnode *v, size_t *files, uint64_t *bytes);

/* Flushes the oldest waiting cache to a level-0 file. 1 = did work, 0 = nothing, -1 error. */
int vnode_flush_one(vnode *v, const vnode_env *env, err *e);
/* Merges a level when it has enough files. 1 = did work, 0 = nothing, -1 error. With force,
 * merges every file into one (DROP TABLE, tests). */
int vnode_compact(vnode *v, const vnode_env *env, bool force, err *e);
/* Whether any file or waiting cache older than lsn could hold rows of this time range
 * (tombstone pruning). */
bool vnode_has_data_before(vnode *v, uint64_t lsn);

vversion *vnode_acquire(vnode *v);
void vversion_release(vversion *vv);

/* Rows of one series in [tmin, tmax] from every source of the version, merged (one row per
 * timestamp, newest value per field), tombstones applied; out as in mc_read. */
int vversion_read(vversion *vv, uint32_t sid, int64_t tmin, int64_t tmax, uint32_t ncols,
                  const uint32_t *col_ids, const uint8_t *types, const tomb_set *tombs, arena *a,
                  mc_rows *out, err *e);
/* Oldest and newest timestamp any source of the version holds for series sid (rows a tombstone
 * hides included); false when none does. Index and cache look-ups only. */
bool vversion_span(vversion *vv, uint32_t sid, arena *a, int64_t *lo, int64_t *hi);

/* Fast path for scans: when the sources holding the series' rows in [tmin, tmax] do not
 * overlap in time and no tombstone touches them (the usual case: successive flushes of
 * in-order data), lists them in time order so the caller can stream file chunks without a
 * merge. Returns the number of pieces (0 = no rows), or -1 when a merge is needed. The pieces
 * and the file index entries they point to come from a. */
typedef struct vpiece {
    const cf_reader *file; /* a file's series, or */
    const cf_series *series;
    memcache *mem; /* a cache (NULL for files) */
    int64_t lo, hi;
} vpiece;
int vversion_pieces(vversion *vv, uint32_t sid, int64_t tmin, int64_t tmax, const tomb_set *tombs,
                    arena *a, vpiece **out);

#endif
