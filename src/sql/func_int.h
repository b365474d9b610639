/* Private to the function library (func*.c): how a scalar function is declared.
 *
 * Every scalar function is a row of its family's table (func_math.c, func_string.c,
 * func_time.c, func_cond.c): its name, DataFusion 27's signature, and either a fixed result
 * type and kernel or a bind hook. func.c indexes the tables by name once, matches a call's
 * argument types against the signature the way DataFusion does (the first candidate list every
 * argument coerces to wins), casts the arguments to it, and words the failures as DataFusion
 * does: "No function matches the given name and argument types 'lpad(Utf8, Float64)'. You might
 * need to add explicit type casts.\n\tCandidate functions:\n\tlpad(Utf8, Int64)...".
 *
 * A kernel (scalar_fn, expr.h) gets its arguments already cast to the matched candidate's
 * types: a family never checks types at run time. */
#ifndef STRATA_SQL_FUNC_INT_H
#define STRATA_SQL_FUNC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sql/func.h"

/* Types as DataFusion names them in signatures and messages. Strata computes in fewer types:
 * each maps to the one that holds it (Utf8 and LargeUtf8 are both strings), and a few (Binary,
 * Date32, Int32) have none: no argument ever has them, but they coerce and print as DataFusion's
 * candidates do. */
enum fn_dt {
    DT_NONE = 0,
    DT_NULL,
    DT_BOOL,
    DT_I8,
    DT_I16,
    DT_I32,
    DT_I64,
    DT_U8,
    DT_U16,
    DT_U32,
    DT_U64,
    DT_F32,
    DT_F64,
    DT_UTF8,
    DT_LUTF8,
    DT_BIN,
    DT_LBIN,
    DT_DATE32,
    DT_DATE64,
    DT_TS_S,
    DT_TS_MS,
    DT_TS_US,
    DT_TS_NS,
    DT_TS_NS_UTC, /* Timestamp(Nanosecond, Some("+00:00")): now() */
    DT_INTERVAL,  /* Interval(MonthDayNano) */
    DT_DEC128,    /* Decimal128(p, s), named with its (p, s) where the argument is known */
    DT_TIME64,    /* Time64(Nanosecond) */
    DT_LIST,      /* List(Field { .. }) of any element type: the array functions take it */
    DT__COUNT
};

enum fn_sig_kind {
    SIG_EXACT,          /* exactly these types (none: no arguments) */
    SIG_UNIFORM,        /* n arguments, all of one of the types */
    SIG_VARIADIC,       /* one or more arguments, all of one of the types */
    SIG_VARIADIC_EQUAL, /* one or more arguments, all of the first one's type */
    SIG_VARIADIC_ANY,   /* one or more arguments of any types */
    SIG_ANY,            /* n arguments of any types */
    SIG_ONE_OF,         /* the first of several signatures that fits */
};

typedef struct fn_sig {
    uint8_t kind, n, ntypes, nalts;
    const uint8_t *types;
    const struct fn_sig *alts;
} fn_sig;

#define FN_DTS(...) ((const uint8_t[]){__VA_ARGS__})
#define FN_NDTS(...) ((uint8_t)sizeof((const uint8_t[]){__VA_ARGS__}))
#define SIG_EX0                                                                                    \
    { .kind = SIG_EXACT }
#define SIG_EX(...)                                                                                \
    { .kind = SIG_EXACT, .types = FN_DTS(__VA_ARGS__), .ntypes = FN_NDTS(__VA_ARGS__) }
#define SIG_UNI(count, ...)                                                                        \
    {                                                                                              \
        .kind = SIG_UNIFORM, .n = (count), .types = FN_DTS(__VA_ARGS__),                           \
        .ntypes = FN_NDTS(__VA_ARGS__)                                                             \
    }
#define SIG_VAR(...)                                                                               \
    { .kind = SIG_VARIADIC, .types = FN_DTS(__VA_ARGS__), .ntypes = FN_NDTS(__VA_ARGS__) }
#define SIG_VAR_EQUAL                                                                              \
    { .kind = SIG_VARIADIC_EQUAL }
