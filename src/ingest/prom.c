/* Prometheus' remote storage bodies: snappy blocks and the protobuf messages in them (see
 * prom.h). protobuf-c decodes into the caller's arena through an allocator of ours, so a
 * decoded request is freed with the arena and its strings are what the points point into. */
#include "ingest/prom.h"

#include "ingest/prom.pb-c.h"
#include "util/utf8.h"

#include <snappy-c.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ snappy blocks */

int prom_unsnappy(arena *a, const char *in, size_t n, uint64_t limit, char **out, size_t *out_len,
                  err *e) {
    size_t len;
    if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK)
        return err_set(e, 422, EC_PROM_SNAPPY,
                       "snappy decode error: the body is not a snappy block (Prometheus' "
                       "remote storage sends the block format)");
    if (limit && len > limit)
        return err_set(e, 413, EC_GENERIC,
                       "Payload Too Large: the body uncompresses to %zu bytes, over the limit "
                       "of %llu",
                       len, (unsigned long long)limit);
    char *p = arena_alloc(a, len + 1);
    size_t got = len;
    if (snappy_uncompress(in, n, p, &got) != SNAPPY_OK || got != len)
        return err_set(e, 422, EC_PROM_SNAPPY, "snappy decode error: corrupt snappy block");
    p[len] = 0;
    *out = p;
    *out_len = len;
    return 0;
}

void prom_snappy(const char *in, size_t n, buf *out) {
    size_t cap = snappy_max_compressed_length(n);
    buf_reset(out);
    buf_grow(out, cap);
    size_t got = cap;
    /* only fails for an output shorter than snappy_max_compressed_length */
    snappy_compress(in, n, out->p, &got);
    out->len = got;
}

/* ------------------------------------------------------------------ protobuf in the arena */

static void *pb_alloc(void *ctx, size_t n) {
    return arena_alloc(ctx, n ? n : 1);
}

static void pb_free(void *ctx, void *p) {
    (void)ctx;
    (void)p; /* freed with the arena */
}

static ProtobufCAllocator pb_allocator(arena *a) {
    return (ProtobufCAllocator){pb_alloc, pb_free, a};
}

static int bad_proto(err *e, const char *what) {
    return err_set(e, 422, EC_PROM_PROTO,
                   "protobuf decode error: the body is not a Prometheus %s (malformed or "
                   "truncated message)",
                   what);
}

static strv sv(const char *s) {
    return (strv){s ? s : "", s ? (uint32_t)strlen(s) : 0};
}

/* ------------------------------------------------------------------ writes */

struct prom_write {
    Prompb__WriteRequest *req;
    size_t ts, sample; /* next time series, and next sample of it */
    size_t samples;
};

int prom_write_decode(arena *a, const char *msg, size_t len, prom_write **out, err *e) {
    ProtobufCAllocator al = pb_allocator(a);
    Prompb__WriteRequest *req =
        prompb__write_request__unpack(&al, len, (const uint8_t *)(msg ? msg : ""));
    if (!req) return bad_proto(e, "WriteRequest");
    prom_write *w = arena_calloc(a, sizeof *w);
    w->req = req;
    for (size_t i = 0; i < req->n_timeseries; i++) w->samples += req->timeseries[i]->n_samples;
    *out = w;
    return 0;
}

size_t prom_write_samples(const prom_write *w) {
    return w->samples;
}

/* The point of a time series' first sample: table and sorted tags, which the series' other
 * samples share. */
static int series_point(const Prompb__TimeSeries *ts, uint32_t line, arena *a, point *p, err *e) {
    p->table = sv(PROM_NO_METRIC);
    p->tags = arena_alloc(a, (ts->n_labels ? ts->n_labels : 1) * sizeof *p->tags);
    p->ntags = 0;
    for (size_t i = 0; i < ts->n_labels; i++) {
        strv k = sv(ts->labels[i]->name), v = sv(ts->labels[i]->value);
        if (!v.len) continue; /* an empty value is no label */
        if (!k.len)
            return err_set(e, 422, EC_PROM_PROTO, "time series %u: a label without a name", line);
        /* protobuf-c (1.4) does not check that strings are UTF-8; names and tags must be */
        if (!utf8_valid(k.p, k.len, NULL) || !utf8_valid(v.p, v.len, NULL))
            return err_set(e, 422, EC_UTF8, "time series %u: a label that is not UTF-8", line);
        /* the table's own columns: CnosDB refuses a tag by either name too */
        if ((k.len == 4 && !memcmp(k.p, "time", 4)) || (k.len == 5 && !memcmp(k.p, "value", 5)))
            return err_set(e, 422, EC_WRITE,
                           "time series %u: label '%.*s' cannot be stored: it is the name of the "
                           "table's %s column",
                           line, (int)k.len, k.p, k.len == 4 ? "time" : "value");
        if (k.len == 8 && !memcmp(k.p, "__name__", 8)) p->table = v;
        p->tags[p->ntags++] = (pt_tag){k, v};
    }
    p->nfields = 1;
    p->fields = arena_calloc(a, sizeof *p->fields);
    p->fields[0].key = sv("value");
    p->fields[0].type = VT_F64;
    p->has_ts = true;
    p->line = line;
    uint32_t dup = point_normalize(p);
    if (dup) {
        char show[96];
        utf8_show(show, sizeof show, p->tags[dup - 1].key.p, p->tags[dup - 1].key.len);
        return err_set(e, 422, EC_PROM_PROTO, "time series %u: label '%s' given twice", line, show);
    }
    return 0;
}

