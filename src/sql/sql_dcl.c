/* DCL (users, tenants, roles, grants) and who may run which statement: see sql_int.h.
 *
 * sqlx_authorize is the one place that maps a statement to the privilege it needs
 * (catalog_require); reads of tables are checked where the planner resolves each table
 * (plan_from.c), so a query over two databases needs READ on both. The rules are CnosDB's:
 *   queries, SHOW TABLES, DESCRIBE ...      READ on the database
 *   SHOW DATABASES                          READ on every database of the tenant
 *   INSERT, UPDATE, DELETE, COPY INTO table WRITE on the database
 *   CREATE DATABASE                         WRITE on every database of the tenant
 *   ALTER/DROP/RECOVER DATABASE, table DDL  ALL on the database
 *   roles, grants, members of a tenant      its owners
 *   users, tenants, COMPACT                 administrators; root's own settings: root */
#include "sql/sql_int.h"

#include "util/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ authorization */

static const char *stmt_db(const sql_session *s, const sql_stmt *st) {
    return st->table.db ? st->table.db : s->db;
}

int sqlx_authorize(sql_session *s, const sql_stmt *st, err *e) {
    if (s->must_change && st->kind != ST_ALTER_USER)
        return err_set(e, 422, EC_PRIVILEGE, "Insufficient privileges, expected [change password]");
    if (s->is_admin && !(st->kind == ST_ALTER_USER && strcmp(st->name, "root") == 0)) return 0;
    enum cat_need need;
    const char *db = NULL, *tenant = s->tenant;
    switch (st->kind) {
    case ST_EXPLAIN:
        return st->inner ? sqlx_authorize(s, st->inner, e) : 0;
    case ST_INSERT:
    case ST_DELETE:
    case ST_UPDATE:
    case ST_COPY_INTO_TABLE:
        need = NEED_WRITE, db = stmt_db(s, st);
        break;
    case ST_CREATE_DATABASE:
        need = NEED_WRITE;
        break;
    case ST_ALTER_DATABASE:
    case ST_DROP_DATABASE:
    case ST_RECOVER_DATABASE:
        need = NEED_ALL, db = st->name;
        break;
    case ST_CREATE_TABLE:
    case ST_ALTER_TABLE:
    case ST_DROP_TABLE:
    case ST_CREATE_EXTERNAL_TABLE:
    case ST_CREATE_STREAM_TABLE:
        need = NEED_ALL, db = stmt_db(s, st);
        break;
    case ST_CREATE_STREAM: /* a continuous INSERT: what the INSERT needs */
        return sqlx_authorize(s, st->inner, e);
    case ST_DROP_STREAM:
    case ST_SHOW_STREAMS:
        need = NEED_READ;
        break;
    case ST_SHOW_DATABASES:
        need = NEED_READ;
        break;
    case ST_SHOW_TABLES:
    case ST_SHOW_SERIES:
    case ST_SHOW_TAG_VALUES:
        need = NEED_READ, db = st->on_db ? st->on_db : s->db;
        break;
    case ST_DESCRIBE_DATABASE:
        need = NEED_READ, db = st->name;
        break;
    case ST_DESCRIBE_TABLE:
        need = NEED_READ, db = stmt_db(s, st);
        break;
    case ST_CREATE_TENANT:
    case ST_DROP_TENANT:
    case ST_RECOVER_TENANT:
    case ST_CREATE_USER:
    case ST_DROP_USER:
    case ST_COMPACT:
        need = NEED_SYSTEM;
        break;
    case ST_ALTER_TENANT:
        if (st->alter_action == TA_SET || st->alter_action == TA_UNSET)
            need = NEED_SYSTEM;
        else
            need = NEED_ROLES, tenant = st->name;
        break;
    case ST_ALTER_USER: {
        bool self = strcmp(st->name, s->user) == 0, admin_flag = false;
        for (uint32_t i = 0; i < st->nopts; i++)
            if (!strcasecmp(st->opts[i].name, "GRANTED_ADMIN")) admin_flag = true;
        if (!strcmp(st->name, "root"))
            need = NEED_ROOT;
        else if (admin_flag || st->name2 || !self)
            need = NEED_SYSTEM;
        else
            return 0; /* a user's own password, comment, key */
        break;
    }
    case ST_CREATE_ROLE:
    case ST_DROP_ROLE:
    case ST_GRANT:
    case ST_REVOKE:
        need = NEED_ROLES;
        break;
    default:
        return 0; /* queries: per table, as they are planned */
    }
    return catalog_require(s->cat, s->user, tenant, need, db, e);
}

