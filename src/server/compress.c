/* HTTP body codings for requests (Content-Encoding) and responses (Accept-Encoding): header
 * parsing, bounded decoding and one-shot encoding over zlib, brotli, zstd, snappy and lz4.
 *
 * Decoders write straight into the caller's buffer and grow it themselves rather than through
 * buf_grow, whose doubling would let a bomb reserve twice the limit: the capacity is clamped to
 * one byte past the limit, and a decoder filling that byte is how an over-long body is noticed
 * without decoding any further. */
#include "server/compress.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "util/mem.h"

/* Indexed by enum cenc. */
static const char *const cenc_names[] = {"identity", "gzip",   "deflate", "br",
                                         "zstd",     "snappy", "lz4"};
#define CENC_COUNT (sizeof cenc_names / sizeof cenc_names[0])

/* Fast levels: responses are compressed on the fly, so CPU per byte matters more than ratio. */
#define GZIP_LEVEL 1
#define ZSTD_LEVEL 1
#define BROTLI_QUALITY 4

/* Smallest step by which a decoder's output grows; capacity doubles beyond it. */
#define OUT_STEP (64 * 1024)

/* zlib counts in unsigned int: larger inputs are fed in pieces of this size. */
#define ZLIB_PIECE ((size_t)1 << 30)

/* Snappy framing format (framing_format.txt in the snappy sources). */
#define SNAPPY_MAX_BLOCK 65536
#define SNAPPY_MASK_DELTA 0xa282ead8u
static const unsigned char snappy_stream_id[10] = {0xff, 0x06, 0x00, 0x00, 's',
                                                   'N',  'a',  'P',  'p',  'Y'};

const char *cenc_name(enum cenc c) {
    /* An out-of-range value is a caller bug; answering "identity" keeps a header well-formed. */
    if ((unsigned)c >= CENC_COUNT) return "identity";
    return cenc_names[c];
}

static int cenc_lookup(const char *s, size_t len, enum cenc *out) {
    for (size_t i = 0; i < CENC_COUNT; i++) {
        if (strlen(cenc_names[i]) == len && memcmp(cenc_names[i], s, len) == 0) {
            *out = (enum cenc)i;
            return 0;
        }
    }
    return -1;
}

int cenc_parse_content_encoding(const char *hdr, enum cenc *out, err *e) {
    if (!hdr) {
        *out = CENC_IDENTITY;
        return 0;
    }
    if (cenc_lookup(hdr, strlen(hdr), out) == 0) return 0;
    return err_set(e, 400, EC_INVALID_HEADER, "Invalid header: content encoding not support: %s",
                   hdr);
}

/* The whitespace Rust's str::trim removes, restricted to ASCII (header values are ASCII). */
static int is_trim_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int cenc_parse_accept_encoding(const char *hdr, enum cenc *out, int *present, err *e) {
    if (!hdr) {
        *present = 0;
        *out = CENC_IDENTITY;
        return 0;
    }
    const char *p = hdr;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_trim_space(*a)) a++;
        while (b > a && is_trim_space(b[-1])) b--;
        if (cenc_lookup(a, (size_t)(b - a), out) == 0) {
            *present = 1;
            return 0;
        }
        if (!*end) break;
        p = end + 1;
    }
    return err_set(e, 400, EC_INVALID_HEADER,
                   "Invalid header: accept encoding not support: %s, only support: gzip, deflate, "
                   "br, zstd, snappy, lz4, identity",
                   hdr);
}

/* ---- CRC-32C ---------------------------------------------------------------------------- */

