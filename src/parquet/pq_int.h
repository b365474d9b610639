/* Internals of the Parquet module shared by its files: the Thrift compact protocol, the value
 * encodings, the page codecs and the format's enumerations (numbers from the Parquet format
 * specification, parquet.thrift). Not for use outside src/parquet/. */
#ifndef STRATA_PARQUET_PQ_INT_H
#define STRATA_PARQUET_PQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Physical types. */
enum { PT_BOOLEAN = 0, PT_INT32, PT_INT64, PT_INT96, PT_FLOAT, PT_DOUBLE, PT_BYTE_ARRAY, PT_FLBA };
/* Repetition. */
enum { REP_REQUIRED = 0, REP_OPTIONAL, REP_REPEATED };
/* Converted (legacy) types. */
enum {
    CT_UTF8 = 0,
    CT_MAP = 1,
    CT_LIST = 3,
    CT_ENUM = 4,
    CT_DECIMAL = 5,
    CT_DATE = 6,
    CT_TIME_MILLIS = 7,
    CT_TIME_MICROS = 8,
    CT_TIMESTAMP_MILLIS = 9,
    CT_TIMESTAMP_MICROS = 10,
    CT_UINT_8 = 11,
    CT_UINT_16 = 12,
    CT_UINT_32 = 13,
    CT_UINT_64 = 14,
    CT_INT_8 = 15,
    CT_INT_16 = 16,
    CT_INT_32 = 17,
    CT_INT_64 = 18,
    CT_JSON = 19,
    CT_BSON = 20,
    CT_INTERVAL = 21,
};
/* Encodings. */
enum {
    ENC_PLAIN = 0,
    ENC_PLAIN_DICTIONARY = 2,
    ENC_RLE = 3,
    ENC_BIT_PACKED = 4,
    ENC_DELTA_BINARY_PACKED = 5,
    ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    ENC_DELTA_BYTE_ARRAY = 7,
    ENC_RLE_DICTIONARY = 8,
    ENC_BYTE_STREAM_SPLIT = 9,
};
/* Page types. */
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };
/* Compression codecs. */
enum {
    CODEC_UNCOMPRESSED = 0,
    CODEC_SNAPPY = 1,
    CODEC_GZIP = 2,
    CODEC_LZO = 3,
    CODEC_BROTLI = 4,
    CODEC_LZ4 = 5,
    CODEC_ZSTD = 6,
    CODEC_LZ4_RAW = 7,
};

/* ------------------------------------------------------------------ thrift compact protocol */

/* Compact protocol element types. */
enum {
    TT_STOP = 0,
    TT_TRUE = 1,
    TT_FALSE = 2,
    TT_BYTE = 3,
    TT_I16 = 4,
    TT_I32 = 5,
    TT_I64 = 6,
    TT_DOUBLE = 7,
    TT_BINARY = 8,
    TT_LIST = 9,
    TT_SET = 10,
    TT_MAP = 11,
    TT_STRUCT = 12,
};

#define TC_MAX_DEPTH 32

/* A reader over p[0..end): errors are sticky (bad = true) and every read then yields zero, so
 * callers check once at the end of a structure. */
typedef struct tc_reader {
    const uint8_t *p, *end;
    bool bad;
    int depth;
    int16_t last[TC_MAX_DEPTH];
    int8_t bool_val; /* a struct field's bool, carried in its header: -1 none */
} tc_reader;

void tc_init(tc_reader *r, const void *p, size_t n);
void tc_struct_begin(tc_reader *r);
void tc_struct_end(tc_reader *r);
/* Next field of the current struct: false at its end (or on error). */
bool tc_field(tc_reader *r, int *type, int *id);
int64_t tc_i64(tc_reader *r); /* I16, I32 and I64 alike (zigzag varint) */
int32_t tc_i32(tc_reader *r);
bool tc_bool(tc_reader *r, int type); /* a field's bool (type from tc_field) */
int8_t tc_byte(tc_reader *r);
/* A binary or string: its bytes stay in the input. */
const uint8_t *tc_binary(tc_reader *r, uint32_t *len);
/* A list or set header: element count and type; the count is checked against the bytes left
 * (every element takes at least one byte). */
