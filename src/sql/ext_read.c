/* Reading external files: a decompressing byte stream, the CSV and JSON-lines record readers,
 * conversion of their values to column types, the scan operator and schema inference. See
 * ext.h for the contract.
 *
 * The stream keeps one buffer of decompressed bytes (IN_BUF); a record is read byte by byte out
 * of it into a reused record buffer, so memory is one buffer, one record and one batch of rows
 * whatever the file's size. CSV follows RFC 4180 as arrow-csv reads it: fields separated by the
 * delimiter, a field in double quotes may hold delimiters, newlines and doubled quotes, records
 * end at LF or CRLF, blank lines are skipped. An unquoted empty field is NULL; a quoted one is
 * an empty string. */
#include "sql/ext.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/fmt_num.h"
#include "parquet/parquet.h"
#include "sql/explain.h"
#include "sql/ops_int.h"
#include "util/buf.h"
#include "util/dec.h"
#include "util/timeutil.h"
#include "util/utf8.h"
#include "util/vec.h"

#define IN_BUF (256 * 1024)
/* Rows per batch: 4096, fewer for wide files so that a batch stays near 64Ki values. */
#define EXT_BATCH 4096
#define EXT_BATCH_VALUES 65536
/* Records inference looks at. */
#define INFER_ROWS 1000
/* DataFusion's words in front of a reader's error, as CnosDB answers a failed COPY or scan. */
#define READ_ERR "Could not chunk result: Datafusion: External error: Arrow error: "

/* ------------------------------------------------------------------ the byte stream */

struct ext_in {
    const char *path;
    uint8_t comp;
    int fd;
    gzFile gz;
    FILE *fp;
    BZFILE *bz;
    ZSTD_DCtx *zd;
    char *zin; /* compressed input of zstd and xz */
    ZSTD_inBuffer zib;
    size_t zrest; /* zstd: what the frame still needs (0 = at a frame's end) */
    lzma_stream xz;
    bool xz_open;
    bool raw_eof;
    char *b;
    size_t pos, len;
    bool eof;
};

static int io_err(const struct ext_in *in, const char *what, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, READ_ERR "Io error: %s: %s", what, in->path);
}

static int in_open(struct ext_in *in, const char *path, uint8_t comp, err *e) {
    memset(in, 0, sizeof *in);
    in->path = path;
    in->comp = comp;
    in->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0) return io_err(in, strerror(errno), e);
    in->b = malloc(IN_BUF);
    if (!in->b) return io_err(in, "out of memory", e);
    switch (comp) {
    case EXT_GZIP:
        in->gz = gzdopen(in->fd, "rb");
        if (!in->gz) return io_err(in, "cannot open the gzip stream", e);
        in->fd = -1; /* owned by gz */
        break;
    case EXT_BZIP2: {
        in->fp = fdopen(in->fd, "rb");
        if (!in->fp) return io_err(in, strerror(errno), e);
        in->fd = -1;
        int bzerr;
        in->bz = BZ2_bzReadOpen(&bzerr, in->fp, 0, 0, NULL, 0);
        if (bzerr != BZ_OK) return io_err(in, "not a bzip2 file", e);
        break;
    }
    case EXT_ZSTD:
        in->zd = ZSTD_createDCtx();
        in->zin = malloc(ZSTD_DStreamInSize());
        if (!in->zd || !in->zin) return io_err(in, "out of memory", e);
        break;
    case EXT_XZ:
        in->xz = (lzma_stream)LZMA_STREAM_INIT;
        in->zin = malloc(IN_BUF);
        /* concatenated streams, as xz writes them; 1 GiB bounds the decoder's memory */
        if (!in->zin || lzma_stream_decoder(&in->xz, 1ull << 30, LZMA_CONCATENATED) != LZMA_OK)
            return io_err(in, "cannot start the xz decoder", e);
        in->xz_open = true;
        break;
    default:
        break;
    }
    return 0;
}

