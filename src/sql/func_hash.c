/* Hashes, binary encodings and uuid(): the kernels func_string.c's table names (see
 * func_str_int.h).
 *
 * DataFusion returns md5 as hex text and sha224..sha512, digest and decode as Binary, which
 * its clients print as lower-case hex. Strata has no binary type, so a Binary result is that
 * printed form, hex text: what CnosDB shows for them, at the cost of octet_length and
 * arrow_typeof answering for the text (64 characters, Utf8) instead of the bytes (32, Binary),
 * and encode() taking that text as the string it is. Digests come from OpenSSL's libcrypto,
 * but for blake3, which it lacks. */
#include "sql/func_str_int.h"

#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

static const char hexd[] = "0123456789abcdef";

static strv to_hex(arena *a, const unsigned char *p, size_t n) {
    char *q = arena_alloc(a, 2 * n + 1);
    for (size_t i = 0; i < n; i++) q[2 * i] = hexd[p[i] >> 4], q[2 * i + 1] = hexd[p[i] & 15];
    return (strv){q, (uint32_t)(2 * n)};
}

/* The digest of every valid row of args[0] as hex text. */
static int hash_rows(const EVP_MD *md, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = args[0].d.s[i];
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned int hl = 0;
        if (!EVP_Digest(s.len ? s.p : "", s.len, h, &hl, md, NULL))
            return err_set(er, 500, EC_INTERNAL, "libcrypto failed to hash a value");
        out->d.s[i] = to_hex(a, h, hl);
    }
    return 0;
}

/* ------------------------------------------------------------------ BLAKE3
 * The hash (32 bytes, no key) as its specification defines it, which libcrypto lacks: the
 * input in 1 KiB chunks of 64-byte blocks, each chunk compressed into a chaining value, the
 * chunk values merged pairwise into a binary tree, the last compression flagged ROOT. Plain C,
 * one block at a time: digests of SQL values do not need SIMD. */

enum { B3_CHUNK_START = 1, B3_CHUNK_END = 2, B3_PARENT = 4, B3_ROOT = 8 };

static const uint32_t b3_iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                  0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};
static const uint8_t b3_perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

static uint32_t rotr32(uint32_t x, int n) {
    return x >> n | x << (32 - n);
}

static void b3_g(uint32_t *v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
    v[a] += v[b] + x;
    v[d] = rotr32(v[d] ^ v[a], 16);
    v[c] += v[d];
    v[b] = rotr32(v[b] ^ v[c], 12);
    v[a] += v[b] + y;
    v[d] = rotr32(v[d] ^ v[a], 8);
    v[c] += v[d];
    v[b] = rotr32(v[b] ^ v[c], 7);
}

