/* The catalog: see catalog.h.
 *
 * Persistence is a log of JSON lines, each `<crc32 as 8 hex> <json>\n`, each describing the
 * full new state of one object (or its removal). Replay applies them in order, so the last
 * line about an object wins. After replay the log is rewritten from memory (tmp, fsync,
 * rename), which both compacts it and removes a torn tail. */
#include "meta/catalog.h"

#include "codec/codec.h"

#include "util/buf.h"
#include "util/fs.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/names.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

/* ------------------------------------------------------------------ types */

struct mdb {
    uint64_t id;
    char *tenant;
    char *name;
    db_options opts;
    hmap *tables; /* name → meta_table* */
};

struct user {
    char *name;
    char *password;
    char *comment;
    bool admin;
    bool must_change;
};

struct tenant {
    uint64_t id;
    char *name;
    char *comment;
};

struct catalog {
    pthread_rwlock_t lock;
    pthread_mutex_t log_mu; /* serialises log appends (writers hold the write lock anyway) */
    char *dir;
    int logfd;
    uint64_t next_id;
    hmap *dbs; /* "tenant\0name" → struct mdb* */
    struct user *users;
    size_t nusers;
    struct tenant *tenants;
    size_t ntenants;
};

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

static void table_free(meta_table *t) {
    for (uint32_t i = 0; i < t->ncols; i++) free(t->cols[i].name);
    free(t->cols);
    free(t->tenant);
    free(t->db);
    free(t->name);
    hmap_free(t->by_name);
    free(t);
}

void meta_table_release(meta_table *t) {
    if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) table_free(t);
}

int meta_table_col(const meta_table *t, const char *name, size_t len) {
    uint64_t v;
    return hmap_get(t->by_name, name, len, &v) ? (int)v : -1;
}

/* A fresh table version with room for extra columns; names are indexed by table_index. */
static meta_table *table_new(const struct mdb *d, uint64_t id, const char *name) {
    meta_table *t = xcalloc(1, sizeof *t);
    t->id = id;
    t->db_id = d->id;
    t->tenant = xstrdup(d->tenant);
    t->db = xstrdup(d->name);
    t->name = xstrdup(name);
    t->precision = d->opts.precision;
    t->refs = 1;
    return t;
}

static void table_add_col(meta_table *t, uint32_t id, const char *name, size_t len, uint8_t kind,
                          uint8_t type, uint8_t codec) {
    t->cols = xrealloc(t->cols, sizeof *t->cols * (t->ncols + 1));
    meta_column *c = &t->cols[t->ncols++];
    c->id = id;
    c->name = xstrndup(name, len);
    c->kind = kind;
    c->type = type;
    c->codec = codec;
    if (kind == CK_TAG) t->ntags++;
    if (id >= t->next_col_id) t->next_col_id = id + 1;
    if (!t->by_name) t->by_name = hmap_new(16);
    hmap_put(t->by_name, c->name, strlen(c->name), t->ncols - 1);
}

static void table_index(meta_table *t) {
    hmap_free(t->by_name);
    t->by_name = hmap_new(t->ncols);
    for (uint32_t i = 0; i < t->ncols; i++)
        hmap_put(t->by_name, t->cols[i].name, strlen(t->cols[i].name), i);
}

static meta_table *table_clone(const meta_table *src) {
    meta_table *t = xcalloc(1, sizeof *t);
    t->id = src->id;
    t->db_id = src->db_id;
    t->tenant = xstrdup(src->tenant);
    t->db = xstrdup(src->db);
    t->name = xstrdup(src->name);
    t->precision = src->precision;
    t->refs = 1;
    for (uint32_t i = 0; i < src->ncols; i++) {
        const meta_column *c = &src->cols[i];
        table_add_col(t, c->id, c->name, strlen(c->name), c->kind, c->type, c->codec);
    }
    t->next_col_id = src->next_col_id;
    return t;
}

/* ------------------------------------------------------------------ lookups (lock held) */

static struct mdb *find_db(catalog *c, const char *tenant, const char *name) {
    char key[512];
    int n = snprintf(key, sizeof key, "%s%c%s", tenant, 0, name);
    if (n < 0 || (size_t)n >= sizeof key) return NULL;
    uint64_t v;
    return hmap_get(c->dbs, key, (size_t)n, &v) ? (struct mdb *)(uintptr_t)v : NULL;
}

static struct mdb *find_db_id(catalog *c, uint64_t id) {
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        struct mdb *d = (struct mdb *)(uintptr_t)v;
        if (d->id == id) return d;
    }
    return NULL;
}

