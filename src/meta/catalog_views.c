/* Read-only listings of the catalog for the system views (sql/sysview.h): a tenant's databases
 * with their options, its tables, and where a database id stands (for
 * information_schema.resource_status). Each call holds the read lock for one pass over the
 * maps and hands out copies (or retained table versions), so a view's rows are one consistent
 * picture of the catalog, built without blocking schema changes for longer than a lookup of
 * every name would. See catalog.h. */
#include "meta/catalog_int.h"

#include <stdlib.h>

static struct mdb *db_of(uint64_t v) {
    return (struct mdb *)(uintptr_t)v;
}

static int cmp_db_view(const void *a, const void *b) {
    return strcmp(((const meta_db_view *)a)->name, ((const meta_db_view *)b)->name);
}

int catalog_view_dbs(catalog *c, const char *tenant, bool hidden, arena *a, meta_db_view **out,
                     size_t *n) {
    pthread_rwlock_rdlock(&c->lock);
    size_t cnt = 0, pos = 0;
    uint64_t v;
    meta_db_view *arr = arena_alloc(a, sizeof *arr * (hmap_count(c->dbs) + 1));
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        const struct mdb *d = db_of(v);
        if ((d->drop_at != 0) != hidden || strcmp(d->tenant, tenant)) continue;
        arr[cnt++] = (meta_db_view){arena_strdup(a, d->name), d->id, d->drop_at, d->opts};
    }
    pthread_rwlock_unlock(&c->lock);
    qsort(arr, cnt, sizeof *arr, cmp_db_view);
    *out = arr;
    *n = cnt;
    return 0;
}

static int cmp_table(const void *a, const void *b) {
    const meta_table *x = *(meta_table *const *)a, *y = *(meta_table *const *)b;
    int r = strcmp(x->db, y->db);
    return r ? r : strcmp(x->name, y->name);
}

int catalog_view_tables(catalog *c, const char *tenant, arena *a, meta_table ***out, size_t *n) {
    pthread_rwlock_rdlock(&c->lock);
    size_t cnt = 0, cap = 0, pos = 0;
    uint64_t v;
    meta_table **arr = NULL;
    while (hmap_next(c->dbs, &pos, NULL, NULL, &v)) {
        const struct mdb *d = db_of(v);
        if (d->drop_at || strcmp(d->tenant, tenant)) continue;
        size_t tpos = 0;
        uint64_t tv;
        while (hmap_next(d->tables, &tpos, NULL, NULL, &tv)) {
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 16;
                arr = arena_realloc(a, arr, sizeof *arr * cap, sizeof *arr * nc);
                cap = nc;
            }
            meta_table *t = (meta_table *)(uintptr_t)tv;
            meta_table_retain(t);
            arr[cnt++] = t;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (cnt) qsort(arr, cnt, sizeof *arr, cmp_table);
    *out = arr;
    *n = cnt;
    return 0;
}

enum meta_db_state catalog_db_state(catalog *c, uint64_t id, int64_t *drop_at) {
    pthread_rwlock_rdlock(&c->lock);
    const struct mdb *d = cat_find_db_id(c, id);
    enum meta_db_state st = !d ? META_DB_GONE : d->drop_at ? META_DB_HIDDEN : META_DB_LIVE;
    *drop_at = d ? d->drop_at : 0;
    pthread_rwlock_unlock(&c->lock);
    return st;
}

uint64_t catalog_db_id_any(catalog *c, const char *tenant, const char *name) {
    pthread_rwlock_rdlock(&c->lock);
    const struct mdb *d = cat_find_db_any(c, tenant, name);
    uint64_t id = d ? d->id : 0;
    pthread_rwlock_unlock(&c->lock);
    return id;
}
