/* make_array and the array functions of DataFusion 27 (see func_int.h for how a function is
 * declared, util/vlist.h for the list values they read and make).
 *
 * DataFusion 27 declares them all with Any/VariadicAny signatures and checks the list argument
 * only when it computes the result type, as an internal error ("The array_append function can
 * only accept list as the first argument"); the element arguments are cast to the list's
 * element type here (DataFusion downcasts them and fails at run time when they differ).
 *
 * Where Strata departs from DataFusion 27:
 *   - lists are one level deep: a list of lists (make_array(make_array(1)), array_fill with
 *     two dimensions) is refused as not implemented;
 *   - make_array takes the common type of its arguments (numbers widen to Float64, anything
 *     beside a string becomes text), where DataFusion 27 fails at run time on mixed types;
 *   - array_length, array_ndims and array_position answer UInt64 (Strata has no UInt8), and
 *     array_dims and array_positions List(UInt64), as the kernels of DataFusion compute them;
 *     array_to_string answers Utf8.
 * NULL: a NULL list gives NULL, except array_append/array_prepend/array_concat, which take it
 * as an empty list as DataFusion 27 does; NULL elements are kept and compare equal to NULL. */
#include "sql/func_int.h"

#include "format/format.h"
#include "util/buf.h"
#include "util/vlist.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ binding helpers */

static bool is_list(const bexpr *x) {
    return x->type == VT_LIST;
}

static int list_arg_err(const fn_ctx *c, const char *which, err *er) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Datafusion: Internal error: The %s function can only accept list as the %s "
                   "argument. This was likely caused by a bug in DataFusion's code and we would "
                   "welcome that you file an bug report in our issue tracker",
                   c->def->name, which);
}

static int nested_err(const fn_ctx *c, err *er) {
    return err_set(er, 422, EC_NOT_IMPL,
                   "This feature is not implemented: %s of a list: lists of lists are not "
                   "supported",
                   c->def->name);
}

/* Elements a list cannot hold (util/vlist.h). */
static int elem_err(uint8_t t, uint8_t unit, err *er) {
    return err_set(er, 422, EC_NOT_IMPL, "This feature is not implemented: lists of %s",
                   vtype_arrow_name(t, unit));
}

/* Makes element x fit list l: x is cast to l's element type, or a list of NULLs takes x's. */
static int unify_elem(const fn_ctx *c, bexpr **l, bexpr **x, err *er) {
    if (is_list(*x)) return nested_err(c, er);
    if (!is_list(*l)) return list_arg_err(c, "first", er);
    if (!vlist_elem_ok((*x)->type)) return elem_err((*x)->type, (*x)->unit, er);
    if (vlist_etype((*l)->unit) == VT_NULL && (*x)->type != VT_NULL)
        return bx_cast(c->a, l, VT_LIST, vlist_unit((*x)->type, (*x)->unit, (*x)->has_tz), er);
    return bx_cast(c->a, x, vlist_etype((*l)->unit), vlist_eunit((*l)->unit), er);
}

static int call(const fn_ctx *c, scalar_fn fn, uint8_t type, uint8_t unit, bexpr **args,
                uint32_t nargs, bexpr **out) {
    *out = func_call(c->a, c->def, fn, type, unit, args, nargs, NULL);
    return 0;
}

/* ------------------------------------------------------------------ kernels */

static strv list_at(const vec *v, uint32_t i) {
    return v->d.s[i];
}

/* The element arguments of row i, as values. */
static void elem_at(const vec *v, uint32_t i, value *out) {
    vec_get(v, i, out);
    if (v->type == VT_NULL) out->null = true;
}

/* make_array(x, ...): one list of the row's arguments. */
static int fn_make_array(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    value *items = arena_alloc(a, sizeof *items * e->nargs);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < e->nargs; k++) elem_at(&args[k], i, &items[k]);
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), items, e->nargs);
    }
    return 0;
}

