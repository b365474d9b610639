/* Number text for the result encoders: shortest round-trip digits of a double, written either
 * the way arrow's CSV/display code (lexical-core) writes it or the way serde_json (ryu) does,
 * plus plain integer writers. Pure functions, thread safe.
 *
 * Shortest digits: the fewest significant digits that read back (strtod, round-half-even) as
 * exactly the same double, and of those the closest to it, as ryu/dragonbox give. */
#ifndef STRATA_FORMAT_FMT_NUM_H
#define STRATA_FORMAT_FMT_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Digits of a finite, nonzero double's magnitude: digits[0..n) with no leading or trailing
 * zeros (n <= 17), and sci_exp such that |d| = digits[0].digits[1..] x 10^sci_exp. Returns n. */
int fmt_shortest(double d, char digits[17], int *sci_exp);

/* fmt_double (format.h) is the lexical-core style; this is serde_json's: `1.0`, `0.1`,
 * `1e20`, `1.5e-7`, `0.00001`, `1000000000000000.0` (needs 32 bytes). Non-finite values,
 * which JSON cannot hold, are written as `null`. */
size_t fmt_double_json(char *out, double d);
/* The same for a Float32, from its shortest float digits. */
size_t fmt_float_json(char *out, float f);

/* Rust's Display of an f64, which DataFusion's names and plans show (`Float64(50)`,
 * `Float64(0.1)`, `Float64(12345678865)`): shortest digits, never an exponent, no fraction
 * for a whole number; `NaN`, `inf`. out needs 330 bytes. */
size_t fmt_double_plain(char *out, double d);

/* Decimal integers (out needs 21 bytes). */
size_t fmt_u64(char *out, uint64_t v);
size_t fmt_i64(char *out, int64_t v);

#endif
