/* Column codecs: how one page of dense (non-NULL) values of a column is turned into bytes and
 * back. The page layer (storage/colfile) owns the page header (value count, validity bitmap,
 * checksum); a codec only ever sees the n non-NULL values, and n is passed back to the decoder.
 *
 * Every encoded block starts with one byte naming the physical encoding (enum codec_block), so
 * the decoder never needs the column's codec: DEFAULT may choose a different encoding per page,
 * and after ALTER TABLE ... SET CODEC old pages stay readable. The numbering is persisted:
 * append only.
 *
 * Codec ids are the codec's own (enum codec_use below), not persisted: every block names its
 * encoding. The catalog maps CnosDB's codec names onto them (catalog_column_codec), as listed
 * here. What each CnosDB codec name means:
 *   time, BIGINT, BIGINT UNSIGNED
 *     DEFAULT, DELTA, DELTATS, QUANTILE → the integer packer: a constant-step special case
 *       (v[i] = first + i*step: all-equal pages and regular timestamps cost ~16 bytes per
 *       page), else one of three transforms (none, delta, delta-of-delta: the one whose
 *       estimated size is smallest) followed by frame-of-reference bit packing in blocks of
 *       128 values (per block: a base, a bit width, and "patched" exceptions so that a few
 *       outliers, such as a gap in a regular series or a gauge dropping to zero, do not widen
 *       the whole block). With a per-block base, a delta transform already costs zero bits for
 *       a constant interval and fewer bits than delta-of-delta under jitter, so timestamps
 *       usually end up as delta + FOR; delta-of-delta is kept for series whose interval drifts.
 *       A page that would not pack below 8 bytes per value is stored raw.
 *       All arithmetic wraps (unsigned), so every int64/uint64 value and delta round-trips.
 *     NULL → raw little-endian 8-byte values.
 *     BIGINT UNSIGNED goes through the int64 functions by casting the pointer.
 *   DOUBLE
 *     DEFAULT → decimal scaling when every value is exactly m / 10^e (e in 0..18, |m| < 2^53,
 *       checked bit-exactly, so -0.0, NaN, ±Inf never take this path) with the m stored by the
 *       integer packer; Gorilla XOR otherwise; when both apply, whichever is smaller.
 *     GORILLA → always Gorilla XOR.
 *     SDT, DEADBAND, QUANTILE → lossy in CnosDB; Strata treats them as DEFAULT (lossless).
 *     NULL → raw 8-byte values.
 *     Every value round-trips bit-exactly (NaN payloads, ±Inf, -0.0, subnormals, DBL_MAX).
 *   BOOLEAN
 *     DEFAULT, BITPACK → one bit per value, or a single byte for an all-equal page, or run
 *       lengths when the page has few runs (whichever is smallest).
 *     NULL → one byte per value.
 *   STRING
 *     A page is one block of (varint lengths, then the bytes), compressed as a whole.
 *     DEFAULT → a dictionary (the distinct values once, then bit-packed indices) when the page
 *       has few distinct values (at most n/4), else zstd (CnosDB's DEFAULT is snappy; Strata
 *       picks zstd for size); with more than 256 distinct values whichever is smaller.
 *     ZSTD → zstd.
 *     SNAPPY, GZIP, ZLIB, BZIP → that compressor. LZ4 has no CnosDB name (CB_STR_LZ4 is an
 *     internal choice, reachable through CODEC_USE_LZ4). NULL → uncompressed.
 *     Whatever the codec, a page that the compressor does not shrink is stored uncompressed.
 * A codec id that does not apply to the type (the catalog refuses such pairings) or is out of
 * range behaves as DEFAULT.
 *
 * Encoders append one block to `out` and never fail (allocation failure aborts, see mem.h);
 * they return 0. Decoders read exactly one whole block of `len` bytes holding `n` values and
 * write exactly n outputs. A truncated or extended block, and any corruption the format can
 * detect, yields -1 with HTTP 500, code EC_STORAGE, message "corrupt <type> block: <detail>"
 * (type: timestamp, integer, double, boolean, string); a decoder never reads outside
 * [in, in + len), never writes beyond out[n - 1], and runs in time linear in len + n. Not every
 * corruption is detectable (a flipped bit in a packed value is still a valid value): the page
 * checksum is what catches those, the decoders only guarantee safety.
 *
 * All functions are pure and thread-safe. Decoders must not be compiled with -ffast-math: the
 * decimal path relies on IEEE division being correctly rounded (num.c refuses to build).
 *
 * Speed and sizes measured by bench/codec_bench.c are in that program's header comment. */
#ifndef STRATA_CODEC_CODEC_H
#define STRATA_CODEC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

/* First byte of every block. Persisted: append only; 0 is never used, so a zeroed page is
 * recognised as corrupt. */
