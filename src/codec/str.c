/* STRING codec: a page is one block of n LEB128 lengths followed by the n strings' bytes, stored
 * as is (CB_STR_PLAIN) or compressed as a whole by one of the block compressors, or, for
 * DEFAULT pages with few distinct values, as a dictionary:
 *   CB_STR_PLAIN           the block.
 *   CB_STR_<compressor>    LEB128 size of the block, then the compressor's output, to the end:
 *                          a zstd frame, raw snappy, a gzip member, a zlib stream, a bzip2
 *                          stream, or an LZ4 block.
 *   CB_STR_DICT            LEB128 k (1..n), then the k distinct values as a plain block
 *                          (k lengths, their bytes), then the integer packer's encoding of the
 *                          n indices (each < k), to the end.
 * A page the compressor does not shrink, and one whose block is over UINT32_MAX bytes (the
 * compressors' interfaces take 32-bit sizes), is stored plain.
 *
 * Decoding checks the claimed block size against what the format can vouch for (zstd's frame
 * header, snappy's preamble, the maximum expansion ratio of deflate and LZ4) before allocating
 * it, so a damaged size cannot make the decoder allocate far more than the page can hold. bzip2
 * has no such bound; its size is only limited to UINT32_MAX. */
#include "codec/codec.h"

#include <bzlib.h>
#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/hmap.h"
#include "util/mem.h"

#define STR_ZSTD_LEVEL 3
/* Up to this many distinct values the dictionary is taken without trying zstd as well. */
#define STR_DICT_SURE 256

static unsigned str_varint_len(uint64_t v) {
    unsigned k = 1;
    while (v >= 0x80) v >>= 7, k++;
    return k;
}

static void str_put_block(const strv *v, uint32_t n, buf *out, size_t raw) {
    buf_reserve(out, raw);
    for (uint32_t i = 0; i < n; i++) buf_put_uvarint(out, v[i].len);
    for (uint32_t i = 0; i < n; i++) buf_append(out, v[i].p, v[i].len);
}

/* out holds a dictionary block of `dict` bytes (0: none) right before `start`, then another
 * block from start: keeps whichever is smaller. */
static int str_keep_smaller(buf *out, size_t start, size_t dict) {
    if (!dict) return 0;
    size_t other = out->len - start;
    if (other < dict) {
        memmove(out->p + start - dict, out->p + start, other);
        out->len = start - dict + other;
    } else {
        out->len = start;
    }
    return 0;
}

/* Compresses src into out (appending); false if the compressor failed or the output would not
 * fit in `limit` bytes. */
static bool str_compress(int cb, const char *src, size_t raw, buf *out, size_t limit) {
    switch (cb) {
    case CB_STR_ZSTD: {
        size_t cap = ZSTD_compressBound(raw);
        buf_reserve(out, cap);
        size_t r = ZSTD_compress(out->p + out->len, cap, src, raw, STR_ZSTD_LEVEL);
        if (ZSTD_isError(r) || r >= limit) return false;
        out->len += r;
        return true;
    }
    case CB_STR_SNAPPY: {
        size_t cap = snappy_max_compressed_length(raw);
        buf_reserve(out, cap);
        if (snappy_compress(src, raw, out->p + out->len, &cap) != SNAPPY_OK || cap >= limit)
            return false;
        out->len += cap;
        return true;
    }
    case CB_STR_GZIP:
    case CB_STR_ZLIB: {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        int wbits = cb == CB_STR_GZIP ? 15 + 16 : 15;
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK)
            return false;
        size_t cap = deflateBound(&zs, (uLong)raw);
        buf_reserve(out, cap);
        zs.next_in = (Bytef *)(uintptr_t)src;
        zs.avail_in = (uInt)raw;
        zs.next_out = (Bytef *)out->p + out->len;
        zs.avail_out = (uInt)cap;
        int rc = deflate(&zs, Z_FINISH);
        size_t got = zs.total_out;
        deflateEnd(&zs);
        if (rc != Z_STREAM_END || got >= limit) return false;
        out->len += got;
        return true;
    }
    case CB_STR_BZIP: {
        unsigned cap = (unsigned)(raw + raw / 100 + 600);
        if (raw + raw / 100 + 600 > UINT_MAX) return false;
        buf_reserve(out, cap);
        /* bzip2 allocates about 8 × the block size; small pages need no 900 KB blocks. */
        int level = raw / 100000 + 1 > 9 ? 9 : (int)(raw / 100000 + 1);
        if (BZ2_bzBuffToBuffCompress(out->p + out->len, &cap, (char *)(uintptr_t)src, (unsigned)raw,
                                     level, 0, 0) != BZ_OK ||
            cap >= limit)
            return false;
        out->len += cap;
        return true;
    }
    case CB_STR_LZ4: {
        if (raw > LZ4_MAX_INPUT_SIZE) return false;
        int cap = LZ4_compressBound((int)raw);
        buf_reserve(out, (size_t)cap);
        int r = LZ4_compress_default(src, out->p + out->len, (int)raw, cap);
        if (r <= 0 || (size_t)r >= limit) return false;
        out->len += (size_t)r;
        return true;
    }
    default:
        return false;
    }
}

