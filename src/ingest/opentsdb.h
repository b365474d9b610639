/* OpenTSDB ingestion formats.
 *
 * Text (`/api/v1/opentsdb/write`): one point per line,
 *   `[put ]<metric> <timestamp> <value> <tagk>=<tagv>[ <tagk>=<tagv>...]`
 * with any number of lines, integer or decimal values (a superset of CnosDB, which takes one
 * integer point per request). Errors: code 040010, HTTP 400, naming the line; invalid UTF-8
 * is code 040015, HTTP 422, as for line protocol.
 *
 * JSON (`/api/v1/opentsdb/put`): one object or an array of objects
 *   {"metric": str, "timestamp": int, "value": number, "tags": {str: str, ...}}
 * all four keys required, unknown keys ignored. Errors: code 040011, HTTP 400, naming the
 * element (1-based, as point.line). Both produce points of table = metric, sorted tags, one
 * DOUBLE field `value`. Names and values point into the body (which must outlive the points)
 * unless they hold escapes, whose unescaped text is in the arena. A tag key given twice in one
 * point is an error in both formats. Thread safe; allocates only from the arena. */
#ifndef STRATA_INGEST_OPENTSDB_H
#define STRATA_INGEST_OPENTSDB_H

#include <stddef.h>

#include "ingest/point.h"
#include "util/arena.h"
#include "util/err.h"

int tsdb_parse_text(arena *a, const char *body, size_t len, point_batch *out, err *e);
int tsdb_parse_json(arena *a, const char *body, size_t len, point_batch *out, err *e);
/* The same a slice at a time (see point_cursor): up to max points per call. */
int tsdb_text_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e);
int tsdb_json_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e);
/* OpenTSDB's own JSON (its /api/put): as tsdb_json_next, and a value or timestamp may also be a
 * string holding the number ("42.5", "1700000000"), as OpenTSDB accepts them. */
int tsdb_json_ot_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e);
/* OpenTSDB's own timestamps (its /api/put and telnet `put`): up to 10 digits are seconds,
 * longer ones milliseconds (OpenTSDB's rule); made nanoseconds, saturating. */
void tsdb_units_to_ns(point_batch *pb);

#endif