static void in_close(struct ext_in *in) {
    if (in->gz) gzclose(in->gz);
    if (in->bz) {
        int bzerr;
        BZ2_bzReadClose(&bzerr, in->bz);
    }
    if (in->fp) fclose(in->fp);
    if (in->fd >= 0) close(in->fd);
    if (in->zd) ZSTD_freeDCtx(in->zd);
    if (in->xz_open) lzma_end(&in->xz);
    free(in->zin);
    free(in->b);
    memset(in, 0, sizeof *in);
    in->fd = -1;
}

static int zstd_fill(struct ext_in *in, err *e) {
    ZSTD_outBuffer out = {in->b, IN_BUF, 0};
    while (out.pos == 0) {
        if (in->zib.pos == in->zib.size) {
            if (in->raw_eof) break;
            ssize_t n = read(in->fd, in->zin, ZSTD_DStreamInSize());
            if (n < 0) return io_err(in, strerror(errno), e);
            if (n == 0) {
                in->raw_eof = true;
                if (in->zrest) return io_err(in, "truncated zstd data", e);
                break;
            }
            in->zib = (ZSTD_inBuffer){in->zin, (size_t)n, 0};
        }
        size_t r = ZSTD_decompressStream(in->zd, &out, &in->zib);
        if (ZSTD_isError(r)) return io_err(in, ZSTD_getErrorName(r), e);
        in->zrest = r;
    }
    return (int)out.pos;
}

static int xz_fill(struct ext_in *in, err *e) {
    lzma_stream *z = &in->xz;
    z->next_out = (uint8_t *)in->b;
    z->avail_out = IN_BUF;
    while (z->avail_out == IN_BUF) {
        lzma_action act = LZMA_RUN;
        if (z->avail_in == 0 && !in->raw_eof) {
            ssize_t n = read(in->fd, in->zin, IN_BUF);
            if (n < 0) return io_err(in, strerror(errno), e);
            if (n == 0) in->raw_eof = true;
            z->next_in = (const uint8_t *)in->zin;
            z->avail_in = (size_t)n;
        }
        if (in->raw_eof) act = LZMA_FINISH;
        lzma_ret r = lzma_code(z, act);
        if (r == LZMA_STREAM_END) break;
        if (r != LZMA_OK) return io_err(in, "damaged xz data", e);
    }
    return (int)(IN_BUF - z->avail_out);
}

/* Refills the buffer (all of it consumed): its new length, 0 at the end. */
static int in_fill(struct ext_in *in, err *e) {
    long n = 0;
    switch (in->comp) {
    case EXT_GZIP: {
        n = gzread(in->gz, in->b, IN_BUF);
        /* a truncated stream reads short with Z_BUF_ERROR set, not -1 */
        int zerr;
        const char *msg = gzerror(in->gz, &zerr);
        if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) return io_err(in, msg, e);
        break;
    }
    case EXT_BZIP2: {
        if (in->raw_eof) break;
        int bzerr;
        n = BZ2_bzRead(&bzerr, in->bz, in->b, IN_BUF);
        if (bzerr == BZ_STREAM_END)
            in->raw_eof = true;
        else if (bzerr != BZ_OK)
            return io_err(in, "damaged bzip2 data", e);
        break;
    }
    case EXT_ZSTD:
        n = zstd_fill(in, e);
        break;
    case EXT_XZ:
        n = xz_fill(in, e);
        break;
    default:
        n = read(in->fd, in->b, IN_BUF);
        if (n < 0) return io_err(in, strerror(errno), e);
        break;
    }
    if (n < 0) return -1;
    in->pos = 0;
    in->len = (size_t)n;
    if (n == 0) in->eof = true;
    return (int)n;
}

/* Next byte, -1 at the end, -2 on error (e filled). */
static inline int in_get(struct ext_in *in, err *e) {
    if (in->pos == in->len) {
        if (in->eof) return -1;
        int n = in_fill(in, e);
        if (n < 0) return -2;
        if (n == 0) return -1;
    }
    return (unsigned char)in->b[in->pos++];
}

