/* Arithmetic and comparison kernels. Integer arithmetic wraps as arrow's kernels do; an
 * integer divided by zero is NULL (DataFusion 27's divide_dyn_opt) and a remainder by zero
 * fails (modulus_dyn), as CnosDB's cases show; timestamp and interval arithmetic fails past the
 * range. Comparisons run one tight loop per type and operator, and `column <op> constant`
 * compares against the constant without broadcasting it. See expr_int.h. */
#include "sql/expr_int.h"

#include "util/dec.h"
#include "util/timeutil.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ arithmetic */

static int div_zero(err *er) {
    return err_set(er, 422, EC_QUERY_INTERNAL, "Arrow error: Divide by zero error");
}

/* timestamp ± interval (either side); fails past the timestamp range instead of wrapping. */
static int arith_ts(const bexpr *e, const vec *x, const vec *y, uint32_t n, vec *out, err *er) {
    uint8_t op = e->op;
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

/* interval ± interval, field by field; fails when a field overflows. */
/* timestamp - timestamp (either unit): whole days and the nanoseconds left, both with the
 * difference's sign, as DataFusion 27 splits a nanosecond difference. */
static int arith_ts_diff(const vec *x, const vec *y, uint32_t n, vec *out, err *er) {
    __int128 mx = 1000000000 / tunit_per_sec((enum tunit)x->unit);
    __int128 my = 1000000000 / tunit_per_sec((enum tunit)y->unit);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.iv[i] = (interval){0, 0, 0};
            continue;
        }
        if (!interval_from_ns(x->d.i64[i] * mx - y->d.i64[i] * my, &out->d.iv[i]))
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Arrow error: Compute error: Overflow happened on: timestamp - "
                           "timestamp");
    }
    return 0;
}

static int arith_interval(const bexpr *e, const vec *x, const vec *y, uint32_t n, vec *out,
                          err *er) {
    if (x->type == VT_TS) return arith_ts_diff(x, y, n, out, er);
    uint8_t op = e->op;
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
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Arrow error: Compute error: Overflow happened on: interval %s interval",
                           sign > 0 ? "+" : "-");
    }
    return 0;
}

/* date ± interval (either side): calendar months and days, the rest in whole days (floored);
 * computed in seconds, whose range covers every date. */
static int arith_date(const bexpr *e, const vec *x, const vec *y, uint32_t n, vec *out, err *er) {
    const vec *dv = x->type == VT_DATE ? x : y;
    const vec *iv = x->type == VT_DATE ? y : x;
    int sign = e->op == OP_SUB ? -1 : 1;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.i64[i] = 0;
            continue;
        }
        int64_t secs, r, rem;
        if (__builtin_mul_overflow(dv->d.i64[i], 86400, &secs) ||
            !time_add_interval(secs, TU_S, iv->d.iv[i], sign, &r))
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Arrow error: Compute error: Overflow happened on: date %s interval",
                           sign < 0 ? "-" : "+");
        time_floor_divmod(r, 86400, &out->d.i64[i], &rem);
    }
    return 0;
}

static int dec_overflow(err *er, i128 p, const char *op, i128 q) {
    char a[DEC_TEXT_MAX], b[DEC_TEXT_MAX];
    dec_format(p, 0, a);
    dec_format(q, 0, b);
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Arrow error: Compute error: Overflow happened on: %s %s %s", a, op, b);
}

/* Decimal128 arithmetic on the 128-bit integers. + - % see both operands at the result's
 * scale (the binder cast them to their wider type); * adds the scales and rounds to the
 * result's where DataFusion caps it at 38; / scales the dividend by 10^(result scale) first
 * and truncates, and a zero divisor gives NULL, as DataFusion 27's divide_dyn_opt_decimal. */