/* The compression function: the first 8 words of its output are the next chaining value. */
static void b3_compress(const uint32_t cv[8], const unsigned char block[64], uint32_t len,
                        uint64_t counter, uint32_t flags, uint32_t out[8]) {
    uint32_t m[16], t[16], v[16];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
               (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
    memcpy(v, cv, 32);
    memcpy(v + 8, b3_iv, 16);
    v[12] = (uint32_t)counter, v[13] = (uint32_t)(counter >> 32), v[14] = len, v[15] = flags;
    for (int r = 0; r < 7; r++) {
        b3_g(v, 0, 4, 8, 12, m[0], m[1]);
        b3_g(v, 1, 5, 9, 13, m[2], m[3]);
        b3_g(v, 2, 6, 10, 14, m[4], m[5]);
        b3_g(v, 3, 7, 11, 15, m[6], m[7]);
        b3_g(v, 0, 5, 10, 15, m[8], m[9]);
        b3_g(v, 1, 6, 11, 12, m[10], m[11]);
        b3_g(v, 2, 7, 8, 13, m[12], m[13]);
        b3_g(v, 3, 4, 9, 14, m[14], m[15]);
        for (int i = 0; i < 16; i++) t[i] = m[b3_perm[i]];
        memcpy(m, t, sizeof m);
    }
    for (int i = 0; i < 8; i++) out[i] = v[i] ^ v[i + 8];
}

/* The chaining value of chunk number idx (p, n <= 1024 bytes); root: it is the whole input. */
static void b3_chunk(const unsigned char *p, size_t n, uint64_t idx, bool root, uint32_t cv[8]) {
    memcpy(cv, b3_iv, 32);
    size_t nblocks = n ? (n + 63) / 64 : 1;
    for (size_t b = 0; b < nblocks; b++) {
        unsigned char block[64] = {0};
        size_t len = n - b * 64 < 64 ? n - b * 64 : 64;
        if (len) memcpy(block, p + b * 64, len);
        uint32_t flags = (b == 0 ? B3_CHUNK_START : 0) |
                         (b + 1 == nblocks ? B3_CHUNK_END | (root ? B3_ROOT : 0) : 0);
        b3_compress(cv, block, (uint32_t)len, idx, flags, cv);
    }
}

static void b3_parent(const uint32_t l[8], const uint32_t r[8], bool root, uint32_t cv[8]) {
    unsigned char block[64];
    for (int i = 0; i < 16; i++) {
        uint32_t w = i < 8 ? l[i] : r[i - 8];
        for (int k = 0; k < 4; k++) block[4 * i + k] = (unsigned char)(w >> (8 * k));
    }
    b3_compress(b3_iv, block, 64, 0, B3_PARENT | (root ? B3_ROOT : 0), cv);
}

/* The tree over chunks [first, first + count): a left subtree of the largest power of two of
 * chunks less than count, the rest on the right, as the specification lays it out. */
static void b3_tree(const unsigned char *p, size_t n, uint64_t first, uint64_t count, bool root,
                    uint32_t cv[8]) {
    if (count == 1) {
        size_t off = (size_t)first * 1024;
        b3_chunk(p + off, n - off < 1024 ? n - off : 1024, first, root, cv);
        return;
    }
    uint64_t left = 1;
    while (left * 2 < count) left *= 2;
    uint32_t l[8], r[8];
    b3_tree(p, n, first, left, false, l);
    b3_tree(p, n, first + left, count - left, false, r);
    b3_parent(l, r, root, cv);
}

static void blake3(const unsigned char *p, size_t n, unsigned char out[32]) {
    uint32_t cv[8];
    b3_tree(p, n, 0, n ? (n + 1023) / 1024 : 1, true, cv);
    for (int i = 0; i < 32; i++) out[i] = (unsigned char)(cv[i / 4] >> (8 * (i % 4)));
}

static int blake3_rows(vec *args, uint32_t n, arena *a, vec *out) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char h[32];
        blake3((const unsigned char *)args[0].d.s[i].p, args[0].d.s[i].len, h);
        out->d.s[i] = to_hex(a, h, 32);
    }
    return 0;
}

static const EVP_MD *md_named(const char *name) {
    if (!strcmp(name, "md5")) return EVP_md5();
    if (!strcmp(name, "sha224")) return EVP_sha224();
    if (!strcmp(name, "sha256")) return EVP_sha256();
    if (!strcmp(name, "sha384")) return EVP_sha384();
    if (!strcmp(name, "sha512")) return EVP_sha512();
    if (!strcmp(name, "blake2s")) return EVP_blake2s256();
    if (!strcmp(name, "blake2b")) return EVP_blake2b512();
    return NULL;
}

int fs_md5(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    return hash_rows(EVP_md5(), args, n, a, out, er);
}

/* aux: the function's name, which is the algorithm's */
int fs_sha(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    return hash_rows(md_named(e->aux), args, n, a, out, er);
}

/* DataFusion reads a constant second argument (a digest's algorithm, an encoding) when it
 * runs the call: a column there, or NULL, fails as it does. */
static int method_arg(const bexpr *e, const char *fn, const char *what, strv *m, err *er) {
    const bexpr *x = e->args[1];
    if (x->kind != BX_CONST)
        return fs_exec_err(e, er, "Internal error",
                           "%s using dynamically decided method is not yet supported", what);
    if (x->cval.null)
        return fs_exec_err(e, er, "Execution error",
                           "Unsupported data type Utf8(NULL) for function %s", fn);
    *m = x->cval.v.s;
    return 0;
}

int fs_digest(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    strv m;
    if (method_arg(e, "digest", "Digest", &m, er) < 0) return -1;
    char name[16] = "";
    if (m.len < sizeof name) memcpy(name, m.p, m.len), name[m.len] = 0;
    const EVP_MD *md = md_named(name);
    if (!md && !strcmp(name, "blake3")) return blake3_rows(args, n, a, out);
    if (!md)
        return fs_exec_err(
            e, er, "Error during planning",
            "There is no built-in digest algorithm named '%.*s', currently supported "
            "algorithms are: md5, sha224, sha256, sha384, sha512, blake2s, blake2b, "
            "blake3",
            (int)(m.len > 64 ? 64 : m.len), m.p);
    return hash_rows(md, args, n, a, out, er);
}

