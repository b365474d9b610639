/* String pattern matching for LIKE / ILIKE.
 *
 * A pattern is compiled once (at bind time when it is a constant, else once per row) into the
 * literal segments between its `%` signs; `_` inside a segment stands for one UTF-8 character
 * and a backslash makes the next byte literal. Matching needs no backtracking: the first segment
 * is anchored at the start of the text (unless the pattern begins with `%`), the last at its
 * end (unless it ends with `%`), and every middle segment is taken at its leftmost occurrence
 * after the previous one, which is optimal because `%` absorbs any gap. No recursion, so a
 * pattern of 3 MB of `%a` costs no stack; time is O(text) per segment found with memmem
 * (segments without `_`), O(text x segment) at worst for segments with `_`, and long searches
 * check the query's deadline (budget_check) as they go. ILIKE folds ASCII letters only, as the
 * byte comparison it replaces did. */
#ifndef STRATA_SQL_PATTERN_H
#define STRATA_SQL_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"

typedef struct like_pat like_pat;

/* Compiles pattern p (memory from a); ci = ILIKE. */
like_pat *like_compile(arena *a, strv p, bool ci);
/* 1 when s matches, 0 when it does not, -1 with the error when the budget of a (util/arena.h)
 * ran out during a long search. ILIKE copies s folded to lower case into a. */
int like_match(const like_pat *pt, strv s, arena *a, err *er);

/* Regular expressions (the ~ ~* !~ !~* operators, regexp_match, regexp_replace) run on PCRE2 in
 * UTF mode with Unicode classes and `$` at the end of the text only, which accepts the syntax of
 * the Rust regex crate DataFusion uses (and more). PCRE2
 * backtracks, so every match runs under a match context with limits on backtracking steps,
 * recursion depth and heap (REGEX_*_LIMIT): a pathological pattern fails that row's match with
 * a clear error instead of burning the CPU. Compiled code lives in the arena given to
 * regex_compile; matching state in a regex_run, one per batch. */
typedef struct regex_pat regex_pat;
typedef struct regex_run regex_run;

#define REGEX_MATCH_LIMIT 1000000u /* backtracking steps per row */
#define REGEX_DEPTH_LIMIT 10000u   /* nested backtracking points per row */
#define REGEX_HEAP_LIMIT 16384u    /* KiB of backtracking frames per row */

/* Compiles p (memory from a); ci = case-insensitive. NULL with the error (422) on bad syntax. */
regex_pat *regex_compile(arena *a, strv p, bool ci, err *er);
regex_run *regex_begin(void);
/* 1 when re matches somewhere in s, 0 when not, -1 with the error when a limit was hit. */
int regex_exec(regex_run *run, const regex_pat *re, strv s, err *er);
/* The first match of re in s at or after byte offset start, with its groups: 1 and *ov = the
 * byte offsets (start, end) of the whole match then of each group, *ngroups pairs of them,
 * REGEX_UNSET for a group that took no part; 0 when none; -1 with the error when a limit was
 * hit. *ov is valid until the next call on run. */
#define REGEX_UNSET ((size_t)-1)
int regex_groups(regex_run *run, const regex_pat *re, strv s, size_t start, const size_t **ov,
                 uint32_t *ngroups, err *er);
/* The number of the group re names name[0..len), or -1. */
long regex_group_number(const regex_pat *re, const char *name, size_t len);
void regex_end(regex_run *run);

#endif
