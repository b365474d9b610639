/* Users, tenants, roles, members and grants: see catalog.h. The access model is CnosDB's:
 *
 * - A user is global. root and users with GRANTED_ADMIN are administrators: every tenant, every
 *   statement. Everyone else reaches a tenant only as a member holding one role there.
 * - Roles: the system roles `owner` (everything in the tenant: databases, roles, members) and
 *   `member` (READ on every database), and custom roles, which inherit one of them (or nothing)
 *   and add per-database grants: READ < WRITE < ALL, each including the ones before.
 * - A member whose role was dropped keeps the name but holds nothing.
 *
 * Every change is one record (catalog_log.c's format): the whole user or tenant as it becomes,
 * or its removal. The API builds the record from the current state plus the change, logs it and
 * then applies it with the same function replay uses, so a restart rebuilds exactly what was
 * served. Tenants carry their roles and members in their record: they are small, and a change
 * to one of them rewrites one line.
 *
 * Passwords are hashed (util/passwd.h) before the schema lock is taken: an Argon2 run costs tens
 * of milliseconds and must not hold up other DDL. */
#include "meta/catalog_int.h"

#include "util/log.h"
#include "util/mem.h"
#include "util/passwd.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROOT = "root";

/* ------------------------------------------------------------------ lookups */

struct user *cat_find_user(catalog *c, const char *name) {
    for (size_t i = 0; i < c->nusers; i++)
        if (strcmp(c->users[i].name, name) == 0) return &c->users[i];
    return NULL;
}

static struct user *find_user_id(catalog *c, uint64_t id) {
    for (size_t i = 0; i < c->nusers; i++)
        if (c->users[i].id == id) return &c->users[i];
    return NULL;
}

struct tenant *cat_find_tenant(catalog *c, const char *name, bool any) {
    for (size_t i = 0; i < c->ntenants; i++)
        if (strcmp(c->tenants[i].name, name) == 0)
            return any || !c->tenants[i].drop_at ? &c->tenants[i] : NULL;
    return NULL;
}

static struct tenant *find_tenant_id(catalog *c, uint64_t id) {
    for (size_t i = 0; i < c->ntenants; i++)
        if (c->tenants[i].id == id) return &c->tenants[i];
    return NULL;
}

static struct role *find_role(const struct tenant *t, const char *name) {
    for (size_t i = 0; i < t->nroles; i++)
        if (strcmp(t->roles[i].name, name) == 0) return &t->roles[i];
    return NULL;
}

static struct member *find_member(const struct tenant *t, uint64_t user_id) {
    for (size_t i = 0; i < t->nmembers; i++)
        if (t->members[i].user_id == user_id) return &t->members[i];
    return NULL;
}

static bool is_root(const struct user *u) {
    return strcmp(u->name, ROOT) == 0;
}

static bool is_admin(const struct user *u) {
    return is_root(u) || u->granted_admin == 1;
}

static bool system_role(const char *name) {
    return !strcmp(name, "owner") || !strcmp(name, "member");
}

static const char *inherit_name(uint8_t i) {
    return i == ROLE_OWNER ? "owner" : i == ROLE_MEMBER ? "member" : NULL;
}

/* ------------------------------------------------------------------ records */

static void set_opt_str(json_t *j, const char *key, const char *v) {
    if (v) json_object_set_new(j, key, json_string(v));
}

static void set_opt_flag(json_t *j, const char *key, int8_t v) {
    if (v >= 0) json_object_set_new(j, key, json_boolean(v));
}

json_t *cat_user_json(const struct user *u) {
    json_t *j = json_pack("{s:s, s:I, s:s, s:s}", "t", "user", "id", (json_int_t)u->id, "name",
                          u->name, "hash", u->hash);
    set_opt_str(j, "comment", u->comment);
    set_opt_str(j, "rsa_key", u->rsa_key);
    set_opt_flag(j, "must_change", u->must_change);
    set_opt_flag(j, "granted_admin", u->granted_admin);
    return j;
}

json_t *cat_tenant_json(const struct tenant *t) {
    json_t *j = json_pack("{s:s, s:I, s:s, s:I}", "t", "tenant", "id", (json_int_t)t->id, "name",
                          t->name, "drop_at", (json_int_t)t->drop_at);
    set_opt_str(j, "comment", t->comment);
    set_opt_str(j, "drop_after", t->drop_after);
    set_opt_str(j, "limiter", t->limiter);
    json_t *ms = json_array();
    for (size_t i = 0; i < t->nmembers; i++)
        json_array_append_new(ms, json_pack("{s:I, s:s}", "user", (json_int_t)t->members[i].user_id,
                                            "role", t->members[i].role));
    json_object_set_new(j, "members", ms);
    json_t *rs = json_array();
    for (size_t i = 0; i < t->nroles; i++) {
        const struct role *r = &t->roles[i];
        json_t *gs = json_array();
        for (size_t k = 0; k < r->ngrants; k++)
            json_array_append_new(
                gs, json_pack("{s:s, s:i}", "db", r->grants[k].db, "priv", (int)r->grants[k].priv));
        json_t *rj = json_pack("{s:s, s:o}", "name", r->name, "grants", gs);
        set_opt_str(rj, "inherit", inherit_name(r->inherit));
        json_array_append_new(rs, rj);
    }
    json_object_set_new(j, "roles", rs);
    return j;
}

