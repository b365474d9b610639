/* Unit tests for the vectorized expression kernels (src/sql/expr*.c, func.c).
 *
 * The NULL-slot invariant (util/types.h): every kernel, fed columns whose NULL rows hold
 * defined but meaningless values, must produce a vector whose NULL rows are defined too (a
 * 0/1 bool, a readable string view). The sweep below binds every scalar function and operator
 * over every column type and checks each result row by row; under ASan reading a NULL row's
 * string bytes catches a view of garbage. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "sql/expr.h"
#include "sql/func.h"
#include "sql/keyset.h"
#include "sql/pattern.h"
#include "util/arena.h"
#include "util/err.h"

#define NROWS 8

enum { C_BOOL, C_I64, C_U64, C_F64, C_STR, C_TS, NCOLS };
static const uint8_t col_types[NCOLS] = {VT_BOOL, VT_I64, VT_U64, VT_F64, VT_STR, VT_TS};

/* Rows 1, 3 and 6 are NULL; their slots hold defined values that mean nothing. */
static bool row_null(uint32_t i) {
    return i == 1 || i == 3 || i == 6;
}

/* One batch of every column type; `strs` are the string column's values (the interesting
 * values differ per function family: numbers, timestamps, date parts, patterns). */
static void make_batch(arena *a, const char *const *strs, batch *b) {
    b->ncols = NCOLS;
    b->nrows = NROWS;
    b->cols = arena_calloc(a, sizeof *b->cols * NCOLS);
    for (uint32_t c = 0; c < NCOLS; c++) {
        vec *v = &b->cols[c];
        vec_alloc(a, col_types[c], c == C_TS ? TU_NS : 0, NROWS, v);
        for (uint32_t i = 0; i < NROWS; i++) {
            switch (col_types[c]) {
            case VT_BOOL:
                v->d.b[i] = i & 1;
                break;
            case VT_I64:
                v->d.i64[i] = (int64_t)i * 3 - 7;
                break;
            case VT_U64:
                v->d.u64[i] = i * 5;
                break;
            case VT_F64:
                v->d.f64[i] = (double)i * 1.25 - 2;
                break;
            case VT_STR:
                v->d.s[i] = (strv){strs[i], (uint32_t)strlen(strs[i])};
                break;
            case VT_TS:
                v->d.i64[i] = 1641024000000000000LL + (int64_t)i * 86400000000123LL;
                break;
            }
        }
        v->valid = arena_alloc(a, bitmap_bytes(NROWS));
        memset(v->valid, 0xff, bitmap_bytes(NROWS));
        for (uint32_t i = 0; i < NROWS; i++) {
            if (!row_null(i)) continue;
            bitmap_clear(v->valid, i);
            if (v->type == VT_STR)
                v->d.s[i] = (strv){"junk", 4};
            else if (v->type == VT_BOOL)
                v->d.b[i] = true;
            else
                v->d.i64[i] = 77;
        }
    }
}

static const char *const str_sets[][NROWS] = {
    {"1", "2", "-3", "4.5", "0", "17", "x", "9"},
    {"2022-01-01T00:00:00", "x", "2023-05-06 07:08:09", "x", "1970-01-01", "2000-02-29T12:00:00Z",
     "x", "1999-12-31T23:59:59.999"},
    {"year", "x", "month", "x", "day", "hour", "x", "minute"},
    {"a%", "%", "_b%", "\\%", "", "%%a%%", "x", "abc"},
    {"true", "false", "TRUE", "x", "false", "true", "x", "False"},
    {"1 day", "x", "2 hours", "x", "3 minutes", "1 week", "x", "1 month"},
    {"(a)(b)?", "x*", "[", "x", "(?i)A$", "\\w+", "x", "()"},
    {"h\xc3\xa9llo", "", "\xe4\xb8\xad\xe6\x96\x87", "x", " a b ", "\xf0\x9f\x8c\x9fx", "x",
     "abcabc"},
};