/* ------------------------------------------------------------------ encode, decode */

static const char b64d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int encoding_of(const bexpr *e, const char *fn, bool *hex, err *er) {
    strv m;
    if (method_arg(e, fn, fn[0] == 'e' ? "Encode" : "Decode", &m, er) < 0) return -1;
    if (m.len == 3 && !memcmp(m.p, "hex", 3))
        *hex = true;
    else if (m.len == 6 && !memcmp(m.p, "base64", 6))
        *hex = false;
    else
        return fs_exec_err(e, er, "Error during planning",
                           "There is no built-in encoding named '%.*s', currently supported "
                           "encodings are: base64, hex",
                           (int)(m.len > 64 ? 64 : m.len), m.p);
    return 0;
}

/* base64 without padding, as DataFusion's (STANDARD_NO_PAD) */
static strv b64_encode(arena *a, strv s) {
    size_t n = s.len, len = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    char *q = arena_alloc(a, len + 1);
    const unsigned char *p = (const unsigned char *)s.p;
    size_t at = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        size_t out = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < out; k++) q[at++] = b64d[(v >> (18 - 6 * k)) & 63];
    }
    return (strv){q, (uint32_t)len};
}

int fs_encode(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool hex;
    if (encoding_of(e, "encode", &hex, er) < 0) return -1;
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = args[0].d.s[i];
        out->d.s[i] = hex ? to_hex(a, (const unsigned char *)s.p, s.len) : b64_encode(a, s);
    }
    return 0;
}

static int b64_val(char c) {
    const char *p = c ? strchr(b64d, c) : NULL;
    return p ? (int)(p - b64d) : -1;
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* s decoded into bytes (at most s.len of them) at q; their count, or -1 with the error */
static int64_t decode_one(const bexpr *e, bool hex, strv s, unsigned char *q, err *er) {
    size_t at = 0;
    if (hex) {
        if (s.len % 2)
            return fs_exec_err(e, er, "Internal error",
                               "Failed to decode value using hex: Odd number of digits");
        for (uint32_t i = 0; i < s.len; i += 2) {
            int hi = hex_val(s.p[i]), lo = hex_val(s.p[i + 1]);
            if (hi < 0 || lo < 0) {
                uint32_t bad = hi < 0 ? i : i + 1;
                return fs_exec_err(e, er, "Internal error",
                                   "Failed to decode value using hex: Invalid character '%c' at "
                                   "position %u",
                                   s.p[bad], bad);
            }
            q[at++] = (unsigned char)(hi << 4 | lo);
        }
        return (int64_t)at;
    }
    if (s.len % 4 == 1)
        return fs_exec_err(e, er, "Internal error",
                           "Failed to decode value using base64: Encoded text cannot have a 6-bit "
                           "remainder.");
    uint32_t acc = 0, bits = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        int v = b64_val(s.p[i]);
        if (v < 0)
            return fs_exec_err(e, er, "Internal error",
                               "Failed to decode value using base64: Invalid byte %u, offset %u.",
                               (unsigned char)s.p[i], i);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            q[at++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (int64_t)at;
}

int fs_decode(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool hex;
    if (encoding_of(e, "decode", &hex, er) < 0) return -1;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 1, i, out)) continue;
        strv s = args[0].d.s[i];
        unsigned char *q = arena_alloc(a, s.len + 1);
        int64_t len = decode_one(e, hex, s, q, er);
        if (len < 0) return -1;
        out->d.s[i] = to_hex(a, q, (size_t)len);
    }
    return 0;
}

/* ------------------------------------------------------------------ uuid */

/* A random (version 4) UUID per row, from the kernel's CSPRNG. */
int fs_uuid(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    unsigned char *r = arena_alloc(a, 16 * (size_t)n + 1);
    for (size_t got = 0; got < 16 * (size_t)n;) {
        ssize_t k = getrandom(r + got, 16 * (size_t)n - got, 0);
        if (k < 0)
            return err_set(er, 500, EC_INTERNAL, "getrandom failed: no random bytes for uuid()");
        got += (size_t)k;
    }
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *u = r + 16 * (size_t)i;
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
        char *q = arena_alloc(a, 36);
        size_t at = 0;
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10) q[at++] = '-';
            q[at++] = hexd[u[k] >> 4];
            q[at++] = hexd[u[k] & 15];
        }
        out->d.s[i] = (strv){q, 36};
    }
    return 0;
}
