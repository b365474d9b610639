/* Column files: see colfile.h and docs/storage-format.md.
 *
 * Layout:
 *   "STRATAC1"                                   8-byte magic
 *   pages                                        referenced from the index
 *   index                                        see write_index
 *   footer: u64 index offset, u64 index length, u32 index checksum, u32 version, "STRATAC1"
 * Page: u8 format (1), varint rows, varint nulls, validity bitmap when nulls > 0, then the
 * codec block of the non-null values. Checksums are the low 32 bits of XXH3-64. */
#include "storage/colfile.h"

#include "codec/codec.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/varint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CF_MAGIC "STRATAC1"
/* Version 2 adds each numeric page's last value to its statistics; version 1 files are read
 * as before (their statistics have no last value). */
#define CF_VERSION 2
#define CF_FOOTER 32
#define PAGE_FMT 1

static inline uint32_t crc32x(const void *p, size_t n) {
    return (uint32_t)XXH3_64bits(p, n);
}

/* ------------------------------------------------------------------ writer */

struct cf_writer {
    char *path, *tmp;
    int fd;
    uint64_t off; /* file offset of the end of buf */
    buf out;      /* pending bytes */
    buf index;    /* index block being built */
    buf page;     /* scratch for one page */
    uint32_t nseries;
    uint32_t last_sid;
    uint64_t rows;
    arena *scratch;
    uint32_t version; /* written to the footer; CF_VERSION unless a test asks for an older one */
};

static int flush_out(cf_writer *w, err *e) {
    if (fs_write_all(w->fd, w->out.p, w->out.len) < 0)
        return err_set(e, 500, EC_STORAGE, "cannot write %s: %s", w->tmp, strerror(errno));
    buf_reset(&w->out);
    return 0;
}

int cf_writer_open(const char *path, cf_writer **out, err *e) {
    cf_writer *w = xcalloc(1, sizeof *w);
    w->path = xstrdup(path);
    size_t n = strlen(path) + 8;
    w->version = CF_VERSION;
    w->tmp = xmalloc(n);
    snprintf(w->tmp, n, "%s.tmp", path);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        err_set(e, 500, EC_STORAGE, "cannot create %s: %s", w->tmp, strerror(errno));
        free(w->path);
        free(w->tmp);
        free(w);
        return -1;
    }
    buf_append(&w->out, CF_MAGIC, 8);
    w->off = 8;
    w->scratch = arena_new(1 << 20);
    *out = w;
    return 0;
}

void cf_writer_abort(cf_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    unlink(w->tmp);
    buf_free(&w->out);
    buf_free(&w->index);
    buf_free(&w->page);
    arena_free(w->scratch);
    free(w->path);
    free(w->tmp);
    free(w);
}

void cf_writer_set_version(cf_writer *w, uint32_t version) {
    STRATA_ASSERT(version >= 1 && version <= CF_VERSION);
    w->version = version;
}

uint64_t cf_writer_rows(const cf_writer *w) {
    return w->rows;
}

static void put_u32(buf *b, uint32_t v) {
    buf_append(b, &v, 4);
}
static void put_u64(buf *b, uint64_t v) {
    buf_append(b, &v, 8);
}
static void put_zigzag(buf *b, int64_t v) {
    buf_put_uvarint(b, zigzag_encode(v));
}

/* Appends a finished page (w->page) to the output and its reference to the index. */
static int emit_page(cf_writer *w, err *e) {
    uint32_t crc = crc32x(w->page.p, w->page.len);
    buf_put_uvarint(&w->index, w->off);
    buf_put_uvarint(&w->index, w->page.len);
    put_u32(&w->index, crc);
    buf_append(&w->out, w->page.p, w->page.len);
    w->off += w->page.len;
    if (w->out.len >= (1u << 20)) return flush_out(w, e);
    return 0;
}

/* The non-NULL values of rows [from, from+n) packed together (element size sz): a view into
 * the vector when it has no NULLs there, else a copy in the scratch arena. */
static const void *dense_values(arena *a, const vec *v, uint32_t from, uint32_t n, uint32_t nv,
                                size_t sz) {
    const char *src = (const char *)v->d.raw + sz * from;
    if (nv == n) return src;
    char *d = arena_alloc(a, sz * (nv ? nv : 1));
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (vec_is_valid(v, from + i)) memcpy(d + sz * k++, src + sz * i, sz);
    return d;
}

