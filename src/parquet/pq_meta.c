/* A Parquet file's frame and footer: `PAR1`, the column chunks, the FileMetaData (Thrift
 * compact), its 4-byte little-endian length, `PAR1`. The schema elements are mapped to Strata
 * types (parquet.h), the row groups' column chunks to byte ranges checked against the file.
 * Everything is allocated in the file's arena, in amounts bounded by the footer's length (a
 * list's count is checked against the bytes left before anything is allocated for it). */
#include "parquet/pq_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/dec.h"

/* Longest footer accepted: far above what real files carry, small enough to read whole. */
#define META_MAX (256u << 20)

int pq_damaged(const pq_file *f, const char *what, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, PQ_ERR "%s: %s", what, f->path);
}

int pq_pread(pq_file *f, uint64_t off, size_t n, uint8_t *dst, err *e) {
    if (off > f->size || n > f->size - off)
        return pq_damaged(f, "a range past the end of the file", e);
    if (f->mem) {
        if (n) memcpy(dst, f->mem + off, n);
        return 0;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return err_set(e, 422, EC_QUERY_INTERNAL, PQ_ERR "cannot read %s: %s", f->path,
                           r < 0 ? strerror(errno) : "file shorter than it was");
        got += (size_t)r;
    }
    return 0;
}

/* One schema element as the footer gives it. */
struct sel {
    const char *name;
    int type; /* -1: a group */
    int type_length;
    int rep;
    int nchild;
    int conv; /* -1: none */
    int scale, precision;
    int lt;         /* LogicalType's field id, 0 none */
    int lt_unit;    /* TIME/TIMESTAMP: 1 millis, 2 micros, 3 nanos */
    bool lt_utc;    /* TIME/TIMESTAMP */
    int lt_bits;    /* INTEGER */
    bool lt_signed; /* INTEGER */
    int lt_p, lt_s; /* DECIMAL */
};

static void parse_time_unit(tc_reader *r, int *unit) {
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (t == TT_STRUCT && id >= 1 && id <= 3) *unit = id;
        tc_skip(r, t);
    }
    tc_struct_end(r);
}

static void parse_logical(tc_reader *r, struct sel *s) {
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (t != TT_STRUCT) {
            tc_skip(r, t);
            continue;
        }
        s->lt = id;
        tc_struct_begin(r);
        int t2, id2;
        while (tc_field(r, &t2, &id2)) {
            if (id == 5 && id2 == 1 && t2 == TT_I32)
                s->lt_s = tc_i32(r);
            else if (id == 5 && id2 == 2 && t2 == TT_I32)
                s->lt_p = tc_i32(r);
            else if ((id == 7 || id == 8) && id2 == 1 && (t2 == TT_TRUE || t2 == TT_FALSE))
                s->lt_utc = tc_bool(r, t2);
            else if ((id == 7 || id == 8) && id2 == 2 && t2 == TT_STRUCT)
                parse_time_unit(r, &s->lt_unit);
            else if (id == 10 && id2 == 1 && t2 == TT_BYTE)
                s->lt_bits = tc_byte(r);
            else if (id == 10 && id2 == 2 && (t2 == TT_TRUE || t2 == TT_FALSE))
                s->lt_signed = tc_bool(r, t2);
            else
                tc_skip(r, t2);
        }
        tc_struct_end(r);
    }
    tc_struct_end(r);
}

static void parse_sel(tc_reader *r, arena *a, struct sel *s) {
    memset(s, 0, sizeof *s);
    s->type = -1;
    s->conv = -1;
    s->name = "";
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (id == 1 && t == TT_I32) {
            s->type = tc_i32(r);
        } else if (id == 2 && t == TT_I32) {
            s->type_length = tc_i32(r);
        } else if (id == 3 && t == TT_I32) {
            s->rep = tc_i32(r);
        } else if (id == 4 && t == TT_BINARY) {
            uint32_t n;
            const uint8_t *p = tc_binary(r, &n);
            s->name = arena_strndup(a, (const char *)p, n);
        } else if (id == 5 && t == TT_I32) {
            s->nchild = tc_i32(r);
        } else if (id == 6 && t == TT_I32) {
            s->conv = tc_i32(r);
        } else if (id == 7 && t == TT_I32) {
            s->scale = tc_i32(r);
        } else if (id == 8 && t == TT_I32) {
            s->precision = tc_i32(r);
        } else if (id == 10 && t == TT_STRUCT) {
            parse_logical(r, s);
        } else {
            tc_skip(r, t);
        }
    }
    tc_struct_end(r);
}

