/* UTF-8 text helpers for the SQL functions: character counts and case mapping.
 *
 * Case mapping follows DataFusion's upper()/lower() (Rust's char::to_uppercase/to_lowercase)
 * as far as glibc's C.UTF-8 tables reach: every letter with a one-to-one mapping (ü/Ü, σ/Σ,
 * а/А ...), plus ß -> SS; context-dependent forms (Greek final sigma) and the other one-to-many
 * mappings are left out. Bytes that are not valid UTF-8 are copied unchanged. */
#ifndef STRATA_SQL_UTF8_H
#define STRATA_SQL_UTF8_H

#include <stdbool.h>

#include "util/arena.h"
#include "util/types.h"

/* Number of characters (bytes that are not continuation bytes). */
uint32_t utf8_chars(strv s);
/* s in upper or lower case, memory from a. */
strv utf8_case(arena *a, strv s, bool upper);

#endif
