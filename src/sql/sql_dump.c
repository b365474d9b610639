/* The DDL dump (GET /api/v1/dump/sql/ddl, what `cnosdb-cli dump` reads): see sql.h.
 *
 * The script recreates, in an order that replays: the users, then per tenant the tenant (with
 * its limits), its databases and their tables, its roles and their grants (which need the
 * databases), and its members (which need the users and roles). `\change_tenant t` and
 * `\change_database db` lines, as cnosdb-cli writes and reads them, say where the statements
 * after them run. Passwords are not in it: the catalog holds only their hashes, so a restored
 * user gets the empty password until ALTER USER sets one (a comment says so). */
#include "sql/sql_int.h"

#include "gis/gis.h"
#include "sql/ext.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void put_ident(buf *b, const char *s) {
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void put_str(buf *b, const char *s) {
    buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') buf_putc(b, '\'');
        buf_putc(b, *s);
    }
    buf_putc(b, '\'');
}

static void dump_user(buf *b, const snap_user *u) {
    if (!strcmp(u->name, "root")) return; /* every server has it */
    buf_puts(b, "CREATE USER IF NOT EXISTS ");
    put_ident(b, u->name);
    const char *sep = " WITH ";
    if (u->comment) {
        buf_printf(b, "%sCOMMENT = ", sep);
        put_str(b, u->comment);
        sep = ", ";
    }
    if (u->rsa_key) {
        buf_printf(b, "%sRSA_PUBLIC_KEY = ", sep);
        put_str(b, u->rsa_key);
        sep = ", ";
    }
    if (u->must_change >= 0) {
        buf_printf(b, "%sMUST_CHANGE_PASSWORD = %s", sep, u->must_change ? "true" : "false");
        sep = ", ";
    }
    if (u->granted_admin >= 0)
        buf_printf(b, "%sGRANTED_ADMIN = %s", sep, u->granted_admin ? "true" : "false");
    buf_puts(b, ";\n");
}

/* The limits as ALTER TENANT's option groups: `SET object_config max_databases = 3, ...`. */
static void dump_limiter(buf *b, const char *tenant, const char *limiter) {
    json_t *j = json_loads(limiter, 0, NULL);
    if (!json_is_object(j) || !json_object_size(j)) {
        json_decref(j);
        return;
    }
    buf_puts(b, "ALTER TENANT ");
    put_ident(b, tenant);
    buf_puts(b, " SET ");
    const char *group, *sep = "";
    json_t *g;
    json_object_foreach(j, group, g) {
        buf_printf(b, "%s%s", sep, group);
        const char *key;
        json_t *v;
        json_object_foreach(g, key, v) {
            if (json_is_integer(v))
                buf_printf(b, " %s = %lld", key, (long long)json_integer_value(v));
            else if (json_is_real(v))
                buf_printf(b, " %s = %.17g", key, json_real_value(v));
        }
        sep = ", ";
    }
    buf_puts(b, ";\n");
    json_decref(j);
}

static void dump_db_options(buf *b, const db_options *o) {
    char text[64];
    buf_puts(b, " WITH TTL ");
    if (o->ttl_ns) {
        text[duration_format(text, o->ttl_ns)] = 0;
        put_str(b, text);
    } else {
        buf_puts(b, "'INF'");
    }
    text[duration_format(text, o->vnode_duration_ns)] = 0;
    buf_printf(b, " SHARD %llu VNODE_DURATION ", (unsigned long long)o->shard);
    put_str(b, text);
    buf_printf(b, " REPLICA %llu PRECISION '%s'", (unsigned long long)o->replica,
               o->precision == TU_MS   ? "MS"
               : o->precision == TU_US ? "US"
                                       : "NS");
}

/* An Arrow type name of an external table's column as SQL writes it. */
static void put_arrow_type(buf *b, const char *arrow) {
    static const struct {
        const char *arrow, *sql;
    } names[] = {{"Int8", "TINYINT"},
                 {"Int16", "SMALLINT"},
                 {"Int32", "INT"},
                 {"Int64", "BIGINT"},
                 {"UInt8", "TINYINT UNSIGNED"},
                 {"UInt16", "SMALLINT UNSIGNED"},
                 {"UInt32", "INT UNSIGNED"},
                 {"UInt64", "BIGINT UNSIGNED"},
                 {"Float32", "FLOAT"},
                 {"Float64", "DOUBLE"},
                 {"Utf8", "STRING"},
                 {"LargeUtf8", "STRING"},
                 {"Boolean", "BOOLEAN"},
                 {"Date32", "DATE"},
                 {"Date64", "DATE"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(arrow, names[i].arrow)) {
            buf_puts(b, names[i].sql);
            return;
        }
    unsigned p, sc;
    if (sscanf(arrow, "Decimal128(%u, %u)", &p, &sc) == 2)
        buf_printf(b, "DECIMAL(%u, %u)", p, sc);
    else if (!strncmp(arrow, "Timestamp(", 10))
        buf_puts(b, "TIMESTAMP");
    else
        buf_puts(b, "STRING");
}

/* `CREATE <kind> TABLE IF NOT EXISTS name (col type, ...`, each column's type written by
 * put_type (given ctx and the column's index). */
static void put_table_head(buf *b, const char *kind, const meta_table *t,
                           void (*put_type)(buf *, const meta_table *, uint32_t, const void *),
                           const void *ctx) {
    buf_printf(b, "CREATE %s TABLE IF NOT EXISTS ", kind);
    put_ident(b, t->name);
    buf_puts(b, " (");
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (i) buf_puts(b, ", ");
        put_ident(b, t->cols[i].name);
        buf_putc(b, ' ');
        put_type(b, t, i, ctx);
    }
}

