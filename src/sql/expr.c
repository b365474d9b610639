/* Vectorized expression evaluation: see expr.h. */
#include "sql/expr.h"

#include "format/format.h"
#include "sql/keyset.h"
#include "sql/pattern.h"
#include "util/membudget.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t vtype_size(uint8_t t) {
    switch (t) {
    case VT_BOOL:
        return sizeof(bool);
    case VT_STR:
        return sizeof(strv);
    case VT_INTERVAL:
        return sizeof(interval);
    case VT_NULL:
        return 1;
    default:
        return 8;
    }
}

bool vtype_numeric(uint8_t t) {
    return t == VT_I64 || t == VT_U64 || t == VT_F64;
}

void vec_alloc(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out) {
    memset(out, 0, sizeof *out);
    out->type = type;
    out->unit = unit;
    out->len = n;
    out->d.raw = arena_alloc(a, vtype_size(type) * (n ? n : 1));
    out->valid = NULL;
}

/* Writes the type's zero into slot i (the NULL-slot invariant of types.h). */
static inline void vec_zero_slot(vec *v, uint32_t i) {
    if (v->type == VT_STR)
        v->d.s[i] = (strv){"", 0};
    else if (v->type == VT_BOOL)
        v->d.b[i] = false;
    else {
        size_t sz = vtype_size(v->type);
        memset((char *)v->d.raw + sz * i, 0, sz);
    }
}

void vec_alloc_null(arena *a, uint8_t type, uint8_t unit, uint32_t n, vec *out) {
    vec_alloc(a, type, unit, n, out);
    size_t nb = bitmap_bytes(n);
    out->valid = arena_calloc(a, nb ? nb : 1);
    if (type == VT_STR)
        for (uint32_t i = 0; i < n; i++) out->d.s[i] = (strv){"", 0};
    else
        memset(out->d.raw, 0, vtype_size(type) * n);
}

void vec_zero_nulls(vec *v, uint32_t n) {
    if (!v->valid || v->type == VT_NULL) return;
    for (uint32_t i = 0; i < n; i += 8) {
        if (v->valid[i >> 3] == 0xff) continue; /* eight valid rows */
        for (uint32_t k = i; k < n && k < i + 8; k++)
            if (!vec_is_valid(v, k)) vec_zero_slot(v, k);
    }
}

void vec_set_null(arena *a, vec *v, uint32_t i) {
    if (!v->valid) {
        size_t nb = bitmap_bytes(v->len);
        v->valid = arena_alloc(a, nb ? nb : 1);
        memset(v->valid, 0xff, nb);
    }
    bitmap_clear(v->valid, i);
    vec_zero_slot(v, i);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizer builds check the NULL-slot invariant on every vector an expression produces or
 * reads, so a kernel that leaves a slot undefined is caught where it happens (by the tests and
 * the fuzzer), not when a later kernel trips over the garbage. Reading every byte of a NULL
 * row's string lets ASan flag a view of freed or wild memory. */
static void vec_check(const vec *v, uint32_t n, const bexpr *e) {
    if (v->type != VT_BOOL && v->type != VT_STR) return;
    volatile unsigned char sink = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool ok = true;
        if (v->type == VT_BOOL) {
            uint8_t raw;
            memcpy(&raw, &v->d.b[i], 1);
            ok = raw <= 1;
        } else {
            strv sv = v->d.s[i];
            ok = sv.p != NULL;
            if (ok && !vec_is_valid(v, i))
                for (uint32_t k = 0; k < sv.len; k++) sink ^= (unsigned char)sv.p[k];
        }
        if (!ok) {
            fprintf(stderr,
                    "BUG: expression kind %d (%s) left row %u (%s) of a %s vector undefined\n",
                    e->kind, e->fname ? e->fname : "-", i, vec_is_valid(v, i) ? "valid" : "NULL",
                    arrow_type_name(v->type, v->unit));
            abort();
        }
    }
    (void)sink;
}
#define VEC_CHECK(v, n, e) vec_check((v), (n), (e))
#else
#define VEC_CHECK(v, n, e) ((void)0)
#endif

void vec_get(const vec *v, uint32_t i, value *out) {
    memset(out, 0, sizeof *out);
    out->type = v->type;
    out->unit = v->unit;
    if (v->type == VT_NULL || !vec_is_valid(v, i)) {
        out->null = true;
        return;
    }
    switch (v->type) {
    case VT_BOOL:
        out->v.b = v->d.b[i];
        break;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        out->v.i = v->d.i64[i];
        break;
    case VT_U64:
        out->v.u = v->d.u64[i];
        break;
    case VT_F64:
        out->v.f = v->d.f64[i];
        break;
    case VT_STR:
        out->v.s = v->d.s[i];
        break;
    case VT_INTERVAL:
        out->v.iv = v->d.iv[i];
        break;
    }
}

void vec_broadcast(arena *a, const value *v, uint32_t n, vec *out) {
    if (v->null || v->type == VT_NULL) {
        vec_alloc_null(a, v->type, v->unit, n, out);
        return;
    }
    vec_alloc(a, v->type, v->unit, n, out);
    for (uint32_t i = 0; i < n; i++) {
        switch (v->type) {
        case VT_BOOL:
            out->d.b[i] = v->v.b;
            break;
        case VT_I64:
        case VT_TS:
        case VT_DATE:
            out->d.i64[i] = v->v.i;
            break;
        case VT_U64:
            out->d.u64[i] = v->v.u;
            break;
        case VT_F64:
            out->d.f64[i] = v->v.f;
            break;
        case VT_STR:
            out->d.s[i] = v->v.s;
            break;
        case VT_INTERVAL:
            out->d.iv[i] = v->v.iv;
            break;
        }
    }
}

