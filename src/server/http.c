/* The HTTP API: see http.h. Routing, limits, the request life cycle on the event loop and
 * workers, and the mapping of every outcome onto CnosDB's status codes and JSON error bodies.
 * The handlers are apart: http_sql.c (queries, streamed), http_write.c (writes) and
 * http_auth.c (credentials); see http_int.h.
 *
 * Threads. libmicrohttpd runs one event loop thread (epoll) that accepts connections, reads
 * heads and bodies and sends responses; it never blocks on the catalog, the storage engine or
 * a query. A request whose body has arrived is handed to a worker thread (workers.h) while its
 * connection is suspended; the worker builds the response and resumes the connection, and the
 * event loop queues it. A chunked query result is produced the same way, one piece at a time:
 * when the event loop has sent what there is, it suspends the connection and a worker pulls
 * the next batch. Ping, refusals (404, 405, 413, 429, 503) and everything decided from the head
 * alone are answered on the event loop directly, so they never wait for a worker.
 *
 * A request is "parked" from its suspension until the event loop takes its answer back; the
 * daemon may only be stopped with nothing parked (libmicrohttpd cannot stop with suspended
 * connections), so server_stop refuses new work, waits for the parked ones, then stops. */
#include "server/http_int.h"

#include "server/reqlog.h"
#include "sql/sql.h"

#include "util/log.h"
#include "util/membudget.h"
#include "util/mem.h"
#include "util/names.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The request state of every request answered from its head alone (pings, /health, /metrics):
 * one shared marker per route, since such a request needs no state of its own. */
static struct req head_only[R__COUNT];

/* The same for a CORS preflight (OPTIONS with an Origin, CORS on), on any route. */
static struct req preflight[R__COUNT];

/* The route of a marker of the array markers, or R_NONE for another request. */
static enum route marker_route(const struct req *rq, const struct req *markers) {
    /* as integers: comparing pointers into different objects is undefined */
    uintptr_t p = (uintptr_t)rq, lo = (uintptr_t)markers, hi = (uintptr_t)(markers + R__COUNT);
    return p >= lo && p < hi ? (enum route)((p - lo) / sizeof *markers) : R_NONE;
}

/* The route of a head-only marker, or R_NONE for a request with state of its own. */
static enum route head_only_route(const struct req *rq) {
    return marker_route(rq, head_only);
}

/* ------------------------------------------------------------------ responses */

void http_json_escape(buf *b, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7F) {
                buf_printf(b, "\\u%04x", *p);
            } else if (*p < 0x80) {
                buf_putc(b, (char)*p);
            } else {
                /* Request bytes quoted in a message need not be UTF-8; the body must be. */
                size_t n = utf8_seq((const char *)p, strnlen((const char *)p, 4));
                if (n == 0) {
                    buf_puts(b, "\\ufffd");
                } else {
                    buf_append(b, p, n);
                    p += n - 1;
                }
            }
        }
    }
}

struct reply reply_buf(unsigned status, buf *body, const char *ctype, const char *cenc) {
    size_t len;
    char *p = buf_detach(body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, p ? p : (char *)"", p ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (cenc) MHD_add_response_header(r, "Content-Encoding", cenc);
    return (struct reply){status, r, (int64_t)len};
}

struct reply reply_err(const err *e) {
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"error_code\":\"");
    http_json_escape(&b, e->code[0] ? e->code : EC_GENERIC);
    buf_puts(&b, "\",\"error_message\":\"");
    http_json_escape(&b, e->msg);
    buf_putc(&b, '"');
    if (e->line) buf_printf(&b, ",\"error_line\":%u,\"error_column\":%u", e->line, e->col);
    buf_putc(&b, '}');
    unsigned status = e->http ? (unsigned)e->http : 500;
    struct reply out = reply_buf(status, &b, "application/json", NULL);
    if (status == 401) MHD_add_response_header(out.r, "WWW-Authenticate", "Basic realm=\"strata\"");
    if (status == 503 || status == 429) MHD_add_response_header(out.r, "Retry-After", "1");
    return out;
}

struct reply reply_fail(int status, const char *code, const char *fmt, ...) {
    err e;
    va_list ap;
    va_start(ap, fmt);
    err_vset(&e, status, code, fmt, ap);
    va_end(ap);
    return reply_err(&e);
}

struct reply reply_empty(unsigned status) {
    return (struct reply){
        status, MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT), 0};
}

/* InfluxDB 1.x's version, sent by /write as InfluxDB does (clients show it, some check it). */
#define INFLUX_VERSION "1.8.10"

