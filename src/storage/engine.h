/* The storage engine: durable storage of every database's rows, and scans over them.
 *
 * Layout on disk: `<dir>/db-<id>/` per database, holding its WAL (`wal/`) and its vnodes.
 * A database's rows are partitioned by time into vnodes of the database's VNODE_DURATION; each
 * vnode keeps recent writes in a memcache.
 *
 * Writing: the caller encodes a request's rows with the wrec_* builder (grouped by table and
 * series) and hands the record to engine_write, which appends it to the database's WAL,
 * applies it to the memcaches and returns once the record is durable (group commit). The same
 * decoder applies records on WAL replay, so what was acknowledged is exactly what comes back.
 *
 * Series: a series is a table plus its non-null tag values. Its key is
 * `varint ntags, (varint tag column id, varint length, bytes)...` sorted by column id; the
 * engine maps keys to dense per-database series ids.
 *
 * Threads: engine calls may come from any thread. Writes to one database are serialised
 * (WAL order = apply order, so last-write-wins is the same live and after replay); scans run
 * beside writes. */
#ifndef STRATA_STORAGE_ENGINE_H
#define STRATA_STORAGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta/catalog.h"
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
    /* Whether a table id is still live, so replay skips rows of dropped tables. */
    bool (*table_live)(void *ctx, uint64_t db_id, uint64_t table_id);
    void *table_live_ctx;
} engine_opts;

int engine_open(const engine_opts *o, engine **out, err *e);
/* Stops background work, makes everything durable, frees all. */
void engine_close(engine *g);

/* Opens a database's storage, creating it if new, replaying its WAL. */
int engine_open_db(engine *g, uint64_t db_id, const db_options *o, err *e);
/* Updates the options of an open database (ALTER DATABASE). */
void engine_update_db(engine *g, uint64_t db_id, const db_options *o);
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
    uint32_t batch_rows; /* 0 = default 4096 */
} scan_spec;

typedef struct scan scan;

/* The scan's own state comes from arena a (the query's); each batch's memory from the arena
 * passed to engine_scan_next, so a streaming query can reset that one between batches. */
int engine_scan_open(engine *g, const scan_spec *s, arena *a, scan **out, err *e);
/* Fills *b with the next batch; returns 1 with a batch, 0 at the end, -1 on error. */
int engine_scan_next(scan *s, arena *ba, batch *b, err *e);
void engine_scan_close(scan *s);

/* Number of series of a table (for SHOW SERIES and statistics). */
size_t engine_table_series(engine *g, uint64_t db_id, uint64_t table_id);

#endif
