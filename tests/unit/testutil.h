/* Helpers shared by the C unit tests: a deterministic PRNG, temporary directories and whole-
 * file reads and writes. Header-only (static functions) so each test stays one .c file. Include
 * after <cmocka.h>. */
#ifndef STRATA_TESTS_TESTUTIL_H
#define STRATA_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/fs.h"
#include "util/mem.h"
#include "util/types.h"

/* A value of an integer-slot type (BIGINT, TIMESTAMP, DATE ...) and a string view (util/types.h). */
static inline value tu_num(uint8_t t, int64_t i) {
    value v = {.type = t};
    v.v.i = i;
    return v;
}
static inline value tu_str(const char *s) {
    value v = {.type = VT_STR};
    v.v.s = (strv){s, (uint32_t)strlen(s)};
    return v;
}

/* splitmix64: the same sequence for the same seed on every machine. */
typedef struct trng {
    uint64_t s;
} trng;

static inline uint64_t tr_next(trng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Range number k of a test over n values: fixed[k] while k < nfixed, then a random one. */
static inline void tu_range(const uint32_t (*fixed)[2], size_t nfixed, size_t k, uint32_t n,
                            trng *r, uint32_t *lo, uint32_t *hi) {
    if (k < nfixed) {
        *lo = fixed[k][0];
        *hi = fixed[k][1];
        return;
    }
    *lo = n ? (uint32_t)(tr_next(r) % (n + 1)) : 0;
    *hi = *lo + (n - *lo ? (uint32_t)(tr_next(r) % (n - *lo + 1)) : 0);
}

/* A fresh directory /tmp/strata-<tag>-XXXXXX (caller frees with tu_rmdir). */
static inline char *tu_tmpdir(const char *tag) {
    char tmpl[128];
    snprintf(tmpl, sizeof tmpl, "/tmp/strata-%s-XXXXXX", tag);
    char *d = xstrdup(tmpl);
    assert_non_null(mkdtemp(d));
    return d;
}

/* Removes the tree and frees the name. */
static inline void tu_rmdir(char *d) {
    fs_rm_rf(d);
    free(d);
}

static inline bool tu_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static inline char *tu_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = xmalloc((size_t)sz + 1);
    assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static inline void tu_write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Number of entries of dir whose names match the (grep basic) regular expression. */
static inline int tu_count_names(const char *dir, const char *re) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | grep -c '%s'", dir, re);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static inline void tu_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
