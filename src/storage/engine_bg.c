/* The storage engine's background work: one thread that, every bg_interval_ms or when kicked,
 * flushes frozen caches, compacts, drops expired vnodes, trims the WAL and prunes tombstones
 * of every open database, and a flusher that only flushes, so that writers waiting for cache
 * room are not held up by a compaction of seconds. See engine_int.h for the locks. */
#include "storage/engine_int.h"

#include "storage/counters.h"

#include "util/log.h"
#include "util/membudget.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------ background work */

static uint8_t env_codec(void *ctx, uint64_t table_id, uint32_t col_id) {
    struct sdb *d = ctx;
    engine *g = d->g;
    return g->opts.col_codec ? g->opts.col_codec(g->opts.table_live_ctx, d->id, table_id, col_id)
                             : 0;
}

static bool env_live(void *ctx, uint64_t table_id) {
    struct sdb *d = ctx;
    engine *g = d->g;
    return !g->opts.table_live || g->opts.table_live(g->opts.table_live_ctx, d->id, table_id);
}

static bool env_series_table(void *ctx, uint32_t sid, uint64_t *table_id) {
    struct sdb *d = ctx;
    return sindex_series_table(d->idx, sid, table_id);
}

static int env_sync(void *ctx, err *e) {
    struct sdb *d = ctx;
    return sindex_sync(d->idx, e);
}

/* A flush's or compaction's bytes and time, for its log line: the storage counters before it,
 * read again after (background work is serialised by bg_work, so the difference is its own). */
struct work_mark {
    enum storage_counter in, out, micros; /* in = SC__COUNT: the work reads no files */
    uint64_t v[3];
};

static uint64_t counter_or_0(enum storage_counter c) {
    return c < SC__COUNT ? storage_counter_get(c) : 0;
}

static struct work_mark work_mark(enum storage_counter in, enum storage_counter out,
                                  enum storage_counter micros) {
    return (struct work_mark){
        in, out, micros, {counter_or_0(in), counter_or_0(out), counter_or_0(micros)}};
}

static void log_work(const struct work_mark *wm, const char *what, const char *db, vnode *v) {
    if (log_threshold < LOG_DEBUG) return;
    uint64_t in = counter_or_0(wm->in) - wm->v[0], out = counter_or_0(wm->out) - wm->v[1],
             us = counter_or_0(wm->micros) - wm->v[2];
    if (wm->in == SC__COUNT)
        log_debug("database %s: %s vnode [%lld, %lld] in %.1f ms: %llu bytes written", db, what,
                  (long long)vnode_tmin(v), (long long)vnode_tmax(v), (double)us / 1e3,
                  (unsigned long long)out);
    else
        log_debug("database %s: %s vnode [%lld, %lld] in %.1f ms: %llu bytes read, %llu written",
                  db, what, (long long)vnode_tmin(v), (long long)vnode_tmax(v), (double)us / 1e3,
                  (unsigned long long)in, (unsigned long long)out);
}

int sdb_flush_locked(engine *g, struct sdb *d, err *flush_err) {
    STRATA_ASSERT(omutex_held(&g->flush_work));
    int frc = 0;
    err e;
    err_clear(&e);
    vnode_env env = {env_codec, env_live, env_series_table, env_sync, d, {0}};
    size_t nv;
    vnode **vs = sdb_vnodes_snapshot(d, &nv);
    char name[300];
    sdb_label(g, d->id, name, sizeof name);
    for (size_t i = 0; i < nv; i++) {
        int rc;
        for (;;) {
            struct work_mark wm = work_mark(SC__COUNT, SC_FLUSH_BYTES, SC_FLUSH_MICROS);
            if ((rc = vnode_flush_one(vs[i], &env, &e)) != 1) break;
            log_work(&wm, "flushed a cache of", name, vs[i]);
            omutex_lock(&d->wmu);
            pthread_cond_broadcast(&d->drained);
            omutex_unlock(&d->wmu);
        }
        if (rc < 0) {
            log_error("database %s: flush: %s", name, e.msg);
            if (frc == 0 && flush_err) *flush_err = e;
            frc = -1;
            err_clear(&e);
        }
    }
    sdb_vnodes_release(vs, nv);
    return frc;
}

/* Flushes what is waiting, compacts, trims the WAL. Vnodes are only removed by retention,
 * under flush_work, and the snapshot holds references, so its pointers stay valid. */
