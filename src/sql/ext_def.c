/* External sources as statements give them and as the catalog keeps them: formats,
 * compressions and options checked, column types mapped to Strata's value types with the Arrow
 * name DataFusion gives them, the persisted JSON definition. See ext.h. */
#include "sql/ext.h"

#include "util/dec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int unsupported_format(const char *f, err *e) {
    if (!strcmp(f, "AVRO") || !strcmp(f, "ARROW"))
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: the file format %s is not supported: "
                       "Strata reads and writes CSV, JSON (NDJSON) and Parquet files",
                       !strcmp(f, "AVRO") ? "Avro" : "Arrow");
    return err_set(e, 422, EC_QUERY_INTERNAL,
                   "Datafusion: Error during planning: Unsupported file type %s", f);
}

int ext_source_from_sql(const sql_ext *x, bool copy, ext_source *out, err *e) {
    memset(out, 0, sizeof *out);
    const char *f = x->format ? x->format : "CSV";
    if (!strcmp(f, "CSV"))
        out->format = EXT_CSV;
    else if (!strcmp(f, "JSON") || !strcmp(f, "NDJSON"))
        out->format = EXT_JSON;
    else if (!strcmp(f, "PARQUET"))
        out->format = EXT_PARQUET;
    else
        return unsupported_format(f, e);
    const char *c = x->compression;
    bool pq = out->format == EXT_PARQUET;
    if (pq && !c)
        out->compression = EXT_SNAPPY; /* as DataFusion writes Parquet */
    else if (pq && !strcmp(c, "SNAPPY"))
        out->compression = EXT_SNAPPY;
    else if (pq && (!strcmp(c, "LZ4") || !strcmp(c, "LZ4_RAW")))
        out->compression = EXT_LZ4;
    else if (pq && !strcmp(c, "BROTLI"))
        out->compression = EXT_BROTLI;
    else if (pq && (!strcmp(c, "BZIP2") || !strcmp(c, "XZ")))
        return err_set(e, 422, EC_SQL_PARSE,
                       "sql parser error: Unsupported Parquet compression type %s", c);
    else if (!c || !strcmp(c, "UNCOMPRESSED") || !strcmp(c, "NONE") || !*c)
        out->compression = EXT_UNCOMPRESSED;
    else if (!strcmp(c, "GZIP"))
        out->compression = EXT_GZIP;
    else if (!strcmp(c, "BZIP2"))
        out->compression = EXT_BZIP2;
    else if (!strcmp(c, "ZSTD"))
        out->compression = EXT_ZSTD;
    else if (!strcmp(c, "XZ"))
        out->compression = EXT_XZ;
    else
        return err_set(e, 422, EC_SQL_PARSE,
                       "sql parser error: Unsupported file compression type %s", c);
    out->header = x->header >= 0 ? x->header == 1 : copy;
    out->delimiter = ',';
    if (x->delimiter) {
        if (strlen(x->delimiter) != 1)
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: Delimiter must be a single "
                           "character, found '%s'",
                           x->delimiter);
        out->delimiter = x->delimiter[0];
        if (out->delimiter == '"' || out->delimiter == '\n' || out->delimiter == '\r')
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: invalid delimiter '%s'",
                           x->delimiter);
    }
    if (x->nconn)
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: CONNECTION (remote object stores)");
    out->location = x->location;
    return 0;
}

/* DECIMAL(p, s) / NUMERIC(p, s) as written: DataFusion's defaults are 38 and 10. */
static int decimal_params(const char *name, int *prec, int *scale) {
    *prec = 38;
    *scale = 10;
    const char *lp = strchr(name, '(');
    if (!lp) return 0;
    char *end;
    long pv = strtol(lp + 1, &end, 10);
    long sv = 0;
    while (*end == ' ') end++;
    if (*end == ',') sv = strtol(end + 1, &end, 10);
    if (pv < 1 || pv > 38 || sv < 0 || sv > pv) return -1;
    *prec = (int)pv;
    *scale = (int)sv;
    return 0;
}

