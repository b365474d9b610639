/* The storage engine: the database registry (open, update, drop, reference counts) and the
 * engine's life cycle. See engine.h for the contract; the other jobs live in engine_write.c
 * (records), engine_vnode.c (routing), tombstone.c, engine_bg.c (background work),
 * engine_meta.c (metadata queries) and engine_scan.c (scans), sharing engine_int.h. */
#include "storage/engine_int.h"

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sdb *sdb_get(engine *g, uint64_t id) {
    pthread_mutex_lock(&g->mu);
    uint64_t v;
    struct sdb *d = NULL;
    if (hmap_get(g->dbs, &id, sizeof id, &v)) {
        d = (struct sdb *)(uintptr_t)v;
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g->mu);
    return d;
}

/* Every open database, retained (for the background thread). */
struct sdb **sdb_all(engine *g, size_t *n) {
    pthread_mutex_lock(&g->mu);
    size_t cnt = hmap_count(g->dbs), k = 0, pos = 0;
    struct sdb **arr = xmalloc(sizeof *arr * (cnt + 1));
    uint64_t v;
    while (hmap_next(g->dbs, &pos, NULL, NULL, &v)) {
        arr[k] = (struct sdb *)(uintptr_t)v;
        __atomic_add_fetch(&arr[k]->refs, 1, __ATOMIC_RELAXED);
        k++;
    }
    pthread_mutex_unlock(&g->mu);
    *n = k;
    return arr;
}

static void sdb_free(struct sdb *d) {
    int rc = wal_close(d->wal);
    rc |= sindex_close(d->idx);
    if (rc) atomic_fetch_add(&d->g->close_failures, 1);
    for (size_t i = 0; i < d->nvnodes; i++) vnode_close(d->vnodes[i]);
    free(d->vnodes);
    sdb_tombs_free(d->tombs, d->ntombs);
    omutex_destroy(&d->wmu);
    pthread_cond_destroy(&d->drained);
    pthread_rwlock_destroy(&d->rw);
    pthread_mutex_destroy(&d->tomb_mu);
    free(d->dir);
    free(d);
}

void sdb_release(struct sdb *d) {
    if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    bool dropped = d->dropped;
    char *dir = dropped ? xstrdup(d->dir) : NULL;
    if (dropped)
        for (size_t i = 0; i < d->nvnodes; i++) vnode_mark_dropped(d->vnodes[i]);
    sdb_free(d);
    if (dropped) {
        if (fs_rm_rf(dir) < 0) log_error("cannot remove %s: %s", dir, strerror(errno));
        free(dir);
    }
}

/* ------------------------------------------------------------------ engine */

int engine_open(const engine_opts *o, engine **out, err *e) {
    if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot create %s: %s", o->dir, strerror(errno));
    int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", o->dir, strerror(errno));
    engine *g = xcalloc(1, sizeof *g);
    g->dirfd = dfd;
    g->opts = *o;
    g->dir = xstrdup(o->dir);
    g->opts.dir = g->dir;
    if (!g->opts.max_memcache_size) g->opts.max_memcache_size = 128ull << 20;
    if (!g->opts.wal_max_file_size) g->opts.wal_max_file_size = 128ull << 20;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->bg_mu, NULL);
    omutex_init(&g->bg_work);
    omutex_init(&g->flush_work);
    pthread_cond_init(&g->bg_cond, NULL);
    g->dbs = hmap_new(16);
    g->starting = true;
    if (pthread_create(&g->bg, NULL, engine_bg_main, g) != 0) {
        close(g->dirfd);
        free(g->dir);
        free(g);
        return err_set(e, 500, EC_STORAGE, "cannot start the background thread");
    }
    g->bg_running = true;
    if (pthread_create(&g->flusher, NULL, engine_flush_main, g) != 0) {
        engine_close(g);
        return err_set(e, 500, EC_STORAGE, "cannot start the flusher thread");
    }
    g->flusher_running = true;
    *out = g;
    return 0;
}

bool engine_starting(engine *g) {
    return __atomic_load_n(&g->starting, __ATOMIC_ACQUIRE);
}

void engine_started(engine *g) {
    __atomic_store_n(&g->starting, false, __ATOMIC_RELEASE);
}