static char *opt_dup(json_t *j, const char *key) {
    const char *s = json_string_value(json_object_get(j, key));
    return s ? xstrdup(s) : NULL;
}

static int8_t opt_flag(json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    return json_is_boolean(v) ? (int8_t)json_is_true(v) : -1;
}

static void user_clear(struct user *u) {
    free(u->name);
    free(u->hash);
    free(u->comment);
    free(u->rsa_key);
}

int cat_apply_user(catalog *c, json_t *j, bool *rewrite) {
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *hash = json_string_value(json_object_get(j, "hash"));
    json_t *jid = json_object_get(j, "id");
    if (!name) return -1;
    char legacy[PASSWD_HASH_MAX];
    if (!hash) {
        /* Logs written before passwords were hashed kept them as given: hash now, and have
         * the log rewritten so the plain text leaves the disk. */
        const char *pw = json_string_value(json_object_get(j, "password"));
        err e;
        if (!pw || passwd_hash(pw, strlen(pw), legacy, &e) < 0) return -1;
        hash = legacy;
        if (rewrite) *rewrite = true;
    }
    struct user *u = json_is_integer(jid) ? find_user_id(c, (uint64_t)json_integer_value(jid))
                                          : cat_find_user(c, name);
    if (!u) {
        c->users = xrealloc(c->users, sizeof *c->users * (c->nusers + 1));
        u = &c->users[c->nusers++];
        memset(u, 0, sizeof *u);
        u->id = json_is_integer(jid) ? (uint64_t)json_integer_value(jid) : c->next_id++;
    }
    if (!json_is_integer(jid) && rewrite) *rewrite = true;
    user_clear(u);
    u->name = xstrdup(name);
    u->hash = xstrdup(hash);
    u->comment = opt_dup(j, "comment");
    u->rsa_key = opt_dup(j, "rsa_key");
    u->must_change = opt_flag(j, "must_change");
    u->granted_admin = opt_flag(j, "granted_admin");
    u->mac_ok = false;
    cat_bump_id(c, u->id);
    return 0;
}

static void tenant_clear_access(struct tenant *t) {
    for (size_t i = 0; i < t->nmembers; i++) free(t->members[i].role);
    free(t->members);
    for (size_t i = 0; i < t->nroles; i++) {
        for (size_t k = 0; k < t->roles[i].ngrants; k++) free(t->roles[i].grants[k].db);
        free(t->roles[i].grants);
        free(t->roles[i].name);
    }
    free(t->roles);
    t->members = NULL;
    t->roles = NULL;
    t->nmembers = t->nroles = 0;
}

static void tenant_clear(struct tenant *t) {
    tenant_clear_access(t);
    free(t->name);
    free(t->comment);
    free(t->drop_after);
    free(t->limiter);
}

static uint8_t parse_inherit(const char *s) {
    return !s ? ROLE_NONE : !strcmp(s, "owner") ? ROLE_OWNER : ROLE_MEMBER;
}

static void count_limited(catalog *c) {
    int n = 0;
    for (size_t i = 0; i < c->ntenants; i++) n += c->tenants[i].limiter != NULL;
    __atomic_store_n(&c->limited, n, __ATOMIC_RELEASE);
}

int cat_apply_tenant(catalog *c, json_t *j) {
    const char *name = json_string_value(json_object_get(j, "name"));
    json_t *jid = json_object_get(j, "id");
    if (!name || !json_is_integer(jid)) return -1;
    uint64_t id = (uint64_t)json_integer_value(jid);
    struct tenant *t = find_tenant_id(c, id);
    if (!t) t = cat_find_tenant(c, name, true); /* logs from before tenants had ids that stuck */
    if (!t) {
        c->tenants = xrealloc(c->tenants, sizeof *c->tenants * (c->ntenants + 1));
        t = &c->tenants[c->ntenants++];
        memset(t, 0, sizeof *t);
    }
    tenant_clear(t);
    t->id = id;
    t->name = xstrdup(name);
    t->comment = opt_dup(j, "comment");
    t->drop_after = opt_dup(j, "drop_after");
    t->limiter = opt_dup(j, "limiter");
    t->drop_at = (int64_t)json_integer_value(json_object_get(j, "drop_at"));
    json_t *ms = json_object_get(j, "members"), *rs = json_object_get(j, "roles");
    size_t nm = json_array_size(ms), nr = json_array_size(rs);
    t->members = xcalloc(nm ? nm : 1, sizeof *t->members);
    for (size_t i = 0; i < nm; i++) {
        json_t *m = json_array_get(ms, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role) continue;
        t->members[t->nmembers++] = (struct member){
            (uint64_t)json_integer_value(json_object_get(m, "user")), xstrdup(role)};
    }
    t->roles = xcalloc(nr ? nr : 1, sizeof *t->roles);
    for (size_t i = 0; i < nr; i++) {
        json_t *r = json_array_get(rs, i), *gs = json_object_get(r, "grants");
        const char *rn = json_string_value(json_object_get(r, "name"));
        if (!rn) continue;
        struct role *ro = &t->roles[t->nroles++];
        ro->name = xstrdup(rn);
        ro->inherit = parse_inherit(json_string_value(json_object_get(r, "inherit")));
        size_t ng = json_array_size(gs);
        ro->grants = xcalloc(ng ? ng : 1, sizeof *ro->grants);
        for (size_t k = 0; k < ng; k++) {
            json_t *g = json_array_get(gs, k);
            const char *db = json_string_value(json_object_get(g, "db"));
            if (!db) continue;
            ro->grants[ro->ngrants++] = (struct grant){
                xstrdup(db), (uint8_t)json_integer_value(json_object_get(g, "priv"))};
        }
    }
    cat_bump_id(c, id);
    count_limited(c);
    return 0;
}

