/* Stream tables and continuous jobs (CnosDB's streams), the statement side: CREATE STREAM
 * TABLE, `INSERT INTO sink SELECT ... FROM stream_table` and CREATE STREAM ... AS INSERT (which
 * start a job, sql/streams.h), DROP STREAM, SHOW STREAMS, and what a job's run reads.
 *
 * A stream table is a view of a TSKV table's rows in event-time order: it has no data of its
 * own (the catalog keeps it as an external table whose definition is the stream's, JSON
 * {"stream": {db, table, event_time_column}}). Only a job reads it: in a run, the planner reads
 * it as `SELECT cols FROM source WHERE time >= lo AND time < hi` (sqlx_stream_query).
 *
 * A job's INSERT is checked when it starts, as CnosDB checks a streaming plan: no joins, no
 * ORDER BY or LIMIT, at most one level of aggregation, and an aggregation groups by one time
 * bucket (date_bin, or a tumbling time_window) so that a run can write whole buckets. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/func.h"
#include "sql/parser.h"
#include "sql/sql_int.h"
#include "sql/streams.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define STREAM_NOT_SOURCE                                                                          \
    "This feature is not implemented: Stream table can only be used as source table in insert "    \
    "select statements."

/* A planning error, as DataFusion words the ones of a streaming plan. */
static int plan_err(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int plan_err(err *e, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: Error during planning: %s", msg);
}

static const sql_option *opt(const sql_stmt *st, const char *name) {
    for (uint32_t i = 0; i < st->nopts; i++)
        if (!strcasecmp(st->opts[i].name, name)) return &st->opts[i];
    return NULL;
}

/* ------------------------------------------------------------------ CREATE STREAM TABLE */

int sqlx_create_stream_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    for (uint32_t i = 0; i < st->nopts; i++) {
        const char *n = st->opts[i].name;
        if (strcasecmp(n, "DB") && strcasecmp(n, "TABLE") && strcasecmp(n, "EVENT_TIME_COLUMN"))
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Invalid option %s of a stream table: it takes db, table and "
                           "event_time_column",
                           n);
    }
    static const char *const need[3] = {"db", "table", "event_time_column"};
    const sql_option *o3[3] = {opt(st, "DB"), opt(st, "TABLE"), opt(st, "EVENT_TIME_COLUMN")};
    for (int k = 0; k < 3; k++) {
        if (!o3[k])
            return err_set(e, 422, EC_QUERY_INTERNAL, "Missing option [%s] of table %s", need[k],
                           st->table.name);
        if (o3[k]->v.type != VT_STR)
            return err_set(e, 422, EC_QUERY_INTERNAL, "Invalid option %s: expected a string",
                           need[k]);
    }
    if (st->name2 && strcasecmp(st->name2, "tskv"))
        return err_set(e, 422, EC_QUERY_INTERNAL, "Unsupported stream type: %s", st->name2);
    const char *src_db = o3[0]->v.v.s.p, *src_table = o3[1]->v.v.s.p, *tcol = o3[2]->v.v.s.p;
    /* the source: a TSKV table with every column the stream names */
    meta_table *src = catalog_find_table(s->cat, s->tenant, src_db, src_table, e);
    if (!src) return -1;
    int rc = 0;
    if (src->ext)
        rc = err_set(e, 422, EC_QUERY_INTERNAL,
                     "Invalid option table: %s.%s is not a TSKV table, a stream reads one", src_db,
                     src_table);
    /* without a column list the stream has the source's columns */
    bool derived = st->ncols == 0;
    uint32_t n = derived ? src->ncols : st->ncols;
    col_def *defs = arena_calloc(s->a, sizeof *defs * (n + 1));
    int time_at = -1;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        const char *name = derived ? arena_strdup(s->a, src->cols[i].name) : st->cols[i].name;
        uint8_t type = derived ? src->cols[i].type : st->cols[i].type.vt;
        for (uint32_t k = 0; k < i && rc == 0; k++)
            if (!strcmp(defs[k].name, name))
                rc = err_set(e, 422, EC_META, "Field or Tag have the same name: %s", name);
        defs[i] = (col_def){.name = name, .name_len = strlen(name), .kind = CK_FIELD, .type = type};
        int k = meta_table_col(src, name, strlen(name));
        if (rc == 0 && k < 0) {
            /* Arrow's lookup in the source's schema, as CnosDB fails */
            buf b;
            buf_init(&b);
            for (uint32_t j = 0; j < src->ncols; j++)
                buf_printf(&b, "%s\"%s\"", j ? ", " : "", src->cols[j].name);
            rc = err_set(e, 422, EC_QUERY_INTERNAL,
                         "Arrow error: Schema error: Unable to get field named \"%s\". Valid "
                         "fields: [%s]",
                         name, buf_cstr(&b));
            buf_free(&b);
        }
        if (!strcmp(name, tcol)) {
            time_at = (int)i;
            if (rc == 0 && (type != VT_TS || src->cols[k].kind != CK_TIME))
                rc = err_set(e, 422, EC_QUERY_INTERNAL,
                             "Invalid option event_time_column: %s is not the time column of the "
                             "stream and of %s.%s",
                             tcol, src_db, src_table);
        }
    }
    meta_table_release(src);
    if (rc < 0) return -1;
    if (time_at < 0)
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Invalid option event_time_column: %s is not a column of the stream table",
                       tcol);
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:b}}", "stream", "db", src_db, "table", src_table,
                          "event_time_column", tcol, "derived", derived);
    char *def = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!def) return err_set(e, 500, EC_INTERNAL, "cannot encode a stream table definition");
    rc = catalog_create_external_table(s->cat, s->tenant, db, st->table.name, defs, n, def,
                                       st->if_not_exists, e);
    free(def);
    return rc;
}