/* Reflected CRC-32C table for polynomial 0x82f63b78, one byte at a time. A constant table keeps
 * the module free of lazily initialised state. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t crc32c_sw(uint32_t c, const unsigned char *p, size_t n) {
    while (n--) c = crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_HW 1
/* SSE4.2 has a CRC-32C instruction; snappy checksums every 64 KiB block of every framed body,
 * so the table loop would be the slowest part of snappy decoding. Head and tail bytes go through
 * the table, which also keeps that path exercised on machines that have the instruction. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const unsigned char *p,
                                                            size_t n) {
    size_t head = (8 - ((uintptr_t)p & 7)) & 7;
    if (head > n) head = n;
    c = crc32c_sw(c, p, head);
    p += head, n -= head;
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
    }
    return crc32c_sw((uint32_t)c64, p, n);
}
#endif

uint32_t cenc_crc32c(uint32_t crc, const void *p, size_t n) {
    uint32_t c = ~crc;
#ifdef CRC32C_HW
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_hw(c, p, n);
#endif
    return ~crc32c_sw(c, p, n);
}

static uint32_t snappy_masked_crc(const void *p, size_t n) {
    uint32_t c = cenc_crc32c(0, p, n);
    return ((c >> 15) | (c << 17)) + SNAPPY_MASK_DELTA;
}

static uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- bounded output --------------------------------------------------------------------- */

/* Where a decoder's output goes: out from its length at entry (start), at most limit bytes. */
struct sink {
    buf *b;
    size_t start, limit;
};

static size_t sink_produced(const struct sink *s) {
    return s->b->len - s->start;
}

/* Decoders may write limit + 1 bytes; the extra byte proves the body is too large. */
static int sink_over(const struct sink *s) {
    return sink_produced(s) > s->limit;
}

/* Grows the buffer so at least min(want, budget) bytes are free and returns how many bytes the
 * decoder may write now: all the free space, but never past the limit + 1 budget. Returns 0
 * only once the budget is spent (sink_over is then true). */
static size_t sink_room(struct sink *s, size_t want) {
    buf *b = s->b;
    size_t produced = sink_produced(s);
    if (produced > s->limit) return 0;
    size_t budget = s->limit - produced;
    if (budget < SIZE_MAX) budget++;
    if (want > budget) want = budget;
    if (b->cap - b->len < want) {
        size_t ncap = b->cap > SIZE_MAX / 2 ? SIZE_MAX : b->cap * 2;
        if (ncap < OUT_STEP) ncap = OUT_STEP;
        size_t hard = budget > SIZE_MAX - b->len ? SIZE_MAX : b->len + budget;
        if (ncap > hard) ncap = hard;
        if (ncap < b->len + want) ncap = b->len + want;
        b->p = xrealloc(b->p, ncap);
        b->cap = ncap;
    }
    size_t room = b->cap - b->len;
    return room < budget ? room : budget;
}

static int too_large(err *e, size_t limit) {
    return err_set(e, 413, EC_GENERIC, "Request body too large: decoded size exceeds %zu bytes",
                   limit);
}

static int bad_body(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_body(err *e, const char *fmt, ...) {
    char detail[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err_set(e, 400, EC_DECODE, "Error decode request: %s", detail);
}

/* ---- zlib: gzip, raw deflate, zlib --------------------------------------------------------- */

/* Inflates members/streams back to back until the input is used up. wbits selects the wrapper
 * (15+16 gzip, -15 raw, 15 zlib); name labels errors. */
static int zlib_decode(const char *name, int wbits, const unsigned char *in, size_t n,
                       struct sink *s, err *e) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK)
        return err_set(e, 500, EC_INTERNAL, "%s: cannot initialise decoder", name);
    size_t pos = 0;
    int rc = 0;
    for (;;) {
        if (z.avail_in == 0 && pos < n) {
            size_t take = n - pos < ZLIB_PIECE ? n - pos : ZLIB_PIECE;
            z.next_in = (unsigned char *)in + pos; /* zlib's API is not const-correct */
            z.avail_in = (uInt)take;
            pos += take;
        }
        size_t room = sink_room(s, OUT_STEP);
        if (room > UINT_MAX) room = UINT_MAX;
        z.next_out = (unsigned char *)s->b->p + s->b->len;
        z.avail_out = (uInt)room;
        int r = inflate(&z, Z_NO_FLUSH);
        s->b->len += room - z.avail_out;
        if (sink_over(s)) {
            rc = too_large(e, s->limit);
            break;
        }
        if (r == Z_STREAM_END) {
            if (z.avail_in == 0 && pos == n) break;
            inflateReset(&z); /* another member follows */
            continue;
        }
        if (r == Z_OK) continue;
        if (r == Z_BUF_ERROR && z.avail_in == 0 && pos == n) {
            rc = bad_body(e, "%s: unexpected end of compressed data", name);
        } else if (r == Z_NEED_DICT) {
            rc = bad_body(e, "%s: preset dictionary not supported", name);
        } else {
            rc = bad_body(e, "%s: %s", name, z.msg ? z.msg : "corrupt data");
        }
        break;
    }
    inflateEnd(&z);
    return rc;
}

