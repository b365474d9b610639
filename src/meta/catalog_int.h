/* The catalog's private header: its structures, shared by catalog.c (the API: lookups, DDL, the
 * write path's schema step) and catalog_log.c (the log: records, replay, rewrite).
 *
 * Locks, in the order they are taken:
 *   1. c->ddl     the schema lock: one schema change at a time (DDL and the write path's
 *                 additions), held while it is computed, appended to the log and fsynced, and
 *                 published. Only its holder changes the maps below, so it may read them
 *                 without c->lock. Small changes go first and a large request lets them in
 *                 between its slices (struct schema_lock), so a small schema change waits for
 *                 one slice of another at most.
 *   2. c->lock    a rwlock over the maps (databases, tables, users, tenants): readers hold it
 *                 for one lookup; the schema writer holds it for writing only to publish, in
 *                 slices of PUBLISH_SLICE tables, never across I/O.
 * Table versions (meta_table) are immutable once published and reference counted, so a reader
 * keeps using its version after dropping c->lock; columns appended later go into a shared
 * colset past the version's ncols (see colset.h). A helper whose name ends in `_locked` needs
 * c->ddl. */
#ifndef STRATA_META_CATALOG_INT_H
#define STRATA_META_CATALOG_INT_H

#include "meta/catalog.h"
#include "meta/colset.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/hmap.h"

#include <jansson.h>
#include <pthread.h>
#include <string.h>

/* Tables published per hold of the write lock, so readers wait at most one slice. */
#define PUBLISH_SLICE 256
/* A slice of the write path's schema changes: a request with more tables or columns is large,
 * and after each slice lets a waiting small change in (it commits what it has and queues
 * again), so that one waits a few milliseconds, not for the whole request. */
#define SCHEMA_SLICE 256
#define SCHEMA_SLICE_COLS 16384
/* Slices per commit at most (a commit is one log append and fsync). */
#define SCHEMA_COMMIT 4

/* The schema lock. Two queues, each first come, first served: small changes (DDL, and write
 * requests that fit in one slice) go before the slices of large requests, and a large request
 * lets waiting small ones in between its slices. So a one-line write that creates a table
 * waits for one slice at most, however many large requests are queued (a plain mutex let a
 * request that unlocks and locks again between slices starve it; one FIFO made it wait for a
 * slice of every large request ahead). */
struct schema_lock {
    pthread_mutex_t mu;
    pthread_cond_t turn;
    uint64_t small_next, small_serving; /* tickets of small changes: handed out, served */
    uint64_t big_next, big_serving;     /* tickets of large ones */
    bool held, held_small;
#ifdef STRATA_CHECKS
    uintptr_t owner; /* omutex_self() of the holder, 0 when free */
#endif
};

static inline void schema_lock_init(struct schema_lock *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->turn, NULL);
}

static inline void schema_lock_destroy(struct schema_lock *l) {
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->turn);
}

static inline void schema_lock(struct schema_lock *l, bool small) {
    pthread_mutex_lock(&l->mu);
    if (small) {
        uint64_t me = l->small_next++;
        while (l->held || l->small_serving != me) pthread_cond_wait(&l->turn, &l->mu);
    } else {
        uint64_t me = l->big_next++;
        while (l->held || l->big_serving != me || l->small_serving != l->small_next)
            pthread_cond_wait(&l->turn, &l->mu);
    }
    l->held = true;
    l->held_small = small;
#ifdef STRATA_CHECKS
    l->owner = omutex_self();
#endif
    pthread_mutex_unlock(&l->mu);
}

static inline void schema_unlock(struct schema_lock *l) {
    pthread_mutex_lock(&l->mu);
#ifdef STRATA_CHECKS
    STRATA_ASSERT(l->held && l->owner == omutex_self());
    l->owner = 0;
#endif
    l->held = false;
    if (l->held_small)
        l->small_serving++;
    else
        l->big_serving++;
    pthread_cond_broadcast(&l->turn);
    pthread_mutex_unlock(&l->mu);
}

