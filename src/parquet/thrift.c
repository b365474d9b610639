/* The Thrift compact protocol, as Parquet's footer and page headers use it: field headers
 * carry the id as a delta from the previous field of the same struct (or in full after the
 * type byte), integers are zigzag varints, a struct field's bool lives in its header's type.
 * The reader never reads past its end: every read checks the bytes left and marks the reader
 * bad instead, and lists are checked against the bytes left so a damaged count cannot make a
 * caller allocate much. */
#include "parquet/pq_int.h"

#include <string.h>

void tc_init(tc_reader *r, const void *p, size_t n) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = r->p + n;
    r->bool_val = -1;
}

static uint64_t varint(tc_reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void tc_struct_begin(tc_reader *r) {
    if (r->depth >= TC_MAX_DEPTH) {
        r->bad = true;
        return;
    }
    r->last[r->depth++] = 0;
}

void tc_struct_end(tc_reader *r) {
    if (r->depth > 0) r->depth--;
}

bool tc_field(tc_reader *r, int *type, int *id) {
    if (r->bad || r->depth == 0) return false;
    if (r->p >= r->end) {
        r->bad = true;
        return false;
    }
    uint8_t h = *r->p++;
    *type = h & 0x0f;
    if (*type == TT_STOP) return false;
    int delta = h >> 4;
    int16_t *last = &r->last[r->depth - 1];
    if (delta)
        *id = *last + delta;
    else
        *id = (int)unzigzag(varint(r));
    *last = (int16_t)*id;
    r->bool_val = *type == TT_TRUE ? 1 : *type == TT_FALSE ? 0 : -1;
    return !r->bad;
}

int64_t tc_i64(tc_reader *r) {
    return unzigzag(varint(r));
}

int32_t tc_i32(tc_reader *r) {
    int64_t v = tc_i64(r);
    if (v < INT32_MIN || v > INT32_MAX) {
        r->bad = true;
        return 0;
    }
    return (int32_t)v;
}

bool tc_bool(tc_reader *r, int type) {
    (void)r;
    return type == TT_TRUE;
}

int8_t tc_byte(tc_reader *r) {
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return (int8_t)*r->p++;
}

const uint8_t *tc_binary(tc_reader *r, uint32_t *len) {
    uint64_t n = varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        *len = 0;
        return (const uint8_t *)"";
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = (uint32_t)n;
    return p;
}

uint32_t tc_list(tc_reader *r, int *elem_type) {
    if (r->p >= r->end) {
        r->bad = true;
        *elem_type = 0;
        return 0;
    }
    uint8_t h = *r->p++;
    *elem_type = h & 0x0f;
    uint64_t n = h >> 4;
    if (n == 15) n = varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return 0;
    }
    return (uint32_t)n;
}

bool tc_list_bool(tc_reader *r) {
    return tc_byte(r) == 1;
}

/* n elements of a list (vt < 0) or n key/value pairs of a map; a collection's bools are a byte
 * each, not a field header. Nesting counts against the depth like a struct. */
static void skip_elems(tc_reader *r, uint64_t n, int kt, int vt) {
    if (r->depth >= TC_MAX_DEPTH) {
        r->bad = true;
        return;
    }
    r->depth++;
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        for (int k = 0; k < (vt < 0 ? 1 : 2); k++) {
            int t = k ? vt : kt;
            if (t == TT_TRUE || t == TT_FALSE)
                tc_byte(r);
            else
                tc_skip(r, t);
        }
    }
    r->depth--;
}

void tc_skip(tc_reader *r, int type) {
    if (r->bad) return;
    switch (type) {
    case TT_TRUE:
    case TT_FALSE:
        return; /* a field's bool: nothing follows its header */
    case TT_BYTE:
        tc_byte(r);
        return;
    case TT_I16:
    case TT_I32:
    case TT_I64:
        varint(r);
        return;
    case TT_DOUBLE:
        if (r->end - r->p < 8)
            r->bad = true;
        else
            r->p += 8;
        return;
    case TT_BINARY: {
        uint32_t n;
        tc_binary(r, &n);
        return;
    }
    case TT_LIST:
    case TT_SET: {
        int et;
        uint32_t n = tc_list(r, &et);
        skip_elems(r, n, et, -1);
        return;
    }
    case TT_MAP: {
        uint64_t n = varint(r);
        if (r->bad || n > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return;
        }
        if (!n) return;
        uint8_t kv = (uint8_t)tc_byte(r);
        skip_elems(r, n, kv >> 4, kv & 0x0f);
        return;
    }
    case TT_STRUCT: {
        tc_struct_begin(r);
        int t, id;
        while (tc_field(r, &t, &id)) tc_skip(r, t);
        tc_struct_end(r);
        return;
    }
    default:
        r->bad = true;
        return;
    }
}

/* ------------------------------------------------------------------ writer */

void tcw_init(tc_writer *w, buf *b) {
    memset(w, 0, sizeof *w);
    w->b = b;
}

void tcw_varint(tc_writer *w, uint64_t v) {
    buf_put_uvarint(w->b, v);
}

void tcw_zigzag(tc_writer *w, int64_t v) {
    tcw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void tcw_struct_begin(tc_writer *w) {
    w->last[w->depth++] = 0;
}

void tcw_struct_end(tc_writer *w) {
    buf_putc(w->b, 0);
    w->depth--;
}

void tcw_field(tc_writer *w, int type, int id) {
    int16_t *last = &w->last[w->depth - 1];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        buf_putc(w->b, (char)((delta << 4) | type));
    } else {
        buf_putc(w->b, (char)type);
        tcw_zigzag(w, id);
    }
    *last = (int16_t)id;
}

void tcw_i32(tc_writer *w, int id, int32_t v) {
    tcw_field(w, TT_I32, id);
    tcw_zigzag(w, v);
}

void tcw_i64(tc_writer *w, int id, int64_t v) {
    tcw_field(w, TT_I64, id);
    tcw_zigzag(w, v);
}

void tcw_bool(tc_writer *w, int id, bool v) {
    tcw_field(w, v ? TT_TRUE : TT_FALSE, id);
}

void tcw_binary(tc_writer *w, int id, const void *p, uint32_t n) {
    tcw_field(w, TT_BINARY, id);
    tcw_varint(w, n);
    buf_append(w->b, p, n);
}

void tcw_list(tc_writer *w, int id, int elem_type, uint32_t n) {
    tcw_field(w, TT_LIST, id);
    if (n < 15) {
        buf_putc(w->b, (char)((n << 4) | (uint32_t)elem_type));
    } else {
        buf_putc(w->b, (char)(0xf0 | elem_type));
        tcw_varint(w, n);
    }
}

void tcw_empty_struct(tc_writer *w, int id) {
    tcw_field(w, TT_STRUCT, id);
    buf_putc(w->b, 0);
}
