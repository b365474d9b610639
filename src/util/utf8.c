/* UTF-8 helpers: see utf8.h. */
#include "util/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

bool utf8_valid(const char *p, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)p;
    const uint64_t hi = 0x8080808080808080ull;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 16 && !((load64(s + i) | load64(s + i + 8)) & hi)) {
            i += 16;
            continue;
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, up = 0xBF; /* allowed range of the second byte */
        if (c < 0xC2) {
            goto fail; /* stray continuation byte, or overlong C0/C1 */
        } else if (c < 0xE0) {
            need = 1;
        } else if (c < 0xF0) {
            need = 2;
            if (c == 0xE0) lo = 0xA0; /* overlong */
            if (c == 0xED) up = 0x9F; /* UTF-16 surrogates */
        } else if (c < 0xF5) {
            need = 3;
            if (c == 0xF0) lo = 0x90; /* overlong */
            if (c == 0xF4) up = 0x8F; /* above U+10FFFF */
        } else {
            goto fail;
        }
        if (n - i <= need) goto fail;
        if (s[i + 1] < lo || s[i + 1] > up) goto fail;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) goto fail;
        i += need + 1;
    }
    return true;
fail:
    if (bad) *bad = i;
    return false;
}

size_t utf8_seq(const char *p, size_t n) {
    size_t bad;
    size_t need = 1;
    if (!n) return 0;
    unsigned char c = (unsigned char)p[0];
    if (c >= 0xF0)
        need = 4;
    else if (c >= 0xE0)
        need = 3;
    else if (c >= 0x80)
        need = 2;
    if (need > n || !utf8_valid(p, need, &bad)) return 0;
    return need;
}

void utf8_show(char *out, size_t cap, const char *p, size_t n) {
    enum { SHOW_MAX = 64 };
    size_t o = 0, i = 0;
    if (!cap) return;
    const unsigned char *s = (const unsigned char *)p;
    while (i < n && i < SHOW_MAX) {
        unsigned char c = s[i];
        char tmp[8];
        size_t tl, adv = 1;
        if (c == '\n') {
            memcpy(tmp, "\\n", tl = 2);
        } else if (c == '\r') {
            memcpy(tmp, "\\r", tl = 2);
        } else if (c == '\t') {
            memcpy(tmp, "\\t", tl = 2);
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
            tl = 4;
        } else if (c < 0x80) {
            tmp[0] = (char)c;
            tl = 1;
        } else {
            adv = utf8_seq(p + i, n - i);
            bool ok = adv > 1;
            if (ok) {
                memcpy(tmp, s + i, adv);
                tl = adv;
            } else {
                snprintf(tmp, sizeof tmp, "\\x%02X", c);
                tl = 4;
                adv = 1;
            }
        }
        if (o + tl + 4 > cap) break; /* keep room for "..." and the NUL */
        memcpy(out + o, tmp, tl);
        o += tl;
        i += adv;
    }
    if (i < n && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}
