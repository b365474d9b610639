/* String functions with DataFusion 27's signatures, result rules and edge cases: see
 * func_int.h for how a function is declared, func_str_int.h for what the family's kernels
 * share. Hashing, encodings and uuid live in func_hash.c, regular expressions in func_regex.c.
 *
 * DataFusion checks a call against the signature (where a number coerces to Utf8), then
 * computes the result type from the arguments as written: for most string functions a first
 * argument that is not a string (or NULL) passes the first step and fails the second, with the
 * internal error "The \"lpad\" function can only accept strings.". CnosDB's cases expect exactly
 * that, so each row names the check its function makes (struct str_rule) and bind_str makes it
 * before casting the arguments. */
#include "sql/func_str_int.h"
#include "util/vlist.h"

#include "util/utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ shared helpers */

uint32_t fs_char_len(const char *p, const char *e) {
    size_t n = utf8_seq(p, (size_t)(e - p));
    return n ? (uint32_t)n : 1;
}

static size_t char_count(strv s) {
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* Bytes taken by the first k characters of s (all of it when it has fewer). */
static uint32_t char_prefix(strv s, uint64_t k) {
    const char *p = s.p, *e = s.p + s.len;
    for (; k && p < e; k--) p += fs_char_len(p, e);
    return (uint32_t)(p - s.p);
}

/* The code point at p (the byte itself when no valid sequence starts there). */
static uint32_t char_code(const char *p, const char *e) {
    const unsigned char *u = (const unsigned char *)p;
    switch (utf8_seq(p, (size_t)(e - p))) {
    case 2:
        return (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
    case 3:
        return (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
    case 4:
        return (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 |
               (uint32_t)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
    default:
        return u[0];
    }
}

char *fs_alloc(arena *a, size_t len, err *er) {
    if (str_len_check(len, er) < 0) return NULL;
    char *p = arena_alloc(a, len ? len : 1);
    /* a large block is charged to the budget when allocated: refuse it before writing it */
    if (len > (1u << 20) && budget_check(arena_get_budget(a), er) < 0) return NULL;
    return p;
}

int fs_exec_err(const bexpr *e, err *er, const char *kind, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *tail = strcmp(kind, "Internal error") ? "" : DF_BUG_TAIL;
    return err_set(er, 422, EC_QUERY_INTERNAL, "%s: %s%s", kind, msg, tail);
}

static strv str_dup(arena *a, const char *p, size_t n) {
    if (!n) return (strv){"", 0};
    char *q = arena_alloc(a, n);
    memcpy(q, p, n);
    return (strv){q, (uint32_t)n};
}

/* ------------------------------------------------------------------ binding */

/* What a function's result type demands of its first argument as written (DataFusion's
 * return_type, which runs after the signature matched). */
enum str_check {
    CK_NONE,
    CK_STR,     /* Utf8 or Null */
    CK_STR_BIN, /* Utf8, Binary or Null */
    CK_INT,     /* an integer: to_hex */
};

struct str_rule {
    uint8_t check;
    const char *why; /* DataFusion's sentence when the check fails */
    const void *aux; /* the kernel's */
};

static bool first_ok(uint8_t check, uint8_t t) {
    switch (check) {
    case CK_STR:
    case CK_STR_BIN:
        return t == VT_STR || t == VT_NULL;
    case CK_INT:
        return t == VT_I64;
    default:
        return true;
    }
}

/* x as the argument type t of the matched candidate: a boolean becomes "1"/"0" (expr_cast.c
 * casts as arrow does under DataFusion 27), which CnosDB's cases show through concat(f2),
 * replace(..., f2) and ascii(f2). */
static int cast_arg(arena *a, bexpr **x, uint8_t t, err *er) {
    uint8_t vt = t == DT_I64 ? VT_I64 : VT_STR;
    return (*x)->type == vt ? 0 : bx_cast(a, x, vt, 0, er);
}

static int bind_str(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    const struct str_rule *r = c->def->aux;
    /* where DataFusion types the call only in its type_coercion rule (WHERE, ON, inside a
     * CAST), the arguments are coerced before the result type is asked for: no check */
    bool lazy = c->env && c->env->lazy;
    if (r->check && nargs && !lazy && !first_ok(r->check, args[0]->type))
        return err_set(er, 422, EC_QUERY_INTERNAL, "Datafusion: Internal error: %s" DF_BUG_TAIL,
                       r->why);
    for (uint32_t i = 0; i < nargs; i++)
        if (cast_arg(c->a, &args[i], c->dts[i], er) < 0) return -1;
    /* DataFusion 27's lengths and positions of a Utf8 are Int32; a list result is
     * regexp_match's, of strings */
    uint8_t unit = c->def->ret == VT_I64    ? NU_32
                   : c->def->ret == VT_LIST ? vlist_unit(VT_STR, 0, false)
                                            : 0;
    *out = func_call(c->a, c->def, c->def->eval, c->def->ret, unit, args, nargs, r->aux);
    return 0;
}

/* ------------------------------------------------------------------ lengths and case */

static int fn_ascii(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = args[0].d.s[i];
        out->d.i64[i] = s.len ? (int64_t)char_code(s.p, s.p + s.len) : 0;
    }
    return 0;
}

/* aux: NULL = characters, else the bits per byte (octet_length 1, bit_length 8) */
static int fn_length(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    const char *unit = e->aux;
    for (uint32_t i = 0; i < n; i++)
        out->d.i64[i] = unit ? (int64_t)args[0].d.s[i].len * (unit[0] == 'b' ? 8 : 1)
                             : (int64_t)char_count(args[0].d.s[i]);
    return 0;
}

static bool ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char ascii_upper(char c) {
    return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}

static char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* lower, upper and initcap change ASCII letters only, as DataFusion 27 does. */
static int fn_case(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    char mode = *(const char *)e->aux; /* 'l', 'u', 'i' */
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = args[0].d.s[i];
        char *p = arena_alloc(a, s.len + 1);
        bool after_word = false;
        for (uint32_t k = 0; k < s.len; k++) {
            char c = s.p[k];
            if (mode == 'i') {
                p[k] = after_word ? ascii_lower(c) : ascii_upper(c);
                after_word = ascii_alnum(c);
            } else {
                p[k] = mode == 'u' ? ascii_upper(c) : ascii_lower(c);
            }
        }
        out->d.s[i] = (strv){p, s.len};
    }
    return 0;
}

/* ------------------------------------------------------------------ trimming */

/* Whether the character c (clen bytes) is one of set's; one argument trims spaces only. */
static bool in_set(strv set, const char *c, uint32_t clen) {
    const char *p = set.p, *e = set.p + set.len;
    while (p < e) {
        uint32_t l = fs_char_len(p, e);
        if (l == clen && !memcmp(p, c, l)) return true;
        p += l;
    }
    return false;
}

/* aux "l", "r" or "b": the side(s) trimmed */
static int fn_trim(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    char side = *(const char *)e->aux;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        strv s = args[0].d.s[i], set = e->nargs > 1 ? args[1].d.s[i] : (strv){" ", 1};
        const char *p = s.p, *q = s.p + s.len;
        if (side != 'r')
            while (p < q) {
                uint32_t l = fs_char_len(p, q);
                if (!in_set(set, p, l)) break;
                p += l;
            }
        if (side != 'l')
            while (q > p) {
                const char *c = q - 1;
                while (c > p && ((unsigned char)*c & 0xC0) == 0x80) c--;
                uint32_t l = fs_char_len(c, q);
                if (c + l != q || !in_set(set, c, l)) break;
                q = c;
            }
        out->d.s[i] = (strv){p, (uint32_t)(q - p)};
    }
    return 0;
}

/* ------------------------------------------------------------------ parts of a string */

/* aux "l" = left(s, n), "r" = right(s, n): n < 0 counts from the other end */
static int fn_left_right(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool left = *(const char *)e->aux == 'l';
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv s = args[0].d.s[i];
        int64_t k = args[1].d.i64[i];
        uint64_t len = char_count(s), absk = k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k;
        uint64_t keep; /* characters kept: the first ones for left, the last for right */
        if (k >= 0)
            keep = absk < len ? absk : len;
        else
            keep = absk < len ? len - absk : 0;
        if (left) {
            out->d.s[i] = (strv){s.p, char_prefix(s, keep)};
        } else {
            uint32_t skip = char_prefix(s, len - keep);
            out->d.s[i] = (strv){s.p + skip, s.len - skip};
        }
    }
    return 0;
}