/* Appends a CB_STR_DICT block if the page has at most n/4 distinct values; false if not. */
static bool str_dict_encode(const strv *v, uint32_t n, buf *out, uint32_t *kout) {
    uint32_t limit = n / 4, k = 0;
    if (limit == 0) return false;
    hmap *h = hmap_new(64);
    uint64_t *idx = xmalloc((size_t)n * sizeof *idx);
    uint32_t *first = xmalloc((size_t)limit * sizeof *first);
    bool ok = true;
    for (uint32_t i = 0; i < n; i++) {
        bool ins;
        uint64_t *slot = hmap_upsert(h, v[i].len ? v[i].p : "", v[i].len, &ins);
        if (ins) {
            if (k == limit) {
                ok = false;
                break;
            }
            *slot = k;
            first[k++] = i;
        }
        idx[i] = *slot;
    }
    if (ok) {
        buf_putc(out, CB_STR_DICT);
        buf_put_uvarint(out, k);
        for (uint32_t j = 0; j < k; j++) buf_put_uvarint(out, v[first[j]].len);
        for (uint32_t j = 0; j < k; j++) buf_append(out, v[first[j]].p, v[first[j]].len);
        codec_put_uints(idx, n, out);
        *kout = k;
    }
    hmap_free(h);
    free(idx);
    free(first);
    return ok;
}

int codec_encode_str(const strv *v, uint32_t n, int codec, buf *out, err *e) {
    int cb;
    switch (codec) {
    case CODEC_USE_PLAIN:
        cb = CB_STR_PLAIN;
        break;
    case CODEC_USE_SNAPPY:
        cb = CB_STR_SNAPPY;
        break;
    case CODEC_USE_GZIP:
        cb = CB_STR_GZIP;
        break;
    case CODEC_USE_ZLIB:
        cb = CB_STR_ZLIB;
        break;
    case CODEC_USE_BZIP:
        cb = CB_STR_BZIP;
        break;
    case CODEC_USE_LZ4:
        cb = CB_STR_LZ4;
        break;
    default:
        cb = CB_STR_ZSTD;
        break;
    }
    size_t raw = 0;
    for (uint32_t i = 0; i < n; i++) raw += str_varint_len(v[i].len) + v[i].len;
    size_t start = out->len, dict = 0;
    uint32_t k;
    if (codec != CODEC_USE_ZSTD && cb == CB_STR_ZSTD && str_dict_encode(v, n, out, &k)) {
        dict = out->len - start;
        if (k <= STR_DICT_SURE) return 0;
        start = out->len; /* also try zstd behind it and keep the smaller */
    }
    if (n > 0 && cb != CB_STR_PLAIN && raw <= UINT32_MAX) {
        buf tmp;
        buf_init(&tmp);
        str_put_block(v, n, &tmp, raw);
        buf_putc(out, (char)cb);
        buf_put_uvarint(out, raw);
        size_t head = out->len - start;
        /* Worth it only if smaller than the plain block (1 + raw bytes). */
        bool ok = head < 1 + raw && str_compress(cb, tmp.p, raw, out, 1 + raw - head);
        buf_free(&tmp);
        if (ok) return str_keep_smaller(out, start, dict);
        out->len = start;
    }
    buf_putc(out, CB_STR_PLAIN);
    str_put_block(v, n, out, raw);
    return str_keep_smaller(out, start, dict);
}

