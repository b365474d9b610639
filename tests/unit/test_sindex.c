/* Unit tests for the series index (src/storage/sindex.c): registration and lookup, ids dense and
 * never reused, per-table series lists, tag bitmaps and tag values, DROP TABLE, reopening
 * (replay of series.log, including drops), a torn or corrupt tail cut at every byte position,
 * damage followed by intact records refused or salvaged, ids never reused after damage,
 * malformed keys refused without leaks, concurrent registration from several threads,
 * destroy, and key changes (UPDATE of tags): ids kept, postings moved, old keys resolved for WAL
 * records written before the change, refusals that change nothing, a torn change record.
 *
 * Every test works in its own mkdtemp directory under /tmp and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/sindex.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/membudget.h"
#include "util/mem.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char *idx_dir(const char *base) {
    size_t n = strlen(base) + 8;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/index", base);
    return p;
}

static char *log_path(const char *dir) {
    size_t n = strlen(dir) + 16;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/series.log", dir);
    return p;
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Series key as engine.h documents it: varint ntags, then (varint id, varint len, bytes) in
 * increasing id order. Tags given as id/value pairs; a NULL value leaves the tag out. */
static void mkkey(buf *b, uint32_t n, const uint32_t *ids, const char *const *vals) {
    buf_reset(b);
    uint32_t present = 0;
    for (uint32_t i = 0; i < n; i++) present += vals[i] != NULL;
    buf_put_uvarint(b, present);
    for (uint32_t i = 0; i < n; i++) {
        if (!vals[i]) continue;
        buf_put_uvarint(b, ids[i]);
        buf_put_uvarint(b, strlen(vals[i]));
        buf_append(b, vals[i], strlen(vals[i]));
    }
}

/* host (tag id 1), region (tag id 2) */
static uint32_t add2(sindex *x, uint64_t table, const char *host, const char *region) {
    static const uint32_t ids[] = {1, 2};
    const char *vals[] = {host, region};
    buf b;
    buf_init(&b);
    mkkey(&b, 2, ids, vals);
    uint32_t sid = UINT32_MAX;
    err e;
    err_clear(&e);
    assert_int_equal(sindex_get_or_add(x, table, b.p, b.len, &sid, &e), 0);
    buf_free(&b);
    return sid;
}

static void assert_sids(const uint32_t *got, size_t n, const uint32_t *want, size_t nwant) {
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
}

static void assert_strv(strv s, const char *want) {
    if (!want) {
        assert_null(s.p);
        return;
    }
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_add_lookup(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), 0);
    uint32_t a = add2(x, 10, "a", "eu");
    uint32_t b = add2(x, 10, "b", "us");
    uint32_t c = add2(x, 10, "c", NULL);  /* no region */
    uint32_t d = add2(x, 11, "a", "eu");  /* same tags, other table */
    uint32_t z = add2(x, 10, NULL, NULL); /* no tags at all */
    uint32_t em = add2(x, 10, "", "eu");  /* an empty value is a value, not NULL */
    /* dense ids in order of appearance */
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 2);
    assert_int_equal(d, 3);
    assert_int_equal(z, 4);
    assert_int_equal(em, 5);
    /* the same key again: the same id, nothing new */
    assert_int_equal(add2(x, 10, "a", "eu"), a);
    assert_int_equal(add2(x, 11, "a", "eu"), d);
    assert_int_equal(add2(x, 10, NULL, NULL), z);
    assert_int_equal(sindex_count(x), 6);

    arena *ar = arena_new(0);
    uint32_t *sids;
    size_t n = sindex_table_sids(x, 10, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){0, 1, 2, 4, 5}, 5);
    n = sindex_table_sids(x, 11, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){3}, 1);
    n = sindex_table_sids(x, 99, ar, &sids);
    assert_int_equal(n, 0);

    uint64_t t;
    assert_true(sindex_series_table(x, c, &t));
    assert_int_equal(t, 10);
    assert_true(sindex_series_table(x, d, &t));
    assert_int_equal(t, 11);
    assert_false(sindex_series_table(x, 6, &t));
    assert_false(sindex_series_table(x, UINT32_MAX, &t));

    /* tags of a series, in the order asked, NULL where absent */
    uint32_t want[] = {2, 1, 7};
    strv out[3];
    sindex_series_tags(x, c, 3, want, ar, out);
    assert_strv(out[0], NULL);
    assert_strv(out[1], "c");
    assert_strv(out[2], NULL);
    sindex_series_tags(x, em, 3, want, ar, out);
    assert_strv(out[0], "eu");
    assert_strv(out[1], "");
    sindex_series_tags(x, 1000, 3, want, ar, out); /* unknown series: all NULL */
    assert_strv(out[0], NULL);
    assert_strv(out[1], NULL);

    /* the key comes back byte for byte */
    buf kb;
    buf_init(&kb);
    mkkey(&kb, 2, (uint32_t[]){1, 2}, (const char *const[]){"b", "us"});
    strv k = sindex_series_key(x, b, ar);
    assert_int_equal(k.len, kb.len);
    assert_memory_equal(k.p, kb.p, kb.len);
    buf_free(&kb);

    /* tag bitmaps */
    n = sindex_tag_eq(x, 10, 1, "a", 1, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){0}, 1);
    n = sindex_tag_eq(x, 10, 2, "eu", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){0, 5}, 2);
    n = sindex_tag_eq(x, 11, 2, "eu", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){3}, 1);
    n = sindex_tag_eq(x, 10, 1, "", 0, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){5}, 1);
    n = sindex_tag_eq(x, 10, 1, "zz", 2, ar, &sids);
    assert_int_equal(n, 0);
    n = sindex_tag_eq(x, 10, 2, "a", 1, ar, &sids); /* a value of another tag */
    assert_int_equal(n, 0);
    n = sindex_tag_eq(x, 12, 1, "a", 1, ar, &sids);
    assert_int_equal(n, 0);

    /* distinct tag values, sorted bytewise */
    strv *vals;
    n = sindex_tag_values(x, 10, 1, ar, &vals);
    assert_int_equal(n, 4);
    assert_strv(vals[0], "");
    assert_strv(vals[1], "a");
    assert_strv(vals[2], "b");
    assert_strv(vals[3], "c");
    n = sindex_tag_values(x, 10, 2, ar, &vals);
    assert_int_equal(n, 2);
    assert_strv(vals[0], "eu");
    assert_strv(vals[1], "us");
    n = sindex_tag_values(x, 10, 3, ar, &vals);
    assert_int_equal(n, 0);
    n = sindex_tag_values(x, 77, 1, ar, &vals);
    assert_int_equal(n, 0);

    assert_int_equal(sindex_sync(x, &e), 0);
    arena_free(ar);
    sindex_close(x);
    free(dir);
    tu_rmdir(base);
}

