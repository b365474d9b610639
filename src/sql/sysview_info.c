/* information_schema views over the catalog: DATABASES, TABLES, COLUMNS, and RESOURCE_STATUS
 * (delayed drops, sql/rstatus.h), each over the session's tenant only, in CnosDB's columns. The
 * cells are those DESCRIBE DATABASE and DESCRIBE TABLE show (sql_show.c), so the two never
 * disagree. See sysview.h. */
#include "sql/sysview.h"

#include "sql/rstatus.h"

#include <time.h>

/* ------------------------------------------------------------------ databases */

static const struct sysview_col db_cols[] = {
    {"tenant_name", VT_STR},
    {"database_name", VT_STR},
    {"ttl", VT_STR},
    {"shard", VT_U64},
    {"vnode_duration", VT_STR},
    {"replica", VT_U64},
    {"precision", VT_STR},
    {"max_memcache_size", VT_STR},
    {"memcache_partitions", VT_U64},
    {"wal_max_file_size", VT_STR},
    {"wal_sync", VT_BOOL},
    {"strict_write", VT_BOOL},
    {"max_cache_readers", VT_U64},
};

static int db_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    meta_db_view *dbs;
    size_t n;
    catalog_view_dbs(s->cat, s->tenant, false, tb->a, &dbs, &n);
    for (size_t i = 0; i < n; i++) {
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, s->tenant);
        row[1] = tb_str(tb->a, dbs[i].name);
        sqlx_db_option_cells(tb->a, &dbs[i].opts, row + 2);
    }
    return 0;
}

const struct sysview sysview_databases = {"information_schema", "databases", db_cols,
                                          sizeof db_cols / sizeof *db_cols, db_rows};

/* ------------------------------------------------------------------ tables, columns */

static const struct sysview_col tbl_cols[] = {
    {"table_tenant", VT_STR}, {"table_database", VT_STR}, {"table_name", VT_STR},
    {"table_type", VT_STR},   {"table_engine", VT_STR},   {"table_options", VT_STR},
};

static void release_all(meta_table **ts, size_t n) {
    for (size_t i = 0; i < n; i++) meta_table_release(ts[i]);
}

static int table_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    meta_table **ts;
    size_t n;
    catalog_view_tables(s->cat, s->tenant, tb->a, &ts, &n);
    for (size_t i = 0; i < n; i++) {
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, ts[i]->tenant);
        row[1] = tb_str(tb->a, ts[i]->db);
        row[2] = tb_str(tb->a, ts[i]->name);
        row[3] = tb_str(tb->a, "TABLE");
        row[4] = tb_str(tb->a, meta_table_is_stream(ts[i]) ? "STREAM"
                               : ts[i]->ext                ? "EXTERNAL"
                                                           : "TSKV");
        /* what CnosDB 2.x prints for every table */
        row[5] = tb_str(tb->a, "TODO");
    }
    release_all(ts, n);
    return 0;
}

const struct sysview sysview_tables = {"information_schema", "tables", tbl_cols,
                                       sizeof tbl_cols / sizeof *tbl_cols, table_rows};

static const struct sysview_col column_cols[] = {
    {"tenant_name", VT_STR},       {"database_name", VT_STR}, {"table_name", VT_STR},
    {"column_name", VT_STR},       {"column_type", VT_STR},   {"ordinal_position", VT_U64},
    {"column_default", VT_STR},    {"is_nullable", VT_BOOL},  {"data_type", VT_STR},
    {"compression_codec", VT_STR},
};

static int column_rows(sql_session *s, struct table_builder *tb, err *e) {
    meta_table **ts;
    size_t n;
    catalog_view_tables(s->cat, s->tenant, tb->a, &ts, &n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const meta_table *t = ts[i];
        const char **dtypes;
        if ((rc = sqlx_column_types(tb->a, t, &dtypes, e)) < 0) break;
        for (uint32_t c = 0; c < t->ncols; c++) {
            const meta_column *mc = &t->cols[c];
            value *row = tb_row(tb);
            row[0] = tb_str(tb->a, t->tenant);
            row[1] = tb_str(tb->a, t->db);
            row[2] = tb_str(tb->a, t->name);
            row[3] = tb_str(tb->a, mc->name);
            row[4] = tb_str(tb->a, sqlx_column_kind(mc->kind));
            row[5] = tb_u64(c);
            row[6] = tb_str(tb->a, "NULL");
            row[7] = tb_bool(mc->kind != CK_TIME);
            row[8] = tb_str(tb->a, dtypes[c]);
            /* an external table's columns have no codec: NULL (left unset) */
            if (!t->ext) row[9] = tb_str(tb->a, codec_name((enum codec_id)mc->codec));
        }
    }
    release_all(ts, n);
    return rc;
}

const struct sysview sysview_columns = {"information_schema", "columns", column_cols,
                                        sizeof column_cols / sizeof *column_cols, column_rows};

/* ------------------------------------------------------------------ resource_status */

static const struct sysview_col rs_cols[] = {
    {"time", VT_STR},      {"name", VT_STR},   {"action", VT_STR},
    {"try_count", VT_STR}, {"status", VT_STR}, {"comment", VT_STR},
};

/* CnosDB shows when an operation is due as text, to the second, in UTC. */
static value time_cell(arena *a, int64_t ns) {
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return tb_str(a, text);
}

static int rs_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    rstatus_row *rs;
    size_t n;
    rstatus_list(s->cat, s->tenant, tb->a, &rs, &n);
    for (size_t i = 0; i < n; i++) {
        value *row = tb_row(tb);
        row[0] = time_cell(tb->a, rs[i].time_ns);
        row[1] = tb_str(tb->a, rs[i].name);
        row[2] = tb_str(tb->a, rs[i].action);
        row[3].type = VT_STR;
        row[3].v.s.p = arena_printf(tb->a, "%u", rs[i].try_count);
        row[3].v.s.len = (uint32_t)strlen(row[3].v.s.p);
        row[4] = tb_str(tb->a, rs[i].status);
        row[5] = tb_str(tb->a, "");
    }
    return 0;
}

const struct sysview sysview_resource_status = {"information_schema", "resource_status", rs_cols,
                                                sizeof rs_cols / sizeof *rs_cols, rs_rows};
