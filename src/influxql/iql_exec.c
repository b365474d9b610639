/* Running one InfluxQL statement (see iql.h): SELECT in iql_eval.c, the SHOW statements and
 * the database and measurement DDL here, each as CnosDB SQL in the request's session and
 * answered in InfluxDB's series shape (SHOW DATABASES: series "databases", column "name";
 * SHOW SERIES: one unnamed series of "key" strings; ...). ON db runs the statement in db. */
#include "influxql/iql_int.h"

#include "sql/pattern.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static value str_value(const char *s) {
    value v = {.type = VT_STR};
    v.v.s.p = s;
    v.v.s.len = (uint32_t)strlen(s);
    return v;
}

/* A series of string rows: ncols columns, rows[r * ncols + c]. */
static iql_series *add_series(arena *a, iql_result *out, const char *name, const char **cols,
                              size_t ncols) {
    iql_series *s = arena_alloc(a, (out->n + 1) * sizeof *s);
    if (out->n) memcpy(s, out->series, out->n * sizeof *s);
    out->series = s;
    s += out->n++;
    memset(s, 0, sizeof *s);
    s->name = name;
    s->cols = arena_alloc(a, ncols * sizeof *s->cols);
    memcpy(s->cols, cols, ncols * sizeof *s->cols);
    s->ncols = ncols;
    return s;
}

/* Appends a row; the rows double in place whenever their count reaches a power of two. */
static void add_row(arena *a, iql_series *s, const value *row) {
    size_t n = s->nrows, w = s->ncols * sizeof *s->vals;
    if ((n & (n - 1)) == 0) s->vals = arena_realloc(a, s->vals, n * w, (n ? 2 * n : 1) * w);
    memcpy(s->vals + n * s->ncols, row, w);
    s->nrows++;
}

/* LIMIT / OFFSET over a series' rows. */
static void clip(iql_series *s, int64_t limit, int64_t offset) {
    size_t from = offset > 0 ? (size_t)offset : 0;
    if (from > s->nrows) from = s->nrows;
    size_t to = s->nrows;
    if (limit > 0 && from + (size_t)limit < to) to = from + (size_t)limit;
    if (from) s->vals += from * s->ncols;
    s->nrows = to - from;
}

/* Go's time.Duration text: 168h0m0s, 1h30m0s, 0s. */
static const char *go_duration(arena *a, int64_t ns) {
    if (ns == 0) return "0s";
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    int64_t h = s / 3600, m = s / 60 % 60;
    s %= 60;
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        size_t n = strlen(f);
        while (n && f[n - 1] == '0') f[--n] = 0;
        return h   ? arena_printf(a, "%lldh%lldm%lld.%ss", (long long)h, (long long)m, (long long)s,
                                  f)
               : m ? arena_printf(a, "%lldm%lld.%ss", (long long)m, (long long)s, f)
                   : arena_printf(a, "%lld.%ss", (long long)s, f);
    }
    return h   ? arena_printf(a, "%lldh%lldm%llds", (long long)h, (long long)m, (long long)s)
           : m ? arena_printf(a, "%lldm%llds", (long long)m, (long long)s)
               : arena_printf(a, "%llds", (long long)s);
}

static int show_databases(sql_session *ss, arena *a, iql_result *out, err *e) {
    iql_rows rows;
    if (iql_run_sql(ss, a, "SHOW DATABASES", &rows, e) < 0) return -1;
    const char *cols[] = {"name"};
    iql_series *s = add_series(a, out, "databases", cols, 1);
    for (size_t r = 0; r < rows.nrows; r++) add_row(a, s, &rows.v[r * rows.ncols]);
    return 0;
}

/* SHOW ... WHERE: 1 when table t has a series the condition selects, 0 when not. */
static int has_series(sql_session *ss, arena *a, const char *name, const iql_expr *where,
                      int64_t now_ns, err *e) {
    if (!where) return 1;
    iql_table t;
    if (iql_describe(ss, a, name, &t, e) < 0) return -1;
    if (t.missing) return 0;
    buf q, w;
    buf_init(&q);
    buf_init(&w);
    int64_t tmin, tmax;
    int rc = iql_sql_where(where, &t, now_ns, &w, &tmin, &tmax, e);
    if (rc == 0) {
        buf_puts(&q, "SHOW SERIES FROM ");
        iql_sql_ident(&q, name);
        buf_printf(&q, " WHERE %s LIMIT 1", buf_cstr(&w));
        iql_rows rows;
        rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
        if (rc == 0) rc = rows.nrows > 0;
    }
    buf_free(&q);
    buf_free(&w);
    return rc;
}

