/* The views of who may do what (see sysview.h), from a snapshot of the catalog's users and
 * tenants (catalog_access_snapshot), scoped as CnosDB scopes them:
 *   information_schema.ROLES                the tenant's roles; to its owners and administrators
 *   information_schema.MEMBERS              the tenant's members; likewise
 *   information_schema.ENABLED_ROLES        the caller's own role in the tenant
 *   information_schema.DATABASE_PRIVILEGES  the grants of the tenant's custom roles; a member
 *                                           of a custom role sees its role's only
 *   cluster_schema.TENANTS, USERS           administrators, in the tenant cnosdb only (other
 *                                           tenants have no cluster_schema) */
#include "sql/sysview.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const snap_tenant *session_tenant(const access_snap *a, const sql_session *s) {
    for (size_t i = 0; i < a->ntenants; i++)
        if (!strcmp(a->tenants[i].name, s->tenant)) return &a->tenants[i];
    return NULL;
}

/* Whether the session may see the tenant's roles and members: its owners and administrators. */
static bool sees_tenant_roles(const sql_session *s) {
    if (s->is_admin) return true;
    err e;
    return catalog_require(s->cat, s->user, s->tenant, NEED_ROLES, NULL, &e) == 0;
}

static const char *priv_text(uint8_t p) {
    return p == PRIV_R ? "Read" : p == PRIV_W ? "Write" : "All";
}

static value null_str(void) {
    return (value){.type = VT_STR, .null = true};
}

/* ------------------------------------------------------------------ information_schema */

static const struct sysview_col role_cols[] = {
    {"role_name", VT_STR}, {"role_type", VT_STR}, {"inherit_role", VT_STR}};

static int role_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    if (!sees_tenant_roles(s)) return 0;
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    const snap_tenant *t = session_tenant(&a, s);
    if (!t) return 0;
    static const char *const sys[] = {"owner", "member"};
    for (size_t i = 0; i < 2; i++) {
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, sys[i]);
        row[1] = tb_str(tb->a, "system");
        row[2] = null_str();
    }
    for (size_t i = 0; i < t->nroles; i++) {
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, t->roles[i].name);
        row[1] = tb_str(tb->a, "custom");
        row[2] = t->roles[i].inherit ? tb_str(tb->a, t->roles[i].inherit) : null_str();
    }
    return 0;
}

const struct sysview sysview_roles = {"information_schema", "roles", role_cols,
                                      sizeof role_cols / sizeof *role_cols, role_rows};

static const struct sysview_col member_cols[] = {{"user_name", VT_STR}, {"role_name", VT_STR}};

static int member_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    /* every member of the session's tenant sees its member list, as CnosDB shows it */
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    const snap_tenant *t = session_tenant(&a, s);
    for (size_t i = 0; t && i < t->nmembers; i++) {
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, t->members[i].user);
        row[1] = tb_str(tb->a, t->members[i].role);
    }
    return 0;
}

const struct sysview sysview_members = {"information_schema", "members", member_cols,
                                        sizeof member_cols / sizeof *member_cols, member_rows};

static const struct sysview_col enabled_cols[] = {{"role_name", VT_STR}};

static int enabled_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    if (s->role) tb_row(tb)[0] = tb_str(tb->a, s->role);
    return 0;
}

const struct sysview sysview_enabled_roles = {"information_schema", "enabled_roles", enabled_cols,
                                              sizeof enabled_cols / sizeof *enabled_cols,
                                              enabled_rows};

static const struct sysview_col priv_cols[] = {{"tenant_name", VT_STR},
                                               {"database_name", VT_STR},
                                               {"privilege_type", VT_STR},
                                               {"role_name", VT_STR}};

static int priv_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    bool all = sees_tenant_roles(s);
    if (!all && !s->role) return 0;
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    const snap_tenant *t = session_tenant(&a, s);
    for (size_t i = 0; t && i < t->nroles; i++) {
        const snap_role *r = &t->roles[i];
        if (!all && strcmp(r->name, s->role)) continue;
        for (size_t g = 0; g < r->ngrants; g++) {
            value *row = tb_row(tb);
            row[0] = tb_str(tb->a, t->name);
            row[1] = tb_str(tb->a, r->grants[g].db);
            row[2] = tb_str(tb->a, priv_text(r->grants[g].priv));
            row[3] = tb_str(tb->a, r->name);
        }
    }
    return 0;
}

const struct sysview sysview_database_privileges = {"information_schema", "database_privileges",
                                                    priv_cols, sizeof priv_cols / sizeof *priv_cols,
                                                    priv_rows};

/* ------------------------------------------------------------------ cluster_schema */

/* cluster_schema exists in the tenant cnosdb only; its rows are for administrators. */
static int cluster_scope(const sql_session *s, const char *view, err *e) {
    if (strcmp(s->tenant, "cnosdb"))
        return err_set(e, 422, EC_TABLE_NOT_FOUND, "Table not found: \"%s.cluster_schema.%s\"",
                       s->tenant, view);
    return s->is_admin ? 1 : 0;
}

/* A JSON object as compact text, in the order its keys were set (CnosDB's serde order). */
static value json_cell(arena *a, json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    value v = tb_str(a, text ? text : "{}");
    free(text);
    return v;
}

/* A stored limiter (flat: object_config's keys, and per request kind local_/remote_ numbers)
 * as CnosDB's TenantLimiterConfig serializes: object_config then request_config, every field
 * and every request kind present, null when unset, each bucket as {max, initial[, refill,
 * interval]}. */
static json_t *num_or_null(json_t *o, const char *k) {
    json_t *v = o ? json_object_get(o, k) : NULL;
    return v ? json_incref(v) : json_null();
}

