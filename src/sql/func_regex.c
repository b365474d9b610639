/* regexp_match and regexp_replace: the kernels func_string.c's table names (see
 * func_str_int.h), on the PCRE2 wrapper of sql/pattern.h.
 *
 * DataFusion runs Rust's regex crate; PCRE2 accepts its syntax, and the differences that
 * show in results are handled here: flags go in front of the pattern as `(?flags)` (Rust's
 * `u` is PCRE2's default, so it is dropped), `$` is end-of-text only (PCRE2_DOLLAR_ENDONLY in
 * regex_compile), an empty match right after the previous match is skipped when replacing
 * every match (Rust's find_iter), and a replacement is expanded as Rust's Captures::expand
 * after DataFusion's rewrite of PostgreSQL's `\1` into `${1}`.
 *
 * regexp_match answers DataFusion's List(Utf8) (util/vlist.h), without the groups that took no
 * part in the match (as arrow's kernel leaves them out). A pattern is compiled once per batch when
 * it is the same on every row (a constant, or a column that repeats), else once per row. */
#include "sql/func_str_int.h"

#include "sql/pattern.h"
#include "util/buf.h"
#include "util/vlist.h"

#include <string.h>

/* The compiled form of the current row's pattern and flags, kept while they repeat. */
struct re_cache {
    strv pat, flags;
    bool have;
    const regex_pat *re;
};

/* (?flags)pattern for flags given as DataFusion takes them; `g` was handled by the caller. */
static const regex_pat *cache_get(struct re_cache *c, strv pat, strv flags, arena *a, err *er) {
    if (c->have && c->pat.len == pat.len && c->flags.len == flags.len &&
        !memcmp(c->pat.p, pat.p, pat.len) && !memcmp(c->flags.p, flags.p, flags.len))
        return c->re;
    buf b;
    buf_init(&b);
    bool any = false;
    for (uint32_t i = 0; i < flags.len; i++)
        if (flags.p[i] != 'g' && flags.p[i] != 'u') {
            if (!any) buf_puts(&b, "(?");
            buf_putc(&b, flags.p[i]);
            any = true;
        }
    if (any) buf_putc(&b, ')');
    buf_append(&b, pat.p, pat.len);
    const regex_pat *re = regex_compile(a, (strv){b.p ? b.p : "", (uint32_t)b.len}, false, er);
    buf_free(&b);
    if (!re) return NULL;
    *c = (struct re_cache){pat, flags, true, re};
    return re;
}

static bool has_flag(strv flags, char f) {
    return flags.len && memchr(flags.p, f, flags.len) != NULL;
}

/* One row of a regular-expression function, its arguments all non-NULL. */
typedef int (*re_row)(const bexpr *e, vec *args, uint32_t i, arena *a, struct re_cache *c,
                      regex_run *run, vec *out, err *er);

static int regex_rows(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er,
                      re_row row) {
    struct re_cache c = {0};
    regex_run *run = regex_begin();
    int rc = 0;
    out->valid = NULL;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (func_row_valid(a, args, e->nargs, i, out)) rc = row(e, args, i, a, &c, run, out, er);
    regex_end(run);
    return rc;
}

/* regexp_match(s, pattern [, flags]): the groups of the first match ("[whole match]" for a
 * pattern without groups), NULL when nothing matches */
static int match_row(const bexpr *e, vec *args, uint32_t i, arena *a, struct re_cache *c,
                     regex_run *run, vec *out, err *er) {
    strv s = args[0].d.s[i], flags = e->nargs > 2 ? args[2].d.s[i] : (strv){"", 0};
    if (has_flag(flags, 'g'))
        return fs_exec_err(e, er, "Arrow error: Compute error",
                           "regexp_match() does not support the \"global\" option");
    const regex_pat *re = cache_get(c, args[1].d.s[i], flags, a, er);
    const size_t *ov;
    uint32_t ng;
    int m = re ? regex_groups(run, re, s, 0, &ov, &ng, er) : -1;
    if (m <= 0) {
        if (m == 0) vec_set_null(a, out, i);
        return m;
    }
    value *groups = arena_alloc(a, sizeof *groups * ng);
    uint32_t k = 0;
    for (uint32_t g = ng > 1 ? 1 : 0; g < ng; g++) {
        if (ov[2 * g] == REGEX_UNSET) continue; /* a group that took no part: left out */
        groups[k] = (value){.type = VT_STR};
        groups[k++].v.s = (strv){s.p + ov[2 * g], (uint32_t)(ov[2 * g + 1] - ov[2 * g])};
    }
    out->d.s[i] = vlist_make(a, VT_STR, groups, k);
    return 0;
}