int sdb_maintain_locked(engine *g, struct sdb *d, bool full, err *flush_err) {
    STRATA_ASSERT(omutex_held(&g->bg_work));
    omutex_lock(&g->flush_work);
    int frc = sdb_flush_locked(g, d, flush_err);
    omutex_unlock(&g->flush_work);
    err e;
    err_clear(&e);
    arena *a = arena_new(0);
    vnode_env env = {env_codec, env_live, env_series_table,
                     env_sync,  d,        sdb_tombs_snapshot(d, 0, a)};
    size_t nv;
    vnode **vs = sdb_vnodes_snapshot(d, &nv);
    char name[300];
    sdb_label(g, d->id, name, sizeof name);
    bool force = full || __atomic_exchange_n(&d->want_full_compact, false, __ATOMIC_ACQ_REL);
    for (size_t i = 0; i < nv && !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE); i++) {
        int rc = 0;
        /* A compaction's output takes the newest data LSN of its inputs, so it must apply every
         * tombstone older than that: take them now, not at the start of the round, or a DELETE
         * that came while this round flushed newer caches would be lost (its rows resurrected
         * in an output file that the tombstone no longer covers). A DELETE arriving during the
         * compaction has a larger LSN than every input and keeps covering the output. */
        while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
            env.tombs = sdb_tombs_snapshot(d, 0, a);
            struct work_mark wm = work_mark(SC_COMPACT_IN, SC_COMPACT_OUT, SC_COMPACT_MICROS);
            rc = vnode_compact(vs[i], &env, force, &e);
            if (rc == 1) log_work(&wm, "compacted files of", name, vs[i]);
            if (rc != 1 || force) break;
        }
        if (rc < 0) {
            log_error("database %s: compaction: %s", name, e.msg);
            err_clear(&e);
        }
    }
    /* Retention: a vnode whose whole range is older than the TTL goes at once. */
    if (d->opts.ttl_ns > 0) {
        int64_t cutoff = (time_now_ns() - d->opts.ttl_ns) / d->unit_ns;
        omutex_lock(&g->flush_work);
        omutex_lock(&d->wmu);
        pthread_rwlock_wrlock(&d->rw);
        size_t k = 0;
        for (size_t i = 0; i < d->nvnodes; i++) {
            vnode *v = d->vnodes[i];
            if (vnode_tmax(v) < cutoff) {
                log_info("database %s: dropping expired vnode [%lld, %lld]", name,
                         (long long)vnode_tmin(v), (long long)vnode_tmax(v));
                vnode_mark_dropped(v);
                vnode_close(v);
            } else {
                d->vnodes[k++] = v;
            }
        }
        bool changed = k != d->nvnodes;
        d->nvnodes = k;
        pthread_rwlock_unlock(&d->rw);
        omutex_unlock(&d->wmu);
        omutex_unlock(&g->flush_work);
        if (changed) {
            sdb_vnodes_release(vs, nv);
            vs = sdb_vnodes_snapshot(d, &nv);
        }
    }
    /* WAL: segments wholly before the oldest unflushed record can go. Computed under the
     * write lock so no record lands between the check and a rotation. */
    omutex_lock(&d->wmu);
    uint64_t keep = wal_last_lsn(d->wal) + 1;
    for (size_t i = 0; i < nv; i++) {
        uint64_t m = vnode_min_unflushed_lsn(vs[i]);
        if (m < keep) keep = m;
    }
    /* Everything flushed: start a new segment so the old one can go and a restart replays
     * nothing. (An empty current segment is not rotated again.) */
    if (keep == wal_last_lsn(d->wal) + 1 && wal_size(d->wal) > 0) {
        uint64_t r = wal_rotate(d->wal, &e);
        if (r) keep = r;
    }
    omutex_unlock(&d->wmu);
    if (wal_trim(d->wal, keep, &e) < 0) {
        log_error("database %s: wal trim: %s", name, e.msg);
        err_clear(&e);
    }
    /* A vnode that sees few writes would pin old WAL segments forever: when the WAL grows
     * past a few segments, freeze the cache holding the oldest record. */
    if (wal_size(d->wal) > 4 * g->opts.wal_max_file_size) {
        vnode *oldest = NULL;
        uint64_t ol = UINT64_MAX;
        for (size_t i = 0; i < nv; i++) {
            uint64_t m = vnode_min_unflushed_lsn(vs[i]);
            if (m < ol) {
                ol = m;
                oldest = vs[i];
            }
        }
        if (oldest) {
            omutex_lock(&d->wmu);
            if (vnode_freeze(oldest)) engine_kick(g);
            omutex_unlock(&d->wmu);
        }
    }
    /* Memcaches count against the server's memory budget (util/membudget.h), and writes are
     * refused while it is spent; only a flush gives cache memory back, and the caches' own
     * size limit may never call for one (a budget below it). When the caches hold over a
     * quarter of the budget and everything over three quarters, freeze the largest here. */
    uint64_t lim = membudget_limit();
    if (lim && membudget_used() > lim / 4 * 3 && membudget_used_by(MEMBUDGET_MEMCACHE) > lim / 4) {
        vnode *big = NULL;
        size_t bb = 0;
        omutex_lock(&d->wmu);
        for (size_t i = 0; i < nv; i++) {
            size_t b = mc_bytes(vnode_active(vs[i]));
            if (b > bb) {
                bb = b;
                big = vs[i];
            }
        }
        if (big && vnode_freeze(big)) engine_kick(g);
        omutex_unlock(&d->wmu);
    }
    /* Tombstones no source needs any more are dropped. */
    pthread_rwlock_wrlock(&d->rw);
    size_t k = 0;
    bool pruned = false;
    for (size_t i = 0; i < d->ntombs; i++) {
        tombstone *t = &d->tombs[i];
        bool needed = false;
        for (size_t j = 0; j < d->nvnodes && !needed; j++)
            if (vnode_tmax(d->vnodes[j]) >= t->tmin && vnode_tmin(d->vnodes[j]) <= t->tmax)
                needed = vnode_has_data_before(d->vnodes[j], t->lsn);
        if (needed)
            d->tombs[k++] = *t;
        else {
            free(t->sids);
            pruned = true;
        }
    }
    d->ntombs = k;
    pthread_rwlock_unlock(&d->rw);
    if (pruned && sdb_tombs_save(d, &e) < 0) {
        log_error("database %s: tombstones: %s", name, e.msg);
        err_clear(&e);
    }
    sdb_vnodes_release(vs, nv);
    arena_free(a);
    return frc;
}

