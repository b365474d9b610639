/* The HTTP API (CnosDB's routes and status codes; see ../shared/api-contract.md).
 *
 * Routes: GET|HEAD /api/v1/ping; POST /api/v1/sql, /api/v1/write, /write (InfluxDB 1.x),
 * /api/v1/opentsdb/write, /api/v1/opentsdb/put. A trailing slash is accepted.
 *
 * Threads: libmicrohttpd runs one thread per connection. Requests block (a write waits for
 * its WAL fsync, a streamed query pulls batches as the client reads), and per-connection
 * threads let every concurrent writer join the same group commit and let a streaming response
 * run the executor in the thread that sends it. Concurrency is bounded by
 * query.max_server_connections: requests beyond it get 429.
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
