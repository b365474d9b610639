/* Column vectors: see vec.h. */
#include "util/vec.h"

#include <string.h>

void vec_alloc(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out) {
    memset(out, 0, sizeof *out);
    out->type = type;
    out->unit = unit;
    out->len = n;
    out->d.raw = arena_alloc(a, vtype_size(type) * (n ? n : 1));
    out->valid = NULL;
}

/* Writes the type's zero into slot i (the NULL-slot invariant of types.h). */
static inline void vec_zero_slot(vec *v, uint32_t i) {
    if (vtype_is_bytes(v->type))
        v->d.s[i] = (strv){"", 0};
    else if (v->type == VT_BOOL)
        v->d.b[i] = false;
    else {
        size_t sz = vtype_size(v->type);
        memset((char *)v->d.raw + sz * i, 0, sz);
    }
}

void vec_alloc_null(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out) {
    vec_alloc(a, type, unit, n, out);
    size_t nb = bitmap_bytes(n);
    out->valid = arena_calloc(a, nb ? nb : 1);
    if (vtype_is_bytes(type))
        for (uint32_t i = 0; i < n; i++) out->d.s[i] = (strv){"", 0};
    else
        memset(out->d.raw, 0, vtype_size(type) * n);
}

void vec_take(arena *a, const vec *src, const uint32_t *idx, uint32_t n, vec *dst) {
    if (src->type == VT_NULL) {
        vec_alloc_null(a, VT_NULL, 0, n, dst);
        return;
    }
    vec_alloc(a, src->type, src->unit, n, dst);
    dst->has_tz = src->has_tz;
    size_t sz = vtype_size(src->type);
    char *d = dst->d.raw;
    const char *s = src->d.raw;
    switch (sz) {
    case 8:
        for (uint32_t i = 0; i < n; i++)
            ((uint64_t *)(void *)d)[i] = ((const uint64_t *)(const void *)s)[idx[i]];
        break;
    default:
        for (uint32_t i = 0; i < n; i++) memcpy(d + sz * i, s + sz * idx[i], sz);
    }
    if (src->valid) {
        size_t nb = bitmap_bytes(n);
        dst->valid = arena_calloc(a, nb ? nb : 1);
        for (uint32_t i = 0; i < n; i++)
            if (vec_is_valid(src, idx[i])) bitmap_set(dst->valid, i);
    }
}

void vec_zero_nulls(vec *v, uint32_t n) {
    if (!v->valid || v->type == VT_NULL) return;
    for (uint32_t i = 0; i < n; i += 8) {
        if (v->valid[i >> 3] == 0xff) continue; /* eight valid rows */
        for (uint32_t k = i; k < n && k < i + 8; k++)
            if (!vec_is_valid(v, k)) vec_zero_slot(v, k);
    }
}

void vec_set_null(arena *a, vec *v, uint32_t i) {
    if (!v->valid) {
        size_t nb = bitmap_bytes(v->len);
        v->valid = arena_alloc(a, nb ? nb : 1);
        memset(v->valid, 0xff, nb);
    }
    bitmap_clear(v->valid, i);
    vec_zero_slot(v, i);
}

void vec_get(const vec *v, uint32_t i, value *out) {
    memset(out, 0, sizeof *out);
    out->type = v->type;
    out->unit = v->unit;
    if (v->type == VT_NULL || !vec_is_valid(v, i)) {
        out->null = true;
        return;
    }
    switch (v->type) {
    case VT_BOOL:
        out->v.b = v->d.b[i];
        break;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
    case VT_TIME64:
        out->v.i = v->d.i64[i];
        break;
    case VT_U64:
        out->v.u = v->d.u64[i];
        break;
    case VT_F64:
        out->v.f = v->d.f64[i];
        break;
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        out->v.s = v->d.s[i];
        break;
    case VT_INTERVAL:
        out->v.iv = v->d.iv[i];
        break;
    case VT_DEC128:
        out->v.dec = v->d.dec[i];
        break;
    }
}

void vec_put(vec *out, uint32_t i, const value *v) {
    switch (out->type) {
    case VT_BOOL:
        out->d.b[i] = v->v.b;
        break;
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        out->d.s[i] = v->v.s;
        break;
    case VT_INTERVAL:
        out->d.iv[i] = v->v.iv;
        break;
    case VT_DEC128:
        out->d.dec[i] = v->v.dec;
        break;
    case VT_NULL:
        break;
    default: /* eight bytes: i64, u64, f64, timestamps, dates, times of day */
        memcpy(&out->d.i64[i], &v->v.i, 8);
        break;
    }
}

void vec_broadcast(arena *a, const value *v, uint32_t n, vec *out) {
    if (v->null || v->type == VT_NULL) {
        vec_alloc_null(a, v->type, v->unit, n, out);
        return;
    }
    vec_alloc(a, v->type, v->unit, n, out);
    for (uint32_t i = 0; i < n; i++) vec_put(out, i, v);
}
