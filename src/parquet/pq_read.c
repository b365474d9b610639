/* Reading a Parquet file's selected columns page by page into batches (see parquet.h).
 *
 * Each selected column keeps a cursor in its column chunk: the next page header's offset, the
 * current page's bytes (compressed and uncompressed buffers, reused from page to page), its
 * dictionary, and decoders for the definition levels and the values. Rows are decoded one at a
 * time straight from the page into the batch, so no page is ever expanded into an array of its
 * values: a page that claims millions of values in a few bytes of RLE costs nothing until its
 * rows are asked for, and then only the batch's. */
#include "parquet/pq_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dec.h"
#include "util/utf8.h"
#include "util/vec.h"

/* ------------------------------------------------------------------ opening */

static int open_common(pq_file *f, err *e) {
    if (pq_parse_meta(f, e) < 0) {
        pq_close(f);
        return -1;
    }
    return 0;
}

int pq_open(const char *path, pq_file **out, err *e) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        return err_set(e, 422, EC_QUERY_INTERNAL, PQ_ERR "cannot open %s: %s", path,
                       strerror(errno));
    }
    pq_file *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return err_set(e, 500, EC_INTERNAL, "out of memory");
    }
    f->a = arena_new(0);
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    f->path = arena_strdup(f->a, path);
    if (open_common(f, e) < 0) return -1;
    *out = f;
    return 0;
}

int pq_open_mem(const void *p, size_t n, const char *name, pq_file **out, err *e) {
    *out = NULL;
    pq_file *f = calloc(1, sizeof *f);
    if (!f) return err_set(e, 500, EC_INTERNAL, "out of memory");
    f->a = arena_new(0);
    f->fd = -1;
    f->mem = n ? p : (const uint8_t *)"";
    f->size = n;
    f->path = arena_strdup(f->a, name ? name : "(memory)");
    if (open_common(f, e) < 0) return -1;
    *out = f;
    return 0;
}

static void free_sel(pq_file *f) {
    for (uint32_t i = 0; i < f->nsel; i++) {
        struct pq_colread *c = &f->sel[i];
        free(c->comp);
        free(c->page);
        free(c->dict);
        free(c->dview);
        buf_free(&c->prev);
    }
    free(f->sel);
    f->sel = NULL;
    f->nsel = 0;
}

void pq_close(pq_file *f) {
    if (!f) return;
    free_sel(f);
    if (f->fd >= 0) close(f->fd);
    arena_free(f->a);
    free(f);
}

uint32_t pq_ncols(const pq_file *f) {
    return f->ncols;
}
const pq_col_info *pq_col(const pq_file *f, uint32_t i) {
    return &f->cols[i].info;
}
uint64_t pq_nrows(const pq_file *f) {
    return f->nrows;
}
uint32_t pq_nrow_groups(const pq_file *f) {
    return f->nrg;
}

int pq_find(const pq_file *f, const char *name) {
    for (uint32_t i = 0; i < f->ncols; i++)
        if (!strcmp(f->cols[i].info.name, name)) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ selection */

static bool convertible(const pq_field *fl, uint8_t vt) {
    switch (fl->kind) {
    case SK_BOOL:
        return vt == VT_BOOL;
    case SK_INT:
    case SK_UINT:
        return vt == VT_I64 || vt == VT_U64 || vt == VT_F64;
    case SK_FLOAT:
        return vt == VT_F64;
    case SK_STR:
    case SK_BIN:
        return vt == VT_STR;
    case SK_DATE:
        return vt == VT_DATE || vt == VT_TS;
    case SK_TS:
        return vt == VT_TS;
    case SK_DEC:
        return vt == VT_DEC128 || vt == VT_F64;
    default:
        return false;
    }
}

int pq_select(pq_file *f, uint32_t n, const int *cols, const uint8_t *vts, const uint8_t *units,
              err *e) {
    free_sel(f);
    f->sel = calloc(n + 1, sizeof *f->sel);
    if (!f->sel) return err_set(e, 500, EC_INTERNAL, "out of memory");
    f->nsel = n;
    f->rg = 0;
    f->rg_left = 0;
    for (uint32_t k = 0; k < n; k++) {
        struct pq_colread *c = &f->sel[k];
        c->field = cols[k];
        c->vt = vts[k];
        c->unit = units[k];
        if (cols[k] < 0) continue;
        if ((uint32_t)cols[k] >= f->ncols) return err_set(e, 500, EC_INTERNAL, "bad column");
        c->fl = &f->cols[cols[k]];
        if (c->fl->info.unsupported)
            return err_set(e, 422, EC_NOT_IMPL,
                           "This feature is not implemented: the Parquet column %s of %s is %s",
                           c->fl->info.name, f->path, c->fl->info.unsupported);
        if (!convertible(c->fl, vts[k]))
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: cannot read the Parquet column %s "
                           "(%s) of %s as %s",
                           c->fl->info.name, c->fl->info.arrow, f->path,
                           vtype_arrow_name(vts[k], units[k]));
    }
    return 0;
}

