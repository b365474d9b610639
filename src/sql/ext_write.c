/* Writing an external file (COPY INTO a location): bytes through the chosen compression into a
 * hidden temporary file beside the target (`.<name>.tmp-<n>`, which listings skip), made
 * durable (fdatasync) and renamed over the target when closed; abandoned, it is removed. So a
 * reader (an external table over the directory) sees the whole file or none of it. See ext.h. */
#include "sql/ext.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "util/fs.h"

struct ext_out {
    const char *path;
    char *tmp; /* what is written, renamed to path at the end */
    uint8_t comp;
    int fd;
    gzFile gz;
    FILE *fp;
    BZFILE *bz;
    ZSTD_CCtx *zc;
    lzma_stream xz;
    bool xz_open;
    char *zbuf; /* compressed output of zstd and xz */
    size_t zcap;
};

static int out_err(const struct ext_out *o, const char *what, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: IO error: %s: %s", what, o->path);
}

const char *ext_comp_suffix(uint8_t comp) {
    static const char *const sfx[] = {"", ".gz", ".bz2", ".zst", ".xz"};
    return comp < sizeof sfx / sizeof sfx[0] ? sfx[comp] : "";
}

void ext_out_free(ext_out *o) {
    if (!o) return;
    if (o->gz) gzclose(o->gz);
    if (o->bz) {
        int bzerr;
        BZ2_bzWriteClose(&bzerr, o->bz, 1, NULL, NULL);
    }
    if (o->fp) fclose(o->fp);
    if (o->fd >= 0) close(o->fd);
    if (o->zc) ZSTD_freeCCtx(o->zc);
    if (o->xz_open) lzma_end(&o->xz);
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    free(o->zbuf);
    free(o);
}

/* `<dir>/.<base>.tmp-<pid>-<n>` for path. */
static char *tmp_name(const char *path) {
    static unsigned long seq;
    unsigned long k = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    char *t = NULL;
    if (asprintf(&t, "%.*s.%s.tmp-%ld-%lu", dl, path, path + dl, (long)getpid(), k) < 0)
        return NULL;
    return t;
}

int ext_out_open(const char *path, uint8_t comp, ext_out **out, err *e) {
    ext_out *o = calloc(1, sizeof *o);
    if (!o) return err_set(e, 500, EC_INTERNAL, "out of memory");
    o->path = path;
    o->comp = comp;
    o->tmp = tmp_name(path);
    /* O_EXCL: a new file, never a link planted at the name */
    o->fd = o->tmp ? open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    int rc = 0;
    if (o->fd < 0) {
        if (o->tmp && errno == EEXIST) {
            free(o->tmp); /* not ours to remove */
            o->tmp = NULL;
        }
        rc = out_err(o, strerror(errno), e);
    } else if (comp == EXT_GZIP) {
        int fd = dup(o->fd);
        o->gz = fd >= 0 ? gzdopen(fd, "wb") : NULL;
        if (!o->gz) rc = out_err(o, "cannot start gzip", e);
    } else if (comp == EXT_BZIP2) {
        int fd = dup(o->fd), bzerr;
        o->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
        o->bz = o->fp ? BZ2_bzWriteOpen(&bzerr, o->fp, 9, 0, 0) : NULL;
        if (!o->bz) rc = out_err(o, "cannot start bzip2", e);
    } else if (comp == EXT_ZSTD || comp == EXT_XZ) {
        o->zcap = comp == EXT_ZSTD ? ZSTD_CStreamOutSize() : 256 * 1024;
        o->zbuf = malloc(o->zcap);
        if (comp == EXT_ZSTD) {
            o->zc = ZSTD_createCCtx();
        } else {
            o->xz = (lzma_stream)LZMA_STREAM_INIT;
            o->xz_open = lzma_easy_encoder(&o->xz, 6, LZMA_CHECK_CRC64) == LZMA_OK;
        }
        if (!o->zbuf || (comp == EXT_ZSTD ? !o->zc : !o->xz_open))
            rc = out_err(o, "cannot start the compressor", e);
    }
    if (rc < 0) {
        ext_out_free(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* Runs the zstd or xz stream over p[0..n) (end: finish it), writing what comes out. */
static int stream(ext_out *o, const void *p, size_t n, bool end, err *e) {
    if (o->comp == EXT_ZSTD) {
        ZSTD_inBuffer in = {p, n, 0};
        for (;;) {
            ZSTD_outBuffer zo = {o->zbuf, o->zcap, 0};
            size_t r = ZSTD_compressStream2(o->zc, &zo, &in, end ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(r)) return out_err(o, ZSTD_getErrorName(r), e);
            if (zo.pos && fs_write_all(o->fd, o->zbuf, zo.pos) < 0)
                return out_err(o, strerror(errno), e);
            if (end ? r == 0 : in.pos == in.size) return 0;
        }
    }
    o->xz.next_in = p;
    o->xz.avail_in = n;
    for (;;) {
        o->xz.next_out = (uint8_t *)o->zbuf;
        o->xz.avail_out = o->zcap;
        lzma_ret r = lzma_code(&o->xz, end ? LZMA_FINISH : LZMA_RUN);
        if (r != LZMA_OK && r != LZMA_STREAM_END) return out_err(o, "xz compression failed", e);
        size_t got = o->zcap - o->xz.avail_out;
        if (got && fs_write_all(o->fd, o->zbuf, got) < 0) return out_err(o, strerror(errno), e);
        if (end ? r == LZMA_STREAM_END : o->xz.avail_in == 0) return 0;
    }
}

int ext_out_write(ext_out *o, const void *p, size_t n, err *e) {
    if (!n) return 0;
    switch (o->comp) {
    case EXT_GZIP:
        return gzwrite(o->gz, p, (unsigned)n) == (int)n ? 0 : out_err(o, "gzip write failed", e);
    case EXT_BZIP2: {
        int bzerr;
        BZ2_bzWrite(&bzerr, o->bz, (void *)p, (int)n);
        return bzerr == BZ_OK ? 0 : out_err(o, "bzip2 write failed", e);
    }
    case EXT_ZSTD:
    case EXT_XZ:
        return stream(o, p, n, false, e);
    default:
        return fs_write_all(o->fd, p, n) < 0 ? out_err(o, strerror(errno), e) : 0;
    }
}

int ext_out_close(ext_out *o, err *e) {
    int rc = 0;
    if (o->comp == EXT_GZIP) {
        rc = gzclose(o->gz) == Z_OK ? 0 : out_err(o, "gzip close failed", e);
        o->gz = NULL;
    } else if (o->comp == EXT_BZIP2) {
        int bzerr;
        BZ2_bzWriteClose(&bzerr, o->bz, 0, NULL, NULL);
        o->bz = NULL;
        if (bzerr != BZ_OK || fclose(o->fp) != 0) rc = out_err(o, "bzip2 close failed", e);
        o->fp = NULL;
    } else if (o->comp == EXT_ZSTD || o->comp == EXT_XZ) {
        rc = stream(o, "", 0, true, e);
    }
    if (rc == 0 && fdatasync(o->fd) < 0) rc = out_err(o, strerror(errno), e);
    /* rename replaces a link at path itself, never its target */
    if (rc == 0 && rename(o->tmp, o->path) < 0) rc = out_err(o, strerror(errno), e);
    if (rc == 0) {
        free(o->tmp);
        o->tmp = NULL;
        fs_fsync_parent(o->path);
    }
    ext_out_free(o);
    return rc;
}
