/* LIKE patterns: see pattern.h. */
#include "sql/pattern.h"

#include "sql/expr.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* One run of the pattern between `%` signs: len tokens at off in the pattern's byte and
 * wildcard arrays. */
struct seg {
    uint32_t off, len;
    bool wild; /* holds a `_` */
};

struct like_pat {
    char *bytes;  /* literal bytes of every segment, lowered for ILIKE; 0 at a `_` */
    uint8_t *isw; /* 1 where the token is `_` */
    struct seg *segs;
    uint32_t nsegs;
    bool lead, trail; /* the pattern begins / ends with `%` */
    bool ci;
};

/* Searches longer than this many token comparisons check the budget now and then. */
#define LIKE_WORK_CHECK (1u << 20)

static inline bool utf8_cont(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

like_pat *like_compile(arena *a, strv p, bool ci) {
    like_pat *pt = arena_calloc(a, sizeof *pt);
    pt->ci = ci;
    uint32_t npct = 0;
    for (uint32_t i = 0; i < p.len; i++) npct += p.p[i] == '%';
    pt->bytes = arena_alloc(a, p.len + 1);
    pt->isw = arena_alloc(a, p.len + 1);
    pt->segs = arena_alloc(a, sizeof *pt->segs * (npct + 1));
    uint32_t pos = 0, start = 0;
    bool last_pct = false;
    pt->lead = p.len > 0 && p.p[0] == '%';
    for (uint32_t i = 0; i < p.len;) {
        char c = p.p[i];
        if (c == '%') {
            if (pos > start) pt->segs[pt->nsegs++] = (struct seg){start, pos - start, false};
            start = pos;
            while (i < p.len && p.p[i] == '%') i++;
            last_pct = true;
            continue;
        }
        last_pct = false;
        bool w = c == '_';
        if (c == '\\' && i + 1 < p.len) c = p.p[++i]; /* a trailing backslash is literal */
        pt->isw[pos] = w;
        pt->bytes[pos] = w ? 0 : ci ? (char)tolower((unsigned char)c) : c;
        pos++;
        i++;
    }
    if (pos > start) pt->segs[pt->nsegs++] = (struct seg){start, pos - start, false};
    pt->trail = last_pct;
    for (uint32_t k = 0; k < pt->nsegs; k++)
        for (uint32_t t = 0; t < pt->segs[k].len && !pt->segs[k].wild; t++)
            pt->segs[k].wild = pt->isw[pt->segs[k].off + t];
    return pt;
}

/* Segment sg matched forward from t (not past e): its end in *end. */
static bool match_at(const like_pat *pt, const struct seg *sg, const char *t, const char *e,
                     const char **end) {
    const char *b = pt->bytes + sg->off;
    const uint8_t *w = pt->isw + sg->off;
    for (uint32_t k = 0; k < sg->len; k++) {
        if (t >= e) return false;
        if (w[k]) {
            t++;
            while (t < e && utf8_cont((unsigned char)*t)) t++;
        } else {
            if (*t != b[k]) return false;
            t++;
        }
    }
    *end = t;
    return true;
}

/* Segment sg matched backward so that it ends exactly at e, not starting before lo: its
 * start in *start. */
static bool match_end(const like_pat *pt, const struct seg *sg, const char *lo, const char *e,
                      const char **start) {
    const char *b = pt->bytes + sg->off;
    const uint8_t *w = pt->isw + sg->off;
    const char *t = e;
    for (uint32_t k = sg->len; k-- > 0;) {
        if (t <= lo) return false;
        if (w[k]) {
            t--;
            while (t > lo && utf8_cont((unsigned char)*t)) t--;
        } else {
            if (t[-1] != b[k]) return false;
            t--;
        }
    }
    *start = t;
    return true;
}

/* Leftmost occurrence of sg in [*t, e): 1 (and *t moved past it), 0, or -1 (budget). */
static int find_seg(const like_pat *pt, const struct seg *sg, const char **t, const char *e,
                    uint64_t *work, arena *a, err *er) {
    if (!sg->wild) {
        const char *m = memmem(*t, (size_t)(e - *t), pt->bytes + sg->off, sg->len);
        if (!m) return 0;
        *t = m + sg->len;
        return 1;
    }
    for (const char *s = *t; s < e; s++) {
        const char *end;
        if (match_at(pt, sg, s, e, &end)) {
            *t = end;
            return 1;
        }
        *work += sg->len;
        if (*work >= LIKE_WORK_CHECK) {
            *work = 0;
            if (budget_check(arena_get_budget(a), er) < 0) return -1;
        }
    }
    return 0;
}

int like_match(const like_pat *pt, strv s, arena *a, err *er) {
    const char *t = s.p, *e = s.p + s.len;
    if (pt->ci && s.len) {
        char *low = arena_alloc(a, s.len);
        for (uint32_t i = 0; i < s.len; i++) low[i] = (char)tolower((unsigned char)s.p[i]);
        t = low;
        e = low + s.len;
    }
    if (pt->nsegs == 0) return pt->lead || t == e; /* only `%`s, or the empty pattern */
    uint32_t first = 0, last = pt->nsegs;          /* middle segments: [first, last) */
    if (!pt->lead) {
        const char *end;
        if (!match_at(pt, &pt->segs[0], t, e, &end)) return 0;
        if (pt->nsegs == 1 && !pt->trail) return end == e;
        t = end;
        first = 1;
    }
    const char *limit = e;
    if (!pt->trail && last > first) {
        if (!match_end(pt, &pt->segs[last - 1], t, e, &limit)) return 0;
        last--;
    }
    uint64_t work = 0;
    for (uint32_t k = first; k < last; k++) {
        int rc = find_seg(pt, &pt->segs[k], &t, limit, &work, a, er);
        if (rc <= 0) return rc;
    }
    return 1;
}

/* ------------------------------------------------------------------ regular expressions */

struct regex_pat {
    pcre2_code *code;
};

struct regex_run {
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

/* Compilation allocates from the query's arena (counted in its budget, freed with it), so the
 * code needs no pcre2_code_free; frees are no-ops. */
static void *re_alloc(PCRE2_SIZE n, void *data) {
    return arena_alloc(data, n);
}
static void re_free(void *p, void *data) {
    (void)p;
    (void)data;
}

regex_pat *regex_compile(arena *a, strv p, bool ci, err *er) {
    pcre2_general_context *gc = pcre2_general_context_create(re_alloc, re_free, a);
    pcre2_compile_context *cc = pcre2_compile_context_create(gc);
    int ecode;
    PCRE2_SIZE eoff;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                    (ci ? PCRE2_CASELESS : 0);
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)(p.len ? p.p : ""), p.len, opts, &ecode, &eoff, cc);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        err_set(er, 422, EC_QUERY_INTERNAL,
                "Arrow error: Compute error: Regular expression did not compile: %s at offset %zu "
                "of '%.*s'",
                (const char *)msg, (size_t)eoff, (int)(p.len > 200 ? 200 : p.len), p.p);
        return NULL;
    }
    regex_pat *re = arena_alloc(a, sizeof *re);
    re->code = code;
    return re;
}