/* A raw column chunk before it is checked. */
struct rchunk {
    int type, codec;
    bool has_meta, ext_file;
    int64_t num_values, comp_size, data_off, dict_off;
};

static void parse_colmeta(tc_reader *r, struct rchunk *c) {
    tc_struct_begin(r);
    int t, id;
    c->has_meta = true;
    while (tc_field(r, &t, &id)) {
        if (id == 1 && t == TT_I32)
            c->type = tc_i32(r);
        else if (id == 4 && t == TT_I32)
            c->codec = tc_i32(r);
        else if (id == 5 && t == TT_I64)
            c->num_values = tc_i64(r);
        else if (id == 7 && t == TT_I64)
            c->comp_size = tc_i64(r);
        else if (id == 9 && t == TT_I64)
            c->data_off = tc_i64(r);
        else if (id == 11 && t == TT_I64)
            c->dict_off = tc_i64(r);
        else
            tc_skip(r, t);
    }
    tc_struct_end(r);
}

static void parse_chunk(tc_reader *r, struct rchunk *c) {
    memset(c, 0, sizeof *c);
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (id == 1 && t == TT_BINARY) {
            uint32_t n;
            tc_binary(r, &n);
            c->ext_file = true;
        } else if (id == 3 && t == TT_STRUCT) {
            parse_colmeta(r, c);
        } else {
            tc_skip(r, t);
        }
    }
    tc_struct_end(r);
}

struct rrg {
    int64_t nrows;
    uint32_t nchunks;
    struct rchunk *chunks;
};

static void parse_rg(tc_reader *r, arena *a, struct rrg *g) {
    memset(g, 0, sizeof *g);
    tc_struct_begin(r);
    int t, id;
    while (tc_field(r, &t, &id)) {
        if (id == 1 && t == TT_LIST && !g->chunks) {
            int et;
            uint32_t n = tc_list(r, &et);
            if (et != TT_STRUCT) {
                r->bad = true;
                break;
            }
            g->chunks = arena_alloc(a, sizeof *g->chunks * (n + 1));
            g->nchunks = n;
            for (uint32_t i = 0; i < n && !r->bad; i++) parse_chunk(r, &g->chunks[i]);
        } else if (id == 3 && t == TT_I64) {
            g->nrows = tc_i64(r);
        } else {
            tc_skip(r, t);
        }
    }
    tc_struct_end(r);
}

/* Leaves under the subtree of els[*i] (advancing *i past it); -1 if the tree is damaged. */
static int64_t subtree_leaves(const struct sel *els, uint32_t n, uint32_t *i, int depth) {
    if (*i >= n || depth > 64) return -1;
    const struct sel *s = &els[(*i)++];
    if (s->nchild <= 0) return 1;
    int64_t leaves = 0;
    for (int c = 0; c < s->nchild; c++) {
        int64_t l = subtree_leaves(els, n, i, depth + 1);
        if (l < 0) return -1;
        leaves += l;
    }
    return leaves;
}

static const char *int_arrow(bool sgn, int bits) {
    static const char *const s[] = {"Int8", "Int16", "Int32", "Int64"};
    static const char *const u[] = {"UInt8", "UInt16", "UInt32", "UInt64"};
    int k = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
    return sgn ? s[k] : u[k];
}

