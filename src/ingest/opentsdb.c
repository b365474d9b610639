/* OpenTSDB text (telnet-style `put` lines) and JSON (`/api/put`) parsers: see opentsdb.h.
 *
 * Text choices (CnosDB takes one integer point per request; Strata a superset):
 * - any number of lines; blank lines are skipped; a `\r` before `\n` is dropped;
 * - tokens are separated by runs of spaces or tabs; tag pairs also by commas;
 * - a first token of exactly `put` is the telnet command and is skipped, so a metric named
 *   `put` must be written `put put ...`;
 * - the timestamp is a signed int64 and the value a decimal number (integer, fraction or
 *   exponent; no NaN, infinity or hex), stored as DOUBLE;
 * - zero tags are accepted (OpenTSDB wants one); each tag is `key=value` with both non-empty,
 *   split at the first `=`; `time` is refused as a tag key as it is the time column.
 * Invalid UTF-8 fails as in line protocol (040015, 422) before any parsing.
 *
 * JSON is read by a streaming reader (below), one element of the top array at a time; strings
 * without escapes point into the body. */
#include "ingest/opentsdb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest/point_scan.h"
#include "util/names.h"

static const char VALUE_KEY[] = "value";

/* Scratch tag list, grown in the arena; each point gets an exact copy. */
typedef struct tagbuf {
    pt_tag *v;
    uint32_t n, cap;
} tagbuf;

static pt_tag *tagbuf_push(arena *a, tagbuf *t) {
    if (t->n == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 16;
        t->v = arena_realloc(a, t->v, t->cap * sizeof *t->v, ncap * sizeof *t->v);
        t->cap = ncap;
    }
    return &t->v[t->n++];
}

/* Checks the names of a point (metric, tag keys) and its tag values (no NUL): 0, or -1 with a
 * message for the caller's prefix in msg. */
static int check_names(strv metric, const tagbuf *t, char *msg, size_t cap) {
    err e;
    if (names_check(NAME_TABLE, metric.p, metric.len, 400, "", &e) < 0) goto bad;
    for (uint32_t i = 0; i < t->n; i++) {
        if (names_check(NAME_COLUMN, t->v[i].key.p, t->v[i].key.len, 400, "", &e) < 0) goto bad;
        if (memchr(t->v[i].val.p, 0, t->v[i].val.len)) {
            char show[96];
            utf8_show(show, sizeof show, t->v[i].val.p, t->v[i].val.len);
            snprintf(msg, cap, "tag value '%s' holds a NUL byte", show);
            return -1;
        }
    }
    return 0;
bad:
    snprintf(msg, cap, "%s", e.msg);
    return -1;
}

/* Appends the point for table/tags/ts/value and puts it in canonical order. Returns 0, or
 * 1 + the index of a repeated tag key in the point's (sorted) tags. */
static uint32_t emit(arena *a, point_batch *out, strv table, const tagbuf *t, int64_t ts,
                     double val, uint32_t line) {
    point *pt = point_batch_push(a, out);
    pt->table = table;
    pt->line = line;
    pt->has_ts = true;
    pt->ts = ts;
    pt->ntags = t->n;
    if (t->n) {
        pt->tags = arena_alloc(a, t->n * sizeof *pt->tags);
        memcpy(pt->tags, t->v, t->n * sizeof *pt->tags);
    }
    pt->nfields = 1;
    pt->fields = arena_calloc(a, sizeof *pt->fields);
    pt->fields[0].key = (strv){VALUE_KEY, sizeof VALUE_KEY - 1};
    pt->fields[0].type = VT_F64;
    pt->fields[0].v.f = val;
    return point_normalize(pt);
}

/* The message for a repeated tag key found by emit. */
static void dup_msg(const point_batch *out, uint32_t dup, char *msg, size_t cap) {
    const point *pt = &out->pts[out->n - 1];
    char show[96];
    utf8_show(show, sizeof show, pt->tags[dup - 1].key.p, pt->tags[dup - 1].key.len);
    snprintf(msg, cap, "duplicate tag key '%s'", show);
}

static inline bool is_time(strv k) {
    return k.len == 4 && memcmp(k.p, "time", 4) == 0;
}

