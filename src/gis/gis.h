/* Geometry for CnosDB's GEOMETRY columns and ST_ functions, over GEOS's reentrant C API.
 *
 * Values are WKT text (as stored and returned) or WKB bytes (ST_AsBinary). Reading WKT reports
 * what CnosDB's WKT reader reports for the inputs it words specially: a first token that is no
 * word ("Invalid WKT format"), a word that names no geometry type ("Invalid type encountered"),
 * a number token that is no number ("Unable to parse input number as the desired output type");
 * any other malformed text gets GEOS's own message, which names the token. Polygon rings left
 * open are closed, as CnosDB's geometry model closes them. Coordinates are planar; Z and M are
 * read and dropped.
 *
 * WKT is written the way CnosDB prints a geometry: no space after the type name, none after a
 * comma (`MULTIPOINT(10 40,40 30)`, `POLYGON((0 0,1 0,0 0))`), EMPTY for an empty geometry,
 * and numbers either as Rust's Display of an f64 (`10`, `0.5`: ST_GeomFromWKB's output) or its
 * Debug (`10.0`, `1e-7`: the form CnosDB's messages quote).
 *
 * Threads: each thread gets its own GEOS context on first use, freed when the thread exits. A
 * gis_geom belongs to the thread that made it: make, use and free it on that thread. */
#ifndef STRATA_GIS_GIS_H
#define STRATA_GIS_GIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* A GEOMETRY column's sub_type. Persisted in the catalog: append only. 0 = not a geometry. */
enum gis_type {
    GIS_NONE = 0,
    GIS_POINT = 1,
    GIS_LINESTRING,
    GIS_POLYGON,
    GIS_MULTIPOINT,
    GIS_MULTILINESTRING,
    GIS_MULTIPOLYGON,
    GIS_COLLECTION, /* GEOMETRYCOLLECTION */
    GIS__COUNT
};

/* The sub_type a name gives (case-insensitive, len bytes), GIS_NONE for none. */
enum gis_type gis_type_parse(const char *name, size_t len);
/* Its upper-case SQL name (POINT ... GEOMETRYCOLLECTION); "" for GIS_NONE. */
const char *gis_type_name(enum gis_type t);
/* The name CnosDB's write check uses for it: Point, LineString, ... GeometryCollection. */
const char *gis_type_camel(enum gis_type t);

typedef struct gis_geom gis_geom;

/* Room for the message of a failed call (truncated to fit: one naming a huge geometry). */
#define GIS_MSG_CAP 1024

/* WKT text (n bytes, no NUL needed) to a geometry, or NULL with the reason in msg. */
gis_geom *gis_from_wkt(const char *p, size_t n, char msg[GIS_MSG_CAP]);
void gis_free(gis_geom *g);
/* gis_from_wkt for a text the thread reads again and again (a query's constant argument, batch
 * after batch, query after query): the thread keeps the last few texts read so (up to 64 KiB
 * each) with their geometries, so a text is read once. The geometry is shared and must not be
 * changed; gis_unshare gives it back (never gis_free). */
gis_geom *gis_from_wkt_shared(const char *p, size_t n, char msg[GIS_MSG_CAP]);
void gis_unshare(gis_geom *g);

/* Its type: GIS_NONE for one that has no sub_type (a bare LinearRing). */
enum gis_type gis_type_of(const gis_geom *g);

/* Appends g as WKT to out: numbers in Rust's Debug form when debug, else its Display form. */
void gis_wkt(const gis_geom *g, bool debug, buf *out);

/* WKT text straight to 2-dimensional little-endian WKB, appended to out, as written: no ring is
 * closed, no geometry checked, text after it ignored (gis_wkb.c). -1 with msg when the text is
 * not WKT. */
int gis_wkt_to_wkb(const char *p, size_t n, buf *out, char msg[GIS_MSG_CAP]);
/* WKB (either byte order; Z and M read and dropped) appended to out as WKT, numbers as gis_wkt
 * writes them. -1 with msg ("Invalid WKB: ...") when the bytes are not WKB. */
int gis_wkb_to_wkt(const unsigned char *p, size_t n, bool debug, buf *out, char msg[GIS_MSG_CAP]);

/* Planar area (0 for points and lines; a collection sums its parts). */
int gis_area(const gis_geom *g, double *out, char msg[GIS_MSG_CAP]);
/* Shortest planar distance, 0 where they touch. Defined for a point and anything but a
 * collection, and between linestrings and polygons, as CnosDB defines it; other pairs return -2
 * with CnosDB's "Calculating the distance between ... is not supported" (-1: any other error). */
int gis_distance(const gis_geom *a, const gis_geom *b, double *out, char msg[GIS_MSG_CAP]);

enum gis_pred { GIS_EQUALS, GIS_CONTAINS, GIS_INTERSECTS, GIS_DISJOINT, GIS_WITHIN };
/* A DE-9IM predicate of a against b. */
int gis_predicate(enum gis_pred p, const gis_geom *a, const gis_geom *b, bool *out,
                  char msg[GIS_MSG_CAP]);

/* The write path's check of a value for a column of sub_type want: 0, or -1 with CnosDB's
 * message (`Invalid geometry type, error: expect Point, got LINESTRING(30.0 10.0,...)`, or the
 * reading error) in out (malloc'ed: the caller frees it). */
int gis_check_value(const char *p, size_t n, enum gis_type want, char **out);

#endif