enum codec_block {
    CB_RAW64 = 1,       /* n little-endian 8-byte values (ts, int, double) */
    CB_INT = 2,         /* integer packer (ts, int) */
    CB_F64_GORILLA = 3, /* Gorilla XOR bit stream */
    CB_F64_DECIMAL = 4, /* exponent byte e, then an integer-packer body of m = v * 10^e */
    CB_BOOL_BYTES = 5,  /* one byte (0 or 1) per value */
    CB_BOOL_BITS = 6,   /* one bit per value, LSB first */
    CB_BOOL_CONST = 7,  /* one byte: the value of every row */
    CB_BOOL_RUNS = 8,   /* first value, then varint run lengths */
    CB_STR_PLAIN = 9,   /* uncompressed (lengths, bytes) block */
    CB_STR_ZSTD = 10,
    CB_STR_SNAPPY = 11,
    CB_STR_GZIP = 12,
    CB_STR_ZLIB = 13,
    CB_STR_BZIP = 14,
    CB_STR_LZ4 = 15,
    CB_STR_DICT = 16, /* distinct values (plain), then integer-packer indices */
    CB__COUNT
};

/* What a column asks of its pages (the `codec` argument of the encoders). */
enum codec_use {
    CODEC_USE_DEFAULT = 0, /* the codec picks per page: CnosDB's DEFAULT, DELTA, DELTATS,
                              QUANTILE, BITPACK, SDT and DEADBAND */
    CODEC_USE_PLAIN,       /* uncompressed: CnosDB's NULL */
    CODEC_USE_GORILLA,     /* doubles: always Gorilla XOR */
    CODEC_USE_ZSTD,        /* strings: always zstd, never a dictionary */
    CODEC_USE_SNAPPY,
    CODEC_USE_GZIP,
    CODEC_USE_ZLIB,
    CODEC_USE_BZIP,
    CODEC_USE_LZ4, /* no CnosDB name: an internal choice */
};

/* Name of a block encoding ("int", "gorilla", "zstd" ...), "?" if unknown; for diagnostics and
 * the benchmark. */
const char *codec_block_name(int block);

/* The encoding a block uses (its first byte), -1 if the block is empty. */
static inline int codec_block_of(const void *in, size_t len) {
    return len ? *(const unsigned char *)in : -1;
}

/* Fills e with "corrupt <type> block: <detail>" (HTTP 500, EC_STORAGE) and returns -1. Shared
 * by the codec files. */
int codec_corrupt(err *e, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Timestamps (any unit), ascending in a page; the decoder does not rely on the order. */
int codec_encode_ts(const int64_t *v, uint32_t n, int codec, buf *out, err *e);
int codec_decode_ts(const void *in, size_t len, uint32_t n, int64_t *out, err *e);
/* True when the block of n timestamps is a constant-step run: v[i] = *first + i * *step
 * (wrapping). A scan then finds the rows of a time range without decoding any. */
bool codec_ts_step(const void *in, size_t len, uint32_t n, int64_t *first, int64_t *step);

/* BIGINT, and BIGINT UNSIGNED through pointer casts (the bits are what is stored). */
int codec_encode_i64(const int64_t *v, uint32_t n, int codec, buf *out, err *e);
int codec_decode_i64(const void *in, size_t len, uint32_t n, int64_t *out, err *e);

int codec_encode_f64(const double *v, uint32_t n, int codec, buf *out, err *e);
int codec_decode_f64(const void *in, size_t len, uint32_t n, double *out, err *e);

/* Values lo..hi-1 (lo <= hi <= n) of a block of n, into out[0..hi-lo): a scan that needs part
 * of a page decodes up to the last value it needs, and converts only the ones it keeps. Only
 * the part of the block read is checked (the rest may be corrupt without an error); a range
 * outside the block is an error. The result is the slice of what the whole decode gives. */
int codec_decode_ts_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                          int64_t *out, err *e);
int codec_decode_i64_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                           int64_t *out, err *e);
int codec_decode_f64_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                           double *out, err *e);

int codec_encode_bool(const bool *v, uint32_t n, int codec, buf *out, err *e);
int codec_decode_bool(const void *in, size_t len, uint32_t n, bool *out, err *e);

/* The integer packer on its own, without a block byte, for blocks that embed an integer
 * sequence (the string dictionary's indices). Same guarantees as the decoders above; `type`
 * names the block in errors. */
void codec_put_uints(const uint64_t *v, uint32_t n, buf *out);
int codec_get_uints(const void *in, size_t len, uint32_t n, uint64_t *out, const char *type,
                    err *e);

/* Strings are arbitrary bytes (UTF-8 is not checked). The decoder copies the page's bytes into
 * allocations from `a` (needed whenever n > 0); out[i].p points into them (an empty string's p
 * is a valid pointer, not necessarily distinct; equal values of a dictionary page share one
 * copy). A page over UINT32_MAX bytes uncompressed is always stored plain. */
int codec_encode_str(const strv *v, uint32_t n, int codec, buf *out, err *e);
int codec_decode_str(const void *in, size_t len, uint32_t n, arena *a, strv *out, err *e);

#endif
