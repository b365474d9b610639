/* The storage engine: durable storage of every database's rows, and scans over them.
 *
 * Layout on disk: `<dir>/db-<id>/` per database, holding its WAL (`wal/`), its series index
 * (`index/`), its tombstones (`TOMBSTONES`) and one directory per vnode
 * (`vnode-<tmin>_<tmax>_<shard>/`: a MANIFEST and column files). A database's rows are
 * partitioned by time into vnodes of VNODE_DURATION and, with SHARD > 1, by series.
 *
 * Writing: the caller encodes a request's rows with the wrec_* builder (grouped by table and
 * series) and hands the record to engine_write, which appends it to the database's WAL,
 * applies it to the vnodes' memcaches and returns once the record is durable (group commit).
 * The same decoder applies records on WAL replay, so what was acknowledged is exactly what
 * comes back. A memcache past max_memcache_size is frozen and a background thread flushes it
 * to a column file; the WAL is trimmed once everything in a segment is in files. The same
 * thread compacts files, expires vnodes past the database's TTL and prunes tombstones.
 *
 * Series: a series is a table plus its non-null tag values. Its key is
 * `varint ntags, (varint tag column id, varint length, bytes)...` sorted by column id; the
 * series index maps keys to dense per-database series ids. An UPDATE of tags changes a
 * series' key and keeps its id (engine_retag), so rows never move; WAL records written before
 * the change are resolved to the series by the key it had then (sindex.h).
 *
 * Threads: engine calls may come from any thread. Writes to one database are serialised
 * (WAL order = apply order, so last-write-wins is the same live and after replay); scans run
 * beside writes on version snapshots. */
#ifndef STRATA_STORAGE_ENGINE_H
#define STRATA_STORAGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

typedef struct engine engine;

typedef struct engine_opts {
    const char *dir;
    bool wal_sync;
    int64_t wal_sync_interval_ms;
    uint64_t wal_max_file_size;
    uint64_t max_memcache_size;
    /* Whether a table id is still live, so replay and compaction skip dropped tables. */
    bool (*table_live)(void *ctx, uint64_t db_id, uint64_t table_id);
    /* Codec of a column (enum codec_use of codec/codec.h), for files. */
    uint8_t (*col_codec)(void *ctx, uint64_t db_id, uint64_t table_id, uint32_t col_id);
    /* A database's name for log lines (`tenant.name`); NULL = its id. */
    void (*db_label)(void *ctx, uint64_t db_id, char *out, size_t cap);
    void *table_live_ctx; /* context of the callbacks */
    /* Background work period in ms (flush, compaction, retention); 0 = 1000. */
    int bg_interval_ms;
    /* Opening a database repairs a damaged WAL or series index, keeping every intact record
     * (see wal.h, sindex.h) instead of refusing to start. */
    bool salvage;
} engine_opts;

/* What storage needs of a database's options; the caller translates from its own (the
 * catalog's db_options), so storage does not depend on the catalog. */
typedef struct engine_db_opts {
    int64_t ttl_ns;            /* rows older than now - ttl_ns expire; 0 = never */
    uint64_t shard;            /* vnodes per time range (series spread by id); 0 or 1 = one */
    int64_t vnode_duration_ns; /* time range of a vnode */
    uint8_t precision;         /* enum tunit of the time column; fixed at creation */
} engine_db_opts;

int engine_open(const engine_opts *o, engine **out, err *e);
/* Stops background work, makes everything durable, frees all. -1 (logged) when something could
 * not be made durable: a final flush, WAL or index sync failed, or the directory was lost. */
int engine_close(engine *g);
/* False (e filled: 500, the reason) once the storage directory was removed or replaced under
 * the running server; from then on writes are refused. Checked on every call (two stats) and
 * by the background thread. */
bool engine_healthy(engine *g, err *e);
/* engine_healthy as last checked (by the background thread every second, or by any call of
 * engine_healthy): no system call, for work that only reads. */
bool engine_healthy_known(engine *g, err *e);

/* Opens a database's storage, creating it if new, replaying its WAL. */
int engine_open_db(engine *g, uint64_t db_id, const engine_db_opts *o, err *e);
/* Updates the options of an open database (ALTER DATABASE); the precision stays. */
void engine_update_db(engine *g, uint64_t db_id, const engine_db_opts *o);
/* Removes a database's storage and files. */
int engine_drop_db(engine *g, uint64_t db_id, err *e);
/* Frees a dropped table's rows (the catalog has already forgotten the table). */
int engine_drop_table(engine *g, uint64_t db_id, uint64_t table_id, err *e);
/* True until engine_started is called once every database is open (requests get 503). */
bool engine_starting(engine *g);
void engine_started(engine *g);

/* ---- write records ---- */
typedef struct wrec wrec;