int prom_write_next(prom_write *w, arena *a, point_batch *out, size_t max, err *e) {
    const Prompb__WriteRequest *req = w->req;
    size_t added = 0;
    while (w->ts < req->n_timeseries && added < max) {
        const Prompb__TimeSeries *ts = req->timeseries[w->ts];
        if (w->sample >= ts->n_samples) {
            w->ts++;
            w->sample = 0;
            continue;
        }
        point first;
        memset(&first, 0, sizeof first);
        if (series_point(ts, (uint32_t)(w->ts + 1), a, &first, e) < 0) return -1;
        for (; w->sample < ts->n_samples && added < max; w->sample++, added++) {
            const Prompb__Sample *s = ts->samples[w->sample];
            point *p = point_batch_push(a, out);
            *p = first;
            p->fields = arena_alloc(a, sizeof *p->fields);
            p->fields[0] = first.fields[0];
            p->fields[0].v.f = s->value;
            p->ts = s->timestamp;
        }
    }
    while (w->ts < req->n_timeseries && w->sample >= req->timeseries[w->ts]->n_samples) {
        w->ts++;
        w->sample = 0;
    }
    return w->ts < req->n_timeseries ? 1 : 0;
}

/* ------------------------------------------------------------------ reads */

int prom_read_decode(arena *a, const char *msg, size_t len, prom_read_req *out, err *e) {
    ProtobufCAllocator al = pb_allocator(a);
    Prompb__ReadRequest *req =
        prompb__read_request__unpack(&al, len, (const uint8_t *)(msg ? msg : ""));
    if (!req) return bad_proto(e, "ReadRequest");
    /* the first type listed that Strata answers with; none listed = SAMPLES */
    bool known = req->n_accepted_response_types == 0;
    out->chunked = false;
    for (size_t i = 0; !known && i < req->n_accepted_response_types; i++) {
        int t = req->accepted_response_types[i];
        known = t == PROMPB__READ_REQUEST__RESPONSE_TYPE__SAMPLES ||
                t == PROMPB__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
        out->chunked = t == PROMPB__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
    }
    if (!known)
        return err_set(e, 400, EC_GENERIC,
                       "remote read: none of the accepted response types is one Strata answers "
                       "with (SAMPLES, STREAMED_XOR_CHUNKS)");
    out->nq = (uint32_t)req->n_queries;
    out->q = arena_calloc(a, (out->nq ? out->nq : 1) * sizeof *out->q);
    for (uint32_t i = 0; i < out->nq; i++) {
        const Prompb__Query *q = req->queries[i];
        prom_query *pq = &out->q[i];
        pq->start_ms = q->start_timestamp_ms;
        pq->end_ms = q->end_timestamp_ms;
        pq->nm = (uint32_t)q->n_matchers;
        pq->m = arena_calloc(a, (pq->nm ? pq->nm : 1) * sizeof *pq->m);
        for (uint32_t j = 0; j < pq->nm; j++) {
            const Prompb__LabelMatcher *m = q->matchers[j];
            if ((unsigned)m->type > PROM_NRE)
                return err_set(e, 400, EC_GENERIC,
                               "remote read: query %u, matcher %u has unknown type %d", i + 1,
                               j + 1, (int)m->type);
            pq->m[j] = (prom_matcher){(uint8_t)m->type, sv(m->name), sv(m->value)};
        }
    }
    return 0;
}

/* A string of ours as protobuf-c wants it (NUL-terminated, arena copy). */
static char *pb_str(arena *a, strv s) {
    return arena_strndup(a, s.p ? s.p : "", s.len);
}

