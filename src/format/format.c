/* Result encoders (see format.h): Accept negotiation, CSV/TSV, JSON, ND-JSON and the boxed
 * table, writing straight into the caller's buffer.
 *
 * CSV/TSV follow the Rust csv crate as arrow's writer drives it (quote only when needed, a
 * record that would otherwise be empty is written as `""`). The table follows comfy-table as
 * arrow's pretty printer sets it up: widths in terminal columns (unicode-width), a cell with
 * line breaks spans several lines, no lines between data rows. */
#include "format/format.h"

#include "format/fmt_num.h"
#include "util/dec.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/vlist.h"
#include "util/vstruct.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Accept ---- */

int fmt_from_accept(const char *accept, enum fmt_kind *out, err *e) {
    if (!accept || !*accept || strcmp(accept, "*/*") == 0 || strcmp(accept, "application/*") == 0) {
        *out = FMT_CSV;
        return 0;
    }
    const char *suf = NULL;
    if (strncmp(accept, "application/", 12) == 0)
        suf = accept + 12;
    else if (strncmp(accept, "text/", 5) == 0)
        suf = accept + 5;
    if (suf) {
        static const struct {
            const char *name;
            enum fmt_kind kind;
        } kinds[] = {{"csv", FMT_CSV},
                     {"tsv", FMT_TSV},
                     {"json", FMT_JSON},
                     {"nd-json", FMT_NDJSON},
                     {"table", FMT_TABLE}};
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            if (strcasecmp(suf, kinds[i].name) == 0) {
                *out = kinds[i].kind;
                return 0;
            }
        }
    }
    return err_set(e, 400, EC_INVALID_HEADER, "Invalid header: accept type not support: %s",
                   accept);
}

const char *fmt_content_type(enum fmt_kind k) {
    switch (k) {
    case FMT_CSV:
        return "text/csv";
    case FMT_TSV:
        return "text/tsv";
    case FMT_JSON:
        return "application/json";
    case FMT_NDJSON:
        return "application/nd-json";
    case FMT_TABLE:
        return "text/table";
    }
    return "text/csv";
}

/* ---- encoder state ---- */

struct fmt_enc {
    enum fmt_kind kind;
    bool chunked;
    uint32_t ncols;
    char **names;
    size_t *name_len;
    bool *has_tz;
    /* JSON: `"name":` escaped once, reused for every row. */
    char **keys;
    size_t *key_len;
    bool header_done; /* CSV/TSV */
    uint64_t rows;    /* JSON/ND-JSON rows written */
    bool drew_box;    /* table */
    /* Table rows waiting to be drawn: cell texts back to back, cell_end[i] is where cell i
     * ends (row-major, ncols cells per row). */
    buf cells;
    size_t *cell_end;
    size_t ncells, cap_cells;
    /* Bound on what the table holds and draws (0 = none); past it the encoder stops and
     * fmt_enc_error reports it. The box pads every row to the widest cell of its column, so
     * one long string in a long answer would otherwise multiply the answer's size. */
    size_t limit;
    size_t over; /* the size that did not fit, 0 when within the limit */
};

fmt_enc *fmt_enc_new(enum fmt_kind k, const rschema *schema, bool chunked) {
    fmt_enc *f = xcalloc(1, sizeof *f);
    f->kind = k;
    f->chunked = chunked;
    uint32_t n = schema ? schema->ncols : 0;
    f->ncols = n;
    f->names = xcalloc(n, sizeof *f->names);
    f->name_len = xcalloc(n, sizeof *f->name_len);
    f->has_tz = xcalloc(n, sizeof *f->has_tz);
    for (uint32_t i = 0; i < n; i++) {
        const char *nm = schema->names && schema->names[i] ? schema->names[i] : "";
        f->names[i] = xstrdup(nm);
        f->name_len[i] = strlen(nm);
        f->has_tz[i] = schema->has_tz ? schema->has_tz[i] : false;
    }
    buf_init(&f->cells);
    return f;
}

void fmt_enc_free(fmt_enc *f) {
    if (!f) return;
    for (uint32_t i = 0; i < f->ncols; i++) {
        free(f->names[i]);
        if (f->keys) free(f->keys[i]);
    }
    free(f->names);
    free(f->name_len);
    free(f->has_tz);
    free(f->keys);
    free(f->key_len);
    buf_free(&f->cells);
    free(f->cell_end);
    free(f);
}

/* ---- value text pieces ---- */

