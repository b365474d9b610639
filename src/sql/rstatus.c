/* Resource status (see rstatus.h): an array of the newest operations under one mutex, resolved
 * against the catalog when listed. */
#include "sql/rstatus.h"

#include "util/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rs_entry {
    char *tenant, *name;
    uint64_t db_id;
    int64_t at_ns;
    bool cancelled;
};

static pthread_mutex_t rs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rs_entry rs[RSTATUS_MAX];
static size_t rs_n;

static void entry_free(struct rs_entry *x) {
    free(x->tenant);
    free(x->name);
}

/* The entry of tenant's name, or -1. Caller holds rs_mu. */
static long find_locked(const char *tenant, const char *name) {
    for (size_t i = 0; i < rs_n; i++)
        if (!strcmp(rs[i].tenant, tenant) && !strcmp(rs[i].name, name)) return (long)i;
    return -1;
}

/* Removes entry i, keeping the others in order. Caller holds rs_mu. */
static void remove_locked(size_t i) {
    entry_free(&rs[i]);
    memmove(&rs[i], &rs[i + 1], sizeof *rs * (rs_n - i - 1));
    rs_n--;
}

void rstatus_schedule(const char *tenant, const char *name, uint64_t db_id, int64_t at_ns) {
    pthread_mutex_lock(&rs_mu);
    long i = find_locked(tenant, name);
    if (i >= 0) remove_locked((size_t)i);
    if (rs_n == RSTATUS_MAX) remove_locked(0);
    rs[rs_n++] = (struct rs_entry){xstrdup(tenant), xstrdup(name), db_id, at_ns, false};
    pthread_mutex_unlock(&rs_mu);
}

void rstatus_cancel(const char *tenant, const char *name, uint64_t db_id) {
    pthread_mutex_lock(&rs_mu);
    long i = find_locked(tenant, name);
    if (i >= 0 && rs[i].db_id == db_id) rs[i].cancelled = true;
    pthread_mutex_unlock(&rs_mu);
}

static void row_set(arena *a, rstatus_row *r, const char *tenant, const char *db, int64_t at,
                    const char *status, uint32_t tries) {
    r->time_ns = at;
    r->name = arena_printf(a, "%s-%s", tenant, db);
    r->action = "DropDatabase";
    r->status = status;
    r->try_count = tries;
}

void rstatus_list(catalog *c, const char *tenant, arena *a, rstatus_row **out, size_t *n) {
    /* copied first: the catalog is not asked while rs_mu is held */
    pthread_mutex_lock(&rs_mu);
    struct rs_entry *mine = arena_alloc(a, sizeof *mine * (rs_n + 1));
    size_t nm = 0;
    for (size_t i = 0; i < rs_n; i++) {
        if (strcmp(rs[i].tenant, tenant)) continue;
        mine[nm] = rs[i];
        mine[nm].name = arena_strdup(a, rs[i].name);
        nm++;
    }
    pthread_mutex_unlock(&rs_mu);
    meta_db_view *hidden;
    size_t nh;
    catalog_view_dbs(c, tenant, true, a, &hidden, &nh);
    rstatus_row *rows = arena_alloc(a, sizeof *rows * (nm + nh + 1));
    size_t cnt = 0;
    for (size_t i = 0; i < nm; i++) {
        int64_t drop_at;
        enum meta_db_state st = catalog_db_state(c, mine[i].db_id, &drop_at);
        if (mine[i].cancelled || st == META_DB_LIVE)
            row_set(a, &rows[cnt++], tenant, mine[i].name, mine[i].at_ns, "Cancel", 0);
        else if (st == META_DB_HIDDEN)
            row_set(a, &rows[cnt++], tenant, mine[i].name, drop_at, "Schedule", 0);
        else
            row_set(a, &rows[cnt++], tenant, mine[i].name, mine[i].at_ns, "Successed", 1);
    }
    /* pending drops from before a restart, which the registry has not seen */
    for (size_t h = 0; h < nh; h++) {
        bool known = false;
        for (size_t i = 0; i < nm && !known; i++) known = mine[i].db_id == hidden[h].id;
        if (!known)
            row_set(a, &rows[cnt++], tenant, hidden[h].name, hidden[h].drop_at, "Schedule", 0);
    }
    *out = rows;
    *n = cnt;
}
