/* Internals shared by the HTTP server's files; nothing outside them includes this.
 *
 * http.c is the server: routing, the request life cycle (head on the event loop, body
 * collected, work on a worker while the connection is suspended, answer queued back on the
 * event loop), limits, responses and the server's start and stop. The work of a request is
 * one of the handlers, each in its own file: http_sql.c (queries, streamed when chunked),
 * http_write.c (line protocol and OpenTSDB writes), http_prom.c (Prometheus' remote write and
 * read), http_influx.c (InfluxDB 1.x's /query, over src/influxql/); http_auth.c reads its
 * credentials.
 * Handlers run on a worker and return a struct reply for the event loop to queue; they never
 * queue anything themselves. */
#ifndef STRATA_SERVER_HTTP_INT_H
#define STRATA_SERVER_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/compress.h"
#include "server/conns.h"
#include "server/cors.h"
#include "server/http.h"
#include "server/limiter.h"
#include "server/metrics.h"
#include "server/tsdb_tcp.h"
#include "server/usage.h"
#include "server/workers.h"
#include "sql/sql.h"
#include "util/buf.h"

enum route {
    R_NONE = 0,
    R_PING,
    R_PING_V1, /* InfluxDB's /ping */
    R_HEALTH,  /* InfluxDB 2.x's GET /health */
    R_SQL,
    R_DUMP, /* GET /api/v1/dump/sql/ddl */
    R_WRITE,
    R_WRITE_V1, /* /write, InfluxDB 1.x */
    R_WRITE_V2, /* /api/v2/write, InfluxDB 2.x: bucket = database */
    R_TSDB_WRITE,
    R_TSDB_PUT,
    R_TSDB_PUT_OT, /* OpenTSDB's own /api/put: timestamps in seconds or milliseconds */
    R_METRICS,     /* GET /metrics */
    R_PROM_WRITE,  /* Prometheus remote write (http_prom.c) */
    R_PROM_READ,   /* Prometheus remote read (http_prom.c) */
    R_QUERY,       /* InfluxDB 1.x's /query (InfluxQL), GET and POST */
    R__COUNT
};

struct server {
    struct MHD_Daemon *d;
    config cfg;
    catalog *cat;
    engine *eng;
    int ready;    /* atomic: 0 starting, 1 serving, 2 shutting down */
    int inflight; /* atomic: requests admitted and not yet completed */
    int port;
    conns *guard;
    workers *pool;
    limiter *lim;
    usage *use;
    metrics *met;
    cors *cors;        /* NULL = CORS off */
    tsdb_tcp *tcp;     /* OpenTSDB's telnet listener; NULL = off */
    int request_level; /* enum log_level of a request's log line (reqlog.h) */
    /* the request the event loop is answering: for metrics_answer and the request log in
     * queue (loop only); cur_rq NULL for one answered from its head alone */
    enum route cur_route;
    int64_t cur_t0;
    const char *cur_method, *cur_url;
    struct req *cur_rq;
    pthread_mutex_t mu; /* parked, closing */
    pthread_cond_t cv;  /* parked reached 0 */
    int parked;
    bool closing; /* no more work is handed to workers */
};

/* A response built off the event loop, queued by it (status 0: declined, see
 * http_handle_sql). */
struct reply {
    unsigned status;
    struct MHD_Response *r;
    int64_t bytes; /* the body's size, for the request log; -1 = streamed */
};

enum rstate { RQ_BODY, RQ_WORK, RQ_DONE };

/* Per-request state, from the first call of the handler to the completion notice. */
struct req {
    server *s;
    struct MHD_Connection *c;
    enum route route;
    enum rstate state;
    bool limited;           /* the tenant's request limits have counted it */
    int64_t t0;             /* time_mono_ns of its head */
    bool admitted;          /* arrived while serving: finishes even if shutdown starts meanwhile */
    bool counted;           /* inflight was incremented */
    bool parked;            /* suspended for a worker, answer not yet taken back */
    bool too_large;         /* body passed the limit while arriving */
    bool over_budget;       /* the memory budget could not take the body */
    uint64_t body_reserved; /* bytes of the memory budget held for body (its capacity) */
    uint64_t limit;
    uint64_t bytes_in; /* body bytes received */
    /* who it was, for the request log (set once the request is authenticated) */
    char user[256], tenant[256], db[256];
    buf body;
    struct reply out; /* set by the worker */
};