static int bind_make_array(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    uint8_t t = VT_NULL, unit = 0;
    bool tz = false;
    for (uint32_t k = 0; k < nargs; k++) {
        uint8_t x = args[k]->type;
        if (x == VT_LIST) return nested_err(c, er);
        if (x == VT_NULL || x == t) continue;
        if (t == VT_NULL)
            t = x, unit = args[k]->unit, tz = args[k]->has_tz;
        else if (vtype_numeric(t) && vtype_numeric(x))
            t = t == VT_F64 || x == VT_F64 ? VT_F64 : VT_I64;
        else if (t == VT_STR || x == VT_STR)
            t = VT_STR;
        else
            return func_plan_err(er, "Array elements of types %s and %s have no common type",
                                 vtype_arrow_name(t, unit), vtype_arrow_name(x, args[k]->unit));
    }
    if (!vlist_elem_ok(t)) return elem_err(t, unit, er);
    for (uint32_t k = 0; k < nargs; k++)
        if (bx_cast(c->a, &args[k], t, unit, er) < 0) return -1;
    return call(c, fn_make_array, VT_LIST, vlist_unit(t, unit, tz), args, nargs, out);
}

/* array_append(l, x) / array_prepend(x, l): a NULL list is taken as empty. */
static int fn_append(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool prepend = !strcmp(e->fname, "array_prepend");
    const vec *lv = &args[prepend ? 1 : 0], *xv = &args[prepend ? 0 : 1];
    for (uint32_t i = 0; i < n; i++) {
        strv l = vec_is_valid(lv, i) ? list_at(lv, i) : (strv){"", 0};
        value *items;
        uint32_t m = vlist_items(a, l, e->unit, &items);
        value *all = arena_alloc(a, sizeof *all * (m + 1));
        if (m) memcpy(all + (prepend ? 1 : 0), items, sizeof *items * m);
        elem_at(xv, i, &all[prepend ? 0 : m]);
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), all, m + 1);
    }
    return 0;
}

static int bind_append(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    bool prepend = !strcmp(c->def->name, "array_prepend");
    bexpr **l = &args[prepend ? 1 : 0], **x = &args[prepend ? 0 : 1];
    if (!is_list(*l)) return list_arg_err(c, prepend ? "second" : "first", er);
    if (unify_elem(c, l, x, er) < 0) return -1;
    return call(c, fn_append, VT_LIST, (*l)->unit, args, nargs, out);
}

/* array_concat(l, ...): the non-NULL lists one after another. */
static int fn_concat(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        uint32_t total = 0;
        value **parts = arena_alloc(a, sizeof *parts * e->nargs);
        uint32_t *lens = arena_alloc(a, sizeof *lens * e->nargs);
        for (uint32_t k = 0; k < e->nargs; k++) {
            strv l = vec_is_valid(&args[k], i) ? list_at(&args[k], i) : (strv){"", 0};
            lens[k] = vlist_items(a, l, e->unit, &parts[k]);
            total += lens[k];
        }
        value *all = arena_alloc(a, sizeof *all * (total + 1));
        for (uint32_t k = 0, at = 0; k < e->nargs; at += lens[k], k++)
            if (lens[k]) memcpy(all + at, parts[k], sizeof *all * lens[k]);
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), all, total);
    }
    return 0;
}

static int bind_concat(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (!is_list(args[0])) return list_arg_err(c, "first", er);
    for (uint32_t k = 1; k < nargs; k++) {
        if (!is_list(args[k]) && args[k]->type != VT_NULL) return list_arg_err(c, "first", er);
        if (bx_cast(c->a, &args[k], VT_LIST, args[0]->unit, er) < 0) return -1;
    }
    return call(c, fn_concat, VT_LIST, args[0]->unit, args, nargs, out);
}

/* array_length(l [, dim]), array_ndims(l), cardinality(l), array_dims(l): sizes of a list,
 * which has one dimension. The kernel's aux says which. */
enum size_fn { SZ_LENGTH, SZ_NDIMS, SZ_DIMS, SZ_CARDINALITY };
static const enum size_fn size_fns[] = {SZ_LENGTH, SZ_NDIMS, SZ_DIMS, SZ_CARDINALITY};

