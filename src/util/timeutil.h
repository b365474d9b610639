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

/* v / d and v mod d rounded toward negative infinity (d > 0): 0 <= *r < d. */
void time_floor_divmod(int64_t v, int64_t d, int64_t *q, int64_t *r);

/* Checked time arithmetic: each returns false, leaving *out alone, when the result (or a step
 * toward it) leaves the int64 range of the unit, so callers report an error instead of a
 * wrapped date (1970 + 300 years is not 1685). */
/* days * (units of u per day) + tod. */
bool time_from_days(int64_t days, int64_t tod, enum tunit u, int64_t *out);
/* ts + sign * iv in unit u: months move the civil date keeping the time of day (the day is
 * clamped to the new month's length), then days (86400 s each) and nanoseconds are added. */
bool time_add_interval(int64_t ts, enum tunit u, interval iv, int sign, int64_t *out);
/* A duration of ns nanoseconds as whole days and the nanoseconds left, both with ns's sign
 * (how DataFusion splits a timestamp difference, and CnosDB a state's duration); false when the
 * days pass Int32. */
bool interval_from_ns(__int128 ns, interval *out);

/* Parses interval text as DataFusion 27 does ("1 day 2 hours", "1.5 hours", "3"): amount and
 * unit pairs separated by spaces, a bare amount taken in default_unit; fractions carry down
 * (a month is 30 days, a day 24 hours). Used by INTERVAL literals and CAST(... AS INTERVAL)
 * alike. False with CnosDB's message in msg on bad syntax or a field out of range. */
bool interval_parse(const char *s, size_t n, const char *default_unit, interval *out, char *msg,
                    size_t msgsz);

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
/* `HH:MM:SS[.fff[fff[fff]]]` of nanoseconds since midnight (0 <= ns < 86400e9), the fraction
 * trimmed as chrono's NaiveTime shows it; out needs 24 bytes. */
size_t time_format_time(char *out, int64_t ns);

/* Parses a humantime duration (`10d`, `2y1M`, `1h 30m`, `500ms`, `inf` is NOT accepted here)
 * into nanoseconds. Units: ns nsec nanos, us usec micros, ms msec millis, s sec secs second
 * seconds, m min mins minute minutes, h hr hrs hour hours, d day days, w week weeks,
 * M month months (30.44 days), y year years (365.25 days). A bare integer is taken in
 * `bare_unit_ns` units (pass 0 to refuse bare numbers). Returns false on error/overflow. */
bool duration_parse(const char *s, size_t n, int64_t bare_unit_ns, int64_t *ns);
/* The same, but a well-formed duration past INT64_MAX nanoseconds (~292 years: CnosDB takes a
 * TTL of '1000000d') gives INT64_MAX, longer than any timestamp can be old. */
bool duration_parse_sat(const char *s, size_t n, int64_t bare_unit_ns, int64_t *ns);
/* Humantime's compact form: `1year`, `2years 1month`, `10days`, `1h`... written to out
 * (needs 128 bytes); 0 → `0s`. */
size_t duration_format(char *out, int64_t ns);

#endif
