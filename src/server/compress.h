/* HTTP body codings: request `Content-Encoding` and response `Accept-Encoding`.
 *
 * Names (case-sensitive, one token): gzip, deflate (raw DEFLATE, no zlib header), br, zstd,
 * snappy (snappy framing format), lz4 (LZ4 frame format), identity.
 * Decoding is bounded: a body whose decoded size passes `limit` fails with HTTP 413, so a
 * compression bomb costs at most `limit` bytes of memory. Thread safe. */
#ifndef STRATA_SERVER_COMPRESS_H
#define STRATA_SERVER_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum cenc { CENC_IDENTITY = 0, CENC_GZIP, CENC_DEFLATE, CENC_BR, CENC_ZSTD, CENC_SNAPPY, CENC_LZ4 };

const char *cenc_name(enum cenc c);

/* Content-Encoding value → coding. NULL header = identity. Unknown: HTTP 400, code 040005,
 * `Invalid header: content encoding not support: <value>`. */
int cenc_parse_content_encoding(const char *hdr, enum cenc *out, err *e);

/* Accept-Encoding: split on `,`, trimmed; the first token equal to a known name wins.
 * NULL header = no response coding (*present = 0). A header with no known token fails with
 * HTTP 400, code 040005, `Invalid header: accept encoding not support: <value>, only support:
 * gzip, deflate, br, zstd, snappy, lz4, identity`. */
int cenc_parse_accept_encoding(const char *hdr, enum cenc *out, int *present, err *e);

/* Decodes in[0..n) into out (appended). Undecodable: HTTP 400, code 040013,
 * `Error decode request: <detail>`. Larger than limit after decoding: HTTP 413. */
int cenc_decode(enum cenc c, const void *in, size_t n, size_t limit, buf *out, err *e);

/* Encodes in[0..n) as one complete member/frame, appended to out. */
int cenc_encode(enum cenc c, const void *in, size_t n, buf *out, err *e);

/* Notes on cenc_decode:
 * - An empty body decodes to an empty body under every coding (clients send an empty POST with
 *   the header set; there is nothing to be corrupt).
 * - gzip accepts concatenated members, zstd and lz4 concatenated frames, snappy concatenated
 *   streams, deflate concatenated raw streams; bytes after the last complete member/frame are an
 *   error (400), as is a brotli stream followed by anything. deflate also accepts a zlib-wrapped
 *   stream when the body starts with a zlib header and fails as raw DEFLATE before producing
 *   output. Snappy framing has no end marker, so a snappy body cut between chunks is not
 *   detectable as truncated.
 * - On failure out->len is restored. Decoding grows out to a capacity of at most its length at
 *   entry + limit + 1 (the libraries' own working memory aside).
 * - A zstd frame asking for a window above max(8 MiB, limit rounded up to a power of two) is
 *   refused with 413 (above zstd's own 128 MiB maximum, with 400). */

/* CRC-32C (Castagnoli), as the snappy framing format uses before masking. Pass 0 to start,
 * or a previous result to continue over more data. */
uint32_t cenc_crc32c(uint32_t crc, const void *p, size_t n);

#endif
