#!/usr/bin/python3
"""Time-series SQL fuzzer: random calls of the time-series functions (time_window, gap filling
with locf/interpolate, gauge_agg and its accessors, state_agg, increase, the data quality and
repair functions, topk/bottom, sample) with edge arguments (zero, negative, month and
year-long intervals, NULL and far-off timestamps, empty and inverted ranges) over random rows
with NULLs, extremes and repeated times, against the sanitizer server.

  make fuzz-ts FUZZ_SECONDS=120
  /usr/bin/python3 tests/fuzz/ts_fuzz.py --binary build/asan/strata --seconds 120 --seed 7

The oracle is the server's health: every answer is 200 or a 4xx error, the server stays up and
its log has no sanitizer report. (Answers themselves are checked by tests/sql/*.slt and
tests/http/test_gapfill_model.py.) Exit status: 0 clean, 1 with a finding (printed with the
query and the seed)."""

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
INTERVALS = ["1 millisecond", "10 milliseconds", "100 milliseconds", "1 second", "7 seconds",
             "1 minute", "90 seconds", "1 hour", "1 day", "0 seconds", "-1 second", "366 days",
             "1 nanosecond", "1 month", "5000000000 milliseconds"]
TIMES = ["'2023-11-14T00:00:00Z'", "'2023-11-14T22:13:20Z'", "'1970-01-01T00:00:00Z'",
         "'2262-04-11T00:00:00Z'", "'1677-09-22T00:00:00Z'", "NULL"]
COLS = ["v", "i", "s", "b", "time", "h", "NULL", "1", "v + i"]
REPAIR_OPTS = ["", ", 'method=linear'", ", 'method=mean'", ", 'method=previous'",
               ", 'method=ar'", ", 'method=ma'", ", 'method=screen'", ", 'method=lsgreedy'",
               ", 'interval=1s'", ", 'method=median'", ", 'method=mode'", ", 'method=cluster'",
               ", 'interval=0'", ", 'garbage'"]