int sqlx_stream_source(sql_session *s, const char *stream_db, const char *stream_table,
                       struct stream_source *out, err *e) {
    meta_table *t = catalog_get_table(s->cat, s->tenant, stream_db, stream_table, e);
    if (!t) return -1;
    int rc = 0;
    json_t *j = meta_table_is_stream(t) ? json_loads(t->ext, 0, NULL) : NULL;
    json_t *d = j ? json_object_get(j, "stream") : NULL;
    const char *db = json_string_value(json_object_get(d, "db"));
    const char *tb = json_string_value(json_object_get(d, "table"));
    const char *tc = json_string_value(json_object_get(d, "event_time_column"));
    if (!db || !tb || !tc) {
        rc = err_set(e, 422, EC_QUERY_INTERNAL, "%s.%s is not a stream table", stream_db,
                     stream_table);
    } else {
        out->db = arena_strdup(s->a, db);
        out->table = arena_strdup(s->a, tb);
        out->time_col = arena_strdup(s->a, tc);
    }
    json_decref(j);
    meta_table_release(t);
    if (rc < 0) return -1;
    meta_table *src = catalog_get_table(s->cat, s->tenant, out->db, out->table, e);
    if (!src) return -1;
    out->unit = src->precision;
    meta_table_release(src);
    return 0;
}

/* ------------------------------------------------------------------ a job's reads */

int sqlx_stream_query(sql_session *s, const meta_table *t, const sql_query **out, err *e) {
    if (!s->stream) return err_set(e, 422, EC_NOT_IMPL, STREAM_NOT_SOURCE);
    struct stream_source src;
    if (sqlx_stream_source(s, t->db, t->name, &src, e) < 0) return -1;
    int64_t per = 1000000000 / tunit_per_sec((enum tunit)src.unit);
    /* [lo, hi) in nanoseconds is [ceil(lo), ceil(hi)) in the source's unit */
    int64_t lo = s->stream->lo / per + (s->stream->lo % per > 0);
    int64_t hi = s->stream->hi / per + (s->stream->hi % per > 0);
    buf b;
    buf_init(&b);
    meta_table *st = catalog_get_table(s->cat, s->tenant, src.db, src.table, e);
    if (!st) {
        buf_free(&b);
        return -1;
    }
    buf_puts(&b, "SELECT ");
    for (uint32_t i = 0; i < t->ncols; i++) {
        /* a column the stream declares with another type than its source's reads cast */
        const char *c = t->cols[i].name;
        int k = meta_table_col(st, c, strlen(c));
        uint8_t want = t->cols[i].type;
        if (k >= 0 && st->cols[k].type != want && want != VT_TS)
            buf_printf(&b, "%sCAST(\"%s\" AS %s) AS \"%s\"", i ? ", " : "", c,
                       vtype_sql_name((enum vtype)want, TU_NS), c);
        else
            buf_printf(&b, "%s\"%s\"", i ? ", " : "", c);
    }
    meta_table_release(st);
    buf_printf(&b, " FROM \"%s\".\"%s\" WHERE \"%s\" >= %lld AND \"%s\" < %lld", src.db, src.table,
               src.time_col, (long long)lo, src.time_col, (long long)hi);
    sql_stmt **stmts;
    size_t n;
    int rc = sql_parse(s->a, b.p, b.len, &stmts, &n, e);
    buf_free(&b);
    if (rc < 0) return -1;
    *out = stmts[0]->q;
    return 0;
}