#define SIG_VAR_ANY                                                                                \
    { .kind = SIG_VARIADIC_ANY }
#define SIG_ANYN(count)                                                                            \
    { .kind = SIG_ANY, .n = (count) }
#define SIG_ONEOF(...)                                                                             \
    {                                                                                              \
        .kind = SIG_ONE_OF, .alts = (const fn_sig[]){__VA_ARGS__},                                 \
        .nalts = (uint8_t)(sizeof((const fn_sig[]){__VA_ARGS__}) / sizeof(fn_sig))                 \
    }

/* The type lists DataFusion's string functions take. */
#define DT_STRINGS DT_UTF8, DT_LUTF8
#define DT_BINARIES DT_UTF8, DT_LUTF8, DT_BIN, DT_LBIN

struct fn_def;

/* What a bind hook gets besides the (already cast) arguments. */
typedef struct fn_ctx {
    arena *a;
    int64_t now_ns; /* the statement's now(), the same for every call in it */
    const fn_env *env;
    const struct fn_def *def;
    const uint8_t *dts; /* the matched candidate's types, one per argument */
} fn_ctx;

/* Result type of a plain call: a VT_* (timestamps in nanoseconds), or FN_RET_ARG0 for the
 * first argument's type and unit after the cast. */
#define FN_RET_ARG0 0xff

typedef struct fn_def {
    const char *name;
    fn_sig sig;
    uint8_t ret;
    scalar_fn eval;
    const void *aux; /* the kernel's bexpr aux */
    /* When set, builds the call instead (result type from the arguments, constant arguments
     * read once, ...); may still refuse the call with an error. */
    int (*bind)(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er);
    /* bind gets the arguments as written, matched but not cast: time functions keep their
     * input's unit where DataFusion would cast to nanoseconds. */
    bool raw_args;
    /* An alias: the canonical name DataFusion shows in expression names (NULL: name). */
    const char *display;
    /* One of CnosDB's own functions (a UDF) taking exactly this many arguments (0: not one):
     * another count fails before the types are looked at, as DataFusion words it for a UDF:
     * `The function "ST_Area" expects 1 arguments, but 0 were provided`. */
    uint8_t udf_nargs;
} fn_def;

/* A Float32 result (e->unit NU_32: the call matched DataFusion's Float32 signature) computed in
 * doubles is rounded to the float DataFusion's f32 kernel gives. */
static inline void func_narrow_f32(const bexpr *e, vec *out, uint32_t n) {
    if (e->type != VT_F64 || e->unit != NU_32) return;
    for (uint32_t i = 0; i < n; i++) out->d.f64[i] = (float)out->d.f64[i];
}

/* The families' tables, each ending with an entry whose name is NULL. */
extern const fn_def func_math_defs[];
extern const fn_def func_string_defs[];
extern const fn_def func_time_defs[];
extern const fn_def func_cond_defs[];
extern const fn_def func_array_defs[];
extern const fn_def func_gis_defs[];
extern const fn_def func_struct_defs[];

/* A BX_FUNC node calling eval over args, named as d is. */
bexpr *func_call(arena *a, const fn_def *d, scalar_fn eval, uint8_t type, uint8_t unit,
                 bexpr **args, uint32_t nargs, const void *aux);
/* "Datafusion: Error during planning: " + the message, 422. Returns -1. */
int func_plan_err(err *er, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* DataFusion's name of an argument's type: Int64, Utf8, Timestamp(Nanosecond, None)... */
const char *func_dt_name(const bexpr *x);
/* Whether every argument of row i is non-NULL; marks out's row NULL otherwise. */
bool func_row_valid(arena *a, const vec *args, uint32_t nargs, uint32_t i, vec *out);
/* The result's validity is the argument's: the same bitmap, shared (no copy). */
void func_same_valid(vec *out, const vec *in);

/* What DataFusion appends to the message of an internal error. */
#define DF_BUG_TAIL                                                                                \
    ". This was likely caused by a bug in DataFusion's code and we would welcome that you file "   \
    "an bug report in our issue tracker"

#endif
