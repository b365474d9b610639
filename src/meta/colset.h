/* The columns of one table, shared by the table's versions: adding a column is amortised O(1)
 * and never copies the columns already there, however wide the table.
 *
 * A table version (meta_table) sees a prefix of its colset: its `cols` array and `ncols`. A
 * schema change that only appends columns makes the next version share the colset and see a
 * longer prefix; any other change (drop, rename, codec) starts a new colset. Appending writes
 * past every published prefix, so versions already handed out never see a change:
 *   - the column array grows by doubling into a new array; the old arrays stay allocated (and
 *     valid for the versions pointing at them) until the colset is freed, so the memory of all
 *     of them is at most twice the last;
 *   - names are found through an open-addressing index whose slots hold (hash, index + 1),
 *     each published with one atomic store after its column is written; a lookup bounded by a
 *     version's ncols ignores columns appended after that version. The index grows the same way
 *     as the array (a new index, the old one kept).
 *
 * Threads: one writer at a time (the catalog's schema lock); lookups (colset_find,
 * colset_find_id) need no lock and may run beside the writer. Reference counts are atomic. */
#ifndef STRATA_META_COLSET_H
#define STRATA_META_COLSET_H

#include <stddef.h>
#include <stdint.h>

#include "meta/catalog.h"

typedef struct colset colset;

/* A new, empty colset with one reference. */
colset *colset_new(uint32_t cap_hint);
void colset_retain(colset *cs);
/* The last release frees the colset, its names and every array it ever had. */
void colset_release(colset *cs);

/* Writer side. Number of columns appended so far. */
uint32_t colset_count(const colset *cs);
/* Appends a column (name copied) and returns the current array, which holds it at index
 * colset_count() - 1. Column ids are expected to increase with the index (lookups by id are
 * then a binary search); a colset whose ids do not falls back to a linear search. */
meta_column *colset_append(colset *cs, uint32_t id, const char *name, size_t len, uint8_t kind,
                           uint8_t type, uint8_t codec, uint8_t geo);

/* Reader side: index of the column named name among cols[0, limit), or -1. cols is the array of
 * the caller's version, limit its ncols. */
int colset_find(const colset *cs, const meta_column *cols, uint32_t limit, const char *name,
                size_t len);
/* Index of the column with this id among cols[0, limit), or -1. */
int colset_find_id(const colset *cs, const meta_column *cols, uint32_t limit, uint32_t id);

#endif