/* Parses a (lengths, bytes) block filling [p, end) exactly. With `copy` the bytes are copied
 * into the arena (the input may not outlive the call); otherwise they already live there. */
static int str_parse_block(const unsigned char *p, const unsigned char *end, uint32_t n, bool copy,
                           arena *a, strv *out, err *e) {
    const char *type = "string";
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (p >= end) return codec_corrupt(e, type, "truncated length of value %u", i);
            if (shift > 28) return codec_corrupt(e, type, "length of value %u too long", i);
            unsigned c = *p++;
            l |= (uint64_t)(c & 0x7f) << shift;
            if (!(c & 0x80)) break;
        }
        if (l > UINT32_MAX) return codec_corrupt(e, type, "length of value %u too long", i);
        out[i].len = (uint32_t)l;
        total += l;
    }
    if (total != (uint64_t)(end - p))
        return codec_corrupt(e, type, "lengths add up to %llu, %zu bytes follow",
                             (unsigned long long)total, (size_t)(end - p));
    const char *base = "";
    if (total && copy) {
        char *d = arena_alloc(a, (size_t)total);
        memcpy(d, p, (size_t)total);
        base = d;
    } else if (total) {
        base = (const char *)p;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        out[i].p = base + off;
        off += out[i].len;
    }
    return 0;
}

/* Decompresses the payload of a compressed block into dst (exactly raw bytes). */
static int str_decompress(int cb, const unsigned char *src, size_t clen, char *dst, size_t raw,
                          err *e) {
    const char *type = "string";
    const char *name = codec_block_name(cb);
    switch (cb) {
    case CB_STR_ZSTD: {
        size_t r = ZSTD_decompress(dst, raw, src, clen);
        if (ZSTD_isError(r)) return codec_corrupt(e, type, "zstd: %s", ZSTD_getErrorName(r));
        if (r != raw) break;
        return 0;
    }
    case CB_STR_SNAPPY: {
        size_t r = raw;
        if (snappy_uncompress((const char *)src, clen, dst, &r) != SNAPPY_OK || r != raw) break;
        return 0;
    }
    case CB_STR_GZIP:
    case CB_STR_ZLIB: {
        if (clen > UINT_MAX) break;
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, cb == CB_STR_GZIP ? 15 + 16 : 15) != Z_OK)
            return codec_corrupt(e, type, "%s: cannot initialise", name);
        zs.next_in = (Bytef *)(uintptr_t)src;
        zs.avail_in = (uInt)clen;
        zs.next_out = (Bytef *)dst;
        zs.avail_out = (uInt)raw;
        int rc = inflate(&zs, Z_FINISH);
        bool ok = rc == Z_STREAM_END && zs.avail_in == 0 && zs.total_out == raw;
        inflateEnd(&zs);
        if (!ok) break;
        return 0;
    }
    case CB_STR_BZIP: {
        /* The one-call BZ2_bzBuffToBuffDecompress ignores bytes after the stream; the
         * streaming interface tells whether all input was consumed. */
        if (clen > UINT_MAX) break;
        bz_stream bs;
        memset(&bs, 0, sizeof bs);
        if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK)
            return codec_corrupt(e, type, "%s: cannot initialise", name);
        bs.next_in = (char *)(uintptr_t)src;
        bs.avail_in = (unsigned)clen;
        bs.next_out = dst;
        bs.avail_out = (unsigned)raw;
        int rc = BZ2_bzDecompress(&bs);
        bool ok = rc == BZ_STREAM_END && bs.avail_in == 0 && bs.avail_out == 0;
        BZ2_bzDecompressEnd(&bs);
        if (!ok) break;
        return 0;
    }
    case CB_STR_LZ4: {
        if (clen > INT_MAX) break;
        int r = LZ4_decompress_safe((const char *)src, dst, (int)clen, (int)raw);
        if (r < 0 || (size_t)r != raw) break;
        return 0;
    }
    }
    return codec_corrupt(e, type, "%s payload does not decompress to %zu bytes", name, raw);
}

