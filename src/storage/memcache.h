/* In-memory cache of recent writes for one vnode: per series, a column of timestamps and one
 * column per field, appended in write order.
 *
 * Rows are appended in arrival order; a series remembers whether its timestamps are still
 * strictly increasing. The first read of a series that is not sorts it in place, from its first
 * misplaced row on, merging equal timestamps so that the later write wins field by field
 * (CnosDB's "last write wins" for a (series, time) pair). Reads are then a binary search and a
 * copy until a write lands out of order again: concurrent writers make most series unsorted,
 * and sorting a whole series on every query cost more than the query.
 *
 * Memory: mc_bytes is what the cache holds (its slab, malloc'd arrays, strings); it is charged
 * to the server's memory budget (MEMBUDGET_MEMCACHE) as it grows, past the limit if need be
 * (the rows are durable), and given back when the cache is freed. A freed cache of a few MiB
 * or more also trims the heaps, so the memory goes back to the system.
 *
 * Threads: one writer at a time (the engine serialises writes to a database) and any number
 * of readers; an internal rwlock makes reads see whole rows. Readers copy what they need into
 * their own arena, so nothing they hold points into the cache. */
#ifndef STRATA_STORAGE_MEMCACHE_H
#define STRATA_STORAGE_MEMCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

typedef struct memcache memcache;

/* One field value of a row being appended. */
typedef struct mc_val {
    uint32_t col_id;
    uint8_t type; /* VT_F64, VT_I64, VT_U64, VT_BOOL, VT_STR */
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        strv s;
    } v;
} mc_val;

/* A new cache holds one reference; mc_release frees it when the last one goes. */
memcache *mc_new(void);
void mc_retain(memcache *m);
void mc_release(memcache *m);

/* WAL positions of the records applied (0 when none): the engine trims its WAL and decides
 * which tombstones apply by them. mc_note_lsn is called once per applied record. */
void mc_note_lsn(memcache *m, uint64_t lsn);
uint64_t mc_min_lsn(memcache *m);
uint64_t mc_max_lsn(memcache *m);

/* Appends one row of series sid. Values of columns the row does not carry are NULL. A value
 * whose type differs from the type already stored for its column id is ignored (the catalog
 * prevents this; replay of an old log after a column was dropped and re-added could not). */
void mc_append(memcache *m, uint32_t sid, int64_t ts, const mc_val *vals, uint32_t nvals);

/* Drops every row of the given series (DROP TABLE frees its series this way). */
void mc_drop_series(memcache *m, const uint32_t *sids, size_t n);
/* Drops the rows of series sid with tmin <= ts <= tmax (DELETE). */
void mc_delete(memcache *m, uint32_t sid, int64_t tmin, int64_t tmax);
/* Series ids with rows, increasing (arena copy). */
size_t mc_sids(memcache *m, arena *a, uint32_t **sids);
/* Field columns a series has: ids and types (arena copies). */
uint32_t mc_series_cols(memcache *m, uint32_t sid, arena *a, uint32_t **col_ids, uint8_t **types);

size_t mc_bytes(const memcache *m);
size_t mc_row_count(memcache *m);
bool mc_has_series(memcache *m, uint32_t sid);
/* Rows the cache holds for a series, at every time (0 when none). */
uint32_t mc_series_rows(memcache *m, uint32_t sid);
/* Time range of a series' rows; false if it has none. */
bool mc_series_range(memcache *m, uint32_t sid, int64_t *tmin, int64_t *tmax);
/* Smallest and largest timestamp held, false when empty. */
bool mc_time_range(memcache *m, int64_t *tmin, int64_t *tmax);

/* Rows of one series with tmin <= ts <= tmax, sorted by time, one row per timestamp.
 * cols[k] is filled for col_ids[k] with types[k] (a column the series never had is all NULL).
 * All memory comes from the arena. */
typedef struct mc_rows {
    uint32_t n;
    int64_t *ts;
    vec *cols;
} mc_rows;

int mc_read(memcache *m, uint32_t sid, int64_t tmin, int64_t tmax, uint32_t ncols,
            const uint32_t *col_ids, const uint8_t *types, arena *a, mc_rows *out);

#endif
