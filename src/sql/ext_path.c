/* Where external files may be: locations to paths, the allowed directories, listing a
 * directory's files, naming COPY's output files. See ext.h for the rules.
 *
 * Every check resolves the real path (realpath: `..`, `.` and symbolic links gone) of what is
 * opened, or of the nearest existing directory above a file or directory still to be made, and
 * compares it with the real paths of the allowed directories, so a link inside an allowed
 * directory that points out of it is refused like a plain path outside. */
#include "sql/ext.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/mem.h"
#include "util/timeutil.h"

static char **g_dirs;
static size_t g_ndirs;

void ext_set_allowed_dirs(const char *list, const char *data_path) {
    for (size_t i = 0; i < g_ndirs; i++) free(g_dirs[i]);
    free(g_dirs);
    g_dirs = NULL;
    g_ndirs = 0;
    if (!list || !*list) {
        if (!data_path) return;
        g_dirs = xmalloc(sizeof *g_dirs);
        size_t n = strlen(data_path) + sizeof "/import";
        g_dirs[0] = xmalloc(n);
        snprintf(g_dirs[0], n, "%s/import", data_path);
        g_ndirs = 1;
        return;
    }
    size_t cap = 1;
    for (const char *c = list; *c; c++) cap += *c == ':';
    g_dirs = xmalloc(sizeof *g_dirs * cap);
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) g_dirs[g_ndirs++] = xstrndup(p, len);
        if (!end) break;
        p = end + 1;
    }
}

static bool under_allowed(const char *real) {
    for (size_t i = 0; i < g_ndirs; i++) {
        char dir[PATH_MAX];
        if (!realpath(g_dirs[i], dir)) continue;
        size_t n = strlen(dir);
        if (n == 1) return true; /* "/" */
        if (!strncmp(real, dir, n) && (real[n] == 0 || real[n] == '/')) return true;
    }
    return false;
}

static int refused(const char *path, err *e) {
    return err_set(e, 422, EC_PRIVILEGE,
                   "Access denied: '%s' is outside the directories external tables and COPY may "
                   "use (config copy.allowed_dirs)",
                   path);
}

/* The local path of a location: `file://` stripped; remote stores refused. */
static int local_path(const char *location, const char **path, err *e) {
    if (!strncmp(location, "file://", 7)) {
        *path = location + 7;
    } else if (strstr(location, "://")) {
        int n = (int)(strstr(location, "://") - location);
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: the object store %.*s:// (only local "
                       "files, as file:// or a path)",
                       n, location);
    } else {
        *path = location;
    }
    if (!**path) return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: IO error: empty location");
    return 0;
}

static int not_found(const char *path, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: IO error: %s (os error %d): %s",
                   strerror(errno), errno, path);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *ext_dir_suffix(const ext_source *src) {
    return src->format == EXT_PARQUET ? ".parquet" : NULL;
}

int ext_files(arena *a, const char *location, const char *suffix, char ***files, uint32_t *n,
              err *e) {
    const char *path;
    if (local_path(location, &path, e) < 0) return -1;
    char real[PATH_MAX];
    if (!realpath(path, real)) return not_found(path, e);
    if (!under_allowed(real)) return refused(path, e);
    struct stat st;
    if (stat(real, &st) < 0) return not_found(path, e);
    if (!S_ISDIR(st.st_mode)) {
        *files = arena_alloc(a, sizeof **files);
        (*files)[0] = arena_strdup(a, real);
        *n = 1;
        return 0;
    }
    DIR *d = opendir(real);
    if (!d) return not_found(path, e);
    uint32_t cnt = 0, cap = 16;
    char **out = arena_alloc(a, sizeof *out * cap);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        size_t nl = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;
        if (suffix && (nl < sl || strcmp(de->d_name + nl - sl, suffix))) continue;
        char full[PATH_MAX], freal[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", real, de->d_name) >= (int)sizeof full) continue;
        struct stat fs;
        if (!realpath(full, freal) || stat(freal, &fs) < 0 || !S_ISREG(fs.st_mode)) continue;
        if (!under_allowed(freal)) {
            closedir(d);
            return refused(full, e);
        }
        if (cnt == cap) {
            out = arena_realloc(a, out, sizeof *out * cap, sizeof *out * cap * 2);
            cap *= 2;
        }
        out[cnt++] = arena_strdup(a, freal);
    }
    closedir(d);
    if (!cnt) {
        errno = ENOENT;
        return not_found(path, e);
    }
    qsort(out, cnt, sizeof *out, cmp_str);
    *files = out;
    *n = cnt;
    return 0;
}

/* Checks that dir may be made (or is there), then makes it and its missing parents. */
static int make_dirs(char *dir, const char *shown, err *e) {
    char real[PATH_MAX];
    if (realpath(dir, real)) {
        if (!under_allowed(real)) return refused(shown, e);
        return 0;
    }
    if (errno != ENOENT) return not_found(shown, e);
    char *slash = strrchr(dir, '/');
    while (slash && slash != dir && slash[1] == 0) { /* trailing slashes */
        *slash = 0;
        slash = strrchr(dir, '/');
    }
    if (slash && slash != dir) {
        *slash = 0;
        int rc = make_dirs(dir, shown, e);
        *slash = '/';
        if (rc < 0) return -1;
    } else if (!slash) {
        char cwd[] = ".";
        if (make_dirs(cwd, shown, e) < 0) return -1;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return not_found(shown, e);
    return 0;
}

int ext_out_path(arena *a, const char *location, const char *suffix, char **path, err *e) {
    const char *p;
    if (local_path(location, &p, e) < 0) return -1;
    size_t len = strlen(p);
    if (len >= PATH_MAX - 64)
        return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: IO error: path too long");
    char tmp[PATH_MAX];
    memcpy(tmp, p, len + 1);
    struct stat st;
    bool dir = p[len - 1] == '/' || (stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    if (dir) {
        if (make_dirs(tmp, p, e) < 0) return -1;
        static unsigned long seq;
        unsigned long k = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
        *path = arena_printf(a, "%s%spart-%lld-%lu.%s", p, p[len - 1] == '/' ? "" : "/",
                             (long long)time_now_ns(), k, suffix);
        return 0;
    }
    char *slash = strrchr(tmp, '/');
    if (slash) {
        *slash = 0;
        if (slash == tmp) strcpy(tmp, "/");
    } else {
        strcpy(tmp, ".");
    }
    if (make_dirs(tmp, p, e) < 0) return -1;
    char real[PATH_MAX];
    /* the file is replaced by a rename, never written through a link; still, a link there
     * that points outside is refused rather than replaced */
    if (realpath(p, real) && !under_allowed(real)) return refused(p, e);
    *path = arena_strdup(a, p);
    return 0;
}
