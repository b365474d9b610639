/* The SQL handler: /api/v1/sql. The body (decoded, invalid UTF-8 replaced as CnosDB does) runs
 * as one statement; its result is encoded in the format Accept asks for. Without chunked=true
 * the whole answer is built first, bounded by the query memory limit; with it, the answer
 * streams: the event loop sends what there is, and a worker encodes the next batch while the
 * connection is suspended. See http_int.h. */
#include "server/http_int.h"

#include "format/format.h"
#include "sql/sql.h"
#include "util/log.h"
#include "util/membudget.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Charges a whole answer being built (non-chunked) to the query's memory limit and to the
 * server's budget; *charged is what this answer has reserved so far. */
static int answer_charge(server *s, const fmt_enc *enc, const buf *all, uint64_t *charged, err *e) {
    if (fmt_enc_error(enc, e) < 0) return -1;
    uint64_t limit = s->cfg.query_memory_limit;
    if (limit && all->len > limit)
        return err_set(e, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the answer is larger than the query memory limit of "
                       "%llu bytes (query.query_memory_limit); ask for it with chunked=true to "
                       "stream it",
                       (unsigned long long)limit);
    if (all->cap > *charged) {
        if (!membudget_try_reserve(MEMBUDGET_QUERY, all->cap - *charged))
            return err_set(e, 500, EC_QUERY_INTERNAL,
                           "Resources exhausted: the server's memory budget of %llu bytes "
                           "(memory.max_memory) is in use; retry later or ask with chunked=true",
                           (unsigned long long)membudget_limit());
        *charged = all->cap;
    }
    return 0;
}

/* A chunked result: the event loop sends st->out; when it is used up, a worker fills it with
 * the next batch while the connection is suspended. */
struct stream {
    server *srv;
    struct MHD_Connection *c;
    sql_result *res;
    sql_session sess;
    fmt_enc *enc;
    enum cenc ce;
    bool compress;
    buf out; /* bytes ready to send */
    size_t off;
    bool done;
    bool filling; /* a worker is filling out, or has and the event loop has not seen it yet */
    bool failed;  /* no worker could be had: end the response with an error */
    buf tmp;
};

static void stream_free(void *cls) {
    struct stream *st = cls;
    if (st->filling) http_unpark(st->srv); /* connection closed before the event loop came back */
    if (st->res) sql_result_close(st->res);
    fmt_enc_free(st->enc);
    buf_free(&st->out);
    buf_free(&st->tmp);
    arena_free(st->sess.a);
    free(st);
}

/* Produces the next piece of the response into st->out (on a worker). */
static void stream_fill(struct stream *st) {
    buf_reset(&st->out);
    st->off = 0;
    buf *dst = st->compress ? &st->tmp : &st->out;
    buf_reset(&st->tmp);
    err e;
    batch b;
    int rc = sql_result_next(st->res, &b, &e);
    if (rc > 0) {
        fmt_enc_batch(st->enc, &b, dst);
        if (fmt_enc_error(st->enc, &e) < 0) rc = -1;
    }
    if (rc > 0) {
        /* the batch is in dst */
    } else if (rc == 0) {
        fmt_enc_finish(st->enc, dst);
        st->done = true;
    } else {
        /* The status line is gone: CnosDB appends the error as text and ends the stream. */
        fmt_enc_finish(st->enc, dst);
        buf_puts(dst,
                 "{\"error_code\": \"" EC_FETCH_RESULT "\", \"error_message\": \"Fetch result: ");
        http_json_escape(dst, e.msg);
        buf_puts(dst, "\"}");
        st->done = true;
    }
    if (st->compress && st->tmp.len) {
        err ce;
        if (cenc_encode(st->ce, st->tmp.p, st->tmp.len, &st->out, &ce) < 0) st->done = true;
    }
}

static void stream_fill_job(void *arg) {
    struct stream *st = arg;
    stream_fill(st);
    MHD_resume_connection(st->c);
}

/* Bytes of an answer sent: the tenant's data-out limit and usage_schema's counters. */
static void http_count_out(server *s, const sql_session *ss, uint64_t n) {
    limiter_charge(s->lim, ss->tenant, LIM_DATA_OUT, n);
    const struct usage_add adds[] = {{U_HTTP_DATA_OUT, n}, {U_COORD_DATA_OUT, n}};
    usage_count(s->use, ss->tenant, ss->db, ss->user, "/api/v1/sql", adds, 2);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
    struct stream *st = cls;
    if (st->filling) {
        st->filling = false;
        http_unpark(st->srv);
    }
    if (st->failed) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (st->off >= st->out.len) {
        if (st->done) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!http_park(st->srv)) return MHD_CONTENT_READER_END_WITH_ERROR;
        st->filling = true;
        MHD_suspend_connection(st->c);
        if (workers_submit(st->srv->pool, stream_fill_job, st) < 0) {
            st->failed = true;
            MHD_resume_connection(st->c);
        }
        return 0;
    }
    size_t n = st->out.len - st->off;
    if (n > max) n = max;
    memcpy(out, st->out.p + st->off, n);
    st->off += n;
    http_count_out(st->srv, &st->sess, n);
    return (ssize_t)n;
}

