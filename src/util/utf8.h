/* UTF-8: strict validation, the length of one valid sequence, and a printable rendering of
 * untrusted bytes for error messages and logs.
 *
 * Validation is strict (no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequences), with an ASCII fast path that checks 16 bytes per step. Pure and thread safe. */
#ifndef STRATA_UTIL_UTF8_H
#define STRATA_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when p[0..n) is valid UTF-8; otherwise false with *bad (if not NULL) = offset
 * of the first byte of the first invalid or truncated sequence. */
bool utf8_valid(const char *p, size_t n, size_t *bad);

/* Length of the valid sequence at p[0..n) (1 to 4), or 0 when none starts there. */
size_t utf8_seq(const char *p, size_t n);

/* Writes a printable rendering of p[0..n) into out (size cap, always NUL-terminated): control
 * bytes become \n, \r, \t or \xNN, so do bytes that are not part of a valid sequence, and
 * text longer than about 64 bytes is cut at a character boundary and ends with "...". */
void utf8_show(char *out, size_t cap, const char *p, size_t n);

#endif