static int str_dict_decode(const unsigned char *p, const unsigned char *end, uint32_t n, arena *a,
                           strv *out, err *e) {
    const char *type = "string";
    uint64_t k = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (p >= end) return codec_corrupt(e, type, "truncated dictionary size");
        if (shift > 28) return codec_corrupt(e, type, "dictionary size too long");
        unsigned c = *p++;
        k |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) break;
    }
    if (k == 0 || k > n)
        return codec_corrupt(e, type, "dictionary of %llu for %u values", (unsigned long long)k, n);
    /* The dictionary is a plain block followed by the indices: find where it ends. */
    const unsigned char *q = p;
    uint64_t total = 0;
    for (uint64_t j = 0; j < k; j++) {
        uint64_t l = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (q >= end) return codec_corrupt(e, type, "truncated dictionary");
            if (shift > 28) return codec_corrupt(e, type, "dictionary length too long");
            unsigned c = *q++;
            l |= (uint64_t)(c & 0x7f) << shift;
            if (!(c & 0x80)) break;
        }
        total += l;
    }
    if (total > (uint64_t)(end - q)) return codec_corrupt(e, type, "truncated dictionary");
    const unsigned char *ix = q + total;
    strv *dict = arena_alloc(a, (size_t)k * sizeof *dict);
    if (str_parse_block(p, ix, (uint32_t)k, true, a, dict, e) < 0) return -1;
    uint64_t *idx = xmalloc((size_t)n * sizeof *idx);
    int rc = codec_get_uints(ix, (size_t)(end - ix), n, idx, type, e);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (idx[i] >= k)
            rc = codec_corrupt(e, type, "index %llu past a dictionary of %llu",
                               (unsigned long long)idx[i], (unsigned long long)k);
        else
            out[i] = dict[idx[i]];
    }
    free(idx);
    return rc;
}

int codec_decode_str(const void *in, size_t len, uint32_t n, arena *a, strv *out, err *e) {
    const unsigned char *p = in, *end = p + len;
    const char *type = "string";
    if (len == 0) return codec_corrupt(e, type, "empty");
    int cb = *p++;
    if (cb == CB_STR_PLAIN) return str_parse_block(p, end, n, true, a, out, e);
    if (cb == CB_STR_DICT) return str_dict_decode(p, end, n, a, out, e);
    if (cb < CB_STR_ZSTD || cb > CB_STR_LZ4)
        return codec_corrupt(e, type, "unknown encoding %d", cb);
    if (n == 0) return codec_corrupt(e, type, "compressed block with no values");

    uint64_t raw = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (p >= end) return codec_corrupt(e, type, "truncated size");
        if (shift > 28) return codec_corrupt(e, type, "size too long");
        unsigned c = *p++;
        raw |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) break;
    }
    size_t clen = (size_t)(end - p);
    /* Each value has at least its one-byte length; the upper bounds are the formats' own. */
    uint64_t cap = UINT32_MAX;
    switch (cb) {
    case CB_STR_ZSTD: {
        unsigned long long fcs = ZSTD_getFrameContentSize(p, clen);
        if (fcs != raw) return codec_corrupt(e, type, "zstd frame size does not match");
        break;
    }
    case CB_STR_SNAPPY: {
        size_t ul;
        if (snappy_uncompressed_length((const char *)p, clen, &ul) != SNAPPY_OK || ul != raw)
            return codec_corrupt(e, type, "snappy size does not match");
        break;
    }
    case CB_STR_GZIP:
    case CB_STR_ZLIB:
        cap = (uint64_t)clen * 1032 + 1024;
        break;
    case CB_STR_LZ4:
        cap = (uint64_t)clen * 255 + 1024;
        break;
    }
    if (raw < n || raw > cap || raw > UINT32_MAX || (cb == CB_STR_LZ4 && raw > LZ4_MAX_INPUT_SIZE))
        return codec_corrupt(e, type, "block size %llu for %u values in %zu bytes",
                             (unsigned long long)raw, n, clen);
    char *dst = arena_alloc(a, (size_t)raw);
    if (str_decompress(cb, p, clen, dst, (size_t)raw, e) < 0) return -1;
    return str_parse_block((const unsigned char *)dst, (const unsigned char *)dst + raw, n, false,
                           a, out, e);
}