const char *sqlx_secret_free_text(arena *a, const sql_stmt *st, const char *text, size_t *len) {
    if (st->kind != ST_CREATE_USER && st->kind != ST_ALTER_USER) return text;
    for (uint32_t i = 0; i < st->nopts; i++)
        if (!strcasecmp(st->opts[i].name, "PASSWORD")) {
            char *t = arena_printf(a, "%s USER %s ... PASSWORD = '*****' ...",
                                   st->kind == ST_CREATE_USER ? "CREATE" : "ALTER", st->name);
            *len = strlen(t);
            return t;
        }
    return text;
}

/* ------------------------------------------------------------------ options */

static int want_string(const sql_option *o, const char **out, err *e) {
    if (o->v.type != VT_STR || o->v.null)
        return err_set(e, 422, EC_SQL_PARSE, "sql parser error: Expected a string for %s", o->name);
    *out = xstrndup(o->v.v.s.p, o->v.v.s.len);
    return 0;
}

static int want_bool(const sql_option *o, int *out, err *e) {
    if (o->v.type != VT_BOOL || o->v.null)
        return err_set(e, 422, EC_SQL_PARSE, "sql parser error: Expected a boolean for %s",
                       o->name);
    *out = o->v.v.b;
    return 0;
}

static void free_user_opts(user_opts *o) {
    free((char *)o->password);
    free((char *)o->comment);
    free((char *)o->rsa_key);
}

static int user_options(const sql_stmt *st, user_opts *o, err *e) {
    *o = (user_opts){NULL, NULL, NULL, -1, -1};
    for (uint32_t i = 0; i < st->nopts; i++) {
        const sql_option *o1 = &st->opts[i];
        const char *n = o1->name;
        int rc;
        if (!strcasecmp(n, "PASSWORD"))
            rc = want_string(o1, &o->password, e);
        else if (!strcasecmp(n, "COMMENT"))
            rc = want_string(o1, &o->comment, e);
        else if (!strcasecmp(n, "RSA_PUBLIC_KEY"))
            rc = want_string(o1, &o->rsa_key, e);
        else if (!strcasecmp(n, "MUST_CHANGE_PASSWORD"))
            rc = want_bool(o1, &o->must_change, e);
        else if (!strcasecmp(n, "GRANTED_ADMIN"))
            rc = want_bool(o1, &o->granted_admin, e);
        else
            rc = err_set(e, 422, EC_SQL_PARSE,
                         "sql parser error: Expected PASSWORD, MUST_CHANGE_PASSWORD, "
                         "RSA_PUBLIC_KEY, COMMENT or GRANTED_ADMIN, found: %s",
                         n);
        if (rc < 0) {
            free_user_opts(o);
            return -1;
        }
    }
    return 0;
}

/* A limiter option's value as JSON (numbers stay numbers). */
static json_t *opt_json(const sql_option *o) {
    switch (o->v.type) {
    case VT_I64:
        return json_integer(o->v.v.i);
    case VT_U64:
        return json_integer((json_int_t)o->v.v.u);
    case VT_F64:
        return json_real(o->v.v.f);
    case VT_BOOL:
        return json_boolean(o->v.v.b);
    case VT_STR:
        return json_stringn(o->v.v.s.p, o->v.v.s.len);
    default:
        return json_null();
    }
}

