/* WKT <-> WKB as written (gis.h): a reader of WKT text straight into WKB and a writer of WKB as
 * WKT in CnosDB's form. Neither builds a geometry, so a ring left open stays open, as CnosDB's
 * ST_AsBinary and ST_GeomFromWKB keep it; GEOS (gis.c) is for what needs a real geometry. */
#include "gis/gis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/fmt_num.h"

/* ------------------------------------------------------------------ WKT -> WKB */

struct wkt_in {
    const char *p, *end;
    char *msg;
    int depth;
};

enum { MAX_DEPTH = 64 };

static int in_fail(struct wkt_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int in_fail(struct wkt_in *in, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->msg, GIS_MSG_CAP, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_space(struct wkt_in *in) {
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
        in->p++;
}

static bool accept(struct wkt_in *in, char c) {
    skip_space(in);
    if (in->p < in->end && *in->p == c) {
        in->p++;
        return true;
    }
    return false;
}

static int expect(struct wkt_in *in, char c) {
    if (accept(in, c)) return 0;
    return in_fail(in, "expected '%c'", c);
}

/* The next word (letters), or an empty one; not consumed unless take. */
static size_t peek_word(struct wkt_in *in, const char **w) {
    skip_space(in);
    const char *s = in->p;
    while (s < in->end && ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) s++;
    *w = in->p;
    return (size_t)(s - in->p);
}

static bool accept_word(struct wkt_in *in, const char *word) {
    const char *w;
    size_t n = peek_word(in, &w);
    if (n != strlen(word) || strncasecmp(w, word, n)) return false;
    in->p += n;
    return true;
}

static int number(struct wkt_in *in, double *out) {
    skip_space(in);
    const char *s = in->p;
    while (s < in->end && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ',' &&
           *s != '(' && *s != ')')
        s++;
    char tmp[64];
    size_t n = (size_t)(s - in->p);
    if (n == 0 || n >= sizeof tmp) return in_fail(in, "expected a number");
    memcpy(tmp, in->p, n);
    tmp[n] = 0;
    char *e;
    *out = strtod(tmp, &e);
    if (*e) return in_fail(in, "'%s' is not a number", tmp);
    in->p = s;
    return 0;
}

/* One coordinate: x y and up to two more numbers (Z, M), which 2-dimensional WKB drops. */
static int coord(struct wkt_in *in, buf *out) {
    double x, y, extra;
    if (number(in, &x) < 0 || number(in, &y) < 0) return -1;
    for (int k = 0; k < 2; k++) {
        skip_space(in);
        if (in->p >= in->end || *in->p == ',' || *in->p == ')') break;
        if (number(in, &extra) < 0) return -1;
    }
    buf_put_u64le(out, 0);
    memcpy(out->p + out->len - 8, &x, 8);
    buf_put_u64le(out, 0);
    memcpy(out->p + out->len - 8, &y, 8);
    return 0;
}

static size_t count_slot(buf *out) {
    buf_put_u32le(out, 0);
    return out->len - 4;
}

static void count_set(buf *out, size_t at, uint32_t n) {
    for (int i = 0; i < 4; i++) out->p[at + i] = (char)(n >> (8 * i));
}

/* `(item, item, ...)` as a count and the items. */
static int paren_list(struct wkt_in *in, buf *out, int (*item)(struct wkt_in *, buf *)) {
    if (expect(in, '(') < 0) return -1;
    size_t at = count_slot(out);
    uint32_t n = 0;
    do {
        if (item(in, out) < 0) return -1;
        n++;
    } while (accept(in, ','));
    count_set(out, at, n);
    return expect(in, ')');
}

/* `(x y, x y, ...)`: a linestring's or a ring's points. */
static int coord_list(struct wkt_in *in, buf *out) {
    return paren_list(in, out, coord);
}

/* `((ring), (ring))`: a polygon's rings. */
static int list_of_lists(struct wkt_in *in, buf *out) {
    return paren_list(in, out, coord_list);
}

static void header(buf *out, uint32_t type) {
    buf_putc(out, 1); /* little-endian */
    buf_put_u32le(out, type);
}

static int geometry(struct wkt_in *in, buf *out);

/* The body of a geometry of type t after its name (and any Z/M). */
static int body(struct wkt_in *in, enum gis_type t, buf *out) {
    bool empty = accept_word(in, "EMPTY");
    header(out, (uint32_t)t);
    if (empty) {
        if (t == GIS_POINT) { /* WKB has no empty point but NaN coordinates */
            double nan = NAN;
            for (int i = 0; i < 2; i++) {
                buf_put_u64le(out, 0);
                memcpy(out->p + out->len - 8, &nan, 8);
            }
        } else {
            buf_put_u32le(out, 0);
        }
        return 0;
    }
    switch (t) {
    case GIS_POINT:
        if (expect(in, '(') < 0 || coord(in, out) < 0) return -1;
        return expect(in, ')');
    case GIS_LINESTRING:
        return coord_list(in, out);
    case GIS_POLYGON:
        return list_of_lists(in, out);
    default:
        break;
    }
    if (expect(in, '(') < 0) return -1;
    size_t at = count_slot(out);
    uint32_t n = 0;
    do {
        if (t == GIS_COLLECTION) {
            if (geometry(in, out) < 0) return -1;
        } else if (t == GIS_MULTIPOINT) {
            /* a point bare or in parentheses */
            header(out, GIS_POINT);
            bool paren = accept(in, '(');
            if (coord(in, out) < 0 || (paren && expect(in, ')') < 0)) return -1;
        } else {
            header(out, t == GIS_MULTILINESTRING ? GIS_LINESTRING : GIS_POLYGON);
            if ((t == GIS_MULTILINESTRING ? coord_list(in, out) : list_of_lists(in, out)) < 0)
                return -1;
        }
        n++;
    } while (accept(in, ','));
    count_set(out, at, n);
    return expect(in, ')');
}

static int geometry(struct wkt_in *in, buf *out) {
    if (++in->depth > MAX_DEPTH) return in_fail(in, "geometry nested too deep");
    const char *w;
    size_t n = peek_word(in, &w);
    enum gis_type t = gis_type_parse(w, n);
    if (t == GIS_NONE) return in_fail(in, "expected a geometry type");
    in->p += n;
    if (!accept_word(in, "ZM") && !accept_word(in, "Z")) accept_word(in, "M");
    int rc = body(in, t, out);
    in->depth--;
    return rc;
}

int gis_wkt_to_wkb(const char *p, size_t n, buf *out, char msg[GIS_MSG_CAP]) {
    struct wkt_in in = {p, p + n, msg, 0};
    size_t start = out->len;
    /* text after the geometry is ignored, as the readers (GEOS's, CnosDB's) ignore it */
    if (geometry(&in, out) < 0) {
        out->len = start;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ WKB -> WKT */

struct wkb_in {
    const unsigned char *p, *end;
    char *msg;
    int depth;
};

static int wkb_fail(struct wkb_in *in, const char *what) {
    snprintf(in->msg, GIS_MSG_CAP, "Invalid WKB: %s", what);
    return -1;
}

static int u32(struct wkb_in *in, bool le, uint32_t *v) {
    if (in->end - in->p < 4) return wkb_fail(in, "too short");
    const unsigned char *b = in->p;
    *v = le ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
            : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    in->p += 4;
    return 0;
}

static int f64(struct wkb_in *in, bool le, double *v) {
    if (in->end - in->p < 8) return wkb_fail(in, "too short");
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)in->p[le ? i : 7 - i] << (8 * i);
    memcpy(v, &u, 8);
    in->p += 8;
    return 0;
}

/* Rust's Debug of an f64: Display's digits with ".0" on a whole number, and an exponent
 * (`1e16`, `1.5e-7`) outside [1e-4, 1e16). */
static void put_debug_f64(buf *out, double d) {
    char tmp[340];
    if (!isfinite(d) || d == 0 || (fabs(d) >= 1e-4 && fabs(d) < 1e16)) {
        size_t n = fmt_double_plain(tmp, d);
        buf_append(out, tmp, n);
        if (isfinite(d) && !memchr(tmp, '.', n)) buf_puts(out, ".0");
        return;
    }
    char digits[17];
    int exp10;
    int n = fmt_shortest(d, digits, &exp10);
    if (d < 0) buf_putc(out, '-');
    buf_putc(out, digits[0]);
    if (n > 1) {
        buf_putc(out, '.');
        buf_append(out, digits + 1, (size_t)n - 1);
    }
    buf_printf(out, "e%d", exp10);
}

struct wkt_out {
    buf *b;
    bool debug;
    uint32_t dims; /* coordinates per point in the WKB being read */
};

static void put_num(struct wkt_out *o, double d) {
    if (o->debug) {
        put_debug_f64(o->b, d);
        return;
    }
    char tmp[340];
    buf_append(o->b, tmp, fmt_double_plain(tmp, d));
}

static int point_xy(struct wkb_in *in, bool le, struct wkt_out *o, bool *empty) {
    double v[4];
    for (uint32_t k = 0; k < o->dims; k++)
        if (f64(in, le, &v[k]) < 0) return -1;
    *empty = isnan(v[0]) && isnan(v[1]);
    if (*empty) return 0;
    put_num(o, v[0]);
    buf_putc(o->b, ' ');
    put_num(o, v[1]);
    return 0;
}

/* A count of points and the points, `x y,x y`. */
static int points(struct wkb_in *in, bool le, struct wkt_out *o) {
    uint32_t n;
    if (u32(in, le, &n) < 0) return -1;
    if ((uint64_t)n * 8 * o->dims > (uint64_t)(in->end - in->p)) return wkb_fail(in, "too short");
    for (uint32_t i = 0; i < n; i++) {
        bool empty;
        if (i) buf_putc(o->b, ',');
        if (point_xy(in, le, o, &empty) < 0) return -1;
    }
    return 0;
}

static int rings(struct wkb_in *in, bool le, struct wkt_out *o, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        buf_puts(o->b, i ? ",(" : "(");
        if (points(in, le, o) < 0) return -1;
        buf_putc(o->b, ')');
    }
    return 0;
}

/* One WKB geometry; bare: inside a multipoint, a point without its name or parentheses. */
static int wkb_geom(struct wkb_in *in, struct wkt_out *o, enum gis_type parent) {
    if (++in->depth > MAX_DEPTH) return wkb_fail(in, "nested too deep");
    if (in->p >= in->end) return wkb_fail(in, "too short");
    unsigned char order = *in->p++;
    if (order > 1) return wkb_fail(in, "unknown byte order");
    bool le = order == 1;
    uint32_t code;
    if (u32(in, le, &code) < 0) return -1;
    /* ISO (1000s: Z, 2000s: M, 3000s: ZM) and EWKB (high flag bits) dimensions */
    uint32_t dims = 2 + ((code & 0x80000000u) != 0) + ((code & 0x40000000u) != 0);
    bool srid = code & 0x20000000u;
    code &= 0x0fffffffu;
    if (code >= 1000 && code < 4000) {
        dims = 2 + (code / 1000 == 3 ? 2 : 1);
        code %= 1000;
    }
    if (srid) {
        uint32_t ignored;
        if (u32(in, le, &ignored) < 0) return -1;
    }
    if (code < GIS_POINT || code > GIS_COLLECTION) return wkb_fail(in, "unknown geometry type");
    enum gis_type t = (enum gis_type)code;
    o->dims = dims;
    buf *b = o->b;
    int rc = 0;
    if (t == GIS_POINT) {
        size_t at = b->len;
        if (parent != GIS_MULTIPOINT) buf_puts(b, "POINT(");
        bool empty;
        if ((rc = point_xy(in, le, o, &empty)) < 0) return -1;
        if (empty) {
            b->len = at;
            buf_puts(b, parent == GIS_MULTIPOINT ? "EMPTY" : "POINT EMPTY");
        } else if (parent != GIS_MULTIPOINT) {
            buf_putc(b, ')');
        }
        in->depth--;
        return 0;
    }
    uint32_t n;
    size_t name_at = b->len;
    if (parent != GIS_MULTILINESTRING && parent != GIS_MULTIPOLYGON) buf_puts(b, gis_type_name(t));
    const unsigned char *save = in->p;
    if (u32(in, le, &n) < 0) return -1;
    if (n == 0) {
        if (parent == GIS_MULTILINESTRING || parent == GIS_MULTIPOLYGON) {
            b->len = name_at;
            buf_puts(b, "EMPTY");
        } else {
            buf_puts(b, " EMPTY");
        }
        in->depth--;
        return 0;
    }
    buf_putc(b, '(');
    if (t == GIS_LINESTRING) {
        in->p = save;
        rc = points(in, le, o);
    } else if (t == GIS_POLYGON) {
        rc = rings(in, le, o, n);
    } else {
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            if (i) buf_putc(b, ',');
            rc = wkb_geom(in, o, t);
            o->dims = dims;
        }
    }
    if (rc < 0) return -1;
    buf_putc(b, ')');
    in->depth--;
    return 0;
}

int gis_wkb_to_wkt(const unsigned char *p, size_t n, bool debug, buf *out, char msg[GIS_MSG_CAP]) {
    struct wkb_in in = {p, p + n, msg, 0};
    struct wkt_out o = {out, debug, 2};
    size_t start = out->len;
    if (wkb_geom(&in, &o, GIS_NONE) < 0) {
        out->len = start;
        return -1;
    }
    if (in.p != in.end) {
        out->len = start;
        return wkb_fail(&in, "bytes after the geometry");
    }
    return 0;
}
