/* The scalar function registry and the aggregate catalogue: see func.h and func_int.h. */
#include "sql/func_int.h"

#include "format/format.h"
#include "sql/ops.h"
#include "util/buf.h"
#include "util/dec.h"
#include "util/vlist.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ helpers for the families */

bexpr *func_call(arena *a, const fn_def *d, scalar_fn eval, uint8_t type, uint8_t unit,
                 bexpr **args, uint32_t nargs, const void *aux) {
    bexpr *e = bx_new(a, BX_FUNC, type, nargs);
    e->fn = eval;
    e->unit = unit;
    e->fname = d->name;
    e->aux = (void *)aux;
    for (uint32_t i = 0; i < nargs; i++) e->args[i] = args[i];
    return e;
}

int func_plan_err(err *er, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vplan(er, fmt, ap);
    va_end(ap);
    return -1;
}

bool func_row_valid(arena *a, const vec *args, uint32_t nargs, uint32_t i, vec *out) {
    for (uint32_t k = 0; k < nargs; k++)
        if (!vec_is_valid(&args[k], i)) {
            vec_set_null(a, out, i);
            return false;
        }
    return true;
}

void func_same_valid(vec *out, const vec *in) {
    out->valid = in->valid;
}

/* ------------------------------------------------------------------ DataFusion's types */

static const char *const dt_names[DT__COUNT] = {
    [DT_NULL] = "Null",
    [DT_BOOL] = "Boolean",
    [DT_I8] = "Int8",
    [DT_I16] = "Int16",
    [DT_I32] = "Int32",
    [DT_I64] = "Int64",
    [DT_U8] = "UInt8",
    [DT_U16] = "UInt16",
    [DT_U32] = "UInt32",
    [DT_U64] = "UInt64",
    [DT_F32] = "Float32",
    [DT_F64] = "Float64",
    [DT_UTF8] = "Utf8",
    [DT_LUTF8] = "LargeUtf8",
    [DT_BIN] = "Binary",
    [DT_LBIN] = "LargeBinary",
    [DT_DATE32] = "Date32",
    [DT_DATE64] = "Date64",
    [DT_TS_S] = "Timestamp(Second, None)",
    [DT_TS_MS] = "Timestamp(Millisecond, None)",
    [DT_TS_US] = "Timestamp(Microsecond, None)",
    [DT_TS_NS] = "Timestamp(Nanosecond, None)",
    [DT_TS_NS_UTC] = "Timestamp(Nanosecond, Some(\"+00:00\"))",
    [DT_INTERVAL] = "Interval(MonthDayNano)",
    [DT_DEC128] = "Decimal128(38, 10)",
    [DT_TIME64] = "Time64(Nanosecond)",
    [DT_LIST] = "List",
};

/* The DataFusion type of a bound argument. */
static uint8_t arg_dt(const bexpr *x) {
    switch (x->type) {
    case VT_NULL:
        return DT_NULL;
    case VT_BOOL:
        return DT_BOOL;
    case VT_I64:
        return x->unit == NU_32 ? DT_I32 : DT_I64;
    case VT_U64:
        return DT_U64;
    case VT_F64:
        return x->unit == NU_32 ? DT_F32 : DT_F64;
    case VT_STR:
        return x->unit == SU_BINARY ? DT_BIN : DT_UTF8;
    case VT_INTERVAL:
        return DT_INTERVAL;
    case VT_DEC128:
        return DT_DEC128;
    case VT_TIME64:
        return DT_TIME64;
    case VT_DATE:
        return DT_DATE32;
    case VT_LIST:
        return DT_LIST;
    case VT_TS:
        if (x->has_tz) return DT_TS_NS_UTC;
        return x->unit == TU_S    ? DT_TS_S
               : x->unit == TU_MS ? DT_TS_MS
               : x->unit == TU_US ? DT_TS_US
                                  : DT_TS_NS;
    }
    return DT_NONE;
}

const char *func_dt_name(const bexpr *x) {
    if (x->type == VT_DEC128) return dec_arrow_name(x->unit);
    if (x->type == VT_LIST || x->type == VT_STRUCT) /* with its element, its fields */
        return vtype_arrow_name(x->type, x->unit);
    const char *n = dt_names[arg_dt(x)];
    return n ? n : vtype_arrow_name(x->type, x->unit);
}

static bool dt_is(uint8_t t, uint8_t a, uint8_t b) {
    return t >= a && t <= b;
}

/* DataFusion 27's can_coerce_from for function arguments: integers widen only within their
 * signedness (UInt64 does not go to Int64), anything numeric goes to a float, anything at all
 * to a string, a timestamp of any unit (or a string) to nanoseconds, and NULL everywhere. */
static bool can_coerce(uint8_t into, uint8_t from) {
    if (into == from || from == DT_NULL) return true;
    if (from == DT_LIST) return false; /* not even to a string */
    switch (into) {
    case DT_I16:
        return from == DT_I8 || from == DT_U8;
    case DT_I32:
        return dt_is(from, DT_I8, DT_I16) || dt_is(from, DT_U8, DT_U16);
    case DT_I64:
        return dt_is(from, DT_I8, DT_I32) || dt_is(from, DT_U8, DT_U32);
    case DT_U16:
        return from == DT_U8;
    case DT_U32:
        return dt_is(from, DT_U8, DT_U16);
    case DT_U64:
        return dt_is(from, DT_U8, DT_U32);
    case DT_F32:
        return dt_is(from, DT_I8, DT_U64);
    case DT_F64:
        return dt_is(from, DT_I8, DT_F32) || from == DT_DEC128;
    case DT_UTF8:
    case DT_LUTF8:
        return true;
    case DT_TS_NS:
    case DT_TS_NS_UTC:
        return dt_is(from, DT_TS_S, DT_TS_NS_UTC) || from == DT_DATE32 || from == DT_UTF8 ||
               from == DT_LUTF8;
    case DT_INTERVAL:
        return from == DT_UTF8 || from == DT_LUTF8;
    default:
        return false;
    }
}

