/* The registry of running statements (see queries.h): a doubly linked list in entry order under
 * one mutex. Statements are few at a time (bounded by the server's connections), so listing
 * walks them all and a kill searches linearly. */
#include "sql/queries.h"

#include "util/mem.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The text kept of a statement: a bulk INSERT can be megabytes, which a listing need not
 * repeat. */
#define QUERY_TEXT_MAX (64u << 10)

struct query_entry {
    uint64_t id;
    char *text, *user, *tenant, *db;
    int64_t start_ns; /* monotonic */
    arena_budget *budget;
    _Atomic bool running;
    _Atomic uint64_t processed, errors;
    struct query_entry *prev, *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct query_entry *reg_head, *reg_tail;
static uint64_t reg_next_id = 1;

query_entry *queries_enter(const char *tenant, const char *user, const char *db, const char *text,
                           size_t len, arena_budget *b) {
    struct query_entry *q = xcalloc(1, sizeof *q);
    if (len > QUERY_TEXT_MAX) len = QUERY_TEXT_MAX;
    q->text = xmalloc(len + 1);
    memcpy(q->text, text, len);
    q->text[len] = 0;
    q->user = xstrdup(user ? user : "");
    q->tenant = xstrdup(tenant ? tenant : "");
    q->db = xstrdup(db ? db : "");
    q->start_ns = time_mono_ns();
    q->budget = b;
    pthread_mutex_lock(&reg_mu);
    q->id = reg_next_id++;
    q->prev = reg_tail;
    if (reg_tail)
        reg_tail->next = q;
    else
        reg_head = q;
    reg_tail = q;
    pthread_mutex_unlock(&reg_mu);
    return q;
}

void queries_running(query_entry *q) {
    if (q) atomic_store_explicit(&q->running, true, memory_order_relaxed);
}

void queries_processed(query_entry *q, uint64_t rows) {
    if (q) atomic_fetch_add_explicit(&q->processed, rows, memory_order_relaxed);
}

void queries_failed(query_entry *q) {
    if (q) atomic_fetch_add_explicit(&q->errors, 1, memory_order_relaxed);
}

void queries_leave(query_entry *q) {
    if (!q) return;
    pthread_mutex_lock(&reg_mu);
    if (q->prev)
        q->prev->next = q->next;
    else
        reg_head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        reg_tail = q->prev;
    pthread_mutex_unlock(&reg_mu);
    free(q->text);
    free(q->user);
    free(q->tenant);
    free(q->db);
    free(q);
}

/* Whether q is listed to (and may be killed by) tenant's user (NULL: anyone of tenant). */
static bool visible(const struct query_entry *q, const char *tenant, const char *user) {
    return !strcmp(q->tenant, tenant) && (!user || !strcmp(q->user, user));
}

void queries_list(const char *tenant, const char *user, arena *a, query_row **out, size_t *n) {
    int64_t now = time_mono_ns();
    size_t cnt = 0, cap = 0;
    query_row *rows = NULL;
    pthread_mutex_lock(&reg_mu);
    for (struct query_entry *q = reg_head; q; q = q->next) {
        if (!visible(q, tenant, user)) continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            rows = arena_realloc(a, rows, sizeof *rows * cap, sizeof *rows * nc);
            cap = nc;
        }
        query_row *r = &rows[cnt++];
        r->id = q->id;
        r->text = arena_strdup(a, q->text);
        r->user = arena_strdup(a, q->user);
        r->tenant = arena_strdup(a, q->tenant);
        r->db = arena_strdup(a, q->db);
        r->state =
            atomic_load_explicit(&q->running, memory_order_relaxed) ? "SCHEDULING" : "ANALYZING";
        r->duration_s = (double)(now - q->start_ns) / 1e9;
        r->processed = atomic_load_explicit(&q->processed, memory_order_relaxed);
        r->errors = atomic_load_explicit(&q->errors, memory_order_relaxed);
    }
    pthread_mutex_unlock(&reg_mu);
    *out = rows;
    *n = cnt;
}

int queries_kill(const char *tenant, const char *user, uint64_t id, err *e) {
    bool found = false;
    pthread_mutex_lock(&reg_mu);
    for (struct query_entry *q = reg_head; q && !found; q = q->next) {
        if (q->id != id || !visible(q, tenant, user)) continue;
        found = true;
        if (q->budget) atomic_store(&q->budget->killed, true);
    }
    pthread_mutex_unlock(&reg_mu);
    if (!found)
        return err_set(e, 422, EC_QUERY_NOT_FOUND, "Query not found: QueryId(%llu)",
                       (unsigned long long)id);
    return 0;
}