int cat_apply_drop_user(catalog *c, json_t *j) {
    uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
    struct user *u = find_user_id(c, id);
    if (!u) return 0;
    user_clear(u);
    *u = c->users[--c->nusers];
    /* its memberships go with it */
    for (size_t i = 0; i < c->ntenants; i++) {
        struct tenant *t = &c->tenants[i];
        struct member *m = find_member(t, id);
        if (!m) continue;
        free(m->role);
        *m = t->members[--t->nmembers];
    }
    return 0;
}

int cat_apply_drop_tenant(catalog *c, json_t *j) {
    struct tenant *t = find_tenant_id(c, (uint64_t)json_integer_value(json_object_get(j, "id")));
    if (!t) return 0;
    tenant_clear(t);
    *t = c->tenants[--c->ntenants];
    count_limited(c);
    return 0;
}

static int apply_user_live(catalog *c, json_t *j) {
    return cat_apply_user(c, j, NULL);
}

/* Logs record j and applies it (j is consumed either way); under ddl. Readers see the change
 * only once it is durable. */
static int commit_locked(catalog *c, json_t *j, int (*apply)(catalog *, json_t *), err *e) {
    buf b;
    buf_init(&b);
    cat_line(json_incref(j), &b);
    int rc = cat_log_append_locked(c, &b, e);
    buf_free(&b);
    if (!rc) {
        pthread_rwlock_wrlock(&c->lock);
        apply(c, j);
        __atomic_add_fetch(&c->access_gen, 1, __ATOMIC_RELEASE);
        pthread_rwlock_unlock(&c->lock);
    }
    json_decref(j);
    return rc;
}

void cat_access_defaults(catalog *c) {
    /* CnosDB's: root (administrator, "root" until changed), the tenant cnosdb */
    char hash[PASSWD_HASH_MAX];
    err e;
    if (passwd_hash("root", 4, hash, &e) < 0) hash[0] = 0; /* no match for anything */
    json_t *u =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:b}", "t", "user", "id", (json_int_t)c->next_id++,
                  "name", ROOT, "hash", hash, "comment", "system admin", "must_change", 1);
    cat_apply_user(c, u, NULL);
    json_decref(u);
    json_t *t =
        json_pack("{s:s, s:I, s:s, s:s, s:I}", "t", "tenant", "id", (json_int_t)c->next_id++,
                  "name", "cnosdb", "comment", "system tenant", "drop_at", (json_int_t)0);
    cat_apply_tenant(c, t);
    json_decref(t);
}

void cat_access_free(catalog *c) {
    for (size_t i = 0; i < c->nusers; i++) user_clear(&c->users[i]);
    free(c->users);
    for (size_t i = 0; i < c->ntenants; i++) tenant_clear(&c->tenants[i]);
    free(c->tenants);
}

/* ------------------------------------------------------------------ authentication */

static int denied(err *e, const char *user) {
    return err_set(e, 401, EC_AUTH,
                   "Auth error: Access denied for user '%s' (using xxx) username or password "
                   "invalid",
                   user);
}

/* Whether password is the user's (1, else 0): the cached digest of the last one that verified,
 * else an Argon2 run (outside the catalog's lock: it takes tens of milliseconds), or -1 when
 * that run is needed and cached_only forbids it. */
static int password_ok(catalog *c, uint64_t id, const char *user, const char *password,
                       size_t pwlen, bool cached_only) {
    unsigned char mac[PASSWD_MAC_LEN];
    passwd_mac(user, password, pwlen, mac);
    char hash[PASSWD_HASH_MAX];
    bool cached = false, found = false;
    pthread_rwlock_rdlock(&c->lock);
    struct user *u = find_user_id(c, id);
    if (u && strlen(u->hash) < sizeof hash) {
        found = true;
        strcpy(hash, u->hash);
        pthread_mutex_lock(&c->mac_mu);
        cached = u->mac_ok && passwd_mac_equal(u->mac, mac);
        pthread_mutex_unlock(&c->mac_mu);
    }
    pthread_rwlock_unlock(&c->lock);
    if (!found) return 0;
    if (cached) return 1;
    if (cached_only) return -1;
    if (!passwd_verify(hash, password, pwlen)) return 0;
    pthread_rwlock_rdlock(&c->lock);
    u = find_user_id(c, id);
    if (u && strcmp(u->hash, hash) == 0) { /* not changed meanwhile */
        pthread_mutex_lock(&c->mac_mu);
        memcpy(u->mac, mac, sizeof mac);
        u->mac_ok = true;
        pthread_mutex_unlock(&c->mac_mu);
    }
    pthread_rwlock_unlock(&c->lock);
    return 1;
}

