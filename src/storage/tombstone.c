/* A database's tombstones (DELETE): kept in memory under the database's rw lock and saved
 * whole to `TOMBSTONES` (one checksummed JSON line, replaced atomically) after every change.
 * See engine_int.h. */
#include "storage/engine_int.h"

#include "util/fs.h"
#include "util/mem.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void sdb_tombs_free(tombstone *t, size_t n) {
    for (size_t i = 0; i < n; i++) free(t[i].sids);
    free(t);
}

int sdb_tombs_save(struct sdb *d, err *e) {
    /* tomb_mu orders the saves: each writes a state at least as new as the one before. The
     * state is copied under the read lock; the write and fsync happen without it, so scans and
     * writers do not wait for the disk. */
    pthread_mutex_lock(&d->tomb_mu);
    pthread_rwlock_rdlock(&d->rw);
    json_t *arr = json_array();
    for (size_t i = 0; i < d->ntombs; i++) {
        const tombstone *t = &d->tombs[i];
        json_t *sids = json_array();
        for (uint32_t k = 0; k < t->nsids; k++)
            json_array_append_new(sids, json_integer(t->sids[k]));
        json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:I, s:o}", "lsn", (json_int_t)t->lsn,
                                             "table", (json_int_t)t->table_id, "tmin",
                                             (json_int_t)t->tmin, "tmax", (json_int_t)t->tmax,
                                             "sids", sids));
    }
    pthread_rwlock_unlock(&d->rw);
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/TOMBSTONES", d->dir);
    char hdr[16];
    int hl = snprintf(hdr, sizeof hdr, "%08x ", (uint32_t)XXH3_64bits(text, strlen(text)));
    const void *parts[] = {hdr, text};
    size_t lens[] = {(size_t)hl, strlen(text)};
    int rc = fs_write_atomic(path, parts, lens, 2, e);
    pthread_mutex_unlock(&d->tomb_mu);
    free(text);
    return rc;
}

int sdb_tombs_load(struct sdb *d, err *e) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/TOMBSTONES", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT
                   ? 0
                   : err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    unsigned crc;
    json_t *arr = NULL;
    if (len > 9 && line[8] == ' ' && sscanf(line, "%8x", &crc) == 1 &&
        (uint32_t)XXH3_64bits(line + 9, (size_t)len - 9) == crc)
        arr = json_loadb(line + 9, (size_t)len - 9, 0, NULL);
    free(line);
    if (!arr) return err_set(e, 500, EC_STORAGE, "corrupt %s", path);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        d->tombs = xrealloc(d->tombs, sizeof *d->tombs * (d->ntombs + 1));
        tombstone *t = &d->tombs[d->ntombs++];
        t->lsn = (uint64_t)json_integer_value(json_object_get(it, "lsn"));
        t->table_id = (uint64_t)json_integer_value(json_object_get(it, "table"));
        t->tmin = json_integer_value(json_object_get(it, "tmin"));
        t->tmax = json_integer_value(json_object_get(it, "tmax"));
        json_t *sids = json_object_get(it, "sids");
        t->nsids = (uint32_t)json_array_size(sids);
        t->sids = xmalloc(sizeof *t->sids * (t->nsids + 1));
        for (uint32_t k = 0; k < t->nsids; k++)
            t->sids[k] = (uint32_t)json_integer_value(json_array_get(sids, k));
    }
    json_decref(arr);
    return 0;
}

/* A copy of the tombstones (of one table, or all when table_id is 0) in the arena. */
tomb_set sdb_tombs_snapshot(struct sdb *d, uint64_t table_id, arena *a) {
    pthread_rwlock_rdlock(&d->rw);
    tombstone *t = arena_alloc(a, sizeof *t * (d->ntombs + 1));
    size_t n = 0;
    for (size_t i = 0; i < d->ntombs; i++) {
        if (table_id && d->tombs[i].table_id != table_id) continue;
        t[n] = d->tombs[i];
        t[n].sids = arena_alloc(a, sizeof *t[n].sids * (d->tombs[i].nsids + 1));
        memcpy(t[n].sids, d->tombs[i].sids, sizeof *t[n].sids * d->tombs[i].nsids);
        n++;
    }
    pthread_rwlock_unlock(&d->rw);
    return (tomb_set){t, n};
}