/* RFC 1950 header: deflate method, window <= 32 KiB, and the check bits. */
static int looks_like_zlib(const unsigned char *in, size_t n) {
    return n >= 2 && (in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 &&
           ((unsigned)in[0] << 8 | in[1]) % 31 == 0;
}

static int deflate_decode(const unsigned char *in, size_t n, struct sink *s, err *e) {
    err raw_err, zlib_err;
    if (zlib_decode("deflate", -15, in, n, s, &raw_err) == 0) return 0;
    /* CnosDB's deflate is raw, but some clients send zlib-wrapped data under that name. A zlib
     * header read as raw DEFLATE is a stored block with inconsistent lengths, so such a body fails
     * before producing anything. */
    if (raw_err.http == 400 && sink_produced(s) == 0 && looks_like_zlib(in, n)) {
        if (zlib_decode("deflate", 15, in, n, s, &zlib_err) == 0) return 0;
        /* Unless the zlib reading hit the limit, the raw diagnosis is the one that applies. */
        if (zlib_err.http != 400) raw_err = zlib_err;
    }
    if (e) *e = raw_err;
    return -1;
}

/* ---- brotli ---------------------------------------------------------------------------- */

static int br_decode(const unsigned char *in, size_t n, struct sink *s, err *e) {
    BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!st) return err_set(e, 500, EC_INTERNAL, "br: cannot initialise decoder");
    const uint8_t *next_in = in;
    size_t avail_in = n;
    int rc = 0;
    for (;;) {
        size_t room = sink_room(s, OUT_STEP);
        uint8_t *next_out = (uint8_t *)s->b->p + s->b->len;
        size_t avail_out = room;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
        s->b->len += room - avail_out;
        if (sink_over(s)) {
            rc = too_large(e, s->limit);
            break;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            if (avail_in) rc = bad_body(e, "br: %zu bytes of trailing data", avail_in);
        } else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            rc = bad_body(e, "br: unexpected end of compressed data");
        } else {
            rc = bad_body(e, "br: %s", BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st)));
        }
        break;
    }
    BrotliDecoderDestroyInstance(st);
    return rc;
}

/* ---- zstd ------------------------------------------------------------------------------ */

/* Largest window a frame may ask for. The window is memory the decoder allocates up front, so it
 * follows the limit, but never below 8 MiB: streaming compressors that do not know the size
 * use windows of 1-8 MiB even for small bodies. */
#define ZSTD_WLOG_FLOOR 23
#define ZSTD_WLOG_CEIL 27 /* zstd's own default maximum */
static int zstd_window_log(size_t limit) {
    int w = ZSTD_WLOG_FLOOR;
    while (w < ZSTD_WLOG_CEIL && ((size_t)1 << w) < limit) w++;
    return w;
}

static int zstd_decode(const unsigned char *in, size_t n, struct sink *s, err *e) {
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d) return err_set(e, 500, EC_INTERNAL, "zstd: cannot initialise decoder");
    int wlog = zstd_window_log(s->limit);
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, wlog);
    ZSTD_inBuffer ib = {in, n, 0};
    int rc = 0;
    for (;;) {
        size_t room = sink_room(s, OUT_STEP);
        ZSTD_outBuffer ob = {s->b->p + s->b->len, room, 0};
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        s->b->len += ob.pos;
        if (ZSTD_isError(r)) {
            if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge &&
                wlog < ZSTD_WLOG_CEIL)
                rc = too_large(e, s->limit);
            else
                rc = bad_body(e, "zstd: %s", ZSTD_getErrorName(r));
            break;
        }
        if (sink_over(s)) {
            rc = too_large(e, s->limit);
            break;
        }
        if (ib.pos == ib.size) {
            if (r == 0) break; /* last frame complete and flushed */
            if (ob.pos < ob.size) {
                /* Output had room, so the decoder is waiting for input that will not come. */
                rc = bad_body(e, "zstd: unexpected end of compressed data");
                break;
            }
        }
    }
    ZSTD_freeDCtx(d);
    return rc;
}

