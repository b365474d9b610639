/* Write-ahead log: an ordered, checksummed, durable sequence of opaque records in a directory.
 *
 * Files: `<dir>/wal-<first lsn as 16 hex digits>.log`, appended until they pass
 * max_segment_bytes, then a new segment starts. Each record is
 *   u32 payload length | u32 checksum (low 32 bits of XXH3-64 over lsn+payload) | u64 lsn | payload
 * little-endian. LSNs start at 1 and grow by one per record, across segments and restarts.
 *
 * Durability: wal_append writes the record to the file (no fsync) and returns its LSN;
 * wal_sync(lsn) returns once that record is on disk. In sync mode concurrent wal_sync callers
 * share fsyncs (group commit: one caller syncs everything written so far, the others wait for
 * it). In interval mode wal_sync returns at once and a background thread syncs every interval.
 * A failed fsync is sticky: the log refuses further appends (the page cache state is unknown
 * after an fsync error, so carrying on could acknowledge data that is not on disk).
 *
 * Recovery: wal_replay visits every intact record in LSN order. A record whose length runs past
 * the end of its file, whose checksum fails or whose LSN is not the next one is either a torn
 * write or damage. Torn: it is in the last segment and no intact record follows it; the file
 * is cut there, as only a write that was never acknowledged can be torn (sync mode). Damage:
 * anything else (an intact record follows, or newer segments do); replay fails with an error
 * naming the file and offset, since cutting would drop acknowledged records. The last record
 * of the log flipped in place looks torn and is cut: nothing follows it to tell the two apart.
 * Replay must be called (once) before appending.
 *
 * Salvage (opts.salvage): before replay, every damaged segment is rewritten to hold only its
 * intact records (one segment per run of consecutive LSNs, named by its first LSN) and the
 * original is kept as `<name>.damaged-<unix time>`; each skipped span of bytes and dropped
 * record is logged with its offsets, and a summary with counts. Replay then proceeds normally.
 *
 * Lost directory: wal_sync fails (stickily, like a failed fsync) once the directory has been
 * removed or replaced by another one at its path, so nothing is acknowledged into the void.
 *
 * Trimming: wal_trim(lsn) deletes whole segments all of whose records are < lsn, which the
 * owner calls once the data up to lsn is durable elsewhere (flushed to files).
 *
 * Thread safety: all functions may be called from any thread; appends are serialised. */
#ifndef STRATA_STORAGE_WAL_H
#define STRATA_STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct wal wal;

typedef struct wal_opts {
    bool sync_each;           /* true: wal_sync waits for fsync (group commit) */
    int64_t sync_interval_ms; /* interval mode period (used when !sync_each), default 100 */
    size_t max_segment_bytes; /* default 128 MiB */
    bool salvage;             /* repair damaged segments at replay (see above) */
} wal_opts;

/* Creates dir if needed. */
int wal_open(const char *dir, const wal_opts *opts, wal **out, err *e);

typedef int (*wal_replay_fn)(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e);
/* Calls fn for each intact record in order; fn returning nonzero stops replay with its error.
 * After replay the next LSN follows the last intact record. */
int wal_replay(wal *w, wal_replay_fn fn, void *ctx, err *e);

int wal_append(wal *w, const void *rec, size_t len, uint64_t *lsn, err *e);
/* Appends several buffers as one record (avoids a copy when the caller has a header). */
int wal_appendv(wal *w, const void *const *parts, const size_t *lens, int nparts, uint64_t *lsn,
                err *e);
int wal_sync(wal *w, uint64_t lsn, err *e);
/* Starts a new segment now (so that everything before it can later be trimmed); returns the
 * LSN the new segment will start with. */
uint64_t wal_rotate(wal *w, err *e);
int wal_trim(wal *w, uint64_t lsn, err *e);
/* Makes the next LSN at least lsn (starting a new segment there), for an owner that knows of
 * records up to lsn - 1 the log no longer holds. */
int wal_skip_to(wal *w, uint64_t lsn, err *e);
uint64_t wal_last_lsn(wal *w);
/* Bytes in all live segments. */
uint64_t wal_size(wal *w);
/* Syncs everything and closes; safe on NULL. -1 (logged) when the log was not durable to the
 * end: the final sync failed, or an earlier failure had made the log read-only. */
int wal_close(wal *w);
/* Closes and removes the directory's segments (DROP DATABASE). */
void wal_destroy(wal *w);

/* Additions to the lead's contract (implementation notes):
 * - opts NULL means sync_each=true, 100 ms interval, 128 MiB segments; zero fields get defaults.
 * - The rec pointer given to a wal_replay callback is valid only during that call.
 * - wal_append, wal_rotate and wal_trim before a successful wal_replay fail (500, EC_INTERNAL);
 *   so does wal_sync of an LSN not yet appended. wal_rotate returns 0 on error.
 * - Records are limited to 1 GiB; replay treats a longer length as a torn header. */

/* Number of fsync/fdatasync calls issued so far (data and directory), for metrics and tests. */
uint64_t wal_fsync_count(wal *w);

#endif
