/* Metadata statements: SHOW DATABASES, SHOW TABLES, DESCRIBE TABLE / DATABASE, SHOW SERIES and
 * SHOW TAG VALUES, each answered as a small table (table_builder) in CnosDB's columns and
 * wording. See sql_int.h. */
#include "sql/sql_int.h"

#include "codec/codec.h"
#include "gis/gis.h"
#include "sql/ext.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void size_text(char *out, size_t cap, uint64_t v) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    snprintf(out, cap, "%.15g %s", d, units[u]);
}

static const char *prec_text(uint8_t p) {
    return p == TU_MS ? "MS" : p == TU_US ? "US" : "NS";
}

const char *sqlx_db_option_names[SQLX_DB_OPTION_COLS] = {"ttl",
                                                         "shard",
                                                         "vnode_duration",
                                                         "replica",
                                                         "precision",
                                                         "max_memcache_size",
                                                         "memcache_partitions",
                                                         "wal_max_file_size",
                                                         "wal_sync",
                                                         "strict_write",
                                                         "max_cache_readers"};
const uint8_t sqlx_db_option_types[SQLX_DB_OPTION_COLS] = {
    VT_STR, VT_U64, VT_STR, VT_U64, VT_STR, VT_STR, VT_U64, VT_STR, VT_BOOL, VT_BOOL, VT_U64};

/* A one-column result listing names. */
static void names_result(sql_session *s, sql_result *r, const char **col, char **names, size_t n) {
    static const uint8_t types[] = {VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, col, types);
    for (size_t i = 0; i < n; i++) tb_row(&tb)[0] = tb_str(s->a, names[i]);
    tb_finish(&tb, r);
}

int sqlx_show_databases(sql_session *s, sql_result *r, err *e) {
    char **names;
    size_t n;
    catalog_list_dbs(s->cat, s->tenant, s->a, &names, &n);
    static const char *cols[] = {"database_name"};
    names_result(s, r, cols, names, n);
    return 0;
}

int sqlx_show_tables(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    char **names;
    size_t n;
    const char *db = st->on_db ? st->on_db : s->db;
    if (catalog_list_tables(s->cat, s->tenant, db, s->a, &names, &n, e) < 0) return -1;
    static const char *cols[] = {"table_name"};
    names_result(s, r, cols, names, n);
    return 0;
}

const char *sqlx_column_kind(uint8_t kind) {
    return kind == CK_TIME ? "TIME" : kind == CK_TAG ? "TAG" : "FIELD";
}

int sqlx_column_types(arena *a, const meta_table *t, const char ***out, err *e) {
    /* an external table shows Arrow's type names, as CnosDB does */
    if (t->ext && !meta_table_is_stream(t)) return ext_table_columns(a, t, out, e);
    const char **types = arena_alloc(a, sizeof *types * (t->ncols + 1));
    for (uint32_t i = 0; i < t->ncols; i++)
        types[i] =
            t->cols[i].geo
                ? arena_printf(a, "Geometry(%s, 0)", gis_type_name((enum gis_type)t->cols[i].geo))
                : vtype_sql_name((enum vtype)t->cols[i].type, (enum tunit)t->precision);
    *out = types;
    return 0;
}

int sqlx_describe_table(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    static const char *cols[] = {"column_name", "data_type", "column_type", "compression_codec"};
    static const uint8_t types[] = {VT_STR, VT_STR, VT_STR, VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 4, cols, types);
    const char **dtypes;
    if (sqlx_column_types(s->a, t, &dtypes, e) < 0) {
        meta_table_release(t);
        return -1;
    }
    for (uint32_t i = 0; i < t->ncols; i++) {
        const meta_column *c = &t->cols[i];
        value *row = tb_row(&tb);
        row[0] = tb_str(s->a, c->name);
        row[1] = tb_str(s->a, dtypes[i]);
        row[2] = tb_str(s->a, sqlx_column_kind(c->kind));
        /* an external table has no codec: "NULL" */
        row[3] = tb_str(s->a, t->ext ? "NULL" : codec_name((enum codec_id)c->codec));
    }
    meta_table_release(t);
    tb_finish(&tb, r);
    return 0;
}

