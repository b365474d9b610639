#!/usr/bin/env python3
"""bench/tsbs_queries.py: TSBS's devops queries against Strata, InfluxDB and DuckDB.

The query benchmark of bench/run.sh (BENCH_MODE=queries). run.sh generates the data, loads the
same rows into each system and starts the servers; this script writes the queries, runs them,
checks the answers and reports.

Queries. The fifteen types of TSBS's devops use case, each written the way TSBS's generators
write it for the system (InfluxQL for InfluxDB; the TimescaleDB/ClickHouse SQL flavour for
DuckDB) and the way a CnosDB user writes it for Strata (date_bin, tag predicates, `time >= ...
AND time < ...`, last(time, x) for the newest value). lastpoint in DuckDB is the same query as
Strata's with arg_max(x, time) for last(time, x): TSBS's TimescaleDB form (SELECT DISTINCT ON
(hostname) * ... ORDER BY hostname, time DESC) took DuckDB about 10 times longer here (100
hosts x 1 day: 2.7-3.4 s against 0.2-0.4 s), which would flatter Strata. Two departures from TSBS's InfluxQL, both
so that every system answers the same question: cpu-max-all groups by time(1h) (the generator
of the version read used 1m, against its own description and the SQL systems' hour), and
groupby-orderby-limit orders by time DESC (TSBS's InfluxQL has no order and so returns the
first five minutes of the data, not the last five before the end time).

Parameters (hosts, windows) come from random.Random seeded by (seed, type), so every system,
and every run with the same settings, gets the same instances. Windows start on a whole second
and lie inside the data.

Method. Per type: INSTANCES instances; WARMUP untimed runs of the first instance on each system;
then RUNS timed runs, run i using instance i mod INSTANCES, the systems taking turns within each
run (one query at a time, the machine is small). Before the first, the files of the servers'
data directories are read once (--warm): DuckDB's load has just pushed them out of the page
cache, and the first runs would time disk reads instead of queries. Strata and InfluxDB are
timed on the client from sending the request to the last byte of the answer over a kept-alive connection, by a
compiled child (bench/qclient.c) so that the Python interpreter is not in the timed path; DuckDB
runs in-process in a node child (bench/duckdb_tsbs.cjs) that reports the time of
runAndReadAll (the query run to its end, every row materialised). Medians per type and system.

Answers. Every answer of every run is compared with InfluxDB's answer to the same instance
(DuckDB's with Strata's for the join, which InfluxDB cannot run): the same rows, times equal,
strings equal, floats within a relative 1e-9 (sums in another order). A mismatch fails the run
and prints both answers. A query that Strata refuses (an error answer) is reported as
"not supported" with the server's message, not rewritten.

Join. cpu JOIN mem ON hostname and time over a random 12-hour window, grouped per host:
joined rows per second for Strata and DuckDB.

Time-series functions (issue 11; --tsfuncs 1), over 100 hosts (all of a smaller set, a random
100 of a larger one) and one day (the whole set if shorter):
- ts-gapfill-interpolate: the rows with usage_user > 90 (about one in ten, so many minutes have
  none), averaged per host and minute with every minute of the window filled by linear
  interpolation. Strata: time_window_gapfill + interpolate; InfluxDB: GROUP BY time(1m) with
  fill(linear); DuckDB: generate_series of minutes per host, a left join of the averages and
  last_value/first_value IGNORE NULLS windows for the neighbours. Minutes that stay empty (before
  a host's first row or after its last) are left out of every answer before comparing.
- ts-gauge-rate: the rate of usage_user per host and minute, (last - first) / elapsed
  nanoseconds. Strata: rate(gauge_agg(time, usage_user)); DuckDB: arg_max/arg_min over time.
  InfluxDB has no equivalent (its derivative is per point, not per window).
The gap filling is checked against InfluxDB's answer, the rate against DuckDB's.

Usage:
  tsbs_queries.py gen --hosts N --start T --duration D [--seed S] [--instances K] [--types ...]
  tsbs_queries.py run --hosts N --start T --duration D --strata HOST:PORT --influx HOST:PORT
                      --duckdb "CMD ..." --out DIR [--runs R] [--warmup W] ...
  tsbs_queries.py repeat --type T ... --strata HOST:PORT --seconds S   (for perf record)
Exit status: 0 when every answer agreed, 1 when one did not or a system failed, 2 on bad usage.
"""

import argparse
import base64
import csv
import datetime as dt
import io
import json
import math
import os
import pickle
import random
import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.parse
import zlib

CPU_METRICS = [
    "usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
    "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice",
]
TAGS = [
    "hostname", "region", "datacenter", "rack", "os", "arch", "team", "service",
    "service_version", "service_environment",
]
HOUR = 3600
# TSBS's devops durations.
DOUBLE_GROUPBY_S = 12 * HOUR
HIGH_CPU_S = 12 * HOUR
MAX_ALL_S = 8 * HOUR
JOIN_S = 12 * HOUR