static int fn_sizes(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    enum size_fn f = *(const enum size_fn *)e->aux;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        uint32_t len = vlist_len(list_at(&args[0], i));
        if (f == SZ_DIMS) {
            value dim = {.type = VT_U64};
            dim.v.u = len;
            out->d.s[i] = vlist_make(a, VT_U64, &dim, 1);
        } else if (f == SZ_LENGTH && e->nargs > 1 && args[1].d.i64[i] != 1) {
            vec_set_null(a, out, i); /* no second dimension */
        } else {
            out->d.u64[i] = f == SZ_NDIMS ? 1 : len;
        }
    }
    return 0;
}

static int bind_sizes(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    const enum size_fn *f = c->def->aux;
    if (!is_list(args[0])) return list_arg_err(c, "first", er);
    if (*f == SZ_LENGTH) {
        if (nargs > 2)
            return func_plan_err(er, "The array_length function takes one or two arguments");
        if (nargs == 2 && bx_cast(c->a, &args[1], VT_I64, 0, er) < 0) return -1;
    }
    bool dims = *f == SZ_DIMS;
    *out = func_call(c->a, c->def, fn_sizes, dims ? VT_LIST : VT_U64,
                     dims ? vlist_unit(VT_U64, 0, false) : 0, args, nargs, f);
    return 0;
}

/* array_position(l, x [, from]) and array_positions(l, x): 1-based indexes of x. */
static int fn_position(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool all = e->type == VT_LIST;
    uint8_t lunit = e->args[0]->unit;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        value x, *items;
        elem_at(&args[1], i, &x);
        uint32_t m = vlist_items(a, list_at(&args[0], i), lunit, &items);
        int64_t from = 1;
        if (e->nargs > 2) {
            if (!vec_is_valid(&args[2], i)) {
                vec_set_null(a, out, i);
                continue;
            }
            from = args[2].d.i64[i];
            if (from < 1 || (uint64_t)from > (uint64_t)m + (m == 0))
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "Datafusion: Execution error: array_position index %lld out of "
                               "bounds for a list of %u elements",
                               (long long)from, m);
        }
        value *hits = arena_alloc(a, sizeof *hits * (m + 1));
        uint32_t nh = 0;
        for (uint32_t k = (uint32_t)(from - 1); k < m; k++)
            if (vlist_elem_eq(&items[k], &x)) {
                hits[nh] = (value){.type = VT_U64};
                hits[nh++].v.u = k + 1;
                if (!all) break;
            }
        if (all)
            out->d.s[i] = vlist_make(a, VT_U64, hits, nh);
        else if (nh)
            out->d.u64[i] = hits[0].v.u;
        else
            vec_set_null(a, out, i);
    }
    return 0;
}

static int bind_position(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    bool all = !strcmp(c->def->name, "array_positions");
    if (nargs < 2 || nargs > (all ? 2u : 3u))
        return func_plan_err(er, "The %s function takes %s arguments", c->def->name,
                             all ? "two" : "two or three");
    if (unify_elem(c, &args[0], &args[1], er) < 0) return -1;
    if (nargs == 3 && bx_cast(c->a, &args[2], VT_I64, 0, er) < 0) return -1;
    return call(c, fn_position, all ? VT_LIST : VT_U64, all ? vlist_unit(VT_U64, 0, false) : 0,
                args, nargs, out);
}

/* array_remove(l, x): l without any element equal to x; array_replace(l, from, to): every
 * element equal to from becomes to. */
static int fn_remove_replace(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool replace = e->nargs == 3;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        value x, to, *items;
        elem_at(&args[1], i, &x);
        if (replace) elem_at(&args[2], i, &to);
        uint32_t m = vlist_items(a, list_at(&args[0], i), e->unit, &items), kept = 0;
        for (uint32_t k = 0; k < m; k++) {
            bool eq = vlist_elem_eq(&items[k], &x);
            if (replace)
                items[kept++] = eq ? to : items[k];
            else if (!eq)
                items[kept++] = items[k];
        }
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), items, kept);
    }
    return 0;
}

