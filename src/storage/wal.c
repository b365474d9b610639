/* Write-ahead log: segment files, appends, group commit, the interval syncer, trimming (see
 * wal.h; replay and salvage are in wal_replay.c, the shared structures and the locking rules in
 * wal_int.h). */
#define XXH_STATIC_LINKING_ONLY
#include "storage/wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "storage/counters.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define DEF_SEG ((size_t)128 << 20)
#define DEF_INTERVAL_MS 100
#define STACK_IOV 16

/* ---- small helpers ---- */

static void count_fsync(wal *w) {
    atomic_fetch_add(&w->nfsync, 1);
    storage_count(SC_WAL_SYNCS, 1);
}

char *seg_path(const char *dir, uint64_t first) {
    size_t n = strlen(dir) + 1 + NAME_LEN + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/wal-%016" PRIx64 ".log", dir, first);
    return p;
}

/* Parses "wal-<16 lowercase hex>.log"; only one spelling is accepted so that two files can
 * never claim the same first LSN. LSN 0 does not exist. */
static bool parse_name(const char *name, uint64_t *first) {
    if (strlen(name) != NAME_LEN || memcmp(name, "wal-", 4) != 0 ||
        memcmp(name + 20, ".log", 4) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (v == 0) return false;
    *first = v;
    return true;
}

wfile *wfile_new(int fd, char *path) {
    wfile *f = xmalloc(sizeof *f);
    f->fd = fd;
    atomic_init(&f->refs, 1);
    f->path = path;
    return f;
}

static void wfile_unref(wfile *f) {
    if (!f) return;
    if (atomic_fetch_sub(&f->refs, 1) == 1) {
        close(f->fd);
        free(f->path);
        free(f);
    }
}

static int fsync_dir_of(const char *path, err *e) {
    char *d = xstrdup(path);
    char *slash = strrchr(d, '/');
    const char *name = d;
    if (!slash)
        name = ".";
    else if (slash == d)
        d[1] = 0;
    else
        *slash = 0;
    int rc = 0;
    int fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = err_set(e, 500, EC_STORAGE, "wal: fsync directory %s: %s", name, strerror(errno));
    if (fd >= 0) close(fd);
    free(d);
    return rc;
}

/* mkdir -p, fsyncing the parent of every directory it creates so the new entries survive. */
static int mkdir_p(const char *dir, err *e) {
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char saved = *s;
        *s = 0;
        if (mkdir(p, 0755) == 0) {
            rc = fsync_dir_of(p, e);
        } else if (errno != EEXIST) {
            rc = err_set(e, 500, EC_STORAGE, "wal: mkdir %s: %s", p, strerror(errno));
        }
        *s = saved;
        if (rc || saved == 0) break;
    }
    free(p);
    return rc;
}

/* Caller holds smu. The first failure wins; later ones add nothing the operator can act on. */
static void set_failed_locked(wal *w, const char *what, const char *path, int en) {
    if (atomic_load(&w->failed)) return;
    if (en)
        snprintf(w->fail_msg, sizeof w->fail_msg, "wal: %s %s: %s (log is read-only until restart)",
                 what, path, strerror(en));
    else
        snprintf(w->fail_msg, sizeof w->fail_msg, "wal: %s %s (log is read-only until restart)",
                 path, what);
    atomic_store(&w->failed, true);
    log_error("%s", w->fail_msg);
    pthread_cond_broadcast(&w->scv);
}

static void set_failed(wal *w, const char *what, const char *path, int en) {
    pthread_mutex_lock(&w->smu);
    set_failed_locked(w, what, path, en);
    pthread_mutex_unlock(&w->smu);
}

static int fail_err(wal *w, err *e) {
    pthread_mutex_lock(&w->smu);
    err_set(e, 500, EC_STORAGE, "%s", w->fail_msg);
    pthread_mutex_unlock(&w->smu);
    return -1;
}