static inline int in_peek(struct ext_in *in, err *e) {
    int c = in_get(in, e);
    if (c >= 0) in->pos--;
    return c;
}

/* ------------------------------------------------------------------ records */

/* One record: its fields' unescaped text side by side in text. */
struct rec {
    buf text;
    uint32_t *off, *len;
    bool *quoted;
    uint32_t n, cap;
};

static void rec_push(struct rec *r, uint32_t off, bool quoted) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->off = realloc(r->off, sizeof *r->off * r->cap);
        r->len = realloc(r->len, sizeof *r->len * r->cap);
        r->quoted = realloc(r->quoted, sizeof *r->quoted * r->cap);
        if (!r->off || !r->len || !r->quoted) abort();
    }
    r->off[r->n] = off;
    r->len[r->n] = (uint32_t)r->text.len - off;
    r->quoted[r->n] = quoted;
    r->n++;
}

static void rec_free(struct rec *r) {
    buf_free(&r->text);
    free(r->off);
    free(r->len);
    free(r->quoted);
    memset(r, 0, sizeof *r);
}

/* Longest record accepted: a file without line ends must not take all memory. */
#define REC_MAX (64u << 20)

/* One CSV record: 1, 0 at the end, -1 on error. line is the record's number. */
static int csv_record(struct ext_in *in, char delim, struct rec *r, uint64_t line, err *e) {
    for (;;) {
        buf_reset(&r->text);
        r->n = 0;
        int c = in_get(in, e);
        if (c == -2) return -1;
        if (c == -1) return 0;
        if (c == '\n') continue; /* blank line */
        if (c == '\r' && in_peek(in, e) == '\n') {
            in_get(in, e);
            continue;
        }
        uint32_t start = 0;
        bool quoted = false, in_quotes = false;
        for (;;) {
            if (r->text.len > REC_MAX)
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               READ_ERR "Csv error: record %llu is longer than %u bytes",
                               (unsigned long long)line, REC_MAX);
            if (in_quotes) {
                if (c == -2) return -1;
                if (c == -1)
                    return err_set(e, 422, EC_QUERY_INTERNAL,
                                   READ_ERR "Csv error: unterminated quoted field at line %llu",
                                   (unsigned long long)line);
                if (c == '"') {
                    int d = in_peek(in, e);
                    if (d == '"') {
                        in_get(in, e);
                        buf_putc(&r->text, '"');
                    } else {
                        in_quotes = false;
                    }
                } else {
                    buf_putc(&r->text, (char)c);
                }
            } else if (c == -2) {
                return -1;
            } else if (c == -1 || c == '\n' || (c == '\r' && in_peek(in, e) == '\n')) {
                if (c == '\r') in_get(in, e);
                rec_push(r, start, quoted);
                return 1;
            } else if (c == delim) {
                rec_push(r, start, quoted);
                start = (uint32_t)r->text.len;
                quoted = false;
            } else if (c == '"' && r->text.len == start && !quoted) {
                quoted = in_quotes = true;
            } else {
                buf_putc(&r->text, (char)c);
            }
            c = in_get(in, e);
        }
    }
}

/* One line of a JSON-lines file (blank lines skipped) into r->text: 1, 0, -1. */
static int json_line(struct ext_in *in, struct rec *r, uint64_t line, err *e) {
    for (;;) {
        buf_reset(&r->text);
        int c;
        while ((c = in_get(in, e)) >= 0 && c != '\n') {
            buf_putc(&r->text, (char)c);
            if (r->text.len > REC_MAX)
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               READ_ERR "Json error: line %llu is longer than %u bytes",
                               (unsigned long long)line, REC_MAX);
        }
        if (c == -2) return -1;
        size_t n = r->text.len;
        while (n &&
               (r->text.p[n - 1] == '\r' || r->text.p[n - 1] == ' ' || r->text.p[n - 1] == '\t'))
            n--;
        r->text.len = n;
        if (n) return 1;
        if (c == -1) return 0;
    }
}

