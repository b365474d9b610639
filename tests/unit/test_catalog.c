/* Unit tests for the catalog (src/meta/catalog*.c, colset.c): the write path's schema step over
 * many tables and very wide tables, versions that keep seeing only their own columns while the
 * table grows, all-or-nothing requests, DDL, the codec ids storage gets, the log (replay of
 * every record kind, a torn tail, a failed append that must change nothing), and readers of
 * other tables working through a storm of schema changes (checked for correctness, not time).
 *
 * Each test works in its own mkdtemp directory under /tmp and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "codec/codec.h"
#include "meta/catalog.h"
#include "util/timeutil.h"
#include "meta/catalog_int.h"
#include "util/log.h"
#include "util/mem.h"

#include <zlib.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static catalog *cat_open(const char *dir) {
    catalog *c = NULL;
    err e;
    err_clear(&e);
    if (catalog_open(dir, &c, &e) < 0) fail_msg("catalog_open: %s", e.msg);
    return c;
}

static catalog *cat_reopen(catalog *c, const char *dir) {
    catalog_close(c);
    return cat_open(dir);
}

/* Names live in a per-test pool so col_defs can point at them. */
typedef struct names {
    char **p;
    size_t n, cap;
} names;

static const char *nm(names *ns, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 64;
        ns->p = xrealloc(ns->p, sizeof *ns->p * ns->cap);
    }
    return ns->p[ns->n++] = xstrdup(tmp);
}

static void names_free(names *ns) {
    for (size_t i = 0; i < ns->n; i++) free(ns->p[i]);
    free(ns->p);
}

static col_def tag(const char *n) {
    return (col_def){n, strlen(n), CK_TAG, VT_STR, 0, 0, 0};
}

static col_def field(const char *n, uint8_t type) {
    return (col_def){n, strlen(n), CK_FIELD, type, 0, 0, 0};
}

/* catalog_ensure_tables for one table; returns the retained version (NULL + e on error). */
static meta_table *ensure1(catalog *c, const char *db, const char *table, const col_def *cols,
                           size_t n, err *e) {
    table_cols tc = {table, strlen(table), cols, n};
    meta_table *t = NULL;
    err_clear(e);
    if (catalog_ensure_tables(c, "cnosdb", db, &tc, 1, &t, e) < 0) return NULL;
    return t;
}

static meta_table *get(catalog *c, const char *db, const char *table) {
    err e;
    err_clear(&e);
    return catalog_get_table(c, "cnosdb", db, table, &e);
}

static void create_db(catalog *c, const char *name) {
    db_options o;
    db_options_default(&o);
    err e;
    err_clear(&e);
    if (catalog_create_db(c, "cnosdb", name, &o, false, &e) < 0)
        fail_msg("create db %s: %s", name, e.msg);
}

/* Every column of t is found by name at its index, and by id for its codec. */
static void check_table(catalog *c, const meta_table *t) {
    for (uint32_t i = 0; i < t->ncols; i++) {
        assert_int_equal(meta_table_col(t, t->cols[i].name, strlen(t->cols[i].name)), (int)i);
        if (i) assert_true(t->cols[i].id > t->cols[i - 1].id);
    }
    uint32_t tags = 0;
    for (uint32_t i = 0; i < t->ncols; i++) tags += t->cols[i].kind == CK_TAG;
    assert_int_equal(tags, t->ntags);
    assert_true(catalog_table_live(c, t->db_id, t->id));
}

/* ---- many tables -------------------------------------------------------------------------- */

