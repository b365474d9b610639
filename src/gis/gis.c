/* GEOS behind gis.h: a context per thread, CnosDB's reading errors, its WKT printing. */
#include "gis/gis.h"

#include <geos_c.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/assert.h"
#include "util/mem.h"

/* ------------------------------------------------------------------ types */

static const char *const type_names[GIS__COUNT] = {
    "",           "POINT",           "LINESTRING",   "POLYGON",
    "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};
static const char *const camel_names[GIS__COUNT] = {
    "",           "Point",           "LineString",   "Polygon",
    "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"};

enum gis_type gis_type_parse(const char *name, size_t len) {
    for (int t = GIS_POINT; t < GIS__COUNT; t++)
        if (strlen(type_names[t]) == len && !strncasecmp(name, type_names[t], len))
            return (enum gis_type)t;
    return GIS_NONE;
}

const char *gis_type_name(enum gis_type t) {
    return (unsigned)t < GIS__COUNT ? type_names[t] : "";
}

const char *gis_type_camel(enum gis_type t) {
    return (unsigned)t < GIS__COUNT ? camel_names[t] : "";
}

/* GEOS's type ids in gis_type's order (LinearRing, 2, has no sub_type). */
static enum gis_type from_geos_type(int id) {
    switch (id) {
    case GEOS_POINT:
        return GIS_POINT;
    case GEOS_LINESTRING:
        return GIS_LINESTRING;
    case GEOS_POLYGON:
        return GIS_POLYGON;
    case GEOS_MULTIPOINT:
        return GIS_MULTIPOINT;
    case GEOS_MULTILINESTRING:
        return GIS_MULTILINESTRING;
    case GEOS_MULTIPOLYGON:
        return GIS_MULTIPOLYGON;
    case GEOS_GEOMETRYCOLLECTION:
        return GIS_COLLECTION;
    default:
        return GIS_NONE;
    }
}

/* ------------------------------------------------------------------ per-thread context */

/* A geometry read from a text the thread may read again (gis_from_wkt_shared). */
struct cached {
    char *text;
    size_t len;
    GEOSGeometry *g;
    const GEOSPreparedGeometry *prep; /* g indexed for predicates, made at their first use */
    int pins;                         /* callers using g now: it is not replaced meanwhile */
    uint64_t used;                    /* when last handed out, for replacing the least recent */
};

enum { CACHE_SLOTS = 4, CACHE_MAX_TEXT = 64 * 1024 };

struct gctx {
    GEOSContextHandle_t h;
    GEOSWKTReader *wkt;
    GEOSWKBWriter *wkb_out;
    char err[GIS_MSG_CAP]; /* GEOS's last error message */
    struct cached cache[CACHE_SLOTS];
    uint64_t clock;
};

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static _Thread_local struct gctx *tl_ctx;

static void cached_clear(struct gctx *c, struct cached *e) {
    if (e->prep) GEOSPreparedGeom_destroy_r(c->h, e->prep);
    if (e->g) GEOSGeom_destroy_r(c->h, e->g);
    free(e->text);
    *e = (struct cached){0};
}

static void ctx_free(void *p) {
    struct gctx *c = p;
    for (int i = 0; i < CACHE_SLOTS; i++) cached_clear(c, &c->cache[i]);
    GEOSWKTReader_destroy_r(c->h, c->wkt);
    GEOSWKBWriter_destroy_r(c->h, c->wkb_out);
    GEOS_finish_r(c->h);
    free(c);
}

static void ctx_key_make(void) {
    (void)pthread_key_create(&ctx_key, ctx_free);
}

static void on_error(const char *message, void *user) {
    struct gctx *c = user;
    snprintf(c->err, sizeof c->err, "%s", message);
    /* GEOS ends some messages with a newline */
    size_t n = strlen(c->err);
    while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' ')) c->err[--n] = 0;
}

