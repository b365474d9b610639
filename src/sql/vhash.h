/* A hash table of rows keyed by column vectors, worked a vector at a time: the hash join's
 * build side, and meant for any operator that matches rows by key columns (a GROUP BY over
 * the same kind of keys).
 *
 * Keys. A key is one row of nkeys vectors. Two keys are equal when every column is, with
 * the semantics of agg_key_encode (ops_int.h): -0.0 equals 0.0, every NaN equals every other
 * NaN, strings by length and bytes, intervals field by field, and NULL equals NULL (IS NOT
 * DISTINCT FROM). SQL's `=`, where a NULL key matches nothing, is the caller's: vhash_hash
 * flags the rows with a NULL key, and the caller leaves them out of vhash_insert and
 * vhash_find (both take a skip bitmap). The integer-like types (BIGINT, BIGINT UNSIGNED,
 * TIMESTAMP, DATE) compare by their 64 bits, as the byte encoding does; keys of other
 * differing types never meet (the planner casts both sides of a join to one type).
 *
 * Hashing is column at a time: vhash_hash runs one loop per key column over the whole vector
 * (integers through a multiply-xorshift mixer, strings through XXH3) and folds each column
 * into the running hash, so the per-row cost is a few arithmetic operations per column, not
 * an encoding of the row. The caller passes the hashes to insert and find, so it hashes each
 * vector once, and tests can pass degenerate hashes to force every collision.
 *
 * Layout. The table copies no key. Its buckets (a power of two, at least twice as many as
 * keys) hold, per distinct key, the key's newest row and the low half of its hash; a key sits
 * in its home bucket (the top bits of the hash's high half) or the first free one after it
 * (linear probing, so a lookup reads one cache line of buckets, not a chain of rows). Per
 * inserted row, indexed by its position in the caller's key vectors, the table keeps the next
 * older row of the same key (the duplicates' chain) and the high half of its hash (to place
 * the keys again when the buckets double). A probe compares the low halves first and keys
 * only where they agree, and then walks the duplicates without comparing anything.
 * vhash_find works on a whole probe vector: first every row's candidate, then one comparison
 * loop per key column over the candidates, then the (rare) mismatches search on and are
 * compared again. A row's candidate is the inserted row after the previous row's candidate
 * when that one leads its key and agrees on the hash's high half (probe and build rows in the
 * same order, as two scans of one series order give them: no bucket is read), else the
 * first key of its bucket run with the same low half.
 *
 * Memory: everything from the arena given to vhash_new (the query arena, under its budget),
 * 8 bytes per row plus 16 to 32 per key; growing the buckets leaves the old array in the
 * arena. Not thread safe; a finished table may be probed by several threads (vhash_find does
 * not write to it). */
#ifndef STRATA_SQL_VHASH_H
#define STRATA_SQL_VHASH_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

#define VHASH_NONE UINT32_MAX

typedef struct vhash vhash;

/* The hashes of rows [0, n) of keys[0..nkeys) into h; equal keys hash alike. Sets bit i of
 * nulls (a bitmap of n bits, which this clears first) when row i has a NULL in any key
 * column. */
void vhash_hash(const vec *keys, uint32_t nkeys, uint32_t n, uint64_t *h, uint8_t *nulls);

/* An empty table over the caller's key vectors keys[0..nkeys), with room for about cap rows
 * before it grows. The table keeps the pointer and reads the vectors whenever it compares
 * keys, so they must hold every inserted row for as long as the table is used; the caller may
 * grow them in place (the vec structs at keys) between calls. */
vhash *vhash_new(arena *a, const vec *keys, uint32_t nkeys, uint32_t cap);

/* Inserts rows [from, from + n) of the key vectors, whose hashes are h[0..n), leaving out
 * those whose bit is set in skip (indexed from 0 = row from; NULL = none). A row whose key is
 * already in the table (inserted earlier, in this call or before) becomes the first of that
 * key's rows. A row is inserted at most once. */
void vhash_insert(vhash *t, uint32_t from, uint32_t n, const uint64_t *h, const uint8_t *skip);

/* For rows [0, n) of the probe vectors pkeys (the table's key types, hashes h, rows with a
 * bit in skip left out): first[i] = the newest inserted row with an equal key, or VHASH_NONE.
 * Scratch memory from a. */
void vhash_find(const vhash *t, const vec *pkeys, uint32_t n, const uint64_t *h,
                const uint8_t *skip, uint32_t *first, arena *a);

/* The row inserted before row r with the same key, VHASH_NONE after the oldest. */
uint32_t vhash_next(const vhash *t, uint32_t r);

/* How many distinct keys the table holds. */
uint32_t vhash_nkeys(const vhash *t);

#endif