static void test_binary_values_and_many_series(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    enum { N = 20000 };
    buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < N; i++) {
        char v1[32], v2[8];
        snprintf(v1, sizeof v1, "h%u", i);
        /* a value with a NUL and high bytes */
        v2[0] = (char)(i % 7);
        v2[1] = 0;
        v2[2] = (char)0xff;
        buf_reset(&b);
        buf_put_uvarint(&b, 2);
        buf_put_uvarint(&b, 1);
        buf_put_uvarint(&b, strlen(v1));
        buf_append(&b, v1, strlen(v1));
        buf_put_uvarint(&b, 300); /* a two-byte varint id */
        buf_put_uvarint(&b, 3);
        buf_append(&b, v2, 3);
        uint32_t sid;
        assert_int_equal(sindex_get_or_add(x, 5, b.p, b.len, &sid, &e), 0);
        assert_int_equal(sid, i);
    }
    arena *ar = arena_new(0);
    uint32_t *sids;
    char v2[3] = {3, 0, (char)0xff};
    size_t n = sindex_tag_eq(x, 5, 300, v2, 3, ar, &sids);
    assert_int_equal(n, (N - 3 + 6) / 7);
    for (size_t i = 0; i < n; i++) assert_int_equal(sids[i] % 7, 3);
    strv *vals;
    n = sindex_tag_values(x, 5, 300, ar, &vals);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vals[i].len, 3);
        assert_int_equal(vals[i].p[0], (char)i);
    }
    assert_int_equal(sindex_tag_values(x, 5, 1, ar, &vals), N);
    sindex_close(x);
    /* reopen: everything replayed */
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), N);
    n = sindex_tag_eq(x, 5, 300, v2, 3, ar, &sids);
    assert_int_equal(n, (N - 3 + 6) / 7);
    assert_int_equal(sindex_table_sids(x, 5, ar, &sids), N);
    uint32_t tag = 300;
    strv out;
    sindex_series_tags(x, 12345, 1, &tag, ar, &out);
    assert_int_equal(out.len, 3);
    assert_int_equal(out.p[0], (char)(12345 % 7));
    assert_int_equal(out.p[1], 0);
    buf_free(&b);
    arena_free(ar);
    sindex_close(x);
    free(dir);
    tu_rmdir(base);
}

static void test_drop_table(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    uint32_t a = add2(x, 1, "a", "eu");
    uint32_t b = add2(x, 2, "a", "eu");
    uint32_t c = add2(x, 1, "b", "us");
    arena *ar = arena_new(0);
    uint32_t *sids;
    /* dropping a table that has no series is a no-op */
    assert_int_equal(sindex_drop_table(x, 42, &e), 0);
    assert_int_equal(sindex_drop_table(x, 1, &e), 0);
    uint64_t t;
    assert_false(sindex_series_table(x, a, &t));
    assert_false(sindex_series_table(x, c, &t));
    assert_true(sindex_series_table(x, b, &t));
    assert_int_equal(t, 2);
    assert_int_equal(sindex_table_sids(x, 1, ar, &sids), 0);
    assert_int_equal(sindex_tag_eq(x, 1, 1, "a", 1, ar, &sids), 0);
    strv *vals;
    assert_int_equal(sindex_tag_values(x, 1, 1, ar, &vals), 0);
    /* the other table is untouched */
    size_t n = sindex_tag_eq(x, 2, 1, "a", 1, ar, &sids);
    assert_sids(sids, n, &b, 1);
    /* the same key again (a new table with the same id cannot happen, but the key can) gets a
     * fresh id: ids are never reused */
    uint32_t a2 = add2(x, 1, "a", "eu");
    assert_int_equal(a2, 3);
    n = sindex_table_sids(x, 1, ar, &sids);
    assert_sids(sids, n, &a2, 1);
    assert_int_equal(sindex_drop_table(x, 1, &e), 0);
    uint32_t a3 = add2(x, 1, "a", "eu");
    assert_int_equal(a3, 4);
    sindex_close(x);

    /* the drops are logged: reopening gives the same state and the ids continue */
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_false(sindex_series_table(x, a, &t));
    assert_false(sindex_series_table(x, a2, &t));
    assert_true(sindex_series_table(x, a3, &t));
    n = sindex_table_sids(x, 1, ar, &sids);
    assert_sids(sids, n, &a3, 1);
    n = sindex_tag_eq(x, 1, 1, "a", 1, ar, &sids);
    assert_sids(sids, n, &a3, 1);
    assert_int_equal(sindex_tag_eq(x, 1, 1, "b", 1, ar, &sids), 0);
    assert_int_equal(add2(x, 1, "a", "eu"), a3);
    assert_int_equal(add2(x, 2, "a", "eu"), b);
    assert_int_equal(add2(x, 1, "b", "us"), 5);
    arena_free(ar);
    sindex_close(x);
    free(dir);
    tu_rmdir(base);
}