int catalog_authenticate(catalog *c, const char *user, const char *password, size_t pwlen,
                         const char *tenant, bool check_password, cat_login *out, err *e) {
    int rc = 0;
    uint64_t id = 0;
    pthread_rwlock_rdlock(&c->lock);
    struct user *u = cat_find_user(c, user);
    struct tenant *t = cat_find_tenant(c, tenant, false);
    if (!u)
        rc = check_password ? denied(e, user)
                            : err_set(e, 401, EC_AUTH, "Auth error: The user %s not found", user);
    else if (!t)
        rc = check_password
                 ? denied(e, user)
                 : err_set(e, 401, EC_AUTH, "Auth error: The tenant %s not found", tenant);
    else if (!is_admin(u) && !find_member(t, u->id))
        rc = check_password
                 ? denied(e, user)
                 : err_set(e, 401, EC_AUTH, "Auth error: The member %s of tenant %s not found",
                           user, tenant);
    if (!rc) {
        id = u->id;
        out->is_admin = is_admin(u);
        out->must_change = u->must_change == 1;
        const struct member *m = find_member(t, u->id);
        snprintf(out->role, sizeof out->role, "%s", m ? m->role : "");
    }
    pthread_rwlock_unlock(&c->lock);
    if (rc) return rc;
    if (!check_password) return 0;
    int ok = password ? password_ok(c, id, user, password, pwlen, out->cached_only) : 0;
    return ok < 0 ? 1 : ok ? 0 : denied(e, user);
}

bool catalog_tenant_exists(catalog *c, const char *tenant) {
    pthread_rwlock_rdlock(&c->lock);
    bool ok = cat_find_tenant(c, tenant, false) != NULL;
    pthread_rwlock_unlock(&c->lock);
    return ok;
}

bool catalog_has_limits(catalog *c) {
    return __atomic_load_n(&c->limited, __ATOMIC_ACQUIRE) > 0;
}

uint64_t catalog_access_gen(catalog *c) {
    return __atomic_load_n(&c->access_gen, __ATOMIC_ACQUIRE);
}

char *catalog_tenant_limiter(catalog *c, const char *tenant) {
    pthread_rwlock_rdlock(&c->lock);
    struct tenant *t = cat_find_tenant(c, tenant, true);
    char *l = t && t->limiter ? xstrdup(t->limiter) : NULL;
    pthread_rwlock_unlock(&c->lock);
    return l;
}

uint64_t catalog_tenant_id(catalog *c, const char *tenant) {
    pthread_rwlock_rdlock(&c->lock);
    struct tenant *t = cat_find_tenant(c, tenant, true);
    uint64_t id = t ? t->id : 0;
    pthread_rwlock_unlock(&c->lock);
    return id;
}

/* ------------------------------------------------------------------ snapshot */

static const char *adup(arena *a, const char *s) {
    return s ? arena_strdup(a, s) : NULL;
}

static int cmp_user(const void *x, const void *y) {
    return strcmp(((const snap_user *)x)->name, ((const snap_user *)y)->name);
}
static int cmp_tenant(const void *x, const void *y) {
    return strcmp(((const snap_tenant *)x)->name, ((const snap_tenant *)y)->name);
}
static int cmp_role(const void *x, const void *y) {
    return strcmp(((const snap_role *)x)->name, ((const snap_role *)y)->name);
}
static int cmp_member(const void *x, const void *y) {
    return strcmp(((const snap_member *)x)->user, ((const snap_member *)y)->user);
}

void catalog_access_snapshot(catalog *c, arena *a, access_snap *out) {
    pthread_rwlock_rdlock(&c->lock);
    out->nusers = c->nusers;
    out->users = arena_calloc(a, sizeof *out->users * (c->nusers + 1));
    for (size_t i = 0; i < c->nusers; i++) {
        const struct user *u = &c->users[i];
        out->users[i] = (snap_user){adup(a, u->name), adup(a, u->comment), adup(a, u->rsa_key),
                                    u->must_change,   u->granted_admin,    is_admin(u)};
    }
    out->ntenants = c->ntenants;
    out->tenants = arena_calloc(a, sizeof *out->tenants * (c->ntenants + 1));
    for (size_t i = 0; i < c->ntenants; i++) {
        const struct tenant *t = &c->tenants[i];
        snap_tenant *st = &out->tenants[i];
        *st = (snap_tenant){t->id,
                            adup(a, t->name),
                            adup(a, t->comment),
                            adup(a, t->drop_after),
                            adup(a, t->limiter),
                            t->drop_at != 0,
                            arena_calloc(a, sizeof *st->members * (t->nmembers + 1)),
                            0,
                            arena_calloc(a, sizeof *st->roles * (t->nroles + 1)),
                            t->nroles};
        for (size_t k = 0; k < t->nmembers; k++) {
            const struct user *u = find_user_id(c, t->members[k].user_id);
            if (u)
                st->members[st->nmembers++] =
                    (snap_member){adup(a, u->name), adup(a, t->members[k].role)};
        }
        for (size_t k = 0; k < t->nroles; k++) {
            const struct role *r = &t->roles[k];
            snap_role *sr = &st->roles[k];
            *sr = (snap_role){adup(a, r->name), inherit_name(r->inherit),
                              arena_calloc(a, sizeof *sr->grants * (r->ngrants + 1)), r->ngrants};
            for (size_t g = 0; g < r->ngrants; g++)
                sr->grants[g] = (snap_grant){adup(a, r->grants[g].db), r->grants[g].priv};
        }
    }
    pthread_rwlock_unlock(&c->lock);
    qsort(out->users, out->nusers, sizeof *out->users, cmp_user);
    qsort(out->tenants, out->ntenants, sizeof *out->tenants, cmp_tenant);
    for (size_t i = 0; i < out->ntenants; i++) {
        snap_tenant *st = &out->tenants[i];
        qsort(st->roles, st->nroles, sizeof *st->roles, cmp_role);
        qsort(st->members, st->nmembers, sizeof *st->members, cmp_member);
    }
}

