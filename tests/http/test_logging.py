"""The log (src/server/reqlog.h, log.path): one logfmt line per request with method, path,
status, duration, bytes in and out, user, tenant and database by name, at log.request_level
(debug by default), 4xx at info and 5xx at warn; never a password or a body; flushes and
compactions logged naming their database; start and stop logged."""

import os
import re
import time

LINE = re.compile(r"^\S+Z (ERROR|WARN |INFO |DEBUG|TRACE) (.*)$")


def log_lines(path):
    with open(path, encoding="utf-8") as f:
        out = []
        for line in f.read().splitlines():
            m = LINE.match(line)
            assert m, f"not a log line: {line!r}"
            out.append((m.group(1).strip(), m.group(2)))
        return out


def fields(msg):
    """The key=value fields of a request line (quoted values unescaped)."""
    assert msg.startswith("http: "), msg
    out = {}
    for k, q, v in re.findall(r' (\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))', msg):
        out[k] = re.sub(r"\\(.)", r"\1", q) if q else v
    return out


def requests_logged(path):
    return [(lvl, fields(m)) for lvl, m in log_lines(path)
            if m.startswith("http: method=")]


def wait_for_lines(path, n, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = requests_logged(path)
        if len(got) >= n:
            return got
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} request lines in\n{open(path).read()}")


def test_request_lines_at_info(make_server, tmp_path):
    log = str(tmp_path / "strata.log")
    srv = make_server(config=f'[log]\npath = "{log}"\nrequest_level = "info"\n')
    srv.sql_ok("CREATE DATABASE logdb")
    body = "lg,h=a v=1 1\nlg,h=b v=2 2"
    srv.write_ok(body, db="logdb")
    # InfluxDB's u/p carry a password in the query string; the log has the path only
    r = srv.request("POST", "/write?db=logdb&u=root&p=sekrit-pass", "lg v=3 3", auth=None)
    assert r.status == 204, r
    # a query body is never logged
    srv.sql_ok("select 'sekrit-query' as x", db="logdb")
    assert srv.request("GET", "/nope", auth=None).status == 404
    assert srv.write("bad line here", db="logdb").status == 422
    got = wait_for_lines(log, 6)
    by = [(lvl, f["method"], f["path"], f["status"]) for lvl, f in got]
    assert ("INFO", "POST", "/api/v1/sql", "200") in by, by
    assert ("INFO", "POST", "/api/v1/write", "200") in by, by
    assert ("INFO", "POST", "/write", "204") in by, by
    assert ("INFO", "GET", "/nope", "404") in by, by
    assert ("INFO", "POST", "/api/v1/write", "422") in by, by
    w = next(f for _, f in got if f["path"] == "/api/v1/write" and f["status"] == "200")
    assert w["user"] == "root" and w["tenant"] == "cnosdb" and w["db"] == "logdb", w
    assert int(w["in"]) == len(body) and w["out"] == "0", w
    assert float(w["ms"]) >= 0 and w["client"] == "127.0.0.1", w
    q = next(f for _, f in got if f["path"] == "/api/v1/sql" and f["db"] == "logdb")
    assert int(q["out"]) > 0, q
    nope = next(f for _, f in got if f["path"] == "/nope")
    assert nope["user"] == "-" and nope["db"] == "-", nope
    text = open(log).read()
    assert "sekrit" not in text, text


def test_default_level_keeps_successes_out_of_an_info_log(make_server, tmp_path):
    log = str(tmp_path / "strata.log")
    srv = make_server(env={"STRATA_LOG_PATH": log})
    srv.write_ok("dl v=1 1")
    assert srv.write("dl v=", db="public").status == 422
    assert srv.request("GET", "/nope", auth=None).status == 404
    got = wait_for_lines(log, 2)
    # the successes (the ping polled at start, the write) are at debug, below info
    assert [(lvl, f["status"]) for lvl, f in got] == [("INFO", "422"), ("INFO", "404")], got


def test_debug_log_has_requests_flushes_and_compactions(make_server, tmp_path):
    log = str(tmp_path / "strata.log")
    srv = make_server(args=["--log-level", "debug"], env={"STRATA_LOG_PATH": log})
    srv.sql_ok("CREATE DATABASE flushdb")
    srv.write_ok("fl,h=a v=1 1", db="flushdb")
    srv.sql_ok("COMPACT DATABASE flushdb")
    srv.write_ok("fl,h=a v=2 2", db="flushdb")
    srv.sql_ok("COMPACT DATABASE flushdb")
    assert srv.stop() == 0
    lines = log_lines(log)
    msgs = [m for _, m in lines]
    assert any(lvl == "DEBUG" and m.startswith("http: method=POST path=/api/v1/sql status=200")
               for lvl, m in lines), msgs
    flushes = [m for m in msgs if m.startswith("database cnosdb.flushdb: flushed a cache of")]
    compactions = [m for m in msgs
                   if m.startswith("database cnosdb.flushdb: compacted files of")]
    assert len(flushes) >= 2 and len(compactions) >= 1, msgs
    assert re.search(r"in [0-9.]+ ms: \d+ bytes read, \d+ written$", compactions[0]), compactions
    # start and stop
    assert any(m.startswith("strata ") and "listening on" in m for m in msgs), msgs
    assert "ready" in msgs and "stopped" in msgs, msgs
    assert any(m.startswith("received SIGTERM") for m in msgs), msgs


def test_server_errors_are_warnings(make_server, tmp_path):
    """A 5xx is logged at warn even when requests are logged at debug and the log at warn;
    but not the 503 of a ping while the server starts (a probe polling it is no failure)."""
    log = str(tmp_path / "strata.log")
    srv = make_server(config=f'[log]\npath = "{log}"\nlevel = "warn"\n')
    # 503: the memory budget cannot take a body (ping and the rest still answered)
    srv.stop()
    srv.env["STRATA_MEMORY_MAX_MEMORY"] = "1"
    srv.start()
    r = srv.write("m v=1 1")
    assert r.status == 503, r
    got = wait_for_lines(log, 1)
    assert [(lvl, f["status"], f["path"]) for lvl, f in got] == [("WARN", "503",
                                                                  "/api/v1/write")], got


def test_bad_request_level_stops_the_start(make_server):
    srv = make_server(env={"STRATA_LOG_REQUEST_LEVEL": "loud"}, start=False)
    srv.start(wait=False)
    assert srv.wait_exit() == 2
    assert "log.request_level" in srv.log_since_start().lower(), srv.log_since_start()
