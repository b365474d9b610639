/* strata: the server binary. Reads the configuration, locks the data directory, opens the
 * catalog and the storage engine, serves the HTTP API, and on SIGTERM/SIGINT stops accepting,
 * lets requests in flight finish, makes everything durable and exits 0, or 1 when something
 * could not be made durable (the log says what).
 *
 * Exit codes: 0 clean shutdown; 1 a start-up failure (data directory locked by another
 * process, a damaged log, ...) or a shutdown that could not make everything durable; 2 a bad
 * command line or configuration. */
#include "meta/catalog.h"
#include "server/http.h"
#include "sql/ext.h"
#include "sql/streams.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/config.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
    fprintf(
        f,
        "Usage: strata [options]\n"
        "\n"
        "Strata, a time-series database speaking CnosDB's HTTP API.\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE     read settings from a TOML file (CnosDB's section and key names)\n"
        "  -d, --data DIR        data directory (storage.path, default ./data)\n"
        "  -p, --port N          HTTP port (service.http_listen_port, default 8902)\n"
        "      --host ADDR       listen address (service.http_listen_addr, default 127.0.0.1)\n"
        "      --auth            require passwords (query.auth_enabled = true)\n"
        "      --wal-sync BOOL   fsync the WAL before acknowledging a write (default true)\n"
        "      --wal-salvage     repair a damaged WAL or series index at start, keeping every\n"
        "                        intact record and logging what was skipped (wal.salvage)\n"
        "  -l, --log-level LVL   error, warn, info, debug, trace (log.level)\n"
        "  -h, --help            show this help and exit\n"
        "  -V, --version         show the version and exit\n"
        "\n"
        "Every key can also be set by an environment variable STRATA_<SECTION>_<KEY>,\n"
        "e.g. STRATA_QUERY_AUTH_ENABLED=true. Flags override the environment, which\n"
        "overrides the file.\n");
}

static bool table_live(void *ctx, uint64_t db_id, uint64_t table_id) {
    return catalog_table_live(ctx, db_id, table_id);
}

static uint8_t col_codec(void *ctx, uint64_t db_id, uint64_t table_id, uint32_t col_id) {
    return catalog_column_codec(ctx, db_id, table_id, col_id);
}

static void db_label(void *ctx, uint64_t db_id, char *out, size_t cap) {
    catalog_db_label(ctx, db_id, out, cap);
}