/* ---- text ---------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int text_fail(err *e, uint32_t line, const char *fmt,
                                                           ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, 400, EC_OPENTSDB_TEXT, "Error parsing message: line %u: %s", line, msg);
}

static inline bool is_blank(char ch) {
    return ch == ' ' || ch == '\t';
}

/* Next token of line [*p, e) separated by blanks (and commas when `comma`), or false. */
static bool next_token(const char **p, const char *e, bool comma, strv *tok) {
    const char *s = *p;
    while (s < e && (is_blank(*s) || (comma && *s == ','))) s++;
    if (s == e) return false;
    const char *t = s;
    while (t < e && !is_blank(*t) && !(comma && *t == ',')) t++;
    *tok = (strv){s, (uint32_t)(t - s)};
    *p = t;
    return true;
}

static int text_line(arena *a, const char *ls, const char *le, uint32_t line, tagbuf *tags,
                     point_batch *out, err *e) {
    char show[96];
    strv tok;
    const char *p = ls;
    next_token(&p, le, false, &tok); /* the caller saw a non-blank byte */
    if (tok.len == 3 && !memcmp(tok.p, "put", 3) && !next_token(&p, le, false, &tok))
        return text_fail(e, line, "missing metric");
    strv metric = tok;

    if (!next_token(&p, le, false, &tok)) return text_fail(e, line, "missing timestamp");
    int64_t ts;
    bool ov;
    if (point_scan_i64(tok.p, tok.len, &ts, &ov) != tok.len || ov) {
        utf8_show(show, sizeof show, tok.p, tok.len);
        return text_fail(e, line, "invalid timestamp '%s'", show);
    }

    if (!next_token(&p, le, false, &tok)) return text_fail(e, line, "missing value");
    double v;
    if (point_scan_f64(tok.p, tok.len, &v) != tok.len || isinf(v)) {
        utf8_show(show, sizeof show, tok.p, tok.len);
        return text_fail(e, line, "invalid value '%s'", show);
    }

    tags->n = 0;
    while (next_token(&p, le, true, &tok)) {
        const char *eq = memchr(tok.p, '=', tok.len);
        if (!eq || eq == tok.p || eq == tok.p + tok.len - 1) {
            utf8_show(show, sizeof show, tok.p, tok.len);
            return text_fail(e, line, "invalid tag '%s', expected key=value", show);
        }
        pt_tag *t = tagbuf_push(a, tags);
        t->key = (strv){tok.p, (uint32_t)(eq - tok.p)};
        t->val = (strv){eq + 1, (uint32_t)(tok.p + tok.len - eq - 1)};
        if (is_time(t->key)) return text_fail(e, line, "'time' cannot be a tag key");
    }
    char msg[ERR_MSG_MAX];
    if (check_names(metric, tags, msg, sizeof msg) < 0) return text_fail(e, line, "%s", msg);
    uint32_t dup = emit(a, out, metric, tags, ts, v, line);
    if (dup) {
        dup_msg(out, dup, msg, sizeof msg);
        return text_fail(e, line, "%s", msg);
    }
    return 0;
}

