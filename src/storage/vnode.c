/* Vnodes: versions, flush, compaction and merged reads. See vnode.h. */
#include "storage/vnode.h"

#include "storage/counters.h"

#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAX_LEVEL 3
#define LEVEL_FANIN 4

/* The directory, shared by the vnode and its versions so that a dropped vnode's files go
 * only when nothing reads them any more. */
struct vdir {
    int refs;
    bool dropped;
    char *path;
};

struct cfile {
    int refs;
    uint64_t id;
    int level;
    uint64_t data_lsn;
    bool obsolete; /* replaced by a compaction: delete when the last reference goes */
    cf_reader *r;
    char *path;
};

struct vversion {
    int refs;
    struct vdir *vd;
    struct cfile **files; /* in precedence order: oldest data first */
    size_t nfiles;
    memcache **imm; /* oldest first */
    size_t nimm;
    memcache *active;
};

struct vnode {
    int refs;
    struct vdir *vd;
    int64_t bucket;
    uint32_t shard;
    int64_t tmin, tmax;
    pthread_mutex_t mu; /* cur, manifest */
    vversion *cur;
    /* The current version's active cache, for writers: it changes only in vnode_freeze, which
     * runs under the database's write lock like every writer, so they read it without mu
     * (cur itself is replaced by flushes and compactions at any time). */
    memcache *active;
    uint64_t flushed_lsn;
    uint64_t next_file_id;
};

/* ------------------------------------------------------------------ helpers */

