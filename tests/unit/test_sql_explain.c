/* Unit tests for EXPLAIN's plan printer (src/sql/explain*.c) over operator trees built by hand:
 * an operator that does not describe itself still prints, and one named with op_explain_as (the
 * hook for operators added later, such as a window operator) prints under its name with its
 * input beneath it; ANALYZE counts exactly the rows each operator produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "sql/explain.h"
#include "sql/ops_int.h"
#include "util/arena.h"
#include "util/err.h"

/* An operator that passes its input on, as a new operator family would before it describes
 * itself. */
struct pass_op {
    op o;
    op *child;
};

static int pass_next(op *o, batch *b, err *er) {
    struct pass_op *p = (struct pass_op *)o;
    return p->child->next(p->child, b, er);
}

static void pass_close(op *o) {
    struct pass_op *p = (struct pass_op *)o;
    p->child->close(p->child);
}

static op *pass_new(qctx *q, op *child) {
    struct pass_op *p = arena_calloc(q->a, sizeof *p);
    op_init(&p->o, q, child->ncols);
    memcpy(p->o.types, child->types, child->ncols);
    p->o.next = pass_next;
    p->o.close = pass_close;
    p->child = child;
    return &p->o;
}

/* VALUES (1, 'a'), (2, 'b'), (3, NULL) */
static op *values3(qctx *q) {
    static const uint8_t types[] = {VT_I64, VT_STR};
    batch *b = arena_calloc(q->a, sizeof *b);
    b->ncols = 2;
    b->nrows = 3;
    b->cols = arena_calloc(q->a, sizeof *b->cols * 2);
    vec_alloc(q->a, VT_I64, 0, 3, &b->cols[0]);
    vec_alloc(q->a, VT_STR, 0, 3, &b->cols[1]);
    for (uint32_t i = 0; i < 3; i++) {
        b->cols[0].d.i64[i] = i + 1;
        b->cols[1].d.s[i] = (strv){i == 0 ? "a" : "b", 1};
    }
    vec_set_null(q->a, &b->cols[1], 2);
    return op_values(q, 2, types, NULL, b, 1);
}

/* column1 > k */
static bexpr *gt(arena *a, int64_t k) {
    bexpr *e = bx_new(a, BX_CMP, VT_BOOL, 2);
    e->op = OP_GT;
    e->args[0] = bx_col(a, 0, VT_I64, 0);
    value v = {.type = VT_I64};
    v.v.i = k;
    e->args[1] = bx_const(a, v);
    return e;
}

static void test_unknown_and_named_operators(void **state) {
    (void)state;
    arena *a = arena_new(0);
    qctx q = {.a = a, .ba = arena_new(0)};

    /* describes nothing, names no input: a leaf that says what it is not */
    op *bare = pass_new(&q, values3(&q));
    assert_string_equal(explain_render(a, bare, NULL, false, EXPLAIN_PHYSICAL),
                        "UnknownExec(2 columns)\n");

    /* the hook: a name in each plan and the input, walked through */
    op *f = op_filter(&q, values3(&q), gt(a, 1));
    struct pass_op *w = (struct pass_op *)pass_new(&q, f);
    op_explain_as(&w->o, "WindowAggExec", "WindowAggr", &w->child, 1);
    static const char *names[] = {"n", "s"};
    assert_string_equal(explain_render(a, &w->o, names, false, EXPLAIN_PHYSICAL),
                        "WindowAggExec\n"
                        "  FilterExec: column1@0 > 1\n"
                        "    ValuesExec\n");
    assert_string_equal(explain_render(a, &w->o, names, false, EXPLAIN_LOGICAL),
                        "WindowAggr\n"
                        "  Filter: column1 > Int64(1)\n"
                        "    Values: (Int64(1), Utf8(\"a\")), (Int64(2), Utf8(\"b\")), "
                        "(Int64(3), Utf8(NULL))");
    /* its output columns are its input's: a projection above names them */
    bexpr **ex = arena_alloc(a, sizeof *ex * 2);
    ex[0] = bx_col(a, 1, VT_STR, 0);
    ex[1] = bx_col(a, 0, VT_I64, 0);
    op *p = op_project(&q, &w->o, ex, 2);
    static const char *pnames[] = {"letter", "column1"};
    char *txt = explain_render(a, p, pnames, false, EXPLAIN_PHYSICAL);
    assert_non_null(
        strstr(txt, "ProjectionExec: expr=[column2@1 as letter, column1@0 as column1]"));
    bare->close(bare);
    p->close(p);
    arena_free(q.ba);
    arena_free(a);
}

static void test_analyze_counts_rows(void **state) {
    (void)state;
    arena *a = arena_new(0);
    qctx q = {.a = a, .ba = arena_new(0)};
    op *root = op_limit(&q, op_filter(&q, values3(&q), gt(a, 1)), 0, 5);
    explain_instrument(a, root);
    err e;
    err_clear(&e);
    batch b;
    uint64_t total = 0;
    int rc;
    while ((rc = root->next(root, &b, &e)) > 0) total += b.nrows;
    assert_int_equal(rc, 0);
    assert_int_equal(total, 2);
    root->close(root);
    char *txt = explain_render(a, root, NULL, true, EXPLAIN_METRICS);
    const char *want[] = {"GlobalLimitExec: skip=0, fetch=5, metrics=[output_rows=2, ",
                          "\n  FilterExec: column1@0 > 1, metrics=[output_rows=2, ",
                          "\n    ValuesExec, metrics=[output_rows=3, "};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(txt, want[i])) fail_msg("no '%s' in:\n%s", want[i], txt);
    /* without ANALYZE the operators run unwrapped and print no metrics */
    op *plain = op_filter(&q, values3(&q), gt(a, 0));
    assert_ptr_equal(plain->stats, NULL);
    assert_null(strstr(explain_render(a, plain, NULL, false, EXPLAIN_METRICS), "metrics"));
    plain->close(plain);
    arena_free(q.ba);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_and_named_operators),
        cmocka_unit_test(test_analyze_counts_rows),
    };
    return cmocka_run_group_tests_name("sql_explain", tests, NULL, NULL);
}