/* substr(s, start [, count]): characters from 1; a start before 1 eats into count */
static int fn_substr(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        strv s = args[0].d.s[i];
        int64_t start = args[1].d.i64[i];
        uint64_t skip = start > 1 ? (uint64_t)start - 1 : 0, take = UINT64_MAX;
        if (e->nargs > 2) {
            int64_t count = args[2].d.i64[i];
            if (count < 0)
                return fs_exec_err(e, er, "Execution error",
                                   "negative substring length not allowed: substr(<str>, %" PRId64
                                   ", %" PRId64 ")",
                                   start, count);
            uint64_t back = start < 1 ? (uint64_t)1 - (uint64_t)start : 0; /* 1 - start */
            take = (uint64_t)count > back ? (uint64_t)count - back : 0;
        } else if (start <= 0) {
            skip = 0;
        }
        uint32_t from = char_prefix(s, skip);
        strv rest = {s.p + from, s.len - from};
        out->d.s[i] = (strv){rest.p, char_prefix(rest, take)};
    }
    return 0;
}

static int fn_reverse(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        strv s = args[0].d.s[i];
        char *p = arena_alloc(a, s.len + 1);
        const char *c = s.p, *end = s.p + s.len;
        uint32_t at = s.len;
        while (c < end) {
            uint32_t l = fs_char_len(c, end);
            at -= l;
            memcpy(p + at, c, l);
            c += l;
        }
        out->d.s[i] = (strv){p, s.len};
    }
    return 0;
}