/* Builds a log of several records, then cuts it at every byte position (and damages every byte
 * of the last record): the index must open with exactly the records wholly before the damage,
 * cut the file there, and keep working (new series get the next id and persist). */
static void test_torn_tail(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    char *path = log_path(dir);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    enum { NREC = 6 };
    off_t ends[NREC + 1];
    ends[0] = 0;
    const char *hosts[] = {"a", "bb", "ccc", "dddd", NULL, "f"};
    for (int i = 0; i < NREC; i++) {
        if (i == 4) {
            assert_int_equal(sindex_drop_table(x, 2, &e), 0); /* a drop record among them */
        } else {
            add2(x, i == 3 ? 2 : 1, hosts[i], "r");
        }
        assert_int_equal(sindex_sync(x, &e), 0);
        ends[i + 1] = file_size(path);
        assert_true(ends[i + 1] > ends[i]);
    }
    sindex_close(x);
    int fd = open(path, O_RDONLY);
    size_t size = (size_t)ends[NREC];
    char *data = xmalloc(size);
    assert_int_equal(read(fd, data, size), (ssize_t)size);
    close(fd);
    arena *ar = arena_new(0);
    for (size_t cut = 0; cut <= size; cut++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, data, cut), (ssize_t)cut);
        close(fd);
        int whole = 0;
        while (whole < NREC && ends[whole + 1] <= (off_t)cut) whole++;
        assert_int_equal(sindex_open(dir, false, &x, &e), 0);
        assert_int_equal(file_size(path), ends[whole]);
        /* records 0..2 are series 0..2 of table 1, record 3 series 3 of table 2, record 4 the
         * drop of table 2, record 5 series 4 */
        uint32_t nseries = (uint32_t)(whole <= 4 ? whole : whole == 5 ? 4 : 5);
        assert_int_equal(sindex_count(x), nseries);
        uint32_t *sids;
        size_t n2 = sindex_table_sids(x, 2, ar, &sids);
        assert_int_equal(n2, whole == 4 ? 1 : 0);
        /* a new series continues after the survivors, and is durable */
        uint32_t sid = add2(x, 9, "new", NULL);
        assert_int_equal(sid, nseries);
        sindex_close(x);
        assert_int_equal(sindex_open(dir, false, &x, &e), 0);
        assert_int_equal(sindex_count(x), nseries + 1);
        assert_int_equal(add2(x, 9, "new", NULL), sid);
        sindex_close(x);
    }
    /* damage inside the last record (checksum or length) cuts just that record */
    for (size_t pos = (size_t)ends[NREC - 1]; pos < size; pos++) {
        char *copy = xmalloc(size);
        memcpy(copy, data, size);
        copy[pos] ^= 0x10;
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, copy, size), (ssize_t)size);
        close(fd);
        free(copy);
        assert_int_equal(sindex_open(dir, false, &x, &e), 0);
        assert_int_equal(file_size(path), ends[NREC - 1]);
        assert_int_equal(sindex_count(x), 4);
        sindex_close(x);
    }
    /* a garbage tail after intact records: cut, no crash */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    assert_int_equal(write(fd, "\xff\xff\xff\x7f garbage", 12), 12);
    close(fd);
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(file_size(path), (off_t)size);
    assert_int_equal(sindex_count(x), 5);
    sindex_close(x);
    arena_free(ar);
    free(data);
    free(path);
    free(dir);
    tu_rmdir(base);
}

static char *slurp(const char *path, size_t *size) {
    return tu_read_file(path, size);
}

