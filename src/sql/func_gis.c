/* CnosDB's geospatial functions (its own UDFs, hence the names and arity messages they have):
 * ST_AsBinary, ST_GeomFromWKB, ST_Distance, ST_Area and the predicates ST_Equals, ST_Contains,
 * ST_Intersects, ST_Disjoint, ST_Within, over gis/gis.h.
 *
 * Geometries come in as WKT text: a GEOMETRY column, a literal, or any other value cast to text
 * (which then fails as CnosDB's reader fails on it). A constant argument is read once (the
 * thread's cache of texts, gis_from_wkt_shared), not once per row. ST_AsBinary's WKB is a Binary
 * value, which Strata carries as its printed form, lower-case hex text, typed Binary by the unit
 * SU_BINARY (util/types.h) so that ST_GeomFromWKB (Binary only) takes it and refuses text. NULL in
 * gives NULL out; a value that is no geometry fails the query ("processing geometry `Invalid WKT
 * format`"), except in ST_AsBinary, whose result is then NULL, as CnosDB's is. */
#include "sql/func_int.h"

#include <stdlib.h>
#include <string.h>

#include "gis/gis.h"

/* A geometry argument of a kernel: a constant is read at its first use from the thread's cache
 * of texts (so once, not once per batch), anything else row by row. */
struct garg {
    bool fixed;
    gis_geom *g;
};

static int geo_err(err *er, const char *msg) {
    return err_set(er, 422, EC_QUERY_INTERNAL, "Execution error: processing geometry `%s`", msg);
}

static int read_wkt(strv s, bool shared, gis_geom **out, err *er) {
    char msg[GIS_MSG_CAP];
    *out = shared ? gis_from_wkt_shared(s.p, s.len, msg) : gis_from_wkt(s.p, s.len, msg);
    return *out ? 0 : geo_err(er, msg);
}

static void garg_init(const bexpr *e, uint32_t k, struct garg *ga) {
    ga->fixed = bx_scalar_const(e, k);
    ga->g = NULL;
}

/* The geometry of argument k at row i (the caller has checked the row is not NULL). */
static int garg_row(const bexpr *e, const vec *args, uint32_t k, uint32_t i, struct garg *ga,
                    gis_geom **out, err *er) {
    if (ga->fixed) {
        if (!ga->g && read_wkt(e->args[k]->cval.v.s, true, &ga->g, er) < 0) return -1;
    } else {
        gis_free(ga->g);
        ga->g = NULL;
        if (read_wkt(args[k].d.s[i], false, &ga->g, er) < 0) return -1;
    }
    *out = ga->g;
    return 0;
}

static void garg_done(struct garg *ga) {
    if (ga->fixed)
        gis_unshare(ga->g);
    else
        gis_free(ga->g);
}

/* Whether row i of every argument is non-NULL (a fixed constant is); marks out NULL if not. */
static bool row_valid(const bexpr *e, const vec *args, uint32_t i, arena *a, vec *out) {
    for (uint32_t k = 0; k < e->nargs; k++)
        if (!bx_scalar_const(e, k) && !vec_is_valid(&args[k], i)) {
            vec_set_null(a, out, i);
            return false;
        }
    return true;
}

/* ------------------------------------------------------------------ one geometry */

static int fn_area(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    struct garg ga;
    garg_init(e, 0, &ga);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (!row_valid(e, args, i, a, out)) continue;
        gis_geom *g;
        char msg[GIS_MSG_CAP];
        if ((rc = garg_row(e, args, 0, i, &ga, &g, er)) < 0) break;
        if (gis_area(g, &out->d.f64[i], msg) < 0) rc = geo_err(er, msg);
    }
    garg_done(&ga);
    return rc;
}

/* The WKB of WKT text s as lower-case hex in a (scratch: wkb); false when s is no WKT. */
static bool wkb_hex(arena *a, strv s, buf *wkb, strv *out) {
    static const char hexd[] = "0123456789abcdef";
    char msg[GIS_MSG_CAP];
    buf_reset(wkb);
    if (gis_wkt_to_wkb(s.p, s.len, wkb, msg) < 0) return false;
    char *h = arena_alloc(a, 2 * wkb->len + 1);
    for (size_t j = 0; j < wkb->len; j++) {
        unsigned char c = (unsigned char)wkb->p[j];
        h[2 * j] = hexd[c >> 4], h[2 * j + 1] = hexd[c & 15];
    }
    *out = (strv){h, (uint32_t)(2 * wkb->len)};
    return true;
}

/* ST_AsBinary(wkt): text that is no geometry has no WKB, so NULL rather than an error. A
 * constant's hex is made once per batch and shared by its rows (no GEOS here: cheap). */
