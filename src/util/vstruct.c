/* Struct values: see vstruct.h. */
#include "util/vstruct.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/vlist.h"

/* Slot 0 is never used: id 0 means "no shape". Entries are published once, whole, under the
 * lock and never change, so readers need only the atomic load. */
static _Atomic(vshape *) shapes[256];
static pthread_mutex_t shapes_mu = PTHREAD_MUTEX_INITIALIZER;

static bool is_bytes(uint8_t t) {
    return t == VT_STR || t == VT_LIST || t == VT_STRUCT;
}

static size_t slot_size(uint8_t t) {
    return is_bytes(t) ? 8 : t == VT_NULL ? 0 : vtype_size(t);
}

static size_t slots_size(const vshape *sh) {
    size_t n = 0;
    for (uint32_t i = 0; i < sh->n; i++) n += slot_size(sh->types[i]);
    return n;
}

static bool same_shape(const vshape *sh, uint32_t n, const char *const *names, const uint8_t *types,
                       const uint8_t *units, const bool *tz) {
    if (sh->n != n) return false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(sh->names[i], names[i]) || sh->types[i] != types[i] ||
            sh->units[i] != units[i] || sh->tz[i] != (tz && tz[i]))
            return false;
    return true;
}

static void arrow_text(buf *b, uint32_t n, const char *const *names, const uint8_t *types,
                       const uint8_t *units) {
    buf_puts(b, "Struct([");
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, ", ");
        buf_puts(b, "Field { name: \"");
        buf_puts(b, names[i]);
        buf_puts(b, "\", data_type: ");
        buf_puts(b, vtype_arrow_name(types[i], units[i]));
        buf_puts(b, ", nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {} }");
    }
    buf_puts(b, "])");
}

uint8_t vstruct_shape(uint32_t n, const char *const *names, const uint8_t *types,
                      const uint8_t *units, const bool *tz) {
    for (uint32_t i = 0; i < n; i++)
        if (types[i] == VT_DEC128 || (types[i] == VT_STRUCT && !vstruct_get(units[i]))) return 0;
    pthread_mutex_lock(&shapes_mu);
    uint8_t id = 0;
    for (unsigned k = 1; k < 256; k++) {
        vshape *sh = atomic_load(&shapes[k]);
        if (!sh) {
            /* one allocation per shape, kept for the life of the process */
            sh = xcalloc(1, sizeof *sh);
            sh->n = n;
            const char **nm = xcalloc(n + 1, sizeof *nm);
            uint8_t *ty = xcalloc(n + 1, 1), *un = xcalloc(n + 1, 1);
            bool *z = xcalloc(n + 1, sizeof *z);
            for (uint32_t i = 0; i < n; i++) {
                nm[i] = xstrdup(names[i]);
                ty[i] = types[i];
                un[i] = units[i];
                z[i] = tz && tz[i];
            }
            sh->names = nm;
            sh->types = ty;
            sh->units = un;
            sh->tz = z;
            buf b;
            buf_init(&b);
            arrow_text(&b, n, names, types, units);
            buf_putc(&b, '\0');
            sh->arrow = b.p; /* the buffer's bytes become the shape's */
            buf_init(&b);
            buf_puts(&b, "List(Field { name: \"item\", data_type: ");
            buf_puts(&b, sh->arrow);
            buf_puts(&b, ", nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {} })");
            buf_putc(&b, '\0');
            sh->list_arrow = b.p;
            atomic_store(&shapes[k], sh);
            id = (uint8_t)k;
            break;
        }
        if (same_shape(sh, n, names, types, units, tz)) {
            id = (uint8_t)k;
            break;
        }
    }
    pthread_mutex_unlock(&shapes_mu);
    return id;
}

const vshape *vstruct_get(uint8_t id) {
    return id ? atomic_load(&shapes[id]) : NULL;
}

int vstruct_find(uint8_t id, const char *name) {
    const vshape *sh = vstruct_get(id);
    for (uint32_t i = 0; sh && i < sh->n; i++)
        if (!strcmp(sh->names[i], name)) return (int)i;
    return -1;
}

strv vstruct_make(arena *a, uint8_t id, const value *fields) {
    const vshape *sh = vstruct_get(id);
    size_t nb = bitmap_bytes(sh->n), fixed = nb + slots_size(sh), size = fixed;
    for (uint32_t i = 0; i < sh->n; i++)
        if (is_bytes(sh->types[i]) && !fields[i].null) size += fields[i].v.s.len;
    char *p = arena_calloc(a, size ? size : 1);
    char *slot = p + nb;
    uint32_t off = (uint32_t)fixed;
    for (uint32_t i = 0; i < sh->n; i++) {
        const value *v = &fields[i];
        uint8_t t = sh->types[i];
        size_t sz = slot_size(t);
        if (!v->null && t != VT_NULL) {
            bitmap_set((uint8_t *)p, i);
            if (is_bytes(t)) {
                uint32_t len = v->v.s.len;
                memcpy(slot, &off, 4);
                memcpy(slot + 4, &len, 4);
                if (len) memcpy(p + off, v->v.s.p, len);
                off += len;
            } else if (t == VT_BOOL) {
                *slot = v->v.b ? 1 : 0;
            } else {
                memcpy(slot, &v->v, sz);
            }
        }
        slot += sz;
    }
    return (strv){p, (uint32_t)size};
}

void vstruct_field(strv s, uint8_t id, uint32_t i, value *out) {
    const vshape *sh = vstruct_get(id);
    memset(out, 0, sizeof *out);
    out->null = true;
    if (!sh || i >= sh->n) return;
    uint8_t t = sh->types[i];
    out->type = t;
    out->unit = sh->units[i];
    size_t nb = bitmap_bytes(sh->n);
    if (s.len < nb || !bitmap_get((const uint8_t *)s.p, i)) {
        if (is_bytes(t)) out->v.s = (strv){"", 0};
        return;
    }
    const char *slot = s.p + nb;
    for (uint32_t k = 0; k < i; k++) slot += slot_size(sh->types[k]);
    out->null = false;
    if (is_bytes(t)) {
        uint32_t off, len;
        memcpy(&off, slot, 4);
        memcpy(&len, slot + 4, 4);
        out->v.s = (strv){s.p + off, len};
    } else if (t == VT_BOOL) {
        out->v.b = *slot != 0;
    } else {
        memcpy(&out->v, slot, slot_size(t));
    }
}

int vstruct_cmp(strv x, strv y, uint8_t id) {
    const vshape *sh = vstruct_get(id);
    for (uint32_t i = 0; sh && i < sh->n; i++) {
        value a, b;
        vstruct_field(x, id, i, &a);
        vstruct_field(y, id, i, &b);
        int r = vlist_value_cmp(&a, &b);
        if (r) return r;
    }
    return 0;
}