/* Encodes rows [from, from+n) of a column into w->page; fills stats. */
static int encode_col(cf_writer *w, const cf_col *c, uint32_t from, uint32_t n, uint32_t *nulls,
                      cf_stats *st, err *e) {
    const vec *v = c->v;
    buf_reset(&w->page);
    buf_putc(&w->page, PAGE_FMT);
    buf_put_uvarint(&w->page, n);
    uint32_t nn = 0;
    for (uint32_t i = 0; i < n; i++) nn += !vec_is_valid(v, from + i);
    buf_put_uvarint(&w->page, nn);
    if (nn) {
        size_t nb = bitmap_bytes(n);
        size_t at = w->page.len;
        buf_reserve(&w->page, nb);
        memset(w->page.p + at, 0, nb);
        for (uint32_t i = 0; i < n; i++)
            if (vec_is_valid(v, from + i)) w->page.p[at + (i >> 3)] |= (char)(1u << (i & 7));
        w->page.len += nb;
    }
    *nulls = nn;
    uint32_t nv = n - nn;
    memset(st, 0, sizeof *st);
    if (nv) {
        uint32_t i = n;
        while (i-- > 0 && !vec_is_valid(v, from + i)) {
        }
        st->last_row = i;
    }
    arena_reset(w->scratch);
    int rc = 0;
    switch (c->type) {
    case VT_F64: {
        const double *d = dense_values(w->scratch, v, from, n, nv, sizeof *d);
        if (nv) {
            st->has_stats = true;
            st->min.f = INFINITY;
            st->max.f = -INFINITY;
            double sum = 0;
            for (uint32_t i = 0; i < nv; i++) {
                if (d[i] < st->min.f) st->min.f = d[i];
                if (d[i] > st->max.f) st->max.f = d[i];
                sum += d[i];
            }
            st->sum.f = sum;
            st->last.f = d[nv - 1];
        }
        rc = codec_encode_f64(d, nv, c->codec, &w->page, e);
        break;
    }
    case VT_I64:
    case VT_U64: {
        const int64_t *d = dense_values(w->scratch, v, from, n, nv, sizeof *d);
        if (nv) {
            st->has_stats = true;
            if (c->type == VT_I64) {
                st->min.i = INT64_MAX;
                st->max.i = INT64_MIN;
                uint64_t sum = 0;
                for (uint32_t i = 0; i < nv; i++) {
                    if (d[i] < st->min.i) st->min.i = d[i];
                    if (d[i] > st->max.i) st->max.i = d[i];
                    sum += (uint64_t)d[i];
                }
                st->sum.i = (int64_t)sum;
            } else {
                st->min.u = UINT64_MAX;
                st->max.u = 0;
                uint64_t sum = 0;
                for (uint32_t i = 0; i < nv; i++) {
                    uint64_t u = (uint64_t)d[i];
                    if (u < st->min.u) st->min.u = u;
                    if (u > st->max.u) st->max.u = u;
                    sum += u;
                }
                st->sum.u = sum;
            }
            st->last.i = d[nv - 1];
        }
        rc = codec_encode_i64(d, nv, c->codec, &w->page, e);
        break;
    }
    case VT_BOOL: {
        const bool *d = dense_values(w->scratch, v, from, n, nv, sizeof *d);
        rc = codec_encode_bool(d, nv, c->codec, &w->page, e);
        break;
    }
    case VT_STR: {
        const strv *d = dense_values(w->scratch, v, from, n, nv, sizeof *d);
        rc = codec_encode_str(d, nv, c->codec, &w->page, e);
        break;
    }
    default:
        return err_set(e, 500, EC_STORAGE, "column %u: unsupported type %d", c->col_id, c->type);
    }
    return rc;
}

static void put_stats(buf *b, uint32_t version, uint8_t type, const cf_stats *st) {
    if (type != VT_F64 && type != VT_I64 && type != VT_U64) return;
    buf_putc(b, st->has_stats ? 1 : 0);
    if (!st->has_stats) return;
    put_u64(b, st->min.u);
    put_u64(b, st->max.u);
    put_u64(b, st->sum.u);
    if (version >= 2) {
        put_u64(b, st->last.u);
        buf_put_uvarint(b, st->last_row);
    }
}