static void put_file(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static int count_damaged(const char *dir) {
    return tu_count_names(dir, "^series\\.log\\.damaged-[0-9]*$");
}

/* A flipped byte in any record but the last: intact records follow, so it is damage, not a
 * torn tail. Cutting there (as before) forgot synced series and gave their ids to new ones,
 * which made a 2,000-row table read as 77,000. Opening refuses, naming the file and offset;
 * salvage keeps every other series under its own id and never hands out a lost id again. */
static void test_damage_before_intact_records(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    char *path = log_path(dir);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    enum { NREC = 8 };
    off_t ends[NREC + 1];
    ends[0] = 0;
    char host[NREC][16];
    for (int i = 0; i < NREC; i++) {
        snprintf(host[i], sizeof host[i], "h%d", i);
        if (i == 5)
            assert_int_equal(sindex_drop_table(x, 7, &e), 0);
        else
            add2(x, i == 4 ? 7 : 1, host[i], "r");
        assert_int_equal(sindex_sync(x, &e), 0);
        ends[i + 1] = file_size(path);
    }
    /* series: records 0-4 are ids 0-4 (id 4 in table 7, dropped by record 5), 6-7 ids 5-6 */
    assert_int_equal(sindex_close(x), 0);
    size_t size;
    char *data = slurp(path, &size);
    arena *ar = arena_new(0);
    const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (int r = 0; r < NREC - 1; r++) {
        for (off_t pos = ends[r]; pos < ends[r + 1]; pos++) {
            for (size_t mi = 0; mi < sizeof masks; mi++) {
                data[pos] ^= (char)masks[mi];
                put_file(path, data, size);
                data[pos] ^= (char)masks[mi];
                err_clear(&e);
                assert_int_equal(sindex_open(dir, false, &x, &e), -1);
                char want[64];
                snprintf(want, sizeof want, "at offset %lld,", (long long)ends[r]);
                if (!strstr(e.msg, path) || !strstr(e.msg, want) || !strstr(e.msg, "--wal-salvage"))
                    fail_msg("%s does not name %s and %s", e.msg, path, want);
                assert_int_equal(file_size(path), (off_t)size); /* left alone */

                assert_int_equal(sindex_open(dir, true, &x, &e), 0);
                assert_int_equal(count_damaged(dir), 1);
                int lost_sid = r < 5 ? r : r == 5 ? -1 : r - 1;
                for (int i = 0, sid = 0; i < NREC; i++) {
                    if (i == 5) continue;
                    uint64_t t;
                    bool live = sindex_series_table(x, (uint32_t)sid, &t);
                    /* the dropped table's series stays dropped unless its drop was lost */
                    bool want_live = sid != lost_sid && (sid != 4 || r == 5);
                    assert_int_equal(live, want_live);
                    if (want_live) {
                        strv tags[1];
                        uint32_t tag = 1;
                        sindex_series_tags(x, (uint32_t)sid, 1, &tag, ar, tags);
                        assert_strv(tags[0], host[i]);
                    }
                    sid++;
                }
                /* no id is handed out twice */
                assert_int_equal(add2(x, 1, "new", NULL), 7);
                assert_int_equal(sindex_close(x), 0);
                assert_int_equal(sindex_open(dir, false, &x, &e), 0);
                assert_int_equal(sindex_count(x), 8);
                assert_int_equal(sindex_close(x), 0);
                char cmd[700];
                snprintf(cmd, sizeof cmd, "rm -f %s/series.log.damaged-*", dir);
                assert_int_equal(system(cmd), 0);
                arena_reset(ar);
            }
        }
    }
    arena_free(ar);
    free(data);
    free(path);
    free(dir);
    tu_rmdir(base);
}

/* An intact record whose id goes backwards can only come from a bug: refused, or dropped by
 * salvage. Column files that use ids the index lost: refused, or the ids retired. */
static void test_ids_out_of_order_and_bound(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    char *path = log_path(dir);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    add2(x, 1, "a", NULL);
    add2(x, 1, "b", NULL);
    assert_int_equal(sindex_close(x), 0);
    size_t size;
    char *data = slurp(path, &size);
    /* append a copy of the first record (id 0 again), then one more good series */
    uint32_t len0;
    memcpy(&len0, data, 4);
    char *more = xmalloc(size + 8 + len0);
    memcpy(more, data, size);
    memcpy(more + size, data, 8 + len0);
    put_file(path, more, size + 8 + len0);
    assert_int_equal(sindex_open(dir, false, &x, &e), -1);
    assert_non_null(strstr(e.msg, path));
    assert_int_equal(sindex_open(dir, true, &x, &e), 0);
    assert_int_equal(sindex_count(x), 2);
    assert_int_equal(add2(x, 1, "c", NULL), 2);
    /* files use ids up to 9 */
    err_clear(&e);
    assert_int_equal(sindex_check_bound(x, 10, "f-1.col", false, &e), -1);
    assert_non_null(strstr(e.msg, "f-1.col"));
    assert_non_null(strstr(e.msg, "series id 9"));
    assert_int_equal(sindex_check_bound(x, 3, "f-1.col", false, &e), 0);
    assert_int_equal(sindex_check_bound(x, 10, "f-1.col", true, &e), 0);
    assert_int_equal(add2(x, 1, "d", NULL), 10);
    assert_int_equal(sindex_close(x), 0);
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), 11);
    assert_int_equal(sindex_close(x), 0);
    free(more);
    free(data);
    free(path);
    free(dir);
    tu_rmdir(base);
}

/* Keys that do not parse are refused with a clear error; no id is used up; nothing leaks. */
static void test_malformed_keys(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"", 0},         /* no tag count */
        {"\x01", 1},     /* one tag, nothing follows */
        {"\x01\x01", 2}, /* no length */
        {"\x01\x01\x05"
         "ab",
         5}, /* value shorter than its length */
        {"\x01\x01\x01"
         "a"
         "x",
         5}, /* a byte after the last tag */
        {"\x00"
         "zz",
         3}, /* no tags, then bytes */
        {"\x02\x01\x01"
         "a",
         4},                                                  /* two tags announced, one present */
        {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11}, /* overlong varint */
        {"\x01\xff\xff\xff\xff\x7f\x00", 7},                  /* tag id beyond 32 bits */
        {"\x7f", 1},                                          /* more tags than bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t sid = 77;
        err_clear(&e);
        assert_int_equal(sindex_get_or_add(x, 1, bad[i].p, bad[i].n, &sid, &e), -1);
        assert_int_equal(e.http, 500);
        assert_true(e.msg[0] != 0);
    }
    assert_int_equal(sindex_count(x), 0);
    /* a good key still gets id 0, and nothing bad reached the log */
    assert_int_equal(add2(x, 1, "a", NULL), 0);
    sindex_close(x);
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), 1);
    sindex_close(x);
    free(dir);
    tu_rmdir(base);
}