/* ------------------------------------------------------------------ values */

static bool parse_i64(const char *s, size_t n, int64_t *out) {
    char tmp[32];
    if (!n || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end || end == tmp) return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out) {
    char tmp[32];
    if (!n || n >= sizeof tmp || s[0] == '-') return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (errno || *end || end == tmp) return false;
    *out = v;
    return true;
}

static bool parse_f64(const char *s, size_t n, double *out) {
    char tmp[64];
    if (!n || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    double v = strtod(tmp, &end);
    if (*end || end == tmp) return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, size_t n, bool *out) {
    if (n == 4 && !strncasecmp(s, "true", 4)) return *out = true, true;
    if (n == 5 && !strncasecmp(s, "false", 5)) return *out = false, true;
    return false;
}

static bool parse_ts(const char *s, size_t n, uint8_t unit, int64_t *out) {
    int64_t ns;
    if (time_parse_ts(s, n, &ns)) return tunit_convert(ns, TU_NS, (enum tunit)unit, out);
    return parse_i64(s, n, out);
}

static bool parse_date(const char *s, size_t n, int64_t *out) {
    int64_t ns, q, r;
    if (!time_parse_ts(s, n, &ns)) return false;
    time_floor_divmod(ns, 86400LL * 1000000000LL, &q, &r);
    *out = q;
    return true;
}

/* Text into row i of v (already allocated); false if it does not convert. */
static bool set_text(vec *v, uint32_t i, const char *s, size_t n, arena *a) {
    switch (v->type) {
    case VT_STR: {
        char *p = arena_alloc(a, n ? n : 1);
        memcpy(p, s, n);
        v->d.s[i] = (strv){p, (uint32_t)n};
        return true;
    }
    case VT_I64:
        /* an Int32 column holds only Int32 values (types.h's NU_32) */
        return parse_i64(s, n, &v->d.i64[i]) &&
               (v->unit != NU_32 || (v->d.i64[i] >= INT32_MIN && v->d.i64[i] <= INT32_MAX));
    case VT_U64:
        return parse_u64(s, n, &v->d.u64[i]);
    case VT_F64:
        if (!parse_f64(s, n, &v->d.f64[i])) return false;
        if (v->unit == NU_32) v->d.f64[i] = (float)v->d.f64[i];
        return true;
    case VT_BOOL:
        return parse_bool(s, n, &v->d.b[i]);
    case VT_TS:
        return parse_ts(s, n, v->unit, &v->d.i64[i]);
    case VT_DATE:
        return parse_date(s, n, &v->d.i64[i]);
    case VT_DEC128: {
        i128 d;
        if (!dec_parse(s, n, dec_scale(v->unit), true, &d) || !dec_fits(d, dec_prec(v->unit)))
            return false;
        v->d.dec[i] = dec_put(d);
        return true;
    }
    default:
        return false;
    }
}

/* A JSON value into row i of v; false if it does not convert. */
static bool set_json(vec *v, uint32_t i, json_t *j, arena *a) {
    char tmp[64];
    switch (json_typeof(j)) {
    case JSON_STRING:
        return set_text(v, i, json_string_value(j), json_string_length(j), a);
    case JSON_INTEGER:
        if (v->type == VT_F64) return v->d.f64[i] = (double)json_integer_value(j), true;
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(j));
        return set_text(v, i, tmp, strlen(tmp), a);
    case JSON_REAL:
        if (v->type == VT_F64)
            return v->d.f64[i] = v->unit == NU_32 ? (float)json_real_value(j) : json_real_value(j),
                   true;
        if (v->type == VT_DEC128) {
            /* the number's shortest digits: 0.3 is 0.3 at any scale, as arrow reads its text */
            char num[340];
            size_t n = fmt_double_plain(num, json_real_value(j));
            return set_text(v, i, num, n, a);
        }
        if (v->type != VT_STR) return false;
        snprintf(tmp, sizeof tmp, "%.17g", json_real_value(j));
        return set_text(v, i, tmp, strlen(tmp), a);
    case JSON_TRUE:
    case JSON_FALSE:
        if (v->type == VT_BOOL) return v->d.b[i] = json_is_true(j), true;
        return v->type == VT_STR &&
               set_text(v, i, json_is_true(j) ? "true" : "false", json_is_true(j) ? 4 : 5, a);
    default:
        return false;
    }
}