/* InfluxDB 2.x's error body: {"code": "...", "message": "..."} by status. */
static struct reply influx2_err(unsigned st, const err *e) {
    buf b;
    buf_init(&b);
    buf_printf(&b, "{\"code\":\"%s\",\"message\":\"",
               st == 401   ? "unauthorized"
               : st == 403 ? "forbidden"
               : st == 404 ? "not found"
               : st == 413 ? "request too large"
               : st == 429 ? "too many requests"
               : st >= 500 ? "internal error"
                           : "invalid");
    http_json_escape(&b, e->msg);
    buf_puts(&b, "\"}");
    return reply_buf(st, &b, "application/json", NULL);
}

struct reply http_fail_for(const struct req *rq, const err *e) {
    if (rq->route != R_WRITE_V1 && rq->route != R_WRITE_V2 && rq->route != R_QUERY)
        return reply_err(e);
    /* /write is InfluxDB's: {"error": "..."} and its statuses (a bad line is 400, an unknown
     * database 404), so its clients report what went wrong */
    unsigned st = e->http ? (unsigned)e->http : 500;
    if (!strcmp(e->code, EC_DB_NOT_FOUND))
        st = 404;
    else if (!strcmp(e->code, EC_PRIVILEGE))
        st = 403;
    else if (st >= 500)
        st = st == 503 ? 503 : 500;
    else if (st != 401 && st != 413 && st != 429)
        st = 400;
    struct reply out;
    if (rq->route == R_WRITE_V2) {
        out = influx2_err(st, e);
    } else {
        buf b;
        buf_init(&b);
        buf_puts(&b, "{\"error\":\"");
        http_json_escape(&b, e->msg);
        buf_puts(&b, "\"}");
        out = reply_buf(st, &b, "application/json", NULL);
    }
    MHD_add_response_header(out.r, "X-Influxdb-Version", INFLUX_VERSION);
    if (st == 401) MHD_add_response_header(out.r, "WWW-Authenticate", "Basic realm=\"strata\"");
    if (st == 503 || st == 429) MHD_add_response_header(out.r, "Retry-After", "1");
    return out;
}

struct reply http_write_done(const struct req *rq) {
    if (rq->route == R_TSDB_PUT_OT) return reply_empty(204); /* OpenTSDB's */
    if (rq->route != R_WRITE_V1 && rq->route != R_WRITE_V2)
        return reply_empty(200);         /* CnosDB's: 200, empty */
    struct reply out = reply_empty(204); /* InfluxDB's */
    MHD_add_response_header(out.r, "X-Influxdb-Version", INFLUX_VERSION);
    return out;
}

/* The request log's line for the answer being queued (reqlog.h). */
static void log_request(server *s, struct MHD_Connection *c, const struct reply *out,
                        double seconds) {
    int level = reqlog_level(s->request_level, out->status);
    /* a probe polling a server that is starting or stopping sees 503 by design */
    if (out->status == 503 &&
        (s->cur_route == R_PING || s->cur_route == R_PING_V1 || s->cur_route == R_HEALTH))
        level = s->request_level;
    if (level > log_threshold) return;
    const struct req *rq = s->cur_rq;
    char client[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, client, sizeof client);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, client,
                      sizeof client);
    }
    reqlog_entry e = {.method = s->cur_method,
                      .path = s->cur_url,
                      .status = out->status,
                      .seconds = seconds,
                      .bytes_in = rq ? rq->bytes_in : 0,
                      .bytes_out = out->bytes,
                      .user = rq ? rq->user : NULL,
                      .tenant = rq ? rq->tenant : NULL,
                      .db = rq ? rq->db : NULL,
                      .client = client};
    reqlog_write(level, &e);
}

/* Hands a reply to libmicrohttpd (event loop only). */
static enum MHD_Result queue(server *s, struct MHD_Connection *c, struct reply out) {
    /* every answer passes here, on the event loop: the route, start and request being
     * answered are the loop's current ones (on_request sets them) */
    double seconds = (double)(time_mono_ns() - s->cur_t0) / 1e9;
    metrics_answer(s->met, (unsigned)s->cur_route, out.status, seconds);
    log_request(s, c, &out, seconds);
    if (s->cors) cors_answer(s->cors, http_header(c, "Origin"), out.r);
    enum MHD_Result ret = MHD_queue_response(c, out.status, out.r);
    MHD_destroy_response(out.r);
    return ret;
}

/* 503 when the memory budget cannot take `need` more bytes (0 = unknown): CnosDB's error
 * body and Retry-After, so clients back off and try again. */
struct reply reply_busy(uint64_t need) {
    char what[64] = "";
    if (need) snprintf(what, sizeof what, " %llu more bytes", (unsigned long long)need);
    return reply_fail(503, EC_GENERIC,
                      "Server is out of memory: its budget (memory.max_memory = %llu bytes, "
                      "%llu in use) cannot take%s; retry later",
                      (unsigned long long)membudget_limit(), (unsigned long long)membudget_used(),
                      need ? what : " the request");
}

