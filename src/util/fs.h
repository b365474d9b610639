/* File-system helpers shared by the durable parts (catalog, WAL, storage).
 *
 * The rules they encode: a file becomes durable by fsync of its contents and of its directory
 * entry; a file replaced "atomically" is written to a temporary name, fsynced, renamed over the
 * old one, and the directory fsynced, so a crash leaves either the old or the new content.
 * All functions are thread safe (no shared state). */
#ifndef STRATA_UTIL_FS_H
#define STRATA_UTIL_FS_H

#include <stddef.h>

#include "util/err.h"

/* write(2) until done, retrying EINTR; -1 with errno on failure. */
int fs_write_all(int fd, const void *p, size_t n);
/* fsync of a directory (best effort: errors are ignored, the data files are already synced). */
void fs_fsync_dir(const char *dir);
/* fsync of the directory that holds path. */
void fs_fsync_parent(const char *path);
/* Replaces path with the concatenation of the parts, atomically and durably (see above).
 * Errors: HTTP 500, code EC_STORAGE, naming the file. */
int fs_write_atomic(const char *path, const void *const *parts, const size_t *lens, int nparts,
                    err *e);
/* Removes a file or a directory tree; 0 if it did not exist. */
int fs_rm_rf(const char *path);
/* Takes an exclusive lock (flock) on `<dir>/LOCK` and writes the caller's pid into it. The lock
 * lasts as long as the returned descriptor stays open, and the kernel drops it when the
 * process ends, however it ends, so a stale LOCK file never blocks a start. When another
 * process holds it: -1 with a message naming the directory and the holder's pid. */
int fs_lock_dir(const char *dir, int *fd, err *e);
/* Whether the directory open as fd is no longer the one at path: NULL while it is, else why
 * ("was removed", "was removed or replaced by another directory"). Two stat calls: cheap
 * enough for every acknowledged write. */
const char *fs_dir_gone(int fd, const char *path);

#endif
