/* InfluxDB line-protocol parser: see lp.h for the contract.
 *
 * The parser is a hand-written scanner over the whole body, the hot path of ingestion. Names
 * and values point into the body (zero-copy) unless they contain an escape, in which case the
 * unescaped text is copied into the arena. Byte classes come from one 256-entry table so each
 * scanning loop is a load, a mask and a compare per byte, with no calls.
 *
 * Where Strata departs from CnosDB (see api-contract.md), on purpose:
 * - every error names the 1-based line; the byte offsets are into the body, as CnosDB gives;
 * - a newline always ends a line except inside a quoted string, so a line without fields is an
 *   error of its own rather than being glued to the next line;
 * - `\\` unescapes to one backslash (and `\"`, `\'` to the bare quote) in measurements, tag
 *   keys, tag values and field keys, where CnosDB keeps the two characters; so the stored name
 *   is the text the writer meant;
 * - in string field values a backslash before anything but `"` or `\` is kept literally (as
 *   InfluxDB does) instead of failing;
 * - integers beyond int64/uint64, NaN, infinities, hex floats and bare words are rejected; so
 *   are an empty tag value, an empty field key, `time` as a tag or field key, and garbage after
 *   the timestamp on any line (CnosDB ignores it on the last line);
 * - spaces after the last field or the timestamp are allowed.
 * Kept from CnosDB: field keys end only at `=` (spaces and commas inside them are literal), a
 * tag value may contain a bare `=` unless it also holds an escape ("invalid line protocol
 * syntax"), values are typed by their first byte, a plain number is a DOUBLE.
 * Like InfluxDB (CnosDB keeps the first occurrence of a key): a field key given twice keeps its
 * last value, a tag key given twice is an error. */
#include "ingest/lp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest/point_scan.h"
#include "util/names.h"

enum {
    C_COMMA = 1,
    C_SPACE = 2,
    C_EQ = 4,
    C_BSL = 8,
    C_NL = 16,
    C_CR = 32,
    C_ESC = 64,  /* may follow a backslash in a name */
    C_CTL = 128, /* a control character other than NUL, LF and CR */
    C_NUL = 256,
};

#define CTL_RANGE(a, b) [a... b] = C_CTL
static const uint16_t cls[256] = {
    CTL_RANGE(0x01, 0x09),   CTL_RANGE(0x0B, 0x0C), CTL_RANGE(0x0E, 0x1F),
    [0x7F] = C_CTL,          [0] = C_NUL,           [','] = C_COMMA | C_ESC,
    [' '] = C_SPACE | C_ESC, ['='] = C_EQ | C_ESC,  ['\\'] = C_BSL | C_ESC,
    ['"'] = C_ESC,           ['\''] = C_ESC,        ['\n'] = C_NL,
    ['\r'] = C_CR,
};

/* Where a name stops. Every class set includes backslash, newline, CR and NUL, which the
 * scanner looks at more closely. Names (measurement, tag and field keys) may hold no control
 * character (util/names.h); tag values only no NUL, which would cut them short. */
#define STOP_BAD (C_BSL | C_NL | C_CR | C_NUL)
#define STOP_MEAS (C_COMMA | C_SPACE | C_CTL | STOP_BAD)
#define STOP_TAG (C_COMMA | C_SPACE | C_EQ | C_CTL | STOP_BAD)
#define STOP_TAGV (C_COMMA | C_SPACE | C_EQ | STOP_BAD)
#define STOP_FKEY (C_EQ | C_CTL | STOP_BAD)
#define STOP_VALUE (C_COMMA | C_SPACE | C_NL | C_CR)

typedef struct lp {
    arena *a;
    const char *body, *end;
    err *e;
    uint32_t line; /* current physical line, 1-based */
    /* Scratch for the line being parsed; the finished point gets an exact-size copy. */
    pt_tag *tags;
    pt_field *fields;
    uint32_t ntags, tcap, nfields, fcap;
} lp;

static inline size_t off(const lp *c, const char *p) {
    return (size_t)(p - c->body);
}

static inline bool is_digit(unsigned char ch) {
    return (unsigned)(ch - '0') < 10u;
}