static struct gctx *ctx(void) {
    if (tl_ctx) return tl_ctx;
    pthread_once(&ctx_once, ctx_key_make);
    struct gctx *c = xcalloc(1, sizeof *c);
    c->h = GEOS_init_r();
    STRATA_ASSERT(c->h != NULL);
    GEOSContext_setErrorMessageHandler_r(c->h, on_error, c);
    c->wkt = GEOSWKTReader_create_r(c->h);
    /* rings left open are closed, as CnosDB's polygons close them */
    GEOSWKTReader_setFixStructure_r(c->h, c->wkt, 1);
    c->wkb_out = GEOSWKBWriter_create_r(c->h);
    GEOSWKBWriter_setOutputDimension_r(c->h, c->wkb_out, 2);
    GEOSWKBWriter_setByteOrder_r(c->h, c->wkb_out, GEOS_WKB_NDR);
    (void)pthread_setspecific(ctx_key, c);
    tl_ctx = c;
    return c;
}

static const GEOSGeometry *G(const gis_geom *g) {
    return (const GEOSGeometry *)g;
}

/* GEOS's message for a call that failed (or a plain one when it left none). */
static int geos_fail(struct gctx *c, char *msg, const char *what) {
    snprintf(msg, GIS_MSG_CAP, "%s", c->err[0] ? c->err : what);
    c->err[0] = 0;
    return -1;
}

/* ------------------------------------------------------------------ reading WKT */

static bool wkt_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool wkt_numberlike(char c) {
    return c == '.' || c == '-' || c == '+' || (c >= '0' && c <= '9');
}

static bool wkt_delim(char c) {
    return wkt_space(c) || c == '(' || c == ')' || c == ',';
}

/* Whether s[0, n) is a number as Rust's f64 parser reads one (leading '+' signs stripped, as
 * the WKT tokenizer strips them): [-]digits[.digits][e[+-]digits], .digits..., inf, nan. */
static bool rust_f64(const char *s, size_t n) {
    while (n && *s == '+') s++, n--;
    if (n && (*s == '-' || *s == '+')) s++, n--;
    if ((n == 3 && !strncasecmp(s, "inf", 3)) || (n == 8 && !strncasecmp(s, "infinity", 8)) ||
        (n == 3 && !strncasecmp(s, "nan", 3)))
        return true;
    size_t i = 0, digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (!ed) return false;
    }
    return i == n;
}

/* Parentheses deeper than this are refused before GEOS, whose reader recurses on them: real
 * geometries need 3 levels and a few more per nested collection. */
enum { WKT_MAX_DEPTH = 64 };

/* The checks CnosDB's reader words its own way: the first token must be a geometry type name,
 * and every number-like token a number; and the nesting is bounded. 0 or -1 with the message. */
static int wkt_tokens_check(const char *p, size_t n, char *msg) {
    size_t i = 0;
    int depth = 0;
    bool first = true;
    while (i < n && p[i]) {
        char c = p[i];
        if (wkt_space(c)) {
            i++;
            continue;
        }
        size_t start = i;
        if (c == '(' || c == ')' || c == ',') {
            i++;
            if (c == '(' && ++depth > WKT_MAX_DEPTH) {
                snprintf(msg, GIS_MSG_CAP, "geometry nested deeper than %d levels", WKT_MAX_DEPTH);
                return -1;
            }
            if (c == ')') depth--;
        } else {
            while (i < n && p[i] && !wkt_delim(p[i])) i++;
        }
        if (wkt_numberlike(c) && !rust_f64(p + start, i - start)) {
            snprintf(msg, GIS_MSG_CAP, "Unable to parse input number as the desired output type");
            return -1;
        }
        if (first) {
            if (c == '(' || c == ')' || c == ',' || wkt_numberlike(c)) {
                snprintf(msg, GIS_MSG_CAP, "Invalid WKT format");
                return -1;
            }
            if (gis_type_parse(p + start, i - start) == GIS_NONE) {
                snprintf(msg, GIS_MSG_CAP, "Invalid type encountered");
                return -1;
            }
            first = false;
        }
    }
    if (first) {
        snprintf(msg, GIS_MSG_CAP, "Invalid WKT format");
        return -1;
    }
    return 0;
}

gis_geom *gis_from_wkt(const char *p, size_t n, char msg[GIS_MSG_CAP]) {
    if (wkt_tokens_check(p, n, msg) < 0) return NULL;
    struct gctx *c = ctx();
    /* GEOS wants a NUL-terminated string */
    char small[256], *s = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    GEOSGeometry *g = GEOSWKTReader_read_r(c->h, c->wkt, s);
    if (s != small) free(s);
    if (!g) {
        geos_fail(c, msg, "Invalid WKT format");
        return NULL;
    }
    return (gis_geom *)g;
}

