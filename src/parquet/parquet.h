/* Apache Parquet files, read and written by Strata's own code (written from the format
 * specification; no Parquet library is used).
 *
 * Reading: pq_open checks the file's frame (PAR1 at both ends, the footer's length) and parses
 * its metadata (Thrift compact protocol); the schema must be flat: top-level columns only.
 * Every column gets a Strata type (pq_col): BOOLEAN -> BOOLEAN; INT32/INT64 and their INT(bits,
 * signed) annotations -> BIGINT or BIGINT UNSIGNED (Int32 and Float32 keep their Arrow names);
 * FLOAT/DOUBLE -> DOUBLE; BYTE_ARRAY with STRING/UTF8/ENUM/JSON -> STRING; unannotated
 * BYTE_ARRAY/FIXED_LEN_BYTE_ARRAY (binary, which Strata has no type for) -> STRING holding the
 * bytes in lower-case hex, as DataFusion prints Binary; DATE -> DATE; TIMESTAMP(MILLIS|MICROS|
 * NANOS), TIMESTAMP_MILLIS/MICROS and legacy INT96 -> TIMESTAMP of that unit (INT96 in
 * nanoseconds; a UTC-adjusted timestamp is the same instant, shown without its zone);
 * DECIMAL(p <= 38) over INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY -> Decimal128(p, s).
 * A column Strata cannot read (nested: a group or a repeated field; TIME, INTERVAL, FLOAT16,
 * ...) is still listed, with vt VT_NULL and the reason in `unsupported`; selecting it fails with
 * that reason naming the column.
 *
 * pq_select chooses the columns the next batches hold and the types they are read as: a file
 * column converts to its own type, a timestamp to any unit (a date to a timestamp), integers to
 * the other signedness (a value out of range is an error) or to DOUBLE, decimals to DOUBLE;
 * anything else is a type mismatch error naming the column. Column -1 reads as all NULL (a
 * column the file lacks).
 *
 * pq_next streams row group by row group: it reads only the selected columns' pages, one page
 * at a time per column (a page's compressed and uncompressed bytes, and a dictionary), and
 * decodes values straight into the batch, so memory is bounded by the page sizes, never by the
 * file or row group size. Encodings: PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY, RLE (booleans and
 * levels), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT;
 * data pages v1 and v2; codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, LZ4 (Hadoop framing
 * or raw) and BROTLI (LZO is refused). Every offset, length and count is checked against the
 * file, the page or the metadata holding it, and a page may not claim more than PQ_PAGE_MAX
 * bytes, so a damaged file is an error (422, "Parquet error: ..."), never a crash or a huge
 * allocation.
 *
 * Writing: pq_writer_new takes the columns' names and Strata types and a sink for the bytes;
 * batches are buffered up to a row group (PQ_RG_ROWS rows or PQ_RG_BYTES of values) and written
 * as one row group of OPTIONAL columns, pages of PQ_PAGE_ROWS rows in data page v1 format,
 * compressed with the chosen codec (SNAPPY by default, as DataFusion writes). STRING columns are
 * dictionary encoded (RLE_DICTIONARY) when their distinct values are few enough to pay, PLAIN
 * otherwise; every column chunk carries min/max/null_count statistics. Types: BOOLEAN, BIGINT
 * (INT64; Int32 as INT32), BIGINT UNSIGNED (INT64 with INT(64, false)), DOUBLE (DOUBLE; Float32
 * as FLOAT), STRING, TIMESTAMP (INT64 TIMESTAMP in its unit, seconds written as millis), DATE,
 * Decimal128 (INT32, INT64 or FIXED_LEN_BYTE_ARRAY(16) by precision), a NULL-typed column (INT32,
 * all NULL); others are refused.
 *
 * Thread safety: a reader or writer is used by one thread at a time. */
#ifndef STRATA_PARQUET_PARQUET_H
#define STRATA_PARQUET_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"

#define PQ_PAGE_MAX (128u << 20)
#define PQ_RG_ROWS (1u << 20)
#define PQ_RG_BYTES (64u << 20)
#define PQ_PAGE_ROWS 8192

/* ------------------------------------------------------------------ reading */

typedef struct pq_file pq_file;

typedef struct pq_col_info {
    const char *name;
    uint8_t vt, unit;        /* the Strata type it reads as (VT_NULL: unsupported) */
    const char *arrow;       /* the Arrow type name DataFusion gives it */
    bool nullable;           /* OPTIONAL */
    const char *unsupported; /* why it cannot be read, or NULL */
} pq_col_info;

/* Opens path (display name for errors too). */
int pq_open(const char *path, pq_file **out, err *e);
/* Opens n bytes at p, which stay the caller's and must outlive the reader. */
int pq_open_mem(const void *p, size_t n, const char *name, pq_file **out, err *e);
void pq_close(pq_file *f);

uint32_t pq_ncols(const pq_file *f);
const pq_col_info *pq_col(const pq_file *f, uint32_t i);
/* The column called name (exact match), or -1. */
int pq_find(const pq_file *f, const char *name);
uint64_t pq_nrows(const pq_file *f);
uint32_t pq_nrow_groups(const pq_file *f);

/* Output column k of the next batches is file column cols[k] (-1: all NULL) read as
 * (vts[k], units[k]). Restarts reading at the first row group. */
int pq_select(pq_file *f, uint32_t n, const int *cols, const uint8_t *vts, const uint8_t *units,
              err *e);
/* The next at most max_rows rows of the selected columns into b, memory from a: 1, 0 at the
 * end, -1 on error. */
int pq_next(pq_file *f, arena *a, uint32_t max_rows, batch *b, err *e);

/* ------------------------------------------------------------------ writing */

/* Codecs the writer offers (Parquet's own numbers). */
enum {
    PQ_UNCOMPRESSED = 0,
    PQ_SNAPPY = 1,
    PQ_GZIP = 2,
    PQ_BROTLI = 4,
    PQ_ZSTD = 6,
    PQ_LZ4_RAW = 7,
};

typedef struct pq_write_opts {
    int codec;          /* a PQ_* codec; zero is PQ_UNCOMPRESSED */
    uint32_t rg_rows;   /* 0 = PQ_RG_ROWS */
    uint32_t page_rows; /* 0 = PQ_PAGE_ROWS */
    bool no_dictionary; /* PLAIN strings always */
} pq_write_opts;

/* Where the file's bytes go, in order. */
typedef int (*pq_sink)(void *ctx, const void *p, size_t n, err *e);

typedef struct pq_writer pq_writer;

/* A writer of ncols columns; names and the types are copied. Fails for a type it cannot
 * write, naming the column. */
int pq_writer_new(uint32_t ncols, const char *const *names, const uint8_t *types,
                  const uint8_t *units, const pq_write_opts *o, pq_sink sink, void *ctx,
                  pq_writer **out, err *e);
/* Appends b's rows (its columns in the writer's order and types). */
int pq_writer_add(pq_writer *w, const batch *b, err *e);
/* Writes what is buffered and the footer; the file is complete when it returns 0. */
int pq_writer_finish(pq_writer *w, err *e);
uint64_t pq_writer_rows(const pq_writer *w);
void pq_writer_free(pq_writer *w);

#endif