/* ------------------------------------------------------------------ privileges */

static const char *priv_name(int p) {
    return p == PRIV_R ? "Read" : p == PRIV_W ? "Write" : "All";
}

/* What a member's role gives: on every database of the tenant, and on db. */
static void role_privs(const struct tenant *t, const struct member *m, const char *db, int *on_all,
                       int *on_db, bool *owner) {
    *on_all = *on_db = 0;
    *owner = false;
    if (!m) return;
    const struct role *r = NULL;
    uint8_t inherit = ROLE_NONE;
    if (!strcmp(m->role, "owner"))
        inherit = ROLE_OWNER;
    else if (!strcmp(m->role, "member"))
        inherit = ROLE_MEMBER;
    else if ((r = find_role(t, m->role)))
        inherit = r->inherit;
    *owner = inherit == ROLE_OWNER;
    *on_all = *owner ? PRIV_A : inherit == ROLE_MEMBER ? PRIV_R : 0;
    *on_db = *on_all;
    for (size_t k = 0; r && db && k < r->ngrants; k++)
        if (!strcmp(r->grants[k].db, db) && r->grants[k].priv > *on_db) *on_db = r->grants[k].priv;
}

int catalog_require(catalog *c, const char *user, const char *tenant, enum cat_need need,
                    const char *db, err *e) {
    pthread_rwlock_rdlock(&c->lock);
    const struct user *u = cat_find_user(c, user);
    const struct tenant *t = cat_find_tenant(c, tenant, true);
    unsigned long long tid = t ? (unsigned long long)t->id : 0;
    bool ok;
    if (!u)
        ok = false;
    else if (need == NEED_ROOT)
        ok = is_root(u);
    else if (is_admin(u))
        ok = true;
    else if (need == NEED_SYSTEM || !t)
        ok = false;
    else {
        int on_all, on_db;
        bool owner;
        role_privs(t, find_member(t, u->id), db, &on_all, &on_db, &owner);
        ok = need == NEED_ROLES ? owner : (db ? on_db : on_all) >= (int)need;
    }
    pthread_rwlock_unlock(&c->lock);
    if (ok) return 0;
    const char *pre = "Insufficient privileges, expected";
    switch (need) {
    case NEED_ROOT:
        return err_set(e, 422, EC_PRIVILEGE, "%s [root user]", pre);
    case NEED_SYSTEM:
        return err_set(e, 422, EC_PRIVILEGE, "%s [maintainer for system]", pre);
    case NEED_ROLES:
        return err_set(e, 422, EC_PRIVILEGE, "%s [maintainer for all roles of tenant %llu]", pre,
                       tid);
    default:
        if (db)
            return err_set(e, 422, EC_PRIVILEGE, "%s [%s on database %s of tenant %llu]", pre,
                           priv_name(need), db, tid);
        return err_set(e, 422, EC_PRIVILEGE, "%s [%s on all databases of tenant %llu]", pre,
                       priv_name(need), tid);
    }
}

/* ------------------------------------------------------------------ object limits */