uint32_t tc_list(tc_reader *r, int *elem_type);
bool tc_list_bool(tc_reader *r); /* a bool element of a list */
/* Skips a value of the given type (structs, lists and maps to TC_MAX_DEPTH). */
void tc_skip(tc_reader *r, int type);

/* A writer into a buf. */
typedef struct tc_writer {
    buf *b;
    int depth;
    int16_t last[TC_MAX_DEPTH];
} tc_writer;

void tcw_init(tc_writer *w, buf *b);
void tcw_struct_begin(tc_writer *w);
void tcw_struct_end(tc_writer *w); /* writes the stop byte */
void tcw_field(tc_writer *w, int type, int id);
void tcw_i32(tc_writer *w, int id, int32_t v);
void tcw_i64(tc_writer *w, int id, int64_t v);
void tcw_bool(tc_writer *w, int id, bool v);
void tcw_binary(tc_writer *w, int id, const void *p, uint32_t n);
void tcw_list(tc_writer *w, int id, int elem_type, uint32_t n);
void tcw_varint(tc_writer *w, uint64_t v);
void tcw_zigzag(tc_writer *w, int64_t v);
/* An empty struct field (the unit structs of LogicalType). */
void tcw_empty_struct(tc_writer *w, int id);

/* ------------------------------------------------------------------ encodings */

/* The RLE / bit-packed hybrid, as definition levels and dictionary indexes use it. */
typedef struct rle_dec {
    const uint8_t *p, *end;
    int width;
    uint32_t run_left; /* values left in the current run */
    bool packed;       /* the current run is bit-packed */
    uint64_t rle_val;
    uint64_t bitpos; /* packed runs: bit offset of the next value from p0 */
    const uint8_t *p0;
} rle_dec;

void rle_init(rle_dec *d, const uint8_t *p, size_t n, int width);
/* Next value into *v: false when the data ends (or is damaged). */
bool rle_next(rle_dec *d, uint32_t *v);

/* Encodes n values of bit width `width` (1..32) into b as the hybrid (no length prefix). */
void rle_encode(buf *b, const uint32_t *v, uint32_t n, int width);

/* DELTA_BINARY_PACKED reader over p[0..n). */
typedef struct delta_dec {
    const uint8_t *p, *end;
    uint64_t block_size, nmini, total, done;
    int64_t last;
    int64_t min_delta;
    uint32_t mini_vals, mini_idx, in_mini;
    const uint8_t *widths; /* the block's bit widths */
    const uint8_t *mini_p; /* the current miniblock's packed bits */
    int width;
    bool bad;
} delta_dec;

/* Starts the decoder; false if the header is damaged. */
bool delta_init(delta_dec *d, const uint8_t *p, size_t n);
bool delta_next(delta_dec *d, int64_t *v);
/* Where the encoded values end (after all of them were read): DELTA_LENGTH_BYTE_ARRAY's bytes
 * follow there. */
const uint8_t *delta_end(delta_dec *d);

/* Bits needed for v (0 for 0). */
int pq_bit_width(uint64_t v);

/* ------------------------------------------------------------------ codecs */

/* Decompresses in[0..n) of codec into out[0..out_len), which must come out exactly. */
int pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t out_len, err *e);
/* Compresses in[0..n) with codec, appending to b. */
int pq_compress(int codec, const uint8_t *in, size_t n, buf *b, err *e);
const char *pq_codec_name(int codec);

/* DataFusion's words in front of a reader's error, as ext_read.c's errors have them. */
#define PQ_ERR "Datafusion: External error: Parquet error: "

/* ------------------------------------------------------------------ the reader's file */