/* The Strata type an argument is cast to for a DataFusion type; false for the types Strata
 * has no values of (Date32: NULL stays NULL). */
static bool dt_vtype(uint8_t t, uint8_t *vt, uint8_t *unit) {
    *unit = 0;
    if (dt_is(t, DT_I8, DT_I64)) {
        *vt = VT_I64;
        *unit = t == DT_I32 ? NU_32 : NU_64;
    } else if (dt_is(t, DT_U8, DT_U64)) {
        *vt = VT_U64;
    } else if (dt_is(t, DT_F32, DT_F64)) {
        *vt = VT_F64;
        *unit = t == DT_F32 ? NU_32 : NU_64;
    } else if (dt_is(t, DT_UTF8, DT_LBIN))
        *vt = VT_STR;
    else if (t == DT_BOOL)
        *vt = VT_BOOL;
    else if (t == DT_INTERVAL)
        *vt = VT_INTERVAL;
    else if (t == DT_DATE32)
        *vt = VT_DATE;
    else if (dt_is(t, DT_TS_S, DT_TS_NS_UTC)) {
        *vt = VT_TS;
        *unit = t == DT_TS_S ? TU_S : t == DT_TS_MS ? TU_MS : t == DT_TS_US ? TU_US : TU_NS;
    } else
        return false;
    return true;
}

/* ------------------------------------------------------------------ signatures */

struct match {
    const uint8_t *cur; /* the call's argument types */
    uint32_t nargs;
    uint8_t *tmp, *got; /* nargs each: a candidate being built, the one that fits */
};

static bool fits(struct match *m, const uint8_t *types, uint32_t n) {
    if (n != m->nargs) return false;
    for (uint32_t i = 0; i < n; i++)
        if (!can_coerce(types[i], m->cur[i])) return false;
    if (n) memcpy(m->got, types, n);
    return true;
}

/* Tries the candidate lists of the signature in DataFusion's order until one fits the call. */
static bool match_sig(const fn_sig *s, struct match *m) {
    uint32_t nargs = m->nargs;
    switch (s->kind) {
    case SIG_EXACT:
        return fits(m, s->types, s->ntypes);
    case SIG_UNIFORM:
    case SIG_VARIADIC:
        if (nargs == 0 || (s->kind == SIG_UNIFORM && nargs != s->n)) return false;
        for (uint32_t k = 0; k < s->ntypes; k++) {
            memset(m->tmp, s->types[k], nargs);
            if (fits(m, m->tmp, nargs)) return true;
        }
        return false;
    case SIG_VARIADIC_EQUAL:
        if (nargs == 0) return false;
        memset(m->tmp, m->cur[0], nargs);
        return fits(m, m->tmp, nargs);
    case SIG_VARIADIC_ANY:
        return nargs > 0 && fits(m, m->cur, nargs);
    case SIG_ANY:
        return nargs == s->n && fits(m, m->cur, nargs);
    case SIG_ONE_OF:
        for (uint32_t k = 0; k < s->nalts; k++)
            if (match_sig(&s->alts[k], m)) return true;
        return false;
    }
    return false;
}

static void join_dts(buf *b, const uint8_t *types, uint32_t n, const char *sep) {
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_puts(b, sep);
        buf_puts(b, dt_names[types[i]]);
    }
}

/* DataFusion's to_string_repr: the candidates a signature lists in a "No function matches"
 * error, each as "\n\tname(types)". */
static void sig_repr(buf *b, const char *name, const fn_sig *s) {
    if (s->kind == SIG_ONE_OF) {
        for (uint32_t k = 0; k < s->nalts; k++) sig_repr(b, name, &s->alts[k]);
        return;
    }
    buf_puts(b, "\n\t");
    buf_puts(b, name);
    buf_putc(b, '(');
    switch (s->kind) {
    case SIG_EXACT:
        join_dts(b, s->types, s->ntypes, ", ");
        break;
    case SIG_UNIFORM:
        for (uint32_t i = 0; i < s->n; i++) {
            if (i) buf_puts(b, ", ");
            join_dts(b, s->types, s->ntypes, "/");
        }
        break;
    case SIG_VARIADIC:
        join_dts(b, s->types, s->ntypes, "/");
        buf_puts(b, ", ..");
        break;
    case SIG_VARIADIC_EQUAL:
        buf_puts(b, "CoercibleT, .., CoercibleT");
        break;
    case SIG_VARIADIC_ANY:
        buf_puts(b, "Any, .., Any");
        break;
    case SIG_ANY:
        for (uint32_t i = 0; i < s->n; i++) buf_puts(b, i ? ", Any" : "Any");
        break;
    }
    buf_putc(b, ')');
}

/* A signature as Rust's Debug prints DataFusion's TypeSignature: Uniform(1, [Utf8, LargeUtf8]),
 * Exact([Utf8, Int64]), OneOf([Exact([..]), ..]), Variadic([Utf8]), Any(1), VariadicEqual. */