/* Grows the body buffer to exactly cap bytes (plus a NUL), reserving the growth in the memory
 * budget; false (nothing changed) when the budget refuses. */
static bool body_reserve(struct req *rq, uint64_t cap) {
    if (cap <= rq->body.cap) return true;
    uint64_t more = cap + 1 - rq->body_reserved;
    if (!membudget_try_reserve(MEMBUDGET_BODY, more)) return false;
    rq->body_reserved += more;
    rq->body.p = xrealloc(rq->body.p, cap + 1);
    rq->body.cap = cap + 1;
    return true;
}

static void body_drop(struct req *rq) {
    buf_free(&rq->body);
    if (rq->body_reserved) membudget_release(MEMBUDGET_BODY, rq->body_reserved);
    rq->body_reserved = 0;
}

/* ------------------------------------------------------------------ request helpers */

/* Route names for /metrics, by route. */
static const char *route_names[R__COUNT];

static enum route route_of(const char *url, bool *known) {
    char path[64];
    size_t n = strlen(url);
    if (n >= sizeof path) {
        *known = false;
        return R_NONE;
    }
    memcpy(path, url, n + 1);
    if (n > 1 && path[n - 1] == '/') path[n - 1] = 0; /* one trailing slash matches */
    static const struct {
        const char *p;
        enum route r;
    } routes[] = {{"/api/v1/ping", R_PING},
                  {"/api/v1/sql", R_SQL},
                  {"/api/v1/dump/sql/ddl", R_DUMP},
                  {"/api/v1/write", R_WRITE},
                  {"/write", R_WRITE_V1},
                  {"/ping", R_PING_V1},
                  {"/api/v2/write", R_WRITE_V2},
                  {"/health", R_HEALTH},
                  {"/api/put", R_TSDB_PUT_OT},
                  {"/metrics", R_METRICS},
                  {"/query", R_QUERY},
                  {"/api/v1/opentsdb/write", R_TSDB_WRITE},
                  {"/api/v1/opentsdb/put", R_TSDB_PUT},
                  {"/api/v1/prom/write", R_PROM_WRITE},
                  {"/api/v1/prom/read", R_PROM_READ}};
    if (!route_names[R_NONE]) { /* once, on the event loop */
        route_names[R_NONE] = "unknown";
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
            route_names[routes[i].r] = routes[i].p;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(path, routes[i].p) == 0) {
            *known = true;
            return routes[i].r;
        }
    *known = false;
    return R_NONE;
}

const char *http_arg(struct MHD_Connection *c, const char *key) {
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

/* A query parameter that must not hold a NUL (`db=public%00xyz` would read as `public`):
 * *out = NULL when absent. */
int http_arg_whole(struct MHD_Connection *c, const char *key, const char **out, err *e) {
    const char *v = NULL;
    size_t n = 0;
    *out = NULL;
    if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v, &n) !=
            MHD_YES ||
        !v)
        return 0;
    if (strlen(v) != n)
        return err_set(e, 400, EC_GENERIC, "invalid value for parameter %s: it holds a NUL byte",
                       key);
    *out = v;
    return 0;
}

/* The tenant or database parameter, or its default; names are checked as the catalog would. */
static int name_arg(struct MHD_Connection *c, const char *key, enum name_kind k, const char *dflt,
                    const char **out, err *e) {
    if (http_arg_whole(c, key, out, e) < 0) return -1;
    if (!*out || !**out) {
        *out = dflt;
        return 0;
    }
    if (names_check(k, *out, strlen(*out), 400, EC_GENERIC, e) < 0) {
        err_prefix(e, "invalid value for parameter %s: ", key);
        return -1;
    }
    return 0;
}

const char *http_header(struct MHD_Connection *c, const char *key) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, key);
}

/* ------------------------------------------------------------------ dispatch */

static int64_t now_ms(void) {
    return time_mono_ns() / 1000000;
}