/* ------------------------------------------------------------------ the scan */

struct ext_scan {
    op o;
    ext_source src;
    char **files;
    uint32_t nfiles, next_file;
    const char *const *names;
    const char *table; /* for EXPLAIN; NULL = a COPY's source */
    uint32_t batch_rows;
    struct ext_in in;
    bool open;
    uint64_t line; /* number of the next record in the open file (arrow-csv's count) */
    struct rec rec;
    pq_file *pq; /* Parquet: the open file (sql/ext_parquet.c reads it) */
    bool *need;  /* the columns the query reads (NULL: all); Parquet skips the others */
};

static int open_next(struct ext_scan *s, err *er) {
    if (in_open(&s->in, s->files[s->next_file++], s->src.compression, er) < 0) {
        in_close(&s->in);
        return -1;
    }
    s->open = true;
    s->line = 0;
    if (s->src.format == EXT_CSV && s->src.header) {
        int got = csv_record(&s->in, s->src.delimiter, &s->rec, 0, er);
        if (got < 0) return -1;
        s->line = 1;
    }
    return 0;
}

static int bad_value(const struct rec *r, uint32_t col, uint64_t line, err *er) {
    char shown[96];
    utf8_show(shown, sizeof shown, r->text.p + r->off[col], r->len[col]);
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   READ_ERR "Parser error: Error while parsing value %s for column %u at line %llu",
                   shown, col, (unsigned long long)line);
}

static int csv_row(struct ext_scan *s, batch *b, uint32_t row, arena *a, err *er) {
    const struct rec *r = &s->rec;
    if (r->n != s->o.ncols)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       READ_ERR "Csv error: incorrect number of fields for line %llu, expected "
                                "%u got %u",
                       (unsigned long long)s->line, s->o.ncols, r->n);
    for (uint32_t c = 0; c < r->n; c++) {
        vec *v = &b->cols[c];
        if (r->len[c] == 0 && !(r->quoted[c] && v->type == VT_STR)) {
            vec_set_null(a, v, row);
            continue;
        }
        const char *p = r->text.p + r->off[c];
        if (v->type == VT_STR && !utf8_valid(p, r->len[c], NULL))
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           READ_ERR "Csv error: Encountered invalid UTF-8 data for line %llu and "
                                    "field %u",
                           (unsigned long long)s->line, c);
        if (!set_text(v, row, p, r->len[c], a)) return bad_value(r, c, s->line, er);
    }
    return 0;
}

static int json_row(struct ext_scan *s, batch *b, uint32_t row, arena *a, err *er) {
    json_error_t je;
    json_t *j = json_loadb(s->rec.text.p, s->rec.text.len, 0, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return err_set(er, 422, EC_QUERY_INTERNAL, READ_ERR "Json error: %s at line %llu of %s",
                       j ? "not a JSON object" : je.text, (unsigned long long)s->line + 1,
                       s->files[s->next_file - 1]);
    }
    int rc = 0;
    for (uint32_t c = 0; c < s->o.ncols && !rc; c++) {
        vec *v = &b->cols[c];
        json_t *x = json_object_get(j, s->names[c]);
        if (!x || json_is_null(x)) {
            vec_set_null(a, v, row);
        } else if (!set_json(v, row, x, a)) {
            char *text = json_dumps(x, JSON_ENCODE_ANY);
            rc = err_set(er, 422, EC_QUERY_INTERNAL,
                         READ_ERR "Json error: failed to parse value %s of field %s as %s at line "
                                  "%llu",
                         text ? text : "?", s->names[c], vtype_arrow_name(v->type, v->unit),
                         (unsigned long long)s->line + 1);
            free(text);
        }
    }
    json_decref(j);
    return rc;
}