static int fn_asbinary(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool fixed = bx_scalar_const(e, 0), made = false, ok = false;
    strv hex = {"", 0};
    buf wkb;
    buf_init(&wkb);
    for (uint32_t i = 0; i < n; i++) {
        if (!row_valid(e, args, i, a, out)) continue;
        if (!fixed || !made) {
            ok = wkb_hex(a, fixed ? e->args[0]->cval.v.s : args[0].d.s[i], &wkb, &hex);
            made = true;
        }
        if (ok)
            out->d.s[i] = hex;
        else
            vec_set_null(a, out, i);
    }
    buf_free(&wkb);
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* ST_GeomFromWKB(wkb): the WKT of a Binary value (hex text, see above). */
static int fn_from_wkb(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    buf bytes, text;
    buf_init(&bytes);
    buf_init(&text);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (!vec_is_valid(&args[0], i)) continue;
        strv s = args[0].d.s[i];
        buf_reset(&bytes);
        for (uint32_t j = 0; j + 1 < s.len; j += 2) {
            int hi = hexval(s.p[j]), lo = hexval(s.p[j + 1]);
            if (hi < 0 || lo < 0) break;
            buf_putc(&bytes, (char)(hi << 4 | lo));
        }
        if (bytes.len * 2 != s.len) {
            rc = geo_err(er, "Invalid WKB: not whole bytes");
            break;
        }
        char msg[GIS_MSG_CAP];
        buf_reset(&text);
        if (gis_wkb_to_wkt((const unsigned char *)bytes.p, bytes.len, false, &text, msg) < 0) {
            rc = geo_err(er, msg);
            break;
        }
        if ((rc = str_len_check(text.len, er)) < 0) break;
        char *p = arena_alloc(a, text.len + 1);
        memcpy(p, text.p, text.len);
        out->d.s[i] = (strv){p, (uint32_t)text.len};
    }
    buf_free(&bytes);
    buf_free(&text);
    return rc;
}

/* ------------------------------------------------------------------ two geometries */

#define G2_DISTANCE 0xff /* else the aux is an enum gis_pred */

static int fn_geo2(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    unsigned op = (unsigned)(uintptr_t)e->aux;
    struct garg ga, gb;
    garg_init(e, 0, &ga);
    garg_init(e, 1, &gb);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (!row_valid(e, args, i, a, out)) continue;
        gis_geom *x, *y;
        char msg[GIS_MSG_CAP];
        if ((rc = garg_row(e, args, 0, i, &ga, &x, er)) < 0 ||
            (rc = garg_row(e, args, 1, i, &gb, &y, er)) < 0)
            break;
        if (op == G2_DISTANCE) {
            int r = gis_distance(x, y, &out->d.f64[i], msg);
            /* a pair CnosDB does not measure is its own message, not a reading error */
            if (r == -2)
                rc = err_set(er, 422, EC_QUERY_INTERNAL, "Execution error: %s", msg);
            else if (r < 0)
                rc = geo_err(er, msg);
        } else {
            bool b = false;
            if (gis_predicate((enum gis_pred)op, x, y, &b, msg) < 0) rc = geo_err(er, msg);
            out->d.b[i] = b;
        }
    }
    garg_done(&ga);
    garg_done(&gb);
    return rc;
}

/* ------------------------------------------------------------------ binding */

/* Every argument as WKT text. A boolean is read as the number CnosDB reads it as (1 or 0), which
 * its reader then refuses as "Invalid WKT format", rather than as the word `true`. */
static int bind_geo(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    const fn_def *d = c->def;
    for (uint32_t i = 0; i < nargs; i++) {
        if (args[i]->type == VT_BOOL && bx_cast(c->a, &args[i], VT_I64, NU_64, er) < 0) return -1;
        if (bx_cast(c->a, &args[i], VT_STR, 0, er) < 0) return -1;
    }
    bool binary = d->eval == fn_asbinary;
    *out = func_call(c->a, d, d->eval, d->ret, binary ? SU_BINARY : SU_UTF8, args, nargs, d->aux);
    (*out)->scalar_args = nargs == 2 ? 3u : 1u;
    return 0;
}

#define GEOFN(nm, disp, n, rt, fn, op)                                                             \
    {                                                                                              \
        .name = (nm), .display = (disp), .udf_nargs = (n), .sig = GEO_SIG##n, .ret = (rt),         \
        .eval = (fn), .aux = (const void *)(uintptr_t)(op), .bind = bind_geo, .raw_args = true     \
    }
#define GEO_SIG1 SIG_EX(DT_UTF8)
#define GEO_SIG2 SIG_EX(DT_UTF8, DT_UTF8)

const fn_def func_gis_defs[] = {
    GEOFN("st_asbinary", "st_AsBinary", 1, VT_STR, fn_asbinary, 0),
    {.name = "st_geomfromwkb",
     .display = "st_GeomFromWKB",
     .udf_nargs = 1,
     .sig = SIG_EX(DT_BIN),
     .ret = VT_STR,
     .eval = fn_from_wkb},
    GEOFN("st_area", "ST_Area", 1, VT_F64, fn_area, 0),
    GEOFN("st_distance", "ST_Distance", 2, VT_F64, fn_geo2, G2_DISTANCE),
    GEOFN("st_equals", "ST_Equals", 2, VT_BOOL, fn_geo2, GIS_EQUALS),
    GEOFN("st_contains", "ST_Contains", 2, VT_BOOL, fn_geo2, GIS_CONTAINS),
    GEOFN("st_intersects", "ST_Intersects", 2, VT_BOOL, fn_geo2, GIS_INTERSECTS),
    GEOFN("st_disjoint", "ST_Disjoint", 2, VT_BOOL, fn_geo2, GIS_DISJOINT),
    GEOFN("st_within", "ST_Within", 2, VT_BOOL, fn_geo2, GIS_WITHIN),
    {.name = NULL},
};