int engine_close(engine *g) {
    if (!g) return 0;
    int rc = 0;
    pthread_mutex_lock(&g->bg_mu);
    __atomic_store_n(&g->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g->bg_cond);
    pthread_mutex_unlock(&g->bg_mu);
    if (g->bg_running) pthread_join(g->bg, NULL);
    if (g->flusher_running) pthread_join(g->flusher, NULL);
    /* Everything in memory goes to files, so the next start replays (almost) nothing. */
    int64_t t0 = time_mono_ns();
    size_t n;
    struct sdb **dbs = sdb_all(g, &n);
    __atomic_store_n(&g->stop, false, __ATOMIC_RELEASE);
    for (size_t i = 0; i < n; i++) {
        err e;
        if (!dbs[i]->dropped && engine_flush_all(g, dbs[i]->id, false, &e) < 0) {
            log_error("flush at shutdown: %s", e.msg);
            rc = -1;
        }
        sdb_release(dbs[i]);
    }
    free(dbs);
    int64_t t1 = time_mono_ns();
    size_t pos = 0;
    uint64_t v;
    while (hmap_next(g->dbs, &pos, NULL, NULL, &v)) sdb_release((struct sdb *)(uintptr_t)v);
    hmap_free(g->dbs);
    log_info("storage: closed %zu databases: flushed in %.1f ms, freed in %.1f ms", n,
             (double)(t1 - t0) / 1e6, (double)(time_mono_ns() - t1) / 1e6);
    if (atomic_load(&g->close_failures)) rc = -1;
    /* Whatever was synced into a directory that is gone is not durable either. */
    if (engine_check_lost(g)) rc = -1;
    close(g->dirfd);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->bg_mu);
    omutex_destroy(&g->bg_work);
    omutex_destroy(&g->flush_work);
    pthread_cond_destroy(&g->bg_cond);
    free(g->dir);
    free(g);
    return rc;
}

#define LOST_FMT                                                                                   \
    "the storage directory %s %s while the server was running: writes are refused because "        \
    "they could not be kept; restart the server"

/* Whether the storage directory is still the one at its path: `rm -rf` of the data directory
 * leaves the server holding a directory with no name, and everything acknowledged from then
 * on would be gone at the next start. Sticky, like a failed fsync. The reason is one of
 * fs_dir_gone's constant strings, so any thread may read it once it is set. */
bool engine_check_lost(engine *g) {
    if (atomic_load(&g->lost_why)) return true;
    const char *why = fs_dir_gone(g->dirfd, g->dir);
    if (!why) return false;
    const char *none = NULL;
    if (atomic_compare_exchange_strong(&g->lost_why, &none, why)) log_error(LOST_FMT, g->dir, why);
    return true;
}

bool engine_healthy(engine *g, err *e) {
    if (!engine_check_lost(g)) return true;
    err_set(e, 500, EC_STORAGE, LOST_FMT, g->dir, atomic_load(&g->lost_why));
    return false;
}

bool engine_healthy_known(engine *g, err *e) {
    const char *why = atomic_load(&g->lost_why);
    if (!why) return true;
    err_set(e, 500, EC_STORAGE, LOST_FMT, g->dir, why);
    return false;
}

/* Column files must not use series ids the index does not know (see sindex_check_bound). */
static int check_series_ids(struct sdb *d, err *e) {
    uint64_t bound = 0;
    const char *user = NULL;
    for (size_t i = 0; i < d->nvnodes; i++) {
        const char *u = vnode_sid_bound(d->vnodes[i], &bound);
        if (u) user = u;
    }
    return user ? sindex_check_bound(d->idx, bound, user, d->g->opts.salvage, e) : 0;
}

/* Newest LSN whose rows some vnode holds in files. The WAL must hand out larger ones, or replay
 * would take new records for rows already flushed and skip them (a WAL that lost its tail or
 * its files while the column files stayed). */
static uint64_t flushed_lsn(struct sdb *d) {
    uint64_t m = 0;
    for (size_t i = 0; i < d->nvnodes; i++)
        if (vnode_flushed_lsn(d->vnodes[i]) > m) m = vnode_flushed_lsn(d->vnodes[i]);
    return m;
}

void sdb_label(const engine *g, uint64_t id, char *out, size_t cap) {
    if (g->opts.db_label)
        g->opts.db_label(g->opts.table_live_ctx, id, out, cap);
    else
        snprintf(out, cap, "#%llu", (unsigned long long)id);
}

