/* Writing Parquet files (see parquet.h): batches are buffered column by column up to a row
 * group; the row group is then written column chunk by column chunk (a dictionary page for
 * strings that pay for one, then data pages v1 of page_rows rows: RLE definition levels and
 * PLAIN or RLE_DICTIONARY values, each page compressed on its own), and the footer lists the
 * row groups with each chunk's offsets, sizes and statistics. */
#include "parquet/pq_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/dec.h"

/* A dictionary is used while it stays this small and its values repeat enough. */
#define DICT_MAX_BYTES (4u << 20)

struct wcol {
    const char *name;
    uint8_t vt, unit;
    int ptype, type_length;
    uint32_t stride; /* bytes per buffered slot */
    buf vals;        /* n slots: int64/uint64/double, dec128 or strv */
    buf valid;       /* one byte per row */
};

struct pq_writer {
    uint32_t ncols;
    struct wcol *cols;
    pq_write_opts o;
    pq_sink sink;
    void *ctx;
    arena *sa; /* the buffered row group's strings */
    uint32_t n;
    size_t bytes;
    uint64_t off, rows;
    buf meta; /* the row groups' Thrift, appended as they are written */
    uint32_t nrg;
    bool failed;
};

static int emit(pq_writer *w, const void *p, size_t n, err *e) {
    if (w->sink(w->ctx, p, n, e) < 0) {
        w->failed = true;
        return -1;
    }
    w->off += n;
    return 0;
}

static int physical(struct wcol *c, err *e) {
    c->stride = 8;
    switch (c->vt) {
    case VT_BOOL:
        c->ptype = PT_BOOLEAN;
        return 0;
    case VT_I64:
        c->ptype = c->unit == NU_32 ? PT_INT32 : PT_INT64;
        return 0;
    case VT_U64:
    case VT_TS:
        c->ptype = PT_INT64;
        return 0;
    case VT_F64:
        c->ptype = c->unit == NU_32 ? PT_FLOAT : PT_DOUBLE;
        return 0;
    case VT_DATE:
    case VT_NULL:
        c->ptype = PT_INT32;
        return 0;
    case VT_STR:
        c->ptype = PT_BYTE_ARRAY;
        c->stride = sizeof(strv);
        return 0;
    case VT_DEC128: {
        int p = dec_prec(c->unit);
        c->ptype = p <= 9 ? PT_INT32 : p <= 18 ? PT_INT64 : PT_FLBA;
        c->type_length = c->ptype == PT_FLBA ? 16 : 0;
        c->stride = sizeof(dec128);
        return 0;
    }
    default:
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: writing the %s column %s to Parquet",
                       vtype_arrow_name(c->vt, c->unit), c->name);
    }
}