static void sig_debug(buf *b, const fn_sig *s) {
    switch (s->kind) {
    case SIG_EXACT:
        buf_puts(b, "Exact([");
        join_dts(b, s->types, s->ntypes, ", ");
        buf_puts(b, "])");
        break;
    case SIG_UNIFORM:
        buf_printf(b, "Uniform(%u, [", (unsigned)s->n);
        join_dts(b, s->types, s->ntypes, ", ");
        buf_puts(b, "])");
        break;
    case SIG_VARIADIC:
        buf_puts(b, "Variadic([");
        join_dts(b, s->types, s->ntypes, ", ");
        buf_puts(b, "])");
        break;
    case SIG_VARIADIC_EQUAL:
        buf_puts(b, "VariadicEqual");
        break;
    case SIG_VARIADIC_ANY:
        buf_puts(b, "VariadicAny");
        break;
    case SIG_ANY:
        buf_printf(b, "Any(%u)", (unsigned)s->n);
        break;
    case SIG_ONE_OF:
        buf_puts(b, "OneOf([");
        for (uint32_t k = 0; k < s->nalts; k++) {
            if (k) buf_puts(b, ", ");
            sig_debug(b, &s->alts[k]);
        }
        buf_puts(b, "])");
        break;
    }
}

static int no_match(const fn_def *d, bexpr **args, uint32_t nargs, bool lazy, err *er) {
    const char *name = d->display ? d->display : d->name; /* length() is character_length */
    buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < nargs; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", func_dt_name(args[i]));
    if (lazy) {
        /* found by DataFusion's type_coercion rule, after the plan is built */
        buf c;
        buf_init(&c);
        sig_debug(&c, &d->sig);
        err_set(er, 422, EC_QUERY_INTERNAL,
                "Execute logical plan: Datafusion: type_coercion\ncaused by\nError during "
                "planning: Coercion from [%s] to the signature %s failed.",
                b.len ? buf_cstr(&b) : "", buf_cstr(&c));
        buf_free(&b);
        buf_free(&c);
        return -1;
    }
    buf c;
    buf_init(&c);
    sig_repr(&c, name, &d->sig);
    func_plan_err(er,
                  "No function matches the given name and argument types '%s(%s)'. You might "
                  "need to add explicit type casts.\n\tCandidate functions:%s",
                  name, b.len ? buf_cstr(&b) : "", c.len ? buf_cstr(&c) : "");
    buf_free(&b);
    buf_free(&c);
    return -1;
}

/* ------------------------------------------------------------------ the registry */

#define REG_SLOTS 1024
static const fn_def *reg[REG_SLOTS];
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void reg_build(void) {
    const fn_def *const families[] = {func_math_defs,  func_string_defs, func_time_defs,
                                      func_cond_defs,  func_array_defs,  func_gis_defs,
                                      func_struct_defs};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const fn_def *d = families[f]; d->name; d++) {
            uint32_t i = name_hash(d->name) & (REG_SLOTS - 1);
            while (reg[i]) i = (i + 1) & (REG_SLOTS - 1);
            reg[i] = d;
        }
}

static const fn_def *reg_find(const char *name) {
    pthread_once(&reg_once, reg_build);
    for (uint32_t i = name_hash(name) & (REG_SLOTS - 1); reg[i]; i = (i + 1) & (REG_SLOTS - 1))
        if (!strcmp(reg[i]->name, name)) return reg[i];
    return NULL;
}

/* DataFusion 27's built-in scalar functions and then its aggregates (these as their upper-case
 * enum names), in its declaration order: what its "Did you mean" picks from, whatever Strata
 * implements. The first name at the least edit distance wins, so the order matters. */
static const char *const df_names[] = {"abs",
                                       "acos",
                                       "asin",
                                       "atan",
                                       "acosh",
                                       "asinh",
                                       "atanh",
                                       "atan2",
                                       "cbrt",
                                       "ceil",
                                       "cos",
                                       "cosh",
                                       "degrees",
                                       "exp",
                                       "factorial",
                                       "floor",
                                       "gcd",
                                       "isnan",
                                       "iszero",
                                       "lcm",
                                       "ln",
                                       "log",
                                       "log10",
                                       "log2",
                                       "nanvl",
                                       "pi",
                                       "power",
                                       "radians",
                                       "random",
                                       "round",
                                       "signum",
                                       "sin",
                                       "sinh",
                                       "sqrt",
                                       "tan",
                                       "tanh",
                                       "trunc",
                                       "array_append",
                                       "array_concat",
                                       "array_dims",
                                       "array_fill",
                                       "array_length",
                                       "array_ndims",
                                       "array_position",
                                       "array_positions",
                                       "array_prepend",
                                       "array_remove",
                                       "array_replace",
                                       "array_to_string",
                                       "cardinality",
                                       "make_array",
                                       "trim_array",
                                       "ascii",
                                       "bit_length",
                                       "btrim",
                                       "character_length",
                                       "chr",
                                       "coalesce",
                                       "concat",
                                       "concat_ws",
                                       "date_part",
                                       "date_trunc",
                                       "date_bin",
                                       "initcap",
                                       "left",
                                       "lpad",
                                       "lower",
                                       "ltrim",
                                       "md5",
                                       "nullif",
                                       "octet_length",
                                       "regexp_replace",
                                       "repeat",
                                       "replace",
                                       "reverse",
                                       "right",
                                       "rpad",
                                       "rtrim",
                                       "sha224",
                                       "sha256",
                                       "sha384",
                                       "sha512",
                                       "digest",
                                       "encode",
                                       "decode",
                                       "split_part",
                                       "starts_with",
                                       "strpos",
                                       "substr",
                                       "to_hex",
                                       "to_timestamp",
                                       "to_timestamp_millis",
                                       "to_timestamp_micros",
                                       "to_timestamp_seconds",
                                       "from_unixtime",
                                       "now",
                                       "current_date",
                                       "current_time",
                                       "uuid",
                                       "struct",
                                       "arrow_typeof",
                                       "translate",
                                       "trim",
                                       "upper",
                                       "regexp_match",
                                       "COUNT",
                                       "SUM",
                                       "MIN",
                                       "MAX",
                                       "AVG",
                                       "MEDIAN",
                                       "APPROXDISTINCT",
                                       "ARRAYAGG",
                                       "FIRST_VALUE",
                                       "LAST_VALUE",
                                       "VARIANCE",
                                       "VARIANCEPOP",
                                       "STDDEV",
                                       "STDDEVPOP",
                                       "COVARIANCE",
                                       "COVARIANCEPOP",
                                       "CORRELATION",
                                       "APPROXPERCENTILECONT",
                                       "APPROXPERCENTILECONTWITHWEIGHT",
                                       "APPROXMEDIAN",
                                       "GROUPING",
                                       "BITAND",
                                       "BITOR",
                                       "BITXOR",
                                       "BOOLAND",
                                       "BOOLOR",
                                       "REGRSLOPE"};