static json_t *limiter_json(const char *stored) {
    json_t *in = stored ? json_loads(stored, 0, NULL) : NULL;
    if (!in) return json_null();
    static const char *const obj_keys[] = {"max_users_number", "max_databases", "max_shard_number",
                                           "max_replicate_number", "max_retention_time"};
    static const char *const kinds[] = {"coord_data_in", "coord_data_out", "coord_queries",
                                        "coord_writes",  "http_data_in",   "http_data_out",
                                        "http_queries",  "http_writes"};
    json_t *out = json_object(), *oc = json_object_get(in, "object_config");
    if (oc) {
        json_t *o = json_object();
        for (size_t i = 0; i < sizeof obj_keys / sizeof *obj_keys; i++)
            json_object_set_new(o, obj_keys[i], num_or_null(oc, obj_keys[i]));
        json_object_set_new(out, "object_config", o);
    } else {
        json_object_set_new(out, "object_config", json_null());
    }
    json_t *rc = json_object();
    bool any = false;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        json_t *b = json_object_get(in, kinds[i]);
        if (!b) {
            json_object_set_new(rc, kinds[i], json_null());
            continue;
        }
        any = true;
        json_t *remote = json_object(), *local = json_object(), *k = json_object();
        json_object_set_new(remote, "max", num_or_null(b, "remote_max"));
        json_object_set_new(remote, "initial", num_or_null(b, "remote_initial"));
        json_object_set_new(remote, "refill", num_or_null(b, "remote_refill"));
        json_object_set_new(remote, "interval", num_or_null(b, "remote_interval"));
        json_object_set_new(local, "max", num_or_null(b, "local_max"));
        json_object_set_new(local, "initial", num_or_null(b, "local_initial"));
        json_object_set_new(k, "remote_bucket", remote);
        json_object_set_new(k, "local_bucket", local);
        json_object_set_new(rc, kinds[i], k);
    }
    if (any)
        json_object_set_new(out, "request_config", rc);
    else {
        json_decref(rc);
        json_object_set_new(out, "request_config", json_null());
    }
    json_decref(in);
    return out;
}

/* A DROP_AFTER duration ('7m', '2h', '1d', 'INF') as CnosDB's Duration serializes:
 * {"time_num": 7, "unit": "Minutes"}; the text itself when it is none of these. */
static json_t *drop_after_json(const char *d) {
    if (!d) return json_null();
    char *end;
    unsigned long long n = strtoull(d, &end, 10);
    const char *unit = NULL;
    if (!strcasecmp(d, "inf")) {
        n = 0;
        unit = "Inf";
    } else if (end != d) {
        if (!strcasecmp(end, "m") || !strcasecmp(end, "min") || !strcasecmp(end, "minute") ||
            !strcasecmp(end, "minutes"))
            unit = "Minutes";
        else if (!strcasecmp(end, "h") || !strcasecmp(end, "hour") || !strcasecmp(end, "hours"))
            unit = "Hour";
        else if (!strcasecmp(end, "d") || !strcasecmp(end, "day") || !strcasecmp(end, "days") ||
                 !*end)
            unit = "Day";
    }
    if (!unit) return json_string(d);
    return json_pack("{s:I,s:s}", "time_num", (json_int_t)n, "unit", unit);
}

static const struct sysview_col tenant_cols[] = {{"tenant_name", VT_STR},
                                                 {"tenant_options", VT_STR}};

static int tenant_rows(sql_session *s, struct table_builder *tb, err *e) {
    int scope = cluster_scope(s, "tenants", e);
    if (scope <= 0) return scope;
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    for (size_t i = 0; i < a.ntenants; i++) {
        const snap_tenant *t = &a.tenants[i];
        /* CnosDB's TenantOptions as serde writes it: every key, null when unset */
        json_t *o = json_object();
        json_object_set_new(o, "comment", t->comment ? json_string(t->comment) : json_null());
        json_object_set_new(o, "limiter_config", limiter_json(t->limiter));
        json_object_set_new(o, "drop_after", drop_after_json(t->drop_after));
        json_object_set_new(o, "tenant_is_hidden", json_boolean(t->hidden));
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, t->name);
        row[1] = json_cell(tb->a, o);
    }
    return 0;
}

const struct sysview sysview_tenants = {"cluster_schema", "tenants", tenant_cols,
                                        sizeof tenant_cols / sizeof *tenant_cols, tenant_rows};

static const struct sysview_col user_cols[] = {
    {"user_name", VT_STR}, {"is_admin", VT_BOOL}, {"user_options", VT_STR}};

static int user_rows(sql_session *s, struct table_builder *tb, err *e) {
    int scope = cluster_scope(s, "users", e);
    if (scope <= 0) return scope;
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    for (size_t i = 0; i < a.nusers; i++) {
        const snap_user *u = &a.users[i];
        /* the password never shows, only that there is one */
        json_t *o = json_pack("{s:s}", "hash_password", "*****");
        if (u->must_change >= 0)
            json_object_set_new(o, "must_change_password", json_boolean(u->must_change));
        if (u->rsa_key) json_object_set_new(o, "rsa_public_key", json_string(u->rsa_key));
        if (u->comment) json_object_set_new(o, "comment", json_string(u->comment));
        if (u->granted_admin >= 0)
            json_object_set_new(o, "granted_admin", json_boolean(u->granted_admin));
        value *row = tb_row(tb);
        row[0] = tb_str(tb->a, u->name);
        row[1] = (value){.type = VT_BOOL, .v.b = u->is_admin};
        row[2] = json_cell(tb->a, o);
    }
    return 0;
}

const struct sysview sysview_users = {"cluster_schema", "users", user_cols,
                                      sizeof user_cols / sizeof *user_cols, user_rows};
