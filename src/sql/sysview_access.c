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
    if (!sees_tenant_roles(s)) return 0;
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

static const struct sysview_col tenant_cols[] = {{"tenant_name", VT_STR},
                                                 {"tenant_options", VT_STR}};

static int tenant_rows(sql_session *s, struct table_builder *tb, err *e) {
    int scope = cluster_scope(s, "tenants", e);
    if (scope <= 0) return scope;
    access_snap a;
    catalog_access_snapshot(s->cat, tb->a, &a);
    for (size_t i = 0; i < a.ntenants; i++) {
        const snap_tenant *t = &a.tenants[i];
        json_t *o = json_object();
        if (t->comment) json_object_set_new(o, "comment", json_string(t->comment));
        json_t *lim = t->limiter ? json_loads(t->limiter, 0, NULL) : NULL;
        if (lim) json_object_set_new(o, "limiter_config", lim);
        if (t->drop_after) json_object_set_new(o, "drop_after", json_string(t->drop_after));
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