static void lower(char *s) {
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

/* CREATE/ALTER TENANT options: COMMENT, DROP_AFTER, and the grouped limits (object_config
 * max_users_number = 3 ..., http_queries remote_max = 10 ...), kept as a JSON object of groups
 * for cluster_schema.tenants and the request limiter. Strings in o are malloc'ed. */
static int tenant_options(const sql_stmt *st, tenant_opts *o, err *e) {
    memset(o, 0, sizeof *o);
    json_t *lim = NULL;
    int rc = 0;
    for (uint32_t i = 0; i < st->nopts && !rc; i++) {
        const sql_option *o1 = &st->opts[i];
        bool unset = st->kind == ST_ALTER_TENANT && st->alter_action == TA_UNSET;
        if (o1->group) {
            if (!lim) lim = json_object();
            char *g = xstrdup(o1->group), *k = xstrdup(o1->name);
            lower(g);
            lower(k);
            json_t *grp = json_object_get(lim, g);
            if (!grp) json_object_set_new(lim, g, grp = json_object());
            json_object_set_new(grp, k, opt_json(o1));
            free(g);
            free(k);
        } else if (!strcasecmp(o1->name, "COMMENT")) {
            if (unset)
                o->unset_comment = true;
            else
                rc = want_string(o1, &o->comment, e);
        } else if (!strcasecmp(o1->name, "DROP_AFTER")) {
            if (unset)
                o->unset_drop_after = true;
            else
                rc = want_string(o1, &o->drop_after, e);
        } else if (unset && !strcasecmp(o1->name, "_LIMITER")) {
            o->unset_limiter = true;
        } else {
            rc = err_set(e, 422, EC_SQL_PARSE,
                         "sql parser error: Expected COMMENT, DROP_AFTER or a limit, found: %s",
                         o1->name);
        }
    }
    if (lim && !rc) o->limiter = json_dumps(lim, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(lim);
    return rc;
}

static void free_tenant_opts(tenant_opts *o) {
    free((char *)o->comment);
    free((char *)o->drop_after);
    free((char *)o->limiter);
}

/* ------------------------------------------------------------------ statements */

int sqlx_dcl(sql_session *s, const sql_stmt *st, err *e) {
    int rc = 0;
    switch (st->kind) {
    case ST_CREATE_USER:
    case ST_ALTER_USER: {
        if (st->kind == ST_ALTER_USER && st->name2)
            return catalog_rename_user(s->cat, st->name, st->name2, e);
        user_opts o;
        if (user_options(st, &o, e) < 0) return -1;
        rc = st->kind == ST_CREATE_USER
                 ? catalog_create_user(s->cat, st->name, &o, st->if_not_exists, e)
                 : catalog_alter_user(s->cat, st->name, &o, e);
        free_user_opts(&o);
        return rc;
    }
    case ST_DROP_USER:
        return catalog_drop_user(s->cat, st->name, st->if_exists, e);
    case ST_CREATE_TENANT: {
        tenant_opts o;
        if (tenant_options(st, &o, e) == 0)
            rc = catalog_create_tenant(s->cat, st->name, &o, st->if_not_exists, e);
        else
            rc = -1;
        free_tenant_opts(&o);
        return rc;
    }
    case ST_ALTER_TENANT:
        switch (st->alter_action) {
        case TA_ADD_USER:
        case TA_SET_USER:
            return catalog_set_member(s->cat, st->name, st->name2, st->role,
                                      st->alter_action == TA_ADD_USER, e);
        case TA_REMOVE_USER:
            return catalog_set_member(s->cat, st->name, st->name2, NULL, false, e);
        default: {
            tenant_opts o;
            if (tenant_options(st, &o, e) < 0)
                rc = -1;
            else if (o.limiter && !strcmp(st->name, "cnosdb"))
                /* limits on the system tenant could lock every administrator out */
                rc = err_set(e, 422, EC_META, "Tenant cnosdb cannot be restricted");
            else
                rc = catalog_alter_tenant(s->cat, st->name, &o, e);
            free_tenant_opts(&o);
            return rc;
        }
        }
    case ST_DROP_TENANT: {
        int64_t after;
        if (sqlx_after_option(st, &after, e) < 0) return -1;
        uint64_t *ids;
        size_t n;
        rc = catalog_drop_tenant(s->cat, st->name, st->if_exists, after, &ids, &n, e);
        for (size_t i = 0; rc == 0 && i < n; i++) rc = engine_drop_db(s->eng, ids[i], e);
        free(ids);
        return rc;
    }
    case ST_RECOVER_TENANT:
        return catalog_recover_tenant(s->cat, st->name, st->if_exists, e);
    case ST_CREATE_ROLE:
        if (st->role && strcasecmp(st->role, "owner") && strcasecmp(st->role, "member"))
            return err_set(e, 422, EC_SEMANTIC, "Semantic error: Expected [owner,member], found %s",
                           st->role);
        return catalog_create_role(s->cat, s->tenant, st->name,
                                   !st->role                        ? NULL
                                   : !strcasecmp(st->role, "owner") ? "owner"
                                                                    : "member",
                                   st->if_not_exists, e);
    case ST_DROP_ROLE:
        return catalog_drop_role(s->cat, s->tenant, st->name, st->if_exists, e);
    case ST_GRANT:
    case ST_REVOKE:
        for (uint32_t i = 0; i < st->npriv && rc == 0; i++) {
            enum cat_priv p = st->privileges[i] == PRIV_READ    ? PRIV_R
                              : st->privileges[i] == PRIV_WRITE ? PRIV_W
                                                                : PRIV_A;
            rc = catalog_grant(s->cat, s->tenant, st->name, st->priv_dbs[i], p,
                               st->kind == ST_REVOKE, e);
        }
        return rc;
    default:
        return err_set(e, 500, EC_INTERNAL, "not a DCL statement");
    }
}
