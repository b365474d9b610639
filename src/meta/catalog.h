/* The catalog: tenants, users, databases and their options, tables and their columns.
 *
 * Ownership and threads: the catalog owns everything in it. Readers (every request) take a
 * short read lock inside these functions, for one lookup; schema changes (DDL, and the write
 * path adding tables and columns) run one at a time and take the write lock only to publish
 * what they made, never across I/O, so a reader waits at most for the publication of a few
 * hundred tables. Tables are handed out as immutable, reference-counted versions (meta_table):
 * a schema change publishes a new version and readers keep whichever version they took until
 * they release it, so planning and writing never see a table change under them.
 *
 * Costs: finding a database or table (by name or id) is O(1); creating a table or adding a
 * column is amortised O(1) plus the log append (a version that only adds columns shares the
 * columns of the one before, see colset.h); opening replays the log once.
 *
 * Durability: every change is appended to `<dir>/catalog.log` (checksummed JSON lines) and
 * fsynced before the call returns, and before it is visible to anyone; a schema change makes
 * one append and one fsync however many columns it adds (the write path: per 1024 new
 * tables). At open the log is
 * replayed and a torn last line cut (see catalog_log.c). Ids (databases, tables, columns) are
 * never reused, so storage can key data by id and a dropped-then-recreated name starts empty.
 *
 * Errors use CnosDB's codes and wording, e.g. 030017 `Database not found: "db1"`, 030018
 * `Database "db1" already exists`, 030019 `Table not found: "cnosdb.public.air"`. */
#ifndef STRATA_META_CATALOG_H
#define STRATA_META_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"

typedef struct catalog catalog;

enum col_kind { CK_TIME = 0, CK_TAG = 1, CK_FIELD = 2 };

/* Column codecs as CnosDB names them. Persisted: append only. */
enum codec_id {
    CODEC_DEFAULT = 0,
    CODEC_NULL,
    CODEC_DELTA,
    CODEC_DELTATS,
    CODEC_GORILLA,
    CODEC_QUANTILE,
    CODEC_BITPACK,
    CODEC_ZSTD,
    CODEC_SNAPPY,
    CODEC_GZIP,
    CODEC_BZIP,
    CODEC_ZLIB,
    CODEC_SDT,
    CODEC_DEADBAND,
    CODEC__COUNT
};
const char *codec_name(enum codec_id c);
/* Upper- or lower-case name → codec; -1 if unknown. */
int codec_parse(const char *name);
/* Whether a codec applies to a column type (CnosDB: "Unsupported encoding type X for F64"). */
bool codec_fits(enum codec_id c, enum vtype t);

typedef struct meta_column {
    uint32_t id; /* unique within the table, never reused */
    char *name;
    uint8_t kind;  /* enum col_kind */
    uint8_t type;  /* enum vtype: VT_TS for time, VT_STR for tags */
    uint8_t codec; /* enum codec_id */
    uint8_t geo;   /* a GEOMETRY field's sub_type (enum gis_type of gis/gis.h), else 0 */
} meta_column;

typedef struct meta_table {
    uint64_t id; /* unique within the catalog, never reused */
    uint64_t db_id;
    char *tenant, *db, *name;
    uint8_t precision; /* enum tunit of the database */
    uint32_t ncols;
    meta_column *cols; /* column order: time first, then as created/added */
    uint32_t ntags;    /* number of CK_TAG columns */
    uint32_t ngeo;     /* number of GEOMETRY fields (the write path checks only where some are) */
    uint32_t next_col_id;
    struct colset *colset; /* the columns, shared with the table's other versions */
    int refs;              /* atomic */
    /* An external table (CREATE EXTERNAL TABLE): its source as the SQL layer wrote it (JSON
     * text, sql/ext.h), persisted with the table; NULL for a table Strata stores. An external
     * table has no time column, every column is a CK_FIELD, and it owns no series or data:
     * the write path and ALTER refuse it. */
    char *ext;
} meta_table;

/* A stream table (CREATE STREAM TABLE) is kept as an external table whose definition is the
 * stream's (sql/sql_stream.c): it has no data and no files. */
static inline bool meta_table_is_stream(const meta_table *t) {
    return t->ext && t->ext[0] == '{' && !strncmp(t->ext, "{\"stream\"", 9);
}

void meta_table_retain(meta_table *t);
void meta_table_release(meta_table *t);
/* Index of the named column (exact, case-sensitive) or -1. */
int meta_table_col(const meta_table *t, const char *name, size_t len);