# name -> (kind, args); the order is TSBS's.
TYPES = [
    ("single-groupby-1-1-1", "single", (1, 1, 1)),
    ("single-groupby-1-1-12", "single", (1, 1, 12)),
    ("single-groupby-1-8-1", "single", (1, 8, 1)),
    ("single-groupby-5-1-1", "single", (5, 1, 1)),
    ("single-groupby-5-1-12", "single", (5, 1, 12)),
    ("single-groupby-5-8-1", "single", (5, 8, 1)),
    ("cpu-max-all-1", "maxall", (1,)),
    ("cpu-max-all-8", "maxall", (8,)),
    ("double-groupby-1", "double", (1,)),
    ("double-groupby-5", "double", (5,)),
    ("double-groupby-all", "double", (10,)),
    ("high-cpu-1", "highcpu", (1,)),
    ("high-cpu-all", "highcpu", (0,)),
    ("lastpoint", "lastpoint", ()),
    ("groupby-orderby-limit", "gobl", ()),
]
TYPE_NAMES = [t[0] for t in TYPES]
JOIN_TYPE = "join-cpu-mem"
TS_TYPES = [("ts-gapfill-interpolate", "gapfill", ()), ("ts-gauge-rate", "rate", ())]
TS_HOSTS, TS_SPAN_S = 100, 24 * HOUR


class Fail(Exception):
    pass


# ------------------------------------------------------------------ time helpers
def parse_duration(s):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total, pos = 0, 0
    for m in re.finditer(r"(\d+)([smhdw])", s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(s) or total <= 0:
        raise argparse.ArgumentTypeError(f"bad duration '{s}' (e.g. 1d, 12h, 1h30m)")
    return total


def parse_start(s):
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad start time '{s}' (RFC 3339)")
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp())


