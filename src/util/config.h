/* Server configuration: defaults, a TOML file with CnosDB's section and key names, environment
 * overrides (`STRATA_<SECTION>_<KEY>`, e.g. STRATA_QUERY_AUTH_ENABLED=true), then command-line
 * flags, each layer overriding the one before.
 *
 * Keys (section.key = default):
 *   service.http_listen_addr = "127.0.0.1"   (Strata addition: CnosDB always binds 0.0.0.0)
 *   service.http_listen_port = 8902
 *   service.http_threads = 0                 (0 = one per core, at least 2)
 *   service.http_max_connections = 0        (open connections; 0 = 3/4 of the descriptor
 *                                            limit, at most 65536; past it the connection
 *                                            waiting longest for a request is closed)
 *   service.http_idle_timeout = "60s"        (a connection with no request; also the longest
 *                                            silence while a response is sent)
 *   service.http_header_timeout = "10s"      (request line to the end of the headers)
 *   service.http_body_timeout = "30s"        (longest silence while a body arrives)
 *   storage.path = "./data"
 *   storage.max_memcache_size = "128MiB"     (per vnode memcache before it is flushed)
 *   wal.path = "<storage.path>/wal"
 *   wal.sync = true                          (fsync before acknowledging; false = interval)
 *   wal.sync_interval = "100ms"
 *   wal.max_file_size = "128MiB"
 *   wal.salvage = false                      (repair a damaged WAL or series index at start,
 *                                            keeping every intact record, instead of refusing)
 *   query.query_sql_limit = "16MiB"
 *   query.write_sql_limit = "160MiB"
 *   query.auth_enabled = false
 *   query.max_server_connections = 10240
 *   query.query_timeout = "0s"              (0 = none)
 *   query.query_memory_limit = "4GiB"       (memory one query may hold for sorts and
 *                                            aggregations; 0 = unlimited)
 *   query.parallelism = 0                   (threads one aggregation over a table scan may
 *                                            use; 0 = one per core this process may run on)
 *   memory.max_memory = "auto"              (the server-wide memory budget, util/membudget.h:
 *                                            auto = 3/4 of the cgroup limit or MemTotal;
 *                                            0 = no limit)
 *   log.level = "info"
 *   log.request_level = "debug"            (a request's log line; 4xx at info at least, 5xx
 *                                            at warn)
 *   http.cors_allowed_origins = []          (origins browsers may call from; "*" = any;
 *                                            in the environment `,`-separated)
 *   opentsdb.tcp_listen_port = 0            (OpenTSDB's telnet `put` listener; 0 = off)
 *   opentsdb.tcp_listen_host = ""           (empty = service.http_listen_addr)
 *   opentsdb.tenant = "cnosdb", opentsdb.database = "public"   (where its points go)
 *   copy.allowed_dirs = ""                  (directories external tables and COPY INTO may
 *                                            read and write, `:`-separated; empty =
 *                                            <storage.path>/import only)
 * Unknown sections and keys are ignored with a warning (CnosDB's file has many that do not
 * apply); a malformed file or a value of the wrong type is an error naming file, line and key.
 * Sizes take CnosDB's forms ("16M", "16 MiB", "128MB", plain bytes). */
#ifndef STRATA_UTIL_CONFIG_H
#define STRATA_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct config {
    char listen_addr[64];
    int port;
    int http_threads;
    int http_max_connections;
    int64_t http_idle_timeout_ms;
    int64_t http_header_timeout_ms;
    int64_t http_body_timeout_ms;
    char data_path[1024];
    char wal_path[1024]; /* empty = <data_path>/wal */
    uint64_t max_memcache_size;
    bool wal_sync;
    int64_t wal_sync_interval_ms;
    uint64_t wal_max_file_size;
    bool wal_salvage;
    uint64_t query_sql_limit;
    uint64_t write_sql_limit;
    bool auth_enabled;
    int max_server_connections;
    int64_t query_timeout_ms;
    uint64_t query_memory_limit;
    int query_parallelism;        /* 0 in the file = the cores; config_finish sets it */
    uint64_t query_inline_values; /* small queries run on the HTTP event loop; 0 = never */
    uint64_t max_memory;          /* CONFIG_AUTO = from the machine */
    char log_level[16];
    char log_path[1024];          /* empty = standard error */
    char copy_allowed_dirs[4096]; /* `:`-separated; empty = <data_path>/import */
    int64_t usage_interval_ms;    /* usage_schema's metrics written every; 0 = never */
    char log_request_level[16];   /* the level of a request's log line (2xx, 3xx; 4xx info) */
    char cors_origins[4096];      /* allowed CORS origins, `,`-separated; empty = CORS off */
    int tsdb_tcp_port;            /* OpenTSDB telnet listener; 0 = off */
    char tsdb_tcp_host[64];       /* empty = listen_addr */
    char tsdb_tenant[256];
    char tsdb_database[256];
} config;

#define CONFIG_AUTO UINT64_MAX

void config_defaults(config *c);
/* Reads a TOML file over the current values. */
int config_load_file(config *c, const char *path, err *e);
/* Applies STRATA_<SECTION>_<KEY> variables from the environment. */
int config_load_env(config *c, err *e);
/* Sets one key by "section.key" name and text value (used by files, env and tests). */
int config_set(config *c, const char *section, const char *key, const char *text, err *e);
/* Final checks and derived values (wal path). */
int config_finish(config *c, err *e);

/* "16M", "16 MiB", "1G", "512KiB", "1048576" → bytes. */
bool parse_size(const char *s, uint64_t *out);

#endif