bexpr *bx_new(arena *a, uint8_t kind, uint8_t type, uint32_t nargs) {
    bexpr *e = arena_calloc(a, sizeof *e);
    e->kind = kind;
    e->type = type;
    e->nargs = nargs;
    if (nargs) e->args = arena_calloc(a, sizeof *e->args * nargs);
    return e;
}

bexpr *bx_const(arena *a, value v) {
    bexpr *e = bx_new(a, BX_CONST, v.type, 0);
    e->unit = v.unit;
    e->cval = v;
    return e;
}

bexpr *bx_col(arena *a, uint32_t col, uint8_t type, uint8_t unit) {
    bexpr *e = bx_new(a, BX_COL, type, 0);
    e->col = col;
    e->unit = unit;
    return e;
}

bool bx_is_const(const bexpr *e) {
    if (e->kind == BX_CONST) return true;
    if (e->kind == BX_COL) return false;
    if (e->kind == BX_FUNC && e->fname && !strcmp(e->fname, "random")) return false;
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!bx_is_const(e->args[i])) return false;
    return e->kind != BX_FUNC || e->fn != NULL;
}

int bx_fold(arena *a, bexpr *e, value *out, err *er) {
    batch one = {0, 1, NULL};
    vec v;
    if (bexpr_eval(e, &one, a, &v, er) < 0) return -1;
    vec_get(&v, 0, out);
    out->type = e->type;
    out->unit = e->unit;
    return 0;
}

/* ------------------------------------------------------------------ null bitmaps */

static uint8_t *valid_and(arena *a, const vec *x, const vec *y, uint32_t n) {
    if (!x->valid && (!y || !y->valid)) return NULL;
    size_t nb = bitmap_bytes(n);
    uint8_t *v = arena_alloc(a, nb ? nb : 1);
    if (x->valid && y && y->valid) {
        for (size_t i = 0; i < nb; i++) v[i] = x->valid[i] & y->valid[i];
    } else {
        memcpy(v, x->valid ? x->valid : y->valid, nb);
    }
    return v;
}

/* ------------------------------------------------------------------ casts */

bool bx_can_cast(uint8_t from, uint8_t to) {
    if (from == to || from == VT_NULL) return true;
    switch (to) {
    case VT_BOOL:
        return vtype_numeric(from) || from == VT_STR;
    case VT_I64:
    case VT_U64:
    case VT_F64:
        return vtype_numeric(from) || from == VT_BOOL || from == VT_STR || from == VT_TS;
    case VT_STR:
        return true;
    case VT_TS:
        return from == VT_STR || from == VT_I64 || from == VT_U64 || from == VT_TS ||
               from == VT_DATE || from == VT_F64;
    case VT_DATE:
        return from == VT_STR || from == VT_TS || from == VT_I64;
    case VT_INTERVAL:
        return from == VT_STR;
    }
    return false;
}

const char *arrow_type_name(uint8_t t, uint8_t unit) {
    switch (t) {
    case VT_BOOL:
        return "Boolean";
    case VT_I64:
        return "Int64";
    case VT_U64:
        return "UInt64";
    case VT_F64:
        return "Float64";
    case VT_STR:
        return "Utf8";
    case VT_TS:
        switch (unit) {
        case TU_NS:
            return "Timestamp(Nanosecond, None)";
        case TU_US:
            return "Timestamp(Microsecond, None)";
        case TU_MS:
            return "Timestamp(Millisecond, None)";
        default:
            return "Timestamp(Second, None)";
        }
    case VT_INTERVAL:
        return "Interval(MonthDayNano)";
    case VT_DATE:
        return "Date32";
    default:
        return "Null";
    }
}

/* Text to number as arrow's cast does it: the whole text is the number, no surrounding spaces
 * (strtoll and strtod would skip leading ones), so TRY_CAST(' 256' AS BIGINT) is NULL. */
static bool number_text(strv s, char *tmp, size_t cap) {
    if (s.len == 0 || s.len >= cap || isspace((unsigned char)s.p[0])) return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = 0;
    return true;
}