/* strpos(s, sub): the character position of the first occurrence, 1-based; 0 when none */
static int fn_strpos(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv s = args[0].d.s[i], sub = args[1].d.s[i];
        const char *m = sub.len ? memmem(s.p, s.len, sub.p, sub.len) : s.p;
        out->d.i64[i] = m ? (int64_t)char_count((strv){s.p, (uint32_t)(m - s.p)}) + 1 : 0;
    }
    return 0;
}

/* split_part(s, delim, k): the k-th piece (from 1), "" past the last. As Rust's str::split,
 * an empty delimiter splits before and after every character. */
static int fn_split_part(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 3, i, out)) continue;
        strv s = args[0].d.s[i], d = args[1].d.s[i];
        int64_t k = args[2].d.i64[i];
        if (k <= 0)
            return fs_exec_err(e, er, "Execution error",
                               "field position must be greater than zero");
        strv piece = {"", 0};
        const char *p = s.p, *end = s.p + s.len;
        if (!d.len) {
            /* pieces: "", each character, "" */
            if (k >= 2) {
                uint64_t skip = (uint64_t)k - 2;
                uint32_t at = char_prefix(s, skip);
                if (at < s.len) piece = (strv){s.p + at, fs_char_len(s.p + at, end)};
            }
        } else {
            for (int64_t j = 1;; j++) {
                const char *m = memmem(p, (size_t)(end - p), d.p, d.len);
                const char *stop = m ? m : end;
                if (j == k) {
                    piece = (strv){p, (uint32_t)(stop - p)};
                    break;
                }
                if (!m) break;
                p = m + d.len;
            }
        }
        out->d.s[i] = piece;
    }
    return 0;
}

static int fn_starts_with(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool ends = e->aux != NULL;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv s = args[0].d.s[i], p = args[1].d.s[i];
        out->d.b[i] = p.len <= s.len && !memcmp(ends ? s.p + s.len - p.len : s.p, p.p, p.len);
    }
    return 0;
}

