/* Unit tests for the geometry layer (gis/gis.c): reading WKT and its errors, writing WKT in
 * both number forms, WKB round trips, the computations and the write check. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gis/gis.h"

static gis_geom *must(const char *wkt) {
    char msg[GIS_MSG_CAP];
    gis_geom *g = gis_from_wkt(wkt, strlen(wkt), msg);
    if (!g) fail_msg("'%s' refused: %s", wkt, msg);
    return g;
}

static void wkt_is(const char *in, bool debug, const char *want) {
    gis_geom *g = must(in);
    buf b;
    buf_init(&b);
    gis_wkt(g, debug, &b);
    if (strcmp(buf_cstr(&b), want))
        fail_msg("'%s' wrote\n  %s\nwant\n  %s", in, buf_cstr(&b), want);
    buf_free(&b);
    gis_free(g);
}

static void bad_wkt(const char *in, const char *want) {
    char msg[GIS_MSG_CAP];
    gis_geom *g = gis_from_wkt(in, strlen(in), msg);
    if (g) fail_msg("'%s' accepted", in);
    if (want && strcmp(msg, want)) fail_msg("'%s': '%s', want '%s'", in, msg, want);
}

static void test_types(void **state) {
    assert_int_equal(gis_type_parse("point", 5), GIS_POINT);
    assert_int_equal(gis_type_parse("GeometryCollection", 18), GIS_COLLECTION);
    assert_int_equal(gis_type_parse("POINTS", 6), GIS_NONE);
    assert_int_equal(gis_type_parse("", 0), GIS_NONE);
    assert_string_equal(gis_type_name(GIS_MULTIPOLYGON), "MULTIPOLYGON");
    assert_string_equal(gis_type_camel(GIS_LINESTRING), "LineString");
}

static void test_read_errors(void **state) {
    bad_wkt("", "Invalid WKT format");
    bad_wkt("   ", "Invalid WKT format");
    bad_wkt("-1", "Invalid WKT format");
    bad_wkt("3.25", "Invalid WKT format");
    bad_wkt("(1 2)", "Invalid WKT format");
    bad_wkt("hello", "Invalid type encountered");
    bad_wkt("LINEARRING(0 0,1 1,1 0,0 0)", "Invalid type encountered");
    bad_wkt("1999-12-31T00:00:00", "Unable to parse input number as the desired output type");
    bad_wkt("POINT(1x 2)", "Unable to parse input number as the desired output type");
    bad_wkt("POINT(1 2", NULL);  /* GEOS's own words */
    bad_wkt("POINT(a b)", NULL); /* idem */
    bad_wkt("LINESTRING(1 1)", NULL);
    /* deep nesting is refused before GEOS recurses into it */
    buf deep;
    buf_init(&deep);
    for (int i = 0; i < 100000; i++) buf_puts(&deep, "GEOMETRYCOLLECTION(");
    char msg[GIS_MSG_CAP];
    assert_null(gis_from_wkt(deep.p, deep.len, msg));
    buf_free(&deep);
    assert_string_equal(msg, "geometry nested deeper than 64 levels");
}