/* 10k new tables in one request, then a restart: every table exists with its columns. */
static void test_many_tables_one_request(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    enum { N = 10000 };
    names ns = {0};
    table_cols *tabs = xcalloc(N, sizeof *tabs);
    col_def *cols = xcalloc(N * 2, sizeof *cols);
    for (size_t i = 0; i < N; i++) {
        cols[2 * i] = tag(nm(&ns, "host%zu", i % 7));
        cols[2 * i + 1] = field(nm(&ns, "v%zu", i % 5), VT_F64);
        const char *name = nm(&ns, "m%zu", i);
        tabs[i] = (table_cols){name, strlen(name), &cols[2 * i], 2};
    }
    meta_table **out = xcalloc(N, sizeof *out);
    err e;
    err_clear(&e);
    assert_int_equal(catalog_ensure_tables(c, "cnosdb", "public", tabs, N, out, &e), 0);
    for (size_t i = 0; i < N; i++) {
        assert_non_null(out[i]);
        assert_string_equal(out[i]->name, tabs[i].name);
        assert_int_equal(out[i]->ncols, 3);
        assert_int_equal(out[i]->ntags, 1);
        if (i) assert_int_not_equal(out[i]->id, out[i - 1]->id);
        check_table(c, out[i]);
    }
    uint64_t id0 = out[0]->id, id_last = out[N - 1]->id;
    for (size_t i = 0; i < N; i++) meta_table_release(out[i]);
    /* The same request again changes nothing and returns the same versions. */
    assert_int_equal(catalog_ensure_tables(c, "cnosdb", "public", tabs, N, out, &e), 0);
    assert_int_equal(out[0]->id, id0);
    for (size_t i = 0; i < N; i++) meta_table_release(out[i]);

    c = cat_reopen(c, dir);
    arena *a = arena_new(0);
    char **list;
    size_t n;
    assert_int_equal(catalog_list_tables(c, "cnosdb", "public", a, &list, &n, &e), 0);
    assert_int_equal(n, N);
    arena_free(a);
    meta_table *t = get(c, "public", "m0");
    assert_non_null(t);
    assert_int_equal(t->id, id0);
    check_table(c, t);
    meta_table_release(t);
    t = get(c, "public", tabs[N - 1].name);
    assert_int_equal(t->id, id_last);
    meta_table_release(t);
    /* Ids are never reused after a restart. */
    t = ensure1(c, "public", "fresh", cols, 2, &e);
    assert_true(t->id > id_last);
    meta_table_release(t);

    catalog_close(c);
    free(out);
    free(cols);
    free(tabs);
    names_free(&ns);
    tu_rmdir(dir);
}

/* ---- wide tables -------------------------------------------------------------------------- */

/* A table grown one column per request: every version keeps seeing exactly its own columns
 * while later ones are appended to the shared colset, and 50k columns in one request work. */
static void test_wide_table_versions(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    names ns = {0};
    err e;
    enum { STEPS = 500 };
    meta_table **held = xcalloc(STEPS, sizeof *held);
    col_def base[2] = {tag(nm(&ns, "host")), field(nm(&ns, "f0"), VT_I64)};
    held[0] = ensure1(c, "public", "wide", base, 2, &e);
    assert_non_null(held[0]);
    for (size_t i = 1; i < STEPS; i++) {
        col_def cd = field(nm(&ns, "f%zu", i), i % 2 ? VT_F64 : VT_STR);
        held[i] = ensure1(c, "public", "wide", &cd, 1, &e);
        assert_non_null(held[i]);
        assert_int_equal(held[i]->ncols, held[i - 1]->ncols + 1);
        assert_int_equal(held[i]->id, held[0]->id);
    }
    /* Every held version: its own columns found, later ones not. */
    for (size_t i = 0; i < STEPS; i += 37) {
        const meta_table *t = held[i];
        for (size_t k = 0; k < STEPS; k++) {
            char n[32];
            snprintf(n, sizeof n, "f%zu", k);
            int idx = meta_table_col(t, n, strlen(n));
            if (k <= i)
                assert_true(idx >= 0 && strcmp(t->cols[idx].name, n) == 0);
            else
                assert_int_equal(idx, -1);
        }
    }
    check_table(c, held[STEPS - 1]);
    for (size_t i = 0; i < STEPS; i++) meta_table_release(held[i]);

    /* 50k new fields in one request. */
    enum { WIDE = 50000 };
    col_def *cols = xmalloc(sizeof *cols * WIDE);
    for (size_t i = 0; i < WIDE; i++) cols[i] = field(nm(&ns, "w%06zu", WIDE - 1 - i), VT_F64);
    meta_table *t = ensure1(c, "public", "wider", cols, WIDE, &e);
    assert_non_null(t);
    assert_int_equal(t->ncols, WIDE + 1);
    /* Fields sorted by name, as CnosDB adds them. */
    assert_string_equal(t->cols[1].name, "w000000");
    assert_string_equal(t->cols[WIDE].name, "w049999");
    check_table(c, t);
    meta_table_release(t);
    /* One more column logs only itself, not the table (which would be ~1 MB here). */
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    size_t before, after;
    free(tu_read_file(path, &before));
    col_def one = field("one_more", VT_BOOL);
    t = ensure1(c, "public", "wider", &one, 1, &e);
    assert_int_equal(t->ncols, WIDE + 2);
    meta_table_release(t);
    free(tu_read_file(path, &after));
    assert_true(after > before && after - before < 200);
    /* 20k more at once (made in pieces): appended in name order after the others, with a
     * type conflict refused before any of them. */
    enum { MORE = 20000 };
    col_def *more = xmalloc(sizeof *more * (MORE + 1));
    for (size_t i = 0; i < MORE; i++) more[i] = field(nm(&ns, "x%05zu", MORE - 1 - i), VT_I64);
    more[MORE] = field("w000001", VT_STR);
    assert_null(ensure1(c, "public", "wider", more, MORE + 1, &e));
    assert_non_null(strstr(e.msg, "Column 'w000001' type error"));
    t = get(c, "public", "wider");
    assert_int_equal(t->ncols, WIDE + 2);
    meta_table_release(t);
    t = ensure1(c, "public", "wider", more, MORE, &e);
    assert_non_null(t);
    assert_int_equal(t->ncols, WIDE + 2 + MORE);
    assert_string_equal(t->cols[WIDE + 2].name, "x00000");
    assert_string_equal(t->cols[WIDE + 1 + MORE].name, "x19999");
    check_table(c, t);
    meta_table_release(t);
    free(more);

    c = cat_reopen(c, dir);
    t = get(c, "public", "wide");
    assert_int_equal(t->ncols, STEPS + 2);
    check_table(c, t);
    meta_table_release(t);
    t = get(c, "public", "wider");
    assert_int_equal(t->ncols, WIDE + 2 + MORE);
    check_table(c, t);
    meta_table_release(t);

    catalog_close(c);
    free(cols);
    free(held);
    names_free(&ns);
    tu_rmdir(dir);
}

