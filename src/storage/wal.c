/* Write-ahead log: segment files, group commit, the interval syncer and recovery (see wal.h).
 *
 * Locking: `mu` serialises appends and guards the segment list, the current file and next_lsn;
 * `smu` guards the sync state (synced_lsn, the leader flag, the sticky failure, the stop flag).
 * Lock order is mu then smu. A sync leader holds neither lock while fdatasync runs, so appends
 * keep arriving and form the next group while the current one is being flushed. */
#define XXH_STATIC_LINKING_ONLY
#include "storage/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define HDR 16             /* u32 len | u32 checksum | u64 lsn */
#define MAX_REC (1u << 30) /* longer lengths can only come from a torn or corrupt header */
#define DEF_SEG ((size_t)128 << 20)
#define DEF_INTERVAL_MS 100
#define RD_CHUNK ((size_t)1 << 20) /* replay read-ahead */
#define NAME_LEN 24                /* "wal-" + 16 hex + ".log" */
#define STACK_IOV 16

/* An open segment file. Reference counted so that a sync leader can fdatasync it outside `mu`
 * while an append rotates away from it; the last holder closes the descriptor. */
typedef struct wfile {
    int fd;
    atomic_int refs;
    char *path;
} wfile;

typedef struct seg {
    uint64_t first; /* from the file name */
    uint64_t last;  /* last intact LSN; first - 1 while empty */
    uint64_t size;  /* bytes in the file */
    bool dead;      /* LSNs overlap an earlier segment: never replayed nor appended to */
} seg;

struct wal {
    char *dir;
    int dirfd;
    wal_opts o;

    pthread_mutex_t mu;
    seg *segs; /* sorted by first LSN; when cur is set it is the last one */
    size_t nsegs, capsegs;
    wfile *cur;
    uint64_t next_lsn;
    uint64_t total_bytes;
    bool replaying, replayed;
    /* Mirror of next_lsn - 1, so that wal_sync and wal_last_lsn need not take mu. */
    _Atomic uint64_t last_lsn;

    pthread_mutex_t smu;
    pthread_cond_t scv;  /* a sync leader finished */
    pthread_cond_t tick; /* wakes the interval thread early when closing */
    uint64_t synced_lsn;
    bool syncing;
    bool stop;
    atomic_bool failed;
    char fail_msg[ERR_MSG_MAX];
    _Atomic uint64_t nfsync;

    bool has_thread;
    pthread_t thr;
};