static inline bool cell_valid(const vec *v, uint32_t r) {
    return v && r < v->len && v->type != VT_NULL && vec_is_valid(v, r);
}

/* arrow's IntervalMonthDayNano display: months are never folded into years, the nanosecond
 * part is split with truncating division and the sign shown once, on the seconds. */
static size_t interval_text(char *out, size_t cap, interval iv) {
    int64_t secs = iv.nanos / 1000000000, nanos = iv.nanos % 1000000000;
    int64_t mins = secs / 60, hours = mins / 60;
    secs -= mins * 60;
    mins -= hours * 60;
    const char *sign = secs < 0 || nanos < 0 ? "-" : "";
    int n = snprintf(out, cap, "0 years %d mons %d days %lld hours %lld mins %s%lld.%09lld secs",
                     (int)iv.months, (int)iv.days, (long long)hours, (long long)mins, sign,
                     (long long)llabs(secs), (long long)llabs(nanos));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Text of a non-string, non-NULL value as CSV/TSV/table show it (timestamps FIXED9 for CSV,
 * TRIM for the table). Returns the length written to tmp (needs 96 bytes). */
static size_t scalar_text(char *tmp, const vec *v, uint32_t r, enum ts_style ts, bool tz) {
    switch (v->type) {
    case VT_BOOL:
        if (v->d.b[r]) {
            memcpy(tmp, "true", 4);
            return 4;
        }
        memcpy(tmp, "false", 5);
        return 5;
    case VT_I64:
        return fmt_i64(tmp, v->d.i64[r]);
    case VT_U64:
        return fmt_u64(tmp, v->d.u64[r]);
    case VT_F64:
        if (v->unit == NU_32) return fmt_float(tmp, (float)v->d.f64[r]);
        return fmt_double(tmp, v->d.f64[r]);
    case VT_TS:
        return time_format(tmp, v->d.i64[r], (enum tunit)v->unit, ts, tz);
    case VT_DATE:
        return time_format_date(tmp, v->d.i64[r]);
    case VT_TIME64:
        return time_format_time(tmp, v->d.i64[r]);
    case VT_INTERVAL:
        return interval_text(tmp, 96, v->d.iv[r]);
    case VT_DEC128:
        return dec_format(dec_get(v->d.dec[r]), dec_scale(v->unit), tmp);
    default:
        return 0;
    }
}

static void json_put_str(buf *out, const char *p, size_t n);

static void nested_text(buf *out, strv bytes, uint8_t type, uint8_t unit, bool json);

/* One element of a list or field of a struct, as the enclosing value's text shows it. */
static void inner_text(buf *out, const value *e, bool tz, bool json) {
    char tmp[96];
    if (e->null || (json && e->type == VT_F64 && !isfinite(e->v.f))) {
        buf_puts(out, json ? "null" : "NULL");
        return;
    }
    if (e->type == VT_STR) {
        if (json)
            json_put_str(out, e->v.s.p, e->v.s.len);
        else
            buf_append(out, e->v.s.p, e->v.s.len);
        return;
    }
    if (e->type == VT_LIST || e->type == VT_STRUCT) {
        nested_text(out, e->v.s, e->type, e->unit, json);
        return;
    }
    vec one = {.type = e->type, .unit = e->unit, .len = 1, .d.raw = (void *)&e->v};
    size_t k = e->type == VT_F64 && json ? fmt_double_json(tmp, e->v.f)
                                         : scalar_text(tmp, &one, 0, TSFMT_TRIM, tz);
    bool quoted = json && (e->type == VT_TS || e->type == VT_DATE || e->type == VT_INTERVAL);
    if (quoted) buf_putc(out, '"');
    buf_append(out, tmp, k);
    if (quoted) buf_putc(out, '"');
}

/* A list or struct as Arrow's display shows it (`[1, NULL, a b]`, `{start: 2023-01-01T00:00:00,
 * end: ...}`: elements unquoted, timestamps trimmed, NULL as the Flight client prints it), or
 * as arrow-json writes it (`[1,null,"a b"]`, `{"start":"2023-01-01T00:00:00",...}`). */
static void nested_text(buf *out, strv bytes, uint8_t type, uint8_t unit, bool json) {
    if (type == VT_LIST) {
        uint32_t n = vlist_len(bytes);
        buf_putc(out, '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i) buf_puts(out, json ? "," : ", ");
            value e;
            vlist_get(bytes, unit, i, &e);
            inner_text(out, &e, vlist_etz(unit), json);
        }
        buf_putc(out, ']');
        return;
    }
    const vshape *sh = vstruct_get(unit);
    buf_putc(out, '{');
    for (uint32_t i = 0; sh && i < sh->n; i++) {
        if (i) buf_puts(out, json ? "," : ", ");
        value e;
        vstruct_field(bytes, unit, i, &e);
        if (json) {
            json_put_str(out, sh->names[i], strlen(sh->names[i]));
            buf_putc(out, ':');
        } else {
            buf_puts(out, sh->names[i]);
            buf_puts(out, ": ");
        }
        inner_text(out, &e, sh->tz[i], json);
    }
    buf_putc(out, '}');
}

/* ---- CSV / TSV ---- */

/* Writes one field; returns whether it went out as is (no quotes needed). */
static bool csv_put_str(buf *out, const char *p, size_t n, char sep) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) {
        char c = p[i];
        quote = c == sep || c == '"' || c == '\r' || c == '\n';
    }
    if (!quote) {
        buf_append(out, p, n);
        return true;
    }
    buf_reserve(out, n + 2);
    out->p[out->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            buf_append(out, p + start, i + 1 - start); /* includes the quote, then doubles it */
            buf_putc(out, '"');
            start = i + 1;
        }
    }
    buf_append(out, p + start, n - start);
    buf_putc(out, '"');
    return false;
}