/* The labels of a series as protobuf-c wants them, in the arena. */
static Prompb__Label **pb_labels(arena *a, const prom_series *s) {
    Prompb__Label **out = arena_alloc(a, (s->nlabels ? s->nlabels : 1) * sizeof *out);
    Prompb__Label *ls = arena_alloc(a, (s->nlabels ? s->nlabels : 1) * sizeof *ls);
    for (uint32_t k = 0; k < s->nlabels; k++) {
        prompb__label__init(&ls[k]);
        ls[k].name = pb_str(a, s->labels[k].name);
        ls[k].value = pb_str(a, s->labels[k].value);
        out[k] = &ls[k];
    }
    return out;
}

void prom_read_encode(arena *a, const prom_result *res, size_t n, buf *out) {
    Prompb__ReadResponse resp = PROMPB__READ_RESPONSE__INIT;
    resp.n_results = n;
    resp.results = arena_alloc(a, (n ? n : 1) * sizeof *resp.results);
    for (size_t i = 0; i < n; i++) {
        Prompb__QueryResult *qr = arena_alloc(a, sizeof *qr);
        prompb__query_result__init(qr);
        qr->n_timeseries = res[i].n;
        qr->timeseries = arena_alloc(a, (res[i].n ? res[i].n : 1) * sizeof *qr->timeseries);
        for (size_t j = 0; j < res[i].n; j++) {
            const prom_series *s = &res[i].s[j];
            Prompb__TimeSeries *ts = arena_alloc(a, sizeof *ts);
            prompb__time_series__init(ts);
            ts->n_labels = s->nlabels;
            ts->labels = pb_labels(a, s);
            ts->n_samples = s->n;
            ts->samples = arena_alloc(a, (s->n ? s->n : 1) * sizeof *ts->samples);
            Prompb__Sample *ss = arena_alloc(a, (s->n ? s->n : 1) * sizeof *ss);
            for (size_t k = 0; k < s->n; k++) {
                prompb__sample__init(&ss[k]);
                ss[k].value = s->samples[k].v;
                ss[k].timestamp = s->samples[k].ts_ms;
                ts->samples[k] = &ss[k];
            }
            qr->timeseries[j] = ts;
        }
        resp.results[i] = qr;
    }
    size_t len = prompb__read_response__get_packed_size(&resp);
    buf_reset(out);
    buf_grow(out, len + 1);
    out->len = prompb__read_response__pack(&resp, (uint8_t *)out->p);
}

/* ------------------------------------------------------------------ XOR chunks */

/* Bits written most significant first, exactly as Prometheus' bstream writes them, down to
 * its bookkeeping: whole bytes go through byte writes, which always leave a fresh last byte
 * behind them, so a chunk whose last write was an aligned byte ends in a zero byte, which
 * Prometheus sends too. */
struct bitw {
    buf *b;
    unsigned free; /* unused low bits of the last byte */
};

static void put_bit(struct bitw *w, unsigned bit) {
    if (!w->free) {
        buf_putc(w->b, 0);
        w->free = 8;
    }
    if (bit) w->b->p[w->b->len - 1] |= (char)(1u << (w->free - 1));
    w->free--;
}

static void put_byte(struct bitw *w, unsigned byte) {
    if (!w->free) {
        buf_putc(w->b, 0);
        w->free = 8;
    }
    w->b->p[w->b->len - 1] |= (char)(byte >> (8 - w->free));
    buf_putc(w->b, (char)((byte << w->free) & 0xff));
}

/* The low n bits of v (1 <= n <= 64). */
static void put_bits(struct bitw *w, uint64_t v, unsigned n) {
    v <<= 64 - n;
    for (; n >= 8; n -= 8, v <<= 8) put_byte(w, (unsigned)(v >> 56));
    for (; n; n--, v <<= 1) put_bit(w, (unsigned)(v >> 63));
}

static void put_uvarint_bits(struct bitw *w, uint64_t v) {
    for (; v >= 0x80; v >>= 7) put_bits(w, (v & 0x7f) | 0x80, 8);
    put_bits(w, v, 8);
}

/* Whether x fits the nbits-wide bucket of a delta of deltas (Prometheus' bitRange). */
static bool bit_range(int64_t x, unsigned nbits) {
    int64_t half = (int64_t)1 << (nbits - 1);
    return -(half - 1) <= x && x <= half;
}