static int show_measurements(sql_session *ss, arena *a, const iql_stmt *st, int64_t now_ns,
                             iql_result *out, err *e) {
    const char **names;
    size_t n;
    if (iql_measurements(ss, a, st->meas_re, &names, &n, e) < 0) return -1;
    const char *cols[] = {"name"};
    iql_series *s = NULL;
    for (size_t i = 0; i < n; i++) {
        if (st->name && strcmp(st->name, names[i])) continue;
        int has = has_series(ss, a, names[i], st->where, now_ns, e);
        if (has < 0) return -1;
        if (!has) continue;
        if (!s) s = add_series(a, out, "measurements", cols, 1);
        value v = str_value(names[i]);
        add_row(a, s, &v);
    }
    if (s) clip(s, st->limit, st->offset);
    return 0;
}

/* The measurements a SHOW statement's FROM names: one, those matching /re/, or all. */
static int show_tables(sql_session *ss, arena *a, const iql_stmt *st, const char ***names,
                       size_t *n, err *e) {
    if (st->name) {
        *names = arena_alloc(a, sizeof **names);
        (*names)[0] = st->name;
        *n = 1;
        return 0;
    }
    return iql_measurements(ss, a, st->from_re, names, n, e);
}

static int show_keys(sql_session *ss, arena *a, const iql_stmt *st, int64_t now_ns, iql_result *out,
                     err *e) {
    const char **names;
    size_t n;
    if (show_tables(ss, a, st, &names, &n, e) < 0) return -1;
    bool fields = st->k == IS_SHOW_FIELD_KEYS;
    for (size_t i = 0; i < n; i++) {
        iql_table t;
        if (iql_describe(ss, a, names[i], &t, e) < 0) return -1;
        size_t m = fields ? t.nfields : t.ntags;
        if (t.missing || !m) continue;
        int has = has_series(ss, a, names[i], st->where, now_ns, e);
        if (has < 0) return -1;
        if (!has) continue;
        const char **keys = arena_alloc(a, m * sizeof *keys);
        memcpy(keys, fields ? t.fields : t.tags, m * sizeof *keys);
        qsort(keys, m, sizeof *keys, cmp_str);
        const char *fcols[] = {"fieldKey", "fieldType"}, *tcols[] = {"tagKey"};
        iql_series *s = add_series(a, out, t.name, fields ? fcols : tcols, fields ? 2 : 1);
        for (size_t k = 0; k < m; k++) {
            value row[2] = {str_value(keys[k])};
            if (fields) {
                size_t j = 0;
                while (strcmp(t.fields[j], keys[k])) j++;
                uint8_t ty = t.ftypes[j];
                row[1] = str_value(ty == VT_F64    ? "float"
                                   : ty == VT_I64  ? "integer"
                                   : ty == VT_U64  ? "unsigned"
                                   : ty == VT_BOOL ? "boolean"
                                                   : "string");
            }
            add_row(a, s, row);
        }
        clip(s, st->limit, st->offset);
    }
    return 0;
}

/* Does key k pass the statement's WITH KEY? */
static int key_matches(arena *a, const iql_stmt *st, const char *k, err *e) {
    if (st->key_op == IO_RE || st->key_op == IO_NRE) {
        regex_pat *p = regex_compile(a, (strv){st->key_re, (uint32_t)strlen(st->key_re)}, false, e);
        if (!p) return -1;
        regex_run *run = regex_begin();
        int m = regex_exec(run, p, (strv){k, (uint32_t)strlen(k)}, e);
        regex_end(run);
        if (m < 0) return -1;
        return st->key_op == IO_RE ? m : !m;
    }
    bool in = false;
    for (size_t i = 0; i < st->nkeys; i++) in |= !strcmp(st->keys[i], k);
    return st->key_op == IO_NE ? !in : in;
}

