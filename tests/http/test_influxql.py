"""InfluxDB 1.x's /query with InfluxQL: statements, functions, GROUP BY time with fill, the
response shapes (JSON, pretty, chunked, CSV, epoch) and InfluxDB's errors. Each test writes its
own database through /write so the tests do not see each other's rows."""

import json
import urllib.parse

import pytest

T0 = 1600000000  # 2020-09-13T12:26:40Z


def q(srv, text, db=None, method="GET", headers=None, **params):
    p = {"q": text}
    if db is not None:
        p["db"] = db
    p.update(params)
    if method == "GET":
        return srv.request("GET", "/query?" + urllib.parse.urlencode(p), headers=headers)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return srv.request("POST", "/query", urllib.parse.urlencode(p), h)


def ok(srv, text, db=None, **kw):
    r = q(srv, text, db=db, **kw)
    assert r.status == 200, r
    assert r.header("X-Influxdb-Version") == "1.8.10"
    return json.loads(r.text)


def series(srv, text, db=None, **kw):
    res = ok(srv, text, db=db, **kw)["results"]
    assert len(res) == 1 and "error" not in res[0], res
    return res[0].get("series", [])


def load(srv, db, lines):
    r = srv.request("POST", "/query?" + urllib.parse.urlencode({"q": f"CREATE DATABASE {db}"}))
    assert r.status == 200, r
    r = srv.write(lines, db=db, precision="s", path="/write")
    assert r.status == 204, r


CPU = "\n".join([
    f"cpu,host=a,region=x v=1,w=2i {T0}",
    f"cpu,host=b v=3,s=\"str\",b=true {T0 + 60}",
    f"cpu,host=a,region=x v=5,w=4i {T0 + 120}",
    f"cpu,host=a,region=x v=6,w=10i {T0 + 130}",
    f"mem,host=a used=10i {T0}",
])


@pytest.fixture(scope="module")
def cpu(server):
    load(server, "iq", CPU)
    return server


def test_show_databases_and_create_drop(server):
    assert ok(server, "CREATE DATABASE d1 WITH DURATION 7d") == {"results": [{"statement_id": 0}]}
    names = [v[0] for v in series(server, "SHOW DATABASES")[0]["values"]]
    assert "d1" in names and "public" in names
    s = series(server, "SHOW RETENTION POLICIES ON d1")
    assert s == [{"columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"],
                  "values": [["autogen", "168h0m0s", s[0]["values"][0][2], 1, True]]}]
    ok(server, "DROP DATABASE d1")
    names = [v[0] for v in series(server, "SHOW DATABASES")[0]["values"]]
    assert "d1" not in names