/* Checks the invariant row by row, reading every byte a string view covers. */
static void check_vec(const vec *v, uint32_t n, const char *what) {
    if (v->type != VT_BOOL && v->type != VT_STR) return;
    volatile unsigned sink = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (v->type == VT_BOOL) {
            uint8_t raw;
            memcpy(&raw, &v->d.b[i], 1);
            if (raw > 1) fail_msg("%s: row %u holds bool byte %u", what, i, raw);
        } else {
            strv s = v->d.s[i];
            if (!s.p) fail_msg("%s: row %u holds a NULL string pointer", what, i);
            for (uint32_t k = 0; k < s.len; k++) sink += (unsigned char)s.p[k];
        }
    }
    (void)sink;
}

/* Evaluates e over every string set; errors (a cast of "x") are fine, a bad vector is not. */
static void eval_all(arena *a, bexpr *e, const char *what) {
    for (size_t s = 0; s < sizeof str_sets / sizeof str_sets[0]; s++) {
        batch b;
        make_batch(a, str_sets[s], &b);
        vec out;
        err er = {0};
        if (bexpr_eval(e, &b, a, &out, &er) == 0) check_vec(&out, NROWS, what);
    }
}

static bexpr *col(arena *a, int c) {
    return bx_col(a, (uint32_t)c, col_types[c], c == C_TS ? TU_NS : 0);
}

static const char *const funcs[] = {"sqrt",
                                    "ln",
                                    "log10",
                                    "log2",
                                    "exp",
                                    "ceil",
                                    "floor",
                                    "sin",
                                    "cos",
                                    "tan",
                                    "asin",
                                    "acos",
                                    "atan",
                                    "signum",
                                    "sign",
                                    "cbrt",
                                    "abs",
                                    "round",
                                    "trunc",
                                    "pow",
                                    "power",
                                    "log",
                                    "character_length",
                                    "lower",
                                    "upper",
                                    "concat",
                                    "ascii",
                                    "bit_length",
                                    "octet_length",
                                    "initcap",
                                    "btrim",
                                    "trim",
                                    "ltrim",
                                    "rtrim",
                                    "left",
                                    "right",
                                    "repeat",
                                    "lpad",
                                    "rpad",
                                    "replace",
                                    "translate",
                                    "reverse",
                                    "strpos",
                                    "substr",
                                    "split_part",
                                    "concat_ws",
                                    "chr",
                                    "to_hex",
                                    "md5",
                                    "sha256",
                                    "digest",
                                    "encode",
                                    "decode",
                                    "uuid",
                                    "regexp_match",
                                    "regexp_replace",
                                    "starts_with",
                                    "ends_with",
                                    "coalesce",
                                    "nullif",
                                    "now",
                                    "date_bin",
                                    "date_trunc",
                                    "date_part",
                                    "to_timestamp",
                                    "to_timestamp_seconds",
                                    "to_timestamp_millis",
                                    "to_timestamp_micros",
                                    "to_timestamp_nanos",
                                    "from_unixtime",
                                    "sinh",
                                    "cosh",
                                    "tanh",
                                    "asinh",
                                    "acosh",
                                    "atanh",
                                    "degrees",
                                    "radians",
                                    "atan2",
                                    "nanvl",
                                    "isnan",
                                    "iszero",
                                    "pi",
                                    "random",
                                    "gcd",
                                    "lcm",
                                    "factorial",
                                    "current_date",
                                    "arrow_typeof",
                                    "current_user",
                                    "current_role"};