int main(int argc, char **argv) {
    config cfg;
    config_defaults(&cfg);
    err e;
    err_clear(&e);

    enum { OPT_HOST = 256, OPT_AUTH, OPT_WAL_SYNC, OPT_WAL_SALVAGE };
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"data", required_argument, 0, 'd'},
                                         {"port", required_argument, 0, 'p'},
                                         {"host", required_argument, 0, OPT_HOST},
                                         {"auth", no_argument, 0, OPT_AUTH},
                                         {"wal-sync", required_argument, 0, OPT_WAL_SYNC},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {"wal-salvage", no_argument, 0, OPT_WAL_SALVAGE},
                                         {0, 0, 0, 0}};
    /* First pass: the config file, so that flags (second pass) override it. */
    const char *cfg_path = NULL;
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "c:d:p:l:hV", opts, NULL)) != -1) {
        if (ch == 'c') cfg_path = optarg;
        if (ch == 'h') {
            usage(stdout);
            return 0;
        }
        if (ch == 'V') {
            printf("strata %s (revision %s)\n", STRATA_VERSION, STRATA_REVISION);
            return 0;
        }
        if (ch == '?') {
            fprintf(stderr, "strata: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "strata: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (cfg_path && config_load_file(&cfg, cfg_path, &e) < 0) {
        fprintf(stderr, "strata: %s\n", e.msg);
        return 2;
    }
    if (config_load_env(&cfg, &e) < 0) {
        fprintf(stderr, "strata: %s\n", e.msg);
        return 2;
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:p:l:hV", opts, NULL)) != -1) {
        int rc = 0;
        switch (ch) {
        case 'd':
            rc = config_set(&cfg, "storage", "path", optarg, &e);
            break;
        case 'p':
            rc = config_set(&cfg, "service", "http_listen_port", optarg, &e);
            break;
        case OPT_HOST:
            rc = config_set(&cfg, "service", "http_listen_addr", optarg, &e);
            break;
        case OPT_AUTH:
            cfg.auth_enabled = true;
            break;
        case OPT_WAL_SYNC:
            rc = config_set(&cfg, "wal", "sync", optarg, &e);
            break;
        case OPT_WAL_SALVAGE:
            cfg.wal_salvage = true;
            break;
        case 'l':
            rc = config_set(&cfg, "log", "level", optarg, &e);
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "strata: %s\n", e.msg);
            return 2;
        }
    }
    if (config_finish(&cfg, &e) < 0) {
        fprintf(stderr, "strata: %s\n", e.msg);
        return 2;
    }
    log_set_level((enum log_level)log_level_parse(cfg.log_level));
    if (cfg.log_path[0]) {
        /* the log goes where standard error goes: the file, appended to */
        int fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
            fprintf(stderr, "strata: cannot open the log file %s: %s\n", cfg.log_path,
                    strerror(errno));
            return 2;
        }
        close(fd);
    }
    ext_set_allowed_dirs(cfg.copy_allowed_dirs, cfg.data_path);

    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mkdir(cfg.data_path, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "strata: cannot create data directory %s: %s\n", cfg.data_path,
                strerror(errno));
        return 1;
    }
    /* Before anything binds or reads: two servers on one directory lose each other's writes.
     * The descriptor stays open (and the lock held) until the process ends. */
    int lock_fd;
    if (fs_lock_dir(cfg.data_path, &lock_fd, &e) < 0) {
        fprintf(stderr, "strata: %s\n", e.msg);
        return 1;
    }
    server *srv = NULL;
    if (server_start(&cfg, &srv, &e) < 0) {
        fprintf(stderr, "strata: %s\n", e.msg);
        return 1;
    }
    log_info("strata %s listening on http://%s:%d (data in %s)", STRATA_VERSION, cfg.listen_addr,
             server_port(srv), cfg.data_path);

    char meta_dir[1100];
    snprintf(meta_dir, sizeof meta_dir, "%s/meta", cfg.data_path);
    catalog *cat = NULL;
    if (catalog_open(meta_dir, &cat, &e) < 0) {
        log_error("%s", e.msg);
        server_stop(srv);
        return 1;
    }
    char store_dir[1100];
    snprintf(store_dir, sizeof store_dir, "%s/storage", cfg.data_path);
    engine_opts eo = {.dir = store_dir,
                      .wal_sync = cfg.wal_sync,
                      .wal_sync_interval_ms = cfg.wal_sync_interval_ms,
                      .wal_max_file_size = cfg.wal_max_file_size,
                      .max_memcache_size = cfg.max_memcache_size,
                      .table_live = table_live,
                      .col_codec = col_codec,
                      .db_label = db_label,
                      .table_live_ctx = cat,
                      .salvage = cfg.wal_salvage};
    engine *eng = NULL;
    if (engine_open(&eo, &eng, &e) < 0) {
        log_error("%s", e.msg);
        catalog_close(cat);
        server_stop(srv);
        return 1;
    }
    arena *a = arena_new(0);
    meta_db_info *dbs;
    size_t ndbs;
    catalog_all_dbs(cat, a, &dbs, &ndbs);
    for (size_t i = 0; i < ndbs; i++) {
        const db_options *o = &dbs[i].opts;
        engine_db_opts so = {o->ttl_ns, o->shard, o->vnode_duration_ns, o->precision};
        if (engine_open_db(eng, dbs[i].id, &so, &e) < 0) {
            log_error("%s", e.msg);
            arena_free(a);
            engine_close(eng);
            catalog_close(cat);
            server_stop(srv);
            return 1;
        }
    }
    arena_free(a);
    engine_started(eng);
    server_set_ready(srv, cat, eng);
    /* continuous stream jobs run once everything they read and write is open */
    if (streams_start(cfg.data_path, cat, eng, &e) < 0) log_error("streams: %s", e.msg);
    log_info("ready");

    /* The main thread waits for the signal to stop and meanwhile, once a second, carries out
     * the delayed drops (DROP DATABASE ... AFTER) that have come due. */
    int sig = 0;
    for (;;) {
        struct timespec tick = {1, 0};
        sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig > 0) break;
        uint64_t id;
        while (catalog_take_due_drop(cat, time_now_ns(), &id, &e) == 0 && id) {
            log_info("database %llu: its delayed drop came due; dropped", (unsigned long long)id);
            if (engine_drop_db(eng, id, &e) < 0) log_error("%s", e.msg);
        }
    }
    log_info("received %s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server_quiesce(srv);
    streams_stop(); /* a run in progress finishes: its rows and its mark stay in step */
    server_stop(srv);
    int rc = engine_close(eng);
    catalog_close(cat);
    if (rc < 0) {
        log_error("stopped, but not everything could be made durable (see above): exit status 1");
        return 1;
    }
    log_info("stopped");
    return 0;
}
