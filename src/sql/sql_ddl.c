/* DDL: CREATE, ALTER and DROP of databases (with their options) and tables, and COMPACT. Each
 * checks what CnosDB checks before it changes the catalog, then tells storage. See sql_int.h. */
#include "sql/sql_int.h"

#include "codec/codec.h"
#include "sql/rstatus.h"
#include "util/config.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ options */

static int opt_string(const sql_option *o, char *out, size_t cap, err *e) {
    if (o->v.type == VT_STR)
        snprintf(out, cap, "%.*s", (int)o->v.v.s.len, o->v.v.s.p);
    else if (o->v.type == VT_I64)
        snprintf(out, cap, "%lld", (long long)o->v.v.i);
    else if (o->v.type == VT_U64)
        snprintf(out, cap, "%llu", (unsigned long long)o->v.v.u);
    else if (o->v.type == VT_BOOL)
        snprintf(out, cap, "%s", o->v.v.b ? "true" : "false");
    else
        return err_set(e, 422, EC_SQL_PARSE, "sql parser error: Expected a value for %s", o->name);
    return 0;
}

static int opt_uint(const sql_option *o, uint64_t *out, err *e) {
    if (o->v.type == VT_I64 && o->v.v.i > 0)
        *out = (uint64_t)o->v.v.i;
    else if (o->v.type == VT_U64 && o->v.v.u > 0)
        *out = o->v.v.u;
    else
        return err_set(e, 422, EC_SQL_PARSE,
                       "sql parser error: Expected a positive integer for %s, found: %s", o->name,
                       o->v.type == VT_STR ? "string" : "value");
    return 0;
}

/* Applies CREATE/ALTER DATABASE options to o. */
static int apply_db_opts(const sql_option *opts, uint32_t n, db_options *o, bool alter, err *e) {
    for (uint32_t i = 0; i < n; i++) {
        const sql_option *opt = &opts[i];
        char text[256];
        const char *nm = opt->name;
        if (alter && strcasecmp(nm, "TTL") && strcasecmp(nm, "SHARD") &&
            strcasecmp(nm, "VNODE_DURATION") && strcasecmp(nm, "REPLICA"))
            return err_set(e, 422, EC_META,
                           "database config is unmodifiable, only can modify database option: "
                           "TTL, SHARD, VNODE_DURATION, REPLICA");
        if (!strcasecmp(nm, "TTL")) {
            if (opt_string(opt, text, sizeof text, e) < 0) return -1;
            if (!strcasecmp(text, "inf"))
                o->ttl_ns = 0;
            else if (!duration_parse_sat(text, strlen(text), 86400000000000LL, &o->ttl_ns) ||
                     o->ttl_ns <= 0)
                return err_set(e, 422, EC_SQL_PARSE,
                               "sql parser error: '%s' is not a valid duration for TTL", text);
        } else if (!strcasecmp(nm, "SHARD")) {
            if (opt_uint(opt, &o->shard, e) < 0) return -1;
        } else if (!strcasecmp(nm, "REPLICA")) {
            if (opt_uint(opt, &o->replica, e) < 0) return -1;
        } else if (!strcasecmp(nm, "VNODE_DURATION")) {
            if (opt_string(opt, text, sizeof text, e) < 0) return -1;
            if (!duration_parse(text, strlen(text), 86400000000000LL, &o->vnode_duration_ns) ||
                o->vnode_duration_ns <= 0)
                return err_set(e, 422, EC_SQL_PARSE,
                               "sql parser error: '%s' is not a valid duration for VNODE_DURATION",
                               text);
            /* Each vnode is a directory with its own files: '1ns' made one per point. */
            if (o->vnode_duration_ns < 60000000000LL)
                return err_set(e, 422, EC_SQL_PARSE,
                               "sql parser error: VNODE_DURATION '%s' is shorter than the minimum "
                               "of 1m",
                               text);
        } else if (!strcasecmp(nm, "PRECISION")) {
            if (opt_string(opt, text, sizeof text, e) < 0) return -1;
            if (!strcasecmp(text, "ns"))
                o->precision = TU_NS;
            else if (!strcasecmp(text, "us"))
                o->precision = TU_US;
            else if (!strcasecmp(text, "ms"))
                o->precision = TU_MS;
            else
                return err_set(
                    e, 422, EC_SQL_PARSE,
                    "sql parser error: Unsupported precision '%s', expected 'ms', 'us' or 'ns'",
                    text);
        } else if (!strcasecmp(nm, "MAX_MEMCACHE_SIZE") || !strcasecmp(nm, "WAL_MAX_FILE_SIZE")) {
            if (opt_string(opt, text, sizeof text, e) < 0) return -1;
            uint64_t v;
            if (!parse_size(text, &v))
                return err_set(e, 422, EC_SQL_PARSE, "sql parser error: '%s' is not a valid size",
                               text);
            if (!strcasecmp(nm, "MAX_MEMCACHE_SIZE"))
                o->max_memcache_size = v;
            else
                o->wal_max_file_size = v;
        } else if (!strcasecmp(nm, "MEMCACHE_PARTITIONS")) {
            if (opt_uint(opt, &o->memcache_partitions, e) < 0) return -1;
        } else if (!strcasecmp(nm, "MAX_CACHE_READERS")) {
            if (opt_uint(opt, &o->max_cache_readers, e) < 0) return -1;
        } else if (!strcasecmp(nm, "WAL_SYNC") || !strcasecmp(nm, "STRICT_WRITE")) {
            if (opt_string(opt, text, sizeof text, e) < 0) return -1;
            bool b;
            if (!strcasecmp(text, "true"))
                b = true;
            else if (!strcasecmp(text, "false"))
                b = false;
            else
                return err_set(e, 422, EC_SQL_PARSE,
                               "sql parser error: Expected 'true' or 'false' for %s", nm);
            if (!strcasecmp(nm, "WAL_SYNC"))
                o->wal_sync = b;
            else
                o->strict_write = b;
        } else {
            return err_set(e, 422, EC_SQL_PARSE, "sql parser error: Unknown database option %s",
                           nm);
        }
    }
    return 0;
}