struct conc {
    sindex *x;
    int seed;
    uint32_t ids[2000];
};

static void *conc_main(void *arg) {
    struct conc *c = arg;
    buf b;
    buf_init(&b);
    err e;
    /* every thread registers the same 2000 keys in a different order */
    for (uint32_t k = 0; k < 2000; k++) {
        uint32_t i = (k * 7 + (uint32_t)c->seed * 613) % 2000;
        char v[16];
        snprintf(v, sizeof v, "k%u", i);
        buf_reset(&b);
        buf_put_uvarint(&b, 1);
        buf_put_uvarint(&b, 1);
        buf_put_uvarint(&b, strlen(v));
        buf_append(&b, v, strlen(v));
        if (sindex_get_or_add(c->x, 3, b.p, b.len, &c->ids[i], &e) < 0) c->ids[i] = UINT32_MAX;
        /* readers interleave with the writers */
        if (k % 50 == 0) {
            arena *a = arena_new(0);
            uint32_t *sids;
            sindex_table_sids(c->x, 3, a, &sids);
            strv *vals;
            sindex_tag_values(c->x, 3, 1, a, &vals);
            arena_free(a);
        }
    }
    buf_free(&b);
    return NULL;
}

static void test_concurrent_registration(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    enum { T = 6 };
    struct conc *c = xcalloc(T, sizeof *c);
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        c[i].x = x;
        c[i].seed = i;
        assert_int_equal(pthread_create(&th[i], NULL, conc_main, &c[i]), 0);
    }
    for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
    /* one id per key, the same in every thread, ids dense */
    assert_int_equal(sindex_count(x), 2000);
    bool *seen = xcalloc(2000, 1);
    for (int k = 0; k < 2000; k++) {
        for (int i = 1; i < T; i++) assert_int_equal(c[i].ids[k], c[0].ids[k]);
        assert_true(c[0].ids[k] < 2000);
        assert_false(seen[c[0].ids[k]]);
        seen[c[0].ids[k]] = true;
    }
    sindex_close(x);
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), 2000);
    sindex_close(x);
    free(seen);
    free(c);
    free(dir);
    tu_rmdir(base);
}

static void test_destroy_and_open_errors(void **state) {
    (void)state;
    char *base = tu_tmpdir("sx");
    char *dir = idx_dir(base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    add2(x, 1, "a", NULL);
    sindex_destroy(x);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    /* a fresh index after destroy starts at id 0 */
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_count(x), 0);
    assert_int_equal(add2(x, 1, "b", NULL), 0);
    sindex_close(x);
    /* a parent that does not exist */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/index", base);
    err_clear(&e);
    assert_int_equal(sindex_open(bad, false, &x, &e), -1);
    assert_int_equal(e.http, 500);
    assert_string_equal(e.code, EC_STORAGE);
    free(dir);
    tu_rmdir(base);
}

/* A new index in a fresh directory, and its removal after a clean close. */
static sindex *open_fresh(char **base, char **dir) {
    *base = tu_tmpdir("sx");
    *dir = idx_dir(*base);
    sindex *x;
    err e;
    assert_int_equal(sindex_open(*dir, false, &x, &e), 0);
    return x;
}

static void close_rm(sindex *x, char *base, char *dir) {
    assert_int_equal(sindex_close(x), 0);
    free(dir);
    tu_rmdir(base);
}

/* Regression: salvage retiring ids past the capacity of the id table grew the count but not
 * the table, so asking about a retired id read past its end (ASan: heap overflow). */
static void test_retired_ids_past_capacity(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    add2(x, 1, "a", NULL);
    assert_int_equal(sindex_check_bound(x, 100000, "f-1.col", true, &e), 0);
    assert_int_equal(sindex_count(x), 100000);
    arena *ar = arena_new(0);
    uint64_t t;
    assert_false(sindex_series_table(x, 99999, &t));
    assert_false(sindex_series_table(x, 5000, &t));
    assert_int_equal(sindex_series_key(x, 99999, ar).len, 0);
    uint32_t tag = 1;
    strv out;
    sindex_series_tags(x, 70000, 1, &tag, ar, &out);
    assert_null(out.p);
    assert_int_equal(add2(x, 1, "b", NULL), 100000);
    assert_true(sindex_series_table(x, 100000, &t));
    arena_free(ar);
    close_rm(x, base, dir);
}

/* Posting lists in every form (one series inline, a sorted array, a roaring bitmap past
 * PLIST_ARRAY_MAX), over several tables; dropping tables frees their postings and lists for
 * reuse by later ones without mixing them up; all of it replayed. */