/* Levenshtein distance, case-insensitive, over bytes. */
static size_t edit_distance(const char *a, const char *b) {
    size_t nb = strlen(b), row[64], prev;
    if (nb >= sizeof row / sizeof row[0]) return SIZE_MAX;
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; *a; a++, i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t sub = prev + (tolower((unsigned char)*a) != tolower((unsigned char)b[j - 1]));
            size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            prev = row[j];
            row[j] = sub < best ? sub : best;
        }
    }
    return row[nb];
}

const char *func_display(const char *name) {
    const fn_def *d = reg_find(name);
    return d && d->display ? d->display : name;
}

static int unknown_fn(const char *name, err *er) {
    const char *best = df_names[0];
    size_t bd = SIZE_MAX;
    for (size_t i = 0; i < sizeof df_names / sizeof df_names[0]; i++) {
        size_t d = edit_distance(df_names[i], name);
        if (d < bd) {
            bd = d;
            best = df_names[i];
        }
    }
    return func_plan_err(er, "Invalid function '%s'.\nDid you mean '%s'?", name, best);
}

int func_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, const fn_env *env,
              bexpr **out, err *er) {
    const fn_def *d = reg_find(name);
    if (!d) return unknown_fn(name, er);
    if (d->udf_nargs && nargs != d->udf_nargs)
        return func_plan_err(er, "The function \"%s\" expects %u arguments, but %u were provided",
                             d->display ? d->display : d->name, (unsigned)d->udf_nargs, nargs);
    uint8_t *cur = arena_alloc(a, 3 * (size_t)nargs + 1);
    struct match m = {cur, nargs, cur + nargs, cur + 2 * (size_t)nargs};
    for (uint32_t i = 0; i < nargs; i++) cur[i] = arg_dt(args[i]);
    if (!match_sig(&d->sig, &m)) return no_match(d, args, nargs, env && env->lazy, er);
    if (!d->raw_args)
        for (uint32_t i = 0; i < nargs; i++) {
            uint8_t vt, unit;
            if (m.got[i] == cur[i] || !dt_vtype(m.got[i], &vt, &unit)) continue;
            if (bx_cast(a, &args[i], vt, unit, er) < 0) return -1;
        }
    fn_ctx c = {a, env->now_ns, env, d, m.got};
    if (d->bind) return d->bind(&c, args, nargs, out, er);
    uint8_t type = d->ret, unit = d->ret == VT_TS ? TU_NS : 0;
    /* a float function whose Float32 candidate fit (atan2(1, 2)) answers a Float32 */
    bool f32 = d->ret == VT_F64 && nargs > 0;
    for (uint32_t i = 0; i < nargs; i++) f32 &= m.got[i] == DT_F32;
    if (f32) unit = NU_32;
    if (d->ret == FN_RET_ARG0) {
        type = nargs ? args[0]->type : VT_NULL;
        unit = nargs ? args[0]->unit : 0;
    }
    *out = func_call(a, d, d->eval, type, unit, args, nargs, d->aux);
    return 0;
}

/* ------------------------------------------------------------------ aggregates */

/* Each aggregate with the name DataFusion displays in column headers and plans (`COVARIANCE`)
 * and the one its planning errors use (the Rust enum's Debug: `Covariance`; CnosDB's own
 * functions, registered as UDAFs, are quoted by name). */