static bool reserved_db(const char *tenant, const char *name) {
    if (!strcmp(name, "information_schema") || !strcmp(name, "usage_schema")) return true;
    return !strcmp(tenant, "cnosdb") &&
           (!strcmp(name, "public") || !strcmp(name, "cluster_schema"));
}

int sqlx_create_db(sql_session *s, const sql_stmt *st, err *e) {
    if (reserved_db(s->tenant, st->name)) {
        if (st->if_not_exists) return 0;
        return err_set(e, 422, EC_META, "Meta: database %s is reserved and cannot be created",
                       st->name);
    }
    db_options o;
    db_options_default(&o);
    if (apply_db_opts(st->opts, st->nopts, &o, false, e) < 0) return -1;
    if (catalog_create_db(s->cat, s->tenant, st->name, &o, st->if_not_exists, e) < 0) return -1;
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    engine_db_opts so = {info.opts.ttl_ns, info.opts.shard, info.opts.vnode_duration_ns,
                         info.opts.precision};
    return engine_open_db(s->eng, info.id, &so, e);
}

int sqlx_alter_db(sql_session *s, const sql_stmt *st, err *e) {
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    if (apply_db_opts(st->opts, st->nopts, &info.opts, true, e) < 0) return -1;
    if (catalog_alter_db(s->cat, s->tenant, st->name, &info.opts, e) < 0) return -1;
    engine_db_opts so = {info.opts.ttl_ns, info.opts.shard, info.opts.vnode_duration_ns,
                         info.opts.precision};
    engine_update_db(s->eng, info.id, &so);
    return 0;
}

int sqlx_after_option(const sql_stmt *st, int64_t *after, err *e) {
    *after = 0;
    for (uint32_t i = 0; i < st->nopts; i++) {
        if (strcasecmp(st->opts[i].name, "AFTER")) continue;
        char text[256];
        if (opt_string(&st->opts[i], text, sizeof text, e) < 0) return -1;
        /* a bare number is days, as for TTL */
        if (!duration_parse_sat(text, strlen(text), 86400000000000LL, after) || *after < 0)
            return err_set(e, 422, EC_SQL_PARSE,
                           "sql parser error: '%s' is not a valid duration for AFTER", text);
    }
    return 0;
}

