/* Column vectors (util/types.h) made and read: allocation, NULL marking, access by row.
 *
 * These are the only functions that create a vector's slots, so they are where the NULL-slot
 * invariant of util/types.h is kept: a slot they leave NULL holds the type's zero. Memory comes
 * from the arena passed in and is freed with it. Thread safety: a vector is written by one
 * thread; reading is pure. */
#ifndef STRATA_UTIL_VEC_H
#define STRATA_UTIL_VEC_H

#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

/* A vector of n copies of v. */
void vec_broadcast(arena *a, const value *v, uint32_t n, vec *out);
/* Row i of v as a value (strings point into v). */
void vec_get(const vec *v, uint32_t i, value *out);
/* Writes the non-NULL value v (of the vector's type) into row i; strings and lists by view. */
void vec_put(vec *out, uint32_t i, const value *v);
/* Allocates a vector of type t with room for n rows, no bitmap (all valid). The slots are
 * uninitialised: the producer writes every one of them, a NULL row's with the type's zero (the
 * NULL-slot invariant of util/types.h), e.g. through vec_set_null. */
void vec_alloc(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out);
/* A vector of n NULLs: all-clear bitmap, every slot the type's zero. */
void vec_alloc_null(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out);
/* dst = the rows idx[0..n) of src, in that order (a gather); memory from a. */
void vec_take(arena *a, const vec *src, const uint32_t *idx, uint32_t n, vec *dst);
/* Writes the type's zero into every NULL slot of the first n rows (for vectors from outside
 * the SQL layer, whose NULL slots may be unspecified). */
void vec_zero_nulls(vec *v, uint32_t n);
/* Marks row i NULL (creating the bitmap as needed, all-valid before) and writes the type's
 * zero into its slot. */
void vec_set_null(arena *a, vec *v, uint32_t i);

#endif