/* A record that put no byte on the line (one empty field, or none) is written as `""` so it
 * is not read back as a blank line, as csv-core does. */
static void csv_end_record(buf *out, size_t rec_start) {
    if (out->len == rec_start) buf_append(out, "\"\"", 2);
    buf_putc(out, '\n');
}

static void csv_header(fmt_enc *f, buf *out) {
    char sep = f->kind == FMT_TSV ? '\t' : ',';
    size_t start = out->len;
    for (uint32_t c = 0; c < f->ncols; c++) {
        if (c) buf_putc(out, sep);
        csv_put_str(out, f->names[c], f->name_len[c], sep);
    }
    csv_end_record(out, start);
    f->header_done = true;
}

/* Columns whose last plain string csv_rows remembers (a tag repeats one value down a batch:
 * it is checked for quoting once). */
#define CSV_PLAIN_COLS 64

static void csv_rows(const fmt_enc *f, const batch *b, buf *out) {
    char sep = f->kind == FMT_TSV ? '\t' : ',';
    strv plain[CSV_PLAIN_COLS] = {{0}};
    for (uint32_t r = 0; r < b->nrows; r++) {
        size_t start = out->len;
        for (uint32_t c = 0; c < f->ncols; c++) {
            if (c) buf_putc(out, sep);
            const vec *v = c < b->ncols ? &b->cols[c] : NULL;
            if (!cell_valid(v, r)) continue;
            if (v->type == VT_STR) {
                strv x = v->d.s[r];
                if (c < CSV_PLAIN_COLS && x.p == plain[c].p && x.len == plain[c].len)
                    buf_append(out, x.p, x.len);
                else if (csv_put_str(out, x.p, x.len, sep) && c < CSV_PLAIN_COLS)
                    plain[c] = x;
            } else if (v->type == VT_LIST || v->type == VT_STRUCT) {
                buf t;
                buf_init(&t);
                nested_text(&t, v->d.s[r], v->type, v->unit, false);
                csv_put_str(out, t.p, t.len, sep);
                buf_free(&t);
            } else {
                /* straight into the output: scalar_text needs at most 96 bytes */
                buf_reserve(out, 96);
                out->len +=
                    scalar_text(out->p + out->len, v, r, TSFMT_FIXED9, v->has_tz || f->has_tz[c]);
            }
        }
        csv_end_record(out, start);
    }
}

/* ---- JSON / ND-JSON ---- */

/* serde_json's escaping: the two-character forms where JSON has them, \u00xx (lower-case
 * hex) for other control characters, everything else including UTF-8 as is. */
static void json_put_str(buf *out, const char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (n == 0) {
        buf_append(out, "\"\"", 2);
        return;
    }
    buf_reserve(out, n + 2);
    out->p[out->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(out, p + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            el = 6;
        }
        buf_append(out, esc, el);
    }
    buf_append(out, p + start, n - start);
    buf_putc(out, '"');
}