static void set_type(pq_field *f, uint8_t kind, uint8_t vt, uint8_t unit, const char *arrow) {
    f->kind = kind;
    f->info.vt = vt;
    f->info.unit = unit;
    f->info.arrow = arrow;
}

/* The Strata type of a primitive column from its physical type and annotations. */
static void map_type(arena *a, const struct sel *s, pq_field *f) {
    pq_col_info *ci = &f->info;
    int pt = s->type, lt = s->lt, cv = s->conv;
    bool bytes = pt == PT_BYTE_ARRAY || pt == PT_FLBA;
    ci->unit = 0;
    if (lt == 1 || lt == 4 || lt == 12 || cv == CT_UTF8 || cv == CT_ENUM || cv == CT_JSON) {
        if (!bytes) goto bad;
        set_type(f, SK_STR, VT_STR, 0, "Utf8");
        return;
    }
    if (lt == 5 || cv == CT_DECIMAL) {
        int p = lt == 5 ? s->lt_p : s->precision, sc = lt == 5 ? s->lt_s : s->scale;
        int code = p >= 1 && p <= 38 && sc >= 0 && sc <= p ? dec_code(p, sc) : -1;
        if (code < 0 || !(pt == PT_INT32 || pt == PT_INT64 || bytes) ||
            (pt == PT_FLBA && (s->type_length < 1 || s->type_length > 16))) {
            ci->unsupported =
                arena_printf(a, "DECIMAL(%d, %d) over %s", p, sc,
                             pt == PT_FLBA ? "a wide FIXED_LEN_BYTE_ARRAY" : "this type");
            return;
        }
        f->dec_p = p;
        f->dec_s = sc;
        set_type(f, SK_DEC, VT_DEC128, (uint8_t)code, dec_arrow_name((uint8_t)code));
        return;
    }
    if (lt == 6 || cv == CT_DATE) {
        if (pt != PT_INT32) goto bad;
        set_type(f, SK_DATE, VT_DATE, 0, "Date32");
        return;
    }
    if (lt == 8 || cv == CT_TIMESTAMP_MILLIS || cv == CT_TIMESTAMP_MICROS) {
        int u = lt == 8 ? s->lt_unit : cv == CT_TIMESTAMP_MILLIS ? 1 : 2;
        if (pt != PT_INT64 || u < 1 || u > 3) goto bad;
        static const char *const names[] = {"Nanosecond", "Microsecond", "Millisecond"};
        f->ts_unit = u == 1 ? TU_MS : u == 2 ? TU_US : TU_NS;
        set_type(f, SK_TS, VT_TS, f->ts_unit,
                 arena_printf(a, "Timestamp(%s, %s)", names[f->ts_unit],
                              lt == 8 && s->lt_utc ? "Some(\"UTC\")" : "None"));
        return;
    }
    if (pt == PT_INT96 && lt == 0 && cv < 0) {
        f->ts_unit = TU_NS;
        set_type(f, SK_TS, VT_TS, TU_NS, "Timestamp(Nanosecond, None)");
        return;
    }
    if (lt == 10 || (cv >= CT_UINT_8 && cv <= CT_INT_64)) {
        int bits = lt == 10 ? s->lt_bits : 8 << ((cv - CT_UINT_8) % 4);
        bool sgn = lt == 10 ? s->lt_signed : cv >= CT_INT_8;
        if (!(pt == PT_INT32 && bits <= 32) && !(pt == PT_INT64 && bits == 64)) goto bad;
        if (bits != 8 && bits != 16 && bits != 32 && bits != 64) goto bad;
        set_type(f, sgn ? SK_INT : SK_UINT, sgn ? VT_I64 : VT_U64, sgn && bits == 32 ? NU_32 : 0,
                 int_arrow(sgn, bits));
        return;
    }
    if (lt || cv >= 0) {
        static const char *const lts[] = {
            "",          "STRING", "MAP",     "LIST", "ENUM", "DECIMAL", "DATE", "TIME",
            "TIMESTAMP", "",       "INTEGER", "NULL", "JSON", "BSON",    "UUID", "FLOAT16"};
        ci->unsupported = lt > 0 && lt < 16 ? arena_printf(a, "the logical type %s", lts[lt])
                                            : arena_printf(a, "the converted type %d", cv);
        return;
    }
    switch (pt) {
    case PT_BOOLEAN:
        set_type(f, SK_BOOL, VT_BOOL, 0, "Boolean");
        return;
    case PT_INT32:
    case PT_INT64:
        set_type(f, SK_INT, VT_I64, pt == PT_INT32 ? NU_32 : 0, pt == PT_INT32 ? "Int32" : "Int64");
        return;
    case PT_FLOAT:
    case PT_DOUBLE:
        set_type(f, SK_FLOAT, VT_F64, pt == PT_FLOAT ? NU_32 : 0,
                 pt == PT_FLOAT ? "Float32" : "Float64");
        return;
    case PT_BYTE_ARRAY:
    case PT_FLBA:
        set_type(f, SK_BIN, VT_STR, 0,
                 pt == PT_BYTE_ARRAY ? "Binary"
                                     : arena_printf(a, "FixedSizeBinary(%d)", s->type_length));
        return;
    default:
        break;
    }
bad:
    ci->unsupported = arena_printf(a, "an annotation its physical type %d does not allow", pt);
}

