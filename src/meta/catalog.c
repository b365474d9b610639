/* The catalog: see catalog.h. The structures and the lock order are in catalog_int.h, the log
 * in catalog_log.c.
 *
 * Lookups go through hash maps: databases by name and by id, and per database tables by name
 * and by id, so the write path, storage's callbacks (is a table live, a column's codec) and
 * replay cost O(1) per lookup whatever the number of databases and tables.
 *
 * A schema change holds the schema lock (ddl) from its checks to its publication, and the
 * read-write lock only while it publishes; its log append and fsync happen between, with no
 * reader waiting. The write path's step (catalog_ensure_tables) first checks a request's
 * tables under the read lock alone (nearly every write ends there), then makes the changes the
 * request needs in commits of up to 1024 tables, each one log append and one fsync, then
 * publication in slices of 256; small schema changes get in between (see ensure_locked). */
#include "meta/catalog_int.h"

#include "codec/codec.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/names.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ codecs */

static const char *const codec_names[CODEC__COUNT] = {
    "DEFAULT", "NULL",   "DELTA", "DELTATS", "GORILLA", "QUANTILE", "BITPACK",
    "ZSTD",    "SNAPPY", "GZIP",  "BZIP",    "ZLIB",    "SDT",      "DEADBAND"};

const char *codec_name(enum codec_id c) {
    return (unsigned)c < CODEC__COUNT ? codec_names[c] : "DEFAULT";
}

int codec_parse(const char *name) {
    for (int i = 0; i < CODEC__COUNT; i++)
        if (strcasecmp(name, codec_names[i]) == 0) return i;
    return -1;
}

bool codec_fits(enum codec_id c, enum vtype t) {
    if (c == CODEC_DEFAULT || c == CODEC_NULL) return true;
    switch (t) {
    case VT_TS:
    case VT_I64:
    case VT_U64:
        return c == CODEC_DELTA || c == CODEC_DELTATS || c == CODEC_QUANTILE;
    case VT_F64:
        return c == CODEC_GORILLA || c == CODEC_QUANTILE || c == CODEC_SDT || c == CODEC_DEADBAND;
    case VT_STR:
        return c == CODEC_GZIP || c == CODEC_BZIP || c == CODEC_ZSTD || c == CODEC_SNAPPY ||
               c == CODEC_ZLIB;
    case VT_BOOL:
        return c == CODEC_BITPACK;
    default:
        return false;
    }
}

/* The codec's own id for a CnosDB codec name: the lossy and integer-specific names fall back
 * to what the codec picks by itself (see codec/codec.h). */
static enum codec_use codec_use_of(enum codec_id c) {
    switch (c) {
    case CODEC_NULL:
        return CODEC_USE_PLAIN;
    case CODEC_GORILLA:
        return CODEC_USE_GORILLA;
    case CODEC_ZSTD:
        return CODEC_USE_ZSTD;
    case CODEC_SNAPPY:
        return CODEC_USE_SNAPPY;
    case CODEC_GZIP:
        return CODEC_USE_GZIP;
    case CODEC_ZLIB:
        return CODEC_USE_ZLIB;
    case CODEC_BZIP:
        return CODEC_USE_BZIP;
    default:
        return CODEC_USE_DEFAULT;
    }
}

void db_options_default(db_options *o) {
    memset(o, 0, sizeof *o);
    o->ttl_ns = 0;
    o->shard = 1;
    o->vnode_duration_ns = 31557600LL * 1000000000LL; /* 365.25 days */
    o->replica = 1;
    o->precision = TU_NS;
    o->max_memcache_size = 128ull << 20;
    o->memcache_partitions = 16;
    o->wal_max_file_size = 128ull << 20;
    o->wal_sync = false;
    o->strict_write = false;
    o->max_cache_readers = 32;
}

/* ------------------------------------------------------------------ tables */

void meta_table_retain(meta_table *t) {
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
}

void cat_table_free(meta_table *t) {
    free(t->tenant);
    free(t->db);
    free(t->name);
    free(t->ext);
    colset_release(t->colset);
    free(t);
}

void meta_table_release(meta_table *t) {
    if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) cat_table_free(t);
}

int meta_table_col(const meta_table *t, const char *name, size_t len) {
    return colset_find(t->colset, t->cols, t->ncols, name, len);
}

meta_table *cat_table_shell(const struct mdb *d, uint64_t id, const char *name, size_t len,
                            colset *cs) {
    meta_table *t = xcalloc(1, sizeof *t);
    t->id = id;
    t->db_id = d->id;
    t->tenant = xstrdup(d->tenant);
    t->db = xstrdup(d->name);
    t->name = xstrndup(name, len);
    t->precision = d->opts.precision;
    t->refs = 1;
    colset_retain(cs);
    t->colset = cs;
    return t;
}

meta_table *cat_table_next(const meta_table *t) {
    STRATA_ASSERT(t->ncols == colset_count(t->colset));
    meta_table *nt = xcalloc(1, sizeof *nt);
    /* Field by field: t->refs is live (other threads retain t). */
    nt->id = t->id;
    nt->db_id = t->db_id;
    nt->tenant = xstrdup(t->tenant);
    nt->db = xstrdup(t->db);
    nt->name = xstrdup(t->name);
    nt->precision = t->precision;
    nt->ncols = t->ncols;
    nt->cols = t->cols;
    nt->ntags = t->ntags;
    nt->ngeo = t->ngeo;
    nt->next_col_id = t->next_col_id;
    nt->ext = t->ext ? xstrdup(t->ext) : NULL;
    nt->colset = t->colset;
    nt->refs = 1;
    colset_retain(nt->colset);
    return nt;
}

