/* The write handlers: /api/v1/write and /write (line protocol), /api/v1/opentsdb/write (telnet
 * text) and /api/v1/opentsdb/put (JSON). A body is decoded, then parsed and handed to ingest a
 * slice of points at a time, so a write holds its body, one slice and its write record; the
 * request is answered once the record is durable. See http_int.h. */
#include "server/http_int.h"

#include "ingest/lp.h"
#include "ingest/opentsdb.h"
#include "ingest/point_scan.h"
#include "ingest/write.h"
#include "util/membudget.h"

#include <stdio.h>

/* Points parsed and encoded at a time: a slice's points (a few hundred bytes each) are all a
 * large body has in memory at once besides itself and its write record. */
#define WRITE_SLICE 65536

typedef int (*parse_next_fn)(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e);

struct reply http_handle_write(server *s, struct MHD_Connection *c, struct req *rq,
                               const char *tenant, const char *db) {
    err e;
    err_clear(&e);
    const char *ptext = http_arg(c, "precision");
    int64_t prec = 1;
    if (ptext && !(prec = write_precision_ns(ptext))) {
        err_set(&e, 400, EC_GENERIC, "invalid precision '%s': expected one of ns, us, ms, s, m, h",
                ptext);
        return http_fail_for(rq, &e);
    }
    enum cenc ce;
    if (cenc_parse_content_encoding(http_header(c, "Content-Encoding"), &ce, &e) < 0)
        return http_fail_for(rq, &e);
    buf decoded;
    buf_init(&decoded);
    const char *body = rq->body.p;
    size_t blen = rq->body.len;
    if (ce != CENC_IDENTITY) {
        if (cenc_decode(ce, rq->body.p, rq->body.len, rq->limit, &decoded, &e) < 0) {
            buf_free(&decoded);
            if (rq->route == R_TSDB_PUT && e.http == 400)
                snprintf(e.code, sizeof e.code, "%s", EC_INVALID_HEADER);
            return http_fail_for(rq, &e);
        }
        body = decoded.p;
        blen = decoded.len;
    }
    /* The budget: the decoded copy, and for parsing the record (smaller than the body) and a
     * slice of points (a few times the text of its lines). */
    uint64_t slice = 3 * (uint64_t)blen < (16u << 20) ? 3 * (uint64_t)blen : (16u << 20);
    uint64_t parse_cost = (uint64_t)blen + slice;
    if (!membudget_try_reserve(MEMBUDGET_BODY, decoded.cap)) {
        buf_free(&decoded);
        return reply_busy(blen);
    }
    if (!membudget_try_reserve(MEMBUDGET_PARSE, parse_cost)) {
        membudget_release(MEMBUDGET_BODY, decoded.cap);
        buf_free(&decoded);
        return reply_busy(parse_cost);
    }
    bool opentsdb = rq->route == R_TSDB_PUT_OT;
    parse_next_fn next = rq->route == R_TSDB_WRITE ? tsdb_text_next
                         : rq->route == R_TSDB_PUT ? tsdb_json_next
                         : opentsdb                ? tsdb_json_ot_next
                                                   : lp_next;
    if (opentsdb) prec = 1; /* each point's own unit, below */
    arena *ra = arena_new(1 << 20), *sa = arena_new(1 << 20);
    point_cursor cur;
    point_cursor_init(&cur, body ? body : "", blen);
    ingest_req ir;
    ingest_begin(&ir, ra);
    int rc;
    do {
        point_batch pb = {0};
        rc = next(&cur, sa, &pb, WRITE_SLICE, &e);
        if (rc >= 0 && opentsdb) tsdb_units_to_ns(&pb);
        if (rc >= 0 && ingest_add(s->cat, tenant, db, prec, &pb, sa, &ir, &e) < 0) rc = -1;
        arena_reset(sa);
    } while (rc > 0);
    if (rc == 0) rc = ingest_commit(s->eng, &ir, &e);
    arena_free(sa);
    arena_free(ra);
    membudget_release(MEMBUDGET_PARSE, parse_cost);
    membudget_release(MEMBUDGET_BODY, decoded.cap);
    buf_free(&decoded);
    if (rc < 0) return http_fail_for(rq, &e);
    metrics_written(s->met, ir.points, blen);
    return http_write_done(rq);
}
