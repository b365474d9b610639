/* usage_schema: the server's own metrics, written as CnosDB writes them.
 *
 * The HTTP layer counts, per tenant, what it served (usage_count); every report interval
 * (`usage.report_interval`, 10 s) a thread writes the cumulative counters, and each vnode's
 * cache and disk size, as points of the tenant cnosdb's database usage_schema, through the
 * ordinary write path (so they are durable, compressed and queryable like any data):
 *   http_data_in, http_data_out, http_queries, http_writes   tags api, database, host, node_id,
 *                                                            tenant, user
 *   coord_data_in, coord_data_out, coord_queries, coord_writes, sql_data_in
 *                                                            tags database, node_id, tenant
 *   vnode_cache_size, vnode_disk_storage                     tags database, node_id, tenant,
 *                                                            vnode_id
 * each with one field `value` (BIGINT UNSIGNED). Every tenant reads its own rows of them as
 * usage_schema.<table> (plan_from.c filters on the tenant tag); only administrators in cnosdb
 * see every tenant's. Counters start from zero at each start, as CnosDB's do. */
#ifndef STRATA_SERVER_USAGE_H
#define STRATA_SERVER_USAGE_H

#include <stdint.h>

#include "meta/catalog.h"
#include "storage/engine.h"

typedef struct usage usage;

enum usage_metric {
    U_HTTP_DATA_IN,
    U_HTTP_DATA_OUT,
    U_HTTP_QUERIES,
    U_HTTP_WRITES,
    U_COORD_DATA_IN,
    U_COORD_DATA_OUT,
    U_COORD_QUERIES,
    U_COORD_WRITES,
    U_SQL_DATA_IN,
    U__COUNT
};

/* Starts the reporting thread (interval_ms 0: counts, never writes). */
usage *usage_start(catalog *c, engine *g, int64_t interval_ms);
/* Stops the thread; no report is written after it returns. */
void usage_stop(usage *u);
/* Adds to counters of one tenant, database, user and api: adds[i].n to adds[i].metric. The
 * http_* metrics use api and user; the others ignore them. One lock for all. */
struct usage_add {
    enum usage_metric metric;
    uint64_t n;
};
void usage_count(usage *u, const char *tenant, const char *db, const char *user, const char *api,
                 const struct usage_add *adds, size_t nadds);
/* Writes one report now (tests). */
void usage_report(usage *u);

#endif
