/* A selected column's pages (see parquet.h): page headers read and checked against the column
 * chunk, dictionary pages decoded once per chunk, data pages v1 and v2 decompressed and their
 * definition levels and value decoders set up, and values taken one at a time in every
 * encoding the reader supports. Nothing here allocates by a count the file claims: buffers are
 * the pages' own sizes, bounded by PQ_PAGE_MAX. */
#include "parquet/pq_int.h"

#include <stdlib.h>
#include <string.h>

/* A page header longer than this is damaged (real ones are bytes to kilobytes; statistics
 * with long strings make them longer). */
#define HDR_MAX (16u << 20)

/* ------------------------------------------------------------------ page headers */

int pq_col_damaged(pq_file *f, const struct pq_colread *c, const char *what, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, PQ_ERR "%s in column %s: %s", what, c->fl->info.name,
                   f->path);
}

static bool grow(uint8_t **p, size_t *cap, size_t need) {
    if (*cap >= need && *p) return true;
    size_t n = need < 4096 ? 4096 : need;
    uint8_t *q = realloc(*p, n);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

struct phdr {
    int type;
    int32_t usize, csize;
    int32_t nvals, enc, def_enc;
    int32_t def_len, rep_len;
    bool compressed;
};

static void parse_sub(tc_reader *r, struct phdr *h, int which) {
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (id == 1 && t == TT_I32)
            h->nvals = tc_i32(r);
        else if (which == 5 && id == 2 && t == TT_I32)
            h->enc = tc_i32(r);
        else if (which == 5 && id == 3 && t == TT_I32)
            h->def_enc = tc_i32(r);
        else if (which == 7 && id == 2 && t == TT_I32)
            h->enc = tc_i32(r);
        else if (which == 8 && id == 4 && t == TT_I32)
            h->enc = tc_i32(r);
        else if (which == 8 && id == 5 && t == TT_I32)
            h->def_len = tc_i32(r);
        else if (which == 8 && id == 6 && t == TT_I32)
            h->rep_len = tc_i32(r);
        else if (which == 8 && id == 7 && (t == TT_TRUE || t == TT_FALSE))
            h->compressed = tc_bool(r, t);
        else
            tc_skip(r, t);
    }
    tc_struct_end(r);
}

/* Parses a page header at c->pos: its length into *hlen. */
static int read_header(pq_file *f, struct pq_colread *c, struct phdr *h, size_t *hlen, err *e) {
    uint64_t left = (uint64_t)(c->ch->end - c->pos);
    size_t win = 256;
    for (;;) {
        if (win > left) win = (size_t)left;
        if (!grow(&c->comp, &c->comp_cap, win + 1))
            return err_set(e, 500, EC_INTERNAL, "out of memory");
        if (pq_pread(f, (uint64_t)c->pos, win, c->comp, e) < 0) return -1;
        tc_reader r;
        tc_init(&r, c->comp, win);
        memset(h, 0, sizeof *h);
        h->type = -1;
        h->compressed = true;
        tc_struct_begin(&r);
        int t, id;
        while (tc_field(&r, &t, &id)) {
            if (id == 1 && t == TT_I32)
                h->type = tc_i32(&r);
            else if (id == 2 && t == TT_I32)
                h->usize = tc_i32(&r);
            else if (id == 3 && t == TT_I32)
                h->csize = tc_i32(&r);
            else if ((id == 5 || id == 7 || id == 8) && t == TT_STRUCT)
                parse_sub(&r, h, id);
            else
                tc_skip(&r, t);
        }
        if (!r.bad) {
            *hlen = (size_t)(r.p - c->comp);
            return 0;
        }
        if (win >= left || win >= HDR_MAX) return pq_col_damaged(f, c, "a damaged page header", e);
        win *= 8;
    }
}

/* The hybrid-encoded levels or booleans of a v1 page: a 4-byte length, then the runs. */
static bool prefixed_rle(rle_dec *d, const uint8_t **p, const uint8_t *end, int width) {
    if (end - *p < 4) return false;
    uint32_t len = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 | (uint32_t)(*p)[2] << 16 |
                   (uint32_t)(*p)[3] << 24;
    if (len > (uint64_t)(end - *p - 4)) return false;
    rle_init(d, *p + 4, len, width);
    *p += 4 + len;
    return true;
}

static int value_width(const pq_field *fl) {
    switch (fl->ptype) {
    case PT_INT32:
    case PT_FLOAT:
        return 4;
    case PT_INT64:
    case PT_DOUBLE:
        return 8;
    case PT_INT96:
        return 12;
    case PT_FLBA:
        return fl->type_length;
    default:
        return 0;
    }
}

