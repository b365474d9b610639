/* Unit tests for the rules on names (util/names.c) and the UTF-8 helpers (util/utf8.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/names.h"
#include "util/utf8.h"

static void ok(enum name_kind k, const char *p, size_t n) {
    err e;
    if (names_check(k, p, n, 422, EC_META, &e) != 0)
        fail_msg("'%.*s' (%s) refused: %s", (int)n, p, names_kind(k), e.msg);
}

static void bad(enum name_kind k, const char *p, size_t n, const char *msg) {
    err e;
    err_clear(&e);
    if (names_check(k, p, n, 422, EC_META, &e) != -1)
        fail_msg("'%.*s' (%s) accepted", (int)n, p, names_kind(k));
    assert_int_equal(e.http, 422);
    assert_string_equal(e.code, EC_META);
    if (msg && strcmp(e.msg, msg)) fail_msg("message\n  '%s'\nwant\n  '%s'", e.msg, msg);
}

#define OK(k, s) ok(k, s, sizeof s - 1)
#define BAD(k, s, m) bad(k, s, sizeof s - 1, m)

static void test_every_kind(void **state) {
    for (int k = NAME_TENANT; k <= NAME_USER; k++) {
        OK(k, "a");
        OK(k, "cpu_usage");
        OK(k, "Ünïcödé 名前");
        OK(k, "with space");
        OK(k, "a..b");
        BAD(k, "", NULL);
        BAD(k, "   ", NULL);
        BAD(k, "x\0y", NULL); /* never cut short at the NUL */
        BAD(k, "a\tb", NULL);
        BAD(k, "a\nb", NULL);
        BAD(k, "\x7F", NULL);
        BAD(k, "a\xC3", NULL);    /* truncated UTF-8 */
        BAD(k, "\xC0\xAF", NULL); /* overlong '/' */
    }
}

static void test_messages(void **state) {
    BAD(NAME_DATABASE, "", "Invalid database name: the name is empty");
    BAD(NAME_DATABASE, "public\0xyz",
        "Invalid database name \"public\\x00xyz\": control character 0x00 at byte 6");
    BAD(NAME_TABLE, "  ", "Invalid table name \"  \": only spaces");
    BAD(NAME_COLUMN, "a\xFF", "Invalid column name \"a\\xFF\": not valid UTF-8 at byte 1");
    BAD(NAME_DATABASE, "..", "Invalid database name \"..\"");
    BAD(NAME_TENANT, "a/b", "Invalid tenant name \"a/b\": contains '/'");
}

static void test_path_like_names(void **state) {
    /* Tenants, databases and users become parts of paths: no '/', '.', '..'. */
    enum name_kind path_like[] = {NAME_TENANT, NAME_DATABASE, NAME_USER};
    for (size_t i = 0; i < 3; i++) {
        BAD(path_like[i], ".", NULL);
        BAD(path_like[i], "..", NULL);
        BAD(path_like[i], "../x", NULL);
        BAD(path_like[i], "/", NULL);
        OK(path_like[i], "...");
        OK(path_like[i], ".hidden");
    }
    /* Tables and columns may hold them (InfluxDB measurements often do). */
    OK(NAME_TABLE, "..");
    OK(NAME_TABLE, "cpu/usage");
    OK(NAME_COLUMN, "a/b");
    /* Lengths. */
    char big[NAMES_MAX + 2];
    memset(big, 'a', sizeof big);
    ok(NAME_DATABASE, big, NAMES_MAX_PATH_LIKE);
    bad(NAME_DATABASE, big, NAMES_MAX_PATH_LIKE + 1, NULL);
    ok(NAME_TABLE, big, NAMES_MAX);
    bad(NAME_COLUMN, big, NAMES_MAX + 1, NULL);
}

static void test_utf8(void **state) {
    size_t bad_at;
    assert_true(utf8_valid("", 0, NULL));
    assert_true(utf8_valid("héllo 名", strlen("héllo 名"), NULL));
    assert_false(utf8_valid("ab\xED\xA0\x80", 5, &bad_at)); /* a surrogate */
    assert_int_equal(bad_at, 2);
    assert_int_equal(utf8_seq("a", 1), 1);
    assert_int_equal(utf8_seq("\xC3\xA9", 2), 2);
    assert_int_equal(utf8_seq("\xE5\x90\x8D", 3), 3);
    assert_int_equal(utf8_seq("\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(utf8_seq("\xC3", 1), 0);
    assert_int_equal(utf8_seq("\x80", 1), 0);
    assert_int_equal(utf8_seq("\xF5\x80\x80\x80", 4), 0);
    assert_int_equal(utf8_seq("", 0), 0);
    char show[96];
    utf8_show(show, sizeof show, "a\0\n\xFF\xC3\xA9", 6);
    assert_string_equal(show, "a\\x00\\n\\xFFé");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_path_like_names),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