/* ---- all or nothing ----------------------------------------------------------------------- */

static void test_request_all_or_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    col_def a[] = {tag("host"), field("v", VT_F64)};
    meta_table *t = ensure1(c, "public", "old", a, 2, &e);
    meta_table_release(t);
    /* A new table, a new column of an existing table, and a type conflict in a third. */
    col_def newcols[] = {field("x", VT_I64)};
    col_def more[] = {field("v", VT_F64), field("w", VT_BOOL)};
    col_def bad[] = {field("v", VT_STR)};
    table_cols tabs[] = {{"brand_new", 9, newcols, 1}, {"old", 3, more, 2}, {"old2", 4, bad, 1}};
    t = ensure1(c, "public", "old2", a, 2, &e);
    meta_table_release(t);
    meta_table *out[3] = {0};
    err_clear(&e);
    assert_int_equal(catalog_ensure_tables(c, "cnosdb", "public", tabs, 3, out, &e), -1);
    assert_int_equal(e.http, 422);
    assert_non_null(strstr(e.msg, "Column 'v' type error, found STRING expected F64"));
    assert_null(out[0]);
    assert_null(out[1]);
    assert_null(get(c, "public", "brand_new"));
    t = get(c, "public", "old");
    assert_int_equal(meta_table_col(t, "w", 1), -1);
    meta_table_release(t);
    /* The same without the conflict: all of it. */
    assert_int_equal(catalog_ensure_tables(c, "cnosdb", "public", tabs, 2, out, &e), 0);
    assert_int_equal(out[1]->ncols, 4);
    meta_table_release(out[0]);
    meta_table_release(out[1]);
    /* An unknown database. */
    err_clear(&e);
    assert_int_equal(catalog_ensure_tables(c, "cnosdb", "nodb", tabs, 2, out, &e), -1);
    assert_string_equal(e.code, EC_DB_NOT_FOUND);
    catalog_close(c);
    tu_rmdir(dir);
}

/* ---- DDL, codecs and the log ------------------------------------------------------------- */

