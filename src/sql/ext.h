/* External files: the tables CREATE EXTERNAL TABLE defines over CSV, JSON and Parquet files,
 * and the files COPY INTO reads and writes.
 *
 * A source is a format (CSV, or JSON = NDJSON: one object per line, as DataFusion reads both,
 * or Parquet, src/parquet/), a location (a file, or a directory whose files are read in name
 * order, for Parquet its *.parquet files; `file://` or a plain path), a compression (gzip,
 * bzip2, xz, zstd; for Parquet the codec inside the file: snappy, the default, gzip, zstd, lz4,
 * brotli or none), and for CSV the header flag and the delimiter. Parquet columns are found by
 * name, CSV's by position. Avro, Arrow and remote object stores (s3://, gcs://, azblob://, ...)
 * are refused with an error naming them.
 *
 * Paths: every file is read or written only under one of the directories the administrator
 * allowed (config `copy.allowed_dirs`, a `:`-separated list; empty = `<storage.path>/import`).
 * The check is made at each access, on the realpath of the file (or, for a file not yet
 * written, of its directory), so `..` and symbolic links cannot step out; a table's definition
 * names a path but opens nothing.
 *
 * Reading streams: a scan holds one buffer of the (decompressed) file and one batch of rows, so
 * a file of any size is read in bounded memory. Values are converted to the declared column
 * types: an empty CSV field or a JSON null is NULL; a value that does not convert fails with
 * DataFusion's message (`Error while parsing value x for column c at line l`, columns counted
 * from 0 and lines as arrow-csv counts them: the header is line 0).
 *
 * Definitions are persisted in the catalog as JSON text (meta_table.ext): ext_def_text writes
 * it, ext_def_parse reads it back. */
#ifndef STRATA_SQL_EXT_H
#define STRATA_SQL_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/catalog.h"
#include "sql/ast.h"
#include "sql/ops.h"
#include "util/arena.h"
#include "util/err.h"

enum ext_format { EXT_CSV = 1, EXT_JSON, EXT_PARQUET };
/* Persisted in table definitions: append only. SNAPPY, LZ4 and BROTLI are Parquet's only. */
enum ext_comp {
    EXT_UNCOMPRESSED = 0,
    EXT_GZIP,
    EXT_BZIP2,
    EXT_ZSTD,
    EXT_XZ,
    EXT_SNAPPY,
    EXT_LZ4,
    EXT_BROTLI
};

typedef struct ext_source {
    uint8_t format;      /* enum ext_format */
    uint8_t compression; /* enum ext_comp */
    bool header;         /* CSV: the first record names the columns */
    char delimiter;      /* CSV */
    const char *location;
} ext_source;

/* The source a CREATE EXTERNAL TABLE or COPY names. copy: COPY's defaults (CSV has a header
 * unless WITH_HEADER = false; CREATE's default is none). Fails for unknown or unsupported
 * formats, compressions and locations. */
int ext_source_from_sql(const sql_ext *x, bool copy, ext_source *out, err *e);

/* Column types of an external table's declaration: value type, unit and the Arrow name
 * DESCRIBE shows (Int32, Decimal128(10, 6), ...); the unit byte carries a timestamp's unit, a
 * decimal's (p, s) code, or NU_32 for Int32 and Float32. */
int ext_column_type(arena *a, const sql_type *ty, const char *col, uint8_t *vt, uint8_t *unit,
                    const char **arrow, err *e);

/* A table's persisted definition: the source and each column's Arrow name. */
char *ext_def_text(const ext_source *src, const char *const *arrow_names, uint32_t ncols);
int ext_def_parse(arena *a, const char *text, uint32_t ncols, ext_source *src,
                  const char ***arrow_names, uint8_t **units, err *e);

/* Allowed directories: list (`:`-separated, NULL or empty = `<data_path>/import`). Called once
 * at start-up, before any request; without it every path is refused. */
void ext_set_allowed_dirs(const char *list, const char *data_path);

/* The files of a location, checked against the allowed directories, in name order (a
 * directory's regular files, hidden ones left out, and when suffix is not NULL those whose
 * names end in it). No files is an error. */
int ext_files(arena *a, const char *location, const char *suffix, char ***files, uint32_t *n,
              err *e);
/* The suffix a format's files have in a directory: ".parquet" for Parquet, NULL otherwise. */
const char *ext_dir_suffix(const ext_source *src);
/* The file COPY INTO 'location' writes: location itself, or when it ends in `/` or is a
 * directory a new file in it (created as needed) named part-<n>.<ext>. Checked likewise. */
int ext_out_path(arena *a, const char *location, const char *suffix, char **path, err *e);

/* A scan over files: ncols output columns of the given names, types and units. CSV columns
 * are taken by position (file column k is output column k; a record with another number of
 * fields is an error), JSON values by name. table names it in EXPLAIN (NULL: none). */
op *op_ext_scan(qctx *q, const ext_source *src, char **files, uint32_t nfiles, uint32_t ncols,
                const char *table, const char *const *names, const uint8_t *types,
                const uint8_t *units);
/* The columns the query reads of an op_ext_scan not yet read (used[c], copied): a format that
 * stores columns apart (Parquet) leaves the others NULL instead of decoding them. */
void op_ext_scan_need(op *o, const bool *used);

/* The columns an undeclared table gets from its first file (CSV: header names or column_1...,
 * JSON: the keys, sorted; types inferred from the first rows). */
int ext_infer(arena *a, const ext_source *src, const char *file, uint32_t *ncols,
              const char ***names, uint8_t **types, const char ***arrow, err *e);

/* A file COPY writes: created (replaced if there), compressed as comp; close makes it durable
 * (fdatasync) and frees o, free abandons it. ext_comp_suffix: ".gz" ... or "". */
typedef struct ext_out ext_out;
int ext_out_open(const char *path, uint8_t comp, ext_out **out, err *e);
int ext_out_write(ext_out *o, const void *p, size_t n, err *e);
int ext_out_close(ext_out *o, err *e);
void ext_out_free(ext_out *o);
const char *ext_comp_suffix(uint8_t comp);

/* The external table t: a scan of its files (sql/copy.c, for the planner's FROM), and the
 * Arrow names of its columns (for DESCRIBE). */
int ext_table_scan(qctx *q, const meta_table *t, op **out, err *e);
int ext_table_columns(arena *a, const meta_table *t, const char ***arrow, err *e);

/* Parquet (sql/ext_parquet.c). The scan's next batch from the files in turn, *f the open one
 * (closed by the caller's close), reading only the columns need marks (NULL: all; the others
 * come out NULL); the columns of a file, as ext_infer; the rows of root written as one Parquet
 * file into o (comp: the codec), counted in *rows. */
typedef struct pq_file pq_file;
int ext_pq_next(op *o, pq_file **f, char **files, uint32_t nfiles, uint32_t *next_file,
                const char *const *names, const bool *need, uint32_t batch_rows, batch *b, err *er);
int ext_pq_infer(arena *a, const char *file, uint32_t *ncols, const char ***names, uint8_t **types,
                 const char ***arrow, err *e);
int ext_pq_write(qctx *q, op *root, const char *const *names, uint8_t comp, ext_out *o,
                 uint64_t *rows, err *e);

#endif
