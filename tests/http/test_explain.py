"""EXPLAIN ANALYZE over HTTP: the query runs to its end and every operator reports the rows it
produced (exact) and the time spent in it (a duration, not compared). The plans' text is tested
in tests/sql/explain.slt."""

import re

import pytest

HOSTS = 10
POINTS = 1000  # per host, one a second
T0 = 1672531200000000000


def cpu_lines():
    for h in range(HOSTS):
        for i in range(POINTS):
            yield f"cpu,host=h{h} usage={i % 100},n={i}i {T0 + i * 1000000000}"


def mem_lines():
    for h in range(HOSTS):
        for i in range(0, POINTS, 2):
            yield f"mem,host=h{h} free={i}i {T0 + i * 1000000000}"


@pytest.fixture(scope="module")
def data(server):
    server.write_ok("\n".join(cpu_lines()))
    server.write_ok("\n".join(mem_lines()))
    return server


DURATION = r"\d+(\.\d+)?(ns|µs|ms|s)"
LINE = re.compile(r"^( *)(\w+)(: .*)?, metrics=\[output_rows=(\d+), elapsed_compute=" + DURATION +
                  r"(, output_batches=(\d+), elapsed_total=" + DURATION + r")?\]$")


def analyze(srv, q, verbose=False):
    """The rows of EXPLAIN ANALYZE [VERBOSE] q: {plan_type: plan}."""
    r = srv.sql(f"EXPLAIN ANALYZE {'VERBOSE ' if verbose else ''}{q}", accept="application/json")
    assert r.status == 200, r
    return {row["plan_type"]: row["plan"] for row in r.json()}