void sqlx_db_option_cells(arena *a, const db_options *o, value *row) {
    char text[128];
    if (o->ttl_ns == 0)
        snprintf(text, sizeof text, "INF");
    else
        text[duration_format(text, o->ttl_ns)] = 0;
    row[0] = tb_str(a, text);
    row[1] = tb_u64(o->shard);
    text[duration_format(text, o->vnode_duration_ns)] = 0;
    row[2] = tb_str(a, text);
    row[3] = tb_u64(o->replica);
    row[4] = tb_str(a, prec_text(o->precision));
    size_text(text, sizeof text, o->max_memcache_size);
    row[5] = tb_str(a, text);
    row[6] = tb_u64(o->memcache_partitions);
    size_text(text, sizeof text, o->wal_max_file_size);
    row[7] = tb_str(a, text);
    row[8] = tb_bool(o->wal_sync);
    row[9] = tb_bool(o->strict_write);
    row[10] = tb_u64(o->max_cache_readers);
}

int sqlx_describe_db(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    struct table_builder tb;
    tb_init(&tb, s->a, SQLX_DB_OPTION_COLS, sqlx_db_option_names, sqlx_db_option_types);
    sqlx_db_option_cells(s->a, &info.opts, tb_row(&tb));
    tb_finish(&tb, r);
    return 0;
}

/* ORDER BY over the output columns of SHOW SERIES / TAG VALUES, then LIMIT/OFFSET. */
static int order_limit(sql_session *s, const sql_stmt *st, sql_result *r, const char **names,
                       uint32_t ncols, err *e) {
    op *root = r->root;
    if (st->norder) {
        sort_key *keys = arena_alloc(s->a, sizeof *keys * st->norder);
        for (uint32_t k = 0; k < st->norder; k++) {
            const expr *oe = st->order_by[k].e;
            int col = -1;
            if (oe->kind == EX_LITERAL && oe->lit.type == VT_I64 && oe->lit.v.i >= 1 &&
                oe->lit.v.i <= ncols)
                col = (int)oe->lit.v.i - 1;
            for (uint32_t c = 0; c < ncols && col < 0; c++)
                if (oe->kind == EX_COLUMN && !strcmp(oe->name, names[c])) col = (int)c;
            if (col < 0)
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               "Datafusion: Schema error: No field named %s. Valid fields are %s.",
                               oe->kind == EX_COLUMN ? oe->name : "expression",
                               ncols == 1 ? "key" : "key, value");
            keys[k].e = bx_col(s->a, (uint32_t)col, VT_STR, 0);
            keys[k].desc = st->order_by[k].desc;
            keys[k].nulls_first = st->order_by[k].nulls_first < 0 ? st->order_by[k].desc
                                                                  : st->order_by[k].nulls_first;
        }
        root = op_sort(&r->q, root, keys, st->norder, -1);
    }
    int64_t limit = -1, offset = 0;
    if (st->limit && st->limit->kind == EX_LITERAL && st->limit->lit.type == VT_I64)
        limit = st->limit->lit.v.i;
    if (st->offset && st->offset->kind == EX_LITERAL && st->offset->lit.type == VT_I64)
        offset = st->offset->lit.v.i;
    if (limit >= 0 || offset > 0)
        root = op_limit(&r->q, root, (uint64_t)(offset > 0 ? offset : 0), limit);
    r->root = root;
    return 0;
}

static int cmp_tag_name(const void *pa, const void *pb, void *ctx) {
    const meta_table *t = ctx;
    return strcmp(t->cols[*(const uint32_t *)pa].name, t->cols[*(const uint32_t *)pb].name);
}

/* The first field column a WHERE names (CnosDB refuses fields there, naming SHOW SERIES for
 * SHOW TAG VALUES too). */
static const char *first_field(const meta_table *t, const expr *x) {
    if (!x) return NULL;
    if (x->kind == EX_COLUMN) {
        int c = meta_table_col(t, x->name, strlen(x->name));
        return c >= 0 && t->cols[c].kind == CK_FIELD ? x->name : NULL;
    }
    for (uint32_t i = 0; i < x->nargs; i++) {
        const char *f = first_field(t, x->args[i]);
        if (f) return f;
    }
    return NULL;
}

/* The start of SHOW SERIES / SHOW TAG VALUES: the table and the series its WHERE selects
 * (tags and time only). On success the caller releases *t. */
static int show_series_set(sql_session *s, const sql_stmt *st, sql_result *r, const char *what,
                           meta_table **t, series_filter *sf, uint32_t **sids, size_t *n, err *e) {
    const char *db = st->on_db ? st->on_db : s->db;
    *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!*t) return -1;
    const char *field = first_field(*t, st->where);
    int rc = field ? err_set(e, 422, EC_SEMANTIC,
                             "Semantic error: SHOW SERIES does not support where clause contains "
                             "field %s",
                             field)
                   : sqlx_series_filter(s, r, *t, st->where, sf, sids, n, e);
    if (rc == 0 && sf->has_other)
        rc = err_set(e, 422, EC_NOT_IMPL,
                     "This feature is not implemented: %s only filters on tags and time", what);
    if (rc < 0) meta_table_release(*t);
    return rc;
}

