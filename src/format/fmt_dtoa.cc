// The shortest decimal digits that read back as a double, from Google's double-conversion
// (Debian's libdouble-conversion): exact and fast where fmt_num.c's own route for values of
// 16-17 significant digits (printf, then strtod to check) costs half a microsecond. The
// project's one C++ file, behind a C function (fmt_dtoa.h).
#include "format/fmt_dtoa.h"

#include <double-conversion/double-to-string.h>

extern "C" int fmt_dtoa_shortest(double v, char digits[18], int *sci_exp) {
    using double_conversion::DoubleToStringConverter;
    bool sign;
    int length = 0, point = 0;
    DoubleToStringConverter::DoubleToAscii(v, DoubleToStringConverter::SHORTEST, 0, digits, 18,
                                           &sign, &length, &point);
    *sci_exp = point - 1;
    return length;
}

extern "C" int fmt_dtoa_shortest_single(float v, char digits[18], int *sci_exp) {
    using double_conversion::DoubleToStringConverter;
    bool sign;
    int length = 0, point = 0;
    DoubleToStringConverter::DoubleToAscii(v, DoubleToStringConverter::SHORTEST_SINGLE, 0, digits,
                                           18, &sign, &length, &point);
    *sci_exp = point - 1;
    return length;
}
