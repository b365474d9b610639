/* InfluxDB 1.x's /query (GET and POST): `q` (InfluxQL, statements separated by `;`), `db`,
 * `epoch`, `chunked` and `chunk_size`, `pretty`, from the URL or a form body; credentials as
 * /write takes them (http.c). The statements run one after the other (src/influxql/iql.h) and
 * the answer is InfluxDB's: {"results":[{"statement_id":N,"series":[...]}]}, an error of one
 * statement in its own entry (200), a parse error of the text 400 {"error": "error parsing
 * query: ..."}. `Accept: application/csv` gives InfluxDB's CSV; chunked=true one JSON object
 * per line per series (split every chunk_size rows), as InfluxDB streams them. The answer is
 * built whole, bounded by the query memory limit. See http_int.h. */
#include "server/http_int.h"

#include "format/fmt_num.h"
#include "influxql/iql.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INFLUX_VERSION "1.8.10"

/* The request's parameters: a form body's, else the URL's. */
struct qparams {
    const char *q, *db, *epoch, *chunked, *chunk_size, *pretty;
};

/* Parses an application/x-www-form-urlencoded body (copied into a) into p. */
static void form_params(arena *a, const char *body, size_t len, struct qparams *p) {
    char *copy = arena_strndup(a, body, len);
    for (char *tok = copy; tok && *tok;) {
        char *amp = strchr(tok, '&');
        if (amp) *amp = 0;
        char *eq = strchr(tok, '=');
        const char *val = "";
        if (eq) {
            *eq = 0;
            val = eq + 1;
        }
        for (char *c = (char *)val; *c; c++)
            if (*c == '+') *c = ' ';
        MHD_http_unescape((char *)val);
        MHD_http_unescape(tok);
        if (!strcmp(tok, "q"))
            p->q = val;
        else if (!strcmp(tok, "db"))
            p->db = val;
        else if (!strcmp(tok, "epoch"))
            p->epoch = val;
        else if (!strcmp(tok, "chunked"))
            p->chunked = val;
        else if (!strcmp(tok, "chunk_size"))
            p->chunk_size = val;
        else if (!strcmp(tok, "pretty"))
            p->pretty = val;
        tok = amp ? amp + 1 : NULL;
    }
}

static struct reply influx_reply(unsigned status, buf *b, const char *ctype) {
    struct reply out = reply_buf(status, b, ctype, NULL);
    MHD_add_response_header(out.r, "X-Influxdb-Version", INFLUX_VERSION);
    MHD_add_response_header(out.r, "X-Influxdb-Build", "OSS");
    return out;
}

static struct reply influx_error(unsigned status, const char *msg) {
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"error\":\"");
    http_json_escape(&b, msg);
    buf_puts(&b, "\"}\n");
    return influx_reply(status, &b, "application/json");
}

/* ---- values ---- */

