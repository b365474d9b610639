/* The scalar function registry and the aggregate catalogue: see func.h and func_int.h. */
#include "sql/func_int.h"

#include "util/buf.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
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
};

/* The DataFusion type of a bound argument. */
static uint8_t arg_dt(const bexpr *x) {
    switch (x->type) {
    case VT_NULL:
        return DT_NULL;
    case VT_BOOL:
        return DT_BOOL;
    case VT_I64:
        return DT_I64;
    case VT_U64:
        return DT_U64;
    case VT_F64:
        return DT_F64;
    case VT_STR:
        return DT_UTF8;
    case VT_INTERVAL:
        return DT_INTERVAL;
    case VT_DATE:
        return DT_DATE32;
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
    return dt_names[arg_dt(x)];
}

static bool dt_is(uint8_t t, uint8_t a, uint8_t b) {
    return t >= a && t <= b;
}

/* DataFusion 27's can_coerce_from for function arguments: integers widen only within their
 * signedness (UInt64 does not go to Int64), anything numeric goes to a float, anything at all
 * to a string, a timestamp of any unit (or a string) to nanoseconds, and NULL everywhere. */
static bool can_coerce(uint8_t into, uint8_t from) {
    if (into == from || from == DT_NULL) return true;
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
        return dt_is(from, DT_I8, DT_F32);
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
    if (dt_is(t, DT_I8, DT_I64))
        *vt = VT_I64;
    else if (dt_is(t, DT_U8, DT_U64))
        *vt = VT_U64;
    else if (dt_is(t, DT_F32, DT_F64))
        *vt = VT_F64;
    else if (dt_is(t, DT_UTF8, DT_LBIN))
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

static int no_match(const fn_def *d, const uint8_t *cur, uint32_t nargs, err *er) {
    const char *name = d->display ? d->display : d->name; /* length() is character_length */
    buf b;
    buf_init(&b);
    join_dts(&b, cur, nargs, ", ");
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
    const fn_def *const families[] = {func_math_defs, func_string_defs, func_time_defs,
                                      func_cond_defs};
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
    uint8_t *cur = arena_alloc(a, 3 * (size_t)nargs + 1);
    struct match m = {cur, nargs, cur + nargs, cur + 2 * (size_t)nargs};
    for (uint32_t i = 0; i < nargs; i++) cur[i] = arg_dt(args[i]);
    if (!match_sig(&d->sig, &m)) return no_match(d, cur, nargs, er);
    if (!d->raw_args)
        for (uint32_t i = 0; i < nargs; i++) {
            uint8_t vt, unit;
            if (m.got[i] == cur[i] || !dt_vtype(m.got[i], &vt, &unit)) continue;
            if (bx_cast(a, &args[i], vt, unit, er) < 0) return -1;
        }
    fn_ctx c = {a, env->now_ns, env, d, m.got};
    if (d->bind) return d->bind(&c, args, nargs, out, er);
    uint8_t type = d->ret, unit = d->ret == VT_TS ? TU_NS : 0;
    if (d->ret == FN_RET_ARG0) {
        type = nargs ? args[0]->type : VT_NULL;
        unit = nargs ? args[0]->unit : 0;
    }
    *out = func_call(a, d, d->eval, type, unit, args, nargs, d->aux);
    return 0;
}

/* ------------------------------------------------------------------ aggregates */

static const struct {
    const char *name;
    int kind;
    const char *display;
} aggs[] = {{"count", AGG_COUNT, "COUNT"},
            {"sum", AGG_SUM, "SUM"},
            {"avg", AGG_AVG, "AVG"},
            {"mean", AGG_AVG, "AVG"},
            {"min", AGG_MIN, "MIN"},
            {"max", AGG_MAX, "MAX"},
            {"first", AGG_FIRST, "first"},
            {"last", AGG_LAST, "last"},
            {"spread", AGG_SPREAD, "spread"},
            {"stddev", AGG_STDDEV, "STDDEV"},
            {"stddev_samp", AGG_STDDEV, "STDDEV"},
            {"stddev_pop", AGG_STDDEV_POP, "STDDEV_POP"},
            {"var", AGG_VAR, "VARIANCE"},
            {"variance", AGG_VAR, "VARIANCE"},
            {"var_samp", AGG_VAR, "VARIANCE"},
            {"var_pop", AGG_VAR_POP, "VARIANCE_POP"},
            {"median", AGG_MEDIAN, "MEDIAN"}};

int agg_lookup(const char *name) {
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (!strcmp(name, aggs[i].name)) return aggs[i].kind;
    return 0;
}

const char *agg_display(int kind) {
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (aggs[i].kind == kind) return aggs[i].display;
    return "?";
}

int agg_result_type(int kind, uint8_t t, uint8_t *out, err *er) {
    switch (kind) {
    case AGG_COUNT:
        *out = VT_I64;
        return 0;
    case AGG_SUM:
        if (!vtype_numeric(t) && t != VT_NULL) break;
        *out = t == VT_NULL ? VT_I64 : t;
        return 0;
    case AGG_AVG:
    case AGG_STDDEV:
    case AGG_STDDEV_POP:
    case AGG_VAR:
    case AGG_VAR_POP:
    case AGG_MEDIAN:
        if (!vtype_numeric(t) && t != VT_NULL) break;
        *out = kind == AGG_MEDIAN && t != VT_NULL ? t : VT_F64;
        return 0;
    case AGG_SPREAD:
        if (!vtype_numeric(t)) break;
        *out = t;
        return 0;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_FIRST:
    case AGG_LAST:
        if (t == VT_INTERVAL) break;
        *out = t;
        return 0;
    }
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Datafusion: Error during planning: The function %s does not support inputs "
                   "of type %s.",
                   agg_display(kind), vtype_sql_name((enum vtype)t, TU_NS));
}