#include "parquet/parquet.h"
#include "util/arena.h"

/* What a column's values are, before conversion to what pq_select asked for. */
enum src_kind {
    SK_NONE = 0, /* unsupported */
    SK_BOOL,
    SK_INT,  /* signed integer in raw.i */
    SK_UINT, /* unsigned: INT64 as uint64, INT32 zero-extended */
    SK_FLOAT,
    SK_STR,
    SK_BIN, /* bytes shown as hex */
    SK_DATE,
    SK_TS,  /* raw.i in ts_unit (enum tunit); INT96 decoded to nanoseconds */
    SK_DEC, /* raw.i (INT32/INT64) or big-endian bytes raw.s, scale dec_s */
};

typedef struct pq_field {
    pq_col_info info;
    int leaf;         /* index of its column chunk in a row group */
    int ptype;        /* physical type */
    int type_length;  /* FIXED_LEN_BYTE_ARRAY */
    int max_def;      /* 1 for OPTIONAL, 0 for REQUIRED */
    uint8_t kind;     /* enum src_kind */
    uint8_t ts_unit;  /* SK_TS */
    int dec_p, dec_s; /* SK_DEC */
} pq_field;

typedef struct pq_chunk {
    int codec;
    int ptype;
    int64_t start, end; /* byte range of its pages */
    int64_t num_values;
} pq_chunk;

typedef struct pq_rg {
    int64_t nrows;
    pq_chunk *chunks; /* one per leaf */
} pq_rg;

struct pq_colread; /* below */

struct pq_file {
    const char *path;
    int fd;             /* -1 for memory */
    const uint8_t *mem; /* the bytes, when opened in memory */
    uint64_t size;
    arena *a; /* metadata */
    uint32_t ncols, nleaves, nrg;
    pq_field *cols;
    pq_rg *rgs;
    uint64_t nrows;
    /* reading */
    uint32_t nsel;
    struct pq_colread *sel;
    uint32_t rg; /* the row group being read */
    int64_t rg_left;
    bool rg_open;
};

/* Parses the footer of f (size, fd or mem and path set) into its columns and row groups. */
int pq_parse_meta(pq_file *f, err *e);
/* n bytes at off into dst: an error if they are not all in the file. */
int pq_pread(pq_file *f, uint64_t off, size_t n, uint8_t *dst, err *e);
/* The error for a damaged file, naming it. */
int pq_damaged(const pq_file *f, const char *what, err *e);

/* A value as a page holds it, before conversion. */
typedef struct pq_raw {
    int64_t i;
    double f;
    strv s;
} pq_raw;

/* A selected column's cursor in its column chunk (pq_page.c moves it). */
struct pq_colread {
    int field; /* -1: all NULL */
    const pq_field *fl;
    uint8_t vt, unit; /* what it is read as */
    const pq_chunk *ch;
    int64_t pos, values_read;
    uint8_t *comp, *page, *dict;
    size_t comp_cap, page_cap, dict_cap;
    /* the dictionary: ndict values PLAIN-encoded in dict (dview for BYTE_ARRAY) */
    bool has_dict;
    uint32_t ndict;
    strv *dview;
    /* the current data page */
    uint32_t page_left;
    bool has_defs;
    rle_dec defs;
    int enc;
    const uint8_t *vp, *vend;
    rle_dec idx;
    delta_dec dd, dd2;
    const uint8_t *bytes;
    buf prev;
    uint64_t bitpos;
    uint64_t bss_n, bss_k;
};

/* The error for a damaged page or value of column c. */
int pq_col_damaged(pq_file *f, const struct pq_colread *c, const char *what, err *e);
/* Reads pages until a data page with values is c's current one. */
int pq_load_page(pq_file *f, struct pq_colread *c, err *e);
/* The current page's next non-NULL value: false if it has no more. */
bool pq_next_value(struct pq_colread *c, pq_raw *out);

#endif