static void json_keys(fmt_enc *f) {
    if (f->keys) return;
    f->keys = xcalloc(f->ncols, sizeof *f->keys);
    f->key_len = xcalloc(f->ncols, sizeof *f->key_len);
    buf k;
    buf_init(&k);
    for (uint32_t c = 0; c < f->ncols; c++) {
        buf_reset(&k);
        json_put_str(&k, f->names[c], f->name_len[c]);
        buf_putc(&k, ':');
        f->keys[c] = xmalloc(k.len);
        memcpy(f->keys[c], k.p, k.len);
        f->key_len[c] = k.len;
    }
    buf_free(&k);
}

/* Appends `,"key":value` (comma only when not first); false when the value is left out. */
static bool json_member(const fmt_enc *f, buf *out, const vec *v, uint32_t r, uint32_t c,
                        bool first) {
    if (!cell_valid(v, r)) return false;
    if (v->type == VT_F64 && !isfinite(v->d.f64[r])) return false;
    if (!first) buf_putc(out, ',');
    buf_append(out, f->keys[c], f->key_len[c]);
    char tmp[96];
    size_t n;
    switch (v->type) {
    case VT_STR:
        json_put_str(out, v->d.s[r].p, v->d.s[r].len);
        return true;
    case VT_LIST:
    case VT_STRUCT:
        nested_text(out, v->d.s[r], v->type, v->unit, true);
        return true;
    case VT_F64:
        n = v->unit == NU_32 ? fmt_float_json(tmp, (float)v->d.f64[r])
                             : fmt_double_json(tmp, v->d.f64[r]);
        break;
    case VT_TS:
    case VT_DATE:
    case VT_TIME64:
    case VT_INTERVAL:
        buf_putc(out, '"');
        n = scalar_text(tmp, v, r, TSFMT_TRIM, v->has_tz || f->has_tz[c]);
        buf_append(out, tmp, n);
        buf_putc(out, '"');
        return true;
    default:
        n = scalar_text(tmp, v, r, TSFMT_TRIM, false);
        break;
    }
    buf_append(out, tmp, n);
    return true;
}

/* Row r as an object (keys prepared by json_keys). */
static void json_row(const fmt_enc *f, const batch *b, uint32_t r, buf *out) {
    buf_putc(out, '{');
    bool first = true;
    for (uint32_t c = 0; c < f->ncols; c++) {
        const vec *v = c < b->ncols ? &b->cols[c] : NULL;
        if (json_member(f, out, v, r, c, first)) first = false;
    }
    buf_putc(out, '}');
}

static void json_rows(fmt_enc *f, const batch *b, buf *out) {
    json_keys(f);
    bool nd = f->kind == FMT_NDJSON;
    for (uint32_t r = 0; r < b->nrows; r++) {
        if (!nd) buf_putc(out, f->rows == 0 ? '[' : ',');
        json_row(f, b, r, out);
        if (nd) buf_putc(out, '\n');
        f->rows++;
    }
}

/* ---- table ---- */

/* Terminal columns of a code point, as unicode-width counts them: control characters and
 * combining marks take none, East Asian wide and fullwidth characters (and most emoji) two.
 * The ranges are the common blocks, not the full Unicode tables. */