static const struct {
    const char *name;
    int kind;
    const char *display;
    const char *debug;
} aggs[] = {
    {"count", AGG_COUNT, "COUNT", "Count"},
    {"exact_count", AGG_EXACT_COUNT, "exact_count", "\"exact_count\""},
    {"sum", AGG_SUM, "SUM", "Sum"},
    {"avg", AGG_AVG, "AVG", "Avg"},
    {"mean", AGG_AVG, "AVG", "Avg"},
    {"min", AGG_MIN, "MIN", "Min"},
    {"max", AGG_MAX, "MAX", "Max"},
    {"first", AGG_FIRST, "first", "\"first\""},
    {"last", AGG_LAST, "last", "\"last\""},
    {"spread", AGG_SPREAD, "spread", "\"spread\""},
    {"stddev", AGG_STDDEV, "STDDEV", "Stddev"},
    {"stddev_samp", AGG_STDDEV, "STDDEV", "Stddev"},
    {"stddev_pop", AGG_STDDEV_POP, "STDDEV_POP", "StddevPop"},
    {"var", AGG_VAR, "VARIANCE", "Variance"},
    {"variance", AGG_VAR, "VARIANCE", "Variance"},
    {"var_samp", AGG_VAR, "VARIANCE", "Variance"},
    {"var_pop", AGG_VAR_POP, "VARIANCE_POP", "VariancePop"},
    {"median", AGG_MEDIAN, "MEDIAN", "Median"},
    {"covar", AGG_COVAR, "COVARIANCE", "Covariance"},
    {"covar_samp", AGG_COVAR, "COVARIANCE", "Covariance"},
    {"covar_pop", AGG_COVAR_POP, "COVARIANCE_POP", "CovariancePop"},
    {"corr", AGG_CORR, "CORRELATION", "Correlation"},
    {"regr_slope", AGG_REGR_SLOPE, "REGR_SLOPE", "RegrSlope"},
    {"regr_intercept", AGG_REGR_INTERCEPT, "REGR_INTERCEPT", "RegrIntercept"},
    {"regr_count", AGG_REGR_COUNT, "REGR_COUNT", "RegrCount"},
    {"regr_r2", AGG_REGR_R2, "REGR_R2", "RegrR2"},
    {"regr_avgx", AGG_REGR_AVGX, "REGR_AVGX", "RegrAvgx"},
    {"regr_avgy", AGG_REGR_AVGY, "REGR_AVGY", "RegrAvgy"},
    {"regr_sxx", AGG_REGR_SXX, "REGR_SXX", "RegrSXX"},
    {"regr_syy", AGG_REGR_SYY, "REGR_SYY", "RegrSYY"},
    {"regr_sxy", AGG_REGR_SXY, "REGR_SXY", "RegrSXY"},
    {"bit_and", AGG_BIT_AND, "BIT_AND", "BitAnd"},
    {"bit_or", AGG_BIT_OR, "BIT_OR", "BitOr"},
    {"bit_xor", AGG_BIT_XOR, "BIT_XOR", "BitXor"},
    {"bool_and", AGG_BOOL_AND, "BOOL_AND", "BoolAnd"},
    {"bool_or", AGG_BOOL_OR, "BOOL_OR", "BoolOr"},
    {"mode", AGG_MODE, "mode", "\"mode\""},
    {"array_agg", AGG_ARRAY_AGG, "ARRAY_AGG", "ArrayAgg"},
    {"approx_distinct", AGG_APPROX_DISTINCT, "APPROX_DISTINCT", "ApproxDistinct"},
    {"approx_median", AGG_APPROX_MEDIAN, "APPROX_MEDIAN", "ApproxMedian"},
    {"approx_percentile_cont", AGG_APPROX_PCT, "APPROX_PERCENTILE_CONT", "ApproxPercentileCont"},
    {"approx_percentile_cont_with_weight", AGG_APPROX_PCT_W, "APPROX_PERCENTILE_CONT_WITH_WEIGHT",
     "ApproxPercentileContWithWeight"},
    {"increase", AGG_INCREASE, "increase", "\"increase\""},
    {"first_value", AGG_FIRST_VALUE, "FIRST_VALUE", "FirstValue"},
    {"last_value", AGG_LAST_VALUE, "LAST_VALUE", "LastValue"},
    {"gauge_agg", AGG_GAUGE, "gauge_agg", "\"gauge_agg\""},
    {"state_agg", AGG_STATE_AGG, "state_agg", "\"state_agg\""},
    {"compact_state_agg", AGG_COMPACT_STATE_AGG, "compact_state_agg", "\"compact_state_agg\""},
    {"completeness", AGG_COMPLETENESS, "completeness", "\"completeness\""},
    {"consistency", AGG_CONSISTENCY, "consistency", "\"consistency\""},
    {"timeliness", AGG_TIMELINESS, "timeliness", "\"timeliness\""},
    {"validity", AGG_VALIDITY, "validity", "\"validity\""},
    {"sample", AGG_SAMPLE, "sample", "\"sample\""}};

#define NAGGS (sizeof aggs / sizeof aggs[0])

int agg_lookup(const char *name) {
    /* every function call of every query asks (the scalar ones too): the first byte rules
     * out nearly all names before a strcmp */
    for (size_t i = 0; i < NAGGS; i++)
        if (aggs[i].name[0] == name[0] && !strcmp(name, aggs[i].name)) return aggs[i].kind;
    return 0;
}

const char *agg_display(int kind) {
    for (size_t i = 0; i < NAGGS; i++)
        if (aggs[i].kind == kind) return aggs[i].display;
    return "?";
}

static const char *agg_debug(int kind) {
    for (size_t i = 0; i < NAGGS; i++)
        if (aggs[i].kind == kind) return aggs[i].debug;
    return "?";
}

static const char *const numerics_sig =
    "Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64";