gis_geom *gis_from_wkt_shared(const char *p, size_t n, char msg[GIS_MSG_CAP]) {
    struct gctx *c = ctx();
    struct cached *slot = NULL;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cached *e = &c->cache[i];
        if (e->g && e->len == n && !memcmp(e->text, p, n)) {
            e->pins++;
            e->used = ++c->clock;
            return (gis_geom *)e->g;
        }
        if (!e->pins && (!slot || e->used < slot->used)) slot = e;
    }
    gis_geom *g = gis_from_wkt(p, n, msg);
    /* a huge text, or every slot in use: the caller's own, freed by gis_unshare */
    if (!g || n > CACHE_MAX_TEXT || !slot) return g;
    cached_clear(c, slot);
    slot->text = xmalloc(n + 1);
    memcpy(slot->text, p, n);
    slot->len = n;
    slot->g = (GEOSGeometry *)g;
    slot->pins = 1;
    slot->used = ++c->clock;
    return g;
}

void gis_unshare(gis_geom *g) {
    if (!g) return;
    struct gctx *c = ctx();
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->cache[i].g == (GEOSGeometry *)g) {
            c->cache[i].pins--;
            return;
        }
    gis_free(g);
}

void gis_free(gis_geom *g) {
    if (g) GEOSGeom_destroy_r(ctx()->h, (GEOSGeometry *)g);
}

enum gis_type gis_type_of(const gis_geom *g) {
    return from_geos_type(GEOSGeomTypeId_r(ctx()->h, G(g)));
}

/* ------------------------------------------------------------------ writing WKT */

void gis_wkt(const gis_geom *g, bool debug, buf *out) {
    struct gctx *c = ctx();
    size_t n = 0;
    char msg[GIS_MSG_CAP];
    /* through WKB, so there is one writer of CnosDB's WKT (gis_wkb.c) */
    unsigned char *w = GEOSWKBWriter_write_r(c->h, c->wkb_out, G(g), &n);
    if (!w || gis_wkb_to_wkt(w, n, debug, out, msg) < 0) {
        c->err[0] = 0;
        buf_puts(out, "GEOMETRY EMPTY"); /* GEOS wrote what it cannot write: never seen */
    }
    if (w) GEOSFree_r(c->h, w);
}

/* ------------------------------------------------------------------ computations */

/* CnosDB's geometry model has no empty point: any computation over one (alone or in a multi
 * geometry or collection) fails, with its message. */
static bool has_empty_point(struct gctx *c, const GEOSGeometry *g) {
    int id = GEOSGeomTypeId_r(c->h, g);
    if (id == GEOS_POINT) return GEOSisEmpty_r(c->h, g) == 1;
    if (id != GEOS_MULTIPOINT && id != GEOS_GEOMETRYCOLLECTION) return false;
    int n = GEOSGetNumGeometries_r(c->h, g);
    for (int i = 0; i < n; i++)
        if (has_empty_point(c, GEOSGetGeometryN_r(c->h, g, i))) return true;
    return false;
}

static int empty_point_check(struct gctx *c, const gis_geom *g, char *msg) {
    if (!has_empty_point(c, G(g))) return 0;
    snprintf(msg, GIS_MSG_CAP,
             "The input was an empty Point, but the output doesn't support empty Points");
    return -1;
}

int gis_area(const gis_geom *g, double *out, char msg[GIS_MSG_CAP]) {
    struct gctx *c = ctx();
    if (empty_point_check(c, g, msg) < 0) return -1;
    if (!GEOSArea_r(c->h, G(g), out)) return geos_fail(c, msg, "cannot compute the area");
    return 0;
}

static bool distance_defined(enum gis_type a, enum gis_type b) {
    if (a == GIS_COLLECTION || b == GIS_COLLECTION) return false;
    if (a == GIS_POINT || b == GIS_POINT) return true;
    return (a == GIS_LINESTRING || a == GIS_POLYGON) && (b == GIS_LINESTRING || b == GIS_POLYGON);
}

