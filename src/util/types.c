/* Type names: see types.h. */
#include "util/types.h"

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
