/* Conditional, type and session functions (DataFusion 27's signatures): see func_int.h. */
#include "sql/func_int.h"

#include <string.h>

static int fn_coalesce(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    size_t sz = vtype_size(e->type);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        for (k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) break;
        if (k == e->nargs) {
            vec_set_null(a, out, i);
        } else {
            memcpy((char *)out->d.raw + sz * i, (char *)args[k].d.raw + sz * i, sz);
        }
    }
    return 0;
}

static int fn_nullif(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    size_t sz = vtype_size(e->type);
    for (uint32_t i = 0; i < n; i++) {
        value x, y;
        vec_get(&args[0], i, &x);
        vec_get(&args[1], i, &y);
        memcpy((char *)out->d.raw + sz * i, (char *)args[0].d.raw + sz * i, sz);
        bool eq = !x.null && !y.null &&
                  !memcmp((char *)args[0].d.raw + sz * i, (char *)args[1].d.raw + sz * i, sz);
        if (e->type == VT_STR && !x.null && !y.null)
            eq = x.v.s.len == y.v.s.len && !memcmp(x.v.s.p, y.v.s.p, x.v.s.len);
        if (x.null || eq) vec_set_null(a, out, i);
    }
    return 0;
}

static int fn_const_str(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    const char *s = e->aux;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) out->d.s[i] = (strv){s, (uint32_t)strlen(s)};
    return 0;
}

/* arrow_typeof(x): the argument's type as DataFusion names it, the same for every row. */
static int bind_typeof(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    *out = func_call(c->a, c->def, fn_const_str, VT_STR, 0, args, nargs, func_dt_name(args[0]));
    return 0;
}

/* current_user() and friends: the session's names, the same for every row; NULL where the
 * session has none (current_role() of a user without a role in the tenant). */
static int bind_session(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    const fn_env *env = c->env;
    const char *name = c->def->name;
    const char *v = !strcmp(name, "current_user")       ? env->user
                    : !strcmp(name, "current_tenant")   ? env->tenant
                    : !strcmp(name, "current_database") ? env->db
                                                        : env->role;
    value val = {.type = VT_STR, .null = v == NULL};
    if (v) val.v.s = (strv){arena_strdup(c->a, v), (uint32_t)strlen(v)};
    *out = bx_const(c->a, val);
    return 0;
}

/* The types coalesce and nullif take, in DataFusion's order: the first one every argument
 * coerces to is the common type (coalesce(1, 2.5) is DOUBLE, coalesce(1, 'a') a string). */
#define COND_TYPES                                                                                 \
    DT_BOOL, DT_U8, DT_U16, DT_U32, DT_U64, DT_I8, DT_I16, DT_I32, DT_I64, DT_F32, DT_F64,         \
        DT_UTF8, DT_LUTF8

const fn_def func_cond_defs[] = {
    {.name = "coalesce", .sig = SIG_VAR(COND_TYPES), .ret = FN_RET_ARG0, .eval = fn_coalesce},
    {.name = "nullif", .sig = SIG_UNI(2, COND_TYPES), .ret = FN_RET_ARG0, .eval = fn_nullif},
    {.name = "arrow_typeof", .sig = SIG_ANYN(1), .bind = bind_typeof, .raw_args = true},
    {.name = "current_user", .sig = SIG_EX0, .bind = bind_session},
    {.name = "current_tenant", .sig = SIG_EX0, .bind = bind_session},
    {.name = "current_database", .sig = SIG_EX0, .bind = bind_session},
    {.name = "current_role", .sig = SIG_EX0, .bind = bind_session},
    {.name = NULL},
};