/* Database options. ttl_ns = 0 means INF. */
typedef struct db_options {
    int64_t ttl_ns;
    uint64_t shard;
    int64_t vnode_duration_ns;
    uint64_t replica;
    uint8_t precision; /* enum tunit */
    uint64_t max_memcache_size;
    uint64_t memcache_partitions;
    uint64_t wal_max_file_size;
    bool wal_sync;
    bool strict_write;
    uint64_t max_cache_readers;
} db_options;

void db_options_default(db_options *o);

typedef struct meta_db_info {
    uint64_t id;
    db_options opts;
} meta_db_info;

int catalog_open(const char *dir, catalog **out, err *e);
void catalog_close(catalog *c);

/* ---- users, tenants, roles and privileges (catalog_access.c) ---- */
/* Privileges on a database, each including the ones before it. */
enum cat_priv { PRIV_R = 1, PRIV_W = 2, PRIV_A = 3 };

/* Who a request is, once authenticated. */
typedef struct cat_login {
    /* in: verify only from the cache of passwords already verified (the event loop must not
     * run an Argon2 hash): a password that needs the slow check returns 1 */
    bool cached_only;
    /* out */
    bool is_admin;    /* root or GRANTED_ADMIN: everything, in every tenant */
    bool must_change; /* MUST_CHANGE_PASSWORD is set: checked only with passwords on */
    char role[256];   /* the role held in the tenant, "" = none (current_role()) */
} cat_login;

/* Checks a request's credentials and tenant membership. password may be NULL (not given).
 * With check_password false only the user's existence (and membership) is checked, as CnosDB
 * does when auth_enabled is off. A hidden tenant (delayed drop) is not found. Errors: HTTP 401,
 * code 010016, CnosDB's messages. Returns 0, -1, or 1 (see cached_only). */
int catalog_authenticate(catalog *c, const char *user, const char *password, size_t pwlen,
                         const char *tenant, bool check_password, cat_login *out, err *e);
bool catalog_tenant_exists(catalog *c, const char *tenant);

/* What a statement needs, checked by catalog_require. */
enum cat_need {
    NEED_READ = PRIV_R, /* on db, or on every database of the tenant when db is NULL */
    NEED_WRITE = PRIV_W,
    NEED_ALL = PRIV_A,
    NEED_ROLES,  /* roles, grants and members of the tenant: its owners */
    NEED_SYSTEM, /* users and tenants: administrators */
    NEED_ROOT,   /* root's own settings */
};
/* Whether user may do `need` in tenant (on database db where it names one): 0, or -1 with
 * CnosDB's 422 010004 "Insufficient privileges, expected [...]". */
int catalog_require(catalog *c, const char *user, const char *tenant, enum cat_need need,
                    const char *db, err *e);

/* Options of CREATE/ALTER USER: a NULL string or a -1 flag is not given. */
typedef struct user_opts {
    const char *password;
    const char *comment;
    const char *rsa_key;
    int must_change;
    int granted_admin;
} user_opts;
int catalog_create_user(catalog *c, const char *name, const user_opts *o, bool if_not_exists,
                        err *e);
int catalog_alter_user(catalog *c, const char *name, const user_opts *o, err *e);
int catalog_rename_user(catalog *c, const char *name, const char *to, err *e);
int catalog_drop_user(catalog *c, const char *name, bool if_exists, err *e);

/* Options of CREATE/ALTER TENANT (NULL: not given; for ALTER ... UNSET, unset_* true). */
typedef struct tenant_opts {
    const char *comment, *drop_after, *limiter;
    bool unset_comment, unset_drop_after, unset_limiter;
} tenant_opts;
int catalog_create_tenant(catalog *c, const char *name, const tenant_opts *o, bool if_not_exists,
                          err *e);
int catalog_alter_tenant(catalog *c, const char *name, const tenant_opts *o, err *e);
/* Drops a tenant and its databases now (their ids into *db_ids, malloc'ed, for storage), or
 * with after_ns > 0 hides it until then (RECOVER TENANT undoes that). */
int catalog_drop_tenant(catalog *c, const char *name, bool if_exists, int64_t after_ns,
                        uint64_t **db_ids, size_t *ndb, err *e);
int catalog_recover_tenant(catalog *c, const char *name, bool if_exists, err *e);
/* ALTER TENANT t ADD USER u AS role (add: refused if already a member) / SET USER (replace) /
 * REMOVE USER. */
int catalog_set_member(catalog *c, const char *tenant, const char *user, const char *role, bool add,
                       err *e);
int catalog_remove_member(catalog *c, const char *tenant, const char *user, err *e);
/* CREATE ROLE r [INHERIT owner|member] (inherit NULL: none) / DROP ROLE. */
int catalog_create_role(catalog *c, const char *tenant, const char *name, const char *inherit,
                        bool if_not_exists, err *e);