/* ---- responses (http.c) ---- */
/* JSON string contents of s: quotes, backslashes and control characters escaped, bytes that
 * are not UTF-8 as U+FFFD (request bytes quoted in a message need not be UTF-8). */
void http_json_escape(buf *b, const char *s);
/* A response of body (taken over) with its Content-Type and Content-Encoding (NULL for none). */
struct reply reply_buf(unsigned status, buf *body, const char *ctype, const char *cenc);
/* CnosDB's JSON error body for e, with its status (500 if none), WWW-Authenticate on 401 and
 * Retry-After on 429 and 503. */
struct reply reply_err(const err *e);
struct reply reply_fail(int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct reply reply_empty(unsigned status);
/* 503 when the memory budget cannot take `need` more bytes (0 = unknown). */
struct reply reply_busy(uint64_t need);

/* ---- request helpers (http.c) ---- */
/* A query parameter or a header (NULL when absent). */
const char *http_arg(struct MHD_Connection *c, const char *key);
const char *http_header(struct MHD_Connection *c, const char *key);
/* A query parameter that must not hold a NUL: *out = NULL when absent, 400 with a NUL. */
int http_arg_whole(struct MHD_Connection *c, const char *key, const char **out, err *e);
/* Counts a connection about to be suspended for a worker; false once server_stop refuses new
 * work. http_unpark when the event loop has taken the work back. */
bool http_park(server *s);
void http_unpark(server *s);

/* ---- credentials (http_auth.c) ---- */
/* Credentials from `Authorization: Basic ...`, or (InfluxDB style) u/p query parameters. */
struct creds {
    char user[256];
    char password[256];
    bool has_password;
};

/* A failed request's answer: CnosDB's JSON body, or on /write (InfluxDB 1.x's path) InfluxDB's
 * {"error": ...} with its statuses and X-Influxdb-Version. */
struct reply http_fail_for(const struct req *rq, const err *e);
/* A write's success: 200 empty (CnosDB's paths), 204 with X-Influxdb-Version (/write,
 * /api/v2/write), 204 (OpenTSDB's /api/put). */
struct reply http_write_done(const struct req *rq);

/* Fills cr from the request; with required false a missing header falls back to u/p or root;
 * with token, InfluxDB 2.x's `Authorization: Token user:password` is taken too. */
int http_parse_auth(struct MHD_Connection *c, bool required, bool token, struct creds *cr, err *e);

/* ---- handlers (http_sql.c, http_write.c, http_influx.c), on a worker ---- */
/* The SQL session of a request: the server's query limits, the login's rights and role, memory
 * from a (which also keeps the role's name). */
sql_session http_sql_session(server *s, const char *tenant, const char *db, const char *user,
                             const cat_login *who, bool must_change, arena *a);
/* With on_loop, on the event loop: only a query whose storage indexes promise little work
 * runs, single-threaded and stopped at a short deadline; any other statement, or one that
 * would take longer, is declined (status 0, nothing done) for a worker to run again. */
struct reply http_handle_sql(server *s, struct MHD_Connection *c, struct req *rq,
                             const char *tenant, const char *db, const char *user,
                             const cat_login *who, bool must_change, bool on_loop);
struct reply http_handle_write(server *s, struct MHD_Connection *c, struct req *rq,
                               const char *tenant, const char *db);
/* R_PROM_WRITE and R_PROM_READ, the caller having checked the privilege each needs. */
struct reply http_handle_prom(server *s, struct MHD_Connection *c, struct req *rq,
                              const char *tenant, const char *db);
/* InfluxDB 1.x's /query (http_influx.c). */
struct reply http_handle_influx(server *s, struct MHD_Connection *c, struct req *rq,
                                const char *tenant, const char *db, const char *user,
                                const cat_login *who, bool must_change);

#endif