/* ------------------------------------------------------------------ conversion */

static int out_of_range(pq_file *f, const struct pq_colread *c, const char *shown, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL,
                   PQ_ERR "the value %s of column %s does not fit %s: %s", shown, c->fl->info.name,
                   vtype_arrow_name(c->vt, c->unit), f->path);
}

/* Big-endian two's complement bytes (at most 16) as a 128-bit integer. */
static bool be_int(strv s, i128 *out) {
    if (s.len > 16) return false;
    if (s.len == 0) {
        *out = 0;
        return true;
    }
    const uint8_t *p = (const uint8_t *)s.p;
    unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
    for (uint32_t k = 0; k < s.len; k++) u = (u << 8) | p[k];
    *out = (i128)u;
    return true;
}

static int64_t scale_ts(int64_t v, uint8_t from, uint8_t to, bool *ok) {
    int64_t fp = tunit_per_sec(from), tp = tunit_per_sec(to);
    if (fp == tp) return v;
    if (fp > tp) {
        int64_t d = fp / tp, q = v / d;
        if (v % d < 0) q--; /* floor, so instants before 1970 round down as arrow's cast does */
        return q;
    }
    int64_t r;
    if (__builtin_mul_overflow(v, tp / fp, &r)) *ok = false;
    return r;
}

static int put(pq_file *f, struct pq_colread *c, const pq_raw *r, vec *v, uint32_t row, arena *a,
               err *e) {
    const pq_field *fl = c->fl;
    char shown[48];
    switch (fl->kind) {
    case SK_BOOL:
        v->d.b[row] = r->i != 0;
        return 0;
    case SK_INT:
    case SK_UINT: {
        bool neg = fl->kind == SK_INT && r->i < 0;
        uint64_t u = fl->kind == SK_UINT && fl->ptype == PT_INT32 ? (uint32_t)r->i : (uint64_t)r->i;
        if (c->vt == VT_F64) {
            v->d.f64[row] = neg ? (double)r->i : (double)u;
            if (c->unit == NU_32) v->d.f64[row] = (float)v->d.f64[row];
            return 0;
        }
        if (neg)
            snprintf(shown, sizeof shown, "%lld", (long long)r->i);
        else
            snprintf(shown, sizeof shown, "%llu", (unsigned long long)u);
        if (c->vt == VT_U64) {
            if (neg) return out_of_range(f, c, shown, e);
            v->d.u64[row] = u;
            return 0;
        }
        if (!neg && u > INT64_MAX) return out_of_range(f, c, shown, e);
        int64_t x = neg ? r->i : (int64_t)u;
        if (c->unit == NU_32 && (x < INT32_MIN || x > INT32_MAX))
            return out_of_range(f, c, shown, e);
        v->d.i64[row] = x;
        return 0;
    }
    case SK_FLOAT:
        v->d.f64[row] = c->unit == NU_32 ? (float)r->f : r->f;
        return 0;
    case SK_STR: {
        if (!utf8_valid(r->s.p, r->s.len, NULL)) return pq_col_damaged(f, c, "invalid UTF-8", e);
        char *p = arena_alloc(a, r->s.len + 1);
        if (r->s.len) memcpy(p, r->s.p, r->s.len);
        v->d.s[row] = (strv){p, r->s.len};
        return 0;
    }
    case SK_BIN: {
        static const char hex[] = "0123456789abcdef";
        char *p = arena_alloc(a, (size_t)r->s.len * 2 + 1);
        for (uint32_t k = 0; k < r->s.len; k++) {
            p[2 * k] = hex[(uint8_t)r->s.p[k] >> 4];
            p[2 * k + 1] = hex[(uint8_t)r->s.p[k] & 15];
        }
        v->d.s[row] = (strv){p, r->s.len * 2};
        return 0;
    }
    case SK_DATE:
        if (c->vt == VT_DATE) {
            v->d.i64[row] = r->i;
            return 0;
        } else {
            bool ok = true;
            int64_t x = scale_ts(r->i * 86400, TU_S, c->unit, &ok);
            snprintf(shown, sizeof shown, "%lld", (long long)r->i);
            if (!ok) return out_of_range(f, c, shown, e);
            v->d.i64[row] = x;
            return 0;
        }
    case SK_TS: {
        bool ok = true;
        int64_t x = scale_ts(r->i, fl->ts_unit, c->unit, &ok);
        snprintf(shown, sizeof shown, "%lld", (long long)r->i);
        if (!ok) return out_of_range(f, c, shown, e);
        v->d.i64[row] = x;
        return 0;
    }
    case SK_DEC: {
        i128 d;
        if (fl->ptype == PT_INT32 || fl->ptype == PT_INT64)
            d = r->i;
        else if (!be_int(r->s, &d))
            return pq_col_damaged(f, c, "a decimal wider than 16 bytes", e);
        if (c->vt == VT_F64) {
            v->d.f64[row] = dec_to_f64(d, fl->dec_s);
            return 0;
        }
        i128 out;
        char text[DEC_TEXT_MAX];
        if (!dec_rescale(d, fl->dec_s, dec_scale(c->unit), &out) ||
            !dec_fits(out, dec_prec(c->unit))) {
            dec_format(d, fl->dec_s, text);
            snprintf(shown, sizeof shown, "%s", text);
            return out_of_range(f, c, shown, e);
        }
        v->d.dec[row] = dec_put(out);
        return 0;
    }
    default:
        return pq_col_damaged(f, c, "an unreadable value", e);
    }
}