int catalog_drop_role(catalog *c, const char *tenant, const char *name, bool if_exists, err *e);
/* GRANT/REVOKE priv ON DATABASE db TO/FROM role. */
int catalog_grant(catalog *c, const char *tenant, const char *role, const char *db,
                  enum cat_priv priv, bool revoke, err *e);
/* Whether any tenant has limits (one atomic load: the request path's way to skip them). */
bool catalog_has_limits(catalog *c);
/* A counter that changes whenever any user or tenant changes (limits, members, roles...). */
uint64_t catalog_access_gen(catalog *c);
/* The tenant's limits as JSON ({"object_config": {...}, "http_queries": {...}, ...}), malloc'ed;
 * NULL when it has none. */
char *catalog_tenant_limiter(catalog *c, const char *tenant);
/* A copy of the users and tenants (with their roles, grants and members), for the system views
 * and the DDL dump; everything from the arena, sorted by name. */
typedef struct snap_grant {
    const char *db;
    uint8_t priv; /* enum cat_priv */
} snap_grant;
typedef struct snap_role {
    const char *name;
    const char *inherit; /* "owner", "member" or NULL */
    snap_grant *grants;
    size_t ngrants;
} snap_role;
typedef struct snap_member {
    const char *user, *role;
} snap_member;
typedef struct snap_tenant {
    uint64_t id;
    const char *name, *comment, *drop_after, *limiter; /* NULL: not set */
    bool hidden;                                       /* a delayed drop is pending */
    snap_member *members;
    size_t nmembers;
    snap_role *roles;
    size_t nroles;
} snap_tenant;
typedef struct snap_user {
    const char *name, *comment, *rsa_key; /* NULL: not set */
    int must_change, granted_admin;       /* -1: not set */
    bool is_admin;
} snap_user;
typedef struct access_snap {
    snap_user *users;
    size_t nusers;
    snap_tenant *tenants;
    size_t ntenants;
} access_snap;
void catalog_access_snapshot(catalog *c, arena *a, access_snap *out);
/* The id CnosDB's messages show for a tenant (0 if unknown). */
uint64_t catalog_tenant_id(catalog *c, const char *tenant);

/* ---- databases ---- */
int catalog_create_db(catalog *c, const char *tenant, const char *name, const db_options *o,
                      bool if_not_exists, err *e);
/* Replaces the alterable options (TTL, SHARD, VNODE_DURATION, REPLICA). */
int catalog_alter_db(catalog *c, const char *tenant, const char *name, const db_options *o, err *e);
/* Drops the database and its tables; *dropped_id gets its id (0 if nothing was dropped now).
 * With after_ns > 0 (DROP DATABASE ... AFTER) it is only hidden, durably, until that much time
 * has passed: every lookup by name fails as if it were gone (its name stays taken), storage
 * keeps its data, catalog_recover_db brings it back, and catalog_take_due_drop drops it for
 * real once due. A hidden database may be dropped again, now or with a new delay. */
int catalog_drop_db(catalog *c, const char *tenant, const char *name, bool if_exists,
                    int64_t after_ns, uint64_t *dropped_id, err *e);
/* RECOVER DATABASE: cancels a pending delayed drop (a live database is left alone). */
int catalog_recover_db(catalog *c, const char *tenant, const char *name, bool if_exists, err *e);
/* Drops one hidden database whose delay has passed by now_ns: *dropped_id gets its id (for the
 * storage to drop), 0 when none is due. Called periodically. */
int catalog_take_due_drop(catalog *c, int64_t now_ns, uint64_t *dropped_id, err *e);
int catalog_get_db(catalog *c, const char *tenant, const char *name, meta_db_info *out, err *e);
/* Database names of a tenant, sorted, from the arena. */
int catalog_list_dbs(catalog *c, const char *tenant, arena *a, char ***names, size_t *n);
/* Every database (all tenants, hidden ones too) as id + options, for storage start-up. */
int catalog_all_dbs(catalog *c, arena *a, meta_db_info **out, size_t *n);

/* ---- tables ---- */
/* Returns a retained table version, or NULL with 030019 (or 030017 for the database). */
meta_table *catalog_get_table(catalog *c, const char *tenant, const char *db, const char *name,
                              err *e);
/* catalog_get_table for a statement that reads or writes the table (a query, INSERT): a
 * missing database is reported as the table not found, as CnosDB words it there. */
meta_table *catalog_find_table(catalog *c, const char *tenant, const char *db, const char *name,
                               err *e);
/* Whether table id still exists in database id (storage replay skips dropped tables). */
bool catalog_table_live(catalog *c, uint64_t db_id, uint64_t table_id);
/* Codec of a column by ids, as the codec's own id (enum codec_use of codec/codec.h;
 * CODEC_USE_DEFAULT when unknown); used when storage writes files. */