static struct user *find_user(catalog *c, const char *name) {
    for (size_t i = 0; i < c->nusers; i++)
        if (strcmp(c->users[i].name, name) == 0) return &c->users[i];
    return NULL;
}

static struct tenant *find_tenant(catalog *c, const char *name) {
    for (size_t i = 0; i < c->ntenants; i++)
        if (strcmp(c->tenants[i].name, name) == 0) return &c->tenants[i];
    return NULL;
}

static meta_table *find_table(struct mdb *d, const char *name, size_t len) {
    uint64_t v;
    return hmap_get(d->tables, name, len, &v) ? (meta_table *)(uintptr_t)v : NULL;
}

/* ------------------------------------------------------------------ persistence */

static json_t *db_to_json(const struct mdb *d) {
    const db_options *o = &d->opts;
    return json_pack("{s:s, s:I, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:b, s:b, "
                     "s:I}}",
                     "t", "db", "id", (json_int_t)d->id, "tenant", d->tenant, "name", d->name,
                     "opts", "ttl", (json_int_t)o->ttl_ns, "shard", (json_int_t)o->shard,
                     "vnode_duration", (json_int_t)o->vnode_duration_ns, "replica",
                     (json_int_t)o->replica, "precision", (int)o->precision, "max_memcache_size",
                     (json_int_t)o->max_memcache_size, "memcache_partitions",
                     (json_int_t)o->memcache_partitions, "wal_max_file_size",
                     (json_int_t)o->wal_max_file_size, "wal_sync", o->wal_sync, "strict_write",
                     o->strict_write, "max_cache_readers", (json_int_t)o->max_cache_readers);
}

static json_t *table_to_json(const meta_table *t) {
    json_t *cols = json_array();
    for (uint32_t i = 0; i < t->ncols; i++) {
        const meta_column *c = &t->cols[i];
        json_array_append_new(cols, json_pack("[I, s, i, i, i]", (json_int_t)c->id, c->name,
                                              (int)c->kind, (int)c->type, (int)c->codec));
    }
    return json_pack("{s:s, s:I, s:I, s:s, s:I, s:o}", "t", "table", "id", (json_int_t)t->id,
                     "db_id", (json_int_t)t->db_id, "name", t->name, "next_col",
                     (json_int_t)t->next_col_id, "cols", cols);
}

static json_t *user_to_json(const struct user *u) {
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "t", "user", "name", u->name, "password",
                     u->password, "comment", u->comment ? u->comment : "", "admin", u->admin,
                     "must_change", u->must_change);
}

static json_t *tenant_to_json(const struct tenant *t) {
    return json_pack("{s:s, s:I, s:s, s:s}", "t", "tenant", "id", (json_int_t)t->id, "name",
                     t->name, "comment", t->comment ? t->comment : "");
}

static void line_of(json_t *j, buf *out) {
    char *s = json_dumps(j, JSON_COMPACT);
    uLong crc = crc32(0, (const Bytef *)s, (uInt)strlen(s));
    buf_printf(out, "%08lx %s\n", crc, s);
    free(s);
    json_decref(j);
}

/* Appends records and fsyncs. Called with the write lock held. */
static int log_append(catalog *c, buf *lines, err *e) {
    pthread_mutex_lock(&c->log_mu);
    int rc = 0;
    if (fs_write_all(c->logfd, lines->p, lines->len) < 0 || fdatasync(c->logfd) < 0)
        rc = err_set(e, 500, EC_META, "catalog: cannot write %s/catalog.log: %s", c->dir,
                     strerror(errno));
    pthread_mutex_unlock(&c->log_mu);
    return rc;
}

static int log_one(catalog *c, json_t *j, err *e) {
    buf b;
    buf_init(&b);
    line_of(j, &b);
    int rc = log_append(c, &b, e);
    buf_free(&b);
    return rc;
}

/* Rewrites the whole log from memory. */
static int log_rewrite(catalog *c, err *e) {
    buf b;
    buf_init(&b);
    line_of(json_pack("{s:s, s:I}", "t", "seq", "next_id", (json_int_t)c->next_id), &b);
    for (size_t i = 0; i < c->nusers; i++) line_of(user_to_json(&c->users[i]), &b);
    for (size_t i = 0; i < c->ntenants; i++) line_of(tenant_to_json(&c->tenants[i]), &b);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        struct mdb *d = (struct mdb *)(uintptr_t)v;
        line_of(db_to_json(d), &b);
        size_t tp = 0;
        uint64_t tv;
        while (hmap_next(d->tables, &tp, NULL, NULL, &tv))
            line_of(table_to_json((meta_table *)(uintptr_t)tv), &b);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/catalog.log", c->dir);
    const void *parts[] = {b.p ? b.p : ""};
    size_t lens[] = {b.len};
    int rc = fs_write_atomic(path, parts, lens, 1, e);
    buf_free(&b);
    if (rc) return rc;
    if (c->logfd >= 0) close(c->logfd);
    c->logfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (c->logfd < 0)
        return err_set(e, 500, EC_META, "catalog: cannot open %s: %s", path, strerror(errno));
    return 0;
}