static bool parse_i64(strv s, int64_t *out) {
    char tmp[64], *end;
    if (!number_text(s, tmp, sizeof tmp)) return false;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_u64(strv s, uint64_t *out) {
    char tmp[64], *end;
    if (!number_text(s, tmp, sizeof tmp) || s.p[0] == '-') return false;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_f64(strv s, double *out) {
    char tmp[128], *end;
    if (!number_text(s, tmp, sizeof tmp)) return false;
    double v = strtod(tmp, &end);
    if (end == tmp || *end) return false;
    *out = v;
    return true;
}

static int cast_err(err *er, const value *v, uint8_t to, uint8_t unit) {
    if (v->type == VT_STR)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Arrow error: Cast error: Cannot cast string '%.*s' to value of %s type",
                       (int)v->v.s.len, v->v.s.p, arrow_type_name(to, unit));
    return err_set(er, 422, EC_QUERY_INTERNAL, "Arrow error: Cast error: Can't cast value to %s",
                   arrow_type_name(to, unit));
}

/* Casts one non-null value; returns 1 = ok, 0 = NULL result (try_cast), -1 error. */
static int cast_value(arena *a, const value *in, uint8_t to, uint8_t unit, bool try_cast,
                      value *out, err *er) {
    memset(out, 0, sizeof *out);
    out->type = to;
    out->unit = unit;
    bool ok = true;
    switch (to) {
    case VT_BOOL:
        switch (in->type) {
        case VT_BOOL:
            out->v.b = in->v.b;
            break;
        case VT_I64:
            out->v.b = in->v.i != 0;
            break;
        case VT_U64:
            out->v.b = in->v.u != 0;
            break;
        case VT_F64:
            out->v.b = in->v.f != 0;
            break;
        case VT_STR:
            if (in->v.s.len == 4 && !strncasecmp(in->v.s.p, "true", 4))
                out->v.b = true;
            else if (in->v.s.len == 5 && !strncasecmp(in->v.s.p, "false", 5))
                out->v.b = false;
            else
                ok = false;
            break;
        default:
            ok = false;
        }
        break;
    case VT_I64:
        switch (in->type) {
        case VT_BOOL:
            out->v.i = in->v.b;
            break;
        case VT_I64:
        case VT_TS:
            out->v.i = in->v.i;
            break;
        case VT_U64:
            ok = in->v.u <= INT64_MAX;
            out->v.i = (int64_t)in->v.u;
            break;
        case VT_F64:
            ok = !isnan(in->v.f) && in->v.f >= -9223372036854775808.0 &&
                 in->v.f < 9223372036854775808.0;
            out->v.i = ok ? (int64_t)in->v.f : 0;
            break;
        case VT_STR:
            ok = parse_i64(in->v.s, &out->v.i);
            break;
        default:
            ok = false;
        }
        break;
    case VT_U64:
        switch (in->type) {
        case VT_BOOL:
            out->v.u = in->v.b;
            break;
        case VT_I64:
        case VT_TS:
            ok = in->v.i >= 0;
            out->v.u = (uint64_t)in->v.i;
            break;
        case VT_U64:
            out->v.u = in->v.u;
            break;
        case VT_F64:
            ok = !isnan(in->v.f) && in->v.f >= 0 && in->v.f < 18446744073709551616.0;
            out->v.u = ok ? (uint64_t)in->v.f : 0;
            break;
        case VT_STR:
            ok = parse_u64(in->v.s, &out->v.u);
            break;
        default:
            ok = false;
        }
        break;
    case VT_F64:
        switch (in->type) {
        case VT_BOOL:
            out->v.f = in->v.b;
            break;
        case VT_I64:
        case VT_TS:
            out->v.f = (double)in->v.i;
            break;
        case VT_U64:
            out->v.f = (double)in->v.u;
            break;
        case VT_F64:
            out->v.f = in->v.f;
            break;
        case VT_STR:
            ok = parse_f64(in->v.s, &out->v.f);
            break;
        default:
            ok = false;
        }
        break;
    case VT_STR: {
        char tmp[64];
        size_t n = 0;
        switch (in->type) {
        case VT_BOOL:
            n = (size_t)snprintf(tmp, sizeof tmp, "%s", in->v.b ? "true" : "false");
            break;
        case VT_I64:
            n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)in->v.i);
            break;
        case VT_U64:
            n = (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)in->v.u);
            break;
        case VT_F64:
            n = fmt_double(tmp, in->v.f);
            break;
        case VT_TS:
            n = time_format(tmp, in->v.i, (enum tunit)in->unit, TSFMT_TRIM, false);
            break;
        case VT_DATE: {
            int64_t y;
            unsigned m, d;
            civil_from_days(in->v.i, &y, &m, &d);
            n = (size_t)snprintf(tmp, sizeof tmp, "%04lld-%02u-%02u", (long long)y, m, d);
            break;
        }
        case VT_STR:
            out->v.s = in->v.s;
            return 1;
        case VT_INTERVAL: {
            interval iv = in->v.iv;
            int64_t secs = iv.nanos / 1000000000, frac = iv.nanos % 1000000000;
            if (frac < 0) frac = -frac;
            n = (size_t)snprintf(
                tmp, sizeof tmp, "0 years %d mons %d days %lld hours %lld mins %lld.%09lld secs",
                iv.months, iv.days, (long long)(secs / 3600), (long long)(secs % 3600 / 60),
                (long long)(secs % 60), (long long)frac);
            break;
        }
        default:
            ok = false;
        }
        if (ok) out->v.s = (strv){arena_strndup(a, tmp, n), (uint32_t)n};
        break;
    }
    case VT_TS:
        switch (in->type) {
        case VT_STR: {
            int64_t ns;
            ok = time_parse_ts(in->v.s.p, in->v.s.len, &ns);
            if (ok) ok = tunit_convert(ns, TU_NS, (enum tunit)unit, &out->v.i);
            break;
        }
        case VT_I64:
            out->v.i = in->v.i;
            break;
        case VT_U64:
            ok = in->v.u <= INT64_MAX;
            out->v.i = (int64_t)in->v.u;
            break;
        case VT_F64:
            ok = !isnan(in->v.f) && fabs(in->v.f) < 9.2e18;
            out->v.i = ok ? (int64_t)in->v.f : 0;
            break;
        case VT_TS:
            ok = tunit_convert(in->v.i, (enum tunit)in->unit, (enum tunit)unit, &out->v.i);
            break;
        case VT_DATE:
            ok = time_from_days(in->v.i, 0, (enum tunit)unit, &out->v.i);
            break;
        default:
            ok = false;
        }
        break;
    case VT_DATE:
        switch (in->type) {
        case VT_STR: {
            int64_t ns;
            ok = time_parse_ts(in->v.s.p, in->v.s.len, &ns);
            int64_t q = ns / 86400000000000LL;
            if (ns % 86400000000000LL < 0) q--;
            out->v.i = q;
            break;
        }
        case VT_TS: {
            int64_t s;
            ok = tunit_convert(in->v.i, (enum tunit)in->unit, TU_S, &s);
            int64_t q = s / 86400;
            if (s % 86400 < 0) q--;
            out->v.i = q;
            break;
        }
        case VT_I64:
            out->v.i = in->v.i;
            break;
        default:
            ok = false;
        }
        break;
    case VT_INTERVAL:
        if (in->type == VT_STR) {
            char msg[300];
            ok = interval_parse(in->v.s.p, in->v.s.len, "second", &out->v.iv, msg, sizeof msg);
        } else if (in->type == VT_INTERVAL)
            out->v.iv = in->v.iv;
        else
            ok = false;
        break;
    default:
        ok = false;
    }
    if (ok) return 1;
    if (try_cast) return 0;
    return cast_err(er, in, to, unit);
}