static conn *conn_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Counts a connection about to be suspended; false once server_stop refuses new work. */
bool http_park(server *s) {
    pthread_mutex_lock(&s->mu);
    bool ok = !s->closing;
    if (ok) s->parked++;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void http_unpark(server *s) {
    pthread_mutex_lock(&s->mu);
    if (--s->parked == 0) pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static struct reply handle_ping(server *s) {
    buf b;
    buf_init(&b);
    int ready = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE);
    if (ready == 1 && !engine_healthy(s->eng, NULL)) ready = 3; /* lost its data directory */
    buf_printf(&b, "{\"version\":\"%s\",\"status\":\"%s\"}", STRATA_VERSION,
               ready == 1   ? "healthy"
               : ready == 0 ? "starting"
               : ready == 2 ? "stopping"
                            : "unhealthy");
    return reply_buf(ready == 1 ? 200 : 503, &b, "application/json", NULL);
}

/* usage_schema's counters for an admitted request (see usage.h). */
static void count_request(server *s, const struct req *rq, const char *tenant, const char *db,
                          const char *user) {
    static const char *const api[] = {[R_SQL] = "/api/v1/sql",
                                      [R_WRITE] = "/api/v1/write",
                                      [R_WRITE_V1] = "/write",
                                      [R_TSDB_WRITE] = "/api/v1/opentsdb/write",
                                      [R_TSDB_PUT] = "/api/v1/opentsdb/put",
                                      [R_WRITE_V2] = "/api/v2/write",
                                      [R_TSDB_PUT_OT] = "/api/put",
                                      [R_PROM_WRITE] = "/api/v1/prom/write",
                                      [R_PROM_READ] = "/api/v1/prom/read",
                                      [R_QUERY] = "/query"};
    const char *path = (size_t)rq->route < sizeof api / sizeof *api ? api[rq->route] : NULL;
    bool q = rq->route == R_SQL || rq->route == R_PROM_READ || rq->route == R_QUERY;
    uint64_t n = rq->body.len;
    const struct usage_add adds[] = {{q ? U_HTTP_QUERIES : U_HTTP_WRITES, 1},
                                     {q ? U_COORD_QUERIES : U_COORD_WRITES, 1},
                                     {U_HTTP_DATA_IN, n},
                                     {q ? U_SQL_DATA_IN : U_COORD_DATA_IN, n}};
    usage_count(s->use, tenant, db, user, path, adds, sizeof adds / sizeof *adds);
}

/* InfluxDB 1.x's GET|HEAD /ping: 204 with its version headers (`?verbose=true`: 200 and the
 * version as JSON); 503 while Strata is not serving. */
static struct reply handle_influx_ping(server *s, struct MHD_Connection *c) {
    int ready = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE);
    const char *verbose = http_arg(c, "verbose");
    struct reply out;
    if (ready != 1) {
        out = reply_empty(503);
    } else if (verbose && !strcmp(verbose, "true")) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "{\"version\":\"" INFLUX_VERSION "\"}");
        out = reply_buf(200, &b, "application/json", NULL);
    } else {
        out = reply_empty(204);
    }
    MHD_add_response_header(out.r, "X-Influxdb-Version", INFLUX_VERSION);
    MHD_add_response_header(out.r, "X-Influxdb-Build", "OSS");
    return out;
}

/* GET /metrics (metrics.h). */
static struct reply handle_metrics(server *s) {
    buf b;
    buf_init(&b);
    conns_stats cs;
    conns_get_stats(s->guard, &cs);
    bool serving = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) == 1;
    metrics_text(s->met, route_names, R__COUNT, serving ? s->cat : NULL, serving ? s->eng : NULL,
                 cs.open, &b);
    return reply_buf(200, &b, "text/plain; version=0.0.4", NULL);
}

/* A CORS preflight (cors.h): 204 with what the origin may send, or 403 for an origin not
 * allowed. queue adds the headers every answer to an origin carries. */
static struct reply handle_preflight(server *s, struct MHD_Connection *c) {
    const char *origin = http_header(c, "Origin");
    if (!cors_allowed(s->cors, origin))
        return reply_fail(403, EC_GENERIC,
                          "CORS: origin '%s' is not allowed (http.cors_allowed_origins)", origin);
    struct reply out = reply_empty(204);
    cors_preflight(s->cors, origin, http_header(c, "Access-Control-Request-Headers"), out.r);
    return out;
}

/* InfluxDB 2.x's GET /health: 200 and "pass" while serving, 503 and "fail" otherwise. */
static struct reply handle_health(server *s) {
    int ready = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE);
    bool ok = ready == 1 && engine_healthy_known(s->eng, NULL);
    buf b;
    buf_init(&b);
    buf_printf(&b,
               "{\"name\":\"strata\",\"message\":\"%s\",\"status\":\"%s\",\"checks\":[],"
               "\"version\":\"%s\"}",
               ok ? "ready for queries and writes" : "not ready", ok ? "pass" : "fail",
               STRATA_VERSION);
    return reply_buf(ok ? 200 : 503, &b, "application/json", NULL);
}

/* GET /api/v1/dump/sql/ddl[?tenant=t]: every tenant's DDL, or t's. It lists users and
 * tenants, so it needs an administrator (CnosDB serves it without any check). */