static int cp_width(uint32_t c) {
    static const struct {
        uint32_t lo, hi;
        int w;
    } ranges[] = {
        {0x0300, 0x036F, 0},   {0x0483, 0x0489, 0},   {0x0591, 0x05BD, 0},   {0x0610, 0x061A, 0},
        {0x064B, 0x065F, 0},   {0x1100, 0x115F, 2},   {0x1160, 0x11FF, 0},   {0x1AB0, 0x1AFF, 0},
        {0x1DC0, 0x1DFF, 0},   {0x200B, 0x200F, 0},   {0x20D0, 0x20FF, 0},   {0x231A, 0x231B, 2},
        {0x2329, 0x232A, 2},   {0x23E9, 0x23EC, 2},   {0x23F0, 0x23F0, 2},   {0x23F3, 0x23F3, 2},
        {0x25FD, 0x25FE, 2},   {0x2614, 0x2615, 2},   {0x2648, 0x2653, 2},   {0x267F, 0x267F, 2},
        {0x2693, 0x2693, 2},   {0x26A1, 0x26A1, 2},   {0x26AA, 0x26AB, 2},   {0x26BD, 0x26BE, 2},
        {0x26C4, 0x26C5, 2},   {0x26CE, 0x26CE, 2},   {0x26D4, 0x26D4, 2},   {0x26EA, 0x26EA, 2},
        {0x26F2, 0x26F3, 2},   {0x26F5, 0x26F5, 2},   {0x26FA, 0x26FA, 2},   {0x26FD, 0x26FD, 2},
        {0x2705, 0x2705, 2},   {0x270A, 0x270B, 2},   {0x2728, 0x2728, 2},   {0x274C, 0x274C, 2},
        {0x274E, 0x274E, 2},   {0x2753, 0x2755, 2},   {0x2757, 0x2757, 2},   {0x2795, 0x2797, 2},
        {0x27B0, 0x27B0, 2},   {0x27BF, 0x27BF, 2},   {0x2B1B, 0x2B1C, 2},   {0x2B50, 0x2B50, 2},
        {0x2B55, 0x2B55, 2},   {0x2E80, 0x303E, 2},   {0x3041, 0x33FF, 2},   {0x3400, 0x4DBF, 2},
        {0x4E00, 0x9FFF, 2},   {0xA000, 0xA4CF, 2},   {0xA960, 0xA97F, 2},   {0xAC00, 0xD7A3, 2},
        {0xF900, 0xFAFF, 2},   {0xFE00, 0xFE0F, 0},   {0xFE10, 0xFE19, 2},   {0xFE20, 0xFE2F, 0},
        {0xFE30, 0xFE6F, 2},   {0xFEFF, 0xFEFF, 0},   {0xFF00, 0xFF60, 2},   {0xFFE0, 0xFFE6, 2},
        {0x16FE0, 0x16FE4, 2}, {0x17000, 0x18CFF, 2}, {0x1B000, 0x1B2FF, 2}, {0x1F004, 0x1F004, 2},
        {0x1F0CF, 0x1F0CF, 2}, {0x1F18E, 0x1F18E, 2}, {0x1F191, 0x1F19A, 2}, {0x1F200, 0x1F251, 2},
        {0x1F300, 0x1F64F, 2}, {0x1F680, 0x1F6FF, 2}, {0x1F900, 0x1F9FF, 2}, {0x1FA70, 0x1FAFF, 2},
        {0x20000, 0x2FFFD, 2}, {0x30000, 0x3FFFD, 2}, {0xE0000, 0xE0FFF, 0},
    };
    if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return 0;
    if (c < 0x300) return 1;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (c < ranges[i].lo) break;
        if (c <= ranges[i].hi) return ranges[i].w;
    }
    return 1;
}

/* Display width of p[0..n); a byte that does not start a valid UTF-8 sequence counts as one
 * column, so malformed text still lines up. */
static size_t text_width(const char *p, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            w += c >= 0x20 && c != 0x7F;
            i++;
            continue;
        }
        size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
        uint32_t cp = len == 4 ? c & 7u : len == 3 ? c & 15u : c & 31u;
        bool ok = len && i + len <= n && c < 0xF5;
        for (size_t k = 1; ok && k < len; k++) {
            unsigned char cc = (unsigned char)p[i + k];
            ok = (cc & 0xC0) == 0x80;
            cp = cp << 6 | (cc & 0x3Fu);
        }
        if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                   (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (!ok) {
            w++;
            i++;
            continue;
        }
        w += (size_t)cp_width(cp);
        i += len;
    }
    return w;
}

static void table_add_cell(fmt_enc *f) {
    if (f->ncells == f->cap_cells) {
        f->cap_cells = f->cap_cells ? f->cap_cells * 2 : 256;
        f->cell_end = xrealloc(f->cell_end, f->cap_cells * sizeof *f->cell_end);
    }
    f->cell_end[f->ncells++] = f->cells.len;
}

static void table_collect(fmt_enc *f, const batch *b) {
    char tmp[96];
    for (uint32_t r = 0; r < b->nrows && !f->over; r++) {
        for (uint32_t c = 0; c < f->ncols; c++) {
            const vec *v = c < b->ncols ? &b->cols[c] : NULL;
            if (cell_valid(v, r)) {
                if (v->type == VT_STR) {
                    buf_append(&f->cells, v->d.s[r].p, v->d.s[r].len);
                } else if (v->type == VT_LIST || v->type == VT_STRUCT) {
                    nested_text(&f->cells, v->d.s[r], v->type, v->unit, false);
                } else {
                    size_t n = scalar_text(tmp, v, r, TSFMT_TRIM, v->has_tz || f->has_tz[c]);
                    buf_append(&f->cells, tmp, n);
                }
            }
            table_add_cell(f);
        }
        size_t held = f->cells.len + f->cap_cells * sizeof *f->cell_end;
        if (f->limit && held > f->limit) f->over = held;
    }
}

