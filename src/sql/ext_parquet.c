/* Parquet external files for sql/ext.h: the scan's batches from the files in turn, a table's
 * columns from a file's schema, and COPY's rows written as a Parquet file. The format itself is
 * src/parquet/'s; this file maps between it and the external-table conventions: columns are
 * found by name (a column the file lacks reads as NULL, as DataFusion adapts a file to a
 * table's schema), values are read as the table's types (a type that does not convert is an
 * error naming the column), and a location's compression is the codec inside the file. */
#include "parquet/parquet.h"
#include "sql/ext.h"
#include "sql/ops_int.h"

#include <string.h>

static int open_file(op *o, pq_file **f, const char *path, const char *const *names,
                     const bool *need, err *er) {
    if (pq_open(path, f, er) < 0) return -1;
    int *cols = arena_alloc(o->q->a, sizeof *cols * (o->ncols + 1));
    for (uint32_t c = 0; c < o->ncols; c++) cols[c] = need && !need[c] ? -1 : pq_find(*f, names[c]);
    if (pq_select(*f, o->ncols, cols, o->types, o->units, er) < 0) {
        pq_close(*f);
        *f = NULL;
        return -1;
    }
    return 0;
}

int ext_pq_next(op *o, pq_file **f, char **files, uint32_t nfiles, uint32_t *next_file,
                const char *const *names, const bool *need, uint32_t batch_rows, batch *b,
                err *er) {
    for (;;) {
        if (!*f) {
            if (*next_file == nfiles) return 0;
            if (open_file(o, f, files[(*next_file)++], names, need, er) < 0) return -1;
        }
        int rc = pq_next(*f, o->q->ba, batch_rows, b, er);
        if (rc != 0) return rc;
        pq_close(*f);
        *f = NULL;
    }
}

int ext_pq_infer(arena *a, const char *file, uint32_t *ncols, const char ***names, uint8_t **types,
                 const char ***arrow, err *e) {
    pq_file *f;
    if (pq_open(file, &f, e) < 0) return -1;
    uint32_t n = pq_ncols(f);
    int rc = 0;
    if (!n)
        rc = err_set(e, 422, EC_QUERY_INTERNAL,
                     "Datafusion: Error during planning: the Parquet file %s has no columns", file);
    *ncols = n;
    *names = arena_alloc(a, sizeof **names * (n + 1));
    *types = arena_alloc(a, n + 1);
    *arrow = arena_alloc(a, sizeof **arrow * (n + 1));
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const pq_col_info *ci = pq_col(f, i);
        if (ci->unsupported) {
            rc = err_set(e, 422, EC_NOT_IMPL,
                         "This feature is not implemented: the Parquet column %s of %s is %s",
                         ci->name, file, ci->unsupported);
            break;
        }
        (*names)[i] = arena_strdup(a, ci->name);
        (*types)[i] = ci->vt;
        (*arrow)[i] = arena_strdup(a, ci->arrow);
    }
    pq_close(f);
    return rc;
}

static int sink(void *ctx, const void *p, size_t n, err *e) {
    return ext_out_write(ctx, p, n, e);
}

static int codec_of(uint8_t comp) {
    switch (comp) {
    case EXT_UNCOMPRESSED:
        return PQ_UNCOMPRESSED;
    case EXT_GZIP:
        return PQ_GZIP;
    case EXT_ZSTD:
        return PQ_ZSTD;
    case EXT_LZ4:
        return PQ_LZ4_RAW;
    case EXT_BROTLI:
        return PQ_BROTLI;
    default:
        return PQ_SNAPPY;
    }
}

int ext_pq_write(qctx *q, op *root, const char *const *names, uint8_t comp, ext_out *o,
                 uint64_t *rows, err *e) {
    pq_write_opts opts = {.codec = codec_of(comp)};
    pq_writer *w;
    if (pq_writer_new(root->ncols, names, root->types, root->units, &opts, sink, o, &w, e) < 0)
        return -1;
    int rc;
    for (;;) {
        arena_reset(q->ba);
        batch b;
        rc = root->next(root, &b, e);
        if (rc <= 0) break;
        *rows += b.nrows;
        if ((rc = pq_writer_add(w, &b, e)) < 0) break;
    }
    if (rc == 0) rc = pq_writer_finish(w, e);
    pq_writer_free(w);
    return rc < 0 ? -1 : 0;
}
