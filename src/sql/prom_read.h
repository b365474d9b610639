/* Prometheus remote read: one query's label matchers and time range answered from storage.
 *
 * Tables: with a `__name__ = "x"` matcher, table x alone; otherwise every table of the
 * database that has a numeric field `value` (DOUBLE, or BIGINT [UNSIGNED] made a double) and
 * whose name passes the __name__ matchers. A series' labels are `__name__` = its table's name
 * and its non-null tags (the `__name__` tag remote_write stores is that same name), sorted by
 * name. Matchers follow Prometheus: `=` `!=` `=~` `!~`, a missing label is the empty string,
 * regular expressions are fully anchored (`^(?:re)$`, PCRE2 as the SQL side runs them, with
 * its backtracking limits). Equalities with a value pick candidate series from the series
 * index's bitmaps; the others run once per series; the time range [start_ms, end_ms] bounds
 * the scan. Rows without a `value` are skipped.
 *
 * Answer: series sorted by their labels (Prometheus' order: label by label, name then value),
 * samples in time order, timestamps in milliseconds (finer ones are truncated). Everything is
 * allocated from arena a; when a carries a budget (util/arena.h) its memory limit and deadline
 * stop the read with "Resources exhausted" / "Query timeout" (500) instead of growing. Unknown
 * database 422 030017; a bad regular expression 422. Thread safe. */
#ifndef STRATA_SQL_PROM_READ_H
#define STRATA_SQL_PROM_READ_H

#include "ingest/prom.h"
#include "meta/catalog.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/err.h"

int prom_read_query(catalog *cat, engine *eng, const char *tenant, const char *db,
                    const prom_query *q, arena *a, prom_result *out, err *e);

#endif
