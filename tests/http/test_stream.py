"""Stream tables and continuous jobs (issue 11): an INSERT ... SELECT over a stream table keeps a
rollup of a raw table up to date (CnosDB's update mode: the newest bucket is written at once and
rewritten as rows arrive, earlier ones are final once the watermark passes them); the jobs and
their progress survive SIGTERM and SIGKILL restarts without counting a row twice or losing one;
CREATE STREAM's WATERMARK keeps buckets open for late rows; DROP STREAM stops a job."""

import json
import random
import time

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
MIN = 60 * 10**9


def setup_tables(srv):
    srv.sql_ok("CREATE TABLE raw (v DOUBLE, TAGS(host))")
    srv.sql_ok("CREATE STREAM TABLE raw_stream (time TIMESTAMP, host STRING, v DOUBLE) "
               "WITH (db = 'public', table = 'raw', event_time_column = 'time') engine = tskv")
    srv.sql_ok("CREATE TABLE roll (vmax DOUBLE, vsum DOUBLE, n BIGINT, TAGS(host))")


ROLLUP = ("INSERT INTO roll (time, host, vmax, vsum, n) SELECT date_bin(INTERVAL '1 minute', time) "
          "AS time, host, max(v), sum(v), count(v) FROM raw_stream "
          "GROUP BY date_bin(INTERVAL '1 minute', time), host")

DIRECT = ("SELECT date_bin(INTERVAL '1 minute', time) AS time, host, max(v) AS vmax, "
          "sum(v) AS vsum, count(v) AS n FROM raw WHERE time < {hi} "
          "GROUP BY date_bin(INTERVAL '1 minute', time), host ORDER BY time, host")


def streams(srv):
    return json.loads(srv.sql_ok("SHOW STREAMS", accept="application/json") or "[]")


