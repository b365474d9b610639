/* Values, column vectors and batches: the currency between storage, the SQL executor and the
 * result encoders.
 *
 * A batch is a set of equally long column vectors. Vector memory belongs to whoever produced
 * the batch (normally the query's arena) and stays valid until the producer's next call or the
 * end of the query, whichever the producer's contract says. Strings are (pointer, length)
 * views and are not NUL-terminated. */
#ifndef STRATA_UTIL_TYPES_H
#define STRATA_UTIL_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Value types. The numbering is persisted (catalog, WAL, column files): append only. */
enum vtype {
    VT_NULL = 0, /* the type of a bare NULL literal */
    VT_BOOL = 1,
    VT_I64 = 2,      /* BIGINT */
    VT_U64 = 3,      /* BIGINT UNSIGNED */
    VT_F64 = 4,      /* DOUBLE */
    VT_STR = 5,      /* STRING */
    VT_TS = 6,       /* TIMESTAMP, unit in vec.unit */
    VT_INTERVAL = 7, /* month-day-nanosecond interval, expressions only */
    VT_DATE = 8,     /* days since 1970-01-01, expressions only */
    VT_DEC128 = 9,   /* Decimal128(p, s): external tables and expressions; (p, s) coded in the
                      * unit byte (util/dec.h) */
    VT_TIME64 = 10,  /* Time64(Nanosecond): nanoseconds since midnight, expressions only */
    VT_LIST = 11,    /* a list of one scalar type (util/vlist.h), expressions only */
    VT_STRUCT = 12,  /* named fields (util/vstruct.h); the unit byte is the shape's id;
                      * expressions only */
};

/* Timestamp units. Persisted: append only. */
enum tunit { TU_NS = 0, TU_US = 1, TU_MS = 2, TU_S = 3 };

/* The unit byte of a VT_I64 or VT_F64 value: NU_32 marks DataFusion's narrower Int32 or
 * Float32, still held in 64 bits. It only names and prints the value (arrow_typeof, messages,
 * `1.5707964`); producers keep it true: an Int32 holds Int32 values, a Float32 a float's. */
enum { NU_64 = 0, NU_32 = 1 };

/* The unit byte of a VT_STR value: SU_BINARY marks an Arrow Binary (ST_AsBinary's WKB), held as
 * its printed form, lower-case hex text, so it prints as DataFusion's clients print a Binary;
 * it only names the type (signatures take it as Binary, not Utf8; arrow_typeof says Binary). */
enum { SU_UTF8 = 0, SU_BINARY = 1 };

typedef struct strv {
    const char *p;
    uint32_t len;
} strv;

/* An interval as SQL keeps it: months and days are calendar units, nanos are exact. */
typedef struct interval {
    int32_t months;
    int32_t days;
    int64_t nanos;
} interval;

/* A Decimal128's 128-bit integer, in two halves so slots keep 8-byte alignment (util/dec.h). */
typedef struct dec128 {
    uint64_t lo;
    int64_t hi;
} dec128;

typedef struct value {
    uint8_t type; /* enum vtype */
    uint8_t unit; /* enum tunit, for VT_TS; the (p, s) code for VT_DEC128 */
    bool null;
    union {
        bool b;
        int64_t i; /* VT_I64, VT_TS, VT_DATE */
        uint64_t u;
        double f;
        strv s;
        interval iv;
        dec128 dec;
    } v;
} value;