/* ---- small helpers ---- */

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_le64(const unsigned char *p) {
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static char *seg_path(const char *dir, uint64_t first) {
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

static int scan_dir(wal *w, err *e) {
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

/* Creates wal-<next_lsn>.log and makes it current. Caller holds mu and cur is NULL. */
static int open_new_segment_locked(wal *w, err *e) {
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
        atomic_fetch_add(&w->nfsync, 1);
        set_failed(w, "fsync directory", w->dir, en);
        close(fd);
        free(path);
        return fail_err(w, e);
    }
    atomic_fetch_add(&w->nfsync, 1);
    segs_push(w, w->next_lsn, 0);
    wfile *f = xmalloc(sizeof *f);
    f->fd = fd;
    atomic_init(&f->refs, 1);
    f->path = path;
    w->cur = f;
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
    atomic_fetch_add(&w->nfsync, 1);
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
            atomic_fetch_add(&w->nfsync, 1);
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

    if (scan_dir(w, e) != 0) {
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

/* ---- replay ---- */

/* Read-ahead window over one segment, so small records cost no syscall each and a record of any
 * size can be handed to the callback contiguously. */
typedef struct rd {
    int fd;
    const char *path;
    char *buf;
    size_t cap;
    uint64_t boff; /* file offset of buf[0] */
    size_t blen;
} rd;

static int rd_get(rd *r, uint64_t off, size_t n, const unsigned char **out, err *e) {
    if (off >= r->boff && off - r->boff <= r->blen && r->blen - (off - r->boff) >= n) {
        *out = (const unsigned char *)r->buf + (off - r->boff);
        return 0;
    }
    size_t keep = 0;
    if (off >= r->boff && off - r->boff < r->blen) {
        keep = r->blen - (size_t)(off - r->boff);
        memmove(r->buf, r->buf + (off - r->boff), keep);
    }
    if (n > r->cap || !r->buf) {
        r->cap = n > RD_CHUNK ? n : RD_CHUNK;
        r->buf = xrealloc(r->buf, r->cap);
    }
    r->boff = off;
    r->blen = keep;
    while (r->blen < n) {
        ssize_t got = pread(r->fd, r->buf + r->blen, r->cap - r->blen, (off_t)(off + r->blen));
        if (got < 0) {
            if (errno == EINTR) continue;
            return err_set(e, 500, EC_STORAGE, "wal: read %s: %s", r->path, strerror(errno));
        }
        if (got == 0)
            return err_set(e, 500, EC_STORAGE, "wal: read %s: file shrank during replay", r->path);
        r->blen += (size_t)got;
    }
    *out = (const unsigned char *)r->buf;
    return 0;
}

/* Cuts the last segment at off: what follows is a torn write, and appends must not land after
 * it or a later replay would stop there and lose them. */
static int truncate_tail(const char *path, uint64_t off, err *e) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return err_set(e, 500, EC_STORAGE, "wal: open %s: %s", path, strerror(errno));
    int rc = 0;
    if (ftruncate(fd, (off_t)off) != 0)
        rc = err_set(e, 500, EC_STORAGE, "wal: truncate %s: %s", path, strerror(errno));
    else if (fdatasync(fd) != 0)
        rc = err_set(e, 500, EC_STORAGE, "wal: fdatasync %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* ---- telling a torn tail from damage ---- */

/* Whether an intact record with an LSN in [lo, hi] starts at off of a segment image of size
 * bytes. The LSN range is tested first: it is a cheap filter that keeps a scan over megabytes
 * of damaged bytes fast and makes a chance match of the 32-bit checksum irrelevant. */
static bool rec_at(const unsigned char *m, uint64_t size, uint64_t off, uint64_t lo, uint64_t hi,
                   uint32_t *len, uint64_t *lsn) {
    if (off > size || size - off < HDR) return false;
    uint64_t l = get_le64(m + off + 8);
    if (l < lo || l > hi) return false;
    uint32_t n = get_le32(m + off);
    if (n > MAX_REC || n > size - off - HDR) return false;
    if ((uint32_t)XXH3_64bits(m + off + 8, 8 + (size_t)n) != get_le32(m + off + 4)) return false;
    *len = n;
    *lsn = l;
    return true;
}

/* Offset of the first intact record at or after `from` with an LSN in [lo, hi], or size. */
static uint64_t next_rec(const unsigned char *m, uint64_t size, uint64_t from, uint64_t lo,
                         uint64_t hi) {
    uint32_t len;
    uint64_t lsn;
    for (uint64_t o = from; size >= HDR && o <= size - HDR; o++)
        if (rec_at(m, size, o, lo, hi, &len, &lsn)) return o;
    return size;
}

/* Maps a whole segment read-only (*m is NULL for an empty file). */
static int map_seg(const char *path, const unsigned char **m, uint64_t *size, err *e) {
    *m = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err_set(e, 500, EC_STORAGE, "wal: open %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    int rc = 0;
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            rc = err_set(e, 500, EC_STORAGE, "wal: map %s: %s", path, strerror(errno));
        else {
            *m = p;
            *size = (uint64_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

static void unmap_seg(const unsigned char *m, uint64_t size) {
    if (m) munmap((void *)m, (size_t)size);
}

/* Replays one segment starting at *next; on return *next follows its last intact record and
 * s->size reflects any truncation. A bad record with nothing intact after it in the last
 * segment is a torn write and is cut; anything else is damage, and replay stops with an error
 * rather than drop the acknowledged records that follow (salvage, before this, repairs it). */
static int replay_seg(wal *w, seg *s, bool is_last, rd *r, wal_replay_fn fn, void *ctx,
                      uint64_t *next, err *e) {
    char *path = seg_path(w->dir, s->first);
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = err_set(e, 500, EC_STORAGE, "wal: open %s: %s", path, strerror(errno));
        goto out;
    }
    r->fd = fd;
    r->path = path;
    r->boff = 0;
    r->blen = 0;
    uint64_t size = (uint64_t)st.st_size, off = 0, bad_lsn = 0;
    const char *bad = NULL;
    while (off < size) {
        const unsigned char *p;
        if (size - off < HDR) {
            bad = "incomplete header";
            break;
        }
        if ((rc = rd_get(r, off, HDR, &p, e)) != 0) goto out;
        uint32_t len = get_le32(p), sum = get_le32(p + 4);
        uint64_t lsn = get_le64(p + 8);
        if (len > MAX_REC || len > size - off - HDR) {
            bad = "length past end of file";
            break;
        }
        if ((rc = rd_get(r, off, HDR + (size_t)len, &p, e)) != 0) goto out;
        /* The lsn field is immediately followed by the payload: hash them in place. */
        if ((uint32_t)XXH3_64bits(p + 8, 8 + (size_t)len) != sum) {
            bad = "checksum mismatch";
            break;
        }
        if (lsn != *next) {
            bad = "LSN out of sequence";
            bad_lsn = lsn;
            break;
        }
        if (fn && fn(ctx, lsn, p + HDR, len, e) != 0) {
            if (e && !e->msg[0])
                err_set(e, 500, EC_STORAGE, "wal: replay callback failed at LSN %" PRIu64, lsn);
            rc = -1;
            goto out;
        }
        s->last = lsn;
        (*next)++;
        off += HDR + len;
    }
    s->size = size;
    if (!bad) goto out;
    /* An intact record after the bad one cannot come from a torn write. */
    char after[96] = "";
    if (bad_lsn)
        snprintf(after, sizeof after, ": the record there is intact but claims LSN %" PRIu64,
                 bad_lsn);
    else if (!is_last)
        snprintf(after, sizeof after, ", in a segment that newer segments follow");
    else {
        const unsigned char *m;
        uint64_t msize;
        if ((rc = map_seg(path, &m, &msize, e)) != 0) goto out;
        uint64_t found = next_rec(m, msize, off + 1, *next, *next + (msize - off) / HDR);
        if (found < msize)
            snprintf(after, sizeof after,
                     ", and an intact record (LSN %" PRIu64 ") follows at offset %" PRIu64,
                     get_le64(m + found + 8), found);
        unmap_seg(m, msize);
    }
    if (after[0]) {
        rc = err_set(e, 500, EC_STORAGE,
                     "wal: %s: %s at offset %" PRIu64 " (LSN %" PRIu64 " expected)%s. The log is "
                     "damaged, not torn: refusing to start rather than drop acknowledged writes. "
                     "Start once with --wal-salvage to keep every intact record and skip the "
                     "damaged bytes",
                     path, bad, off, *next, after);
        goto out;
    }
    log_warn("wal: %s: %s at offset %" PRIu64 " (expected LSN %" PRIu64 "); truncating %" PRIu64
             " bytes of torn tail",
             path, bad, off, *next, size - off);
    if ((rc = truncate_tail(path, off, e)) != 0) goto out;
    s->size = off;
out:
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

/* ---- salvage ---- */

/* An intact record found by salvage. */
typedef struct kept {
    uint64_t off, lsn;
    uint32_t len; /* payload */
} kept;

typedef struct salvage_stats {
    uint64_t kept, dropped, spans, bytes, lost_lsns, segments;
} salvage_stats;

/* Writes records [from, to) of a damaged segment as the segment named by the first one. */
static int write_run(wal *w, const unsigned char *m, const kept *k, size_t from, size_t to,
                     err *e) {
    size_t n = to - from;
    const void **parts = xmalloc(n * sizeof *parts);
    size_t *lens = xmalloc(n * sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        parts[i] = m + k[from + i].off;
        lens[i] = HDR + (size_t)k[from + i].len;
    }
    char *path = seg_path(w->dir, k[from].lsn);
    int rc = fs_write_atomic(path, parts, lens, (int)n, e);
    free(path);
    free(parts);
    free(lens);
    return rc;
}

/* Replaces a damaged segment by one segment per run of consecutive LSNs among its intact
 * records, each named by its first LSN, after keeping the original as
 * `<name>.damaged-<unix time>` for inspection. The run that keeps the original name is
 * written last, by an atomic rename over it, and when none does the original becomes an
 * empty segment, whose name still carries the LSN the log goes on from. A crash midway leaves
 * the original in place, so salvage can simply run again. */
static int rewrite_seg(wal *w, const seg *s, const unsigned char *m, const kept *k, size_t nk,
                       err *e) {
    char *path = seg_path(w->dir, s->first);
    size_t dn = strlen(path) + 40;
    char *dmg = xmalloc(dn);
    snprintf(dmg, dn, "%s.damaged-%lld", path, (long long)time(NULL));
    int rc = 0;
    if (link(path, dmg) != 0 && errno != EEXIST) {
        rc = err_set(e, 500, EC_STORAGE, "wal: cannot keep %s as %s: %s", path, dmg,
                     strerror(errno));
        goto out;
    }
    size_t same_from = 0, same_to = 0; /* the run named like the original */
    for (size_t i = 0, j; i < nk && rc == 0; i = j) {
        for (j = i + 1; j < nk && k[j].lsn == k[j - 1].lsn + 1;) j++;
        if (k[i].lsn == s->first) {
            same_from = i, same_to = j;
            continue;
        }
        bool taken = false;
        for (size_t t = 0; t < w->nsegs; t++) taken |= w->segs[t].first == k[i].lsn;
        if (taken) {
            log_error("wal salvage: %s: LSNs %" PRIu64 "..%" PRIu64 " dropped: another segment "
                      "already starts at LSN %" PRIu64,
                      path, k[i].lsn, k[j - 1].lsn, k[i].lsn);
            continue;
        }
        rc = write_run(w, m, k, i, j, e);
    }
    if (rc == 0 && same_to > same_from)
        rc = write_run(w, m, k, same_from, same_to, e);
    else if (rc == 0)
        rc = fs_write_atomic(path, NULL, NULL, 0, e);
    if (rc == 0 && fsync(w->dirfd) != 0)
        rc = err_set(e, 500, EC_STORAGE, "wal: fsync directory %s: %s", w->dir, strerror(errno));
    if (rc == 0)
        log_warn("wal salvage: %s rewritten; the damaged original is kept as %s", path, dmg);
out:
    free(dmg);
    free(path);
    return rc;
}

/* Finds the intact records of segment i, keeping those whose LSN follows *prev (the last LSN
 * kept so far), logs every span of bytes it skips, and rewrites the segment when it is
 * damaged. A torn tail of the last segment is left for replay to cut. */
static int salvage_seg(wal *w, size_t i, uint64_t *prev, salvage_stats *st, err *e) {
    const seg *s = &w->segs[i];
    bool is_last = i + 1 == w->nsegs;
    char *path = seg_path(w->dir, s->first);
    const unsigned char *m;
    uint64_t size;
    int rc = map_seg(path, &m, &size, e);
    if (rc != 0) {
        free(path);
        return rc;
    }
    kept *k = NULL;
    size_t nk = 0, cap = 0;
    bool damaged = false;
    uint64_t off = 0;
    while (off < size) {
        uint64_t lo = *prev + 1 > s->first ? *prev + 1 : s->first;
        uint64_t hi = lo + size / HDR;
        uint32_t len;
        uint64_t lsn;
        if (rec_at(m, size, off, lo, hi, &len, &lsn)) {
            if (nk == cap) {
                cap = cap ? cap * 2 : 64;
                k = xrealloc(k, cap * sizeof *k);
            }
            k[nk++] = (kept){off, lsn, len};
            /* Every record must follow the one before it, the first one the name. */
            if (lsn != (nk > 1 ? k[nk - 2].lsn + 1 : s->first)) damaged = true;
            if (*prev && lsn > *prev + 1) st->lost_lsns += lsn - *prev - 1;
            *prev = lsn;
            st->kept++;
            off += HDR + len;
            continue;
        }
        if (rec_at(m, size, off, 1, UINT64_MAX, &len, &lsn)) {
            log_warn("wal salvage: %s: dropping the record at offset %" PRIu64
                     ": it is intact but its LSN %" PRIu64 " does not follow LSN %" PRIu64,
                     path, off, lsn, *prev);
            st->dropped++;
            damaged = true;
            off += HDR + len;
            continue;
        }
        uint64_t nxt = next_rec(m, size, off + 1, lo, hi);
        if (nxt == size && is_last) break; /* a torn tail: left out by a rewrite, else cut */
        damaged = true;
        log_warn("wal salvage: %s: skipping %" PRIu64 " damaged bytes at offsets %" PRIu64
                 "..%" PRIu64,
                 path, nxt - off, off, nxt - 1);
        st->spans++;
        st->bytes += nxt - off;
        off = nxt;
    }
    if (damaged) {
        st->segments++;
        rc = rewrite_seg(w, s, m, k, nk, e);
    }
    free(k);
    unmap_seg(m, size);
    free(path);
    return rc;
}

/* Salvage mode: repairs every damaged segment, then reads the directory again so that replay
 * proper sees only intact segments. */
static int salvage(wal *w, err *e) {
    salvage_stats st = {0};
    uint64_t prev = 0;
    int rc = 0;
    for (size_t i = 0; i < w->nsegs && rc == 0; i++) rc = salvage_seg(w, i, &prev, &st, e);
    if (rc != 0) return rc;
    if (st.segments)
        log_warn("wal salvage: %s: %" PRIu64 " damaged segments repaired; %" PRIu64
                 " intact records kept, %" PRIu64
                 " intact records out of sequence dropped, %" PRIu64
                 " damaged bytes skipped in %" PRIu64 " places, %" PRIu64 " LSNs missing",
                 w->dir, st.segments, st.kept, st.dropped, st.bytes, st.spans, st.lost_lsns);
    else
        log_info("wal salvage: %s: no damage found (%" PRIu64 " intact records)", w->dir, st.kept);
    w->nsegs = 0;
    w->total_bytes = 0;
    return scan_dir(w, e);
}

int wal_replay(wal *w, wal_replay_fn fn, void *ctx, err *e) {
    if (e) err_clear(e);
    pthread_mutex_lock(&w->mu);
    if (w->replayed || w->replaying) {
        pthread_mutex_unlock(&w->mu);
        return err_set(e, 500, EC_INTERNAL, "wal: %s replayed twice", w->dir);
    }
    /* The callback runs without mu (it may well ask for wal_size or wal_last_lsn); appends,
     * trims and rotations are refused until replay has finished, so the list stays put. */
    w->replaying = true;
    pthread_mutex_unlock(&w->mu);

    int rc = w->o.salvage ? salvage(w, e) : 0;
    rd r = {.fd = -1};
    uint64_t next = 1;
    bool any = false;
    for (size_t i = 0; i < w->nsegs && rc == 0; i++) {
        seg *s = &w->segs[i];
        s->dead = false;
        s->last = s->first - 1;
        if (any && s->first < next) {
            log_error("wal: %s/wal-%016" PRIx64 ".log starts at LSN %" PRIu64
                      " but LSNs up to %" PRIu64 " were already replayed; ignoring it",
                      w->dir, s->first, s->first, next - 1);
            s->dead = true;
            continue;
        }
        if (any && s->first > next)
            log_warn("wal: %s: LSNs %" PRIu64 "..%" PRIu64 " are missing", w->dir, next,
                     s->first - 1);
        next = s->first;
        any = true;
        rc = replay_seg(w, s, i + 1 == w->nsegs, &r, fn, ctx, &next, e);
    }
    free(r.buf);

    pthread_mutex_lock(&w->mu);
    w->replaying = false;
    if (rc == 0) {
        w->next_lsn = next;
        atomic_store(&w->last_lsn, next - 1);
        w->total_bytes = 0;
        for (size_t i = 0; i < w->nsegs; i++) w->total_bytes += w->segs[i].size;
        pthread_mutex_lock(&w->smu);
        w->synced_lsn = next - 1; /* what replay read back is on disk (truncation was synced) */
        pthread_mutex_unlock(&w->smu);
        if (w->nsegs > 0) {
            seg *s = &w->segs[w->nsegs - 1];
            if (s->dead) {
                /* Start a fresh segment so the newest file name again carries next_lsn. */
                rc = open_new_segment_locked(w, e);
            } else {
                char *path = seg_path(w->dir, s->first);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                    rc = err_set(e, 500, EC_STORAGE, "wal: open %s: %s", path, strerror(errno));
                    free(path);
                } else {
                    wfile *f = xmalloc(sizeof *f);
                    f->fd = fd;
                    atomic_init(&f->refs, 1);
                    f->path = path;
                    w->cur = f;
                }
            }
        }
        if (rc == 0) w->replayed = true;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
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
    if (!w->cur && (rc = open_new_segment_locked(w, e)) != 0) goto out;

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
        if (close_cur_locked(w, e) != 0 || open_new_segment_locked(w, e) != 0) goto out;
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
            rc = open_new_segment_locked(w, e);
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
