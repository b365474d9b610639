/* Prometheus' remote storage routes: POST /api/v1/prom/write and /api/v1/prom/read (see
 * ingest/prom.h for the mapping, sql/prom_read.h for the read). Both bodies are snappy blocks
 * whatever Content-Encoding says (Prometheus sends `Content-Encoding: snappy` for the block
 * format, which is not the framed format that header means elsewhere), and both are bounded
 * by the route's size limit uncompressed as well as compressed.
 *
 * A write decodes its message into the request arena and hands it to the write path a slice
 * of points at a time, as line protocol does (ingest/write.h: schema, WAL, durability).
 *
 * A read answers SAMPLES as one snappy-compressed ReadResponse, or STREAMED_XOR_CHUNKS (when
 * the request prefers it) as frames of ChunkedReadResponse with their own checksums, not
 * compressed, as Prometheus sends them (Content-Type application/x-streamed-protobuf;
 * proto=prometheus.ChunkedReadResponse). It holds its whole answer, frames included (built
 * whole before the first is sent: the format, not the delivery, is what a chunk-reading
 * client needs), charged to the query memory limit and the server's budget; past either it
 * fails with "Resources exhausted" instead of growing. See http_int.h. */
#include "server/http_int.h"

#include "ingest/prom.h"
#include "ingest/write.h"
#include "sql/prom_read.h"
#include "util/membudget.h"
#include "util/timeutil.h"

/* Points handed to the write path at a time (as http_write.c). */
#define PROM_SLICE 65536
/* Bytes of decoded protobuf (protobuf-c structs in the arena) per byte of message, for the
 * memory budget: a sample is 10-20 bytes on the wire and a 40-byte struct plus its pointer. */
#define PROM_DECODE_FACTOR 4
#define MS_NS 1000000

static struct reply remote_write(server *s, struct req *rq, const char *tenant, const char *db) {
    err e;
    err_clear(&e);
    arena *ra = arena_new(1 << 20);
    char *msg;
    size_t len;
    if (prom_unsnappy(ra, rq->body.p, rq->body.len, rq->limit, &msg, &len, &e) < 0) {
        arena_free(ra);
        return http_fail_for(rq, &e);
    }
    uint64_t cost = (uint64_t)len * (1 + PROM_DECODE_FACTOR);
    if (!membudget_try_reserve(MEMBUDGET_PARSE, cost)) {
        arena_free(ra);
        return reply_busy(cost);
    }
    prom_write *w;
    int rc = prom_write_decode(ra, msg, len, &w, &e);
    ingest_req ir;
    ingest_begin(&ir, ra);
    arena *sa = arena_new(1 << 20);
    while (rc == 0) {
        point_batch pb = {0};
        int more = prom_write_next(w, sa, &pb, PROM_SLICE, &e);
        if (more < 0 || ingest_add(s->cat, tenant, db, MS_NS, &pb, sa, &ir, &e) < 0) rc = -1;
        arena_reset(sa);
        if (more <= 0) break;
    }
    if (rc == 0) rc = ingest_commit(s->eng, &ir, &e);
    arena_free(sa);
    arena_free(ra);
    membudget_release(MEMBUDGET_PARSE, cost);
    if (rc < 0) return http_fail_for(rq, &e);
    metrics_written(s->met, ir.points, rq->body.len);
    return http_write_done(rq);
}

/* A frame of a streamed answer: the message's length (uvarint), its CRC-32C (big-endian),
 * the message; as Prometheus' ChunkedWriter writes them. */
static void put_frame(void *ctx, const void *msg, size_t len) {
    buf *out = ctx;
    buf_put_uvarint(out, len);
    uint32_t crc = cenc_crc32c(0, msg, len);
    buf_putc(out, (char)(crc >> 24));
    buf_putc(out, (char)(crc >> 16));
    buf_putc(out, (char)(crc >> 8));
    buf_putc(out, (char)crc);
    buf_append(out, msg, len);
}

/* Reserves the `need` bytes an answer of len bytes holds beside the read's arena, within the
 * query memory limit and the server's budget. */
static int charge(const arena_budget *bud, uint64_t need, size_t len, uint64_t *charged, err *e) {
    if ((bud->limit && bud->held + need > bud->limit) ||
        !membudget_try_reserve(MEMBUDGET_QUERY, need))
        return err_set(e, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the remote read's answer of %zu bytes passes the "
                       "query memory limit of %llu bytes (query.query_memory_limit) or the "
                       "server's memory budget; ask for a shorter time range or fewer series",
                       len, (unsigned long long)bud->limit);
    *charged = need;
    return 0;
}

static struct reply remote_read(server *s, struct req *rq, const char *tenant, const char *db) {
    err e;
    err_clear(&e);
    arena_budget bud = {.limit = s->cfg.query_memory_limit,
                        .server = true,
                        .deadline_ns = s->cfg.query_timeout_ms > 0
                                           ? time_mono_ns() + s->cfg.query_timeout_ms * MS_NS
                                           : 0};
    arena *a = arena_new(1 << 20);
    arena_set_budget(a, &bud);
    char *msg;
    size_t len;
    prom_read_req req;
    prom_result *res = NULL;
    int rc = prom_unsnappy(a, rq->body.p, rq->body.len, rq->limit, &msg, &len, &e);
    if (rc == 0) rc = prom_read_decode(a, msg, len, &req, &e);
    if (rc == 0) res = arena_calloc(a, (req.nq ? req.nq : 1) * sizeof *res);
    for (uint32_t i = 0; rc == 0 && i < req.nq; i++)
        rc = prom_read_query(s->cat, s->eng, tenant, db, &req.q[i], a, &res[i], &e);
    buf pb, out;
    buf_init(&pb);
    buf_init(&out);
    uint64_t charged = 0;
    if (rc == 0 && req.chunked) {
        for (uint32_t i = 0; i < req.nq; i++)
            prom_read_encode_chunked(a, &res[i], i, put_frame, &out);
        rc = charge(&bud, out.cap, out.len, &charged, &e);
    } else if (rc == 0) {
        prom_read_encode(a, res, req.nq, &pb);
        /* the message and its compressed copy (at most about 7/6 of it) */
        rc = charge(&bud, 2 * (uint64_t)pb.cap + 64, pb.len, &charged, &e);
        if (rc == 0) prom_snappy(pb.p, pb.len, &out);
    }
    buf_free(&pb);
    arena_set_budget(a, NULL);
    arena_free(a);
    if (charged) membudget_release(MEMBUDGET_QUERY, charged);
    if (rc < 0) {
        buf_free(&out);
        return http_fail_for(rq, &e);
    }
    if (req.chunked)
        return reply_buf(200, &out,
                         "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
                         NULL);
    return reply_buf(200, &out, "application/x-protobuf", "snappy");
}

struct reply http_handle_prom(server *s, struct MHD_Connection *c, struct req *rq,
                              const char *tenant, const char *db) {
    (void)c;
    return rq->route == R_PROM_READ ? remote_read(s, rq, tenant, db)
                                    : remote_write(s, rq, tenant, db);
}