/* ------------------------------------------------------------------ starting a job */

struct stream_scan {
    sql_session *s;
    const sql_query *top;
    const sql_table_ref *stream_ref; /* the first stream table read */
    uint32_t nstreams;
    uint32_t agg_levels;
    const char *unsupported; /* the first operation a streaming plan cannot have */
};

static bool has_agg_call(const expr *x) {
    if (!x) return false;
    if (x->kind == EX_FUNC && !x->over && agg_lookup(x->name)) return true;
    if (x->kind == EX_SUBQUERY || x->kind == EX_IN_QUERY || x->kind == EX_EXISTS) return false;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (has_agg_call(x->args[i])) return true;
    if (has_agg_call(x->operand) || has_agg_call(x->els)) return true;
    for (uint32_t i = 0; i < x->nwhen; i++)
        if (has_agg_call(x->when[i]) || has_agg_call(x->then[i])) return true;
    return false;
}

static void scan_query(struct stream_scan *sc, const sql_query *q);

static void scan_from(struct stream_scan *sc, const sql_table_ref *tr) {
    if (!tr) return;
    switch (tr->kind) {
    case TR_TABLE: {
        if (tr->tenant) return;
        const char *db = tr->db ? tr->db : sc->s->db;
        err e = {0};
        meta_table *t = catalog_get_table(sc->s->cat, sc->s->tenant, db, tr->name, &e);
        err_clear(&e);
        if (!t) return;
        if (meta_table_is_stream(t)) {
            if (!sc->nstreams++) sc->stream_ref = tr;
        }
        meta_table_release(t);
        return;
    }
    case TR_SUBQUERY:
        scan_query(sc, tr->sub);
        return;
    case TR_JOIN:
        if (!sc->unsupported) sc->unsupported = tr->join == JOIN_CROSS ? "cross join" : "join";
        scan_from(sc, tr->left);
        scan_from(sc, tr->right);
        return;
    default:
        return;
    }
}

static void scan_body(struct stream_scan *sc, const sql_body *b) {
    if (!b) return;
    if (b->nested) scan_query(sc, b->nested);
    scan_body(sc, b->left);
    scan_body(sc, b->right);
    const sql_select *sel = b->select;
    if (!sel) return;
    bool agg = sel->ngroup || sel->group_kind || has_agg_call(sel->having);
    for (uint32_t i = 0; i < sel->nitems && !agg; i++) agg = has_agg_call(sel->items[i].e);
    if (agg) sc->agg_levels++;
    scan_from(sc, sel->from);
}

static void scan_query(struct stream_scan *sc, const sql_query *q) {
    if (!q) return;
    if (!sc->unsupported && q->norder) sc->unsupported = "sort";
    if (!sc->unsupported && (q->limit || q->offset)) sc->unsupported = "limit";
    for (uint32_t i = 0; i < q->nctes; i++) scan_query(sc, q->ctes[i].q);
    scan_body(sc, q->body);
}

/* An INTERVAL literal's nanoseconds (0 when it is not one, or has months). */
static int64_t interval_ns(const expr *x) {
    if (!x || x->kind != EX_LITERAL || x->lit.type != VT_INTERVAL || x->lit.v.iv.months) return 0;
    return x->lit.v.iv.days * 86400000000000LL + x->lit.v.iv.nanos;
}

/* A timestamp constant: 'text' or TIMESTAMP 'text'. */
static bool timestamp_lit(const expr *x, int64_t *ns) {
    if (x && x->kind == EX_CAST && x->nargs == 1) x = x->args[0];
    return x && x->kind == EX_LITERAL && x->lit.type == VT_STR &&
           time_parse_ts(x->lit.v.s.p, x->lit.v.s.len, ns);
}