int tsdb_text_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e) {
    const char *body = cur->body, *end = cur->end;
    if (cur->state == 0) {
        size_t len = (size_t)(end - body), bad;
        if (len > UINT32_MAX)
            return err_set(e, 400, EC_OPENTSDB_TEXT,
                           "Error parsing message: body larger than 4 GiB");
        if (!utf8_valid(body, len, &bad))
            return err_set(e, 422, EC_UTF8, "Invalid utf-8 sequence: line %u, byte offset %zu",
                           point_line_of(body, bad), bad);
        cur->state = 1;
    }
    const size_t n0 = out->n;
    tagbuf tags = {0};
    const char *p = cur->p;
    uint32_t line = cur->line;
    for (; p < end && out->n - n0 < max; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *ce = le > p && le[-1] == '\r' ? le - 1 : le;
        const char *s = p;
        while (s < ce && is_blank(*s)) s++;
        if (s < ce && text_line(a, s, ce, line, &tags, out, e)) {
            out->n = n0;
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    cur->p = p;
    cur->line = line;
    return p < end;
}

int tsdb_parse_text(arena *a, const char *body, size_t len, point_batch *out, err *e) {
    point_cursor cur;
    point_cursor_init(&cur, body, len);
    return tsdb_text_next(&cur, a, out, SIZE_MAX, e) < 0 ? -1 : 0;
}

/* ---- JSON ---------------------------------------------------------------------------- */

/* A streaming reader of the body, one element of the top array at a time: strings without
 * escapes point into the body, so a document costs its points and nothing else (a DOM, as
 * jansson builds, cost 8-16 times the body). Nesting inside an element is bounded. */
enum { JSON_MAX_DEPTH = 64 };

enum jkind { J_NONE = 0, J_STR, J_INT, J_REAL, J_BOOL, J_NULL, J_ARR, J_OBJ };

typedef struct jr {
    const char *body, *p, *end;
    arena *a;
    err *e;
    size_t elem;
    bool numeric_strings; /* OpenTSDB's own /api/put: "42.5" is a value, "1700000000" a time */
} jr;

/* A syntax error at p: 400 with the line and column, as jansson named them. */
static int jr_syntax(jr *j, const char *what) {
    int line = 1, col = 1;
    for (const char *q = j->body; q < j->p && q < j->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            col++;
        }
    }
    return err_set(j->e, 400, EC_OPENTSDB_JSON, "Error parsing message: %s at line %d column %d",
                   what, line, col);
}

__attribute__((format(printf, 3, 4))) static int json_fail(err *e, size_t elem, const char *fmt,
                                                           ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, 400, EC_OPENTSDB_JSON, "Error parsing message: element %zu: %s", elem, msg);
}

static inline bool is_digit_c(char c) {
    return c >= '0' && c <= '9';
}

static void jr_ws(jr *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* What a backslash and one character stand for; \u is handled apart. */
static const char json_escapes[128] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                       ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at p (the opening quote); *out its text (into the body unless it had escapes). */
static int jr_string(jr *j, strv *out) {
    const char *s = ++j->p, *q = s;
    bool esc = false;
    while (q < j->end && *q != '"') {
        if ((unsigned char)*q < 0x20) {
            j->p = q;
            return jr_syntax(j, "control character in a string");
        }
        if (*q == '\\') {
            esc = true;
            if (++q == j->end) break;
        }
        q++;
    }
    if (q >= j->end) {
        j->p = q;
        return jr_syntax(j, "unterminated string");
    }
    j->p = q + 1;
    if (!esc) {
        if (out) *out = (strv){s, (uint32_t)(q - s)};
        return 0;
    }
    /* Unescaping never lengthens the text (\uXXXX is 6 bytes for at most 3, a pair 12 for 4). */
    char *o = arena_alloc(j->a, (size_t)(q - s) + 1);
    size_t n = 0;
    for (const char *t = s; t < q;) {
        if (*t != '\\') {
            o[n++] = *t++;
            continue;
        }
        t++;
        unsigned char c = (unsigned char)*t++;
        if (c < 128 && json_escapes[c]) {
            o[n++] = json_escapes[c];
            continue;
        }
        switch (c) {
        case 'u': {
            uint32_t cp, lo;
            if (q - t < 4 || hex4(t, &cp) < 0) {
                j->p = t;
                return jr_syntax(j, "invalid \\u escape");
            }
            t += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                j->p = t;
                return jr_syntax(j, "invalid Unicode escape (lone low surrogate)");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - t < 6 || t[0] != '\\' || t[1] != 'u' || hex4(t + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    j->p = t;
                    return jr_syntax(j, "invalid Unicode escape (lone high surrogate)");
                }
                t += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default:
            j->p = t - 1;
            return jr_syntax(j, "invalid escape");
        }
    }
    if (out) *out = (strv){o, (uint32_t)n};
    return 0;
}

/* A number at p: J_INT (no fraction nor exponent, fits int64) or J_REAL. */
static int jr_number(jr *j, enum jkind *kind, int64_t *iv, double *dv) {
    const char *s = j->p, *q = s;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end || !is_digit_c(*q)) return jr_syntax(j, "invalid number");
    if (*q == '0')
        q++;
    else
        while (q < j->end && is_digit_c(*q)) q++;
    bool real = false;
    if (q < j->end && *q == '.') {
        real = true;
        if (++q >= j->end || !is_digit_c(*q)) return j->p = q, jr_syntax(j, "invalid number");
        while (q < j->end && is_digit_c(*q)) q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || !is_digit_c(*q)) return j->p = q, jr_syntax(j, "invalid number");
        while (q < j->end && is_digit_c(*q)) q++;
    }
    if (!real) {
        bool ov;
        if (point_scan_i64(s, (size_t)(q - s), iv, &ov) != (size_t)(q - s) || ov)
            return jr_syntax(j, "too big integer");
        *kind = J_INT;
        *dv = (double)*iv;
    } else {
        if (point_scan_f64(s, (size_t)(q - s), dv) != (size_t)(q - s) || isinf(*dv))
            return jr_syntax(j, "real number overflow");
        *kind = J_REAL;
    }
    j->p = q;
    return 0;
}