static void test_ddl_codecs_and_replay(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    err_clear(&e);
    create_db(c, "db1");
    col_def cols[] = {tag("t1"), field("f1", VT_F64), field("f2", VT_STR), field("f3", VT_I64)};
    assert_int_equal(catalog_create_table(c, "cnosdb", "db1", "air", cols, 4, false, &e), 0);
    meta_table *v1 = get(c, "db1", "air");
    assert_int_equal(v1->ncols, 5);
    uint64_t db_id = v1->db_id, id = v1->id;
    uint32_t f1 = v1->cols[2].id, f2 = v1->cols[3].id, f3 = v1->cols[4].id;
    assert_int_equal(catalog_column_codec(c, db_id, id, f1), CODEC_USE_DEFAULT);

    col_def nul = {.codec = CODEC_NULL}, gz = {.codec = CODEC_GZIP}, dl = {.codec = CODEC_DELTA};
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_SET_CODEC, &nul, "f1", NULL, &e), 0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_SET_CODEC, &gz, "f2", NULL, &e), 0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_SET_CODEC, &dl, "f3", NULL, &e), 0);
    /* The codec's own ids: NULL is plain, GZIP gzip, DELTA the codec's default. */
    assert_int_equal(catalog_column_codec(c, db_id, id, f1), CODEC_USE_PLAIN);
    assert_int_equal(catalog_column_codec(c, db_id, id, f2), CODEC_USE_GZIP);
    assert_int_equal(catalog_column_codec(c, db_id, id, f3), CODEC_USE_DEFAULT);
    assert_int_equal(catalog_column_codec(c, db_id, id, 999), CODEC_USE_DEFAULT);
    /* The version taken before kept its codecs. */
    assert_int_equal(v1->cols[2].codec, CODEC_DEFAULT);
    meta_table_release(v1);

    col_def add = field("f4", VT_BOOL);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_ADD_COLUMN, &add, NULL, NULL, &e), 0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_RENAME_COLUMN, NULL, "f2", "g2", &e),
        0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_DROP_COLUMN, NULL, "f3", NULL, &e), 0);
    /* Added again after the rename and the drop: the colset is new, the ids go on. */
    col_def add5 = field("f5", VT_I64);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_ADD_COLUMN, &add5, NULL, NULL, &e), 0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "air", ALTER_ADD_COLUMN, &add5, NULL, NULL, &e),
        -1);
    meta_table *v = get(c, "db1", "air");
    const char *want[] = {"time", "t1", "f1", "g2", "f4", "f5"};
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(v->ncols, 6);
        for (int i = 0; i < 6; i++) assert_string_equal(v->cols[i].name, want[i]);
        assert_int_equal(v->cols[3].id, f2);
        assert_int_equal(meta_table_col(v, "f2", 2), -1);
        assert_int_equal(meta_table_col(v, "f3", 2), -1);
        assert_int_equal(v->cols[3].codec, CODEC_GZIP);
        assert_true(v->cols[5].id > f3);
        check_table(c, v);
        meta_table_release(v);
        /* Replay gives the same table. */
        c = cat_reopen(c, dir);
        v = get(c, "db1", "air");
    }
    meta_table_release(v);

    uint64_t dropped;
    assert_int_equal(catalog_drop_table(c, "cnosdb", "db1", "air", false, &dropped, &e), 0);
    assert_int_equal(dropped, id);
    assert_false(catalog_table_live(c, db_id, id));
    c = cat_reopen(c, dir);
    assert_false(catalog_table_live(c, db_id, id));
    assert_null(get(c, "db1", "air"));
    assert_int_equal(catalog_drop_db(c, "cnosdb", "db1", false, 0, &dropped, &e), 0);
    c = cat_reopen(c, dir);
    meta_db_info info;
    assert_int_equal(catalog_get_db(c, "cnosdb", "db1", &info, &e), -1);
    catalog_close(c);
    tu_rmdir(dir);
}

/* A GEOMETRY field keeps its sub_type through ADD COLUMN, a codec change, a rename and replay;
 * columns without one are logged as before (five elements), so older logs read the same. */
static void test_geometry_columns(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    err_clear(&e);
    create_db(c, "db1");
    col_def cols[] = {tag("t"), field("loc", VT_STR), field("s", VT_STR)};
    cols[1].geo = 1; /* POINT */
    assert_int_equal(catalog_create_table(c, "cnosdb", "db1", "g", cols, 3, false, &e), 0);
    col_def add = field("area", VT_STR);
    add.geo = 3; /* POLYGON */
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "g", ALTER_ADD_COLUMN, &add, NULL, NULL, &e), 0);
    col_def zstd = {.codec = CODEC_ZSTD};
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "g", ALTER_SET_CODEC, &zstd, "loc", NULL, &e), 0);
    assert_int_equal(
        catalog_alter_table(c, "cnosdb", "db1", "g", ALTER_RENAME_COLUMN, NULL, "area", "a2", &e),
        0);
    for (int pass = 0; pass < 2; pass++) {
        meta_table *t = get(c, "db1", "g");
        assert_int_equal(t->ncols, 5);
        assert_int_equal(t->cols[2].geo, 1);
        assert_int_equal(t->cols[2].codec, CODEC_ZSTD);
        assert_int_equal(t->cols[3].geo, 0);
        assert_string_equal(t->cols[4].name, "a2");
        assert_int_equal(t->cols[4].geo, 3);
        assert_int_equal(t->cols[1].geo, 0);
        assert_int_equal(t->ngeo, 2);
        meta_table_release(t);
        c = cat_reopen(c, dir);
    }
    catalog_close(c);
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    size_t n;
    char *text = tu_read_file(path, &n);
    text = xrealloc(text, n + 1);
    text[n] = 0;
    assert_non_null(strstr(text, "\"s\",2,5,0]"));
    assert_non_null(strstr(text, "\"loc\",2,5,7,1]"));
    free(text);
    tu_rmdir(dir);
}