/* Go's encoding/json layout of a float: plain between 1e-6 and 1e21, else 1e+21 / 1e-7. */
static void put_float(buf *b, double d) {
    if (d != d || d == 1.0 / 0.0 || d == -1.0 / 0.0) {
        buf_puts(b, "null");
        return;
    }
    if (d == 0) {
        buf_puts(b, "0");
        return;
    }
    char dig[17];
    int e;
    int n = fmt_shortest(d, dig, &e);
    if (d < 0) buf_putc(b, '-');
    double ad = d < 0 ? -d : d;
    if (ad >= 1e-6 && ad < 1e21) {
        if (e < 0) {
            buf_puts(b, "0.");
            for (int i = 0; i < -e - 1; i++) buf_putc(b, '0');
            buf_append(b, dig, (size_t)n);
        } else if (e + 1 >= n) {
            buf_append(b, dig, (size_t)n);
            for (int i = n; i <= e; i++) buf_putc(b, '0');
        } else {
            buf_append(b, dig, (size_t)e + 1);
            buf_putc(b, '.');
            buf_append(b, dig + e + 1, (size_t)(n - e - 1));
        }
        return;
    }
    buf_putc(b, dig[0]);
    if (n > 1) {
        buf_putc(b, '.');
        buf_append(b, dig + 1, (size_t)n - 1);
    }
    buf_printf(b, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

/* RFC 3339 with nanoseconds, trailing zeros of the fraction dropped (Go's RFC3339Nano), in
 * zone z: its local time and offset (`Z` where the offset is 0). */
static void put_rfc3339(buf *b, int64_t ns, const iql_zone *z) {
    int64_t zoff = iql_zone_offset(z, ns);
    ns += zoff;
    int64_t q, r;
    time_floor_divmod(ns, 86400000000000LL, &q, &r);
    int64_t y;
    unsigned mo, d;
    civil_from_days(q, &y, &mo, &d);
    int64_t s = r / 1000000000, frac = r % 1000000000;
    buf_printf(b, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", (long long)y, mo, d,
               (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
    if (frac) {
        char f[16];
        int n = snprintf(f, sizeof f, "%09lld", (long long)frac);
        while (n && f[n - 1] == '0') n--;
        buf_putc(b, '.');
        buf_append(b, f, (size_t)n);
    }
    if (!zoff) {
        buf_putc(b, 'Z');
    } else {
        int64_t m = (zoff < 0 ? -zoff : zoff) / 60000000000LL;
        buf_printf(b, "%c%02lld:%02lld", zoff < 0 ? '-' : '+', (long long)(m / 60),
                   (long long)(m % 60));
    }
}

/* Nanoseconds per unit of the epoch parameter; 0 = RFC 3339 text. */
static int64_t epoch_unit(const char *e) {
    if (!e || !*e) return 0;
    if (!strcmp(e, "ns") || !strcmp(e, "n")) return 1;
    if (!strcmp(e, "u") || !strcmp(e, "\xC2\xB5") || !strcmp(e, "us")) return 1000;
    if (!strcmp(e, "ms")) return 1000000;
    if (!strcmp(e, "s")) return 1000000000LL;
    if (!strcmp(e, "m")) return 60000000000LL;
    if (!strcmp(e, "h")) return 3600000000000LL;
    return 0;
}

static void put_value(buf *b, const value *v, int64_t unit, bool csv, const iql_zone *z) {
    if (v->null) {
        if (!csv) buf_puts(b, "null");
        return;
    }
    switch (v->type) {
    case VT_TS:
        if (unit)
            buf_printf(b, "%lld", (long long)(v->v.i / unit));
        else if (csv)
            buf_printf(b, "%lld", (long long)v->v.i);
        else {
            buf_putc(b, '"');
            put_rfc3339(b, v->v.i, z);
            buf_putc(b, '"');
        }
        return;
    case VT_I64:
        buf_printf(b, "%lld", (long long)v->v.i);
        return;
    case VT_U64:
        buf_printf(b, "%llu", (unsigned long long)v->v.u);
        return;
    case VT_F64:
        put_float(b, v->v.f);
        return;
    case VT_BOOL:
        buf_puts(b, v->v.b ? "true" : "false");
        return;
    case VT_STR: {
        char *s = strndup(v->v.s.p, v->v.s.len);
        if (csv) {
            bool quote = strpbrk(s, ",\"\n\r") != NULL;
            if (quote) buf_putc(b, '"');
            for (const char *c = s; *c; c++) {
                if (*c == '"') buf_putc(b, '"');
                buf_putc(b, *c);
            }
            if (quote) buf_putc(b, '"');
        } else {
            buf_putc(b, '"');
            http_json_escape(b, s);
            buf_putc(b, '"');
        }
        free(s);
        return;
    }
    default:
        buf_puts(b, csv ? "" : "null");
    }
}

/* ---- JSON ---- */

static void put_str(buf *b, const char *s) {
    buf_putc(b, '"');
    http_json_escape(b, s);
    buf_putc(b, '"');
}

/* Rows [from, to) of s as a series object; partial marks one that continues. */
static void json_series(buf *b, const iql_series *s, size_t from, size_t to, int64_t unit,
                        bool partial, const iql_zone *z) {
    buf_putc(b, '{');
    if (s->name) {
        buf_puts(b, "\"name\":");
        put_str(b, s->name);
        buf_putc(b, ',');
    }
    if (s->ntags) {
        buf_puts(b, "\"tags\":{");
        for (size_t i = 0; i < s->ntags; i++) {
            if (i) buf_putc(b, ',');
            put_str(b, s->tag_keys[i]);
            buf_putc(b, ':');
            put_str(b, s->tag_vals[i]);
        }
        buf_puts(b, "},");
    }
    buf_puts(b, "\"columns\":[");
    for (size_t i = 0; i < s->ncols; i++) {
        if (i) buf_putc(b, ',');
        put_str(b, s->cols[i]);
    }
    buf_putc(b, ']');
    if (to > from) {
        buf_puts(b, ",\"values\":[");
        for (size_t r = from; r < to; r++) {
            if (r > from) buf_putc(b, ',');
            buf_putc(b, '[');
            for (size_t c = 0; c < s->ncols; c++) {
                if (c) buf_putc(b, ',');
                put_value(b, &s->vals[r * s->ncols + c], unit, false, z);
            }
            buf_putc(b, ']');
        }
        buf_putc(b, ']');
    }
    if (partial) buf_puts(b, ",\"partial\":true");
    buf_putc(b, '}');
}

static void json_result_head(buf *b, size_t id, const iql_result *r) {
    buf_printf(b, "{\"statement_id\":%zu", id);
    if (r->error) {
        buf_puts(b, ",\"error\":");
        put_str(b, r->error);
    }
}

static void json_all(buf *b, const iql_result *res, size_t n, int64_t unit) {
    buf_puts(b, "{\"results\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        json_result_head(b, i, &res[i]);
        if (res[i].n) {
            buf_puts(b, ",\"series\":[");
            for (size_t k = 0; k < res[i].n; k++) {
                if (k) buf_putc(b, ',');
                json_series(b, &res[i].series[k], 0, res[i].series[k].nrows, unit, false,
                            res[i].tz);
            }
            buf_putc(b, ']');
        }
        buf_putc(b, '}');
    }
    buf_puts(b, "]}\n");
}

/* chunked=true: a line per chunk of chunk rows of each series, as InfluxDB sends them. */
static void json_chunked(buf *b, const iql_result *res, size_t n, int64_t unit, size_t chunk) {
    for (size_t i = 0; i < n; i++) {
        const iql_result *r = &res[i];
        if (!r->n) {
            buf_puts(b, "{\"results\":[");
            json_result_head(b, i, r);
            buf_puts(b, "}]}\n");
            continue;
        }
        for (size_t k = 0; k < r->n; k++) {
            const iql_series *s = &r->series[k];
            size_t from = 0;
            do {
                size_t to = s->nrows - from > chunk ? from + chunk : s->nrows;
                bool more_rows = to < s->nrows, more = more_rows || k + 1 < r->n;
                buf_puts(b, "{\"results\":[");
                json_result_head(b, i, r);
                buf_puts(b, ",\"series\":[");
                json_series(b, s, from, to, unit, more_rows, r->tz);
                buf_putc(b, ']');
                if (more) buf_puts(b, ",\"partial\":true");
                buf_puts(b, "}]}\n");
                from = to;
            } while (from < s->nrows);
        }
    }
}

/* pretty=true: the compact JSON in src indented by four spaces a level. */
static void json_pretty(const buf *src, buf *out) {
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < src->len; i++) {
        char ch = src->p[i];
        if (in_str) {
            buf_putc(out, ch);
            if (ch == '\\' && i + 1 < src->len)
                buf_putc(out, src->p[++i]);
            else if (ch == '"')
                in_str = false;
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            buf_putc(out, ch);
            break;
        case '{':
        case '[':
            buf_putc(out, ch);
            if (i + 1 < src->len && (src->p[i + 1] == '}' || src->p[i + 1] == ']')) {
                buf_putc(out, src->p[++i]);
                break;
            }
            depth++;
            buf_putc(out, '\n');
            for (int k = 0; k < depth; k++) buf_puts(out, "    ");
            break;
        case '}':
        case ']':
            depth--;
            buf_putc(out, '\n');
            for (int k = 0; k < depth; k++) buf_puts(out, "    ");
            buf_putc(out, ch);
            break;
        case ',':
            buf_puts(out, ",\n");
            for (int k = 0; k < depth; k++) buf_puts(out, "    ");
            break;
        case ':':
            buf_puts(out, ": ");
            break;
        default:
            buf_putc(out, ch);
        }
    }
}

/* ---- CSV ---- */

static void csv_all(buf *b, const iql_result *res, size_t n, int64_t unit) {
    const iql_series *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (res[i].error) {
            if (b->len) buf_putc(b, '\n');
            buf_puts(b, "error\n");
            value v = {.type = VT_STR};
            v.v.s.p = res[i].error;
            v.v.s.len = (uint32_t)strlen(res[i].error);
            put_value(b, &v, 0, true, NULL);
            buf_putc(b, '\n');
            prev = NULL;
            continue;
        }
        for (size_t k = 0; k < res[i].n; k++) {
            const iql_series *s = &res[i].series[k];
            bool same = prev && prev->ncols == s->ncols;
            for (size_t c = 0; same && c < s->ncols; c++) same = !strcmp(prev->cols[c], s->cols[c]);
            if (!same) {
                if (b->len) buf_putc(b, '\n');
                buf_puts(b, "name,tags");
                for (size_t c = 0; c < s->ncols; c++) {
                    buf_putc(b, ',');
                    buf_puts(b, s->cols[c]);
                }
                buf_putc(b, '\n');
            }
            prev = s;
            buf tags;
            buf_init(&tags);
            for (size_t t = 0; t < s->ntags; t++)
                buf_printf(&tags, "%s%s=%s", t ? "," : "", s->tag_keys[t], s->tag_vals[t]);
            for (size_t r = 0; r < s->nrows; r++) {
                value nv = {.type = VT_STR};
                nv.v.s.p = s->name ? s->name : "";
                nv.v.s.len = (uint32_t)strlen(nv.v.s.p);
                put_value(b, &nv, 0, true, NULL);
                buf_putc(b, ',');
                nv.v.s.p = tags.p ? tags.p : "";
                nv.v.s.len = (uint32_t)tags.len;
                put_value(b, &nv, 0, true, NULL);
                for (size_t c = 0; c < s->ncols; c++) {
                    buf_putc(b, ',');
                    put_value(b, &s->vals[r * s->ncols + c], unit, true, NULL);
                }
                buf_putc(b, '\n');
            }
            buf_free(&tags);
        }
    }
}

struct reply http_handle_influx(server *s, struct MHD_Connection *c, struct req *rq,
                                const char *tenant, const char *db, const char *user,
                                const cat_login *who, bool must_change) {
    arena *a = arena_new(1 << 16);
    struct qparams p = {.q = http_arg(c, "q"),
                        .db = http_arg(c, "db"),
                        .epoch = http_arg(c, "epoch"),
                        .chunked = http_arg(c, "chunked"),
                        .chunk_size = http_arg(c, "chunk_size"),
                        .pretty = http_arg(c, "pretty")};
    const char *ctype = http_header(c, "Content-Type");
    if (rq->body.len && ctype && !strncasecmp(ctype, "application/x-www-form-urlencoded", 33))
        form_params(a, rq->body.p, rq->body.len, &p);
    if (p.db && *p.db && (!http_arg(c, "db") || strcmp(p.db, http_arg(c, "db")))) db = p.db;
    if (!p.q || !*p.q) {
        arena_free(a);
        return influx_error(400, "missing required parameter \"q\"");
    }
    err e;
    err_clear(&e);
    iql_query qry;
    if (iql_parse(a, p.q, strlen(p.q), &qry, &e) < 0) {
        arena_free(a);
        return influx_error(400, e.msg);
    }
    sql_session ss = http_sql_session(s, tenant, db, user, who, must_change, a);
    int64_t now = time_now_ns();
    iql_result *res = arena_calloc(a, qry.n * sizeof *res);
    for (size_t i = 0; i < qry.n; i++) {
        if (iql_exec(&ss, a, &qry.stmts[i], now, &res[i], &e) < 0) {
            arena_free(a);
            struct reply out = influx_error(e.http ? (unsigned)e.http : 500, e.msg);
            if (e.http == 401)
                MHD_add_response_header(out.r, "WWW-Authenticate", "Basic realm=\"strata\"");
            return out;
        }
        /* InfluxDB runs nothing after a statement that fails */
        if (res[i].error) {
            for (size_t k = i + 1; k < qry.n; k++) res[k].error = "not executed";
            break;
        }
    }
    int64_t unit = epoch_unit(p.epoch);
    const char *accept = http_header(c, "Accept");
    buf b;
    buf_init(&b);
    const char *out_type = "application/json";
    if (accept && (strstr(accept, "application/csv") || strstr(accept, "text/csv"))) {
        csv_all(&b, res, qry.n, unit);
        out_type = "application/csv";
    } else if (p.chunked && !strcmp(p.chunked, "true")) {
        long chunk = p.chunk_size ? strtol(p.chunk_size, NULL, 10) : 0;
        json_chunked(&b, res, qry.n, unit, chunk > 0 ? (size_t)chunk : 10000);
    } else {
        json_all(&b, res, qry.n, unit);
        if (p.pretty && !strcmp(p.pretty, "true")) {
            buf pb;
            buf_init(&pb);
            json_pretty(&b, &pb);
            buf_free(&b);
            b = pb;
        }
    }
    arena_free(a);
    return influx_reply(200, &b, out_type);
}