static int eval_cast(const bexpr *e, const vec *in, uint32_t n, arena *a, vec *out, err *er) {
    vec_alloc(a, e->type, e->unit, n, out);
    out->has_tz = e->has_tz;
    for (uint32_t i = 0; i < n; i++) {
        value v, r;
        vec_get(in, i, &v);
        if (v.null) {
            vec_set_null(a, out, i);
            continue;
        }
        int rc = cast_value(a, &v, e->type, e->unit, e->try_cast, &r, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            vec_set_null(a, out, i);
            continue;
        }
        switch (e->type) {
        case VT_BOOL:
            out->d.b[i] = r.v.b;
            break;
        case VT_I64:
        case VT_TS:
        case VT_DATE:
            out->d.i64[i] = r.v.i;
            break;
        case VT_U64:
            out->d.u64[i] = r.v.u;
            break;
        case VT_F64:
            out->d.f64[i] = r.v.f;
            break;
        case VT_STR:
            out->d.s[i] = r.v.s;
            break;
        case VT_INTERVAL:
            out->d.iv[i] = r.v.iv;
            break;
        }
    }
    return 0;
}

int bx_cast(arena *a, bexpr **pe, uint8_t type, uint8_t unit, err *er) {
    bexpr *e = *pe;
    if (e->type == type && (type != VT_TS || e->unit == unit)) return 0;
    if (e->type == VT_NULL) {
        value v = {.type = type, .unit = unit, .null = true};
        *pe = bx_const(a, v);
        return 0;
    }
    if (!bx_can_cast(e->type, type))
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Error during planning: Cannot automatically convert %s to %s",
                       arrow_type_name(e->type, e->unit), arrow_type_name(type, unit));
    bexpr *c = bx_new(a, BX_CAST, type, 1);
    c->unit = unit;
    c->args[0] = e;
    if (bx_is_const(c)) {
        value v;
        if (bx_fold(a, c, &v, er) < 0) return -1;
        *pe = bx_const(a, v);
        return 0;
    }
    *pe = c;
    return 0;
}

/* ------------------------------------------------------------------ arithmetic */

static int div_zero(err *er) {
    return err_set(er, 422, EC_QUERY_INTERNAL, "Arrow error: Divide by zero error");
}

static int eval_arith(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                      err *er) {
    vec_alloc(a, e->type, e->unit, n, out);
    out->valid = valid_and(a, x, y, n);
    uint8_t op = e->op;
    if (e->type == VT_TS) {
        /* timestamp ± interval (either side) */
        const vec *tsv = x->type == VT_TS ? x : y;
        const vec *ivv = x->type == VT_TS ? y : x;
        int sign = op == OP_SUB ? -1 : 1;
        for (uint32_t i = 0; i < n; i++) {
            if (!vec_is_valid(out, i)) {
                out->d.i64[i] = 0;
                continue;
            }
            if (!time_add_interval(tsv->d.i64[i], (enum tunit)tsv->unit, ivv->d.iv[i], sign,
                                   &out->d.i64[i]))
                return err_set(
                    er, 422, EC_QUERY_INTERNAL,
                    "Arrow error: Compute error: Overflow happened on: timestamp %s interval (the "
                    "result is outside the timestamp range)",
                    op == OP_SUB ? "-" : "+");
        }
        return 0;
    }
    if (e->type == VT_INTERVAL) {
        int sign = op == OP_SUB ? -1 : 1;
        for (uint32_t i = 0; i < n; i++) {
            interval p = x->d.iv[i], q = y->d.iv[i], *r = &out->d.iv[i];
            if (!vec_is_valid(out, i)) {
                *r = (interval){0, 0, 0};
                continue;
            }
            bool ovf = sign > 0 ? __builtin_add_overflow(p.months, q.months, &r->months) ||
                                      __builtin_add_overflow(p.days, q.days, &r->days) ||
                                      __builtin_add_overflow(p.nanos, q.nanos, &r->nanos)
                                : __builtin_sub_overflow(p.months, q.months, &r->months) ||
                                      __builtin_sub_overflow(p.days, q.days, &r->days) ||
                                      __builtin_sub_overflow(p.nanos, q.nanos, &r->nanos);
            if (ovf)
                return err_set(
                    er, 422, EC_QUERY_INTERNAL,
                    "Arrow error: Compute error: Overflow happened on: interval %s interval",
                    sign > 0 ? "+" : "-");
        }
        return 0;
    }
    switch (e->type) {
    case VT_F64: {
        const double *p = x->d.f64, *q = y->d.f64;
        double *r = out->d.f64;
        switch (op) {
        case OP_ADD:
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] + q[i];
            break;
        case OP_SUB:
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] - q[i];
            break;
        case OP_MUL:
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] * q[i];
            break;
        case OP_DIV:
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] / q[i];
            break;
        case OP_MOD:
            for (uint32_t i = 0; i < n; i++) r[i] = fmod(p[i], q[i]);
            break;
        }
        return 0;
    }
    case VT_I64: {
        const int64_t *p = x->d.i64, *q = y->d.i64;
        int64_t *r = out->d.i64;
        for (uint32_t i = 0; i < n; i++) {
            if (!vec_is_valid(out, i)) {
                r[i] = 0;
                continue;
            }
            uint64_t up = (uint64_t)p[i], uq = (uint64_t)q[i];
            switch (op) {
            case OP_ADD:
                r[i] = (int64_t)(up + uq);
                break; /* wraps, as arrow's kernels do */
            case OP_SUB:
                r[i] = (int64_t)(up - uq);
                break;
            case OP_MUL:
                r[i] = (int64_t)(up * uq);
                break;
            case OP_DIV:
                if (q[i] == 0) return div_zero(er);
                r[i] = (p[i] == INT64_MIN && q[i] == -1) ? INT64_MIN : p[i] / q[i];
                break;
            case OP_MOD:
                if (q[i] == 0) return div_zero(er);
                r[i] = q[i] == -1 ? 0 : p[i] % q[i];
                break;
            }
        }
        return 0;
    }
    case VT_U64: {
        const uint64_t *p = x->d.u64, *q = y->d.u64;
        uint64_t *r = out->d.u64;
        for (uint32_t i = 0; i < n; i++) {
            if (!vec_is_valid(out, i)) {
                r[i] = 0;
                continue;
            }
            switch (op) {
            case OP_ADD:
                r[i] = p[i] + q[i];
                break;
            case OP_SUB:
                r[i] = p[i] - q[i];
                break;
            case OP_MUL:
                r[i] = p[i] * q[i];
                break;
            case OP_DIV:
                if (q[i] == 0) return div_zero(er);
                r[i] = p[i] / q[i];
                break;
            case OP_MOD:
                if (q[i] == 0) return div_zero(er);
                r[i] = p[i] % q[i];
                break;
            }
        }
        return 0;
    }
    }
    return err_set(er, 422, EC_QUERY_INTERNAL, "unsupported arithmetic on %s",
                   arrow_type_name(e->type, 0));
}