static int jr_word(jr *j, const char *w, enum jkind k, enum jkind *kind) {
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n)) return jr_syntax(j, "invalid token");
    j->p += n;
    *kind = k;
    return 0;
}

/* After a member or an element: 1 past a ',' (another follows), 0 past the closing bracket. */
static int jr_after(jr *j, char close) {
    jr_ws(j);
    if (j->p < j->end && *j->p == ',') {
        j->p++;
        return 1;
    }
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    return jr_syntax(j, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
}

/* A member's key and the ':' after it (key may be NULL). */
static int jr_key(jr *j, strv *key) {
    jr_ws(j);
    if (j->p >= j->end || *j->p != '"') return jr_syntax(j, "string or '}' expected");
    if (jr_string(j, key) < 0) return -1;
    jr_ws(j);
    if (j->p >= j->end || *j->p != ':') return jr_syntax(j, "':' expected");
    j->p++;
    return 0;
}

static int jr_value(jr *j, int depth, enum jkind *kind, strv *str, int64_t *iv, double *dv);

/* The members of an object or the elements of an array, after the opening bracket: skipped. */
static int jr_skip_container(jr *j, int depth, char close) {
    if (depth > JSON_MAX_DEPTH) return jr_syntax(j, "nesting too deep");
    jr_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    int more;
    do {
        enum jkind k;
        int64_t iv;
        double dv;
        if (close == '}' && jr_key(j, NULL) < 0) return -1;
        if (jr_value(j, depth, &k, NULL, &iv, &dv) < 0) return -1;
    } while ((more = jr_after(j, close)) > 0);
    return more;
}

/* Any value: its kind, and for strings and numbers its value (str may be NULL). */
static int jr_value(jr *j, int depth, enum jkind *kind, strv *str, int64_t *iv, double *dv) {
    jr_ws(j);
    if (j->p >= j->end) return jr_syntax(j, "unexpected end of input");
    switch (*j->p) {
    case '"':
        *kind = J_STR;
        return jr_string(j, str);
    case '{':
        *kind = J_OBJ;
        j->p++;
        return jr_skip_container(j, depth + 1, '}');
    case '[':
        *kind = J_ARR;
        j->p++;
        return jr_skip_container(j, depth + 1, ']');
    case 't':
        return jr_word(j, "true", J_BOOL, kind);
    case 'f':
        return jr_word(j, "false", J_BOOL, kind);
    case 'n':
        return jr_word(j, "null", J_NULL, kind);
    default:
        return jr_number(j, kind, iv, dv);
    }
}

/* One tag of the "tags" object, kept until the element is checked as a whole. */
typedef struct jtag {
    strv key, val;
    enum jkind kind;
} jtag;

typedef struct jtags {
    jtag *v;
    uint32_t n, cap;
} jtags;

/* The "tags" object, after its '{'. */
static int jr_tags(jr *j, jtags *t) {
    t->n = 0;
    jr_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    int more;
    do {
        if (t->n == t->cap) {
            uint32_t nc = t->cap ? t->cap * 2 : 16;
            t->v = arena_realloc(j->a, t->v, t->cap * sizeof *t->v, nc * sizeof *t->v);
            t->cap = nc;
        }
        jtag *g = &t->v[t->n++];
        memset(g, 0, sizeof *g);
        int64_t iv;
        double dv;
        if (jr_key(j, &g->key) < 0 || jr_value(j, 2, &g->kind, &g->val, &iv, &dv) < 0) return -1;
    } while ((more = jr_after(j, '}')) > 0);
    return more;
}

/* One element (an object at p), appended as a point. */
/* A quoted number, as OpenTSDB (Jackson) reads one where a number is due: J_INT or J_REAL for
 * a string that is wholly an integer or a finite decimal, J_STR (kept a string) otherwise. */
static enum jkind numeric_string(strv sv, int64_t *iv, double *dv) {
    bool ov;
    if (sv.len == 0) return J_STR;
    if (point_scan_i64(sv.p, sv.len, iv, &ov) == sv.len && !ov) {
        *dv = (double)*iv;
        return J_INT;
    }
    if (point_scan_f64(sv.p, sv.len, dv) == sv.len && isfinite(*dv)) return J_REAL;
    return J_STR;
}

static int jr_point(jr *j, jtags *jt, tagbuf *tags, point_batch *out) {
    size_t elem = j->elem;
    if (j->p >= j->end || *j->p != '{') {
        enum jkind k;
        int64_t iv;
        double dv;
        if (jr_value(j, 1, &k, NULL, &iv, &dv) < 0) return -1;
        return json_fail(j->e, elem, "expected an object");
    }
    j->p++;
    enum jkind mk = J_NONE, tk = J_NONE, vk = J_NONE, gk = J_NONE;
    strv metric = {0};
    int64_t ts = 0;
    double val = 0;
    jt->n = 0;
    jr_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        int more;
        do {
            strv key;
            if (jr_key(j, &key) < 0) return -1;
            jr_ws(j);
            enum jkind k;
            strv sv = {0};
            int64_t iv = 0;
            double dv = 0;
            /* A key given twice: the last one counts, as in every JSON reader. */
            if (key.len == 4 && !memcmp(key.p, "tags", 4) && j->p < j->end && *j->p == '{') {
                j->p++;
                if (jr_tags(j, jt) < 0) return -1;
                gk = J_OBJ;
            } else {
                if (jr_value(j, 1, &k, &sv, &iv, &dv) < 0) return -1;
                if (k == J_STR && j->numeric_strings) k = numeric_string(sv, &iv, &dv);
                if (key.len == 6 && !memcmp(key.p, "metric", 6)) {
                    mk = k;
                    metric = sv;
                } else if (key.len == 9 && !memcmp(key.p, "timestamp", 9)) {
                    tk = k;
                    ts = iv;
                } else if (key.len == 5 && !memcmp(key.p, "value", 5)) {
                    vk = k;
                    val = dv;
                } else if (key.len == 4 && !memcmp(key.p, "tags", 4)) {
                    gk = k;
                    jt->n = 0;
                }
            }
        } while ((more = jr_after(j, '}')) > 0);
        if (more < 0) return -1;
    }
    err *e = j->e;
    if (!mk) return json_fail(e, elem, "missing key 'metric'");
    if (!tk) return json_fail(e, elem, "missing key 'timestamp'");
    if (!vk) return json_fail(e, elem, "missing key 'value'");
    if (!gk) return json_fail(e, elem, "missing key 'tags'");
    if (mk != J_STR) return json_fail(e, elem, "'metric' must be a string");
    if (metric.len == 0) return json_fail(e, elem, "'metric' must not be empty");
    if (tk != J_INT) return json_fail(e, elem, "'timestamp' must be an integer");
    if (vk != J_INT && vk != J_REAL) return json_fail(e, elem, "'value' must be a number");
    if (gk != J_OBJ) return json_fail(e, elem, "'tags' must be an object");
    tags->n = 0;
    for (uint32_t i = 0; i < jt->n; i++) {
        const jtag *g = &jt->v[i];
        char show[96];
        utf8_show(show, sizeof show, g->key.p, g->key.len);
        if (g->key.len == 0) return json_fail(e, elem, "empty tag key");
        if (g->kind != J_STR) return json_fail(e, elem, "tag '%s' must be a string", show);
        if (g->val.len == 0) return json_fail(e, elem, "tag '%s' must not be empty", show);
        if (is_time(g->key)) return json_fail(e, elem, "'time' cannot be a tag key");
        pt_tag *t = tagbuf_push(j->a, tags);
        t->key = g->key;
        t->val = g->val;
    }
    char msg[ERR_MSG_MAX];
    if (check_names(metric, tags, msg, sizeof msg) < 0) return json_fail(e, elem, "%s", msg);
    uint32_t dup = emit(j->a, out, metric, tags, ts, val, (uint32_t)elem);
    if (dup) {
        dup_msg(out, dup, msg, sizeof msg);
        return json_fail(e, elem, "%s", msg);
    }
    return 0;
}

