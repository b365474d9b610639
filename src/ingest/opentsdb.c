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
 * JSON uses jansson; every string is copied into the arena before the document is freed. */
#include "ingest/opentsdb.h"

#include <jansson.h>
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

int tsdb_parse_text(arena *a, const char *body, size_t len, point_batch *out, err *e) {
    if (len == 0) return 0;
    if (len > UINT32_MAX)
        return err_set(e, 400, EC_OPENTSDB_TEXT, "Error parsing message: body larger than 4 GiB");
    size_t bad;
    if (!utf8_valid(body, len, &bad))
        return err_set(e, 422, EC_UTF8, "Invalid utf-8 sequence: line %u, byte offset %zu",
                       point_line_of(body, bad), bad);
    const size_t n0 = out->n;
    tagbuf tags = {0};
    const char *p = body, *end = body + len;
    for (uint32_t line = 1; p < end; line++) {
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
    return 0;
}

/* ---- JSON ---------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int json_fail(err *e, size_t elem, const char *fmt,
                                                           ...) {
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, 400, EC_OPENTSDB_JSON, "Error parsing message: element %zu: %s", elem, msg);
}

static strv copy_str(arena *a, const char *s, size_t n) {
    return (strv){arena_strndup(a, s, n), (uint32_t)n};
}

static int json_point(arena *a, json_t *o, size_t elem, tagbuf *tags, point_batch *out, err *e) {
    if (!json_is_object(o)) return json_fail(e, elem, "expected an object");
    json_t *m = json_object_get(o, "metric"), *ts = json_object_get(o, "timestamp");
    json_t *v = json_object_get(o, "value"), *tg = json_object_get(o, "tags");
    if (!m) return json_fail(e, elem, "missing key 'metric'");
    if (!ts) return json_fail(e, elem, "missing key 'timestamp'");
    if (!v) return json_fail(e, elem, "missing key 'value'");
    if (!tg) return json_fail(e, elem, "missing key 'tags'");
    if (!json_is_string(m)) return json_fail(e, elem, "'metric' must be a string");
    if (json_string_length(m) == 0) return json_fail(e, elem, "'metric' must not be empty");
    if (!json_is_integer(ts)) return json_fail(e, elem, "'timestamp' must be an integer");
    if (!json_is_number(v)) return json_fail(e, elem, "'value' must be a number");
    if (!json_is_object(tg)) return json_fail(e, elem, "'tags' must be an object");

    tags->n = 0;
    const char *k;
    json_t *tv;
    json_object_foreach(tg, k, tv) {
        char show[96];
        size_t kl = strlen(k);
        utf8_show(show, sizeof show, k, kl);
        if (kl == 0) return json_fail(e, elem, "empty tag key");
        if (!json_is_string(tv)) return json_fail(e, elem, "tag '%s' must be a string", show);
        if (json_string_length(tv) == 0)
            return json_fail(e, elem, "tag '%s' must not be empty", show);
        pt_tag *t = tagbuf_push(a, tags);
        t->key = copy_str(a, k, kl);
        if (is_time(t->key)) return json_fail(e, elem, "'time' cannot be a tag key");
        t->val = copy_str(a, json_string_value(tv), json_string_length(tv));
    }
    strv table = copy_str(a, json_string_value(m), json_string_length(m));
    char msg[ERR_MSG_MAX];
    if (check_names(table, tags, msg, sizeof msg) < 0) return json_fail(e, elem, "%s", msg);
    uint32_t dup = emit(a, out, table, tags, (int64_t)json_integer_value(ts), json_number_value(v),
                        (uint32_t)elem);
    if (dup) {
        dup_msg(out, dup, msg, sizeof msg);
        return json_fail(e, elem, "%s", msg);
    }
    return 0;
}

int tsdb_parse_json(arena *a, const char *body, size_t len, point_batch *out, err *e) {
    if (!body) body = ""; /* jansson wants a pointer even for an empty body */
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &je);
    if (!root)
        return err_set(e, 400, EC_OPENTSDB_JSON, "Error parsing message: %s at line %d column %d",
                       je.text, je.line, je.column);
    const size_t n0 = out->n;
    tagbuf tags = {0};
    int rc = 0;
    if (json_is_array(root)) {
        size_t i;
        json_t *o;
        json_array_foreach(root, i, o) {
            if ((rc = json_point(a, o, i + 1, &tags, out, e))) break;
        }
    } else if (json_is_object(root)) {
        rc = json_point(a, root, 1, &tags, out, e);
    } else {
        rc = err_set(e, 400, EC_OPENTSDB_JSON,
                     "Error parsing message: expected an object or an array of objects");
    }
    json_decref(root);
    if (rc) out->n = n0;
    return rc;
}