static void test_postings_drop_and_reuse(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    enum { NT = 6, PER = 700 };
    char host[32], region[32];
    for (uint32_t i = 0; i < PER; i++)
        for (uint64_t t = 1; t <= NT; t++) {
            snprintf(host, sizeof host, "h%u", i);
            /* region r0 is on every series of a table (a bitmap); rI%5 on a fifth (an array
             * up to 140); hosts on one each */
            snprintf(region, sizeof region, "r%u", i % 5 == 0 ? 0 : i % 5 + 10 * (uint32_t)t);
            add2(x, t, host, region);
        }
    arena *ar = arena_new(0);
    uint32_t *sids;
    for (int reopen = 0; reopen < 2; reopen++) {
        for (uint64_t t = 1; t <= NT; t++) {
            if (t % 2 == 0 && reopen) {
                /* dropped before the reopen */
                assert_int_equal(sindex_table_sids(x, t, ar, &sids), 0);
                assert_int_equal(sindex_tag_eq(x, t, 2, "r0", 2, ar, &sids), 0);
                continue;
            }
            size_t n = sindex_tag_eq(x, t, 2, "r0", 2, ar, &sids);
            assert_int_equal(n, PER / 5);
            for (size_t k = 0; k < n; k++) {
                /* series i of table t has id i * NT + t - 1 */
                assert_int_equal(sids[k] % NT, t - 1);
                assert_int_equal((sids[k] / NT) % 5, 0);
                if (k) assert_true(sids[k] > sids[k - 1]);
            }
            snprintf(region, sizeof region, "r%u", 3 + 10 * (uint32_t)t);
            n = sindex_tag_eq(x, t, 2, region, strlen(region), ar, &sids);
            assert_int_equal(n, PER / 5);
            n = sindex_tag_eq(x, t, 1, "h699", 4, ar, &sids);
            assert_int_equal(n, 1);
            assert_int_equal(sids[0], 699 * NT + t - 1);
            strv *vals;
            assert_int_equal(sindex_tag_values(x, t, 2, ar, &vals), 5);
            assert_int_equal(sindex_tag_values(x, t, 1, ar, &vals), PER);
        }
        if (!reopen) {
            for (uint64_t t = 2; t <= NT; t += 2) assert_int_equal(sindex_drop_table(x, t, &e), 0);
            assert_int_equal(sindex_close(x), 0);
            assert_int_equal(sindex_open(dir, false, &x, &e), 0);
        }
    }
    /* a table after the drops reuses their postings and lists; the live ones are unchanged */
    uint32_t first = (uint32_t)sindex_count(x);
    for (uint32_t i = 0; i < 300; i++) {
        snprintf(host, sizeof host, "h%u", i);
        add2(x, 100, host, i % 2 ? "odd" : "even");
    }
    size_t n = sindex_tag_eq(x, 100, 2, "odd", 3, ar, &sids);
    assert_int_equal(n, 150);
    for (size_t k = 0; k < n; k++) assert_int_equal(sids[k], first + 2 * k + 1);
    assert_int_equal(sindex_tag_eq(x, 100, 1, "h5", 2, ar, &sids), 1);
    assert_int_equal(sids[0], first + 5);
    assert_int_equal(sindex_tag_eq(x, 1, 2, "r0", 2, ar, &sids), PER / 5);
    assert_int_equal(sindex_tag_eq(x, 2, 2, "r0", 2, ar, &sids), 0);
    arena_free(ar);
    close_rm(x, base, dir);
}

/* A key naming one tag twice (the index does not require each once): the first value is the
 * series' value for that tag, and it is found under both values; the same value twice lists
 * the series once. */
static void test_tag_twice_in_key(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    buf b;
    buf_init(&b);
    mkkey(&b, 2, (uint32_t[]){1, 1}, (const char *const[]){"a", "b"});
    uint32_t s1, s2, s3;
    assert_int_equal(sindex_get_or_add(x, 1, b.p, b.len, &s1, &e), 0);
    mkkey(&b, 2, (uint32_t[]){1, 1}, (const char *const[]){"b", "b"});
    assert_int_equal(sindex_get_or_add(x, 1, b.p, b.len, &s2, &e), 0);
    mkkey(&b, 1, (uint32_t[]){1}, (const char *const[]){"b"});
    assert_int_equal(sindex_get_or_add(x, 1, b.p, b.len, &s3, &e), 0);
    arena *ar = arena_new(0);
    uint32_t tag = 1;
    strv out;
    sindex_series_tags(x, s1, 1, &tag, ar, &out);
    assert_strv(out, "a");
    uint32_t *sids;
    size_t n = sindex_tag_eq(x, 1, 1, "a", 1, ar, &sids);
    assert_sids(sids, n, &s1, 1);
    n = sindex_tag_eq(x, 1, 1, "b", 1, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){s1, s2, s3}, 3);
    strv *vals;
    assert_int_equal(sindex_tag_values(x, 1, 1, ar, &vals), 2);
    arena_free(ar);
    buf_free(&b);
    close_rm(x, base, dir);
}

/* The memory budget counts the index: more with every series, less after DROP TABLE, all of
 * it back at close; a reopened index counts what its replay built. */