int pq_writer_new(uint32_t ncols, const char *const *names, const uint8_t *types,
                  const uint8_t *units, const pq_write_opts *o, pq_sink sink, void *ctx,
                  pq_writer **out, err *e) {
    pq_writer *w = calloc(1, sizeof *w);
    if (!w) return err_set(e, 500, EC_INTERNAL, "out of memory");
    w->sa = arena_new(0);
    w->ncols = ncols;
    w->cols = calloc(ncols + 1, sizeof *w->cols);
    w->o = *o;
    if (!w->o.rg_rows) w->o.rg_rows = PQ_RG_ROWS;
    if (!w->o.page_rows) w->o.page_rows = PQ_PAGE_ROWS;
    w->sink = sink;
    w->ctx = ctx;
    int rc = w->cols ? 0 : err_set(e, 500, EC_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < ncols && rc == 0; i++) {
        struct wcol *c = &w->cols[i];
        c->name = strdup(names[i]);
        c->vt = types[i];
        c->unit = units[i];
        rc = physical(c, e);
    }
    if (rc < 0) {
        pq_writer_free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void pq_writer_free(pq_writer *w) {
    if (!w) return;
    for (uint32_t i = 0; w->cols && i < w->ncols; i++) {
        free((char *)w->cols[i].name);
        buf_free(&w->cols[i].vals);
        buf_free(&w->cols[i].valid);
    }
    free(w->cols);
    buf_free(&w->meta);
    arena_free(w->sa);
    free(w);
}

uint64_t pq_writer_rows(const pq_writer *w) {
    return w->rows;
}

/* ------------------------------------------------------------------ values to bytes */

static void put_le(buf *b, uint64_t v, int n) {
    for (int k = 0; k < n; k++) buf_putc(b, (char)(v >> (8 * k)));
}

static i128 slot_dec(const struct wcol *c, uint32_t i) {
    dec128 d;
    memcpy(&d, c->vals.p + (size_t)i * c->stride, sizeof d);
    return dec_get(d);
}
static uint64_t slot_u64(const struct wcol *c, uint32_t i) {
    uint64_t v;
    memcpy(&v, c->vals.p + (size_t)i * 8, 8);
    return v;
}
static double slot_f64(const struct wcol *c, uint32_t i) {
    double v;
    memcpy(&v, c->vals.p + (size_t)i * 8, 8);
    return v;
}
static strv slot_str(const struct wcol *c, uint32_t i) {
    strv v;
    memcpy(&v, c->vals.p + (size_t)i * sizeof v, sizeof v);
    return v;
}

/* The PLAIN bytes of row i's value (not BOOLEAN, which packs bits). */
static void plain_value(buf *b, const struct wcol *c, uint32_t i) {
    switch (c->ptype) {
    case PT_INT32:
        put_le(b, c->vt == VT_DEC128 ? (uint64_t)slot_dec(c, i) : slot_u64(c, i), 4);
        return;
    case PT_INT64: {
        uint64_t v = c->vt == VT_DEC128 ? (uint64_t)slot_dec(c, i) : slot_u64(c, i);
        if (c->vt == VT_TS && c->unit == TU_S) v = (uint64_t)((int64_t)v * 1000);
        put_le(b, v, 8);
        return;
    }
    case PT_FLOAT: {
        float f = (float)slot_f64(c, i);
        uint32_t u;
        memcpy(&u, &f, 4);
        put_le(b, u, 4);
        return;
    }
    case PT_DOUBLE:
        put_le(b, slot_u64(c, i), 8);
        return;
    case PT_BYTE_ARRAY: {
        strv s = slot_str(c, i);
        put_le(b, s.len, 4);
        buf_append(b, s.p, s.len);
        return;
    }
    default: { /* FIXED_LEN_BYTE_ARRAY(16): a decimal, big-endian */
        unsigned __int128 u = (unsigned __int128)slot_dec(c, i);
        for (int k = 15; k >= 0; k--) buf_putc(b, (char)(uint8_t)(u >> (8 * k)));
        return;
    }
    }
}

/* Whether row i's value sorts before row j's, as Parquet orders the column's type. */
static bool less(const struct wcol *c, uint32_t i, uint32_t j) {
    switch (c->vt) {
    case VT_U64:
        return slot_u64(c, i) < slot_u64(c, j);
    case VT_F64:
        return slot_f64(c, i) < slot_f64(c, j);
    case VT_STR: {
        strv a = slot_str(c, i), b = slot_str(c, j);
        int r = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
        return r < 0 || (r == 0 && a.len < b.len);
    }
    case VT_DEC128:
        return slot_dec(c, i) < slot_dec(c, j);
    default:
        return (int64_t)slot_u64(c, i) < (int64_t)slot_u64(c, j);
    }
}

/* ------------------------------------------------------------------ buffering */

int pq_writer_add(pq_writer *w, const batch *b, err *e);
static int flush_rg(pq_writer *w, err *e);

int pq_writer_add(pq_writer *w, const batch *b, err *e) {
    if (w->failed) return err_set(e, 500, EC_INTERNAL, "Parquet writer used after a failure");
    if (b->ncols != w->ncols) return err_set(e, 500, EC_INTERNAL, "Parquet writer: column count");
    uint32_t r = 0;
    while (r < b->nrows) {
        uint32_t take = b->nrows - r;
        if (take > w->o.rg_rows - w->n) take = w->o.rg_rows - w->n;
        for (uint32_t k = 0; k < w->ncols; k++) {
            struct wcol *c = &w->cols[k];
            const vec *v = &b->cols[k];
            buf_reserve(&c->vals, (size_t)take * c->stride);
            buf_reserve(&c->valid, take);
            for (uint32_t i = r; i < r + take; i++) {
                bool ok = v->type != VT_NULL && vec_is_valid(v, i);
                buf_putc(&c->valid, ok);
                char slot[16] = {0};
                if (ok) {
                    switch (c->vt) {
                    case VT_BOOL:
                        slot[0] = v->d.b[i];
                        break;
                    case VT_STR: {
                        strv s = v->d.s[i];
                        char *p = arena_alloc(w->sa, s.len + 1);
                        if (s.len) memcpy(p, s.p, s.len);
                        s.p = p;
                        memcpy(slot, &s, sizeof s);
                        w->bytes += s.len;
                        break;
                    }
                    case VT_DEC128:
                        memcpy(slot, &v->d.dec[i], sizeof(dec128));
                        break;
                    default:
                        memcpy(slot, &v->d.i64[i], 8);
                        break;
                    }
                } else if (c->vt == VT_STR) {
                    strv s = {"", 0};
                    memcpy(slot, &s, sizeof s);
                }
                buf_append(&c->vals, slot, c->stride);
            }
            w->bytes += (size_t)take * (c->stride + 1);
        }
        w->n += take;
        w->rows += take;
        r += take;
        if ((w->n >= w->o.rg_rows || w->bytes >= PQ_RG_BYTES) && flush_rg(w, e) < 0) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ pages */

/* A page: its header (which it writes) and its body compressed; adds both to the chunk sizes. */
static int write_page(pq_writer *w, int type, const buf *body, uint32_t nvals, int enc,
                      int64_t *usize, int64_t *csize, buf *tmp, err *e) {
    buf_reset(tmp);
    if (pq_compress(w->o.codec, (const uint8_t *)body->p, body->len, tmp, e) < 0) {
        w->failed = true;
        return -1;
    }
    buf hdr;
    buf_init(&hdr);
    tc_writer t;
    tcw_init(&t, &hdr);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, type);
    tcw_i32(&t, 2, (int32_t)body->len);
    tcw_i32(&t, 3, (int32_t)tmp->len);
    tcw_field(&t, TT_STRUCT, type == PAGE_DICTIONARY ? 7 : 5);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, (int32_t)nvals);
    tcw_i32(&t, 2, enc);
    if (type == PAGE_DATA) {
        tcw_i32(&t, 3, ENC_RLE);
        tcw_i32(&t, 4, ENC_RLE);
    }
    tcw_struct_end(&t);
    tcw_struct_end(&t);
    *usize += (int64_t)(hdr.len + body->len);
    *csize += (int64_t)(hdr.len + tmp->len);
    int rc = emit(w, hdr.p, hdr.len, e);
    if (rc == 0) rc = emit(w, tmp->p, tmp->len, e);
    buf_free(&hdr);
    return rc;
}

/* Open-addressing set of a column's distinct strings: slot -> dictionary index + 1. */
struct dict {
    uint32_t *slots, cap, n;
    uint32_t *rows; /* the row of each entry's first occurrence */
    uint32_t *idx;  /* each row's entry */
    size_t bytes;
};

static uint64_t hash_str(strv s) {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t k = 0; k < s.len; k++) h = (h ^ (uint8_t)s.p[k]) * 1099511628211ull;
    return h;
}

/* Builds the dictionary of c's n rows; false if it does not pay (then d is freed). */
static bool build_dict(const struct wcol *c, uint32_t n, struct dict *d) {
    memset(d, 0, sizeof *d);
    uint32_t nonnull = 0;
    for (uint32_t i = 0; i < n; i++) nonnull += (uint8_t)c->valid.p[i];
    if (nonnull < 2) return false;
    d->cap = 1024;
    while (d->cap < nonnull) d->cap *= 2;
    d->cap *= 2;
    d->slots = calloc(d->cap, sizeof *d->slots);
    d->rows = malloc(sizeof *d->rows * (nonnull + 1));
    d->idx = calloc(n + 1, sizeof *d->idx);
    if (!d->slots || !d->rows || !d->idx) goto no;
    for (uint32_t i = 0; i < n; i++) {
        if (!c->valid.p[i]) continue;
        strv s = slot_str(c, i);
        uint32_t h = (uint32_t)hash_str(s) & (d->cap - 1);
        for (;;) {
            uint32_t e = d->slots[h];
            if (!e) {
                d->rows[d->n] = i;
                d->slots[h] = ++d->n;
                d->idx[i] = d->n - 1;
                d->bytes += 4 + s.len;
                break;
            }
            strv o = slot_str(c, d->rows[e - 1]);
            if (o.len == s.len && !memcmp(o.p, s.p, s.len)) {
                d->idx[i] = e - 1;
                break;
            }
            h = (h + 1) & (d->cap - 1);
        }
        if (d->bytes > DICT_MAX_BYTES || d->n > nonnull / 2 + 1) goto no;
    }
    return true;
no:
    free(d->slots);
    free(d->rows);
    free(d->idx);
    memset(d, 0, sizeof *d);
    return false;
}

static void dict_free(struct dict *d) {
    free(d->slots);
    free(d->rows);
    free(d->idx);
}

/* The statistics of a chunk: null count, and the rows holding its min and max (-1: none). */
static void chunk_stats(const struct wcol *c, uint32_t n, int64_t *nulls, int64_t *mn,
                        int64_t *mx) {
    *nulls = 0;
    *mn = *mx = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!c->valid.p[i]) {
            (*nulls)++;
            continue;
        }
        if (c->vt == VT_NULL || (c->vt == VT_F64 && isnan(slot_f64(c, i)))) continue;
        if (*mn < 0 || less(c, i, (uint32_t)*mn)) *mn = i;
        if (*mx < 0 || less(c, (uint32_t)*mx, i)) *mx = i;
    }
}