/* ---- lz4 frame ------------------------------------------------------------------------- */

static int lz4_decode(const unsigned char *in, size_t n, struct sink *s, err *e) {
    LZ4F_dctx *d = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return err_set(e, 500, EC_INTERNAL, "lz4: cannot initialise decoder");
    size_t pos = 0;
    int rc = 0;
    for (;;) {
        size_t room = sink_room(s, OUT_STEP);
        size_t dst = room, src = n - pos;
        size_t r = LZ4F_decompress(d, s->b->p + s->b->len, &dst, in + pos, &src, NULL);
        s->b->len += dst;
        pos += src;
        if (LZ4F_isError(r)) {
            rc = bad_body(e, "lz4: %s", LZ4F_getErrorName(r));
            break;
        }
        if (sink_over(s)) {
            rc = too_large(e, s->limit);
            break;
        }
        if (pos == n) {
            if (r == 0) break; /* frame complete; a following frame would start afresh */
            if (dst < room) {
                rc = bad_body(e, "lz4: unexpected end of compressed data");
                break;
            }
        } else if (src == 0 && dst == 0) {
            /* Cannot happen with room > 0, but a stalled loop would spin forever. */
            rc = bad_body(e, "lz4: decoder made no progress");
            break;
        }
    }
    LZ4F_freeDecompressionContext(d);
    return rc;
}

/* ---- snappy framing format ------------------------------------------------------------- */

static int snappy_decode(const unsigned char *in, size_t n, struct sink *s, err *e) {
    size_t pos = 0;
    int seen_id = 0;
    while (pos < n) {
        if (n - pos < 4) return bad_body(e, "snappy: truncated chunk header");
        unsigned type = in[pos];
        size_t len = (size_t)in[pos + 1] | (size_t)in[pos + 2] << 8 | (size_t)in[pos + 3] << 16;
        pos += 4;
        if (len > n - pos) return bad_body(e, "snappy: truncated chunk");
        const unsigned char *d = in + pos;
        pos += len;
        if (type == 0xff) {
            if (len != 6 || memcmp(d, snappy_stream_id + 4, 6) != 0)
                return bad_body(e, "snappy: invalid stream identifier");
            seen_id = 1;
            continue;
        }
        if (!seen_id) return bad_body(e, "snappy: missing stream identifier");
        if (type >= 0x80) continue; /* padding (0xfe) and reserved skippable chunks */
        if (type > 0x01) return bad_body(e, "snappy: reserved unskippable chunk type 0x%02x", type);
        if (len < 4) return bad_body(e, "snappy: chunk too short for its checksum");
        uint32_t want = get_le32(d);
        d += 4, len -= 4;
        size_t ulen = len;
        if (type == 0x00 && snappy_uncompressed_length((const char *)d, len, &ulen) != SNAPPY_OK)
            return bad_body(e, "snappy: corrupt compressed chunk");
        if (ulen > SNAPPY_MAX_BLOCK)
            return bad_body(e, "snappy: chunk of %zu bytes exceeds %d", ulen, SNAPPY_MAX_BLOCK);
        if (ulen > s->limit - sink_produced(s)) return too_large(e, s->limit);
        sink_room(s, ulen); /* ulen is within the budget, so this leaves ulen bytes free */
        char *dst = s->b->p + s->b->len;
        if (type == 0x00) {
            size_t got = ulen;
            if (snappy_uncompress((const char *)d, len, dst, &got) != SNAPPY_OK || got != ulen)
                return bad_body(e, "snappy: corrupt compressed chunk");
        } else if (ulen) {
            memcpy(dst, d, ulen);
        }
        if (snappy_masked_crc(dst, ulen) != want) return bad_body(e, "snappy: checksum mismatch");
        s->b->len += ulen;
    }
    return 0;
}

