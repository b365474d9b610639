/* Query management in SQL: information_schema.queries, SHOW QUERIES and KILL QUERY, over the
 * registry of running statements (sql/queries.h), each scoped to the session's tenant. See
 * sysview.h. */
#include "sql/sysview.h"

#include "sql/queries.h"

#include <stdio.h>
#include <string.h>

/* Whose statements the session sees and may kill: an administrator every one of its tenant,
 * anyone else their own (the tenant's owners, too, once roles exist). */
/* Whose queries the session may see and kill: all of the tenant's for its administrators and
 * owners (NULL), else the user's own. */
static const char *who(const sql_session *s) {
    err e;
    if (s->is_admin || catalog_require(s->cat, s->user, s->tenant, NEED_ROLES, NULL, &e) == 0)
        return NULL;
    return s->user;
}

static value id_cell(arena *a, uint64_t id) {
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)id);
    return tb_str(a, text);
}

static value f64_cell(double d) {
    value v = {.type = VT_F64};
    v.v.f = d;
    return v;
}

static const struct sysview_col query_cols[] = {
    {"query_id", VT_STR},    {"query_type", VT_STR},      {"query_text", VT_STR},
    {"user_id", VT_STR},     {"user_name", VT_STR},       {"tenant_id", VT_STR},
    {"tenant_name", VT_STR}, {"database_name", VT_STR},   {"state", VT_STR},
    {"duration", VT_F64},    {"processed_count", VT_U64}, {"error_count", VT_U64},
};

static int query_rows(sql_session *s, struct table_builder *tb, err *e) {
    (void)e;
    query_row *qs;
    size_t n;
    queries_list(s->tenant, who(s), tb->a, &qs, &n);
    for (size_t i = 0; i < n; i++) {
        value *row = tb_row(tb);
        row[0] = id_cell(tb->a, qs[i].id);
        row[1] = tb_str(tb->a, "batch");
        row[2] = tb_str(tb->a, qs[i].text);
        /* users and tenants have no ids apart from their names here: user_id, tenant_id NULL */
        row[4] = tb_str(tb->a, qs[i].user);
        row[6] = tb_str(tb->a, qs[i].tenant);
        row[7] = tb_str(tb->a, qs[i].db);
        row[8] = tb_str(tb->a, qs[i].state);
        row[9] = f64_cell(qs[i].duration_s);
        row[10] = tb_u64(qs[i].processed);
        row[11] = tb_u64(qs[i].errors);
    }
    return 0;
}

const struct sysview sysview_queries = {"information_schema", "queries", query_cols,
                                        sizeof query_cols / sizeof *query_cols, query_rows};

/* SHOW QUERIES: the view's columns CnosDB's statement shows. */
int sqlx_show_queries(sql_session *s, sql_result *r, err *e) {
    static const uint32_t pick[] = {0, 1, 2, 4, 6, 7, 8, 9};
    enum { NPICK = sizeof pick / sizeof *pick };
    op *o;
    const char *const *names;
    if (sysview_open(s, &r->q, "information_schema", "queries", &o, &names, e) < 0) return -1;
    bexpr **cols = arena_alloc(s->a, sizeof *cols * NPICK);
    const char **shown = arena_alloc(s->a, sizeof *shown * NPICK);
    for (uint32_t k = 0; k < NPICK; k++) {
        cols[k] = bx_col(s->a, pick[k], o->types[pick[k]], 0);
        shown[k] = names[pick[k]];
    }
    r->root = op_project(&r->q, o, cols, NPICK);
    set_schema(r, NPICK, shown, r->root);
    return 0;
}

int sqlx_kill_query(sql_session *s, const sql_stmt *st, err *e) {
    return queries_kill(s->tenant, who(s), st->query_id, e);
}
