/* Time: the clock, civil-time conversion, timestamp text in and out, and durations.
 *
 * Timestamps are int64 counts of a unit (enum tunit) since 1970-01-01T00:00:00Z, proleptic
 * Gregorian calendar, no leap seconds. All functions are pure and thread safe. */
#ifndef STRATA_UTIL_TIMEUTIL_H
#define STRATA_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/types.h"

int64_t time_now_ns(void);
/* Monotonic clock in nanoseconds, for timeouts and measurements. */
int64_t time_mono_ns(void);

/* Days since the epoch of a civil date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Converts v from unit `from` to unit `to`; finer→coarser truncates toward negative infinity
 * (floor), coarser→finer fails (returns false) on overflow. */
bool tunit_convert(int64_t v, enum tunit from, enum tunit to, int64_t *out);

/* Parses a timestamp literal into nanoseconds since the epoch (UTC).
 * Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.f{1,9}]]` with `T` or a space, an optional
 * zone `Z`, `z`, `+HH:MM`, `+HHMM`, `+HH` or `-...`; no zone means UTC. Surrounding spaces are
 * not accepted. Returns false on anything else. */
bool time_parse_ts(const char *s, size_t n, int64_t *ns);

/* Text forms of a timestamp of unit u, written to out (needs 40 bytes), returning the length.
 *   TSFMT_FIXED9: `YYYY-MM-DDTHH:MM:SS.fffffffff` (CSV/TSV, always 9 digits)
 *   TSFMT_TRIM:   fraction trimmed to 0, 3, 6 or 9 digits (JSON, table)
 * with_tz appends `+00:00` (FIXED9) or `Z` (TRIM). Years outside 0..9999 are written with a
 * sign and as many digits as needed. */
enum ts_style { TSFMT_FIXED9 = 0, TSFMT_TRIM = 1 };
size_t time_format(char *out, int64_t v, enum tunit u, enum ts_style style, bool with_tz);
/* `YYYY-MM-DD` of a day count since the epoch (years as above); out needs 24 bytes. */
size_t time_format_date(char *out, int64_t days);

/* Parses a humantime duration (`10d`, `2y1M`, `1h 30m`, `500ms`, `inf` is NOT accepted here)
 * into nanoseconds. Units: ns nsec nanos, us usec micros, ms msec millis, s sec secs second
 * seconds, m min mins minute minutes, h hr hrs hour hours, d day days, w week weeks,
 * M month months (30.44 days), y year years (365.25 days). A bare integer is taken in
 * `bare_unit_ns` units (pass 0 to refuse bare numbers). Returns false on error/overflow. */
bool duration_parse(const char *s, size_t n, int64_t bare_unit_ns, int64_t *ns);
/* Humantime's compact form: `1year`, `2years 1month`, `10days`, `1h`... written to out
 * (needs 128 bytes); 0 → `0s`. */
size_t duration_format(char *out, int64_t ns);

#endif