/* Builder of one write record in the arena. Calls nest: table → series → row → values. */
wrec *wrec_new(arena *a);
void wrec_table(wrec *w, uint64_t table_id);
/* Series key as documented above (use series_key_* to build it). */
void wrec_series(wrec *w, const void *key, size_t keylen);
void wrec_row(wrec *w, int64_t ts); /* at most 2^21 - 1 values per row */
void wrec_f64(wrec *w, uint32_t col_id, double v);
void wrec_i64(wrec *w, uint32_t col_id, int64_t v);
void wrec_u64(wrec *w, uint32_t col_id, uint64_t v);
void wrec_bool(wrec *w, uint32_t col_id, bool v);
void wrec_str(wrec *w, uint32_t col_id, const char *p, size_t n);
size_t wrec_rows(const wrec *w);

/* Series keys: start, add tags in increasing column id order, done. */
void series_key_begin(buf *b, uint32_t ntags);
void series_key_tag(buf *b, uint32_t col_id, const char *val, size_t len);

/* Appends the record to the database's WAL, applies it, and returns once durable.
 * Errors: unknown database (500, an internal inconsistency), WAL failure (500). */
int engine_write(engine *g, uint64_t db_id, wrec *w, err *e);

/* ---- scans ---- */

/* What a scan reads: one table's rows with tmin <= time <= tmax, for the series the predicate
 * accepts, with the listed tag and field columns. Output batches hold, in order: `time`
 * (VT_TS), then the tag columns (VT_STR, NULL where the series has no value), then the field
 * columns. Rows come series by series, each series in time order. */
typedef struct scan_spec {
    uint64_t db_id;
    uint64_t table_id;
    uint8_t precision; /* enum tunit of the time column */
    int64_t tmin, tmax;
    uint32_t ntags;
    const uint32_t *tag_ids;
    uint32_t nfields;
    const uint32_t *field_ids;
    const uint8_t *field_types;
    /* Called once per series with its values of the listed tags (len 0 + p NULL = NULL);
     * NULL = accept all. */
    bool (*series_pred)(void *ctx, const strv *tags);
    void *pred_ctx;
    /* Conjuncts of the predicate that allow a tag only listed values (`tag = v`, `tag IN
     * (...)`, an OR of such equalities): the candidate series come from the index's bitmaps
     * (the union over a conjunct's values, intersected across conjuncts) instead of every
     * series of the table. Conjunct i: tag eq_tag_ids[i], values eq_vals[eq_off[i] ..
     * eq_off[i + 1]). */
    uint32_t neq;
    const uint32_t *eq_tag_ids;
    const uint32_t *eq_off; /* neq + 1 offsets */
    const strv *eq_vals;
    uint32_t batch_rows; /* 0 = default 4096 */
    /* A filter on rows, applied before a batch is built (NULL = keep every row): keep(ctx, b,
     * a, sel, e) gets a batch of the candidate rows in which time and the fields flagged in
     * keep_fields hold values (NULL slots unspecified, as in output batches; keep may zero
     * them in place) while the tags and other fields are empty shells, and writes the indexes
     * of the rows to keep into sel, increasing; it returns how many, or -1 with e filled,
     * which ends the scan. Only the kept rows are then decoded and built, and a chunk that
     * keeps none is skipped. Memory from a (the batch arena). Not for newest-rows scans. */
    int (*keep)(void *ctx, batch *b, arena *a, uint32_t *sel, err *e);
    void *keep_ctx;
    const bool *keep_fields; /* nfields flags */
    /* false: the caller never reads the time column, so chunks wholly inside the range skip
     * decoding it (the column's values are then unspecified). */
    bool need_time;
    /* Called every few hundred series or chunks while the scan searches for rows (a scan that
     * filters out everything may run long without returning a batch); a -1 (with e filled)
     * ends the scan with that error: the query's deadline and memory limit. NULL = never. */
    int (*check)(void *ctx, err *e);
    void *check_ctx;
} scan_spec;

typedef struct scan scan;

/* The scan's own state comes from arena a (the query's); each batch's memory from the arena
 * passed to engine_scan_next, so a streaming query can reset that one between batches. */
int engine_scan_open(engine *g, const scan_spec *s, arena *a, scan **out, err *e);
/* Fills *b with the next batch; returns 1 with a batch, 0 at the end, -1 on error. */
int engine_scan_next(scan *s, arena *ba, batch *b, err *e);
void engine_scan_close(scan *s);
/* Makes a scan that has not been read return only each series' newest rows: for every field
 * the newest row in the range where it is not NULL, and the newest row of all (at most
 * nfields + 1 rows per series, one batch per series, in time order). What last(time, field)
 * over whole series needs (a lastpoint query): storage reads the newest file chunks and cache
 * rows of each series until every field is found, not the whole range. Rows of overlapping
 * sources are merged and deleted rows skipped as in a full scan. */
