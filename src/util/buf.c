/* Growable byte buffer: see buf.h. */
#include "util/buf.h"

#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_grow(buf *b, size_t need) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < need) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void buf_free(buf *b) {
    free(b->p);
    buf_init(b);
}

void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
    } else {
        buf_reserve(b, (size_t)n + 1);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

const char *buf_cstr(buf *b) {
    buf_reserve(b, 1);
    b->p[b->len] = 0;
    return b->p;
}

char *buf_detach(buf *b, size_t *len) {
    char *p = b->p;
    if (len) *len = b->len;
    buf_init(b);
    return p;
}