static void put_stream_type(buf *b, const meta_table *t, uint32_t i, const void *ctx) {
    (void)ctx;
    buf_puts(b, t->cols[i].type == VT_TS ? "TIMESTAMP"
                                         : vtype_sql_name((enum vtype)t->cols[i].type, TU_NS));
}

static void put_ext_type(buf *b, const meta_table *t, uint32_t i, const void *ctx) {
    (void)t;
    put_arrow_type(b, ((const char *const *)ctx)[i]);
}

/* A stream table: its columns and its source, from the definition sql_stream.c keeps. */
static void dump_stream(buf *b, const meta_table *t) {
    json_t *j = json_loads(t->ext, 0, NULL), *d = json_object_get(j, "stream");
    put_table_head(b, "STREAM", t, put_stream_type, NULL);
    static const char *const keys[3] = {"db", "table", "event_time_column"};
    buf_puts(b, ") WITH (");
    for (int k = 0; k < 3; k++) {
        const char *v = json_string_value(json_object_get(d, keys[k]));
        buf_printf(b, "%s%s = ", k ? ", " : "", keys[k]);
        put_str(b, v ? v : "");
    }
    buf_puts(b, ") engine = tskv;\n");
    json_decref(j);
}

static int dump_external(buf *b, arena *a, const meta_table *t, err *e) {
    ext_source src;
    const char **arrow;
    uint8_t *units;
    if (ext_def_parse(a, t->ext, t->ncols, &src, &arrow, &units, e) < 0) return -1;
    put_table_head(b, "EXTERNAL", t, put_ext_type, arrow);
    buf_printf(b, ") STORED AS %s",
               src.format == EXT_CSV       ? "CSV"
               : src.format == EXT_PARQUET ? "PARQUET"
                                           : "JSON");
    if (src.format == EXT_CSV) {
        if (src.header) buf_puts(b, " WITH HEADER ROW");
        char d[2] = {src.delimiter, 0};
        buf_puts(b, " DELIMITER ");
        put_str(b, d);
    }
    static const char *const comp[] = {NULL, "GZIP",   "BZIP2", "ZSTD",
                                       "XZ", "SNAPPY", "LZ4",   "BROTLI"};
    if (src.compression && src.compression < sizeof comp / sizeof comp[0])
        buf_printf(b, " COMPRESSION TYPE %s", comp[src.compression]);
    buf_puts(b, " LOCATION ");
    put_str(b, src.location);
    buf_puts(b, ";\n");
    return 0;
}

static void dump_table(buf *b, const meta_table *t) {
    buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    put_ident(b, t->name);
    buf_puts(b, " (");
    const char *sep = "";
    for (uint32_t i = 0; i < t->ncols; i++) {
        const meta_column *c = &t->cols[i];
        if (c->kind != CK_FIELD) continue;
        buf_puts(b, sep);
        put_ident(b, c->name);
        if (c->geo)
            buf_printf(b, " GEOMETRY(%s, 0)", gis_type_name((enum gis_type)c->geo));
        else
            buf_printf(b, " %s", vtype_sql_name((enum vtype)c->type, TU_NS));
        if (c->codec != CODEC_DEFAULT) buf_printf(b, " CODEC(%s)", codec_name(c->codec));
        sep = ", ";
    }
    if (t->ntags) {
        buf_printf(b, "%sTAGS(", sep);
        const char *ts = "";
        for (uint32_t i = 0; i < t->ncols; i++) {
            if (t->cols[i].kind != CK_TAG) continue;
            buf_puts(b, ts);
            put_ident(b, t->cols[i].name);
            ts = ", ";
        }
        buf_putc(b, ')');
    }
    buf_puts(b, ");\n");
}

