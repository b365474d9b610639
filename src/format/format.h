/* Result encoders: CSV, TSV, JSON, ND-JSON and the boxed table, as CnosDB's HTTP API writes
 * them (see ../shared/cnosdb-http-reference.md §9.3-9.6 and api-contract.md).
 *
 * An encoder is created for one result (its schema) and fed batches in order; each call appends
 * bytes to a caller-owned buffer, which the server sends as it likes (whole, or one HTTP chunk
 * per call when streaming). Concatenating everything the encoder appended is always one valid
 * document: CSV/TSV write the header once, JSON writes one array (`[]` for no rows), the table
 * buffers rows and draws its box at the end (or per batch when `chunked`, as CnosDB does).
 * An encoder is used by one thread at a time.
 *
 * Value text:
 *   CSV/TSV  timestamps `YYYY-MM-DDTHH:MM:SS.fffffffff` (+`+00:00` when the column has a zone),
 *            floats shortest round-trip with a `.` (`1.0`, `0.1`, `1.0e10`, `1.5e-7`, `NaN`,
 *            `inf`, `-inf`), NULL empty, quoting only when needed (`"` doubled).
 *   JSON     keys in column order, NULLs left out, timestamps as strings trimmed to 0/3/6/9
 *            fraction digits (`Z` when zoned), NaN/±inf left out, strings escaped.
 *   table    `+ - |` box, one space padding, left-aligned, values like JSON text (floats as
 *            CSV), NULL blank, no trailing newline. */
#ifndef STRATA_FORMAT_FORMAT_H
#define STRATA_FORMAT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/types.h"

enum fmt_kind { FMT_CSV = 0, FMT_TSV, FMT_JSON, FMT_NDJSON, FMT_TABLE };

/* Maps an Accept header value (NULL = absent) to a format. Accepted: absent, empty, `*` `/` `*`,
 * `application/` `*`, `{application,text}/{csv,tsv,json,nd-json,table}` (prefix case-sensitive,
 * suffix case-insensitive). Anything else fails with HTTP 400, code 040005 and CnosDB's message
 * `Invalid header: accept type not support: <value>`. */
int fmt_from_accept(const char *accept, enum fmt_kind *out, err *e);
const char *fmt_content_type(enum fmt_kind k);

typedef struct fmt_enc fmt_enc;

/* The schema (names and types) is copied. chunked=true makes the table format draw one box
 * per batch. */
fmt_enc *fmt_enc_new(enum fmt_kind k, const rschema *schema, bool chunked);
void fmt_enc_batch(fmt_enc *f, const batch *b, buf *out);
/* Rows encoded apart, so that another thread can encode a batch while this one writes the
 * document: after fmt_enc_rows_apart(f) returns true (every format but the table; call it
 * once, before other threads read f), fmt_enc_rows may run on any number of threads at once,
 * each appending the rows of its batch to its own buffer, and fmt_enc_append splices such a
 * text (nrows rows) into the document in order, interleaved with fmt_enc_batch as needed. */
bool fmt_enc_rows_apart(fmt_enc *f);
void fmt_enc_rows(const fmt_enc *f, const batch *b, buf *out);
void fmt_enc_append(fmt_enc *f, const char *text, size_t len, uint64_t nrows, buf *out);
/* Ends the document: header if no batch came (CSV/TSV/table), `]` or `[]` (JSON), the box. */
void fmt_enc_finish(fmt_enc *f, buf *out);
void fmt_enc_free(fmt_enc *f);
/* Bounds what the table format may hold and draw at once (its box pads each row to the widest
 * cell of the column). Past it the encoder stops appending and fmt_enc_error says so; the other
 * formats append about the size of their input and are bounded by their caller. 0 = none. */
void fmt_enc_set_limit(fmt_enc *f, size_t max_bytes);
/* -1 with e set (500, "Resources exhausted: ...") once a limit was passed, else 0. */
int fmt_enc_error(const fmt_enc *f, err *e);

/* Shortest text that reads back as exactly d, CnosDB style (`1.0`, `1.0e10`, `NaN`, `inf`).
 * out needs 32 bytes; returns the length. */
size_t fmt_double(char *out, double d);
/* The same for a Float32: its shortest float digits (`1.5707964`, `6.0e-6`). */
size_t fmt_float(char *out, float f);

#endif