static uint64_t f64_bits(double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

/* A value after the first: XOR with the previous one, reusing the previous window of
 * meaningful bits when the new one fits inside it. */
static void put_xor(struct bitw *w, uint64_t delta, unsigned *leading, unsigned *trailing) {
    if (!delta) {
        put_bits(w, 0, 1);
        return;
    }
    put_bits(w, 1, 1);
    unsigned lead = (unsigned)__builtin_clzll(delta), trail = (unsigned)__builtin_ctzll(delta);
    if (lead >= 32) lead = 31; /* five bits hold it */
    if (*leading != 0xff && lead >= *leading && trail >= *trailing) {
        put_bits(w, 0, 1);
        put_bits(w, delta >> *trailing, 64 - *leading - *trailing);
        return;
    }
    *leading = lead;
    *trailing = trail;
    put_bits(w, 1, 1);
    put_bits(w, lead, 5);
    unsigned sig = 64 - lead - trail;
    put_bits(w, sig & 63, 6); /* 64 is written as 0 */
    put_bits(w, delta >> trail, sig);
}

void prom_xor_chunk(const prom_sample *s, size_t n, buf *out) {
    buf_putc(out, (char)(n >> 8)); /* the sample count, big-endian */
    buf_putc(out, (char)n);
    struct bitw w = {out, 0};
    unsigned leading = 0xff, trailing = 0;
    uint64_t tdelta = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0) {
            int64_t t = s[0].ts_ms; /* zigzag varint */
            put_uvarint_bits(&w, ((uint64_t)t << 1) ^ (uint64_t)(t >> 63));
            put_bits(&w, f64_bits(s[0].v), 64);
            continue;
        }
        uint64_t d = (uint64_t)s[i].ts_ms - (uint64_t)s[i - 1].ts_ms;
        if (i == 1) {
            put_uvarint_bits(&w, d);
        } else {
            int64_t dod = (int64_t)(d - tdelta);
            if (dod == 0) {
                put_bits(&w, 0, 1);
            } else if (bit_range(dod, 14)) {
                put_bits(&w, 0x2, 2);
                put_bits(&w, (uint64_t)dod, 14);
            } else if (bit_range(dod, 17)) {
                put_bits(&w, 0x6, 3);
                put_bits(&w, (uint64_t)dod, 17);
            } else if (bit_range(dod, 20)) {
                put_bits(&w, 0xe, 4);
                put_bits(&w, (uint64_t)dod, 20);
            } else {
                put_bits(&w, 0xf, 4);
                put_bits(&w, (uint64_t)dod, 64);
            }
        }
        tdelta = d;
        put_xor(&w, f64_bits(s[i].v) ^ f64_bits(s[i - 1].v), &leading, &trailing);
    }
}

void prom_read_encode_chunked(arena *a, const prom_result *res, int64_t qi,
                              void (*emit)(void *ctx, const void *msg, size_t len), void *ctx) {
    buf data, msg;
    buf_init(&data);
    buf_init(&msg);
    for (size_t j = 0; j < res->n; j++) {
        const prom_series *s = &res->s[j];
        Prompb__Label **labels = pb_labels(a, s);
        size_t k = 0;
        while (k < s->n) {
            /* one message: chunks of this series up to PROM_FRAME_BYTES of data */
            size_t maxc = (s->n - k + PROM_CHUNK_SAMPLES - 1) / PROM_CHUNK_SAMPLES;
            Prompb__Chunk **chunks = arena_alloc(a, maxc * sizeof *chunks);
            size_t nc = 0;
            buf_reset(&data);
            size_t *ends = arena_alloc(a, maxc * sizeof *ends);
            while (k < s->n && data.len < PROM_FRAME_BYTES) {
                size_t m = s->n - k < PROM_CHUNK_SAMPLES ? s->n - k : PROM_CHUNK_SAMPLES;
                Prompb__Chunk *c = arena_alloc(a, sizeof *c);
                prompb__chunk__init(c);
                c->min_time_ms = s->samples[k].ts_ms;
                c->max_time_ms = s->samples[k + m - 1].ts_ms;
                c->type = PROMPB__CHUNK__ENCODING__XOR;
                prom_xor_chunk(s->samples + k, m, &data);
                ends[nc] = data.len;
                chunks[nc++] = c;
                k += m;
            }
            for (size_t c = 0; c < nc; c++) { /* data is final now: point into it */
                size_t from = c ? ends[c - 1] : 0;
                chunks[c]->data.data = (uint8_t *)data.p + from;
                chunks[c]->data.len = ends[c] - from;
            }
            Prompb__ChunkedSeries cs = PROMPB__CHUNKED_SERIES__INIT;
            cs.n_labels = s->nlabels;
            cs.labels = labels;
            cs.n_chunks = nc;
            cs.chunks = chunks;
            Prompb__ChunkedSeries *csp = &cs;
            Prompb__ChunkedReadResponse r = PROMPB__CHUNKED_READ_RESPONSE__INIT;
            r.n_chunked_series = 1;
            r.chunked_series = &csp;
            r.query_index = qi;
            buf_reset(&msg);
            buf_grow(&msg, prompb__chunked_read_response__get_packed_size(&r) + 1);
            msg.len = prompb__chunked_read_response__pack(&r, (uint8_t *)msg.p);
            emit(ctx, msg.p, msg.len);
        }
    }
    buf_free(&data);
    buf_free(&msg);
}
