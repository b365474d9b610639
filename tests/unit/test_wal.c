/* Unit tests for the write-ahead log (src/storage/wal.c): format, replay, torn tails,
 * corruption, rotation and trim, group commit, interval mode, failure handling.
 *
 * Every test works in its own mkdtemp directory under /tmp and removes it. fdatasync is
 * interposed below so tests can make it fail or slow it down; with the default mode it is the
 * real system call. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "testutil.h"

#include "storage/wal.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- fdatasync interposition ---- */

enum { FS_REAL = 0, FS_FAIL = 1, FS_SLOW = 2 };
static atomic_int fsync_mode;
static atomic_int fsync_calls;

/* Overrides libc's fdatasync for this test binary only (the executable's definition wins). */
int fdatasync(int fd) {
    atomic_fetch_add(&fsync_calls, 1);
    int m = atomic_load(&fsync_mode);
    if (m == FS_FAIL) {
        errno = EIO;
        return -1;
    }
    if (m == FS_SLOW) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* ---- helpers ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *make_tmpdir(void) {
    char *d = xstrdup("/tmp/test_wal.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void rm_rf(const char *d) {
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *seg_name(uint64_t first) {
    char *p = xmalloc(32);
    snprintf(p, 32, "wal-%016" PRIx64 ".log", first);
    return p;
}

static char *seg_file(const char *dir, uint64_t first) {
    char *n = seg_name(first);
    char *p = path_join(dir, n);
    free(n);
    return p;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static long long file_size(const char *p) {
    struct stat st;
    if (stat(p, &st) != 0) return -1;
    return (long long)st.st_size;
}

static unsigned char *read_file(const char *p, size_t *len) {
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = xmalloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *p, const void *b, size_t n) {
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Counts the segment files (names that parse) in dir and sums their sizes. */
static int count_segs(const char *dir, long long *bytes) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | grep -c '^wal-[0-9a-f]\\{16\\}\\.log$'", dir);
    FILE *p = popen(cmd, "r");
    int n = 0;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    if (bytes) {
        snprintf(cmd, sizeof cmd, "cat %s/wal-????????????????.log 2>/dev/null | wc -c", dir);
        p = popen(cmd, "r");
        assert_int_equal(fscanf(p, "%lld", bytes), 1);
        pclose(p);
    }
    return n;
}

/* Deterministic contents for a record: the test can regenerate what a record must hold. */
static void fill(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static uint64_t content_hash(size_t n, uint64_t seed) {
    unsigned char *p = xmalloc(n + 1);
    fill(p, n, seed);
    uint64_t h = XXH64(p, n, 0);
    free(p);
    return h;
}

typedef struct rec_info {
    uint64_t lsn;
    size_t len;
    uint64_t h;
    unsigned char head[8]; /* first bytes, for tests that encode ids in the payload */
} rec_info;

typedef struct coll {
    rec_info *v;
    size_t n, cap;
    uint64_t fail_at; /* nonzero: the callback fails at this LSN */
} coll;

static int collect(void *ctx, uint64_t lsn, const void *rec, size_t len, err *e) {
    coll *c = ctx;
    if (c->fail_at && lsn == c->fail_at)
        return err_set(e, 500, EC_STORAGE, "boom at %" PRIu64, lsn);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    rec_info *r = &c->v[c->n++];
    r->lsn = lsn;
    r->len = len;
    r->h = XXH64(rec, len, 0);
    memset(r->head, 0, sizeof r->head);
    memcpy(r->head, rec, len < 8 ? len : 8);
    return 0;
}

static void coll_free(coll *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

static wal_opts opts_seg(size_t max_seg) {
    wal_opts o = {.sync_each = true, .sync_interval_ms = 100, .max_segment_bytes = max_seg};
    return o;
}

/* Opens dir and replays it into c. */
static wal *open_replay(const char *dir, const wal_opts *o, coll *c) {
    err e;
    wal *w = NULL;
    assert_int_equal(wal_open(dir, o, &w, &e), 0);
    assert_int_equal(wal_replay(w, collect, c, &e), 0);
    return w;
}

/* Opens dir and expects replay to refuse; returns the error message (static buffer). */
static const char *open_refused(const char *dir, const wal_opts *o) {
    static err e;
    wal *w = NULL;
    coll c = {0};
    assert_int_equal(wal_open(dir, o, &w, &e), 0);
    assert_int_equal(wal_replay(w, collect, &c, &e), -1);
    assert_int_equal(e.http, 500);
    assert_string_equal(e.code, EC_STORAGE);
    assert_int_equal(c.n == 0 || c.v != NULL, 1);
    wal_close(w);
    coll_free(&c);
    return e.msg;
}

static wal_opts opts_salvage(size_t max_seg) {
    wal_opts o = {.sync_each = true, .max_segment_bytes = max_seg, .salvage = true};
    return o;
}

/* Number of `<segment>.damaged-<time>` files salvage left in dir. */
static int count_damaged(const char *dir) {
    return tu_count_names(dir, "\\.log\\.damaged-[0-9]*$");
}

/* The message names the file and the offset. */
static void expect_names(const char *msg, const char *path, uint64_t off) {
    char want[64];
    snprintf(want, sizeof want, "at offset %" PRIu64 " ", off);
    if (!strstr(msg, path) || !strstr(msg, want) || !strstr(msg, "--wal-salvage"))
        fail_msg("message %s does not name %s and %s", msg, path, want);
}

static uint64_t append_gen(wal *w, size_t len, uint64_t seed) {
    unsigned char *p = xmalloc(len + 1);
    fill(p, len, seed);
    uint64_t lsn = 0;
    err e;
    int rc = wal_append(w, p, len, &lsn, &e);
    if (rc != 0) fprintf(stderr, "append failed: %s\n", e.msg);
    assert_int_equal(rc, 0);
    free(p);
    return lsn;
}

/* Encodes one record exactly as wal.h specifies, independently of wal.c. */
static size_t enc_rec(unsigned char *out, uint64_t lsn, const void *payload, uint32_t len) {
    unsigned char *tmp = xmalloc(8 + (size_t)len);
    for (int i = 0; i < 8; i++) tmp[i] = (unsigned char)(lsn >> (8 * i));
    if (len) memcpy(tmp + 8, payload, len);
    uint32_t sum = (uint32_t)XXH3_64bits(tmp, 8 + (size_t)len);
    for (int i = 0; i < 4; i++) out[i] = (unsigned char)(len >> (8 * i));
    for (int i = 0; i < 4; i++) out[4 + i] = (unsigned char)(sum >> (8 * i));
    memcpy(out + 8, tmp, 8 + (size_t)len);
    free(tmp);
    return 16 + (size_t)len;
}

/* Writes a segment of records with the given LSNs and 20-byte payloads seeded by LSN. */
static void craft_seg(const char *dir, uint64_t name_lsn, const uint64_t *lsns, int n) {
    unsigned char *b = xmalloc((size_t)n * 36 + 1);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        unsigned char pl[20];
        fill(pl, sizeof pl, lsns[i]);
        off += enc_rec(b + off, lsns[i], pl, sizeof pl);
    }
    char *p = seg_file(dir, name_lsn);
    write_file(p, b, off);
    free(p);
    free(b);
}

static void expect_lsns(const coll *c, const uint64_t *lsns, size_t n) {
    assert_int_equal(c->n, n);
    for (size_t i = 0; i < n; i++) assert_int_equal(c->v[i].lsn, lsns[i]);
}

static void expect_range(const coll *c, uint64_t first, uint64_t last) {
    assert_int_equal(c->n, last >= first ? last - first + 1 : 0);
    for (size_t i = 0; i < c->n; i++) assert_int_equal(c->v[i].lsn, first + i);
}

/* ---- tests ---- */

static void test_roundtrip(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    size_t fixed[] = {0, 1, 15, 16, 17, 100, 1000, 4096, 65536, 3u << 20, 0, 5u << 20 | 7, 3};
    enum { NRAND = 300 };
    size_t nfixed = sizeof fixed / sizeof fixed[0], n = nfixed + NRAND;
    size_t *sizes = xmalloc(n * sizeof *sizes);
    for (size_t i = 0; i < nfixed; i++) sizes[i] = fixed[i];
    srand(7);
    for (size_t i = nfixed; i < n; i++) sizes[i] = (size_t)rand() % 20000;

    wal_opts o = opts_seg(1u << 20);
    coll c = {0};
    wal *w = open_replay(dir, &o, &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_last_lsn(w), 0);
    err e;
    for (size_t i = 0; i < n; i++) {
        uint64_t lsn;
        if (i % 3 == 1) {
            /* Split into three parts, one of them empty, to cover appendv. */
            unsigned char *p = xmalloc(sizes[i] + 1);
            fill(p, sizes[i], i + 1);
            size_t a = sizes[i] / 3;
            const void *parts[3] = {p, p + a, p + a};
            size_t lens[3] = {a, 0, sizes[i] - a};
            assert_int_equal(wal_appendv(w, parts, lens, 3, &lsn, &e), 0);
            free(p);
        } else {
            lsn = append_gen(w, sizes[i], i + 1);
        }
        assert_int_equal(lsn, i + 1);
        assert_int_equal(wal_last_lsn(w), i + 1);
    }
    assert_int_equal(wal_sync(w, n, &e), 0);
    long long disk = 0;
    int nseg = count_segs(dir, &disk);
    assert_true(nseg > 3);
    assert_int_equal(wal_size(w), (uint64_t)disk);
    size_t expect_bytes = 0;
    for (size_t i = 0; i < n; i++) expect_bytes += 16 + sizes[i];
    assert_int_equal((size_t)disk, expect_bytes);
    wal_close(w);

    w = open_replay(dir, &o, &c);
    assert_int_equal(wal_size(w), (uint64_t)disk);
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c.v[i].lsn, i + 1);
        assert_int_equal(c.v[i].len, sizes[i]);
        assert_true(c.v[i].h == content_hash(sizes[i], i + 1));
    }
    assert_int_equal(wal_last_lsn(w), n);
    wal_close(w);
    coll_free(&c);
    free(sizes);
    rm_rf(dir);
    free(dir);
}

/* Checks the on-disk bytes against the format in wal.h with an independent decoder. */
static void test_format(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    wal *w = open_replay(dir, NULL, &c);
    size_t sizes[] = {5, 0, 300};
    for (int i = 0; i < 3; i++) append_gen(w, sizes[i], 100 + (uint64_t)i);
    wal_close(w);
    char *p = seg_file(dir, 1);
    size_t len;
    unsigned char *b = read_file(p, &len);
    assert_int_equal(len, 3 * 16 + 305);
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        unsigned char *pl = xmalloc(sizes[i] + 1);
        fill(pl, sizes[i], 100 + (uint64_t)i);
        unsigned char ref[16 + 300];
        size_t n = enc_rec(ref, (uint64_t)i + 1, pl, (uint32_t)sizes[i]);
        assert_memory_equal(b + off, ref, n);
        off += n;
        free(pl);
    }
    free(b);
    free(p);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_reopen_continuity(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    wal *w = open_replay(dir, NULL, &c);
    for (int i = 1; i <= 10; i++) assert_int_equal(append_gen(w, 50, (uint64_t)i), (uint64_t)i);
    wal_close(w);
    for (int round = 0; round < 3; round++) {
        coll_free(&c);
        w = open_replay(dir, NULL, &c);
        uint64_t last = 10 + 5 * (uint64_t)round;
        expect_range(&c, 1, last);
        assert_int_equal(wal_last_lsn(w), last);
        for (uint64_t i = 1; i <= 5; i++) assert_int_equal(append_gen(w, 50, last + i), last + i);
        wal_close(w);
    }
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    expect_range(&c, 1, 25);
    for (size_t i = 0; i < c.n; i++) assert_true(c.v[i].h == content_hash(50, i + 1));
    /* Everything stayed in the one segment. */
    assert_int_equal(count_segs(dir, NULL), 1);
    wal_close(w);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

/* Writes records of the given sizes, then for every cut inside the last record rebuilds the
 * directory with the last segment truncated there and checks replay, truncation, continued
 * appends and a second reopen. */
static void torn_case(const size_t *sizes, int n, size_t max_seg) {
    char *src = make_tmpdir();
    wal_opts o = opts_seg(max_seg);
    coll c = {0};
    wal *w = open_replay(src, &o, &c);
    for (int i = 0; i < n; i++) append_gen(w, sizes[i], (uint64_t)i + 1);
    wal_close(w);

    /* Snapshot all segments; the last one holds record n at its end. */
    int nseg = count_segs(src, NULL);
    assert_true(nseg >= 1);
    uint64_t *firsts = xmalloc((size_t)nseg * sizeof *firsts);
    unsigned char **data = xmalloc((size_t)nseg * sizeof *data);
    size_t *lens = xmalloc((size_t)nseg * sizeof *lens);
    int k = 0;
    for (uint64_t l = 1; l <= (uint64_t)n && k < nseg; l++) {
        char *p = seg_file(src, l);
        if (exists(p)) {
            firsts[k] = l;
            data[k] = read_file(p, &lens[k]);
            k++;
        }
        free(p);
    }
    assert_int_equal(k, nseg);
    size_t last_len = lens[nseg - 1];
    size_t rec_start = last_len - (16 + sizes[n - 1]);

    for (size_t cut = rec_start; cut < last_len; cut++) {
        char *d = make_tmpdir();
        for (int i = 0; i < nseg; i++) {
            char *p = seg_file(d, firsts[i]);
            write_file(p, data[i], i == nseg - 1 ? cut : lens[i]);
            free(p);
        }
        coll_free(&c);
        w = open_replay(d, &o, &c);
        expect_range(&c, 1, (uint64_t)n - 1);
        for (size_t i = 0; i < c.n; i++) assert_true(c.v[i].h == content_hash(sizes[i], i + 1));
        char *lastp = seg_file(d, firsts[nseg - 1]);
        assert_int_equal(file_size(lastp), (long long)rec_start);
        assert_int_equal(wal_last_lsn(w), (uint64_t)n - 1);
        assert_int_equal(append_gen(w, 33, 5000 + cut), (uint64_t)n);
        wal_close(w);

        coll_free(&c);
        w = open_replay(d, &o, &c);
        expect_range(&c, 1, (uint64_t)n);
        assert_int_equal(c.v[n - 1].len, 33);
        assert_true(c.v[n - 1].h == content_hash(33, 5000 + cut));
        wal_close(w);
        free(lastp);
        rm_rf(d);
        free(d);
    }
    for (int i = 0; i < nseg; i++) free(data[i]);
    free(data);
    free(lens);
    free(firsts);
    coll_free(&c);
    rm_rf(src);
    free(src);
}

static void test_torn_tail(void **state) {
    (void)state;
    size_t a[] = {10, 20, 0, 30, 40, 57};
    torn_case(a, 6, 0);
    size_t b[] = {10, 20, 7, 0}; /* a header-only last record */
    torn_case(b, 4, 0);
    size_t one[] = {25}; /* the only record: replay yields nothing, appends restart at 1 */
    torn_case(one, 1, 0);
    /* Several segments; the last holds only the torn record, so it is cut to zero bytes. */
    size_t m[] = {40, 40, 40, 40, 40, 40, 29};
    torn_case(m, 7, 100);
}

/* Flips each bit pattern in each byte of record k of a single segment. Damage in the last
 * record is indistinguishable from a torn write: it is cut. Anywhere else intact records
 * follow, so replay refuses, naming the file and the offset, and leaves the file alone;
 * salvage then keeps every record but k and replay after it is clean. */
static void flip_case(int k) {
    enum { N = 8 };
    size_t sizes[N] = {12, 40, 0, 25, 64, 3, 30, 9};
    char *src = make_tmpdir();
    coll c = {0};
    wal *w = open_replay(src, NULL, &c);
    for (int i = 0; i < N; i++) append_gen(w, sizes[i], (uint64_t)i + 1);
    wal_close(w);
    char *sp = seg_file(src, 1);
    size_t len;
    unsigned char *orig = read_file(sp, &len);
    size_t start = 0;
    for (int i = 0; i < k; i++) start += 16 + sizes[i];
    size_t rec_len = 16 + sizes[k];
    const unsigned char masks[] = {0x01, 0x80, 0xff};
    wal_opts sal = opts_salvage(0);
    for (size_t b = start; b < start + rec_len; b++) {
        for (size_t mi = 0; mi < sizeof masks; mi++) {
            char *d = make_tmpdir();
            char *p = seg_file(d, 1);
            orig[b] ^= masks[mi];
            write_file(p, orig, len);
            orig[b] ^= masks[mi];
            coll_free(&c);
            if (k == N - 1) {
                w = open_replay(d, NULL, &c);
                expect_range(&c, 1, (uint64_t)k);
                assert_int_equal(file_size(p), (long long)start);
                assert_int_equal(append_gen(w, 11, 77), (uint64_t)k + 1);
                wal_close(w);
                coll_free(&c);
                w = open_replay(d, NULL, &c);
                expect_range(&c, 1, (uint64_t)k + 1);
                wal_close(w);
            } else {
                expect_names(open_refused(d, NULL), p, start);
                assert_int_equal(file_size(p), (long long)len);
                w = open_replay(d, &sal, &c);
                assert_int_equal(c.n, N - 1);
                for (size_t i = 0, j = 0; i < N; i++) {
                    if ((int)i == k) continue;
                    assert_int_equal(c.v[j].lsn, i + 1);
                    assert_true(c.v[j].h == content_hash(sizes[i], i + 1));
                    j++;
                }
                assert_int_equal(count_damaged(d), 1);
                assert_int_equal(append_gen(w, 11, 77), N + 1);
                wal_close(w);
                coll_free(&c);
                w = open_replay(d, NULL, &c);
                assert_int_equal(c.n, N);
                assert_int_equal(c.v[N - 1].lsn, N + 1);
                wal_close(w);
            }
            free(p);
            rm_rf(d);
            free(d);
        }
    }
    free(orig);
    free(sp);
    coll_free(&c);
    rm_rf(src);
    free(src);
}

static void test_flipped_byte(void **state) {
    (void)state;
    flip_case(0);
    flip_case(3);
    flip_case(4);
    flip_case(7);
}

/* Damage in a segment that newer ones follow is never torn: that segment was synced whole
 * before the next one started. */
static void test_middle_corruption(void **state) {
    (void)state;
    /* 100-byte payloads (116 bytes a record) and 300-byte segments: three records a segment,
     * so segments start at LSN 1, 4, 7, 10. */
    wal_opts o = opts_seg(300), sal = opts_salvage(300);
    for (int variant = 0; variant < 4; variant++) {
        char *dir = make_tmpdir();
        coll c = {0};
        wal *w = open_replay(dir, &o, &c);
        for (int i = 1; i <= 12; i++) append_gen(w, 100, (uint64_t)i);
        wal_close(w);
        assert_int_equal(count_segs(dir, NULL), 4);
        char *p = seg_file(dir, 4);
        size_t len;
        unsigned char *b = read_file(p, &len);
        assert_int_equal(len, 348);
        uint64_t off = 116;
        if (variant == 0)
            b[116 + 16 + 50] ^= 0x10; /* payload of LSN 5 */
        else if (variant == 1)
            b[3] ^= 0x40, off = 0; /* length of LSN 4 */
        else if (variant == 2)
            b[116 + 8] ^= 0x01; /* lsn field of LSN 5 */
        else
            b[232 + 20] ^= 0x02, off = 232; /* payload of LSN 6, the segment's last record */
        write_file(p, b, len);

        expect_names(open_refused(dir, &o), p, off);
        assert_int_equal(file_size(p), 348);

        coll_free(&c);
        w = open_replay(dir, &sal, &c);
        uint64_t lost = variant == 1 ? 4 : variant == 3 ? 6 : 5;
        assert_int_equal(c.n, 11);
        for (size_t i = 0, l = 1; i < c.n; i++, l++) {
            if (l == lost) l++;
            assert_int_equal(c.v[i].lsn, l);
            assert_true(c.v[i].h == content_hash(100, l));
        }
        assert_int_equal(wal_last_lsn(w), 12);
        assert_int_equal(count_damaged(dir), 1);
        /* The last segment is full, so LSN 13 starts a new one. */
        assert_int_equal(append_gen(w, 100, 13), 13);
        wal_close(w);
        char *p13 = seg_file(dir, 13);
        assert_true(exists(p13));
        free(p13);

        /* Repaired for good: a normal start replays the same records. */
        coll_free(&c);
        w = open_replay(dir, &o, &c);
        assert_int_equal(c.n, 12);
        assert_int_equal(c.v[c.n - 1].lsn, 13);
        wal_close(w);
        coll_free(&c);
        free(b);
        free(p);
        rm_rf(dir);
        free(dir);
    }
}

/* Bytes of garbage between intact records of the last segment: damage, not a torn tail (as a
 * zero-filled hole would be, which is what a lost write can leave after a power failure). */
static void test_garbage_then_records(void **state) {
    (void)state;
    const size_t holes[] = {1, 15, 16, 17, 40, 4096};
    for (size_t h = 0; h < sizeof holes / sizeof *holes; h++) {
        for (int zero = 0; zero < 2; zero++) {
            char *dir = make_tmpdir();
            uint64_t a[] = {1, 2}, bl[] = {3, 4};
            craft_seg(dir, 1, a, 2);
            char *p = seg_file(dir, 1);
            size_t la;
            unsigned char *ba = read_file(p, &la);
            craft_seg(dir, 3, bl, 2);
            char *p3 = seg_file(dir, 3);
            size_t lb;
            unsigned char *bb = read_file(p3, &lb);
            unlink(p3);
            unsigned char *all = xmalloc(la + holes[h] + lb);
            memcpy(all, ba, la);
            fill(all + la, holes[h], 99);
            if (zero) memset(all + la, 0, holes[h]);
            memcpy(all + la + holes[h], bb, lb);
            write_file(p, all, la + holes[h] + lb);

            expect_names(open_refused(dir, NULL), p, la);
            wal_opts sal = opts_salvage(0);
            coll c = {0};
            wal *w = open_replay(dir, &sal, &c);
            expect_range(&c, 1, 4);
            assert_int_equal(file_size(p), (long long)(la + lb)); /* one run: LSNs 1..4 */
            assert_int_equal(append_gen(w, 5, 5), 5);
            wal_close(w);
            coll_free(&c);
            w = open_replay(dir, NULL, &c);
            expect_range(&c, 1, 5);
            wal_close(w);
            coll_free(&c);
            free(all);
            free(ba);
            free(bb);
            free(p);
            free(p3);
            rm_rf(dir);
            free(dir);
        }
    }
}

/* Hand-made segments: LSN gaps, LSNs going backwards, name/record mismatches, oversized
 * lengths, overlapping segments. */
static void test_lsn_sequence(void **state) {
    (void)state;
    err e;
    coll c = {0};
    wal_opts sal = opts_salvage(0);
    {
        /* Gap inside the last segment: intact records cannot be torn. Salvage keeps them all
         * and splits the segment where the gap is. */
        char *dir = make_tmpdir();
        uint64_t l[] = {1, 2, 4, 5};
        craft_seg(dir, 1, l, 4);
        char *p = seg_file(dir, 1), *p4 = seg_file(dir, 4);
        const char *msg = open_refused(dir, NULL);
        expect_names(msg, p, 72);
        assert_non_null(strstr(msg, "claims LSN 4"));
        wal *w = open_replay(dir, &sal, &c);
        uint64_t want[] = {1, 2, 4, 5};
        expect_lsns(&c, want, 4);
        assert_int_equal(file_size(p), 2 * 36);
        assert_int_equal(file_size(p4), 2 * 36);
        assert_int_equal(append_gen(w, 5, 1), 6);
        wal_close(w);
        coll_free(&c);
        w = open_replay(dir, NULL, &c);
        uint64_t want2[] = {1, 2, 4, 5, 6};
        expect_lsns(&c, want2, 5);
        wal_close(w);
        free(p);
        free(p4);
        rm_rf(dir);
        free(dir);
        coll_free(&c);
    }
    {
        /* Going backwards: salvage drops the stale records. */
        char *dir = make_tmpdir();
        uint64_t l[] = {1, 2, 3, 2, 3};
        craft_seg(dir, 1, l, 5);
        char *p = seg_file(dir, 1);
        expect_names(open_refused(dir, NULL), p, 3 * 36);
        wal *w = open_replay(dir, &sal, &c);
        expect_range(&c, 1, 3);
        assert_int_equal(append_gen(w, 5, 1), 4);
        wal_close(w);
        free(p);
        rm_rf(dir);
        free(dir);
        coll_free(&c);
    }
    {
        /* A segment named 5 whose records claim LSNs 1 and 2: nothing in it is trusted, but its
         * name still says where the log goes on. */
        char *dir = make_tmpdir();
        uint64_t l[] = {1, 2};
        craft_seg(dir, 5, l, 2);
        char *p = seg_file(dir, 5);
        expect_names(open_refused(dir, NULL), p, 0);
        wal *w = open_replay(dir, &sal, &c);
        assert_int_equal(c.n, 0);
        assert_int_equal(file_size(p), 0);
        assert_int_equal(append_gen(w, 5, 1), 5);
        wal_close(w);
        coll_free(&c);
        w = open_replay(dir, NULL, &c);
        expect_range(&c, 5, 5);
        wal_close(w);
        free(p);
        rm_rf(dir);
        free(dir);
        coll_free(&c);
    }
    {
        /* A trimmed log starts past 1; an empty middle segment and a gap are tolerated. */
        char *dir = make_tmpdir();
        uint64_t a[] = {100, 101, 102};
        uint64_t b[] = {106, 107};
        craft_seg(dir, 100, a, 3);
        craft_seg(dir, 103, NULL, 0);
        craft_seg(dir, 106, b, 2);
        for (int salvage = 0; salvage < 2; salvage++) {
            wal *w = open_replay(dir, salvage ? &sal : NULL, &c);
            uint64_t want[] = {100, 101, 102, 106, 107};
            expect_lsns(&c, want, 5);
            assert_int_equal(wal_last_lsn(w), 107);
            wal_close(w);
            coll_free(&c);
            assert_int_equal(count_damaged(dir), 0);
        }
        wal *w = open_replay(dir, NULL, &c);
        assert_int_equal(append_gen(w, 5, 1), 108);
        wal_close(w);
        rm_rf(dir);
        free(dir);
        coll_free(&c);
    }
    {
        /* Overlapping last segment: ignored (left alone) and a fresh segment takes appends. */
        char *dir = make_tmpdir();
        uint64_t a[] = {1, 2, 3, 4, 5};
        uint64_t b[] = {3, 4};
        craft_seg(dir, 1, a, 5);
        craft_seg(dir, 3, b, 2);
        wal *w = open_replay(dir, NULL, &c);
        expect_range(&c, 1, 5);
        char *p3 = seg_file(dir, 3), *p6 = seg_file(dir, 6);
        assert_int_equal(file_size(p3), 72);
        assert_true(exists(p6));
        assert_int_equal(append_gen(w, 5, 1), 6);
        wal_close(w);
        coll_free(&c);
        w = open_replay(dir, NULL, &c);
        expect_range(&c, 1, 6);
        wal_close(w);
        free(p3);
        free(p6);
        rm_rf(dir);
        free(dir);
        coll_free(&c);
    }
    {
        /* Lengths over 1 GiB (and up to UINT32_MAX) are torn headers, even if the file were
         * long enough; a 16-byte header of zeros is torn too. */
        uint32_t bad_lens[] = {(1u << 30) + 1, 0xffffffffu, 1000};
        for (int i = 0; i < 4; i++) {
            char *dir = make_tmpdir();
            uint64_t l[] = {1, 2};
            craft_seg(dir, 1, l, 2);
            char *p = seg_file(dir, 1);
            size_t len;
            unsigned char *b = read_file(p, &len);
            b = xrealloc(b, len + 16 + 40);
            unsigned char pl[40] = {0};
            enc_rec(b + len, 3, pl, 40);
            if (i < 3) {
                for (int j = 0; j < 4; j++)
                    b[len + (size_t)j] = (unsigned char)(bad_lens[i] >> (8 * j));
            } else {
                memset(b + len, 0, 16 + 40);
            }
            write_file(p, b, len + 16 + 40);
            wal *w = open_replay(dir, NULL, &c);
            expect_range(&c, 1, 2);
            assert_int_equal(file_size(p), (long long)len);
            wal_close(w);
            free(b);
            free(p);
            rm_rf(dir);
            free(dir);
            coll_free(&c);
        }
    }
    (void)e;
}

/* A directory removed or replaced under an open log: nothing more is acknowledged. */
static void test_lost_directory(void **state) {
    (void)state;
    for (int replace = 0; replace < 2; replace++) {
        char *dir = make_tmpdir();
        coll c = {0};
        err e;
        wal *w = open_replay(dir, NULL, &c);
        uint64_t l1 = append_gen(w, 10, 1);
        assert_int_equal(wal_sync(w, l1, &e), 0);
        char moved[64];
        snprintf(moved, sizeof moved, "%s.moved", dir);
        if (replace) {
            assert_int_equal(rename(dir, moved), 0);
            assert_int_equal(mkdir(dir, 0755), 0);
        } else {
            rm_rf(dir);
        }
        uint64_t l2 = 0;
        if (wal_append(w, "x", 1, &l2, &e) == 0) assert_int_equal(wal_sync(w, l2, &e), -1);
        assert_int_equal(e.http, 500);
        assert_non_null(strstr(e.msg, dir));
        assert_non_null(strstr(e.msg, replace ? "replaced" : "removed"));
        assert_int_equal(wal_append(w, "y", 1, &l2, &e), -1);
        assert_int_equal(wal_close(w), -1);
        coll_free(&c);
        rm_rf(moved);
        rm_rf(dir);
        free(dir);
    }
}

/* wal_skip_to: the next LSN never goes below what the owner says was used. */
static void test_skip_to(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    err e;
    wal *w = open_replay(dir, NULL, &c);
    for (int i = 1; i <= 3; i++) append_gen(w, 10, (uint64_t)i);
    assert_int_equal(wal_skip_to(w, 2, &e), 0); /* already past: nothing happens */
    assert_int_equal(append_gen(w, 10, 4), 4);
    assert_int_equal(wal_skip_to(w, 10, &e), 0);
    assert_int_equal(wal_last_lsn(w), 9);
    assert_int_equal(wal_sync(w, 9, &e), 0);
    assert_int_equal(append_gen(w, 10, 10), 10);
    assert_int_equal(wal_close(w), 0);
    w = open_replay(dir, NULL, &c);
    uint64_t want[] = {1, 2, 3, 4, 10};
    expect_lsns(&c, want, 5);
    wal_close(w);
    /* Even a log emptied of records restarts where it was told. */
    rm_rf(dir);
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    assert_int_equal(wal_skip_to(w, 50, &e), 0);
    assert_int_equal(append_gen(w, 10, 50), 50);
    wal_close(w);
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    expect_range(&c, 50, 50);
    wal_close(w);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_odd_files(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    const char *junk[] = {"wal-xyz.log",
                          "wal-0000000000000000.log",
                          "WAL-0000000000000002.log",
                          "wal-00000000000000AB.log",
                          "notes.txt",
                          "wal-0000000000000001.log.tmp"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        char *p = path_join(dir, junk[i]);
        write_file(p, "garbage", 7);
        free(p);
    }
    char *sub = seg_file(dir, 9);
    assert_int_equal(mkdir(sub, 0755), 0);
    /* An empty first segment is fine and receives the appends. */
    char *p1 = seg_file(dir, 1);
    write_file(p1, "", 0);
    coll c = {0};
    wal *w = open_replay(dir, NULL, &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_size(w), 0);
    assert_int_equal(append_gen(w, 10, 1), 1);
    assert_int_equal(file_size(p1), 26);
    wal_close(w);
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    expect_range(&c, 1, 1);
    wal_close(w);
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        char *p = path_join(dir, junk[i]);
        assert_int_equal(file_size(p), 7);
        free(p);
    }
    free(p1);
    free(sub);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_rotate_trim(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    wal_opts o = opts_seg(1000);
    coll c = {0};
    err e;
    wal *w = open_replay(dir, &o, &c);
    /* 116-byte records: a segment closes after 9 of them (1044 bytes). */
    for (int i = 1; i <= 50; i++) append_gen(w, 100, (uint64_t)i);
    uint64_t starts[] = {1, 10, 19, 28, 37, 46};
    for (int i = 0; i < 6; i++) {
        char *p = seg_file(dir, starts[i]);
        assert_true(exists(p));
        assert_int_equal(file_size(p), i < 5 ? 9 * 116 : 5 * 116);
        free(p);
    }
    assert_int_equal(count_segs(dir, NULL), 6);
    assert_int_equal(wal_size(w), 50 * 116);

    assert_int_equal(wal_trim(w, 19, &e), 0); /* segments 1..9 and 10..18 */
    assert_int_equal(count_segs(dir, NULL), 4);
    char *p10 = seg_file(dir, 10), *p19 = seg_file(dir, 19);
    assert_false(exists(p10));
    assert_true(exists(p19));
    assert_int_equal(wal_size(w), 32 * 116);
    assert_int_equal(wal_trim(w, 20, &e), 0); /* 19..27 still holds LSNs >= 20 */
    assert_int_equal(count_segs(dir, NULL), 4);
    assert_int_equal(wal_trim(w, 0, &e), 0);
    assert_int_equal(count_segs(dir, NULL), 4);
    assert_int_equal(wal_trim(w, UINT64_MAX, &e), 0); /* never the current one */
    assert_int_equal(count_segs(dir, NULL), 1);
    assert_int_equal(wal_size(w), 5 * 116);

    assert_int_equal(wal_rotate(w, &e), 51);
    char *p51 = seg_file(dir, 51);
    assert_true(exists(p51));
    assert_int_equal(file_size(p51), 0);
    assert_int_equal(wal_rotate(w, &e), 51); /* already fresh: no new file */
    assert_int_equal(count_segs(dir, NULL), 2);
    assert_int_equal(append_gen(w, 100, 51), 51);
    assert_int_equal(wal_trim(w, 51, &e), 0);
    assert_int_equal(count_segs(dir, NULL), 1);
    assert_int_equal(wal_rotate(w, &e), 52);
    /* Trim everything possible after the rotation: the empty newest segment survives and
     * keeps the LSN sequence going across a restart. */
    assert_int_equal(wal_trim(w, UINT64_MAX, &e), 0);
    assert_int_equal(count_segs(dir, NULL), 1);
    wal_close(w);

    w = open_replay(dir, &o, &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_last_lsn(w), 51);
    assert_int_equal(append_gen(w, 100, 52), 52);
    wal_close(w);
    coll_free(&c);
    w = open_replay(dir, &o, &c);
    expect_range(&c, 52, 52);
    wal_close(w);

    free(p10);
    free(p19);
    free(p51);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

typedef struct gc_arg {
    wal *w;
    int id, iters;
    size_t size;
    double until; /* nonzero: run until this time instead of iters */
    long done;
    int failures;
} gc_arg;

static void *gc_thread(void *p) {
    gc_arg *a = p;
    unsigned char *buf = xmalloc(a->size);
    for (long i = 0; a->until ? now_s() < a->until : i < a->iters; i++) {
        memset(buf, (int)a->id, a->size);
        uint32_t seq = (uint32_t)i;
        buf[0] = (unsigned char)a->id;
        memcpy(buf + 1, &seq, 4);
        uint64_t lsn;
        err e;
        if (wal_append(a->w, buf, a->size, &lsn, &e) != 0 || wal_sync(a->w, lsn, &e) != 0) {
            a->failures++;
            break;
        }
        a->done++;
    }
    free(buf);
    return NULL;
}

/* Runs nthreads append+sync loops; returns records and fsyncs. */
static void run_gc(wal *w, int nthreads, int iters, double secs, size_t size, gc_arg *args) {
    pthread_t t[16];
    double until = secs > 0 ? now_s() + secs : 0;
    for (int i = 0; i < nthreads; i++) {
        args[i] = (gc_arg){.w = w, .id = i + 1, .iters = iters, .size = size, .until = until};
        assert_int_equal(pthread_create(&t[i], NULL, gc_thread, &args[i]), 0);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
}

static void check_gc_replay(const char *dir, const wal_opts *o, gc_arg *args, int nthreads) {
    coll c = {0};
    wal *w = open_replay(dir, o, &c);
    long total = 0;
    for (int i = 0; i < nthreads; i++) total += args[i].done;
    assert_int_equal(c.n, (size_t)total);
    long next[16] = {0};
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(c.v[i].lsn, i + 1);
        int id = c.v[i].head[0];
        assert_true(id >= 1 && id <= nthreads);
        uint32_t seq;
        memcpy(&seq, c.v[i].head + 1, 4);
        /* Each thread's records appear in its own order, none missing. */
        assert_int_equal(seq, (uint32_t)next[id - 1]);
        next[id - 1]++;
    }
    for (int i = 0; i < nthreads; i++) assert_int_equal(next[i], args[i].done);
    wal_close(w);
    coll_free(&c);
}

static void test_group_commit(void **state) {
    (void)state;
    enum { T = 8 };
    gc_arg args[T];
    /* Small segments so rotations race with sync leaders holding the old file. */
    wal_opts o = opts_seg(64 << 10);
    {
        char *dir = make_tmpdir();
        coll c = {0};
        wal *w = open_replay(dir, &o, &c);
        uint64_t f0 = wal_fsync_count(w);
        double t0 = now_s();
        run_gc(w, T, 0, 0.5, 1024, args);
        double dt = now_s() - t0;
        long total = 0;
        for (int i = 0; i < T; i++) {
            total += args[i].done;
            assert_int_equal(args[i].failures, 0);
        }
        uint64_t nf = wal_fsync_count(w) - f0;
        printf("    group commit, %d threads x append(1 KiB)+sync, %.2fs: %ld records "
               "(%.0f/s), %" PRIu64 " fsyncs (%.0f/s), %.1f records per fsync\n",
               T, dt, total, total / dt, nf, nf / dt, (double)total / (double)(nf ? nf : 1));
        assert_true(total > 0);
        assert_true(nf <= (uint64_t)total + 2 * (uint64_t)count_segs(dir, NULL));
        wal_close(w);
        check_gc_replay(dir, &o, args, T);
        coll_free(&c);
        rm_rf(dir);
        free(dir);
    }
    {
        /* With a slow disk (2 ms per fdatasync) waiters must ride on the leader's sync. */
        char *dir = make_tmpdir();
        coll c = {0};
        wal *w = open_replay(dir, &o, &c);
        atomic_store(&fsync_mode, FS_SLOW);
        uint64_t f0 = wal_fsync_count(w);
        run_gc(w, T, 60, 0, 200, args);
        uint64_t nf = wal_fsync_count(w) - f0;
        atomic_store(&fsync_mode, FS_REAL);
        printf("    slow-disk group commit: %d records, %" PRIu64 " fsyncs\n", T * 60, nf);
        for (int i = 0; i < T; i++) assert_int_equal(args[i].done, 60);
        assert_true(nf < (uint64_t)T * 60 / 2);
        wal_close(w);
        check_gc_replay(dir, &o, args, T);
        coll_free(&c);
        rm_rf(dir);
        free(dir);
    }
}

/* Sync bookkeeping, deterministically: one sync covers everything written before it. */
static void test_sync_coverage(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    err e;
    wal *w = open_replay(dir, NULL, &c);
    assert_int_equal(wal_sync(w, 0, &e), 0);
    for (int i = 1; i <= 100; i++) append_gen(w, 10, (uint64_t)i);
    uint64_t f0 = wal_fsync_count(w);
    assert_int_equal(wal_sync(w, 60, &e), 0);
    assert_int_equal(wal_fsync_count(w), f0 + 1);
    assert_int_equal(wal_sync(w, 100, &e), 0);
    assert_int_equal(wal_sync(w, 1, &e), 0);
    assert_int_equal(wal_fsync_count(w), f0 + 1);
    /* A rotation syncs the closed segment, so its records need no further fsync. */
    assert_int_equal(append_gen(w, 10, 101), 101);
    assert_int_equal(wal_rotate(w, &e), 102);
    uint64_t f1 = wal_fsync_count(w);
    assert_int_equal(wal_sync(w, 101, &e), 0);
    assert_int_equal(wal_fsync_count(w), f1);
    /* Not yet appended. */
    assert_int_equal(wal_sync(w, 102, &e), -1);
    assert_int_equal(e.http, 500);
    wal_close(w);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_interval(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    err e;
    {
        /* A long interval: wal_sync must not fsync, close must not wait for the tick. */
        wal_opts o = {.sync_each = false, .sync_interval_ms = 10000, .max_segment_bytes = 0};
        wal *w = open_replay(dir, &o, &c);
        append_gen(w, 100, 1); /* creates the segment (a directory fsync) */
        uint64_t f0 = wal_fsync_count(w);
        for (int i = 2; i <= 20; i++) append_gen(w, 100, (uint64_t)i);
        assert_int_equal(wal_sync(w, 20, &e), 0);
        assert_int_equal(wal_fsync_count(w), f0);
        double t0 = now_s();
        wal_close(w);
        assert_true(now_s() - t0 < 1.0);
        coll_free(&c);
    }
    {
        wal_opts o = {.sync_each = false, .sync_interval_ms = 20, .max_segment_bytes = 0};
        wal *w = open_replay(dir, &o, &c);
        expect_range(&c, 1, 20);
        uint64_t f0 = wal_fsync_count(w);
        struct timespec ts = {0, 150 * 1000 * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(wal_fsync_count(w), f0); /* nothing written: no fsync */
        for (int i = 21; i <= 30; i++) append_gen(w, 100, (uint64_t)i);
        double t0 = now_s();
        while (wal_fsync_count(w) == f0 && now_s() - t0 < 5) nanosleep(&ts, NULL);
        uint64_t f1 = wal_fsync_count(w);
        assert_true(f1 > f0);
        nanosleep(&ts, NULL);
        assert_int_equal(wal_fsync_count(w), f1); /* idle again */
        wal_close(w);
        coll_free(&c);
    }
    wal *w = open_replay(dir, NULL, &c);
    expect_range(&c, 1, 30);
    wal_close(w);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_destroy(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    char *wd = path_join(dir, "db/wal"); /* nested: created as needed */
    wal_opts o = opts_seg(200);
    coll c = {0};
    wal *w = open_replay(wd, &o, &c);
    for (int i = 1; i <= 10; i++) append_gen(w, 100, (uint64_t)i);
    assert_true(count_segs(wd, NULL) > 1);
    wal_destroy(w);
    assert_false(exists(wd));
    wal_destroy(NULL);
    wal_close(NULL);

    /* A foreign file is not deleted; the segments are. */
    w = open_replay(wd, &o, &c);
    append_gen(w, 10, 1);
    char *junk = path_join(wd, "keep.txt");
    write_file(junk, "x", 1);
    wal_destroy(w);
    assert_true(exists(junk));
    assert_int_equal(count_segs(wd, NULL), 0);
    free(junk);
    free(wd);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

static void test_misuse(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    err e;
    wal *w = NULL;
    uint64_t lsn;
    coll c = {0};

    /* Not a directory. */
    char *f = path_join(dir, "file");
    write_file(f, "x", 1);
    assert_int_equal(wal_open(f, NULL, &w, &e), -1);
    assert_null(w);
    assert_int_equal(e.http, 500);
    assert_string_equal(e.code, EC_STORAGE);
    assert_non_null(strstr(e.msg, f));
    assert_non_null(strstr(e.msg, strerror(ENOTDIR)));
    char *under = path_join(f, "wal");
    assert_int_equal(wal_open(under, NULL, &w, &e), -1);
    assert_non_null(strstr(e.msg, f));
    free(under);
    assert_int_equal(wal_open("", NULL, &w, &e), -1);

    char *wd = path_join(dir, "wal");
    assert_int_equal(wal_open(wd, NULL, &w, &e), 0);
    /* Before replay. */
    assert_int_equal(wal_append(w, "x", 1, &lsn, &e), -1);
    assert_int_equal(e.http, 500);
    assert_int_equal(wal_trim(w, 1, &e), -1);
    assert_int_equal(wal_rotate(w, &e), 0);
    assert_int_equal(wal_replay(w, collect, &c, &e), 0);
    assert_int_equal(wal_replay(w, collect, &c, &e), -1);
    assert_int_equal(wal_append(w, "x", 1, &lsn, &e), 0);
    assert_int_equal(lsn, 1);
    assert_int_equal(wal_appendv(w, NULL, NULL, 0, &lsn, &e), 0);
    assert_int_equal(lsn, 2);
    assert_int_equal(wal_appendv(w, NULL, NULL, -1, &lsn, &e), -1);
    size_t huge[2] = {(size_t)1 << 29, ((size_t)1 << 29) + 1};
    const void *hp[2] = {"", ""}; /* never read: the size check comes first */
    assert_int_equal(wal_appendv(w, hp, huge, 2, &lsn, &e), -1);
    assert_int_equal(wal_last_lsn(w), 2);
    for (int i = 3; i <= 6; i++) append_gen(w, 8, (uint64_t)i);
    wal_close(w);

    /* A callback error stops replay and surfaces; a later replay can still succeed. */
    coll_free(&c);
    assert_int_equal(wal_open(wd, NULL, &w, &e), 0);
    c.fail_at = 4;
    assert_int_equal(wal_replay(w, collect, &c, &e), -1);
    assert_string_equal(e.msg, "boom at 4");
    expect_range(&c, 1, 3);
    assert_int_equal(wal_append(w, "x", 1, &lsn, &e), -1);
    coll_free(&c);
    assert_int_equal(wal_replay(w, collect, &c, &e), 0);
    expect_range(&c, 1, 6);
    /* A NULL callback just positions the log. */
    wal_close(w);
    assert_int_equal(wal_open(wd, NULL, &w, &e), 0);
    assert_int_equal(wal_replay(w, NULL, NULL, &e), 0);
    assert_int_equal(wal_last_lsn(w), 6);
    wal_close(w);

    free(wd);
    free(f);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

/* A write that fails half-way (file size limit) leaves no partial record behind. */
static void test_write_failure(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    err e;
    wal *w = open_replay(dir, NULL, &c);
    for (int i = 1; i <= 3; i++) append_gen(w, 100, (uint64_t)i);
    char *p = seg_file(dir, 1);
    assert_int_equal(file_size(p), 348);

    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {348 + 500, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    unsigned char big[1000];
    fill(big, sizeof big, 9);
    uint64_t lsn = 0;
    int rc = wal_append(w, big, sizeof big, &lsn, &e);
    long long sz = file_size(p);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);

    assert_int_equal(rc, -1);
    assert_int_equal(e.http, 500);
    assert_string_equal(e.code, EC_STORAGE);
    assert_non_null(strstr(e.msg, p));
    assert_int_equal(sz, 348);
    assert_int_equal(wal_last_lsn(w), 3);
    /* Not sticky: the next append takes the LSN the failed one would have had. */
    assert_int_equal(append_gen(w, 100, 4), 4);
    wal_close(w);
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    expect_range(&c, 1, 4);
    wal_close(w);
    free(p);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

/* A failed fdatasync is sticky: the waiter gets the error and the log refuses writes. */
static void test_fsync_failure(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    coll c = {0};
    err e;
    wal *w = open_replay(dir, NULL, &c);
    uint64_t l1 = append_gen(w, 10, 1);
    assert_int_equal(wal_sync(w, l1, &e), 0);
    uint64_t l2 = append_gen(w, 10, 2);
    atomic_store(&fsync_mode, FS_FAIL);
    assert_int_equal(wal_sync(w, l2, &e), -1);
    atomic_store(&fsync_mode, FS_REAL);
    assert_int_equal(e.http, 500);
    assert_string_equal(e.code, EC_STORAGE);
    char *p = seg_file(dir, 1);
    assert_non_null(strstr(e.msg, p));
    assert_non_null(strstr(e.msg, strerror(EIO)));
    uint64_t lsn;
    err e2;
    assert_int_equal(wal_append(w, "x", 1, &lsn, &e2), -1);
    assert_string_equal(e2.msg, e.msg);
    assert_int_equal(wal_sync(w, l1, &e2), -1);
    assert_int_equal(wal_rotate(w, &e2), 0);
    assert_int_equal(wal_close(w), -1); /* shutdown must not claim everything is durable */
    coll_free(&c);
    w = open_replay(dir, NULL, &c);
    expect_range(&c, 1, 2);
    wal_close(w);

    /* Interval mode: the background failure reaches the next append and sync. */
    wal_opts o = {.sync_each = false, .sync_interval_ms = 5, .max_segment_bytes = 0};
    coll_free(&c);
    w = open_replay(dir, &o, &c);
    atomic_store(&fsync_mode, FS_FAIL);
    int before = atomic_load(&fsync_calls);
    append_gen(w, 10, 3);
    double t0 = now_s();
    while (atomic_load(&fsync_calls) == before && now_s() - t0 < 5) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&fsync_mode, FS_REAL);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(wal_append(w, "x", 1, &lsn, &e), -1);
    assert_int_equal(wal_sync(w, 3, &e), -1);
    wal_close(w);

    /* A failure while rotating is sticky as well. */
    coll_free(&c);
    wal_opts small = opts_seg(40);
    w = open_replay(dir, &small, &c);
    atomic_store(&fsync_mode, FS_FAIL);
    assert_int_equal(wal_append(w, "y", 1, &lsn, &e), -1); /* segment is past 40 bytes */
    atomic_store(&fsync_mode, FS_REAL);
    assert_non_null(strstr(e.msg, "fdatasync"));
    assert_int_equal(wal_append(w, "y", 1, &lsn, &e), -1);
    wal_close(w);

    free(p);
    coll_free(&c);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    /* The corruption tests provoke hundreds of expected warnings; errors still show. */
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_reopen_continuity),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_middle_corruption),
        cmocka_unit_test(test_lsn_sequence),
        cmocka_unit_test(test_odd_files),
        cmocka_unit_test(test_rotate_trim),
        cmocka_unit_test(test_sync_coverage),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_fsync_failure),
        cmocka_unit_test(test_garbage_then_records),
        cmocka_unit_test(test_lost_directory),
        cmocka_unit_test(test_skip_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