/* A CR ends a line only right before a LF or at the end of the body. */
static inline bool at_eol(const char *p, const char *end) {
    return p == end || *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

static inline bool at_value_end(const char *p, const char *end) {
    return at_eol(p, end) || *p == ',' || *p == ' ';
}

__attribute__((format(printf, 3, 4))) static int fail(lp *c, uint32_t line, const char *fmt, ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(c->e, 422, EC_LP_PARSE, "Error parsing message: line %u: %s", line, msg);
}

/* Length of the character at p (the body is valid UTF-8, checked first). */
static size_t char_len(const lp *c, const char *p) {
    unsigned char ch = (unsigned char)*p;
    size_t n = ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
    size_t left = (size_t)(c->end - p);
    return n < left ? n : left;
}

static int fail_token(lp *c, const char *p) {
    char show[32];
    utf8_show(show, sizeof show, p, char_len(c, p));
    return fail(c, c->line, "unexpect token '%s' at %zu", show, off(c, p));
}

static int fail_end(lp *c, uint32_t line, const char *start) {
    return fail(c, line, "unexpect end line start at '%zu'", off(c, start));
}

/* The end of an unquoted value: the first `,`, space or line end. */
static const char *value_end(const lp *c, const char *p) {
    for (;;) {
        while (p < c->end && !(cls[(unsigned char)*p] & STOP_VALUE)) p++;
        if (p < c->end && *p == '\r' && !at_eol(p, c->end)) {
            p++;
            continue;
        }
        return p;
    }
}

static int fail_value(lp *c, const char *p) {
    char show[96];
    utf8_show(show, sizeof show, p, (size_t)(value_end(c, p) - p));
    return fail(c, c->line, "invalid field value: '%s'", show);
}

/* Scans a name from p to its first unescaped byte of class `stop` (a CR only stops it at the
 * end of a line). *esc tells whether the name holds an escape; with eq non-NULL a bare `=`
 * does not stop the scan but is recorded in *eq (tag values). Returns the stop position, or
 * NULL with the error set. tok is where the token began and what names the token, for the
 * error message. */
static inline const char *scan_name(lp *c, const char *p, unsigned stop, bool *esc, bool *eq,
                                    const char *tok, const char *what) {
    const char *end = c->end;
    for (;;) {
        while (p < end && !(cls[(unsigned char)*p] & stop)) p++;
        if (p == end) return p;
        unsigned k = cls[(unsigned char)*p];
        if (k & (C_CTL | C_NUL)) {
            fail(c, c->line, "invalid %s: control character 0x%02X at %zu", what, (unsigned char)*p,
                 off(c, p));
            return NULL;
        }
        if (k & C_BSL) {
            if (at_eol(p + 1, end)) {
                fail_end(c, c->line, tok);
                return NULL;
            }
            if (!(cls[(unsigned char)p[1]] & C_ESC)) {
                fail_token(c, p + 1);
                return NULL;
            }
            *esc = true;
            p += 2;
        } else if (k & C_CR) {
            if (p + 1 == end || p[1] == '\n') return p;
            if (stop & C_CTL) { /* a name, not a tag value */
                fail(c, c->line, "invalid %s: control character 0x0D at %zu", what, off(c, p));
                return NULL;
            }
            p++;
        } else if ((k & C_EQ) && eq) {
            *eq = true;
            p++;
        } else {
            return p;
        }
    }
}

/* The unescaped copy of a name, in the arena. scan_name validated the escapes, so every
 * backslash here escapes the byte after it. */
static strv unescape_name(lp *c, const char *s, const char *e) {
    char *o = arena_alloc(c->a, (size_t)(e - s));
    size_t n = 0;
    while (s < e) {
        if (*s == '\\') s++;
        o[n++] = *s++;
    }
    return (strv){o, (uint32_t)n};
}

/* The text of a scanned name: the body bytes themselves unless it holds an escape. */
static inline strv name_of(lp *c, const char *s, const char *e, bool esc) {
    if (__builtin_expect(esc, 0)) return unescape_name(c, s, e);
    return (strv){s, (uint32_t)(e - s)};
}

/* The scanner already refused control characters; what an unescaped name cannot break (it
 * cannot be blank, nor invalid UTF-8 in a checked body) is only checked for escaped or very
 * long ones, off the hot path. */
static inline bool name_ok(lp *c, enum name_kind k, strv n, bool esc, uint32_t line) {
    if (__builtin_expect(!esc && n.len <= NAMES_MAX, 1)) return true;
    err e;
    if (names_check(k, n.p, n.len, 422, EC_LP_PARSE, &e) == 0) return true;
    fail(c, line, "%s", e.msg);
    return false;
}

static inline bool is_time(strv k) {
    return k.len == 4 && memcmp(k.p, "time", 4) == 0;
}

static uint32_t count_nl(const char *s, const char *e) {
    uint32_t n = 0;
    while (s < e && (s = memchr(s, '\n', (size_t)(e - s)))) {
        n++;
        s++;
    }
    return n;
}

/* `"..."` starting at p (the opening quote). Returns the byte after the closing quote. */
static const char *parse_string(lp *c, const char *p, pt_field *f) {
    const char *end = c->end, *s = p + 1;
    const char *qt = memchr(s, '"', (size_t)(end - s));
    const char *bs = memchr(s, '\\', (size_t)((qt ? qt : end) - s));
    if (!bs) {
        if (!qt) {
            fail_end(c, c->line, p);
            return NULL;
        }
        f->v.s = (strv){s, (uint32_t)(qt - s)};
    } else {
        /* Escapes pair up from left to right, so walk them in order to find the real end. */
        const char *r = bs;
        for (;;) {
            while (r < end && *r != '"' && *r != '\\') r++;
            if (r == end || (*r == '\\' && r + 1 == end)) {
                fail_end(c, c->line, p);
                return NULL;
            }
            if (*r == '"') break;
            r += 2;
        }
        qt = r;
        char *o = arena_alloc(c->a, (size_t)(qt - s));
        size_t n = (size_t)(bs - s);
        memcpy(o, s, n);
        for (const char *t = bs; t < qt;) {
            if (t[0] == '\\' && (t[1] == '"' || t[1] == '\\'))
                t++;
            else if (t[0] == '\\')
                o[n++] = *t++; /* kept literally with what follows */
            o[n++] = *t++;
        }
        f->v.s = (strv){o, (uint32_t)n};
    }
    c->line += count_nl(s, qt);
    f->type = VT_STR;
    const char *q = qt + 1;
    if (!at_value_end(q, end)) {
        fail_token(c, q);
        return NULL;
    }
    return q;
}

static const char *parse_bool(lp *c, const char *p, pt_field *f) {
    const char *q = value_end(c, p);
    size_t n = (size_t)(q - p);
    bool ok = true, v = false;
    switch (n) {
    case 1:
        v = *p == 't' || *p == 'T';
        break;
    case 4:
        v = true;
        ok = !memcmp(p, "true", 4) || !memcmp(p, "True", 4) || !memcmp(p, "TRUE", 4);
        break;
    case 5:
        ok = !memcmp(p, "false", 5) || !memcmp(p, "False", 5) || !memcmp(p, "FALSE", 5);
        break;
    default:
        ok = false;
    }
    if (!ok) {
        fail_value(c, p);
        return NULL;
    }
    f->type = VT_BOOL;
    f->v.b = v;
    return q;
}

static const char *parse_number(lp *c, const char *p, pt_field *f) {
    const char *end = c->end;
    bool sign = *p == '-' || *p == '+', neg = *p == '-';
    /* The digit run decides between an integer (suffix i or u) and a float; it is scanned
     * here rather than by point_scan_u64 to save a call on every value. */
    const char *d = p + sign, *x = d;
    uint64_t u = 0;
    bool ov = false;
    while (x < end && is_digit((unsigned char)*x)) {
        unsigned dg = (unsigned)(*x++ - '0');
        if (u > (UINT64_MAX - dg) / 10) ov = true;
        u = u * 10 + dg;
    }
    if (x > d && x < end && (*x == 'i' || *x == 'u') && at_value_end(x + 1, end)) {
        if (*x == 'i') {
            if (ov || u > (uint64_t)INT64_MAX + neg) goto bad;
            f->type = VT_I64;
            f->v.i = !neg ? (int64_t)u : u > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)u;
        } else {
            if (ov || sign) goto bad;
            f->type = VT_U64;
            f->v.u = u;
        }
        return x + 1;
    }
    double v;
    size_t k = point_scan_f64(p, (size_t)(end - p), &v);
    if (k == 0 || !at_value_end(p + k, end) || isinf(v)) goto bad;
    f->type = VT_F64;
    f->v.f = v;
    return p + k;
bad:
    fail_value(c, p);
    return NULL;
}

