/* Decimal128(p, s): DataFusion's exact decimal, a 128-bit integer v meaning v / 10^s whose
 * magnitude stays below 10^p (1 <= p <= 38, 0 <= s <= p).
 *
 * Representation. A VT_DEC128 slot is a dec128 (two 64-bit halves, so vectors and values keep
 * 8-byte alignment; kernels compute on the compiler's __int128). The type's (p, s) travels in
 * the one byte every vector, value, bound expression and result schema already carries for a
 * timestamp's unit: that byte is a code for the pair, so every place that copies a type and its
 * unit copies a decimal's precision and scale without knowing about them. Codes are handed out
 * per process, on first use of a pair, from a table of 256; code 0 is DataFusion's default
 * Decimal128(38, 10). Nothing persists a code: external tables keep their Arrow type names and
 * decode them on reading. A query needing a 257th distinct pair fails (dec_code returns -1).
 *
 * Arithmetic follows DataFusion 27: result types by dec_result_type, values in 128 bits with
 * the overflow of those 128 bits reported; conversions round half away from zero, as arrow's
 * casts do. Thread safety: codes are added under a lock and never change once handed out, so
 * readers need none. */
#ifndef STRATA_UTIL_DEC_H
#define STRATA_UTIL_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/types.h"

__extension__ typedef __int128 i128;

#define DEC_MAX_PREC 38
/* Longest text of a Decimal128: sign, 38 digits, point, leading "0", NUL. */
#define DEC_TEXT_MAX 48

static inline i128 dec_get(dec128 d) {
    return (i128)(((unsigned __int128)(uint64_t)d.hi << 64) | d.lo);
}
static inline dec128 dec_put(i128 v) {
    dec128 d = {(uint64_t)v, (int64_t)(v >> 64)};
    return d;
}

static inline dec128 dec_add_wrap(dec128 a, dec128 b) {
    unsigned __int128 r = (unsigned __int128)dec_get(a) + (unsigned __int128)dec_get(b);
    return dec_put((i128)r);
}

/* The code of (p, s), or -1 when the table is full or (p, s) is not a Decimal128 type. */
int dec_code(int p, int s);
int dec_prec(uint8_t code);
int dec_scale(uint8_t code);
/* "Decimal128(38, 10)" and "DECIMAL(38,10)" for a code (static strings). */
const char *dec_arrow_name(uint8_t code);
const char *dec_sql_name(uint8_t code);

/* 10^n for 0 <= n <= 38. */
i128 dec_pow10(int n);
/* Whether |v| < 10^p. */
bool dec_fits(i128 v, int p);
/* v (scale from) at scale to: exact upward (false on overflow of 128 bits), rounded half away
 * from zero downward. */
bool dec_rescale(i128 v, int from, int to, i128 *out);
/* Text to a decimal of scale s: [+-]digits[.digits][e[+-]n], surrounding blanks allowed; false
 * when it is not a number or does not fit 38 digits. Fractional digits past s are rounded half
 * away from zero (arrow's CAST) or, with truncate, dropped (arrow's CSV and JSON readers). */
bool dec_parse(const char *p, size_t n, int s, bool truncate, i128 *out);
/* A double to scale s, rounded; false when it is not finite or does not fit 38 digits. */
bool dec_from_f64(double f, int s, i128 *out);
double dec_to_f64(i128 v, int s);
/* The text with exactly s fractional digits (arrow's display); returns its length. */
size_t dec_format(i128 v, int s, char out[DEC_TEXT_MAX]);

/* DataFusion 27's result type of a op b for decimals (op: '+', '-', '*', '/', '%'), as a code;
 * -1 when no code is left. */
int dec_result_code(char op, uint8_t a, uint8_t b);
/* The common type two decimals are compared and unified in (get_wider_decimal_type). */
int dec_wider_code(uint8_t a, uint8_t b);
/* The Decimal128 a number turns into beside a decimal (a decimal: itself): Int64 and UInt64
 * (20, 0), Int32 (10, 0); in comparisons Float64 (30, 15) and Float32 (14, 7). */
int dec_code_of_num(uint8_t vt, uint8_t unit);

#endif
