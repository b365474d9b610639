/* Struct values in SQL (util/vstruct.h): `s.field` (DataFusion's get_field; the binder builds
 * the call when a compound name runs past a struct column, bind.c), `struct(x, ...)` (fields
 * c0, c1, ... as DataFusion 27 names them) and `named_struct('name', x, ...)`. */
#include "sql/func_int.h"

#include <stdio.h>
#include <string.h>

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

/* struct(...) and named_struct(...): one struct of the row's values (named_struct's are its
 * odd arguments). */
static int fn_struct(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    (void)er;
    const vshape *sh = vstruct_get(e->unit);
    uint32_t step = e->nargs == sh->n ? 1 : 2, first = step - 1;
    value *f = arena_alloc(a, sizeof *f * (sh->n + 1));
    for (uint32_t r = 0; r < n; r++) {
        for (uint32_t k = 0; k < sh->n; k++) {
            const vec *v = &args[first + k * step];
            vec_get(v, r, &f[k]);
            f[k].type = sh->types[k];
            if (v->type == VT_NULL || !vec_is_valid(v, r)) f[k].null = true;
        }
        out->d.s[r] = vstruct_make(a, e->unit, f);
    }
    return 0;
}

static int bind_struct(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    bool named = !strcmp(c->def->name, "named_struct");
    if (nargs == 0 || (named && nargs % 2))
        return func_plan_err(er, "%s requires %s", c->def->name,
                             named ? "an even number of arguments: name, value, ..."
                                   : "at least one argument");
    uint32_t n = named ? nargs / 2 : nargs, step = named ? 2 : 1, first = named ? 1 : 0;
    const char **names = arena_alloc(c->a, sizeof *names * n);
    uint8_t *types = arena_alloc(c->a, n), *units = arena_alloc(c->a, n);
    bool *tz = arena_alloc(c->a, n);
    for (uint32_t k = 0; k < n; k++) {
        const bexpr *x = args[first + k * step];
        if (named) {
            const bexpr *nm = args[k * 2];
            if (nm->kind != BX_CONST || nm->type != VT_STR || nm->cval.null)
                return func_plan_err(er, "named_struct requires its names to be string literals");
            names[k] = arena_strndup(c->a, nm->cval.v.s.p, nm->cval.v.s.len);
            for (uint32_t j = 0; j < k; j++)
                if (!strcmp(names[j], names[k]))
                    return func_plan_err(er, "named_struct: the name %s is given twice", names[k]);
        } else {
            names[k] = arena_printf(c->a, "c%u", k);
        }
        types[k] = x->type;
        units[k] = x->unit;
        tz[k] = x->has_tz;
    }
    uint8_t shape = vstruct_shape(n, names, types, units, tz);
    if (!shape)
        return func_plan_err(er, "%s: a field of type %s, or too many distinct struct types",
                             c->def->name, vtype_arrow_name(types[0], units[0]));
    *out = func_call(c->a, c->def, fn_struct, VT_STRUCT, shape, args, nargs, NULL);
    return 0;
}

const fn_def func_struct_defs[] = {
    {.name = "struct", .sig = SIG_VAR_ANY, .bind = bind_struct},
    {.name = "named_struct", .sig = SIG_VAR_ANY, .bind = bind_struct},
    {0},
};
