/* The catalog's log: `<dir>/catalog.log`, one record per line, `<crc32 as 8 hex> <json>\n`.
 *
 * Records (field "t"): "seq" (next id), "user" and "tenant" (the whole object as it becomes:
 * a tenant with its roles and members, see catalog_access.c), "drop_user", "drop_tenant",
 * "db" (a database's full state, a
 * pending delayed drop included),
 * "drop_db", "table" (a table's full state: created, or changed other than by adding columns),
 * "cols" (columns appended to a table: the write path's additions and ADD COLUMN, so widening a
 * table logs only what is new), "drop_table". Replay applies them in order; the last record
 * about an object wins.
 *
 * A schema change is appended as one write of all its records and one fdatasync, made by the
 * holder of the schema lock without the read-write lock (see catalog_int.h). A failed write is
 * cut off again (ftruncate), so the log always ends with a whole record; a failed fsync leaves
 * the log's state unknown, so no more records are appended until restart.
 *
 * At open the log is replayed; a torn last line is cut, anything else that does not check is
 * refused. The log is rewritten compactly (temporary file, fsync, rename) only when it needs it:
 * new, torn, or with more superseded records than live objects; otherwise start-up costs one
 * read of the log. */
#include "meta/catalog_int.h"

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ records */

json_t *cat_db_json(const struct mdb *d) {
    const db_options *o = &d->opts;
    return json_pack(
        "{s:s, s:I, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:b, "
        "s:b, s:I}}",
        "t", "db", "id", (json_int_t)d->id, "tenant", d->tenant, "name", d->name, "drop_at",
        (json_int_t)d->drop_at, "opts", "ttl", (json_int_t)o->ttl_ns, "shard", (json_int_t)o->shard,
        "vnode_duration", (json_int_t)o->vnode_duration_ns, "replica", (json_int_t)o->replica,
        "precision", (int)o->precision, "max_memcache_size", (json_int_t)o->max_memcache_size,
        "memcache_partitions", (json_int_t)o->memcache_partitions, "wal_max_file_size",
        (json_int_t)o->wal_max_file_size, "wal_sync", o->wal_sync, "strict_write", o->strict_write,
        "max_cache_readers", (json_int_t)o->max_cache_readers);
}

/* Table records are written by hand rather than through jansson: creating 100k tables spent
 * a third of its time building and dumping jansson objects (some 30 allocations a table). They
 * read back with the same parser as every other record. */

static void put_uint(buf *b, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_reserve(b, n);
    while (n) b->p[b->len++] = tmp[--n];
}

/* A name as a JSON string. Names are UTF-8 without control characters (util/names.h), so only
 * a quote or a backslash needs an escape; a name with one goes through jansson. */
static void put_name(buf *b, const char *p, size_t n) {
    if (!memchr(p, '"', n) && !memchr(p, '\\', n)) {
        buf_reserve(b, n + 2);
        buf_putc(b, '"');
        buf_append(b, p, n);
        buf_putc(b, '"');
        return;
    }
    json_t *j = json_stringn(p, n);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    STRATA_ASSERT(t != NULL); /* only invalid UTF-8 fails, which names_check refuses */
    buf_puts(b, t ? t : "\"\"");
    free(t);
    json_decref(j);
}

size_t cat_record_begin(buf *out) {
    size_t start = out->len;
    buf_append(out, "00000000 ", 9);
    return start;
}

void cat_record_end(buf *out, size_t start) {
    const char *json = out->p + start + 9;
    uLong crc = crc32(0, (const Bytef *)json, (uInt)(out->len - start - 9));
    char hdr[16];
    snprintf(hdr, sizeof hdr, "%08lx", crc);
    memcpy(out->p + start, hdr, 8);
    buf_putc(out, '\n');
}

void cat_record_head(buf *out, const char *type, uint64_t id, uint64_t db_id) {
    buf_puts(out, "{\"t\":\"");
    buf_puts(out, type);
    buf_puts(out, "\",\"id\":");
    put_uint(out, id);
    buf_puts(out, ",\"db_id\":");
    put_uint(out, db_id);
}

