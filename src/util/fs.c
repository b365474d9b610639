/* File-system helpers: see fs.h. */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

void fs_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

void fs_fsync_parent(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    fs_fsync_dir(dir);
}

int fs_write_atomic(const char *path, const void *const *parts, const size_t *lens, int nparts,
                    err *e) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    for (int i = 0; i < nparts && rc == 0; i++) rc = fs_write_all(fd, parts[i], lens[i]);
    if (rc == 0) rc = fsync(fd);
    int saved = errno;
    if (fd >= 0) close(fd);
    if (rc == 0) {
        rc = rename(tmp, path);
        saved = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        return err_set(e, 500, EC_STORAGE, "cannot write %s: %s", path, strerror(saved));
    }
    fs_fsync_parent(path);
    return 0;
}

int fs_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return -1;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            fs_rm_rf(sub);
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

int fs_lock_dir(const char *dir, int *out, err *e) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(e, 500, EC_STORAGE, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int en = errno;
        char holder[64] = "";
        ssize_t n = en == EWOULDBLOCK ? pread(fd, holder, sizeof holder - 1, 0) : -1;
        close(fd);
        if (en != EWOULDBLOCK)
            return err_set(e, 500, EC_STORAGE, "cannot lock %s: %s", path, strerror(en));
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        return err_set(e, 500, EC_STORAGE,
                       "data directory %s is in use by another process (%s): only one server "
                       "may use a data directory",
                       dir, holder[0] ? holder : "holder unknown");
    }
    /* Who holds it, for the message a second server prints. */
    char who[64];
    int wl = snprintf(who, sizeof who, "pid %ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)wl, 0) != wl) {
        err_set(e, 500, EC_STORAGE, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    *out = fd;
    return 0;
}

const char *fs_dir_gone(int fd, const char *path) {
    struct stat held, named;
    if (fstat(fd, &held) != 0 || held.st_nlink == 0) return "was removed";
    if (stat(path, &named) != 0 || named.st_dev != held.st_dev || named.st_ino != held.st_ino)
        return "was removed or replaced by another directory";
    return NULL;
}