int cf_writer_add(cf_writer *w, uint32_t sid, uint64_t table_id, uint32_t nrows, const int64_t *ts,
                  uint32_t ncols, const cf_col *cols, err *e) {
    if (nrows == 0) return 0;
    if (w->nseries && sid <= w->last_sid)
        return err_set(e, 500, EC_INTERNAL, "column file: series %u added out of order", sid);
    w->nseries++;
    w->last_sid = sid;
    w->rows += nrows;
    uint32_t nchunks = (nrows + CF_CHUNK_ROWS - 1) / CF_CHUNK_ROWS;
    buf_put_uvarint(&w->index, sid);
    buf_put_uvarint(&w->index, table_id);
    buf_put_uvarint(&w->index, nchunks);
    for (uint32_t c = 0; c < nchunks; c++) {
        uint32_t from = c * CF_CHUNK_ROWS;
        uint32_t n = nrows - from < CF_CHUNK_ROWS ? nrows - from : CF_CHUNK_ROWS;
        put_zigzag(&w->index, ts[from]);
        /* unsigned: the span of a chunk may exceed INT64_MAX */
        buf_put_uvarint(&w->index, (uint64_t)ts[from + n - 1] - (uint64_t)ts[from]);
        buf_put_uvarint(&w->index, n);
        /* time page */
        buf_reset(&w->page);
        buf_putc(&w->page, PAGE_FMT);
        buf_put_uvarint(&w->page, n);
        buf_put_uvarint(&w->page, 0);
        if (codec_encode_ts(ts + from, n, 0, &w->page, e) < 0) return -1;
        if (emit_page(w, e) < 0) return -1;
        /* columns with at least one value in the chunk */
        uint32_t present = 0;
        for (uint32_t k = 0; k < ncols; k++) {
            const vec *v = cols[k].v;
            bool any = !v->valid;
            for (uint32_t i = 0; i < n && !any; i++) any = vec_is_valid(v, from + i);
            present += any;
        }
        buf_put_uvarint(&w->index, present);
        for (uint32_t k = 0; k < ncols; k++) {
            const vec *v = cols[k].v;
            bool any = !v->valid;
            for (uint32_t i = 0; i < n && !any; i++) any = vec_is_valid(v, from + i);
            if (!any) continue;
            uint32_t nulls;
            cf_stats st;
            if (encode_col(w, &cols[k], from, n, &nulls, &st, e) < 0) return -1;
            buf_put_uvarint(&w->index, cols[k].col_id);
            buf_putc(&w->index, (char)cols[k].type);
            buf_put_uvarint(&w->index, nulls);
            if (emit_page(w, e) < 0) return -1;
            put_stats(&w->index, w->version, cols[k].type, &st);
        }
    }
    return 0;
}

int cf_writer_finish(cf_writer *w, err *e) {
    buf hdr;
    buf_init(&hdr);
    buf_put_uvarint(&hdr, w->nseries);
    uint64_t index_off = w->off;
    uint32_t index_len = (uint32_t)(hdr.len + w->index.len);
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, hdr.p, hdr.len);
    XXH3_64bits_update(st, w->index.p, w->index.len);
    uint32_t index_crc = (uint32_t)XXH3_64bits_digest(st);
    XXH3_freeState(st);
    buf_append(&w->out, hdr.p, hdr.len);
    buf_append(&w->out, w->index.p, w->index.len);
    buf_free(&hdr);
    put_u64(&w->out, index_off);
    put_u64(&w->out, index_len);
    put_u32(&w->out, index_crc);
    put_u32(&w->out, w->version);
    buf_append(&w->out, CF_MAGIC, 8);
    int rc = flush_out(w, e);
    if (rc == 0 && fsync(w->fd) < 0)
        rc = err_set(e, 500, EC_STORAGE, "cannot fsync %s: %s", w->tmp, strerror(errno));
    if (close(w->fd) < 0 && rc == 0)
        rc = err_set(e, 500, EC_STORAGE, "cannot close %s: %s", w->tmp, strerror(errno));
    w->fd = -1;
    if (rc == 0 && rename(w->tmp, w->path) < 0)
        rc = err_set(e, 500, EC_STORAGE, "cannot rename %s: %s", w->tmp, strerror(errno));
    if (rc == 0) fs_fsync_parent(w->path);
    if (rc) unlink(w->tmp);
    buf_free(&w->out);
    buf_free(&w->index);
    buf_free(&w->page);
    arena_free(w->scratch);
    free(w->path);
    free(w->tmp);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ reader */

/* The index stays in the mapped file: what a reader keeps in memory is, per series, its id and
 * where its entry starts (12 bytes). cf_series_at and cf_find decode one entry into the
 * caller's arena when a reader needs its chunks. Decoding every entry at open cost about 150
 * bytes a series per file for one field and 64 more per field: with a million series, more
 * than the series index and the memcache together, for every file. */
