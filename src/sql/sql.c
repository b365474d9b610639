/* SQL entry point: parses a request, runs DDL and metadata statements directly, and plans
 * queries into a pull-based operator tree (see sql.h). */
#include "sql/sql.h"

#include "ingest/write.h"
#include "sql/func.h"
#include "sql/parser.h"
#include "sql/plan.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/hmap.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sql_result {
    qctx q;
    rschema schema;
    op *root;
};

/* ------------------------------------------------------------------ result helpers */

static sql_result *result_new(sql_session *s) {
    sql_result *r = arena_calloc(s->a, sizeof *r);
    r->q.a = s->a;
    r->q.ba = arena_new(1 << 16);
    r->q.budget.deadline_ns = s->deadline_ns;
    /* What parsing already took counts too: the statement arena is charged whole. */
    r->q.budget.limit = s->mem_limit;
    r->q.budget.server = true;
    arena_set_budget(r->q.a, &r->q.budget);
    arena_set_budget(r->q.ba, &r->q.budget);
    return r;
}

static void set_schema(sql_result *r, uint32_t ncols, const char **names, const op *o) {
    arena *a = r->q.a;
    r->schema.ncols = ncols;
    r->schema.names = arena_alloc(a, sizeof *r->schema.names * (ncols + 1));
    r->schema.types = arena_alloc(a, ncols + 1);
    r->schema.units = arena_alloc(a, ncols + 1);
    r->schema.has_tz = arena_alloc(a, ncols + 1);
    for (uint32_t i = 0; i < ncols; i++) {
        r->schema.names[i] = names[i];
        r->schema.types[i] = o->types[i];
        r->schema.units[i] = o->units[i];
        r->schema.has_tz[i] = o->has_tz[i];
    }
}

/* Builds a one-batch result of string/integer/boolean cells given row by row. */
struct table_builder {
    arena *a;
    uint32_t ncols;
    const char **names;
    uint8_t *types;
    uint32_t nrows, cap;
    value *cells; /* nrows * ncols */
};

static void tb_init(struct table_builder *tb, arena *a, uint32_t ncols, const char **names,
                    const uint8_t *types) {
    memset(tb, 0, sizeof *tb);
    tb->a = a;
    tb->ncols = ncols;
    tb->names = names;
    tb->types = arena_alloc(a, ncols);
    memcpy(tb->types, types, ncols);
}

static value *tb_row(struct table_builder *tb) {
    if (tb->nrows == tb->cap) {
        uint32_t nc = tb->cap ? tb->cap * 2 : 16;
        tb->cells = arena_realloc(tb->a, tb->cells, sizeof *tb->cells * tb->ncols * tb->cap,
                                  sizeof *tb->cells * tb->ncols * nc);
        tb->cap = nc;
    }
    value *row = &tb->cells[tb->nrows++ * tb->ncols];
    memset(row, 0, sizeof *row * tb->ncols);
    return row;
}

static value vstr(arena *a, const char *s) {
    value v = {.type = VT_STR};
    v.v.s = (strv){arena_strdup(a, s), (uint32_t)strlen(s)};
    return v;
}

static value vu64(uint64_t u) {
    value v = {.type = VT_U64};
    v.v.u = u;
    return v;
}

static value vbool(bool b) {
    value v = {.type = VT_BOOL};
    v.v.b = b;
    return v;
}

