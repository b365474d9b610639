/* Tenant request limits: see limiter.h. */
#include "server/limiter.h"

#include "util/hmap.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { KINDS = 8 };

/* Kind k is event k % 4 at the http layer (k < 4) or the coordinator's (k >= 4). */
static const char *const kind_key[KINDS] = {"http_queries",  "http_writes",   "http_data_in",
                                            "http_data_out", "coord_queries", "coord_writes",
                                            "coord_data_in", "coord_data_out"};
static const char *const kind_name[KINDS] = {"HttpQueries", "HttpWrites",   "HttpDataIn",
                                             "HttpDataOut", "CoordQueries", "CoordWrites",
                                             "CoordDataIn", "CoordDataOut"};

struct bucket {
    bool on;
    double local, local_max;
    double remote, remote_max, refill;
    int64_t interval_ns, last_ns; /* refills happen in whole intervals from last_ns */
};

struct tenant_lim {
    uint64_t gen; /* catalog_access_gen when config was read */
    char *config; /* the JSON these buckets were made from ("" = none) */
    struct bucket b[KINDS];
};

struct limiter {
    catalog *cat;
    pthread_mutex_t mu;
    hmap *tenants; /* name → struct tenant_lim* */
};

limiter *limiter_new(catalog *c) {
    limiter *l = xcalloc(1, sizeof *l);
    l->cat = c;
    pthread_mutex_init(&l->mu, NULL);
    l->tenants = hmap_new(8);
    return l;
}

static void tl_free(struct tenant_lim *t) {
    free(t->config);
    free(t);
}

void limiter_free(limiter *l) {
    if (!l) return;
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(l->tenants, &pos, NULL, NULL, &v)) tl_free((struct tenant_lim *)(uintptr_t)v);
    hmap_free(l->tenants);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static double num(json_t *g, const char *key, double dflt) {
    json_t *v = json_object_get(g, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static void configure(struct tenant_lim *t, const char *config, int64_t now) {
    memset(t->b, 0, sizeof t->b);
    json_t *j = config[0] ? json_loads(config, 0, NULL) : NULL;
    for (int k = 0; k < KINDS; k++) {
        json_t *g = json_object_get(j, kind_key[k]);
        if (!json_is_object(g)) continue;
        struct bucket *b = &t->b[k];
        b->on = true;
        b->local_max = num(g, "local_max", 0);
        b->local = num(g, "local_initial", b->local_max);
        b->remote_max = num(g, "remote_max", 0);
        b->remote = num(g, "remote_initial", b->remote_max);
        b->refill = num(g, "remote_refill", 0);
        double ms = num(g, "remote_interval", 1000);
        b->interval_ns = ms >= 1 ? (int64_t)(ms * 1e6) : 1000000;
        b->last_ns = now;
    }
    json_decref(j);
}

/* The tenant's buckets, (re)configured if its limits changed; under l->mu. */
static struct tenant_lim *tenant_locked(limiter *l, const char *tenant, int64_t now) {
    uint64_t gen = catalog_access_gen(l->cat);
    uint64_t v;
    struct tenant_lim *t = NULL;
    if (hmap_get(l->tenants, tenant, strlen(tenant), &v)) t = (struct tenant_lim *)(uintptr_t)v;
    if (t && t->gen == gen) return t;
    char *config = catalog_tenant_limiter(l->cat, tenant);
    if (!config) config = xstrdup("");
    if (!t) {
        t = xcalloc(1, sizeof *t);
        t->config = xstrdup("");
        hmap_put(l->tenants, tenant, strlen(tenant), (uint64_t)(uintptr_t)t);
    }
    t->gen = gen;
    /* another tenant's change, or one that left these limits alone: the buckets stay */
    if (strcmp(t->config, config) == 0) {
        free(config);
        return t;
    }
    free(t->config);
    t->config = config;
    configure(t, config, now);
    return t;
}

static void refill(struct bucket *b, int64_t now) {
    if (now <= b->last_ns) return;
    int64_t n = (now - b->last_ns) / b->interval_ns;
    if (n <= 0) return;
    b->last_ns += n * b->interval_ns;
    b->remote += (double)n * b->refill;
    if (b->remote > b->remote_max) b->remote = b->remote_max;
}

static bool can_take(struct bucket *b, double n) {
    return !b->on || b->local + b->remote >= n;
}

static void take(struct bucket *b, double n) {
    if (!b->on) return;
    double from_local = n < b->local ? n : (b->local > 0 ? b->local : 0);
    b->local -= from_local;
    b->remote -= n - from_local;
}

int limiter_take(limiter *l, const char *tenant, enum lim_event ev, uint64_t n, err *e) {
    if (!catalog_has_limits(l->cat)) return 0;
    int64_t now = time_mono_ns();
    pthread_mutex_lock(&l->mu);
    struct tenant_lim *t = tenant_locked(l, tenant, now);
    struct bucket *h = &t->b[ev], *c = &t->b[ev + 4];
    if (h->on) refill(h, now);
    if (c->on) refill(c, now);
    int refused = !can_take(h, (double)n) ? (int)ev : !can_take(c, (double)n) ? (int)ev + 4 : -1;
    if (refused < 0) {
        take(h, (double)n);
        take(c, (double)n);
    }
    pthread_mutex_unlock(&l->mu);
    if (refused < 0) return 0;
    return err_set(e, 429, EC_LIMIT, "%s reached limit", kind_name[refused]);
}

void limiter_charge(limiter *l, const char *tenant, enum lim_event ev, uint64_t n) {
    if (!catalog_has_limits(l->cat)) return;
    int64_t now = time_mono_ns();
    pthread_mutex_lock(&l->mu);
    struct tenant_lim *t = tenant_locked(l, tenant, now);
    for (int k = (int)ev; k < KINDS; k += 4) {
        if (!t->b[k].on) continue;
        refill(&t->b[k], now);
        take(&t->b[k], (double)n);
    }
    pthread_mutex_unlock(&l->mu);
}
