/* The write path: from parsed points to a durable write.
 *
 * For one request: resolves the database, checks every point's columns against the catalog
 * (creating tables and columns on first use), converts timestamps from the request precision to
 * the database's, rejects rows older than the database's TTL, groups rows by table and series,
 * and hands one record to the storage engine, returning once it is durable. All or nothing:
 * any error rejects the whole request before storage sees it. The schema step covers all the
 * request's tables at once (catalog_ensure_tables), so a type conflict anywhere is refused
 * before the catalog changes; tables and columns made for a request that then fails for another
 * reason (a row past the TTL, a timestamp overflow) remain, as in CnosDB.
 *
 * Errors: 422 030017 unknown database; 422 050014 type conflicts (with the stored schema, or
 * between lines of the request, naming table, column and line); 422 030034 rows past the TTL;
 * 422 050014 `timestamp overflow` when a timestamp cannot be expressed in the database's
 * precision. Thread safe; memory from the request arena. */
#ifndef STRATA_INGEST_WRITE_H
#define STRATA_INGEST_WRITE_H

#include <stdint.h>

#include "ingest/point.h"
#include "meta/catalog.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/err.h"

/* Nanoseconds per unit of the request's precision parameter (ns 1, us 1e3, ms 1e6, s 1e9,
 * m 60e9, h 3600e9); 0 if the text is not a precision. Case-insensitive. */
int64_t write_precision_ns(const char *text);

int ingest_write(catalog *cat, engine *eng, const char *tenant, const char *db,
                 int64_t precision_ns, point_batch *pts, arena *a, err *e);

/* The same write in steps, so a large body can be parsed and encoded a slice of points at a
 * time and its points never all sit in memory: ingest_begin, ingest_add for each batch (the
 * batch and arena `a` may be reset after it returns), then ingest_commit writes the one record
 * (all or nothing, as ingest_write). The record lives in the arena given to ingest_begin;
 * points without a timestamp all get the instant of ingest_begin. */
typedef struct ingest_req {
    wrec *w;
    uint64_t db_id;
    int64_t now_ns;
    size_t points;
} ingest_req;

void ingest_begin(ingest_req *r, arena *ra);
int ingest_add(catalog *cat, const char *tenant, const char *db, int64_t precision_ns,
               point_batch *pts, arena *a, ingest_req *r, err *e);
int ingest_commit(engine *eng, ingest_req *r, err *e);

#endif
