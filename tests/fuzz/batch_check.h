/* What every batch a fuzzed reader produces must hold: the NULL-slot invariant of util/types.h
 * (booleans 0 or 1, string views readable, NULL strings empty), valid UTF-8 in text columns,
 * and at most cap rows. Shared by the fuzz targets of the file readers. */
#ifndef STRATA_FUZZ_BATCH_CHECK_H
#define STRATA_FUZZ_BATCH_CHECK_H

#include <stdlib.h>

#include "util/types.h"
#include "util/utf8.h"

static void check_batch(const batch *b, uint32_t cap) {
    if (b->nrows == 0 || b->nrows > cap) abort();
    for (uint32_t c = 0; c < b->ncols; c++) {
        const vec *v = &b->cols[c];
        if (v->len != b->nrows) abort();
        for (uint32_t i = 0; i < v->len; i++) {
            if (v->type == VT_BOOL && *(const uint8_t *)&v->d.b[i] > 1) abort();
            if (v->type == VT_STR) {
                if (!v->d.s[i].p) abort();
                if (vec_is_valid(v, i) && !utf8_valid(v->d.s[i].p, v->d.s[i].len, NULL)) abort();
                if (!vec_is_valid(v, i) && v->d.s[i].len) abort();
            }
        }
    }
}

#endif