/* ------------------------------------------------------------------ building strings */

static int fn_concat(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* concat skips NULL arguments (PostgreSQL/DataFusion); concat_ws (aux) puts its first
     * argument between the others and is NULL when that separator is */
    bool ws = e->aux != NULL;
    if (ws && e->nargs < 2)
        return fs_exec_err(e, er, "Internal error",
                           "concat_ws was called with %u arguments. It requires at least 2.",
                           e->nargs);
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (ws && !func_row_valid(a, args, 1, i, out)) continue;
        strv sep = ws ? args[0].d.s[i] : (strv){"", 0};
        size_t len = 0, parts = 0;
        for (uint32_t k = ws; k < e->nargs; k++)
            if (vec_is_valid(&args[k], i)) len += args[k].d.s[i].len, parts++;
        if (parts > 1) len += (parts - 1) * sep.len;
        char *p = fs_alloc(a, len, er);
        if (!p) return -1;
        size_t at = 0;
        parts = 0;
        for (uint32_t k = ws; k < e->nargs; k++) {
            if (!vec_is_valid(&args[k], i)) continue;
            if (parts++ && sep.len) memcpy(p + at, sep.p, sep.len), at += sep.len;
            if (args[k].d.s[i].len) memcpy(p + at, args[k].d.s[i].p, args[k].d.s[i].len);
            at += args[k].d.s[i].len;
        }
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

/* Writes len bytes of unit, unit, ... at dst (unit not empty), doubling what is written so a
 * one-byte unit repeated 2^31 times costs 31 copies, not 2^31. */
static void fill_cycle(char *dst, size_t len, strv unit) {
    size_t done = unit.len < len ? unit.len : len;
    memcpy(dst, unit.p, done);
    while (done < len) {
        size_t c = done < len - done ? done : len - done;
        memcpy(dst + done, dst, c);
        done += c;
    }
}

/* repeat(s, k): k copies; none for k <= 0 */
static int fn_repeat(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        strv s = args[0].d.s[i];
        int64_t k = args[1].d.i64[i];
        if (k <= 0 || !s.len) {
            out->d.s[i] = (strv){"", 0};
            continue;
        }
        if ((uint64_t)k > UINT32_MAX) return str_len_check((size_t)UINT32_MAX + 1, er);
        size_t len = (size_t)s.len * (size_t)k;
        char *p = fs_alloc(a, len, er);
        if (!p) return -1;
        fill_cycle(p, len, s);
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

/* lpad/rpad(s, len [, fill]): s cut or padded to len characters; fill defaults to a space,
 * an empty fill leaves s as it is. aux "l" or "r". */
static int fn_pad(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool left = *(const char *)e->aux == 'l';
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, e->nargs, i, out)) continue;
        strv s = args[0].d.s[i], fill = e->nargs > 2 ? args[2].d.s[i] : (strv){" ", 1};
        int64_t want = args[1].d.i64[i];
        if (want > INT32_MAX)
            return fs_exec_err(e, er, "Execution error",
                               "%s requested length %" PRId64 " too large", left ? "lpad" : "rpad",
                               want);
        uint64_t len = want < 0 ? 0 : (uint64_t)want, have = char_count(s);
        if (len <= have || !fill.len) {
            out->d.s[i] = (strv){s.p, len <= have ? char_prefix(s, len) : s.len};
            continue;
        }
        uint64_t pad = len - have, nfill = char_count(fill);
        size_t padb = (size_t)(pad / nfill) * fill.len + char_prefix(fill, pad % nfill);
        char *p = fs_alloc(a, padb + s.len, er);
        if (!p) return -1;
        fill_cycle(p + (left ? 0 : s.len), padb, fill);
        if (s.len) memcpy(left ? p + padb : p, s.p, s.len);
        out->d.s[i] = (strv){p, (uint32_t)(padb + s.len)};
    }
    return 0;
}

/* replace(s, from, to): every non-overlapping from, left to right; an empty from puts to
 * before every character and at the end (Rust's str::replace). */
