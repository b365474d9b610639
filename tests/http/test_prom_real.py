"""The real Prometheus (Debian's 2.42, installed by scripts/install-deps.sh) against Strata:
remote_write from a Prometheus scraping itself, and remote_read through a second Prometheus
answering PromQL over its HTTP API. Each Prometheus runs on a free port with a temporary
directory; every wait polls until a generous deadline (nothing is timed)."""

import json
import os
import struct
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

import promwire as pw
from strata_http import csv_rows, free_port

DEADLINE = 45  # seconds any one wait may take before the test fails


class Prometheus:
    def __init__(self, config, flags=()):
        binary = shutil.which("prometheus")
        if not binary:
            pytest.fail("prometheus not installed (scripts/install-deps.sh installs Debian's)")
        self.dir = tempfile.mkdtemp(prefix="strata-prom-")
        self.port = free_port()
        path = os.path.join(self.dir, "prometheus.yml")
        with open(path, "w") as f:
            f.write(config.replace("@SELF@", f"127.0.0.1:{self.port}"))
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={path}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", *flags],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.get("/-/ready") is not None, "Prometheus ready", self)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.read()
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError("Prometheus exited:\n" + self.log_text())
            return None

    def post(self, path, body, headers):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read()

    def query(self, promql, at):
        q = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
        body = self.get(f"/api/v1/query?{q}")
        return json.loads(body) if body else None

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-6000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, what, prom=None):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.25)
    raise AssertionError(f"no {what} within {DEADLINE} s" +
                         (":\n" + prom.log_text() if prom else ""))


def tables(srv, db):
    return set(csv_rows(srv.sql_ok("show tables", db=db))[1:])