/* The time bucket of the top SELECT's GROUP BY: 1 found, 0 none, -1 error. */
static int find_bucket(const sql_select *sel, int64_t *width, int64_t *origin, err *e) {
    for (uint32_t k = 0; k < sel->ngroup; k++) {
        const expr *g = sel->group_by[k];
        if (g->kind == EX_COLUMN && !g->qual) /* an output alias */
            for (uint32_t i = 0; i < sel->nitems; i++)
                if (sel->items[i].alias && !strcmp(sel->items[i].alias, g->name))
                    g = sel->items[i].e;
        if (g->kind != EX_FUNC) continue;
        *origin = 0;
        if (!strcmp(g->name, "date_bin") || !strcmp(g->name, "date_bin_gapfill")) {
            *width = g->nargs >= 2 ? interval_ns(g->args[0]) : 0;
            if (g->nargs == 3 && !timestamp_lit(g->args[2], origin)) *width = 0;
        } else if (!strcmp(g->name, "time_window")) {
            *width = g->nargs >= 2 ? interval_ns(g->args[1]) : 0;
            if (g->nargs >= 3 && interval_ns(g->args[2]) != *width)
                return plan_err(e, "Unsupported operation in streaming query: a sliding "
                                   "time_window (a stream writes tumbling windows)");
            if (g->nargs == 4 && !timestamp_lit(g->args[3], origin)) *width = 0;
            if (*width) *origin %= *width;
        } else {
            continue;
        }
        if (*width <= 0)
            return plan_err(e, "Unsupported operation in streaming query: the time bucket needs "
                               "a constant INTERVAL of days, hours, minutes or seconds and a "
                               "constant origin");
        return 1;
    }
    return 0;
}

/* The SELECT that aggregates: q's own, or one in its FROM's subqueries (a job has one). */
static const sql_select *agg_select(const sql_query *q);

static const sql_select *agg_select_from(const sql_table_ref *tr) {
    if (!tr) return NULL;
    if (tr->kind == TR_SUBQUERY) return agg_select(tr->sub);
    if (tr->kind != TR_JOIN) return NULL;
    const sql_select *s = agg_select_from(tr->left);
    return s ? s : agg_select_from(tr->right);
}

static const sql_select *agg_select(const sql_query *q) {
    const sql_select *sel = q && q->body ? q->body->select : NULL;
    if (!sel) return NULL;
    if (sel->ngroup || sel->group_kind) return sel;
    return agg_select_from(sel->from);
}

/* Checks a job's INSERT and fills d's stream and bucket; 0 when the INSERT reads no stream. */
static int check_job(sql_session *s, const sql_stmt *ins, stream_def *d, err *e) {
    struct stream_scan sc = {.s = s, .top = ins->q};
    scan_query(&sc, ins->q);
    if (!sc.nstreams) return 0;
    if (sc.unsupported)
        return plan_err(e, "Unsupported operation in streaming query: %s", sc.unsupported);
    if (sc.agg_levels > 1)
        return plan_err(e, "Unsupported operation in streaming query: multiple aggregate");
    if (sc.nstreams > 1)
        return plan_err(e, "Unsupported operation in streaming query: more than one stream "
                           "table");
    d->bucket_ns = 0;
    if (sc.agg_levels) {
        const sql_select *as = agg_select(ins->q);
        int r = as ? find_bucket(as, &d->bucket_ns, &d->origin_ns, e) : 0;
        if (r < 0) return -1;
        if (r == 0)
            return plan_err(e, "Unsupported operation in streaming query: an aggregation must "
                               "group by a time bucket (date_bin or time_window)");
    }
    const sql_table_ref *tr = sc.stream_ref;
    d->stream_db = tr->db ? tr->db : s->db;
    d->stream_table = tr->name;
    /* the sink: a TSKV table of the tenant */
    const char *sdb = ins->table.db ? ins->table.db : s->db;
    meta_table *sink = catalog_find_table(s->cat, s->tenant, sdb, ins->table.name, e);
    if (!sink) return -1;
    bool ext = sink->ext != NULL;
    meta_table_release(sink);
    if (ext) return not_impl_external("INSERT", ins->table.name, e);
    struct stream_source src;
    if (sqlx_stream_source(s, d->stream_db, d->stream_table, &src, e) < 0) return -1;
    return 1;
}

static int add_job(sql_session *s, stream_def *d, bool if_not_exists, err *e) {
    d->tenant = s->tenant;
    d->db = s->db;
    d->user = s->user;
    const char *name;
    return streams_add(d, if_not_exists, s->a, &name, e);
}

int sqlx_stream_insert(sql_session *s, const sql_stmt *st, const char *text, size_t len, err *e) {
    if (s->stream) return 0; /* a job's own run */
    stream_def d = {.trigger_ns = 1000000000};
    int r = check_job(s, st, &d, e);
    if (r <= 0) return r;
    d.sql = arena_strndup(s->a, text, len);
    return add_job(s, &d, false, e) < 0 ? -1 : 1;
}