/* A field value starting at p; returns the byte after it, which is a value terminator. */
static inline const char *parse_value(lp *c, const char *p, pt_field *f) {
    if (p == c->end) {
        fail_value(c, p);
        return NULL;
    }
    unsigned char ch = (unsigned char)*p;
    if (is_digit(ch) || ch == '-' || ch == '+') return parse_number(c, p, f);
    if (ch == '"') return parse_string(c, p, f);
    if (ch == 't' || ch == 'f' || ch == 'T' || ch == 'F') return parse_bool(c, p, f);
    fail_value(c, p);
    return NULL;
}

static pt_tag *push_tag(lp *c) {
    if (c->ntags == c->tcap) {
        c->tags =
            arena_realloc(c->a, c->tags, c->tcap * sizeof *c->tags, 2 * c->tcap * sizeof *c->tags);
        c->tcap *= 2;
    }
    return &c->tags[c->ntags++];
}

static pt_field *push_field(lp *c) {
    if (c->nfields == c->fcap) {
        c->fields = arena_realloc(c->a, c->fields, c->fcap * sizeof *c->fields,
                                  2 * c->fcap * sizeof *c->fields);
        c->fcap *= 2;
    }
    return &c->fields[c->nfields++];
}

/* Parses one line starting at its first non-blank byte and appends its point. Returns the
 * start of the next line, or NULL with the error set. */