/* ------------------------------------------------------------------ comparison */

/* The truth of `a <op> b` given the three-way comparison c of a and b. */
static inline bool cmp_holds(uint8_t op, int c) {
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    }
    return false;
}

static inline int cmp_strv(strv a, strv b) {
    uint32_t n = a.len < b.len ? a.len : b.len;
    int r = n ? memcmp(a.p, b.p, n) : 0;
    return r ? r : (a.len > b.len) - (a.len < b.len);
}

#define CMP_LOOP(T, FIELD)                                                                         \
    do {                                                                                           \
        const T *p = x->d.FIELD, *q = y->d.FIELD;                                                  \
        switch (op) {                                                                              \
        case OP_EQ:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] == q[i];                                  \
            break;                                                                                 \
        case OP_NE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] != q[i];                                  \
            break;                                                                                 \
        case OP_LT:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] < q[i];                                   \
            break;                                                                                 \
        case OP_LE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] <= q[i];                                  \
            break;                                                                                 \
        case OP_GT:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] > q[i];                                   \
            break;                                                                                 \
        case OP_GE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] >= q[i];                                  \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

static int eval_cmp(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                    err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = valid_and(a, x, y, n);
    bool *r = out->d.b;
    uint8_t op = e->op;
    switch (x->type) {
    case VT_F64:
        CMP_LOOP(double, f64);
        break;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        CMP_LOOP(int64_t, i64);
        break;
    case VT_U64:
        CMP_LOOP(uint64_t, u64);
        break;
    case VT_BOOL:
        CMP_LOOP(bool, b);
        break;
    case VT_STR:
        for (uint32_t i = 0; i < n; i++) {
            int c = cmp_strv(x->d.s[i], y->d.s[i]);
            r[i] = cmp_holds(op, c);
        }
        break;
    case VT_NULL:
        vec_alloc_null(a, VT_BOOL, 0, n, out);
        break;
    default:
        return err_set(er, 422, EC_QUERY_INTERNAL, "cannot compare values of type %s",
                       arrow_type_name(x->type, x->unit));
    }
    return 0;
}

#define CMP_SCALAR(T, FIELD, C)                                                                    \
    do {                                                                                           \
        const T *p = x.d.FIELD;                                                                    \
        const T c = (C);                                                                           \
        switch (op) {                                                                              \
        case OP_EQ:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] == c;                                     \
            break;                                                                                 \
        case OP_NE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] != c;                                     \
            break;                                                                                 \
        case OP_LT:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] < c;                                      \
            break;                                                                                 \
        case OP_LE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] <= c;                                     \
            break;                                                                                 \
        case OP_GT:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] > c;                                      \
            break;                                                                                 \
        case OP_GE:                                                                                \
            for (uint32_t i = 0; i < n; i++) r[i] = p[i] >= c;                                     \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* column <op> constant: the common filter shape, compared without broadcasting the constant. */
static int eval_cmp_scalar(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    vec x;
    if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
    uint32_t n = b->nrows;
    const value *cv = &e->args[1]->cval;
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = x.valid;
    bool *r = out->d.b;
    uint8_t op = e->op;
    switch (x.type) {
    case VT_F64:
        CMP_SCALAR(double, f64, cv->v.f);
        return 0;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        CMP_SCALAR(int64_t, i64, cv->v.i);
        return 0;
    case VT_U64:
        CMP_SCALAR(uint64_t, u64, cv->v.u);
        return 0;
    case VT_BOOL:
        CMP_SCALAR(bool, b, cv->v.b);
        return 0;
    case VT_STR:
        for (uint32_t i = 0; i < n; i++) {
            int c = cmp_strv(x.d.s[i], cv->v.s);
            r[i] = cmp_holds(op, c);
        }
        return 0;
    }
    return err_set(er, 422, EC_QUERY_INTERNAL, "cannot compare values of this type");
}