def rfc3339(sec):
    return dt.datetime.fromtimestamp(sec, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_ts(sec):
    return dt.datetime.fromtimestamp(sec, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


_TS = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$")


def to_ns(v):
    """A time as the systems print it (ns integer, RFC 3339 with up to 9 decimals) -> ns."""
    if isinstance(v, int):
        return v
    s = str(v)
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    m = _TS.match(s)
    if not m:
        raise Fail(f"not a time: {s!r}")
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    days = (dt.date(y, mo, d) - dt.date(1970, 1, 1)).days
    ns = ((days * 86400 + h * 3600 + mi * 60 + se) * 10**9) + int(frac or 0)
    tz = m.group(8)
    if tz and tz != "Z":
        sign = -1 if tz[0] == "+" else 1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        ns += sign * (hh * 3600 + mm * 60) * 10**9
    return ns


# ------------------------------------------------------------------ query generation
class Instance:
    """One generated query: the same question in each system's language."""

    def __init__(self, strata, influxql, duckdb, params):
        self.strata = strata
        self.influxql = influxql
        self.duckdb = duckdb
        self.params = params

    def text(self, system):
        return {"strata": self.strata, "influxdb": self.influxql, "duckdb": self.duckdb}[system]


def rand_window(rng, start, end, length):
    """A window of `length` seconds starting on a whole second inside [start, end)."""
    if end - start < length:
        raise Fail(f"the data ({end - start} s) is shorter than a {length} s query window")
    s = rng.randint(start, end - length)
    return s, s + length


def rand_hosts(rng, nhosts, n):
    if n > nhosts:
        raise Fail(f"a query needs {n} hosts, the data has {nhosts}")
    return [f"host_{i}" for i in rng.sample(range(nhosts), n)]


def or_hosts(hosts):
    return "(" + " OR ".join(f"hostname = '{h}'" for h in hosts) + ")"


def in_hosts(hosts):
    return "hostname IN (" + ", ".join(f"'{h}'" for h in hosts) + ")"


def fill(template, system, t0=None, t1=None):
    """A query template with {T0} and {T1} made into the system's time literals."""
    if system == "duckdb":
        lit = lambda t: f"TIMESTAMP '{sql_ts(t)}'"  # noqa: E731
    else:
        lit = lambda t: f"'{rfc3339(t)}'"  # noqa: E731
    return template.replace("{T0}", lit(t0) if t0 is not None else "").replace(
        "{T1}", lit(t1) if t1 is not None else "")


def three(sql, influxql, t0=None, t1=None, duck_sql=None, **params):
    """One instance: `sql` for Strata (and DuckDB unless duck_sql), `influxql` for InfluxDB;
    in each, "date_bin" becomes DuckDB's "time_bucket" (same arguments, same answer)."""
    duck = (duck_sql or sql).replace("date_bin(", "time_bucket(")
    if t0 is not None:
        params["from"] = rfc3339(t0)
    if t1 is not None:
        params["to"] = rfc3339(t1)
    return Instance(fill(sql, "strata", t0, t1), influxql and fill(influxql, "influxdb", t0, t1),
                    fill(duck, "duckdb", t0, t1), params)


def gen_instance(kind, args, rng, a):
    if kind in ("single", "maxall"):
        metrics_n, hosts_n, hours = args if kind == "single" else (10, args[0], MAX_ALL_S // HOUR)
        bucket, ib, alias = ("1 minute", "1m", "minute") if kind == "single" else ("1 hour", "1h", "hour")
        t0, t1 = rand_window(rng, a.start, a.end, hours * HOUR)
        hosts = rand_hosts(rng, a.hosts, hosts_n)
        metrics = CPU_METRICS[:metrics_n]
        sel = ", ".join(f"max({m}) AS max_{m}" for m in metrics)
        tail = f"AND time >= {{T0}} AND time < {{T1}} GROUP BY {alias} ORDER BY {alias}"
        head = f"SELECT date_bin(INTERVAL '{bucket}', time) AS {alias}, {sel} FROM cpu WHERE "
        return three(head + f"{or_hosts(hosts)} {tail}",
                     f"SELECT {', '.join(f'max({m})' for m in metrics)} FROM cpu WHERE {or_hosts(hosts)} "
                     f"AND time >= {{T0}} AND time < {{T1}} GROUP BY time({ib})",
                     t0, t1, duck_sql=head + f"{in_hosts(hosts)} {tail}", hosts=hosts)
    if kind == "double":
        t0, t1 = rand_window(rng, a.start, a.end, DOUBLE_GROUPBY_S)
        metrics = CPU_METRICS[: args[0]]
        sel = ", ".join(f"avg({m}) AS mean_{m}" for m in metrics)
        return three(f"SELECT date_bin(INTERVAL '1 hour', time) AS hour, hostname, {sel} FROM cpu "
                     "WHERE time >= {T0} AND time < {T1} GROUP BY hour, hostname ORDER BY hour, hostname",
                     f"SELECT {', '.join(f'mean({m})' for m in metrics)} FROM cpu "
                     "WHERE time >= {T0} AND time < {T1} GROUP BY time(1h),hostname", t0, t1)
    if kind == "highcpu":
        t0, t1 = rand_window(rng, a.start, a.end, HIGH_CPU_S)
        hosts = rand_hosts(rng, a.hosts, args[0]) if args[0] else []
        q = "SELECT * FROM cpu WHERE usage_user > 90.0 AND time >= {T0} AND time < {T1}"
        return three(q + (f" AND {or_hosts(hosts)}" if hosts else ""),
                     "SELECT * FROM cpu WHERE usage_user > 90.0" + (f" AND {or_hosts(hosts)}" if hosts else "")
                     + " AND time >= {T0} AND time < {T1}",
                     t0, t1, duck_sql=q + (f" AND {in_hosts(hosts)}" if hosts else ""), hosts=hosts or "all")
    if kind == "lastpoint":
        lasts = ", ".join(f"last(time, {m}) AS {m}" for m in CPU_METRICS)
        return three(f"SELECT hostname, max(time) AS time, {lasts} FROM cpu GROUP BY hostname ORDER BY hostname",
                     'SELECT * FROM cpu GROUP BY "hostname" ORDER BY time DESC LIMIT 1',
                     duck_sql=f"SELECT hostname, max(time) AS time, "
                     + ", ".join(f"arg_max({m}, time) AS {m}" for m in CPU_METRICS)
                     + " FROM cpu GROUP BY hostname ORDER BY hostname")
    if kind == "gobl":
        _, t1 = rand_window(rng, a.start, a.end, HOUR)
        return three("SELECT date_bin(INTERVAL '1 minute', time) AS minute, max(usage_user) AS max_usage_user "
                     "FROM cpu WHERE time < {T1} GROUP BY minute ORDER BY minute DESC LIMIT 5",
                     "SELECT max(usage_user) FROM cpu WHERE time < {T1} GROUP BY time(1m) "
                     "ORDER BY time DESC LIMIT 5", t1=t1)
    if kind in ("gapfill", "rate"):
        t0, t1 = rand_window(rng, a.start, a.end, min(TS_SPAN_S, a.end - a.start))
        hosts = rand_hosts(rng, a.hosts, TS_HOSTS) if a.hosts > TS_HOSTS else []
        where = "time >= {T0} AND time < {T1}" + (f" AND {in_hosts(hosts)}" if hosts else "")
        if kind == "rate":
            return three("SELECT date_bin(INTERVAL '1 minute', time) AS minute, hostname, "
                         "rate(gauge_agg(time, usage_user)) AS rate FROM cpu WHERE " + where
                         + " GROUP BY minute, hostname ORDER BY minute, hostname", None, t0, t1,
                         duck_sql="SELECT date_bin(INTERVAL '1 minute', time) AS minute, hostname, "
                         "(arg_max(usage_user, time) - arg_min(usage_user, time)) / "
                         "(epoch_ns(max(time)) - epoch_ns(min(time))) AS rate FROM cpu WHERE " + where
                         + " GROUP BY minute, hostname ORDER BY minute, hostname", hosts=hosts or "all")
        hot = "usage_user > 90.0 AND " + where
        duck = ("WITH agg AS (SELECT time_bucket(INTERVAL '1 minute', time) AS m, hostname, "
                f"avg(usage_user) AS v FROM cpu WHERE {hot} GROUP BY m, hostname), "
                "grid AS (SELECT h.hostname, g.m FROM (SELECT DISTINCT hostname FROM agg) h, "
                "generate_series({T0}, {T1} - INTERVAL '1 minute', INTERVAL '1 minute') g(m)), "
                "j AS (SELECT grid.m, grid.hostname, agg.v, CASE WHEN agg.v IS NOT NULL THEN grid.m END AS vm "
                "FROM grid LEFT JOIN agg USING (m, hostname)), "
                "w AS (SELECT m, hostname, v, "
                "last_value(vm IGNORE NULLS) OVER (PARTITION BY hostname ORDER BY m) AS pm, "
                "last_value(v IGNORE NULLS) OVER (PARTITION BY hostname ORDER BY m) AS pv, "
                "first_value(vm IGNORE NULLS) OVER (PARTITION BY hostname ORDER BY m "
                "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nm, "
                "first_value(v IGNORE NULLS) OVER (PARTITION BY hostname ORDER BY m "
                "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nv FROM j) "
                "SELECT m AS minute, hostname, CASE WHEN v IS NOT NULL THEN v WHEN pv IS NULL OR nv IS NULL "
                "THEN NULL ELSE pv + (nv - pv) * epoch(m - pm) / epoch(nm - pm) END AS v "
                "FROM w ORDER BY minute, hostname")
        iq = "SELECT mean(usage_user) FROM cpu WHERE usage_user > 90.0 AND time >= {T0} AND time < {T1}"
        if hosts:
            iq += f" AND {or_hosts(hosts)}"
        return three("SELECT time_window_gapfill(time, INTERVAL '1 minute') AS minute, hostname, "
                     f"interpolate(avg(usage_user)) AS v FROM cpu WHERE {hot} "
                     "GROUP BY minute, hostname ORDER BY minute, hostname",
                     iq + " GROUP BY time(1m), hostname fill(linear)", t0, t1, duck_sql=duck,
                     hosts=hosts or "all")
    if kind == "join":
        t0, t1 = rand_window(rng, a.start, a.end, min(JOIN_S, a.end - a.start))
        return three("SELECT cpu.hostname, avg(cpu.usage_user) AS cpu_user, avg(mem.used_percent) AS mem_used, "
                     "count(*) AS n FROM cpu JOIN mem ON cpu.hostname = mem.hostname AND cpu.time = mem.time "
                     "WHERE cpu.time >= {T0} AND cpu.time < {T1} GROUP BY cpu.hostname ORDER BY cpu.hostname",
                     None, t0, t1)
    raise ValueError(kind)


def instances(a, name, kind, args):
    rng = random.Random(f"{a.seed}/{name}")
    n = 1 if kind == "lastpoint" else a.instances
    return [gen_instance(kind, args, rng, a) for _ in range(n)]


# ------------------------------------------------------------------ answers
class Answer:
    """Rows of one answer as (column names, rows); `error` when the system refused."""

    def __init__(self, columns=None, rows=None, error=None):
        self.columns = columns or []
        self.rows = rows or []
        self.error = error


def parse_strata(body):
    r = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    if not r:
        return Answer([], [])
    return Answer(r[0], [row for row in r[1:]])


def parse_influx(body):
    doc = json.loads(body)
    res = doc.get("results", [{}])[0]
    if "error" in res or "error" in doc:
        return Answer(error=res.get("error") or doc.get("error"))
    cols, rows = None, []
    for s in res.get("series", []):
        tags = s.get("tags", {})
        c = list(tags.keys()) + s["columns"]
        if cols is None:
            cols = c
        elif c != cols:
            raise Fail(f"InfluxDB answered series with different columns: {cols} and {c}")
        for v in s["values"]:
            rows.append(list(tags.values()) + v)
    return Answer(cols or [], rows)


# Which columns an answer is compared on, by kind: (time column, tag columns, value columns),
# named as in the Strata/DuckDB answers; InfluxDB's are mapped by position or by name.
def compare_spec(kind, inst):
    if kind in ("single", "maxall"):
        n = 10 if kind == "maxall" else len(
            [c for c in CPU_METRICS if f"max({c})" in inst.strata])
        return "positional", n
    if kind == "double":
        n = len([c for c in CPU_METRICS if f"avg({c})" in inst.strata])
        return "positional-host", n
    if kind == "gobl":
        return "positional", 1
    if kind == "highcpu":
        return "named", ["time"] + TAGS + CPU_METRICS
    if kind == "lastpoint":
        return "named", ["time", "hostname"] + CPU_METRICS
    if kind == "join":
        return "named", ["hostname", "cpu_user", "mem_used", "n"]
    if kind in ("gapfill", "rate"):
        return "positional-host", 1
    raise ValueError(kind)


def canon(system, kind, inst, ans):
    """The answer as a sorted list of tuples (time as ns int, strings, floats)."""
    how, arg = compare_spec(kind, inst)
    cols = ans.columns
    out = []
    if not ans.rows:
        return out  # InfluxDB answers no rows with no series and so no columns
    if how == "positional":
        want = 1 + arg
        if len(cols) != want:
            raise Fail(f"{system}: {len(cols)} columns {cols}, expected {want}")
        for r in ans.rows:
            out.append((to_ns(r[0]),) + tuple(num(x) for x in r[1:]))
    elif how == "positional-host":
        # InfluxDB: hostname (series tag) first, then time; the SQL systems: time, hostname.
        if len(cols) != 2 + arg:
            raise Fail(f"{system}: {len(cols)} columns {cols}, expected {2 + arg}")
        for r in ans.rows:
            if system == "influxdb":
                r = [r[1], r[0]] + r[2:]
            out.append((to_ns(r[0]), str(r[1])) + tuple(num(x) for x in r[2:]))
    else:
        idx = []
        for c in arg:
            if c not in cols:
                raise Fail(f"{system}: no column {c} in {cols}")
            idx.append(cols.index(c))
        for r in ans.rows:
            t = []
            for c, i in zip(arg, idx):
                v = r[i]
                if c == "time":
                    t.append(to_ns(v))
                elif c in TAGS:
                    t.append(None if v in (None, "") else str(v))
                else:
                    t.append(num(v))
            out.append(tuple(t))
    if kind in ("gapfill", "rate"):
        # a minute no value reaches (before a host's first row, after its last; a rate over one
        # point) is NULL in the SQL answers and left out or null in InfluxDB's
        out = [t for t in out if t[2] is not None]
    elif system == "influxdb" and how != "named":
        # GROUP BY time() fills a bucket without rows with nulls (fill(null), TSBS's default);
        # SQL has no row for it. A window that starts after a bucket's last row begins with one.
        first = 1 if how == "positional" else 2
        out = [t for t in out if any(x is not None for x in t[first:])]
    return sorted(out, key=lambda t: tuple((x is None, x) for x in t))


def num(v):
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise Fail(f"not a number: {v!r}")


def same(a, b):
    if len(a) != len(b):
        return False, f"{len(a)} rows vs {len(b)} rows"
    for n, (x, y) in enumerate(zip(a, b)):
        if len(x) != len(y):
            return False, f"row {n}: {len(x)} vs {len(y)} values"
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float):
                if not (u == v or abs(u - v) <= 1e-9 * max(abs(u), abs(v))):
                    return False, f"row {n}: {x} vs {y}"
            elif u != v:
                return False, f"row {n}: {x} vs {y}"
    return True, ""


# ------------------------------------------------------------------ systems
class HttpSystem:
    """One kept-alive connection through bench/qclient (built by make bench): the request is
    formatted here, sent and timed there, so the interpreter stays out of the timed path."""

    def __init__(self, name, hostport, timeout):
        host, port = hostport.rsplit(":", 1)
        self.name, self.host = name, host
        exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bench",
                           "qclient")
        if not os.access(exe, os.X_OK):
            raise Fail(f"{exe} is missing: run 'make bench' (it builds bench/*.c)")
        self.proc = subprocess.Popen([exe, host, port, str(int(timeout))], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    def _request(self, method, path, body, headers):
        body = body or b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n" if body or method == "POST" else "\r\n"
        req = head.encode() + body
        self.proc.stdin.write(b"%d\n" % len(req) + req)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise Fail(f"qclient for {self.name} exited")
        status, ns, n = (int(x) for x in line.split())
        data = self.proc.stdout.read(n)
        if status == 0:
            raise Fail(f"{self.name}: {data.decode('utf-8', 'replace')}")
        return status, data, ns / 1e9

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(30)


class Strata(HttpSystem):
    def __init__(self, hostport, db, user, timeout):
        super().__init__("strata", hostport, timeout)
        self.db = db
        self.headers = {"Authorization": "Basic " + base64.b64encode(user.encode()).decode(),
                        "Content-Type": "text/plain"}

    def query(self, inst):
        status, data, secs = self._request(
            "POST", f"/api/v1/sql?db={urllib.parse.quote(self.db)}", inst.strata.encode(),
            self.headers)
        if status != 200:
            return secs, Answer(error=f"HTTP {status}: {data[:400].decode('utf-8', 'replace')}")
        return secs, parse_strata(data)


class Influx(HttpSystem):
    def __init__(self, hostport, db, timeout):
        super().__init__("influxdb", hostport, timeout)
        self.db = db

    def query(self, inst):
        qs = urllib.parse.urlencode({"db": self.db, "epoch": "ns", "q": inst.influxql})
        status, data, secs = self._request("GET", f"/query?{qs}", None, {})
        if status != 200:
            return secs, Answer(error=f"HTTP {status}: {data[:400].decode('utf-8', 'replace')}")
        return secs, parse_influx(data)


class DuckDB:
    """The node child: one JSON request per line on stdin, one JSON answer per line on stdout."""

    name = "duckdb"

    def __init__(self, cmd, timeout):
        self.proc = subprocess.Popen(shlex.split(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.timeout = timeout
        hello = self._read()
        if not hello.get("ready"):
            raise Fail(f"duckdb runner did not start: {hello}")
        self.info = hello

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise Fail("duckdb runner exited (see its messages above)")
        return json.loads(line)

    def query(self, inst):
        self.proc.stdin.write(json.dumps({"sql": inst.duckdb}) + "\n")
        r = self._read()
        if "error" in r:
            return r.get("ms", 0) / 1000, Answer(error=r["error"])
        return r["ms"] / 1000, Answer(r["columns"], r["rows"])

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ------------------------------------------------------------------ the run
def log(msg):
    print(f"[queries {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def show(ans, limit=8):
    if ans.error:
        return f"error: {ans.error}"
    lines = [" | ".join(map(str, ans.columns))]
    lines += [" | ".join(map(str, r)) for r in ans.rows[:limit]]
    if len(ans.rows) > limit:
        lines.append(f"... {len(ans.rows)} rows in all")
    return "\n    ".join(lines)


# A reference answer stays until its instance's last round: with more runs than instances,
# several of high-cpu-all's (1.7M rows on 4000 hosts, gigabytes as Python tuples) would be held
# at once and the driver killed for memory. Large ones are kept pickled and compressed.
PACK_ROWS = 50000


def pack_answer(rows):
    return zlib.compress(pickle.dumps(rows, protocol=5), 1) if len(rows) > PACK_ROWS else rows


def unpack_answer(ref):
    return pickle.loads(zlib.decompress(ref)) if isinstance(ref, bytes) else ref


def run_types(a, systems, types, out_tsv, reference):
    """Runs every type on every system; returns {type: {system: [seconds...]}}, notes, failures."""
    times, notes, failed = {}, {}, False
    for name, kind, args in types:
        insts = instances(a, name, kind, args)
        ref = {}  # instance index -> canonical reference answer
        unsupported = set()
        times[name] = {s.name: [] for s in systems}

        def one(sysobj, k, timed, run):
            nonlocal failed
            if sysobj.name in unsupported:
                return
            inst = insts[k]
            try:
                secs, ans = sysobj.query(inst)
            except (Fail, OSError, ValueError) as e:
                # a peer that dies (DuckDB's node child out of memory) fails its own runs only
                if sysobj.name == "strata":
                    raise
                secs, ans = 0, Answer(error=f"the runner stopped: {e}")
            if ans.error:
                if sysobj.name == "strata":
                    notes[name] = f"not supported by Strata: {ans.error}"
                else:
                    notes[name] = f"{sysobj.name} failed: {ans.error}"
                    failed = True
                log(f"{name}: {sysobj.name}: {ans.error}\n  query: {inst.text(sysobj.name)}")
                unsupported.add(sysobj.name)
                return
            try:
                c = canon(sysobj.name, kind, inst, ans)
            except Fail as e:
                c, why = None, str(e)
            if k not in ref and sysobj.name == reference:
                if c is None:
                    raise Fail(f"{name}: the reference {reference} answer is unreadable: {why}")
                ref[k] = pack_answer(c)
            if sysobj.name != reference:
                if k not in ref:
                    raise Fail("reference must run first")
                ok, why = (False, why) if c is None else same(c, unpack_answer(ref[k]))
                if not ok:
                    failed = True
                    notes[name] = f"WRONG ANSWER from {sysobj.name}: {why}"
                    log(f"MISMATCH {name} instance {k}: {sysobj.name} vs {reference}: {why}")
                    log(f"  {sysobj.name} query: {inst.text(sysobj.name)}")
                    log(f"  {reference} query: {inst.text(reference)}")
                    log(f"  {sysobj.name} answer ({len(ans.rows)} rows):\n    {show(ans)}")
                    r_k = unpack_answer(ref[k])
                    log(f"  {reference} answer (canonical, {len(r_k)} rows):\n    "
                        + "\n    ".join(map(str, r_k[:8])))
                    unsupported.add(sysobj.name)
                    return
            if timed:
                times[name][sysobj.name].append(secs)
                out_tsv.write(f"{a.set}\t{name}\t{sysobj.name}\t{run}\t{k}\t{secs * 1000:.3f}\t"
                              f"{len(ans.rows)}\n")
                out_tsv.flush()

        # The reference system goes first in every round so that each instance's reference
        # answer exists before the others are checked against it.
        order = sorted(systems, key=lambda s: s.name != reference)
        for _ in range(a.warmup):
            for s in order:
                one(s, 0, False, 0)
        for r in range(a.runs):
            k = r % len(insts)
            for s in order:
                one(s, k, True, r + 1)
            # A reference answer is dropped after its instance's last round.
            if r + len(insts) >= a.runs:
                ref.pop(k, None)
        med = {s: (statistics.median(v) * 1000 if v else None) for s, v in times[name].items()}
        log(f"{name}: " + ", ".join(f"{s} {m:.1f} ms" if m is not None else f"{s} n/a"
                                    for s, m in med.items()))
    return times, notes, failed


def fmt_ms(v):
    if v is None:
        return "n/a"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def fmt_ratio(num_, den):
    if num_ is None or den is None or den <= 0:
        return "n/a"
    return f"{num_ / den:.2f}"


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def report(a, times, notes, join_times, join_rows, duck_info, reference):
    med = {t: {s: (statistics.median(v) * 1000 if v else None) for s, v in d.items()}
           for t, d in times.items()}
    has = {s for d in times.values() for s in d}
    lines = [f"### {a.hosts} hosts x {a.duration_text}", ""]
    lines.append(f"- data: {a.rows} cpu rows ({a.hosts} hosts, 10 s interval, from {rfc3339(a.start)}); "
                 f"{a.instances} instances per type (lastpoint: 1), {a.warmup} warm-up and {a.runs} timed "
                 f"runs per type and system, systems alternating; median ms")
    if duck_info:
        lines.append(f"- DuckDB {duck_info.get('version')} in-process (node), threads={duck_info.get('threads')}, "
                     f"table loaded from CSV in {duck_info.get('load_s', 0):.1f} s")
    lines.append(f"- answers compared with {reference}'s, every run")
    lines.append("")
    lines.append("| query type | Strata ms | InfluxDB ms | DuckDB ms | InfluxDB/Strata | DuckDB/Strata | answers |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    ri, rd = [], []
    for t in times:
        m = med[t]
        st, inf, du = m.get("strata"), m.get("influxdb"), m.get("duckdb")
        x = (inf / st) if st and inf else None
        y = (du / st) if st and du else None
        ri.append(x)
        rd.append(y)
        others = [s for s in ("strata", "duckdb") if s in has and s != reference]
        agreed = f"{' and '.join(others)} equal to {reference}'s" if others else "not checked"
        note = notes.get(t, agreed)
        note = note.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {t} | {fmt_ms(st)} | {fmt_ms(inf)} | {fmt_ms(du)} | {fmt_ratio(inf, st)} | "
                     f"{fmt_ratio(du, st)} | {note} |")
    gi, gd = geomean(ri), geomean(rd)
    lines.append("")
    lines.append(f"- geometric mean of the ratios: InfluxDB/Strata {gi:.2f}" if gi else
                 "- geometric mean InfluxDB/Strata: n/a")
    if gd:
        lines.append(f"- geometric mean DuckDB/Strata {gd:.2f} (above 1: Strata faster)")
    slow = [t for t, x in zip(times, ri) if x is not None and x < 3]
    lines.append(f"- types under the 3x target against InfluxDB: {', '.join(slow) if slow else 'none'}")
    behind = [t for t, y in zip(times, rd) if y is not None and y < 1]
    if gd:
        lines.append(f"- types where DuckDB's wall time beats Strata's: {', '.join(behind) if behind else 'none'}")
    if join_times:
        lines.append("")
        lines.append(f"Join (`cpu JOIN mem ON hostname and time`, a 12 h window, grouped per host; "
                     f"{join_rows} joined rows per query):")
        lines.append("")
        lines.append("| system | median ms | joined rows/s | answers |")
        lines.append("|---|---:|---:|---|")
        for s, v in join_times.items():
            m = statistics.median(v) * 1000 if v else None
            rate = f"{join_rows / (m / 1000) / 1e6:.2f} M" if m else "n/a"
            unchecked = "not checked (no other system)" if len(join_times) == 1 else "reference"
            note = notes.get(JOIN_TYPE, "equal to DuckDB's" if s == "strata" and len(join_times) > 1
                             else unchecked)
            lines.append(f"| {s} | {fmt_ms(m)} | {rate} | {note.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


def report_ts(a, ts_times, notes):
    if not ts_times:
        return ""
    span = min(TS_SPAN_S, a.end - a.start) // HOUR
    lines = ["", f"Time-series functions ({min(a.hosts, TS_HOSTS)} hosts x {span} h, per host and "
             "minute; median ms):", "",
             "| query | Strata ms | InfluxDB ms | DuckDB ms | InfluxDB/Strata | DuckDB/Strata | answers |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for t, (d, ref) in ts_times.items():
        m = {s: (statistics.median(v) * 1000 if v else None) for s, v in d.items()}
        st, inf, du = m.get("strata"), m.get("influxdb"), m.get("duckdb")
        others = [s for s in d if s != ref]
        note = notes.get(t, f"{' and '.join(others)} equal to {ref}'s")
        lines.append(f"| {t} | {fmt_ms(st)} | {fmt_ms(inf)} | {fmt_ms(du)} | {fmt_ratio(inf, st)} | "
                     f"{fmt_ratio(du, st)} | {note.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


def warm(dirs):
    """Reads every file under dirs once, so that each server starts with its files in the page
    cache: DuckDB's load, gigabytes of CSV, has just pushed them out, and without this the
    first runs of each type would time disk reads (most for whichever system's files went
    first), not queries."""
    for d in dirs:
        t0, total = time.monotonic(), 0
        for root, _, files in os.walk(d):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb", buffering=0) as fh:
                        while chunk := fh.read(4 << 20):
                            total += len(chunk)
                except OSError:
                    pass  # a file compacted away meanwhile
        log(f"read {total / 1e6:.0f} MB under {d} into the page cache in "
            f"{time.monotonic() - t0:.1f} s")


def cmd_run(a):
    types = [t for t in TYPES if t[0] in a.types]
    systems, duck = [], None
    try:
        if a.strata:
            systems.append(Strata(a.strata, a.strata_db, a.strata_user, a.timeout))
        if a.influx:
            systems.append(Influx(a.influx, a.influx_db, a.timeout))
        if a.duckdb:
            log("starting the DuckDB runner (loads the CSV)")
            duck = DuckDB(a.duckdb, a.timeout)
            systems.append(duck)
            log(f"DuckDB ready: {duck.info}")
        warm(a.warm)
        names = [s.name for s in systems]
        reference = "influxdb" if "influxdb" in names else names[0]
        with open(f"{a.out}/queries-{a.set}.tsv", "w") as tsv:
            times, notes, failed = run_types(a, systems, types, tsv, reference)
            join_times, join_rows = {}, 0
            jsys = [s for s in systems if s.name in ("strata", "duckdb")]
            if a.join and jsys:
                jref = "duckdb" if "duckdb" in [s.name for s in jsys] else jsys[0].name
                jt, jn, jf = run_types(a, jsys, [(JOIN_TYPE, "join", ())], tsv, jref)
                join_times = jt[JOIN_TYPE]
                notes.update(jn)
                failed = failed or jf
                join_rows = a.hosts * min(JOIN_S, a.end - a.start) // a.interval
            ts_times = {}
            for tname, tkind, targs in TS_TYPES if a.tsfuncs else []:
                tsys = [s for s in systems if tkind == "gapfill" or s.name != "influxdb"]
                tnames = [s.name for s in tsys]
                tref = "influxdb" if "influxdb" in tnames else "duckdb" if "duckdb" in tnames else tnames[0]
                if len(tsys) < 2:
                    notes[tname] = "not checked (no other system)"
                tt, tn, tf = run_types(a, tsys, [(tname, tkind, targs)], tsv, tref)
                ts_times[tname] = (tt[tname], tref)
                notes.update(tn)
                failed = failed or tf
        md = report(a, times, notes, join_times, join_rows, duck.info if duck else None, reference)
        md += report_ts(a, ts_times, notes)
        with open(f"{a.out}/queries-{a.set}.md", "w") as f:
            f.write(md)
        print(md)
        return 1 if failed else 0
    finally:
        for sysobj in systems:
            sysobj.close()


def cmd_gen(a):
    for name, kind, args in TYPES + [(JOIN_TYPE, "join", ())] + TS_TYPES:
        if name not in a.types and name != JOIN_TYPE and kind not in ("gapfill", "rate"):
            continue
        for k, inst in enumerate(instances(a, name, kind, args)):
            print(f"-- {name} #{k} {json.dumps(inst.params)}")
            for s in ("strata", "influxdb", "duckdb"):
                if inst.text(s):
                    print(f"{s}: {inst.text(s)}")
            print()
    return 0


def cmd_repeat(a):
    """Runs one type's instances on Strata in a loop for `seconds` (for perf record)."""
    name = a.types[0]
    kind, args = next((k, g) for n, k, g in TYPES + [(JOIN_TYPE, "join", ())] + TS_TYPES if n == name)
    insts = instances(a, name, kind, args)
    s = Strata(a.strata, a.strata_db, a.strata_user, a.timeout)
    n, end = 0, time.monotonic() + a.seconds
    while time.monotonic() < end:
        _, ans = s.query(insts[n % len(insts)])
        if ans.error:
            log(f"{name}: {ans.error}")
            return 1
        n += 1
    s.close()
    log(f"{name}: {n} queries in {a.seconds} s")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cmd", choices=["gen", "run", "repeat"])
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--start", type=parse_start, default=parse_start("2016-01-01T00:00:00Z"))
    p.add_argument("--duration", required=True, help="span of the data, e.g. 3d, 12h")
    p.add_argument("--interval", type=int, default=10, help="seconds between a host's rows")
    p.add_argument("--seed", default="123")
    p.add_argument("--instances", type=int, default=10)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--warm", action="append", default=[], metavar="DIR",
                   help="read the files under DIR before the queries (repeatable)")
    p.add_argument("--types", default=",".join(TYPE_NAMES))
    p.add_argument("--join", type=int, default=1)
    p.add_argument("--tsfuncs", type=int, default=1, help="0 skips the time-series functions")
    p.add_argument("--strata")
    p.add_argument("--strata-db", default="public")
    p.add_argument("--strata-user", default="root:")
    p.add_argument("--influx")
    p.add_argument("--influx-db", default="benchmark")
    p.add_argument("--duckdb", help="command line of the DuckDB runner")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--set", default="set", help="the data set's name in output files")
    p.add_argument("--out", default=".")
    a = p.parse_args()
    a.types = [t for t in a.types.split(",") if t]
    ts_names = [t[0] for t in TS_TYPES]
    unknown = [t for t in a.types if t not in TYPE_NAMES + [JOIN_TYPE] + ts_names]
    if unknown or not a.types:
        p.error(f"unknown query types {unknown}; known: {', '.join(TYPE_NAMES)}, {JOIN_TYPE}")
    if a.hosts <= 0 or a.instances <= 0 or a.runs <= 0 or a.warmup < 0:
        p.error("--hosts, --instances and --runs must be positive, --warmup not negative")
    a.duration_text = a.duration
    try:
        a.duration = parse_duration(a.duration)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    a.end = a.start + a.duration
    a.rows = a.hosts * (a.duration // a.interval)
    if a.cmd == "run" and not (a.strata or a.influx or a.duckdb):
        p.error("run needs at least one of --strata, --influx, --duckdb")
    if a.cmd == "repeat" and not a.strata:
        p.error("repeat needs --strata")
    try:
        return {"gen": cmd_gen, "run": cmd_run, "repeat": cmd_repeat}[a.cmd](a)
    except Fail as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