static int bind_remove_replace(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out,
                               err *er) {
    bool replace = !strcmp(c->def->name, "array_replace");
    if (nargs != (replace ? 3u : 2u))
        return func_plan_err(er, "The %s function takes %s arguments", c->def->name,
                             replace ? "three" : "two");
    for (uint32_t k = 1; k < nargs; k++)
        if (unify_elem(c, &args[0], &args[k], er) < 0) return -1;
    return call(c, fn_remove_replace, VT_LIST, args[0]->unit, args, nargs, out);
}

/* trim_array(l, k): l without its last k elements. */
static int fn_trim(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        int64_t k = args[1].d.i64[i];
        value *items;
        uint32_t m = vlist_items(a, list_at(&args[0], i), e->unit, &items);
        if (k < 0 || (uint64_t)k > m)
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Execution error: trim_array cannot remove %lld elements "
                           "from a list of %u",
                           (long long)k, m);
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), items, m - (uint32_t)k);
    }
    return 0;
}

static int bind_trim(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (!is_list(args[0])) return list_arg_err(c, "first", er);
    if (bx_cast(c->a, &args[1], VT_I64, 0, er) < 0) return -1;
    return call(c, fn_trim, VT_LIST, args[0]->unit, args, nargs, out);
}

/* array_fill(x, dims): a list of dims[0] copies of x (one dimension only). */
#define FILL_MAX 1000000u

static int fn_fill(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    uint8_t dunit = e->args[1]->unit;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        strv dims = list_at(&args[1], i);
        uint32_t nd = vlist_len(dims);
        if (nd != 1)
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: array_fill with %u dimensions: "
                           "lists of lists are not supported",
                           nd);
        value d;
        vlist_get(dims, dunit, 0, &d);
        if (d.null || d.v.i < 0 || d.v.i > (int64_t)FILL_MAX)
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Execution error: array_fill dimension must be between 0 "
                           "and %u",
                           FILL_MAX);
        value x, *items = arena_alloc(a, sizeof *items * ((size_t)d.v.i + 1));
        elem_at(&args[0], i, &x);
        for (int64_t k = 0; k < d.v.i; k++) items[k] = x;
        out->d.s[i] = vlist_make(a, vlist_etype(e->unit), items, (uint32_t)d.v.i);
    }
    return 0;
}

static int bind_fill(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (is_list(args[0])) return nested_err(c, er);
    if (!is_list(args[1])) return list_arg_err(c, "second", er);
    uint8_t et = vlist_etype(args[1]->unit);
    if (et != VT_I64 && et != VT_NULL)
        return func_plan_err(er, "array_fill dimensions must be a list of Int64, not %s",
                             func_dt_name(args[1]));
    if (bx_cast(c->a, &args[1], VT_LIST, vlist_unit(VT_I64, 0, false), er) < 0) return -1;
    bexpr *x = args[0];
    if (!vlist_elem_ok(x->type)) return elem_err(x->type, x->unit, er);
    return call(c, fn_fill, VT_LIST, vlist_unit(x->type, x->unit, x->has_tz), args, nargs, out);
}

/* array_to_string(l, sep): the non-NULL elements as Rust's to_string writes them (a float
 * 2.0 is `2`), joined by sep. */
static void elem_text(buf *b, const value *v) {
    char tmp[48];
    switch (v->type) {
    case VT_STR:
        buf_append(b, v->v.s.p, v->v.s.len);
        break;
    case VT_BOOL:
        buf_puts(b, v->v.b ? "true" : "false");
        break;
    case VT_U64:
        buf_printf(b, "%llu", (unsigned long long)v->v.u);
        break;
    case VT_F64: {
        size_t k = fmt_double(tmp, v->v.f);
        if (k > 2 && !memcmp(tmp + k - 2, ".0", 2)) k -= 2; /* Rust prints 2.0 as 2 */
        buf_append(b, tmp, k);
        break;
    }
    default:
        buf_printf(b, "%lld", (long long)v->v.i);
        break;
    }
}