/* A decimal aggregate's result type, precision and scale capped at 38 as DataFusion caps them. */
static int agg_dec_type(agg_spec *sp, int p, int s, err *er) {
    int code = dec_code(p < DEC_MAX_PREC ? p : DEC_MAX_PREC, s < DEC_MAX_PREC ? s : DEC_MAX_PREC);
    if (code < 0)
        return err_set(
            er, 422, EC_NOT_IMPL,
            "This feature is not implemented: more distinct decimal types than Strata keeps");
    sp->type = VT_DEC128;
    sp->unit = (uint8_t)code;
    return 0;
}

static int agg_type_err(int kind, const bexpr *x, err *er) {
    return func_plan_err(er, "The function %s does not support inputs of type %s.", agg_debug(kind),
                         vtype_arrow_name(x->type, x->unit));
}

/* DataFusion's type coercion failing after the function's own check let the call through. */
static int agg_coercion_err(bexpr **args, uint32_t nargs, const char *sig, err *er) {
    buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < nargs; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", vtype_arrow_name(args[i]->type, args[i]->unit));
    func_plan_err(er, "Coercion from [%s] to the signature %s failed.", buf_cstr(&b), sig);
    buf_free(&b);
    return -1;
}

/* increase's signature is every (timestamp unit, numeric type) pair, listed as DataFusion lists
 * a OneOf signature's candidates. */
static int increase_no_match(bexpr **args, err *er) {
    static const char *const units[] = {"Second", "Millisecond", "Microsecond", "Nanosecond"};
    static const char *const nums[] = {"Int8",   "Int16",  "Int32",  "Int64",   "UInt8",
                                       "UInt16", "UInt32", "UInt64", "Float32", "Float64"};
    buf b;
    buf_init(&b);
    for (size_t n = 0; n < sizeof nums / sizeof nums[0]; n++)
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
            buf_printf(&b, "\n\tincrease(Timestamp(%s, None), %s)", units[u], nums[n]);
    func_plan_err(er,
                  "No function matches the given name and argument types 'increase(%s, %s)'. You "
                  "might need to add explicit type casts.\n\tCandidate functions:%s",
                  vtype_arrow_name(args[0]->type, args[0]->unit),
                  vtype_arrow_name(args[1]->type, args[1]->unit), buf_cstr(&b));
    buf_free(&b);
    return -1;
}

/* The percentile of approx_percentile_cont[_with_weight]: a constant in [0, 1]. */
static int agg_percentile(arena *a, bexpr *p, double *out, err *er) {
    value v;
    if (!bx_is_const(p) || !vtype_numeric(p->type))
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Internal error: desired percentile argument must be float "
                       "literal. This was likely caused by a bug in DataFusion's code and we "
                       "would welcome that you file an bug report in our issue tracker");
    if (bx_fold(a, p, &v, er) < 0) return -1;
    if (v.null)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: Percentile value for "
                       "'APPROX_PERCENTILE_CONT' must be Float32 or Float64 literal (got data "
                       "type Float64)");
    double q = v.type == VT_F64 ? v.v.f : v.type == VT_I64 ? (double)v.v.i : (double)v.v.u;
    if (!(q >= 0.0 && q <= 1.0)) {
        char tmp[48];
        tmp[fmt_double(tmp, q)] = 0;
        return func_plan_err(
            er, "Percentile value must be between 0.0 and 1.0 inclusive, %s is invalid", tmp);
    }
    *out = q;
    return 0;
}

/* count(a, b, ...) counts the rows where every argument is non-NULL: one argument that is 1
 * on those rows and NULL elsewhere. */
static bexpr *count_all_args(arena *a, bexpr **args, uint32_t nargs) {
    bexpr *cond = NULL;
    for (uint32_t i = 0; i < nargs; i++) {
        bexpr *nn = bx_new(a, BX_IS_NULL, VT_BOOL, 1);
        nn->negated = true;
        nn->args[0] = args[i];
        if (cond) {
            bexpr *and = bx_new(a, BX_AND, VT_BOOL, 2);
            and->args[0] = cond;
            and->args[1] = nn;
            nn = and;
        }
        cond = nn;
    }
    value one = {.type = VT_I64, .v.i = 1};
    bexpr *c = bx_new(a, BX_CASE, VT_I64, 2);
    c->args[0] = cond;
    c->args[1] = bx_const(a, one);
    return c;
}

/* The number of arguments each aggregate takes, checked before their types as DataFusion's
 * check_arg_count does. */
static int agg_arity(int kind, uint32_t nargs, err *er) {
    uint32_t want = 1;
    switch (kind) {
    case AGG_COUNT:
    case AGG_EXACT_COUNT:
        if (nargs) return 0;
        return func_plan_err(er, "The function %s expects at least one argument", agg_debug(kind));
    case AGG_APPROX_PCT:
    case AGG_APPROX_PCT_W:
    case AGG_INCREASE: /* OneOf signatures: no count of their own */
        if (kind == AGG_INCREASE     ? nargs == 2
            : kind == AGG_APPROX_PCT ? nargs == 2 || nargs == 3
                                     : nargs == 3)
            return 0;
        return func_plan_err(er, "The function %s does not accept %u function arguments.",
                             agg_debug(kind), nargs);
    case AGG_COVAR:
    case AGG_COVAR_POP:
    case AGG_CORR:
    case AGG_REGR_SLOPE:
    case AGG_REGR_INTERCEPT:
    case AGG_REGR_COUNT:
    case AGG_REGR_R2:
    case AGG_REGR_AVGX:
    case AGG_REGR_AVGY:
    case AGG_REGR_SXX:
    case AGG_REGR_SYY:
    case AGG_REGR_SXY:
    case AGG_SAMPLE:
        want = 2;
        break;
    default:
        break;
    }
    if (nargs == want) return 0;
    return func_plan_err(er, "The function %s expects %u arguments, but %u were provided",
                         agg_debug(kind), want, nargs);
}