/* Waits (g->bg_mu held) for *kick or the period; false when the engine stops. */
static bool bg_wait(engine *g, bool *kick) {
    int period = g->opts.bg_interval_ms > 0 ? g->opts.bg_interval_ms : 1000;
    if (!*kick && !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += period / 1000;
        ts.tv_nsec += (long)(period % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->bg_cond, &g->bg_mu, &ts);
    }
    *kick = false;
    return !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE);
}

void *engine_flush_main(void *arg) {
    engine *g = arg;
    pthread_mutex_lock(&g->bg_mu);
    while (bg_wait(g, &g->flush_kick)) {
        pthread_mutex_unlock(&g->bg_mu);
        omutex_lock(&g->flush_work);
        size_t n;
        struct sdb **dbs = sdb_all(g, &n);
        for (size_t i = 0; i < n; i++) {
            if (!dbs[i]->dropped) (void)sdb_flush_locked(g, dbs[i], NULL);
            sdb_release(dbs[i]);
        }
        free(dbs);
        omutex_unlock(&g->flush_work);
        pthread_mutex_lock(&g->bg_mu);
    }
    pthread_mutex_unlock(&g->bg_mu);
    return NULL;
}

void *engine_bg_main(void *arg) {
    engine *g = arg;
    pthread_mutex_lock(&g->bg_mu);
    while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
        if (!bg_wait(g, &g->bg_kick)) break;
        pthread_mutex_unlock(&g->bg_mu);
        (void)engine_check_lost(g);
        omutex_lock(&g->bg_work);
        size_t n;
        struct sdb **dbs = sdb_all(g, &n);
        for (size_t i = 0; i < n; i++) {
            if (!dbs[i]->dropped) (void)sdb_maintain_locked(g, dbs[i], false, NULL);
            sdb_release(dbs[i]);
        }
        free(dbs);
        omutex_unlock(&g->bg_work);
        pthread_mutex_lock(&g->bg_mu);
    }
    pthread_mutex_unlock(&g->bg_mu);
    return NULL;
}

void engine_kick(engine *g) {
    pthread_mutex_lock(&g->bg_mu);
    g->bg_kick = true;
    g->flush_kick = true;
    pthread_cond_broadcast(&g->bg_cond);
    pthread_mutex_unlock(&g->bg_mu);
}
