"""The SQL fuzzer (tests/fuzz/sql_fuzz.py, docs/testing.md) in the test suite: a short
deterministic run against the binary under test, and checks that its oracles do report
answers that disagree (a fuzzer whose oracles always agree would find nothing)."""

import os
import subprocess
import sys
from pathlib import Path

from strata_http import STRATA_BIN

FUZZ_DIR = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

from sqlfuzz.gen import (Col, ExprGen, Model, Node, Row, Schema, Step, col_node,  # noqa: E402
                         make_rng)
from sqlfuzz.oracles import BY_NAME, Ctx, Result  # noqa: E402


def test_fuzz_smoke_seed_3(strata_bin):
    """200 queries of seed 3: no crash, no 5xx, no oracle disagreeing."""
    r = subprocess.run(
        [sys.executable, str(FUZZ_DIR / "sql_fuzz.py"), "--binary", STRATA_BIN, "--seed", "3",
         "--queries", "200", "--seconds", "0", "--no-reduce", "--timeout", "30"],
        capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("STRATA_")})
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "findings 0" in r.stdout, r.stdout[-3000:]
    assert "fuzzer errors 0" in r.stdout, r.stdout[-6000:]


def csv(*lines):
    return Result(200, "".join(line + "\n" for line in lines))


def ctx_one_table():
    cols = [Col("time", "time", "ts"), Col("t0", "tag", "str"), Col("f0", "field", "int")]
    schema = Schema("fz", "ns", "t", cols, False)
    steps = [Step("insert", [Row({"t0": "a"}, 1, {"f0": 5}), Row({}, 2, {"f0": 7}),
                             Row({"t0": "a"}, 1, {"f0": 6})])]
    return Ctx(schema, cols, Model.of(steps))


def gen_params(name, ctx):
    g = ExprGen(make_rng(3), ctx.cols, "ns", {"time": [1, 2], "t0": ["a"], "f0": [5, 7]})
    return BY_NAME[name].gen(g, ctx)


def test_oracle_model_counts_merged_rows():
    ctx = ctx_one_table()
    ok = csv("COUNT(*),COUNT(t.t0),COUNT(t.f0)", "2,1,2")
    lost = csv("COUNT(*),COUNT(t.t0),COUNT(t.f0)", "3,2,3")
    rows = sorted(BY_NAME["model"].described(ctx))
    desc = csv("column_name,data_type,column_type,compression_codec",
               *(",".join(r) for r in rows))
    assert BY_NAME["model"].check(ctx, {}, [ok, desc]) is None
    assert "count(*) 2 vs 3" in BY_NAME["model"].check(ctx, {}, [lost, desc])
    short = csv("column_name,data_type,column_type,compression_codec",
                *(",".join(r) for r in rows[1:]))
    assert "DESCRIBE TABLE: missing" in BY_NAME["model"].check(ctx, {}, [ok, short])


def test_oracle_tlp_where_reports_a_lost_row():
    ctx = ctx_one_table()
    p = gen_params("tlp_where", ctx)
    whole = csv("x", "1", "2")
    agree = [whole, csv("x", "1"), csv("x", "2"), csv("x")]
    assert BY_NAME["tlp_where"].check(ctx, p, agree) is None
    lost = [whole, csv("x", "1"), csv("x"), csv("x")]
    assert "partitions" in BY_NAME["tlp_where"].check(ctx, p, lost)


def test_oracle_tlp_agg_recombines():
    ctx = ctx_one_table()
    p = gen_params("tlp_agg", ctx)
    p["x"] = col_node(ctx.cols[2])
    head = "c,mi,ma,s"
    agree = [csv(head, "3,1,9,12"), csv(head, "2,1,3,4"), csv(head, "1,9,9,8"), csv(head, "0,,,")]
    assert BY_NAME["tlp_agg"].check(ctx, p, agree) is None
    bad_max = [csv(head, "3,1,8,12"), csv(head, "2,1,3,4"), csv(head, "1,9,9,8"),
               csv(head, "0,,,")]
    assert "max" in BY_NAME["tlp_agg"].check(ctx, p, bad_max)
    bad_sum = [csv(head, "3,1,9,13"), csv(head, "2,1,3,4"), csv(head, "1,9,9,8"),
               csv(head, "0,,,")]
    assert "sum" in BY_NAME["tlp_agg"].check(ctx, p, bad_sum)


def test_oracle_pushdown_and_fold_and_topn_report_differences():
    ctx = ctx_one_table()
    p = gen_params("pushdown", ctx)
    assert BY_NAME["pushdown"].check(ctx, p, [csv("a", "1"), csv("a", "1"), csv("n", "1")]) \
        is None
    assert BY_NAME["pushdown"].check(ctx, p, [csv("a", "1"), csv("a", "1", "1"), csv("n", "1")])

    p = gen_params("fold", ctx)
    assert BY_NAME["fold"].check(ctx, p, [csv("e,n", "5,false"), csv("e,n", "5,false")]) is None
    assert BY_NAME["fold"].check(ctx, p, [csv("e,n", "5,false"), csv("e,n", ",true")])

    p = {"keys": [col_node(ctx.cols[2])], "dirs": [("", "")], "limit": 2, "offset": 1}
    full = csv("k", "1", "2", "3", "\"\"")  # NULL last
    assert BY_NAME["topn"].check(ctx, p, [full, csv("k", "2", "3")]) is None
    assert BY_NAME["topn"].check(ctx, p, [full, csv("k", "1", "2")])
    unsorted = csv("k", "2", "1", "3", "\"\"")
    assert "not sorted" in BY_NAME["topn"].check(ctx, p, [unsorted, csv("k", "1", "3")])