struct cf_reader {
    int refs;
    char *path;
    const unsigned char *map;
    size_t size;
    const unsigned char *idx; /* the index, inside map */
    size_t idx_len;
    uint64_t idx_off;
    uint32_t *sids; /* per series, increasing */
    uint64_t *ents; /* offset of each series' entry in the index */
    size_t nseries;
    int64_t tmin, tmax;
    uint32_t version;
};

/* off: where in the file the damage was found (the start of the page or index entry). */
static int corrupt(err *e, const char *path, uint64_t off, const char *what) {
    return err_set(e, 500, EC_STORAGE, "corrupt column file %s at offset %llu: %s", path,
                   (unsigned long long)off, what);
}

static void reader_free(cf_reader *r) {
    if (r->map) munmap((void *)r->map, r->size);
    free(r->sids);
    free(r->ents);
    free(r->path);
    free(r);
}

/* Steps over a chunk's pc column references (checked at open: see parse_index). */
static void skip_colrefs(const cf_reader *r, byte_reader *d, uint64_t pc) {
    for (uint64_t k = 0; k < pc && !d->bad; k++) {
        br_skip_uvarint(d); /* column id */
        const unsigned char *t = br_bytes(d, 1);
        if (!t) return;
        for (int i = 0; i < 3; i++) br_skip_uvarint(d); /* NULLs, offset, length */
        br_bytes(d, 4);                                 /* crc */
        if (*t != VT_F64 && *t != VT_I64 && *t != VT_U64) continue;
        const unsigned char *has = br_bytes(d, 1);
        if (!has || !*has) continue;
        br_bytes(d, 24); /* min, max, sum */
        if (r->version >= 2) {
            br_bytes(d, 8); /* last */
            br_skip_uvarint(d);
        }
    }
}

/* Parses one series entry at d: checks it, and with an arena fills out (chunks and column
 * references from a) with the chunks that overlap [lo, hi] (the others are stepped over); with
 * range, widens range[0..1] by its chunks' times. */
static int parse_entry(const cf_reader *r, byte_reader *d, arena *a, cf_series *out, int64_t *range,
                       int64_t lo, int64_t hi, err *e) {
    const unsigned char *idx = r->idx;
    uint64_t data_end = r->idx_off;
    size_t len = r->idx_len;
    uint64_t sid = br_uvarint(d), tid = br_uvarint(d), nc = br_uvarint(d);
    if (d->bad || sid > UINT32_MAX || nc > len)
        return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx), "bad series entry");
    cf_chunk *chunks = NULL;
    uint32_t kept = 0;
    if (a) {
        chunks = arena_alloc(a, sizeof *chunks * (nc ? nc : 1));
        *out = (cf_series){(uint32_t)sid, tid, 0, chunks};
    }
    for (uint64_t c = 0; c < nc; c++) {
        uint64_t zz = br_uvarint(d);
        int64_t tmin = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        uint64_t span = br_uvarint(d);
        uint64_t rows = br_uvarint(d);
        uint64_t toff = br_uvarint(d), tlen = br_uvarint(d);
        uint32_t tcrc = br_u32(d);
        uint64_t pc = br_uvarint(d);
        if (d->bad || rows == 0 || rows > CF_CHUNK_ROWS || pc > len || toff < 8 ||
            tlen > data_end || toff > data_end - tlen ||
            (__int128)tmin + (__int128)span > (__int128)INT64_MAX)
            return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx), "bad chunk entry");
        int64_t tmax = (int64_t)((uint64_t)tmin + span);
        if (a && (tmax < lo || tmin > hi)) {
            skip_colrefs(r, d, pc);
            continue;
        }
        cf_colref *cols = NULL;
        if (a) {
            cols = arena_alloc(a, sizeof *cols * (pc ? pc : 1));
            chunks[kept++] = (cf_chunk){tmin,           tmax, (uint32_t)rows, toff,
                                        (uint32_t)tlen, tcrc, (uint32_t)pc,   cols};
        }
        if (range) {
            if (tmin < range[0]) range[0] = tmin;
            if (tmax > range[1]) range[1] = tmax;
        }
        for (uint64_t k = 0; k < pc; k++) {
            /* Filled in place: a cf_colref built on the stack and copied stalled on
             * store forwarding, half of this function's time. */
            cf_colref scratch, *cr = a ? &cols[k] : &scratch;
            uint64_t cid = br_uvarint(d);
            if (d->p >= d->end)
                return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx),
                               "truncated column entry");
            uint8_t type = *d->p++;
            uint64_t nulls = br_uvarint(d), off = br_uvarint(d), plen = br_uvarint(d);
            cr->crc = br_u32(d);
            cf_stats *st = &cr->st;
            st->has_stats = st->has_last = false;
            st->last_row = 0;
            st->min.u = st->max.u = st->sum.u = st->last.u = 0;
            if (type == VT_F64 || type == VT_I64 || type == VT_U64) {
                if (d->p >= d->end)
                    return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx),
                                   "truncated statistics");
                st->has_stats = *d->p++ != 0;
                if (st->has_stats) {
                    st->min.u = br_u64(d);
                    st->max.u = br_u64(d);
                    st->sum.u = br_u64(d);
                    if (r->version >= 2) {
                        st->last.u = br_u64(d);
                        uint64_t lr = br_uvarint(d);
                        if (lr >= rows)
                            return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx),
                                           "bad last row");
                        st->has_last = true;
                        st->last_row = (uint32_t)lr;
                    }
                }
            } else if (type != VT_BOOL && type != VT_STR) {
                return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx),
                               "unknown column type");
            }
            if (d->bad || cid > UINT32_MAX || nulls > rows || off < 8 || plen > data_end ||
                off > data_end - plen)
                return corrupt(e, r->path, data_end + (uint64_t)(d->p - idx), "bad column entry");
            cr->col_id = (uint32_t)cid;
            cr->type = type;
            cr->nulls = (uint32_t)nulls;
            cr->off = off;
            cr->len = (uint32_t)plen;
        }
    }
    if (a) out->nchunks = kept;
    return d->bad ? corrupt(e, r->path, data_end + (uint64_t)(d->p - idx), "bad series entry") : 0;
}