static int duration_opt(const sql_option *o, const char *what, int64_t *ns, err *e) {
    if (!o) return 0;
    if (o->v.type != VT_STR || !duration_parse(o->v.v.s.p, o->v.v.s.len, 1000000000, ns) || *ns < 0)
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Invalid option %s: expected a duration such "
                       "as '10s'",
                       what);
    return 0;
}

int sqlx_create_stream(sql_session *s, const sql_stmt *st, const char *text, size_t len, err *e) {
    const sql_stmt *ins = st->inner;
    if (s->stream) { /* a job's run: the INSERT alone */
        (void)text;
        (void)len;
        return 0;
    }
    stream_def d = {.name = st->name, .trigger_ns = 1000000000};
    for (uint32_t i = 0; i < st->nopts; i++) {
        const sql_option *o = &st->opts[i];
        if (!strcasecmp(o->name, "TRIGGER")) {
            bool once = o->v.type == VT_STR && o->ident && !strcasecmp(o->v.v.s.p, "ONCE");
            if (!once && duration_opt(o, "TRIGGER", &d.trigger_ns, e) < 0) return -1;
            if (!once && d.trigger_ns == 0)
                return err_set(e, 422, EC_QUERY_INTERNAL, "Invalid option TRIGGER: 0");
        } else if (!strcasecmp(o->name, "WATERMARK")) {
            if (duration_opt(o, "WATERMARK", &d.delay_ns, e) < 0) return -1;
        } else if (!strcasecmp(o->name, "OUTPUT_MODE")) {
            /* COMPLETE rewrites every bucket each time: over a table whose rows a rewrite
             * overwrites, that is UPDATE's result */
            const char *m = o->v.type == VT_STR ? o->v.v.s.p : "";
            if (!strcasecmp(m, "APPEND"))
                d.append = true;
            else if (strcasecmp(m, "UPDATE") && strcasecmp(m, "COMPLETE"))
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               "Invalid option OUTPUT_MODE: %s (APPEND, UPDATE or COMPLETE)", m);
        } else {
            return err_set(e, 422, EC_QUERY_INTERNAL, "Invalid option %s of CREATE STREAM",
                           o->name);
        }
    }
    if (!ins || ins->kind != ST_INSERT || !ins->q)
        return err_set(e, 422, EC_QUERY_INTERNAL, "CREATE STREAM needs AS INSERT ... SELECT");
    int r = check_job(s, ins, &d, e);
    if (r < 0) return -1;
    if (r == 0)
        return plan_err(e, "CREATE STREAM: the INSERT reads no stream table (CREATE STREAM "
                           "TABLE makes one over a table)");
    d.sql = arena_strndup(s->a, text, len);
    return add_job(s, &d, st->if_not_exists, e);
}

int sqlx_drop_stream(sql_session *s, const sql_stmt *st, err *e) {
    return streams_drop(s->tenant, st->name, st->if_exists, e);
}

int sqlx_show_streams(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    (void)e;
    static const char *cols[] = {"stream_name",     "database",     "user",
                                 "query",           "watermark",    "trigger",
                                 "processed_until", "rows_written", "status"};
    static const uint8_t types[] = {VT_STR, VT_STR, VT_STR, VT_STR, VT_STR,
                                    VT_STR, VT_STR, VT_U64, VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 9, cols, types);
    stream_info *v;
    uint32_t n = streams_list(s->a, s->tenant, &v);
    for (uint32_t i = 0; i < n; i++) {
        value *row = tb_row(&tb);
        char tmp[96];
        row[0] = tb_str(s->a, v[i].name);
        row[1] = tb_str(s->a, v[i].db);
        row[2] = tb_str(s->a, v[i].user);
        row[3] = tb_str(s->a, v[i].sql);
        tmp[duration_format(tmp, v[i].delay_ns)] = 0;
        row[4] = tb_str(s->a, tmp);
        tmp[duration_format(tmp, v[i].trigger_ns)] = 0;
        row[5] = tb_str(s->a, tmp);
        if (v[i].done != INT64_MIN) {
            tmp[time_format(tmp, v[i].done, TU_NS, TSFMT_TRIM, false)] = 0;
            row[6] = tb_str(s->a, tmp);
        }
        row[7] = tb_u64(v[i].rows);
        row[8] = tb_str(s->a, v[i].error ? v[i].error : "running");
    }
    (void)st;
    tb_finish(&tb, r);
    return 0;
}