void cat_record_col(buf *out, bool first, uint32_t id, const char *name, size_t len, uint8_t kind,
                    uint8_t type, uint8_t codec, uint8_t geo) {
    buf_puts(out, first ? "[" : ",[");
    put_uint(out, id);
    buf_putc(out, ',');
    put_name(out, name, len);
    buf_putc(out, ',');
    put_uint(out, kind);
    buf_putc(out, ',');
    put_uint(out, type);
    buf_putc(out, ',');
    put_uint(out, codec);
    if (geo) {
        buf_putc(out, ',');
        put_uint(out, geo);
    }
    buf_putc(out, ']');
}

static void put_cols(buf *out, const meta_table *t, uint32_t from) {
    buf_puts(out, ",\"cols\":[");
    for (uint32_t i = from; i < t->ncols; i++) {
        const meta_column *c = &t->cols[i];
        cat_record_col(out, i == from, c->id, c->name, strlen(c->name), c->kind, c->type, c->codec,
                       c->geo);
    }
    buf_puts(out, "]}");
}

void cat_table_line(const meta_table *t, buf *out) {
    size_t start = cat_record_begin(out);
    cat_record_head(out, "table", t->id, t->db_id);
    buf_puts(out, ",\"name\":");
    put_name(out, t->name, strlen(t->name));
    buf_puts(out, ",\"next_col\":");
    put_uint(out, t->next_col_id);
    if (t->ext) {
        buf_puts(out, ",\"ext\":");
        put_name(out, t->ext, strlen(t->ext));
    }
    put_cols(out, t, 0);
    cat_record_end(out, start);
}

void cat_cols_line(const meta_table *t, uint32_t from, buf *out) {
    size_t start = cat_record_begin(out);
    cat_record_head(out, "cols", t->id, t->db_id);
    put_cols(out, t, from);
    cat_record_end(out, start);
}

void cat_line(json_t *j, buf *out) {
    char *s = json_dumps(j, JSON_COMPACT);
    size_t start = cat_record_begin(out);
    buf_puts(out, s);
    cat_record_end(out, start);
    free(s);
    json_decref(j);
}

/* ------------------------------------------------------------------ appending */

int cat_log_append_locked(catalog *c, const buf *lines, err *e) {
    STRATA_ASSERT(schema_held(&c->ddl));
    if (c->log_broken)
        return err_set(e, 500, EC_META,
                       "catalog: %s/catalog.log could not be synced earlier; restart the server",
                       c->dir);
    if (!lines->len) return 0;
    if (fs_write_all(c->logfd, lines->p, lines->len) < 0) {
        int er = errno;
        /* Cut the part that made it, so the log still ends with a whole record. */
        if (ftruncate(c->logfd, (off_t)c->log_size) < 0) c->log_broken = true;
        return err_set(e, 500, EC_META, "catalog: cannot write %s/catalog.log: %s", c->dir,
                       strerror(er));
    }
    if (fdatasync(c->logfd) < 0) {
        c->log_broken = true;
        return err_set(e, 500, EC_META, "catalog: cannot sync %s/catalog.log: %s", c->dir,
                       strerror(errno));
    }
    c->log_size += lines->len;
    return 0;
}

/* ------------------------------------------------------------------ replay */