/* DROP DATABASE ... AFTER: hidden from every lookup by name and from the list, its name still
 * taken, across reopening; recovered; dropped for real by take_due_drop only once due. */
static void test_delayed_drop(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    err_clear(&e);
    create_db(c, "db1");
    col_def cols[] = {tag("t1"), field("f1", VT_F64)};
    assert_int_equal(catalog_create_table(c, "cnosdb", "db1", "air", cols, 2, false, &e), 0);
    meta_db_info info;
    assert_int_equal(catalog_get_db(c, "cnosdb", "db1", &info, &e), 0);
    uint64_t id = info.id, dropped = 1;
    int64_t hour = 3600000000000LL;
    assert_int_equal(catalog_drop_db(c, "cnosdb", "db1", false, hour, &dropped, &e), 0);
    assert_int_equal(dropped, 0);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(catalog_get_db(c, "cnosdb", "db1", &info, &e), -1);
        assert_null(catalog_get_table(c, "cnosdb", "db1", "air", &e));
        arena *a = arena_new(0);
        char **dbs;
        size_t n;
        catalog_list_dbs(c, "cnosdb", a, &dbs, &n);
        for (size_t i = 0; i < n; i++) assert_string_not_equal(dbs[i], "db1");
        meta_db_info *all;
        catalog_all_dbs(c, a, &all, &n);
        bool found = false;
        for (size_t i = 0; i < n; i++) found |= all[i].id == id;
        assert_true(found); /* storage keeps it open */
        arena_free(a);
        db_options o;
        db_options_default(&o);
        assert_int_equal(catalog_create_db(c, "cnosdb", "db1", &o, false, &e), -1);
        assert_int_equal(catalog_take_due_drop(c, time_now_ns(), &dropped, &e), 0);
        assert_int_equal(dropped, 0); /* not due yet */
        c = cat_reopen(c, dir);
    }
    assert_int_equal(catalog_recover_db(c, "cnosdb", "db1", false, &e), 0);
    meta_table *t = get(c, "db1", "air");
    meta_table_release(t);
    c = cat_reopen(c, dir);
    assert_int_equal(catalog_get_db(c, "cnosdb", "db1", &info, &e), 0);
    assert_int_equal(catalog_drop_db(c, "cnosdb", "db1", false, hour, &dropped, &e), 0);
    assert_int_equal(catalog_take_due_drop(c, time_now_ns() + 2 * hour, &dropped, &e), 0);
    assert_int_equal(dropped, id);
    assert_int_equal(catalog_take_due_drop(c, time_now_ns() + 2 * hour, &dropped, &e), 0);
    assert_int_equal(dropped, 0);
    c = cat_reopen(c, dir);
    assert_int_equal(catalog_recover_db(c, "cnosdb", "db1", false, &e), -1);
    assert_int_equal(catalog_recover_db(c, "cnosdb", "db1", true, &e), 0);
    create_db(c, "db1");
    catalog_close(c);
    tu_rmdir(dir);
}

/* Names with quotes, backslashes and UTF-8 survive the log (table records are written by hand,
 * escaping only what needs it). */
