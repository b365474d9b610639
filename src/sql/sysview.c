/* System views: name resolution and the leaf that yields a view's rows. See sysview.h. */
#include "sql/sysview.h"

#include <strings.h>

static const char *const schemas[] = {"information_schema", "cluster_schema"};

static const struct sysview *const views[] = {
    &sysview_databases,           &sysview_tables,  &sysview_columns, &sysview_queries,
    &sysview_resource_status,     &sysview_roles,   &sysview_members, &sysview_enabled_roles,
    &sysview_database_privileges, &sysview_tenants, &sysview_users,
};

bool sysview_is_schema(const char *name) {
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++)
        if (!strcasecmp(name, schemas[i])) return true;
    return false;
}

int sysview_open(sql_session *s, qctx *q, const char *schema, const char *name, op **out,
                 const char *const **names, err *e) {
    const struct sysview *v = NULL;
    for (size_t i = 0; i < sizeof views / sizeof *views && !v; i++)
        if (!strcasecmp(views[i]->schema, schema) && !strcasecmp(views[i]->name, name))
            v = views[i];
    if (!v)
        return err_set(e, 422, EC_TABLE_NOT_FOUND, "Table not found: \"%s.%s.%s\"", s->tenant,
                       schema, name);
    const char **cn = arena_alloc(q->a, sizeof *cn * v->ncols);
    uint8_t *types = arena_alloc(q->a, v->ncols);
    for (uint32_t c = 0; c < v->ncols; c++) {
        cn[c] = v->cols[c].name;
        types[c] = v->cols[c].type;
    }
    struct table_builder tb;
    tb_init(&tb, q->a, v->ncols, cn, types);
    if (v->rows(s, &tb, e) < 0) return -1;
    *out = tb_op(&tb, q);
    *names = cn;
    return 0;
}