def wait_processed(srv, until_ns, timeout=30):
    """Waits until every stream has processed event times before until_ns."""
    want = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(until_ns // 10**9))
    deadline = time.time() + timeout
    while time.time() < deadline:
        ss = streams(srv)
        if ss and all(s.get("processed_until", "") >= want for s in ss):
            return ss
        time.sleep(0.1)
    raise AssertionError(f"streams did not reach {want}: {streams(srv)}")


def rows_of(srv, hi):
    direct = srv.sql_ok(DIRECT.format(hi=hi)).splitlines()[1:]
    sink = srv.sql_ok("SELECT time, host, vmax, vsum, n FROM roll ORDER BY time, host").splitlines()[1:]
    return direct, sink


def lines(points):
    return "\n".join(f"raw,host={h} v={v} {t}" for t, h, v in points)


ALL = 2**62  # no upper time bound: the rollup has every bucket, the newest one too


def wait_equal(srv, timeout=30):
    """Waits until the rollup equals the direct query over every row."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        direct, sink = rows_of(srv, ALL)
        if sink == direct:
            return sink
        time.sleep(0.1)
    raise AssertionError(f"rollup differs from the direct query:\n{sink}\nvs\n{direct}")


def test_rollup_keeps_buckets_up_to_date(make_server):
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok(ROLLUP)
    ss = streams(srv)
    assert len(ss) == 1 and ss[0]["status"] == "running"
    rnd = random.Random(7)
    pts = [(T0 + rnd.randrange(0, 10 * MIN), rnd.choice("abc"), rnd.randrange(100)) for _ in range(500)]
    rnd.shuffle(pts)  # out of time order, in several writes
    for k in range(0, len(pts), 100):
        srv.write_ok(lines(pts[k:k + 100]))
    newest = max(t for t, _, _ in pts)
    open_start = newest - newest % MIN
    wait_processed(srv, open_start)
    # every bucket is there, the newest (still open) one too
    assert len(wait_equal(srv)) >= 20
    # rows for the open bucket rewrite it; a later row makes it final
    srv.write_ok(lines([(open_start + 1, "a", 1000)]))
    wait_equal(srv)
    srv.write_ok(lines([(open_start + 5 * MIN, "a", 1)]))
    wait_processed(srv, open_start + 5 * MIN)
    wait_equal(srv)
    # an idle source costs no writes: the open buckets are as written
    written = streams(srv)[0]["rows_written"]
    time.sleep(2.5)
    assert streams(srv)[0]["rows_written"] == written
    # late rows (before the mark) stay in the raw table only
    srv.write_ok(lines([(T0 + 1, "late", 5)]))
    srv.write_ok(lines([(open_start + 7 * MIN, "a", 1)]))
    wait_processed(srv, open_start + 7 * MIN)
    assert "late" not in srv.sql_ok("SELECT DISTINCT host FROM roll")
    direct, sink = rows_of(srv, ALL)
    assert [r for r in direct if ",late," not in r] == sink


def test_watermark_waits_for_late_rows_and_drop_stops(make_server):
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok("CREATE STREAM roll_job TRIGGER = '200ms' WATERMARK = '2m' AS " + ROLLUP)
    base = T0 - T0 % MIN
    srv.write_ok(lines([(base + k * 10**9, "a", k) for k in range(0, 120, 10)]))  # two minutes
    srv.write_ok(lines([(base + 3 * MIN - 10**9, "a", 1)]))
    # the buckets are written at once; newest - 2m is inside the first minute: none is final
    wait_equal(srv)
    assert streams(srv)[0]["processed_until"] == time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(base // 10**9))
    srv.write_ok(lines([(base + 25 * 10**9, "a", 100)]))  # late, but inside the watermark
    srv.write_ok(lines([(base + 6 * MIN, "a", 1)]))
    wait_processed(srv, base + 4 * MIN)
    sink = wait_equal(srv)
    assert any(r.split(",")[2] == "100.0" for r in sink)
    ss = streams(srv)
    assert ss[0]["stream_name"] == "roll_job" and ss[0]["watermark"] == "2m"
    r = srv.sql("CREATE STREAM roll_job AS " + ROLLUP)
    assert r.status == 422 and "already exists" in r.text
    srv.sql_ok("CREATE STREAM IF NOT EXISTS roll_job AS " + ROLLUP)
    srv.sql_ok("DROP STREAM roll_job")
    assert streams(srv) == []
    n = srv.sql_ok("SELECT count(*) FROM roll")
    srv.write_ok(lines([(T0 + 20 * MIN, "a", 1)]))
    time.sleep(1.0)
    assert srv.sql_ok("SELECT count(*) FROM roll") == n
    assert srv.sql("DROP STREAM roll_job").status == 422
    srv.sql_ok("DROP STREAM IF EXISTS roll_job")


def test_jobs_survive_sigterm_and_sigkill_without_double_counting(make_server):
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok(ROLLUP)
    rnd = random.Random(11)
    t = T0
    written = 0
    for rnd_no in range(4):
        # a batch of rows moving forward in time, then a crash (or a clean stop) mid-stream
        batch = []
        for _ in range(300):
            t += rnd.randrange(0, 2 * 10**9)
            batch.append((t, rnd.choice("xyz"), rnd.randrange(1000)))
        for k in range(0, len(batch), 50):
            srv.write_ok(lines(batch[k:k + 50]))
        written += len(batch)
        time.sleep(rnd.uniform(0.0, 1.2))
        if rnd_no % 2:
            srv.kill()
        else:
            assert srv.stop() == 0
        srv.start()
        assert len(streams(srv)) == 1  # the job came back
    wait_processed(srv, t - t % MIN)
    sink = wait_equal(srv)
    total = sum(int(r.split(",")[4]) for r in sink)
    assert total == written == int(srv.sql_ok("SELECT count(*) FROM raw").split()[1])


def test_pass_through_stream_and_time_window(make_server):
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok("CREATE TABLE hot (v DOUBLE, TAGS(host))")
    # no aggregation: every row up to the watermark, filtered
    srv.sql_ok("INSERT INTO hot (time, host, v) SELECT time, host, v FROM raw_stream WHERE v > 50")
    # a tumbling time_window as the bucket
    srv.sql_ok("CREATE TABLE roll5 (n BIGINT, TAGS(host))")
    srv.sql_ok("CREATE STREAM w5 TRIGGER = '200ms' AS INSERT INTO roll5 (time, host, n) "
               "SELECT w.start AS time, host, n FROM (SELECT time_window(time, INTERVAL '5 minutes') AS w, "
               "host, count(*) AS n FROM raw_stream GROUP BY w, host)")
    pts = [(T0 + k * 7 * 10**9, "ab"[k % 2], k) for k in range(100)]
    srv.write_ok(lines(pts))
    newest = pts[-1][0]
    wait_processed(srv, newest - newest % (5 * MIN))
    deadline = time.time() + 30
    while True:
        hot = srv.sql_ok("SELECT v FROM hot ORDER BY time").split()[1:]
        got = srv.sql_ok("SELECT time, host, n FROM roll5 ORDER BY time, host").splitlines()[1:]
        want = srv.sql_ok("SELECT w.start AS time, host, n FROM (SELECT time_window(time, INTERVAL "
                          "'5 minutes') AS w, host, count(*) AS n FROM raw GROUP BY w, host) "
                          "ORDER BY time, host").splitlines()[1:]
        if (hot == [f"{k}.0" for k in range(51, 100)] and got == want) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert hot == [f"{k}.0" for k in range(51, 100)]
    assert got == want and got


def test_stream_errors(make_server):
    srv = make_server()
    setup_tables(srv)

    def err(q):
        r = srv.sql(q)
        assert r.status == 422, (q, r.status, r.text)
        return r.json()["error_message"]

    assert "Stream table can only be used as source table" in err("SELECT * FROM raw_stream")
    assert "only tskv table support alter" in err("ALTER TABLE raw_stream ADD TAG x")
    assert "Unsupported operation in streaming query: sort" in err(
        "INSERT INTO roll (time, host, n) SELECT time, host, 1 FROM raw_stream ORDER BY time")
    assert "Unsupported operation in streaming query: join" in err(
        "INSERT INTO roll (time, host, n) SELECT s.time, s.host, 1 FROM raw_stream s "
        "JOIN raw r ON s.time = r.time")
    assert "must group by a time bucket" in err(
        "INSERT INTO roll (time, host, n) SELECT max(time), host, count(*) FROM raw_stream GROUP BY host")
    assert "sliding time_window" in err(
        "INSERT INTO roll (host, n) SELECT host, count(*) FROM raw_stream "
        "GROUP BY time_window(time, INTERVAL '2 minutes', INTERVAL '1 minute'), host")
    assert "Field or Tag have the same name" in err(
        "CREATE STREAM TABLE s2 (time TIMESTAMP, time TIMESTAMP) "
        "WITH (db = 'public', table = 'raw', event_time_column = 'time') engine = tskv")
    assert "Invalid option" in err(
        "CREATE STREAM TABLE s2 (time TIMESTAMP, v DOUBLE) "
        "WITH (db = 'public', table = 'raw', event_time_column = 'v') engine = tskv")
    assert "Unable to get field named \"nope\"" in err(
        "CREATE STREAM TABLE s2 (time TIMESTAMP, nope DOUBLE) "
        "WITH (db = 'public', table = 'raw', event_time_column = 'time') engine = tskv")
    assert "Invalid option WATERMARK" in err("CREATE STREAM s3 WATERMARK = 'soon' AS " + ROLLUP)
    # a stream table's definition comes back in DESCRIBE and information_schema
    assert "STREAM" in srv.sql_ok(
        "SELECT table_engine FROM information_schema.tables WHERE table_name = 'raw_stream'")
    assert srv.sql_ok("DESCRIBE TABLE raw_stream").splitlines()[1].startswith("time,TIMESTAMP")
    assert streams(srv) == []


def test_append_mode_writes_final_buckets_only(make_server):
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok("CREATE STREAM app TRIGGER = '200ms' OUTPUT_MODE = APPEND AS " + ROLLUP)
    base = T0 - T0 % MIN
    srv.write_ok(lines([(base + 5 * 10**9, "a", 1), (base + MIN + 5 * 10**9, "a", 2)]))
    wait_processed(srv, base + MIN)
    time.sleep(0.5)
    # the first minute is final (a later row exists) and written; the open one is not
    assert srv.sql_ok("SELECT vmax FROM roll ORDER BY time").split()[1:] == ["1.0"]
    srv.write_ok(lines([(base + 2 * MIN, "a", 3)]))
    wait_processed(srv, base + 2 * MIN)
    time.sleep(0.3)
    assert srv.sql_ok("SELECT vmax FROM roll ORDER BY time").split()[1:] == ["1.0", "2.0"]
    r = srv.sql("CREATE STREAM bad OUTPUT_MODE = sometimes AS " + ROLLUP)
    assert r.status == 422 and "Invalid option OUTPUT_MODE" in r.text


def test_a_failing_job_logs_once_and_recovers(make_server):
    # the source table dropped under a running job: the job is retried every trigger, the log
    # says so once (not every trigger), and when the table is back the job runs again
    srv = make_server()
    setup_tables(srv)
    srv.sql_ok("CREATE STREAM roll_job TRIGGER = '100ms' AS " + ROLLUP)
    srv.write_ok(lines([(T0 + k * 10**9, "a", k) for k in range(0, 120, 10)]))
    wait_equal(srv)
    srv.sql_ok("DROP TABLE raw")
    time.sleep(1.5)  # about fifteen triggers
    warns = [ln for ln in srv.log_since_start().splitlines()
             if "stream roll_job:" in ln and "WARN" in ln]
    assert len(warns) == 1, warns
    assert "retried every trigger" in warns[0]
    assert streams(srv)[0]["stream_name"] == "roll_job"
    srv.sql_ok("CREATE TABLE raw (v DOUBLE, TAGS(host))")
    srv.write_ok(lines([(T0 + 5 * MIN + k * 10**9, "b", 1) for k in range(0, 60, 10)]))
    deadline = time.time() + 10
    while "running again" not in srv.log_since_start() and time.time() < deadline:
        time.sleep(0.1)
    assert "stream roll_job: running again" in srv.log_since_start()


def test_dump_recreates_stream_tables(make_server):
    # the DDL dump writes a stream table back with its columns and its source
    srv = make_server()
    setup_tables(srv)
    r = srv.request("GET", "/api/v1/dump/sql/ddl")
    assert r.status == 200
    assert ("CREATE STREAM TABLE IF NOT EXISTS \"raw_stream\" (\"time\" TIMESTAMP, \"host\" "
            "STRING, \"v\" DOUBLE) WITH (db = 'public', table = 'raw', event_time_column = "
            "'time') engine = tskv;") in r.text