def test_reference_evaluator():
    """The eval oracle's reference: three-valued logic, LIKE without backtracking (a pattern
    of many wildcards against a long text must not hang the fuzzer), ASCII-only ILIKE."""
    from sqlfuzz.evaluate import (Unsupported, evaluate, float_arith, float_fn, like_match,
                                  same_value)

    assert like_match("abc", "a%", False) and like_match("abc", "_b_", False)
    assert not like_match("abc", "%b", False) and like_match("a%c", "a\\%c", False)
    assert like_match("ABC", "abc", True) and not like_match("Ç", "ç", True)
    assert not like_match("a" * 3000, "%a" * 40 + "%b", False)

    def node(ty, fmt, kids=(), label=None):
        return Node(ty, fmt, list(kids), label)

    null, one = node("int", "CAST(NULL AS BIGINT)"), node("int", "1")
    cmp = node("bool", "({0} = {1})", [null, one], "=")
    assert evaluate(cmp, {}) is None
    assert evaluate(node("bool", "({0} OR {1})", [cmp, node("bool", "TRUE")], "OR"), {}) is True
    assert evaluate(node("bool", "({0} IN ({1}, {2}))", [one, null, one], "IN"), {}) is True
    big = node("int", "9223372036854775807")
    try:
        evaluate(node("int", "({0} + {1})", [big, one], "+"), {})
        raise AssertionError("an overflow must be Unsupported")
    except Unsupported:
        pass

    assert float_arith("/", 1.0, -0.0) == float("-inf") and float_arith("%", 1.0, 0.0) != 0
    assert same_value("-0.0", -0.0) and not same_value("0.0", -0.0)
    assert same_value("1.0e308", 1e308) and same_value("NaN", float("nan"))
    assert same_value("-0.0", float_fn("ceil", -0.5)) and float_fn("floor", -0.5) == -1.0


# ------------------------------------------------------------ relational oracles


# A seed whose 600 queries run every relational oracle and none of the bugs the long runs
# found (findings/rel): a change that breaks a join, window or set operation these queries
# use, or an oracle, fails it.
REL_SMOKE_SEED = 50


def test_fuzz_relational_smoke(strata_bin):
    """A short run of only the relational oracles (joins, subqueries, windows, set
    operations, grouping sets): no crash, no 5xx, no disagreement, no fuzzer error."""
    r = subprocess.run(
        [sys.executable, str(FUZZ_DIR / "sql_fuzz.py"), "--binary", STRATA_BIN, "--seed",
         str(REL_SMOKE_SEED), "--oracles", "rel", "--queries", "600", "--seconds", "0",
         "--no-reduce", "--timeout", "30"],
        capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("STRATA_")})
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "findings 0" in r.stdout, r.stdout[-3000:]
    assert "fuzzer errors 0" in r.stdout, r.stdout[-6000:]
    for name in ("join_count", "join_semi", "sub_not_in", "window", "set_ref", "grouping"):
        assert f" {name} " in r.stdout, f"{name} did not run:\n{r.stdout[-3000:]}"


def id_row(t, tag):
    """The identity items of ctx_one_table's row (time, t0, t0 IS NULL)."""
    return f"{t},{tag or ''},{'true' if tag is None else 'false'}"


def test_oracle_join_count_adds_unmatched_rows():
    ctx = ctx_one_table()
    p = {"keys": [col_node(ctx.cols[1])], "kind": "left", "kw": "LEFT JOIN",
         "shape": "left on"}
    # key a: 2 rows; NULL key: 1 row (matches nothing, kept once by LEFT JOIN)
    groups = csv("k,n,c,ca,cb", "a,false,2,2,2", ",true,1,1,1")
    assert BY_NAME["join_count"].check(ctx, p, [groups, csv("c", "5")]) is None
    assert "unmatched left" in BY_NAME["join_count"].check(ctx, p, [groups, csv("c", "4")])
    p["kind"] = "full"
    assert BY_NAME["join_count"].check(ctx, p, [groups, csv("c", "6")]) is None


def test_oracle_join_outer_null_extends_unmatched_rows():
    ctx = ctx_one_table()
    p = {"keys": [col_node(ctx.cols[1])], "kind": "left", "shape": "left"}
    inner = csv("h", id_row(1, "a") + "," + id_row(1, "a"))
    every = csv("h", id_row(1, "a"), id_row(2, None))
    outer = csv("h", id_row(1, "a") + "," + id_row(1, "a"), id_row(2, None) + ",,,true")
    assert BY_NAME["join_outer"].check(ctx, p, [inner, outer, every]) is None
    lost = csv("h", id_row(1, "a") + "," + id_row(1, "a"))
    assert "left join has 1 rows" in BY_NAME["join_outer"].check(ctx, p, [inner, lost, every])