/* The request's parameters and headers that shape the answer. */
struct sql_params {
    bool chunked;
    enum cenc ce;     /* Content-Encoding of the body */
    enum fmt_kind fk; /* Accept */
    enum cenc oe;     /* Accept-Encoding, when oe_present */
    int oe_present;
};

static int sql_params(struct MHD_Connection *c, struct sql_params *sp, err *e) {
    const char *chunked_s = http_arg(c, "chunked");
    sp->chunked = false;
    if (chunked_s) {
        if (!strcmp(chunked_s, "true"))
            sp->chunked = true;
        else if (strcmp(chunked_s, "false"))
            return err_set(e, 400, EC_GENERIC,
                           "invalid value '%s' for parameter chunked: expected "
                           "true or false",
                           chunked_s);
    }
    const char *tp = http_arg(c, "target_partitions");
    if (tp) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tp, &end, 10);
        if (errno || !*tp || *end || tp[0] == '-' || v > UINT32_MAX)
            return err_set(e, 400, EC_GENERIC, "invalid value '%s' for parameter target_partitions",
                           tp);
    }
    if (cenc_parse_content_encoding(http_header(c, "Content-Encoding"), &sp->ce, e) < 0) return -1;
    if (fmt_from_accept(http_header(c, "Accept"), &sp->fk, e) < 0) return -1;
    return cenc_parse_accept_encoding(http_header(c, "Accept-Encoding"), &sp->oe, &sp->oe_present,
                                      e);
}

/* Appends text to clean with every invalid UTF-8 sequence replaced by U+FFFD, as CnosDB reads
 * a SQL body. */
static void utf8_replace_invalid(const char *text, size_t tlen, buf *clean) {
    size_t i = 0;
    while (i < tlen) {
        size_t rest = tlen - i, off;
        if (utf8_valid(text + i, rest, &off)) {
            buf_append(clean, text + i, rest);
            break;
        }
        buf_append(clean, text + i, off);
        buf_puts(clean, "\xEF\xBF\xBD");
        i += off + 1;
        /* skip continuation bytes of the broken sequence */
        while (i < tlen && ((unsigned char)text[i] & 0xC0) == 0x80) i++;
    }
}

static void encode_rows(void *ctx, const batch *b, buf *out) {
    fmt_enc_rows(ctx, b, out);
}

/* How long a query may run on the event loop before it is stopped and run on a worker. */
#define ON_LOOP_NS 1000000

/* A reply that declines the work (see http_handle_sql). */
static const struct reply declined = {0};

/* After an error on the event loop: declined when the loop's deadline had passed (the likely
 * cause: the worker runs it again with the query's own limits), else the error. */
static struct reply on_loop_error(int64_t on_loop_end, const err *e) {
    if (!on_loop_end || time_mono_ns() < on_loop_end) return reply_err(e);
    log_debug("sql: a query ran past %d ms on the event loop; a worker runs it again",
              ON_LOOP_NS / 1000000);
    return declined;
}

/* Without chunked=true the whole answer is built before the status line goes out, so it is
 * memory the query holds: bounded by the query's limit and charged to the server's. Frees st.
 * on_loop_end: the deadline of a query on the event loop (0 = on a worker); an error after it
 * declines, the deadline being the likely cause. */
