/* The catalog's private header: its structures, shared by catalog.c (the API: lookups, DDL, the
 * write path's schema step) and catalog_log.c (the log: records, replay, rewrite).
 *
 * Locks, in the order they are taken:
 *   1. c->ddl_mu  one schema change at a time (DDL and the write path's additions), held while
 *                 it is computed, appended to the log and fsynced, and published. Only its
 *                 holder changes the maps below, so it may read them without c->lock.
 *   2. c->lock    a rwlock over the maps (databases, tables, users, tenants): readers hold it
 *                 for one lookup; the schema writer holds it for writing only to publish, in
 *                 slices of PUBLISH_SLICE tables, never across I/O.
 * Table versions (meta_table) are immutable once published and reference counted, so a reader
 * keeps using its version after dropping c->lock; columns appended later go into a shared
 * colset past the version's ncols (see colset.h). A helper whose name ends in `_locked` needs
 * c->ddl_mu. */
#ifndef STRATA_META_CATALOG_INT_H
#define STRATA_META_CATALOG_INT_H

#include "meta/catalog.h"
#include "meta/colset.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/hmap.h"

#include <jansson.h>
#include <pthread.h>

/* Tables published per hold of the write lock, so readers wait at most one slice. */
#define PUBLISH_SLICE 256

struct mdb {
    uint64_t id;
    char *tenant;
    char *name;
    db_options opts;
    hmap *tables; /* name → meta_table* (the current version) */
    hmap *by_id;  /* table id (8 bytes) → the same meta_table* */
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
    owned_mutex ddl_mu;
    char *dir;
    int logfd;
    uint64_t log_size; /* bytes of whole records in the log (ddl_mu) */
    bool log_broken;   /* an fsync failed: nothing more is appended until restart (ddl_mu) */
    uint64_t next_id;  /* ddl_mu */
    hmap *dbs;         /* "tenant\0name" → struct mdb* */
    hmap *dbs_by_id;   /* id (8 bytes) → struct mdb* */
    struct user *users;
    size_t nusers;
    struct tenant *tenants;
    size_t ntenants;
};

/* ---- catalog.c: objects and maps (maps change only under ddl_mu, or at open) */
struct mdb *cat_find_db(catalog *c, const char *tenant, const char *name);
struct mdb *cat_find_db_id(catalog *c, uint64_t id);
meta_table *cat_find_table_id(struct mdb *d, uint64_t id);
struct mdb *cat_db_new(catalog *c, uint64_t id, const char *tenant, const char *name,
                       const db_options *o);
void cat_db_remove(catalog *c, struct mdb *d);
void cat_user_set(catalog *c, const char *name, const char *pw, const char *comment, bool admin,
                  bool must_change);
void cat_tenant_set(catalog *c, uint64_t id, const char *name, const char *comment);
void cat_bump_id(catalog *c, uint64_t id);
/* A table version with no columns over colset cs (a reference is taken). */
meta_table *cat_table_shell(const struct mdb *d, uint64_t id, const char *name, size_t len,
                            colset *cs);
/* The next version of t: shares its colset, ready for cat_table_append. t must be the newest
 * version of its colset. */
meta_table *cat_table_next(const meta_table *t);
void cat_table_append(meta_table *t, uint32_t id, const char *name, size_t len, uint8_t kind,
                      uint8_t type, uint8_t codec);
void cat_table_free(meta_table *t);
/* Makes t the current version of its table (by name and id), releasing the one it replaces. */
void cat_publish(struct mdb *d, meta_table *t);
void cat_unpublish(struct mdb *d, meta_table *t);

/* ---- catalog_log.c */
/* One log record `<crc32 as 8 hex> <json>\n` per call, appended to out; j is consumed. */
void cat_line(json_t *j, buf *out);
json_t *cat_db_json(const struct mdb *d);
json_t *cat_table_json(const meta_table *t);
/* A "cols" record: columns [from, t->ncols) of t appended to its table. */
json_t *cat_cols_json(const meta_table *t, uint32_t from);
/* Appends lines to the log and fsyncs. Caller holds ddl_mu and not lock, so readers go on. */
int cat_log_append_locked(catalog *c, const buf *lines, err *e);
/* Replays `<dir>/catalog.log` into c (*fresh: there was none). *rewrite tells whether the log
 * should be rewritten: new, torn at the end, or mostly superseded records. */
int cat_log_replay(catalog *c, bool *fresh, bool *rewrite, err *e);
/* Opens the log for appending, after rewriting it compactly from memory if rewrite. */
int cat_log_open(catalog *c, bool rewrite, err *e);

#endif
