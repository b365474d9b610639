"""Parallel aggregation (issue 7, item 8): an aggregate over a table scan runs its input in parts
on threads of their own. The answers must be the serial plan's at every parallelism, and the
query's memory limit and errors must hold for all its threads together."""

import json
import os
import subprocess
import sys

from strata_http import STRATA_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
SLT = os.path.join(HERE, "..", "sql")


def par_config(n, extra=""):
    return f"[query]\nparallelism = {n}\n{extra}"


def test_slt_answers_at_every_parallelism():
    """tests/sql/parallel.slt holds one expected answer per query; it must come out at 1, 3 and
    8 threads alike (the environment sets the key, as the slt runner starts its own server)."""
    for n in (1, 3, 8):
        env = dict(os.environ, STRATA_QUERY_PARALLELISM=str(n))
        r = subprocess.run([sys.executable, os.path.join(SLT, "run_slt.py"), "--binary", STRATA_BIN,
                            os.path.join(SLT, "parallel.slt")],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"parallelism {n}:\n{r.stdout}\n{r.stderr}"


def load(srv):
    """40 series over three vnodes, part in files and part in caches (one series' sources
    overlapping), with NULLs, NaN, strings and values exact in binary (multiples of 1/4)."""
    srv.sql_ok("CREATE DATABASE p WITH VNODE_DURATION '1d'")
    day = 86400
    lines = []
    for h in range(40):
        for k in range(60):
            t = (k % 3) * day + (k // 3) * 60 + h % 7
            fields = [f"i={(h * 31 + k * 17) % 97 - 40}i"]
            if (h + k) % 5:
                fields.append(f"f={((h * 13 + k * 7) % 400) / 4}")
            if k % 4 != 1:
                fields.append(f's="s{(h + k) % 9}"')
            if k % 6 == 0:
                fields.append(f"b={'true' if (h + k) % 2 else 'false'}")
            tags = f"host=h{h:02d},rack=r{h % 4}" + ("" if h % 10 == 9 else f",zone=z{h % 3}")
            lines.append(f"pt,{tags} {','.join(fields)} {t}")
    srv.write_ok("\n".join(lines), db="p", precision="s")
    srv.sql_ok("COMPACT DATABASE p")
    # after the compaction: rows in caches, some replacing fields of rows in files
    more = [f"pt,host=h{h:02d},rack=r{h % 4},zone=z{h % 3} f={h / 4},i={h}i {h % 7 + 60} "
            for h in range(0, 40, 3)]
    more.append("pt,host=h05,rack=r1,zone=z2 s=\"late\" 90000")
    srv.write_ok("\n".join(more), db="p", precision="s")
    srv.sql_ok("INSERT INTO pt (time, host, rack, zone, f) VALUES (7, 'h11', 'r3', 'z2', "
               "CAST('NaN' AS DOUBLE))", db="p")


QUERIES = [
    "SELECT count(*), count(f), sum(f), sum(i), min(f), max(f), avg(i), count(DISTINCT s) FROM pt",
    "SELECT host, count(*), sum(f), min(i), max(i), avg(f), spread(i), median(i) FROM pt GROUP BY host",
    "SELECT rack, zone, count(*), sum(i), min(s), max(s), count(b) FROM pt GROUP BY rack, zone",
    "SELECT host, first(time, f), last(time, f), first(time, s), last(time, s), last(time, b) "
    "FROM pt GROUP BY host",
    "SELECT date_bin(INTERVAL '5 minutes', time) AS t, count(*), sum(f), max(i) FROM pt GROUP BY t",
    "SELECT date_bin(INTERVAL '1 hour', time) AS t, host, sum(i), count(f) FROM pt "
    "WHERE time >= '1970-01-02T00:00:00Z' GROUP BY t, host",
    "SELECT s, count(*), sum(DISTINCT i), count(DISTINCT host) FROM pt GROUP BY s",
    "SELECT DISTINCT rack, s FROM pt",
    "SELECT zone, count(*) FROM pt WHERE f > 40 AND i < 10 GROUP BY zone",
    "SELECT count(*), sum(f) FROM pt WHERE host IN ('h03', 'h04') AND time < 100",
    "SELECT host, count(*) FROM pt WHERE time > '1980-01-01T00:00:00Z' GROUP BY host",
    "SELECT count(*), max(f) FROM pt WHERE time > '1980-01-01T00:00:00Z'",
    "SELECT b, count(*), min(f), max(f) FROM pt GROUP BY b HAVING count(*) > 1",
    "SELECT host, round(var(i), 6), round(stddev(f), 6) FROM pt GROUP BY host",
]

# streaming answers (no aggregate): parts run ahead on other threads, rows keep their order;
# the last matches no row
STREAMING = [
    "SELECT * FROM pt",
    "SELECT time, host, f * 2 AS f2, s FROM pt WHERE f > 40 OR s = 'late'",
    "SELECT host, i FROM pt WHERE zone = 'z1' AND time > 60",
    "SELECT time, host, b FROM pt WHERE b",
    "SELECT time, host FROM pt WHERE i > 1000",
]
QUERIES += STREAMING


def test_parallel_answers_equal_serial(make_server):
    """The same data and queries on a serial server and on one with 6 threads: the same JSON
    answers, rows in the same order (the groups come out in the order the serial plan meets
    them)."""
    serial = make_server(config=par_config(1))
    par = make_server(config=par_config(6))
    for srv in (serial, par):
        load(srv)
    for q in QUERIES:
        a = serial.sql(q, db="p", accept="application/json")
        b = par.sql(q, db="p", accept="application/json")
        assert a.status == 200, (q, a)
        assert b.status == 200, (q, b)
        assert json.loads(b.body) == json.loads(a.body), q
    # streaming answers are encoded by the threads that compute them: byte for byte the same
    # documents in every format (JSON's brackets and commas, the CSV header once)
    for q in STREAMING:
        for accept in ("text/csv", "text/tsv", "application/json", "application/nd-json"):
            a = serial.sql(q, db="p", accept=accept)
            b = par.sql(q, db="p", accept=accept)
            assert a.status == 200 and b.status == 200, (q, accept, a, b)
            assert b.body == a.body, (q, accept)


def test_parallel_query_over_memory_limit(make_server):
    """A grouping too large for the query's memory limit, built on several threads at once,
    fails with the limit's error; the server stays up and answers the next query."""
    srv = make_server(config=par_config(4, 'query_memory_limit = "16MiB"\n'))
    lines = "\n".join(f"big,h=h{i % 16} v={i}i,s=\"{'x' * 40}{i}\" {i}" for i in range(150000))
    srv.write_ok(lines)
    r = srv.sql("SELECT s, count(*), max(v) FROM big GROUP BY s")
    assert r.status == 500, r
    msg = r.json()["error_message"]
    assert msg.startswith("Resources exhausted") and "query_memory_limit" in msg, msg
    assert srv.sql_ok("SELECT count(*) FROM big") == "COUNT(*)\n150000\n"
    assert srv.sql_ok("SELECT h, count(*) FROM big WHERE h = 'h3' GROUP BY h") == \
        "h,COUNT(*)\nh3,9375\n"


def test_parallel_query_error_stops_every_part(make_server):
    """An error in one part (a remainder by zero in the rows of one series) is the query's
    error, whatever the other parts were doing, and nothing is left running."""
    srv = make_server(config=par_config(4))
    rows = [f"e,h=h{h} v={h * 1000 + k}i,d={0 if (h == 5 and k == 700) else 1}i {k}"
            for h in range(8) for k in range(1000)]
    srv.write_ok("\n".join(rows))
    r = srv.sql("SELECT h, sum(v % d) FROM e GROUP BY h")
    assert r.status == 422, r
    assert "Divide by zero" in r.json()["error_message"], r
    assert srv.sql_ok("SELECT count(*) FROM e") == "COUNT(*)\n8000\n"


def test_parallel_stream_error_and_early_close(make_server):
    """A streaming answer computed ahead by several threads: an error in a later part is the
    query's error (after the rows before it); a client that stops reading a large answer
    leaves nothing running, and the next queries are answered."""
    srv = make_server(config=par_config(4))
    rows = [f"e,h=h{h:02d} v={h * 1000 + k}i,d={0 if (h == 37 and k == 700) else 1}i {k}"
            for h in range(40) for k in range(1000)]
    srv.write_ok("\n".join(rows))
    r = srv.sql("SELECT h, v % d FROM e")
    assert r.status == 422, r
    assert "Divide by zero" in r.json()["error_message"], r
    # a big answer, streamed; the connection is dropped after its first bytes
    import http.client
    for _ in range(3):
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        c.request("POST", "/api/v1/sql?db=public&chunked=true", body=b"SELECT * FROM e",
                  headers={"Authorization": "Basic cm9vdDo="})
        resp = c.getresponse()
        assert resp.status == 200
        assert resp.read(1000)
        c.close()
    body = srv.sql_ok("SELECT h, v FROM e WHERE d = 1")
    lines = body.splitlines()
    assert len(lines) == 1 + 40 * 1000 - 1
    assert lines[1] == "h00,0" and lines[-1] == "h39,39999"
    assert srv.sql_ok("SELECT count(*) FROM e") == "COUNT(*)\n40000\n"


LASTPOINT = [
    ("SELECT host, last(time, f), last(time, i), last(time, s), last(time, b) FROM pt {w} "
     "GROUP BY host ORDER BY host"),
    "SELECT rack, last(time, f), last(time, s), last(time, zone) FROM pt {w} GROUP BY rack, zone "
    "ORDER BY rack, 4",
    "SELECT last(time, f), last(time, b) FROM pt {w}",
    # numbers only: each chunk of a file answers from its index (its pages' last values, the
    # time page read only when a field's last value is not on the chunk's last row)
    "SELECT host, max(time), last(time, f), last(time, i) FROM pt {w} GROUP BY host ORDER BY host",
    "SELECT rack, last(time, f), max(time) FROM pt {w} GROUP BY rack ORDER BY rack",
    "SELECT last(time, i), max(time), last(time, f) FROM pt {w}",
]


def test_lastpoint_reads_newest_rows(make_server):
    """last(time, x) grouped by tags reads only each series' newest rows (EXPLAIN says so), and
    answers as the full scan does: the same query with a filter that keeps every row (which
    turns the shortcut off), at 1 and 5 threads, over files, caches, overlapping sources, a
    DELETE, NULLs and NaN."""
    for n in (1, 5):
        srv = make_server(config=par_config(n))
        load(srv)
        srv.sql_ok("DELETE FROM pt WHERE host = 'h07' AND time >= '1970-01-03T00:00:00Z'", db="p")
        for q in LASTPOINT:
            for rng in ("", "time < '1970-01-02T00:30:00Z'"):
                fast = q.format(w="WHERE " + rng if rng else "")
                full = q.format(w="WHERE (i IS NULL OR i IS NOT NULL)" + (" AND " + rng if rng else ""))
                plan = srv.sql_ok("EXPLAIN " + fast, db="p")
                assert "newest_rows_per_series=true" in plan, plan
                assert "newest_rows_per_series" not in srv.sql_ok("EXPLAIN " + full, db="p")
                a = srv.sql(fast, db="p", accept="application/json")
                b = srv.sql(full, db="p", accept="application/json")
                assert a.status == 200 and b.status == 200, (a, b)
                assert json.loads(a.body) == json.loads(b.body), fast
        # shapes that need more than the newest rows keep the full scan
        for q in ("SELECT host, last(time, f), count(*) FROM pt GROUP BY host",
                  "SELECT host, first(time, f) FROM pt GROUP BY host",
                  "SELECT date_bin(INTERVAL '1 hour', time) AS t, last(time, f) FROM pt GROUP BY t",
                  "SELECT s, last(time, f) FROM pt GROUP BY s",
                  "SELECT host, last(time, f + 1) FROM pt GROUP BY host"):
            assert "newest_rows_per_series" not in srv.sql_ok("EXPLAIN " + q, db="p"), q