static int ext_next(op *o, batch *b, err *er) {
    struct ext_scan *s = (struct ext_scan *)o;
    arena *a = o->q->ba;
    if (q_check(o->q, er) < 0) return -1;
    if (s->src.format == EXT_PARQUET)
        return ext_pq_next(o, &s->pq, s->files, s->nfiles, &s->next_file, s->names, s->need,
                           s->batch_rows, b, er);
    b->ncols = o->ncols;
    b->cols = arena_alloc(a, sizeof *b->cols * (o->ncols + 1));
    uint32_t cap = s->batch_rows;
    for (uint32_t c = 0; c < o->ncols; c++) {
        vec_alloc(a, o->types[c], o->units[c], cap, &b->cols[c]);
        memset(b->cols[c].d.raw, 0, vtype_size(o->types[c]) * cap);
        if (o->types[c] == VT_STR)
            for (uint32_t i = 0; i < cap; i++) b->cols[c].d.s[i].p = "";
    }
    uint32_t n = 0;
    while (n < cap) {
        if (!s->open) {
            if (s->next_file == s->nfiles) break;
            if (open_next(s, er) < 0) return -1;
        }
        int got = s->src.format == EXT_CSV
                      ? csv_record(&s->in, s->src.delimiter, &s->rec, s->line, er)
                      : json_line(&s->in, &s->rec, s->line, er);
        if (got < 0) return -1;
        if (got == 0) {
            in_close(&s->in);
            s->open = false;
            continue;
        }
        int rc = s->src.format == EXT_CSV ? csv_row(s, b, n, a, er) : json_row(s, b, n, a, er);
        if (rc < 0) return -1;
        s->line++;
        n++;
    }
    if (n == 0) return 0;
    for (uint32_t c = 0; c < o->ncols; c++) {
        b->cols[c].len = n;
        vec_compact_valid(&b->cols[c], n);
    }
    b->nrows = n;
    return 1;
}

static void ext_close(op *o) {
    struct ext_scan *s = (struct ext_scan *)o;
    if (s->open) in_close(&s->in);
    s->open = false;
    rec_free(&s->rec);
    pq_close(s->pq);
    s->pq = NULL;
}

/* As DataFusion prints a scan of files: `TableScan: t projection=[a, b]` over
 * `CsvExec: file_groups={1 group: [[path]]}, has_header=true, projection=[a, b]`. */
static void ext_describe(const op *o, op_explain *x) {
    const struct ext_scan *s = (const struct ext_scan *)o;
    const char *table = s->table ? s->table : "?table?";
    ex_cols_init(x->a, &x->out, o->ncols);
    buf proj;
    buf_init(&proj);
    for (uint32_t c = 0; c < o->ncols; c++) {
        x->out.lname[c] = arena_printf(x->a, "%s.%s", table, s->names[c]);
        x->out.pname[c] = s->names[c];
        buf_printf(&proj, "%s%s", c ? ", " : "", s->names[c]);
    }
    x->lname = "TableScan";
    buf_printf(&x->ld, "%s projection=[%.*s]", table, (int)proj.len, proj.p ? proj.p : "");
    x->pname = s->src.format == EXT_CSV       ? "CsvExec"
               : s->src.format == EXT_PARQUET ? "ParquetExec"
                                              : "JsonExec";
    buf_printf(&x->pd, "file_groups={%u group%s: [[", s->nfiles, s->nfiles == 1 ? "" : "s");
    for (uint32_t i = 0; i < s->nfiles; i++) buf_printf(&x->pd, "%s%s", i ? ", " : "", s->files[i]);
    buf_puts(&x->pd, "]]}");
    if (s->src.format == EXT_CSV)
        buf_printf(&x->pd, ", has_header=%s", s->src.header ? "true" : "false");
    buf_printf(&x->pd, ", projection=[%.*s]", (int)proj.len, proj.p ? proj.p : "");
    buf_free(&proj);
}

