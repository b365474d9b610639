/* GET /metrics: the server's state and counters in Prometheus' text format (version 0.0.4).
 *
 * Counted as they happen (lock-free counters, any thread): every answer by route and status and
 * how long it took from its head to its answer (a histogram per route); points and bytes
 * written; WAL syncs and bytes, flushes and compactions (storage's engine_counters); the
 * OpenTSDB telnet listener's connections and lines. Read when scraped: per database (tenant and
 * name, not ids) its series, files, file bytes, cache bytes and WAL bytes; the process's resident
 * memory and the memory budget and its use by kind; open connections. */
#ifndef STRATA_SERVER_METRICS_H
#define STRATA_SERVER_METRICS_H

#include <stdint.h>

#include "meta/catalog.h"
#include "storage/engine.h"
#include "util/buf.h"

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);
/* An answer: route index (< nroutes given to the text), HTTP status, seconds from head to it. */
void metrics_answer(metrics *m, unsigned route, unsigned status, double seconds);
void metrics_written(metrics *m, uint64_t points, uint64_t bytes);
/* OpenTSDB's telnet listener: conns connections opened (> 0) or closed (< 0), lines read, of
 * which bad were answered with an error. */
void metrics_tsdb_tcp(metrics *m, int conns, uint64_t lines, uint64_t bad);
/* The exposition: routes[i] names route i; open = open connections. */
void metrics_text(metrics *m, const char *const *routes, unsigned nroutes, catalog *c, engine *g,
                  uint64_t open, buf *out);

#endif