static void db_free(struct mdb *d) {
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(d->tables, &pos, NULL, NULL, &v))
        meta_table_release((meta_table *)(uintptr_t)v);
    hmap_free(d->tables);
    free(d->tenant);
    free(d->name);
    free(d);
}

static void db_insert(catalog *c, struct mdb *d) {
    char key[512];
    int n = snprintf(key, sizeof key, "%s%c%s", d->tenant, 0, d->name);
    hmap_put(c->dbs, key, (size_t)n, (uint64_t)(uintptr_t)d);
}

static void db_remove(catalog *c, struct mdb *d) {
    char key[512];
    int n = snprintf(key, sizeof key, "%s%c%s", d->tenant, 0, d->name);
    hmap_del(c->dbs, key, (size_t)n);
    db_free(d);
}

static void bump_id(catalog *c, uint64_t id) {
    if (id >= c->next_id) c->next_id = id + 1;
}

static void user_set(catalog *c, const char *name, const char *pw, const char *comment, bool admin,
                     bool must_change) {
    struct user *u = find_user(c, name);
    if (!u) {
        c->users = xrealloc(c->users, sizeof *c->users * (c->nusers + 1));
        u = &c->users[c->nusers++];
        memset(u, 0, sizeof *u);
        u->name = xstrdup(name);
    }
    free(u->password);
    free(u->comment);
    u->password = xstrdup(pw);
    u->comment = xstrdup(comment);
    u->admin = admin;
    u->must_change = must_change;
}

static void tenant_set(catalog *c, uint64_t id, const char *name, const char *comment) {
    struct tenant *t = find_tenant(c, name);
    if (!t) {
        c->tenants = xrealloc(c->tenants, sizeof *c->tenants * (c->ntenants + 1));
        t = &c->tenants[c->ntenants++];
        memset(t, 0, sizeof *t);
        t->name = xstrdup(name);
    }
    t->id = id;
    free(t->comment);
    t->comment = xstrdup(comment);
    bump_id(c, id);
}

