/* Unit tests for list values (src/util/vlist.c): every element type comes back as it went in,
 * NULL elements included; the encoding is canonical (equal lists, equal bytes, whatever the
 * slots of their NULL elements held) so byte equality is list equality; the empty list is not
 * the zero-length NULL slot; lists order element by element, NULL first, then by length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "util/vlist.h"

static value null_of(uint8_t t) {
    value v = {.type = t, .null = true};
    v.v.i = 12345; /* whatever the slot held: not part of the list */
    return v;
}

static void test_roundtrip_every_type(void **state) {
    (void)state;
    arena *a = arena_new(0);
    value f = {.type = VT_F64}, b = {.type = VT_BOOL}, iv = {.type = VT_INTERVAL};
    f.v.f = -2.5;
    b.v.b = true;
    iv.v.iv = (interval){1, -2, 3};
    const value cases[][3] = {
        {tu_num(VT_I64, -7), null_of(VT_I64), tu_num(VT_I64, INT64_MAX)},
        {tu_num(VT_U64, 1), tu_num(VT_U64, 0), null_of(VT_U64)},
        {f, null_of(VT_F64), f},
        {b, null_of(VT_BOOL), b},
        {tu_str("a b"), null_of(VT_STR), tu_str("")},
        {tu_num(VT_TS, 5), tu_num(VT_TS, -5), null_of(VT_TS)},
        {iv, iv, null_of(VT_INTERVAL)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t t = cases[c][0].type, unit = vlist_unit(t, t == VT_TS ? TU_MS : 0, false);
        strv l = vlist_make(a, t, cases[c], 3);
        assert_int_equal(vlist_len(l), 3);
        for (uint32_t i = 0; i < 3; i++) {
            value got;
            vlist_get(l, unit, i, &got);
            assert_int_equal(got.type, t);
            assert_int_equal(got.null, cases[c][i].null);
            if (!got.null) assert_true(vlist_elem_eq(&got, &cases[c][i]));
        }
        value past;
        vlist_get(l, unit, 3, &past);
        assert_true(past.null);
    }
    arena_free(a);
}

static void test_canonical_and_empty(void **state) {
    (void)state;
    arena *a = arena_new(0);
    value x[2] = {tu_str("q"), null_of(VT_STR)}, y[2] = {tu_str("q"), null_of(VT_STR)};
    y[1].v.s = (strv){"junk", 4};
    strv lx = vlist_make(a, VT_STR, x, 2), ly = vlist_make(a, VT_STR, y, 2);
    assert_int_equal(lx.len, ly.len);
    assert_memory_equal(lx.p, ly.p, lx.len);
    strv e = vlist_make(a, VT_I64, NULL, 0);
    assert_true(e.len > 0); /* an empty list is a value, not the NULL slot */
    assert_int_equal(vlist_len(e), 0);
    assert_int_equal(vlist_len((strv){"", 0}), 0);
    value *items = x; /* overwritten */
    assert_int_equal(vlist_items(a, e, vlist_unit(VT_I64, 0, false), &items), 0);
    assert_null(items);
    arena_free(a);
}

static void test_order(void **state) {
    (void)state;
    arena *a = arena_new(0);
    uint8_t u = vlist_unit(VT_I64, 0, false);
    value v12[2] = {tu_num(VT_I64, 1), tu_num(VT_I64, 2)}, v1[1] = {tu_num(VT_I64, 1)};
    value vn[2] = {null_of(VT_I64), tu_num(VT_I64, 0)}, v3[1] = {tu_num(VT_I64, 3)};
    strv l12 = vlist_make(a, VT_I64, v12, 2), l1 = vlist_make(a, VT_I64, v1, 1);
    strv ln = vlist_make(a, VT_I64, vn, 2), l3 = vlist_make(a, VT_I64, v3, 1);
    assert_true(vlist_cmp(l1, l12, u) < 0); /* a prefix first */
    assert_true(vlist_cmp(l12, l3, u) < 0);
    assert_true(vlist_cmp(ln, l1, u) < 0); /* a NULL element first */
    assert_int_equal(vlist_cmp(l12, vlist_make(a, VT_I64, v12, 2), u), 0);
    value s[2] = {tu_str("b"), tu_str("a")}, t[2] = {tu_str("b"), tu_str("ab")};
    uint8_t us = vlist_unit(VT_STR, 0, false);
    assert_true(vlist_cmp(vlist_make(a, VT_STR, s, 2), vlist_make(a, VT_STR, t, 2), us) < 0);
    arena_free(a);
}

static void test_unit_packing(void **state) {
    (void)state;
    uint8_t u = vlist_unit(VT_TS, TU_S, true);
    assert_int_equal(vlist_etype(u), VT_TS);
    assert_int_equal(vlist_eunit(u), TU_S);
    assert_true(vlist_etz(u));
    assert_string_equal(vtype_arrow_name(VT_LIST, u),
                        "List(Field { name: \"item\", data_type: Timestamp(Second, "
                        "Some(\"+00:00\")), nullable: true, dict_id: 0, dict_is_ordered: false, "
                        "metadata: {} })");
    assert_string_equal(vtype_arrow_name(VT_LIST, vlist_unit(VT_U64, 0, false)),
                        "List(Field { name: \"item\", data_type: UInt64, nullable: true, "
                        "dict_id: 0, dict_is_ordered: false, metadata: {} })");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_canonical_and_empty),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_unit_packing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