static int replay_db(catalog *c, json_t *j) {
    json_t *o = json_object_get(j, "opts");
    const char *tenant = json_string_value(json_object_get(j, "tenant"));
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!o || !tenant || !name) return -1;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
    db_options p;
    db_options_default(&p);
    p.ttl_ns = json_integer_value(json_object_get(o, "ttl"));
    p.shard = (uint64_t)json_integer_value(json_object_get(o, "shard"));
    p.vnode_duration_ns = json_integer_value(json_object_get(o, "vnode_duration"));
    p.replica = (uint64_t)json_integer_value(json_object_get(o, "replica"));
    p.precision = (uint8_t)json_integer_value(json_object_get(o, "precision"));
    p.max_memcache_size = (uint64_t)json_integer_value(json_object_get(o, "max_memcache_size"));
    p.memcache_partitions = (uint64_t)json_integer_value(json_object_get(o, "memcache_partitions"));
    p.wal_max_file_size = (uint64_t)json_integer_value(json_object_get(o, "wal_max_file_size"));
    p.wal_sync = json_is_true(json_object_get(o, "wal_sync"));
    p.strict_write = json_is_true(json_object_get(o, "strict_write"));
    p.max_cache_readers = (uint64_t)json_integer_value(json_object_get(o, "max_cache_readers"));
    struct mdb *d = cat_find_db_any(c, tenant, name);
    if (d && d->id != id) {
        /* The same name under another id: the older database is gone. */
        cat_db_remove(c, d);
        d = NULL;
    }
    if (!d) d = cat_db_new(c, id, tenant, name, &p);
    d->opts = p;
    d->drop_at = json_integer_value(json_object_get(j, "drop_at")); /* absent (older logs): 0 */
    cat_bump_id(c, id);
    return 0;
}

/* Appends the columns of a JSON array to t (skipping names t already has). */
static int replay_cols(meta_table *t, json_t *cols) {
    size_t i;
    json_t *cj;
    json_array_foreach(cols, i, cj) {
        const char *cn = json_string_value(json_array_get(cj, 1));
        if (!cn) return -1;
        if (meta_table_col(t, cn, strlen(cn)) >= 0) continue;
        cat_table_append(t, (uint32_t)json_integer_value(json_array_get(cj, 0)), cn, strlen(cn),
                         (uint8_t)json_integer_value(json_array_get(cj, 2)),
                         (uint8_t)json_integer_value(json_array_get(cj, 3)),
                         (uint8_t)json_integer_value(json_array_get(cj, 4)),
                         (uint8_t)json_integer_value(json_array_get(cj, 5))); /* absent: 0 */
    }
    return 0;
}

static int replay_table(catalog *c, json_t *j) {
    struct mdb *d = cat_find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "db_id")));
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *cols = json_object_get(j, "cols");
    if (!name || !json_is_array(cols)) return -1;
    if (!d) return 0; /* its database was dropped later in the log */
    uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
    cat_bump_id(c, id);
    colset *cs = colset_new((uint32_t)json_array_size(cols));
    meta_table *t = cat_table_shell(d, id, name, strlen(name), cs);
    colset_release(cs);
    if (replay_cols(t, cols) < 0) {
        cat_table_free(t);
        return -1;
    }
    uint32_t nc = (uint32_t)json_integer_value(json_object_get(j, "next_col"));
    if (nc > t->next_col_id) t->next_col_id = nc;
    const char *ext = json_string_value(json_object_get(j, "ext"));
    if (ext) t->ext = xstrdup(ext);
    cat_publish(d, t);
    return 0;
}

static int replay_add_cols(catalog *c, json_t *j) {
    struct mdb *d = cat_find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "db_id")));
    json_t *cols = json_object_get(j, "cols");
    if (!json_is_array(cols)) return -1;
    meta_table *t =
        d ? cat_find_table_id(d, (uint64_t)json_integer_value(json_object_get(j, "id"))) : NULL;
    if (!t) return 0; /* dropped later in the log */
    meta_table *nt = cat_table_next(t);
    if (replay_cols(nt, cols) < 0) {
        cat_table_free(nt);
        return -1;
    }
    cat_publish(d, nt);
    return 0;
}

