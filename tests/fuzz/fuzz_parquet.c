/* libFuzzer target for the Parquet reader (src/parquet/): footer, schema, page headers, codecs
 * and encodings over untrusted bytes. The first input byte chooses how the columns are read
 * (bit 0: as their own types, else every numeric one as DOUBLE and timestamps in seconds; bit 1:
 * batches of 7 rows instead of 4096); the rest is the file. Besides "no crash, no leak, no
 * out-of-bounds read", every batch must hold the NULL-slot invariant of util/types.h (booleans 0
 * or 1, string views readable) and text columns valid UTF-8.
 *
 * Seeds: any Parquet files (tests/http/test_parquet.py's DuckDB fixtures, COPY INTO outputs),
 * each prefixed with one byte, in corpus-parquet/.
 *
 *   make -C tests/fuzz fuzz_parquet && tests/fuzz/fuzz_parquet -max_total_time=60 corpus-parquet */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"

#include "batch_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bool own = data[0] & 1;
    uint32_t cap = (data[0] & 2) ? 7 : 4096;
    err e = {0};
    pq_file *f;
    if (pq_open_mem(data + 1, size - 1, "fuzz", &f, &e) < 0) return 0;
    uint32_t n = pq_ncols(f), k = 0;
    int *cols = malloc(sizeof *cols * (n + 1));
    uint8_t *vts = malloc(n + 1), *units = malloc(n + 1);
    for (uint32_t c = 0; c < n; c++) {
        const pq_col_info *ci = pq_col(f, c);
        if (ci->unsupported) continue;
        cols[k] = (int)c;
        vts[k] = ci->vt;
        units[k] = ci->unit;
        if (!own && (ci->vt == VT_I64 || ci->vt == VT_U64 || ci->vt == VT_DEC128)) {
            vts[k] = VT_F64;
            units[k] = 0;
        }
        if (!own && ci->vt == VT_TS) units[k] = TU_S;
        k++;
    }
    arena *a = arena_new(0);
    if (pq_select(f, k, cols, vts, units, &e) == 0) {
        batch b;
        while (pq_next(f, a, cap, &b, &e) > 0) {
            check_batch(&b, cap);
            arena_reset(a);
        }
    }
    arena_free(a);
    free(cols);
    free(vts);
    free(units);
    pq_close(f);
    return 0;
}