static int arith_dec(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                     err *er) {
    int sx = dec_scale(x->unit), sy = dec_scale(y->unit), sr = dec_scale(e->unit);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(out, i)) {
            out->d.dec[i] = dec_put(0);
            continue;
        }
        i128 p = dec_get(x->d.dec[i]), q = dec_get(y->d.dec[i]), r = 0;
        switch (e->op) {
        case OP_ADD:
            if (__builtin_add_overflow(p, q, &r)) return dec_overflow(er, p, "+", q);
            break;
        case OP_SUB:
            if (__builtin_sub_overflow(p, q, &r)) return dec_overflow(er, p, "-", q);
            break;
        case OP_MUL:
            if (__builtin_mul_overflow(p, q, &r)) return dec_overflow(er, p, "*", q);
            if (sx + sy != sr) dec_rescale(r, sx + sy, sr, &r);
            break;
        case OP_DIV: {
            if (q == 0) {
                vec_set_null(a, out, i);
                continue;
            }
            i128 m;
            if (!dec_rescale(p, 0, sr - sx + sy, &m)) return dec_overflow(er, p, "/", q);
            r = m / q;
            break;
        }
        case OP_MOD:
            if (q == 0) return div_zero(er);
            r = p % q;
            break;
        }
        out->d.dec[i] = dec_put(r);
    }
    return 0;
}

int expr_eval_arith(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                    err *er) {
    vec_alloc(a, e->type, e->unit, n, out);
    out->valid = expr_valid_and(a, x, y, n);
    uint8_t op = e->op;
    if (e->type == VT_TS) return arith_ts(e, x, y, n, out, er);
    if (e->type == VT_INTERVAL) return arith_interval(e, x, y, n, out, er);
    if (e->type == VT_DATE) return arith_date(e, x, y, n, out, er);
    if (e->type == VT_DEC128) return arith_dec(e, x, y, n, a, out, er);
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
                if (q[i] == 0) {
                    vec_set_null(a, out, i);
                    r[i] = 0;
                    break;
                }
                r[i] = (p[i] == INT64_MIN && q[i] == -1) ? INT64_MIN : p[i] / q[i];
                break;
            case OP_MOD:
                if (q[i] == 0) return div_zero(er);
                r[i] = q[i] == -1 ? 0 : p[i] % q[i];
                break;
            case OP_BITAND:
                r[i] = p[i] & q[i];
                break;
            case OP_BITOR:
                r[i] = p[i] | q[i];
                break;
            case OP_BITXOR:
                r[i] = p[i] ^ q[i];
                break;
            case OP_SHL: /* arrow's wrapping shifts: the amount modulo 64 */
                r[i] = (int64_t)(up << (uq & 63));
                break;
            case OP_SHR:
                r[i] = p[i] >> (uq & 63);
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
                if (q[i] == 0) {
                    vec_set_null(a, out, i);
                    r[i] = 0;
                    break;
                }
                r[i] = p[i] / q[i];
                break;
            case OP_MOD:
                if (q[i] == 0) return div_zero(er);
                r[i] = p[i] % q[i];
                break;
            case OP_BITAND:
                r[i] = p[i] & q[i];
                break;
            case OP_BITOR:
                r[i] = p[i] | q[i];
                break;
            case OP_BITXOR:
                r[i] = p[i] ^ q[i];
                break;
            case OP_SHL:
                r[i] = p[i] << (q[i] & 63);
                break;
            case OP_SHR:
                r[i] = p[i] >> (q[i] & 63);
                break;
            }
        }
        return 0;
    }
    }
    return err_set(er, 422, EC_QUERY_INTERNAL, "unsupported arithmetic on %s",
                   vtype_arrow_name(e->type, 0));
}

/* ------------------------------------------------------------------ negation */

