/* Math functions (DataFusion 27's signatures; DOUBLE results): see func_int.h. */
#include "sql/func_int.h"

#include <math.h>
#include <stdint.h>
#include <sys/random.h>

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
        if (!func_row_valid(a, args, 2, i, out)) continue;
        out->d.f64[i] = pow(args[0].d.f64[i], args[1].d.f64[i]);
    }
    return 0;
}

/* power(Int64, Int64) in integers, as DataFusion 27's candidate computes it: a negative
 * exponent has no integer power (NULL), one past Int64 is an error (CnosDB's process panics). */
static int fn_pow_int(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        int64_t b = args[0].d.i64[i], x = args[1].d.i64[i], r = 1, base = b;
        if (x < 0) {
            vec_set_null(a, out, i);
            continue;
        }
        for (int64_t k = x; k; k >>= 1) { /* by squaring */
            if ((k & 1 && __builtin_mul_overflow(r, base, &r)) ||
                (k > 1 && __builtin_mul_overflow(base, base, &base)))
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "Arrow error: Compute error: Overflow happened on: %lld ^ %lld",
                               (long long)b, (long long)x);
        }
        out->d.i64[i] = r;
    }
    return 0;
}

static int fn_log(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* log(x) is base 10, log(b, x) takes the base first; both as Rust's x.log(b) computes,
     * ln(x) / ln(b) (log(1e-12) is -11.999999999999998, not log10's -12), in single precision
     * when the call is Float32 (an integer argument coerces to the first candidate, Float32). */
    bool f32 = e->unit == NU_32;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        double x = args[e->nargs - 1].d.f64[i], b = e->nargs == 1 ? 10.0 : args[0].d.f64[i];
        out->d.f64[i] = f32 ? (double)(logf((float)x) / logf((float)b)) : log(x) / log(b);
    }
    func_narrow_f32(e, out, n);
    return 0;
}

static int fn_round2(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        double x = args[0].d.f64[i];
        int64_t d = e->nargs > 1 ? args[1].d.i64[i] : 0;
        double m = pow(10.0, (double)d);
        bool trunc_ = e->aux != NULL;
        out->d.f64[i] = trunc_ ? trunc(x * m) / m : round(x * m) / m;
    }
    return 0;
}

static double f_degrees(double x) {
    return x * (180.0 / M_PI);
}
static double f_radians(double x) {
    return x * (M_PI / 180.0);
}

/* Two DOUBLE arguments, NULL when either is. */
static int fn_math2(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    double (*op)(double, double) = (double (*)(double, double))e->aux;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        out->d.f64[i] = op(args[0].d.f64[i], args[1].d.f64[i]);
    }
    func_narrow_f32(e, out, n);
    return 0;
}

/* nanvl(x, y): y where x is NaN. */
static double f_nanvl(double x, double y) {
    return isnan(x) ? y : x;
}

static int fn_is(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool zero = e->aux != NULL;
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++)
        out->d.b[i] = zero ? args[0].d.f64[i] == 0 : isnan(args[0].d.f64[i]);
    return 0;
}

static int fn_pi(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) out->d.f64[i] = M_PI;
    return 0;
}

/* random(): a new value in [0, 1) per row, from a per-thread xorshift seeded by the kernel. */
static int fn_random(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    static _Thread_local uint64_t x;
    while (!x)
        if (getrandom(&x, sizeof x, 0) != sizeof x)
            x = (uint64_t)(uintptr_t)&x ^ 0x9e3779b97f4a7c15u;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out->d.f64[i] = (double)(x >> 11) * 0x1.0p-53;
    }
    return 0;
}

static int int_overflow(err *er, const char *what) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Arrow error: Compute error: Overflow happened on: %s", what);
}