static void test_names_in_the_log(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    const char *tname = "we\"ird\\tab/le", *cname = "c\"o\\l", *uname = "temp\xc3\xa9rature";
    col_def cols[] = {tag(cname), field(uname, VT_F64)};
    meta_table_release(ensure1(c, "public", tname, cols, 2, &e));
    col_def more = field("plain", VT_BOOL), odd = field("x\\\"", VT_I64);
    meta_table_release(ensure1(c, "public", tname, &more, 1, &e));
    meta_table_release(ensure1(c, "public", tname, &odd, 1, &e));
    for (int pass = 0; pass < 2; pass++) {
        c = cat_reopen(c, dir);
        meta_table *t = get(c, "public", tname);
        assert_non_null(t);
        assert_int_equal(t->ncols, 5);
        assert_string_equal(t->cols[1].name, cname);
        assert_string_equal(t->cols[2].name, uname);
        assert_string_equal(t->cols[4].name, "x\\\"");
        check_table(c, t);
        meta_table_release(t);
    }
    catalog_close(c);
    tu_rmdir(dir);
}

/* A torn last record is cut at open and the log takes appends again after it. */
static void test_torn_tail(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    col_def cols[] = {tag("host"), field("v", VT_F64)};
    meta_table_release(ensure1(c, "public", "a", cols, 2, &e));
    col_def more = field("w", VT_F64);
    meta_table_release(ensure1(c, "public", "a", &more, 1, &e));
    catalog_close(c);
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    size_t n;
    char *text = tu_read_file(path, &n);
    /* Cut the last record (the added column) in half. */
    assert_true(n > 10 && text[n - 1] == '\n');
    size_t last = n - 1;
    while (last > 0 && text[last - 1] != '\n') last--;
    tu_write_file(path, text, last + (n - last) / 2);
    free(text);
    c = cat_open(dir);
    meta_table *t = get(c, "public", "a");
    assert_int_equal(t->ncols, 3);
    meta_table_release(t);
    meta_table_release(ensure1(c, "public", "a", &more, 1, &e));
    c = cat_reopen(c, dir);
    t = get(c, "public", "a");
    assert_int_equal(t->ncols, 4);
    meta_table_release(t);
    catalog_close(c);
    tu_rmdir(dir);
}

/* Users, tenants, roles, members and grants replay to the same privileges, and a log from
 * before passwords were hashed loses its plain text at the next open. */
static void test_access_replay_and_legacy_passwords(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    user_opts uo = {"pw-1", NULL, NULL, -1, -1};
    tenant_opts to = {0};
    assert_int_equal(catalog_create_user(c, "u1", &uo, false, &e), 0);
    assert_int_equal(catalog_create_tenant(c, "t1", &to, false, &e), 0);
    db_options o;
    db_options_default(&o);
    assert_int_equal(catalog_create_db(c, "t1", "d1", &o, false, &e), 0);
    assert_int_equal(catalog_create_role(c, "t1", "r1", "member", false, &e), 0);
    assert_int_equal(catalog_grant(c, "t1", "r1", "d1", PRIV_W, false, &e), 0);
    assert_int_equal(catalog_set_member(c, "t1", "u1", "r1", true, &e), 0);
    for (int round = 0; round < 2; round++) {
        cat_login who = {0};
        assert_int_equal(catalog_authenticate(c, "u1", "pw-1", 4, "t1", true, &who, &e), 0);
        assert_string_equal(who.role, "r1");
        assert_false(who.is_admin);
        assert_int_equal(catalog_authenticate(c, "u1", "pw-2", 4, "t1", true, &who, &e), -1);
        assert_int_equal(e.http, 401);
        assert_int_equal(catalog_require(c, "u1", "t1", NEED_WRITE, "d1", &e), 0);
        assert_int_equal(catalog_require(c, "u1", "t1", NEED_READ, NULL, &e), 0);
        assert_int_equal(catalog_require(c, "u1", "t1", NEED_ALL, "d1", &e), -1);
        assert_int_equal(catalog_require(c, "u1", "t1", NEED_WRITE, NULL, &e), -1);
        assert_int_equal(catalog_require(c, "u1", "t1", NEED_ROLES, NULL, &e), -1);
        assert_int_equal(catalog_require(c, "root", "t1", NEED_SYSTEM, NULL, &e), 0);
        c = cat_reopen(c, dir);
    }
    catalog_close(c);
    /* a legacy record: the password as given */
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    const char *json = "{\"t\":\"user\",\"name\":\"old\",\"password\":\"Plain-Text-99\","
                       "\"comment\":\"\",\"admin\":false,\"must_change\":false}";
    char line[512];
    snprintf(line, sizeof line, "%08lx %s\n", crc32(0, (const unsigned char *)json, strlen(json)),
             json);
    size_t n;
    char *text = tu_read_file(path, &n);
    char *all = xmalloc(n + strlen(line));
    memcpy(all, text, n);
    memcpy(all + n, line, strlen(line));
    tu_write_file(path, all, n + strlen(line));
    free(all);
    free(text);
    c = cat_open(dir);
    cat_login who = {0};
    assert_int_equal(catalog_authenticate(c, "old", "Plain-Text-99", 13, "cnosdb", true, &who, &e),
                     -1); /* exists, but is no member of cnosdb */
    assert_int_equal(catalog_set_member(c, "cnosdb", "old", "member", true, &e), 0);
    assert_int_equal(catalog_authenticate(c, "old", "Plain-Text-99", 13, "cnosdb", true, &who, &e),
                     0);
    catalog_close(c);
    text = tu_read_file(path, &n);
    assert_null(memmem(text, n, "Plain-Text-99", 13));
    free(text);
    tu_rmdir(dir);
}