def operators(plan):
    """[(depth, name, details, output_rows)] of a plan with metrics, every line checked."""
    ops = []
    for line in plan.rstrip("\n").split("\n"):
        m = LINE.match(line)
        assert m, f"not an operator line with metrics: {line!r}"
        ops.append((len(m.group(1)) // 2, m.group(2), m.group(3) or "", int(m.group(4))))
    return ops


def count(srv, q):
    return int(srv.sql_ok(f"SELECT count(*) FROM ({q})").split("\n")[1])


def test_rows_per_operator_are_exact(data):
    q = ("SELECT host, count(*) FROM cpu WHERE host IN ('h1', 'h2') AND usage >= 90 "
         "GROUP BY host")
    rows = analyze(data, q)
    assert list(rows) == ["Plan with Metrics"]
    ops = operators(rows["Plan with Metrics"])
    names = [o[1] for o in ops]
    assert names == ["ProjectionExec", "AggregateExec", "FilterExec", "TskvExec"]
    by = {o[1]: o for o in ops}
    # The tag filter ran in storage (two series), and so did the field filter: the scan
    # builds only the rows it keeps, and the FilterExec above has nothing left to drop.
    assert "tag_filter=" in by["TskvExec"][2]
    assert by["TskvExec"][3] == by["FilterExec"][3] == 2 * POINTS // 10 == count(
        data, "SELECT 1 FROM cpu WHERE host IN ('h1', 'h2') AND usage >= 90")
    assert by["AggregateExec"][3] == 2
    assert by["ProjectionExec"][3] == 2
    assert [o[0] for o in ops] == [0, 1, 2, 3]


def test_time_range_pushed_and_counted(data):
    # 100 seconds of every host
    q = ("SELECT time, usage FROM cpu WHERE time >= '2023-01-01T00:01:00' "
         "AND time < '2023-01-01T00:02:40'")
    ops = operators(analyze(data, q)["Plan with Metrics"])
    scan = ops[-1]
    assert scan[1] == "TskvExec"
    assert "time_range=[2023-01-01T00:01:00, 2023-01-01T00:02:39.999999999]" in scan[2]
    assert scan[3] == HOSTS * 100
    assert ops[0][3] == HOSTS * 100


def test_join_reports_build_side_and_rows(data):
    # host = 'h3' is copied across the join keys: both scans read one series, and the right
    # side (mem, a point every 2 s) is the smaller one, so it is built
    q = ("SELECT cpu.time, usage, free FROM cpu JOIN mem ON cpu.host = mem.host "
         "AND cpu.time = mem.time WHERE cpu.host = 'h3'")
    ops = operators(analyze(data, q)["Plan with Metrics"])
    join = [o for o in ops if o[1] == "HashJoinExec"][0]
    assert "mode=CollectRight" in join[2]
    assert "on=[(host@1, host@1), (time@0, time@0)]" in join[2]
    assert join[3] == POINTS // 2 == count(data, q)
    assert [o[3] for o in ops if o[1] == "TskvExec"] == [POINTS, POINTS // 2]
    # a field filter on the left leaves it the smaller side: it is built
    q2 = q + " AND usage < 10"
    ops = operators(analyze(data, q2)["Plan with Metrics"])
    join = [o for o in ops if o[1] == "HashJoinExec"][0]
    assert "mode=CollectLeft" in join[2]
    assert join[3] == POINTS // 20 == count(data, q2)
    assert [o[3] for o in ops if o[1] == "FilterExec"] == [POINTS // 10]
    # plain EXPLAIN cannot know the side: it is chosen while running
    plan = data.sql_ok("EXPLAIN " + q, accept="application/json")
    assert "mode=CollectSmaller" in plan


def test_limit_stops_the_scan_early(data):
    ops = operators(analyze(data, "SELECT usage FROM cpu LIMIT 5")["Plan with Metrics"])
    assert ops[0][3] == 5
    scan = ops[-1]
    assert 5 <= scan[3] < HOSTS * POINTS  # a batch or two, not the table


def test_verbose_adds_full_metrics_total_rows_and_duration(data):
    q = "SELECT host, max(usage) FROM cpu GROUP BY host ORDER BY host"
    rows = analyze(data, q, verbose=True)
    assert list(rows) == ["Plan with Metrics", "Plan with Full Metrics", "Output Rows", "Duration"]
    full = rows["Plan with Full Metrics"]
    for line in full.rstrip("\n").split("\n"):
        m = LINE.match(line)
        assert m and m.group(7) is not None, line  # output_batches and elapsed_total
    assert rows["Output Rows"] == str(HOSTS)
    assert re.fullmatch(DURATION, rows["Duration"])
    assert operators(full)[0][3] == HOSTS


def test_empty_input(data):
    ops = operators(analyze(data, "SELECT * FROM cpu WHERE host = 'nope'")["Plan with Metrics"])
    assert [o[3] for o in ops] == [0] * len(ops)


def test_analyze_error_is_the_query_error_and_server_goes_on(data):
    r = data.sql("EXPLAIN ANALYZE SELECT CAST(host AS BIGINT) FROM cpu")
    assert r.status == 422 and "Cannot cast string" in r.text
    # the same query unexplained, and EXPLAIN of it, behave as before
    assert data.sql("SELECT CAST(host AS BIGINT) FROM cpu").status == 422
    assert data.sql("EXPLAIN SELECT CAST(host AS BIGINT) FROM cpu").status == 200
    assert count(data, "SELECT * FROM cpu") == HOSTS * POINTS


def test_now_relative_ranges_reach_the_scan(data):
    """`time > now() - INTERVAL ...`, the dashboard query, narrows the scan like a literal does
    (now() is fixed for the query), also for a millisecond database whose time is cast to meet
    now()'s nanoseconds."""
    data.sql_ok("CREATE DATABASE IF NOT EXISTS now_ms WITH PRECISION 'ms'")
    data.write_ok("m v=1 1672531200000", db="now_ms", precision="ms")
    for db, table in (("public", "cpu"), ("now_ms", "m")):
        r = data.sql(f"EXPLAIN SELECT count(*) FROM {table} WHERE time > now() - INTERVAL '1 hour' "
                     "AND time <= now()", db=db, accept="application/json")
        assert r.status == 200, r
        phys = {row["plan_type"]: row["plan"] for row in r.json()}["physical_plan"]
        m = re.search(r"time_range=\[([^,\]]+), ([^\]]+)\]", phys)
        assert m and m.group(1) != "-inf" and m.group(2) != "+inf", phys
        assert "FilterExec" not in phys, phys