static void test_write(void **state) {
    wkt_is("POINT(0 0)", false, "POINT(0 0)");
    wkt_is("point ( 1.5  -2 )", false, "POINT(1.5 -2)");
    wkt_is("POINT(0 0)", true, "POINT(0.0 0.0)");
    wkt_is("POINT(1e20 0.00001)", true, "POINT(1e20 1e-5)");
    wkt_is("POINT(1e20 0.00001)", false, "POINT(100000000000000000000 0.00001)");
    wkt_is("POINT(123.25 0.0001)", true, "POINT(123.25 0.0001)");
    wkt_is("MULTIPOINT ((10 40), (40 30))", false, "MULTIPOINT(10 40,40 30)");
    wkt_is("MULTIPOINT (10 40, 40 30)", true, "MULTIPOINT(10.0 40.0,40.0 30.0)");
    wkt_is("LINESTRING (30 10, 10 30, 40 40)", false, "LINESTRING(30 10,10 30,40 40)");
    /* an open ring is closed */
    wkt_is("POLYGON ((0 0, 4 0, 4 4))", false, "POLYGON((0 0,4 0,4 4,0 0))");
    wkt_is("POLYGON ((35 10, 45 45, 15 40, 35 10),(20 30, 35 35, 30 20, 20 30))", false,
           "POLYGON((35 10,45 45,15 40,35 10),(20 30,35 35,30 20,20 30))");
    wkt_is("MULTILINESTRING ((10 10, 20 20),(40 40, 30 30))", false,
           "MULTILINESTRING((10 10,20 20),(40 40,30 30))");
    wkt_is("MULTIPOLYGON (((30 20, 45 40, 10 40, 30 20)),((15 5, 40 10, 10 20, 15 5)))", false,
           "MULTIPOLYGON(((30 20,45 40,10 40,30 20)),((15 5,40 10,10 20,15 5)))");
    wkt_is("GEOMETRYCOLLECTION (POINT (40 10),LINESTRING (10 10, 20 20))", true,
           "GEOMETRYCOLLECTION(POINT(40.0 10.0),LINESTRING(10.0 10.0,20.0 20.0))");
    wkt_is("POINT EMPTY", false, "POINT EMPTY");
    wkt_is("polygon empty", false, "POLYGON EMPTY");
    wkt_is("GEOMETRYCOLLECTION EMPTY", false, "GEOMETRYCOLLECTION EMPTY");
    wkt_is("POINT Z (1 2 3)", false, "POINT(1 2)");
}

static void roundtrip(const char *in, const char *want) {
    char msg[GIS_MSG_CAP];
    buf w, t;
    buf_init(&w);
    buf_init(&t);
    if (gis_wkt_to_wkb(in, strlen(in), &w, msg) < 0) fail_msg("'%s': %s", in, msg);
    if (gis_wkb_to_wkt((const unsigned char *)w.p, w.len, false, &t, msg) < 0)
        fail_msg("'%s' back: %s", in, msg);
    if (strcmp(buf_cstr(&t), want)) fail_msg("'%s' came back\n  %s\nwant\n  %s", in, t.p, want);
    buf_free(&w);
    buf_free(&t);
}