static void stat_value(buf *b, const struct wcol *c, uint32_t i) {
    if (c->ptype == PT_BOOLEAN) {
        buf_putc(b, c->vals.p[(size_t)i * 8]);
    } else if (c->ptype == PT_BYTE_ARRAY) {
        strv s = slot_str(c, i);
        buf_append(b, s.p, s.len);
    } else {
        plain_value(b, c, i);
    }
}

/* The logical and converted type of a column in its schema element. */
static void write_annotation(tc_writer *t, const struct wcol *c) {
    int conv = -1;
    if (c->vt == VT_U64) conv = CT_UINT_64;
    if (c->vt == VT_STR) conv = CT_UTF8;
    if (c->vt == VT_DATE) conv = CT_DATE;
    if (c->vt == VT_DEC128) conv = CT_DECIMAL;
    if (conv >= 0) tcw_i32(t, 6, conv);
    if (c->vt == VT_DEC128) {
        tcw_i32(t, 7, dec_scale(c->unit));
        tcw_i32(t, 8, dec_prec(c->unit));
    }
    if (c->vt == VT_BOOL || c->vt == VT_F64 || (c->vt == VT_I64 && c->unit != NU_32)) return;
    tcw_field(t, TT_STRUCT, 10);
    tcw_struct_begin(t);
    switch (c->vt) {
    case VT_STR:
        tcw_empty_struct(t, 1);
        break;
    case VT_DATE:
        tcw_empty_struct(t, 6);
        break;
    case VT_NULL:
        tcw_empty_struct(t, 11);
        break;
    case VT_DEC128:
        tcw_field(t, TT_STRUCT, 5);
        tcw_struct_begin(t);
        tcw_i32(t, 1, dec_scale(c->unit));
        tcw_i32(t, 2, dec_prec(c->unit));
        tcw_struct_end(t);
        break;
    case VT_TS:
        tcw_field(t, TT_STRUCT, 8);
        tcw_struct_begin(t);
        tcw_bool(t, 1, false);
        tcw_field(t, TT_STRUCT, 2);
        tcw_struct_begin(t);
        tcw_empty_struct(t, c->unit == TU_NS ? 3 : c->unit == TU_US ? 2 : 1);
        tcw_struct_end(t);
        tcw_struct_end(t);
        break;
    default: /* INTEGER: Int32 signed, UInt64 */
        tcw_field(t, TT_STRUCT, 10);
        tcw_struct_begin(t);
        tcw_field(t, TT_BYTE, 1);
        buf_putc(t->b, c->vt == VT_U64 ? 64 : 32);
        tcw_bool(t, 2, c->vt != VT_U64);
        tcw_struct_end(t);
        break;
    }
    tcw_struct_end(t);
}