static const char *parse_line(lp *c, const char *p, point_batch *out) {
    const char *end = c->end, *ls = p;
    const uint32_t line = c->line;
    bool esc = false;
    c->ntags = c->nfields = 0;

    const char *q = scan_name(c, p, STOP_MEAS, &esc, NULL, ls, "table name");
    if (!q) return NULL;
    if (q == p) return fail_token(c, q), NULL; /* a leading ',' */
    strv table = name_of(c, p, q, esc);
    if (!name_ok(c, NAME_TABLE, table, esc, line)) return NULL;
    if (q == end || (*q != ',' && *q != ' ')) return fail_end(c, line, ls), NULL;

    while (*q == ',') {
        const char *ks = q + 1;
        esc = false;
        const char *k = scan_name(c, ks, STOP_TAG, &esc, NULL, ks, "tag key");
        if (!k) return NULL;
        if (at_eol(k, end)) return fail_end(c, line, ks), NULL;
        if (*k != '=' || k == ks) return fail_token(c, k), NULL;
        pt_tag *t = push_tag(c);
        t->key = name_of(c, ks, k, esc);
        if (!name_ok(c, NAME_COLUMN, t->key, esc, line)) return NULL;
        if (is_time(t->key))
            return fail(c, line, "'time' cannot be a tag key (at %zu)", off(c, ks)), NULL;
        const char *vs = k + 1;
        bool veq = false;
        esc = false;
        const char *v = scan_name(c, vs, STOP_TAGV, &esc, &veq, ks, "tag value");
        if (!v) return NULL;
        if (v == vs) {
            if (at_eol(v, end)) return fail_end(c, line, ks), NULL;
            return fail_token(c, v), NULL;
        }
        if (esc && veq) return fail(c, line, "invalid line protocol syntax"), NULL;
        t->val = name_of(c, vs, v, esc);
        if (at_eol(v, end)) return fail_end(c, line, ls), NULL;
        q = v;
    }

    /* q is at the space before the fields. */
    while (q < end && *q == ' ') q++;
    if (at_eol(q, end)) return fail_end(c, line, ls), NULL;
    for (;;) {
        const char *ks = q;
        esc = false;
        const char *k = scan_name(c, ks, STOP_FKEY, &esc, NULL, ks, "field key");
        if (!k) return NULL;
        if (k == end || *k != '=') return fail_end(c, c->line, ks), NULL;
        if (k == ks) return fail_token(c, k), NULL;
        pt_field *f = push_field(c);
        f->key = name_of(c, ks, k, esc);
        if (!name_ok(c, NAME_COLUMN, f->key, esc, c->line)) return NULL;
        if (is_time(f->key))
            return fail(c, c->line, "'time' cannot be a field key (at %zu)", off(c, ks)), NULL;
        q = parse_value(c, k + 1, f);
        if (!q) return NULL;
        if (q == end || *q != ',') break;
        q++;
    }

    bool has_ts = false;
    int64_t ts = 0;
    if (q < end && *q == ' ') {
        while (q < end && *q == ' ') q++;
        if (!at_eol(q, end)) {
            const char *t0 = q;
            bool ov;
            size_t n = point_scan_i64(q, (size_t)(end - q), &ts, &ov);
            q += n;
            while (q < end && *q == ' ') q++;
            if (!n || ov || !at_eol(q, end))
                return fail(c, c->line, "fail to parse timestamp at %zu", off(c, t0)), NULL;
            has_ts = true;
        }
    }
    if (q < end && *q == '\r') q++;
    if (q < end) q++; /* the '\n' */
    c->line++;

    point *pt = point_batch_push(c->a, out);
    pt->table = table;
    pt->line = line;
    pt->has_ts = has_ts;
    pt->ts = ts;
    pt->ntags = c->ntags;
    pt->nfields = c->nfields;
    size_t tb = c->ntags * sizeof(pt_tag), fb = c->nfields * sizeof(pt_field);
    char *mem = arena_alloc(c->a, tb + fb);
    /* pt_tag's size is a multiple of pt_field's alignment, so the fields may follow it. */
    _Static_assert(sizeof(pt_tag) % _Alignof(pt_field) == 0, "field array alignment");
    if (tb) memcpy(mem, c->tags, tb);
    memcpy(mem + tb, c->fields, fb);
    pt->tags = c->ntags ? (pt_tag *)mem : NULL;
    pt->fields = (pt_field *)(mem + tb);
    uint32_t dup = point_normalize(pt);
    if (dup) {
        char show[96];
        utf8_show(show, sizeof show, pt->tags[dup - 1].key.p, pt->tags[dup - 1].key.len);
        c->line = line;
        return fail(c, line, "duplicate tag key '%s'", show), NULL;
    }
    return q;
}