/* Tag column ids of the given column positions, sorted by tag name (CnosDB's key order). */
static uint32_t *tags_by_name(arena *a, const meta_table *t, uint32_t *idx, uint32_t n) {
    qsort_r(idx, n, sizeof *idx, cmp_tag_name, (void *)t);
    uint32_t *ids = arena_alloc(a, sizeof *ids * (n + 1));
    for (uint32_t i = 0; i < n; i++) ids[i] = t->cols[idx[i]].id;
    return ids;
}

int sqlx_show_series(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    meta_table *t;
    series_filter sf;
    uint32_t *sids;
    size_t n;
    if (show_series_set(s, st, r, "SHOW SERIES", &t, &sf, &sids, &n, e) < 0) return -1;
    uint32_t *tag_idx = arena_alloc(s->a, sizeof *tag_idx * (t->ncols + 1)), ntags = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_TAG) tag_idx[ntags++] = i;
    uint32_t *tag_ids = tags_by_name(s->a, t, tag_idx, ntags);
    static const char *cols[] = {"key"};
    static const uint8_t types[] = {VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, cols, types);
    strv *vals = arena_alloc(s->a, sizeof *vals * (ntags + 1));
    bool timed = sf.tmin != INT64_MIN || sf.tmax != INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (timed && !engine_series_has_rows(s->eng, t->db_id, sids[i], sf.tmin, sf.tmax)) continue;
        engine_series_tags(s->eng, t->db_id, sids[i], ntags, tag_ids, s->a, vals);
        buf b;
        buf_init(&b);
        buf_puts(&b, t->name);
        for (uint32_t k = 0; k < ntags; k++) {
            if (!vals[k].p) continue;
            buf_printf(&b, ",%s=%.*s", t->cols[tag_idx[k]].name, (int)vals[k].len, vals[k].p);
        }
        value v = {.type = VT_STR};
        v.v.s = (strv){arena_strndup(s->a, b.p ? b.p : "", b.len), (uint32_t)b.len};
        buf_free(&b);
        tb_row(&tb)[0] = v;
    }
    meta_table_release(t);
    tb_finish(&tb, r);
    return order_limit(s, st, r, cols, 1, e);
}

int sqlx_show_tag_values(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    meta_table *t;
    series_filter sf;
    uint32_t *sids;
    size_t n;
    if (show_series_set(s, st, r, "SHOW TAG VALUES", &t, &sf, &sids, &n, e) < 0) return -1;
    /* The tag columns the WITH KEY clause selects, in name order. */
    uint32_t *sel = arena_alloc(s->a, sizeof *sel * (t->ncols + 1)), nsel = 0;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].kind != CK_TAG) continue;
        bool listed = false;
        for (uint32_t k = 0; k < st->ntag_keys; k++)
            listed |= !strcmp(st->tag_keys[k], t->cols[i].name);
        bool take = (st->tag_key_op == TK_EQ || st->tag_key_op == TK_IN) ? listed : !listed;
        if (take) sel[nsel++] = i;
    }
    uint32_t *tag_ids = tags_by_name(s->a, t, sel, nsel);
    static const char *cols[] = {"key", "value"};
    static const uint8_t types[] = {VT_STR, VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 2, cols, types);
    strv *vals = arena_alloc(s->a, sizeof *vals * (nsel + 1));
    bool timed = sf.tmin != INT64_MIN || sf.tmax != INT64_MAX;
    hmap *seen = hmap_new(64);
    buf k;
    buf_init(&k);
    for (size_t i = 0; i < n; i++) {
        if (timed && !engine_series_has_rows(s->eng, t->db_id, sids[i], sf.tmin, sf.tmax)) continue;
        engine_series_tags(s->eng, t->db_id, sids[i], nsel, tag_ids, s->a, vals);
        for (uint32_t j = 0; j < nsel; j++) {
            if (!vals[j].p) continue;
            buf_reset(&k);
            buf_puts(&k, t->cols[sel[j]].name);
            buf_putc(&k, 0);
            buf_append(&k, vals[j].p, vals[j].len);
            bool ins;
            hmap_upsert(seen, k.p, k.len, &ins);
            if (!ins) continue;
            value *row = tb_row(&tb);
            row[0] = tb_str(s->a, t->cols[sel[j]].name);
            row[1].type = VT_STR;
            row[1].v.s = vals[j];
        }
    }
    buf_free(&k);
    hmap_free(seen);
    meta_table_release(t);
    tb_finish(&tb, r);
    return order_limit(s, st, r, cols, 2, e);
}