/* An append the file system refuses (here: past RLIMIT_FSIZE) changes nothing, leaves a log
 * that replays, and the next change after the limit is lifted works. */
static void test_failed_append_changes_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    catalog *c = cat_open(dir);
    err e;
    col_def cols[] = {tag("host"), field("v", VT_F64)};
    meta_table_release(ensure1(c, "public", "a", cols, 2, &e));
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    size_t before;
    free(tu_read_file(path, &before));

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = before + 100; /* room for part of the next record only */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    names ns = {0};
    col_def wide[50];
    for (int i = 0; i < 50; i++) wide[i] = field(nm(&ns, "a_rather_long_field_name_%d", i), VT_F64);
    meta_table *t = ensure1(c, "public", "a", wide, 50, &e);
    assert_null(t);
    assert_int_equal(e.http, 500);
    assert_non_null(strstr(e.msg, "catalog.log"));
    assert_null(ensure1(c, "public", "b", cols, 2, &e));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);

    size_t after;
    free(tu_read_file(path, &after));
    assert_int_equal(after, before);
    t = get(c, "public", "a");
    assert_int_equal(t->ncols, 3);
    meta_table_release(t);
    assert_null(get(c, "public", "b"));
    t = ensure1(c, "public", "a", wide, 50, &e);
    assert_non_null(t);
    assert_int_equal(t->ncols, 53);
    meta_table_release(t);
    c = cat_reopen(c, dir);
    t = get(c, "public", "a");
    assert_int_equal(t->ncols, 53);
    meta_table_release(t);
    catalog_close(c);
    names_free(&ns);
    tu_rmdir(dir);
}

/* ---- readers during a schema storm -------------------------------------------------------- */

struct storm {
    catalog *c;
    atomic_bool stop;
    atomic_long reads;
    atomic_int bad;
};

/* A reader of another database: its table never changes, so every lookup must find it whole;
 * and lookups in the stormed table must always see consistent versions. */
static void *storm_reader(void *arg) {
    struct storm *s = arg;
    err e;
    col_def cols[] = {tag("host"), field("v", VT_F64)};
    table_cols tc = {"steady", 6, cols, 2};
    uint32_t last_ncols = 0;
    while (!atomic_load(&s->stop)) {
        meta_table *t = NULL;
        err_clear(&e);
        if (catalog_ensure_tables(s->c, "cnosdb", "quiet", &tc, 1, &t, &e) < 0 || t->ncols != 3 ||
            meta_table_col(t, "v", 1) != 2)
            atomic_fetch_add(&s->bad, 1);
        meta_table_release(t);
        meta_table *w = catalog_get_table(s->c, "cnosdb", "public", "grow", &e);
        if (w) {
            if (w->ncols < last_ncols) atomic_fetch_add(&s->bad, 1);
            last_ncols = w->ncols;
            for (uint32_t i = 0; i < w->ncols; i += 1 + w->ncols / 16)
                if (meta_table_col(w, w->cols[i].name, strlen(w->cols[i].name)) != (int)i)
                    atomic_fetch_add(&s->bad, 1);
            meta_table_release(w);
        }
        atomic_fetch_add(&s->reads, 1);
    }
    return NULL;
}