/* Writes column c's buffered n rows as a chunk, appending its ColumnChunk to meta. */
static int write_chunk(pq_writer *w, struct wcol *c, uint32_t n, tc_writer *mt, err *e) {
    struct dict d;
    bool use_dict = c->vt == VT_STR && !w->o.no_dictionary && build_dict(c, n, &d);
    int64_t usize = 0, csize = 0, dict_off = -1, data_off;
    buf body, tmp;
    buf_init(&body);
    buf_init(&tmp);
    int rc = 0;
    int64_t start = (int64_t)w->off;
    if (use_dict) {
        dict_off = start;
        for (uint32_t k = 0; k < d.n; k++) plain_value(&body, c, d.rows[k]);
        rc = write_page(w, PAGE_DICTIONARY, &body, d.n, ENC_PLAIN, &usize, &csize, &tmp, e);
    }
    data_off = (int64_t)w->off;
    int width = use_dict ? (d.n > 1 ? pq_bit_width(d.n - 1) : 1) : 1;
    uint32_t *lv = malloc(sizeof *lv * (w->o.page_rows + 1));
    if (!lv) rc = err_set(e, 500, EC_INTERNAL, "out of memory");
    for (uint32_t p0 = 0; p0 < n && rc == 0; p0 += w->o.page_rows) {
        uint32_t pn = n - p0 < w->o.page_rows ? n - p0 : w->o.page_rows;
        buf_reset(&body);
        /* definition levels: a 4-byte length, then the hybrid runs */
        buf_put_u32le(&body, 0);
        for (uint32_t i = 0; i < pn; i++) lv[i] = (uint8_t)c->valid.p[p0 + i];
        rle_encode(&body, lv, pn, 1);
        uint32_t llen = (uint32_t)body.len - 4;
        memcpy(body.p,
               &(uint8_t[4]){(uint8_t)llen, (uint8_t)(llen >> 8), (uint8_t)(llen >> 16),
                             (uint8_t)(llen >> 24)},
               4);
        if (use_dict) {
            uint32_t m = 0;
            for (uint32_t i = 0; i < pn; i++)
                if (c->valid.p[p0 + i]) lv[m++] = d.idx[p0 + i];
            buf_putc(&body, (char)width);
            rle_encode(&body, lv, m, width);
        } else if (c->ptype == PT_BOOLEAN) {
            uint8_t acc = 0;
            int bits = 0;
            for (uint32_t i = 0; i < pn; i++) {
                if (!c->valid.p[p0 + i]) continue;
                acc |= (uint8_t)((c->vals.p[(size_t)(p0 + i) * 8] & 1) << bits);
                if (++bits == 8) {
                    buf_putc(&body, (char)acc);
                    acc = 0;
                    bits = 0;
                }
            }
            if (bits) buf_putc(&body, (char)acc);
        } else if (c->vt != VT_NULL) {
            for (uint32_t i = 0; i < pn; i++)
                if (c->valid.p[p0 + i]) plain_value(&body, c, p0 + i);
        }
        rc = write_page(w, PAGE_DATA, &body, pn, use_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN, &usize,
                        &csize, &tmp, e);
    }
    free(lv);
    buf_free(&body);
    buf_free(&tmp);
    if (use_dict) dict_free(&d);
    if (rc < 0) return -1;
    /* ColumnChunk { file_offset, meta_data } */
    tcw_struct_begin(mt);
    tcw_i64(mt, 2, start);
    tcw_field(mt, TT_STRUCT, 3);
    tcw_struct_begin(mt);
    tcw_i32(mt, 1, c->ptype);
    tcw_list(mt, 2, TT_I32, use_dict ? 3 : 2);
    tcw_zigzag(mt, ENC_PLAIN);
    tcw_zigzag(mt, ENC_RLE);
    if (use_dict) tcw_zigzag(mt, ENC_RLE_DICTIONARY);
    tcw_list(mt, 3, TT_BINARY, 1);
    tcw_varint(mt, strlen(c->name));
    buf_append(mt->b, c->name, strlen(c->name));
    tcw_i32(mt, 4, w->o.codec);
    tcw_i64(mt, 5, n);
    tcw_i64(mt, 6, usize);
    tcw_i64(mt, 7, csize);
    tcw_i64(mt, 9, data_off);
    if (dict_off >= 0) tcw_i64(mt, 11, dict_off);
    int64_t nulls, mn, mx;
    chunk_stats(c, n, &nulls, &mn, &mx);
    tcw_field(mt, TT_STRUCT, 12);
    tcw_struct_begin(mt);
    tcw_i64(mt, 3, nulls);
    if (mn >= 0) {
        buf v;
        buf_init(&v);
        stat_value(&v, c, (uint32_t)mx);
        tcw_binary(mt, 5, v.p, (uint32_t)v.len);
        buf_reset(&v);
        stat_value(&v, c, (uint32_t)mn);
        tcw_binary(mt, 6, v.p, (uint32_t)v.len);
        buf_free(&v);
    }
    tcw_struct_end(mt);
    tcw_struct_end(mt);
    tcw_struct_end(mt);
    return 0;
}