/* Checks the whole index once, so that a damaged file fails at open, and records where each
 * series' entry starts. */
static int parse_index(cf_reader *r, err *e) {
    byte_reader d = {r->idx, r->idx + r->idx_len, false};
    uint64_t ns = br_uvarint(&d);
    if (d.bad || ns > r->idx_len)
        return corrupt(e, r->path, r->idx_off + (uint64_t)(d.p - r->idx), "bad series count");
    r->sids = xmalloc(sizeof *r->sids * (ns ? ns : 1));
    r->ents = xmalloc(sizeof *r->ents * (ns ? ns : 1));
    for (uint64_t s = 0; s < ns; s++) {
        uint64_t at = (uint64_t)(d.p - r->idx);
        byte_reader peek = d;
        uint64_t sid = br_uvarint(&peek);
        int64_t range[2] = {r->tmin, r->tmax};
        if (parse_entry(r, &d, NULL, NULL, range, INT64_MIN, INT64_MAX, e) < 0) return -1;
        r->tmin = range[0];
        r->tmax = range[1];
        if (s && sid <= r->sids[s - 1])
            return corrupt(e, r->path, r->idx_off + at, "bad series entry");
        r->sids[s] = (uint32_t)sid;
        r->ents[s] = at;
    }
    if (d.p != d.end)
        return corrupt(e, r->path, r->idx_off + (uint64_t)(d.p - r->idx),
                       "trailing bytes in index");
    r->nseries = (size_t)ns;
    return 0;
}

int cf_open(const char *path, cf_reader **out, err *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return err_set(e, 500, EC_STORAGE, "cannot stat %s: %s", path, strerror(errno));
    }
    cf_reader *r = xcalloc(1, sizeof *r);
    r->refs = 1;
    r->path = xstrdup(path);
    r->size = (size_t)st.st_size;
    r->tmin = INT64_MAX;
    r->tmax = INT64_MIN;
    if (r->size < 8 + CF_FOOTER) {
        close(fd);
        reader_free(r);
        return corrupt(e, path, 0, "too short");
    }
    void *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        reader_free(r);
        return err_set(e, 500, EC_STORAGE, "cannot map %s: %s", path, strerror(errno));
    }
    r->map = m;
    const unsigned char *f = r->map + r->size - CF_FOOTER;
    uint64_t ioff, ilen;
    uint32_t icrc, ver;
    memcpy(&ioff, f, 8);
    memcpy(&ilen, f + 8, 8);
    memcpy(&icrc, f + 16, 4);
    memcpy(&ver, f + 20, 4);
    int rc = 0;
    if (memcmp(r->map, CF_MAGIC, 8) || memcmp(f + 24, CF_MAGIC, 8))
        rc = corrupt(e, path, 0, "bad magic");
    else if (ver != 1 && ver != CF_VERSION)
        rc = err_set(e, 500, EC_STORAGE, "column file %s: unsupported version %u", path, ver);
    else if (ioff < 8 || ilen > r->size || ioff > r->size - CF_FOOTER - ilen ||
             ioff + ilen != r->size - CF_FOOTER)
        rc = corrupt(e, path, r->size - CF_FOOTER, "bad index position");
    else if (crc32x(r->map + ioff, ilen) != icrc)
        rc = corrupt(e, path, ioff, "index checksum mismatch");
    else {
        r->version = ver;
        r->idx = r->map + ioff;
        r->idx_len = (size_t)ilen;
        r->idx_off = ioff;
        rc = parse_index(r, e);
    }
    if (rc) {
        reader_free(r);
        return -1;
    }
    madvise((void *)r->map, r->size, MADV_WILLNEED);
    *out = r;
    return 0;
}