int fs_regexp_match(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    return regex_rows(e, args, n, a, out, er, match_row);
}

/* Appends group g of the match (nothing for a group that does not exist or took no part). */
static void put_group(buf *b, strv s, const size_t *ov, uint32_t ng, long g) {
    if (g < 0 || (uint32_t)g >= ng || ov[2 * g] == REGEX_UNSET) return;
    buf_append(b, s.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

static bool name_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Group g named by rep[from, to): a number, else a group name (-1 when none). */
static long group_ref(const regex_pat *re, const char *p, size_t len) {
    if (!len) return -1;
    long g = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return regex_group_number(re, p, len);
        g = g * 10 + (p[i] - '0');
        if (g > 65535) return -1;
    }
    return g;
}

/* The replacement of one match: rep after DataFusion's rewrite of `\digits` into
 * `${digits}` (so a lone backslash names the empty group: nothing), expanded as Rust's
 * Captures::expand: `$$` is `$`, `$name` takes the longest run of [0-9A-Za-z_], `${name}`
 * what is between the braces, and a `$` that starts neither is itself. */
static void expand(buf *b, const regex_pat *re, strv rep, strv s, const size_t *ov, uint32_t ng) {
    const char *p = rep.p, *e = rep.p + rep.len;
    while (p < e) {
        if (*p == '\\') {
            const char *d = p + 1;
            while (d < e && *d >= '0' && *d <= '9') d++;
            put_group(b, s, ov, ng, group_ref(re, p + 1, (size_t)(d - p - 1)));
            p = d;
            continue;
        }
        if (*p != '$' || p + 1 >= e) {
            buf_putc(b, *p++);
            continue;
        }
        if (p[1] == '$') {
            buf_putc(b, '$');
            p += 2;
        } else if (p[1] == '{') {
            const char *close = memchr(p + 2, '}', (size_t)(e - p - 2));
            if (!close) {
                buf_putc(b, *p++);
                continue;
            }
            put_group(b, s, ov, ng, group_ref(re, p + 2, (size_t)(close - p - 2)));
            p = close + 1;
        } else {
            const char *d = p + 1;
            while (d < e && name_char(*d)) d++;
            if (d == p + 1) {
                buf_putc(b, *p++);
                continue;
            }
            put_group(b, s, ov, ng, group_ref(re, p + 1, (size_t)(d - p - 1)));
            p = d;
        }
    }
}

/* regexp_replace(s, pattern, replacement [, flags]): the first match replaced, every one
 * with flag g */
static int replace_row(const bexpr *e, vec *args, uint32_t i, arena *a, struct re_cache *c,
                       regex_run *run, vec *out, err *er) {
    strv s = args[0].d.s[i], rep = args[2].d.s[i];
    strv flags = e->nargs > 3 ? args[3].d.s[i] : (strv){"", 0};
    bool all = has_flag(flags, 'g');
    const regex_pat *re = cache_get(c, args[1].d.s[i], flags, a, er);
    if (!re) return -1;
    buf b;
    buf_init(&b);
    int rc = 0;
    size_t pos = 0, copied = 0, last_end = SIZE_MAX;
    for (;;) {
        const size_t *ov;
        uint32_t ng;
        int m = regex_groups(run, re, s, pos, &ov, &ng, er);
        if (m < 0) rc = -1;
        if (m <= 0) break;
        size_t ms = ov[0], me = ov[1];
        if (ms == me && ms == last_end) {
            /* an empty match where the previous one ended: Rust moves on */
            if (ms >= s.len) break;
            pos = ms + fs_char_len(s.p + ms, s.p + s.len);
            continue;
        }
        buf_append(&b, s.p + copied, ms - copied);
        expand(&b, re, rep, s, ov, ng);
        copied = last_end = me;
        if (!all || (me == ms && ms >= s.len)) break;
        pos = me;
        if ((rc = budget_check(arena_get_budget(a), er)) < 0) break;
    }
    if (rc == 0) {
        buf_append(&b, s.p + copied, s.len - copied);
        rc = str_len_check(b.len, er);
        if (rc == 0)
            out->d.s[i] = (strv){b.len ? arena_strndup(a, b.p, b.len) : "", (uint32_t)b.len};
    }
    buf_free(&b);
    return rc;
}

int fs_regexp_replace(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    return regex_rows(e, args, n, a, out, er, replace_row);
}