static int load_dict(pq_file *f, struct pq_colread *c, const struct phdr *h, const uint8_t *body,
                     err *e) {
    if (c->has_dict) return pq_col_damaged(f, c, "a second dictionary page", e);
    if (h->nvals < 0 || (h->enc != ENC_PLAIN && h->enc != ENC_PLAIN_DICTIONARY))
        return pq_col_damaged(f, c, "a damaged dictionary page", e);
    if (!grow(&c->dict, &c->dict_cap, (size_t)h->usize + 1))
        return err_set(e, 500, EC_INTERNAL, "out of memory");
    if (pq_decompress(c->ch->codec, body, (size_t)h->csize, c->dict, (size_t)h->usize, e) < 0)
        return -1;
    uint64_t n = (uint64_t)h->nvals;
    int w = value_width(c->fl);
    if (c->fl->ptype == PT_BYTE_ARRAY) {
        if (n * 4 > (uint64_t)h->usize) return pq_col_damaged(f, c, "a damaged dictionary page", e);
        c->dview = malloc(sizeof *c->dview * (n + 1));
        if (!c->dview) return err_set(e, 500, EC_INTERNAL, "out of memory");
        const uint8_t *p = c->dict, *end = c->dict + h->usize;
        for (uint64_t k = 0; k < n; k++) {
            if (end - p < 4) return pq_col_damaged(f, c, "a damaged dictionary page", e);
            uint32_t len =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            if (len > (uint64_t)(end - p - 4))
                return pq_col_damaged(f, c, "a damaged dictionary page", e);
            c->dview[k] = (strv){(const char *)p + 4, len};
            p += 4 + len;
        }
    } else if (c->fl->ptype == PT_BOOLEAN ? (n + 7) / 8 > (uint64_t)h->usize
                                          : n * (uint64_t)w > (uint64_t)h->usize) {
        return pq_col_damaged(f, c, "a damaged dictionary page", e);
    }
    c->ndict = (uint32_t)n;
    c->has_dict = true;
    return 0;
}

/* Sets up the value decoder of a data page whose values are p[0..end). */
static int start_values(pq_file *f, struct pq_colread *c, int enc, const uint8_t *p,
                        const uint8_t *end, err *e) {
    int pt = c->fl->ptype;
    c->enc = enc;
    c->vp = p;
    c->vend = end;
    c->bitpos = 0;
    switch (enc) {
    case ENC_PLAIN:
        return 0;
    case ENC_PLAIN_DICTIONARY:
    case ENC_RLE_DICTIONARY: {
        if (!c->has_dict)
            return pq_col_damaged(f, c, "a dictionary-encoded page without dictionary", e);
        if (p >= end) {
            rle_init(&c->idx, p, 0, 0);
            return 0;
        }
        int w = *p;
        if (w > 32) return pq_col_damaged(f, c, "a damaged dictionary index width", e);
        rle_init(&c->idx, p + 1, (size_t)(end - p - 1), w);
        return 0;
    }
    case ENC_RLE:
        if (pt != PT_BOOLEAN) break;
        if (!prefixed_rle(&c->idx, &c->vp, end, 1))
            return pq_col_damaged(f, c, "damaged RLE booleans", e);
        return 0;
    case ENC_DELTA_BINARY_PACKED:
        if (pt != PT_INT32 && pt != PT_INT64) break;
        if (!delta_init(&c->dd, p, (size_t)(end - p)) || c->dd.total > c->page_left)
            return pq_col_damaged(f, c, "a damaged DELTA_BINARY_PACKED page", e);
        return 0;
    case ENC_DELTA_LENGTH_BYTE_ARRAY:
    case ENC_DELTA_BYTE_ARRAY: {
        if (pt != PT_BYTE_ARRAY && !(enc == ENC_DELTA_BYTE_ARRAY && pt == PT_FLBA)) break;
        /* the lengths (and prefix lengths) come first: walk them once to find what follows */
        delta_dec *d = enc == ENC_DELTA_BYTE_ARRAY ? &c->dd2 : &c->dd;
        const uint8_t *q = p;
        for (int pass = enc == ENC_DELTA_BYTE_ARRAY ? 0 : 1; pass < 2; pass++) {
            delta_dec *cur = pass == 0 ? &c->dd : d, scan;
            if (!delta_init(cur, q, (size_t)(end - q)) || cur->total > c->page_left)
                return pq_col_damaged(f, c, "a damaged DELTA byte array page", e);
            scan = *cur;
            int64_t v;
            while (scan.done < scan.total)
                if (!delta_next(&scan, &v)) return pq_col_damaged(f, c, "a damaged DELTA page", e);
            q = delta_end(&scan);
        }
        c->bytes = q;
        buf_reset(&c->prev);
        return 0;
    }
    case ENC_BYTE_STREAM_SPLIT: {
        int w = value_width(c->fl);
        if (w <= 0) break;
        c->bss_n = (uint64_t)(end - p) / (uint64_t)w;
        c->bss_k = 0;
        return 0;
    }
    default:
        break;
    }
    return err_set(e, 422, EC_NOT_IMPL,
                   "This feature is not implemented: the Parquet encoding %d for column %s of %s",
                   enc, c->fl->info.name, f->path);
}