static struct reply whole_answer(server *s, struct stream *st, const struct sql_params *sp,
                                 const char *ctype, const char *cename, int64_t on_loop_end) {
    err e;
    err_clear(&e);
    buf all;
    buf_init(&all);
    batch b;
    int rc;
    uint64_t charged = 0;
    /* a parallel answer is encoded by the threads that compute it */
    if (fmt_enc_rows_apart(st->enc)) sql_result_encode_apart(st->res, encode_rows, st->enc);
    const buf *text;
    while ((rc = sql_result_next_text(st->res, &b, &text, &e)) > 0) {
        if (text)
            fmt_enc_append(st->enc, text->p, text->len, b.nrows, &all);
        else
            fmt_enc_batch(st->enc, &b, &all);
        if (answer_charge(s, st->enc, &all, &charged, &e) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        fmt_enc_finish(st->enc, &all);
        if (answer_charge(s, st->enc, &all, &charged, &e) < 0) rc = -1;
    }
    if (rc == 0 && sp->oe_present && sp->oe != CENC_IDENTITY) {
        buf z;
        buf_init(&z);
        rc = cenc_encode(sp->oe, all.p ? all.p : "", all.len, &z, &e);
        buf_free(&all);
        all = z;
        if (rc < 0) {
            stream_free(st);
            membudget_release(MEMBUDGET_QUERY, charged);
            buf_free(&all);
            return reply_err(&e);
        }
    }
    if (rc == 0) http_count_out(s, &st->sess, all.len); /* the session goes with st */
    stream_free(st);
    membudget_release(MEMBUDGET_QUERY, charged);
    if (rc < 0) {
        buf_free(&all);
        return on_loop_error(on_loop_end, &e);
    }
    return reply_buf(200, &all, ctype, cename);
}

sql_session http_sql_session(server *s, const char *tenant, const char *db, const char *user,
                             const cat_login *who, bool must_change, arena *a) {
    return (sql_session){.cat = s->cat,
                         .eng = s->eng,
                         .tenant = tenant,
                         .db = db,
                         .user = user,
                         .is_admin = who->is_admin,
                         .must_change = must_change,
                         .role = who->role[0] ? arena_strdup(a, who->role) : NULL,
                         .a = a,
                         .mem_limit = s->cfg.query_memory_limit,
                         .parallelism = (uint32_t)s->cfg.query_parallelism,
                         .deadline_ns = s->cfg.query_timeout_ms > 0
                                            ? time_mono_ns() + s->cfg.query_timeout_ms * 1000000
                                            : 0};
}

struct reply http_handle_sql(server *s, struct MHD_Connection *c, struct req *rq,
                             const char *tenant, const char *db, const char *user,
                             const cat_login *who, bool must_change, bool on_loop) {
    err e;
    err_clear(&e);
    struct sql_params sp;
    if (sql_params(c, &sp, &e) < 0) return reply_err(&e);
    /* a streamed answer has no bound, nor has decompressing a body */
    if (on_loop && (sp.chunked || sp.ce != CENC_IDENTITY)) return declined;

    buf decoded;
    buf_init(&decoded);
    const char *text = rq->body.p ? rq->body.p : "";
    size_t tlen = rq->body.len;
    if (sp.ce != CENC_IDENTITY) {
        if (cenc_decode(sp.ce, rq->body.p, rq->body.len, rq->limit, &decoded, &e) < 0) {
            buf_free(&decoded);
            return reply_err(&e);
        }
        text = decoded.p ? decoded.p : "";
        tlen = decoded.len;
    }
    size_t bad;
    buf clean;
    buf_init(&clean);
    if (!utf8_valid(text, tlen, &bad)) {
        utf8_replace_invalid(text, tlen, &clean);
        text = clean.p ? clean.p : "";
        tlen = clean.len;
    }
    struct stream *st = xcalloc(1, sizeof *st);
    st->sess = http_sql_session(s, tenant, db, user, who, must_change, arena_new(1 << 16));
    st->sess.queries_only = on_loop;
    int64_t on_loop_end = 0;
    if (on_loop) {
        on_loop_end = time_mono_ns() + ON_LOOP_NS;
        /* the query's own deadline, when sooner, stays the one that ends it */
        if (!st->sess.deadline_ns || st->sess.deadline_ns > on_loop_end)
            st->sess.deadline_ns = on_loop_end;
        else
            on_loop_end = 0;
    }
    /* The session keeps pointers to these names beyond this call in streaming mode. */
    st->sess.tenant = arena_strdup(st->sess.a, tenant);
    st->sess.db = arena_strdup(st->sess.a, db);
    st->sess.user = arena_strdup(st->sess.a, user);
    int rc = sql_run(&st->sess, text, tlen, &st->res, &e);
    buf_free(&decoded);
    buf_free(&clean);
    if (rc != 0 || (on_loop && sql_result_estimate(st->res, s->cfg.query_inline_values) >
                                   s->cfg.query_inline_values)) {
        stream_free(st);
        return rc >= 0 ? declined : on_loop_error(on_loop_end, &e);
    }
    const rschema *sch = sql_result_schema(st->res);
    const char *ctype = fmt_content_type(sp.fk);
    const char *cename = sp.oe_present ? cenc_name(sp.oe) : NULL;
    st->ce = sp.oe;
    st->compress = sp.oe_present && sp.oe != CENC_IDENTITY;
    if (!sch || sch->ncols == 0) {
        /* DDL and friends: empty body in every format. */
        stream_free(st);
        buf empty;
        buf_init(&empty);
        return reply_buf(200, &empty, ctype, cename);
    }
    st->enc = fmt_enc_new(sp.fk, sch, sp.chunked);
    fmt_enc_set_limit(st->enc, (size_t)s->cfg.query_memory_limit);
    if (sp.chunked) {
        st->srv = s;
        st->c = c;
        stream_fill(st); /* the first piece here, saving a round trip through the event loop */
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                   stream_read, st, stream_free);
        MHD_add_response_header(r, "Content-Type", ctype);
        if (cename) MHD_add_response_header(r, "Content-Encoding", cename);
        return (struct reply){200, r, -1};
    }
    return whole_answer(s, st, &sp, ctype, cename, on_loop_end);
}