class Gen:
    def __init__(self, rnd):
        self.r = rnd

    def iv(self):
        return f"INTERVAL '{self.r.choice(INTERVALS)}'"

    def ts(self):
        if self.r.random() < 0.3:
            return str(T0 + self.r.randrange(-10**12, 10**12))
        return self.r.choice(TIMES)

    def col(self):
        return self.r.choice(COLS)

    def agg(self):
        c, r = self.col(), self.r
        return r.choice([
            f"count({c})", f"avg({c})", f"sum({c})", f"max({c})", f"min({c})",
            f"first(time, {c})", f"last(time, {c})", f"gauge_agg(time, {c})",
            f"delta(gauge_agg(time, {c}))", f"rate(gauge_agg(time, {c}))",
            f"idelta_left(gauge_agg(time, {c}))", f"state_agg(time, {c})",
            f"compact_state_agg(time, {c})", f"duration_in(state_agg(time, {c}), 'x')",
            f"state_at(state_agg(time, {c}), {self.ts()})",
            f"increase(time, {c} ORDER BY time)", f"mode({c})", f"completeness(time, {c})",
            f"consistency(time, {c})", f"timeliness(time, {c})", f"validity(time, {c})",
            f"sample({c}, {r.choice([0, 1, 5, -1])})", f"locf(avg({c}))",
            f"interpolate(avg({c}))", f"interpolate(max({c}))", f"locf(count({c}))"])

    def where(self):
        lo, hi = self.ts(), self.ts()
        return self.r.choice([
            "", f" WHERE time >= {lo} AND time < {hi}", f" WHERE time BETWEEN {lo} AND {hi}",
            f" WHERE time > {lo}", f" WHERE h = 'a' AND time >= {lo} AND time <= {hi}"])

    def bucket(self):
        iv, ts = self.iv, self.ts
        return self.r.choice([
            f"time_window(time, {iv()})", f"time_window(time, {iv()}, {iv()})",
            f"time_window(time, {iv()}, {iv()}, {ts()})", f"time_window_gapfill(time, {iv()})",
            f"time_window_gapfill(time, {iv()}, {iv()})",
            f"time_window_gapfill(time, {iv()}, {iv()}, {ts()})",
            f"date_bin_gapfill({iv()}, time)", f"date_bin_gapfill({iv()}, time, {ts()})",
            f"date_bin({iv()}, time)"])

    def query(self):
        r = self.r
        k = r.random()
        if k < 0.6:
            g = r.choice(["", ", h"])
            q = (f"SELECT {self.bucket()} AS w{g}, {self.agg()}, {self.agg()} FROM t"
                 f"{self.where()} GROUP BY w{g}")
            if r.random() < 0.3:
                q += " ORDER BY w DESC LIMIT 5"
            if r.random() < 0.2:
                q = f"WITH x AS ({q}) SELECT * FROM x"
            return q
        if k < 0.8:
            return f"SELECT h, {self.agg()} FROM t{self.where()} GROUP BY h"
        if k < 0.9:
            fn = r.choice(["timestamp_repair", "value_fill", "value_repair"])
            return (f"SELECT {fn}(time, {r.choice(['v', 'i', 's', 'NULL'])}"
                    f"{r.choice(REPAIR_OPTS)}) FROM t{self.where()}")
        n = r.choice([0, 1, 3, -2, 1000])
        return r.choice([f"SELECT topk({self.col()}, {n}) FROM t{self.where()}",
                         f"SELECT bottom({self.col()}, {n}) FROM t{self.where()}",
                         f"SELECT {self.bucket()} AS w, * FROM t{self.where()}"])

    def lines(self, n):
        out = []
        for _ in range(n):
            t = T0 + self.r.randrange(-10**12, 10**12)
            vals = []
            v = self.r.choice([None, self.r.uniform(-1e6, 1e6), 0, "-0.0", "1e308", "-1e308"])
            if v is not None:
                vals.append(f"v={v}")
            if self.r.random() < 0.8:
                i = self.r.choice([0, 1, -1, 2**62, -2**62, self.r.randrange(-1000, 1000)])
                vals.append(f"i={i}i")
            if self.r.random() < 0.5:
                vals.append(f's="{self.r.choice(["x", "y", ""])}"')
            if self.r.random() < 0.5:
                vals.append(f"b={self.r.choice(['true', 'false'])}")
            out.append(f"t,h={self.r.choice('abc')} {','.join(vals or ['i=1i'])} {t}")
        return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/asan/strata")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    rnd = random.Random(seed)
    gen = Gen(rnd)
    d = tempfile.mkdtemp(prefix="ts_fuzz.")
    port = free_port()
    log = open(os.path.join(d, "log"), "w")
    srv = subprocess.Popen([a.binary, "-d", os.path.join(d, "data"), "-p", str(port)],
                           stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/api/v1"
    auth = ("root", "")

    def sql(q):
        r = requests.post(f"{base}/sql?db=public", data=q, auth=auth, timeout=60)
        return r.status_code, r.text

    finding = None
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if sql("SELECT 1")[0] == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        sql("CREATE TABLE t (v DOUBLE, i BIGINT, s STRING, b BOOLEAN, TAGS(h))")
        requests.post(f"{base}/write?db=public", data="\n".join(gen.lines(300)), auth=auth)
        end, n = time.time() + a.seconds, 0
        codes = {}
        while time.time() < end and not finding:
            q = gen.query()
            n += 1
            try:
                code, body = sql(q)
            except requests.RequestException as ex:
                finding = f"no answer ({ex}) to: {q}"
                break
            codes[code] = codes.get(code, 0) + 1
            if code >= 500:
                finding = f"{code} {body[:300]} to: {q}"
            elif srv.poll() is not None:
                finding = f"server exited ({srv.returncode}) after: {q}"
        print(f"ts_fuzz: seed {seed}, {n} queries, answers {dict(sorted(codes.items()))}")
    finally:
        if srv.poll() is None:
            srv.terminate()
            srv.wait(30)
        log.close()
    text = open(os.path.join(d, "log")).read()
    for mark in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        i = text.find(mark)
        if i >= 0 and not finding:
            finding = "sanitizer report:\n" + text[max(0, i - 500):i + 4000]
    if finding:
        print(f"ts_fuzz: FINDING (seed {seed}): {finding}")
        print(f"ts_fuzz: server data and log kept in {d}")
        return 1
    shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