void cf_retain(cf_reader *r) {
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

void cf_release(cf_reader *r) {
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) reader_free(r);
}

size_t cf_nseries(const cf_reader *r) {
    return r->nseries;
}
uint32_t cf_sid_at(const cf_reader *r, size_t i) {
    return r->sids[i];
}

uint64_t cf_table_at(const cf_reader *r, size_t i) {
    byte_reader d = {r->idx + r->ents[i], r->idx + r->idx_len, false};
    (void)br_uvarint(&d);
    return br_uvarint(&d);
}

static const cf_series *series_window(const cf_reader *r, size_t i, int64_t lo, int64_t hi,
                                      arena *a) {
    byte_reader d = {r->idx + r->ents[i], r->idx + r->idx_len, false};
    cf_series *s = arena_alloc(a, sizeof *s);
    err e;
    /* The entry was checked at open and the map is read-only: it parses again. */
    int rc = parse_entry(r, &d, a, s, NULL, lo, hi, &e);
    STRATA_ASSERT(rc == 0);
    (void)rc;
    return s;
}

const cf_series *cf_series_at(const cf_reader *r, size_t i, arena *a) {
    return series_window(r, i, INT64_MIN, INT64_MAX, a);
}

int64_t cf_tmin(const cf_reader *r) {
    return r->tmin;
}
int64_t cf_tmax(const cf_reader *r) {
    return r->tmax;
}
uint64_t cf_size(const cf_reader *r) {
    return r->size;
}
const char *cf_path(const cf_reader *r) {
    return r->path;
}

