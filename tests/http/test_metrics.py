"""GET /metrics, black box: the exposition is valid Prometheus text format (every line parsed,
HELP and TYPE once per family and before its samples, histograms cumulative), and its counters
move with what the server does: writes (WAL syncs and bytes), COMPACT DATABASE (flushes and
compactions), per database series and files labelled by tenant and name."""

import math
import re
import shutil
import subprocess

import pytest

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
T0 = 1_700_000_000_000_000_000


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels dict, value)]}}, asserting the text
    format's rules on the way."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    fams, current = {}, None
    for line in text.splitlines():
        m = HELP.match(line)
        if m:
            name = m.group(1)
            assert name not in fams, f"HELP of {name} twice"
            fams[name] = {"help": m.group(2), "type": None, "samples": []}
            current = name
            continue
        m = TYPE.match(line)
        if m:
            assert m.group(1) == current, f"TYPE of {m.group(1)} not right after its HELP"
            assert fams[current]["type"] is None, f"TYPE of {current} twice"
            fams[current]["type"] = m.group(2)
            continue
        assert not line.startswith("#"), f"unexpected comment {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert current is not None and fams[current]["type"], f"{name} before any TYPE"
        base = current
        if fams[current]["type"] == "histogram":
            assert name in (base + "_bucket", base + "_sum", base + "_count"), (name, base)
        else:
            assert name == base, f"sample {name} inside family {base}"
        v = float(value)  # +Inf, NaN are valid floats too
        assert not math.isnan(v), line
        lab = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels))
        fams[current]["samples"].append((name, lab, v))
    for name, f in fams.items():
        assert f["type"], f"{name} has no TYPE"
        if f["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} not named *_total"
            assert all(v >= 0 for _, _, v in f["samples"]), name
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    """Per label set: buckets cumulative in increasing le, +Inf last and equal to _count."""
    series = {}
    for n, lab, v in samples:
        key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if n.endswith("_bucket"):
            series[key]["buckets"].append((float(lab["le"]), v))
        elif n.endswith("_count"):
            series[key]["count"] = v
        else:
            series[key]["sum"] = v
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        assert les == sorted(les) and les[-1] == math.inf, (name, key, les)
        counts = [c for _, c in s["buckets"]]
        assert counts == sorted(counts), (name, key, counts)
        assert s["count"] == counts[-1] and s["sum"] is not None, (name, key, s)


def scrape(srv):
    r = srv.request("GET", "/metrics", auth=None)
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/plain; version=0.0.4", r
    return parse(r.text)


def value(fams, family, sample=None, **labels):
    """The value of the one sample of family (sample name: family's own, or a histogram part)
    whose labels include labels."""
    hits = [v for n, lab, v in fams[family]["samples"]
            if n == (sample or family) and all(lab.get(k) == x for k, x in labels.items())]
    assert len(hits) == 1, (family, labels, fams[family]["samples"])
    return hits[0]


def test_exposition_is_valid_and_complete(server):
    server.write_ok("mv,h=a v=1 1")
    server.sql_ok("select count(*) from mv")
    fams = scrape(server)
    for fam, typ in [("strata_up", "gauge"),
                     ("strata_http_requests_total", "counter"),
                     ("strata_http_request_duration_seconds", "histogram"),
                     ("strata_written_points_total", "counter"),
                     ("strata_written_bytes_total", "counter"),
                     ("strata_wal_syncs_total", "counter"),
                     ("strata_wal_written_bytes_total", "counter"),
                     ("strata_flushes_total", "counter"),
                     ("strata_flush_written_bytes_total", "counter"),
                     ("strata_flush_seconds_total", "counter"),
                     ("strata_compactions_total", "counter"),
                     ("strata_compaction_read_bytes_total", "counter"),
                     ("strata_compaction_written_bytes_total", "counter"),
                     ("strata_compaction_seconds_total", "counter"),
                     ("strata_database_series", "gauge"),
                     ("strata_database_files", "gauge"),
                     ("strata_database_file_bytes", "gauge"),
                     ("strata_database_cache_bytes", "gauge"),
                     ("strata_database_wal_bytes", "gauge"),
                     ("strata_resident_memory_bytes", "gauge"),
                     ("strata_memory_budget_bytes", "gauge"),
                     ("strata_memory_budget_used_bytes", "gauge"),
                     ("strata_open_connections", "gauge"),
                     ("strata_opentsdb_tcp_connections", "gauge"),
                     ("strata_opentsdb_tcp_lines_total", "counter")]:
        assert fam in fams and fams[fam]["type"] == typ, (fam, fams.get(fam))
    # the sql request above was answered, and timed, before this scrape
    assert value(fams, "strata_http_requests_total", route="/api/v1/sql", code="200") >= 1
    assert value(fams, "strata_http_request_duration_seconds",
                 "strata_http_request_duration_seconds_count", route="/api/v1/sql") >= 1
    assert value(fams, "strata_open_connections") >= 1  # this one
    assert value(fams, "strata_memory_budget_used_bytes", use="memcache") > 0
    assert value(fams, "strata_resident_memory_bytes") > 1 << 20


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian prometheus) absent")
def test_promtool_accepts_the_exposition(server):
    """Prometheus' own linter reads the text as a scrape would."""
    server.write_ok("mp,h=a v=1 1")
    r = server.request("GET", "/metrics", auth=None)
    p = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True,
                       timeout=60)
    # exit 1 with only lint remarks would still be a valid scrape; a parse error is exit 1 too,
    # so nothing at all may be reported
    assert p.returncode == 0, (p.stdout + p.stderr).decode()