/* ------------------------------------------------------------------ batches */

static int open_rg(pq_file *f, uint32_t g, err *e) {
    const pq_rg *rg = &f->rgs[g];
    for (uint32_t k = 0; k < f->nsel; k++) {
        struct pq_colread *c = &f->sel[k];
        if (c->field < 0) continue;
        c->ch = &rg->chunks[c->fl->leaf];
        if (c->ch->ptype != c->fl->ptype)
            return pq_col_damaged(f, c, "a column chunk of another type than the schema's", e);
        c->pos = c->ch->start;
        c->values_read = 0;
        c->page_left = 0;
        c->has_dict = false;
        c->ndict = 0;
        free(c->dview);
        c->dview = NULL;
    }
    f->rg_left = rg->nrows;
    return 0;
}

static int fill(pq_file *f, struct pq_colread *c, uint32_t n, vec *v, arena *a, err *e) {
    if (c->field < 0) {
        vec_alloc_null(a, c->vt, c->unit, n, v);
        return 0;
    }
    vec_alloc(a, c->vt, c->unit, n, v);
    for (uint32_t i = 0; i < n; i++) {
        if (c->page_left == 0 && pq_load_page(f, c, e) < 0) return -1;
        c->page_left--;
        if (c->has_defs) {
            uint32_t d;
            if (!rle_next(&c->defs, &d) || d > 1)
                return pq_col_damaged(f, c, "damaged definition levels", e);
            if (d == 0) {
                vec_set_null(a, v, i);
                continue;
            }
        }
        pq_raw r = {0};
        if (!pq_next_value(c, &r))
            return pq_col_damaged(f, c, "a page with fewer values than it claims", e);
        if (put(f, c, &r, v, i, a, e) < 0) return -1;
    }
    return 0;
}

int pq_next(pq_file *f, arena *a, uint32_t max_rows, batch *b, err *e) {
    if (!f->sel) return err_set(e, 500, EC_INTERNAL, "pq_next before pq_select");
    while (f->rg_left == 0) {
        if (f->rg >= f->nrg) return 0;
        if (open_rg(f, f->rg++, e) < 0) return -1;
    }
    uint32_t n = max_rows ? max_rows : PQ_PAGE_ROWS;
    if ((int64_t)n > f->rg_left) n = (uint32_t)f->rg_left;
    b->ncols = f->nsel;
    b->nrows = n;
    b->cols = arena_alloc(a, sizeof *b->cols * (f->nsel + 1));
    for (uint32_t k = 0; k < f->nsel; k++) {
        if (fill(f, &f->sel[k], n, &b->cols[k], a, e) < 0) return -1;
        b->cols[k].len = n;
        vec_compact_valid(&b->cols[k], n);
    }
    f->rg_left -= n;
    return 1;
}
