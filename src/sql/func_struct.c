/* Struct fields: `s.field` on a struct value (util/vstruct.h), DataFusion's get_field. The
 * binder builds the call when a compound name runs past a struct column (bind.c). */
#include "sql/func.h"

#include "util/vstruct.h"

static int get_field_fn(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    (void)er;
    const vec *s = &args[0];
    for (uint32_t r = 0; r < n; r++) {
        value v;
        if (!vec_is_valid(s, r)) {
            vec_set_null(a, out, r);
            continue;
        }
        vstruct_field(s->d.s[r], s->unit, e->col, &v);
        if (v.null)
            vec_set_null(a, out, r);
        else
            vec_put(out, r, &v);
    }
    return 0;
}

bexpr *func_get_field(arena *a, bexpr *x, uint32_t field) {
    const vshape *sh = vstruct_get(x->unit);
    bexpr *r = bx_new(a, BX_FUNC, sh->types[field], 1);
    r->unit = sh->units[field];
    r->has_tz = sh->tz[field];
    r->args[0] = x;
    r->col = field;
    r->fn = get_field_fn;
    r->fname = "get_field";
    return r;
}
