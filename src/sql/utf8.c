/* UTF-8 helpers: see utf8.h. */
#include "sql/utf8.h"

#include <locale.h>
#include <pthread.h>
#include <wctype.h>

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

/* The C.UTF-8 locale of glibc carries Unicode's simple case mappings; without it (a libc
 * built without) only ASCII letters change. */
static void utf8_init(void) {
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

uint32_t utf8_chars(strv s) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* Decodes one well-formed (shortest form, not a surrogate) character at p; its byte length,
 * or 0 when the bytes there are not one. */
static uint32_t decode(const unsigned char *p, uint32_t n, uint32_t *cp) {
    unsigned char c = p[0];
    uint32_t len, v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (uint32_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

static uint32_t encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

strv utf8_case(arena *a, strv s, bool upper) {
    pthread_once(&utf8_once, utf8_init);
    /* a mapping grows a character by at most one byte per character (2 -> 3 bytes, ß -> SS) */
    char *out = arena_alloc(a, (size_t)s.len * 2 + 1);
    const unsigned char *p = (const unsigned char *)s.p;
    uint32_t i = 0, o = 0;
    while (i < s.len) {
        uint32_t cp, len = decode(p + i, s.len - i, &cp);
        if (len == 0) {
            out[o++] = (char)p[i++];
            continue;
        }
        i += len;
        if (cp < 0x80) {
            if (upper && cp >= 'a' && cp <= 'z') cp -= 32;
            if (!upper && cp >= 'A' && cp <= 'Z') cp += 32;
        } else if (upper && cp == 0xDF) {
            out[o++] = 'S';
            out[o++] = 'S';
            continue;
        } else if (utf8_loc) {
            cp = upper ? (uint32_t)towupper_l((wint_t)cp, utf8_loc)
                       : (uint32_t)towlower_l((wint_t)cp, utf8_loc);
        }
        o += encode(cp, out + o);
    }
    return (strv){out, o};
}