static void tb_finish(struct table_builder *tb, sql_result *r) {
    arena *a = tb->a;
    batch *b = arena_calloc(a, sizeof *b);
    b->ncols = tb->ncols;
    b->nrows = tb->nrows;
    b->cols = arena_calloc(a, sizeof *b->cols * (tb->ncols + 1));
    for (uint32_t c = 0; c < tb->ncols; c++) {
        vec *v = &b->cols[c];
        vec_alloc(a, tb->types[c], 0, tb->nrows, v);
        for (uint32_t i = 0; i < tb->nrows; i++) {
            value *cell = &tb->cells[i * tb->ncols + c];
            if (cell->null || cell->type == VT_NULL) {
                vec_set_null(a, v, i);
                continue;
            }
            switch (v->type) {
            case VT_STR:
                v->d.s[i] = cell->v.s;
                break;
            case VT_U64:
                v->d.u64[i] = cell->v.u;
                break;
            case VT_I64:
                v->d.i64[i] = cell->v.i;
                break;
            case VT_BOOL:
                v->d.b[i] = cell->v.b;
                break;
            case VT_F64:
                v->d.f64[i] = cell->v.f;
                break;
            }
        }
    }
    r->root = op_values(&r->q, tb->ncols, tb->types, NULL, b, tb->nrows ? 1 : 0);
    set_schema(r, tb->ncols, tb->names, r->root);
}

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
            else if (!duration_parse(text, strlen(text), 86400000000000LL, &o->ttl_ns) ||
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

/* ------------------------------------------------------------------ statements */

static int run_show_databases(sql_session *s, sql_result *r, err *e) {
    char **names;
    size_t n;
    catalog_list_dbs(s->cat, s->tenant, s->a, &names, &n);
    static const char *cols[] = {"database_name"};
    static const uint8_t types[] = {VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, cols, types);
    for (size_t i = 0; i < n; i++) tb_row(&tb)[0] = vstr(s->a, names[i]);
    tb_finish(&tb, r);
    return 0;
}

static int run_show_tables(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    char **names;
    size_t n;
    const char *db = st->on_db ? st->on_db : s->db;
    if (catalog_list_tables(s->cat, s->tenant, db, s->a, &names, &n, e) < 0) return -1;
    static const char *cols[] = {"table_name"};
    static const uint8_t types[] = {VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, cols, types);
    for (size_t i = 0; i < n; i++) tb_row(&tb)[0] = vstr(s->a, names[i]);
    tb_finish(&tb, r);
    return 0;
}

static int run_describe_table(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    static const char *cols[] = {"column_name", "data_type", "column_type", "compression_codec"};
    static const uint8_t types[] = {VT_STR, VT_STR, VT_STR, VT_STR};
    struct table_builder tb;
    tb_init(&tb, s->a, 4, cols, types);
    for (uint32_t i = 0; i < t->ncols; i++) {
        const meta_column *c = &t->cols[i];
        value *row = tb_row(&tb);
        row[0] = vstr(s->a, c->name);
        row[1] = vstr(s->a, vtype_sql_name((enum vtype)c->type, (enum tunit)t->precision));
        row[2] = vstr(s->a, c->kind == CK_TIME ? "TIME" : c->kind == CK_TAG ? "TAG" : "FIELD");
        row[3] = vstr(s->a, codec_name((enum codec_id)c->codec));
    }
    meta_table_release(t);
    tb_finish(&tb, r);
    return 0;
}

static int run_describe_db(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    static const char *cols[] = {"ttl",
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
    static const uint8_t types[] = {VT_STR, VT_U64, VT_STR,  VT_U64,  VT_STR, VT_STR,
                                    VT_U64, VT_STR, VT_BOOL, VT_BOOL, VT_U64};
    struct table_builder tb;
    tb_init(&tb, s->a, 11, cols, types);
    value *row = tb_row(&tb);
    char text[128];
    const db_options *o = &info.opts;
    if (o->ttl_ns == 0)
        snprintf(text, sizeof text, "INF");
    else
        text[duration_format(text, o->ttl_ns)] = 0;
    row[0] = vstr(s->a, text);
    row[1] = vu64(o->shard);
    text[duration_format(text, o->vnode_duration_ns)] = 0;
    row[2] = vstr(s->a, text);
    row[3] = vu64(o->replica);
    row[4] = vstr(s->a, prec_text(o->precision));
    size_text(text, sizeof text, o->max_memcache_size);
    row[5] = vstr(s->a, text);
    row[6] = vu64(o->memcache_partitions);
    size_text(text, sizeof text, o->wal_max_file_size);
    row[7] = vstr(s->a, text);
    row[8] = vbool(o->wal_sync);
    row[9] = vbool(o->strict_write);
    row[10] = vu64(o->max_cache_readers);
    tb_finish(&tb, r);
    return 0;
}

static int run_create_db(sql_session *s, const sql_stmt *st, err *e) {
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

static int run_alter_db(sql_session *s, const sql_stmt *st, err *e) {
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    if (apply_db_opts(st->opts, st->nopts, &info.opts, true, e) < 0) return -1;
    if (catalog_alter_db(s->cat, s->tenant, st->name, &info.opts, e) < 0) return -1;
    engine_db_opts so = {info.opts.ttl_ns, info.opts.shard, info.opts.vnode_duration_ns,
                         info.opts.precision};
    engine_update_db(s->eng, info.id, &so);
    return 0;
}

static int run_drop_db(sql_session *s, const sql_stmt *st, err *e) {
    if (reserved_db(s->tenant, st->name))
        return err_set(e, 422, EC_META, "Meta: database %s is reserved and cannot be dropped",
                       st->name);
    uint64_t id;
    if (catalog_drop_db(s->cat, s->tenant, st->name, st->if_exists, &id, e) < 0) return -1;
    if (id) return engine_drop_db(s->eng, id, e);
    return 0;
}

static int codec_for(const sql_column_def *c, uint8_t type, uint8_t *codec, err *e) {
    *codec = CODEC_DEFAULT;
    if (!c->codec) return 0;
    int cd = codec_parse(c->codec);
    if (cd < 0)
        return err_set(e, 422, EC_SQL_PARSE, "sql parser error: %s is not valid encoding",
                       c->codec);
    if (!codec_fits((enum codec_id)cd, (enum vtype)type))
        return err_set(e, 422, EC_QUERY_INTERNAL, "Unsupported encoding type %s for %s", c->codec,
                       vtype_short_name((enum vtype)type));
    *codec = (uint8_t)cd;
    return 0;
}

static int run_create_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    col_def *defs = arena_calloc(s->a, sizeof *defs * (st->ncols + 1));
    uint32_t nfields = 0;
    for (uint32_t i = 0; i < st->ncols; i++) {
        const sql_column_def *c = &st->cols[i];
        if (!strcmp(c->name, "time"))
            return err_set(e, 422, EC_META, "Semantic error: column time already exists");
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
        if (vt != VT_I64 && vt != VT_U64 && vt != VT_F64 && vt != VT_STR && vt != VT_BOOL)
            return err_set(e, 422, EC_META, "Semantic error: Unexpected data type %s of %s",
                           c->type.name ? c->type.name : "?", c->name);
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

static int run_drop_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, db, &info, e) < 0) return -1;
    uint64_t id;
    if (catalog_drop_table(s->cat, s->tenant, db, st->table.name, st->if_exists, &id, e) < 0)
        return -1;
    if (id) return engine_drop_table(s->eng, info.id, id, e);
    return 0;
}

static int run_alter_table(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    col_def d = {0};
    switch (st->alter_action) {
    case AT_ADD_TAG:
    case AT_ADD_FIELD: {
        const sql_column_def *c = &st->cols[0];
        if (!strcmp(c->name, "time"))
            return err_set(e, 422, EC_META, "Semantic error: column time already exists");
        d.name = c->name;
        d.name_len = strlen(c->name);
        d.kind = st->alter_action == AT_ADD_TAG ? CK_TAG : CK_FIELD;
        d.type = d.kind == CK_TAG ? VT_STR : c->type.vt;
        if (d.kind == CK_FIELD) {
            uint8_t vt = c->type.vt;
            if (vt != VT_I64 && vt != VT_U64 && vt != VT_F64 && vt != VT_STR && vt != VT_BOOL)
                return err_set(e, 422, EC_META, "Semantic error: Unexpected data type %s of %s",
                               c->type.name ? c->type.name : "?", c->name);
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
            rc = err_set(e, 422, EC_META, "Semantic error: time column cannot be altered");
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

/* INSERT INTO t (cols) VALUES (...): rows become points through the normal write path. */
static int run_insert(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    int rc = -1;
    const sql_body *body = st->q ? st->q->body : NULL;
    if (!body || !body->values) {
        rc = err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: INSERT ... SELECT");
        goto out;
    }
    uint32_t ncols = st->ninsert_cols ? st->ninsert_cols : t->ncols;
    int *idx = arena_alloc(s->a, sizeof *idx * (ncols + 1));
    int time_pos = -1;
    for (uint32_t c = 0; c < ncols; c++) {
        if (st->ninsert_cols) {
            idx[c] = meta_table_col(t, st->insert_cols[c], strlen(st->insert_cols[c]));
            if (idx[c] < 0) {
                rc = err_set(e, 422, EC_QUERY_INTERNAL,
                             "Datafusion: Schema error: No field named %s. Valid fields are ...",
                             st->insert_cols[c]);
                goto out;
            }
        } else {
            idx[c] = (int)c;
        }
        if (t->cols[idx[c]].kind == CK_TIME) time_pos = (int)c;
    }
    if (time_pos < 0) {
        rc = err_set(e, 422, EC_QUERY_INTERNAL,
                     "Datafusion: Error during planning: INSERT must provide the time column");
        goto out;
    }
    point_batch pb = {0};
    for (uint32_t ri = 0; ri < body->nvalues; ri++) {
        if (body->nvalue_cols != ncols) {
            rc = err_set(
                e, 422, EC_QUERY_INTERNAL,
                "Datafusion: Error during planning: Column count doesn't match insert query!");
            goto out;
        }
        point *p = point_batch_push(s->a, &pb);
        p->table = (strv){t->name, (uint32_t)strlen(t->name)};
        p->line = ri + 1;
        p->tags = arena_calloc(s->a, sizeof *p->tags * (ncols + 1));
        p->fields = arena_calloc(s->a, sizeof *p->fields * (ncols + 1));
        for (uint32_t c = 0; c < ncols; c++) {
            const meta_column *mc = &t->cols[idx[c]];
            const expr *ve = body->values[ri][c];
            /* Evaluate the constant expression (planned in the scratch arena, so a long VALUES
             * list costs its points, not a plan per cell) and cast it to the column type. */
            sql_query q1 = {0};
            sql_body b1 = {0};
            sql_select sel = {0};
            sql_select_item it = {.e = (expr *)ve};
            sel.items = &it;
            sel.nitems = 1;
            b1.select = &sel;
            q1.body = &b1;
            qctx qc = {.a = q_scratch(&r->q)};
            qc.ba = qc.a;
            plan_out po;
            if (plan_query(s, &qc, &q1, &po, e) < 0) goto out;
            batch bb;
            int nr = po.root->next(po.root, &bb, e);
            po.root->close(po.root);
            arena_free(qc.scratch);
            if (nr < 0) goto out;
            value v;
            vec_get(&bb.cols[0], 0, &v);
            if (v.null) continue;
            if (v.type == VT_STR) v.v.s.p = arena_strndup(s->a, v.v.s.p, v.v.s.len);
            uint8_t want = mc->kind == CK_TIME ? VT_TS : mc->type;
            bexpr *cb = bx_const(s->a, v);
            if (want == VT_TS && v.type == VT_I64) {
                /* An integer inserted into time is taken in the column's unit. */
                p->ts = v.v.i;
                p->has_ts = true;
                continue;
            }
            if (bx_cast(s->a, &cb, want, mc->kind == CK_TIME ? t->precision : 0, e) < 0) goto out;
            value cv = cb->cval;
            if (mc->kind == CK_TIME) {
                p->ts = cv.v.i;
                p->has_ts = true;
            } else if (mc->kind == CK_TAG) {
                p->tags[p->ntags++] = (pt_tag){{mc->name, (uint32_t)strlen(mc->name)}, cv.v.s};
            } else {
                pt_field *f = &p->fields[p->nfields++];
                f->key = (strv){mc->name, (uint32_t)strlen(mc->name)};
                f->type = want;
                switch (want) {
                case VT_F64:
                    f->v.f = cv.v.f;
                    break;
                case VT_I64:
                    f->v.i = cv.v.i;
                    break;
                case VT_U64:
                    f->v.u = cv.v.u;
                    break;
                case VT_BOOL:
                    f->v.b = cv.v.b;
                    break;
                case VT_STR:
                    f->v.s = cv.v.s;
                    break;
                }
            }
        }
        if (p->nfields == 0) {
            rc = err_set(e, 422, EC_WRITE, "Coordinator: Fields can't be empty");
            goto out;
        }
        point_normalize(p);
    }
    int64_t unit_ns = 1000000000 / tunit_per_sec((enum tunit)t->precision);
    if (ingest_write(s->cat, s->eng, s->tenant, db, unit_ns, &pb, s->a, e) < 0) goto out;
    static const char *cols[] = {"rows"};
    static const uint8_t types[] = {VT_U64};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, cols, types);
    tb_row(&tb)[0] = vu64(pb.n);
    tb_finish(&tb, r);
    rc = 0;
out:
    meta_table_release(t);
    return rc;
}

/* ------------------------------------------------------------------ DELETE, SHOW SERIES */

static int series_filter_for(sql_session *s, sql_result *r, meta_table *t, const expr *where,
                             series_filter *sf, uint32_t **sids, size_t *n, err *e) {
    if (plan_series_filter(s, &r->q, t, where, sf, e) < 0) return -1;
    if (engine_table_sids(s->eng, t->db_id, t->id, sf->ntags, sf->tag_ids, sf->pred, sf->ctx, s->a,
                          sids, n, e) < 0)
        return -1;
    return series_filter_check(sf, e);
}

static int run_delete(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    series_filter sf;
    uint32_t *sids;
    size_t n;
    int rc = series_filter_for(s, r, t, st->where, &sf, &sids, &n, e);
    if (rc == 0 && sf.has_other)
        rc = err_set(e, 422, EC_NOT_IMPL,
                     "This feature is not implemented: Filtering on the field column on the tskv "
                     "table in delete statement");
    if (rc == 0 && n && sf.tmin <= sf.tmax)
        rc = engine_delete(s->eng, t->db_id, t->id, sids, n, sf.tmin, sf.tmax, e);
    meta_table_release(t);
    return rc;
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

/* The start of SHOW SERIES / SHOW TAG VALUES: the table and the series its WHERE selects
 * (tags and time only). On success the caller releases *t. */
static int show_series_set(sql_session *s, const sql_stmt *st, sql_result *r, const char *what,
                           meta_table **t, series_filter *sf, uint32_t **sids, size_t *n, err *e) {
    const char *db = st->on_db ? st->on_db : s->db;
    *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!*t) return -1;
    int rc = series_filter_for(s, r, *t, st->where, sf, sids, n, e);
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

static int run_show_series(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
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

static int run_show_tag_values(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
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
            row[0] = vstr(s->a, t->cols[sel[j]].name);
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

/* COMPACT DATABASE db: flush every cache and merge every vnode's files into one. */
static int run_compact(sql_session *s, const sql_stmt *st, err *e) {
    if (!st->name)
        return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: COMPACT VNODE");
    meta_db_info info;
    if (catalog_get_db(s->cat, s->tenant, st->name, &info, e) < 0) return -1;
    return engine_flush_all(s->eng, info.id, true, e);
}

static int not_impl(const char *what, err *e) {
    return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: %s", what);
}

/* ------------------------------------------------------------------ entry */

int sql_run(sql_session *s, const char *text, size_t len, sql_result **out, err *e) {
    sql_stmt **stmts;
    size_t n;
    if (sql_parse(s->a, text, len, &stmts, &n, e) < 0) return -1;
    if (n > 1)
        return err_set(e, 422, EC_MULTI_STMT, "Multi-statement not allow, found num:%zu, sql:%.*s",
                       n, (int)(len > 800 ? 800 : len), text);
    sql_result *r = result_new(s);
    *out = r;
    if (n == 0) return 0;
    const sql_stmt *st = stmts[0];
    int rc = 0;
    switch (st->kind) {
    case ST_QUERY: {
        plan_out po;
        rc = plan_query(s, &r->q, st->q, &po, e);
        if (rc == 0) {
            r->root = po.root;
            set_schema(r, po.ncols, po.names, po.root);
        }
        break;
    }
    case ST_SHOW_DATABASES:
        rc = run_show_databases(s, r, e);
        break;
    case ST_SHOW_TABLES:
        rc = run_show_tables(s, st, r, e);
        break;
    case ST_DESCRIBE_TABLE:
        rc = run_describe_table(s, st, r, e);
        break;
    case ST_DESCRIBE_DATABASE:
        rc = run_describe_db(s, st, r, e);
        break;
    case ST_CREATE_DATABASE:
        rc = run_create_db(s, st, e);
        break;
    case ST_ALTER_DATABASE:
        rc = run_alter_db(s, st, e);
        break;
    case ST_DROP_DATABASE:
        rc = run_drop_db(s, st, e);
        break;
    case ST_CREATE_TABLE:
        rc = run_create_table(s, st, e);
        break;
    case ST_DROP_TABLE:
        rc = run_drop_table(s, st, e);
        break;
    case ST_ALTER_TABLE:
        rc = run_alter_table(s, st, e);
        break;
    case ST_INSERT:
        rc = run_insert(s, st, r, e);
        break;
    case ST_DELETE:
        rc = run_delete(s, st, r, e);
        break;
    case ST_UPDATE:
        rc = not_impl("UPDATE", e);
        break;
    case ST_EXPLAIN:
        rc = not_impl("EXPLAIN", e);
        break;
    case ST_SHOW_SERIES:
        rc = run_show_series(s, st, r, e);
        break;
    case ST_SHOW_TAG_VALUES:
        rc = run_show_tag_values(s, st, r, e);
        break;
    case ST_COMPACT:
        rc = run_compact(s, st, e);
        break;
    default:
        rc = not_impl("this statement", e);
        break;
    }
    if (rc < 0) {
        sql_result_close(r);
        *out = NULL;
    }
    return rc;
}

const rschema *sql_result_schema(const sql_result *r) {
    return r ? &r->schema : NULL;
}

int sql_result_next(sql_result *r, batch *b, err *e) {
    if (!r->root) return 0;
    arena_reset(r->q.ba);
    return r->root->next(r->root, b, e);
}

void sql_result_close(sql_result *r) {
    if (!r) return;
    if (r->root) {
        r->root->close(r->root);
        r->root = NULL;
    }
    arena_free(r->q.ba);
    r->q.ba = NULL;
    arena_free(r->q.scratch);
    r->q.scratch = NULL;
    /* the budget lives in the statement arena, which outlives this call */
    arena_set_budget(r->q.a, NULL);
}
