/* Series index of one database: series key → dense series id, the series of each table, and
 * for each (tag column, value) the bitmap of series ids that carry it.
 *
 * Persistence: `<dir>/series.log`, one checksummed record per new series (and per dropped
 * table), appended as series appear. Opening the index replays the log, so a restart never
 * rescans data. Ids are never reused. Column files refer to series by id, so the storage
 * engine calls sindex_sync before it writes a file that mentions a new series (the WAL, which
 * holds series keys, covers everything not yet in files).
 *
 * Damage: a bad record (length past the end, checksum mismatch) with no intact record after it
 * is a torn tail and is cut: it can only hold series not yet synced, which no file uses. A bad
 * record followed by intact ones, or an intact record that cannot apply (a series id out of
 * order), is damage: sindex_open fails naming the file and offset, since cutting would give the
 * ids of synced series to new ones and files would show their rows under the wrong tags. With
 * salvage, every intact record is kept, each skipped span is logged, the log is rewritten with
 * the intact records and the original kept as `series.log.damaged-<unix time>`.
 * sindex_check_bound catches the one loss replay cannot see (the last records of the log
 * damaged in place look torn) by comparing with the ids files use.
 *
 * Record: u32 payload length | u32 checksum (low 32 bits of XXH3-64) | payload, where payload
 * is `u8 kind` then for kind 1 (series) `varint sid, varint table id, key bytes`, for kind 2
 * (table dropped) `varint table id`, for kind 3 (keys changed by an UPDATE of tags) `varint
 * lsn, varint table id, varint n, n × (varint sid, varint key length, key bytes)`.
 *
 * Key changes: a series keeps its id when an UPDATE gives it new tag values, so its rows in
 * column files, caches and tombstones follow it untouched. One kind 3 record carries a whole
 * statement and is synced before the change is visible: after a crash the statement is
 * applied entirely or (a torn record is cut) not at all. WAL records written before the change
 * still name the old key; the index keeps every replaced key with the lsn of its change, and
 * sindex_resolve gives such a record's key to the series that carried it at that lsn, so replay
 * neither loses those rows nor brings the old series back. The WAL never hands out an lsn at or
 * below a change's (the engine skips past sindex_retag_lsn at open).
 *
 * Memory: about 80 bytes a series for a key of two short tags (layout in sindex.c), charged to
 * the server's memory budget (MEMBUDGET_INDEX) as the index grows, past the limit if need be
 * (the series are in a durable log record), and given back at close.
 *
 * Threads: any thread; lookups take a read lock, additions a write lock. */
#ifndef STRATA_STORAGE_SINDEX_H
#define STRATA_STORAGE_SINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"

typedef struct sindex sindex;

int sindex_open(const char *dir, bool salvage, sindex **out, err *e);
/* -1 (logged) when registrations could not be made durable. */
int sindex_close(sindex *x);
/* Closes and deletes the log (DROP DATABASE). */
void sindex_destroy(sindex *x);

/* The id of (table, key), registering it (appended to the log, not yet fsynced) if new.
 * Fails only on a malformed key or an I/O error. */
int sindex_get_or_add(sindex *x, uint64_t table_id, const void *key, size_t keylen, uint32_t *sid,
                      err *e);
/* Makes every registration so far durable. */
int sindex_sync(sindex *x, err *e);

/* The id for a series key met in the WAL record at lsn (replay and live writes alike): the
 * series that carried the key then, which an UPDATE of tags since may have given another key;
 * otherwise as sindex_get_or_add. */
int sindex_resolve(sindex *x, uint64_t table_id, const void *key, size_t keylen, uint64_t lsn,
                   uint32_t *sid, err *e);

/* UPDATE of tags: series sids[i] (of table_id) gets key keys[i], keeping its id. lsn: the change
 * comes after every WAL record up to lsn and before any later one (the caller holds the
 * database's write lock). All or nothing: fails (422, *conflict = i) when keys[i] is another
 * series' key or repeats an earlier keys[j], before anything changes. A series whose key does
 * not change is left alone. Durable (logged and synced) when it returns 0. */
int sindex_retag(sindex *x, uint64_t lsn, uint64_t table_id, size_t n, const uint32_t *sids,
                 const strv *keys, size_t *conflict, err *e);
/* The lsn of the newest key change, 0 if none: the WAL must hand out larger lsns. */
uint64_t sindex_retag_lsn(sindex *x);

/* Forgets a dropped table's series (logged). Their ids stay retired. */
int sindex_drop_table(sindex *x, uint64_t table_id, err *e);

/* The live series of a table (copied into the arena), in id order. */
size_t sindex_table_sids(sindex *x, uint64_t table_id, arena *a, uint32_t **sids);
/* Table of a series; false if the id is unknown or its table was dropped. */
bool sindex_series_table(sindex *x, uint32_t sid, uint64_t *table_id);
/* Values of the given tag columns for a series (NULL p = the series has no such tag); the
 * strings are copied into the arena. */
void sindex_series_tags(sindex *x, uint32_t sid, uint32_t ntags, const uint32_t *tag_ids, arena *a,
                        strv *out);
/* The series key (copied into the arena). */
strv sindex_series_key(sindex *x, uint32_t sid, arena *a);
/* Series of a table whose tag column tag_id equals value, in id order (arena copy). */
size_t sindex_tag_eq(sindex *x, uint64_t table_id, uint32_t tag_id, const char *val, size_t len,
                     arena *a, uint32_t **sids);
/* Distinct values of a tag column over a table's series, sorted (arena copies). */
size_t sindex_tag_values(sindex *x, uint64_t table_id, uint32_t tag_id, arena *a, strv **vals);

/* Files use series ids up to bound - 1 (user names one of them, for the message): fails when
 * the index has fewer ids, or with salvage retires the missing ones so they are never reused. */
int sindex_check_bound(sindex *x, uint64_t bound, const char *user, bool salvage, err *e);

size_t sindex_count(sindex *x);

#endif