static int fn_replace(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 3, i, out)) continue;
        strv s = args[0].d.s[i], f = args[1].d.s[i], t = args[2].d.s[i];
        const char *end = s.p + s.len;
        size_t hits = 0;
        if (!f.len)
            hits = char_count(s) + 1;
        else
            for (const char *m = s.p; (m = memmem(m, (size_t)(end - m), f.p, f.len)); m += f.len)
                hits++;
        if (f.len && !hits) {
            out->d.s[i] = s;
            continue;
        }
        size_t len = s.len - hits * f.len + hits * (size_t)t.len;
        char *p = fs_alloc(a, len, er);
        if (!p) return -1;
        size_t at = 0;
        const char *c = s.p;
        while (c <= end) {
            const char *m = f.len ? memmem(c, (size_t)(end - c), f.p, f.len) : c;
            const char *stop = m ? m : end;
            memcpy(p + at, c, (size_t)(stop - c));
            at += (size_t)(stop - c);
            if (!m) break;
            memcpy(p + at, t.p, t.len);
            at += t.len;
            if (f.len) {
                c = m + f.len;
            } else {
                if (m == end) break;
                uint32_t l = fs_char_len(m, end);
                memcpy(p + at, m, l);
                at += l;
                c = m + l;
            }
        }
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

/* translate(s, from, to): each character of s found in from becomes the character of to at
 * the same place, or goes when to is shorter; a character repeated in from takes its last
 * place (DataFusion builds a map from from's characters). The map is built once per row:
 * a table for ASCII, a scan of from's other characters for the rest. */
struct tr_map {
    strv ascii[128]; /* what each ASCII character becomes, where mapped */
    bool mapped[128];
    strv from, to;
};

/* What from's k-th character maps to: to's k-th, or nothing. */
static strv tr_target(strv to, uint64_t k) {
    uint32_t off = char_prefix(to, k);
    if (off >= to.len) return (strv){"", 0};
    return (strv){to.p + off, fs_char_len(to.p + off, to.p + to.len)};
}

static void tr_build(struct tr_map *m, strv from, strv to) {
    memset(m->mapped, 0, sizeof m->mapped);
    m->from = from, m->to = to;
    uint64_t k = 0;
    const char *tp = to.p, *te = to.p + to.len;
    for (const char *p = from.p, *e = from.p + from.len; p < e; k++) {
        uint32_t l = fs_char_len(p, e);
        uint32_t tl = tp < te ? fs_char_len(tp, te) : 0;
        if (l == 1 && !((unsigned char)*p & 0x80)) {
            m->ascii[(unsigned char)*p] = (strv){tl ? tp : "", tl};
            m->mapped[(unsigned char)*p] = true;
        }
        p += l, tp += tl;
    }
}

static strv tr_one(const struct tr_map *m, const char *c, uint32_t l) {
    if (l == 1 && !((unsigned char)*c & 0x80)) {
        unsigned char u = (unsigned char)*c;
        return m->mapped[u] ? m->ascii[u] : (strv){c, 1};
    }
    int64_t at = -1, k = 0;
    for (const char *p = m->from.p, *e = m->from.p + m->from.len; p < e; k++) {
        uint32_t pl = fs_char_len(p, e);
        if (pl == l && !memcmp(p, c, l)) at = k;
        p += pl;
    }
    return at < 0 ? (strv){c, l} : tr_target(m->to, (uint64_t)at);
}

static int fn_translate(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    struct tr_map m;
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 3, i, out)) continue;
        strv s = args[0].d.s[i];
        tr_build(&m, args[1].d.s[i], args[2].d.s[i]);
        const char *end = s.p + s.len;
        size_t len = 0;
        for (const char *c = s.p; c < end;) {
            uint32_t l = fs_char_len(c, end);
            len += tr_one(&m, c, l).len;
            c += l;
        }
        char *p = fs_alloc(a, len, er);
        if (!p) return -1;
        size_t at = 0;
        for (const char *c = s.p; c < end;) {
            uint32_t l = fs_char_len(c, end);
            strv r = tr_one(&m, c, l);
            if (r.len) memcpy(p + at, r.p, r.len);
            at += r.len;
            c += l;
        }
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

