#!/usr/bin/env python3
"""soak: the hardening figures of docs/benchmarks.md, measured against the real server.

  load    8 writers + 4 readers for --seconds: write and query latency percentiles, errors,
          then a check that every acknowledged row is there.
  kill    --rounds rounds of 8 writers killed with SIGKILL at a random moment, restarted, and
          checked: every acknowledged row is back, nothing is duplicated.
  series  RSS of the server before and after --series new series (--rows-per-series rows
          each, default 1, written a round at a time), and again after an idle period:
          megabytes per million series; then the time a restart takes (replay of the series
          index) and the RSS after it.
  volume  RSS while --gigabytes of line protocol over a fixed set of series go in: peak and
          settled megabytes per GB written.

Each mode starts its own server (release build by default, --binary to change) on a free port
with a fresh data directory and prints one `RESULT mode=... key=value ...` line. Only the
standard library is used, so it runs on a bare machine with python3.

  bench/soak.py load --seconds 60
  bench/soak.py kill --rounds 8
  bench/soak.py series --series 1000000 [--rows-per-series 8]
  bench/soak.py volume --gigabytes 1
"""

import argparse
import base64
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUTH = "Basic " + base64.b64encode(b"root:").decode()
T0 = 1_700_000_000_000_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, extra=()):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="strata-soak-")
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--data", os.path.join(self.dir, "data"), "--port", str(self.port)]
            + self.extra, stdout=log, stderr=log)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                st, _ = self.request("GET", "/api/v1/ping")
                if st == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"server exited with {self.proc.returncode}; log in {self.dir}")
            time.sleep(0.05)
        sys.exit("server did not become ready")

    def request(self, method, path, body=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers={"Authorization": AUTH})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def sql(self, q):
        st, body = self.request("POST", "/api/v1/sql?db=public", q.encode())
        if st != 200:
            raise RuntimeError(f"{q}: {st} {body[:300]!r}")
        return body.decode()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def anon_kb(self):
        """Anonymous memory only: VmRSS also counts mapped file pages (column files), which the
        kernel reclaims under pressure."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    def hwm_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=600)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Writer(threading.Thread):
    """Writes batches of rows with consecutive k to its own series; remembers what was acked."""

    def __init__(self, srv, wid, batch, stop, table="soak"):
        super().__init__(daemon=True)
        self.srv, self.wid, self.batch, self.stop_ev, self.table = srv, wid, batch, stop, table
        self.acked = 0  # rows acknowledged (a prefix of k)
        self.lat, self.errors = [], 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=120)
        k = 0
        while not self.stop_ev.is_set():
            body = "\n".join(
                f"{self.table},w=w{self.wid} k={k + j}i,v={(k + j) * 0.5} {T0 + (k + j) * 1000}"
                for j in range(self.batch))
            t = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/write?db=public", body=body,
                             headers={"Authorization": AUTH})
                r = conn.getresponse()
                r.read()
            except OSError:
                return  # the server went away (kill mode)
            self.lat.append(time.perf_counter() - t)
            if r.status == 200:
                k += self.batch
                self.acked = k
            else:
                self.errors += 1


def per_writer_counts(srv, table="soak"):
    out = {}
    for line in srv.sql(f"SELECT w, count(*) AS n, min(k) AS lo, max(k) AS hi FROM {table} "
                        "GROUP BY w").splitlines()[1:]:
        w, n, lo, hi = line.split(",")
        out[w] = (int(n), int(lo), int(hi))
    return out


def check_acked(srv, writers, batch):
    """Every acked row is present once; at most the one in-flight batch more."""
    counts = per_writer_counts(srv)
    lost = extra = 0
    for wr in writers:
        n, lo, hi = counts.get(f"w{wr.wid}", (0, 0, -1))
        if n and (lo != 0 or hi != n - 1):
            extra += 1  # holes or duplicates: k must be exactly 0..n-1
        if n < wr.acked:
            lost += wr.acked - n
        elif n > wr.acked + batch:
            extra += n - wr.acked - batch
    return lost, extra


def mode_load(a):
    srv = Server(a.binary)
    srv.start()
    try:
        stop = threading.Event()
        writers = [Writer(srv, i, a.batch, stop) for i in range(a.writers)]
        for w in writers:
            w.start()
        qlat, qerr = [], [0]
        queries = ["SELECT count(*) FROM soak",
                   "SELECT w, max(v) FROM soak GROUP BY w",
                   "SELECT * FROM soak WHERE w = 'w1' ORDER BY time DESC LIMIT 10",
                   "SELECT avg(v) FROM soak WHERE time > now() - interval '1 day' OR k > 100"]

        def reader():
            rnd = random.Random()
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    st, _ = srv.request("POST", "/api/v1/sql?db=public",
                                        rnd.choice(queries).encode())
                except OSError:
                    st = 0
                qlat.append(time.perf_counter() - t)
                if st != 200:
                    qerr[0] += 1

        readers = [threading.Thread(target=reader, daemon=True) for _ in range(a.readers)]
        for r in readers:
            r.start()
        rss = []
        end = time.time() + a.seconds
        while time.time() < end:
            time.sleep(1)
            rss.append(srv.rss_kb())
        stop.set()
        for t in writers + readers:
            t.join()
        wlat = [x for w in writers for x in w.lat]
        rows = sum(w.acked for w in writers)
        lost, extra = check_acked(srv, writers, a.batch)
        print(f"RESULT mode=load seconds={a.seconds} writers={a.writers} readers={a.readers} "
              f"rows={rows} rows_per_s={rows / a.seconds:.0f} "
              f"write_p50_ms={pct(wlat, 50) * 1e3:.1f} write_p99_ms={pct(wlat, 99) * 1e3:.1f} "
              f"write_max_ms={max(wlat) * 1e3:.1f} write_errors={sum(w.errors for w in writers)} "
              f"queries={len(qlat)} query_p50_ms={pct(qlat, 50) * 1e3:.1f} "
              f"query_p99_ms={pct(qlat, 99) * 1e3:.1f} query_max_ms={max(qlat) * 1e3:.1f} "
              f"query_errors={qerr[0]} rss_max_mb={max(rss) / 1024:.0f} lost={lost} "
              f"bad={extra}")
        return 1 if lost or extra else 0
    finally:
        srv.cleanup()


def mode_kill(a):
    srv = Server(a.binary)
    srv.start()
    rnd = random.Random(a.seed)
    total_lost = total_bad = 0
    acked_total = 0
    try:
        for rnd_i in range(a.rounds):
            table = f"soak{rnd_i}"
            stop = threading.Event()
            writers = [Writer(srv, i, a.batch, stop, table) for i in range(a.writers)]
            for w in writers:
                w.start()
            time.sleep(rnd.uniform(1.0, a.max_wait))
            srv.kill()
            stop.set()
            for w in writers:
                w.join()
            srv.start()
            counts = per_writer_counts(srv, table)
            lost = bad = 0
            for w in writers:
                n, lo, hi = counts.get(f"w{w.wid}", (0, 0, -1))
                if n and (lo != 0 or hi != n - 1):
                    bad += 1
                lost += max(0, w.acked - n)
                bad += max(0, n - w.acked - a.batch)
            acked = sum(w.acked for w in writers)
            acked_total += acked
            total_lost += lost
            total_bad += bad
            print(f"round {rnd_i + 1}: acknowledged {acked} rows, lost {lost}, bad {bad}",
                  file=sys.stderr)
        print(f"RESULT mode=kill rounds={a.rounds} writers={a.writers} "
              f"acknowledged={acked_total} lost={total_lost} bad={total_bad}")
        return 1 if total_lost or total_bad else 0
    finally:
        srv.cleanup()


def post_lines(srv, lines):
    st, body = srv.request("POST", "/api/v1/write?db=public", "\n".join(lines).encode())
    if st != 200:
        raise RuntimeError(f"write: {st} {body[:300]!r}")


def mode_series(a):
    srv = Server(a.binary)
    srv.start()
    try:
        post_lines(srv, ["warm,h=x v=1 1"])
        base = srv.rss_kb()
        per = 10000
        t = time.perf_counter()
        # --rows-per-series rounds, each a row for every series 10 s after the last: past the
        # first, caches fill and flush, and files and compactions join in.
        for rnd in range(a.rows_per_series):
            for start in range(0, a.series, per):
                post_lines(srv, [f"ser,host=h{i},region=r{i % 100} v={rnd} {T0 + rnd * 10**10}"
                                 for i in range(start, min(a.series, start + per))])
        dt = time.perf_counter() - t
        peak = srv.hwm_kb()
        after = srv.rss_kb()
        time.sleep(a.idle)
        settled = srv.rss_kb()
        settled_anon = srv.anon_kb()
        n = srv.sql("SELECT count(*) FROM ser").splitlines()[1]
        # Restart: start-up replays series.log (the shutdown flushed the rows to files).
        if srv.stop() != 0:
            raise RuntimeError(f"shutdown failed; log in {srv.dir}")
        t = time.perf_counter()
        srv.start()
        restart = time.perf_counter() - t
        time.sleep(a.idle)
        reopened = srv.rss_kb()
        reopened_anon = srv.anon_kb()
        n2 = srv.sql("SELECT count(*) FROM ser").splitlines()[1]
        if n2 != n:
            raise RuntimeError(f"{n} rows before the restart, {n2} after")
        m = a.series / 1e6
        print(f"RESULT mode=series series={a.series} rows={n} seconds={dt:.1f} "
              f"series_per_s={a.series / dt:.0f} rows_per_s={int(n) / dt:.0f} "
              f"base_mb={base / 1024:.0f} "
              f"peak_mb={peak / 1024:.0f} after_mb={after / 1024:.0f} "
              f"settled_mb={settled / 1024:.0f} settled_anon_mb={settled_anon / 1024:.0f} "
              f"mb_per_million_series={(settled - base) / 1024 / m:.0f} "
              f"restart_s={restart:.2f} restarted_mb={reopened / 1024:.0f} "
              f"restarted_anon_mb={reopened_anon / 1024:.0f}")
        return 0
    finally:
        srv.cleanup()


def mode_volume(a):
    srv = Server(a.binary)
    srv.start()
    try:
        post_lines(srv, ["warm,h=x v=1 1"])
        base = srv.rss_kb()
        target = int(a.gigabytes * (1 << 30))
        written = 0
        k = 0
        hosts = 1000
        t = time.perf_counter()
        while written < target:
            lines = [f"vol,host=h{(k + j) % hosts} usage_user={(k + j) % 100}.5,"
                     f"usage_system={(k + j) % 7}i,state=\"ok\" {T0 + (k + j) * 1000}"
                     for j in range(20000)]
            body = "\n".join(lines).encode()
            st, resp = srv.request("POST", "/api/v1/write?db=public", body)
            if st != 200:
                raise RuntimeError(f"write: {st} {resp[:300]!r}")
            written += len(body)
            k += 20000
        dt = time.perf_counter() - t
        peak = srv.hwm_kb()
        time.sleep(a.idle)
        settled = srv.rss_kb()
        gb = written / (1 << 30)
        print(f"RESULT mode=volume gigabytes={gb:.2f} rows={k} seconds={dt:.1f} "
              f"base_mb={base / 1024:.0f} peak_mb={peak / 1024:.0f} "
              f"settled_mb={settled / 1024:.0f} "
              f"peak_mb_per_gb={(peak - base) / 1024 / gb:.0f} "
              f"settled_mb_per_gb={(settled - base) / 1024 / gb:.0f}")
        return 0
    finally:
        srv.cleanup()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["load", "kill", "series", "volume"])
    p.add_argument("--binary", default=os.path.join(REPO, "build", "strata"))
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--max-wait", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--series", type=int, default=1_000_000)
    p.add_argument("--rows-per-series", type=int, default=1)
    p.add_argument("--gigabytes", type=float, default=1.0)
    p.add_argument("--idle", type=float, default=5.0)
    a = p.parse_args()
    return {"load": mode_load, "kill": mode_kill, "series": mode_series,
            "volume": mode_volume}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