static int pwritev_all(int fd, struct iovec *iov, int cnt, off_t off) {
    while (cnt > 0) {
        ssize_t r = pwritev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        off += r;
        size_t left = (size_t)r;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* ---- segment list (caller holds mu, or owns the wal exclusively) ---- */

static seg *segs_push(wal *w, uint64_t first, uint64_t size) {
    if (w->nsegs == w->capsegs) {
        w->capsegs = w->capsegs ? w->capsegs * 2 : 8;
        w->segs = xrealloc(w->segs, w->capsegs * sizeof *w->segs);
    }
    seg *s = &w->segs[w->nsegs++];
    s->first = first;
    s->last = first - 1;
    s->size = size;
    s->dead = false;
    return s;
}

static int seg_cmp(const void *a, const void *b) {
    uint64_t x = ((const seg *)a)->first, y = ((const seg *)b)->first;
    return x < y ? -1 : x > y;
}

int segs_scan(wal *w, err *e) {
    DIR *d = fdopendir(dup(w->dirfd));
    if (!d) return err_set(e, 500, EC_STORAGE, "wal: opendir %s: %s", w->dir, strerror(errno));
    rewinddir(d);
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        uint64_t first;
        if (strstr(de->d_name, ".damaged-")) continue; /* kept by salvage for inspection */
        if (!parse_name(de->d_name, &first)) {
            log_warn("wal: %s/%s is not a segment name; ignoring it", w->dir, de->d_name);
            continue;
        }
        struct stat st;
        if (fstatat(w->dirfd, de->d_name, &st, 0) != 0) {
            rc = err_set(e, 500, EC_STORAGE, "wal: stat %s/%s: %s", w->dir, de->d_name,
                         strerror(errno));
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            log_warn("wal: %s/%s is not a regular file; ignoring it", w->dir, de->d_name);
            continue;
        }
        segs_push(w, first, (uint64_t)st.st_size);
        w->total_bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    if (rc == 0 && w->nsegs > 1) qsort(w->segs, w->nsegs, sizeof *w->segs, seg_cmp);
    return rc;
}

int seg_open_new_locked(wal *w, err *e) {
    char *path = seg_path(w->dir, w->next_lsn);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_set(e, 500, EC_STORAGE, "wal: create %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (fsync(w->dirfd) != 0) {
        /* The new entry may vanish on a crash while later records are acknowledged in it. */
        int en = errno;
        count_fsync(w);
        set_failed(w, "fsync directory", w->dir, en);
        close(fd);
        free(path);
        return fail_err(w, e);
    }
    count_fsync(w);
    segs_push(w, w->next_lsn, 0);
    w->cur = wfile_new(fd, path);
    return 0;
}

/* Fsyncs and closes the current segment. Syncing before the switch keeps the invariant that an
 * older segment is never less durable than a newer one, so a sync leader only ever has to flush
 * the current file. Caller holds mu. */
static int close_cur_locked(wal *w, err *e) {
    wfile *f = w->cur;
    if (!f) return 0;
    int rc = fdatasync(f->fd);
    int en = errno;
    count_fsync(w);
    if (rc != 0) {
        set_failed(w, "fdatasync", f->path, en);
        return fail_err(w, e);
    }
    uint64_t last = w->segs[w->nsegs - 1].last;
    pthread_mutex_lock(&w->smu);
    if (last > w->synced_lsn) w->synced_lsn = last;
    pthread_mutex_unlock(&w->smu);
    w->cur = NULL;
    wfile_unref(f);
    return 0;
}

/* ---- sync ---- */

/* Returns once every record up to lsn (which must have been appended) is on disk. One caller at a
 * time is the leader and flushes everything written so far; the others wait for its result and
 * return if it covered them. */
static int sync_upto(wal *w, uint64_t lsn, err *e) {
    pthread_mutex_lock(&w->smu);
    for (;;) {
        if (atomic_load(&w->failed)) {
            err_set(e, 500, EC_STORAGE, "%s", w->fail_msg);
            pthread_mutex_unlock(&w->smu);
            return -1;
        }
        if (w->synced_lsn >= lsn) break;
        if (w->syncing) {
            pthread_cond_wait(&w->scv, &w->smu);
            continue;
        }
        w->syncing = true;
        pthread_mutex_unlock(&w->smu);

        pthread_mutex_lock(&w->mu);
        wfile *f = w->cur;
        if (f) atomic_fetch_add(&f->refs, 1);
        uint64_t target = w->next_lsn - 1;
        pthread_mutex_unlock(&w->mu);

        /* Without a current file every record sits in a segment that was synced when it was
         * closed, so there is nothing to flush. */
        int rc = 0, en = 0;
        if (f) {
            rc = fdatasync(f->fd);
            en = errno;
            count_fsync(w);
        }

        pthread_mutex_lock(&w->smu);
        w->syncing = false;
        if (rc != 0)
            set_failed_locked(w, "fdatasync", f->path, en);
        else if (target > w->synced_lsn)
            w->synced_lsn = target;
        pthread_cond_broadcast(&w->scv);
        wfile_unref(f); /* may close; f->path is not used after this */
    }
    pthread_mutex_unlock(&w->smu);
    return 0;
}

static void *interval_main(void *arg) {
    wal *w = arg;
    pthread_mutex_lock(&w->smu);
    while (!w->stop) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        int64_t ns = dl.tv_nsec + (w->o.sync_interval_ms % 1000) * 1000000;
        dl.tv_sec += (time_t)(w->o.sync_interval_ms / 1000 + ns / 1000000000);
        dl.tv_nsec = (long)(ns % 1000000000);
        while (!w->stop && pthread_cond_timedwait(&w->tick, &w->smu, &dl) != ETIMEDOUT) {
        }
        if (w->stop) break;
        pthread_mutex_unlock(&w->smu);
        /* A failure is sticky and already logged; appends report it. */
        sync_upto(w, atomic_load(&w->last_lsn), NULL);
        pthread_mutex_lock(&w->smu);
    }
    pthread_mutex_unlock(&w->smu);
    return NULL;
}

/* ---- open / close ---- */

int wal_open(const char *dir, const wal_opts *opts, wal **out, err *e) {
    *out = NULL;
    if (!dir || !*dir) return err_set(e, 500, EC_STORAGE, "wal: empty directory name");
    if (mkdir_p(dir, e) != 0) return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return err_set(e, 500, EC_STORAGE, "wal: open %s: %s", dir, strerror(errno));

    wal *w = xcalloc(1, sizeof *w);
    w->dir = xstrdup(dir);
    w->dirfd = dfd;
    if (opts)
        w->o = *opts;
    else
        w->o.sync_each = true;
    if (w->o.sync_interval_ms <= 0) w->o.sync_interval_ms = DEF_INTERVAL_MS;
    if (w->o.max_segment_bytes == 0) w->o.max_segment_bytes = DEF_SEG;
    w->next_lsn = 1;
    atomic_init(&w->last_lsn, 0);
    atomic_init(&w->failed, false);
    atomic_init(&w->nfsync, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->smu, NULL);
    pthread_cond_init(&w->scv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->tick, &ca);
    pthread_condattr_destroy(&ca);

    if (segs_scan(w, e) != 0) {
        wal_close(w);
        return -1;
    }
    if (!w->o.sync_each) {
        int rc = pthread_create(&w->thr, NULL, interval_main, w);
        if (rc != 0) {
            wal_close(w);
            return err_set(e, 500, EC_STORAGE, "wal: starting sync thread: %s", strerror(rc));
        }
        w->has_thread = true;
    }
    *out = w;
    return 0;
}

static int check_dir(wal *w, err *e);

static int wal_free(wal *w, bool sync) {
    if (w->has_thread) {
        pthread_mutex_lock(&w->smu);
        w->stop = true;
        pthread_cond_signal(&w->tick);
        pthread_mutex_unlock(&w->smu);
        pthread_join(w->thr, NULL);
    }
    int rc = 0;
    if (sync && w->replayed) {
        err e;
        if (sync_upto(w, atomic_load(&w->last_lsn), &e) != 0 || check_dir(w, &e) != 0) {
            log_error("%s", e.msg);
            rc = -1;
        }
    }
    wfile_unref(w->cur);
    close(w->dirfd);
    pthread_cond_destroy(&w->tick);
    pthread_cond_destroy(&w->scv);
    pthread_mutex_destroy(&w->smu);
    pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free(w->dir);
    free(w);
    return rc;
}

int wal_close(wal *w) {
    return w ? wal_free(w, true) : 0;
}

void wal_destroy(wal *w) {
    if (!w) return;
    char *dir = xstrdup(w->dir);
    (void)wal_free(w, false);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        uint64_t first;
        while ((de = readdir(d)) != NULL) {
            if (!parse_name(de->d_name, &first)) continue;
            if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
                log_warn("wal: unlink %s/%s: %s", dir, de->d_name, strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(dir) != 0) {
        /* Something foreign stays behind; at least make the unlinks durable. */
        log_warn("wal: rmdir %s: %s", dir, strerror(errno));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            if (fsync(fd) != 0) log_warn("wal: fsync directory %s: %s", dir, strerror(errno));
            close(fd);
        }
    } else if (fsync_dir_of(dir, NULL) != 0)
        log_warn("wal: fsync parent of %s failed", dir);
    free(dir);
}

/* ---- append ---- */

static int check_ready_locked(wal *w, err *e) {
    if (!w->replayed) return err_set(e, 500, EC_INTERNAL, "wal: %s used before replay", w->dir);
    if (atomic_load(&w->failed)) return fail_err(w, e);
    return 0;
}

int wal_appendv(wal *w, const void *const *parts, const size_t *lens, int nparts, uint64_t *lsn,
                err *e) {
    if (nparts < 0) return err_set(e, 500, EC_INTERNAL, "wal: negative part count");
    size_t total = 0;
    int nonempty = 0;
    for (int i = 0; i < nparts; i++) {
        if (lens[i] > MAX_REC - total)
            return err_set(e, 500, EC_STORAGE, "wal: record larger than %u bytes", MAX_REC);
        total += lens[i];
        nonempty += lens[i] > 0;
    }
    struct iovec stack_iov[STACK_IOV];
    struct iovec *iov =
        nonempty + 1 <= STACK_IOV ? stack_iov : xmalloc((size_t)(nonempty + 1) * sizeof *iov);
    unsigned char hdr[HDR];
    int rc = 0;

    pthread_mutex_lock(&w->mu);
    if ((rc = check_ready_locked(w, e)) != 0) goto out;
    if (w->cur && w->segs[w->nsegs - 1].size >= w->o.max_segment_bytes) {
        if ((rc = close_cur_locked(w, e)) != 0) goto out;
    }
    if (!w->cur && (rc = seg_open_new_locked(w, e)) != 0) goto out;

    uint64_t l = w->next_lsn;
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    put_le32(hdr, (uint32_t)total);
    put_le64(hdr + 8, l);
    XXH3_64bits_update(&st, hdr + 8, 8);
    int n = 0;
    iov[n++] = (struct iovec){hdr, HDR};
    for (int i = 0; i < nparts; i++) {
        if (!lens[i]) continue;
        XXH3_64bits_update(&st, parts[i], lens[i]);
        iov[n++] = (struct iovec){(void *)parts[i], lens[i]};
    }
    put_le32(hdr + 4, (uint32_t)XXH3_64bits_digest(&st));

    seg *s = &w->segs[w->nsegs - 1];
    if (pwritev_all(w->cur->fd, iov, n, (off_t)s->size) != 0) {
        int en = errno;
        rc = err_set(e, 500, EC_STORAGE, "wal: write %s: %s", w->cur->path, strerror(en));
        /* Remove a partial record, or later records would sit behind a torn one and be lost
         * by the next replay. If that fails the tail is unknown: stop taking writes. */
        if (ftruncate(w->cur->fd, (off_t)s->size) != 0)
            set_failed(w, "truncate after failed write", w->cur->path, errno);
        goto out;
    }
    s->size += HDR + total;
    s->last = l;
    w->total_bytes += HDR + total;
    storage_count(SC_WAL_BYTES, HDR + total);
    w->next_lsn = l + 1;
    atomic_store(&w->last_lsn, l);
    if (lsn) *lsn = l;
out:
    pthread_mutex_unlock(&w->mu);
    if (iov != stack_iov) free(iov);
    return rc;
}

int wal_append(wal *w, const void *rec, size_t len, uint64_t *lsn, err *e) {
    const void *parts[1] = {rec};
    return wal_appendv(w, parts, &len, 1, lsn, e);
}

/* Whether the directory is still the one at its path. Records synced into a directory that
 * was removed (`rm -rf` of the data directory) or moved away and replaced would be gone at the
 * next start, so they must not be acknowledged: the failure is sticky, as for fsync. */
static int check_dir(wal *w, err *e) {
    const char *why = fs_dir_gone(w->dirfd, w->dir);
    if (why) set_failed(w, why, w->dir, 0);
    return atomic_load(&w->failed) ? fail_err(w, e) : 0;
}

int wal_sync(wal *w, uint64_t lsn, err *e) {
    if (lsn > atomic_load(&w->last_lsn))
        return err_set(e, 500, EC_INTERNAL,
                       "wal: sync of LSN %" PRIu64 " which has not been appended (last %" PRIu64
                       ")",
                       lsn, atomic_load(&w->last_lsn));
    if (atomic_load(&w->failed)) return fail_err(w, e);
    if (lsn == 0) return 0;
    if (w->o.sync_each && sync_upto(w, lsn, e) != 0) return -1;
    return check_dir(w, e);
}

uint64_t wal_rotate(wal *w, err *e) {
    uint64_t r = 0;
    pthread_mutex_lock(&w->mu);
    if (check_ready_locked(w, e) != 0) goto out;
    /* An empty current segment already starts at next_lsn. */
    if (!w->cur || w->segs[w->nsegs - 1].size > 0) {
        if (close_cur_locked(w, e) != 0 || seg_open_new_locked(w, e) != 0) goto out;
    }
    r = w->next_lsn;
out:
    pthread_mutex_unlock(&w->mu);
    return r;
}

int wal_trim(wal *w, uint64_t lsn, err *e) {
    pthread_mutex_lock(&w->mu);
    if (check_ready_locked(w, e) != 0) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    /* The newest segment always stays: it is being appended to, and its name is what carries
     * the next LSN across a restart. */
    uint64_t *gone = NULL;
    size_t ngone = 0, keep = 0;
    for (size_t i = 0; i < w->nsegs; i++) {
        seg *s = &w->segs[i];
        if (i + 1 < w->nsegs && s->last < lsn) {
            gone = xrealloc(gone, (ngone + 1) * sizeof *gone);
            gone[ngone++] = s->first;
            w->total_bytes -= s->size;
        } else {
            w->segs[keep++] = *s;
        }
    }
    w->nsegs = keep;
    pthread_mutex_unlock(&w->mu);

    /* Unlinking outside mu keeps appends flowing; the files are no longer referenced. */
    int rc = 0;
    for (size_t i = 0; i < ngone; i++) {
        char *path = seg_path(w->dir, gone[i]);
        if (unlink(path) != 0 && errno != ENOENT && rc == 0)
            rc = err_set(e, 500, EC_STORAGE, "wal: unlink %s: %s", path, strerror(errno));
        free(path);
    }
    if (ngone && fsync(w->dirfd) != 0 && rc == 0)
        rc = err_set(e, 500, EC_STORAGE, "wal: fsync directory %s: %s", w->dir, strerror(errno));
    free(gone);
    return rc;
}

int wal_skip_to(wal *w, uint64_t lsn, err *e) {
    pthread_mutex_lock(&w->mu);
    int rc = check_ready_locked(w, e);
    if (rc == 0 && w->next_lsn < lsn) {
        log_warn("wal: %s ends at LSN %" PRIu64 " but LSNs up to %" PRIu64
                 " were used; continuing at LSN %" PRIu64,
                 w->dir, w->next_lsn - 1, lsn - 1, lsn);
        rc = close_cur_locked(w, e);
        if (rc == 0) {
            w->next_lsn = lsn;
            atomic_store(&w->last_lsn, lsn - 1);
            pthread_mutex_lock(&w->smu);
            w->synced_lsn = lsn - 1; /* nothing lies between */
            pthread_mutex_unlock(&w->smu);
            rc = seg_open_new_locked(w, e);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t wal_last_lsn(wal *w) {
    return atomic_load(&w->last_lsn);
}

uint64_t wal_size(wal *w) {
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->total_bytes;
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t wal_fsync_count(wal *w) {
    return atomic_load(&w->nfsync);
}