uint8_t catalog_column_codec(catalog *c, uint64_t db_id, uint64_t table_id, uint32_t col_id);
/* `tenant.database` of a database id, for log lines (`#id (dropped)` once it is gone). */
void catalog_db_label(catalog *c, uint64_t db_id, char *out, size_t cap);
int catalog_list_tables(catalog *c, const char *tenant, const char *db, arena *a, char ***names,
                        size_t *n, err *e);

typedef struct col_def {
    const char *name;
    size_t name_len;
    uint8_t kind; /* CK_TAG or CK_FIELD */
    uint8_t type; /* VT_* for fields */
    uint8_t codec;
    uint32_t line; /* request line that introduced it (write path), 0 = none */
    uint8_t geo;   /* a GEOMETRY field's sub_type (enum gis_type), else 0; SRID is always 0 */
} col_def;

int catalog_create_table(catalog *c, const char *tenant, const char *db, const char *name,
                         const col_def *cols, size_t ncols, bool if_not_exists, err *e);
/* An external table: cols (every one CK_FIELD, any value type) in their order, and ext, the
 * definition kept for the SQL layer (copied). */
int catalog_create_external_table(catalog *c, const char *tenant, const char *db, const char *name,
                                  const col_def *cols, size_t ncols, const char *ext,
                                  bool if_not_exists, err *e);
/* *dropped_id gets the id of the table storage must drop: 0 if there was none, or it was an
 * external table (it has no data). */
int catalog_drop_table(catalog *c, const char *tenant, const char *db, const char *name,
                       bool if_exists, uint64_t *dropped_id, err *e);

enum alter_op { ALTER_ADD_COLUMN = 1, ALTER_DROP_COLUMN, ALTER_SET_CODEC, ALTER_RENAME_COLUMN };
int catalog_alter_table(catalog *c, const char *tenant, const char *db, const char *table,
                        enum alter_op op, const col_def *col, const char *name,
                        const char *new_name, err *e);

/* One table of a write request and the columns its lines carry (names distinct). */
typedef struct table_cols {
    const char *name;
    size_t name_len;
    const col_def *cols;
    size_t ncols;
} table_cols;

/* The write path's schema step, for every table of a request at once: makes sure each table
 * exists with every given column, of the given kind and type, creating the table (time, tags
 * sorted, fields sorted) or appending the missing columns (same order). A kind or type
 * conflict fails with HTTP 422, code 050014, `Apply engine failed: DataSchemaError: Column 'x'
 * type error, found I64 expected F64` for the first table (in request order) that has one.
 * A conflict with the catalog as found fails before anything changes. The changes are made in
 * commits of up to 1024 tables (a very wide table in pieces of 16384 columns), each one log
 * append and one fsync, and small schema changes of other requests get in between; an I/O
 * error in a later commit leaves the earlier ones made. On success
 * out[i] is a retained version of tabs[i] that has all its columns; on failure every out[i] is
 * NULL. Table names must be distinct. */
int catalog_ensure_tables(catalog *c, const char *tenant, const char *db, const table_cols *tabs,
                          size_t n, meta_table **out, err *e);

/* ---- listings for the system views (catalog_views.c) ---- */
/* What information_schema shows of the catalog, read under the read lock, copied or retained
 * so that the caller holds nothing of the catalog's. Only a tenant's live databases are
 * listed: a hidden one (a delayed drop pending) is as invisible here as to a lookup. */
typedef struct meta_db_view {
    char *name;
    uint64_t id;
    int64_t drop_at; /* hidden ones: when the delayed drop comes due (wall-clock ns) */
    db_options opts;
} meta_db_view;
/* The live databases of tenant (hidden: the hidden ones instead, drop_at set), sorted by name,
 * from the arena. */
int catalog_view_dbs(catalog *c, const char *tenant, bool hidden, arena *a, meta_db_view **out,
                     size_t *n);
/* The current version of every table of tenant's live databases, sorted by database then
 * name; each is retained: the caller releases them (meta_table_release). */
int catalog_view_tables(catalog *c, const char *tenant, arena *a, meta_table ***out, size_t *n);
/* Where database id stands: gone (dropped, or never), live, or hidden until *drop_at (ns). */
enum meta_db_state { META_DB_GONE = 0, META_DB_LIVE, META_DB_HIDDEN };
enum meta_db_state catalog_db_state(catalog *c, uint64_t id, int64_t *drop_at);
/* The id of tenant's database name, live or hidden; 0 when there is none. */
uint64_t catalog_db_id_any(catalog *c, const char *tenant, const char *name);

#endif