/* Widest line and line count of a cell (lines split at `\n`, as comfy-table does). */
static void cell_measure(const char *p, size_t n, size_t *width, size_t *lines) {
    size_t w = 0, l = 1, start = 0;
    *width = 0, *lines = 1;
    if (n == 0) return; /* also keeps a NULL empty string away from pointer arithmetic */
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '\n') {
            size_t lw = text_width(p + start, i - start);
            if (lw > w) w = lw;
            if (i < n) l++;
            start = i + 1;
        }
    }
    *width = w;
    *lines = l;
}

static void table_border(buf *out, const size_t *w, uint32_t ncols) {
    buf_putc(out, '+');
    for (uint32_t c = 0; c < ncols; c++) {
        buf_reserve(out, w[c] + 3);
        memset(out->p + out->len, '-', w[c] + 2);
        out->len += w[c] + 2;
        out->p[out->len++] = '+';
    }
}

/* One table row (header or data) of `height` lines; text[c], len[c] are the cells. cur[c] is
 * scratch: each column's position moves forward line by line, so a cell of many lines costs
 * its length once, not once per line. */
static void table_row(buf *out, const size_t *w, uint32_t ncols, const char *const *text,
                      const size_t *len, size_t height, const char **cur) {
    for (uint32_t c = 0; c < ncols; c++) cur[c] = text[c];
    for (size_t line = 0; line < height; line++) {
        buf_putc(out, '\n');
        buf_putc(out, '|');
        for (uint32_t c = 0; c < ncols; c++) {
            /* Line `line` of the cell starts at cur[c] (NULL once the cell has no more lines,
             * which are then blank). */
            const char *p = cur[c], *end = text[c] + len[c];
            size_t ln = 0;
            if (p && p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                ln = (size_t)((nl ? nl : end) - p);
                cur[c] = nl ? nl + 1 : NULL;
            } else {
                cur[c] = NULL;
            }
            size_t tw = ln ? text_width(p, ln) : 0;
            buf_putc(out, ' ');
            if (ln) buf_append(out, p, ln);
            size_t pad = w[c] - tw + 1;
            buf_reserve(out, pad + 1);
            memset(out->p + out->len, ' ', pad);
            out->len += pad;
            out->p[out->len++] = '|';
        }
    }
}

/* Draws the box for the collected rows and forgets them. */
static void table_draw(fmt_enc *f, buf *out) {
    uint32_t nc = f->ncols;
    f->drew_box = true;
    if (nc == 0) {
        buf_reset(&f->cells);
        f->ncells = 0;
        return;
    }
    size_t nrows = f->ncells / nc;
    buf_reserve(&f->cells, 1); /* cell pointers below are never based on NULL */
    size_t *w = xcalloc(nc, sizeof *w), *hh = xcalloc(nrows ? nrows : 1, sizeof *hh);
    const char **text = xcalloc(nc, sizeof *text);
    size_t *len = xcalloc(nc, sizeof *len);
    size_t head_h = 1;
    for (uint32_t c = 0; c < nc; c++) {
        size_t cw, cl;
        cell_measure(f->names[c], f->name_len[c], &cw, &cl);
        w[c] = cw;
        if (cl > head_h) head_h = cl;
    }
    for (size_t r = 0; r < nrows; r++) {
        hh[r] = 1;
        for (uint32_t c = 0; c < nc; c++) {
            size_t i = r * nc + c, s = i ? f->cell_end[i - 1] : 0, cw, cl;
            cell_measure(f->cells.p + s, f->cell_end[i] - s, &cw, &cl);
            if (cw > w[c]) w[c] = cw;
            if (cl > hh[r]) hh[r] = cl;
        }
    }
    /* The box's size is known before a byte is drawn: refuse it whole when it is too big. */
    size_t line_w = 2, lines = head_h + 3;
    for (uint32_t c = 0; c < nc; c++) line_w += w[c] + 3;
    for (size_t r = 0; r < nrows; r++) lines += hh[r];
    size_t need = lines * line_w + f->cells.len;
    if (f->limit && need > f->limit) {
        f->over = need;
        nrows = 0;
        goto done;
    }
    const char **cur = xcalloc(nc, sizeof *cur);
    table_border(out, w, nc);
    for (uint32_t c = 0; c < nc; c++) text[c] = f->names[c], len[c] = f->name_len[c];
    table_row(out, w, nc, text, len, head_h, cur);
    buf_putc(out, '\n');
    table_border(out, w, nc);
    for (size_t r = 0; r < nrows; r++) {
        for (uint32_t c = 0; c < nc; c++) {
            size_t i = r * nc + c, s = i ? f->cell_end[i - 1] : 0;
            text[c] = f->cells.p + s;
            len[c] = f->cell_end[i] - s;
        }
        table_row(out, w, nc, text, len, hh[r], cur);
    }
    buf_putc(out, '\n');
    table_border(out, w, nc);
    free(cur);
done:
    free(w);
    free(hh);
    free(text);
    free(len);
    buf_reset(&f->cells);
    f->ncells = 0;
}

