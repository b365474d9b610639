/* usage_schema's metrics: see usage.h. */
#include "server/usage.h"

#include "ingest/lp.h"
#include "ingest/write.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const metric_table[U__COUNT] = {
    "http_data_in",   "http_data_out", "http_queries", "http_writes", "coord_data_in",
    "coord_data_out", "coord_queries", "coord_writes", "sql_data_in"};

struct usage {
    catalog *cat;
    engine *eng;
    int64_t interval_ms;
    char host[256];
    pthread_mutex_t mu; /* counters */
    hmap *counters;     /* metric\0tenant\0db\0user\0api → value */
    pthread_mutex_t run_mu;
    pthread_cond_t run_cv;
    bool stop, started;
    pthread_t thread;
};

static bool http_metric(enum usage_metric m) {
    return m <= U_HTTP_WRITES;
}

/* key: metric byte, then tenant, db (and for http_* metrics user, api), each NUL-ended */
static size_t put_key_part(char *k, size_t at, size_t cap, const char *part) {
    size_t n = strlen(part ? part : "") + 1;
    if (at + n > cap) return cap + 1;
    memcpy(k + at, part ? part : "", n);
    return at + n;
}

void usage_count(usage *u, const char *tenant, const char *db, const char *user, const char *api,
                 const struct usage_add *adds, size_t nadds) {
    if (!u) return;
    /* names are at most a few hundred bytes: both keys on the stack */
    char hk[1100], ck[600];
    size_t hl = put_key_part(hk, 1, sizeof hk, tenant), cl;
    hl = put_key_part(hk, hl, sizeof hk, db);
    cl = hl <= sizeof ck ? hl : sizeof ck + 1;
    if (cl <= sizeof ck) memcpy(ck, hk, cl);
    hl = put_key_part(hk, hl, sizeof hk, user);
    hl = put_key_part(hk, hl, sizeof hk, api);
    if (hl > sizeof hk || cl > sizeof ck) return; /* not a name the catalog would take */
    pthread_mutex_lock(&u->mu);
    for (size_t i = 0; i < nadds; i++) {
        if (!adds[i].n) continue;
        bool h = http_metric(adds[i].metric);
        char *k = h ? hk : ck;
        size_t kl = h ? hl : cl;
        k[0] = (char)adds[i].metric;
        uint64_t v = 0;
        hmap_get(u->counters, k, kl, &v);
        hmap_put(u->counters, k, kl, v + adds[i].n);
    }
    pthread_mutex_unlock(&u->mu);
}

/* A tag value as line protocol writes it: `,`, `=` and space escaped; empty is left out by the
 * caller (line protocol has no empty tag values). */
static void put_tag(buf *b, const char *key, const char *v) {
    if (!v || !*v) return;
    buf_printf(b, ",%s=", key);
    for (; *v; v++) {
        if (*v == ',' || *v == '=' || *v == ' ') buf_putc(b, '\\');
        buf_putc(b, *v);
    }
}

static void put_point(buf *b, const char *table, const char *api, const char *db, const char *host,
                      const char *tenant, const char *user, const char *vnode_id, uint64_t val,
                      int64_t now) {
    buf_puts(b, table);
    /* tags in name order: the tables get their columns in that order */
    put_tag(b, "api", api);
    put_tag(b, "database", db);
    put_tag(b, "host", host);
    put_tag(b, "node_id", "1");
    put_tag(b, "tenant", tenant);
    put_tag(b, "user", user);
    put_tag(b, "vnode_id", vnode_id);
    buf_printf(b, " value=%lluu %lld\n", (unsigned long long)val, (long long)now);
}