int sqlx_drop_db(sql_session *s, const sql_stmt *st, err *e) {
    if (reserved_db(s->tenant, st->name))
        return err_set(e, 422, EC_META, "Database \"%s\" forbid drop", st->name);
    int64_t after;
    if (sqlx_after_option(st, &after, e) < 0) return -1;
    uint64_t id;
    int64_t now = time_now_ns();
    if (catalog_drop_db(s->cat, s->tenant, st->name, st->if_exists, after, &id, e) < 0) return -1;
    if (id) return engine_drop_db(s->eng, id, e);
    uint64_t hidden = after > 0 ? catalog_db_id_any(s->cat, s->tenant, st->name) : 0;
    if (hidden) rstatus_schedule(s->tenant, st->name, hidden, now + after);
    return 0;
}

int sqlx_recover_db(sql_session *s, const sql_stmt *st, err *e) {
    uint64_t id = catalog_db_id_any(s->cat, s->tenant, st->name);
    if (catalog_recover_db(s->cat, s->tenant, st->name, st->if_exists, e) < 0) return -1;
    if (id) rstatus_cancel(s->tenant, st->name, id);
    return 0;
}

static int codec_for(const sql_column_def *c, uint8_t type, uint8_t *codec, err *e) {
    *codec = CODEC_DEFAULT;
    if (!c->codec) return 0;
    int cd = codec_parse(c->codec);
    if (cd < 0)
        return err_set(e, 422, EC_SQL_PARSE, "sql parser error: %s is not valid encoding",
                       c->codec);
    /* CnosDB names the codec by its Encoding variant (Snappy, BitPack), whatever was typed */
    static const char *const variant[CODEC__COUNT] = {
        "Default", "Null",   "Delta", "DeltaTs", "Gorilla", "Quantile", "BitPack",
        "Zstd",    "Snappy", "Gzip",  "Bzip",    "Zlib",    "Sdt",      "DeadBand"};
    if (!codec_fits((enum codec_id)cd, (enum vtype)type))
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Semantic error: Unsupported encoding type %s for %s", variant[cd],
                       vtype_short_name((enum vtype)type));
    *codec = (uint8_t)cd;
    return 0;
}

/* The type of a field column: one Strata stores, a GEOMETRY among them (*geo its sub_type), or
 * CnosDB's error naming the declaration as written. */
static int field_type(const sql_column_def *c, uint8_t *vt, uint8_t *geo, err *e) {
    static const char *const geo_why[] = {
        [GEO_ERR_FORMAT] = "format: GEOMETRY(<sub_type>, <srid>)",
        [GEO_ERR_SUBTYPE] = "sub_type must be POINT, LINESTRING, POLYGON, MULTIPOINT, "
                            "MULTILINESTRING, MULTIPOLYGON, GEOMETRYCOLLECTION",
        [GEO_ERR_SRID] = "currently only supports 0, Cartesian coordinate system"};
    *vt = c->type.vt;
    *geo = c->type.geo;
    if (c->type.geo_err)
        return err_set(e, 422, EC_META, "Semantic error: Unexpected data type %s of %s, %s",
                       c->type.text, c->name, geo_why[c->type.geo_err]);
    if (*vt != VT_I64 && *vt != VT_U64 && *vt != VT_F64 && *vt != VT_STR && *vt != VT_BOOL)
        return err_set(e, 422, EC_META, "Semantic error: Unexpected data type %s of %s, ",
                       c->type.text ? c->type.text : "?", c->name);
    return 0;
}