def test_remote_write_from_prometheus_scraping_itself(make_server):
    srv = make_server()
    srv.sql_ok("create database promw")
    prom = Prometheus(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["@SELF@"]
remote_write:
  - url: http://127.0.0.1:{srv.port}/api/v1/prom/write?db=promw
    basic_auth:
      username: root
      password: unused
    queue_config:
      batch_send_deadline: 1s
      max_shards: 1
""")
    try:
        wait_for(lambda: {"up", "prometheus_build_info"} <= tables(srv, "promw"),
                 "up and prometheus_* tables in Strata", prom)
        rows = csv_rows(srv.sql_ok('select "__name__", job, instance, value from up', db="promw"))
        assert rows[0] == "__name__,job,instance,value"
        assert f"up,self,127.0.0.1:{prom.port},1.0" in rows[1:]
        assert any(t.startswith("prometheus_") for t in tables(srv, "promw"))
        desc = srv.sql_ok("describe table prometheus_build_info", db="promw")
        assert "value,DOUBLE,FIELD" in desc and "version,STRING,TAG" in desc
    finally:
        prom.stop()


def test_remote_read_answers_promql_through_prometheus(make_server):
    srv = make_server()
    srv.sql_ok("create database promq")
    now_ms = int(time.time() * 1000)
    r = srv.request("POST", "/api/v1/prom/write?db=promq", pw.compress(pw.write_request([
        ([("__name__", "strata_answer"), ("job", "strata"), ("kind", "a")],
         [(now_ms - 20000, 40), (now_ms - 10000, 42)]),
        ([("__name__", "strata_answer"), ("job", "strata"), ("kind", "b")],
         [(now_ms - 10000, 8)]),
        ([("__name__", "strata_other"), ("job", "strata")], [(now_ms - 10000, 1)]),
    ])))
    assert r.status == 200, r
    prom = Prometheus(f"""
global:
  scrape_interval: 1h
remote_read:
  - url: http://127.0.0.1:{srv.port}/api/v1/prom/read?db=promq
    read_recent: true
    basic_auth:
      username: root
      password: unused
""")
    try:
        at = now_ms / 1000

        def answer(promql):
            out = prom.query(promql, at)
            assert out and out["status"] == "success", out
            return sorted(((s["metric"], s["value"][1]) for s in out["data"]["result"]),
                          key=lambda mv: json.dumps(mv, sort_keys=True))

        assert answer('strata_answer{kind="a"}') == [
            ({"__name__": "strata_answer", "job": "strata", "kind": "a"}, "42")]
        assert answer('strata_answer{kind=~"a|b"}') == [
            ({"__name__": "strata_answer", "job": "strata", "kind": "a"}, "42"),
            ({"__name__": "strata_answer", "job": "strata", "kind": "b"}, "8")]
        assert answer("sum(strata_answer)") == [({}, "50")]
        assert answer('max_over_time(strata_answer{kind!="b"}[1m])') == [
            ({"job": "strata", "kind": "a"}, "42")]
        assert answer('{job="strata", __name__=~"strata_.*"}') == [
            ({"__name__": "strata_answer", "job": "strata", "kind": "a"}, "42"),
            ({"__name__": "strata_answer", "job": "strata", "kind": "b"}, "8"),
            ({"__name__": "strata_other", "job": "strata"}, "1")]
        assert answer("strata_nothing") == []
    finally:
        prom.stop()


def test_streamed_xor_chunks_are_the_bytes_prometheus_sends(make_server):
    """The same samples written to Strata and to a Prometheus (its remote-write receiver), then
    read back from both with STREAMED_XOR_CHUNKS: the same frames' series, labels and chunk
    bytes. Timestamps step through every delta-of-delta bucket and values through every XOR
    case (repeats, NaN, the stale marker, -0.0, extremes); under 30 samples a series, inside
    one 2-hour block, so Prometheus keeps each series in one chunk; a query that cuts a series
    makes Prometheus re-encode the part inside it."""
    srv = make_server()
    now = int(time.time() * 1000)
    block = 2 * 3600 * 1000
    minute = 60 * 1000
    t0 = now - 22 * minute  # the samples span 21 minutes: all in the past
    boundary = (t0 + 21 * minute) // block * block
    if boundary > t0:  # all in one block: end before its boundary
        t0 = boundary - 22 * minute
    steps = [1000, 1000, 1000, 1, 8192, 8193, 65536, 65537, 524288, 524289, 15000, 7, 1000]
    values = [1.0, 1.0, 2.5, float("nan"), pw.STALE_NAN, -0.0, 1e300, 5e-324, -7.25, 0.1,
              12345.678, 12345.679, 3.0]
    series = []
    for k, name in enumerate(["xor_b", "xor_a", "xor_a"]):
        t, samples = t0 + k, []
        for i, (step, v) in enumerate(zip(steps, values[k:] + values[:k])):
            t += step
            samples.append((t, v))
        labels = [("__name__", name), ("job", "j"), ("k", str(k))]
        series.append((labels, samples))
    body = pw.compress(pw.write_request(series))
    r = srv.request("POST", "/api/v1/prom/write", body)
    assert r.status == 200, r
    prom = Prometheus("global:\n  scrape_interval: 1h\n",
                      flags=["--web.enable-remote-write-receiver"])
    try:
        status, _, _ = prom.post("/api/v1/write", body, {
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        assert status == 204
        read = pw.compress(pw.read_request(
            # the second query cuts the series: Prometheus re-encodes what is inside the range
            [(t0, now, [(pw.RE, "__name__", "xor_.*")]),
             (t0 + 2500, t0 + 10 * minute, [(pw.EQ, "k", "1")])],
            [pw.STREAMED_XOR_CHUNKS]))
        headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                   "X-Prometheus-Remote-Read-Version": "0.1.0"}
        _, ptype, pbody = prom.post("/api/v1/read", read, headers)
        r = srv.request("POST", "/api/v1/prom/read", read, headers)
        assert r.status == 200, r
        assert r.header("Content-Type") == ptype
        ours, theirs = pw.decode_frames(r.body), pw.decode_frames(pbody)
        assert len(theirs) == 4 and all(len(c) == 1 for _, _, c in theirs), theirs
        assert ours == theirs
        # and they hold what was written
        for (_, labels, chunks), want in zip(ours[:3], sorted(series)):
            assert labels == sorted(want[0])
            assert pw.xor_decode(chunks[0][3]) == [
                (t, struct.unpack("<Q", struct.pack("<d", v))[0]) for t, v in want[1]]
        assert ours[3][0] == 1 and pw.xor_decode(ours[3][2][0][3]) == [
            (t, struct.unpack("<Q", struct.pack("<d", v))[0]) for t, v in series[1][1]
            if t0 + 2500 <= t <= t0 + 10 * minute]
    finally:
        prom.stop()