static void test_wkb(void **state) {
    char msg[GIS_MSG_CAP];
    buf b;
    buf_init(&b);
    assert_int_equal(gis_wkt_to_wkb("POINT(0 0)", 10, &b, msg), 0);
    assert_int_equal(b.len, 21);
    assert_int_equal((unsigned char)b.p[0], 1); /* little-endian */
    assert_int_equal((unsigned char)b.p[1], 1); /* point */
    assert_int_equal(gis_wkb_to_wkt((const unsigned char *)b.p, 5, false, &b, msg), -1);
    assert_string_equal(msg, "Invalid WKB: too short");
    buf_free(&b);
    /* big-endian, with Z: read, Z dropped */
    const unsigned char be[] = {0, 0, 0, 0x03, 0xE9, 0x3F, 0xF0, 0,    0, 0, 0, 0, 0, 0x40, 0,
                                0, 0, 0, 0,    0,    0,    0x40, 0x08, 0, 0, 0, 0, 0, 0};
    buf_init(&b);
    assert_int_equal(gis_wkb_to_wkt(be, sizeof be, true, &b, msg), 0);
    assert_string_equal(buf_cstr(&b), "POINT(1.0 2.0)");
    buf_free(&b);
    /* rings stay as written */
    roundtrip("POLYGON ((0 0, 4 0, 4 4))", "POLYGON((0 0,4 0,4 4))");
    roundtrip("MULTIPOINT ((10 40), (40 30))", "MULTIPOINT(10 40,40 30)");
    roundtrip("MULTIPOINT (10 40, 40 30)", "MULTIPOINT(10 40,40 30)");
    roundtrip("MULTILINESTRING ((10 10, 20 20),(40 40, 30 30))",
              "MULTILINESTRING((10 10,20 20),(40 40,30 30))");
    roundtrip("MULTIPOLYGON (((30 20, 45 40, 10 40)),((15 5, 40 10, 10 20, 15 5),(1 1,2 2,1 2)))",
              "MULTIPOLYGON(((30 20,45 40,10 40)),((15 5,40 10,10 20,15 5),(1 1,2 2,1 2)))");
    roundtrip("GEOMETRYCOLLECTION (POINT (40 10),MULTIPOINT(1 2),LINESTRING (10 10, 20 20))",
              "GEOMETRYCOLLECTION(POINT(40 10),MULTIPOINT(1 2),LINESTRING(10 10,20 20))");
    roundtrip("POINT EMPTY", "POINT EMPTY");
    roundtrip("linestring empty", "LINESTRING EMPTY");
    roundtrip("GEOMETRYCOLLECTION EMPTY", "GEOMETRYCOLLECTION EMPTY");
    roundtrip("POINT Z (1.5 2 3)", "POINT(1.5 2)");
    buf_init(&b);
    assert_int_equal(gis_wkt_to_wkb("POINT(1 2) x", 12, &b, msg), 0); /* as GEOS reads it */
    assert_int_equal(b.len, 21);
    b.len = 0;
    assert_int_equal(gis_wkt_to_wkb("LINESTRING(1 2,)", 16, &b, msg), -1);
    assert_int_equal(gis_wkt_to_wkb("hello", 5, &b, msg), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static double area(const char *wkt) {
    gis_geom *g = must(wkt);
    char msg[GIS_MSG_CAP];
    double a = -1;
    if (gis_area(g, &a, msg) < 0) fail_msg("area of %s: %s", wkt, msg);
    gis_free(g);
    return a;
}

static void test_compute(void **state) {
    assert_true(area("POLYGON((0 0,0 1,1 1,1 0,0 0))") == 1.0);
    assert_true(area("POLYGON((0 0,0 2,2 2,2 0,0 0),(0.5 0.5,1 0.5,1 1,0.5 0.5))") == 3.875);
    assert_true(area("LINESTRING EMPTY") == 0.0);
    assert_true(area("GEOMETRYCOLLECTION (POINT (1 1),POLYGON((0 0,0 1,1 1,1 0,0 0)))") == 1.0);
    char msg[GIS_MSG_CAP];
    double d;
    gis_geom *e = must("POINT EMPTY");
    assert_int_equal(gis_area(e, &d, msg), -1);
    assert_string_equal(
        msg, "The input was an empty Point, but the output doesn't support empty Points");
    gis_free(e);

    gis_geom *p = must("POINT(0 0)"), *l = must("LINESTRING(3 -1,3 1)");
    gis_geom *mp = must("MULTIPOINT(1 1,2 2)"), *gc = must("GEOMETRYCOLLECTION(POINT(4 0))");
    assert_int_equal(gis_distance(p, l, &d, msg), 0);
    assert_true(d == 3.0);
    assert_int_equal(gis_distance(mp, p, &d, msg), 0);
    assert_int_equal(gis_distance(l, mp, &d, msg), -2);
    assert_string_equal(msg,
                        "Calculating the distance between LINESTRING and MULTIPOINT(1.0 1.0,2.0 "
                        "2.0) is not supported");
    assert_int_equal(gis_distance(gc, p, &d, msg), -2);
    assert_string_equal(msg, "Calculating the distance between GEOMETRYCOLLECTION(POINT(4.0 0.0)) "
                             "and POINT(0.0 0.0) is not supported");

    bool r;
    gis_geom *sq = must("POLYGON((-1 -1,-1 1,1 1,1 -1,-1 -1))");
    assert_int_equal(gis_predicate(GIS_CONTAINS, sq, p, &r, msg), 0);
    assert_true(r);
    assert_int_equal(gis_predicate(GIS_WITHIN, p, sq, &r, msg), 0);
    assert_true(r);
    assert_int_equal(gis_predicate(GIS_DISJOINT, sq, l, &r, msg), 0);
    assert_true(r);
    assert_int_equal(gis_predicate(GIS_INTERSECTS, sq, l, &r, msg), 0);
    assert_false(r);
    assert_int_equal(gis_predicate(GIS_EQUALS, sq, sq, &r, msg), 0);
    assert_true(r);
    gis_free(p), gis_free(l), gis_free(mp), gis_free(gc), gis_free(sq);
}

static void test_check_value(void **state) {
    char *m = NULL;
    assert_int_equal(gis_check_value("POINT(1 2)", 10, GIS_POINT, &m), 0);
    assert_null(m);
    const char *ls = "LINESTRING (30 10, 10 30)";
    assert_int_equal(gis_check_value(ls, strlen(ls), GIS_POINT, &m), -1);
    assert_string_equal(m, "Invalid geometry type, error: expect Point, got "
                           "LINESTRING(30.0 10.0,10.0 30.0)");
    free(m);
    assert_int_equal(gis_check_value("nope", 4, GIS_POLYGON, &m), -1);
    assert_string_equal(m, "Invalid geometry, error: Invalid type encountered");
    free(m);
}

/* A text read again is read once: the same geometry while it is kept; a pinned one is never
 * replaced, and when every slot is pinned the caller gets its own. */
static void test_shared(void **state) {
    char msg[GIS_MSG_CAP];
    gis_geom *a = gis_from_wkt_shared("POINT (1 2)", 11, msg);
    gis_geom *b = gis_from_wkt_shared("POINT (1 2)", 11, msg);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    gis_unshare(b);
    assert_null(gis_from_wkt_shared("POINT (1", 8, msg)); /* errors are not kept */
    gis_geom *p[6];
    char text[6][32];
    for (int i = 0; i < 6; i++) {
        snprintf(text[i], sizeof text[i], "POINT (%d 0)", i);
        p[i] = gis_from_wkt_shared(text[i], strlen(text[i]), msg);
        assert_non_null(p[i]);
    }
    /* a (still pinned) and p[0..2] fill the four slots: p[3..5] are the caller's own */
    double d;
    assert_int_equal(gis_distance(a, p[5], &d, msg), 0);
    assert_true(d == sqrt(20.0)); /* (1 2) to (5 0): both usable */
    for (int i = 0; i < 6; i++) gis_unshare(p[i]);
    gis_unshare(a);
    /* now unpinned: a new text replaces the least recently used */
    gis_geom *c = gis_from_wkt_shared("POINT (9 9)", 11, msg);
    gis_geom *again = gis_from_wkt_shared("POINT (2 0)", 11, msg);
    assert_ptr_equal(again, p[2]);
    gis_unshare(again);
    gis_unshare(c);
}

/* A shared geometry is tested in its prepared form, on either side: the answers are the plain
 * ones for every pair and predicate. */
static void test_prepared_same(void **state) {
    static const char *const g[] = {
        "POINT (1 1)",
        "POINT (2 0)",
        "POINT (5 5)",
        "LINESTRING (0 0, 2 0, 2 2)",
        "LINESTRING (3 0.5, 3 3.5)",
        "POLYGON ((0 0, 5 0, 5 6, 0 6, 0 0))",
        "POLYGON ((0 0, 0 2, 2 2, 2 0, 0 0), (0.5 0.5, 1.5 0.5, 1.5 1.5, 0.5 0.5))",
        "MULTIPOINT (1 1, 9 9)",
        "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 7 5, 7 7, 5 5)))",
        "LINESTRING EMPTY",
        "GEOMETRYCOLLECTION (POINT (1 1), LINESTRING (0 0, 1 1))",
    };
    size_t n = sizeof g / sizeof g[0];
    char msg[GIS_MSG_CAP];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (int p = GIS_CONTAINS; p <= GIS_WITHIN; p++)
                for (int side = 0; side < 2; side++) {
                    gis_geom *a = must(g[i]), *b = must(g[j]);
                    bool plain, prep;
                    int rc = gis_predicate((enum gis_pred)p, a, b, &plain, msg);
                    gis_geom *s =
                        gis_from_wkt_shared(side ? g[j] : g[i], strlen(side ? g[j] : g[i]), msg);
                    int rc2 =
                        gis_predicate((enum gis_pred)p, side ? a : s, side ? s : b, &prep, msg);
                    assert_int_equal(rc, rc2);
                    if (rc == 0 && plain != prep)
                        fail_msg("pred %d of %s, %s: %d plain, %d prepared (side %d)", p, g[i],
                                 g[j], plain, prep, side);
                    gis_unshare(s);
                    gis_free(a);
                    gis_free(b);
                }
}

/* Each thread has its own GEOS context, freed at its exit. */
static void *worker(void *arg) {
    for (int i = 0; i < 50; i++) {
        char *m = NULL;
        if (gis_check_value("POLYGON((0 0,1 0,1 1,0 0))", 26, GIS_POLYGON, &m) != 0) {
            free(m);
            return (void *)1;
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),   cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_write),   cmocka_unit_test(test_wkb),
        cmocka_unit_test(test_compute), cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_shared),  cmocka_unit_test(test_prepared_same),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