static int flush_rg(pq_writer *w, err *e) {
    if (w->n == 0) return 0;
    if (w->off == 0 && emit(w, "PAR1", 4, e) < 0) return -1;
    uint64_t start = w->off;
    buf cols;
    buf_init(&cols);
    tc_writer t;
    tcw_init(&t, &cols);
    t.depth = 1; /* inside the list: each chunk a struct of its own */
    int rc = 0;
    for (uint32_t k = 0; k < w->ncols && rc == 0; k++)
        rc = write_chunk(w, &w->cols[k], w->n, &t, e);
    if (rc == 0) {
        /* RowGroup { columns, total_byte_size, num_rows } */
        tc_writer m;
        tcw_init(&m, &w->meta);
        tcw_struct_begin(&m);
        tcw_list(&m, 1, TT_STRUCT, w->ncols);
        buf_append(&w->meta, cols.p, cols.len);
        tcw_i64(&m, 2, (int64_t)(w->off - start));
        tcw_i64(&m, 3, w->n);
        tcw_struct_end(&m);
        w->nrg++;
    }
    buf_free(&cols);
    for (uint32_t k = 0; k < w->ncols; k++) {
        buf_reset(&w->cols[k].vals);
        buf_reset(&w->cols[k].valid);
    }
    arena_reset(w->sa);
    w->n = 0;
    w->bytes = 0;
    return rc;
}