static void test_budget(void **state) {
    (void)state;
    uint64_t base = membudget_used_by(MEMBUDGET_INDEX);
    char *base_dir, *dir;
    sindex *x = open_fresh(&base_dir, &dir);
    err e;
    uint64_t prev = membudget_used_by(MEMBUDGET_INDEX);
    char host[32];
    for (uint32_t i = 0; i < 3000; i++) {
        snprintf(host, sizeof host, "h%u", i);
        add2(x, 1 + i % 2, host, i % 3 ? "eu" : "us");
    }
    uint64_t full = membudget_used_by(MEMBUDGET_INDEX);
    /* at least the keys and a pointer per series */
    assert_true(full >= prev + 3000 * (8 + 10));
    assert_int_equal(sindex_drop_table(x, 2, &e), 0);
    assert_true(membudget_used_by(MEMBUDGET_INDEX) < full);
    assert_int_equal(sindex_close(x), 0);
    assert_int_equal(membudget_used_by(MEMBUDGET_INDEX), base);
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_true(membudget_used_by(MEMBUDGET_INDEX) > base + 3000 * 8);
    close_rm(x, base_dir, dir);
    assert_int_equal(membudget_used_by(MEMBUDGET_INDEX), base);
}

/* ---- UPDATE of tags (sindex_retag) -------------------------------------------------------- */

static strv key2(arena *a, const char *host, const char *region) {
    buf b;
    buf_init(&b);
    mkkey(&b, 2, (uint32_t[]){1, 2}, (const char *const[]){host, region});
    strv k = {arena_strndup(a, (const char *)b.p, b.len), (uint32_t)b.len};
    buf_free(&b);
    return k;
}

static uint32_t lookup2(sindex *x, uint64_t table, const char *host, const char *region,
                        uint64_t lsn) {
    arena *a = arena_new(0);
    strv k = key2(a, host, region);
    uint32_t sid = UINT32_MAX;
    err e;
    assert_int_equal(sindex_resolve(x, table, k.p, k.len, lsn, &sid, &e), 0);
    arena_free(a);
    return sid;
}

/* What the index says about table 10 after a (host, region) change of series a and b. */
static void check_retagged(sindex *x, uint32_t a, uint32_t b, uint32_t c) {
    arena *ar = arena_new(0);
    uint32_t *sids;
    size_t n;
    /* new keys resolve to the old ids; the tags read back new */
    assert_int_equal(lookup2(x, 10, "a2", "eu", 100), a);
    assert_int_equal(lookup2(x, 10, "b", NULL, 100), b);
    strv out[2];
    sindex_series_tags(x, b, 2, (uint32_t[]){1, 2}, ar, out);
    assert_strv(out[0], "b");
    assert_strv(out[1], NULL);
    /* postings: old values gone where no series holds them, kept (re-pointed) where one does */
    n = sindex_tag_eq(x, 10, 1, "a", 1, ar, &sids);
    assert_int_equal(n, 0);
    n = sindex_tag_eq(x, 10, 1, "a2", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){a}, 1);
    n = sindex_tag_eq(x, 10, 2, "us", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){c}, 1);
    n = sindex_tag_eq(x, 10, 2, "eu", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){a}, 1);
    strv *vals;
    n = sindex_tag_values(x, 10, 1, ar, &vals);
    assert_int_equal(n, 3);
    assert_strv(vals[0], "a2");
    assert_strv(vals[1], "b");
    assert_strv(vals[2], "c");
    n = sindex_tag_values(x, 10, 2, ar, &vals);
    assert_int_equal(n, 2);
    assert_strv(vals[0], "eu");
    assert_strv(vals[1], "us");
    /* the series list of the table is unchanged */
    n = sindex_table_sids(x, 10, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){a, b, c}, 3);
    arena_free(ar);
}

/* A key change keeps the id, moves the postings, survives reopening, and leaves the old key to
 * the WAL records written before it (lsn <= the change's) while a later write of the old key
 * makes a new series, which keeps its id across reopening too. */
static void test_retag(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    arena *ar = arena_new(0);
    uint32_t a = add2(x, 10, "a", "us");
    uint32_t b = add2(x, 10, "b", "us");
    uint32_t c = add2(x, 10, "c", "us"); /* `us` is first read from a's key */
    uint32_t other = add2(x, 11, "a", "us");
    size_t conflict;
    /* a: host a→a2, region us→eu; b: region us→NULL */
    strv keys[] = {key2(ar, "a2", "eu"), key2(ar, "b", NULL)};
    assert_int_equal(sindex_retag(x, 7, 10, 2, (uint32_t[]){a, b}, keys, &conflict, &e), 0);
    assert_int_equal(sindex_retag_lsn(x), 7);
    check_retagged(x, a, b, c);
    /* WAL records up to lsn 7 named the old keys: they belong to a and b */
    assert_int_equal(lookup2(x, 10, "a", "us", 7), a);
    assert_int_equal(lookup2(x, 10, "b", "us", 1), b);
    assert_int_equal(sindex_count(x), 4);
    /* other tables are untouched */
    assert_int_equal(lookup2(x, 11, "a", "us", 100), other);
    /* after the change the old key is free: a new series */
    uint32_t a_new = lookup2(x, 10, "a", "us", 8);
    assert_int_equal(a_new, 4);
    assert_int_equal(lookup2(x, 10, "a", "us", 6), a);
    assert_int_equal(sindex_close(x), 0);

    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    assert_int_equal(sindex_retag_lsn(x), 7);
    assert_int_equal(lookup2(x, 10, "a", "us", 3), a);
    assert_int_equal(lookup2(x, 10, "a", "us", 9), a_new);
    uint32_t *sids;
    size_t n = sindex_tag_eq(x, 10, 1, "a", 1, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){a_new}, 1);
    n = sindex_tag_eq(x, 10, 1, "a2", 2, ar, &sids);
    assert_sids(sids, n, (uint32_t[]){a}, 1);
    /* a second change of the same series: the earliest change after a record's lsn wins */
    strv k3[] = {key2(ar, "a3", "eu")};
    assert_int_equal(sindex_retag(x, 12, 10, 1, (uint32_t[]){a}, k3, &conflict, &e), 0);
    assert_int_equal(lookup2(x, 10, "a2", "eu", 10), a);
    assert_int_equal(lookup2(x, 10, "a3", "eu", 13), a);
    assert_int_equal(lookup2(x, 10, "a", "us", 5), a);
    assert_int_equal(lookup2(x, 10, "a", "us", 11), a_new);
    arena_free(ar);
    close_rm(x, base, dir);
}