int engine_open_db(engine *g, uint64_t db_id, const engine_db_opts *o, err *e) {
    struct sdb *existing = sdb_get(g, db_id);
    if (existing) {
        sdb_release(existing);
        return 0;
    }
    struct sdb *d = xcalloc(1, sizeof *d);
    d->g = g;
    d->id = db_id;
    d->refs = 1;
    d->opts = *o;
    d->unit_ns = 1000000000 / tunit_per_sec((enum tunit)o->precision);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
    d->dir = xstrdup(path);
    omutex_init(&d->wmu);
    pthread_cond_init(&d->drained, NULL);
    pthread_rwlock_init(&d->rw, NULL);
    pthread_mutex_init(&d->tomb_mu, NULL);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        err_set(e, 500, EC_STORAGE, "cannot create %s: %s", path, strerror(errno));
        sdb_free(d);
        return -1;
    }
    snprintf(path, sizeof path, "%s/index", d->dir);
    if (sindex_open(path, g->opts.salvage, &d->idx, e) < 0 || sdb_tombs_load(d, e) < 0 ||
        sdb_open_vnodes(d, e) < 0 || check_series_ids(d, e) < 0) {
        sdb_free(d);
        return -1;
    }
    wal_opts wo = {.sync_each = g->opts.wal_sync,
                   .sync_interval_ms = g->opts.wal_sync_interval_ms,
                   .max_segment_bytes = g->opts.wal_max_file_size,
                   .salvage = g->opts.salvage};
    snprintf(path, sizeof path, "%s/wal", d->dir);
    if (wal_open(path, &wo, &d->wal, e) < 0) {
        sdb_free(d);
        return -1;
    }
    void *ctx[2] = {g, d};
    int64_t t0 = time_mono_ns();
    omutex_lock(&d->wmu);
    int rc = wal_replay(d->wal, sdb_replay_cb, ctx, e);
    /* Past the newest key change too: a record with a smaller lsn would be taken for one
     * written before the change (sindex_resolve). */
    uint64_t floor = flushed_lsn(d);
    if (sindex_retag_lsn(d->idx) > floor) floor = sindex_retag_lsn(d->idx);
    if (rc == 0) rc = wal_skip_to(d->wal, floor + 1, e);
    omutex_unlock(&d->wmu);
    if (rc < 0) {
        sdb_free(d);
        return -1;
    }
    char name[300];
    sdb_label(g, db_id, name, sizeof name);
    log_info("database %s: %zu vnodes, %zu series, WAL replayed up to lsn %llu in %.1f ms", name,
             d->nvnodes, sindex_count(d->idx), (unsigned long long)wal_last_lsn(d->wal),
             (double)(time_mono_ns() - t0) / 1e6);
    pthread_mutex_lock(&g->mu);
    hmap_put(g->dbs, &db_id, sizeof db_id, (uint64_t)(uintptr_t)d);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void engine_update_db(engine *g, uint64_t db_id, const engine_db_opts *o) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return;
    omutex_lock(&d->wmu);
    d->opts.ttl_ns = o->ttl_ns;
    d->opts.shard = o->shard;
    /* A new duration shapes vnodes created from now on; existing ones keep their ranges. */
    d->opts.vnode_duration_ns = o->vnode_duration_ns;
    omutex_unlock(&d->wmu);
    sdb_release(d);
    engine_kick(g);
}

int engine_drop_db(engine *g, uint64_t db_id, err *e) {
    pthread_mutex_lock(&g->mu);
    uint64_t v;
    struct sdb *d = NULL;
    if (hmap_get(g->dbs, &db_id, sizeof db_id, &v)) {
        d = (struct sdb *)(uintptr_t)v;
        hmap_del(g->dbs, &db_id, sizeof db_id);
    }
    pthread_mutex_unlock(&g->mu);
    if (d) {
        /* Wait out a background round or a flush that may hold it, then let the last reference
         * go. */
        omutex_lock(&g->bg_work);
        omutex_lock(&g->flush_work);
        d->dropped = true;
        omutex_unlock(&g->flush_work);
        omutex_unlock(&g->bg_work);
        sdb_release(d);
    } else {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/db-%llu", g->dir, (unsigned long long)db_id);
        fs_rm_rf(path);
    }
    return 0;
}

int engine_drop_table(engine *g, uint64_t db_id, uint64_t table_id, err *e) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return 0;
    arena *a = arena_new(0);
    uint32_t *sids;
    size_t n = sindex_table_sids(d->idx, table_id, a, &sids);
    omutex_lock(&d->wmu);
    pthread_rwlock_rdlock(&d->rw);
    for (size_t i = 0; i < d->nvnodes; i++) {
        vversion *vv = vnode_acquire(d->vnodes[i]);
        (void)vv;
        mc_drop_series(vnode_active(d->vnodes[i]), sids, n);
        vversion_release(vv);
    }
    pthread_rwlock_unlock(&d->rw);
    int rc = sindex_drop_table(d->idx, table_id, e);
    omutex_unlock(&d->wmu);
    arena_free(a);
    /* Files still hold the rows; a full compaction drops them and frees the space. */
    __atomic_store_n(&d->want_full_compact, true, __ATOMIC_RELEASE);
    engine_kick(g);
    sdb_release(d);
    return rc;
}

int engine_flush_all(engine *g, uint64_t db_id, bool compact, err *e) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return 0;
    omutex_lock(&d->wmu);
    pthread_rwlock_rdlock(&d->rw);
    for (size_t i = 0; i < d->nvnodes; i++) vnode_freeze(d->vnodes[i]);
    pthread_rwlock_unlock(&d->rw);
    omutex_unlock(&d->wmu);
    omutex_lock(&g->bg_work);
    int rc = sdb_maintain_locked(g, d, compact, e);
    omutex_unlock(&g->bg_work);
    sdb_release(d);
    return rc;
}