/* Every function with every combination of up to three column arguments that binds. */
static void test_functions_keep_null_slots(void **state) {
    (void)state;
    arena *a = arena_new(0);
    int bound = 0;
    for (size_t f = 0; f < sizeof funcs / sizeof funcs[0]; f++) {
        for (uint32_t nargs = 0; nargs <= 3; nargs++) {
            uint32_t combos = 1;
            for (uint32_t k = 0; k < nargs; k++) combos *= NCOLS;
            for (uint32_t m = 0; m < combos; m++) {
                bexpr *args[3];
                uint32_t x = m;
                for (uint32_t k = 0; k < nargs; k++, x /= NCOLS) args[k] = col(a, (int)(x % NCOLS));
                bexpr *e;
                err er = {0};
                fn_env env = {0, "root", "cnosdb", "public", NULL, false};
                if (func_bind(a, funcs[f], args, nargs, &env, &e, &er) < 0) continue;
                bound++;
                eval_all(a, e, funcs[f]);
            }
        }
        arena_reset(a);
    }
    assert_true(bound > 100);
    arena_free(a);
}

static bexpr *node(arena *a, uint8_t kind, uint8_t type, bexpr *x, bexpr *y) {
    bexpr *e = bx_new(a, kind, type, y ? 2 : 1);
    e->args[0] = x;
    if (y) e->args[1] = y;
    return e;
}

/* Operators over every pair of column types that casts can bring to one type. */
static void test_operators_keep_null_slots(void **state) {
    (void)state;
    arena *a = arena_new(0);
    static const uint8_t cmp_ops[] = {OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE};
    static const uint8_t arith_ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD};
    for (int cx = 0; cx < NCOLS; cx++) {
        /* casts to every type, plain and TRY_CAST */
        for (int t = 0; t < NCOLS; t++) {
            for (int try_ = 0; try_ < 2; try_++) {
                bexpr *c = node(a, BX_CAST, col_types[t], col(a, cx), NULL);
                c->try_cast = try_;
                eval_all(a, c, "cast");
                /* the shape of issue 6's crash: a comparison over a cast with NULL rows */
                if (col_types[t] == VT_STR) {
                    value lit = {.type = VT_STR};
                    lit.v.s = (strv){"a", 1};
                    for (size_t o = 0; o < sizeof cmp_ops; o++) {
                        bexpr *cmp = node(a, BX_CMP, VT_BOOL, c, bx_const(a, lit));
                        cmp->op = cmp_ops[o];
                        eval_all(a, cmp, "cast then compare with a constant");
                        bexpr *cmp2 = node(a, BX_CMP, VT_BOOL, c, col(a, C_STR));
                        cmp2->op = cmp_ops[o];
                        eval_all(a, cmp2, "cast then compare");
                    }
                    bexpr *lk = node(a, BX_LIKE, VT_BOOL, c, col(a, C_STR));
                    eval_all(a, lk, "like");
                    bexpr *re = node(a, BX_REGEX, VT_BOOL, c, col(a, C_STR));
                    eval_all(a, re, "regex");
                    bexpr *cc = node(a, BX_CONCAT, VT_STR, c, col(a, C_STR));
                    eval_all(a, cc, "concat");
                }
            }
        }
        bexpr *x = col(a, cx);
        eval_all(a, node(a, BX_IS_NULL, VT_BOOL, x, NULL), "is null");
        value nul = {.type = col_types[cx], .null = true};
        bexpr *cmpn = node(a, BX_CMP, VT_BOOL, x, bx_const(a, nul));
        cmpn->op = OP_EQ;
        eval_all(a, cmpn, "compare with NULL");
        for (size_t o = 0; o < sizeof cmp_ops; o++) {
            bexpr *cmp = node(a, BX_CMP, VT_BOOL, x, col(a, cx));
            cmp->op = cmp_ops[o];
            eval_all(a, cmp, "compare");
        }
        if (col_types[cx] == VT_I64 || col_types[cx] == VT_U64 || col_types[cx] == VT_F64)
            for (size_t o = 0; o < sizeof arith_ops; o++) {
                bexpr *ar = node(a, BX_ARITH, col_types[cx], x, col(a, cx));
                ar->op = arith_ops[o];
                eval_all(a, ar, "arithmetic");
            }
        bexpr *in = bx_new(a, BX_IN_LIST, VT_BOOL, 3);
        in->args[0] = x;
        in->args[1] = x;
        in->args[2] = bx_const(a, nul);
        eval_all(a, in, "in list");
        bexpr *dist = node(a, BX_DISTINCT_FROM, VT_BOOL, x, col(a, cx));
        eval_all(a, dist, "is distinct from");
        bexpr *cs = bx_new(a, BX_CASE, col_types[cx], 3);
        cs->case_has_else = true;
        cs->args[0] = col(a, C_BOOL);
        cs->args[1] = x;
        cs->args[2] = x;
        eval_all(a, cs, "case");
        arena_reset(a);
    }
    bexpr *b = col(a, C_BOOL);
    eval_all(a, node(a, BX_NOT, VT_BOOL, b, NULL), "not");
    eval_all(a, node(a, BX_AND, VT_BOOL, b, b), "and");
    eval_all(a, node(a, BX_OR, VT_BOOL, b, b), "or");
    bexpr *isb = node(a, BX_IS_BOOL, VT_BOOL, b, NULL);
    isb->op = OP_IS_TRUE;
    eval_all(a, isb, "is true");
    arena_free(a);
}