void cat_table_append(meta_table *t, uint32_t id, const char *name, size_t len, uint8_t kind,
                      uint8_t type, uint8_t codec, uint8_t geo) {
    /* Only the newest version may grow its colset: older ones must keep seeing their prefix. */
    STRATA_ASSERT(t->ncols == colset_count(t->colset));
    t->cols = colset_append(t->colset, id, name, len, kind, type, codec, geo);
    t->ncols++;
    if (kind == CK_TAG) t->ntags++;
    if (geo) t->ngeo++;
    if (id >= t->next_col_id) t->next_col_id = id + 1;
}

/* A new version of src with a colset of its own (for changes other than appending columns):
 * column skip (-1: none) is left out, column ren (-1: none) is renamed to new_name. */
static meta_table *table_clone(const struct mdb *d, const meta_table *src, int skip, int ren,
                               const char *new_name) {
    colset *cs = colset_new(src->ncols);
    meta_table *t = cat_table_shell(d, src->id, src->name, strlen(src->name), cs);
    colset_release(cs);
    for (uint32_t i = 0; i < src->ncols; i++) {
        if ((int)i == skip) continue;
        const meta_column *c = &src->cols[i];
        const char *name = (int)i == ren ? new_name : c->name;
        cat_table_append(t, c->id, name, strlen(name), c->kind, c->type, c->codec, c->geo);
    }
    t->next_col_id = src->next_col_id;
    t->ext = src->ext ? xstrdup(src->ext) : NULL;
    return t;
}

/* A new table: time, then the given tags, then the given fields (each list in its order). */
static meta_table *table_create(const struct mdb *d, uint64_t id, const char *name, size_t len,
                                const col_def *const *add, size_t nadd) {
    colset *cs = colset_new((uint32_t)nadd + 1);
    meta_table *t = cat_table_shell(d, id, name, len, cs);
    colset_release(cs);
    cat_table_append(t, 0, "time", 4, CK_TIME, VT_TS, CODEC_DEFAULT, 0);
    for (size_t i = 0; i < nadd; i++)
        cat_table_append(t, t->next_col_id, add[i]->name, add[i]->name_len, add[i]->kind,
                         add[i]->kind == CK_TAG ? VT_STR : add[i]->type, add[i]->codec,
                         add[i]->kind == CK_TAG ? 0 : add[i]->geo);
    return t;
}

/* ------------------------------------------------------------------ maps */

static struct mdb *as_db(uint64_t v) {
    return (struct mdb *)(uintptr_t)v;
}

static meta_table *as_table(uint64_t v) {
    return (meta_table *)(uintptr_t)v;
}

/* tenant NUL name: looked up on every statement, so without printf */
static size_t db_key(char *key, size_t cap, const char *tenant, const char *name) {
    size_t t = strlen(tenant), n = strlen(name);
    if (t + 1 + n >= cap) return 0;
    memcpy(key, tenant, t);
    key[t] = 0;
    memcpy(key + t + 1, name, n);
    return t + 1 + n;
}

struct mdb *cat_find_db_any(catalog *c, const char *tenant, const char *name) {
    char key[512];
    size_t n = db_key(key, sizeof key, tenant, name);
    uint64_t v;
    return n && hmap_get(c->dbs, key, n, &v) ? as_db(v) : NULL;
}

struct mdb *cat_find_db(catalog *c, const char *tenant, const char *name) {
    struct mdb *d = cat_find_db_any(c, tenant, name);
    return d && !d->drop_at ? d : NULL;
}

struct mdb *cat_find_db_id(catalog *c, uint64_t id) {
    uint64_t v;
    return hmap_get(c->dbs_by_id, &id, sizeof id, &v) ? as_db(v) : NULL;
}

static meta_table *find_table(struct mdb *d, const char *name, size_t len) {
    uint64_t v;
    return hmap_get(d->tables, name, len, &v) ? as_table(v) : NULL;
}

meta_table *cat_find_table_id(struct mdb *d, uint64_t id) {
    uint64_t v;
    return hmap_get(d->by_id, &id, sizeof id, &v) ? as_table(v) : NULL;
}

void cat_publish(struct mdb *d, meta_table *t) {
    meta_table *old = cat_find_table_id(d, t->id);
    if (old && strcmp(old->name, t->name) != 0) hmap_del(d->tables, old->name, strlen(old->name));
    /* Another table under this name (only a log written out of order could do it) goes. */
    meta_table *other = find_table(d, t->name, strlen(t->name));
    if (other && other->id != t->id) {
        hmap_del(d->by_id, &other->id, sizeof other->id);
        meta_table_release(other);
    }
    hmap_put(d->tables, t->name, strlen(t->name), (uint64_t)(uintptr_t)t);
    hmap_put(d->by_id, &t->id, sizeof t->id, (uint64_t)(uintptr_t)t);
    if (old) meta_table_release(old);
}

void cat_unpublish(struct mdb *d, meta_table *t) {
    hmap_del(d->tables, t->name, strlen(t->name));
    hmap_del(d->by_id, &t->id, sizeof t->id);
    meta_table_release(t);
}

static struct mdb *db_alloc(uint64_t id, const char *tenant, const char *name,
                            const db_options *o) {
    struct mdb *d = xcalloc(1, sizeof *d);
    d->id = id;
    d->tenant = xstrdup(tenant);
    d->name = xstrdup(name);
    d->opts = *o;
    d->tables = hmap_new(8);
    d->by_id = hmap_new(8);
    return d;
}

static void db_free(struct mdb *d) {
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(d->tables, &pos, NULL, NULL, &v)) meta_table_release(as_table(v));
    hmap_free(d->tables);
    hmap_free(d->by_id);
    free(d->tenant);
    free(d->name);
    free(d);
}

static void db_insert(catalog *c, struct mdb *d) {
    char key[512];
    size_t n = db_key(key, sizeof key, d->tenant, d->name);
    hmap_put(c->dbs, key, n, (uint64_t)(uintptr_t)d);
    hmap_put(c->dbs_by_id, &d->id, sizeof d->id, (uint64_t)(uintptr_t)d);
}