static int dump_database(catalog *c, arena *a, const char *tenant, const char *db, buf *b, err *e) {
    meta_db_info info;
    if (catalog_get_db(c, tenant, db, &info, e) < 0) return -1;
    buf_puts(b, "CREATE DATABASE IF NOT EXISTS ");
    put_ident(b, db);
    dump_db_options(b, &info.opts);
    buf_puts(b, ";\n\\change_database ");
    buf_printf(b, "%s\n", db);
    char **names;
    size_t n;
    if (catalog_list_tables(c, tenant, db, a, &names, &n, e) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        meta_table *t = catalog_get_table(c, tenant, db, names[i], e);
        if (!t) continue; /* dropped meanwhile */
        int rc = 0;
        if (meta_table_is_stream(t))
            dump_stream(b, t);
        else if (t->ext)
            rc = dump_external(b, a, t, e);
        else
            dump_table(b, t);
        meta_table_release(t);
        if (rc < 0) return -1;
    }
    return 0;
}

static const char *priv_word(uint8_t p) {
    return p == PRIV_R ? "READ" : p == PRIV_W ? "WRITE" : "ALL";
}

static int dump_tenant(catalog *c, arena *a, const snap_tenant *t, buf *b, err *e) {
    buf_printf(b, "\n-- tenant %s\n", t->name);
    if (strcmp(t->name, "cnosdb")) {
        buf_puts(b, "CREATE TENANT IF NOT EXISTS ");
        put_ident(b, t->name);
        const char *sep = " WITH ";
        if (t->comment) {
            buf_printf(b, "%sCOMMENT = ", sep);
            put_str(b, t->comment);
            sep = ", ";
        }
        if (t->drop_after) {
            buf_printf(b, "%sDROP_AFTER = ", sep);
            put_str(b, t->drop_after);
        }
        buf_puts(b, ";\n");
    }
    if (t->limiter) dump_limiter(b, t->name, t->limiter);
    buf_printf(b, "\\change_tenant %s\n", t->name);
    char **dbs;
    size_t ndb;
    catalog_list_dbs(c, t->name, a, &dbs, &ndb);
    for (size_t i = 0; i < ndb; i++) {
        /* the ones every tenant cnosdb starts with exist already */
        bool builtin = !strcmp(t->name, "cnosdb") &&
                       (!strcmp(dbs[i], "usage_schema") || !strcmp(dbs[i], "cluster_schema"));
        if (!builtin && dump_database(c, a, t->name, dbs[i], b, e) < 0) return -1;
    }
    for (size_t i = 0; i < t->nroles; i++) {
        const snap_role *r = &t->roles[i];
        buf_puts(b, "CREATE ROLE IF NOT EXISTS ");
        put_ident(b, r->name);
        if (r->inherit) buf_printf(b, " INHERIT %s", r->inherit);
        buf_puts(b, ";\n");
        for (size_t g = 0; g < r->ngrants; g++) {
            buf_printf(b, "GRANT %s ON DATABASE ", priv_word(r->grants[g].priv));
            put_ident(b, r->grants[g].db);
            buf_puts(b, " TO ROLE ");
            put_ident(b, r->name);
            buf_puts(b, ";\n");
        }
    }
    for (size_t i = 0; i < t->nmembers; i++) {
        buf_puts(b, "ALTER TENANT ");
        put_ident(b, t->name);
        buf_puts(b, " ADD USER ");
        put_ident(b, t->members[i].user);
        buf_puts(b, " AS ");
        put_ident(b, t->members[i].role);
        buf_puts(b, ";\n");
    }
    return 0;
}

int sql_dump_ddl(catalog *c, const char *tenant, buf *out, err *e) {
    arena *a = arena_new(0);
    access_snap snap;
    catalog_access_snapshot(c, a, &snap);
    int rc = 0;
    const snap_tenant *only = NULL;
    for (size_t i = 0; tenant && i < snap.ntenants; i++)
        if (!strcmp(snap.tenants[i].name, tenant) && !snap.tenants[i].hidden)
            only = &snap.tenants[i];
    if (tenant && !only) {
        rc = err_set(e, 422, EC_TENANT_NOT_FOUND, "The tenant %s not found", tenant);
    } else {
        buf_puts(out, "-- Strata DDL dump. Passwords are not dumped (only their hashes are kept):\n"
                      "-- set them again with ALTER USER u SET PASSWORD = '...'.\n");
        for (size_t i = 0; i < snap.nusers; i++) {
            /* a tenant's dump holds its members only */
            bool in = !only;
            for (size_t k = 0; only && k < only->nmembers; k++)
                in |= !strcmp(only->members[k].user, snap.users[i].name);
            if (in) dump_user(out, &snap.users[i]);
        }
        for (size_t i = 0; i < snap.ntenants && rc == 0; i++) {
            const snap_tenant *t = &snap.tenants[i];
            if ((only && t != only) || t->hidden) continue;
            rc = dump_tenant(c, a, t, out, e);
        }
    }
    arena_free(a);
    return rc;
}