int pq_writer_finish(pq_writer *w, err *e) {
    if (w->failed) return err_set(e, 500, EC_INTERNAL, "Parquet writer used after a failure");
    if (flush_rg(w, e) < 0) return -1;
    if (w->off == 0 && emit(w, "PAR1", 4, e) < 0) return -1;
    buf f;
    buf_init(&f);
    tc_writer t;
    tcw_init(&t, &f);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, 1);
    tcw_list(&t, 2, TT_STRUCT, w->ncols + 1);
    tcw_struct_begin(&t);
    tcw_binary(&t, 4, "schema", 6);
    tcw_i32(&t, 5, (int32_t)w->ncols);
    tcw_struct_end(&t);
    for (uint32_t k = 0; k < w->ncols; k++) {
        const struct wcol *c = &w->cols[k];
        tcw_struct_begin(&t);
        tcw_i32(&t, 1, c->ptype);
        if (c->type_length) tcw_i32(&t, 2, c->type_length);
        tcw_i32(&t, 3, REP_OPTIONAL);
        tcw_binary(&t, 4, c->name, (uint32_t)strlen(c->name));
        write_annotation(&t, c);
        tcw_struct_end(&t);
    }
    tcw_i64(&t, 3, (int64_t)w->rows);
    tcw_list(&t, 4, TT_STRUCT, w->nrg);
    buf_append(&f, w->meta.p, w->meta.len);
    tcw_binary(&t, 6, "Strata", 6);
    tcw_struct_end(&t);
    uint32_t len = (uint32_t)f.len;
    buf_put_u32le(&f, len);
    buf_append(&f, "PAR1", 4);
    int rc = emit(w, f.p, f.len, e);
    buf_free(&f);
    return rc;
}