int ext_column_type(arena *a, const sql_type *ty, const char *col, uint8_t *vt, uint8_t *unit,
                    const char **arrow, err *e) {
    const char *n = ty->name ? ty->name : "";
    *unit = 0;
    *vt = ty->vt;
    bool is_unsigned = strstr(n, "UNSIGNED") != NULL;
    switch (ty->vt) {
    case VT_BOOL:
        *arrow = "Boolean";
        return 0;
    case VT_I64:
    case VT_U64: {
        const char *base = !strncmp(n, "TINYINT", 7)    ? "Int8"
                           : !strncmp(n, "SMALLINT", 8) ? "Int16"
                           : !strncmp(n, "INT2", 4)     ? "Int16"
                           : !strncmp(n, "BIGINT", 6)   ? "Int64"
                           : !strncmp(n, "INT8", 4)     ? "Int64"
                                                        : "Int32";
        *arrow = is_unsigned ? arena_printf(a, "U%s", base) : base;
        if (!strcmp(base, "Int32") && !is_unsigned) *unit = NU_32;
        return 0;
    }
    case VT_F64:
        *arrow = (!strncmp(n, "FLOAT", 5) && strncmp(n, "FLOAT8", 6)) || !strcmp(n, "REAL") ||
                         !strcmp(n, "FLOAT4")
                     ? "Float32"
                     : "Float64";
        if (!strcmp(*arrow, "Float32")) *unit = NU_32;
        return 0;
    case VT_STR:
        *arrow = "Utf8";
        return 0;
    case VT_DATE:
        *arrow = "Date32";
        return 0;
    case VT_TS: {
        static const char *const units[] = {"Nanosecond", "Microsecond", "Millisecond", "Second"};
        *unit = ty->unit;
        *arrow = arena_printf(a, "Timestamp(%s, None)", units[ty->unit & 3]);
        return 0;
    }
    default:
        break;
    }
    if (!strncmp(n, "DECIMAL", 7) || !strncmp(n, "NUMERIC", 7)) {
        int p, s;
        if (decimal_params(n, &p, &s) < 0)
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: Decimal(precision = %s) should "
                           "satisfy `0 < precision <= 38`, and `scale <= precision`.",
                           n);
        int code = dec_code(p, s);
        if (code < 0)
            return err_set(e, 422, EC_NOT_IMPL,
                           "This feature is not implemented: more distinct decimal types than "
                           "Strata keeps");
        *vt = VT_DEC128;
        *unit = (uint8_t)code;
        *arrow = dec_arrow_name((uint8_t)code);
        return 0;
    }
    return err_set(e, 422, EC_NOT_IMPL,
                   "This feature is not implemented: Unsupported SQL type %s of column %s",
                   ty->text ? ty->text : n, col);
}

char *ext_def_text(const ext_source *src, const char *const *arrow_names, uint32_t ncols) {
    json_t *types = json_array();
    for (uint32_t i = 0; i < ncols; i++) json_array_append_new(types, json_string(arrow_names[i]));
    char delim[2] = {src->delimiter, 0};
    json_t *j = json_pack("{s:i, s:i, s:b, s:s, s:s, s:o}", "format", (int)src->format,
                          "compression", (int)src->compression, "header", src->header, "delimiter",
                          delim, "location", src->location, "types", types);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

/* Unit byte of an Arrow type name: a timestamp's unit, a decimal's (p, s) code, NU_32 for the
 * Int32 and Float32 Strata holds in 64 bits. */
static uint8_t ts_unit(const char *arrow) {
    if (!strcmp(arrow, "Int32") || !strcmp(arrow, "Float32")) return NU_32;
    int p, s;
    if (sscanf(arrow, "Decimal128(%d, %d)", &p, &s) == 2) {
        int code = dec_code(p, s);
        return code < 0 ? 0 : (uint8_t)code;
    }
    if (strncmp(arrow, "Timestamp(", 10)) return 0;
    return !strncmp(arrow + 10, "Micro", 5)    ? TU_US
           : !strncmp(arrow + 10, "Milli", 5)  ? TU_MS
           : !strncmp(arrow + 10, "Second", 6) ? TU_S
                                               : TU_NS;
}

int ext_def_parse(arena *a, const char *text, uint32_t ncols, ext_source *src,
                  const char ***arrow_names, uint8_t **units, err *e) {
    json_t *j = json_loads(text, 0, NULL);
    json_t *types = j ? json_object_get(j, "types") : NULL;
    const char *delim = j ? json_string_value(json_object_get(j, "delimiter")) : NULL;
    const char *loc = j ? json_string_value(json_object_get(j, "location")) : NULL;
    if (!json_is_array(types) || json_array_size(types) != ncols || !delim || !loc) {
        json_decref(j);
        return err_set(e, 500, EC_META, "the definition of an external table is damaged");
    }
    memset(src, 0, sizeof *src);
    src->format = (uint8_t)json_integer_value(json_object_get(j, "format"));
    src->compression = (uint8_t)json_integer_value(json_object_get(j, "compression"));
    src->header = json_is_true(json_object_get(j, "header"));
    src->delimiter = delim[0] ? delim[0] : ',';
    src->location = arena_strdup(a, loc);
    const char **names = arena_alloc(a, sizeof *names * (ncols + 1));
    uint8_t *u = arena_alloc(a, ncols + 1);
    for (uint32_t i = 0; i < ncols; i++) {
        const char *s = json_string_value(json_array_get(types, i));
        names[i] = arena_strdup(a, s ? s : "Utf8");
        u[i] = ts_unit(names[i]);
    }
    json_decref(j);
    *arrow_names = names;
    if (units) *units = u;
    return 0;
}