static struct reply handle_dump(server *s, struct MHD_Connection *c, const char *tenant,
                                const cat_login *who) {
    err e;
    if (!who->is_admin)
        return reply_fail(422, EC_PRIVILEGE,
                          "Insufficient privileges, expected [maintainer for "
                          "system]");
    const char *only = http_arg(c, "tenant") ? tenant : NULL;
    buf b;
    buf_init(&b);
    if (sql_dump_ddl(s->cat, only, &b, &e) < 0) {
        buf_free(&b);
        return reply_err(&e);
    }
    return reply_buf(200, &b, "application/octet-stream", NULL);
}

/* The work of a request whose body has arrived: on a worker, or with on_loop a query tried on
 * the event loop (http_handle_sql), which may decline (status 0). */
static struct reply process(server *s, struct MHD_Connection *c, struct req *rq, bool on_loop) {
    err e;
    err_clear(&e);
    /* a query on the loop only reads: the background thread's check, a second old at most,
     * does (a query that writes, INSERT, is declined there and checked on a worker) */
    if (!(on_loop ? engine_healthy_known(s->eng, &e) : engine_healthy(s->eng, &e)))
        return http_fail_for(rq, &e);
    bool v1 = rq->route == R_WRITE_V1 || rq->route == R_QUERY, v2 = rq->route == R_WRITE_V2;
    struct creds cr;
    if (http_parse_auth(c, !v1, v2, &cr, &e) < 0) return http_fail_for(rq, &e);
    const char *tenant, *db;
    /* InfluxDB 2.x names the database its bucket, and requires it */
    if (name_arg(c, "tenant", NAME_TENANT, "cnosdb", &tenant, &e) < 0 ||
        name_arg(c, v2 ? "bucket" : "db", NAME_DATABASE, v2 ? NULL : "public", &db, &e) < 0)
        return http_fail_for(rq, &e);
    if (!db) {
        err_set(&e, 400, EC_GENERIC, "bucket not specified");
        return http_fail_for(rq, &e);
    }
    cat_login who = {.cached_only = on_loop};
    int rc = catalog_authenticate(s->cat, cr.user, cr.has_password ? cr.password : NULL,
                                  strlen(cr.password), tenant, s->cfg.auth_enabled, &who, &e);
    if (rc > 0) return (struct reply){0}; /* a password to hash: not on the event loop */
    snprintf(rq->user, sizeof rq->user, "%s", cr.user);
    snprintf(rq->tenant, sizeof rq->tenant, "%s", tenant);
    snprintf(rq->db, sizeof rq->db, "%s", db);
    if (rc < 0) return http_fail_for(rq, &e);
    /* CnosDB: a user who must change their password may do nothing else first */
    bool must_change = s->cfg.auth_enabled && who.must_change;
    if (rq->route == R_DUMP) return handle_dump(s, c, tenant, &who);
    /* the tenant's request limits: the request itself and its body */
    bool query = rq->route == R_SQL || rq->route == R_PROM_READ || rq->route == R_QUERY;
    enum lim_event ev = query ? LIM_QUERY : LIM_WRITE;
    if (!rq->limited && (limiter_take(s->lim, tenant, ev, 1, &e) < 0 ||
                         limiter_take(s->lim, tenant, LIM_DATA_IN, rq->body.len, &e) < 0))
        return http_fail_for(rq, &e);
    if (!rq->limited) count_request(s, rq, tenant, db, cr.user);
    rq->limited = true; /* once, even if the event loop hands it to a worker after this */
    if (rq->route == R_SQL)
        return http_handle_sql(s, c, rq, tenant, db, cr.user, &who, must_change, on_loop);
    if (rq->route == R_QUERY)
        return http_handle_influx(s, c, rq, tenant, db, cr.user, &who, must_change);
    if (must_change) {
        err_set(&e, 422, EC_PRIVILEGE, "Insufficient privileges, expected [change password]");
        return http_fail_for(rq, &e);
    }
    bool read = rq->route == R_PROM_READ;
    if (catalog_require(s->cat, cr.user, tenant, read ? NEED_READ : NEED_WRITE, db, &e) < 0)
        return http_fail_for(rq, &e);
    if (read || rq->route == R_PROM_WRITE) return http_handle_prom(s, c, rq, tenant, db);
    return http_handle_write(s, c, rq, tenant, db);
}

/* Requests with bodies at least this large give their memory back to the system when done. */
#define TRIM_AFTER (16u << 20)

static void run_request(void *arg) {
    struct req *rq = arg;
    rq->out = process(rq->s, rq->c, rq, false);
    size_t size = rq->body.len;
    /* A write is done with its body (a query's results may still point into its text). */
    if (rq->route != R_SQL) body_drop(rq);
    if (size >= TRIM_AFTER) malloc_trim(0);
    rq->state = RQ_DONE;
    MHD_resume_connection(rq->c);
}

