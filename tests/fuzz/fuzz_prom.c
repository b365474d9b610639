/* libFuzzer target for Prometheus' remote storage bodies (ingest/prom.c): the input is the
 * uncompressed protobuf, a WriteRequest or (first byte odd) a ReadRequest, and once in a while
 * a snappy block. Besides "no crash, no leak, no out-of-bounds read", every point of an accepted
 * write must have a table, tags strictly sorted by key with non-empty values and no `time` or
 * `value` tag, and one DOUBLE field `value`; every chunk of a read's answer must hold its
 * samples' count.
 *
 *   make -C tests/fuzz fuzz_prom && ./tests/fuzz/fuzz_prom */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int key_cmp(strv a, strv b) {
    uint32_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static void check_point(const point *p) {
    if (p->table.len == 0 || !p->has_ts || p->nfields != 1) abort();
    if (p->fields[0].type != VT_F64 || p->fields[0].key.len != 5) abort();
    for (uint32_t i = 0; i < p->ntags; i++) {
        strv k = p->tags[i].key;
        if (!k.len || !p->tags[i].val.len) abort();
        if ((k.len == 4 && !memcmp(k.p, "time", 4)) || (k.len == 5 && !memcmp(k.p, "value", 5)))
            abort();
        if (i && key_cmp(p->tags[i - 1].key, k) >= 0) abort();
    }
}

static void write_body(arena *a, const char *msg, size_t len) {
    err e;
    prom_write *w;
    if (prom_write_decode(a, msg, len, &w, &e) < 0) return;
    int rc;
    do {
        point_batch pb = {0};
        rc = prom_write_next(w, a, &pb, 7, &e);
        if (rc >= 0)
            for (size_t i = 0; i < pb.n; i++) check_point(&pb.pts[i]);
    } while (rc > 0);
}

static void count_chunk(void *ctx, const void *msg, size_t len) {
    (void)msg;
    *(size_t *)ctx += len;
}

/* A read's queries become an answer of one series per query, its samples taken from the
 * query's own numbers, then both encodings. */
static void read_body(arena *a, const char *msg, size_t len) {
    err e;
    prom_read_req r;
    if (prom_read_decode(a, msg, len, &r, &e) < 0) return;
    prom_result *res = arena_calloc(a, (r.nq ? r.nq : 1) * sizeof *res);
    for (uint32_t i = 0; i < r.nq; i++) {
        prom_series *s = arena_calloc(a, sizeof *s);
        s->n = 1 + (size_t)(r.q[i].nm % 300);
        s->samples = arena_alloc(a, s->n * sizeof *s->samples);
        int64_t t = r.q[i].start_ms;
        for (size_t k = 0; k < s->n; k++) {
            t += (r.q[i].end_ms >> (k % 64)) & 0xffff;
            s->samples[k] = (prom_sample){t, (double)(r.q[i].end_ms ^ (int64_t)k)};
        }
        s->labels = arena_alloc(a, (r.q[i].nm + 1) * sizeof *s->labels);
        for (uint32_t j = 0; j < r.q[i].nm; j++)
            s->labels[j] = (prom_label){r.q[i].m[j].name, r.q[i].m[j].value};
        s->nlabels = r.q[i].nm;
        res[i] = (prom_result){s, 1};
        buf one;
        buf_init(&one);
        prom_xor_chunk(s->samples, s->n < 65535 ? s->n : 65535, &one);
        if (one.len < 2 || (size_t)((unsigned char)one.p[0] << 8 | (unsigned char)one.p[1]) != s->n)
            abort();
        buf_free(&one);
        size_t bytes = 0;
        prom_read_encode_chunked(a, &res[i], i, count_chunk, &bytes);
        if (!bytes) abort();
    }
    buf out;
    buf_init(&out);
    prom_read_encode(a, res, r.nq, &out);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    arena *a = arena_new(0);
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 2) { /* the body as sent: a snappy block */
        char *out;
        size_t n;
        err e;
        if (prom_unsnappy(a, msg, len, 1 << 20, &out, &n, &e) == 0) {
            msg = out;
            len = n;
        }
    }
    if (data[0] & 1)
        read_body(a, msg, len);
    else
        write_body(a, msg, len);
    arena_free(a);
    return 0;
}
