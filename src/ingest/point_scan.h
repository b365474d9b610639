/* Scanning helpers shared by the ingestion parsers (line protocol, OpenTSDB text).
 *
 * Numbers: each scanner reads the longest valid prefix of p[0..n) and returns how many bytes
 * it took (0 when no number starts at p), so a caller checks the byte after it for a proper
 * terminator and reports the whole token when it is not one. Nothing here allocates except
 * point_scan_f64's rare fallback for numbers longer than 128 bytes (a temporary heap copy).
 * UTF-8 validation and the rendering of bytes for messages live in util/utf8.h.
 *
 * All functions are pure and thread safe. */
#ifndef STRATA_INGEST_POINT_SCAN_H
#define STRATA_INGEST_POINT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/utf8.h"

/* Decimal floating point: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?.
 * No hex, no inf/nan, no leading spaces. An exponent marker not followed by digits is not
 * taken (so "1e" reads as "1" and leaves "e"). *out is bit-identical to strtod's result for
 * the same text; it is ±HUGE_VAL when the number overflows a double, which callers reject. */
size_t point_scan_f64(const char *p, size_t n, double *out);

/* [+-]? digits. *overflow is set when the value does not fit an int64. */
size_t point_scan_i64(const char *p, size_t n, int64_t *out, bool *overflow);

/* digits (no sign). *overflow is set when the value does not fit a uint64. */
size_t point_scan_u64(const char *p, size_t n, uint64_t *out, bool *overflow);

/* 1-based line number of byte offset off in p (counts the '\n' before it). For error paths. */
uint32_t point_line_of(const char *p, size_t off);

#endif