def test_oracle_not_in_follows_the_null_rule():
    """x NOT IN (empty) is TRUE even for a NULL x; a NULL in the subquery makes it NULL for
    every x it does not equal; NOT EXISTS keeps the NULL x."""
    ctx = ctx_one_table()
    p = {"k": col_node(ctx.cols[2]), "p": Node("bool", "TRUE"), "shape": "plain"}
    every = csv("h", id_row(1, "a") + ",5,false", id_row(2, None) + ",,true")
    both = csv("h", id_row(1, "a"), id_row(2, None))
    empty = csv("k,n")
    oracle = BY_NAME["sub_not_in"]
    assert oracle.check(ctx, p, [both, both, both, every, empty]) is None
    only_a = csv("h", id_row(1, "a"))
    assert "NOT IN gives 1 rows, the reference 2" in \
        oracle.check(ctx, p, [only_a, both, both, every, empty])
    with_null = csv("k,n", ",true")
    assert oracle.check(ctx, p, [csv("h"), both, both, every, with_null]) is None
    assert "NOT IN" in oracle.check(ctx, p, [only_a, both, both, every, with_null])


def test_oracle_window_range_frame_reference():
    """sum(f0) OVER (ORDER BY f0 RANGE BETWEEN 1 PRECEDING AND CURRENT ROW): a value's frame
    holds the values within 1 below it and its peers; a NULL row's frame is its NULL peers."""
    ctx = ctx_one_table()
    f0 = col_node(ctx.cols[2])
    p = {"fn": "sum", "part": [], "keys": [f0], "dirs": [("", "")], "x": f0,
         "unique": False, "frame": ["RANGE", ["P", 1], ["C"]], "shape": "sum RANGE int"}

    def rows(*sums):
        vals = [(1, "1"), (2, "2"), (3, "2"), (4, "")]
        return csv("h", *(f"{id_row(t, 'a')},{v},{str(v == '').lower()},{v},"
                          f"{str(v == '').lower()},,{s}" for (t, v), s in zip(vals, sums)))
    assert BY_NAME["window"].check(ctx, p, [rows("1", "5", "5", "")]) is None
    assert "expected 5" in BY_NAME["window"].check(ctx, p, [rows("1", "4", "5", "")])
    p.update(fn="rank", frame=None, dirs=[(" DESC", "")])
    del p["frame"]
    # DESC puts NULL first: ranks NULL 1, 2 -> 2, 1 -> 4
    assert BY_NAME["window"].check(ctx, p, [rows("4", "2", "2", "1")]) is None
    assert "rank() = '2', expected 1" in BY_NAME["window"].check(ctx, p, [rows("4", "2", "2", "2")])


def test_oracle_set_ref_intersect_all_is_a_semi_join():
    ctx = ctx_one_table()
    p = {"items": [col_node(ctx.cols[2])], "op": "INTERSECT ALL", "shape": "INTERSECT ALL"}
    a, b = csv("x", "1", "1", "2"), csv("x", "1")
    assert BY_NAME["set_ref"].check(ctx, p, [a, b, csv("x", "1", "1")]) is None
    assert BY_NAME["set_ref"].check(ctx, p, [a, b, csv("x", "1")])
    p["op"] = "EXCEPT"
    assert BY_NAME["set_ref"].check(ctx, p, [a, b, csv("x", "2")]) is None


def test_oracle_grouping_rollup_is_the_union_of_group_bys():
    ctx = ctx_one_table()
    p = {"keys": [col_node(ctx.cols[1])], "x": col_node(ctx.cols[2]), "kind": "ROLLUP",
         "shape": "ROLLUP"}
    by_k = csv("h", "a,false,2,2,5,6,11")
    total = csv("h", "2,2,5,6,11")
    rollup = csv("h", "a,false,2,2,5,6,11", ",true,2,2,5,6,11")
    assert BY_NAME["grouping"].check(ctx, p, [rollup, csv("n", "2"), by_k, total]) is None
    assert BY_NAME["grouping"].check(ctx, p, [csv("h", "a,false,2,2,5,6,11"), csv("n", "2"),
                                              by_k, total])


def test_oracle_join_semi_is_the_left_rows_of_the_inner_join():
    ctx = ctx_one_table()
    p = {"keys": [col_node(ctx.cols[1])], "on": Node("bool", "TRUE")}
    a, b = id_row(1, "a"), id_row(2, None)
    inner = csv("h", a + "," + a)
    every = csv("h", a, b)
    agree = [inner, csv("h", a), csv("h", b), csv("h", a), csv("h", b), every]
    assert BY_NAME["join_semi"].check(ctx, p, agree) is None
    swapped = [inner, csv("h", a), csv("h", b), csv("h", a), csv("h", a), every]
    assert "NOT EXISTS gives 1 rows" in BY_NAME["join_semi"].check(ctx, p, swapped)