struct kv {
    const char *k, *v;
};
static int cmp_kv(const void *a, const void *b) {
    const struct kv *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* SHOW TAG VALUES and SHOW SERIES: CnosDB's statements per measurement, sorted here. */
static int show_values(sql_session *ss, arena *a, const iql_stmt *st, int64_t now_ns,
                       iql_result *out, err *e) {
    const char **names;
    size_t n;
    if (show_tables(ss, a, st, &names, &n, e) < 0) return -1;
    bool series = st->k == IS_SHOW_SERIES;
    iql_series *ser = NULL;
    for (size_t i = 0; i < n; i++) {
        iql_table t;
        if (iql_describe(ss, a, names[i], &t, e) < 0) return -1;
        if (t.missing) continue;
        buf q;
        buf_init(&q);
        buf_puts(&q, series ? "SHOW SERIES FROM " : "SHOW TAG VALUES FROM ");
        iql_sql_ident(&q, t.name);
        if (!series) {
            size_t nk = 0;
            for (size_t k = 0; k < t.ntags; k++) {
                int m = key_matches(a, st, t.tags[k], e);
                if (m < 0) {
                    buf_free(&q);
                    return -1;
                }
                if (!m) continue;
                buf_puts(&q, nk++ ? ", " : " WITH KEY IN (");
                iql_sql_ident(&q, t.tags[k]);
            }
            if (!nk) {
                buf_free(&q);
                continue;
            }
            buf_putc(&q, ')');
        }
        if (st->where) {
            int64_t tmin, tmax;
            buf w;
            buf_init(&w);
            int rc = iql_sql_where(st->where, &t, now_ns, &w, &tmin, &tmax, e);
            if (rc == 0) buf_printf(&q, " WHERE %s", buf_cstr(&w));
            buf_free(&w);
            if (rc < 0) {
                buf_free(&q);
                return -1;
            }
        }
        iql_rows rows;
        int rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
        buf_free(&q);
        if (rc < 0) return -1;
        if (!rows.nrows) continue;
        struct kv *kvs = arena_alloc(a, rows.nrows * sizeof *kvs);
        for (size_t r = 0; r < rows.nrows; r++) {
            const value *v = &rows.v[r * rows.ncols];
            kvs[r].k = v[0].null ? "" : v[0].v.s.p;
            kvs[r].v = series || v[1].null ? "" : v[1].v.s.p;
        }
        qsort(kvs, rows.nrows, sizeof *kvs, cmp_kv);
        if (series) {
            const char *cols[] = {"key"};
            if (!ser) ser = add_series(a, out, NULL, cols, 1);
            for (size_t r = 0; r < rows.nrows; r++) {
                value v = str_value(kvs[r].k);
                add_row(a, ser, &v);
            }
        } else {
            const char *cols[] = {"key", "value"};
            iql_series *s = add_series(a, out, t.name, cols, 2);
            for (size_t r = 0; r < rows.nrows; r++) {
                value row[2] = {str_value(kvs[r].k), str_value(kvs[r].v)};
                add_row(a, s, row);
            }
            clip(s, st->limit, st->offset);
        }
    }
    if (ser) clip(ser, st->limit, st->offset);
    return 0;
}

static int show_rp(sql_session *ss, arena *a, iql_result *out, err *e) {
    buf q;
    buf_init(&q);
    buf_puts(&q, "DESCRIBE DATABASE ");
    iql_sql_ident(&q, ss->db);
    iql_rows rows;
    int rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
    buf_free(&q);
    if (rc < 0) return -1;
    int64_t ttl = 0, vnode = 0;
    for (size_t c = 0; c < rows.ncols && rows.nrows; c++) {
        const value *v = &rows.v[c];
        if (v->null || v->type != VT_STR) continue;
        int64_t ns;
        if (!duration_parse_sat(v->v.s.p, v->v.s.len, 0, &ns)) ns = 0; /* INF */
        if (!strcmp(rows.names[c], "ttl")) ttl = ns;
        if (!strcmp(rows.names[c], "vnode_duration")) vnode = ns;
    }
    const char *cols[] = {"name", "duration", "shardGroupDuration", "replicaN", "default"};
    iql_series *s = add_series(a, out, NULL, cols, 5);
    value row[5] = {str_value("autogen"),
                    str_value(go_duration(a, ttl)),
                    str_value(go_duration(a, vnode)),
                    {.type = VT_I64},
                    {.type = VT_BOOL}};
    row[3].v.i = 1;
    row[4].v.b = true;
    add_row(a, s, row);
    return 0;
}

static bool mentions_time(const iql_expr *x) {
    if (!x) return false;
    if (x->k == IE_REF && !strcasecmp(x->s, "time")) return true;
    return mentions_time(x->l) || mentions_time(x->r);
}

/* DELETE and DROP SERIES: CnosDB's DELETE FROM t WHERE (tags and time) per measurement. */
static int delete_rows(sql_session *ss, arena *a, const iql_stmt *st, int64_t now_ns, err *e) {
    if (st->k == IS_DROP_SERIES && mentions_time(st->where))
        return iql_fail(e, "DROP SERIES doesn't support time in WHERE clause");
    const char **names;
    size_t n;
    if (show_tables(ss, a, st, &names, &n, e) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        iql_table t;
        if (iql_describe(ss, a, names[i], &t, e) < 0) return -1;
        if (t.missing) continue;
        buf q, w;
        buf_init(&q);
        buf_init(&w);
        int64_t tmin, tmax;
        int rc = iql_sql_where(st->where, &t, now_ns, &w, &tmin, &tmax, e);
        if (rc == 0) {
            buf_puts(&q, "DELETE FROM ");
            iql_sql_ident(&q, t.name);
            if (w.len) buf_printf(&q, " WHERE %s", buf_cstr(&w));
            iql_rows rows;
            rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
        }
        buf_free(&q);
        buf_free(&w);
        if (rc < 0) return -1;
    }
    return 0;
}

static int ddl(sql_session *ss, arena *a, const iql_stmt *st, err *e) {
    buf q;
    buf_init(&q);
    switch (st->k) {
    case IS_CREATE_DB:
        buf_puts(&q, "CREATE DATABASE IF NOT EXISTS ");
        iql_sql_ident(&q, st->db);
        if (st->duration > 0)
            buf_printf(&q, " WITH TTL '%llds'", (long long)(st->duration / 1000000000));
        break;
    case IS_DROP_DB:
        buf_puts(&q, "DROP DATABASE IF EXISTS ");
        iql_sql_ident(&q, st->db);
        break;
    default:
        buf_puts(&q, "DROP TABLE IF EXISTS ");
        iql_sql_ident(&q, st->name);
    }
    iql_rows rows;
    int rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
    buf_free(&q);
    return rc;
}

int iql_exec(sql_session *ss0, arena *a, const iql_stmt *st, int64_t now_ns, iql_result *out,
             err *e) {
    memset(out, 0, sizeof *out);
    sql_session ss = *ss0;
    if (st->db && st->k != IS_CREATE_DB && st->k != IS_DROP_DB) ss.db = st->db;
    if (st->k == IS_SELECT && st->sel.db) ss.db = st->sel.db;
    err se;
    err_clear(&se);
    int rc;
    switch (st->k) {
    case IS_SELECT:
        rc = iql_run_select(&ss, a, &st->sel, now_ns, out, &se);
        break;
    case IS_SHOW_DATABASES:
        rc = show_databases(&ss, a, out, &se);
        break;
    case IS_SHOW_MEASUREMENTS:
        rc = show_measurements(&ss, a, st, now_ns, out, &se);
        break;
    case IS_SHOW_TAG_KEYS:
    case IS_SHOW_FIELD_KEYS:
        rc = show_keys(&ss, a, st, now_ns, out, &se);
        break;
    case IS_SHOW_TAG_VALUES:
    case IS_SHOW_SERIES:
        rc = show_values(&ss, a, st, now_ns, out, &se);
        break;
    case IS_SHOW_RP:
        rc = show_rp(&ss, a, out, &se);
        break;
    case IS_DELETE:
    case IS_DROP_SERIES:
        rc = delete_rows(&ss, a, st, now_ns, &se);
        break;
    default:
        rc = ddl(&ss, a, st, &se);
    }
    if (rc < 0) {
        /* the failures that end the request rather than the statement */
        if (se.http == 401 || se.http == 503) {
            *e = se;
            return -1;
        }
        memset(out, 0, sizeof *out);
        if (!strcmp(se.code, EC_DB_NOT_FOUND))
            out->error = arena_printf(a, "database not found: %s", ss.db);
        else
            out->error = arena_strdup(a, se.msg);
    }
    return 0;
}