int lp_next(point_cursor *cur, arena *a, point_batch *out, size_t max, err *e) {
    const char *body = cur->body;
    size_t len = (size_t)(cur->end - body);
    if (cur->state == 0) {
        if (len > UINT32_MAX)
            return err_set(e, 422, EC_LP_PARSE, "Error parsing message: body larger than 4 GiB");
        size_t bad;
        if (!utf8_valid(body, len, &bad))
            return err_set(e, 422, EC_UTF8, "Invalid utf-8 sequence: line %u, byte offset %zu",
                           point_line_of(body, bad), bad);
        cur->state = 1;
    }
    lp c = {.a = a, .body = body, .end = cur->end, .e = e, .line = cur->line};
    c.tcap = c.fcap = 16;
    c.tags = arena_alloc(a, c.tcap * sizeof *c.tags);
    c.fields = arena_alloc(a, c.fcap * sizeof *c.fields);

    const size_t n0 = out->n;
    const char *p = cur->p, *end = c.end;
    while (p < end && out->n - n0 < max) {
        /* Leading blanks (a CR here can only precede a LF or be stray) and empty lines. */
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
        if (p == end) break;
        if (*p == '\n') {
            c.line++;
            p++;
            continue;
        }
        if (*p == '#') {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                p = end;
                break;
            }
            c.line++;
            p = nl + 1;
            continue;
        }
        p = parse_line(&c, p, out);
        if (!p) {
            out->n = n0; /* all or nothing */
            return -1;
        }
    }
    cur->p = p;
    cur->line = c.line;
    return p < end;
}

int lp_parse(arena *a, const char *body, size_t len, point_batch *out, err *e) {
    point_cursor cur;
    point_cursor_init(&cur, body, len);
    return lp_next(&cur, a, out, SIZE_MAX, e) < 0 ? -1 : 0;
}