const cf_series *cf_find_range(const cf_reader *r, uint32_t sid, int64_t tmin, int64_t tmax,
                               arena *a) {
    size_t lo = 0, hi = r->nseries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->sids[mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nseries && r->sids[lo] == sid ? series_window(r, lo, tmin, tmax, a) : NULL;
}

const cf_series *cf_find(const cf_reader *r, uint32_t sid, arena *a) {
    return cf_find_range(r, sid, INT64_MIN, INT64_MAX, a);
}

/* Validates a page and parses its header; returns the codec block. */
static int page_open(const cf_reader *r, uint64_t off, uint32_t len, uint32_t crc,
                     uint32_t want_rows, uint32_t *nulls, const unsigned char **bitmap,
                     const unsigned char **blk, size_t *blen, err *e) {
    const unsigned char *p = r->map + off;
    if (crc32x(p, len) != crc) return corrupt(e, r->path, off, "page checksum mismatch");
    byte_reader d = {p, p + len, false};
    if (len < 1 || *d.p++ != PAGE_FMT) return corrupt(e, r->path, off, "unknown page format");
    uint64_t rows = br_uvarint(&d), nn = br_uvarint(&d);
    if (d.bad || rows != want_rows || nn > rows) return corrupt(e, r->path, off, "bad page header");
    *bitmap = NULL;
    if (nn) {
        size_t nb = bitmap_bytes((uint32_t)rows);
        if ((size_t)(d.end - d.p) < nb) return corrupt(e, r->path, off, "truncated page bitmap");
        /* spread() places exactly rows - nulls values by this bitmap: a disagreeing bitmap
         * would make it read before the start of the decoded values. */
        uint64_t set = 0;
        for (size_t i = 0; i < nb; i++) set += (uint64_t)__builtin_popcount(d.p[i]);
        if (rows % 8 && (d.p[nb - 1] >> (rows % 8)))
            return corrupt(e, r->path, off, "page bitmap has bits past its rows");
        if (set != rows - nn)
            return corrupt(e, r->path, off, "page bitmap disagrees with NULL count");
        *bitmap = d.p;
        d.p += nb;
    }
    *nulls = (uint32_t)nn;
    *blk = d.p;
    *blen = (size_t)(d.end - d.p);
    return 0;
}

/* The time page's codec block (timestamps are never NULL). */
static int ts_page(const cf_reader *r, const cf_chunk *c, const unsigned char **blk, size_t *blen,
                   err *e) {
    uint32_t nulls;
    const unsigned char *bm;
    if (page_open(r, c->ts_off, c->ts_len, c->ts_crc, c->nrows, &nulls, &bm, blk, blen, e) < 0)
        return -1;
    if (nulls) return corrupt(e, r->path, c->ts_off, "NULL timestamps");
    return 0;
}

static int ts_decoded(const cf_reader *r, const cf_chunk *c, int rc, err *e) {
    if (rc < 0) err_prefix(e, "%s at offset %llu: ", r->path, (unsigned long long)c->ts_off);
    return rc;
}

int cf_read_ts(const cf_reader *r, const cf_chunk *c, int64_t *out, err *e) {
    const unsigned char *blk;
    size_t blen;
    if (ts_page(r, c, &blk, &blen, e) < 0) return -1;
    return ts_decoded(r, c, codec_decode_ts(blk, blen, c->nrows, out, e), e);
}

/* First index in ts[lo..hi) whose value is above t (`above`) or at least t (ts ascending). */
static uint32_t ts_search(const int64_t *ts, uint32_t lo, uint32_t hi, int64_t t, bool above) {
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (above ? ts[mid] <= t : ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Rows i of first + i * step (step > 0) in [tmin, tmax], clamped to [0, n]. */
static void step_window(int64_t first, int64_t step, uint32_t n, int64_t tmin, int64_t tmax,
                        uint32_t *lo, uint32_t *hi) {
    __int128 f = first, s = step, a = 0, b = n;
    if (tmin > first) a = ((__int128)tmin - f + s - 1) / s;
    if (tmax < first)
        b = 0;
    else if (((__int128)tmax - f) / s + 1 < b)
        b = ((__int128)tmax - f) / s + 1;
    if (a > n) a = n;
    if (b < a) b = a;
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
}

int cf_read_ts_window(const cf_reader *r, const cf_chunk *c, int64_t tmin, int64_t tmax,
                      int64_t *room, int64_t **ts, uint32_t *lo, uint32_t *hi, err *e) {
    const unsigned char *blk;
    size_t blen;
    if (ts_page(r, c, &blk, &blen, e) < 0) return -1;
    int64_t first, step;
    if (codec_ts_step(blk, blen, c->nrows, &first, &step) && step > 0) {
        step_window(first, step, c->nrows, tmin, tmax, lo, hi);
        *ts = room;
        return ts_decoded(r, c, codec_decode_ts_range(blk, blen, c->nrows, *lo, *hi, room, e), e);
    }
    if (ts_decoded(r, c, codec_decode_ts(blk, blen, c->nrows, room, e), e) < 0) return -1;
    *lo = c->tmin < tmin ? ts_search(room, 0, c->nrows, tmin, false) : 0;
    *hi = c->tmax > tmax ? ts_search(room, *lo, c->nrows, tmax, true) : c->nrows;
    *ts = room + *lo;
    return 0;
}

/* Spreads nvals dense values (size sz) over rows according to bits from..from+rows-1 of the
 * validity bitmap, in place from the back so no second buffer is needed. */
static void spread(void *data, size_t sz, uint32_t rows, uint32_t nvals, const unsigned char *bm,
                   uint32_t from) {
    char *d = data;
    int64_t k = (int64_t)nvals - 1;
    for (int64_t i = (int64_t)rows - 1; i >= 0; i--) {
        if (bitmap_get(bm, from + (uint32_t)i)) {
            if (k != i) memcpy(d + sz * (size_t)i, d + sz * (size_t)k, sz);
            k--;
        } else {
            memset(d + sz * (size_t)i, 0, sz);
        }
    }
}

/* Set bits among bits [from, to) of bm. */
static uint32_t bits_count(const unsigned char *bm, uint32_t from, uint32_t to) {
    uint32_t n = 0;
    for (; from < to && (from & 7); from++) n += bitmap_get(bm, from);
    for (; from + 8 <= to; from += 8) n += (uint32_t)__builtin_popcount(bm[from >> 3]);
    for (; from < to; from++) n += bitmap_get(bm, from);
    return n;
}

/* Bits [from, from+n) of bm as a bitmap of their own. */
static uint8_t *bits_slice(arena *a, const unsigned char *bm, uint32_t from, uint32_t n) {
    size_t nb = bitmap_bytes(n);
    uint8_t *out = arena_calloc(a, nb ? nb : 1);
    if (!(from & 7)) {
        memcpy(out, bm + (from >> 3), nb);
        if (n & 7) out[nb - 1] &= (uint8_t)((1u << (n & 7)) - 1);
        return out;
    }
    for (uint32_t i = 0; i < n; i++)
        if (bitmap_get(bm, from + i)) out[i >> 3] |= (uint8_t)(1u << (i & 7));
    return out;
}

int cf_read_col(const cf_reader *r, const cf_chunk *c, uint32_t col_id, uint8_t type, arena *a,
                vec *v, err *e) {
    return cf_read_col_range(r, c, col_id, type, 0, c->nrows, a, v, e);
}

/* Numbers decode only the values of rows lo..hi-1 (codec_decode_*_range): a scan of the first
 * rows of a chunk stops decoding there, and no later copy moves the kept rows down. Booleans and
 * strings are decoded whole and the vector points at the rows kept. */
const cf_colref *cf_chunk_col(const cf_chunk *c, uint32_t col_id, uint8_t type) {
    for (uint32_t k = 0; k < c->ncols; k++)
        if (c->cols[k].col_id == col_id) return c->cols[k].type == type ? &c->cols[k] : NULL;
    return NULL;
}

int cf_read_col_range(const cf_reader *r, const cf_chunk *c, uint32_t col_id, uint8_t type,
                      uint32_t lo, uint32_t hi, arena *a, vec *v, err *e) {
    STRATA_ASSERT(lo <= hi && hi <= c->nrows);
    const cf_colref *cr = cf_chunk_col(c, col_id, type);
    uint32_t rows = hi - lo;
    memset(v, 0, sizeof *v);
    v->type = type;
    v->len = rows;
    size_t sz = type == VT_BOOL ? sizeof(bool) : type == VT_STR ? sizeof(strv) : 8;
    if (!cr) {
        v->d.raw = arena_calloc(a, sz * (rows ? rows : 1));
        v->valid = arena_calloc(a, bitmap_bytes(rows) + 1);
        return 0;
    }
    uint32_t nulls;
    const unsigned char *bm, *blk;
    size_t blen;
    if (page_open(r, cr->off, cr->len, cr->crc, c->nrows, &nulls, &bm, &blk, &blen, e) < 0)
        return -1;
    uint32_t nv = c->nrows - nulls;
    bool whole = type == VT_BOOL || type == VT_STR;
    /* the dense values of the rows wanted: [dlo, dhi) of the nv */
    uint32_t dlo = lo, dhi = hi;
    if (whole) {
        dlo = 0;
        dhi = nv;
    } else if (nulls) {
        dlo = bits_count(bm, 0, lo);
        dhi = dlo + bits_count(bm, lo, hi);
    }
    uint32_t drows = whole ? c->nrows : rows; /* rows the buffer holds */
    char *data = arena_alloc(a, sz * (drows ? drows : 1));
    int rc;
    switch (type) {
    case VT_F64:
        rc = codec_decode_f64_range(blk, blen, nv, dlo, dhi, (double *)data, e);
        break;
    case VT_I64:
    case VT_U64:
        rc = codec_decode_i64_range(blk, blen, nv, dlo, dhi, (int64_t *)data, e);
        break;
    case VT_BOOL:
        rc = codec_decode_bool(blk, blen, nv, (bool *)data, e);
        break;
    case VT_STR:
        rc = codec_decode_str(blk, blen, nv, a, (strv *)data, e);
        break;
    default:
        return corrupt(e, r->path, cr->off, "unknown column type");
    }
    if (rc < 0) {
        err_prefix(e, "%s at offset %llu: ", r->path, (unsigned long long)cr->off);
        return -1;
    }
    uint32_t from = whole ? 0 : lo; /* bitmap bit of the buffer's first row */
    if (nulls) {
        spread(data, sz, drows, dhi - dlo, bm, from);
        if (type == VT_STR)
            for (uint32_t i = 0; i < drows; i++)
                if (!bitmap_get(bm, from + i)) ((strv *)data)[i] = (strv){"", 0};
        v->valid = bits_slice(a, bm, lo, rows);
    }
    v->d.raw = data + (whole ? sz * lo : 0);
    return 0;
}
