/* InfluxDB line protocol parser.
 *
 * Parses a whole request body into points (all or nothing: the first error fails the call and
 * names the 1-based line and the byte offset). Thread safe; allocates only from the arena.
 *
 * Syntax (CnosDB's reading of InfluxDB's): `measurement[,tag=val...] field=val[,field=val...]
 * [timestamp]`, lines split by `\n` (a `\r` before it is dropped), blank lines and lines whose
 * first non-space byte is `#` skipped, sections separated by runs of ASCII spaces (a tab is
 * part of a name). A newline always ends a line except inside a string value.
 * Escapes: backslash before `,` ` ` `=` `\` `"` `'` in names and tag values (any other escaped
 * byte is an error); backslash before `"` or `\` in string field values (before anything else
 * it is kept as written). Unescaping yields the real text: `a\\b` is `a\b` (CnosDB keeps both
 * backslashes in names). Tokens without an escape point into the body (zero-copy); only those
 * with one are copied into the arena. Field values: `"string"`, booleans
 * (t T true True TRUE f F false False FALSE), `123i` BIGINT, `123u` BIGINT UNSIGNED, anything
 * else numeric is DOUBLE. Rejected: integer overflow, NaN and ±Inf, bare words, invalid UTF-8,
 * a line without fields, an unterminated string, a malformed timestamp, an empty measurement,
 * tag key, tag value or field key, and `time` as a tag or field key. The timestamp (optional,
 * signed int64) is kept raw, in the request's precision.
 *
 * Error messages follow CnosDB's wording with the line number added, e.g.
 * `Error parsing message: line 3: unexpect token 'x' at 17` (code 040004, HTTP 422);
 * invalid UTF-8 is code 040015 `Invalid utf-8 sequence: line N, byte offset M`. */
#ifndef STRATA_INGEST_LP_H
#define STRATA_INGEST_LP_H

#include <stddef.h>

#include "ingest/point.h"
#include "util/arena.h"
#include "util/err.h"

/* Appends the body's points to out (which may already hold points). */
int lp_parse(arena *a, const char *body, size_t len, point_batch *out, err *e);
/* The same a slice at a time (see point_cursor): up to max points per call. */
int lp_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e);

#endif