/* A column of len values of one type.
 *
 * NULL-slot invariant: the data slot of a NULL row always holds a defined value of the type,
 * so any kernel may read it; it carries no meaning. It is either the type's zero (0, 0.0,
 * false, a zero interval; for VT_STR a zero-length view whose pointer is not NULL, e.g. "")
 * where the producer computed nothing for the row, or what a branch-free kernel computed from
 * its inputs' (equally defined) slots, e.g. `a < b` over two zeros. Hence: bools are 0 or 1
 * (UBSan checks every bool load), string views point at readable memory (never a NULL pointer
 * handed to memcmp/memcpy), and loops can run over every row and take validity from the
 * bitmaps. Producers that skip a NULL row write the zero (vec_set_null, vec_alloc_null and
 * vec_zero_nulls in util/vec.h). Storage hands NULL tag values to series predicates as
 * (NULL, 0) views, which the SQL layer turns into "" before a kernel sees them; in scan batches
 * the slots of NULL field values are unspecified (any bits are still a number, but not a bool
 * nor a string view), so the scan operator zeroes the NULL slots of BOOL and STRING columns.
 * Sanitizer builds verify the invariant on every vector an expression produces or reads. */
typedef struct vec {
    uint8_t type; /* enum vtype */
    uint8_t unit; /* enum tunit, for VT_TS; the (p, s) code for VT_DEC128 */
    bool has_tz;  /* VT_TS printed with a zone (now() and friends) */
    uint32_t len;
    /* Validity bitmap, bit i set = row i is not NULL; NULL pointer = no NULLs. */
    uint8_t *valid;
    union {
        bool *b;
        int64_t *i64;
        uint64_t *u64;
        double *f64;
        strv *s;
        interval *iv;
        dec128 *dec;
        void *raw;
    } d;
} vec;

typedef struct batch {
    uint32_t ncols;
    uint32_t nrows;
    vec *cols;
} batch;

/* Names and types of a result's columns. */
typedef struct rschema {
    uint32_t ncols;
    const char **names;
    uint8_t *types; /* enum vtype */
    uint8_t *units; /* enum tunit, for VT_TS */
    bool *has_tz;
} rschema;

static inline bool vec_is_valid(const vec *v, uint32_t i) {
    return !v->valid || (v->valid[i >> 3] >> (i & 7)) & 1;
}
static inline void bitmap_set(uint8_t *bm, uint32_t i) {
    bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}
static inline bool bitmap_get(const uint8_t *bm, uint32_t i) {
    return (bm[i >> 3] >> (i & 7)) & 1;
}
static inline void bitmap_clear(uint8_t *bm, uint32_t i) {
    bm[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}
static inline size_t bitmap_bytes(uint32_t n) {
    return ((size_t)n + 7) / 8;
}
/* Drops a validity bitmap whose first n bits are all set, so fast paths see "no NULLs". */
static inline void vec_compact_valid(vec *v, uint32_t n) {
    if (!v->valid) return;
    for (uint32_t i = 0; i < n / 8; i++)
        if (v->valid[i] != 0xff) return;
    for (uint32_t i = n & ~7u; i < n; i++)
        if (!((v->valid[i >> 3] >> (i & 7)) & 1)) return;
    v->valid = NULL;
}

/* Types whose slots are strv views of bytes held elsewhere (strings, lists, structs): what must
 * be copied with their bytes when a vector outlives its arena. */
static inline bool vtype_is_bytes(uint8_t t) {
    return t == VT_STR || t == VT_LIST || t == VT_STRUCT;
}

/* Bytes of one slot of a vector of type t (1 for VT_NULL). */
size_t vtype_size(uint8_t t);
/* BIGINT, BIGINT UNSIGNED or DOUBLE. */
bool vtype_numeric(uint8_t t);
/* Arrow's name of a type, as DataFusion's messages print it (Int64, Utf8, Float64, ...). */
const char *vtype_arrow_name(uint8_t t, uint8_t unit);
/* SQL name of a type as DESCRIBE shows it (BIGINT, BIGINT UNSIGNED, DOUBLE, STRING, BOOLEAN,
 * TIMESTAMP(NANOSECOND) ...). */
const char *vtype_sql_name(enum vtype t, enum tunit u);
/* Short storage name used in CnosDB's write errors: I64, U64, F64, BOOL, STRING. */
const char *vtype_short_name(enum vtype t);
/* Units per second of a timestamp unit (1e9, 1e6, 1e3, 1). */
int64_t tunit_per_sec(enum tunit u);

#endif