static int apply_record(catalog *c, json_t *j) {
    const char *t = json_string_value(json_object_get(j, "t"));
    if (!t) return -1;
    if (!strcmp(t, "seq")) {
        bump_id(c, (uint64_t)json_integer_value(json_object_get(j, "next_id")) - 1);
    } else if (!strcmp(t, "user")) {
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *pw = json_string_value(json_object_get(j, "password"));
        const char *cm = json_string_value(json_object_get(j, "comment"));
        if (!name || !pw) return -1;
        user_set(c, name, pw, cm ? cm : "", json_is_true(json_object_get(j, "admin")),
                 json_is_true(json_object_get(j, "must_change")));
    } else if (!strcmp(t, "tenant")) {
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *cm = json_string_value(json_object_get(j, "comment"));
        if (!name) return -1;
        tenant_set(c, (uint64_t)json_integer_value(json_object_get(j, "id")), name, cm ? cm : "");
    } else if (!strcmp(t, "db")) {
        json_t *o = json_object_get(j, "opts");
        const char *tenant = json_string_value(json_object_get(j, "tenant"));
        const char *name = json_string_value(json_object_get(j, "name"));
        if (!o || !tenant || !name) return -1;
        uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
        struct mdb *d = find_db(c, tenant, name);
        if (!d) {
            d = xcalloc(1, sizeof *d);
            d->tenant = xstrdup(tenant);
            d->name = xstrdup(name);
            d->tables = hmap_new(8);
            db_insert(c, d);
        }
        d->id = id;
        bump_id(c, id);
        db_options_default(&d->opts);
        db_options *p = &d->opts;
        p->ttl_ns = json_integer_value(json_object_get(o, "ttl"));
        p->shard = (uint64_t)json_integer_value(json_object_get(o, "shard"));
        p->vnode_duration_ns = json_integer_value(json_object_get(o, "vnode_duration"));
        p->replica = (uint64_t)json_integer_value(json_object_get(o, "replica"));
        p->precision = (uint8_t)json_integer_value(json_object_get(o, "precision"));
        p->max_memcache_size =
            (uint64_t)json_integer_value(json_object_get(o, "max_memcache_size"));
        p->memcache_partitions =
            (uint64_t)json_integer_value(json_object_get(o, "memcache_partitions"));
        p->wal_max_file_size =
            (uint64_t)json_integer_value(json_object_get(o, "wal_max_file_size"));
        p->wal_sync = json_is_true(json_object_get(o, "wal_sync"));
        p->strict_write = json_is_true(json_object_get(o, "strict_write"));
        p->max_cache_readers =
            (uint64_t)json_integer_value(json_object_get(o, "max_cache_readers"));
    } else if (!strcmp(t, "drop_db")) {
        struct mdb *d = find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "id")));
        if (d) db_remove(c, d);
    } else if (!strcmp(t, "table")) {
        struct mdb *d = find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "db_id")));
        const char *name = json_string_value(json_object_get(j, "name"));
        json_t *cols = json_object_get(j, "cols");
        if (!name || !json_is_array(cols)) return -1;
        if (!d) return 0; /* its database was dropped later in the log */
        uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
        bump_id(c, id);
        meta_table *tb = table_new(d, id, name);
        size_t i;
        json_t *cj;
        json_array_foreach(cols, i, cj) {
            const char *cn = json_string_value(json_array_get(cj, 1));
            if (!cn) {
                table_free(tb);
                return -1;
            }
            table_add_col(tb, (uint32_t)json_integer_value(json_array_get(cj, 0)), cn, strlen(cn),
                          (uint8_t)json_integer_value(json_array_get(cj, 2)),
                          (uint8_t)json_integer_value(json_array_get(cj, 3)),
                          (uint8_t)json_integer_value(json_array_get(cj, 4)));
        }
        uint32_t nc = (uint32_t)json_integer_value(json_object_get(j, "next_col"));
        if (nc > tb->next_col_id) tb->next_col_id = nc;
        table_index(tb);
        /* A rename publishes the table under its new name: drop any entry with this id. */
        size_t pos = 0;
        const char *k;
        size_t kl;
        uint64_t v;
        while (hmap_next(d->tables, &pos, &k, &kl, &v)) {
            meta_table *old = (meta_table *)(uintptr_t)v;
            if (old->id == id) {
                hmap_del(d->tables, k, kl);
                meta_table_release(old);
                break;
            }
        }
        hmap_put(d->tables, name, strlen(name), (uint64_t)(uintptr_t)tb);
    } else if (!strcmp(t, "drop_table")) {
        struct mdb *d = find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "db_id")));
        uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
        if (!d) return 0;
        size_t pos = 0;
        const char *k;
        size_t kl;
        uint64_t v;
        while (hmap_next(d->tables, &pos, &k, &kl, &v)) {
            meta_table *old = (meta_table *)(uintptr_t)v;
            if (old->id == id) {
                hmap_del(d->tables, k, kl);
                meta_table_release(old);
                break;
            }
        }
    } else {
        log_warn("catalog: unknown record type '%s' ignored", t);
    }
    return 0;
}

static int replay(catalog *c, const char *path, err *e) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        return err_set(e, 500, EC_META, "catalog: cannot open %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        bool complete = line[n - 1] == '\n';
        unsigned long want;
        json_t *j = NULL;
        if (complete && n > 10 && line[8] == ' ' && sscanf(line, "%8lx", &want) == 1) {
            size_t jl = (size_t)n - 10;
            if (crc32(0, (const Bytef *)line + 9, (uInt)jl) == want)
                j = json_loadb(line + 9, jl, 0, NULL);
        }
        if (!j) {
            /* Only the last line may be torn, and a torn append never ends with its newline
             * (one write per line); anything else is corruption. */
            int ch = fgetc(f);
            if (ch == EOF && !complete) {
                log_warn("catalog: cut a torn last record at %s:%d", path, lineno);
                break;
            }
            rc = err_set(e, 500, EC_META, "catalog: corrupt record at %s:%d", path, lineno);
            break;
        }
        if (apply_record(c, j) < 0)
            rc = err_set(e, 500, EC_META, "catalog: malformed record at %s:%d", path, lineno);
        json_decref(j);
        if (rc) break;
    }
    free(line);
    fclose(f);
    return rc;
}