/* ------------------------------------------------------------------ from integers */

/* chr(code): the character; as DataFusion, the code is taken modulo 2^32 first */
static int fn_chr(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 1, i, out)) continue;
        int64_t v = args[0].d.i64[i];
        uint32_t c = (uint32_t)v;
        if (v == 0) return fs_exec_err(e, er, "Execution error", "null character not permitted.");
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return fs_exec_err(e, er, "Execution error",
                               "requested character too large for encoding.");
        char *p = arena_alloc(a, 4);
        uint32_t l;
        if (c < 0x80) {
            p[0] = (char)c, l = 1;
        } else if (c < 0x800) {
            p[0] = (char)(0xC0 | c >> 6), p[1] = (char)(0x80 | (c & 0x3F)), l = 2;
        } else if (c < 0x10000) {
            p[0] = (char)(0xE0 | c >> 12), p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            p[2] = (char)(0x80 | (c & 0x3F)), l = 3;
        } else {
            p[0] = (char)(0xF0 | c >> 18), p[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            p[2] = (char)(0x80 | ((c >> 6) & 0x3F)), p[3] = (char)(0x80 | (c & 0x3F)), l = 4;
        }
        out->d.s[i] = (strv){p, l};
    }
    return 0;
}

/* to_hex(i): lower-case hex; a negative number as its 64-bit two's complement (Rust's {:x}) */
static int fn_to_hex(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    func_same_valid(out, &args[0]);
    for (uint32_t i = 0; i < n; i++) {
        char tmp[24];
        int l = snprintf(tmp, sizeof tmp, "%" PRIx64, (uint64_t)args[0].d.i64[i]);
        out->d.s[i] = str_dup(a, tmp, (size_t)l);
    }
    return 0;
}

/* ------------------------------------------------------------------ the table */

#define STR_ONLY(nm) "The \"" nm "\" function can only accept strings."
#define STR_BIN_ONLY(nm) "The \"" nm "\" function can only accept strings or binary arrays."
#define RULE(ck, why_, kaux) (&(const struct str_rule){(ck), (why_), (kaux)})
/* A row bound by bind_str: arguments cast here, first argument checked by rule. */
#define STRFN(nm, sg, rt, fn, rule)                                                                \
    {                                                                                              \
        .name = (nm), .sig = sg, .ret = (rt), .eval = (fn), .aux = (rule), .bind = bind_str,       \
        .raw_args = true                                                                           \
    }

/* Another name of a function: DataFusion shows (and names in its messages) the function. */
#define ALIAS(nm, canon, sg, rt, fn, rule)                                                         \
    {                                                                                              \
        .name = (nm), .display = (canon), .sig = sg, .ret = (rt), .eval = (fn), .aux = (rule),     \
        .bind = bind_str, .raw_args = true                                                         \
    }

#define SIG_S1 SIG_UNI(1, DT_STRINGS)
#define SIG_S1_OPT2 SIG_ONEOF(SIG_EX(DT_UTF8), SIG_EX(DT_UTF8, DT_UTF8))
#define SIG_SI SIG_ONEOF(SIG_EX(DT_UTF8, DT_I64), SIG_EX(DT_LUTF8, DT_I64))
#define SIG_S3 SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8, DT_UTF8))
#define SIG_PAD                                                                                    \
    SIG_ONEOF(SIG_EX(DT_UTF8, DT_I64), SIG_EX(DT_LUTF8, DT_I64), SIG_EX(DT_UTF8, DT_I64, DT_UTF8), \
              SIG_EX(DT_LUTF8, DT_I64, DT_UTF8), SIG_EX(DT_UTF8, DT_I64, DT_LUTF8),                \
              SIG_EX(DT_LUTF8, DT_I64, DT_LUTF8))