struct mdb *cat_db_new(catalog *c, uint64_t id, const char *tenant, const char *name,
                       const db_options *o) {
    struct mdb *d = db_alloc(id, tenant, name, o);
    db_insert(c, d);
    return d;
}

/* Takes d out of the maps; the caller frees it. */
static void db_unlink(catalog *c, struct mdb *d) {
    char key[512];
    size_t n = db_key(key, sizeof key, d->tenant, d->name);
    hmap_del(c->dbs, key, n);
    hmap_del(c->dbs_by_id, &d->id, sizeof d->id);
}

void cat_db_remove(catalog *c, struct mdb *d) {
    db_unlink(c, d);
    db_free(d);
}

void cat_bump_id(catalog *c, uint64_t id) {
    if (id >= c->next_id) c->next_id = id + 1;
}

/* One record appended and synced, under ddl. */
static int log_one_locked(catalog *c, json_t *j, err *e) {
    buf b;
    buf_init(&b);
    cat_line(j, &b);
    int rc = cat_log_append_locked(c, &b, e);
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ open and close */

int catalog_open(const char *dir, catalog **out, err *e) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_META, "catalog: cannot create %s: %s", dir, strerror(errno));
    catalog *c = xcalloc(1, sizeof *c);
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->mac_mu, NULL);
    schema_lock_init(&c->ddl);
    c->dir = xstrdup(dir);
    c->logfd = -1;
    c->next_id = 1;
    c->dbs = hmap_new(16);
    c->dbs_by_id = hmap_new(16);
    int64_t t0 = time_mono_ns();
    bool fresh, rewrite;
    if (cat_log_replay(c, &fresh, &rewrite, e) < 0) {
        catalog_close(c);
        return -1;
    }
    if (fresh) {
        /* The defaults every CnosDB node starts with. */
        cat_access_defaults(c);
        const char *defaults[] = {"public", "usage_schema", "cluster_schema"};
        db_options o;
        db_options_default(&o);
        for (size_t i = 0; i < 3; i++) {
            db_options_default(&o);
            if (i == 1) o.max_memcache_size = 2u << 20; /* CnosDB's metrics database: small */
            cat_db_new(c, c->next_id++, "cnosdb", defaults[i], &o);
        }
    }
    if (cat_log_open(c, rewrite, e) < 0) {
        catalog_close(c);
        return -1;
    }
    log_info("catalog: %zu databases loaded in %.1f ms%s", hmap_count(c->dbs),
             (double)(time_mono_ns() - t0) / 1e6, rewrite ? " (log rewritten)" : "");
    *out = c;
    return 0;
}

void catalog_close(catalog *c) {
    if (!c) return;
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) db_free(as_db(v));
    hmap_free(c->dbs);
    hmap_free(c->dbs_by_id);
    cat_access_free(c);
    pthread_mutex_destroy(&c->mac_mu);
    if (c->logfd >= 0) close(c->logfd);
    pthread_rwlock_destroy(&c->lock);
    schema_lock_destroy(&c->ddl);
    free(c->dir);
    free(c);
}

/* ------------------------------------------------------------------ users and tenants */

/* ------------------------------------------------------------------ databases */

static int db_not_found(err *e, const char *name) {
    return err_set(e, 422, EC_DB_NOT_FOUND, "Database not found: \"%s\"", name);
}

