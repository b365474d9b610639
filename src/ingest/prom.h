/* Prometheus' remote storage protocol: the bodies of /api/v1/prom/write and /api/v1/prom/read.
 *
 * Wire format: a body is a protobuf message (src/ingest/prom.proto, field numbers of
 * Prometheus' prompb remote.proto and types.proto) compressed with snappy's *block* format
 * (not the framed one of Content-Encoding: snappy). Decoding is bounded: the uncompressed
 * length snappy announces is checked against the caller's limit before anything is allocated
 * for it (413), so a small body cannot expand past the request size limit.
 *
 * Writes, as CnosDB maps them: every sample of a time series is a point of table = the value
 * of its `__name__` label (`prom_metric_not_specified` without one), tags = all its labels
 * (`__name__` included, as CnosDB keeps it), one DOUBLE field `value`, timestamp in
 * milliseconds. A label with an empty value is no label (Prometheus' own rule), so it makes
 * no tag. NaN values, the stale marker among them (a NaN with its own bit pattern,
 * PROM_STALE_NAN), are stored bit for bit, so a remote read gives back exactly what was
 * written and Prometheus still sees its staleness. Exemplars and metadata are ignored.
 *
 * Reads: a ReadRequest becomes plain structs (prom_query) for the read module
 * (sql/prom_read.h). The answer takes the first response type the request accepts, in its
 * order, as the protocol says (none listed = SAMPLES, what Prometheus 2.x sends): SAMPLES is
 * one ReadResponse; STREAMED_XOR_CHUNKS is a run of ChunkedReadResponse messages (the caller
 * frames them), one per series or part of a series, whose samples are in XOR chunks of at
 * most PROM_CHUNK_SAMPLES, encoded as Prometheus' TSDB encodes them (Gorilla: timestamps as
 * delta of deltas, values XORed with the previous one), so the bytes are the ones Prometheus
 * itself would send for the same samples in one chunk.
 *
 * Errors (CnosDB's codes): a body that is not snappy 422 010055, a message that does not
 * decode 422 010057, a label name given twice in one series 422 010057, a label that is not
 * UTF-8 422 040015 (as in line protocol), a label named `time` or `value` (the table's own
 * columns) 422 050014, sizes past the limit 413. All memory from the caller's
 * arena; thread safe. */
#ifndef STRATA_INGEST_PROM_H
#define STRATA_INGEST_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/point.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

#define EC_PROM_SNAPPY "010055"
#define EC_PROM_PROTO "010057"

/* Prometheus' stale marker: the NaN a series gets when it disappears from a scrape. */
#define PROM_STALE_NAN 0x7ff0000000000002ULL
/* The table of samples without a __name__ label (CnosDB's name). */
#define PROM_NO_METRIC "prom_metric_not_specified"

/* The snappy block at in[0..n) uncompressed into the arena (*out NUL-terminated, *out_len
 * bytes); 413 when its length would pass limit (0 = none), 422 010055 when it is not snappy. */
int prom_unsnappy(arena *a, const char *in, size_t n, uint64_t limit, char **out, size_t *out_len,
                  err *e);
/* in[0..n) compressed as a snappy block into out (replacing what it held). */
void prom_snappy(const char *in, size_t n, buf *out);

/* ---- writes ---- */
typedef struct prom_write prom_write;

/* Decodes an uncompressed WriteRequest into the arena (which the points will point into). */
int prom_write_decode(arena *a, const char *msg, size_t len, prom_write **out, err *e);
/* Appends the next up to max points (see point_cursor's *_next): 1 while more remain, 0 at the
 * end, -1 on an error. Timestamps are in milliseconds; point.line is the 1-based time series. */
int prom_write_next(prom_write *w, arena *a, point_batch *out, size_t max, err *e);
/* Samples in the request. */
size_t prom_write_samples(const prom_write *w);

/* ---- reads ---- */
enum prom_match { PROM_EQ = 0, PROM_NEQ = 1, PROM_RE = 2, PROM_NRE = 3 };

typedef struct prom_matcher {
    uint8_t type; /* enum prom_match */
    strv name, value;
} prom_matcher;

typedef struct prom_query {
    int64_t start_ms, end_ms; /* inclusive */
    prom_matcher *m;
    uint32_t nm;
} prom_query;

typedef struct prom_read_req {
    prom_query *q;
    uint32_t nq;
    bool chunked; /* answer with STREAMED_XOR_CHUNKS */
} prom_read_req;

/* Decodes an uncompressed ReadRequest into the arena; 400 when it accepts no type Strata
 * answers with. */
int prom_read_decode(arena *a, const char *msg, size_t len, prom_read_req *out, err *e);

typedef struct prom_label {
    strv name, value;
} prom_label;

typedef struct prom_sample {
    int64_t ts_ms;
    double v;
} prom_sample;

/* One series of an answer: labels sorted by name, samples in time order. */
typedef struct prom_series {
    prom_label *labels;
    uint32_t nlabels;
    size_t n;
    prom_sample *samples;
} prom_series;

typedef struct prom_result {
    prom_series *s;
    size_t n;
} prom_result;

/* The ReadResponse of res[0..n) (one per query, in order), uncompressed, into out (replacing
 * what it held). Scratch memory from the arena. */
void prom_read_encode(arena *a, const prom_result *res, size_t n, buf *out);

/* Samples per XOR chunk: Prometheus' TSDB cuts its chunks at this many. */
#define PROM_CHUNK_SAMPLES 120
/* Chunk bytes per ChunkedReadResponse before a series goes on in the next one (Prometheus'
 * default frame size). */
#define PROM_FRAME_BYTES (1u << 20)

/* s[0..n) (1 <= n <= 65535, in time order) as one XOR chunk, appended to out. */
void prom_xor_chunk(const prom_sample *s, size_t n, buf *out);
/* The STREAMED_XOR_CHUNKS answer to query number qi: emit(ctx, msg, len) for each
 * ChunkedReadResponse in order (msg valid during the call). Scratch memory from the arena. */
void prom_read_encode_chunked(arena *a, const prom_result *res, int64_t qi,
                              void (*emit)(void *ctx, const void *msg, size_t len), void *ctx);

#endif
