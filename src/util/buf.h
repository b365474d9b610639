/* Growable byte buffer, heap-owned by whoever holds the struct.
 *
 * The struct is public because it sits on the hot path of encoders and the WAL: appends are
 * inline and only call out to grow. Contents are not NUL-terminated unless buf_cstr is used. */
#ifndef STRATA_UTIL_BUF_H
#define STRATA_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

void buf_grow(buf *b, size_t need); /* ensures cap >= len + need */
void buf_free(buf *b);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *buf_cstr(buf *b); /* NUL-terminates without counting the NUL */
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_detach(buf *b, size_t *len);

static inline void buf_init(buf *b) {
    b->p = NULL, b->len = 0, b->cap = 0;
}
static inline void buf_reset(buf *b) {
    b->len = 0;
}
static inline void buf_reserve(buf *b, size_t n) {
    if (b->cap - b->len < n) buf_grow(b, n);
}
static inline void buf_append(buf *b, const void *p, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}
static inline void buf_puts(buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}
static inline void buf_putc(buf *b, char c) {
    buf_reserve(b, 1);
    b->p[b->len++] = c;
}
static inline void buf_put_u32le(buf *b, uint32_t v) {
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, t, 4);
}
static inline void buf_put_u64le(buf *b, uint64_t v) {
    buf_put_u32le(b, (uint32_t)v);
    buf_put_u32le(b, (uint32_t)(v >> 32));
}
/* LEB128 unsigned varint. */
static inline void buf_put_uvarint(buf *b, uint64_t v) {
    buf_reserve(b, 10);
    while (v >= 0x80) {
        b->p[b->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (char)v;
}

#endif
