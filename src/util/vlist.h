/* List values (DataFusion's List(Field { name: "item", ... })): one list per row of a VT_LIST
 * vector, held as a self-contained byte string in the row's strv slot.
 *
 * A list is a byte string rather than a pointer to element vectors so that everything that
 * already copies, hashes or compares strings (batch buffers that outlive their arena, group
 * keys, DISTINCT) handles lists unchanged: the bytes are the value. The encoding is canonical
 * (the same elements always give the same bytes), so byte equality is list equality.
 *
 * Layout (host byte order; lists are never persisted nor sent over the wire):
 *   u32 n                      element count
 *   ceil(n/8) bytes            validity, bit i set = element i is not NULL, spare bits clear
 *   elements                   VT_STR and VT_STRUCT: (n+1) u32 offsets into the bytes that
 *                                       follow, then the bytes; fixed-width types: n slots of
 *                                       vtype_size(etype) bytes; VT_NULL: nothing
 * A NULL element's slot holds the type's zero (an empty string). A NULL list is the vector's
 * NULL row (its slot the zero-length view); an empty list is 4 bytes, never zero-length.
 *
 * The element type travels in the unit byte of the vector, value, bexpr and result schema
 * (vlist_unit): the element's enum vtype, its timestamp unit and whether it is zoned. Lists
 * are one level deep: an element is never itself a list (it may be a struct holding one). */
#ifndef STRATA_UTIL_VLIST_H
#define STRATA_UTIL_VLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

/* Whether a list may hold elements of type etype: not a list, and not a decimal, whose (p, s)
 * code needs the whole unit byte the element type shares here. */
static inline bool vlist_elem_ok(uint8_t etype) {
    return etype != VT_LIST && etype != VT_DEC128;
}
/* A struct element (util/vstruct.h) needs its shape id in the unit: the top bit marks it and
 * the other seven hold the id, so only the first 127 shapes can be list elements. */
static inline uint8_t vlist_unit(uint8_t etype, uint8_t eunit, bool tz) {
    if (etype == VT_STRUCT) return (uint8_t)(0x80 | (eunit & 0x7f));
    return (uint8_t)((etype & 0x0f) | ((eunit & 3) << 4) | (tz ? 0x40 : 0));
}
static inline uint8_t vlist_etype(uint8_t unit) {
    return unit & 0x80 ? VT_STRUCT : unit & 0x0f;
}
static inline uint8_t vlist_eunit(uint8_t unit) {
    return unit & 0x80 ? unit & 0x7f : (unit >> 4) & 3;
}
static inline bool vlist_etz(uint8_t unit) {
    return !(unit & 0x80) && (unit & 0x40) != 0;
}

/* Encodes items[0..n) (each of type etype, or NULL) as a list; memory from a. */
strv vlist_make(arena *a, uint8_t etype, const value *items, uint32_t n);
/* Number of elements of a list (0 for the zero-length NULL slot). */
uint32_t vlist_len(strv l);
/* Element i (< vlist_len) as a value of the list's element type; strings point into l. */
void vlist_get(strv l, uint8_t unit, uint32_t i, value *out);
/* All elements decoded into an array from a (NULL when empty); returns the count. */
uint32_t vlist_items(arena *a, strv l, uint8_t unit, value **out);
/* Whether two non-NULL values of one scalar type are equal, a NULL equal only to NULL (how
 * DataFusion's array_position, array_remove and array_replace compare elements). */
bool vlist_elem_eq(const value *x, const value *y);
/* Arrow's order of two values of one type (lists and structs included): a NULL first, NaN
 * last. */
int vlist_value_cmp(const value *x, const value *y);
/* Arrow's order of two lists of one type: element by element (a NULL element first, NaN last),
 * then the shorter first. */
int vlist_cmp(strv x, strv y, uint8_t unit);

#endif