/* ------------------------------------------------------------------ LIKE */

/* LIKE over every row: the pattern compiled at bind time when it is a constant (e->aux), else
 * once per row. The budget is checked every few rows: a LIKE over long strings is the kind of
 * per-row kernel that can outlast the query's timeout within one batch. */
static int eval_like(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                     err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = valid_and(a, x, y, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.b[i] = false;
            continue;
        }
        if ((i & 255) == 255 && budget_check(arena_get_budget(a), er) < 0) return -1;
        const like_pat *pt = e->aux ? e->aux : like_compile(a, y->d.s[i], e->ilike);
        int m = like_match(pt, x->d.s[i], a, er);
        if (m < 0) return -1;
        out->d.b[i] = e->negated ? !m : m;
    }
    return 0;
}

/* x ~ pattern: compiled at bind time when the pattern is a constant, else per row. */
static int eval_regex(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                      err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = valid_and(a, x, y, n);
    regex_run *run = regex_begin();
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        out->d.b[i] = false;
        if (!vec_is_valid(out, i)) continue;
        if ((i & 255) == 255 && (rc = budget_check(arena_get_budget(a), er)) < 0) break;
        const regex_pat *re = e->aux ? e->aux : regex_compile(a, y->d.s[i], e->ilike, er);
        int m = re ? regex_exec(run, re, x->d.s[i], er) : -1;
        if (m < 0)
            rc = -1;
        else
            out->d.b[i] = e->negated ? !m : m;
    }
    regex_end(run);
    return rc;
}

/* ------------------------------------------------------------------ main evaluator */

static bool val_eq(const value *a, const value *b) {
    switch (a->type) {
    case VT_BOOL:
        return a->v.b == b->v.b;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        return a->v.i == b->v.i;
    case VT_U64:
        return a->v.u == b->v.u;
    case VT_F64:
        return a->v.f == b->v.f;
    case VT_STR:
        return cmp_strv(a->v.s, b->v.s) == 0;
    default:
        return false;
    }
}

/* ------------------------------------------------------------------ IN sets */

/* A constant IN list, hashed once when the query is bound: probing costs the same for 3 items
 * or 100,000, and nothing is allocated per row or per series. */
struct in_set {
    keyset *set;
    bool has_null;
};

/* The hash key of a non-NULL value: its bytes, with -0.0 folded into 0.0; false for NaN, which
 * equals nothing (as in val_eq). */
static bool value_key(const value *v, char tmp[16], const void **k, uint32_t *klen) {
    switch (v->type) {
    case VT_STR:
        *k = v->v.s.p;
        *klen = v->v.s.len;
        return true;
    case VT_BOOL:
        tmp[0] = v->v.b;
        *klen = 1;
        break;
    case VT_F64: {
        double d = v->v.f;
        if (isnan(d)) return false;
        if (d == 0) d = 0;
        memcpy(tmp, &d, 8);
        *klen = 8;
        break;
    }
    case VT_INTERVAL:
        memcpy(tmp, &v->v.iv, sizeof(interval));
        *klen = sizeof(interval);
        break;
    default:
        memcpy(tmp, &v->v.i, 8);
        *klen = 8;
    }
    *k = tmp;
    return true;
}

void bx_in_list_prepare(arena *a, bexpr *e) {
    for (uint32_t k = 1; k < e->nargs; k++)
        if (e->args[k]->kind != BX_CONST) return;
    struct in_set *s = arena_alloc(a, sizeof *s);
    s->set = keyset_new(a, e->nargs - 1);
    s->has_null = false;
    for (uint32_t k = 1; k < e->nargs; k++) {
        const value *v = &e->args[k]->cval;
        char tmp[16];
        const void *key;
        uint32_t klen;
        bool ins;
        if (v->null || v->type == VT_NULL)
            s->has_null = true;
        else if (value_key(v, tmp, &key, &klen))
            keyset_upsert(s->set, key, klen, &ins);
    }
    e->aux = s;
}

static int eval_in_set(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    const struct in_set *s = e->aux;
    vec x;
    if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
    uint32_t n = b->nrows;
    vec_alloc(a, VT_BOOL, 0, n, out);
    for (uint32_t i = 0; i < n; i++) {
        value p;
        vec_get(&x, i, &p);
        char tmp[16];
        const void *key;
        uint32_t klen;
        bool found =
            !p.null && value_key(&p, tmp, &key, &klen) && keyset_get(s->set, key, klen, NULL);
        if (p.null || (!found && s->has_null))
            vec_set_null(a, out, i);
        else
            out->d.b[i] = e->negated ? !found : found;
    }
    return 0;
}

static int eval_node(const bexpr *e, const batch *b, arena *a, vec *out, err *er);

int str_len_check(size_t len, err *er) {
    if (len <= UINT32_MAX) return 0;
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Execution error: a string of %zu bytes is longer than the 4 GiB a value may "
                   "hold",
                   len);
}

/* What a query may hold however busy the server is. */
#define QUERY_SERVER_ALLOWANCE (8u << 20)

int budget_check(const arena_budget *b, err *er) {
    if (!b) return 0;
    if (b->deadline_ns && time_mono_ns() > b->deadline_ns)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Query timeout: the query ran past its deadline (query.query_timeout)");
    if (b->limit && b->held > b->limit)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the query needs more than its memory limit of %llu "
                       "bytes (query.query_memory_limit)",
                       (unsigned long long)b->limit);
    /* Past the server's budget a query may not grow beyond a small allowance, so the server
     * stays within its memory while small queries (SHOW, point lookups) still answer. */
    uint64_t server_limit = membudget_limit();
    if (b->server && server_limit && b->held > QUERY_SERVER_ALLOWANCE &&
        membudget_used() > server_limit)
        return err_set(er, 500, EC_QUERY_INTERNAL,
                       "Resources exhausted: the server's memory budget of %llu bytes "
                       "(memory.max_memory) is in use; retry later",
                       (unsigned long long)server_limit);
    return 0;
}

