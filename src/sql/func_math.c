/* Math functions (DataFusion 27's signatures; DOUBLE results): see func_int.h. */
#include "sql/func_int.h"

#include <math.h>
#include <stdint.h>

typedef double (*f64_op)(double);

/* NaN stays NaN, as in DataFusion: a sign of "not a number" is not zero. */
static double f_sign(double x) {
    return x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : x;
}
static double f_round(double x) {
    return round(x);
}

static int fn_math1(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    f64_op op = (f64_op)e->aux;
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) out->d.f64[i] = op(args[0].d.f64[i]);
    return 0;
}

static int fn_pow(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        out->d.f64[i] = pow(args[0].d.f64[i], args[1].d.f64[i]);
    }
    return 0;
}

static int fn_log(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* log(x) is base 10; log(b, x) takes the base first. */
    for (uint32_t i = 0; i < n; i++) {
        bool ok = vec_is_valid(&args[0], i) && (e->nargs < 2 || vec_is_valid(&args[1], i));
        if (!ok) {
            vec_set_null(a, out, i);
            continue;
        }
        out->d.f64[i] =
            e->nargs == 1 ? log10(args[0].d.f64[i]) : log(args[1].d.f64[i]) / log(args[0].d.f64[i]);
    }
    return 0;
}

static int fn_round2(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || (e->nargs > 1 && !vec_is_valid(&args[1], i))) {
            vec_set_null(a, out, i);
            continue;
        }
        double x = args[0].d.f64[i];
        int64_t d = e->nargs > 1 ? args[1].d.i64[i] : 0;
        double m = pow(10.0, (double)d);
        bool trunc_ = e->aux != NULL;
        out->d.f64[i] = trunc_ ? trunc(x * m) / m : round(x * m) / m;
    }
    return 0;
}

/* power(2, 3) matches DataFusion's (Int64, Int64) candidate; Strata computes it in DOUBLE. */
static int bind_f64(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    for (uint32_t i = 0; i < nargs; i++)
        if (bx_cast(c->a, &args[i], VT_F64, 0, er) < 0) return -1;
    *out = func_call(c->a, c->def, c->def->eval, VT_F64, 0, args, nargs, c->def->aux);
    return 0;
}

static int bind_round(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    if (nargs == 1)
        *out = func_call(c->a, c->def, fn_math1, VT_F64, 0, args, 1, (const void *)f_round);
    else
        *out = func_call(c->a, c->def, fn_round2, VT_F64, 0, args, nargs, NULL);
    return 0;
}

#define MATH1(nm, op)                                                                              \
    {                                                                                              \
        .name = nm, .sig = SIG_UNI(1, DT_F64, DT_F32), .ret = VT_F64, .eval = fn_math1,            \
        .aux = (const void *)(op)                                                                  \
    }

const fn_def func_math_defs[] = {
    MATH1("sqrt", sqrt),
    MATH1("ln", log),
    MATH1("log10", log10),
    MATH1("log2", log2),
    MATH1("exp", exp),
    MATH1("ceil", ceil),
    MATH1("floor", floor),
    MATH1("sin", sin),
    MATH1("cos", cos),
    MATH1("tan", tan),
    MATH1("asin", asin),
    MATH1("acos", acos),
    MATH1("atan", atan),
    MATH1("signum", f_sign),
    MATH1("sign", f_sign),
    MATH1("cbrt", cbrt),
    /* abs over integers is DOUBLE in CnosDB, as its signature says */
    MATH1("abs", fabs),
    /* one argument only in DataFusion 27 */
    MATH1("trunc", trunc),
    {.name = "round",
     .sig =
         SIG_ONEOF(SIG_EX(DT_F64, DT_I64), SIG_EX(DT_F32, DT_I64), SIG_EX(DT_F64), SIG_EX(DT_F32)),
     .bind = bind_round},
    {.name = "power",
     .sig = SIG_ONEOF(SIG_EX(DT_I64, DT_I64), SIG_EX(DT_F64, DT_F64)),
     .eval = fn_pow,
     .bind = bind_f64},
    {.name = "pow",
     .sig = SIG_ONEOF(SIG_EX(DT_I64, DT_I64), SIG_EX(DT_F64, DT_F64)),
     .eval = fn_pow,
     .bind = bind_f64},
    {.name = "log",
     .sig =
         SIG_ONEOF(SIG_EX(DT_F64), SIG_EX(DT_F32), SIG_EX(DT_F64, DT_F64), SIG_EX(DT_F32, DT_F32)),
     .ret = VT_F64,
     .eval = fn_log},
    {.name = NULL},
};