static void test_readers_during_schema_storm(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cat");
    struct storm s = {.c = cat_open(dir)};
    create_db(s.c, "quiet");
    err e;
    col_def cols[] = {tag("host"), field("v", VT_F64)};
    meta_table_release(ensure1(s.c, "quiet", "steady", cols, 2, &e));
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, storm_reader, &s);
    names ns = {0};
    /* The storm: tables in batches and a table growing one column at a time. */
    enum { BATCHES = 5, PER = 400 };
    table_cols *tabs = xcalloc(PER, sizeof *tabs);
    meta_table **out = xcalloc(PER, sizeof *out);
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < PER; i++) {
            const char *name = nm(&ns, "storm_%d_%d", b, i);
            tabs[i] = (table_cols){name, strlen(name), cols, 2};
        }
        err_clear(&e);
        assert_int_equal(catalog_ensure_tables(s.c, "cnosdb", "public", tabs, PER, out, &e), 0);
        for (int i = 0; i < PER; i++) meta_table_release(out[i]);
        for (int k = 0; k < 20; k++) {
            col_def cd = field(nm(&ns, "c%d_%d", b, k), VT_I64);
            meta_table *t = ensure1(s.c, "public", "grow", &cd, 1, &e);
            assert_non_null(t);
            meta_table_release(t);
        }
    }
    /* The readers went on the whole time (no deadlock) and never saw a torn state. */
    while (atomic_load(&s.reads) < 100) tu_sleep_ms(1);
    atomic_store(&s.stop, true);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&s.bad), 0);
    meta_table *g = get(s.c, "public", "grow");
    assert_int_equal(g->ncols, 1 + BATCHES * 20);
    meta_table_release(g);
    catalog_close(s.c);
    free(tabs);
    free(out);
    names_free(&ns);
    tu_rmdir(dir);
}

/* ---- the schema lock ---------------------------------------------------------------------- */

struct order {
    struct schema_lock l;
    atomic_int who[3];
    atomic_int n;
};

struct taker {
    struct order *o;
    int who;
    bool small;
};

static void *take(void *arg) {
    struct taker *t = arg;
    schema_lock(&t->o->l, t->small);
    assert_true(schema_held(&t->o->l));
    t->o->who[atomic_fetch_add(&t->o->n, 1)] = t->who;
    schema_unlock(&t->o->l);
    return NULL;
}

/* Tickets handed out and not yet served, small and large. */
static void queued(struct order *o, uint64_t *small, uint64_t *big) {
    pthread_mutex_lock(&o->l.mu);
    *small = o->l.small_next - o->l.small_serving;
    *big = o->l.big_next - o->l.big_serving;
    pthread_mutex_unlock(&o->l.mu);
}

/* Small changes go before a large one that asked first, in the order they asked, and the holder
 * sees them wait: what lets a one-line write's new table in between the slices of requests
 * creating thousands. */
static void test_schema_lock_order(void **state) {
    (void)state;
    struct order o = {0};
    schema_lock_init(&o.l);
    schema_lock(&o.l, false);
    assert_false(schema_small_waiting(&o.l));
    struct taker t[3] = {{&o, 1, false}, {&o, 2, true}, {&o, 3, true}};
    pthread_t th[3];
    uint64_t want_small[3] = {0, 1, 2}, want_big[3] = {2, 2, 2};
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, take, &t[i]);
        /* The next one asks only once this one waits. */
        uint64_t sm, bg;
        do {
            tu_sleep_ms(1);
            queued(&o, &sm, &bg);
        } while (sm != want_small[i] || bg != want_big[i]);
    }
    assert_true(schema_small_waiting(&o.l));
    schema_unlock(&o.l);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    assert_int_equal(o.who[0], 2);
    assert_int_equal(o.who[1], 3);
    assert_int_equal(o.who[2], 1);
    schema_lock_destroy(&o.l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_tables_one_request),
        cmocka_unit_test(test_wide_table_versions),
        cmocka_unit_test(test_request_all_or_nothing),
        cmocka_unit_test(test_ddl_codecs_and_replay),
        cmocka_unit_test(test_geometry_columns),
        cmocka_unit_test(test_delayed_drop),
        cmocka_unit_test(test_names_in_the_log),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_access_replay_and_legacy_passwords),
        cmocka_unit_test(test_failed_append_changes_nothing),
        cmocka_unit_test(test_readers_during_schema_storm),
        cmocka_unit_test(test_schema_lock_order),
    };
    log_set_level(LOG_ERROR); /* the cut tails are expected */
    /* CATALOG_TEST=pattern runs only the matching tests. */
    if (getenv("CATALOG_TEST")) cmocka_set_test_filter(getenv("CATALOG_TEST"));
    return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