static void vdir_release(struct vdir *vd) {
    if (__atomic_sub_fetch(&vd->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    if (vd->dropped && fs_rm_rf(vd->path) < 0)
        log_error("cannot remove %s: %s", vd->path, strerror(errno));
    free(vd->path);
    free(vd);
}

static void cfile_release(struct cfile *f) {
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    cf_release(f->r);
    if (f->obsolete && unlink(f->path) < 0 && errno != ENOENT)
        log_error("cannot remove %s: %s", f->path, strerror(errno));
    free(f->path);
    free(f);
}

static int cmp_precedence(const void *pa, const void *pb) {
    const struct cfile *a = *(struct cfile *const *)pa, *b = *(struct cfile *const *)pb;
    if (a->level != b->level) return a->level > b->level ? -1 : 1; /* higher level = older */
    if (a->data_lsn != b->data_lsn) return a->data_lsn < b->data_lsn ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static vversion *version_new(struct vdir *vd) {
    vversion *v = xcalloc(1, sizeof *v);
    v->refs = 1;
    v->vd = vd;
    __atomic_add_fetch(&vd->refs, 1, __ATOMIC_RELAXED);
    return v;
}

/* A copy of src with every member retained. */
static vversion *version_copy(const vversion *src) {
    vversion *v = version_new(src->vd);
    v->nfiles = src->nfiles;
    v->files = xmalloc(sizeof *v->files * (src->nfiles + 1));
    for (size_t i = 0; i < src->nfiles; i++) {
        v->files[i] = src->files[i];
        __atomic_add_fetch(&v->files[i]->refs, 1, __ATOMIC_RELAXED);
    }
    v->nimm = src->nimm;
    v->imm = xmalloc(sizeof *v->imm * (src->nimm + 1));
    for (size_t i = 0; i < src->nimm; i++) {
        v->imm[i] = src->imm[i];
        mc_retain(v->imm[i]);
    }
    v->active = src->active;
    mc_retain(v->active);
    return v;
}

void vversion_release(vversion *v) {
    if (!v || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (size_t i = 0; i < v->nfiles; i++) cfile_release(v->files[i]);
    free(v->files);
    for (size_t i = 0; i < v->nimm; i++) mc_release(v->imm[i]);
    free(v->imm);
    mc_release(v->active);
    vdir_release(v->vd);
    free(v);
}

vversion *vnode_acquire(vnode *n) {
    pthread_mutex_lock(&n->mu);
    vversion *v = n->cur;
    __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&n->mu);
    return v;
}

/* Installs v as current (mu held); the old version is released. */
static void install(vnode *n, vversion *v) {
    vversion *old = n->cur;
    n->cur = v;
    vversion_release(old);
}

static void file_path(char *out, size_t cap, const char *dir, uint64_t id) {
    snprintf(out, cap, "%s/f-%016llx.col", dir, (unsigned long long)id);
}

/* ------------------------------------------------------------------ manifest */

/* Writes the manifest for the given file set (mu held). */
static int write_manifest(vnode *n, struct cfile **files, size_t nfiles, uint64_t flushed_lsn,
                          err *e) {
    json_t *arr = json_array();
    for (size_t i = 0; i < nfiles; i++)
        json_array_append_new(arr, json_pack("[I, i, I]", (json_int_t)files[i]->id, files[i]->level,
                                             (json_int_t)files[i]->data_lsn));
    json_t *root = json_pack("{s:I, s:I, s:I, s:I, s:o}", "flushed_lsn", (json_int_t)flushed_lsn,
                             "next_file", (json_int_t)n->next_file_id, "bucket",
                             (json_int_t)n->bucket, "shard", (json_int_t)n->shard, "files", arr);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    char line[32];
    int hl = snprintf(line, sizeof line, "%08x ", (uint32_t)XXH3_64bits(text, strlen(text)));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", n->vd->path);
    const void *parts[] = {line, text, "\n"};
    size_t lens[] = {(size_t)hl, strlen(text), 1};
    int rc = fs_write_atomic(path, parts, lens, 3, e);
    free(text);
    return rc;
}

/* 0 with *found false when there is no manifest (a vnode never flushed). */
static int load_manifest(vnode *n, bool *found, err *e) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", n->vd->path);
    FILE *f = fopen(path, "r");
    *found = f != NULL;
    if (!f) {
        if (errno == ENOENT) return 0;
        return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    unsigned crc;
    json_t *root = NULL;
    if (len > 10 && line[8] == ' ' && sscanf(line, "%8x", &crc) == 1) {
        size_t jl = (size_t)len - 9;
        while (jl && (line[9 + jl - 1] == '\n')) jl--;
        if ((uint32_t)XXH3_64bits(line + 9, jl) == crc) root = json_loadb(line + 9, jl, 0, NULL);
    }
    free(line);
    if (!root) return err_set(e, 500, EC_STORAGE, "corrupt manifest %s", path);
    n->flushed_lsn = (uint64_t)json_integer_value(json_object_get(root, "flushed_lsn"));
    n->next_file_id = (uint64_t)json_integer_value(json_object_get(root, "next_file"));
    json_t *arr = json_object_get(root, "files");
    size_t i;
    json_t *it;
    int rc = 0;
    vversion *v = n->cur;
    json_array_foreach(arr, i, it) {
        struct cfile *cf = xcalloc(1, sizeof *cf);
        cf->refs = 1;
        cf->id = (uint64_t)json_integer_value(json_array_get(it, 0));
        cf->level = (int)json_integer_value(json_array_get(it, 1));
        cf->data_lsn = (uint64_t)json_integer_value(json_array_get(it, 2));
        char fp[PATH_MAX];
        file_path(fp, sizeof fp, n->vd->path, cf->id);
        cf->path = xstrdup(fp);
        /* compaction counts files per level in an array of MAX_LEVEL + 1 */
        if (cf->level < 0 || cf->level > MAX_LEVEL) {
            err_set(e, 500, EC_STORAGE, "corrupt manifest %s: level %d", path, cf->level);
            free(cf->path);
            free(cf);
            rc = -1;
            break;
        }
        if (cf_open(fp, &cf->r, e) < 0) {
            free(cf->path);
            free(cf);
            rc = -1;
            break;
        }
        v->files = xrealloc(v->files, sizeof *v->files * (v->nfiles + 1));
        v->files[v->nfiles++] = cf;
        if (cf->id >= n->next_file_id) n->next_file_id = cf->id + 1;
    }
    json_decref(root);
    if (v->nfiles) qsort(v->files, v->nfiles, sizeof *v->files, cmp_precedence);
    return rc;
}

/* Deletes files the manifest does not know: leftovers of an interrupted flush or compaction.
 * Without a manifest, whole column files are only set aside: one is the output of a first
 * flush cut short (its rows are still in the WAL), but a manifest lost by accident would
 * otherwise take every file of the vnode with it. */
static void remove_orphans(vnode *n, bool have_manifest) {
    DIR *d = opendir(n->vd->path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        bool known = false;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, "MANIFEST")) continue;
        unsigned long long id;
        char tail[16];
        bool col = sscanf(nm, "f-%16llx.%15s", &id, tail) == 2 && !strcmp(tail, "col");
        if (col) {
            for (size_t i = 0; i < n->cur->nfiles; i++) known |= n->cur->files[i]->id == id;
        }
        if (known || strstr(nm, ".orphan")) continue;
        char p[PATH_MAX], q[PATH_MAX + 8];
        snprintf(p, sizeof p, "%s/%s", n->vd->path, nm);
        if (col && !have_manifest) {
            snprintf(q, sizeof q, "%s.orphan", p);
            log_warn("vnode %s has no MANIFEST: %s is set aside as %s, its rows not served",
                     n->vd->path, nm, q);
            if (rename(p, q) != 0) log_error("cannot rename %s: %s", p, strerror(errno));
            continue;
        }
        log_info("removing leftover %s", p);
        unlink(p);
    }
    closedir(d);
}

int vnode_open(const char *dir, int64_t bucket, uint32_t shard, int64_t tmin, int64_t tmax,
               vnode **out, err *e) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, 500, EC_STORAGE, "cannot create %s: %s", dir, strerror(errno));
    vnode *n = xcalloc(1, sizeof *n);
    n->refs = 1;
    n->vd = xcalloc(1, sizeof *n->vd);
    n->vd->refs = 1;
    n->vd->path = xstrdup(dir);
    n->bucket = bucket;
    n->shard = shard;
    n->tmin = tmin;
    n->tmax = tmax;
    n->next_file_id = 1;
    pthread_mutex_init(&n->mu, NULL);
    n->cur = version_new(n->vd);
    n->cur->active = mc_new();
    n->active = n->cur->active;
    bool have_manifest;
    if (load_manifest(n, &have_manifest, e) < 0) {
        vnode_close(n);
        return -1;
    }
    remove_orphans(n, have_manifest);
    *out = n;
    return 0;
}