/* Columns from the schema elements: top-level primitives, the rest listed as unsupported. */
static int map_schema(pq_file *f, const struct sel *els, uint32_t n, err *e) {
    if (n == 0 || els[0].nchild < 0) return pq_damaged(f, "no schema", e);
    uint32_t top = (uint32_t)els[0].nchild;
    if (top > n) return pq_damaged(f, "a damaged schema", e);
    f->cols = arena_calloc(f->a, sizeof *f->cols * (top + 1));
    f->ncols = top;
    uint32_t i = 1;
    int64_t leaves = 0;
    for (uint32_t c = 0; c < top; c++) {
        if (i >= n) return pq_damaged(f, "a damaged schema", e);
        const struct sel *s = &els[i];
        pq_field *fl = &f->cols[c];
        fl->info.name = s->name;
        fl->info.nullable = s->rep != REP_REQUIRED;
        fl->info.vt = VT_NULL;
        fl->leaf = (int)leaves;
        fl->ptype = s->type;
        fl->type_length = s->type_length;
        fl->max_def = s->rep == REP_OPTIONAL ? 1 : 0;
        int64_t l = subtree_leaves(els, n, &i, 0);
        if (l < 0) return pq_damaged(f, "a damaged schema", e);
        leaves += l;
        if (leaves > INT32_MAX) return pq_damaged(f, "a damaged schema", e);
        if (s->nchild > 0 || s->rep == REP_REPEATED) {
            fl->info.unsupported = "a nested column";
            fl->info.arrow = "nested";
            continue;
        }
        if (s->type < 0 || s->type > PT_FLBA) return pq_damaged(f, "a damaged schema", e);
        if (s->type == PT_FLBA && (s->type_length < 1 || s->type_length > (1 << 24)))
            return pq_damaged(f, "a damaged schema", e);
        map_type(f->a, s, fl);
        if (fl->info.unsupported) {
            fl->info.vt = VT_NULL;
            fl->kind = SK_NONE;
            if (!fl->info.arrow) fl->info.arrow = "unsupported";
        }
    }
    if (i != n) return pq_damaged(f, "a damaged schema", e);
    f->nleaves = (uint32_t)leaves;
    return 0;
}

