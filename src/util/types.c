/* Type sizes and names: see types.h. */
#include "util/types.h"

#include "util/dec.h"
#include "util/vlist.h"
#include "util/vstruct.h"

const char *vtype_sql_name(enum vtype t, enum tunit u) {
    switch (t) {
    case VT_BOOL:
        return "BOOLEAN";
    case VT_I64:
        return "BIGINT";
    case VT_U64:
        return "BIGINT UNSIGNED";
    case VT_F64:
        return "DOUBLE";
    case VT_STR:
        return "STRING";
    case VT_TS:
        switch (u) {
        case TU_NS:
            return "TIMESTAMP(NANOSECOND)";
        case TU_US:
            return "TIMESTAMP(MICROSECOND)";
        case TU_MS:
            return "TIMESTAMP(MILLISECOND)";
        case TU_S:
            return "TIMESTAMP(SECOND)";
        }
        return "TIMESTAMP";
    case VT_INTERVAL:
        return "INTERVAL";
    case VT_DATE:
        return "DATE";
    case VT_DEC128:
        return dec_sql_name(u);
    case VT_TIME64:
        return "TIME";
    case VT_LIST:
        return "LIST";
    case VT_STRUCT:
        return "STRUCT";
    case VT_NULL:
        return "NULL";
    }
    return "UNKNOWN";
}

const char *vtype_short_name(enum vtype t) {
    switch (t) {
    case VT_BOOL:
        return "BOOL";
    case VT_I64:
        return "I64";
    case VT_U64:
        return "U64";
    case VT_F64:
        return "F64";
    case VT_STR:
        return "STRING";
    case VT_TS:
        return "TimestampNanosecond";
    default:
        return "UNKNOWN";
    }
}

int64_t tunit_per_sec(enum tunit u) {
    switch (u) {
    case TU_NS:
        return 1000000000;
    case TU_US:
        return 1000000;
    case TU_MS:
        return 1000;
    case TU_S:
        return 1;
    }
    return 1000000000;
}

size_t vtype_size(uint8_t t) {
    switch (t) {
    case VT_BOOL:
        return sizeof(bool);
    case VT_STR:
    case VT_LIST:
    case VT_STRUCT:
        return sizeof(strv);
    case VT_INTERVAL:
        return sizeof(interval);
    case VT_DEC128:
        return sizeof(dec128);
    case VT_NULL:
        return 1;
    default:
        return 8;
    }
}

bool vtype_numeric(uint8_t t) {
    return t == VT_I64 || t == VT_U64 || t == VT_F64;
}

#define LIST_OF(item)                                                                              \
    "List(Field { name: \"item\", data_type: " item                                                \
    ", nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {} })"

/* Arrow's Display of List(Field) for each element type a list may have. */
static const char *list_arrow_name(uint8_t unit) {
    static const char *const ts[2][4] = {
        {LIST_OF("Timestamp(Nanosecond, None)"), LIST_OF("Timestamp(Microsecond, None)"),
         LIST_OF("Timestamp(Millisecond, None)"), LIST_OF("Timestamp(Second, None)")},
        {LIST_OF("Timestamp(Nanosecond, Some(\"+00:00\"))"),
         LIST_OF("Timestamp(Microsecond, Some(\"+00:00\"))"),
         LIST_OF("Timestamp(Millisecond, Some(\"+00:00\"))"),
         LIST_OF("Timestamp(Second, Some(\"+00:00\"))")}};
    switch (vlist_etype(unit)) {
    case VT_BOOL:
        return LIST_OF("Boolean");
    case VT_I64:
        return LIST_OF("Int64");
    case VT_U64:
        return LIST_OF("UInt64");
    case VT_F64:
        return LIST_OF("Float64");
    case VT_STR:
        return LIST_OF("Utf8");
    case VT_TS:
        return ts[vlist_etz(unit)][vlist_eunit(unit)];
    case VT_INTERVAL:
        return LIST_OF("Interval(MonthDayNano)");
    case VT_TIME64:
        return LIST_OF("Time64(Nanosecond)");
    case VT_DATE:
        return LIST_OF("Date32");
    case VT_STRUCT: {
        const vshape *sh = vstruct_get(vlist_eunit(unit));
        return sh ? sh->list_arrow : LIST_OF("Null");
    }
    default:
        return LIST_OF("Null");
    }
}

const char *vtype_arrow_name(uint8_t t, uint8_t unit) {
    switch (t) {
    case VT_BOOL:
        return "Boolean";
    case VT_I64:
        return unit == NU_32 ? "Int32" : "Int64";
    case VT_U64:
        return "UInt64";
    case VT_F64:
        return unit == NU_32 ? "Float32" : "Float64";
    case VT_STR:
        return unit == SU_BINARY ? "Binary" : "Utf8";
    case VT_TS:
        switch (unit) {
        case TU_NS:
            return "Timestamp(Nanosecond, None)";
        case TU_US:
            return "Timestamp(Microsecond, None)";
        case TU_MS:
            return "Timestamp(Millisecond, None)";
        default:
            return "Timestamp(Second, None)";
        }
    case VT_INTERVAL:
        return "Interval(MonthDayNano)";
    case VT_DATE:
        return "Date32";
    case VT_DEC128:
        return dec_arrow_name(unit);
    case VT_TIME64:
        return "Time64(Nanosecond)";
    case VT_LIST:
        return list_arrow_name(unit);
    case VT_STRUCT: {
        const vshape *sh = vstruct_get(unit);
        return sh ? sh->arrow : "Struct([])";
    }
    default:
        return "Null";
    }
}