/* Bodies up to this size may be tried on the event loop (parsing one is work too). */
#define ON_LOOP_BODY_MAX (16u << 10)

/* The body is complete: hand the request to a worker. A small query goes on the event loop
 * instead when nothing else is in flight: handing it over costs two thread wake-ups, which
 * on an otherwise idle machine (a VM especially) take longer than the query itself. Nobody
 * waits for the loop meanwhile, and http_handle_sql bounds what it runs there. */
static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, struct req *rq) {
    int ready = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE);
    if (ready != 1 && !(ready == 2 && rq->admitted))
        return queue(s, c,
                     reply_fail(503, EC_GENERIC,
                                ready == 0 ? "Strata is starting (replaying its log)"
                                           : "Strata is shutting down"));
    conn *k = conn_of(c);
    if (k) conns_work(s->guard, k);
    if (rq->route == R_SQL && s->cfg.query_inline_values && rq->body.len <= ON_LOOP_BODY_MAX &&
        __atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE) == 1) {
        struct reply out = process(s, c, rq, true);
        if (out.status) return queue(s, c, out);
    }
    if (!http_park(s)) return queue(s, c, reply_fail(503, EC_GENERIC, "Strata is shutting down"));
    rq->parked = true;
    rq->state = RQ_WORK;
    MHD_suspend_connection(c);
    if (workers_submit(s->pool, run_request, rq) < 0) {
        rq->out = reply_fail(503, EC_GENERIC, "Strata cannot start a thread: retry later");
        rq->state = RQ_DONE;
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

/* The headers that say where a body ends: two that disagree let a proxy and this server
 * split the stream differently (request smuggling), so such a request is refused. */
struct length_headers {
    const char *content_length;
    bool conflict, chunked;
};

static enum MHD_Result scan_length_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *val) {
    struct length_headers *lh = cls;
    if (!strcasecmp(key, "Content-Length")) {
        if (lh->content_length && strcmp(lh->content_length, val ? val : "")) lh->conflict = true;
        lh->content_length = val ? val : "";
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        lh->chunked = true;
    }
    return MHD_YES;
}

/* The head is complete (first call of the handler): answers what the head alone decides,
 * else admits the request. */
