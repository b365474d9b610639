/* String functions (DataFusion 27's signatures): see func_int.h. */
#include "sql/func_int.h"

#include <ctype.h>
#include <string.h>

static size_t utf8_len(strv s) {
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

static int fn_length(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++)
        out->d.i64[i] = vec_is_valid(&args[0], i) ? (int64_t)utf8_len(args[0].d.s[i]) : 0;
    return 0;
}

static int fn_case(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool upper = e->aux != NULL;
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = vec_is_valid(&args[0], i) ? args[0].d.s[i] : (strv){"", 0};
        char *p = arena_alloc(a, s.len + 1);
        for (uint32_t k = 0; k < s.len; k++)
            p[k] = (char)(upper ? toupper((unsigned char)s.p[k]) : tolower((unsigned char)s.p[k]));
        out->d.s[i] = (strv){p, s.len};
    }
    return 0;
}

static int fn_concat(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* concat skips NULL arguments (PostgreSQL/DataFusion). */
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        for (uint32_t k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) len += args[k].d.s[i].len;
        if (str_len_check(len, er) < 0) return -1;
        char *p = arena_alloc(a, len + 1);
        size_t at = 0;
        for (uint32_t k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) {
                memcpy(p + at, args[k].d.s[i].p, args[k].d.s[i].len);
                at += args[k].d.s[i].len;
            }
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

static int fn_starts_with(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        strv s = args[0].d.s[i], p = args[1].d.s[i];
        bool ends = e->aux != NULL;
        out->d.b[i] = p.len <= s.len && !memcmp(ends ? s.p + s.len - p.len : s.p, p.p, p.len);
    }
    return 0;
}

#define STR_PAIRS                                                                                  \
    SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8), SIG_EX(DT_UTF8, DT_LUTF8), SIG_EX(DT_LUTF8, DT_UTF8),      \
              SIG_EX(DT_LUTF8, DT_LUTF8))

const fn_def func_string_defs[] = {
    {.name = "length",
     .sig = SIG_UNI(1, DT_STRINGS),
     .ret = VT_I64,
     .eval = fn_length,
     .display = "character_length"},
    {.name = "char_length",
     .sig = SIG_UNI(1, DT_STRINGS),
     .ret = VT_I64,
     .eval = fn_length,
     .display = "character_length"},
    {.name = "character_length", .sig = SIG_UNI(1, DT_STRINGS), .ret = VT_I64, .eval = fn_length},
    {.name = "lower", .sig = SIG_UNI(1, DT_STRINGS), .ret = VT_STR, .eval = fn_case},
    {.name = "upper",
     .sig = SIG_UNI(1, DT_STRINGS),
     .ret = VT_STR,
     .eval = fn_case,
     .aux = "upper"},
    {.name = "concat", .sig = SIG_VAR(DT_UTF8), .ret = VT_STR, .eval = fn_concat},
    {.name = "starts_with", .sig = STR_PAIRS, .ret = VT_BOOL, .eval = fn_starts_with},
    {.name = "ends_with", .sig = STR_PAIRS, .ret = VT_BOOL, .eval = fn_starts_with, .aux = "ends"},
    {.name = NULL},
};
