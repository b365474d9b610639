/* libFuzzer target for the ingestion parsers (line protocol, and OpenTSDB text and JSON when
 * the first input byte selects them). Besides "no crash, no leak, no out-of-bounds read", it
 * checks what every accepted body must satisfy: tags and fields strictly sorted by key (so
 * de-duplicated), no empty or reserved `time` key, non-empty table, valid field types, and a
 * batch left untouched by a failed parse.
 *
 *   clang -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_lp.c src/ingest/point.c src/ingest/point_scan.c src/ingest/lp.c \
 *     src/ingest/opentsdb.c src/util/arena.c src/util/mem.c src/util/err.c -ljansson -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/lp.h"
#include "ingest/opentsdb.h"
#include "ingest/point.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int key_cmp(strv a, strv b) {
    uint32_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int is_time(strv k) {
    return k.len == 4 && !memcmp(k.p, "time", 4);
}

static void check_point(const point *p) {
    if (p->table.len == 0) abort();
    for (uint32_t i = 0; i < p->ntags; i++) {
        if (p->tags[i].key.len == 0 || p->tags[i].val.len == 0 || is_time(p->tags[i].key)) abort();
        if (i && key_cmp(p->tags[i - 1].key, p->tags[i].key) >= 0) abort();
    }
    if (p->nfields == 0) abort();
    for (uint32_t i = 0; i < p->nfields; i++) {
        const pt_field *f = &p->fields[i];
        if (f->key.len == 0 || is_time(f->key)) abort();
        if (i && key_cmp(p->fields[i - 1].key, f->key) >= 0) abort();
        switch (f->type) {
        case VT_F64:
            if (f->v.f != f->v.f || f->v.f - f->v.f != 0) abort(); /* NaN or infinity */
            break;
        case VT_STR: { /* touch every byte so ASan sees a bad view */
            volatile unsigned sum = 0;
            for (uint32_t k = 0; k < f->v.s.len; k++) sum += (unsigned char)f->v.s.p[k];
            (void)sum;
            break;
        }
        case VT_I64:
        case VT_U64:
        case VT_BOOL:
            break;
        default:
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int mode = 0;
    if (size && data[0] < 3) {
        mode = data[0];
        data++, size--;
    }
    /* An exact-size heap copy, so any read past the body's end is caught. */
    char *body = malloc(size ? size : 1);
    if (size) memcpy(body, data, size);
    arena *a = arena_new(0);
    point_batch b = {0};
    point_batch_push(a, &b); /* a point from "earlier", which a failure must leave alone */
    err e;
    int rc = mode == 0   ? lp_parse(a, body, size, &b, &e)
             : mode == 1 ? tsdb_parse_text(a, body, size, &b, &e)
                         : tsdb_parse_json(a, body, size, &b, &e);
    if (rc == 0) {
        for (size_t i = 1; i < b.n; i++) check_point(&b.pts[i]);
    } else if (rc != -1 || b.n != 1 || (e.http != 400 && e.http != 422) || !e.msg[0]) {
        abort();
    }
    /* A slice at a time (1 to 3 points) must give the same points and the same verdict. */
    point_cursor cur;
    point_cursor_init(&cur, body, size);
    size_t max = 1 + size % 3, total = 1;
    int src;
    err se;
    do {
        point_batch sb = {0};
        src = mode == 0   ? lp_next(&cur, a, &sb, max, &se)
              : mode == 1 ? tsdb_text_next(&cur, a, &sb, max, &se)
                          : tsdb_json_next(&cur, a, &sb, max, &se);
        if (sb.n > max) abort();
        for (size_t i = 0; rc == 0 && i < sb.n; i++)
            if (total + i >= b.n || sb.pts[i].line != b.pts[total + i].line) abort();
        total += sb.n;
    } while (src > 0);
    if ((src < 0) != (rc < 0)) abort();
    if (rc == 0 && total != b.n) abort();
    if (rc < 0 && strcmp(se.msg, e.msg) != 0) abort();
    arena_free(a);
    free(body);
    return 0;
}