/* Issue 6, failure 1: CAST of a NULL string left its slot undefined and the comparison with
 * a constant read it as a view. */
static void test_cast_null_string_slot(void **state) {
    (void)state;
    arena *a = arena_new(0);
    batch b;
    make_batch(a, str_sets[0], &b);
    bexpr *c = node(a, BX_CAST, VT_STR, col(a, C_STR), NULL);
    vec out;
    err er = {0};
    assert_int_equal(bexpr_eval(c, &b, a, &out, &er), 0);
    for (uint32_t i = 0; i < NROWS; i++) {
        assert_int_equal(vec_is_valid(&out, i), !row_null(i));
        if (row_null(i)) {
            assert_non_null(out.d.s[i].p);
            assert_int_equal(out.d.s[i].len, 0);
        }
    }
    arena_free(a);
}

static void test_keyset(void **state) {
    (void)state;
    arena *a = arena_new(0);
    keyset *k = keyset_new(a, 0);
    bool ins;
    char key[32];
    for (uint32_t i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "k%u", i);
        *keyset_upsert(k, key, (uint32_t)n, &ins) = i;
        assert_true(ins);
    }
    *keyset_upsert(k, "", 0, &ins) = 7;
    assert_true(ins);
    keyset_upsert(k, NULL, 0, &ins);
    assert_false(ins);
    assert_int_equal(keyset_count(k), 100001);
    for (uint32_t i = 0; i < 100000; i += 7) {
        int n = snprintf(key, sizeof key, "k%u", i);
        uint32_t v = 0;
        assert_true(keyset_get(k, key, (uint32_t)n, &v));
        assert_int_equal(v, i);
        assert_int_equal(*keyset_upsert(k, key, (uint32_t)n, &ins), i);
        assert_false(ins);
    }
    assert_false(keyset_get(k, "k100000", 7, NULL));
    assert_false(keyset_get(k, "k1", 1, NULL));
    uint32_t v;
    assert_true(keyset_get(k, "", 0, &v));
    assert_int_equal(v, 7);
    arena_free(a);
}

/* A constant IN list hashed at bind time answers exactly as the per-row comparison does:
 * NULL items, NaN (equal to nothing), -0.0 = 0.0, negation. */