int expr_eval_unary(const bexpr *e, const vec *in, uint32_t n, arena *a, vec *out, err *er) {
    vec_alloc(a, e->type, e->unit, n, out);
    out->valid = in->valid;
    if (e->kind == BX_NOT) {
        for (uint32_t i = 0; i < n; i++) out->d.b[i] = !in->d.b[i];
    } else if (e->type == VT_F64) {
        for (uint32_t i = 0; i < n; i++) out->d.f64[i] = -in->d.f64[i];
    } else if (e->type == VT_I64) {
        for (uint32_t i = 0; i < n; i++) out->d.i64[i] = (int64_t)(0 - (uint64_t)in->d.i64[i]);
    } else if (e->type == VT_DEC128) {
        /* |v| < 10^38 always has a negation */
        for (uint32_t i = 0; i < n; i++) out->d.dec[i] = dec_put(-dec_get(in->d.dec[i]));
    } else if (e->type == VT_INTERVAL) {
        for (uint32_t i = 0; i < n; i++) {
            interval v = in->d.iv[i];
            if (v.months == INT32_MIN || v.days == INT32_MIN || v.nanos == INT64_MIN)
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "Arrow error: Compute error: Overflow happened on: - interval");
            out->d.iv[i] = (interval){-v.months, -v.days, -v.nanos};
        }
    } else {
        return err_set(er, 422, EC_QUERY_INTERNAL, "cannot negate a value of type %s",
                       vtype_arrow_name(e->type, 0));
    }
    return 0;
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

int expr_eval_cmp(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                  err *er) {
    vec_alloc(a, VT_BOOL, 0, n, out);
    out->valid = expr_valid_and(a, x, y, n);
    bool *r = out->d.b;
    uint8_t op = e->op;
    switch (x->type) {
    case VT_F64:
        CMP_LOOP(double, f64);
        break;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
    case VT_TIME64:
        CMP_LOOP(int64_t, i64);
        break;
    case VT_U64:
        CMP_LOOP(uint64_t, u64);
        break;
    case VT_BOOL:
        CMP_LOOP(bool, b);
        break;
    case VT_STR:
    case VT_LIST: /* = and <> only (bind.c) */
    case VT_STRUCT:
        for (uint32_t i = 0; i < n; i++) {
            int c = cmp_strv(x->d.s[i], y->d.s[i]);
            r[i] = cmp_holds(op, c);
        }
        break;
    case VT_DEC128:
        for (uint32_t i = 0; i < n; i++) {
            i128 p = dec_get(x->d.dec[i]), q = dec_get(y->d.dec[i]);
            r[i] = cmp_holds(op, (p > q) - (p < q));
        }
        break;
    case VT_NULL:
        vec_alloc_null(a, VT_BOOL, 0, n, out);
        break;
    default:
        return err_set(er, 422, EC_QUERY_INTERNAL, "cannot compare values of type %s",
                       vtype_arrow_name(x->type, x->unit));
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
int expr_eval_cmp_scalar(const bexpr *e, const batch *b, arena *a, vec *out, err *er) {
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
    case VT_TIME64:
        CMP_SCALAR(int64_t, i64, cv->v.i);
        return 0;
    case VT_U64:
        CMP_SCALAR(uint64_t, u64, cv->v.u);
        return 0;
    case VT_BOOL:
        CMP_SCALAR(bool, b, cv->v.b);
        return 0;
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        for (uint32_t i = 0; i < n; i++) {
            int c = cmp_strv(x.d.s[i], cv->v.s);
            r[i] = cmp_holds(op, c);
        }
        return 0;
    case VT_DEC128: {
        i128 q = dec_get(cv->v.dec);
        for (uint32_t i = 0; i < n; i++) {
            i128 p = dec_get(x.d.dec[i]);
            r[i] = cmp_holds(op, (p > q) - (p < q));
        }
        return 0;
    }
    }
    return err_set(er, 422, EC_QUERY_INTERNAL, "cannot compare values of this type");
}

bool expr_values_equal(const value *a, const value *b) {
    switch (a->type) {
    case VT_BOOL:
        return a->v.b == b->v.b;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
    case VT_TIME64:
        return a->v.i == b->v.i;
    case VT_U64:
        return a->v.u == b->v.u;
    case VT_F64:
        return a->v.f == b->v.f;
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        return cmp_strv(a->v.s, b->v.s) == 0;
    case VT_DEC128:
        return a->v.dec.lo == b->v.dec.lo && a->v.dec.hi == b->v.dec.hi;
    default:
        return false;
    }
}