/* ---- driver ---- */

void fmt_enc_batch(fmt_enc *f, const batch *b, buf *out) {
    if (!f || !b) return;
    switch (f->kind) {
    case FMT_CSV:
    case FMT_TSV:
        if (!f->header_done) csv_header(f, out);
        csv_rows(f, b, out);
        break;
    case FMT_JSON:
    case FMT_NDJSON:
        json_rows(f, b, out);
        break;
    case FMT_TABLE:
        if (f->over) break;
        table_collect(f, b);
        if (f->chunked && b->nrows > 0 && !f->over) table_draw(f, out);
        break;
    }
}

/* ---- rows encoded apart ----
 * A batch's rows are encoded on their own (any thread; the encoder is only read), then spliced
 * into the document in order by fmt_enc_append, which adds what depends on the rows before:
 * the CSV header, JSON's opening bracket. JSON rows are encoded each after a comma, and the
 * document's first comma becomes the bracket. */

bool fmt_enc_rows_apart(fmt_enc *f) {
    if (f->kind == FMT_TABLE) return false;
    if (f->kind == FMT_JSON || f->kind == FMT_NDJSON) json_keys(f);
    return true;
}

void fmt_enc_rows(const fmt_enc *f, const batch *b, buf *out) {
    switch (f->kind) {
    case FMT_CSV:
    case FMT_TSV:
        csv_rows(f, b, out);
        break;
    case FMT_JSON:
        for (uint32_t r = 0; r < b->nrows; r++) {
            buf_putc(out, ',');
            json_row(f, b, r, out);
        }
        break;
    case FMT_NDJSON:
        for (uint32_t r = 0; r < b->nrows; r++) {
            json_row(f, b, r, out);
            buf_putc(out, '\n');
        }
        break;
    case FMT_TABLE:
        break;
    }
}

void fmt_enc_append(fmt_enc *f, const char *text, size_t len, uint64_t nrows, buf *out) {
    switch (f->kind) {
    case FMT_CSV:
    case FMT_TSV:
        if (!f->header_done) csv_header(f, out);
        if (len) buf_append(out, text, len);
        break;
    case FMT_JSON:
        if (!len) break;
        buf_putc(out, f->rows == 0 ? '[' : ',');
        buf_append(out, text + 1, len - 1);
        break;
    case FMT_NDJSON:
        if (len) buf_append(out, text, len);
        break;
    case FMT_TABLE:
        break;
    }
    f->rows += nrows;
}

void fmt_enc_finish(fmt_enc *f, buf *out) {
    if (!f) return;
    switch (f->kind) {
    case FMT_CSV:
    case FMT_TSV:
        if (!f->header_done) csv_header(f, out);
        break;
    case FMT_JSON:
        if (f->rows == 0)
            buf_append(out, "[]", 2);
        else
            buf_putc(out, ']');
        break;
    case FMT_NDJSON:
        break;
    case FMT_TABLE:
        if (!f->over && (!f->chunked || !f->drew_box)) table_draw(f, out);
        break;
    }
}

void fmt_enc_set_limit(fmt_enc *f, size_t max_bytes) {
    f->limit = max_bytes;
}

int fmt_enc_error(const fmt_enc *f, err *e) {
    if (!f->over) return 0;
    return err_set(e, 500, EC_QUERY_INTERNAL,
                   "Resources exhausted: the text/table answer needs %zu bytes, more than its "
                   "limit of %zu (query.query_memory_limit): ask for CSV or JSON, or fewer rows",
                   f->over, f->limit);
}
