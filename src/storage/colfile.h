/* Column files: immutable, compressed, columnar storage of a set of series.
 *
 * A file holds, for each series (in increasing series id), its rows sorted by time with one
 * row per timestamp, cut into chunks of up to CF_CHUNK_ROWS rows. A chunk has one time page
 * and one page per field column the series has; pages of a chunk cover the same rows, so
 * reading several columns needs no alignment. Each page records its row count and null count
 * and carries a validity bitmap when it has NULLs; its values are encoded by codec/. The index
 * at the end lists, per chunk, the time range, row count and each page's place, checksum and
 * statistics (min, max, sum for numbers), so a reader touches only the pages it needs and
 * statistics can answer some aggregates without decoding. See docs/storage-format.md.
 *
 * Writing goes to a temporary path; cf_writer_finish fsyncs and renames it into place, so a
 * file either exists whole or not at all. Readers map the file and validate the footer and the
 * index at open; every page is checked against its checksum when read: a damaged file yields
 * a clear error, never a crash or wrong data.
 *
 * Threads: a writer is used by one thread. A reader is immutable after open and shared by
 * reference count. */
#ifndef STRATA_STORAGE_COLFILE_H
#define STRATA_STORAGE_COLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"

#define CF_CHUNK_ROWS 4096

typedef struct cf_writer cf_writer;

/* One column of a series being written: nrows values (valid bitmap as in vec). */
typedef struct cf_col {
    uint32_t col_id;
    uint8_t type;  /* VT_F64, VT_I64, VT_U64, VT_BOOL, VT_STR */
    uint8_t codec; /* enum codec_use */
    const vec *v;
} cf_col;

int cf_writer_open(const char *path, cf_writer **out, err *e);
/* Adds a series: rows sorted by time, one per timestamp; series ids strictly increasing. */
int cf_writer_add(cf_writer *w, uint32_t sid, uint64_t table_id, uint32_t nrows, const int64_t *ts,
                  uint32_t ncols, const cf_col *cols, err *e);
/* Writes the index and footer, fsyncs, renames into place. Frees the writer either way. */
int cf_writer_finish(cf_writer *w, err *e);
void cf_writer_abort(cf_writer *w);
uint64_t cf_writer_rows(const cf_writer *w);
/* Writes the given older format version (for tests of reading old files). */
void cf_writer_set_version(cf_writer *w, uint32_t version);

typedef struct cf_reader cf_reader;

/* Per-page statistics of a numeric column (valid when has_stats). */
typedef struct cf_stats {
    bool has_stats;
    /* last: the value of the page's last non-NULL row, last_row (files of version 2 on: read
     * from older files, has_last is false) */
    bool has_last;
    uint32_t last_row;
    union {
        double f;
        int64_t i;
        uint64_t u;
    } min, max, sum, last;
} cf_stats;

typedef struct cf_colref {
    uint32_t col_id;
    uint8_t type;
    uint32_t nulls;
    uint64_t off;
    uint32_t len;
    uint32_t crc;
    cf_stats st;
} cf_colref;

typedef struct cf_chunk {
    int64_t tmin, tmax;
    uint32_t nrows;
    uint64_t ts_off;
    uint32_t ts_len;
    uint32_t ts_crc;
    uint32_t ncols;
    const cf_colref *cols;
} cf_chunk;

typedef struct cf_series {
    uint32_t sid;
    uint64_t table_id;
    uint32_t nchunks;
    const cf_chunk *chunks;
} cf_series;

int cf_open(const char *path, cf_reader **out, err *e);
void cf_retain(cf_reader *r);
void cf_release(cf_reader *r);

/* Series are numbered 0..cf_nseries-1 in increasing id order. A reader keeps only their ids
 * in memory; the rest of an entry (chunks, column references) is decoded on request into the
 * caller's arena, so decode once per use, not once per chunk. */
size_t cf_nseries(const cf_reader *r);
uint32_t cf_sid_at(const cf_reader *r, size_t i);
uint64_t cf_table_at(const cf_reader *r, size_t i);
const cf_series *cf_series_at(const cf_reader *r, size_t i, arena *a);
/* The series with this id (decoded into a), or NULL. */
const cf_series *cf_find(const cf_reader *r, uint32_t sid, arena *a);
/* cf_find with only the chunks whose times overlap [tmin, tmax] (a query's range: the others
 * are not decoded into a). */
const cf_series *cf_find_range(const cf_reader *r, uint32_t sid, int64_t tmin, int64_t tmax,
                               arena *a);
int64_t cf_tmin(const cf_reader *r);
int64_t cf_tmax(const cf_reader *r);
uint64_t cf_size(const cf_reader *r);
const char *cf_path(const cf_reader *r);

/* Decodes a chunk's timestamps into out (nrows values). */
int cf_read_ts(const cf_reader *r, const cf_chunk *c, int64_t *out, err *e);
/* The rows of chunk c whose times are in [tmin, tmax]: rows [*lo, *hi), their times from *ts
 * on. room has space for c->nrows times and *ts points into it. A constant-step time page (regular
 * samples, the usual case) is decoded only for those rows. */
int cf_read_ts_window(const cf_reader *r, const cf_chunk *c, int64_t tmin, int64_t tmax,
                      int64_t *room, int64_t **ts, uint32_t *lo, uint32_t *hi, err *e);
/* Decodes one column of a chunk into v (memory from a): type `type`, len = nrows. A column the
 * chunk does not have, or has with another type, comes back all NULL. */
int cf_read_col(const cf_reader *r, const cf_chunk *c, uint32_t col_id, uint8_t type, arena *a,
                vec *v, err *e);
/* The chunk's page of column col_id when it holds that type, else NULL (the column reads as
 * all NULL in this chunk). */
const cf_colref *cf_chunk_col(const cf_chunk *c, uint32_t col_id, uint8_t type);
/* Rows lo..hi-1 (lo <= hi <= nrows) of one column of a chunk, as cf_read_col gives them for
 * the whole chunk (v->len = hi - lo, row lo first). Numeric columns decode only up to row
 * hi - 1, and only the part of the page decoded is checked beyond its checksum. */
int cf_read_col_range(const cf_reader *r, const cf_chunk *c, uint32_t col_id, uint8_t type,
                      uint32_t lo, uint32_t hi, arena *a, vec *v, err *e);

#endif