#define SIG_PAIRS                                                                                  \
    SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8), SIG_EX(DT_UTF8, DT_LUTF8), SIG_EX(DT_LUTF8, DT_UTF8),      \
              SIG_EX(DT_LUTF8, DT_LUTF8))
#define SIG_CODED                                                                                  \
    SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8), SIG_EX(DT_LUTF8, DT_UTF8), SIG_EX(DT_BIN, DT_UTF8),        \
              SIG_EX(DT_LBIN, DT_UTF8))

#define NOCHECK(kaux) RULE(CK_NONE, NULL, kaux)

const fn_def func_string_defs[] = {
    STRFN("ascii", SIG_S1, VT_I64, fn_ascii, NOCHECK(NULL)),
    STRFN("bit_length", SIG_S1, VT_I64, fn_length, RULE(CK_STR, STR_ONLY("bit_length"), "b")),
    STRFN("octet_length", SIG_S1, VT_I64, fn_length, RULE(CK_STR, STR_ONLY("octet_length"), "o")),
    STRFN("character_length", SIG_S1, VT_I64, fn_length,
          RULE(CK_STR, STR_ONLY("character_length"), NULL)),
    ALIAS("length", "character_length", SIG_S1, VT_I64, fn_length,
          RULE(CK_STR, STR_ONLY("character_length"), NULL)),
    ALIAS("char_length", "character_length", SIG_S1, VT_I64, fn_length,
          RULE(CK_STR, STR_ONLY("character_length"), NULL)),
    STRFN("lower", SIG_S1, VT_STR, fn_case, RULE(CK_STR, STR_ONLY("lower"), "l")),
    STRFN("upper", SIG_S1, VT_STR, fn_case, RULE(CK_STR, STR_ONLY("upper"), "u")),
    STRFN("initcap", SIG_S1, VT_STR, fn_case, RULE(CK_STR, STR_ONLY("initcap"), "i")),
    STRFN("btrim", SIG_S1_OPT2, VT_STR, fn_trim, RULE(CK_STR, STR_ONLY("btrim"), "b")),
    STRFN("trim", SIG_S1_OPT2, VT_STR, fn_trim, RULE(CK_STR, STR_ONLY("trim"), "b")),
    STRFN("ltrim", SIG_S1_OPT2, VT_STR, fn_trim, RULE(CK_STR, STR_ONLY("ltrim"), "l")),
    /* sic: DataFusion 27 names rtrim "rtrimp" in this message */
    STRFN("rtrim", SIG_S1_OPT2, VT_STR, fn_trim, RULE(CK_STR, STR_ONLY("rtrimp"), "r")),
    STRFN("left", SIG_SI, VT_STR, fn_left_right, RULE(CK_STR, STR_ONLY("left"), "l")),
    STRFN("right", SIG_SI, VT_STR, fn_left_right, RULE(CK_STR, STR_ONLY("right"), "r")),
    STRFN("repeat", SIG_SI, VT_STR, fn_repeat, RULE(CK_STR, STR_ONLY("repeat"), NULL)),
    STRFN("lpad", SIG_PAD, VT_STR, fn_pad, RULE(CK_STR, STR_ONLY("lpad"), "l")),
    STRFN("rpad", SIG_PAD, VT_STR, fn_pad, RULE(CK_STR, STR_ONLY("rpad"), "r")),
    STRFN("replace", SIG_S3, VT_STR, fn_replace, RULE(CK_STR, STR_ONLY("replace"), NULL)),
    STRFN("translate", SIG_S3, VT_STR, fn_translate, RULE(CK_STR, STR_ONLY("translate"), NULL)),
    STRFN("reverse", SIG_S1, VT_STR, fn_reverse, RULE(CK_STR, STR_ONLY("reverse"), NULL)),
    STRFN("strpos", SIG_PAIRS, VT_I64, fn_strpos, RULE(CK_STR, STR_ONLY("strpos"), NULL)),
    ALIAS("instr", "strpos", SIG_PAIRS, VT_I64, fn_strpos, RULE(CK_STR, STR_ONLY("strpos"), NULL)),
    STRFN("substr",
          SIG_ONEOF(SIG_EX(DT_UTF8, DT_I64), SIG_EX(DT_LUTF8, DT_I64),
                    SIG_EX(DT_UTF8, DT_I64, DT_I64), SIG_EX(DT_LUTF8, DT_I64, DT_I64)),
          VT_STR, fn_substr, RULE(CK_STR, STR_ONLY("substr"), NULL)),
    STRFN("split_part",
          SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8, DT_I64), SIG_EX(DT_LUTF8, DT_UTF8, DT_I64),
                    SIG_EX(DT_UTF8, DT_LUTF8, DT_I64), SIG_EX(DT_LUTF8, DT_LUTF8, DT_I64)),
          VT_STR, fn_split_part, RULE(CK_STR, STR_ONLY("split_part"), NULL)),
    STRFN("starts_with", SIG_PAIRS, VT_BOOL, fn_starts_with, NOCHECK(NULL)),
    STRFN("ends_with", SIG_PAIRS, VT_BOOL, fn_starts_with, NOCHECK("ends")),
    STRFN("concat", SIG_VAR(DT_UTF8), VT_STR, fn_concat, NOCHECK(NULL)),
    STRFN("concat_ws", SIG_VAR(DT_UTF8), VT_STR, fn_concat, NOCHECK("ws")),
    STRFN("chr", SIG_UNI(1, DT_I64), VT_STR, fn_chr, NOCHECK(NULL)),
    STRFN("to_hex", SIG_UNI(1, DT_I64), VT_STR, fn_to_hex,
          RULE(CK_INT, "The to_hex function can only accept integers.", NULL)),
    STRFN("md5", SIG_UNI(1, DT_BINARIES), VT_STR, fs_md5, RULE(CK_STR, STR_ONLY("md5"), NULL)),
    STRFN("sha224", SIG_UNI(1, DT_BINARIES), VT_STR, fs_sha,
          RULE(CK_STR_BIN, STR_BIN_ONLY("sha224"), "sha224")),
    STRFN("sha256", SIG_UNI(1, DT_BINARIES), VT_STR, fs_sha,
          RULE(CK_STR_BIN, STR_BIN_ONLY("sha256"), "sha256")),
    STRFN("sha384", SIG_UNI(1, DT_BINARIES), VT_STR, fs_sha,
          RULE(CK_STR_BIN, STR_BIN_ONLY("sha384"), "sha384")),
    STRFN("sha512", SIG_UNI(1, DT_BINARIES), VT_STR, fs_sha,
          RULE(CK_STR_BIN, STR_BIN_ONLY("sha512"), "sha512")),
    STRFN("digest", SIG_CODED, VT_STR, fs_digest, RULE(CK_STR_BIN, STR_BIN_ONLY("digest"), NULL)),
    STRFN("encode", SIG_CODED, VT_STR, fs_encode,
          RULE(CK_STR_BIN, "The encode function can only accept utf8 or binary.", NULL)),
    STRFN("decode", SIG_CODED, VT_STR, fs_decode,
          RULE(CK_STR_BIN, "The decode function can only accept utf8 or binary.", NULL)),
    STRFN("uuid", SIG_EX0, VT_STR, fs_uuid, NOCHECK(NULL)),
    STRFN("regexp_match",
          SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8), SIG_EX(DT_LUTF8, DT_UTF8),
                    SIG_EX(DT_UTF8, DT_UTF8, DT_UTF8), SIG_EX(DT_LUTF8, DT_UTF8, DT_UTF8)),
          VT_LIST, fs_regexp_match,
          RULE(CK_STR, "The regexp_extract function can only accept strings.", NULL)),
    STRFN("regexp_replace",
          SIG_ONEOF(SIG_EX(DT_UTF8, DT_UTF8, DT_UTF8), SIG_EX(DT_UTF8, DT_UTF8, DT_UTF8, DT_UTF8)),
          VT_STR, fs_regexp_replace, RULE(CK_STR, STR_ONLY("regex_replace"), NULL)),
    {.name = NULL},
};