def test_counters_move_with_writes_flushes_and_compactions(server):
    server.sql_ok("CREATE DATABASE metdb")
    before = scrape(server)
    lines = "\n".join(f"mc,h=h{k % 3} v={k} {T0 + k}" for k in range(300))
    server.write_ok(lines, db="metdb")
    mid = scrape(server)

    def grew(a, b, fam, **lab):
        return value(b, fam, **lab) - value(a, fam, **lab)

    assert grew(before, mid, "strata_written_points_total") == 300
    assert grew(before, mid, "strata_written_bytes_total") == len(lines)
    assert grew(before, mid, "strata_wal_syncs_total") >= 1  # wal.sync = true: every write
    assert grew(before, mid, "strata_wal_written_bytes_total") > 0
    assert value(mid, "strata_database_series", tenant="cnosdb", database="metdb") == 3
    assert value(mid, "strata_database_files", tenant="cnosdb", database="metdb") == 0
    assert value(mid, "strata_database_cache_bytes", tenant="cnosdb", database="metdb") > 0
    # first COMPACT: the cache becomes one file (nothing to merge yet)
    server.sql_ok("COMPACT DATABASE metdb")
    one = scrape(server)
    assert grew(mid, one, "strata_flushes_total") >= 1
    assert grew(mid, one, "strata_flush_written_bytes_total") > 0
    assert value(one, "strata_database_files", tenant="cnosdb", database="metdb") == 1
    assert value(one, "strata_database_file_bytes", tenant="cnosdb", database="metdb") > 0
    # second: a second file, merged with the first
    server.write_ok("\n".join(f"mc,h=h{k % 3} v={k} {T0 + 1000 + k}" for k in range(300)),
                    db="metdb")
    server.sql_ok("COMPACT DATABASE metdb")
    two = scrape(server)
    assert grew(one, two, "strata_flushes_total") >= 1
    assert grew(one, two, "strata_compactions_total") >= 1
    assert grew(one, two, "strata_compaction_read_bytes_total") > 0
    assert grew(one, two, "strata_compaction_written_bytes_total") > 0
    assert value(two, "strata_database_files", tenant="cnosdb", database="metdb") == 1
    # databases are told apart by name, never by an id
    dbs = {lab["database"] for _, lab, _ in two["strata_database_series"]["samples"]}
    assert {"public", "metdb"} <= dbs and not any(d.isdigit() for d in dbs), dbs



@pytest.mark.skipif(not shutil.which("prometheus"), reason="prometheus (Debian) absent")
def test_a_real_prometheus_scrapes_it(server, tmp_path):
    """Prometheus itself scrapes /metrics every second: the target is healthy, with no scrape
    error, and the samples are queryable by their labels."""
    import json
    import time
    import urllib.request

    from strata_http import free_port

    server.write_ok("mprom,h=a v=1 1")
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: strata\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{server.port}']\n")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(["prometheus", f"--config.file={conf}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)

    def api(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return json.load(r)["data"]

    try:
        deadline = time.monotonic() + 60
        target, result = None, []
        while time.monotonic() < deadline:
            try:
                targets = api("/api/v1/targets")["activeTargets"]
                target = targets[0] if targets else None
                if target and target["health"] == "up":
                    result = api("/api/v1/query?query=strata_database_series"
                                 "%7Bdatabase%3D%22public%22%7D")["result"]
                    if result:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        assert target and target["health"] == "up" and target["lastError"] == "", (
            target, open(tmp_path / "prometheus.log").read()[-3000:])
        assert result and result[0]["metric"]["tenant"] == "cnosdb", result
        assert float(result[0]["value"][1]) >= 1, result
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