/* ---- decode entry point ---------------------------------------------------------------- */

int cenc_decode(enum cenc c, const void *in, size_t n, size_t limit, buf *out, err *e) {
    struct sink s = {out, out->len, limit};
    const unsigned char *p = in;
    int rc;
    if (n == 0 && (unsigned)c < CENC_COUNT) return 0;
    switch (c) {
    case CENC_IDENTITY:
        if (n > limit) return too_large(e, limit);
        buf_append(out, in, n);
        return 0;
    case CENC_GZIP:
        rc = zlib_decode("gzip", 15 + 16, p, n, &s, e);
        break;
    case CENC_DEFLATE:
        rc = deflate_decode(p, n, &s, e);
        break;
    case CENC_BR:
        rc = br_decode(p, n, &s, e);
        break;
    case CENC_ZSTD:
        rc = zstd_decode(p, n, &s, e);
        break;
    case CENC_SNAPPY:
        rc = snappy_decode(p, n, &s, e);
        break;
    case CENC_LZ4:
        rc = lz4_decode(p, n, &s, e);
        break;
    default:
        return err_set(e, 500, EC_INTERNAL, "unknown content coding %d", (int)c);
    }
    if (rc != 0) out->len = s.start;
    return rc;
}

/* ---- encoders -------------------------------------------------------------------------- */

static int zlib_encode(const char *name, int wbits, const unsigned char *in, size_t n, buf *out,
                       err *e) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(e, 500, EC_INTERNAL, "%s: cannot initialise encoder", name);
    /* The bound makes the usual case a single deflate call. */
    buf_reserve(out, (size_t)deflateBound(&z, (uLong)(n < ZLIB_PIECE ? n : ZLIB_PIECE)));
    size_t pos = 0;
    int rc = 0;
    for (;;) {
        if (z.avail_in == 0 && pos < n) {
            size_t take = n - pos < ZLIB_PIECE ? n - pos : ZLIB_PIECE;
            z.next_in = (unsigned char *)in + pos;
            z.avail_in = (uInt)take;
            pos += take;
        }
        if (out->cap == out->len) buf_reserve(out, OUT_STEP);
        size_t room = out->cap - out->len;
        if (room > UINT_MAX) room = UINT_MAX;
        z.next_out = (unsigned char *)out->p + out->len;
        z.avail_out = (uInt)room;
        int r = deflate(&z, pos == n ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (r == Z_STREAM_END) break;
        if (r != Z_OK && r != Z_BUF_ERROR) {
            rc = err_set(e, 500, EC_INTERNAL, "%s: compression failed (%d)", name, r);
            break;
        }
    }
    deflateEnd(&z);
    return rc;
}

static int br_encode(const unsigned char *in, size_t n, buf *out, err *e) {
    BrotliEncoderState *st = BrotliEncoderCreateInstance(NULL, NULL, NULL);
    if (!st) return err_set(e, 500, EC_INTERNAL, "br: cannot initialise encoder");
    BrotliEncoderSetParameter(st, BROTLI_PARAM_QUALITY, BROTLI_QUALITY);
    BrotliEncoderSetParameter(st, BROTLI_PARAM_SIZE_HINT,
                              n < (1u << 30) ? (uint32_t)n : (uint32_t)(1u << 30));
    size_t bound = BrotliEncoderMaxCompressedSize(n);
    buf_reserve(out, bound ? bound : OUT_STEP);
    const uint8_t *next_in = in;
    size_t avail_in = n;
    int rc = 0;
    for (;;) {
        if (out->cap == out->len) buf_reserve(out, OUT_STEP);
        uint8_t *next_out = (uint8_t *)out->p + out->len;
        size_t avail_out = out->cap - out->len;
        if (!BrotliEncoderCompressStream(st, BROTLI_OPERATION_FINISH, &avail_in, &next_in,
                                         &avail_out, &next_out, NULL)) {
            rc = err_set(e, 500, EC_INTERNAL, "br: compression failed");
            break;
        }
        out->len = (size_t)((char *)next_out - out->p);
        if (BrotliEncoderIsFinished(st)) break;
    }
    BrotliEncoderDestroyInstance(st);
    return rc;
}

