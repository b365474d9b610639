/* Private to the string function family (func_string.c, func_hash.c, func_regex.c): the
 * helpers their kernels share and the kernels the table in func_string.c names.
 *
 * Text is UTF-8 and DataFusion counts it in characters (code points; where DataFusion 27 counts
 * grapheme clusters, lpad/rpad/translate, Strata counts code points: they differ only around
 * combining marks). A kernel marks a row NULL when any argument of the row is NULL unless its
 * function says otherwise (concat, concat_ws), and allocates results from the batch arena. */
#ifndef STRATA_SQL_FUNC_STR_INT_H
#define STRATA_SQL_FUNC_STR_INT_H

#include "sql/func_int.h"

/* Byte length of the character at p (1 for a byte that starts no valid sequence), p < e. */
uint32_t fs_char_len(const char *p, const char *e);
/* Room for a result of len bytes in a, checked against the 4 GiB a value may hold and the
 * query's memory limit before it is filled; NULL with the error. */
char *fs_alloc(arena *a, size_t len, err *er);
/* An error of a kernel in DataFusion's words, "<kind>: <message>" (kind "Execution error",
 * "Internal error" with DataFusion's tail, "Error during planning" or "Arrow error: Compute
 * error"), which errstage.h wraps by the stage it arose in. Returns -1. */
int fs_exec_err(const bexpr *e, err *er, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* func_hash.c */
int fs_md5(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_sha(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_digest(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_encode(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_decode(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_uuid(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);

/* func_regex.c */
int fs_regexp_match(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);
int fs_regexp_replace(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er);

#endif