int bexpr_eval(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    if (eval_node(e, b, a, out, er) < 0) return -1;
    VEC_CHECK(out, b->nrows, e);
    return budget_check(arena_get_budget(a), er);
}

static int eval_node(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
    uint32_t n = b->nrows;
    switch (e->kind) {
    case BX_CONST:
        vec_broadcast(a, &e->cval, n, out);
        out->has_tz = e->has_tz;
        return 0;
    case BX_COL:
        *out = b->cols[e->col];
        return 0;
    case BX_CAST: {
        vec in;
        if (bexpr_eval(e->args[0], b, a, &in, er) < 0) return -1;
        return eval_cast(e, &in, n, a, out, er);
    }
    case BX_NOT:
    case BX_NEG: {
        vec in;
        if (bexpr_eval(e->args[0], b, a, &in, er) < 0) return -1;
        vec_alloc(a, e->type, e->unit, n, out);
        out->valid = in.valid;
        if (e->kind == BX_NOT) {
            for (uint32_t i = 0; i < n; i++) out->d.b[i] = !in.d.b[i];
        } else if (e->type == VT_F64) {
            for (uint32_t i = 0; i < n; i++) out->d.f64[i] = -in.d.f64[i];
        } else if (e->type == VT_I64) {
            for (uint32_t i = 0; i < n; i++) out->d.i64[i] = (int64_t)(0 - (uint64_t)in.d.i64[i]);
        } else if (e->type == VT_INTERVAL) {
            for (uint32_t i = 0; i < n; i++) {
                interval v = in.d.iv[i];
                if (v.months == INT32_MIN || v.days == INT32_MIN || v.nanos == INT64_MIN)
                    return err_set(er, 422, EC_QUERY_INTERNAL,
                                   "Arrow error: Compute error: Overflow happened on: - interval");
                out->d.iv[i] = (interval){-v.months, -v.days, -v.nanos};
            }
        } else {
            return err_set(er, 422, EC_QUERY_INTERNAL, "cannot negate a value of type %s",
                           arrow_type_name(e->type, 0));
        }
        return 0;
    }
    case BX_CMP:
        if (e->args[1]->kind == BX_CONST && !e->args[1]->cval.null && e->args[0]->kind != BX_CONST)
            return eval_cmp_scalar(e, b, a, out, er);
        /* fall through */
    case BX_ARITH:
    case BX_LIKE:
    case BX_REGEX:
    case BX_CONCAT: {
        vec x, y;
        if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
        if (bexpr_eval(e->args[1], b, a, &y, er) < 0) return -1;
        if (e->kind == BX_ARITH) return eval_arith(e, &x, &y, n, a, out, er);
        if (e->kind == BX_CMP) return eval_cmp(e, &x, &y, n, a, out, er);
        if (e->kind == BX_LIKE) return eval_like(e, &x, &y, n, a, out, er);
        if (e->kind == BX_REGEX) return eval_regex(e, &x, &y, n, a, out, er);
        vec_alloc(a, VT_STR, 0, n, out);
        out->valid = valid_and(a, &x, &y, n);
        for (uint32_t i = 0; i < n; i++) {
            if (!vec_is_valid(out, i)) {
                out->d.s[i] = (strv){"", 0};
                continue;
            }
            strv p = x.d.s[i], q = y.d.s[i];
            if (str_len_check((size_t)p.len + q.len, er) < 0) return -1;
            char *m = arena_alloc(a, (size_t)p.len + q.len + 1);
            memcpy(m, p.p, p.len);
            memcpy(m + p.len, q.p, q.len);
            out->d.s[i] = (strv){m, p.len + q.len};
        }
        return 0;
    }
    case BX_AND:
    case BX_OR: {
        vec x, y;
        if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
        if (bexpr_eval(e->args[1], b, a, &y, er) < 0) return -1;
        vec_alloc(a, VT_BOOL, 0, n, out);
        bool is_and = e->kind == BX_AND;
        for (uint32_t i = 0; i < n; i++) {
            bool xv = vec_is_valid(&x, i), yv = vec_is_valid(&y, i);
            bool xb = xv && x.d.b[i], yb = yv && y.d.b[i];
            if (is_and) {
                if ((xv && !xb) || (yv && !yb))
                    out->d.b[i] = false;
                else if (xv && yv)
                    out->d.b[i] = true;
                else
                    vec_set_null(a, out, i);
            } else {
                if (xb || yb)
                    out->d.b[i] = true;
                else if (xv && yv)
                    out->d.b[i] = false;
                else
                    vec_set_null(a, out, i);
            }
        }
        return 0;
    }
    case BX_IS_NULL:
    case BX_IS_BOOL: {
        vec x;
        if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
        vec_alloc(a, VT_BOOL, 0, n, out);
        for (uint32_t i = 0; i < n; i++) {
            bool r;
            bool valid = x.type != VT_NULL && vec_is_valid(&x, i);
            if (e->kind == BX_IS_NULL)
                r = !valid;
            else if (e->op == OP_IS_TRUE)
                r = valid && x.d.b[i];
            else if (e->op == OP_IS_FALSE)
                r = valid && !x.d.b[i];
            else
                r = !valid; /* IS UNKNOWN */
            out->d.b[i] = e->negated ? !r : r;
        }
        return 0;
    }
    case BX_DISTINCT_FROM: {
        vec x, y;
        if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
        if (bexpr_eval(e->args[1], b, a, &y, er) < 0) return -1;
        vec_alloc(a, VT_BOOL, 0, n, out);
        for (uint32_t i = 0; i < n; i++) {
            value p, q;
            vec_get(&x, i, &p);
            vec_get(&y, i, &q);
            bool distinct = p.null != q.null || (!p.null && !val_eq(&p, &q));
            out->d.b[i] = e->negated ? !distinct : distinct;
        }
        return 0;
    }
    case BX_IN_LIST: {
        if (e->aux) return eval_in_set(e, b, a, out, er);
        vec x;
        if (bexpr_eval(e->args[0], b, a, &x, er) < 0) return -1;
        vec *items = arena_alloc(a, sizeof *items * e->nargs);
        for (uint32_t k = 1; k < e->nargs; k++)
            if (bexpr_eval(e->args[k], b, a, &items[k], er) < 0) return -1;
        vec_alloc(a, VT_BOOL, 0, n, out);
        for (uint32_t i = 0; i < n; i++) {
            /* n x items comparisons: a long list of non-constant items is a heavy kernel */
            if ((i & 255) == 255 && budget_check(arena_get_budget(a), er) < 0) return -1;
            value p;
            vec_get(&x, i, &p);
            if (p.null) {
                vec_set_null(a, out, i);
                continue;
            }
            bool found = false, saw_null = false;
            for (uint32_t k = 1; k < e->nargs && !found; k++) {
                value q;
                vec_get(&items[k], i, &q);
                if (q.null)
                    saw_null = true;
                else if (val_eq(&p, &q))
                    found = true;
            }
            if (!found && saw_null)
                vec_set_null(a, out, i);
            else
                out->d.b[i] = e->negated ? !found : found;
        }
        return 0;
    }
    case BX_CASE: {
        /* Row-wise: evaluate all branches vectorized, then pick per row. */
        uint32_t k = 0;
        vec operand;
        if (e->case_has_operand && bexpr_eval(e->args[k++], b, a, &operand, er) < 0) return -1;
        uint32_t npairs = (e->nargs - k - (e->case_has_else ? 1 : 0)) / 2;
        vec *when = arena_alloc(a, sizeof *when * (npairs + 1));
        vec *then = arena_alloc(a, sizeof *then * (npairs + 1));
        for (uint32_t p = 0; p < npairs; p++) {
            if (bexpr_eval(e->args[k + 2 * p], b, a, &when[p], er) < 0) return -1;
            if (bexpr_eval(e->args[k + 2 * p + 1], b, a, &then[p], er) < 0) return -1;
        }
        vec els;
        bool has_else = e->case_has_else;
        if (has_else && bexpr_eval(e->args[e->nargs - 1], b, a, &els, er) < 0) return -1;
        vec_alloc(a, e->type, e->unit, n, out);
        size_t sz = vtype_size(e->type);
        for (uint32_t i = 0; i < n; i++) {
            const vec *src = NULL;
            for (uint32_t p = 0; p < npairs && !src; p++) {
                bool hit;
                if (e->case_has_operand) {
                    value ov, wv;
                    vec_get(&operand, i, &ov);
                    vec_get(&when[p], i, &wv);
                    hit = !ov.null && !wv.null && val_eq(&ov, &wv);
                } else {
                    hit = vec_is_valid(&when[p], i) && when[p].d.b[i];
                }
                if (hit) src = &then[p];
            }
            if (!src && has_else) src = &els;
            if (!src || src->type == VT_NULL || !vec_is_valid(src, i)) {
                vec_set_null(a, out, i);
                continue;
            }
            memcpy((char *)out->d.raw + sz * i, (const char *)src->d.raw + sz * i, sz);
        }
        return 0;
    }
    case BX_FUNC: {
        vec *args = arena_alloc(a, sizeof *args * (e->nargs + 1));
        for (uint32_t k = 0; k < e->nargs; k++)
            if (bexpr_eval(e->args[k], b, a, &args[k], er) < 0) return -1;
        vec_alloc(a, e->type, e->unit, n, out);
        out->has_tz = e->has_tz;
        return e->fn(e, args, n, a, out, er);
    }
    }
    return err_set(er, 500, EC_INTERNAL, "unknown expression kind %d", e->kind);
}

char *value_display(arena *a, const value *v) {
    if (v->null || v->type == VT_NULL) return arena_strdup(a, "NULL");
    char tmp[64];
    switch (v->type) {
    case VT_BOOL:
        return arena_printf(a, "Boolean(%s)", v->v.b ? "true" : "false");
    case VT_I64:
        return arena_printf(a, "Int64(%lld)", (long long)v->v.i);
    case VT_U64:
        return arena_printf(a, "UInt64(%llu)", (unsigned long long)v->v.u);
    case VT_F64: {
        tmp[fmt_double(tmp, v->v.f)] = 0;
        return arena_printf(a, "Float64(%s)", tmp);
    }
    case VT_STR:
        return arena_printf(a, "Utf8(\"%.*s\")", (int)v->v.s.len, v->v.s.p);
    case VT_TS:
        return arena_printf(a, "TimestampNanosecond(%lld, None)", (long long)v->v.i);
    case VT_INTERVAL:
        return arena_printf(a, "IntervalMonthDayNano(\"%d months %d days %lld nanos\")",
                            v->v.iv.months, v->v.iv.days, (long long)v->v.iv.nanos);
    default:
        return arena_strdup(a, "?");
    }
}
