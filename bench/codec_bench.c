/* codec_bench: size and speed of the column codecs (src/codec) on the data shapes Strata stores.
 *
 * For each data set (16 series of 8640 values, one day at 10 s, cut into pages of 4096 values
 * as the column files do) it reports the block encoding DEFAULT chose, bytes per value, and
 * single-core encode and decode speed in millions of values per second; for doubles also a
 * decode-and-sum scan, the inner loop of a query aggregating a column.
 *
 * Bench programs are built from one file each (see the Makefile), so the codec and util sources
 * are included directly. The string codecs need zstd, snappy, zlib, bzip2 and lz4, which the
 * Makefile's bench rule does not link (nor xxhash, for util/hmap): build with -DCODEC_BENCH_STR
 * and those libraries to include them, e.g.
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Isrc -DCODEC_BENCH_STR -o build/bench/codec_bench \
 *      bench/codec_bench.c -lzstd -lsnappy -lz -lbz2 -llz4 -lxxhash -lm
 * Usage: codec_bench [page_size]   (default 4096)
 *
 * Measured on the development VM (2 vCPU Xeon, KVM, gcc 12 -O2, pages of 4096, one core, best
 * of 4 runs on a shared machine; M = 10^6 values/s; "1/8" = decoding only the first eighth of
 * every page through the range decoders, in values kept per second (before range decoding, a
 * scan needing them decoded the whole page: dec/8); "sum" = decode and add up):
 *   data                        encoding          B/value   encode   decode    1/8     sum
 *   ts regular 10 s             int (const step)    0.006   1700 M   2780 M   2310 M
 *   ts 10 s + 0-50 ms jitter    int (delta + FOR)   3.42      42 M   1290 M   1100 M
 *   f64 TSBS walk, 2 decimals   decimal             1.17      25 M    690 M    640 M   470 M
 *   same, CODEC(GORILLA)        gorilla             6.60     135 M    150 M    215 M   130 M
 *   f64 walk printed %.15g      decimal/gorilla     6.31      42 M    290 M    320 M   245 M
 *   f64 walk, full precision    gorilla             6.84     165 M    175 M    220 M   157 M
 *   f64 constant                decimal             0.002    163 M   2840 M   2340 M   966 M
 *   i64 counter (+0..999)       int                 1.27      42 M   1490 M   1200 M
 *   i64 random 64-bit           raw64               8.00      74 M   2900 M   2580 M
 *   i64 gauge walk (+-100)      int                 1.03      42 M   1580 M   1300 M
 *   i64 constant                int                 0.001   1690 M   2750 M   2450 M
 *   bool random                 bits                0.125    455 M   1250 M
 *   bool runs of 1000           runs/const          0.003   1400 M   2500 M
 *   str tag-like, 5 values      dict                0.41      61 M    634 M
 *     CODEC(ZSTD)               zstd                1.26      37 M     72 M
 *     CODEC(SNAPPY)             snappy              2.28      74 M    154 M
 *     lz4                       lz4                 2.97      71 M    225 M
 *   str request lines (~33 B)   zstd                8.62     8.0 M     37 M
 *     SNAPPY / GZIP / BZIP      snappy/gzip/bzip2   13.8 / 7.6 / 5.2
 *     lz4 / NULL                lz4/plain           13.6 / 33.3
 * The numeric decoders before the width-specialised unpackers and the vectorised decimal
 * conversion, same machine and runs (the string rows are older): ts jitter 820 M, TSBS decimal walk
 * 440 M, f64 constant 740 M, i64 counter 860 M, gauge walk 895 M (decode). Decimal decoding is
 * bound by the divider (about 2 cycles a value even vectorised): the division stays, for bit-exact
 * results. Pages of 1024 values cost under 1% more space and run about 10% slower. */
