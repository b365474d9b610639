/* Unit tests for Prometheus' remote storage bodies (ingest/prom.c): snappy blocks, WriteRequest
 * to points, ReadRequest to queries, answers to a ReadResponse, and malformed input of each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/prom.h"
#include "ingest/prom.pb-c.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- a protobuf writer, by hand, so the tests do not trust the code they test ---- */

static void pb_varint(buf *b, uint64_t v) {
    buf_put_uvarint(b, v);
}

static void pb_key(buf *b, unsigned field, unsigned wire) {
    pb_varint(b, (uint64_t)field << 3 | wire);
}

static void pb_bytes(buf *b, unsigned field, const void *p, size_t n) {
    pb_key(b, field, 2);
    pb_varint(b, n);
    buf_append(b, p, n);
}

static void pb_str(buf *b, unsigned field, const char *s) {
    pb_bytes(b, field, s, strlen(s));
}

static void pb_double(buf *b, unsigned field, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    pb_key(b, field, 1);
    buf_put_u64le(b, u);
}

static void pb_int(buf *b, unsigned field, int64_t v) {
    pb_key(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

/* A sub-message: field `field` holding what msg holds (msg is reset). */
static void pb_msg(buf *b, unsigned field, buf *msg) {
    pb_bytes(b, field, msg->p, msg->len);
    buf_reset(msg);
}

/* A TimeSeries of labels "k=v" (NULL-terminated) and samples (ts, v) appended to a request. */
static void add_series(buf *req, const char *const *labels, size_t n, const int64_t *ts,
                       const double *v) {
    buf ser, l;
    buf_init(&ser);
    buf_init(&l);
    for (size_t i = 0; labels[i]; i++) {
        const char *eq = strchr(labels[i], '=');
        pb_bytes(&l, 1, labels[i], (size_t)(eq - labels[i]));
        pb_str(&l, 2, eq + 1);
        pb_msg(&ser, 1, &l);
    }
    for (size_t i = 0; i < n; i++) {
        pb_double(&l, 1, v[i]);
        pb_int(&l, 2, ts[i]);
        pb_msg(&ser, 2, &l);
    }
    pb_msg(req, 1, &ser);
    buf_free(&l);
    buf_free(&ser);
}

static void assert_sv(strv s, const char *want) {
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.p, want);
}

static prom_write *decode_ok(arena *a, const buf *req) {
    err e;
    err_clear(&e);
    prom_write *w;
    if (prom_write_decode(a, req->p, req->len, &w, &e) < 0)
        fail_msg("decode: [%s] %s", e.code, e.msg);
    return w;
}

/* ---- snappy ---- */

static void test_snappy_round_trip_and_limit(void **st) {
    (void)st;
    arena *a = arena_new(0);
    err e;
    buf z;
    buf_init(&z);
    const char text[] = "remote write remote write remote write";
    prom_snappy(text, sizeof text - 1, &z);
    char *out;
    size_t n;
    assert_int_equal(prom_unsnappy(a, z.p, z.len, 0, &out, &n, &e), 0);
    assert_int_equal(n, sizeof text - 1);
    assert_memory_equal(out, text, n);
    /* the announced length is checked before anything is allocated for it */
    assert_int_equal(prom_unsnappy(a, z.p, z.len, 10, &out, &n, &e), -1);
    assert_int_equal(e.http, 413);
    /* not snappy: a block that claims more bytes than it holds, and plain text */
    const char bad[] = "\x20\x00\x01";
    assert_int_equal(prom_unsnappy(a, bad, 3, 0, &out, &n, &e), -1);
    assert_int_equal(e.http, 422);
    assert_string_equal(e.code, EC_PROM_SNAPPY);
    assert_int_equal(prom_unsnappy(a, "", 0, 0, &out, &n, &e), -1);
    assert_string_equal(e.code, EC_PROM_SNAPPY);
    buf_free(&z);
    arena_free(a);
}

/* ---- writes ---- */

static void test_write_points(void **st) {
    (void)st;
    arena *a = arena_new(0);
    buf req;
    buf_init(&req);
    const char *l1[] = {"job=prom", "__name__=up", "instance=a:9090", "empty=", NULL};
    int64_t ts1[] = {1700000000000, 1700000001000};
    double v1[] = {1, 0};
    add_series(&req, l1, 2, ts1, v1);
    const char *l2[] = {"job=x", NULL}; /* no __name__ */
    int64_t ts2[] = {-5};
    double v2[] = {2.5};
    add_series(&req, l2, 1, ts2, v2);
    prom_write *w = decode_ok(a, &req);
    assert_int_equal(prom_write_samples(w), 3);
    point_batch pb = {0};
    err e;
    assert_int_equal(prom_write_next(w, a, &pb, 100, &e), 0);
    assert_int_equal(pb.n, 3);
    const point *p = &pb.pts[0];
    assert_sv(p->table, "up");
    assert_int_equal(p->ntags, 3); /* the empty label is no tag; sorted by name */
    assert_sv(p->tags[0].key, "__name__");
    assert_sv(p->tags[0].val, "up");
    assert_sv(p->tags[1].key, "instance");
    assert_sv(p->tags[2].key, "job");
    assert_int_equal(p->nfields, 1);
    assert_sv(p->fields[0].key, "value");
    assert_int_equal(p->fields[0].type, VT_F64);
    assert_true(p->has_ts);
    assert_int_equal(p->ts, 1700000000000);
    assert_int_equal(pb.pts[1].ts, 1700000001000);
    assert_true(pb.pts[1].fields[0].v.f == 0);
    assert_true(pb.pts[0].fields[0].v.f == 1);
    assert_sv(pb.pts[2].table, PROM_NO_METRIC);
    assert_int_equal(pb.pts[2].ts, -5);
    assert_int_equal(pb.pts[2].line, 2);
    buf_free(&req);
    arena_free(a);
}

static void test_write_slices_and_stale_marker(void **st) {
    (void)st;
    arena *a = arena_new(0);
    buf req;
    buf_init(&req);
    uint64_t stale_bits = PROM_STALE_NAN;
    double stale;
    memcpy(&stale, &stale_bits, 8);
    const char *l[] = {"__name__=m", NULL};
    int64_t ts[] = {1, 2, 3};
    double v[] = {1, stale, 3};
    add_series(&req, l, 3, ts, v);
    add_series(&req, l, 0, NULL, NULL); /* a series without samples adds nothing */
    add_series(&req, l, 1, ts, v);
    prom_write *w = decode_ok(a, &req);
    err e;
    size_t total = 0;
    int rc, calls = 0;
    do {
        point_batch pb = {0};
        rc = prom_write_next(w, a, &pb, 2, &e);
        assert_true(rc >= 0);
        for (size_t i = 0; i < pb.n; i++, total++) {
            if (total == 1) {
                uint64_t bits;
                memcpy(&bits, &pb.pts[i].fields[0].v.f, 8);
                assert_true(bits == PROM_STALE_NAN); /* bit for bit */
            }
            assert_sv(pb.pts[i].table, "m");
        }
        calls++;
    } while (rc > 0);
    assert_int_equal(total, 4);
    assert_int_equal(calls, 2);
    buf_free(&req);
    arena_free(a);
}

static void test_write_malformed(void **st) {
    (void)st;
    arena *a = arena_new(0);
    err e;
    prom_write *w;
    /* a length that runs past the end, an unknown wire type, a truncated varint */
    const char *bad[] = {"\x0a\x05\x0a", "\x0f", "\x0a\xff"};
    for (size_t i = 0; i < 3; i++) {
        err_clear(&e);
        assert_int_equal(prom_write_decode(a, bad[i], strlen(bad[i]), &w, &e), -1);
        assert_int_equal(e.http, 422);
        assert_string_equal(e.code, EC_PROM_PROTO);
    }
    /* a label name that is not UTF-8 */
    buf req, ser, l;
    buf_init(&req);
    buf_init(&ser);
    buf_init(&l);
    pb_str(&l, 1, "\xff\xfe");
    pb_str(&l, 2, "v");
    pb_msg(&ser, 1, &l);
    pb_double(&l, 1, 1);
    pb_msg(&ser, 2, &l);
    pb_msg(&req, 1, &ser);
    w = decode_ok(a, &req);
    point_batch pb = {0};
    assert_int_equal(prom_write_next(w, a, &pb, 100, &e), -1);
    assert_string_equal(e.code, EC_UTF8);
    assert_string_equal(e.msg, "time series 1: a label that is not UTF-8");
    /* a label given twice, and a label without a name: refused with the series' number */
    buf_reset(&req);
    const char *ok[] = {"__name__=m", NULL}, *twice[] = {"a=1", "a=2", NULL},
               *noname[] = {"=v", NULL};
    int64_t ts[] = {1};
    double v[] = {1};
    add_series(&req, ok, 1, ts, v);
    add_series(&req, twice, 1, ts, v);
    w = decode_ok(a, &req);
    memset(&pb, 0, sizeof pb);
    assert_int_equal(prom_write_next(w, a, &pb, 100, &e), -1);
    assert_string_equal(e.code, EC_PROM_PROTO);
    assert_string_equal(e.msg, "time series 2: label 'a' given twice");
    buf_reset(&req);
    add_series(&req, noname, 1, ts, v);
    w = decode_ok(a, &req);
    memset(&pb, 0, sizeof pb);
    assert_int_equal(prom_write_next(w, a, &pb, 100, &e), -1);
    assert_string_equal(e.msg, "time series 1: a label without a name");
    /* an empty message is an empty request */
    w = decode_ok(a, &(buf){0});
    memset(&pb, 0, sizeof pb);
    assert_int_equal(prom_write_next(w, a, &pb, 100, &e), 0);
    assert_int_equal(pb.n, 0);
    buf_free(&req);
    buf_free(&ser);
    buf_free(&l);
    arena_free(a);
}

/* ---- reads ---- */

static void add_query(buf *req, int64_t start, int64_t end, int type, const char *name,
                      const char *val) {
    buf q, m;
    buf_init(&q);
    buf_init(&m);
    pb_int(&q, 1, start);
    pb_int(&q, 2, end);
    if (name) {
        pb_int(&m, 1, type);
        pb_str(&m, 2, name);
        pb_str(&m, 3, val);
        pb_msg(&q, 3, &m);
    }
    pb_msg(req, 1, &q);
    buf_free(&m);
    buf_free(&q);
}

static void test_read_decode(void **st) {
    (void)st;
    arena *a = arena_new(0);
    err e;
    buf req;
    buf_init(&req);
    add_query(&req, 1000, 2000, PROM_RE, "job", "pro.*");
    add_query(&req, -1, 5, PROM_NEQ, "__name__", "");
    prom_read_req r;
    assert_int_equal(prom_read_decode(a, req.p, req.len, &r, &e), 0);
    assert_int_equal(r.nq, 2);
    assert_int_equal(r.q[0].start_ms, 1000);
    assert_int_equal(r.q[0].end_ms, 2000);
    assert_int_equal(r.q[0].nm, 1);
    assert_int_equal(r.q[0].m[0].type, PROM_RE);
    assert_sv(r.q[0].m[0].name, "job");
    assert_sv(r.q[0].m[0].value, "pro.*");
    assert_int_equal(r.q[1].start_ms, -1);
    assert_sv(r.q[1].m[0].value, "");
    /* accepted types: the first one Strata answers with, in the request's order */
    assert_false(r.chunked);
    static const struct {
        char types[2];
        size_t n;
        int chunked; /* -1: refused */
    } acc[] = {{{1, 0}, 2, 1}, {{0, 1}, 2, 0}, {{1}, 1, 1}, {{7, 0}, 2, 0}, {{7}, 1, -1}};
    buf with;
    buf_init(&with);
    for (size_t i = 0; i < sizeof acc / sizeof *acc; i++) {
        buf_reset(&with);
        buf_append(&with, req.p, req.len);
        pb_bytes(&with, 2, acc[i].types, acc[i].n);
        int rc = prom_read_decode(a, with.p, with.len, &r, &e);
        if (acc[i].chunked < 0) {
            assert_int_equal(rc, -1);
            assert_int_equal(e.http, 400);
            assert_non_null(strstr(e.msg, "STREAMED_XOR_CHUNKS"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(r.chunked, acc[i].chunked);
        }
    }
    /* an unknown matcher type, and a message that does not decode */
    buf_reset(&req);
    add_query(&req, 0, 1, 7, "a", "b");
    assert_int_equal(prom_read_decode(a, req.p, req.len, &r, &e), -1);
    assert_int_equal(e.http, 400);
    assert_int_equal(prom_read_decode(a, "\x0a\x09", 2, &r, &e), -1);
    assert_string_equal(e.code, EC_PROM_PROTO);
    buf_free(&with);
    buf_free(&req);
    arena_free(a);
}

static void test_read_encode(void **st) {
    (void)st;
    arena *a = arena_new(0);
    prom_label l[] = {{{"__name__", 8}, {"up", 2}}, {{"job", 3}, {"prom", 4}}};
    prom_sample s[] = {{1000, 1.5}, {2000, -2}};
    prom_series ser = {l, 2, 2, s};
    prom_result res[] = {{&ser, 1}, {NULL, 0}};
    buf out;
    buf_init(&out);
    prom_read_encode(a, res, 2, &out);
    Prompb__ReadResponse *r = prompb__read_response__unpack(NULL, out.len, (uint8_t *)out.p);
    assert_non_null(r);
    assert_int_equal(r->n_results, 2);
    assert_int_equal(r->results[0]->n_timeseries, 1);
    assert_int_equal(r->results[1]->n_timeseries, 0);
    const Prompb__TimeSeries *ts = r->results[0]->timeseries[0];
    assert_int_equal(ts->n_labels, 2);
    assert_string_equal(ts->labels[1]->name, "job");
    assert_string_equal(ts->labels[1]->value, "prom");
    assert_int_equal(ts->n_samples, 2);
    assert_int_equal(ts->samples[1]->timestamp, 2000);
    assert_true(ts->samples[1]->value == -2);
    prompb__read_response__free_unpacked(r, NULL);
    buf_free(&out);
    arena_free(a);
}

/* Chunks as Prometheus' TSDB writes them; the HTTP tests compare whole answers with a real
 * Prometheus, these pin the corner cases by hand. */
static void test_xor_chunk(void **st) {
    (void)st;
    buf out;
    buf_init(&out);
    /* count, zigzag varint of the first time, its value's 64 bits, uvarint of the first delta,
     * then one bit per unchanged value and delta of deltas */
    prom_sample s[] = {{1000, 1.0}, {2000, 1.0}, {3000, 1.0}};
    prom_xor_chunk(s, 3, &out);
    const unsigned char want[] = {0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0,   0,
                                  0,    0,    0,    0,    0xe8, 0x07, 0x00};
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.p, want, sizeof want);
    /* a negative first time; a value that changes: 1 (changed), 1 (new window), 5 bits of
     * leading zeros (2), 6 bits of significant bits (1), the bit itself; 2.0 ^ 1.0 =
     * 0x7ff0000000000000 has 1 leading and 52 trailing zeros: 11 significant bits */
    buf_reset(&out);
    prom_sample n[] = {{-1, 1.0}, {0, 2.0}};
    prom_xor_chunk(n, 2, &out);
    const unsigned char want2[] = {0x00, 0x02, 0x01, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x01,
                                   /* 1 1 00001 001011 11111111111 */
                                   0xc2, 0x5f, 0xff};
    assert_int_equal(out.len, sizeof want2);
    assert_memory_equal(out.p, want2, sizeof want2);
    /* a chunk whose last write is a whole aligned byte ends in a fresh zero byte, as
     * Prometheus' bit stream leaves it (and sends it) */
    buf_reset(&out);
    prom_sample one[] = {{0, 0.0}};
    prom_xor_chunk(one, 1, &out);
    const unsigned char want3[] = {0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
    assert_int_equal(out.len, sizeof want3);
    assert_memory_equal(out.p, want3, sizeof want3);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snappy_round_trip_and_limit),
        cmocka_unit_test(test_write_points),
        cmocka_unit_test(test_write_slices_and_stale_marker),
        cmocka_unit_test(test_write_malformed),
        cmocka_unit_test(test_read_decode),
        cmocka_unit_test(test_read_encode),
        cmocka_unit_test(test_xor_chunk),
    };
    return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