/* Reads pages until a data page with values is current. */
int pq_load_page(pq_file *f, struct pq_colread *c, err *e) {
    for (;;) {
        if (c->pos >= c->ch->end || c->values_read >= c->ch->num_values)
            return pq_col_damaged(f, c, "fewer values than the row group's rows", e);
        struct phdr h;
        size_t hlen = 0;
        if (read_header(f, c, &h, &hlen, e) < 0) return -1;
        int64_t body_off = c->pos + (int64_t)hlen;
        /* a compressed page is never much larger than its uncompressed size's limit */
        if (h.csize < 0 || h.usize < 0 || (uint32_t)h.usize > PQ_PAGE_MAX ||
            (uint32_t)h.csize > PQ_PAGE_MAX + (PQ_PAGE_MAX >> 4) || body_off > c->ch->end ||
            h.csize > c->ch->end - body_off)
            return pq_col_damaged(f, c, "a damaged page header", e);
        if (!grow(&c->comp, &c->comp_cap, (size_t)h.csize + 1))
            return err_set(e, 500, EC_INTERNAL, "out of memory");
        if (pq_pread(f, (uint64_t)body_off, (size_t)h.csize, c->comp, e) < 0) return -1;
        c->pos = body_off + h.csize;
        if (h.type == PAGE_DICTIONARY) {
            if (load_dict(f, c, &h, c->comp, e) < 0) return -1;
            continue;
        }
        if (h.type != PAGE_DATA && h.type != PAGE_DATA_V2) continue;
        if (h.nvals < 0) return pq_col_damaged(f, c, "a damaged page header", e);
        c->page_left = (uint32_t)h.nvals;
        c->values_read += h.nvals;
        c->has_defs = c->fl->max_def > 0;
        const uint8_t *p, *end;
        if (h.type == PAGE_DATA) {
            if (!grow(&c->page, &c->page_cap, (size_t)h.usize + 1))
                return err_set(e, 500, EC_INTERNAL, "out of memory");
            if (pq_decompress(c->ch->codec, c->comp, (size_t)h.csize, c->page, (size_t)h.usize, e) <
                0)
                return -1;
            p = c->page;
            end = c->page + h.usize;
            if (c->has_defs) {
                if (h.def_enc != ENC_RLE)
                    return err_set(e, 422, EC_NOT_IMPL,
                                   "This feature is not implemented: definition levels encoded "
                                   "as %d in column %s of %s",
                                   h.def_enc, c->fl->info.name, f->path);
                if (!prefixed_rle(&c->defs, &p, end, 1))
                    return pq_col_damaged(f, c, "damaged definition levels", e);
            }
        } else {
            if (h.def_len < 0 || h.rep_len < 0 ||
                (int64_t)h.def_len + h.rep_len > (int64_t)h.csize ||
                (int64_t)h.def_len + h.rep_len > (int64_t)h.usize)
                return pq_col_damaged(f, c, "a damaged data page v2 header", e);
            size_t lv = (size_t)h.def_len + (size_t)h.rep_len;
            if (c->has_defs) rle_init(&c->defs, c->comp + h.rep_len, (size_t)h.def_len, 1);
            if (h.compressed && c->ch->codec != CODEC_UNCOMPRESSED) {
                size_t ulen = (size_t)h.usize - lv;
                if (!grow(&c->page, &c->page_cap, ulen + 1))
                    return err_set(e, 500, EC_INTERNAL, "out of memory");
                if (pq_decompress(c->ch->codec, c->comp + lv, (size_t)h.csize - lv, c->page, ulen,
                                  e) < 0)
                    return -1;
                p = c->page;
                end = c->page + ulen;
            } else {
                p = c->comp + lv;
                end = c->comp + h.csize;
            }
        }
        if (start_values(f, c, h.enc, p, end, e) < 0) return -1;
        if (c->page_left) return 0;
    }
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Julian day of 1970-01-01: INT96 timestamps count days from the Julian epoch. */
#define JULIAN_UNIX 2440588

/* One fixed-width value of physical type pt at p (width bytes). */
static void fixed_value(const pq_field *fl, const uint8_t *p, pq_raw *out) {
    switch (fl->ptype) {
    case PT_INT32:
        out->i = (int32_t)le32(p);
        return;
    case PT_INT64:
        out->i = (int64_t)le64(p);
        return;
    case PT_INT96: {
        int64_t nanos = (int64_t)le64(p);
        int64_t day = (int32_t)le32(p + 8);
        out->i = (int64_t)((uint64_t)(day - JULIAN_UNIX) * 86400000000000ull + (uint64_t)nanos);
        return;
    }
    case PT_FLOAT: {
        uint32_t u = le32(p);
        float x;
        memcpy(&x, &u, 4);
        out->f = x;
        return;
    }
    case PT_DOUBLE: {
        uint64_t u = le64(p);
        memcpy(&out->f, &u, 8);
        return;
    }
    default: /* FIXED_LEN_BYTE_ARRAY */
        out->s = (strv){(const char *)p, (uint32_t)fl->type_length};
        return;
    }
}

/* Dictionary entry k. */
static bool dict_value(const struct pq_colread *c, uint32_t k, pq_raw *out) {
    if (k >= c->ndict) return false;
    if (c->fl->ptype == PT_BYTE_ARRAY) {
        out->s = c->dview[k];
    } else if (c->fl->ptype == PT_BOOLEAN) {
        out->i = (c->dict[k / 8] >> (k % 8)) & 1;
    } else {
        fixed_value(c->fl, c->dict + (size_t)k * (size_t)value_width(c->fl), out);
    }
    return true;
}

/* The next (non-NULL) value of the page: false if the page has no more. */
bool pq_next_value(struct pq_colread *c, pq_raw *out) {
    const pq_field *fl = c->fl;
    int pt = fl->ptype;
    switch (c->enc) {
    case ENC_PLAIN: {
        if (pt == PT_BOOLEAN) {
            if (c->bitpos / 8 >= (uint64_t)(c->vend - c->vp)) return false;
            out->i = (c->vp[c->bitpos / 8] >> (c->bitpos % 8)) & 1;
            c->bitpos++;
            return true;
        }
        if (pt == PT_BYTE_ARRAY) {
            if (c->vend - c->vp < 4) return false;
            uint32_t len = le32(c->vp);
            if (len > (uint64_t)(c->vend - c->vp - 4)) return false;
            out->s = (strv){(const char *)c->vp + 4, len};
            c->vp += 4 + len;
            return true;
        }
        int w = value_width(fl);
        if (c->vend - c->vp < w) return false;
        fixed_value(fl, c->vp, out);
        c->vp += w;
        return true;
    }
    case ENC_PLAIN_DICTIONARY:
    case ENC_RLE_DICTIONARY: {
        uint32_t k;
        return rle_next(&c->idx, &k) && dict_value(c, k, out);
    }
    case ENC_RLE: {
        uint32_t b;
        if (!rle_next(&c->idx, &b)) return false;
        out->i = b & 1;
        return true;
    }
    case ENC_DELTA_BINARY_PACKED:
        if (!delta_next(&c->dd, &out->i)) return false;
        if (pt == PT_INT32) out->i = (int32_t)out->i;
        return true;
    case ENC_DELTA_LENGTH_BYTE_ARRAY: {
        int64_t len;
        if (!delta_next(&c->dd, &len) || len < 0 || len > c->vend - c->bytes) return false;
        out->s = (strv){(const char *)c->bytes, (uint32_t)len};
        c->bytes += len;
        return true;
    }
    case ENC_DELTA_BYTE_ARRAY: {
        int64_t pre, suf;
        if (!delta_next(&c->dd, &pre) || !delta_next(&c->dd2, &suf)) return false;
        if (pre < 0 || (uint64_t)pre > c->prev.len || suf < 0 || suf > c->vend - c->bytes)
            return false;
        c->prev.len = (size_t)pre;
        buf_append(&c->prev, c->bytes, (size_t)suf);
        c->bytes += suf;
        out->s = (strv){c->prev.p ? c->prev.p : "", (uint32_t)c->prev.len};
        if (pt == PT_FLBA && out->s.len != (uint32_t)fl->type_length) return false;
        return true;
    }
    case ENC_BYTE_STREAM_SPLIT: {
        if (c->bss_k >= c->bss_n) return false;
        int w = value_width(fl);
        uint8_t tmp[64];
        if (w > (int)sizeof tmp) return false;
        for (int j = 0; j < w; j++) tmp[j] = c->vp[(uint64_t)j * c->bss_n + c->bss_k];
        c->bss_k++;
        if (pt == PT_FLBA) {
            /* the bytes must outlive this call: FLBA values are copied by the caller at once */
            buf_reset(&c->prev);
            buf_append(&c->prev, tmp, (size_t)w);
            out->s = (strv){c->prev.p, (uint32_t)w};
            return true;
        }
        fixed_value(fl, tmp, out);
        return true;
    }
    default:
        return false;
    }
}