/* The tenant's object_config limit `key`, -1 when unlimited (absent or null). */
static int64_t object_limit(const struct tenant *t, const char *key) {
    if (!t->limiter) return -1;
    json_t *j = json_loads(t->limiter, 0, NULL);
    json_t *v = json_object_get(json_object_get(j, "object_config"), key);
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

static int over_limit(err *e, const char *tenant, const char *what, int64_t limit) {
    return err_set(e, 422, EC_LIMIT, "Tenant %s: %s exceeds its limit %lld", tenant, what,
                   (long long)limit);
}

int cat_check_db_limits_locked(catalog *c, const char *tenant, const db_options *o, bool create,
                               err *e) {
    const struct tenant *t = cat_find_tenant(c, tenant, true);
    if (!t) return 0;
    int64_t n;
    if (create && (n = object_limit(t, "max_databases")) >= 0) {
        int64_t have = 0;
        size_t pos = 0;
        uint64_t v;
        while (hmap_next(c->dbs, &pos, NULL, NULL, &v))
            have += !strcmp(((struct mdb *)(uintptr_t)v)->tenant, tenant);
        if (have + 1 > n) return over_limit(e, tenant, "the number of databases", n);
    }
    if ((n = object_limit(t, "max_shard_number")) >= 0 && (int64_t)o->shard > n)
        return over_limit(e, tenant, "SHARD", n);
    if ((n = object_limit(t, "max_replicate_number")) >= 0 && (int64_t)o->replica > n)
        return over_limit(e, tenant, "REPLICA", n);
    /* max_retention_time is in days; an infinite TTL exceeds any */
    if ((n = object_limit(t, "max_retention_time")) >= 0 &&
        (o->ttl_ns == 0 || o->ttl_ns / 86400000000000LL > n ||
         (o->ttl_ns / 86400000000000LL == n && o->ttl_ns % 86400000000000LL)))
        return over_limit(e, tenant, "TTL (days)", n);
    return 0;
}

/* ------------------------------------------------------------------ users */

static int user_not_found(err *e, const char *name) {
    return err_set(e, 422, EC_META, "The user %s not found", name);
}

/* The record of u with the options o applied (hash: the new password's, or NULL). */
static json_t *user_changed(const struct user *u, const user_opts *o, const char *hash) {
    json_t *j = cat_user_json(u);
    if (hash) json_object_set_new(j, "hash", json_string(hash));
    /* a new password is the change MUST_CHANGE_PASSWORD asked for */
    if (hash && u->must_change == 1) json_object_set_new(j, "must_change", json_false());
    if (o->comment) json_object_set_new(j, "comment", json_string(o->comment));
    if (o->rsa_key) json_object_set_new(j, "rsa_key", json_string(o->rsa_key));
    if (o->must_change >= 0) json_object_set_new(j, "must_change", json_boolean(o->must_change));
    if (o->granted_admin >= 0)
        json_object_set_new(j, "granted_admin", json_boolean(o->granted_admin));
    return j;
}

int catalog_create_user(catalog *c, const char *name, const user_opts *o, bool if_not_exists,
                        err *e) {
    char hash[PASSWD_HASH_MAX];
    const char *pw = o->password ? o->password : "";
    if (passwd_hash(pw, strlen(pw), hash, e) < 0) return -1;
    schema_lock(&c->ddl, true);
    int rc = 0;
    if (cat_find_user(c, name)) {
        if (!if_not_exists) rc = err_set(e, 422, EC_META, "The user %s already exists", name);
    } else {
        struct user nu = {.id = c->next_id++,
                          .name = (char *)name,
                          .hash = hash,
                          .must_change = -1,
                          .granted_admin = -1};
        rc = commit_locked(c, user_changed(&nu, o, NULL), apply_user_live, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_alter_user(catalog *c, const char *name, const user_opts *o, err *e) {
    char hash[PASSWD_HASH_MAX], old[PASSWD_HASH_MAX] = "";
    if (o->password) {
        /* a password that must change must change to something else (CnosDB) */
        pthread_rwlock_rdlock(&c->lock);
        const struct user *u = cat_find_user(c, name);
        if (u && u->must_change == 1 && strlen(u->hash) < sizeof old) strcpy(old, u->hash);
        pthread_rwlock_unlock(&c->lock);
        if (old[0] && passwd_verify(old, o->password, strlen(o->password)))
            return err_set(e, 422, EC_PRIVILEGE,
                           "Insufficient privileges, expected [input different password]");
        if (passwd_hash(o->password, strlen(o->password), hash, e) < 0) return -1;
    }
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct user *u = cat_find_user(c, name);
    if (!u)
        rc = user_not_found(e, name);
    else if (o->granted_admin >= 0 && is_root(u))
        rc = err_set(e, 422, EC_META,
                     "Invalid parameter : The root user does not support changing granted_admin");
    else
        rc = commit_locked(c, user_changed(u, o, o->password ? hash : NULL), apply_user_live, e);
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_rename_user(catalog *c, const char *name, const char *to, err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct user *u = cat_find_user(c, name);
    if (!u)
        rc = user_not_found(e, name);
    else if (is_root(u))
        rc = err_set(e, 422, EC_META, "User 'root' is prohibited from being renamed");
    else if (cat_find_user(c, to))
        rc = err_set(e, 422, EC_META, "The user %s already exists", to);
    else {
        json_t *j = cat_user_json(u);
        json_object_set_new(j, "name", json_string(to));
        rc = commit_locked(c, j, apply_user_live, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_drop_user(catalog *c, const char *name, bool if_exists, err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct user *u = cat_find_user(c, name);
    if (!u) {
        if (!if_exists) rc = user_not_found(e, name);
    } else if (is_root(u)) {
        rc = err_set(e, 422, EC_META, "User 'root' is prohibited from being dropped");
    } else {
        rc = commit_locked(c, json_pack("{s:s, s:I}", "t", "drop_user", "id", (json_int_t)u->id),
                           cat_apply_drop_user, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

/* ------------------------------------------------------------------ tenants */

static int tenant_not_found(err *e, const char *name) {
    return err_set(e, 422, EC_TENANT_NOT_FOUND, "The tenant %s not found", name);
}

static void tenant_opts_apply(json_t *j, const tenant_opts *o) {
    if (o->comment) json_object_set_new(j, "comment", json_string(o->comment));
    if (o->drop_after) json_object_set_new(j, "drop_after", json_string(o->drop_after));
    if (o->limiter) json_object_set_new(j, "limiter", json_string(o->limiter));
    if (o->unset_comment) json_object_del(j, "comment");
    if (o->unset_drop_after) json_object_del(j, "drop_after");
    if (o->unset_limiter) json_object_del(j, "limiter");
}

int catalog_create_tenant(catalog *c, const char *name, const tenant_opts *o, bool if_not_exists,
                          err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    if (cat_find_tenant(c, name, true)) {
        if (!if_not_exists) rc = err_set(e, 422, EC_META, "The tenant %s already exists", name);
    } else {
        struct tenant nt = {.id = c->next_id++, .name = (char *)name};
        json_t *j = cat_tenant_json(&nt);
        tenant_opts_apply(j, o);
        rc = commit_locked(c, j, cat_apply_tenant, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_alter_tenant(catalog *c, const char *name, const tenant_opts *o, err *e) {
    schema_lock(&c->ddl, true);
    int rc;
    struct tenant *t = cat_find_tenant(c, name, false);
    if (!t) {
        rc = tenant_not_found(e, name);
    } else {
        json_t *j = cat_tenant_json(t);
        tenant_opts_apply(j, o);
        rc = commit_locked(c, j, cat_apply_tenant, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

static int set_tenant_drop_at_locked(catalog *c, struct tenant *t, int64_t at, err *e) {
    json_t *j = cat_tenant_json(t);
    json_object_set_new(j, "drop_at", json_integer(at));
    return commit_locked(c, j, cat_apply_tenant, e);
}

/* Drops t's databases and then t, under ddl; the databases' ids go to *ids. */
static int drop_tenant_locked(catalog *c, struct tenant *t, uint64_t **ids, size_t *n, err *e) {
    size_t cap = 0;
    for (;;) {
        struct mdb *d = NULL;
        size_t pos = 0;
        uint64_t v;
        while (!d && hmap_next(c->dbs, &pos, NULL, NULL, &v))
            if (!strcmp(((struct mdb *)(uintptr_t)v)->tenant, t->name))
                d = (struct mdb *)(uintptr_t)v;
        if (!d) break;
        uint64_t id = d->id;
        if (cat_drop_db_locked(c, d, e) < 0) return -1;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *ids = xrealloc(*ids, sizeof **ids * cap);
        }
        (*ids)[(*n)++] = id;
    }
    return commit_locked(c, json_pack("{s:s, s:I}", "t", "drop_tenant", "id", (json_int_t)t->id),
                         cat_apply_drop_tenant, e);
}

int catalog_drop_tenant(catalog *c, const char *name, bool if_exists, int64_t after_ns,
                        uint64_t **db_ids, size_t *ndb, err *e) {
    *db_ids = NULL;
    *ndb = 0;
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct tenant *t = cat_find_tenant(c, name, true);
    if (!t) {
        if (!if_exists) rc = tenant_not_found(e, name);
    } else if (!strcmp(name, "cnosdb")) {
        rc = err_set(e, 422, EC_META, "Tenant \"cnosdb\" forbid drop");
    } else if (after_ns > 0) {
        int64_t at;
        if (__builtin_add_overflow(time_now_ns(), after_ns, &at)) at = INT64_MAX;
        rc = set_tenant_drop_at_locked(c, t, at, e);
    } else {
        rc = drop_tenant_locked(c, t, db_ids, ndb, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_recover_tenant(catalog *c, const char *name, bool if_exists, err *e) {
    schema_lock(&c->ddl, true);
    int rc = 0;
    struct tenant *t = cat_find_tenant(c, name, true);
    if (!t) {
        if (!if_exists) rc = tenant_not_found(e, name);
    } else if (t->drop_at) {
        rc = set_tenant_drop_at_locked(c, t, 0, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int cat_take_due_tenant_locked(catalog *c, int64_t now_ns, uint64_t *dropped_id, err *e) {
    for (size_t i = 0; i < c->ntenants; i++) {
        struct tenant *t = &c->tenants[i];
        if (!t->drop_at || t->drop_at > now_ns) continue;
        /* one database per call, so the caller frees each one's storage in turn */
        size_t pos = 0;
        uint64_t v;
        while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
            struct mdb *d = (struct mdb *)(uintptr_t)v;
            if (strcmp(d->tenant, t->name)) continue;
            uint64_t id = d->id;
            if (cat_drop_db_locked(c, d, e) < 0) return -1;
            *dropped_id = id;
            return 1;
        }
        log_info("tenant %s: its delayed drop came due; dropped", t->name);
        if (commit_locked(c, json_pack("{s:s, s:I}", "t", "drop_tenant", "id", (json_int_t)t->id),
                          cat_apply_drop_tenant, e) < 0)
            return -1;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ members, roles, grants */

static int role_not_found(err *e, const char *name) {
    return err_set(e, 422, EC_META, "The role %s not found", name);
}

/* The tenant by name for a change to its members or roles, under ddl. */
static struct tenant *tenant_for_change(catalog *c, const char *name, err *e) {
    struct tenant *t = cat_find_tenant(c, name, false);
    if (!t) tenant_not_found(e, name);
    return t;
}

/* Rewrites t's record with its member list changed: user_id gets role (NULL: removed). */
static int commit_member_locked(catalog *c, const struct tenant *t, uint64_t user_id,
                                const char *role, err *e) {
    json_t *j = cat_tenant_json(t), *ms = json_array();
    for (size_t i = 0; i < t->nmembers; i++)
        if (t->members[i].user_id != user_id)
            json_array_append_new(ms,
                                  json_pack("{s:I, s:s}", "user", (json_int_t)t->members[i].user_id,
                                            "role", t->members[i].role));
    if (role)
        json_array_append_new(ms,
                              json_pack("{s:I, s:s}", "user", (json_int_t)user_id, "role", role));
    json_object_set_new(j, "members", ms);
    return commit_locked(c, j, cat_apply_tenant, e);
}

int catalog_set_member(catalog *c, const char *tenant, const char *user, const char *role, bool add,
                       err *e) {
    schema_lock(&c->ddl, true);
    int rc = -1;
    struct tenant *t = tenant_for_change(c, tenant, e);
    struct user *u = t ? cat_find_user(c, user) : NULL;
    bool member = u && find_member(t, u->id);
    if (!t) {
    } else if (!u) {
        user_not_found(e, user);
    } else if (role && !system_role(role) && !find_role(t, role)) {
        role_not_found(e, role);
    } else if (role && add && member) {
        err_set(e, 422, EC_META, "The member %s of tenant %s already exists", user, tenant);
    } else if (role && !member && object_limit(t, "max_users_number") >= 0 &&
               (int64_t)t->nmembers + 1 > object_limit(t, "max_users_number")) {
        over_limit(e, tenant, "the number of members", object_limit(t, "max_users_number"));
    } else if (!role && !member) {
        err_set(e, 422, EC_META, "The member %s of tenant %s not found", user, tenant);
    } else {
        rc = commit_member_locked(c, t, u->id, role, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

/* t's roles as a JSON array, role `skip` left out. */
static json_t *roles_json_except(const struct tenant *t, const char *skip) {
    json_t *j = cat_tenant_json(t), *rs = json_array(), *all = json_object_get(j, "roles");
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *r = json_array_get(all, i);
        if (!skip || strcmp(json_string_value(json_object_get(r, "name")), skip))
            json_array_append(rs, r);
    }
    json_decref(j);
    return rs;
}

static int commit_roles_locked(catalog *c, const struct tenant *t, json_t *roles, err *e) {
    json_t *j = cat_tenant_json(t);
    json_object_set_new(j, "roles", roles);
    return commit_locked(c, j, cat_apply_tenant, e);
}

int catalog_create_role(catalog *c, const char *tenant, const char *name, const char *inherit,
                        bool if_not_exists, err *e) {
    schema_lock(&c->ddl, true);
    int rc = -1;
    struct tenant *t = tenant_for_change(c, tenant, e);
    if (!t) {
    } else if (system_role(name) || find_role(t, name)) {
        rc = if_not_exists ? 0 : err_set(e, 422, EC_META, "The role %s already exists", name);
    } else {
        json_t *rs = roles_json_except(t, NULL);
        json_t *r = json_pack("{s:s, s:[]}", "name", name, "grants");
        if (inherit) json_object_set_new(r, "inherit", json_string(inherit));
        json_array_append_new(rs, r);
        rc = commit_roles_locked(c, t, rs, e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_drop_role(catalog *c, const char *tenant, const char *name, bool if_exists, err *e) {
    schema_lock(&c->ddl, true);
    int rc = -1;
    struct tenant *t = tenant_for_change(c, tenant, e);
    if (!t) {
    } else if (system_role(name)) {
        err_set(e, 422, EC_META, "Couldn't drop system role %s", name);
    } else if (!find_role(t, name)) {
        rc = if_exists ? 0 : role_not_found(e, name);
    } else {
        rc = commit_roles_locked(c, t, roles_json_except(t, name), e);
    }
    schema_unlock(&c->ddl);
    return rc;
}

int catalog_grant(catalog *c, const char *tenant, const char *role, const char *db,
                  enum cat_priv priv, bool revoke, err *e) {
    schema_lock(&c->ddl, true);
    int rc = -1;
    struct tenant *t = tenant_for_change(c, tenant, e);
    struct role *r = t ? find_role(t, role) : NULL;
    if (!t) {
    } else if (!r) {
        role_not_found(e, role);
    } else if (!cat_find_db(c, tenant, db)) {
        err_set(e, 422, EC_DB_NOT_FOUND, "Database not found: \"%s\"", db);
    } else {
        int have = 0;
        for (size_t k = 0; k < r->ngrants; k++)
            if (!strcmp(r->grants[k].db, db)) have = r->grants[k].priv;
        /* GRANT raises to priv; REVOKE takes priv (and what includes it) away */
        int want = revoke ? (int)priv - 1 : (have > (int)priv ? have : (int)priv);
        if (revoke && have < (int)priv) {
            err_set(e, 422, EC_META, "cannot revoke the privilege %s on database %s of role %s",
                    priv_name(priv), db, role);
        } else {
            json_t *rs = roles_json_except(t, NULL);
            for (size_t i = 0; i < json_array_size(rs); i++) {
                json_t *rj = json_array_get(rs, i);
                if (strcmp(json_string_value(json_object_get(rj, "name")), role)) continue;
                json_t *gs = json_array();
                for (size_t k = 0; k < r->ngrants; k++)
                    if (strcmp(r->grants[k].db, db))
                        json_array_append_new(gs, json_pack("{s:s, s:i}", "db", r->grants[k].db,
                                                            "priv", (int)r->grants[k].priv));
                if (want > 0)
                    json_array_append_new(gs, json_pack("{s:s, s:i}", "db", db, "priv", want));
                json_object_set_new(rj, "grants", gs);
            }
            rc = commit_roles_locked(c, t, rs, e);
        }
    }
    schema_unlock(&c->ddl);
    return rc;
}
