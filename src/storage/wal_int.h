/* Internals shared by the write-ahead log's files; nothing outside them includes this.
 *
 * wal.c owns the log while it runs: segment files, appends, group commit and the interval
 * syncer, trimming, open and close. wal_replay.c reads it back at start: replay, telling a torn
 * tail from damage, and salvage. The record format is in wal.h.
 *
 * Locking: `mu` serialises appends and guards the segment list, the current file and next_lsn;
 * `smu` guards the sync state (synced_lsn, the leader flag, the sticky failure, the stop flag).
 * Lock order is mu then smu. A sync leader holds neither lock while fdatasync runs, so appends
 * keep arriving and form the next group while the current one is being flushed. Replay runs
 * before any append, with `replaying` set so that appends, trims and rotations are refused. */
#ifndef STRATA_STORAGE_WAL_INT_H
#define STRATA_STORAGE_WAL_INT_H

#include "storage/wal.h"

#include <pthread.h>
#include <stdatomic.h>

#define HDR 16             /* u32 len | u32 checksum | u64 lsn */
#define MAX_REC (1u << 30) /* longer lengths can only come from a torn or corrupt header */
#define NAME_LEN 24        /* "wal-" + 16 hex + ".log" */

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

static inline void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const unsigned char *p) {
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* <dir>/wal-<first as 16 hex digits>.log (caller frees). */
char *seg_path(const char *dir, uint64_t first);
/* Reads the segment list from the directory (w->segs empty before), sorted by first LSN. */
int segs_scan(wal *w, err *e);
/* Creates wal-<next_lsn>.log and makes it current. Caller holds mu and cur is NULL. */
int seg_open_new_locked(wal *w, err *e);
/* An open segment file of one reference, owning fd and path. */
wfile *wfile_new(int fd, char *path);

#endif