void op_ext_scan_need(op *o, const bool *used) {
    struct ext_scan *s = (struct ext_scan *)o;
    s->need = arena_alloc(o->q->a, o->ncols + 1);
    memcpy(s->need, used, o->ncols);
}

op *op_ext_scan(qctx *q, const ext_source *src, char **files, uint32_t nfiles, uint32_t ncols,
                const char *table, const char *const *names, const uint8_t *types,
                const uint8_t *units) {
    struct ext_scan *s = arena_calloc(q->a, sizeof *s);
    op_init(&s->o, q, ncols);
    if (ncols) {
        memcpy(s->o.types, types, ncols);
        memcpy(s->o.units, units, ncols);
    }
    s->o.next = ext_next;
    s->o.close = ext_close;
    s->o.describe = ext_describe;
    q->unestimated = true; /* a file's size says little of its rows: never run on the loop */
    s->batch_rows = EXT_BATCH;
    if (ncols > EXT_BATCH_VALUES / EXT_BATCH) s->batch_rows = EXT_BATCH_VALUES / ncols;
    if (s->batch_rows < 64) s->batch_rows = 64;
    s->table = table;
    s->src = *src;
    s->files = files;
    s->nfiles = nfiles;
    s->names = names;
    s->in.fd = -1;
    return &s->o;
}

/* ------------------------------------------------------------------ inference */

/* What a column's values have been so far, widest wins. */
enum guess { G_NONE = 0, G_BOOL, G_INT, G_FLOAT, G_DATE, G_TS, G_STR };

static enum guess guess_text(const char *s, size_t n) {
    int64_t i;
    double f;
    bool b;
    if (parse_bool(s, n, &b)) return G_BOOL;
    if (parse_i64(s, n, &i)) return G_INT;
    if (parse_f64(s, n, &f)) return G_FLOAT;
    if (n == 10 && parse_date(s, n, &i)) return G_DATE;
    int64_t ns;
    if (n > 10 && time_parse_ts(s, n, &ns)) return G_TS;
    return G_STR;
}

static enum guess merge(enum guess a, enum guess b) {
    if (a == G_NONE || a == b) return b;
    if (b == G_NONE) return a;
    if ((a == G_INT && b == G_FLOAT) || (a == G_FLOAT && b == G_INT)) return G_FLOAT;
    if ((a == G_DATE && b == G_TS) || (a == G_TS && b == G_DATE)) return G_TS;
    return G_STR;
}

static void guess_type(enum guess g, uint8_t *vt, const char **arrow) {
    static const uint8_t vts[] = {VT_STR, VT_BOOL, VT_I64, VT_F64, VT_DATE, VT_TS, VT_STR};
    static const char *const names[] = {
        "Utf8", "Boolean", "Int64", "Float64", "Date32", "Timestamp(Nanosecond, None)", "Utf8"};
    *vt = vts[g];
    *arrow = names[g];
}

struct infer_cols {
    const char **names;
    enum guess *g;
    uint32_t n, cap;
};

static uint32_t infer_col(arena *a, struct infer_cols *ic, const char *name, size_t len) {
    for (uint32_t i = 0; i < ic->n; i++)
        if (strlen(ic->names[i]) == len && !memcmp(ic->names[i], name, len)) return i;
    if (ic->n == ic->cap) {
        uint32_t nc = ic->cap ? ic->cap * 2 : 16;
        ic->names =
            arena_realloc(a, ic->names, sizeof *ic->names * ic->cap, sizeof *ic->names * nc);
        ic->g = arena_realloc(a, ic->g, sizeof *ic->g * ic->cap, sizeof *ic->g * nc);
        ic->cap = nc;
    }
    ic->names[ic->n] = arena_strndup(a, name, len);
    ic->g[ic->n] = G_NONE;
    return ic->n++;
}