/* Whether the calling thread holds l (always true in the release build). */
static inline bool schema_held(struct schema_lock *l) {
#ifdef STRATA_CHECKS
    pthread_mutex_lock(&l->mu);
    bool held = l->held && l->owner == omutex_self();
    pthread_mutex_unlock(&l->mu);
    return held;
#else
    (void)l;
    return true;
#endif
}

/* Whether a small change waits (asked by a large one's holder, to let it in between slices). */
static inline bool schema_small_waiting(struct schema_lock *l) {
    pthread_mutex_lock(&l->mu);
    bool waiting = l->small_next - l->small_serving > (l->held_small ? 1u : 0u);
    pthread_mutex_unlock(&l->mu);
    return waiting;
}

struct mdb {
    uint64_t id;
    char *tenant;
    char *name;
    db_options opts;
    /* DROP DATABASE ... AFTER: the wall-clock time (ns) it is really dropped; until then it is
     * hidden from everything but RECOVER DATABASE and the storage (0 = live). */
    int64_t drop_at;
    hmap *tables; /* name → meta_table* (the current version) */
    hmap *by_id;  /* table id (8 bytes) → the same meta_table* */
};

/* Users, tenants, roles: see catalog_access.c. A user is global; it reaches a tenant as a member
 * holding a role: a system role ("owner", "member") or one of the tenant's custom roles. */
struct user {
    uint64_t id;
    char *name;
    char *hash;           /* passwd.h's Argon2id string; never the password */
    char *comment;        /* NULL: never set (CnosDB lists only the options that were set) */
    char *rsa_key;        /* RSA_PUBLIC_KEY, NULL: none */
    int8_t must_change;   /* MUST_CHANGE_PASSWORD: -1 never set, else 0/1 */
    int8_t granted_admin; /* GRANTED_ADMIN: -1 never set, else 0/1 */
    /* the keyed digest of the last password that verified (under c->mac_mu) */
    bool mac_ok;
    unsigned char mac[32];
};

enum role_inherit { ROLE_NONE = 0, ROLE_OWNER, ROLE_MEMBER };

struct grant {
    char *db;
    uint8_t priv; /* enum cat_priv */
};

struct role {
    char *name;
    uint8_t inherit; /* enum role_inherit */
    struct grant *grants;
    size_t ngrants;
};

struct member {
    uint64_t user_id;
    char *role; /* "owner", "member" or a custom role's name */
};

struct tenant {
    uint64_t id;
    char *name;
    char *comment;    /* NULL: not set */
    char *drop_after; /* the DROP_AFTER option as written, NULL: not set */
    char *limiter;    /* the limiter options as JSON text, NULL: not set */
    int64_t drop_at;  /* DROP TENANT ... AFTER: when it is really dropped; 0 = live */
    struct member *members;
    size_t nmembers;
    struct role *roles;
    size_t nroles;
};

struct catalog {
    pthread_rwlock_t lock;
    struct schema_lock ddl;
    char *dir;
    int logfd;
    uint64_t log_size; /* bytes of whole records in the log (ddl) */
    bool log_broken;   /* an fsync failed: nothing more is appended until restart (ddl) */
    uint64_t next_id;  /* ddl */
    hmap *dbs;         /* "tenant\0name" → struct mdb* */
    hmap *dbs_by_id;   /* id (8 bytes) → struct mdb* */
    struct user *users;
    size_t nusers;
    struct tenant *tenants;
    size_t ntenants;
    pthread_mutex_t mac_mu; /* the users' verified-password digests */
    uint64_t access_gen;    /* atomic: bumped by every user or tenant change */
    int limited;            /* atomic: tenants that have limits (the request path skips none) */
};

/* ---- catalog.c: objects and maps (maps change only under ddl, or at open) */
/* A live database by name (a hidden one is not found). */
struct mdb *cat_find_db(catalog *c, const char *tenant, const char *name);
/* Live or hidden (a delayed drop pending). */
struct mdb *cat_find_db_any(catalog *c, const char *tenant, const char *name);
struct mdb *cat_find_db_id(catalog *c, uint64_t id);
meta_table *cat_find_table_id(struct mdb *d, uint64_t id);
struct mdb *cat_db_new(catalog *c, uint64_t id, const char *tenant, const char *name,
                       const db_options *o);
