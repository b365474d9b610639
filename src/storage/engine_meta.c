/* The storage engine's metadata queries: series of a table, tag values, whether a series has
 * rows in a range, and per-database statistics. See engine.h. */
#include "storage/engine_int.h"

#include <string.h>

size_t engine_table_series(engine *g, uint64_t db_id, uint64_t table_id) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return 0;
    arena *a = arena_new(0);
    uint32_t *sids;
    size_t n = sindex_table_sids(d->idx, table_id, a, &sids);
    arena_free(a);
    sdb_release(d);
    return n;
}

int engine_table_sids(engine *g, uint64_t db_id, uint64_t table_id, uint32_t ntags,
                      const uint32_t *tag_ids, bool (*pred)(void *ctx, const strv *tags), void *ctx,
                      arena *a, uint32_t **sids, size_t *n, err *e) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)db_id);
    uint32_t *all;
    size_t cnt = sindex_table_sids(d->idx, table_id, a, &all);
    size_t k = 0;
    strv *tags = arena_alloc(a, sizeof *tags * (ntags + 1));
    for (size_t i = 0; i < cnt; i++) {
        if (pred) {
            sindex_series_tags(d->idx, all[i], ntags, tag_ids, a, tags);
            if (!pred(ctx, tags)) continue;
        }
        all[k++] = all[i];
    }
    *sids = all;
    *n = k;
    sdb_release(d);
    return 0;
}

void engine_series_tags(engine *g, uint64_t db_id, uint32_t sid, uint32_t ntags,
                        const uint32_t *tag_ids, arena *a, strv *out) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) {
        for (uint32_t k = 0; k < ntags; k++) out[k] = (strv){NULL, 0};
        return;
    }
    sindex_series_tags(d->idx, sid, ntags, tag_ids, a, out);
    sdb_release(d);
}

size_t engine_tag_values(engine *g, uint64_t db_id, uint64_t table_id, uint32_t tag_id, arena *a,
                         strv **vals) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) {
        *vals = NULL;
        return 0;
    }
    size_t n = sindex_tag_values(d->idx, table_id, tag_id, a, vals);
    sdb_release(d);
    return n;
}

bool engine_series_has_rows(engine *g, uint64_t db_id, uint32_t sid, int64_t tmin, int64_t tmax) {
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return false;
    arena *a = arena_new(0);
    uint64_t table_id = 0;
    bool found = false;
    if (sindex_series_table(d->idx, sid, &table_id)) {
        tomb_set ts = sdb_tombs_snapshot(d, table_id, a);
        size_t nv;
        vnode **vs = sdb_vnodes_snapshot(d, &nv);
        for (size_t i = 0; i < nv && !found; i++) {
            if (vnode_tmax(vs[i]) < tmin || vnode_tmin(vs[i]) > tmax) continue;
            vversion *vv = vnode_acquire(vs[i]);
            mc_rows r;
            err e;
            if (vversion_read(vv, sid, tmin, tmax, 0, NULL, NULL, &ts, a, &r, &e) == 0)
                found = r.n > 0;
            vversion_release(vv);
        }
        sdb_vnodes_release(vs, nv);
    }
    arena_free(a);
    sdb_release(d);
    return found;
}

size_t engine_vnode_stats(engine *g, uint64_t db_id, arena *a, engine_vnode_stat **out) {
    *out = NULL;
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return 0;
    size_t nv;
    vnode **vs = sdb_vnodes_snapshot(d, &nv);
    *out = arena_calloc(a, sizeof **out * (nv + 1));
    for (size_t i = 0; i < nv; i++) {
        size_t f;
        uint64_t b;
        vnode_disk_usage(vs[i], &f, &b);
        (*out)[i] = (engine_vnode_stat){vnode_bucket(vs[i]), vnode_shard(vs[i]),
                                        vnode_mem_bytes(vs[i]), b};
    }
    sdb_vnodes_release(vs, nv);
    sdb_release(d);
    return nv;
}

void engine_db_stats(engine *g, uint64_t db_id, engine_stats *st) {
    memset(st, 0, sizeof *st);
    struct sdb *d = sdb_get(g, db_id);
    if (!d) return;
    size_t nv;
    vnode **vs = sdb_vnodes_snapshot(d, &nv);
    st->vnodes = nv;
    for (size_t i = 0; i < nv; i++) {
        size_t f;
        uint64_t b;
        vnode_disk_usage(vs[i], &f, &b);
        st->files += f;
        st->file_bytes += b;
        st->mem_bytes += vnode_mem_bytes(vs[i]);
        st->pending_flushes += vnode_pending(vs[i]);
    }
    sdb_vnodes_release(vs, nv);
    st->wal_bytes = wal_size(d->wal);
    st->series = sindex_count(d->idx);
    sdb_release(d);
}