regex_run *regex_begin(void) {
    regex_run *run = xcalloc(1, sizeof *run);
    run->md = pcre2_match_data_create(1, NULL);
    run->mc = pcre2_match_context_create(NULL);
    if (!run->md || !run->mc) abort(); /* malloc failed: as xmalloc does */
    pcre2_set_match_limit(run->mc, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(run->mc, REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(run->mc, REGEX_HEAP_LIMIT);
    return run;
}

static int regex_fail(int rc, strv s, err *er) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Execution error: regular expression gave up on a value of %u bytes: %s (at "
                   "most %u backtracking steps, depth %u and %u KiB per value)",
                   s.len, (const char *)msg, REGEX_MATCH_LIMIT, REGEX_DEPTH_LIMIT,
                   REGEX_HEAP_LIMIT);
}

int regex_exec(regex_run *run, const regex_pat *re, strv s, err *er) {
    int rc = pcre2_match(re->code, (PCRE2_SPTR)(s.len ? s.p : ""), s.len, 0, 0, run->md, run->mc);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    return regex_fail(rc, s, er);
}

int regex_groups(regex_run *run, const regex_pat *re, strv s, size_t start, const size_t **ov,
                 uint32_t *ngroups, err *er) {
    uint32_t groups = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    groups++; /* the whole match */
    if (pcre2_get_ovector_count(run->md) < groups) {
        pcre2_match_data_free(run->md);
        run->md = pcre2_match_data_create(groups, NULL);
        if (!run->md) abort(); /* malloc failed: as xmalloc does */
    }
    int rc =
        pcre2_match(re->code, (PCRE2_SPTR)(s.len ? s.p : ""), s.len, start, 0, run->md, run->mc);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) return regex_fail(rc, s, er);
    *ov = pcre2_get_ovector_pointer(run->md);
    *ngroups = groups;
    return 1;
}

long regex_group_number(const regex_pat *re, const char *name, size_t len) {
    char tmp[64];
    if (len >= sizeof tmp) return -1;
    memcpy(tmp, name, len);
    tmp[len] = 0;
    int g = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)tmp);
    return g < 0 ? -1 : g;
}

void regex_end(regex_run *run) {
    if (!run) return;
    pcre2_match_data_free(run->md);
    pcre2_match_context_free(run->mc);
    free(run);
}
