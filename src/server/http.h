/* The HTTP API (CnosDB's routes and status codes; see ../shared/api-contract.md).
 *
 * Routes: GET|HEAD /api/v1/ping; POST /api/v1/sql, /api/v1/write, /write (InfluxDB 1.x),
 * /api/v1/opentsdb/write, /api/v1/opentsdb/put. A trailing slash is accepted.
 *
 * Threads: one event loop thread (libmicrohttpd with epoll) reads and writes every
 * connection; each request, once its body has arrived, runs on a worker thread of its own
 * (server/workers.h) while its connection is suspended, so a blocked write (waiting for its
 * WAL fsync) or a long query never delays another connection, and ping is answered by the
 * event loop itself. query.max_server_connections bounds the requests admitted (head
 * received, not yet answered; 429 beyond); idle connections and half-sent heads cost a
 * descriptor and no thread, are closed by deadline (service.http_*_timeout), and the longest
 * waiting one is closed when service.http_max_connections are open (server/conns.h).
 *
 * Lifecycle: server_start listens at once and answers 503 until server_set_ready (the engine
 * is replaying its WAL meanwhile); server_quiesce stops accepting connections and makes
 * requests on open connections answer 503; server_stop waits for requests in flight. */
#ifndef STRATA_SERVER_HTTP_H
#define STRATA_SERVER_HTTP_H

#include "meta/catalog.h"
#include "storage/engine.h"
#include "util/config.h"
#include "util/err.h"

typedef struct server server;

int server_start(const config *cfg, server **out, err *e);
void server_set_ready(server *s, catalog *cat, engine *eng);
void server_quiesce(server *s);
void server_stop(server *s);
/* The port actually bound (useful with port 0). */
int server_port(const server *s);

#endif
