/* Parsed points: what every ingestion format (line protocol, OpenTSDB text and JSON, SQL
 * INSERT) produces and the write path consumes.
 *
 * All memory (the arrays and any unescaped strings) comes from the caller's arena; names and
 * string values otherwise point into the request body, which must outlive the batch. Tags and
 * fields of a point are sorted by key (bytewise), so two spellings of one series give the
 * same tag list. As InfluxDB does, a field key given twice in one point keeps its last value,
 * and a tag key given twice is an error (which value names the series is not knowable). */
#ifndef STRATA_INGEST_POINT_H
#define STRATA_INGEST_POINT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/types.h"

typedef struct pt_tag {
    strv key, val;
} pt_tag;

typedef struct pt_field {
    strv key;
    uint8_t type; /* VT_F64, VT_I64, VT_U64, VT_BOOL, VT_STR */
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        strv s;
    } v;
} pt_field;

typedef struct point {
    strv table;
    pt_tag *tags;
    pt_field *fields;
    uint32_t ntags, nfields;
    bool has_ts;
    int64_t ts;    /* in the request's precision; meaningless when !has_ts */
    uint32_t line; /* 1-based line (or array element) in the request, for errors */
} point;

typedef struct point_batch {
    point *pts;
    size_t n, cap;
} point_batch;

/* Where a resumable parse of a body stands. The parsers' *_next functions append up to `max`
 * points per call, so a large body can be parsed and written a slice at a time with only one
 * slice of points in memory; each returns 1 while the body holds more, 0 at its end, -1 on an
 * error (that call's points are dropped; the request is refused whole). Names and values still
 * point into the body, which must outlive every slice. */
typedef struct point_cursor {
    const char *body, *end, *p;
    uint32_t line; /* line (JSON: element) at p, 1-based */
    int state;     /* 0 before the first call; the parser's own after */
} point_cursor;

void point_cursor_init(point_cursor *c, const char *body, size_t len);

/* Appends a zeroed point slot to the batch (grown in the arena) and returns it. */
point *point_batch_push(arena *a, point_batch *b);
/* Sorts tags and fields by key (bytewise) and keeps the last of duplicate field keys.
 * Returns 0, or 1 + the index of a tag whose key repeats the one before it (tags are then
 * sorted but not de-duplicated). */
uint32_t point_normalize(point *p);

#endif
