/* The storage engine's vnode routing: which vnode of a database holds a row (created on
 * first use), the vnodes found on disk at open, and retained snapshots of the vnode list.
 * See engine_int.h for the locks. */
#include "storage/engine_int.h"

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t sdb_vnode_units(const struct sdb *d) {
    int64_t u = d->opts.vnode_duration_ns / d->unit_ns;
    return u > 0 ? u : 1;
}

static uint32_t shard_of(const struct sdb *d, uint32_t sid) {
    return d->opts.shard > 1 ? sid % (uint32_t)d->opts.shard : 0;
}

/* Index of the first vnode with tmax >= ts (vnodes sorted by tmin, ranges disjoint per shard
 * group). Caller holds rw. */
static size_t vnode_lower_locked(const struct sdb *d, int64_t ts) {
    size_t lo = 0, hi = d->nvnodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (vnode_tmax(d->vnodes[mid]) < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void vnode_dir(char *out, size_t cap, const struct sdb *d, int64_t tmin, int64_t tmax,
                      uint32_t shard) {
    snprintf(out, cap, "%s/vnode-%lld_%lld_%u", d->dir, (long long)tmin, (long long)tmax, shard);
}

static int vnode_cmp(const void *pa, const void *pb) {
    const vnode *a = *(vnode *const *)pa, *b = *(vnode *const *)pb;
    if (vnode_tmin(a) != vnode_tmin(b)) return vnode_tmin(a) < vnode_tmin(b) ? -1 : 1;
    return (vnode_shard(a) > vnode_shard(b)) - (vnode_shard(a) < vnode_shard(b));
}

vnode *sdb_vnode_for_locked(struct sdb *d, int64_t ts, uint32_t sid, err *e) {
    STRATA_ASSERT(omutex_held(&d->wmu));
    uint32_t shard = shard_of(d, sid);
    pthread_rwlock_rdlock(&d->rw);
    int64_t rmin = INT64_MIN, rmax = INT64_MAX; /* free range around ts */
    bool have_range = false;
    for (size_t i = vnode_lower_locked(d, ts); i < d->nvnodes; i++) {
        vnode *v = d->vnodes[i];
        if (vnode_tmin(v) > ts) break;
        if (vnode_tmax(v) < ts) continue;
        if (vnode_shard(v) == shard) {
            pthread_rwlock_unlock(&d->rw);
            return v;
        }
        /* Another shard owns this range: the new vnode takes the same range. */
        rmin = vnode_tmin(v);
        rmax = vnode_tmax(v);
        have_range = true;
    }
    if (!have_range) {
        int64_t u = sdb_vnode_units(d);
        __int128 start = (__int128)floor_div(ts, u) * u;
        __int128 end = start + u - 1;
        rmin = start < INT64_MIN ? INT64_MIN : (int64_t)start;
        rmax = end > INT64_MAX ? INT64_MAX : (int64_t)end;
        /* A changed VNODE_DURATION must not make ranges overlap: clip to the neighbours. */
        for (size_t i = 0; i < d->nvnodes; i++) {
            vnode *v = d->vnodes[i];
            if (vnode_tmax(v) < ts && vnode_tmax(v) >= rmin) rmin = vnode_tmax(v) + 1;
            if (vnode_tmin(v) > ts && vnode_tmin(v) <= rmax) rmax = vnode_tmin(v) - 1;
        }
    }
    pthread_rwlock_unlock(&d->rw);
    char dir[PATH_MAX];
    vnode_dir(dir, sizeof dir, d, rmin, rmax, shard);
    vnode *v;
    if (vnode_open(dir, floor_div(rmin, sdb_vnode_units(d)), shard, rmin, rmax, &v, e) < 0)
        return NULL;
    pthread_rwlock_wrlock(&d->rw);
    d->vnodes = xrealloc(d->vnodes, sizeof *d->vnodes * (d->nvnodes + 1));
    d->vnodes[d->nvnodes++] = v;
    qsort(d->vnodes, d->nvnodes, sizeof *d->vnodes, vnode_cmp);
    pthread_rwlock_unlock(&d->rw);
    return v;
}

/* Times below this are in expired vnodes (INT64_MIN without a TTL). */
int64_t sdb_expired_before(const struct sdb *d) {
    if (d->opts.ttl_ns <= 0) return INT64_MIN;
    return (time_now_ns() - d->opts.ttl_ns) / d->unit_ns;
}

int sdb_open_vnodes(struct sdb *d, err *e) {
    DIR *dir = opendir(d->dir);
    if (!dir) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", d->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir)) && rc == 0) {
        long long tmin, tmax;
        unsigned shard;
        char tail;
        if (sscanf(de->d_name, "vnode-%lld_%lld_%u%c", &tmin, &tmax, &shard, &tail) != 3) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", d->dir, de->d_name);
        if (sdb_expired_before(d) > tmax) {
            /* Past the TTL: retention would drop it at once; never show it again. */
            char name[300];
            sdb_label(d->g, d->id, name, sizeof name);
            log_info("database %s: removing expired %s", name, path);
            fs_rm_rf(path);
            continue;
        }
        vnode *v;
        if (vnode_open(path, floor_div(tmin, sdb_vnode_units(d)), shard, tmin, tmax, &v, e) < 0) {
            rc = -1;
            break;
        }
        d->vnodes = xrealloc(d->vnodes, sizeof *d->vnodes * (d->nvnodes + 1));
        d->vnodes[d->nvnodes++] = v;
    }
    closedir(dir);
    if (d->nvnodes) qsort(d->vnodes, d->nvnodes, sizeof *d->vnodes, vnode_cmp);
    return rc;
}

/* The database's vnodes, each retained: release with sdb_vnodes_release. */
vnode **sdb_vnodes_snapshot(struct sdb *d, size_t *n) {
    pthread_rwlock_rdlock(&d->rw);
    vnode **arr = xmalloc(sizeof *arr * (d->nvnodes + 1));
    for (size_t i = 0; i < d->nvnodes; i++) {
        arr[i] = d->vnodes[i];
        vnode_retain(arr[i]);
    }
    *n = d->nvnodes;
    pthread_rwlock_unlock(&d->rw);
    return arr;
}

void sdb_vnodes_release(vnode **vs, size_t n) {
    for (size_t i = 0; i < n; i++) vnode_close(vs[i]);
    free(vs);
}