static void test_in_set_matches_loop(void **state) {
    (void)state;
    arena *a = arena_new(0);
    batch b;
    make_batch(a, str_sets[0], &b);
    b.cols[C_F64].d.f64[0] = -0.0;
    b.cols[C_F64].d.f64[2] = 0.0 / 0.0;
    for (int c = 0; c < NCOLS; c++) {
        for (int with_null = 0; with_null < 2; with_null++) {
            for (int neg = 0; neg < 2; neg++) {
                uint32_t nitems = 4 + (uint32_t)with_null;
                bexpr *loop = bx_new(a, BX_IN_LIST, VT_BOOL, 1 + nitems);
                loop->negated = neg;
                loop->args[0] = col(a, c);
                for (uint32_t k = 0; k < 4; k++) {
                    value v;
                    vec_get(&b.cols[c], k * 2, &v); /* rows 0, 2, 4, 6: 6 is NULL */
                    if (c == C_F64 && k == 0) v.v.f = 0.0;
                    if (c == C_F64 && k == 1) v.v.f = 0.0 / 0.0;
                    loop->args[1 + k] = bx_const(a, v);
                }
                if (with_null) {
                    value nv = {.type = col_types[c], .null = true};
                    loop->args[5] = bx_const(a, nv);
                }
                bexpr *set = bx_new(a, BX_IN_LIST, VT_BOOL, 1 + nitems);
                *set = *loop;
                bx_in_list_prepare(a, set);
                assert_non_null(set->aux);
                vec x, y;
                err er = {0};
                assert_int_equal(bexpr_eval(loop, &b, a, &x, &er), 0);
                assert_int_equal(bexpr_eval(set, &b, a, &y, &er), 0);
                for (uint32_t i = 0; i < NROWS; i++) {
                    assert_int_equal(vec_is_valid(&x, i), vec_is_valid(&y, i));
                    if (vec_is_valid(&x, i)) assert_int_equal(x.d.b[i], y.d.b[i]);
                }
            }
        }
    }
    arena_free(a);
}

/* One expression growing past the arena's budget fails with the memory error. */
static void test_eval_memory_budget(void **state) {
    (void)state;
    arena *a = arena_new(0);
    arena_budget bud = {.limit = 256 * 1024};
    batch b;
    make_batch(a, str_sets[0], &b);
    arena_set_budget(a, &bud);
    bexpr *e = col(a, C_STR);
    value big = {.type = VT_STR};
    static char text[40000];
    memset(text, 'x', sizeof text);
    big.v.s = (strv){text, sizeof text};
    for (int i = 0; i < 20; i++) {
        bexpr *c = bx_new(a, BX_CONCAT, VT_STR, 2);
        c->args[0] = e;
        c->args[1] = bx_const(a, big);
        e = c;
    }
    vec out;
    err er = {0};
    assert_int_equal(bexpr_eval(e, &b, a, &out, &er), -1);
    assert_int_equal(er.http, 500);
    assert_non_null(strstr(er.msg, "Resources exhausted"));
    assert_true(bud.held > bud.limit);
    arena_set_budget(a, NULL);
    assert_int_equal(bud.held, 0);
    arena_free(a);
    /* strv.len is 32 bits: a concatenation past it is an error, not a wrapped length */
    assert_int_equal(str_len_check(UINT32_MAX, &er), 0);
    assert_int_equal(str_len_check((size_t)UINT32_MAX + 1, &er), -1);
    assert_non_null(strstr(er.msg, "longer than"));
}

/* The recursive matcher LIKE used to have: the reference the compiled matcher must agree with
 * (it is exponential on some patterns, so only small cases go through it). */
static bool ref_like(const char *s, const char *se, const char *p, const char *pe, bool ci) {
    while (p < pe) {
        char c = *p;
        if (c == '%') {
            while (p < pe && *p == '%') p++;
            if (p == pe) return true;
            for (const char *t = s; t <= se; t++)
                if (ref_like(t, se, p, pe, ci)) return true;
            return false;
        }
        if (s >= se) return false;
        if (c == '_') {
            s++;
            while (s < se && ((unsigned char)*s & 0xC0) == 0x80) s++;
            p++;
            continue;
        }
        if (c == '\\' && p + 1 < pe) c = *++p;
        char sc = *s;
        if (ci ? tolower((unsigned char)sc) != tolower((unsigned char)c) : sc != c) return false;
        s++;
        p++;
    }
    return s == se;
}

