/* Parquet's integer encodings: the RLE / bit-packed hybrid (definition levels, dictionary
 * indexes, booleans) read and written, and DELTA_BINARY_PACKED read. Values are packed least
 * significant bit first. Decoders stop (return false) at the end of their bytes rather than
 * read past it; a run that claims more values than its bytes hold ends where the bytes do. */
#include "parquet/pq_int.h"

#include <string.h>

int pq_bit_width(uint64_t v) {
    int w = 0;
    while (v) {
        w++;
        v >>= 1;
    }
    return w;
}

static bool uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    const uint8_t *p = *pp;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) return false;
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return true;
        }
    }
    return false;
}

/* width bits (0..64) at bit offset `bit` of p (whose bytes end at end): false past the end. */
static bool get_bits(const uint8_t *p, const uint8_t *end, uint64_t bit, int width, uint64_t *out) {
    if (width == 0) {
        *out = 0;
        return true;
    }
    uint64_t last = bit + (uint64_t)width - 1;
    if (last / 8 >= (uint64_t)(end - p)) return false;
    uint64_t v = 0;
    int got = 0;
    uint64_t byte = bit / 8;
    int shift = (int)(bit % 8);
    while (got < width) {
        uint64_t b = p[byte++] >> shift;
        int take = 8 - shift;
        v |= b << got;
        got += take;
        shift = 0;
    }
    if (width < 64) v &= ((uint64_t)1 << width) - 1;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ RLE / bit-packed hybrid */

void rle_init(rle_dec *d, const uint8_t *p, size_t n, int width) {
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->width = width;
}

static bool rle_run(rle_dec *d) {
    uint64_t h;
    if (!uvarint(&d->p, d->end, &h)) return false;
    if (h & 1) {
        uint64_t groups = h >> 1;
        uint64_t bytes = groups * (uint64_t)d->width;
        uint64_t avail = (uint64_t)(d->end - d->p);
        uint64_t vals = groups * 8;
        if (bytes > avail) {
            /* a last run cut short: only the values whose bits are all there */
            vals = d->width ? avail * 8 / (uint64_t)d->width : vals;
            bytes = avail;
        }
        if (!vals || vals > UINT32_MAX) return false;
        d->packed = true;
        d->p0 = d->p;
        d->bitpos = 0;
        d->run_left = (uint32_t)vals;
        d->p += bytes;
        return true;
    }
    uint64_t count = h >> 1;
    int nb = (d->width + 7) / 8;
    if (!count || count > UINT32_MAX || d->end - d->p < nb) return false;
    uint64_t v = 0;
    for (int i = 0; i < nb; i++) v |= (uint64_t)d->p[i] << (8 * i);
    d->p += nb;
    d->packed = false;
    d->rle_val = v;
    d->run_left = (uint32_t)count;
    return true;
}

bool rle_next(rle_dec *d, uint32_t *v) {
    if (d->run_left == 0 && !rle_run(d)) return false;
    d->run_left--;
    if (!d->packed) {
        *v = (uint32_t)d->rle_val;
        return true;
    }
    uint64_t x;
    if (!get_bits(d->p0, d->end, d->bitpos, d->width, &x)) return false;
    d->bitpos += (uint64_t)d->width;
    *v = (uint32_t)x;
    return true;
}

static void put_packed(buf *b, const uint32_t *v, uint32_t n, int width) {
    /* n is a multiple of 8: each group of 8 values takes exactly `width` bytes */
    uint64_t acc = 0;
    int bits = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << bits;
        bits += width;
        while (bits >= 8) {
            buf_putc(b, (char)(acc & 0xff));
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits) buf_putc(b, (char)(acc & 0xff));
}

void rle_encode(buf *b, const uint32_t *v, uint32_t n, int width) {
    int nb = (width + 7) / 8;
    uint32_t i = 0;
    while (i < n) {
        uint32_t j = i + 1;
        while (j < n && v[j] == v[i]) j++;
        if (j - i >= 8) {
            buf_put_uvarint(b, (uint64_t)(j - i) << 1);
            for (int k = 0; k < nb; k++) buf_putc(b, (char)(v[i] >> (8 * k)));
            i = j;
            continue;
        }
        /* groups of 8 until a long run starts at a group's boundary */
        uint32_t start = i, groups = 0;
        while (i < n) {
            i += 8;
            groups++;
            if (i >= n) break;
            uint32_t k = i + 1;
            while (k < n && k - i < 8 && v[k] == v[i]) k++;
            if (k - i >= 8) break;
        }
        uint32_t tmp[8];
        buf_put_uvarint(b, ((uint64_t)groups << 1) | 1);
        for (uint32_t g = 0; g < groups; g++) {
            uint32_t at = start + g * 8;
            if (at + 8 <= n) {
                put_packed(b, v + at, 8, width);
            } else {
                memset(tmp, 0, sizeof tmp);
                memcpy(tmp, v + at, sizeof *tmp * (n - at));
                put_packed(b, tmp, 8, width);
            }
        }
        if (i > n) i = n;
    }
}

/* ------------------------------------------------------------------ DELTA_BINARY_PACKED */

bool delta_init(delta_dec *d, const uint8_t *p, size_t n) {
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    uint64_t first;
    if (!uvarint(&d->p, d->end, &d->block_size) || !uvarint(&d->p, d->end, &d->nmini) ||
        !uvarint(&d->p, d->end, &d->total) || !uvarint(&d->p, d->end, &first))
        return false;
    if (!d->block_size || !d->nmini || d->nmini > d->block_size || d->block_size % d->nmini ||
        d->block_size > (1u << 20) || (d->block_size / d->nmini) % 8)
        return false;
    d->mini_vals = (uint32_t)(d->block_size / d->nmini);
    d->last = (int64_t)((first >> 1) ^ -(first & 1));
    d->mini_idx = (uint32_t)d->nmini; /* a block header comes first */
    d->in_mini = d->mini_vals;
    return true;
}

static bool delta_advance(delta_dec *d) {
    if (d->mini_idx == d->nmini) {
        uint64_t md;
        if (!uvarint(&d->p, d->end, &md)) return false;
        d->min_delta = (int64_t)((md >> 1) ^ -(md & 1));
        if ((uint64_t)(d->end - d->p) < d->nmini) return false;
        d->widths = d->p;
        d->p += d->nmini;
        d->mini_idx = 0;
    }
    d->width = d->widths[d->mini_idx++];
    if (d->width > 64) return false;
    d->mini_p = d->p;
    uint64_t bytes = (uint64_t)d->mini_vals * (uint64_t)d->width / 8;
    uint64_t avail = (uint64_t)(d->end - d->p);
    d->p += bytes < avail ? bytes : avail;
    d->in_mini = 0;
    return true;
}

bool delta_next(delta_dec *d, int64_t *v) {
    if (d->bad || d->done >= d->total) return false;
    if (d->done == 0) {
        d->done = 1;
        *v = d->last;
        return true;
    }
    if (d->in_mini == d->mini_vals && !delta_advance(d)) {
        d->bad = true;
        return false;
    }
    uint64_t x;
    if (!get_bits(d->mini_p, d->end, (uint64_t)d->in_mini * (uint64_t)d->width, d->width, &x)) {
        d->bad = true;
        return false;
    }
    d->in_mini++;
    d->last = (int64_t)((uint64_t)d->last + (uint64_t)d->min_delta + x);
    d->done++;
    *v = d->last;
    return true;
}

const uint8_t *delta_end(delta_dec *d) {
    return d->p;
}
