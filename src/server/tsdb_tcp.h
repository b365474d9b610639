/* OpenTSDB's telnet-style TCP listener (opentsdb.tcp_listen_port; off by default), for the
 * senders that speak only it: collectd's write_tsdb, tcollector, scollector, `nc`.
 *
 * Protocol, as OpenTSDB's telnet interface: lines ended by LF or CRLF, each a command.
 *   put <metric> <timestamp> <value> <tagk>=<tagv> [...]   a point; nothing is answered on
 *       success, an error line `put: illegal argument: <why>` otherwise (the connection stays
 *       open). The point goes to opentsdb.tenant / opentsdb.database as /api/put's do (table =
 *       metric, tags, one DOUBLE field `value`; a timestamp of up to 10 digits is in seconds,
 *       a longer one in milliseconds: ingest/opentsdb.h).
 *   version   answered with two lines naming Strata and its version.
 *   help      the list of commands.   exit   closes the connection.
 *   anything else: `unknown command: <word>.  Try `help'.`
 * A line longer than TSDB_TCP_MAX_LINE bytes is answered with an error and skipped up to its
 * end. There is no authentication (OpenTSDB's telnet has none): it binds to
 * opentsdb.tcp_listen_host, by default the HTTP listen address (loopback unless configured).
 *
 * Threads: one thread polls the listening socket and every connection (at most
 * TSDB_TCP_MAX_CONNS; more are closed at once). Each round, the valid `put` lines read from
 * all connections are written as one record (group commit: while a write waits for its
 * fsync, the next round's lines gather in the sockets); if that write fails (the database is
 * missing, a type conflict), each line is written alone so that only the bad ones are
 * answered with an error. A client that sends without reading its error lines is not read
 * from while more than 256 KiB of answers wait for it.
 *
 * Lifecycle: tsdb_tcp_open binds (so a port in use stops the start, as the HTTP port does),
 * tsdb_tcp_serve starts the thread once the catalog and engine are open, tsdb_tcp_stop writes
 * what was read, closes every connection and joins. */
#ifndef STRATA_SERVER_TSDB_TCP_H
#define STRATA_SERVER_TSDB_TCP_H

#include "meta/catalog.h"
#include "server/metrics.h"
#include "storage/engine.h"
#include "util/err.h"

#define TSDB_TCP_MAX_LINE 65536
#define TSDB_TCP_MAX_CONNS 1024

typedef struct tsdb_tcp tsdb_tcp;

typedef struct tsdb_tcp_opts {
    const char *host;
    int port;
    const char *tenant, *db;
    metrics *met; /* counted here (NULL = not counted) */
} tsdb_tcp_opts;

int tsdb_tcp_open(const tsdb_tcp_opts *o, tsdb_tcp **out, err *e);
/* The port bound. */
int tsdb_tcp_port(const tsdb_tcp *t);
/* Starts serving; -1 (e) when the thread cannot start. */
int tsdb_tcp_serve(tsdb_tcp *t, catalog *cat, engine *eng, err *e);
/* Stops (if serving), writes the lines already read, closes everything, frees. NULL is fine. */
void tsdb_tcp_stop(tsdb_tcp *t);

#endif