static int fn_to_string(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    uint8_t lunit = e->args[0]->unit;
    buf b;
    buf_init(&b);
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv l = list_at(&args[0], i), sep = args[1].d.s[i];
        buf_reset(&b);
        bool first = true;
        for (uint32_t k = 0, m = vlist_len(l); k < m; k++) {
            value v;
            vlist_get(l, lunit, k, &v);
            if (v.null) continue;
            if (!first) buf_append(&b, sep.p, sep.len);
            first = false;
            elem_text(&b, &v);
        }
        if ((rc = str_len_check(b.len, er)) < 0) break;
        out->d.s[i] = (strv){b.len ? arena_strndup(a, b.p, b.len) : "", (uint32_t)b.len};
    }
    buf_free(&b);
    return rc;
}

static int bind_to_string(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (nargs != 2) return func_plan_err(er, "The array_to_string function takes two arguments");
    if (!is_list(args[0])) return list_arg_err(c, "first", er);
    uint8_t et = vlist_etype(args[0]->unit);
    if (et == VT_TS || et == VT_DATE || et == VT_INTERVAL)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: Array is not implemented for type "
                       "'%s'.",
                       vtype_arrow_name(et, vlist_eunit(args[0]->unit)));
    if (bx_cast(c->a, &args[1], VT_STR, 0, er) < 0) return -1;
    return call(c, fn_to_string, VT_STR, 0, args, nargs, out);
}

/* l[i] (the parser's array_element): element i, 1-based; NULL past either end. */
static int fn_element(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    uint8_t lunit = e->args[0]->unit;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv l = list_at(&args[0], i);
        int64_t k = args[1].d.i64[i];
        value v;
        if (k < 1 || (uint64_t)k > vlist_len(l))
            v.null = true;
        else
            vlist_get(l, lunit, (uint32_t)(k - 1), &v);
        if (v.null) {
            vec_set_null(a, out, i);
            continue;
        }
        vec_put(out, i, &v);
    }
    return 0;
}

static int bind_element(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (!is_list(args[0]))
        return func_plan_err(er,
                             "The expression to get an indexed field is only valid for `List` "
                             "types, got %s",
                             func_dt_name(args[0]));
    if (bx_cast(c->a, &args[1], VT_I64, 0, er) < 0) return -1;
    uint8_t u = args[0]->unit, et = vlist_etype(u);
    *out = func_call(c->a, c->def, fn_element, et, vlist_eunit(u), args, nargs, NULL);
    (*out)->has_tz = vlist_etz(u);
    return 0;
}

const fn_def func_array_defs[] = {
    {.name = "make_array", .sig = SIG_ONEOF(SIG_EX0, SIG_VAR_ANY), .bind = bind_make_array},
    {.name = "array_element", .sig = SIG_ANYN(2), .bind = bind_element},
    {.name = "array_append", .sig = SIG_ANYN(2), .bind = bind_append},
    {.name = "array_prepend", .sig = SIG_ANYN(2), .bind = bind_append},
    {.name = "array_concat", .sig = SIG_VAR_ANY, .bind = bind_concat},
    {.name = "array_length", .sig = SIG_VAR_ANY, .bind = bind_sizes, .aux = &size_fns[SZ_LENGTH]},
    {.name = "array_ndims", .sig = SIG_ANYN(1), .bind = bind_sizes, .aux = &size_fns[SZ_NDIMS]},
    {.name = "array_dims", .sig = SIG_ANYN(1), .bind = bind_sizes, .aux = &size_fns[SZ_DIMS]},
    {.name = "cardinality",
     .sig = SIG_ANYN(1),
     .bind = bind_sizes,
     .aux = &size_fns[SZ_CARDINALITY]},
    {.name = "array_position", .sig = SIG_VAR_ANY, .bind = bind_position},
    {.name = "array_positions", .sig = SIG_ANYN(2), .bind = bind_position},
    {.name = "array_remove", .sig = SIG_ANYN(2), .bind = bind_remove_replace},
    {.name = "array_replace", .sig = SIG_VAR_ANY, .bind = bind_remove_replace},
    {.name = "array_to_string", .sig = SIG_VAR_ANY, .bind = bind_to_string},
    {.name = "trim_array", .sig = SIG_ANYN(2), .bind = bind_trim},
    {.name = "array_fill", .sig = SIG_ANYN(2), .bind = bind_fill},
    {.name = NULL},
};