/* Refusals change nothing: a key another series has, two series given one key, a series of
 * another table; a key that stays the same is no change (nothing logged). */
static void test_retag_conflicts(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    arena *ar = arena_new(0);
    uint32_t a = add2(x, 10, "a", "us");
    uint32_t b = add2(x, 10, "b", "us");
    uint32_t o = add2(x, 11, "o", "us");
    char *path = log_path(dir);
    assert_int_equal(sindex_sync(x, &e), 0);
    off_t size = file_size(path);
    size_t conflict;
    strv k1[] = {key2(ar, "b", "us")};
    assert_int_equal(sindex_retag(x, 1, 10, 1, (uint32_t[]){a}, k1, &conflict, &e), -1);
    assert_int_equal(conflict, 0);
    strv k2[] = {key2(ar, "z", "us"), key2(ar, "z", "us")};
    assert_int_equal(sindex_retag(x, 1, 10, 2, (uint32_t[]){a, b}, k2, &conflict, &e), -1);
    assert_int_equal(conflict, 1);
    strv k3[] = {key2(ar, "q", "us")};
    assert_int_equal(sindex_retag(x, 1, 10, 1, (uint32_t[]){o}, k3, &conflict, &e), -1);
    assert_int_equal(conflict, SIZE_MAX);
    strv k4[] = {key2(ar, "a", "us")}; /* unchanged */
    assert_int_equal(sindex_retag(x, 1, 10, 1, (uint32_t[]){a}, k4, &conflict, &e), 0);
    assert_int_equal(file_size(path), size);
    assert_int_equal(sindex_retag_lsn(x), 0);
    assert_int_equal(lookup2(x, 10, "a", "us", 100), a);
    assert_int_equal(lookup2(x, 10, "b", "us", 100), b);
    assert_int_equal(sindex_count(x), 3);
    free(path);
    arena_free(ar);
    close_rm(x, base, dir);
}

/* A torn retag record (cut at every byte) is a statement that never happened: every key is old
 * after reopening; whole, every key is new. */
static void test_retag_torn(void **state) {
    (void)state;
    char *base, *dir;
    sindex *x = open_fresh(&base, &dir);
    err e;
    arena *ar = arena_new(0);
    uint32_t a = add2(x, 10, "a", "us");
    uint32_t b = add2(x, 10, "b", "us");
    char *path = log_path(dir);
    assert_int_equal(sindex_sync(x, &e), 0);
    off_t before = file_size(path);
    size_t conflict;
    strv keys[] = {key2(ar, "a9", "eu"), key2(ar, "b9", "eu")};
    assert_int_equal(sindex_retag(x, 3, 10, 2, (uint32_t[]){a, b}, keys, &conflict, &e), 0);
    assert_int_equal(sindex_close(x), 0);
    off_t after = file_size(path);
    unsigned char *whole = xmalloc((size_t)after);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(whole, 1, (size_t)after, f), (size_t)after);
    fclose(f);
    for (off_t cut = before; cut <= after; cut++) {
        f = fopen(path, "wb");
        assert_int_equal(fwrite(whole, 1, (size_t)cut, f), (size_t)cut);
        fclose(f);
        assert_int_equal(sindex_open(dir, false, &x, &e), 0);
        bool done = cut == after;
        assert_int_equal(lookup2(x, 10, done ? "a9" : "a", done ? "eu" : "us", 100), a);
        assert_int_equal(lookup2(x, 10, done ? "b9" : "b", done ? "eu" : "us", 100), b);
        assert_int_equal(sindex_count(x), 2);
        assert_int_equal(sindex_retag_lsn(x), done ? 3 : 0);
        assert_int_equal(sindex_close(x), 0);
    }
    assert_int_equal(sindex_open(dir, false, &x, &e), 0);
    free(whole);
    free(path);
    arena_free(ar);
    close_rm(x, base, dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_lookup),
        cmocka_unit_test(test_binary_values_and_many_series),
        cmocka_unit_test(test_drop_table),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_damage_before_intact_records),
        cmocka_unit_test(test_ids_out_of_order_and_bound),
        cmocka_unit_test(test_malformed_keys),
        cmocka_unit_test(test_concurrent_registration),
        cmocka_unit_test(test_destroy_and_open_errors),
        cmocka_unit_test(test_retired_ids_past_capacity),
        cmocka_unit_test(test_postings_drop_and_reuse),
        cmocka_unit_test(test_tag_twice_in_key),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_retag),
        cmocka_unit_test(test_retag_conflicts),
        cmocka_unit_test(test_retag_torn),
    };
    log_set_level(LOG_ERROR); /* the cut tails are expected */
    return cmocka_run_group_tests_name("sindex", tests, NULL, NULL);
}
