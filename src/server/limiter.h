/* Tenant request limits: CnosDB's `_limiter` request_config as token buckets.
 *
 * A tenant's limits are the JSON its CREATE/ALTER TENANT options left in the catalog
 * (catalog_tenant_limiter): per kind (http_queries, http_writes, http_data_in, http_data_out and
 * the coord_* twins, which a single node meets at the same points), a local bucket (local_max,
 * starting at local_initial) and a remote one (remote_max, starting at remote_initial, refilled
 * by remote_refill every remote_interval milliseconds). A request takes from the local bucket
 * first, then from the remote one; once both are empty it is refused with 429 and CnosDB's
 * "<Kind> reached limit" (030024) until the remote bucket refills. Kinds a tenant does not
 * configure are unlimited, and each tenant has its own buckets, so one tenant never drains
 * another's. Data out is known only after the answer: it is charged then, and a bucket it
 * empties refuses the tenant's next requests until refilled.
 *
 * Thread-safe; the configuration is re-read when the catalog's tenants change. */
#ifndef STRATA_SERVER_LIMITER_H
#define STRATA_SERVER_LIMITER_H

#include <stdint.h>

#include "meta/catalog.h"
#include "util/err.h"

typedef struct limiter limiter;

enum lim_event { LIM_QUERY, LIM_WRITE, LIM_DATA_IN, LIM_DATA_OUT };

limiter *limiter_new(catalog *c);
void limiter_free(limiter *l);
/* Takes n of the event's tokens (in both its http_ and coord_ buckets); -1 with a 429 error if
 * either is empty. */
int limiter_take(limiter *l, const char *tenant, enum lim_event ev, uint64_t n, err *e);
/* Charges n after the fact (may take a bucket below zero). */
void limiter_charge(limiter *l, const char *tenant, enum lim_event ev, uint64_t n);

#endif