int catalog_open(const char *dir, catalog **out, err *e) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_META, "catalog: cannot create %s: %s", dir, strerror(errno));
    catalog *c = xcalloc(1, sizeof *c);
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->log_mu, NULL);
    c->dir = xstrdup(dir);
    c->logfd = -1;
    c->next_id = 1;
    c->dbs = hmap_new(16);
    char path[1100];
    snprintf(path, sizeof path, "%s/catalog.log", dir);
    bool fresh = access(path, F_OK) != 0;
    if (replay(c, path, e) < 0) {
        catalog_close(c);
        return -1;
    }
    if (fresh) {
        /* The defaults every CnosDB node starts with. */
        user_set(c, "root", "", "system admin", true, false);
        tenant_set(c, c->next_id++, "cnosdb", "system tenant");
        const char *defaults[] = {"public", "usage_schema", "cluster_schema"};
        for (size_t i = 0; i < 3; i++) {
            struct mdb *d = xcalloc(1, sizeof *d);
            d->id = c->next_id++;
            d->tenant = xstrdup("cnosdb");
            d->name = xstrdup(defaults[i]);
            db_options_default(&d->opts);
            d->tables = hmap_new(8);
            db_insert(c, d);
        }
    }
    if (log_rewrite(c, e) < 0) {
        catalog_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void catalog_close(catalog *c) {
    if (!c) return;
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) db_free((struct mdb *)(uintptr_t)v);
    hmap_free(c->dbs);
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].name);
        free(c->users[i].password);
        free(c->users[i].comment);
    }
    free(c->users);
    for (size_t i = 0; i < c->ntenants; i++) {
        free(c->tenants[i].name);
        free(c->tenants[i].comment);
    }
    free(c->tenants);
    if (c->logfd >= 0) close(c->logfd);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->log_mu);
    free(c->dir);
    free(c);
}

/* ------------------------------------------------------------------ users and tenants */

