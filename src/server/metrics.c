/* GET /metrics: see metrics.h. */
#include "server/metrics.h"

#include "util/arena.h"
#include "util/membudget.h"
#include "util/mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUTES 32
/* the statuses Strata answers with; anything else counts under "other" */
static const unsigned codes[] = {200, 204, 400, 401, 403, 404, 405, 413, 422, 429, 500, 503};
#define NCODES (sizeof codes / sizeof codes[0])
/* histogram bounds in seconds */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NB (sizeof bounds / sizeof bounds[0])

struct metrics {
    _Atomic uint64_t answers[ROUTES][NCODES + 1];
    _Atomic uint64_t buckets[ROUTES][NB + 1]; /* counts per bucket (not cumulative) */
    _Atomic uint64_t micros[ROUTES];          /* sum of durations, microseconds */
    _Atomic uint64_t points, bytes;
    _Atomic uint64_t tcp_open, tcp_conns, tcp_lines, tcp_bad; /* OpenTSDB's telnet listener */
};

metrics *metrics_new(void) {
    return xcalloc(1, sizeof(metrics));
}

void metrics_free(metrics *m) {
    free(m);
}

void metrics_answer(metrics *m, unsigned route, unsigned status, double seconds) {
    if (!m || route >= ROUTES) return;
    unsigned k = 0;
    while (k < NCODES && codes[k] != status) k++;
    atomic_fetch_add_explicit(&m->answers[route][k], 1, memory_order_relaxed);
    unsigned b = 0;
    while (b < NB && seconds > bounds[b]) b++;
    atomic_fetch_add_explicit(&m->buckets[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->micros[route], (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

void metrics_written(metrics *m, uint64_t points, uint64_t bytes) {
    if (!m) return;
    atomic_fetch_add_explicit(&m->points, points, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes, bytes, memory_order_relaxed);
}

void metrics_tsdb_tcp(metrics *m, int conns, uint64_t lines, uint64_t bad) {
    if (!m) return;
    if (conns > 0) {
        atomic_fetch_add_explicit(&m->tcp_open, (uint64_t)conns, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->tcp_conns, (uint64_t)conns, memory_order_relaxed);
    } else if (conns < 0) {
        atomic_fetch_sub_explicit(&m->tcp_open, (uint64_t)-conns, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&m->tcp_lines, lines, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->tcp_bad, bad, memory_order_relaxed);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void put_label(buf *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(b, '\\'), buf_putc(b, *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_putc(b, *v);
    }
}

static void help(buf *b, const char *name, const char *type, const char *text) {
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* `name{route="r"` (the caller closes the braces after any other labels). */
static void route_open(buf *b, const char *name, const char *route) {
    buf_printf(b, "%s{route=\"", name);
    put_label(b, route);
    buf_putc(b, '"');
}

static void http_part(metrics *m, const char *const *routes, unsigned nroutes, buf *b) {
    help(b, "strata_http_requests_total", "counter", "Answers by route and status.");
    for (unsigned r = 0; r < nroutes && r < ROUTES; r++)
        for (unsigned k = 0; k <= NCODES; k++) {
            uint64_t n = atomic_load_explicit(&m->answers[r][k], memory_order_relaxed);
            if (!n) continue;
            route_open(b, "strata_http_requests_total", routes[r]);
            if (k < NCODES)
                buf_printf(b, ",code=\"%u\"} %llu\n", codes[k], (unsigned long long)n);
            else
                buf_printf(b, ",code=\"other\"} %llu\n", (unsigned long long)n);
        }
    help(b, "strata_http_request_duration_seconds", "histogram",
         "From a request's head to its answer (a streamed answer: to its first bytes).");
    for (unsigned r = 0; r < nroutes && r < ROUTES; r++) {
        uint64_t cum = 0, counts[NB + 1];
        for (unsigned i = 0; i <= NB; i++) {
            counts[i] = atomic_load_explicit(&m->buckets[r][i], memory_order_relaxed);
            cum += counts[i];
        }
        if (!cum) continue;
        uint64_t run = 0;
        for (unsigned i = 0; i <= NB; i++) {
            run += counts[i];
            route_open(b, "strata_http_request_duration_seconds_bucket", routes[r]);
            if (i < NB)
                buf_printf(b, ",le=\"%g\"} %llu\n", bounds[i], (unsigned long long)run);
            else
                buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)run);
        }
        route_open(b, "strata_http_request_duration_seconds_sum", routes[r]);
        buf_printf(b, "} %.6f\n",
                   (double)atomic_load_explicit(&m->micros[r], memory_order_relaxed) / 1e6);
        route_open(b, "strata_http_request_duration_seconds_count", routes[r]);
        buf_printf(b, "} %llu\n", (unsigned long long)cum);
    }
}

static void db_part(catalog *c, engine *g, buf *b) {
    static const char *const names[] = {"strata_database_series", "strata_database_files",
                                        "strata_database_file_bytes", "strata_database_cache_bytes",
                                        "strata_database_wal_bytes"};
    static const char *const helps[] = {
        "Series in the database.", "Column files.", "Bytes of its column files.",
        "Bytes in its in-memory caches.", "Bytes of its write-ahead log."};
    arena *a = arena_new(0);
    access_snap snap;
    catalog_access_snapshot(c, a, &snap);
    for (unsigned k = 0; k < 5; k++) {
        help(b, names[k], "gauge", helps[k]);
        for (size_t t = 0; t < snap.ntenants; t++) {
            char **dbs;
            size_t ndb;
            catalog_list_dbs(c, snap.tenants[t].name, a, &dbs, &ndb);
            for (size_t d = 0; d < ndb; d++) {
                meta_db_info info;
                err e;
                if (catalog_get_db(c, snap.tenants[t].name, dbs[d], &info, &e) < 0) continue;
                engine_stats st;
                engine_db_stats(g, info.id, &st);
                uint64_t v[] = {st.series, st.files, st.file_bytes, st.mem_bytes, st.wal_bytes};
                buf_printf(b, "%s{tenant=\"", names[k]);
                put_label(b, snap.tenants[t].name);
                buf_puts(b, "\",database=\"");
                put_label(b, dbs[d]);
                buf_printf(b, "\"} %llu\n", (unsigned long long)v[k]);
            }
        }
    }
    arena_free(a);
}

/* One sample of a family without labels, with its HELP and TYPE. */
static void single(buf *b, const char *name, const char *type, const char *text, double v) {
    help(b, name, type, text);
    buf_printf(b, "%s %.17g\n", name, v);
}

static uint64_t load(_Atomic uint64_t *v) {
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void storage_part(buf *b) {
    engine_counters k;
    engine_counters_get(&k);
    single(b, "strata_wal_syncs_total", "counter", "fsyncs of write-ahead log files.",
           (double)k.wal_syncs);
    single(b, "strata_wal_written_bytes_total", "counter",
           "Bytes appended to write-ahead logs, record headers included.", (double)k.wal_bytes);
    single(b, "strata_flushes_total", "counter", "In-memory caches written out as column files.",
           (double)k.flushes);
    single(b, "strata_flush_written_bytes_total", "counter", "Bytes of the files flushes wrote.",
           (double)k.flush_bytes);
    single(b, "strata_flush_seconds_total", "counter", "Time spent flushing.", k.flush_seconds);
    single(b, "strata_compactions_total", "counter", "Merges of column files into one.",
           (double)k.compactions);
    single(b, "strata_compaction_read_bytes_total", "counter",
           "Bytes of the column files compactions merged.", (double)k.compact_bytes_in);
    single(b, "strata_compaction_written_bytes_total", "counter",
           "Bytes of the column files compactions wrote.", (double)k.compact_bytes_out);
    single(b, "strata_compaction_seconds_total", "counter", "Time spent compacting.",
           k.compact_seconds);
}

static void memory_part(buf *b) {
    help(b, "strata_memory_budget_bytes", "gauge",
         "The server's memory budget (memory.max_memory; 0 = no limit).");
    buf_printf(b, "strata_memory_budget_bytes %llu\n", (unsigned long long)membudget_limit());
    help(b, "strata_memory_budget_used_bytes", "gauge", "Memory held against the budget, by use.");
    for (int k = 0; k < MEMBUDGET_NKINDS; k++)
        buf_printf(b, "strata_memory_budget_used_bytes{use=\"%s\"} %llu\n",
                   membudget_kind_name((enum membudget_kind)k),
                   (unsigned long long)membudget_used_by((enum membudget_kind)k));
}

static void tcp_part(metrics *m, buf *b) {
    single(b, "strata_opentsdb_tcp_connections", "gauge",
           "Open connections of the OpenTSDB telnet listener.", (double)load(&m->tcp_open));
    single(b, "strata_opentsdb_tcp_connections_total", "counter",
           "Connections the OpenTSDB telnet listener accepted.", (double)load(&m->tcp_conns));
    single(b, "strata_opentsdb_tcp_lines_total", "counter",
           "Lines the OpenTSDB telnet listener read (commands and points).",
           (double)load(&m->tcp_lines));
    single(b, "strata_opentsdb_tcp_errors_total", "counter",
           "Lines the OpenTSDB telnet listener answered with an error.", (double)load(&m->tcp_bad));
}

static uint64_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

void metrics_text(metrics *m, const char *const *routes, unsigned nroutes, catalog *c, engine *g,
                  uint64_t open, buf *out) {
    help(out, "strata_up", "gauge", "1 while the server answers.");
    buf_puts(out, "strata_up 1\n");
    http_part(m, routes, nroutes, out);
    help(out, "strata_written_points_total", "counter",
         "Points written through the write endpoints.");
    buf_printf(out, "strata_written_points_total %llu\n",
               (unsigned long long)atomic_load_explicit(&m->points, memory_order_relaxed));
    help(out, "strata_written_bytes_total", "counter", "Request body bytes of successful writes.");
    buf_printf(out, "strata_written_bytes_total %llu\n",
               (unsigned long long)atomic_load_explicit(&m->bytes, memory_order_relaxed));
    help(out, "strata_open_connections", "gauge", "HTTP connections open.");
    buf_printf(out, "strata_open_connections %llu\n", (unsigned long long)open);
    tcp_part(m, out);
    help(out, "strata_resident_memory_bytes", "gauge", "The process's resident memory.");
    buf_printf(out, "strata_resident_memory_bytes %llu\n", (unsigned long long)resident_bytes());
    memory_part(out);
    storage_part(out);
    if (c && g) db_part(c, g, out);
}