static void test_like_matches_reference(void **state) {
    (void)state;
    arena *a = arena_new(0);
    trng r = {12345};
    static const char *const alpha[] = {"a", "b", "A", "%", "_", "\\", "\xc3\xa9", "x"};
    static const char *const talpha[] = {"a", "b", "A", "%", "_", "\\", "\xc3\xa9", "B"};
    char pat[64], txt[64];
    for (int iter = 0; iter < 60000; iter++) {
        size_t pn = 0, tn = 0;
        uint32_t plen = (uint32_t)(tr_next(&r) % 8), tlen = (uint32_t)(tr_next(&r) % 10);
        for (uint32_t i = 0; i < plen; i++) {
            const char *t = alpha[tr_next(&r) % 8];
            memcpy(pat + pn, t, strlen(t));
            pn += strlen(t);
        }
        for (uint32_t i = 0; i < tlen; i++) {
            const char *t = talpha[tr_next(&r) % 8];
            memcpy(txt + tn, t, strlen(t));
            tn += strlen(t);
        }
        bool ci = iter & 1;
        like_pat *pt = like_compile(a, (strv){pat, (uint32_t)pn}, ci);
        err er = {0};
        int got = like_match(pt, (strv){txt, (uint32_t)tn}, a, &er);
        bool want = ref_like(txt, txt + tn, pat, pat + pn, ci);
        if (got != (int)want)
            fail_msg("'%.*s' %s '%.*s': got %d", (int)tn, txt, ci ? "ILIKE" : "LIKE", (int)pn, pat,
                     got);
        if ((iter & 1023) == 0) arena_reset(a);
    }
    arena_free(a);
}

/* Issue 6, failure 3: a 3 MB pattern of `%a` overflowed the stack; 'a' x 40 LIKE ('%a' x 15)
 * || '%b' backtracked for ~40 s. Both are a few operations now (no timing asserted: the first
 * crashed, the second would not finish the test run). */
static void test_like_adversarial(void **state) {
    (void)state;
    arena *a = arena_new(0);
    err er = {0};
    char text[41];
    memset(text, 'a', 40);
    char pat[64];
    size_t n = 0;
    for (int i = 0; i < 15; i++) pat[n++] = '%', pat[n++] = 'a';
    pat[n++] = '%';
    pat[n++] = 'b';
    like_pat *pt = like_compile(a, (strv){pat, (uint32_t)n}, false);
    assert_int_equal(like_match(pt, (strv){text, 40}, a, &er), 0);
    pat[n - 1] = 'a';
    pt = like_compile(a, (strv){pat, (uint32_t)n}, false);
    assert_int_equal(like_match(pt, (strv){text, 40}, a, &er), 1);
    size_t big = 3u << 20;
    char *bp = malloc(big);
    for (size_t i = 0; i < big; i += 2) bp[i] = '%', bp[i + 1] = 'a';
    pt = like_compile(a, (strv){bp, (uint32_t)big}, true);
    assert_int_equal(like_match(pt, (strv){text, 40}, a, &er), 0);
    char *bt = malloc(big);
    memset(bt, 'a', big);
    assert_int_equal(like_match(pt, (strv){bt, (uint32_t)(big / 2)}, a, &er), 1);
    free(bp);
    free(bt);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cast_null_string_slot),
        cmocka_unit_test(test_functions_keep_null_slots),
        cmocka_unit_test(test_operators_keep_null_slots),
        cmocka_unit_test(test_keyset),
        cmocka_unit_test(test_in_set_matches_loop),
        cmocka_unit_test(test_eval_memory_budget),
        cmocka_unit_test(test_like_matches_reference),
        cmocka_unit_test(test_like_adversarial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
