/* Reading the write-ahead log back at start (see wal.h): replay in LSN order, telling a torn
 * tail (cut) from damage (refused, naming the file and offset), and salvage, which rewrites
 * damaged segments to hold only their intact records. See wal_int.h. */
#define XXH_STATIC_LINKING_ONLY
#include "storage/wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define RD_CHUNK ((size_t)1 << 20) /* replay read-ahead */

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
    return segs_scan(w, e);
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
                rc = seg_open_new_locked(w, e);
            } else {
                char *path = seg_path(w->dir, s->first);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                    rc = err_set(e, 500, EC_STORAGE, "wal: open %s: %s", path, strerror(errno));
                    free(path);
                } else
                    w->cur = wfile_new(fd, path);
            }
        }
        if (rc == 0) w->replayed = true;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}