static enum MHD_Result on_head(server *s, struct MHD_Connection *c, const char *url,
                               const char *method, void **con_cls) {
    bool known;
    enum route r = route_of(url, &known);
    if (!known) return queue(s, c, reply_fail(404, EC_GENERIC, "Not Found: %s", url));
    if (s->cors && !strcmp(method, "OPTIONS") && http_header(c, "Origin")) {
        *con_cls = &preflight[r]; /* answered once complete, as head-only routes are */
        return MHD_YES;
    }
    if (r == R_PING || r == R_PING_V1 || r == R_HEALTH || r == R_METRICS) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return queue(s, c,
                         reply_fail(405, EC_GENERIC, "Method Not Allowed: %s %s", method, url));
        /* Answered on the next call, once the request is complete: a response queued from
         * the head alone makes libmicrohttpd close the connection after it. */
        *con_cls = &head_only[r];
        return MHD_YES;
    }
    /* the dump is read with GET (cnosdb-cli), /query with GET or POST; everything else is
     * POST */
    if (strcmp(method, "POST") && !((r == R_DUMP || r == R_QUERY) && !strcmp(method, "GET")))
        return queue(s, c, reply_fail(405, EC_GENERIC, "Method Not Allowed: %s %s", method, url));
    struct length_headers lh = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_length_headers, &lh);
    if (lh.conflict)
        return queue(
            s, c, reply_fail(400, EC_GENERIC, "Bad Request: two different Content-Length headers"));
    if (lh.content_length && lh.chunked)
        return queue(
            s, c,
            reply_fail(400, EC_GENERIC, "Bad Request: both Content-Length and Transfer-Encoding"));
    /* CnosDB bounds both Prometheus routes by the query limit */
    bool query_limit = r == R_SQL || r == R_QUERY || r == R_PROM_WRITE || r == R_PROM_READ;
    uint64_t limit = query_limit ? s->cfg.query_sql_limit : s->cfg.write_sql_limit;
    const char *cl = http_header(c, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (!errno && *end == 0 && n > limit)
            return queue(s, c,
                         reply_fail(413, EC_GENERIC,
                                    "Payload Too Large: body of %llu bytes is over the limit "
                                    "of %llu",
                                    n, (unsigned long long)limit));
    }
    int now = __atomic_add_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
    if (now > s->cfg.max_server_connections) {
        __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
        return queue(s, c,
                     reply_fail(429, EC_CONCURRENCY,
                                "Concurrent query request limit exceeded (%d): retry later",
                                s->cfg.max_server_connections));
    }
    struct req *rq = xcalloc(1, sizeof *rq);
    rq->s = s;
    rq->c = c;
    rq->route = r;
    rq->t0 = s->cur_t0;
    rq->state = RQ_BODY;
    rq->admitted = __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) == 1;
    rq->counted = true;
    rq->limit = limit;
    buf_init(&rq->body);
    *con_cls = rq;
    if (cl) {
        /* The announced length at once, exactly: no doubling, no copies while it arrives. */
        unsigned long long n = strtoull(cl, NULL, 10);
        /* Refused, the body is still read (and dropped) so the client sees the answer. */
        if (n && !body_reserve(rq, n)) rq->over_budget = true;
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    server *s = cls;
    struct req *rq = *con_cls;
    if (!rq) {
        conn *k = conn_of(c);
        if (k) conns_body(s->guard, k, now_ms());
        bool known;
        s->cur_route = route_of(url, &known);
        s->cur_t0 = time_mono_ns();
        s->cur_method = method;
        s->cur_url = url;
        s->cur_rq = NULL;
        return on_head(s, c, url, method, con_cls);
    }
    enum route ho = head_only_route(rq), pf = marker_route(rq, preflight);
    s->cur_route = ho ? ho : pf ? pf : rq->route;
    s->cur_t0 = ho || pf ? time_mono_ns() : rq->t0;
    s->cur_method = method;
    s->cur_url = url;
    s->cur_rq = ho || pf ? NULL : rq;
    if (pf) {
        if (*upload_size) { /* a preflight has no body; one sent is ignored */
            *upload_size = 0;
            return MHD_YES;
        }
        return queue(s, c, handle_preflight(s, c));
    }
    if (ho) {
        if (*upload_size) { /* a body sent with a ping is ignored */
            *upload_size = 0;
            return MHD_YES;
        }
        switch (ho) {
        case R_PING:
            return queue(s, c, handle_ping(s));
        case R_HEALTH:
            return queue(s, c, handle_health(s));
        case R_METRICS:
            return queue(s, c, handle_metrics(s));
        default:
            return queue(s, c, handle_influx_ping(s, c));
        }
    }
    if (*upload_size) {
        conn *k = conn_of(c);
        if (k) conns_body(s->guard, k, now_ms());
        rq->bytes_in += *upload_size;
        if (!rq->too_large && !rq->over_budget) {
            size_t need = rq->body.len + *upload_size;
            if (need > rq->limit) {
                rq->too_large = true;
                body_drop(rq);
            } else if (need > rq->body.cap &&
                       !body_reserve(rq, need > 2 * rq->body.cap ? need : 2 * rq->body.cap)) {
                rq->over_budget = true; /* the rest is read and dropped, then 503 */
                body_drop(rq);
            } else {
                buf_append(&rq->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    switch (rq->state) {
    case RQ_BODY:
        if (rq->too_large)
            return queue(s, c,
                         reply_fail(413, EC_GENERIC,
                                    "Payload Too Large: body is over the limit of %llu bytes",
                                    (unsigned long long)rq->limit));
        if (rq->over_budget) return queue(s, c, reply_busy(0));
        return dispatch(s, c, rq);
    case RQ_WORK:
        return MHD_YES; /* still with its worker */
    case RQ_DONE:
        break;
    }
    rq->parked = false;
    http_unpark(s);
    struct reply out = rq->out;
    rq->out.r = NULL;
    return queue(s, c, out);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    server *s = cls;
    conn *k = conn_of(c);
    if (k) conns_idle(s->guard, k, now_ms());
    struct req *rq = *con_cls;
    if (!rq || head_only_route(rq) || marker_route(rq, preflight)) return;
    if (rq->parked) http_unpark(s); /* resumed, then closed before the handler was called again */
    if (rq->out.r) MHD_destroy_response(rq->out.r);
    if (rq->counted) __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
    body_drop(rq);
    free(rq);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? conns_open(s->guard, ci->connect_fd, now_ms()) : NULL;
    } else {
        conns_close(s->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* Called when a request line has arrived (libmicrohttpd's URI logger). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c) {
    server *s = cls;
    conn *k = conn_of(c);
    if (k) conns_head(s->guard, k, now_ms());
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = 0;
    log_debug("http: %s", line);
}

/* ------------------------------------------------------------------ lifecycle */

/* Raises the descriptor limit to its hard maximum (every connection holds one) and returns
 * the limit in force. */
static size_t raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = old;
    }
    return (size_t)rl.rlim_cur;
}

/* Frees what the server holds besides its daemon and listener (a start that fails, or the
 * end of server_stop). */
static void server_free(server *s) {
    workers_free(s->pool);
    limiter_free(s->lim);
    usage_stop(s->use);
    metrics_free(s->met);
    cors_free(s->cors);
    conns_free(s->guard);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int server_start(const config *cfg, server **out, err *e) {
    server *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->listen_addr, &addr.sin_addr) != 1) {
        free(s);
        return err_set(e, 0, EC_GENERIC, "invalid listen address '%s'", cfg->listen_addr);
    }
    /* Connections: the guard's limit, then room above it for the ones it is closing (the
     * event loop closes them on its next turn) and descriptors for storage below the limit. */
    size_t nofile = raise_nofile();
    size_t room = nofile > 256 ? nofile - 128 : nofile / 2;
    size_t maxc = cfg->http_max_connections > 0 ? (size_t)cfg->http_max_connections
                                                : (nofile / 4 * 3 < 65536 ? nofile / 4 * 3 : 65536);
    if (maxc + maxc / 8 + 16 > room) {
        size_t fit = (room - 16) / 9 * 8;
        if (cfg->http_max_connections > 0)
            log_warn("http: http_max_connections %zu is more than the descriptor limit (%zu) "
                     "allows; using %zu",
                     maxc, nofile, fit);
        maxc = fit;
    }
    unsigned mhd_limit = (unsigned)(maxc + maxc / 8 + 16);
    int64_t backstop = cfg->http_idle_timeout_ms > cfg->http_body_timeout_ms
                           ? cfg->http_idle_timeout_ms
                           : cfg->http_body_timeout_ms;
    uint64_t budget = cfg->max_memory == CONFIG_AUTO ? membudget_default_limit() : cfg->max_memory;
    membudget_init(budget);
    /* glibc keeps freed memory unless told: fixed thresholds (the dynamic ones climb to 32 MiB
     * after one big free, then every big buffer lands in a heap that cannot shrink) and a few
     * arenas for many worker threads. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_ARENA_MAX, 4);
    conns_opts co = {.idle_ms = cfg->http_idle_timeout_ms,
                     .header_ms = cfg->http_header_timeout_ms,
                     .body_ms = cfg->http_body_timeout_ms,
                     .max = maxc};
    s->guard = conns_new(&co);
    s->pool = workers_new(4, 30000);
    s->met = metrics_new();
    s->cors = cors_new(cfg->cors_origins);
    s->request_level = log_level_parse(cfg->log_request_level);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    s->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)((backstop + 999) / 1000),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_END);
    if (!s->d) {
        int saved = errno;
        server_free(s);
        return err_set(e, 0, EC_GENERIC, "cannot listen on %s:%d: %s", cfg->listen_addr, cfg->port,
                       strerror(saved));
    }
    if (cfg->tsdb_tcp_port) {
        tsdb_tcp_opts to = {.host = cfg->tsdb_tcp_host[0] ? cfg->tsdb_tcp_host : cfg->listen_addr,
                            .port = cfg->tsdb_tcp_port,
                            .tenant = cfg->tsdb_tenant,
                            .db = cfg->tsdb_database,
                            .met = s->met};
        if (tsdb_tcp_open(&to, &s->tcp, e) < 0) {
            MHD_stop_daemon(s->d);
            server_free(s);
            return -1;
        }
    }
    conns_run_reaper(s->guard);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    log_debug("http: up to %zu connections (descriptor limit %zu), memory budget %llu bytes", maxc,
              nofile, (unsigned long long)budget);
    if (s->cors) log_info("http: CORS allowed for %s", cfg->cors_origins);
    *out = s;
    return 0;
}

void server_set_ready(server *s, catalog *cat, engine *eng) {
    s->cat = cat;
    s->eng = eng;
    s->lim = limiter_new(cat);
    s->use = usage_start(cat, eng, s->cfg.usage_interval_ms);
    err e;
    if (s->tcp && tsdb_tcp_serve(s->tcp, cat, eng, &e) < 0) log_error("%s", e.msg);
    __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
}

void server_quiesce(server *s) {
    __atomic_store_n(&s->ready, 2, __ATOMIC_RELEASE);
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void server_stop(server *s) {
    if (!s) return;
    /* MHD_stop_daemon closes open connections, so first let requests in flight (uploads
     * still arriving, responses still streaming) finish, for up to a minute. */
    int64_t deadline = time_mono_ns() + 60LL * 1000000000LL;
    while (__atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE) > 0 && time_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Then no new work, and wait for the work running (a worker cannot be interrupted). */
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    if (s->parked > 0) log_info("http: waiting for %d requests still running", s->parked);
    while (s->parked > 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    tsdb_tcp_stop(s->tcp); /* before the engine closes: it writes what it has read */
    server_free(s);
}

int server_port(const server *s) {
    return s->port;
}