static int zstd_encode(const unsigned char *in, size_t n, buf *out, err *e) {
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!c) return err_set(e, 500, EC_INTERNAL, "zstd: cannot initialise encoder");
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    /* A checksum lets the client tell a damaged response from a short one. */
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    size_t bound = ZSTD_compressBound(n);
    buf_reserve(out, bound);
    size_t r = ZSTD_compress2(c, out->p + out->len, bound, in, n);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r))
        return err_set(e, 500, EC_INTERNAL, "zstd: compression failed: %s", ZSTD_getErrorName(r));
    out->len += r;
    return 0;
}

static int lz4_encode(const unsigned char *in, size_t n, buf *out, err *e) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.contentSize = n;
    size_t bound = LZ4F_compressFrameBound(n, &prefs);
    buf_reserve(out, bound);
    size_t r = LZ4F_compressFrame(out->p + out->len, bound, in, n, &prefs);
    if (LZ4F_isError(r))
        return err_set(e, 500, EC_INTERNAL, "lz4: compression failed: %s", LZ4F_getErrorName(r));
    out->len += r;
    return 0;
}

static void put_chunk_header(char *p, unsigned type, size_t len, uint32_t crc) {
    p[0] = (char)type;
    p[1] = (char)(len & 0xff);
    p[2] = (char)((len >> 8) & 0xff);
    p[3] = (char)((len >> 16) & 0xff);
    p[4] = (char)(crc & 0xff);
    p[5] = (char)((crc >> 8) & 0xff);
    p[6] = (char)((crc >> 16) & 0xff);
    p[7] = (char)(crc >> 24);
}

static int snappy_encode(const unsigned char *in, size_t n, buf *out, err *e) {
    buf_append(out, snappy_stream_id, sizeof snappy_stream_id);
    size_t maxc = snappy_max_compressed_length(SNAPPY_MAX_BLOCK);
    for (size_t pos = 0; pos < n;) {
        size_t blk = n - pos < SNAPPY_MAX_BLOCK ? n - pos : SNAPPY_MAX_BLOCK;
        const char *src = (const char *)in + pos;
        buf_reserve(out, 8 + maxc);
        char *chunk = out->p + out->len;
        size_t clen = maxc;
        if (snappy_compress(src, blk, chunk + 8, &clen) != SNAPPY_OK)
            return err_set(e, 500, EC_INTERNAL, "snappy: compression failed");
        uint32_t crc = snappy_masked_crc(src, blk);
        /* Data that barely compresses is stored: decoding it is a memcpy. */
        if (clen < blk - blk / 8) {
            put_chunk_header(chunk, 0x00, clen + 4, crc);
            out->len += 8 + clen;
        } else {
            put_chunk_header(chunk, 0x01, blk + 4, crc);
            memcpy(chunk + 8, src, blk);
            out->len += 8 + blk;
        }
        pos += blk;
    }
    return 0;
}

int cenc_encode(enum cenc c, const void *in, size_t n, buf *out, err *e) {
    size_t start = out->len;
    const unsigned char *p = in;
    int rc;
    switch (c) {
    case CENC_IDENTITY:
        buf_append(out, in, n);
        return 0;
    case CENC_GZIP:
        rc = zlib_encode("gzip", 15 + 16, p, n, out, e);
        break;
    case CENC_DEFLATE:
        rc = zlib_encode("deflate", -15, p, n, out, e);
        break;
    case CENC_BR:
        rc = br_encode(p, n, out, e);
        break;
    case CENC_ZSTD:
        rc = zstd_encode(p, n, out, e);
        break;
    case CENC_SNAPPY:
        rc = snappy_encode(p, n, out, e);
        break;
    case CENC_LZ4:
        rc = lz4_encode(p, n, out, e);
        break;
    default:
        return err_set(e, 500, EC_INTERNAL, "unknown content coding %d", (int)c);
    }
    if (rc != 0) out->len = start;
    return rc;
}
