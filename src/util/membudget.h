/* The server-wide memory budget: one number (memory.max_memory) that bounds what requests,
 * parsing, caches, the series index and queries may hold at once, so that load beyond it is
 * refused with a clear error instead of growing the process until the kernel kills it.
 *
 * Accounting, not allocation: a user reserves bytes before it allocates them (or as they
 * grow) and releases them when freed. membudget_try_reserve fails, reserving nothing, when the
 * total would pass the limit; what to do then is the caller's: a write answers 503 with
 * Retry-After, a query fails with "Resources exhausted". Each kind is counted apart so
 * /metrics can show where memory goes. The counters are atomics: a reservation costs one
 * atomic add (and a subtraction when it fails); no lock is taken.
 *
 * The budget is process-wide (one server per process): membudget_init sets the limit once at
 * start, before requests are served; 0 means no limit (accounting still happens). The default
 * (membudget_default_limit) is 3/4 of the memory the process may use: the cgroup limit if one
 * is set, else MemTotal. Thread safe. */
#ifndef STRATA_UTIL_MEMBUDGET_H
#define STRATA_UTIL_MEMBUDGET_H

#include <stdbool.h>
#include <stdint.h>

enum membudget_kind {
    MEMBUDGET_BODY,     /* request bodies as they arrive, and their decoded copies */
    MEMBUDGET_PARSE,    /* points and write records built from a body */
    MEMBUDGET_MEMCACHE, /* rows in memcaches, not yet flushed */
    MEMBUDGET_INDEX,    /* the series index */
    MEMBUDGET_QUERY,    /* sorts, aggregations and other operator state */
    MEMBUDGET_NKINDS
};

void membudget_init(uint64_t limit_bytes);
/* Reserves n bytes of kind k; false (nothing reserved) when the total would pass the limit. */
bool membudget_try_reserve(enum membudget_kind k, uint64_t n);
/* Counts n bytes of kind k even past the limit: memory already committed to, which cannot be
 * refused (rows of a write whose log record is durable going into a memcache, the series they
 * register). What it pushes past the limit makes the next reservations fail, so new writes
 * wait for a flush. */
void membudget_charge(enum membudget_kind k, uint64_t n);
/* Gives back n bytes of kind k reserved or charged earlier. */
void membudget_release(enum membudget_kind k, uint64_t n);
/* Bytes reserved now, in all and by kind. */
uint64_t membudget_used(void);
uint64_t membudget_used_by(enum membudget_kind k);
uint64_t membudget_limit(void);
/* "body", "parse", "memcache", "index", "query". */
const char *membudget_kind_name(enum membudget_kind k);
/* 3/4 of the cgroup memory limit, or of MemTotal when there is none; 0 if neither is known. */
uint64_t membudget_default_limit(void);

#endif