void cat_db_remove(catalog *c, struct mdb *d);
void cat_bump_id(catalog *c, uint64_t id);
/* Drops d now (logs it); under ddl. */
int cat_drop_db_locked(catalog *c, struct mdb *d, err *e);

/* ---- catalog_access.c: users, tenants, roles (maps change under ddl + lock) */
struct user *cat_find_user(catalog *c, const char *name);
/* A tenant by name; a hidden one (delayed drop pending) only with any. */
struct tenant *cat_find_tenant(catalog *c, const char *name, bool any);
/* The defaults of a new catalog: root and the tenant cnosdb. */
void cat_access_defaults(catalog *c);
void cat_access_free(catalog *c);
/* Records: "user", "drop_user", "tenant", "drop_tenant" (replay applies them; the API applies
 * the same records after logging them, so replay and live changes cannot differ). */
json_t *cat_user_json(const struct user *u);
json_t *cat_tenant_json(const struct tenant *t);
int cat_apply_user(catalog *c, json_t *j, bool *rewrite);
int cat_apply_tenant(catalog *c, json_t *j);
int cat_apply_drop_user(catalog *c, json_t *j);
int cat_apply_drop_tenant(catalog *c, json_t *j);
/* The tenant's object limits (object_config) for a database created (create) or altered to o:
 * 0, or -1 with a 422 naming the limit. Under ddl. */
int cat_check_db_limits_locked(catalog *c, const char *tenant, const db_options *o, bool create,
                               err *e);
/* A tenant whose delayed drop is due: drops one of its databases (*dropped_id) or, when none is
 * left, the tenant itself. Returns 1 if it did something. Under ddl. */
int cat_take_due_tenant_locked(catalog *c, int64_t now_ns, uint64_t *dropped_id, err *e);
/* A table version with no columns over colset cs (a reference is taken). */
meta_table *cat_table_shell(const struct mdb *d, uint64_t id, const char *name, size_t len,
                            colset *cs);
/* The next version of t: shares its colset, ready for cat_table_append. t must be the newest
 * version of its colset. */
meta_table *cat_table_next(const meta_table *t);
void cat_table_append(meta_table *t, uint32_t id, const char *name, size_t len, uint8_t kind,
                      uint8_t type, uint8_t codec, uint8_t geo);
void cat_table_free(meta_table *t);
/* Makes t the current version of its table (by name and id), releasing the one it replaces. */
void cat_publish(struct mdb *d, meta_table *t);
void cat_unpublish(struct mdb *d, meta_table *t);

/* ---- catalog_log.c */
/* One log record `<crc32 as 8 hex> <json>\n` per call, appended to out; j is consumed. */
void cat_line(json_t *j, buf *out);
json_t *cat_db_json(const struct mdb *d);
/* A "table" record: t's full state. */
void cat_table_line(const meta_table *t, buf *out);
/* A "cols" record: columns [from, t->ncols) of t appended to its table. */
void cat_cols_line(const meta_table *t, uint32_t from, buf *out);
/* The pieces of a record written by hand: begin (returns its start), the head
 * `{"t":type,"id":id,"db_id":db_id`, what follows, then end (checksum and newline). */
size_t cat_record_begin(buf *out);
void cat_record_head(buf *out, const char *type, uint64_t id, uint64_t db_id);
/* A column `[id,name,kind,type,codec]`, with a sixth element, the geometry sub_type, only for a
 * GEOMETRY field (so logs without one read as before). */
void cat_record_col(buf *out, bool first, uint32_t id, const char *name, size_t len, uint8_t kind,
                    uint8_t type, uint8_t codec, uint8_t geo);
void cat_record_end(buf *out, size_t start);
/* Appends lines to the log and fsyncs. Caller holds ddl and not lock, so readers go on. */
int cat_log_append_locked(catalog *c, const buf *lines, err *e);
/* Replays `<dir>/catalog.log` into c (*fresh: there was none). *rewrite tells whether the log
 * should be rewritten: new, torn at the end, or mostly superseded records. */
int cat_log_replay(catalog *c, bool *fresh, bool *rewrite, err *e);
/* Opens the log for appending, after rewriting it compactly from memory if rewrite. */
int cat_log_open(catalog *c, bool rewrite, err *e);

#endif