void vnode_retain(vnode *n) {
    __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
}

void vnode_close(vnode *n) {
    if (!n || __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    vversion_release(n->cur);
    pthread_mutex_destroy(&n->mu);
    vdir_release(n->vd);
    free(n);
}

void vnode_mark_dropped(vnode *n) {
    n->vd->dropped = true;
}

int64_t vnode_bucket(const vnode *n) {
    return n->bucket;
}
uint32_t vnode_shard(const vnode *n) {
    return n->shard;
}
int64_t vnode_tmin(const vnode *n) {
    return n->tmin;
}
int64_t vnode_tmax(const vnode *n) {
    return n->tmax;
}

uint64_t vnode_flushed_lsn(const vnode *n) {
    return __atomic_load_n(&n->flushed_lsn, __ATOMIC_ACQUIRE);
}

const char *vnode_sid_bound(vnode *n, uint64_t *bound) {
    const char *user = NULL;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->cur->nfiles; i++) {
        const cf_reader *r = n->cur->files[i]->r;
        size_t ns = cf_nseries(r);
        /* A file's series are in increasing id order. */
        if (ns && cf_sid_at(r, ns - 1) >= *bound) {
            *bound = (uint64_t)cf_sid_at(r, ns - 1) + 1;
            user = n->cur->files[i]->path;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return user;
}

memcache *vnode_active(vnode *n) {
    return n->active;
}

bool vnode_freeze(vnode *n) {
    pthread_mutex_lock(&n->mu);
    vversion *c = n->cur;
    bool did = false;
    if (mc_row_count(c->active) > 0 || mc_max_lsn(c->active) > 0) {
        vversion *v = version_copy(c);
        v->imm = xrealloc(v->imm, sizeof *v->imm * (v->nimm + 1));
        v->imm[v->nimm++] = v->active; /* the reference moves from active to imm */
        v->active = mc_new();
        n->active = v->active;
        install(n, v);
        did = true;
    }
    pthread_mutex_unlock(&n->mu);
    return did;
}

size_t vnode_pending(vnode *n) {
    pthread_mutex_lock(&n->mu);
    size_t k = n->cur->nimm;
    pthread_mutex_unlock(&n->mu);
    return k;
}

size_t vnode_mem_bytes(vnode *n) {
    pthread_mutex_lock(&n->mu);
    size_t b = mc_bytes(n->cur->active);
    for (size_t i = 0; i < n->cur->nimm; i++) b += mc_bytes(n->cur->imm[i]);
    pthread_mutex_unlock(&n->mu);
    return b;
}

uint64_t vnode_min_unflushed_lsn(vnode *n) {
    pthread_mutex_lock(&n->mu);
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < n->cur->nimm; i++) {
        uint64_t l = mc_min_lsn(n->cur->imm[i]);
        if (l && l < m) m = l;
    }
    uint64_t l = mc_min_lsn(n->cur->active);
    if (l && l < m) m = l;
    pthread_mutex_unlock(&n->mu);
    return m;
}

void vnode_disk_usage(vnode *n, size_t *files, uint64_t *bytes) {
    pthread_mutex_lock(&n->mu);
    *files = n->cur->nfiles;
    uint64_t b = 0;
    for (size_t i = 0; i < n->cur->nfiles; i++) b += cf_size(n->cur->files[i]->r);
    *bytes = b;
    pthread_mutex_unlock(&n->mu);
}

bool vnode_has_data_before(vnode *n, uint64_t lsn) {
    pthread_mutex_lock(&n->mu);
    bool r = false;
    for (size_t i = 0; i < n->cur->nfiles && !r; i++) r = n->cur->files[i]->data_lsn < lsn;
    for (size_t i = 0; i < n->cur->nimm && !r; i++) r = mc_max_lsn(n->cur->imm[i]) < lsn;
    pthread_mutex_unlock(&n->mu);
    return r;
}

/* ------------------------------------------------------------------ reading */

static bool tomb_hits(const tombstone *t, uint32_t sid, uint64_t data_lsn) {
    if (data_lsn >= t->lsn) return false;
    uint32_t lo = 0, hi = t->nsids;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (t->sids[mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->nsids && t->sids[lo] == sid;
}

static size_t vt_size(uint8_t t) {
    return t == VT_BOOL ? sizeof(bool) : t == VT_STR ? sizeof(strv) : 8;
}

/* Removes rows that tombstones cover (in place). */
static void apply_tombs(mc_rows *r, uint32_t sid, uint64_t data_lsn, const tomb_set *tombs,
                        uint32_t ncols) {
    if (!tombs || !r->n) return;
    for (size_t k = 0; k < tombs->n; k++) {
        const tombstone *t = &tombs->t[k];
        if (!tomb_hits(t, sid, data_lsn)) continue;
        uint32_t w = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            if (r->ts[i] >= t->tmin && r->ts[i] <= t->tmax) continue;
            if (w != i) {
                r->ts[w] = r->ts[i];
                for (uint32_t c = 0; c < ncols; c++) {
                    vec *v = &r->cols[c];
                    size_t sz = vt_size(v->type);
                    memcpy((char *)v->d.raw + sz * w, (char *)v->d.raw + sz * i, sz);
                    /* no bitmap (mc_read drops an all-valid one): still all valid */
                    if (!v->valid) continue;
                    if (vec_is_valid(v, i))
                        bitmap_set(v->valid, w);
                    else
                        bitmap_clear(v->valid, w);
                }
            }
            w++;
        }
        r->n = w;
        for (uint32_t c = 0; c < ncols; c++) r->cols[c].len = w;
    }
}

/* Rows of a file's series in [tmin, tmax]. */
static int read_file_series(const cf_reader *f, const cf_series *s, int64_t tmin, int64_t tmax,
                            uint32_t ncols, const uint32_t *col_ids, const uint8_t *types, arena *a,
                            mc_rows *out, err *e) {
    memset(out, 0, sizeof *out);
    uint32_t total = 0;
    for (uint32_t c = 0; c < s->nchunks; c++)
        if (s->chunks[c].tmax >= tmin && s->chunks[c].tmin <= tmax) total += s->chunks[c].nrows;
    if (!total) return 0;
    out->ts = arena_alloc(a, sizeof *out->ts * total);
    out->cols = arena_calloc(a, sizeof *out->cols * (ncols ? ncols : 1));
    for (uint32_t k = 0; k < ncols; k++) {
        vec *v = &out->cols[k];
        v->type = types[k];
        v->d.raw = arena_alloc(a, vt_size(types[k]) * total);
        v->valid = arena_calloc(a, bitmap_bytes(total));
    }
    int64_t *ts = arena_alloc(a, sizeof *ts * CF_CHUNK_ROWS);
    uint32_t n = 0;
    for (uint32_t c = 0; c < s->nchunks; c++) {
        const cf_chunk *ch = &s->chunks[c];
        if (ch->tmax < tmin || ch->tmin > tmax) continue;
        int64_t *at;
        uint32_t lo, hi;
        if (cf_read_ts_window(f, ch, tmin, tmax, ts, &at, &lo, &hi, e) < 0) return -1;
        if (lo == hi) continue;
        memcpy(out->ts + n, at, sizeof *ts * (hi - lo));
        for (uint32_t k = 0; k < ncols; k++) {
            vec cv;
            if (cf_read_col(f, ch, col_ids[k], types[k], a, &cv, e) < 0) return -1;
            vec *v = &out->cols[k];
            size_t sz = vt_size(types[k]);
            memcpy((char *)v->d.raw + sz * n, (char *)cv.d.raw + sz * lo, sz * (hi - lo));
            for (uint32_t i = lo; i < hi; i++)
                if (vec_is_valid(&cv, i)) bitmap_set(v->valid, n + i - lo);
        }
        n += hi - lo;
    }
    out->n = n;
    for (uint32_t k = 0; k < ncols; k++) out->cols[k].len = n;
    return 0;
}

struct mrow {
    int64_t ts;
    uint32_t src, idx;
};

static int cmp_mrow(const void *pa, const void *pb) {
    const struct mrow *a = pa, *b = pb;
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    if (a->src != b->src) return a->src < b->src ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Merges sources given oldest first into one row set, newest value per field. */
static void merge_rows(mc_rows *src, uint32_t nsrc, uint32_t ncols, const uint8_t *types, arena *a,
                       mc_rows *out) {
    uint32_t nonempty = 0, last = 0, total = 0;
    for (uint32_t s = 0; s < nsrc; s++)
        if (src[s].n) {
            nonempty++;
            last = s;
            total += src[s].n;
        }
    memset(out, 0, sizeof *out);
    if (nonempty == 0) return;
    if (nonempty == 1) {
        *out = src[last];
        return;
    }
    /* Disjoint sources (the usual case: older data in files, newer in caches) concatenate. */
    uint32_t *order = arena_alloc(a, sizeof *order * nonempty);
    uint32_t k = 0;
    for (uint32_t s = 0; s < nsrc; s++)
        if (src[s].n) order[k++] = s;
    for (uint32_t i = 1; i < k; i++)
        for (uint32_t j = i; j > 0 && src[order[j - 1]].ts[0] > src[order[j]].ts[0]; j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    bool disjoint = true;
    for (uint32_t i = 1; i < k && disjoint; i++)
        disjoint = src[order[i - 1]].ts[src[order[i - 1]].n - 1] < src[order[i]].ts[0];
    out->ts = arena_alloc(a, sizeof *out->ts * total);
    out->cols = arena_calloc(a, sizeof *out->cols * (ncols ? ncols : 1));
    for (uint32_t c = 0; c < ncols; c++) {
        out->cols[c].type = types[c];
        out->cols[c].d.raw = arena_alloc(a, vt_size(types[c]) * total);
        out->cols[c].valid = arena_calloc(a, bitmap_bytes(total));
    }
    if (disjoint) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < k; i++) {
            mc_rows *r = &src[order[i]];
            memcpy(out->ts + n, r->ts, sizeof *r->ts * r->n);
            for (uint32_t c = 0; c < ncols; c++) {
                size_t sz = vt_size(types[c]);
                memcpy((char *)out->cols[c].d.raw + sz * n, r->cols[c].d.raw, sz * r->n);
                for (uint32_t j = 0; j < r->n; j++)
                    if (vec_is_valid(&r->cols[c], j)) bitmap_set(out->cols[c].valid, n + j);
            }
            n += r->n;
        }
        out->n = n;
    } else {
        struct mrow *rows = arena_alloc(a, sizeof *rows * total);
        uint32_t m = 0;
        for (uint32_t s = 0; s < nsrc; s++)
            for (uint32_t j = 0; j < src[s].n; j++) rows[m++] = (struct mrow){src[s].ts[j], s, j};
        qsort(rows, m, sizeof *rows, cmp_mrow);
        uint32_t n = 0;
        for (uint32_t i = 0; i < m; i++) {
            if (n == 0 || out->ts[n - 1] != rows[i].ts) out->ts[n++] = rows[i].ts;
            uint32_t dst = n - 1;
            const mc_rows *r = &src[rows[i].src];
            for (uint32_t c = 0; c < ncols; c++) {
                if (!vec_is_valid(&r->cols[c], rows[i].idx)) continue;
                size_t sz = vt_size(types[c]);
                memcpy((char *)out->cols[c].d.raw + sz * dst,
                       (char *)r->cols[c].d.raw + sz * rows[i].idx, sz);
                bitmap_set(out->cols[c].valid, dst);
            }
        }
        out->n = n;
    }
    for (uint32_t c = 0; c < ncols; c++) {
        out->cols[c].len = out->n;
        vec_compact_valid(&out->cols[c], out->n);
        if (types[c] == VT_STR)
            for (uint32_t j = 0; j < out->n; j++)
                if (!vec_is_valid(&out->cols[c], j)) out->cols[c].d.s[j] = (strv){"", 0};
    }
}

int vversion_read(vversion *vv, uint32_t sid, int64_t tmin, int64_t tmax, uint32_t ncols,
                  const uint32_t *col_ids, const uint8_t *types, const tomb_set *tombs, arena *a,
                  mc_rows *out, err *e) {
    uint32_t nsrc = (uint32_t)(vv->nfiles + vv->nimm + 1);
    mc_rows *src = arena_calloc(a, sizeof *src * nsrc);
    uint32_t k = 0;
    for (size_t i = 0; i < vv->nfiles; i++, k++) {
        const struct cfile *f = vv->files[i];
        if (cf_tmax(f->r) < tmin || cf_tmin(f->r) > tmax) continue;
        const cf_series *s = cf_find_range(f->r, sid, tmin, tmax, a);
        if (!s) continue;
        if (read_file_series(f->r, s, tmin, tmax, ncols, col_ids, types, a, &src[k], e) < 0)
            return -1;
        apply_tombs(&src[k], sid, f->data_lsn, tombs, ncols);
    }
    for (size_t i = 0; i < vv->nimm; i++, k++) {
        mc_read(vv->imm[i], sid, tmin, tmax, ncols, col_ids, types, a, &src[k]);
        apply_tombs(&src[k], sid, mc_max_lsn(vv->imm[i]), tombs, ncols);
    }
    mc_read(vv->active, sid, tmin, tmax, ncols, col_ids, types, a, &src[k++]);
    merge_rows(src, k, ncols, types, a, out);
    return 0;
}

static bool tomb_overlaps(const tomb_set *tombs, uint32_t sid, uint64_t data_lsn, int64_t lo,
                          int64_t hi) {
    if (!tombs) return false;
    for (size_t t = 0; t < tombs->n; t++)
        if (tomb_hits(&tombs->t[t], sid, data_lsn) && tombs->t[t].tmax >= lo &&
            tombs->t[t].tmin <= hi)
            return true;
    return false;
}

static int cmp_piece(const void *pa, const void *pb) {
    const vpiece *a = pa, *b = pb;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

bool vversion_span(vversion *vv, uint32_t sid, arena *a, int64_t *lo, int64_t *hi) {
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t i = 0; i < vv->nfiles; i++) {
        const cf_series *s = cf_find(vv->files[i]->r, sid, a);
        for (uint32_t c = 0; s && c < s->nchunks; c++) {
            if (s->chunks[c].tmin < *lo) *lo = s->chunks[c].tmin;
            if (s->chunks[c].tmax > *hi) *hi = s->chunks[c].tmax;
        }
    }
    for (size_t i = 0; i <= vv->nimm; i++) {
        int64_t l, h;
        if (!mc_series_range(i < vv->nimm ? vv->imm[i] : vv->active, sid, &l, &h)) continue;
        if (l < *lo) *lo = l;
        if (h > *hi) *hi = h;
    }
    return *lo <= *hi;
}

int vversion_pieces(vversion *vv, uint32_t sid, int64_t tmin, int64_t tmax, const tomb_set *tombs,
                    arena *a, vpiece **out) {
    size_t cap = vv->nfiles + vv->nimm + 1, n = 0;
    vpiece *p = arena_alloc(a, sizeof *p * cap);
    for (size_t i = 0; i < vv->nfiles; i++) {
        const struct cfile *f = vv->files[i];
        if (cf_tmax(f->r) < tmin || cf_tmin(f->r) > tmax) continue;
        const cf_series *s = cf_find_range(f->r, sid, tmin, tmax, a);
        if (!s) continue;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint32_t c = 0; c < s->nchunks; c++) {
            const cf_chunk *ch = &s->chunks[c];
            if (ch->tmax < tmin || ch->tmin > tmax) continue;
            if (ch->tmin < lo) lo = ch->tmin;
            if (ch->tmax > hi) hi = ch->tmax;
        }
        if (lo > hi) continue;
        if (tomb_overlaps(tombs, sid, f->data_lsn, lo, hi)) return -1;
        p[n++] = (vpiece){f->r, s, NULL, lo, hi};
    }
    for (size_t i = 0; i <= vv->nimm; i++) {
        memcache *m = i < vv->nimm ? vv->imm[i] : vv->active;
        int64_t lo, hi;
        if (!mc_series_range(m, sid, &lo, &hi) || hi < tmin || lo > tmax) continue;
        if (i < vv->nimm && tomb_overlaps(tombs, sid, mc_max_lsn(m), lo, hi)) return -1;
        p[n++] = (vpiece){NULL, NULL, m, lo, hi};
    }
    qsort(p, n, sizeof *p, cmp_piece);
    for (size_t i = 1; i < n; i++)
        if (p[i].lo <= p[i - 1].hi) return -1;
    *out = p;
    return (int)n;
}

/* ------------------------------------------------------------------ writing files */

/* Writes one series' rows into the file being built. */
static int write_series(cf_writer *w, const vnode_env *env, uint32_t sid, uint64_t table_id,
                        const mc_rows *r, uint32_t ncols, const uint32_t *col_ids,
                        const uint8_t *types, arena *a, err *e) {
    if (!r->n) return 0;
    cf_col *cols = arena_alloc(a, sizeof *cols * (ncols ? ncols : 1));
    for (uint32_t c = 0; c < ncols; c++) {
        cols[c].col_id = col_ids[c];
        cols[c].type = types[c];
        cols[c].codec = env->codec_of ? env->codec_of(env->ctx, table_id, col_ids[c]) : 0;
        cols[c].v = &r->cols[c];
    }
    return cf_writer_add(w, sid, table_id, r->n, r->ts, ncols, cols, e);
}

static struct cfile *open_new_file(vnode *n, uint64_t id, int level, uint64_t data_lsn, err *e) {
    struct cfile *cf = xcalloc(1, sizeof *cf);
    cf->refs = 1;
    cf->id = id;
    cf->level = level;
    cf->data_lsn = data_lsn;
    char fp[PATH_MAX];
    file_path(fp, sizeof fp, n->vd->path, id);
    cf->path = xstrdup(fp);
    if (cf_open(fp, &cf->r, e) < 0) {
        unlink(fp);
        free(cf->path);
        free(cf);
        return NULL;
    }
    return cf;
}

int vnode_flush_one(vnode *n, const vnode_env *env, err *e) {
    pthread_mutex_lock(&n->mu);
    if (n->cur->nimm == 0) {
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    memcache *m = n->cur->imm[0];
    mc_retain(m);
    uint64_t id = n->next_file_id++;
    pthread_mutex_unlock(&n->mu);
    int64_t t0 = time_mono_ns();

    int rc = -1;
    arena *a = arena_new(1 << 20);
    struct cfile *cf = NULL;
    uint64_t max_lsn = mc_max_lsn(m);
    if (env->sync_series && env->sync_series(env->ctx, e) < 0) goto out;
    uint32_t *sids;
    size_t ns = mc_sids(m, a, &sids);
    if (ns) {
        char fp[PATH_MAX];
        file_path(fp, sizeof fp, n->vd->path, id);
        cf_writer *w;
        if (cf_writer_open(fp, &w, e) < 0) goto out;
        arena *sa = arena_new(1 << 20);
        for (size_t i = 0; i < ns; i++) {
            arena_reset(sa);
            uint64_t table_id = 0;
            if (env->series_table && !env->series_table(env->ctx, sids[i], &table_id)) continue;
            if (env->table_live && !env->table_live(env->ctx, table_id)) continue;
            uint32_t *col_ids;
            uint8_t *types;
            uint32_t nc = mc_series_cols(m, sids[i], sa, &col_ids, &types);
            mc_rows r;
            mc_read(m, sids[i], INT64_MIN, INT64_MAX, nc, col_ids, types, sa, &r);
            if (write_series(w, env, sids[i], table_id, &r, nc, col_ids, types, sa, e) < 0) {
                arena_free(sa);
                cf_writer_abort(w);
                goto out;
            }
        }
        arena_free(sa);
        bool empty = cf_writer_rows(w) == 0;
        if (cf_writer_finish(w, e) < 0) goto out;
        if (empty) {
            unlink(fp);
        } else {
            cf = open_new_file(n, id, 0, max_lsn, e);
            if (!cf) goto out;
        }
    }
    pthread_mutex_lock(&n->mu);
    vversion *v = version_copy(n->cur);
    /* Drop the flushed cache (it is the oldest one) and add the file. */
    for (size_t i = 0; i < v->nimm; i++)
        if (v->imm[i] == m) {
            mc_release(v->imm[i]);
            memmove(v->imm + i, v->imm + i + 1, sizeof *v->imm * (v->nimm - i - 1));
            v->nimm--;
            break;
        }
    if (cf) {
        v->files = xrealloc(v->files, sizeof *v->files * (v->nfiles + 1));
        v->files[v->nfiles++] = cf;
        qsort(v->files, v->nfiles, sizeof *v->files, cmp_precedence);
    }
    uint64_t flushed = max_lsn > n->flushed_lsn ? max_lsn : n->flushed_lsn;
    if (write_manifest(n, v->files, v->nfiles, flushed, e) < 0) {
        pthread_mutex_unlock(&n->mu);
        if (cf) {
            cf->obsolete = true;
            /* v holds cf's only reference; releasing v deletes the file. */
        }
        vversion_release(v);
        cf = NULL;
        goto out;
    }
    __atomic_store_n(&n->flushed_lsn, flushed, __ATOMIC_RELEASE);
    uint64_t written = cf ? cf_size(cf->r) : 0;
    install(n, v);
    pthread_mutex_unlock(&n->mu);
    cf = NULL;
    rc = 1;
    storage_count(SC_FLUSHES, 1);
    storage_count(SC_FLUSH_BYTES, written);
    storage_count(SC_FLUSH_MICROS, (uint64_t)(time_mono_ns() - t0) / 1000);
out:
    if (cf) {
        cf->obsolete = true;
        cfile_release(cf);
    }
    mc_release(m);
    arena_free(a);
    return rc;
}

/* ------------------------------------------------------------------ compaction */

struct colset {
    uint32_t n, cap;
    uint32_t *ids;
    uint8_t *types;
};

static void colset_add(arena *a, struct colset *cs, uint32_t id, uint8_t type) {
    for (uint32_t i = 0; i < cs->n; i++)
        if (cs->ids[i] == id) return;
    if (cs->n == cs->cap) {
        uint32_t nc = cs->cap ? cs->cap * 2 : 16;
        cs->ids = arena_realloc(a, cs->ids, sizeof *cs->ids * cs->cap, sizeof *cs->ids * nc);
        cs->types = arena_realloc(a, cs->types, cs->cap, nc);
        cs->cap = nc;
    }
    cs->ids[cs->n] = id;
    cs->types[cs->n++] = type;
}

/* Whether a file holds rows of a table that no longer exists. */
static bool file_has_dead_rows(const struct cfile *f, const vnode_env *env) {
    uint64_t last = 0;
    bool have_last = false, live = true;
    for (size_t i = 0; i < cf_nseries(f->r); i++) {
        uint64_t t = cf_table_at(f->r, i);
        if (!have_last || t != last) {
            live = env->table_live(env->ctx, t);
            last = t;
            have_last = true;
        }
        if (!live) return true;
    }
    return false;
}

int vnode_compact(vnode *n, const vnode_env *env, bool force, err *e) {
    /* A forced compaction of a single file is still needed when the file holds rows of dropped
     * tables: DROP TABLE frees their space this way. Checked outside mu (table_live calls into
     * the catalog); compactions of a vnode are not concurrent, so the file set cannot shrink
     * meanwhile. */
    bool dead_rows = false;
    if (force && env->table_live) {
        vversion *vv = vnode_acquire(n);
        if (vv->nfiles == 1) dead_rows = file_has_dead_rows(vv->files[0], env);
        vversion_release(vv);
    }
    pthread_mutex_lock(&n->mu);
    vversion *cur = n->cur;
    int level = -1, out_level = 0;
    size_t count[MAX_LEVEL + 1] = {0};
    for (size_t i = 0; i < cur->nfiles; i++) count[cur->files[i]->level]++;
    if (force) {
        if (cur->nfiles > 1 || (cur->nfiles == 1 && (env->tombs.n || dead_rows))) {
            level = -2; /* everything */
            out_level = MAX_LEVEL;
        }
    } else {
        /* The last level is never merged on its own: a row is rewritten at most once per
         * level (flush, then three merges), which bounds write amplification whatever the
         * vnode's size. Readers stream its files in time order. */
        for (int l = 0; l < MAX_LEVEL; l++)
            if (count[l] >= LEVEL_FANIN) {
                level = l;
                out_level = l + 1;
                break;
            }
    }
    if (level == -1) {
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    size_t nin = 0;
    struct cfile **in = xmalloc(sizeof *in * (cur->nfiles + 1));
    uint64_t data_lsn = 0;
    for (size_t i = 0; i < cur->nfiles; i++) {
        struct cfile *f = cur->files[i];
        if (level != -2 && f->level != level) continue;
        __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
        in[nin++] = f;
        if (f->data_lsn > data_lsn) data_lsn = f->data_lsn;
    }
    uint64_t id = n->next_file_id++;
    pthread_mutex_unlock(&n->mu);

    int64_t t0 = time_mono_ns();
    int rc = -1;
    arena *a = arena_new(1 << 20);
    arena *sa = arena_new(1 << 20);
    char fp[PATH_MAX];
    file_path(fp, sizeof fp, n->vd->path, id);
    cf_writer *w = NULL;
    struct cfile *outf = NULL;
    size_t *pos = arena_calloc(a, sizeof *pos * (nin + 1));
    if (cf_writer_open(fp, &w, e) < 0) goto out;
    /* Walk the inputs' series lists together in id order. */
    for (;;) {
        uint32_t sid = UINT32_MAX;
        bool any = false;
        for (size_t i = 0; i < nin; i++)
            if (pos[i] < cf_nseries(in[i]->r)) {
                uint32_t s = cf_sid_at(in[i]->r, pos[i]);
                if (!any || s < sid) sid = s;
                any = true;
            }
        if (!any) break;
        arena_reset(sa);
        uint64_t table_id = 0;
        struct colset cs = {0};
        const cf_series **ss = arena_calloc(sa, sizeof *ss * nin);
        for (size_t i = 0; i < nin; i++)
            if (pos[i] < cf_nseries(in[i]->r) && cf_sid_at(in[i]->r, pos[i]) == sid) {
                ss[i] = cf_series_at(in[i]->r, pos[i]++, sa);
                table_id = ss[i]->table_id;
                for (uint32_t c = 0; c < ss[i]->nchunks; c++)
                    for (uint32_t k = 0; k < ss[i]->chunks[c].ncols; k++)
                        colset_add(sa, &cs, ss[i]->chunks[c].cols[k].col_id,
                                   ss[i]->chunks[c].cols[k].type);
            }
        if (env->table_live && !env->table_live(env->ctx, table_id)) continue;
        mc_rows *src = arena_calloc(sa, sizeof *src * nin);
        for (size_t i = 0; i < nin; i++) {
            if (!ss[i]) continue;
            if (read_file_series(in[i]->r, ss[i], INT64_MIN, INT64_MAX, cs.n, cs.ids, cs.types, sa,
                                 &src[i], e) < 0)
                goto out;
            apply_tombs(&src[i], sid, in[i]->data_lsn, &env->tombs, cs.n);
        }
        mc_rows merged;
        merge_rows(src, (uint32_t)nin, cs.n, cs.types, sa, &merged);
        if (write_series(w, env, sid, table_id, &merged, cs.n, cs.ids, cs.types, sa, e) < 0)
            goto out;
    }
    bool empty = cf_writer_rows(w) == 0;
    int frc = cf_writer_finish(w, e);
    w = NULL;
    if (frc < 0) goto out;
    if (empty)
        unlink(fp);
    else if (!(outf = open_new_file(n, id, out_level, data_lsn, e)))
        goto out;

    pthread_mutex_lock(&n->mu);
    vversion *v = version_copy(n->cur);
    size_t k = 0;
    for (size_t i = 0; i < v->nfiles; i++) {
        bool input = false;
        for (size_t j = 0; j < nin; j++) input |= v->files[i] == in[j];
        if (input)
            cfile_release(v->files[i]);
        else
            v->files[k++] = v->files[i];
    }
    v->nfiles = k;
    if (outf) {
        v->files = xrealloc(v->files, sizeof *v->files * (v->nfiles + 1));
        v->files[v->nfiles++] = outf;
        qsort(v->files, v->nfiles, sizeof *v->files, cmp_precedence);
    }
    if (write_manifest(n, v->files, v->nfiles, n->flushed_lsn, e) < 0) {
        pthread_mutex_unlock(&n->mu);
        if (outf) outf->obsolete = true;
        vversion_release(v);
        outf = NULL;
        goto out;
    }
    uint64_t read = 0, written = outf ? cf_size(outf->r) : 0;
    for (size_t j = 0; j < nin; j++) {
        in[j]->obsolete = true;
        read += cf_size(in[j]->r);
    }
    install(n, v);
    pthread_mutex_unlock(&n->mu);
    outf = NULL;
    rc = 1;
    storage_count(SC_COMPACTIONS, 1);
    storage_count(SC_COMPACT_IN, read);
    storage_count(SC_COMPACT_OUT, written);
    storage_count(SC_COMPACT_MICROS, (uint64_t)(time_mono_ns() - t0) / 1000);
out:
    if (w) cf_writer_abort(w);
    if (outf) {
        outf->obsolete = true;
        cfile_release(outf);
    }
    for (size_t j = 0; j < nin; j++) cfile_release(in[j]);
    free(in);
    arena_free(sa);
    arena_free(a);
    return rc;
}