/* The vnodes of every tenant's databases. */
static void put_vnodes(usage *u, buf *b, arena *a, int64_t now) {
    access_snap snap;
    catalog_access_snapshot(u->cat, a, &snap);
    for (size_t t = 0; t < snap.ntenants; t++) {
        char **dbs;
        size_t ndb;
        catalog_list_dbs(u->cat, snap.tenants[t].name, a, &dbs, &ndb);
        for (size_t d = 0; d < ndb; d++) {
            meta_db_info info;
            err e;
            if (catalog_get_db(u->cat, snap.tenants[t].name, dbs[d], &info, &e) < 0) continue;
            engine_vnode_stat *vs;
            size_t nv = engine_vnode_stats(u->eng, info.id, a, &vs);
            for (size_t i = 0; i < nv; i++) {
                char id[64];
                snprintf(id, sizeof id, "%lld.%u", (long long)vs[i].bucket, vs[i].shard);
                put_point(b, "vnode_cache_size", NULL, dbs[d], NULL, snap.tenants[t].name, NULL, id,
                          vs[i].mem_bytes, now);
                put_point(b, "vnode_disk_storage", NULL, dbs[d], NULL, snap.tenants[t].name, NULL,
                          id, vs[i].file_bytes, now);
            }
        }
    }
}

void usage_report(usage *u) {
    if (!u) return;
    int64_t now = time_now_ns();
    buf b;
    buf_init(&b);
    pthread_mutex_lock(&u->mu);
    size_t pos = 0;
    const char *key;
    size_t klen;
    uint64_t v;
    while (hmap_next(u->counters, &pos, &key, &klen, &v)) {
        const char *k = key;
        enum usage_metric m = (enum usage_metric)k[0];
        const char *tenant = k + 1, *db = tenant + strlen(tenant) + 1;
        const char *user = NULL, *api = NULL;
        if (http_metric(m)) {
            user = db + strlen(db) + 1;
            api = user + strlen(user) + 1;
        }
        put_point(&b, metric_table[m], api, db, http_metric(m) ? u->host : NULL, tenant, user, NULL,
                  v, now);
    }
    pthread_mutex_unlock(&u->mu);
    arena *a = arena_new(0);
    put_vnodes(u, &b, a, now);
    if (b.len) {
        point_batch pb = {0};
        err e;
        if (lp_parse(a, b.p, b.len, &pb, &e) < 0 ||
            ingest_write(u->cat, u->eng, "cnosdb", "usage_schema", 1, &pb, a, &e) < 0)
            log_warn("usage_schema: a report could not be written: %s", e.msg);
    }
    arena_free(a);
    buf_free(&b);
}

static void *report_main(void *arg) {
    usage *u = arg;
    pthread_mutex_lock(&u->run_mu);
    while (!u->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += u->interval_ms / 1000;
        ts.tv_nsec += (u->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!u->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&u->run_cv, &u->run_mu, &ts);
        if (u->stop) break;
        pthread_mutex_unlock(&u->run_mu);
        usage_report(u);
        pthread_mutex_lock(&u->run_mu);
    }
    pthread_mutex_unlock(&u->run_mu);
    return NULL;
}

usage *usage_start(catalog *c, engine *g, int64_t interval_ms) {
    usage *u = xcalloc(1, sizeof *u);
    u->cat = c;
    u->eng = g;
    u->interval_ms = interval_ms;
    if (gethostname(u->host, sizeof u->host - 1) < 0 || !u->host[0])
        snprintf(u->host, sizeof u->host, "localhost");
    pthread_mutex_init(&u->mu, NULL);
    u->counters = hmap_new(64);
    pthread_mutex_init(&u->run_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&u->run_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (interval_ms > 0 && pthread_create(&u->thread, NULL, report_main, u) == 0) u->started = true;
    return u;
}

void usage_stop(usage *u) {
    if (!u) return;
    pthread_mutex_lock(&u->run_mu);
    u->stop = true;
    pthread_cond_broadcast(&u->run_cv);
    pthread_mutex_unlock(&u->run_mu);
    if (u->started) pthread_join(u->thread, NULL);
    hmap_free(u->counters);
    pthread_mutex_destroy(&u->mu);
    pthread_mutex_destroy(&u->run_mu);
    pthread_cond_destroy(&u->run_cv);
    free(u);
}