int catalog_create_db(catalog *c, const char *tenant, const char *name, const db_options *o,
                      bool if_not_exists, err *e) {
    if (names_check(NAME_DATABASE, name, strlen(name), 422, EC_META, e) < 0) return -1;
    schema_lock(&c->ddl, true);
    int rc = 0;
    if (!cat_find_tenant(c, tenant, false)) {
        rc = err_set(e, 422, EC_TENANT_NOT_FOUND, "The tenant %s not found", tenant);
    } else if (cat_find_db_any(c, tenant, name)) {
        /* a database whose delayed drop is pending still holds its name */
        if (!if_not_exists)
            rc = err_set(e, 422, EC_DB_EXISTS, "Database \"%s\" already exists", name);
    } else if (cat_check_db_limits_locked(c, tenant, o, true, e) < 0) {
        rc = -1;
    } else {
        struct mdb *d = db_alloc(c->next_id++, tenant, name, o);
        rc = log_one_locked(c, cat_db_json(d), e);
        if (rc == 0) {
            pthread_rwlock_wrlock(&c->lock);
            db_insert(c, d);
            pthread_rwlock_unlock(&c->lock);
        } else {
            db_free(d);
        }
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_alter_db(catalog *c, const char *tenant, const char *name, const db_options *o,
                     err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct mdb *d = cat_find_db(c, tenant, name);
    if (!d) {
        rc = db_not_found(e, name);
    } else {
        struct mdb next = *d;
        next.opts.ttl_ns = o->ttl_ns;
        next.opts.shard = o->shard;
        next.opts.vnode_duration_ns = o->vnode_duration_ns;
        next.opts.replica = o->replica;
        rc = cat_check_db_limits_locked(c, tenant, &next.opts, false, e);
        if (!rc) rc = log_one_locked(c, cat_db_json(&next), e);
        if (!rc) {
            pthread_rwlock_wrlock(&c->lock);
            d->opts = next.opts;
            pthread_rwlock_unlock(&c->lock);
        }
    }
    schema_unlock(&c->ddl);
    return rc;
}

/* Logs the drop of d and removes it; called with the schema lock held. */
int cat_drop_db_locked(catalog *c, struct mdb *d, err *e) {
    int rc = log_one_locked(c, json_pack("{s:s, s:I}", "t", "drop_db", "id", (json_int_t)d->id), e);
    if (!rc) {
        pthread_rwlock_wrlock(&c->lock);
        db_unlink(c, d);
        pthread_rwlock_unlock(&c->lock);
        db_free(d);
    }
    return rc;
}

/* Logs d's state with drop_at set (0 = live again), then applies it. */
static int set_drop_at_locked(catalog *c, struct mdb *d, int64_t drop_at, err *e) {
    struct mdb next = *d;
    next.drop_at = drop_at;
    int rc = log_one_locked(c, cat_db_json(&next), e);
    if (!rc) {
        pthread_rwlock_wrlock(&c->lock);
        d->drop_at = drop_at;
        pthread_rwlock_unlock(&c->lock);
    }
    return rc;
}

int catalog_drop_db(catalog *c, const char *tenant, const char *name, bool if_exists,
                    int64_t after_ns, uint64_t *dropped_id, err *e) {
    *dropped_id = 0;
    schema_lock(&c->ddl, true);
    int rc = 0;
    /* a hidden database may be dropped again: now, or with a new delay */
    struct mdb *d = cat_find_db_any(c, tenant, name);
    if (!d) {
        if (!if_exists) rc = db_not_found(e, name);
    } else if (after_ns > 0) {
        int64_t at;
        if (__builtin_add_overflow(time_now_ns(), after_ns, &at)) at = INT64_MAX;
        rc = set_drop_at_locked(c, d, at, e);
    } else {
        uint64_t id = d->id;
        rc = cat_drop_db_locked(c, d, e);
        if (!rc) *dropped_id = id;
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_recover_db(catalog *c, const char *tenant, const char *name, bool if_exists, err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct mdb *d = cat_find_db_any(c, tenant, name);
    if (!d) {
        if (!if_exists) rc = db_not_found(e, name);
    } else if (d->drop_at) {
        rc = set_drop_at_locked(c, d, 0, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_take_due_drop(catalog *c, int64_t now_ns, uint64_t *dropped_id, err *e) {
    *dropped_id = 0;
    schema_lock(&c->ddl, true);
    int done = cat_take_due_tenant_locked(c, now_ns, dropped_id, e);
    if (done) {
        schema_unlock(&c->ddl);
        return done < 0 ? -1 : 0;
    }
    struct mdb *due = NULL;
    size_t pos = 0;
    uint64_t v;
    while (!due && hmap_next(c->dbs, &pos, NULL, NULL, &v))
        if (as_db(v)->drop_at && as_db(v)->drop_at <= now_ns) due = as_db(v);
    int rc = 0;
    if (due) {
        uint64_t id = due->id;
        rc = cat_drop_db_locked(c, due, e);
        if (!rc) *dropped_id = id;
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_get_db(catalog *c, const char *tenant, const char *name, meta_db_info *out, err *e) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = cat_find_db(c, tenant, name);
    int rc = 0;
    if (d) {
        out->id = d->id;
        out->opts = d->opts;
    } else {
        rc = db_not_found(e, name);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int catalog_list_dbs(catalog *c, const char *tenant, arena *a, char ***names, size_t *n) {
    pthread_rwlock_rdlock(&c->lock);
    size_t cnt = 0, pos = 0;
    uint64_t v;
    char **arr = arena_alloc(a, sizeof *arr * (hmap_count(c->dbs) + 1));
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        struct mdb *d = as_db(v);
        if (!d->drop_at && strcmp(d->tenant, tenant) == 0) arr[cnt++] = arena_strdup(a, d->name);
    }
    pthread_rwlock_unlock(&c->lock);
    qsort(arr, cnt, sizeof *arr, cmp_str);
    *names = arr;
    *n = cnt;
    return 0;
}

int catalog_all_dbs(catalog *c, arena *a, meta_db_info **out, size_t *n) {
    pthread_rwlock_rdlock(&c->lock);
    size_t cnt = 0, pos = 0;
    uint64_t v;
    meta_db_info *arr = arena_alloc(a, sizeof *arr * (hmap_count(c->dbs) + 1));
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        struct mdb *d = as_db(v);
        arr[cnt].id = d->id;
        arr[cnt].opts = d->opts;
        cnt++;
    }
    pthread_rwlock_unlock(&c->lock);
    *out = arr;
    *n = cnt;
    return 0;
}

/* ------------------------------------------------------------------ tables */

static int table_not_found(err *e, const char *tenant, const char *db, const char *name) {
    return err_set(e, 422, EC_TABLE_NOT_FOUND, "Table not found: \"%s.%s.%s\"", tenant, db, name);
}

meta_table *catalog_get_table(catalog *c, const char *tenant, const char *db, const char *name,
                              err *e) {
    pthread_rwlock_rdlock(&c->lock);
    meta_table *t = NULL;
    struct mdb *d = cat_find_db(c, tenant, db);
    if (!d) {
        db_not_found(e, db);
    } else {
        t = find_table(d, name, strlen(name));
        if (t)
            meta_table_retain(t);
        else
            table_not_found(e, tenant, db, name);
    }
    pthread_rwlock_unlock(&c->lock);
    return t;
}

meta_table *catalog_find_table(catalog *c, const char *tenant, const char *db, const char *name,
                               err *e) {
    meta_table *t = catalog_get_table(c, tenant, db, name, e);
    if (!t && !strcmp(e->code, EC_DB_NOT_FOUND)) table_not_found(e, tenant, db, name);
    return t;
}

bool catalog_table_live(catalog *c, uint64_t db_id, uint64_t table_id) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = cat_find_db_id(c, db_id);
    bool live = d && cat_find_table_id(d, table_id);
    pthread_rwlock_unlock(&c->lock);
    return live;
}

void catalog_db_label(catalog *c, uint64_t db_id, char *out, size_t cap) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = cat_find_db_id(c, db_id);
    if (d)
        snprintf(out, cap, "%s.%s", d->tenant, d->name);
    else
        snprintf(out, cap, "#%llu (dropped)", (unsigned long long)db_id);
    pthread_rwlock_unlock(&c->lock);
}

uint8_t catalog_column_codec(catalog *c, uint64_t db_id, uint64_t table_id, uint32_t col_id) {
    pthread_rwlock_rdlock(&c->lock);
    uint8_t codec = CODEC_DEFAULT;
    struct mdb *d = cat_find_db_id(c, db_id);
    meta_table *t = d ? cat_find_table_id(d, table_id) : NULL;
    if (t) {
        int i = colset_find_id(t->colset, t->cols, t->ncols, col_id);
        if (i >= 0) codec = t->cols[i].codec;
    }
    pthread_rwlock_unlock(&c->lock);
    return (uint8_t)codec_use_of((enum codec_id)codec);
}

int catalog_list_tables(catalog *c, const char *tenant, const char *db, arena *a, char ***names,
                        size_t *n, err *e) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = cat_find_db(c, tenant, db);
    if (!d) {
        pthread_rwlock_unlock(&c->lock);
        return db_not_found(e, db);
    }
    size_t cnt = 0, pos = 0;
    uint64_t v;
    char **arr = arena_alloc(a, sizeof *arr * (hmap_count(d->tables) + 1));
    while (hmap_next(d->tables, &pos, NULL, NULL, &v))
        arr[cnt++] = arena_strdup(a, as_table(v)->name);
    pthread_rwlock_unlock(&c->lock);
    qsort(arr, cnt, sizeof *arr, cmp_str);
    *names = arr;
    *n = cnt;
    return 0;
}

/* Logs t (a "table" record, or with from > 0 a "cols" record of its columns from `from` on) and
 * publishes it. Consumes t, also on failure. */
static int table_commit_locked(catalog *c, struct mdb *d, meta_table *t, uint32_t from, err *e) {
    buf b;
    buf_init(&b);
    if (from)
        cat_cols_line(t, from, &b);
    else
        cat_table_line(t, &b);
    int rc = cat_log_append_locked(c, &b, e);
    buf_free(&b);
    if (rc) {
        meta_table_release(t);
        return rc;
    }
    pthread_rwlock_wrlock(&c->lock);
    cat_publish(d, t);
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

/* The database a new table goes into, with the schema lock held: *d is NULL when the table
 * must not be created (the database is unknown: -1; the name is taken: -1, or 0 under IF NOT
 * EXISTS). */
static int new_table_db_locked(catalog *c, const char *tenant, const char *db, const char *name,
                               bool if_not_exists, struct mdb **d, err *e) {
    *d = cat_find_db(c, tenant, db);
    if (!*d) return db_not_found(e, db);
    if (!find_table(*d, name, strlen(name))) return 0;
    *d = NULL;
    return if_not_exists ? 0 : err_set(e, 422, EC_TABLE_EXISTS, "Table %s already exists.", name);
}

int catalog_create_table(catalog *c, const char *tenant, const char *db, const char *name,
                         const col_def *cols, size_t ncols, bool if_not_exists, err *e) {
    if (names_check(NAME_TABLE, name, strlen(name), 422, EC_META, e) < 0) return -1;
    for (size_t i = 0; i < ncols; i++)
        if (names_check(NAME_COLUMN, cols[i].name, cols[i].name_len, 422, EC_META, e) < 0)
            return -1;
    schema_lock(&c->ddl, true);
    struct mdb *d;
    int rc = new_table_db_locked(c, tenant, db, name, if_not_exists, &d, e);
    if (d) {
        /* Columns as declared: tags first, then fields. */
        const col_def **add = xmalloc(sizeof *add * (ncols + 1));
        size_t na = 0;
        for (size_t i = 0; i < ncols; i++)
            if (cols[i].kind == CK_TAG) add[na++] = &cols[i];
        for (size_t i = 0; i < ncols; i++)
            if (cols[i].kind == CK_FIELD) add[na++] = &cols[i];
        meta_table *t = table_create(d, c->next_id++, name, strlen(name), add, na);
        free(add);
        rc = table_commit_locked(c, d, t, 0, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_create_external_table(catalog *c, const char *tenant, const char *db, const char *name,
                                  const col_def *cols, size_t ncols, const char *ext,
                                  bool if_not_exists, err *e) {
    if (names_check(NAME_TABLE, name, strlen(name), 422, EC_META, e) < 0) return -1;
    schema_lock(&c->ddl, true);
    struct mdb *d;
    int rc = new_table_db_locked(c, tenant, db, name, if_not_exists, &d, e);
    if (d) {
        colset *cs = colset_new((uint32_t)ncols + 1);
        meta_table *t = cat_table_shell(d, c->next_id++, name, strlen(name), cs);
        colset_release(cs);
        t->ext = xstrdup(ext);
        for (size_t i = 0; i < ncols; i++)
            cat_table_append(t, t->next_col_id, cols[i].name, cols[i].name_len, CK_FIELD,
                             cols[i].type, CODEC_DEFAULT, 0);
        rc = table_commit_locked(c, d, t, 0, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_drop_table(catalog *c, const char *tenant, const char *db, const char *name,
                       bool if_exists, uint64_t *dropped_id, err *e) {
    *dropped_id = 0;
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct mdb *d = cat_find_db(c, tenant, db);
    meta_table *t = d ? find_table(d, name, strlen(name)) : NULL;
    if (!d) {
        rc = db_not_found(e, db);
    } else if (!t) {
        if (!if_exists) rc = table_not_found(e, tenant, db, name);
    } else {
        rc = log_one_locked(c,
                            json_pack("{s:s, s:I, s:I}", "t", "drop_table", "db_id",
                                      (json_int_t)d->id, "id", (json_int_t)t->id),
                            e);
        if (!rc) {
            /* an external table has nothing in storage to drop */
            *dropped_id = t->ext ? 0 : t->id;
            pthread_rwlock_wrlock(&c->lock);
            cat_unpublish(d, t);
            pthread_rwlock_unlock(&c->lock);
        }
    }
    schema_unlock(&c->ddl);
    return rc;
}

static int alter_table_locked(catalog *c, struct mdb *d, meta_table *t, enum alter_op op,
                              const col_def *col, const char *name, const char *new_name, err *e) {
    const char *table = t->name;
    if (op == ALTER_ADD_COLUMN) {
        if (meta_table_col(t, col->name, col->name_len) >= 0)
            return err_set(e, 422, EC_META,
                           "Semantic error: column %.*s already exists in table %s",
                           (int)col->name_len, col->name, table);
        /* Appended to the shared columns: O(1) however wide the table. */
        meta_table *nt = cat_table_next(t);
        uint32_t from = nt->ncols;
        cat_table_append(nt, nt->next_col_id, col->name, col->name_len, col->kind,
                         col->kind == CK_TAG ? VT_STR : col->type, col->codec,
                         col->kind == CK_TAG ? 0 : col->geo);
        return table_commit_locked(c, d, nt, from, e);
    }
    int idx = meta_table_col(t, name, strlen(name));
    if (idx < 0) return err_set(e, 422, EC_META, "column %s not found in table %s", name, table);
    const meta_column *mc = &t->cols[idx];
    meta_table *nt = NULL;
    if (op == ALTER_DROP_COLUMN) {
        /* CnosDB's words, its odd one for the time column included */
        if (mc->kind == CK_TIME)
            return err_set(e, 422, EC_META,
                           "Semantic error: There must be at least one tag column. ");
        if (mc->kind == CK_TAG)
            return err_set(e, 422, EC_META, "Semantic error: Can't drop tag column %s.", name);
        if (t->ncols - t->ntags - 1 <= 1)
            return err_set(e, 422, EC_META,
                           "Semantic error: There must be at least one field column.");
        nt = table_clone(d, t, idx, -1, NULL);
    } else if (op == ALTER_SET_CODEC) {
        nt = table_clone(d, t, -1, -1, NULL);
        /* nt's columns are its own until published. */
        nt->cols[idx].codec = col->codec;
    } else if (op == ALTER_RENAME_COLUMN) {
        if (meta_table_col(t, new_name, strlen(new_name)) >= 0)
            return err_set(e, 422, EC_META, "Semantic error: column %s already exists in table %s",
                           new_name, table);
        nt = table_clone(d, t, -1, idx, new_name);
    } else {
        return err_set(e, 500, EC_META, "unknown ALTER TABLE operation %d", (int)op);
    }
    return table_commit_locked(c, d, nt, 0, e);
}

int catalog_alter_table(catalog *c, const char *tenant, const char *db, const char *table,
                        enum alter_op op, const col_def *col, const char *name,
                        const char *new_name, err *e) {
    if (op == ALTER_ADD_COLUMN &&
        names_check(NAME_COLUMN, col->name, col->name_len, 422, EC_META, e) < 0)
        return -1;
    if (op == ALTER_RENAME_COLUMN && new_name &&
        names_check(NAME_COLUMN, new_name, strlen(new_name), 422, EC_META, e) < 0)
        return -1;
    schema_lock(&c->ddl, true);
    int rc;
    struct mdb *d = cat_find_db(c, tenant, db);
    meta_table *t = d ? find_table(d, table, strlen(table)) : NULL;
    if (!d)
        rc = db_not_found(e, db);
    else if (!t)
        rc = table_not_found(e, tenant, db, table);
    else if (meta_table_is_stream(t))
        rc = err_set(e, 422, EC_NOT_IMPL,
                     "This feature is not implemented: only tskv table support alter");
    else if (t->ext)
        rc = err_set(e, 422, EC_NOT_IMPL,
                     "This feature is not implemented: ALTER TABLE of an external table");
    else
        rc = alter_table_locked(c, d, t, op, col, name, new_name, e);
    schema_unlock(&c->ddl);
    return rc;
}

/* ------------------------------------------------------------------ the write path's schema step
 */

/* Checks one column against t: 1 if t lacks it, 0 if t has it as given, -1 with a conflict
 * error. */
static int check_col(const meta_table *t, const col_def *cd, err *e) {
    if (t->ext)
        return err_set(e, 422, EC_WRITE,
                       "Apply engine failed: table %s is an external table: it reads files and "
                       "takes no writes",
                       t->name);
    int idx = meta_table_col(t, cd->name, cd->name_len);
    if (idx < 0) return 1;
    const meta_column *mc = &t->cols[idx];
    uint8_t want = cd->kind == CK_TAG ? VT_STR : cd->type;
    if (mc->kind == cd->kind && mc->type == want) return 0;
    const char *found = cd->kind == CK_TAG ? "TAG" : vtype_short_name(cd->type);
    const char *expected = mc->kind == CK_TAG    ? "TAG"
                           : mc->kind == CK_TIME ? "TimestampNanosecond"
                                                 : vtype_short_name(mc->type);
    if (cd->line)
        return err_set(e, 422, EC_WRITE,
                       "Apply engine failed: DataSchemaError: Column '%.*s' type error, found %s "
                       "expected %s (table '%s', line %u)",
                       (int)cd->name_len, cd->name, found, expected, t->name, cd->line);
    return err_set(e, 422, EC_WRITE,
                   "Apply engine failed: DataSchemaError: Column '%.*s' type error, found %s "
                   "expected %s (table '%s')",
                   (int)cd->name_len, cd->name, found, expected, t->name);
}

/* Checks cols against t; returns the number of missing columns, or -1 with a conflict error. */
static int check_cols(const meta_table *t, const col_def *cols, size_t ncols, err *e) {
    int missing = 0;
    for (size_t i = 0; i < ncols; i++) {
        int r = check_col(t, &cols[i], e);
        if (r < 0) return -1;
        missing += r;
    }
    return missing;
}

static int cmp_coldef(const void *a, const void *b) {
    const col_def *x = *(const col_def *const *)a, *y = *(const col_def *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int r = memcmp(x->name, y->name, n);
    return r ? r : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Sorts add[0, n) by name and drops repeated names; returns the new count. */
static size_t sort_unique(const col_def **add, size_t n) {
    qsort(add, n, sizeof *add, cmp_coldef);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || cmp_coldef(&add[k - 1], &add[i]) != 0) add[k++] = add[i];
    return k;
}

/* The columns of cols that t (NULL: a new table) lacks, in the order CnosDB adds them: tags
 * sorted by name, then fields sorted by name (a field named like a new tag is left out, and
 * is reported as a conflict by the next write that carries it). O(n log n). */
static size_t missing_cols(const meta_table *t, const col_def *cols, size_t ncols,
                           const col_def **add) {
    size_t nt = 0, na;
    for (size_t i = 0; i < ncols; i++)
        if (cols[i].kind == CK_TAG && (!t || meta_table_col(t, cols[i].name, cols[i].name_len) < 0))
            add[nt++] = &cols[i];
    nt = sort_unique(add, nt);
    na = nt;
    for (size_t i = 0; i < ncols; i++)
        if (cols[i].kind == CK_FIELD &&
            (!t || meta_table_col(t, cols[i].name, cols[i].name_len) < 0) &&
            !bsearch(&(const col_def *){&cols[i]}, add, nt, sizeof *add, cmp_coldef))
            add[na++] = &cols[i];
    return nt + sort_unique(add + nt, na - nt);
}

/* One table's change: base is its current version (NULL for a new table), next the version
 * that has every column (built before the log append for a new table, whose colset nobody
 * else sees; after it for an existing one, whose colset is shared). */
struct tplan {
    size_t req;
    meta_table *base;
    meta_table *next;
    const col_def **add;
    size_t nadd;
};

/* The "cols" record of a plan on an existing table (ids follow base->next_col_id), the same as
 * cat_cols_line will be of the version it makes. */
static void plan_cols_line(const struct tplan *p, buf *out) {
    const meta_table *b = p->base;
    size_t start = cat_record_begin(out);
    cat_record_head(out, "cols", b->id, b->db_id);
    buf_puts(out, ",\"cols\":[");
    for (size_t i = 0; i < p->nadd; i++) {
        const col_def *cd = p->add[i];
        cat_record_col(out, i == 0, b->next_col_id + (uint32_t)i, cd->name, cd->name_len, cd->kind,
                       cd->kind == CK_TAG ? VT_STR : cd->type, CODEC_DEFAULT, 0);
    }
    buf_puts(out, "]}");
    cat_record_end(out, start);
}

/* Publishes the plans' versions in slices, so readers never wait long for the write lock. */
static void publish_plans(catalog *c, struct mdb *d, struct tplan *plans, size_t np) {
    for (size_t i = 0; i < np;) {
        size_t end = i + PUBLISH_SLICE < np ? i + PUBLISH_SLICE : np;
        pthread_rwlock_wrlock(&c->lock);
        for (; i < end; i++) {
            meta_table_retain(plans[i].next); /* the map's reference; the caller keeps one */
            cat_publish(d, plans[i].next);
        }
        pthread_rwlock_unlock(&c->lock);
    }
}

/* A very wide table's columns in the order they are added (tags sorted, then fields sorted),
 * sorted once outside the schema lock, and how far the pieces made so far got. */
struct wide {
    const col_def **order;
    size_t n, next;
};

/* The slow part of catalog_ensure_tables for the tables listed in miss: re-checks them (another
 * request may have added what they need), plans the changes, logs them with one append and one
 * fsync, then builds and publishes the new versions. Stops planning after a slice
 * (SCHEMA_SLICE tables or SCHEMA_SLICE_COLS columns) when a small schema change waits, so it
 * gets its turn; a very wide table (wide[k].order set) is a commit of its own, made in pieces.
 * *done tells how many of miss were handled. Nothing changes on an error. */
static int ensure_locked(catalog *c, const char *tenant, const char *db, const table_cols *tabs,
                         const size_t *miss, struct wide *wide, size_t nmiss, meta_table **out,
                         size_t *done, err *e) {
    STRATA_ASSERT(schema_held(&c->ddl));
    struct mdb *d = cat_find_db(c, tenant, db);
    if (!d) return db_not_found(e, db);
    struct tplan *plans = xcalloc(nmiss + 1, sizeof *plans);
    size_t np = 0;
    hmap *seen = hmap_new(nmiss);
    buf lines;
    buf_init(&lines);
    int rc = 0;
    size_t k = 0, cols = 0;
    for (; k < nmiss && !rc; k++) {
        /* A commit holds at most SCHEMA_COMMIT slices, and ends after one when a small change
         * waits: that one waits for the rest of a slice and one commit's append, fsync and
         * publication, bounded whatever the size of the request. */
        bool full = k >= SCHEMA_SLICE * SCHEMA_COMMIT || cols >= SCHEMA_SLICE_COLS * SCHEMA_COMMIT;
        if (full ||
            ((k >= SCHEMA_SLICE || cols >= SCHEMA_SLICE_COLS) && schema_small_waiting(&c->ddl)))
            break;
        const table_cols *tc = &tabs[miss[k]];
        struct wide *w = wide[k].order ? &wide[k] : NULL;
        if (w && np) break; /* a very wide table starts a commit of its own */
        cols += tc->ncols;
        meta_table *t = find_table(d, tc->name, tc->name_len);
        const col_def **add = xmalloc(sizeof *add * ((w ? SCHEMA_SLICE_COLS : tc->ncols) + 1));
        size_t nadd = 0;
        bool piece = false;
        if (w) {
            /* In pieces of SCHEMA_SLICE_COLS columns, each a commit of its own, in the order
             * they would be added at once, so that a small schema change waits for one piece
             * at most; each column is checked as the cursor passes it. The caller comes back
             * for the rest. */
            while (w->next < w->n && nadd < SCHEMA_SLICE_COLS && !rc) {
                const col_def *cd = w->order[w->next++];
                int r = t ? check_col(t, cd, e) : 1;
                if (r < 0)
                    rc = -1;
                else if (r)
                    add[nadd++] = cd;
            }
            piece = w->next < w->n;
        } else {
            int m = t ? check_cols(t, tc->cols, tc->ncols, e) : 1;
            if (m < 0)
                rc = -1;
            else if (m)
                nadd = missing_cols(t, tc->cols, tc->ncols, add);
        }
        if (rc || (!nadd && t)) {
            free(add);
            if (!rc) {
                meta_table_retain(t);
                meta_table_release(out[miss[k]]); /* a piece of it made by an earlier call */
                out[miss[k]] = t;
            }
            continue;
        }
        bool ins;
        hmap_upsert(seen, tc->name, tc->name_len, &ins);
        if (!ins) {
            free(add);
            rc = err_set(e, 500, EC_INTERNAL, "table %.*s listed twice in one schema change",
                         (int)tc->name_len, tc->name);
            break;
        }
        struct tplan *p = &plans[np++];
        p->req = miss[k];
        p->base = t;
        p->add = add;
        p->nadd = nadd;
        if (t) {
            plan_cols_line(p, &lines);
        } else {
            p->next = table_create(d, c->next_id++, tc->name, tc->name_len, p->add, p->nadd);
            cat_table_line(p->next, &lines);
        }
        if (piece) break; /* not done: k stays on it */
    }
    if (!rc) rc = cat_log_append_locked(c, &lines, e);
    if (!rc) {
        for (size_t i = 0; i < np; i++) {
            struct tplan *p = &plans[i];
            if (p->base) {
                p->next = cat_table_next(p->base);
                for (size_t j = 0; j < p->nadd; j++) {
                    const col_def *cd = p->add[j];
                    cat_table_append(p->next, p->next->next_col_id, cd->name, cd->name_len,
                                     cd->kind, cd->kind == CK_TAG ? VT_STR : cd->type,
                                     CODEC_DEFAULT, 0);
                }
            }
            meta_table_release(out[p->req]);
            out[p->req] = p->next;
        }
        publish_plans(c, d, plans, np);
    } else {
        for (size_t i = 0; i < np; i++)
            if (plans[i].next) cat_table_free(plans[i].next);
    }
    for (size_t i = 0; i < np; i++) free(plans[i].add);
    free(plans);
    hmap_free(seen);
    buf_free(&lines);
    *done = k;
    return rc;
}

int catalog_ensure_tables(catalog *c, const char *tenant, const char *db, const table_cols *tabs,
                          size_t n, meta_table **out, err *e) {
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    size_t *miss = NULL, nmiss = 0;
    int rc = 0;
    /* Fast path, under the read lock alone (in slices: a schema change waits for one at most):
     * the tables exist with every column, as for nearly every write. */
    for (size_t i = 0; i < n && !rc;) {
        size_t end = i + PUBLISH_SLICE * 4 < n ? i + PUBLISH_SLICE * 4 : n;
        pthread_rwlock_rdlock(&c->lock);
        struct mdb *d = cat_find_db(c, tenant, db);
        if (!d) rc = db_not_found(e, db);
        for (; i < end && !rc; i++) {
            meta_table *t = find_table(d, tabs[i].name, tabs[i].name_len);
            int m = t ? check_cols(t, tabs[i].cols, tabs[i].ncols, e) : 1;
            if (m < 0) {
                rc = -1;
            } else if (m == 0) {
                meta_table_retain(t);
                out[i] = t;
            } else {
                if (!miss) miss = xmalloc(sizeof *miss * n);
                miss[nmiss++] = i;
            }
        }
        pthread_rwlock_unlock(&c->lock);
    }
    /* Names are checked where they would be created: tables and columns that exist passed. */
    for (size_t k = 0; k < nmiss && !rc; k++) {
        const table_cols *tc = &tabs[miss[k]];
        rc = names_check(NAME_TABLE, tc->name, tc->name_len, 422, EC_WRITE, e);
        for (size_t j = 0; j < tc->ncols && !rc; j++)
            rc = names_check(NAME_COLUMN, tc->cols[j].name, tc->cols[j].name_len, 422, EC_WRITE, e);
    }
    /* The changes: one catalog change, or, for a large request, one per slice when small
     * schema changes wait in between. Conflicts with the catalog as this request found it were
     * refused above, before any change; what can still stop a later slice (an I/O error, a
     * conflicting change another request made meanwhile) leaves the earlier ones in place. */
    size_t ncols = 0;
    for (size_t k = 0; k < nmiss; k++) ncols += tabs[miss[k]].ncols;
    bool small = nmiss <= SCHEMA_SLICE && ncols <= SCHEMA_SLICE_COLS;
    struct wide *wide = xcalloc(nmiss + 1, sizeof *wide);
    for (size_t k = 0; !rc && k < nmiss; k++) {
        const table_cols *tc = &tabs[miss[k]];
        if (tc->ncols <= SCHEMA_SLICE_COLS) continue;
        wide[k].order = xmalloc(sizeof *wide[k].order * tc->ncols);
        wide[k].n = missing_cols(NULL, tc->cols, tc->ncols, wide[k].order);
    }
    for (size_t k = 0; !rc && k < nmiss;) {
        size_t done = 0;
        schema_lock(&c->ddl, small);
        rc = ensure_locked(c, tenant, db, tabs, miss + k, wide + k, nmiss - k, out, &done, e);
        schema_unlock(&c->ddl);
        k += done;
    }
    for (size_t k = 0; k < nmiss; k++) free(wide[k].order);
    free(wide);
    free(miss);
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            meta_table_release(out[i]);
            out[i] = NULL;
        }
        return -1;
    }
    return 0;
}