int sqlx_create_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    col_def *defs = arena_calloc(s->a, sizeof *defs * (st->ncols + 1));
    uint32_t nfields = 0;
    for (uint32_t i = 0; i < st->ncols; i++) {
        const sql_column_def *c = &st->cols[i];
        if (!strcmp(c->name, "time"))
            return err_set(e, 422, EC_META,
                           "Semantic error: column time already exists in table %s.%s.%s",
                           s->tenant, db, st->table.name);
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(st->cols[k].name, c->name))
                return err_set(e, 422, EC_META,
                               "Semantic error: Field or Tag have the same name %s", c->name);
        defs[i].name = c->name;
        defs[i].name_len = strlen(c->name);
        if (c->is_tag) {
            if (c->codec)
                return err_set(e, 422, EC_META, "Semantic error: Tag does not support compression");
            defs[i].kind = CK_TAG;
            defs[i].type = VT_STR;
            continue;
        }
        uint8_t vt = c->type.vt;
        /* a TIMESTAMP column would be a second time column, as CnosDB words it */
        if (vt == VT_TS)
            return err_set(e, 422, EC_META,
                           "Semantic error: column time already exists in table %s.%s.%s",
                           s->tenant, db, st->table.name);
        if (field_type(c, &vt, &defs[i].geo, e) < 0) return -1;
        defs[i].kind = CK_FIELD;
        defs[i].type = vt;
        if (codec_for(c, vt, &defs[i].codec, e) < 0) return -1;
        nfields++;
    }
    if (nfields == 0)
        return err_set(e, 422, EC_META, "Semantic error: Table must have at least one field");
    return catalog_create_table(s->cat, s->tenant, db, st->table.name, defs, st->ncols,
                                st->if_not_exists, e);
}

int sqlx_drop_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, db, &info, e) < 0) return -1;
    uint64_t id;
    if (catalog_drop_table(s->cat, s->tenant, db, st->table.name, st->if_exists, &id, e) < 0)
        return -1;
    if (id) return engine_drop_table(s->eng, info.id, id, e);
    return 0;
}

int sqlx_alter_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    col_def d = {0};
    switch (st->alter_action) {
    case AT_ADD_TAG:
    case AT_ADD_FIELD: {
        const sql_column_def *c = &st->cols[0];
        if (!strcmp(c->name, "time"))
            return err_set(e, 422, EC_META,
                           "Semantic error: column time already exists in table %s",
                           st->table.name);
        d.name = c->name;
        d.name_len = strlen(c->name);
        d.kind = st->alter_action == AT_ADD_TAG ? CK_TAG : CK_FIELD;
        d.type = d.kind == CK_TAG ? VT_STR : c->type.vt;
        if (d.kind == CK_FIELD) {
            uint8_t vt;
            if (field_type(c, &vt, &d.geo, e) < 0) return -1;
            if (codec_for(c, vt, &d.codec, e) < 0) return -1;
        }
        return catalog_alter_table(s->cat, s->tenant, db, st->table.name, ALTER_ADD_COLUMN, &d,
                                   NULL, NULL, e);
    }
    case AT_DROP_COLUMN:
        return catalog_alter_table(s->cat, s->tenant, db, st->table.name, ALTER_DROP_COLUMN, NULL,
                                   st->name, NULL, e);
    case AT_ALTER_CODEC: {
        meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
        if (!t) return -1;
        const sql_column_def *c = &st->cols[0];
        int idx = meta_table_col(t, c->name, strlen(c->name));
        int rc = 0;
        if (idx < 0)
            rc = err_set(e, 422, EC_META, "column %s not found in table %s", c->name,
                         st->table.name);
        else if (t->cols[idx].kind == CK_TIME)
            rc = err_set(e, 422, EC_META,
                         "Semantic error: Column time does not support modification");
        else if (t->cols[idx].kind == CK_TAG)
            rc = err_set(e, 422, EC_META, "Semantic error: Tag does not support compression");
        else
            rc = codec_for(c, t->cols[idx].type, &d.codec, e);
        meta_table_release(t);
        if (rc < 0) return -1;
        return catalog_alter_table(s->cat, s->tenant, db, st->table.name, ALTER_SET_CODEC, &d,
                                   c->name, NULL, e);
    }
    case AT_RENAME_COLUMN:
        if (!strcmp(st->name, "time"))
            return err_set(e, 422, EC_NOT_IMPL,
                           "This feature is not implemented: rename time column");
        return catalog_alter_table(s->cat, s->tenant, db, st->table.name, ALTER_RENAME_COLUMN, NULL,
                                   st->name, st->name2, e);
    }
    return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: this ALTER TABLE form");
}

/* COMPACT DATABASE db: flush every cache and merge every vnode's files into one. */
int sqlx_compact(sql_session *s, const sql_stmt *st, err *e) {
    if (!st->name)
        return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: COMPACT VNODE");
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    return engine_flush_all(s->eng, info.id, true, e);
}