static bool is_regr(int kind) {
    return kind >= AGG_REGR_SLOPE && kind <= AGG_REGR_SXY;
}

int agg_exec_check(const agg_spec *sp, err *er) {
    const bexpr *x = sp->arg;
    /* DataFusion 27's HyperLogLog takes integers, strings and binaries only; it says so when
     * the accumulator is made, after every planning error */
    if (sp->kind == AGG_APPROX_DISTINCT && x && x->type != VT_I64 && x->type != VT_U64 &&
        x->type != VT_STR && x->type != VT_NULL)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: Support for 'approx_distinct' for data "
                       "type %s is not implemented",
                       vtype_arrow_name(x->type, x->unit));
    return 0;
}

int agg_bind(arena *a, bexpr **args, uint32_t nargs, bool star, agg_spec *sp, err *er) {
    int kind = sp->kind;
    /* f(*) gives f a NULL-typed argument: a function that takes only numbers says so at its
     * type check, the others fail later, naming the wildcard */
    if (star && (kind == AGG_SUM || kind == AGG_AVG || kind == AGG_STDDEV ||
                 kind == AGG_STDDEV_POP || kind == AGG_VAR || kind == AGG_VAR_POP ||
                 kind == AGG_MEDIAN || kind == AGG_APPROX_MEDIAN))
        return func_plan_err(er, "The function %s does not support inputs of type Null.",
                             agg_debug(kind));
    if (star && kind != AGG_COUNT && kind != AGG_EXACT_COUNT)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Internal error: Create physical name does not support "
                       "wildcard. This was likely caused by a bug in DataFusion's code and we "
                       "would welcome that you file an bug report in our issue tracker");
    if (star) { /* count(*): no argument, every row counts */
        sp->kind = AGG_COUNT;
        sp->type = VT_I64;
        return 0;
    }
    if (kind == AGG_GAUGE) return agg_gauge_bind(args, nargs, sp, er);
    if (agg_kind_checked(kind)) return agg_quality_bind(args, nargs, sp, agg_display(kind), er);
    if (agg_arity(kind, nargs, er) < 0) return -1;
    if (sp->distinct && (kind == AGG_APPROX_PCT || kind == AGG_APPROX_PCT_W || nargs > 1) &&
        kind != AGG_COUNT && kind != AGG_EXACT_COUNT)
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: %s(DISTINCT) aggregations are not "
                       "available",
                       agg_display(kind));
    bexpr *x = args[0];
    uint8_t t = x->type;
    sp->arg = x;
    /* an Int32 or Float32 argument's aggregates are named as 64-bit ones: sums outgrow it */
    sp->unit = t == VT_I64 || t == VT_F64 ? NU_64 : x->unit;
    sp->type = VT_F64;
    switch (kind) {
    case AGG_COUNT:
    case AGG_EXACT_COUNT:
        if (nargs > 2 && sp->distinct)
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: COUNT DISTINCT over more than two "
                           "arguments");
        if (nargs == 2 && sp->distinct)
            sp->arg2 = args[1]; /* the pairs (x, y) of non-NULL values, counted once each */
        else if (nargs > 1)
            sp->arg = count_all_args(a, args, nargs);
        sp->kind = AGG_COUNT; /* Strata's count is exact: no statistics shortcut */
        sp->type = VT_I64;
        sp->unit = 0;
        return 0;
    case AGG_SUM:
        if (t == VT_DEC128) /* DataFusion: Decimal128(min(38, p + 10), s) */
            return agg_dec_type(sp, dec_prec(x->unit) + 10, dec_scale(x->unit), er);
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        sp->type = t;
        return 0;
    case AGG_AVG:
        if (t == VT_DEC128) /* Decimal128(min(38, p + 4), min(38, s + 4)) */
            return agg_dec_type(sp, dec_prec(x->unit) + 4, dec_scale(x->unit) + 4, er);
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        return 0;
    case AGG_STDDEV:
    case AGG_STDDEV_POP:
    case AGG_VAR:
    case AGG_VAR_POP:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        return 0;
    case AGG_MEDIAN:
    case AGG_APPROX_MEDIAN:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        sp->type = t;
        return 0;
    case AGG_SPREAD:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        sp->type = t;
        return 0;
    case AGG_MIN:
    case AGG_MAX:
        if (t == VT_INTERVAL || t == VT_LIST) return agg_type_err(kind, x, er);
        if (t == VT_NULL)
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Internal error: Min/Max accumulator not implemented for "
                           "type Null. This was likely caused by a bug in DataFusion's code and "
                           "we would welcome that you file an bug report in our issue tracker");
        sp->type = t;
        return 0;
    case AGG_COVAR:
    case AGG_COVAR_POP:
    case AGG_CORR:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        if (args[1]->type == VT_STR || args[1]->type == VT_BOOL) {
            /* DataFusion checks only the first argument and casts the second to Float64, a
             * text that is no number becoming NULL */
            bexpr *c = bx_new(a, BX_CAST, VT_F64, 1);
            c->try_cast = true;
            c->args[0] = args[1];
            args[1] = c;
        } else if (!vtype_numeric(args[1]->type) && args[1]->type != VT_NULL) {
            char sig[160];
            snprintf(sig, sizeof sig, "Uniform(2, [%s])", numerics_sig);
            return agg_coercion_err(args, nargs, sig, er);
        }
        sp->arg2 = args[1];
        return 0;
    case AGG_BIT_AND:
    case AGG_BIT_OR:
    case AGG_BIT_XOR:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        if (t == VT_F64)
            return agg_coercion_err(args, nargs,
                                    "Uniform(1, [Int8, Int16, Int32, Int64, UInt8, UInt16, "
                                    "UInt32, UInt64])",
                                    er);
        sp->type = t;
        return 0;
    case AGG_BOOL_AND:
    case AGG_BOOL_OR:
        if (t != VT_BOOL) return agg_type_err(kind, x, er);
        sp->type = VT_BOOL;
        return 0;
    case AGG_MODE:
    case AGG_FIRST_VALUE:
    case AGG_LAST_VALUE:
        sp->type = t;
        return 0;
    case AGG_ARRAY_AGG:
        if (!vlist_elem_ok(t)) /* util/vlist.h */
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: ARRAY_AGG over %s: a list of %s",
                           vtype_arrow_name(t, x->unit), t == VT_LIST ? "lists" : "decimals");
        sp->type = VT_LIST;
        sp->unit = vlist_unit(t, x->unit, x->has_tz);
        return 0;
    case AGG_APPROX_DISTINCT: /* other input types are refused at execution: agg_exec_check */
        sp->type = VT_U64;
        sp->unit = 0;
        return 0;
    case AGG_SAMPLE: {
        value v;
        if (!bx_is_const(args[1]) || (args[1]->type != VT_I64 && args[1]->type != VT_U64) ||
            bx_fold(a, args[1], &v, er) < 0 || v.null ||
            (args[1]->type == VT_I64 ? v.v.i <= 0 || v.v.i > 2000 : v.v.u == 0 || v.v.u > 2000)) {
            err_clear(er);
            return func_plan_err(er, "The number of sample points for function 'sample' must be "
                                     "(0, 2000]");
        }
        if (!vlist_elem_ok(t))
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: sample over %s: a list of %s",
                           vtype_arrow_name(t, x->unit), t == VT_LIST ? "lists" : "decimals");
        sp->param2 = v.v.i;
        sp->type = VT_LIST;
        sp->unit = vlist_unit(t, x->unit, x->has_tz);
        return 0;
    }
    case AGG_APPROX_PCT:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        if (nargs == 3) {
            value v;
            if (!bx_is_const(args[2]) || (args[2]->type != VT_I64 && args[2]->type != VT_U64))
                return func_plan_err(er,
                                     "The percentile sample points count for %s must be "
                                     "integer, not %s.",
                                     agg_debug(kind),
                                     vtype_arrow_name(args[2]->type, args[2]->unit));
            if (bx_fold(a, args[2], &v, er) < 0) return -1;
            if (v.null || v.v.i <= 0)
                return err_set(er, 422, EC_NOT_IMPL,
                               "This feature is not implemented: Tdigest max_size value for "
                               "'APPROX_PERCENTILE_CONT' must be UInt > 0 literal (got data "
                               "type %s).",
                               vtype_arrow_name(args[2]->type, 0));
            sp->param2 = v.v.i;
        }
        if (!vtype_numeric(args[1]->type))
            return func_plan_err(er,
                                 "Could not coerce the percent argument for %s to Float64. Was  "
                                 "%s.",
                                 agg_debug(kind), vtype_arrow_name(args[1]->type, args[1]->unit));
        if (agg_percentile(a, args[1], &sp->param, er) < 0) return -1;
        sp->type = t;
        return 0;
    case AGG_APPROX_PCT_W:
        if (!vtype_numeric(t)) return agg_type_err(kind, x, er);
        if (!vtype_numeric(args[1]->type))
            return func_plan_err(er,
                                 "The weight argument for %s does not support inputs of type %s.",
                                 agg_debug(kind), vtype_arrow_name(args[1]->type, args[1]->unit));
        if (args[2]->type != VT_F64)
            return func_plan_err(er, "The percentile argument for %s must be Float64, not %s.",
                                 agg_debug(kind), vtype_arrow_name(args[2]->type, args[2]->unit));
        if (agg_percentile(a, args[2], &sp->param, er) < 0) return -1;
        sp->arg2 = args[1];
        sp->type = t;
        return 0;
    case AGG_INCREASE: {
        uint8_t vt = args[1]->type;
        if ((t != VT_TS && t != VT_STR && t != VT_NULL) || (!vtype_numeric(vt) && vt != VT_NULL))
            return increase_no_match(args, er);
        if (t == VT_STR && bx_cast(a, &args[0], VT_TS, TU_NS, er) < 0) return -1;
        sp->arg = args[0];
        sp->arg2 = args[1];
        sp->type = vt == VT_NULL ? VT_I64 : vt;
        sp->unit = 0;
        return 0;
    }
    default:
        if (is_regr(kind)) {
            /* DataFusion names the first argument's type whichever one is wrong */
            bool ok0 = vtype_numeric(t) || t == VT_NULL;
            bool ok1 = vtype_numeric(args[1]->type) || args[1]->type == VT_NULL;
            if (!ok0 || !ok1) return agg_type_err(kind, x, er);
            sp->arg2 = args[1];
            return 0;
        }
        break;
    }
    return agg_type_err(kind, x, er);
}
