/* libFuzzer target for the external-file reader (sql/ext_read.c): the CSV and JSON-lines
 * record readers, value conversion and schema inference, over untrusted file contents.
 * The first input byte chooses the format (bit 0: JSON), the header (bit 1), the delimiter
 * (bits 2-3: ',' ';' '|' tab) and whether the columns are inferred or fixed (bit 4); the rest
 * is the file, given to the reader through a memfd. Besides "no crash, no leak, no
 * out-of-bounds read", every batch must hold the NULL-slot invariant of util/types.h (booleans
 * 0 or 1, string views readable) and text columns valid UTF-8.
 *
 *   make -C tests/fuzz fuzz_ext && tests/fuzz/fuzz_ext -max_total_time=60 corpus-ext */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sql/ext.h"
#include "util/utf8.h"

#include "batch_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char delims[] = {',', ';', '|', '\t'};
    ext_source src = {.format = (data[0] & 1) ? EXT_JSON : EXT_CSV,
                      .header = (data[0] & 2) != 0,
                      .delimiter = delims[(data[0] >> 2) & 3]};
    bool infer = (data[0] & 16) != 0;
    int fd = memfd_create("fuzz_ext", 0);
    if (fd < 0) return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    qctx q = {0};
    q.a = arena_new(0);
    q.ba = arena_new(0);
    err e = {0};
    uint32_t ncols = 3;
    const char *fixed_names[] = {"a", "b", "c"};
    const char **names = fixed_names;
    uint8_t fixed_types[] = {VT_I64, VT_STR, VT_F64}, *types = fixed_types;
    uint8_t units[64] = {0};
    const char **arrow;
    if (infer && ext_infer(q.a, &src, path, &ncols, &names, &types, &arrow, &e) < 0) goto out;
    if (ncols > sizeof units) goto out;
    char *files[] = {path};
    op *o = op_ext_scan(&q, &src, files, 1, ncols, NULL, names, types, units);
    for (;;) {
        arena_reset(q.ba);
        batch b;
        int got = o->next(o, &b, &e);
        if (got <= 0) break;
        check_batch(&b, 4096);
    }
    o->close(o);
out:
    arena_free(q.a);
    arena_free(q.ba);
    close(fd);
    return 0;
}