def test_raw_select_star_and_where(cpu):
    s = series(cpu, "SELECT * FROM cpu", db="iq")
    assert s == [{"name": "cpu", "columns": ["time", "b", "host", "region", "s", "v", "w"],
                  "values": [["2020-09-13T12:26:40Z", None, "a", "x", None, 1, 2],
                             ["2020-09-13T12:27:40Z", True, "b", None, "str", 3, None],
                             ["2020-09-13T12:28:40Z", None, "a", "x", None, 5, 4],
                             ["2020-09-13T12:28:50Z", None, "a", "x", None, 6, 10]]}]
    s = series(cpu, "SELECT v, host FROM cpu WHERE host = 'a' AND v > 1", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:40Z", 5, "a"], ["2020-09-13T12:28:50Z", 6, "a"]]
    s = series(cpu, "SELECT v FROM cpu WHERE host =~ /^b/ OR region = 'x' AND time >= "
                    f"{T0 + 100}s", db="iq")
    assert [r[1] for r in s[0]["values"]] == [3, 5, 6]
    s = series(cpu, "SELECT v FROM cpu WHERE host !~ /a/", db="iq")
    assert [r[1] for r in s[0]["values"]] == [3]
    s = series(cpu, "SELECT v FROM cpu WHERE region = ''", db="iq")
    assert [r[1] for r in s[0]["values"]] == [3]
    s = series(cpu, "SELECT v FROM cpu WHERE time > '2020-09-13T12:28:40Z'", db="iq")
    assert [r[1] for r in s[0]["values"]] == [6]
    s = series(cpu, "SELECT v * 2 + 1 AS x, w::field, host::tag, -w, v / 0 FROM cpu "
                    "WHERE host='a'", db="iq")
    assert s[0]["columns"] == ["time", "x", "w", "host", "w_1", "v"]
    assert s[0]["values"][0][1:] == [3, 2, "a", -2, 0]


def test_raw_order_limit_offset_slimit(cpu):
    s = series(cpu, "SELECT v FROM cpu ORDER BY time DESC LIMIT 2 OFFSET 1", db="iq")
    assert [r[1] for r in s[0]["values"]] == [5, 3]
    s = series(cpu, "SELECT v FROM cpu GROUP BY host", db="iq")
    assert [x["tags"] for x in s] == [{"host": "a"}, {"host": "b"}]
    s = series(cpu, "SELECT v FROM cpu GROUP BY host SLIMIT 1 SOFFSET 1", db="iq")
    assert [x["tags"] for x in s] == [{"host": "b"}]
    s = series(cpu, "SELECT v FROM cpu GROUP BY * LIMIT 1", db="iq")
    assert [(x["tags"], len(x["values"])) for x in s] == [
        ({"host": "a", "region": "x"}, 1), ({"host": "b", "region": ""}, 1)]


def test_aggregates(cpu):
    r = ok(cpu, "SELECT count(v), distinct(v) FROM cpu", db="iq")["results"][0]
    assert r["error"] == ("aggregate function distinct() cannot be combined with other functions "
                          "or fields")
    s = series(cpu, "SELECT count(v), sum(v), mean(v), median(v), mode(v), spread(v), "
                    "stddev(w), sum(w), spread(w) FROM cpu", db="iq")
    assert s[0]["columns"] == ["time", "count", "sum", "mean", "median", "mode", "spread",
                               "stddev", "sum_1", "spread_1"]
    row = s[0]["values"][0]
    assert row[:7] == ["1970-01-01T00:00:00Z", 4, 15, 3.75, 4, 1, 5]
    assert row[7] == pytest.approx(4.163331998932265)
    assert row[8:] == [16, 8]
    s = series(cpu, "SELECT mean(v) FROM cpu WHERE time >= " f"{T0}s", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:26:40Z", 3.75]]
    s = series(cpu, "SELECT mean(*) FROM cpu", db="iq")
    assert s[0]["columns"] == ["time", "mean_v", "mean_w"]
    s = series(cpu, "SELECT mean(v) * 2, mean(v) + max(v) FROM cpu", db="iq")
    assert s[0]["values"][0][1:] == [7.5, 9.75]
    s = series(cpu, "SELECT integral(v) FROM cpu WHERE host = 'a'", db="iq")
    assert s[0]["values"][0][1] == (1 + 5) / 2 * 120 + (5 + 6) / 2 * 10


def test_selectors_report_the_points_time(cpu):
    s = series(cpu, "SELECT max(v) FROM cpu", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:50Z", 6]]
    s = series(cpu, "SELECT first(v) FROM cpu", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:26:40Z", 1]]
    s = series(cpu, "SELECT last(v), min(v) FROM cpu", db="iq")
    assert s[0]["values"] == [["1970-01-01T00:00:00Z", 6, 1]]
    s = series(cpu, "SELECT percentile(v, 50) FROM cpu", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:27:40Z", 3]]
    s = series(cpu, "SELECT top(v, 2) FROM cpu", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:40Z", 5], ["2020-09-13T12:28:50Z", 6]]
    s = series(cpu, "SELECT bottom(v, 2) FROM cpu", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:26:40Z", 1], ["2020-09-13T12:27:40Z", 3]]
    s = series(cpu, "SELECT sample(v, 2) FROM cpu", db="iq")
    assert len(s[0]["values"]) == 2
    points = series(cpu, "SELECT v FROM cpu", db="iq")[0]["values"]
    assert len({tuple(v) for v in points}) >= 4
    drawn = set()
    for _ in range(30):  # a random draw each time: 30 equal draws of 2 from 4+ has odds < 1e-20
        vals = series(cpu, "SELECT sample(v, 2) FROM cpu", db="iq")[0]["values"]
        assert len(vals) == 2 and vals[0][0] <= vals[1][0], vals  # in time order
        assert all(v in points for v in vals), vals
        drawn.add(tuple(map(tuple, vals)))
    assert len(drawn) > 1, drawn
    assert len(series(cpu, "SELECT sample(v, 100) FROM cpu", db="iq")[0]["values"]) == len(points)
    s = series(cpu, "SELECT distinct(host) FROM cpu", db="iq")
    assert s[0]["values"] == [["1970-01-01T00:00:00Z", "a"], ["1970-01-01T00:00:00Z", "b"]]


def test_group_by_time_fill(cpu):
    base = f"FROM cpu WHERE time >= {T0}s AND time < {T0 + 240}s GROUP BY time(1m)"
    s = series(cpu, f"SELECT mean(v) {base}", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:26:00Z", 1], ["2020-09-13T12:27:00Z", 3],
                              ["2020-09-13T12:28:00Z", 5.5], ["2020-09-13T12:29:00Z", None],
                              ["2020-09-13T12:30:00Z", None]]
    s = series(cpu, f"SELECT mean(v) {base}, host fill(none)", db="iq")
    assert [(x["tags"]["host"], [r[1] for r in x["values"]]) for x in s] == [
        ("a", [1, 5.5]), ("b", [3])]
    s = series(cpu, f"SELECT mean(v) {base}, host fill(previous)", db="iq")
    assert [r[1] for r in s[0]["values"]] == [1, 1, 5.5, 5.5, 5.5]
    s = series(cpu, f"SELECT mean(v) {base}, host fill(linear)", db="iq")
    assert [r[1] for r in s[0]["values"]] == [1, 3.25, 5.5, None, None]
    s = series(cpu, f"SELECT mean(v) {base}, host fill(-1)", db="iq")
    assert [r[1] for r in s[1]["values"]] == [-1, 3, -1, -1, -1]
    s = series(cpu, f"SELECT count(v) {base}", db="iq")
    assert [r[1] for r in s[0]["values"]] == [1, 1, 2, 0, 0]
    # offset: buckets start 30s into each minute
    s = series(cpu, f"SELECT count(v) FROM cpu WHERE time >= {T0}s AND time < {T0 + 180}s "
                    "GROUP BY time(1m, 30s)", db="iq")
    assert [r[0] for r in s[0]["values"]][:2] == ["2020-09-13T12:26:30Z", "2020-09-13T12:27:30Z"]
    s = series(cpu, f"SELECT max(v) {base} fill(none) ORDER BY time DESC LIMIT 2", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:00Z", 6], ["2020-09-13T12:27:00Z", 3]]


def test_transformations(cpu):
    s = series(cpu, "SELECT derivative(v, 1m) FROM cpu WHERE host = 'a'", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:40Z", 2], ["2020-09-13T12:28:50Z", 6]]
    s = series(cpu, "SELECT difference(w), cumulative_sum(w), elapsed(w, 1s) FROM cpu "
                    "WHERE host = 'a'", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:26:40Z", None, 2, None],
                              ["2020-09-13T12:28:40Z", 2, 6, 120],
                              ["2020-09-13T12:28:50Z", 6, 16, 10]]
    s = series(cpu, "SELECT moving_average(v, 2) FROM cpu", db="iq")
    assert [r[1] for r in s[0]["values"]] == [2, 4, 5.5]
    s = series(cpu, f"SELECT non_negative_derivative(max(v), 1m) FROM cpu WHERE time >= {T0}s "
                    f"AND time < {T0 + 180}s GROUP BY time(1m)", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:27:00Z", 2], ["2020-09-13T12:28:00Z", 3]]


def test_show_statements(cpu):
    r = ok(cpu, "SHOW MEASUREMENTS; SHOW MEASUREMENTS WITH MEASUREMENT =~ /^m/ LIMIT 1; "
                "SHOW TAG KEYS FROM cpu; SHOW FIELD KEYS; SHOW TAG VALUES WITH KEY = host; "
                "SHOW TAG VALUES FROM cpu WITH KEY IN (host, region); SHOW SERIES; "
                "SHOW TAG VALUES WITH KEY =~ /reg/", db="iq")["results"]
    assert r[0]["series"] == [{"name": "measurements", "columns": ["name"],
                               "values": [["cpu"], ["mem"]]}]
    assert r[1]["series"][0]["values"] == [["mem"]]
    assert r[2]["series"] == [{"name": "cpu", "columns": ["tagKey"],
                               "values": [["host"], ["region"]]}]
    assert r[3]["series"] == [
        {"name": "cpu", "columns": ["fieldKey", "fieldType"],
         "values": [["b", "boolean"], ["s", "string"], ["v", "float"], ["w", "integer"]]},
        {"name": "mem", "columns": ["fieldKey", "fieldType"], "values": [["used", "integer"]]}]
    assert r[4]["series"] == [
        {"name": "cpu", "columns": ["key", "value"], "values": [["host", "a"], ["host", "b"]]},
        {"name": "mem", "columns": ["key", "value"], "values": [["host", "a"]]}]
    assert r[5]["series"][0]["values"] == [["host", "a"], ["host", "b"], ["region", "x"]]
    assert r[6]["series"] == [{"columns": ["key"],
                               "values": [["cpu,host=a,region=x"], ["cpu,host=b"],
                                          ["mem,host=a"]]}]
    assert r[7]["series"] == [{"name": "cpu", "columns": ["key", "value"],
                               "values": [["region", "x"]]}]


def test_drop_measurement(server):
    load(server, "dropm", f"gone v=1 {T0}\nkept v=2 {T0}")
    ok(server, "DROP MEASUREMENT gone", db="dropm")
    s = series(server, "SHOW MEASUREMENTS", db="dropm")
    assert s[0]["values"] == [["kept"]]


def test_empty_results(cpu):
    assert ok(cpu, "SELECT v FROM nope", db="iq") == {"results": [{"statement_id": 0}]}
    assert ok(cpu, "SELECT v FROM cpu WHERE host = 'zz'", db="iq") == {
        "results": [{"statement_id": 0}]}
    assert ok(cpu, "SELECT mean(v) FROM cpu WHERE time > now()", db="iq") == {
        "results": [{"statement_id": 0}]}
    assert ok(cpu, "SHOW TAG VALUES FROM nope WITH KEY = host", db="iq") == {
        "results": [{"statement_id": 0}]}


def test_epoch_pretty_post_and_several_statements(cpu):
    r = ok(cpu, "SELECT v FROM cpu LIMIT 1; SELECT w FROM cpu LIMIT 1", db="iq", epoch="s",
           method="POST")
    assert [x["statement_id"] for x in r["results"]] == [0, 1]
    assert r["results"][0]["series"][0]["values"] == [[T0, 1]]
    for unit, mul in (("ms", 1000), ("u", 10**6), ("ns", 10**9)):
        s = series(cpu, "SELECT v FROM cpu LIMIT 1", db="iq", epoch=unit)
        assert s[0]["values"][0][0] == T0 * mul
    r = q(cpu, "SELECT v FROM cpu LIMIT 1", db="iq", pretty="true")
    assert r.status == 200 and "\n    " in r.text
    assert json.loads(r.text)["results"][0]["series"][0]["values"][0][1] == 1


def test_chunked(cpu):
    r = q(cpu, "SELECT v FROM cpu GROUP BY host", db="iq", chunked="true", chunk_size="1")
    assert r.status == 200, r
    lines = [json.loads(x) for x in r.text.splitlines()]
    vals = [(x["results"][0]["series"][0]["tags"]["host"],
             x["results"][0]["series"][0]["values"],
             x["results"][0].get("partial", False)) for x in lines]
    assert vals == [("a", [["2020-09-13T12:26:40Z", 1]], True),
                    ("a", [["2020-09-13T12:28:40Z", 5]], True),
                    ("a", [["2020-09-13T12:28:50Z", 6]], True),
                    ("b", [["2020-09-13T12:27:40Z", 3]], False)]
    assert lines[0]["results"][0]["series"][0]["partial"] is True
    assert "partial" not in lines[2]["results"][0]["series"][0]


def test_csv(cpu):
    r = q(cpu, "SELECT v FROM cpu WHERE host = 'b' GROUP BY host; SHOW MEASUREMENTS", db="iq",
          headers={"Accept": "application/csv"})
    assert r.status == 200 and r.header("Content-Type") == "application/csv", r
    assert r.text == ("name,tags,time,v\n"
                      f"cpu,host=b,{(T0 + 60) * 10**9},3\n"
                      "\nname,tags,name\n"
                      "measurements,,cpu\n"
                      "measurements,,mem\n")


def test_errors(cpu):
    r = q(cpu, "")
    assert r.status == 400 and json.loads(r.text) == {"error": "missing required parameter \"q\""}
    r = q(cpu, "SELECT FROM cpu")
    assert r.status == 400 and r.header("X-Influxdb-Version") == "1.8.10"
    assert json.loads(r.text) == {"error": "error parsing query: found FROM, expected identifier, "
                                           "string, number, bool at line 1, char 8"}
    r = q(cpu, "SELECT v FROM cpu WHERE")
    assert json.loads(r.text)["error"].startswith("error parsing query: found EOF, expected")
    r = q(cpu, "SELEKT v FROM cpu")
    assert r.status == 400 and "found SELEKT, expected SELECT" in r.text
    r = q(cpu, "SELECT v FROM cpu WHERE host =~ /unterminated")
    assert r.status == 400 and "unterminated regex" in r.text
    r = q(cpu, "SELECT v FROM cpu;\nSELECT v FROM cpu WHERE v > 'x' 'y'")
    assert r.status == 400 and "at line 2, char 33" in r.text, r
    res = ok(cpu, "SELECT v FROM cpu LIMIT 1; SELECT v, mean(v) FROM cpu; SHOW DATABASES",
             db="iq")["results"]
    assert res[1] == {"statement_id": 1,
                      "error": "mixing aggregate and non-aggregate queries is not supported"}
    assert res[2] == {"statement_id": 2, "error": "not executed"}
    res = ok(cpu, "SELECT v FROM cpu GROUP BY time(1m)", db="iq")["results"]
    assert res[0]["error"] == "GROUP BY requires at least one aggregate function"
    res = ok(cpu, "SELECT time FROM cpu", db="iq")["results"]
    assert res[0]["error"] == "at least 1 non-time field must be queried"
    res = ok(cpu, "SELECT foo(v) FROM cpu", db="iq")["results"]
    assert res[0]["error"] == "undefined function foo()"
    res = ok(cpu, "SELECT v FROM cpu", db="nosuchdb")["results"]
    assert res[0]["error"] == "database not found: nosuchdb"
    r = cpu.request("PUT", "/query?q=SHOW+DATABASES")
    assert r.status == 405


def test_auth(make_server):
    srv = make_server(args=["--auth"])
    r = srv.request("GET", "/query?q=SHOW+DATABASES", auth=None)
    assert r.status == 401 and "error" in json.loads(r.text), r
    r = srv.request("GET", "/query?q=SHOW+DATABASES&u=root&p=wrong", auth=None)
    assert r.status == 401, r


def test_tz(cpu):
    s = series(cpu, "SELECT v FROM cpu WHERE host = 'b' tz('Europe/Berlin')", db="iq")
    assert s[0]["values"] == [["2020-09-13T14:27:40+02:00", 3]]
    # days are local days: buckets from local midnight, pushed into SQL (count) or not (median)
    for f in ("count", "median"):
        s = series(cpu, f"SELECT {f}(v) FROM cpu WHERE time >= '2020-09-13T00:00:00Z' AND "
                        "time < '2020-09-14T00:00:00Z' GROUP BY time(1d) fill(none) "
                        "tz('Asia/Kolkata')", db="iq")
        assert s[0]["values"] == [["2020-09-13T00:00:00+05:30", 4 if f == "count" else 4]]
    s = series(cpu, "SELECT v FROM cpu WHERE host = 'b' tz('UTC')", db="iq", epoch="s")
    assert s[0]["values"] == [[T0 + 60, 3]]
    r = ok(cpu, "SELECT v FROM cpu tz('Mars/Base')", db="iq")["results"][0]
    assert r["error"] == "unable to find time zone Mars/Base"
    r = ok(cpu, "SELECT v FROM cpu tz('../../etc/passwd')", db="iq")["results"][0]
    assert r["error"] == "unable to find time zone ../../etc/passwd"


def test_tz_across_a_dst_change(server):
    """New York springs forward on 2021-03-14 (07:00Z): that local day is 23 hours long, and
    daily buckets follow local midnights, whether the aggregate would go to the scan (count)
    or not (median)."""
    t0 = 1615593600  # 2021-03-13T00:00:00Z
    load(server, "dst", "\n".join(f"m v=1 {t0 + 3600 * h}" for h in range(80)))
    where = "WHERE time >= '2021-03-13T05:00:00Z' AND time < '2021-03-16T04:00:00Z'"
    for f, n in (("count", (24, 23, 24)), ("median", (1, 1, 1))):
        s = series(server, f"SELECT {f}(v) FROM m {where} GROUP BY time(1d) "
                           "tz('America/New_York')", db="dst")
        assert s[0]["values"] == [["2021-03-13T00:00:00-05:00", n[0]],
                                  ["2021-03-14T00:00:00-05:00", n[1]],
                                  ["2021-03-15T00:00:00-04:00", n[2]]], (f, s)
    # hourly buckets are all an hour long: the change is at least a bucket long
    s = series(server, "SELECT count(v) FROM m WHERE time >= '2021-03-14T06:00:00Z' AND "
                       "time < '2021-03-14T09:00:00Z' GROUP BY time(1h) tz('America/New_York')",
               db="dst", epoch="s")
    assert s[0]["values"] == [[1615701600, 1], [1615705200, 1], [1615708800, 1]], s


def test_aggregates_computed_by_the_scan(make_server):
    """mean/count/sum/min/max/spread per GROUP BY time bucket come from the SQL scan, one row
    per bucket and series: 200000 points answer under a memory limit that the points themselves
    would pass; a function the scan cannot compute (median) reports the limit."""
    srv = make_server(config='[query]\nquery_memory_limit = "16MiB"\n')
    load(srv, "big", "\n".join(f"m,host=h{i % 2} v={i % 100},n={i}i {T0 + i}"
                               for i in range(200000)))
    where = f"WHERE time >= {T0}s AND time < {T0 + 200000}s"
    s = series(srv, f"SELECT count(v), mean(v), sum(n), min(v), max(v), spread(n) FROM m {where} "
                    "GROUP BY time(100000s), host", db="big")
    assert [x["tags"]["host"] for x in s] == ["h0", "h1"]
    assert s[0]["values"][0] == ["2020-09-13T12:26:40Z", 50000, 49, 2499950000, 0, 98, 99998]
    assert s[1]["values"][1] == ["2020-09-14T16:13:20Z", 50000, 50, 7500000000, 1, 99, 99998]
    r = ok(srv, f"SELECT median(v), median(n) FROM m {where} GROUP BY time(100000s), host",
           db="big")
    assert "query_memory_limit" in r["results"][0]["error"]


@pytest.mark.parametrize("fn", ["count", "sum", "mean", "spread", "min", "max", "first", "last"])
def test_scan_aggregates_equal_row_aggregates(cpu, fn):
    """The aggregates the SQL scan computes (alone) and those computed here over the points
    (beside median, which the scan cannot do) agree, bucket by bucket, empty ones too."""
    tail = (f"FROM cpu WHERE time >= {T0}s AND time < {T0 + 240}s GROUP BY time(1m), host "
            "fill(null)")
    pushed = series(cpu, f"SELECT {fn}(w), {fn}(v) * 2 {tail}", db="iq")
    rows = series(cpu, f"SELECT {fn}(w), {fn}(v) * 2, median(v) {tail}", db="iq")
    assert [[r[:3] for r in x["values"]] for x in rows] == [x["values"] for x in pushed]
    assert any(r[1] is not None and r[1] != 0 for x in pushed for r in x["values"])
    if fn in ("first", "last", "count"):  # of a string field too, its nulls skipped
        pushed = series(cpu, f"SELECT {fn}(s) {tail}", db="iq")
        rows = series(cpu, f"SELECT {fn}(s), median(v) {tail}", db="iq")
        assert [[r[:2] for r in x["values"]] for x in rows] == [x["values"] for x in pushed]


def test_show_where_and_grafana_forms(cpu):
    r = ok(cpu, "SHOW MEASUREMENTS WHERE host = 'b'; SHOW TAG KEYS WHERE host = 'a'; "
                "SHOW MEASUREMENTS WHERE host = 'nobody'", db="iq")["results"]
    assert r[0]["series"][0]["values"] == [["cpu"]]
    assert [x["name"] for x in r[1]["series"]] == ["cpu", "mem"]
    assert r[2] == {"statement_id": 2}
    # as Grafana writes them: quoted names, db.rp.measurement, ::tag, $timeFilter in ms
    s = series(cpu, 'SELECT mean("v") FROM "iq"."autogen"."cpu" WHERE ("host"::tag =~ /^a$/) '
                    f"AND time >= {T0 * 1000}ms and time <= {(T0 + 179) * 1000}ms "
                    'GROUP BY time(1m), "host"::tag fill(null) ORDER BY time ASC', db="iq",
               epoch="ms")
    assert s == [{"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "mean"],
                  "values": [[(T0 - 40) * 1000, 1], [(T0 + 20) * 1000, None],
                             [(T0 + 80) * 1000, 5.5], [(T0 + 140) * 1000, None]]}]


@pytest.mark.parametrize("text,msg", [
    ("SELECT top(v, 0) FROM cpu", "expected a positive integer (at most 1000000) as top()'s "
                                  "second argument"),
    ("SELECT percentile(v, 101) FROM cpu", "expected a number from 0 to 100 as percentile()'s "
                                           "second argument"),
    ("SELECT derivative(v, 5) FROM cpu", "second argument to derivative must be a duration, "
                                         "got an integer"),
    ("SELECT moving_average(v) FROM cpu", "invalid number of arguments for moving_average, "
                                          "expected 2, got 1"),
    ("SELECT mean(v, 1) FROM cpu", "invalid number of arguments for mean, expected at most 1, "
                                   "got 2"),
    ("SELECT mean(mean(v)) FROM cpu GROUP BY time(1m)", "expected field argument in mean()"),
    ("SELECT v FROM cpu tz('Nowhere')", "unable to find time zone Nowhere"),
])
def test_function_argument_errors(cpu, text, msg):
    r = ok(cpu, text, db="iq")["results"][0]
    assert r == {"statement_id": 0, "error": msg}


def test_moving_average_longer_than_the_series(cpu):
    assert ok(cpu, "SELECT moving_average(v, 1000000) FROM cpu", db="iq") == {
        "results": [{"statement_id": 0}]}


def test_raw_limit_is_the_scans(server):
    """SELECT ... LIMIT without GROUP BY tags is the scan's LIMIT: rows without any selected
    field are left out before the limit counts them, OFFSET and ORDER BY time DESC included."""
    load(server, "raw", "\n".join(f"m,host=h{i % 2} v={i} {T0 + i}" for i in range(1000)) +
         f"\nm x=1 {T0 + 3000}\nm x=2 {T0 - 1}")
    s = series(server, "SELECT v, host FROM m LIMIT 2 OFFSET 1", db="raw", epoch="s")
    assert s[0]["values"] == [[T0 + 1, 1, "h1"], [T0 + 2, 2, "h0"]]
    s = series(server, "SELECT x FROM m LIMIT 1", db="raw", epoch="s")
    assert s[0]["values"] == [[T0 - 1, 2]]
    s = series(server, "SELECT v FROM m ORDER BY time DESC LIMIT 2 OFFSET 1", db="raw",
               epoch="s")
    assert s[0]["values"] == [[T0 + 998, 998], [T0 + 997, 997]]
    s = series(server, "SELECT x FROM m LIMIT 1 OFFSET 1", db="raw", epoch="s")
    assert s[0]["values"] == [[T0 + 3000, 1]]
    s = series(server, "SELECT x, v FROM m ORDER BY time DESC LIMIT 2", db="raw", epoch="s")
    assert s[0]["values"] == [[T0 + 3000, 1, None], [T0 + 999, None, 999]]


def test_bucket_count_is_bounded(make_server):
    """GROUP BY time over a range of more buckets than the query memory limit can hold is
    refused with InfluxDB's max-select-buckets error rather than allocated."""
    srv = make_server(config='[query]\nquery_memory_limit = "16MiB"\n')
    load(srv, "bk", f"m v=1 {T0}")
    r = ok(srv, f"SELECT mean(v) FROM m WHERE time >= {T0}s AND time < {T0 + 1000000}s "
                "GROUP BY time(1s)", db="bk")["results"][0]
    assert r["error"] == "max-select-buckets limit exceeded: (1000000/174762)"
    s = series(srv, f"SELECT mean(v) FROM m WHERE time >= {T0}s AND time < {T0 + 3600}s "
                    "GROUP BY time(1s) fill(none)", db="bk")
    assert s[0]["values"] == [["2020-09-13T12:26:40Z", 1]]


def test_group_by_regex_and_qualified_names(cpu):
    s = series(cpu, "SELECT count(v) FROM cpu GROUP BY /^reg/", db="iq")
    assert [(x["tags"], x["values"][0][1]) for x in s] == [({"region": ""}, 1),
                                                         ({"region": "x"}, 3)]
    # db.rp.measurement names the database; rp.measurement does not
    s = series(cpu, 'SELECT count(v) FROM "iq"."autogen"."cpu"', db="public")
    assert s[0]["values"][0][1] == 4
    s = series(cpu, "SELECT count(v) FROM iq..cpu")
    assert s[0]["values"][0][1] == 4
    r = ok(cpu, 'SELECT count(v) FROM "autogen"."cpu"', db="public")["results"][0]
    assert r == {"statement_id": 0}
    r = q(cpu, "SELECT v FROM a.b.c.d")
    assert r.status == 400 and "found ., expected identifier" in r.text, r


def test_database_in_milliseconds(server):
    """A database of another precision: time bounds are compared in its unit (a bound between
    two of its ticks rounds the right way) and times are answered in nanoseconds."""
    server.sql_ok("CREATE DATABASE msdb WITH PRECISION 'ms'")
    r = server.write(f"m v=1 {T0}001\nm v=2 {T0}002\nm v=3 {T0}003", db="msdb", precision="ms",
                     path="/write")
    assert r.status == 204, r
    s = series(server, f"SELECT v FROM m WHERE time > {T0}001500000 AND time <= {T0}003000000",
               db="msdb", epoch="ns")
    assert s[0]["values"] == [[int(f"{T0}002000000"), 2], [int(f"{T0}003000000"), 3]]
    s = series(server, f"SELECT count(v) FROM m WHERE time >= {T0}000ms AND time < {T0}002ms "
                       "GROUP BY time(1ms) fill(none)", db="msdb")
    assert s[0]["values"] == [["2020-09-13T12:26:40.001Z", 1]]


def test_subqueries(cpu):
    base = f"WHERE time >= {T0}s AND time < {T0 + 180}s"
    # the largest per-minute max of each host, then their mean across hosts
    s = series(cpu, f"SELECT max(m) FROM (SELECT max(v) AS m FROM cpu {base} GROUP BY time(1m), "
                    "host) GROUP BY host", db="iq")
    assert [(x["tags"]["host"], x["values"][0][1:]) for x in s] == [("a", [6]), ("b", [3])]
    s = series(cpu, f"SELECT mean(m), count(m) FROM (SELECT max(v) AS m FROM cpu {base} "
                    "GROUP BY time(1m), host)", db="iq")
    assert s[0]["values"][0][1:] == [(1 + 6 + 3) / 3, 3]
    # the outer WHERE on the inner's tags, fields and time; raw rows of a subquery
    s = series(cpu, f"SELECT m FROM (SELECT max(v) AS m FROM cpu {base} GROUP BY time(1m), host) "
                    f"WHERE host =~ /a/ AND m > 1 AND time >= {T0 + 60}s", db="iq")
    assert s[0]["values"] == [["2020-09-13T12:28:00Z", 6]]
    s = series(cpu, "SELECT sum(d) FROM (SELECT difference(w) AS d FROM cpu WHERE host = 'a')",
               db="iq")
    assert s[0]["values"][0][1:] == [8]
    assert ok(cpu, "SELECT mean(x) FROM (SELECT v AS x FROM nope)", db="iq") == {
        "results": [{"statement_id": 0}]}
    r = ok(cpu, "SELECT mean(x) FROM (SELECT foo(v) AS x FROM cpu)", db="iq")["results"][0]
    assert r["error"] == "undefined function foo()"
    r = q(cpu, "SELECT mean(x) FROM (SELECT v FROM cpu")
    assert r.status == 400 and "found EOF, expected )" in r.text, r


def test_delete_and_drop_series(server):
    load(server, "del", "\n".join([f"m,host=a v=1 {T0}", f"m,host=a v=2 {T0 + 60}",
                                   f"m,host=b v=3 {T0}", f"n,host=a v=4 {T0}"]))
    ok(server, f"DELETE FROM m WHERE host = 'a' AND time < {T0 + 30}s", db="del")
    s = series(server, "SELECT v FROM m GROUP BY host", db="del")
    assert [(x["tags"]["host"], [r[1] for r in x["values"]]) for x in s] == [("a", [2]),
                                                                             ("b", [3])]
    ok(server, "DROP SERIES FROM m WHERE host = 'b'", db="del")
    s = series(server, "SELECT v FROM m GROUP BY host", db="del")
    assert [x["tags"]["host"] for x in s] == ["a"]
    ok(server, "DELETE WHERE host = 'a'", db="del")  # every measurement
    assert ok(server, "SELECT * FROM m, n", db="del") == {"results": [{"statement_id": 0}]}
    r = ok(server, f"DROP SERIES FROM m WHERE time > {T0}s", db="del")["results"][0]
    assert r["error"] == "DROP SERIES doesn't support time in WHERE clause"
    r = q(server, "DELETE")
    assert r.status == 400 and "found EOF, expected FROM, WHERE" in r.text, r