int gis_distance(const gis_geom *a, const gis_geom *b, double *out, char msg[GIS_MSG_CAP]) {
    struct gctx *c = ctx();
    if (empty_point_check(c, a, msg) < 0 || empty_point_check(c, b, msg) < 0) return -1;
    enum gis_type ta = gis_type_of(a), tb = gis_type_of(b);
    if (!distance_defined(ta, tb)) {
        /* CnosDB names the first by its type (a collection in full), the second in full */
        buf m;
        buf_init(&m);
        buf_puts(&m, "Calculating the distance between ");
        if (ta == GIS_COLLECTION || ta == GIS_NONE)
            gis_wkt(a, true, &m);
        else
            buf_puts(&m, gis_type_name(ta));
        buf_puts(&m, " and ");
        gis_wkt(b, true, &m);
        buf_puts(&m, " is not supported");
        snprintf(msg, GIS_MSG_CAP, "%s", buf_cstr(&m));
        buf_free(&m);
        return -2;
    }
    if (!GEOSDistance_r(c->h, G(a), G(b), out))
        return geos_fail(c, msg, "cannot compute a distance");
    return 0;
}

/* The prepared form of g when it is one of the thread's shared geometries, else NULL. */
static const GEOSPreparedGeometry *prepared(struct gctx *c, const gis_geom *g) {
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cached *e = &c->cache[i];
        if (e->g != G(g)) continue;
        if (!e->prep) e->prep = GEOSPrepare_r(c->h, e->g);
        return e->prep;
    }
    return NULL;
}

int gis_predicate(enum gis_pred p, const gis_geom *a, const gis_geom *b, bool *out,
                  char msg[GIS_MSG_CAP]) {
    struct gctx *c = ctx();
    if (empty_point_check(c, a, msg) < 0 || empty_point_check(c, b, msg) < 0) return -1;
    /* in enum gis_pred's order */
    static char (*const fns[])(GEOSContextHandle_t, const GEOSGeometry *, const GEOSGeometry *) = {
        GEOSEquals_r, GEOSContains_r, GEOSIntersects_r, GEOSDisjoint_r, GEOSWithin_r};
    char r = 2;
    if (p != GIS_EQUALS) {
        /* a shared geometry (a constant) is tested in its prepared form, which answers in
         * about log n rather than n for a large polygon; with b prepared the relation turns
         * around (a contains b = b within a) */
        typedef char (*prep_fn)(GEOSContextHandle_t, const GEOSPreparedGeometry *,
                                const GEOSGeometry *);
        static const prep_fn as_is[] = {NULL, GEOSPreparedContains_r, GEOSPreparedIntersects_r,
                                        GEOSPreparedDisjoint_r, GEOSPreparedWithin_r};
        static const prep_fn turned[] = {NULL, GEOSPreparedWithin_r, GEOSPreparedIntersects_r,
                                         GEOSPreparedDisjoint_r, GEOSPreparedContains_r};
        const GEOSPreparedGeometry *pa = prepared(c, a), *pb = pa ? NULL : prepared(c, b);
        if (pa) r = as_is[p](c->h, pa, G(b));
        if (pb) r = turned[p](c->h, pb, G(a));
        if (r == 2) c->err[0] = 0; /* not for these inputs: the plain test below decides */
    }
    if (r == 2) r = fns[p](c->h, G(a), G(b));
    if (r == 2) return geos_fail(c, msg, "cannot evaluate the predicate");
    *out = r == 1;
    return 0;
}

/* ------------------------------------------------------------------ the write check */

int gis_check_value(const char *p, size_t n, enum gis_type want, char **out) {
    char msg[GIS_MSG_CAP];
    gis_geom *g = gis_from_wkt(p, n, msg);
    buf m;
    buf_init(&m);
    if (!g) {
        buf_printf(&m, "Invalid geometry, error: %s", msg);
    } else {
        enum gis_type t = gis_type_of(g);
        if (t == want) {
            gis_free(g);
            return 0;
        }
        buf_printf(&m, "Invalid geometry type, error: expect %s, got ", gis_type_camel(want));
        gis_wkt(g, true, &m);
        gis_free(g);
    }
    buf_cstr(&m);
    *out = buf_detach(&m, NULL);
    return -1;
}