int catalog_authenticate(catalog *c, const char *user, const char *password, const char *tenant,
                         bool check_password, bool *is_admin, err *e) {
    int rc = 0;
    pthread_rwlock_rdlock(&c->lock);
    struct user *u = find_user(c, user);
    if (check_password) {
        if (!u || !password || strcmp(u->password, password) != 0 || !find_tenant(c, tenant))
            rc = err_set(e, 401, EC_AUTH,
                         "Auth error: Access denied for user '%s' (using xxx) username or "
                         "password invalid",
                         user);
    } else if (!u) {
        rc = err_set(e, 401, EC_AUTH, "Auth error: The user %s not found", user);
    } else if (!find_tenant(c, tenant)) {
        rc = err_set(e, 401, EC_AUTH, "Auth error: The tenant %s not found", tenant);
    }
    if (!rc && u && !u->admin)
        rc = err_set(e, 401, EC_AUTH, "Auth error: The member %s of tenant %s not found", user,
                     tenant);
    if (!rc && is_admin) *is_admin = u->admin;
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

bool catalog_tenant_exists(catalog *c, const char *tenant) {
    pthread_rwlock_rdlock(&c->lock);
    bool ok = find_tenant(c, tenant) != NULL;
    pthread_rwlock_unlock(&c->lock);
    return ok;
}

/* ------------------------------------------------------------------ databases */

static int db_not_found(err *e, const char *name) {
    return err_set(e, 422, EC_DB_NOT_FOUND, "Database not found: \"%s\"", name);
}

int catalog_create_db(catalog *c, const char *tenant, const char *name, const db_options *o,
                      bool if_not_exists, err *e) {
    if (names_check(NAME_DATABASE, name, strlen(name), 422, EC_META, e) < 0) return -1;
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    if (!find_tenant(c, tenant)) {
        rc = err_set(e, 422, EC_TENANT_NOT_FOUND, "The tenant %s not found", tenant);
    } else if (find_db(c, tenant, name)) {
        if (!if_not_exists)
            rc = err_set(e, 422, EC_DB_EXISTS, "Database \"%s\" already exists", name);
    } else {
        struct mdb *d = xcalloc(1, sizeof *d);
        d->id = c->next_id++;
        d->tenant = xstrdup(tenant);
        d->name = xstrdup(name);
        d->opts = *o;
        d->tables = hmap_new(8);
        rc = log_one(c, db_to_json(d), e);
        if (rc == 0)
            db_insert(c, d);
        else
            db_free(d);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_alter_db(catalog *c, const char *tenant, const char *name, const db_options *o,
                     err *e) {
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    struct mdb *d = find_db(c, tenant, name);
    if (!d) {
        rc = db_not_found(e, name);
    } else {
        db_options old = d->opts;
        d->opts.ttl_ns = o->ttl_ns;
        d->opts.shard = o->shard;
        d->opts.vnode_duration_ns = o->vnode_duration_ns;
        d->opts.replica = o->replica;
        rc = log_one(c, db_to_json(d), e);
        if (rc) d->opts = old;
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_drop_db(catalog *c, const char *tenant, const char *name, bool if_exists,
                    uint64_t *dropped_id, err *e) {
    *dropped_id = 0;
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    struct mdb *d = find_db(c, tenant, name);
    if (!d) {
        if (!if_exists) rc = db_not_found(e, name);
    } else {
        rc = log_one(c, json_pack("{s:s, s:I}", "t", "drop_db", "id", (json_int_t)d->id), e);
        if (!rc) {
            *dropped_id = d->id;
            db_remove(c, d);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_get_db(catalog *c, const char *tenant, const char *name, meta_db_info *out, err *e) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = find_db(c, tenant, name);
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
        struct mdb *d = (struct mdb *)(uintptr_t)v;
        if (strcmp(d->tenant, tenant) == 0) arr[cnt++] = arena_strdup(a, d->name);
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
        struct mdb *d = (struct mdb *)(uintptr_t)v;
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
    struct mdb *d = find_db(c, tenant, db);
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

bool catalog_table_live(catalog *c, uint64_t db_id, uint64_t table_id) {
    pthread_rwlock_rdlock(&c->lock);
    bool live = false;
    struct mdb *d = find_db_id(c, db_id);
    if (d) {
        size_t pos = 0;
        uint64_t v;
        while (!live && hmap_next(d->tables, &pos, NULL, NULL, &v))
            live = ((meta_table *)(uintptr_t)v)->id == table_id;
    }
    pthread_rwlock_unlock(&c->lock);
    return live;
}

uint8_t catalog_column_codec(catalog *c, uint64_t db_id, uint64_t table_id, uint32_t col_id) {
    pthread_rwlock_rdlock(&c->lock);
    uint8_t codec = CODEC_DEFAULT;
    struct mdb *d = find_db_id(c, db_id);
    if (d) {
        size_t pos = 0;
        uint64_t v;
        while (hmap_next(d->tables, &pos, NULL, NULL, &v)) {
            meta_table *t = (meta_table *)(uintptr_t)v;
            if (t->id != table_id) continue;
            for (uint32_t i = 0; i < t->ncols; i++)
                if (t->cols[i].id == col_id) codec = t->cols[i].codec;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return (uint8_t)codec_use_of((enum codec_id)codec);
}

int catalog_list_tables(catalog *c, const char *tenant, const char *db, arena *a, char ***names,
                        size_t *n, err *e) {
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = find_db(c, tenant, db);
    if (!d) {
        pthread_rwlock_unlock(&c->lock);
        return db_not_found(e, db);
    }
    size_t cnt = 0, pos = 0;
    uint64_t v;
    char **arr = arena_alloc(a, sizeof *arr * (hmap_count(d->tables) + 1));
    while (hmap_next(d->tables, &pos, NULL, NULL, &v))
        arr[cnt++] = arena_strdup(a, ((meta_table *)(uintptr_t)v)->name);
    pthread_rwlock_unlock(&c->lock);
    qsort(arr, cnt, sizeof *arr, cmp_str);
    *names = arr;
    *n = cnt;
    return 0;
}

/* Publishes t (already persisted) in place of any older version. Write lock held. */
static void publish(struct mdb *d, meta_table *t, const char *old_name) {
    uint64_t v;
    const char *key = old_name ? old_name : t->name;
    if (hmap_get(d->tables, key, strlen(key), &v)) {
        hmap_del(d->tables, key, strlen(key));
        meta_table_release((meta_table *)(uintptr_t)v);
    }
    hmap_put(d->tables, t->name, strlen(t->name), (uint64_t)(uintptr_t)t);
}

int catalog_create_table(catalog *c, const char *tenant, const char *db, const char *name,
                         const col_def *cols, size_t ncols, bool if_not_exists, err *e) {
    if (names_check(NAME_TABLE, name, strlen(name), 422, EC_META, e) < 0) return -1;
    for (size_t i = 0; i < ncols; i++)
        if (names_check(NAME_COLUMN, cols[i].name, cols[i].name_len, 422, EC_META, e) < 0)
            return -1;
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    struct mdb *d = find_db(c, tenant, db);
    if (!d) {
        rc = db_not_found(e, db);
    } else if (find_table(d, name, strlen(name))) {
        if (!if_not_exists) rc = err_set(e, 422, EC_TABLE_EXISTS, "Table %s already exists.", name);
    } else {
        meta_table *t = table_new(d, c->next_id++, name);
        table_add_col(t, 0, "time", 4, CK_TIME, VT_TS, CODEC_DEFAULT);
        t->cols[0].type = VT_TS;
        for (size_t i = 0; i < ncols; i++) {
            if (cols[i].kind == CK_TAG)
                table_add_col(t, t->next_col_id, cols[i].name, cols[i].name_len, CK_TAG, VT_STR,
                              CODEC_DEFAULT);
        }
        for (size_t i = 0; i < ncols; i++) {
            if (cols[i].kind == CK_FIELD)
                table_add_col(t, t->next_col_id, cols[i].name, cols[i].name_len, CK_FIELD,
                              cols[i].type, cols[i].codec);
        }
        table_index(t);
        rc = log_one(c, table_to_json(t), e);
        if (rc == 0)
            publish(d, t, NULL);
        else
            table_free(t);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_drop_table(catalog *c, const char *tenant, const char *db, const char *name,
                       bool if_exists, uint64_t *dropped_id, err *e) {
    *dropped_id = 0;
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    struct mdb *d = find_db(c, tenant, db);
    meta_table *t = d ? find_table(d, name, strlen(name)) : NULL;
    if (!d) {
        rc = db_not_found(e, db);
    } else if (!t) {
        if (!if_exists) rc = table_not_found(e, tenant, db, name);
    } else {
        rc = log_one(c,
                     json_pack("{s:s, s:I, s:I}", "t", "drop_table", "db_id", (json_int_t)d->id,
                               "id", (json_int_t)t->id),
                     e);
        if (!rc) {
            *dropped_id = t->id;
            hmap_del(d->tables, name, strlen(name));
            meta_table_release(t);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
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
    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    meta_table *nt = NULL;
    struct mdb *d = find_db(c, tenant, db);
    meta_table *t = d ? find_table(d, table, strlen(table)) : NULL;
    if (!d) {
        rc = db_not_found(e, db);
        goto out;
    }
    if (!t) {
        rc = table_not_found(e, tenant, db, table);
        goto out;
    }
    nt = table_clone(t);
    if (op == ALTER_ADD_COLUMN) {
        if (meta_table_col(t, col->name, col->name_len) >= 0) {
            rc = err_set(e, 422, EC_META, "column %.*s already exists in table %s",
                         (int)col->name_len, col->name, table);
            goto out;
        }
        table_add_col(nt, nt->next_col_id, col->name, col->name_len, col->kind,
                      col->kind == CK_TAG ? VT_STR : col->type, col->codec);
    } else {
        int idx = meta_table_col(t, name, strlen(name));
        if (idx < 0) {
            rc = err_set(e, 422, EC_META, "column %s not found in table %s", name, table);
            goto out;
        }
        meta_column *mc = &nt->cols[idx];
        if (op == ALTER_DROP_COLUMN) {
            if (mc->kind == CK_TIME) {
                rc = err_set(e, 422, EC_META, "Can't drop time column");
                goto out;
            }
            if (mc->kind == CK_TAG) {
                rc = err_set(e, 422, EC_META, "Can't drop tag column %s.", name);
                goto out;
            }
            uint32_t nfields = 0;
            for (uint32_t i = 0; i < nt->ncols; i++) nfields += nt->cols[i].kind == CK_FIELD;
            if (nfields <= 1) {
                rc = err_set(e, 422, EC_META, "There must be at least one field column");
                goto out;
            }
            free(mc->name);
            memmove(mc, mc + 1, sizeof *mc * (nt->ncols - (uint32_t)idx - 1));
            nt->ncols--;
        } else if (op == ALTER_SET_CODEC) {
            mc->codec = col->codec;
        } else if (op == ALTER_RENAME_COLUMN) {
            if (meta_table_col(t, new_name, strlen(new_name)) >= 0) {
                rc = err_set(e, 422, EC_META, "column %s already exists in table %s", new_name,
                             table);
                goto out;
            }
            free(mc->name);
            mc->name = xstrdup(new_name);
        }
    }
    table_index(nt);
    rc = log_one(c, table_to_json(nt), e);
    if (!rc) {
        publish(d, nt, NULL);
        nt = NULL;
    }
out:
    if (nt) table_free(nt);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

/* Checks cols against t; returns number of missing columns, or -1 with a conflict error. */
static int check_cols(const meta_table *t, const col_def *cols, size_t ncols, err *e) {
    int missing = 0;
    for (size_t i = 0; i < ncols; i++) {
        int idx = meta_table_col(t, cols[i].name, cols[i].name_len);
        if (idx < 0) {
            missing++;
            continue;
        }
        const meta_column *mc = &t->cols[idx];
        uint8_t want = cols[i].kind == CK_TAG ? VT_STR : cols[i].type;
        bool kind_ok = mc->kind == cols[i].kind;
        if (!kind_ok || mc->type != want) {
            const char *found = cols[i].kind == CK_TAG ? "TAG" : vtype_short_name(cols[i].type);
            const char *expected = mc->kind == CK_TAG    ? "TAG"
                                   : mc->kind == CK_TIME ? "TimestampNanosecond"
                                                         : vtype_short_name(mc->type);
            if (cols[i].line)
                return err_set(e, 422, EC_WRITE,
                               "Apply engine failed: DataSchemaError: Column '%.*s' type error, "
                               "found %s expected %s (table '%s', line %u)",
                               (int)cols[i].name_len, cols[i].name, found, expected, t->name,
                               cols[i].line);
            return err_set(e, 422, EC_WRITE,
                           "Apply engine failed: DataSchemaError: Column '%.*s' type error, "
                           "found %s expected %s (table '%s')",
                           (int)cols[i].name_len, cols[i].name, found, expected, t->name);
        }
    }
    return missing;
}

static int cmp_coldef(const void *a, const void *b) {
    const col_def *x = *(const col_def *const *)a, *y = *(const col_def *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int r = memcmp(x->name, y->name, n);
    return r ? r : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

int catalog_ensure_columns(catalog *c, const char *tenant, const char *db, const char *name,
                           size_t name_len, const col_def *cols, size_t ncols, meta_table **out,
                           err *e) {
    if (names_check(NAME_TABLE, name, name_len, 422, EC_WRITE, e) < 0) return -1;
    for (size_t i = 0; i < ncols; i++)
        if (names_check(NAME_COLUMN, cols[i].name, cols[i].name_len, 422, EC_WRITE, e) < 0)
            return -1;
    /* Fast path: the table exists with every column (nearly every write). */
    pthread_rwlock_rdlock(&c->lock);
    struct mdb *d = find_db(c, tenant, db);
    if (!d) {
        pthread_rwlock_unlock(&c->lock);
        return db_not_found(e, db);
    }
    meta_table *t = find_table(d, name, name_len);
    if (t) {
        int m = check_cols(t, cols, ncols, e);
        if (m <= 0) {
            if (m == 0) meta_table_retain(t);
            pthread_rwlock_unlock(&c->lock);
            if (m < 0) return -1;
            *out = t;
            return 0;
        }
    }
    pthread_rwlock_unlock(&c->lock);

    pthread_rwlock_wrlock(&c->lock);
    int rc = 0;
    meta_table *nt = NULL;
    d = find_db(c, tenant, db);
    if (!d) {
        rc = db_not_found(e, db);
        goto out;
    }
    t = find_table(d, name, name_len);
    if (t && (rc = check_cols(t, cols, ncols, e)) <= 0) {
        if (rc == 0) {
            meta_table_retain(t);
            *out = t;
        }
        goto out;
    }
    rc = 0;
    char *tname = xstrndup(name, name_len);
    nt = t ? table_clone(t) : table_new(d, c->next_id++, tname);
    free(tname);
    if (!t) table_add_col(nt, 0, "time", 4, CK_TIME, VT_TS, CODEC_DEFAULT);
    /* New columns: tags sorted by name, then fields sorted by name, as CnosDB does. */
    const col_def **add = xmalloc(sizeof *add * (ncols ? ncols : 1));
    for (int pass = 0; pass < 2; pass++) {
        uint8_t kind = pass == 0 ? CK_TAG : CK_FIELD;
        size_t na = 0;
        for (size_t i = 0; i < ncols; i++)
            if (cols[i].kind == kind && meta_table_col(nt, cols[i].name, cols[i].name_len) < 0) {
                bool dup = false;
                for (size_t k = 0; k < na; k++)
                    dup |= add[k]->name_len == cols[i].name_len &&
                           !memcmp(add[k]->name, cols[i].name, cols[i].name_len);
                if (!dup) add[na++] = &cols[i];
            }
        qsort(add, na, sizeof *add, cmp_coldef);
        for (size_t i = 0; i < na; i++)
            table_add_col(nt, nt->next_col_id, add[i]->name, add[i]->name_len, kind,
                          kind == CK_TAG ? VT_STR : add[i]->type, CODEC_DEFAULT);
    }
    free(add);
    table_index(nt);
    rc = log_one(c, table_to_json(nt), e);
    if (!rc) {
        publish(d, nt, NULL);
        meta_table_retain(nt);
        *out = nt;
        nt = NULL;
    }
out:
    if (nt) table_free(nt);
    pthread_rwlock_unlock(&c->lock);
    return rc < 0 ? -1 : 0;
}
