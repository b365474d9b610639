/* Unit tests for Decimal128 (util/dec.c): type codes, text in and out, rescaling, DataFusion
 * 27's result types; and the Float32 text of format/fmt_num.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format/fmt_num.h"
#include "format/format.h"
#include "util/dec.h"

static const char *text(i128 v, int s) {
    static char tbuf[DEC_TEXT_MAX];
    dec_format(v, s, tbuf);
    return tbuf;
}

static const char *parsed(const char *p, int s, bool truncate) {
    i128 v;
    if (!dec_parse(p, strlen(p), s, truncate, &v)) return "BAD";
    return text(v, s);
}

static int code(int p, int s) {
    int c = dec_code(p, s);
    assert_true(c >= 0);
    return c;
}

static void test_codes(void **st) {
    (void)st;
    /* code 0 is DataFusion's default, so a zeroed unit byte names it */
    assert_int_equal(dec_code(38, 10), 0);
    assert_string_equal(dec_arrow_name(0), "Decimal128(38, 10)");
    int c = code(10, 2);
    assert_int_equal(code(10, 2), c);
    assert_int_equal(dec_prec((uint8_t)c), 10);
    assert_int_equal(dec_scale((uint8_t)c), 2);
    assert_string_equal(dec_arrow_name((uint8_t)c), "Decimal128(10, 2)");
    assert_string_equal(dec_sql_name((uint8_t)c), "DECIMAL(10,2)");
    assert_int_equal(dec_code(0, 0), -1);
    assert_int_equal(dec_code(39, 0), -1);
    assert_int_equal(dec_code(5, 6), -1);
}

static void test_text(void **st) {
    (void)st;
    assert_string_equal(text(0, 0), "0");
    assert_string_equal(text(0, 3), "0.000");
    assert_string_equal(text(5, 3), "0.005");
    assert_string_equal(text(-5, 3), "-0.005");
    assert_string_equal(text(270000000000, 10), "27.0000000000");
    assert_string_equal(text(dec_pow10(38) - 1, 38), "0.99999999999999999999999999999999999999");
    assert_string_equal(text(-(dec_pow10(38) - 1), 0), "-99999999999999999999999999999999999999");
    assert_string_equal(parsed("12.5", 2, false), "12.50");
    assert_string_equal(parsed(" -0.125 ", 2, false), "-0.13");
    assert_string_equal(parsed("-0.125", 2, true), "-0.12");
    assert_string_equal(parsed("+1e3", 1, false), "1000.0");
    assert_string_equal(parsed("1.5E-1", 2, false), "0.15");
    assert_string_equal(parsed(".5", 1, false), "0.5");
    assert_string_equal(parsed("7.", 0, false), "7");
    assert_string_equal(parsed("", 0, false), "BAD");
    assert_string_equal(parsed("1.2.3", 1, false), "BAD");
    assert_string_equal(parsed("1e", 1, false), "BAD");
    assert_string_equal(parsed("abc", 1, false), "BAD");
    /* 38 digits fit, 39 do not */
    assert_string_equal(parsed("99999999999999999999999999999999999999", 0, false),
                        "99999999999999999999999999999999999999");
    assert_string_equal(parsed("999999999999999999999999999999999999999", 0, false), "BAD");
    assert_string_equal(parsed("1", 38, false), "BAD");
}

static void test_rescale_and_floats(void **st) {
    (void)st;
    i128 v;
    assert_true(dec_rescale(125, 2, 1, &v));
    assert_string_equal(text(v, 1), "1.3");
    assert_true(dec_rescale(-125, 2, 1, &v));
    assert_string_equal(text(v, 1), "-1.3");
    assert_true(dec_rescale(1, 0, 38, &v));
    assert_false(dec_rescale(10, 0, 38, &v) && dec_rescale(v, 0, 2, &v));
    assert_true(dec_fits(99999, 5));
    assert_false(dec_fits(100000, 5));
    assert_false(dec_fits(-100000, 5));
    /* arrow scales a double in doubles: 1.005 * 100 is 100.49999999999999 */
    assert_true(dec_from_f64(1.005, 2, &v));
    assert_string_equal(text(v, 2), "1.00");
    assert_true(dec_from_f64(-2.5, 0, &v));
    assert_string_equal(text(v, 0), "-3");
    assert_false(dec_from_f64(1e40, 0, &v));
    assert_true(dec_to_f64(-1250, 3) == -1.25);
}

static void test_result_types(void **st) {
    (void)st;
    uint8_t d38 = (uint8_t)code(38, 10), d10 = (uint8_t)code(10, 2), i64 = (uint8_t)code(20, 0);
    assert_string_equal(dec_arrow_name((uint8_t)dec_result_code('*', d38, d38)),
                        "Decimal128(38, 20)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_result_code('-', i64, d38)),
                        "Decimal128(38, 10)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_result_code('+', d10, i64)),
                        "Decimal128(23, 2)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_result_code('/', d10, i64)),
                        "Decimal128(31, 23)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_result_code('%', d10, i64)),
                        "Decimal128(10, 2)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_wider_code(d10, i64)), "Decimal128(22, 2)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_code_of_num(VT_I64, NU_32)),
                        "Decimal128(10, 0)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_code_of_num(VT_U64, 0)), "Decimal128(20, 0)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_code_of_num(VT_F64, 0)), "Decimal128(30, 15)");
    assert_string_equal(dec_arrow_name((uint8_t)dec_code_of_num(VT_F64, NU_32)),
                        "Decimal128(14, 7)");
    /* a NUMERIC beside a float compares at scale 15, its 28 integer digits capped to 23 */
    assert_string_equal(
        dec_arrow_name((uint8_t)dec_wider_code(d38, (uint8_t)dec_code_of_num(VT_F64, 0))),
        "Decimal128(38, 15)");
}

static const char *ftext(float f, bool json) {
    static char fbuf[64];
    size_t n = json ? fmt_float_json(fbuf, f) : fmt_float(fbuf, f);
    fbuf[n] = 0;
    return fbuf;
}

static void test_float32_text(void **st) {
    (void)st;
    assert_string_equal(ftext(1.5707963705062866f, false), "1.5707964");
    assert_string_equal(ftext(6.0e-6f, false), "6.0e-6");
    assert_string_equal(ftext(0.1f, false), "0.1");
    assert_string_equal(ftext(-0.0f, false), "-0.0");
    assert_string_equal(ftext(1e10f, false), "1.0e10");
    assert_string_equal(ftext(3.0f, true), "3.0");
    assert_string_equal(ftext(1.2793396f, true), "1.2793396");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_rescale_and_floats),
        cmocka_unit_test(test_result_types),
        cmocka_unit_test(test_float32_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
