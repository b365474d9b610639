/* Unit tests for struct values (src/util/vstruct.c): shapes are interned (the same fields give
 * the same id, any difference another); every field type comes back as it went in, NULL fields
 * included; the encoding is canonical so byte equality is struct equality; structs order field
 * by field; a list of structs holding a list of structs (state_agg's shape) round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "util/vlist.h"
#include "util/vstruct.h"

static const char *const NAMES[3] = {"a", "b", "c"};

static void test_interning(void **state) {
    (void)state;
    uint8_t t1[2] = {VT_I64, VT_STR}, u[2] = {0, 0}, t2[2] = {VT_I64, VT_F64};
    uint8_t a = vstruct_shape(2, NAMES, t1, u, NULL);
    uint8_t b = vstruct_shape(2, NAMES, t1, u, NULL);
    uint8_t c = vstruct_shape(2, NAMES, t2, u, NULL);
    const char *other[2] = {"a", "x"};
    uint8_t d = vstruct_shape(2, other, t1, u, NULL);
    assert_true(a != 0);
    assert_int_equal(a, b);
    assert_true(c != a && d != a && d != c);
    assert_int_equal(vstruct_find(a, "b"), 1);
    assert_int_equal(vstruct_find(a, "B"), -1);
    uint8_t dt[1] = {VT_DEC128}, du[1] = {0};
    assert_int_equal(vstruct_shape(1, NAMES, dt, du, NULL), 0); /* decimals cannot be fields */
    assert_string_equal(vtype_arrow_name(VT_STRUCT, c),
                        "Struct([Field { name: \"a\", data_type: Int64, nullable: true, dict_id: "
                        "0, dict_is_ordered: false, metadata: {} }, Field { name: \"b\", "
                        "data_type: Float64, nullable: true, dict_id: 0, dict_is_ordered: false, "
                        "metadata: {} }])");
}

static void test_roundtrip_and_canonical(void **state) {
    (void)state;
    arena *ar = arena_new(0);
    uint8_t t[3] = {VT_TS, VT_STR, VT_BOOL}, u[3] = {TU_MS, 0, 0};
    uint8_t id = vstruct_shape(3, NAMES, t, u, NULL);
    value f[3] = {tu_num(VT_TS, -5), tu_str("héllo"), {.type = VT_BOOL}};
    f[2].v.b = true;
    strv s = vstruct_make(ar, id, f);
    value g;
    vstruct_field(s, id, 0, &g);
    assert_false(g.null);
    assert_int_equal(g.type, VT_TS);
    assert_int_equal(g.unit, TU_MS);
    assert_int_equal(g.v.i, -5);
    vstruct_field(s, id, 1, &g);
    assert_int_equal(g.v.s.len, strlen("héllo"));
    assert_memory_equal(g.v.s.p, "héllo", g.v.s.len);
    vstruct_field(s, id, 2, &g);
    assert_true(g.v.b);
    /* NULL fields: whatever their slots held, the bytes are the same */
    value n1[3] = {tu_num(VT_TS, 7), tu_str("junk"), {.type = VT_BOOL}};
    value n2[3] = {tu_num(VT_TS, 7), tu_str(""), {.type = VT_BOOL}};
    n1[1].null = n2[1].null = true;
    strv x = vstruct_make(ar, id, n1), y = vstruct_make(ar, id, n2);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.p, y.p, x.len);
    vstruct_field(x, id, 1, &g);
    assert_true(g.null);
    /* order: field by field, a NULL field first */
    assert_true(vstruct_cmp(x, s, id) > 0); /* 7 > -5 */
    value m[3] = {tu_num(VT_TS, 7), tu_str("a"), {.type = VT_BOOL}};
    assert_true(vstruct_cmp(x, vstruct_make(ar, id, m), id) < 0);
    assert_int_equal(vstruct_cmp(x, y, id), 0);
    arena_free(ar);
}

static void test_nested(void **state) {
    (void)state;
    arena *ar = arena_new(0);
    const char *pn[2] = {"start_time", "end_time"};
    uint8_t pt[2] = {VT_TS, VT_TS}, pu[2] = {TU_NS, TU_NS};
    uint8_t period = vstruct_shape(2, pn, pt, pu, NULL);
    const char *on[2] = {"state", "periods"};
    uint8_t ot[2] = {VT_STR, VT_LIST}, ou[2] = {0, vlist_unit(VT_STRUCT, period, false)};
    uint8_t outer = vstruct_shape(2, on, ot, ou, NULL);
    assert_true(period < 128 && outer < 128);
    value ps[2];
    for (int k = 0; k < 2; k++) {
        value f[2] = {tu_num(VT_TS, 10 * k), tu_num(VT_TS, 10 * k + 5)};
        ps[k] = (value){.type = VT_STRUCT, .unit = period};
        ps[k].v.s = vstruct_make(ar, period, f);
    }
    value of[2] = {tu_str("up"), {.type = VT_LIST}};
    of[1].v.s = vlist_make(ar, VT_STRUCT, ps, 2);
    value item = {.type = VT_STRUCT, .unit = outer};
    item.v.s = vstruct_make(ar, outer, of);
    strv list = vlist_make(ar, VT_STRUCT, &item, 1);
    uint8_t lu = vlist_unit(VT_STRUCT, outer, false);
    assert_int_equal(vlist_etype(lu), VT_STRUCT);
    assert_int_equal(vlist_eunit(lu), outer);
    value e, p, t;
    vlist_get(list, lu, 0, &e);
    assert_int_equal(e.type, VT_STRUCT);
    vstruct_field(e.v.s, outer, 1, &p);
    assert_int_equal(vlist_len(p.v.s), 2);
    vlist_get(p.v.s, p.unit, 1, &e);
    vstruct_field(e.v.s, period, 1, &t);
    assert_int_equal(t.v.i, 15);
    arena_free(ar);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interning),
        cmocka_unit_test(test_roundtrip_and_canonical),
        cmocka_unit_test(test_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