#include "../src/codec/codec.c"
#include "../src/codec/num.c"
#include "../src/codec/bool.c"
#ifdef CODEC_BENCH_STR
#include "../src/codec/str.c"
#include "../src/util/hmap.c"
#endif
#include "../src/util/arena.c"
#include "../src/util/buf.c"
#include "../src/util/err.c"
#include "../src/util/mem.c"
#include "../src/util/membudget.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSERIES 16
#define NVALS 8640
#define MIN_SECONDS 0.25

enum btype { B_TS, B_I64, B_F64, B_BOOL, B_STR };

typedef struct bset {
    const char *name;
    enum btype type;
    int codec;
    void *data; /* NSERIES * NVALS values */
} bset;

static uint64_t bench_rng_state = 0x1234567;

static uint64_t bench_rand(void) {
    uint64_t z = (bench_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double bench_unit(void) {
    return (double)(bench_rand() >> 11) / 9007199254740992.0;
}
static double bench_normal(void) {
    double u = bench_unit(), v = bench_unit();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* meta/catalog.c is not part of this program, so the few names needed are spelled here. */
static const char *bench_codec_name(int c) {
    switch (c) {
    case CODEC_USE_DEFAULT:
        return "DEFAULT";
    case CODEC_USE_PLAIN:
        return "NULL";
    case CODEC_USE_GORILLA:
        return "GORILLA";
    case CODEC_USE_ZSTD:
        return "ZSTD";
    case CODEC_USE_SNAPPY:
        return "SNAPPY";
    case CODEC_USE_GZIP:
        return "GZIP";
    case CODEC_USE_BZIP:
        return "BZIP";
    case CODEC_USE_LZ4:
        return "(lz4)";
    default:
        return "?";
    }
}

static size_t bsize(enum btype t) {
    return t == B_BOOL ? sizeof(bool) : t == B_STR ? sizeof(strv) : 8;
}

static int benc(enum btype t, const void *v, uint32_t n, int codec, buf *out) {
    switch (t) {
    case B_TS:
        return codec_encode_ts(v, n, codec, out, NULL);
    case B_I64:
        return codec_encode_i64(v, n, codec, out, NULL);
    case B_F64:
        return codec_encode_f64(v, n, codec, out, NULL);
    case B_BOOL:
        return codec_encode_bool(v, n, codec, out, NULL);
#ifdef CODEC_BENCH_STR
    case B_STR:
        return codec_encode_str(v, n, codec, out, NULL);
#endif
    default:
        return -1;
    }
}

static int bdec(enum btype t, const void *in, size_t len, uint32_t n, void *out, arena *a, err *e) {
    switch (t) {
    case B_TS:
        return codec_decode_ts(in, len, n, out, e);
    case B_I64:
        return codec_decode_i64(in, len, n, out, e);
    case B_F64:
        return codec_decode_f64(in, len, n, out, e);
    case B_BOOL:
        return codec_decode_bool(in, len, n, out, e);
#ifdef CODEC_BENCH_STR
    case B_STR:
        return codec_decode_str(in, len, n, a, out, e);
#endif
    default:
        return -1;
    }
}

/* Values 0..hi-1 of a numeric page. */
static int bdec_range(enum btype t, const void *in, size_t len, uint32_t n, uint32_t hi, void *out,
                      err *e) {
    switch (t) {
    case B_TS:
        return codec_decode_ts_range(in, len, n, 0, hi, out, e);
    case B_I64:
        return codec_decode_i64_range(in, len, n, 0, hi, out, e);
    default:
        return codec_decode_f64_range(in, len, n, 0, hi, out, e);
    }
}

static bool bsame(enum btype t, const void *a, const void *b, size_t n) {
    if (t != B_STR) return memcmp(a, b, n * bsize(t)) == 0;
    const strv *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i].len != y[i].len || (x[i].len && memcmp(x[i].p, y[i].p, x[i].len))) return false;
    return true;
}

static void run(const bset *s, uint32_t page) {
    size_t sz = bsize(s->type), total = (size_t)NSERIES * NVALS;
    uint32_t npages_per = (NVALS + page - 1) / page;
    size_t npages = (size_t)NSERIES * npages_per;
    size_t *off = malloc((npages + 1) * sizeof *off);
    uint32_t *cnt = malloc(npages * sizeof *cnt);
    size_t *src = malloc(npages * sizeof *src);
    buf enc;
    buf_init(&enc);

    /* Encode: repeated until the time is measurable. */
    double t0 = now_sec(), t1;
    size_t reps = 0;
    do {
        buf_reset(&enc);
        size_t p = 0;
        for (size_t ser = 0; ser < NSERIES; ser++)
            for (uint32_t k = 0; k < npages_per; k++, p++) {
                uint32_t from = k * page, n = NVALS - from < page ? NVALS - from : page;
                src[p] = ser * NVALS + from;
                cnt[p] = n;
                off[p] = enc.len;
                benc(s->type, (const char *)s->data + src[p] * sz, n, s->codec, &enc);
            }
        off[p] = enc.len;
        reps++;
        t1 = now_sec();
    } while (t1 - t0 < MIN_SECONDS);
    double enc_rate = (double)total * (double)reps / (t1 - t0) / 1e6;

    /* Which encodings the pages use. */
    char kinds[64] = "";
    for (size_t p = 0; p < npages; p++) {
        const char *k = codec_block_name((unsigned char)enc.p[off[p]]);
        if (!strstr(kinds, k) && strlen(kinds) + strlen(k) + 2 < sizeof kinds) {
            if (kinds[0]) strcat(kinds, "+");
            strcat(kinds, k);
        }
    }

    /* Decode once to check, then repeatedly for speed (and the sum scan for doubles). */
    void *out = malloc((size_t)page * sz);
    arena *a = arena_new(0);
    err e;
    for (size_t p = 0; p < npages; p++) {
        if (bdec(s->type, enc.p + off[p], off[p + 1] - off[p], cnt[p], out, a, &e) < 0) {
            fprintf(stderr, "%s: decode failed: %s\n", s->name, e.msg);
            exit(1);
        }
        if (!bsame(s->type, (const char *)s->data + src[p] * sz, out, cnt[p])) {
            fprintf(stderr, "%s: round trip mismatch\n", s->name);
            exit(1);
        }
        arena_reset(a);
    }
    reps = 0;
    t0 = now_sec();
    do {
        for (size_t p = 0; p < npages; p++) {
            bdec(s->type, enc.p + off[p], off[p + 1] - off[p], cnt[p], out, a, &e);
            if (s->type == B_STR) arena_reset(a);
        }
        reps++;
        t1 = now_sec();
    } while (t1 - t0 < MIN_SECONDS);
    double dec_rate = (double)total * (double)reps / (t1 - t0) / 1e6;

    /* A scan of the first eighth of every page (a short time range at a page's start): the
     * values kept per second, through the range decoders. */
    char part[32] = "";
    if (s->type == B_TS || s->type == B_I64 || s->type == B_F64) {
        size_t kept = 0;
        reps = 0;
        t0 = now_sec();
        do {
            kept = 0;
            for (size_t p = 0; p < npages; p++) {
                uint32_t hi = cnt[p] / 8 ? cnt[p] / 8 : 1;
                bdec_range(s->type, enc.p + off[p], off[p + 1] - off[p], cnt[p], hi, out, &e);
                kept += hi;
            }
            reps++;
            t1 = now_sec();
        } while (t1 - t0 < MIN_SECONDS);
        snprintf(part, sizeof part, "%9.1f", (double)kept * (double)reps / (t1 - t0) / 1e6);
    }

    char scan[32] = "";
    if (s->type == B_F64) {
        volatile double sink = 0;
        reps = 0;
        t0 = now_sec();
        do {
            double sum = 0;
            for (size_t p = 0; p < npages; p++) {
                bdec(s->type, enc.p + off[p], off[p + 1] - off[p], cnt[p], out, a, &e);
                const double *d = out;
                for (uint32_t i = 0; i < cnt[p]; i++) sum += d[i];
            }
            sink += sum;
            reps++;
            t1 = now_sec();
        } while (t1 - t0 < MIN_SECONDS);
        snprintf(scan, sizeof scan, "%8.0f", (double)total * (double)reps / (t1 - t0) / 1e6);
    }
    printf("%-34s %-7s %-16s %7.3f %8.1f %9.1f %9s %9s\n", s->name, bench_codec_name(s->codec),
           kinds, (double)enc.len / (double)total, enc_rate, dec_rate, part, scan);
    arena_free(a);
    free(out);
    buf_free(&enc);
    free(off);
    free(cnt);
    free(src);
}

/* ---- data sets ---------------------------------------------------------------------------- */

static void *alloc_vals(size_t sz) {
    return xmalloc((size_t)NSERIES * NVALS * sz);
}

static double *walk2(void) {
    double *v = alloc_vals(8);
    for (size_t s = 0; s < NSERIES; s++) {
        double x = 100 * bench_unit();
        for (size_t i = 0; i < NVALS; i++) {
            char txt[32];
            snprintf(txt, sizeof txt, "%.2f", x);
            v[s * NVALS + i] = strtod(txt, NULL);
            x += bench_normal();
            x = x < 0 ? 0 : x > 100 ? 100 : x;
        }
    }
    return v;
}

static double *walk_full(bool printed15) {
    double *v = alloc_vals(8);
    for (size_t s = 0; s < NSERIES; s++) {
        double x = 100 * bench_unit();
        for (size_t i = 0; i < NVALS; i++) {
            double y = x;
            if (printed15) {
                char txt[32];
                snprintf(txt, sizeof txt, "%.15g", x);
                y = strtod(txt, NULL);
            }
            v[s * NVALS + i] = y;
            x += bench_normal();
        }
    }
    return v;
}

static double *fconst(void) {
    double *v = alloc_vals(8);
    for (size_t i = 0; i < (size_t)NSERIES * NVALS; i++) v[i] = 42.5;
    return v;
}

static int64_t *ts_regular(bool jitter) {
    int64_t *v = alloc_vals(8);
    for (size_t s = 0; s < NSERIES; s++) {
        int64_t t = 1700000000000000000;
        for (size_t i = 0; i < NVALS; i++) {
            /* jitter: each sample lands up to 50 ms after its 10 s slot */
            v[s * NVALS + i] = t + (jitter ? (int64_t)(bench_rand() % 50000000) : 0);
            t += 10000000000;
        }
    }
    return v;
}

static int64_t *ints(int shape) {
    int64_t *v = alloc_vals(8);
    for (size_t s = 0; s < NSERIES; s++) {
        int64_t x = (int64_t)(bench_rand() % 1000000);
        for (size_t i = 0; i < NVALS; i++) {
            switch (shape) {
            case 0:
                x += (int64_t)(bench_rand() % 1000);
                break; /* counter */
            case 1:
                x = (int64_t)bench_rand();
                break; /* random 64-bit */
            case 2:
                x += (int64_t)(bench_rand() % 201) - 100;
                break; /* gauge walk */
            default:
                x = 7;
                break; /* constant */
            }
            v[s * NVALS + i] = x;
        }
    }
    return v;
}

static bool *bools(bool random) {
    bool *v = alloc_vals(sizeof(bool));
    for (size_t i = 0; i < (size_t)NSERIES * NVALS; i++)
        v[i] = random ? bench_rand() & 1 : (i / 1000) & 1;
    return v;
}

#ifdef CODEC_BENCH_STR
static strv *strs(bool tags) {
    static const char *const tagv[] = {"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1",
                                       "sa-east-1"};
    static const char *const verbs[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *const paths[] = {"/api/v1/items", "/api/v1/users", "/health",
                                        "/api/v2/orders"};
    strv *v = alloc_vals(sizeof(strv));
    for (size_t i = 0; i < (size_t)NSERIES * NVALS; i++) {
        char tmp[128];
        int n;
        if (tags)
            n = snprintf(tmp, sizeof tmp, "%s", tagv[bench_rand() % 5]);
        else
            n = snprintf(tmp, sizeof tmp, "%s %s/%u %u %ums", verbs[bench_rand() % 4],
                         paths[bench_rand() % 4], (unsigned)(bench_rand() % 100000),
                         bench_rand() % 10 ? 200u : 500u, (unsigned)(bench_rand() % 300));
        v[i] = (strv){xstrndup(tmp, (size_t)n), (uint32_t)n};
    }
    return v;
}
#endif

int main(int argc, char **argv) {
    uint32_t page = argc > 1 ? (uint32_t)atoi(argv[1]) : 4096;
    if (page == 0) page = 4096;
    bset sets[] = {
        {"ts regular 10s", B_TS, CODEC_USE_DEFAULT, ts_regular(false)},
        {"ts 10s + 0-50ms jitter", B_TS, CODEC_USE_DEFAULT, ts_regular(true)},
        {"f64 TSBS walk, 2 decimals", B_F64, CODEC_USE_DEFAULT, walk2()},
        {"f64 TSBS walk, 2 decimals", B_F64, CODEC_USE_GORILLA, NULL},
        {"f64 walk, 15 digits (58.13171323049)", B_F64, CODEC_USE_DEFAULT, walk_full(true)},
        {"f64 walk, full precision", B_F64, CODEC_USE_DEFAULT, walk_full(false)},
        {"f64 constant", B_F64, CODEC_USE_DEFAULT, fconst()},
        {"i64 counter (+0..999)", B_I64, CODEC_USE_DEFAULT, ints(0)},
        {"i64 random 64-bit", B_I64, CODEC_USE_DEFAULT, ints(1)},
        {"i64 gauge walk (+-100)", B_I64, CODEC_USE_DEFAULT, ints(2)},
        {"i64 constant", B_I64, CODEC_USE_DEFAULT, ints(3)},
        {"bool random", B_BOOL, CODEC_USE_DEFAULT, bools(true)},
        {"bool runs of 1000", B_BOOL, CODEC_USE_DEFAULT, bools(false)},
#ifdef CODEC_BENCH_STR
        {"str tag-like (5 values)", B_STR, CODEC_USE_DEFAULT, strs(true)},
        {"str tag-like (5 values)", B_STR, CODEC_USE_ZSTD, NULL},
        {"str tag-like (5 values)", B_STR, CODEC_USE_SNAPPY, NULL},
        {"str tag-like (5 values)", B_STR, CODEC_USE_LZ4, NULL},
        {"str request lines", B_STR, CODEC_USE_DEFAULT, strs(false)},
        {"str request lines", B_STR, CODEC_USE_SNAPPY, NULL},
        {"str request lines", B_STR, CODEC_USE_GZIP, NULL},
        {"str request lines", B_STR, CODEC_USE_BZIP, NULL},
        {"str request lines", B_STR, CODEC_USE_LZ4, NULL},
        {"str request lines", B_STR, CODEC_USE_PLAIN, NULL},
#endif
    };
    size_t nsets = sizeof sets / sizeof sets[0];
    /* A set without data reuses the previous one's with another codec. */
    for (size_t i = 1; i < nsets; i++)
        if (!sets[i].data) sets[i].data = sets[i - 1].data;
    printf("codec_bench: %d series x %d values, pages of %u values, one core\n", NSERIES, NVALS,
           page);
    printf("%-34s %-7s %-16s %7s %8s %9s %9s %9s\n", "data", "codec", "blocks", "B/value",
           "enc M/s", "dec M/s", "1/8 M/s", "sum M/s");
    for (size_t i = 0; i < nsets; i++) run(&sets[i], page);
    for (size_t i = 0; i < nsets; i++) {
        if (i + 1 < nsets && sets[i + 1].data == sets[i].data) continue;
#ifdef CODEC_BENCH_STR
        if (sets[i].type == B_STR) {
            strv *sv = sets[i].data;
            for (size_t k = 0; k < (size_t)NSERIES * NVALS; k++) free((void *)sv[k].p);
        }
#endif
        free(sets[i].data);
    }
    return 0;
}
