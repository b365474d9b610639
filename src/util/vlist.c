/* List values: see vlist.h. */
#include "util/vlist.h"

#include "util/vstruct.h"

#include <math.h>
#include <string.h>

static size_t elem_size(uint8_t etype) {
    return etype == VT_NULL ? 0 : vtype_size(etype);
}

strv vlist_make(arena *a, uint8_t etype, const value *items, uint32_t n) {
    size_t nb = bitmap_bytes(n), size = 4 + nb;
    bool varlen = etype == VT_STR || etype == VT_STRUCT;
    if (varlen) {
        size += 4 * ((size_t)n + 1);
        for (uint32_t i = 0; i < n; i++)
            if (!items[i].null) size += items[i].v.s.len;
    } else {
        size += elem_size(etype) * n;
    }
    char *p = arena_calloc(a, size);
    memcpy(p, &n, 4);
    uint8_t *valid = (uint8_t *)p + 4;
    char *data = p + 4 + nb;
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const value *v = &items[i];
        if (v->null || etype == VT_NULL) {
            if (varlen) memcpy(data + 4 * ((size_t)i + 1), &off, 4);
            continue;
        }
        bitmap_set(valid, i);
        switch (etype) {
        case VT_STR:
        case VT_STRUCT: {
            char *bytes = data + 4 * ((size_t)n + 1);
            if (v->v.s.len) memcpy(bytes + off, v->v.s.p, v->v.s.len);
            off += v->v.s.len;
            memcpy(data + 4 * ((size_t)i + 1), &off, 4);
            break;
        }
        case VT_BOOL:
            data[i] = v->v.b ? 1 : 0;
            break;
        case VT_INTERVAL:
            memcpy(data + sizeof(interval) * i, &v->v.iv, sizeof(interval));
            break;
        default: /* i64, u64, f64, timestamps and dates: eight bytes */
            memcpy(data + 8 * (size_t)i, &v->v.i, 8);
            break;
        }
    }
    return (strv){p, (uint32_t)size};
}

uint32_t vlist_len(strv l) {
    uint32_t n = 0;
    if (l.len >= 4) memcpy(&n, l.p, 4);
    return n;
}

void vlist_get(strv l, uint8_t unit, uint32_t i, value *out) {
    uint8_t etype = vlist_etype(unit);
    uint32_t n = vlist_len(l);
    memset(out, 0, sizeof *out);
    out->type = etype;
    out->unit = vlist_eunit(unit);
    const uint8_t *valid = (const uint8_t *)l.p + 4;
    const char *data = l.p + 4 + bitmap_bytes(n);
    if (etype == VT_NULL || i >= n || !bitmap_get(valid, i)) {
        out->null = true;
        if (etype == VT_STR || etype == VT_STRUCT) out->v.s = (strv){"", 0};
        return;
    }
    switch (etype) {
    case VT_STR:
    case VT_STRUCT: {
        uint32_t from, to;
        memcpy(&from, data + 4 * (size_t)i, 4);
        memcpy(&to, data + 4 * ((size_t)i + 1), 4);
        out->v.s = (strv){data + 4 * ((size_t)n + 1) + from, to - from};
        break;
    }
    case VT_BOOL:
        out->v.b = data[i] != 0;
        break;
    case VT_INTERVAL:
        memcpy(&out->v.iv, data + sizeof(interval) * i, sizeof(interval));
        break;
    default:
        memcpy(&out->v.i, data + 8 * (size_t)i, 8);
        break;
    }
}

uint32_t vlist_items(arena *a, strv l, uint8_t unit, value **out) {
    uint32_t n = vlist_len(l);
    *out = n ? arena_alloc(a, sizeof **out * n) : NULL;
    for (uint32_t i = 0; i < n; i++) vlist_get(l, unit, i, &(*out)[i]);
    return n;
}

bool vlist_elem_eq(const value *x, const value *y) {
    if (x->null || y->null) return x->null == y->null;
    switch (x->type) {
    case VT_STR:
    case VT_STRUCT: /* canonical bytes */
        return x->v.s.len == y->v.s.len && !memcmp(x->v.s.p, y->v.s.p, x->v.s.len);
    case VT_BOOL:
        return x->v.b == y->v.b;
    case VT_F64:
        return x->v.f == y->v.f;
    case VT_INTERVAL:
        return !memcmp(&x->v.iv, &y->v.iv, sizeof(interval));
    default:
        return x->v.i == y->v.i;
    }
}

int vlist_value_cmp(const value *x, const value *y) {
    if (x->null || y->null) return (int)y->null - (int)x->null;
    switch (x->type) {
    case VT_STR: {
        uint32_t n = x->v.s.len < y->v.s.len ? x->v.s.len : y->v.s.len;
        int r = n ? memcmp(x->v.s.p, y->v.s.p, n) : 0;
        return r ? (r > 0) - (r < 0) : (x->v.s.len > y->v.s.len) - (x->v.s.len < y->v.s.len);
    }
    case VT_LIST:
        return vlist_cmp(x->v.s, y->v.s, x->unit);
    case VT_STRUCT:
        return vstruct_cmp(x->v.s, y->v.s, x->unit);
    case VT_BOOL:
        return (int)x->v.b - (int)y->v.b;
    case VT_U64:
        return (x->v.u > y->v.u) - (x->v.u < y->v.u);
    case VT_F64:
        if (isnan(x->v.f) || isnan(y->v.f)) return isnan(x->v.f) - isnan(y->v.f);
        return (x->v.f > y->v.f) - (x->v.f < y->v.f);
    case VT_INTERVAL: {
        const interval *p = &x->v.iv, *q = &y->v.iv;
        if (p->months != q->months) return p->months < q->months ? -1 : 1;
        if (p->days != q->days) return p->days < q->days ? -1 : 1;
        return (p->nanos > q->nanos) - (p->nanos < q->nanos);
    }
    default:
        return (x->v.i > y->v.i) - (x->v.i < y->v.i);
    }
}

int vlist_cmp(strv x, strv y, uint8_t unit) {
    uint32_t nx = vlist_len(x), ny = vlist_len(y);
    for (uint32_t i = 0; i < nx && i < ny; i++) {
        value a, b;
        vlist_get(x, unit, i, &a);
        vlist_get(y, unit, i, &b);
        int r = vlist_value_cmp(&a, &b);
        if (r) return r;
    }
    return (nx > ny) - (nx < ny);
}