/* Row groups: each column chunk's page range inside the file, before the footer. */
static int map_rgs(pq_file *f, const struct rrg *g, uint32_t nrg, uint64_t data_end, err *e) {
    f->rgs = arena_calloc(f->a, sizeof *f->rgs * (nrg + 1));
    f->nrg = nrg;
    for (uint32_t r = 0; r < nrg; r++) {
        if (g[r].nchunks != f->nleaves || g[r].nrows < 0)
            return pq_damaged(f, "a row group that does not match the schema", e);
        f->rgs[r].nrows = g[r].nrows;
        f->rgs[r].chunks = arena_calloc(f->a, sizeof(pq_chunk) * (f->nleaves + 1));
        for (uint32_t c = 0; c < f->nleaves; c++) {
            const struct rchunk *rc = &g[r].chunks[c];
            pq_chunk *ch = &f->rgs[r].chunks[c];
            if (rc->ext_file)
                return err_set(e, 422, EC_NOT_IMPL,
                               "This feature is not implemented: Parquet column chunks in other "
                               "files: %s",
                               f->path);
            if (!rc->has_meta) return pq_damaged(f, "a column chunk without metadata", e);
            int64_t start = rc->data_off;
            if (rc->dict_off > 0 && rc->dict_off < start) start = rc->dict_off;
            if (start < 4 || rc->comp_size < 0 || (uint64_t)start > data_end ||
                (uint64_t)rc->comp_size > data_end - (uint64_t)start || rc->num_values < 0)
                return pq_damaged(f, "a column chunk outside the file", e);
            ch->codec = rc->codec;
            ch->ptype = rc->type;
            ch->start = start;
            ch->end = start + rc->comp_size;
            ch->num_values = rc->num_values;
        }
    }
    return 0;
}

int pq_parse_meta(pq_file *f, err *e) {
    uint8_t tail[8], head[4];
    if (f->size < 12) return pq_damaged(f, "not a Parquet file (too short)", e);
    if (pq_pread(f, 0, 4, head, e) < 0 || pq_pread(f, f->size - 8, 8, tail, e) < 0) return -1;
    if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4)) {
        if (!memcmp(tail + 4, "PARE", 4))
            return err_set(e, 422, EC_NOT_IMPL,
                           "This feature is not implemented: encrypted Parquet files: %s", f->path);
        return pq_damaged(f, "not a Parquet file (no PAR1 magic)", e);
    }
    uint32_t mlen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                    (uint32_t)tail[3] << 24;
    if (mlen > f->size - 12 || mlen > META_MAX) return pq_damaged(f, "a damaged footer length", e);
    uint64_t moff = f->size - 8 - mlen;
    uint8_t *m = arena_alloc(f->a, mlen + 1);
    if (pq_pread(f, moff, mlen, m, e) < 0) return -1;
    tc_reader r;
    tc_init(&r, m, mlen);
    tc_struct_begin(&r);
    struct sel *els = NULL;
    uint32_t nels = 0, nrg = 0;
    struct rrg *rgs = NULL;
    bool have_rows = false;
    int t, id;
    while (tc_field(&r, &t, &id)) {
        if (id == 2 && t == TT_LIST && !els) {
            int et;
            nels = tc_list(&r, &et);
            if (et != TT_STRUCT) {
                r.bad = true;
                break;
            }
            els = arena_alloc(f->a, sizeof *els * (nels + 1));
            for (uint32_t i = 0; i < nels && !r.bad; i++) parse_sel(&r, f->a, &els[i]);
        } else if (id == 3 && t == TT_I64) {
            int64_t n = tc_i64(&r);
            if (n < 0) r.bad = true;
            f->nrows = (uint64_t)n;
            have_rows = true;
        } else if (id == 4 && t == TT_LIST && !rgs) {
            int et;
            nrg = tc_list(&r, &et);
            if (et != TT_STRUCT) {
                r.bad = true;
                break;
            }
            rgs = arena_alloc(f->a, sizeof *rgs * (nrg + 1));
            for (uint32_t i = 0; i < nrg && !r.bad; i++) parse_rg(&r, f->a, &rgs[i]);
        } else {
            tc_skip(&r, t);
        }
    }
    if (r.bad || !els || !have_rows) return pq_damaged(f, "a damaged footer", e);
    if (map_schema(f, els, nels, e) < 0) return -1;
    return map_rgs(f, rgs, rgs ? nrg : 0, moff, e);
}