/* cursor states */
enum { JS_START = 0, JS_ARRAY, JS_END };

static int json_next(point_cursor *cur, arena *a, point_batch *out, size_t max, bool ot, err *e) {
    jr j = {.body = cur->body,
            .p = cur->p,
            .end = cur->end,
            .a = a,
            .e = e,
            .elem = cur->line,
            .numeric_strings = ot};
    const size_t n0 = out->n;
    tagbuf tags = {0};
    jtags jt = {0};
    int rc = 0;
    if (cur->state == JS_START) {
        size_t bad;
        if (!utf8_valid(j.body, (size_t)(j.end - j.body), &bad)) {
            j.p = j.body + bad;
            rc = jr_syntax(&j, "invalid UTF-8");
            goto out;
        }
        jr_ws(&j);
        if (j.p < j.end && *j.p == '[') {
            j.p++;
            jr_ws(&j);
            if (j.p < j.end && *j.p == ']') {
                j.p++;
                cur->state = JS_END;
            } else {
                cur->state = JS_ARRAY;
            }
        } else if (j.p < j.end && *j.p == '{') {
            rc = jr_point(&j, &jt, &tags, out);
            cur->state = JS_END;
        } else {
            enum jkind k;
            int64_t iv;
            double dv;
            if ((rc = jr_value(&j, 0, &k, NULL, &iv, &dv)) == 0)
                rc = err_set(e, 400, EC_OPENTSDB_JSON,
                             "Error parsing message: expected an object or an array of objects");
        }
    }
    while (rc == 0 && cur->state == JS_ARRAY && out->n - n0 < max) {
        jr_ws(&j);
        if ((rc = jr_point(&j, &jt, &tags, out)) < 0) break;
        j.elem++;
        int more = jr_after(&j, ']');
        if (more < 0)
            rc = -1;
        else if (more == 0)
            cur->state = JS_END;
    }
    if (rc == 0 && cur->state == JS_END) {
        jr_ws(&j);
        if (j.p < j.end) rc = jr_syntax(&j, "end of file expected");
    }
out:
    if (rc < 0) {
        out->n = n0;
        return -1;
    }
    cur->p = j.p;
    cur->line = (uint32_t)j.elem;
    return cur->state != JS_END;
}

int tsdb_parse_json(arena *a, const char *body, size_t len, point_batch *out, err *e) {
    point_cursor cur;
    point_cursor_init(&cur, body ? body : "", len);
    return tsdb_json_next(&cur, a, out, SIZE_MAX, e) < 0 ? -1 : 0;
}

void tsdb_units_to_ns(point_batch *pb) {
    for (size_t i = 0; i < pb->n; i++) {
        point *p = &pb->pts[i];
        if (!p->has_ts) continue;
        int64_t t = p->ts,
                mul = (t > -10000000000LL && t < 10000000000LL) ? 1000000000LL : 1000000LL;
        if (__builtin_mul_overflow(t, mul, &p->ts)) p->ts = t < 0 ? INT64_MIN : INT64_MAX;
    }
}

int tsdb_json_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e) {
    return json_next(cur, a, out, max, false, e);
}

int tsdb_json_ot_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e) {
    return json_next(cur, a, out, max, true, e);
}