void engine_scan_newest(scan *s);
/* Parallel scans: splits a scan that has not been read into n parts (fewer when it has fewer
 * (series, vnode) pairs to share out; 0 = not split) over consecutive runs of its series and
 * vnodes, so that the parts' rows in part order are exactly the scan's rows in its order. Part
 * i's state comes from as[i]; each part may be read on its own thread while the others are,
 * and is closed with engine_scan_close before the scan it came from (which holds what they
 * share: the series, the pinned versions, the tombstones). The series predicate and tag values
 * were taken when the scan opened. Part i calls spec.check with check_ctx[i] (NULL: with the
 * scan's spec.check_ctx, from every part's thread). */
uint32_t engine_scan_split(scan *s, uint32_t n, arena *const *as, void *const *check_ctx,
                           scan **parts);

/* About the rows a scan that has not been read would return, counted up to cap (cap + 1 =
 * more), from what the indexes say without reading data: the row counts of the file chunks
 * overlapping the range (a chunk partly inside it in proportion to the time inside, as if its
 * rows were evenly spread) and the cached rows of each series. One index lookup per (series,
 * vnode); more than cap / 16 of them count as more than cap, as do sources that must be
 * merged. A newest-rows scan counts one row per field of each
 * (series, vnode). For a caller choosing where to run a query (http: the event loop or a
 * worker). */
size_t engine_scan_estimate(scan *s, size_t cap);

/* Number of series of a table (for statistics). */
size_t engine_table_series(engine *g, uint64_t db_id, uint64_t table_id);

/* Series of a table accepted by pred (called with the values of tag_ids, as in scans), in id
 * order, arena copies. */
int engine_table_sids(engine *g, uint64_t db_id, uint64_t table_id, uint32_t ntags,
                      const uint32_t *tag_ids, bool (*pred)(void *ctx, const strv *tags), void *ctx,
                      arena *a, uint32_t **sids, size_t *n, err *e);
/* Tag values of a series (see sindex_series_tags). */
void engine_series_tags(engine *g, uint64_t db_id, uint32_t sid, uint32_t ntags,
                        const uint32_t *tag_ids, arena *a, strv *out);
/* Distinct values of a tag column of a table, sorted. */
size_t engine_tag_values(engine *g, uint64_t db_id, uint64_t table_id, uint32_t tag_id, arena *a,
                         strv **vals);
/* Whether a series has any row in [tmin, tmax] (SHOW SERIES / TAG VALUES with a time range). */
bool engine_series_has_rows(engine *g, uint64_t db_id, uint32_t sid, int64_t tmin, int64_t tmax);

/* DELETE: removes the rows of these series (sorted ids of one table) with tmin <= time <= tmax;
 * durable when it returns. Later writes are not affected. */
int engine_delete(engine *g, uint64_t db_id, uint64_t table_id, const uint32_t *sids, size_t n,
                  int64_t tmin, int64_t tmax, err *e);

/* UPDATE of tags: series sids[i] (of one table) get keys keys[i] (series_key_* format), keeping
 * their ids, so every row of theirs (files, caches, WAL) is found under the new tags at once.
 * All or nothing and durable when it returns (see sindex.h). Fails (422, *conflict = i) when
 * keys[i] is another series' key or repeats an earlier key of the list; a series whose key
 * stays the same is left alone. */
int engine_retag(engine *g, uint64_t db_id, uint64_t table_id, size_t n, const uint32_t *sids,
                 const strv *keys, size_t *conflict, err *e);

/* Makes every memcache a file and compacts every vnode fully (tests, DROP TABLE). */
int engine_flush_all(engine *g, uint64_t db_id, bool compact, err *e);
/* Runs one round of background work now (tests and benchmarks). */
void engine_kick(engine *g);

typedef struct engine_stats {
    uint64_t vnodes, files, file_bytes, mem_bytes, wal_bytes, series, pending_flushes;
} engine_stats;
void engine_db_stats(engine *g, uint64_t db_id, engine_stats *st);
/* Per vnode of a database: its time bucket and shard, bytes in its caches and in its files. */
typedef struct engine_vnode_stat {
    int64_t bucket;
    uint32_t shard;
    uint64_t mem_bytes, file_bytes;
} engine_vnode_stat;
size_t engine_vnode_stats(engine *g, uint64_t db_id, arena *a, engine_vnode_stat **out);

/* What storage has done since the process started (all engines together): WAL fsyncs and
 * bytes appended, flushes and compactions with the bytes they read and wrote and the time
 * they took. For /metrics; each counter only grows. */
typedef struct engine_counters {
    uint64_t wal_syncs, wal_bytes;
    uint64_t flushes, flush_bytes;
    uint64_t compactions, compact_bytes_in, compact_bytes_out;
    double flush_seconds, compact_seconds;
} engine_counters;
void engine_counters_get(engine_counters *out);

#endif
