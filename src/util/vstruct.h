/* Struct values (Arrow's Struct): a fixed set of named, typed fields per row of a VT_STRUCT
 * vector, held like a list (util/vlist.h) as a self-contained byte string in the row's strv
 * slot, so that batch copies, group keys and DISTINCT handle structs unchanged.
 *
 * The field names and types (the struct's shape) do not fit a vector's unit byte, so shapes
 * are interned in a process-wide registry and the unit byte carries the shape's id. Shapes
 * come from the functions that make structs (time_window, gauge_agg, state_agg, struct(...))
 * and their argument types, so there are few; the registry holds up to 255 and is never
 * emptied (a shape id stays valid for the life of the process, as result schemas need).
 *
 * Layout of a value (host byte order; never persisted nor sent over the wire), canonical so
 * byte equality is struct equality:
 *   ceil(n/8) bytes   validity, bit i set = field i is not NULL, spare bits clear
 *   n slots           fixed-width fields: vtype_size bytes; byte fields (strings, lists,
 *                     structs): u32 offset and u32 length into the bytes that follow
 *   bytes             the byte fields' contents, in field order
 * A NULL field's slot holds zeros. A NULL struct is the vector's NULL row.
 *
 * Fields may be any scalar type, a list or a struct (nesting by shape id). */
#ifndef STRATA_UTIL_VSTRUCT_H
#define STRATA_UTIL_VSTRUCT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

typedef struct vshape {
    uint32_t n;
    const char **names;
    const uint8_t *types;   /* enum vtype */
    const uint8_t *units;   /* the field's unit byte (a list's element code, a struct's shape) */
    const bool *tz;         /* timestamp fields printed with a zone */
    const char *arrow;      /* Arrow's Display of the type: Struct([Field { ... }, ...]) */
    const char *list_arrow; /* and of a list of it: List(Field { name: "item", ... }) */
} vshape;

/* The id (1..255) of the shape with these fields, interned; 0 when the registry is full or a
 * field type cannot be held (a decimal). Thread-safe. */
uint8_t vstruct_shape(uint32_t n, const char *const *names, const uint8_t *types,
                      const uint8_t *units, const bool *tz);
/* The shape of an id returned by vstruct_shape (NULL for 0 or an unknown id). */
const vshape *vstruct_get(uint8_t id);
/* Index of the field named name (exact, as DataFusion matches field names), or -1. */
int vstruct_find(uint8_t id, const char *name);

/* Encodes fields[0..n) (each of its field's type, or NULL) as a struct of shape id. */
strv vstruct_make(arena *a, uint8_t id, const value *fields);
/* Field i of a non-NULL struct as a value of the field's type; strings point into s. */
void vstruct_field(strv s, uint8_t id, uint32_t i, value *out);
/* Arrow's order of two structs of one shape: field by field, a NULL field first. */
int vstruct_cmp(strv x, strv y, uint8_t id);

#endif
