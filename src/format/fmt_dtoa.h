/* Shortest round-trip digits of a double (fmt_dtoa.cc, over libdouble-conversion).
 *
 * For a finite, nonzero v: writes the fewest significant digits d1 d2 ... dn (no sign, no
 * trailing zeros, NUL after them) such that d1.d2...dn x 10^sci_exp reads back as |v|, the
 * nearest such when several have that length; returns n (1..17). Thread safe. */
#ifndef STRATA_FORMAT_FMT_DTOA_H
#define STRATA_FORMAT_FMT_DTOA_H

#ifdef __cplusplus
extern "C" {
#endif

int fmt_dtoa_shortest(double v, char digits[18], int *sci_exp);
/* The same for a float: the fewest digits that read back as the same float (n <= 9). */
int fmt_dtoa_shortest_single(float v, char digits[18], int *sci_exp);

#ifdef __cplusplus
}
#endif

#endif