static enum guess guess_json(json_t *x) {
    switch (json_typeof(x)) {
    case JSON_INTEGER:
        return G_INT;
    case JSON_REAL:
        return G_FLOAT;
    case JSON_TRUE:
    case JSON_FALSE:
        return G_BOOL;
    case JSON_NULL:
        return G_NONE;
    default:
        return G_STR;
    }
}

static int cmp_name(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int infer_rows(arena *a, const ext_source *src, struct ext_in *in, struct rec *r,
                      struct infer_cols *ic, err *e) {
    for (uint64_t line = 0; line < INFER_ROWS; line++) {
        int got = src->format == EXT_CSV ? csv_record(in, src->delimiter, r, line, e)
                                         : json_line(in, r, line, e);
        if (got <= 0) return got;
        if (src->format == EXT_CSV) {
            if (line == 0) {
                for (uint32_t c = 0; c < r->n; c++) {
                    char gen[32];
                    int gl = snprintf(gen, sizeof gen, "column_%u", c + 1);
                    if (src->header)
                        infer_col(a, ic, r->text.p + r->off[c], r->len[c]);
                    else
                        infer_col(a, ic, gen, (size_t)gl);
                }
                if (src->header) continue;
            }
            for (uint32_t c = 0; c < r->n && c < ic->n; c++)
                if (r->len[c])
                    ic->g[c] = merge(ic->g[c], guess_text(r->text.p + r->off[c], r->len[c]));
            continue;
        }
        json_t *j = json_loadb(r->text.p, r->text.len, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           READ_ERR "Json error: not a JSON object at line %llu",
                           (unsigned long long)line + 1);
        }
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) {
            uint32_t c = infer_col(a, ic, k, strlen(k));
            ic->g[c] = merge(ic->g[c], guess_json(x));
        }
        json_decref(j);
    }
    return 0;
}

int ext_infer(arena *a, const ext_source *src, const char *file, uint32_t *ncols,
              const char ***names, uint8_t **types, const char ***arrow, err *e) {
    if (src->format == EXT_PARQUET) return ext_pq_infer(a, file, ncols, names, types, arrow, e);
    struct ext_in in;
    struct rec r = {0};
    struct infer_cols ic = {0};
    int rc = in_open(&in, file, src->compression, e);
    if (rc == 0) rc = infer_rows(a, src, &in, &r, &ic, e);
    in_close(&in);
    rec_free(&r);
    if (rc < 0) return -1;
    if (!ic.n)
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Error during planning: no columns could be inferred from %s",
                       file);
    if (src->format == EXT_JSON) {
        /* names and guesses sorted together: sort indexes by name */
        const char **sorted = arena_alloc(a, sizeof *sorted * ic.n);
        memcpy(sorted, ic.names, sizeof *sorted * ic.n);
        qsort(sorted, ic.n, sizeof *sorted, cmp_name);
        enum guess *g = arena_alloc(a, sizeof *g * ic.n);
        for (uint32_t i = 0; i < ic.n; i++)
            for (uint32_t k = 0; k < ic.n; k++)
                if (ic.names[k] == sorted[i]) g[i] = ic.g[k];
        ic.names = sorted;
        ic.g = g;
    }
    *ncols = ic.n;
    *names = ic.names;
    *types = arena_alloc(a, ic.n);
    *arrow = arena_alloc(a, sizeof **arrow * ic.n);
    for (uint32_t i = 0; i < ic.n; i++) guess_type(ic.g[i], &(*types)[i], &(*arrow)[i]);
    return 0;
}