static int replay_record(catalog *c, json_t *j, bool *rewrite) {
    const char *t = json_string_value(json_object_get(j, "t"));
    if (!t) return -1;
    if (!strcmp(t, "seq")) {
        cat_bump_id(c, (uint64_t)json_integer_value(json_object_get(j, "next_id")) - 1);
    } else if (!strcmp(t, "user")) {
        return cat_apply_user(c, j, rewrite);
    } else if (!strcmp(t, "drop_user")) {
        return cat_apply_drop_user(c, j);
    } else if (!strcmp(t, "tenant")) {
        return cat_apply_tenant(c, j);
    } else if (!strcmp(t, "drop_tenant")) {
        return cat_apply_drop_tenant(c, j);
    } else if (!strcmp(t, "db")) {
        return replay_db(c, j);
    } else if (!strcmp(t, "drop_db")) {
        struct mdb *d = cat_find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "id")));
        if (d) cat_db_remove(c, d);
    } else if (!strcmp(t, "table")) {
        return replay_table(c, j);
    } else if (!strcmp(t, "cols")) {
        return replay_add_cols(c, j);
    } else if (!strcmp(t, "drop_table")) {
        struct mdb *d =
            cat_find_db_id(c, (uint64_t)json_integer_value(json_object_get(j, "db_id")));
        meta_table *old =
            d ? cat_find_table_id(d, (uint64_t)json_integer_value(json_object_get(j, "id"))) : NULL;
        if (old) cat_unpublish(d, old);
    } else {
        log_warn("catalog: unknown record type '%s' ignored", t);
    }
    return 0;
}

/* Live objects, to compare with the records replayed. */
static size_t live_objects(catalog *c) {
    size_t n = 1 + c->nusers + c->ntenants + hmap_count(c->dbs), pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v))
        n += hmap_count(((struct mdb *)(uintptr_t)v)->tables);
    return n;
}

int cat_log_replay(catalog *c, bool *fresh, bool *rewrite, err *e) {
    char path[1100];
    snprintf(path, sizeof path, "%s/catalog.log", c->dir);
    *fresh = false;
    *rewrite = false;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            return err_set(e, 500, EC_META, "catalog: cannot open %s: %s", path, strerror(errno));
        *fresh = *rewrite = true;
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;
    int rc = 0;
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
                log_warn("catalog: cut a torn last record at %s:%zu", path, lineno);
                *rewrite = true;
                break;
            }
            rc = err_set(e, 500, EC_META, "catalog: corrupt record at %s:%zu", path, lineno);
            break;
        }
        if (replay_record(c, j, rewrite) < 0)
            rc = err_set(e, 500, EC_META, "catalog: malformed record at %s:%zu", path, lineno);
        json_decref(j);
        if (rc) break;
    }
    free(line);
    fclose(f);
    if (!rc && lineno > 2 * live_objects(c) + 64) *rewrite = true;
    return rc;
}

/* ------------------------------------------------------------------ opening for appends */

static int log_rewrite(catalog *c, const char *path, err *e) {
    buf b;
    buf_init(&b);
    cat_line(json_pack("{s:s, s:I}", "t", "seq", "next_id", (json_int_t)c->next_id), &b);
    for (size_t i = 0; i < c->nusers; i++) cat_line(cat_user_json(&c->users[i]), &b);
    for (size_t i = 0; i < c->ntenants; i++) cat_line(cat_tenant_json(&c->tenants[i]), &b);
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        struct mdb *d = (struct mdb *)(uintptr_t)v;
        cat_line(cat_db_json(d), &b);
        size_t tp = 0;
        uint64_t tv;
        while (hmap_next(d->tables, &tp, NULL, NULL, &tv))
            cat_table_line((meta_table *)(uintptr_t)tv, &b);
    }
    const void *parts[] = {b.p ? b.p : ""};
    size_t lens[] = {b.len};
    int rc = fs_write_atomic(path, parts, lens, 1, e);
    buf_free(&b);
    return rc;
}

int cat_log_open(catalog *c, bool rewrite, err *e) {
    char path[1100];
    snprintf(path, sizeof path, "%s/catalog.log", c->dir);
    if (rewrite && log_rewrite(c, path, e) < 0) return -1;
    if (c->logfd >= 0) close(c->logfd);
    c->logfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    struct stat st;
    if (c->logfd < 0 || fstat(c->logfd, &st) < 0)
        return err_set(e, 500, EC_META, "catalog: cannot open %s: %s", path, strerror(errno));
    c->log_size = (uint64_t)st.st_size;
    return 0;
}