static uint64_t gcd_u(uint64_t x, uint64_t y) {
    while (y) {
        uint64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

static uint64_t abs_u(int64_t v) {
    return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

/* gcd and lcm of BIGINTs, always non-negative; a result past BIGINT is an error. */
static int fn_gcd_lcm(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool lcm = e->aux != NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        uint64_t x = abs_u(args[0].d.i64[i]), y = abs_u(args[1].d.i64[i]), g = gcd_u(x, y), r;
        if (!lcm)
            r = g;
        else if (x == 0 || y == 0)
            r = 0;
        else if (__builtin_mul_overflow(x / g, y, &r))
            return int_overflow(er, e->fname);
        if (r > INT64_MAX) return int_overflow(er, e->fname);
        out->d.i64[i] = (int64_t)r;
    }
    return 0;
}

static int fn_factorial(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = args[0].d.i64[i], r = 1;
        for (int64_t k = 2; vec_is_valid(&args[0], i) && k <= v; k++)
            if (__builtin_mul_overflow(r, k, &r)) return int_overflow(er, "factorial");
        out->d.i64[i] = r;
    }
    return 0;
}

/* power: integers (and NULLs) match DataFusion's (Int64, Int64) candidate and stay integers;
 * anything else is computed in DOUBLE. */
static int bind_pow(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    bool ints = true;
    for (uint32_t i = 0; i < nargs; i++)
        ints &= args[i]->type == VT_I64 || args[i]->type == VT_U64 || args[i]->type == VT_NULL;
    uint8_t t = ints ? VT_I64 : VT_F64;
    for (uint32_t i = 0; i < nargs; i++)
        if (bx_cast(c->a, &args[i], t, 0, er) < 0) return -1;
    *out =
        func_call(c->a, c->def, ints ? fn_pow_int : c->def->eval, t, 0, args, nargs, c->def->aux);
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
     .bind = bind_pow},
    {.name = "pow",
     .sig = SIG_ONEOF(SIG_EX(DT_I64, DT_I64), SIG_EX(DT_F64, DT_F64)),
     .eval = fn_pow,
     .bind = bind_pow,
     .display = "power"},
    {.name = "log", /* Float32 first, as DataFusion 27 lists them: integers become Float32 */
     .sig =
         SIG_ONEOF(SIG_EX(DT_F32), SIG_EX(DT_F64), SIG_EX(DT_F32, DT_F32), SIG_EX(DT_F64, DT_F64)),
     .ret = VT_F64,
     .eval = fn_log},
    MATH1("sinh", sinh),
    MATH1("cosh", cosh),
    MATH1("tanh", tanh),
    MATH1("asinh", asinh),
    MATH1("acosh", acosh),
    MATH1("atanh", atanh),
    MATH1("degrees", f_degrees),
    MATH1("radians", f_radians),
    {.name = "atan2",
     .sig = SIG_ONEOF(SIG_EX(DT_F32, DT_F32), SIG_EX(DT_F64, DT_F64)),
     .ret = VT_F64,
     .eval = fn_math2,
     .aux = (const void *)atan2},
    {.name = "nanvl",
     .sig = SIG_ONEOF(SIG_EX(DT_F64, DT_F64), SIG_EX(DT_F32, DT_F32)),
     .ret = VT_F64,
     .eval = fn_math2,
     .aux = (const void *)f_nanvl},
    {.name = "isnan", .sig = SIG_UNI(1, DT_F64, DT_F32), .ret = VT_BOOL, .eval = fn_is},
    {.name = "iszero",
     .sig = SIG_UNI(1, DT_F64, DT_F32),
     .ret = VT_BOOL,
     .eval = fn_is,
     .aux = "zero"},
    {.name = "pi", .sig = SIG_EX0, .ret = VT_F64, .eval = fn_pi},
    {.name = "random", .sig = SIG_EX0, .ret = VT_F64, .eval = fn_random},
    {.name = "gcd", .sig = SIG_EX(DT_I64, DT_I64), .ret = VT_I64, .eval = fn_gcd_lcm},
    {.name = "lcm", .sig = SIG_EX(DT_I64, DT_I64), .ret = VT_I64, .eval = fn_gcd_lcm, .aux = "lcm"},
    {.name = "factorial", .sig = SIG_UNI(1, DT_I64), .ret = VT_I64, .eval = fn_factorial},
    {.name = NULL},
};
