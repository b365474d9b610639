#!/usr/bin/env bash
# bench/selftest.sh: checks the benchmark tools themselves (build/bench/tsbs_gen and
# build/bench/load) so that a benchmark number is not the artefact of a broken generator or
# loader. The generator is checked for determinism, shape and argument errors; the loader is
# run against a small scripted HTTP server (python3) that answers in each way a real server
# may: Content-Length, chunked, no body, HTTP/1.0 read-to-close, Connection: close, dropping
# an idle keep-alive connection, errors, garbage. The server counts what it receives, so the
# test sees whether every row arrived exactly once.
# Usage: make build/bench/load build/bench/tsbs_gen && bench/selftest.sh
# The mock's counters arrive as M_<key> variables set through printf -v:
# shellcheck disable=SC2154
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
GEN=${GEN:-build/bench/tsbs_gen}
LOAD=${LOAD:-build/bench/load}
for b in "$GEN" "$LOAD"; do
    [ -x "$b" ] || {
        echo "selftest: $b missing; run: make build/bench/load build/bench/tsbs_gen" >&2
        exit 1
    }
done
command -v python3 >/dev/null || {
    echo "selftest: python3 is needed for the mock server" >&2
    exit 1
}

T=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-selftest.XXXXXX")
MOCK_PID=""
cleanup() {
    [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
[ "${SELFTEST_KEEP:-0}" = 1 ] && trap - EXIT

PASS=0
FAIL=0
ok() {
    PASS=$((PASS + 1))
    echo "ok   - $1"
}
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL - $1" >&2
}
check() { # check NAME COMMAND...: passes when the command succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# ------------------------------------------------------------------ generator
"$GEN" --hosts 7 --duration 1h --out "$T/a.lp" 2>/dev/null
"$GEN" --hosts 7 --duration 1h >"$T/b.lp" 2>/dev/null
check "gen: same options give the same bytes (file and stdout)" cmp -s "$T/a.lp" "$T/b.lp"
"$GEN" --hosts 7 --duration 1h --seed 9 --out "$T/c.lp" 2>/dev/null
check "gen: another seed gives other data" sh -c "! cmp -s '$T/a.lp' '$T/c.lp'"
check "gen: rows = hosts x duration / interval" test "$(wc -l <"$T/a.lp")" -eq $((7 * 360))
check "gen: 1h30m at 1m is 90 steps" test "$("$GEN" --hosts 2 --duration 1h30m --interval 1m 2>/dev/null | wc -l)" -eq 180
check "gen: --limit caps rows" test "$("$GEN" --hosts 7 --limit 10 2>/dev/null | wc -l)" -eq 10

# Shape: 11 tags in order, 10 fields in [0,100] with two decimals, ns timestamps that start
# at the default start, step by 10 s, and are ordered by time then host.
cat >"$T/shape.py" <<'EOF'
import re, sys
tags = ["hostname", "region", "datacenter", "rack", "os", "arch", "team", "service",
        "service_version", "service_environment"]
fields = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
          "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"]
prev = None
host_tags = {}
last = {}
for n, line in enumerate(open(sys.argv[1])):
    series, fs, ts = line.rstrip("\n").split(" ")
    parts = series.split(",")
    assert parts[0] == "cpu", line
    kv = [p.split("=") for p in parts[1:]]
    assert [k for k, _ in kv] == tags, line
    host = int(kv[0][1].removeprefix("host_"))
    assert host_tags.setdefault(host, series) == series, "tags of a host changed"
    assert kv[2][1].startswith(kv[1][1]), "datacenter outside its region"
    fv = [f.split("=") for f in fs.split(",")]
    assert [k for k, _ in fv] == fields, line
    for k, v in fv:
        assert re.fullmatch(r"\d{1,3}\.\d\d", v), v
        x = float(v)
        assert 0 <= x <= 100, v
        if (host, k) in last:
            assert abs(x - last[(host, k)]) < 8, "walk step too large"
        last[(host, k)] = x
    t = int(ts)
    if n == 0:
        assert t == 1451606400 * 10**9
    key = (t, host)
    assert prev is None or key > prev, "not ordered by time then host"
    if prev and t != prev[0]:
        assert t - prev[0] == 10 * 10**9
    prev = key
assert len(host_tags) == 7
EOF
check "gen: line shape, value range, time/host order" python3 "$T/shape.py" "$T/a.lp"

# CSV and mem: the same rows as line protocol, value for value (DuckDB gets the CSV, the
# servers the line protocol); mem's byte counts add up.
"$GEN" --hosts 7 --duration 1h --format csv --out "$T/a.csv" 2>/dev/null
"$GEN" --hosts 5 --duration 30m --measurement mem --out "$T/m.lp" 2>/dev/null
"$GEN" --hosts 5 --duration 30m --measurement mem --format csv --out "$T/m.csv" 2>/dev/null
cat >"$T/csvcheck.py" <<'EOF'
import csv, sys
def lp(path):
    for line in open(path):
        series, fs, ts = line.rstrip("\n").split(" ")
        parts = series.split(",")
        yield parts[0], [ts] + [p.split("=")[1] for p in parts[1:]], [f.split("=") for f in fs.split(",")]
for lp_path, csv_path in zip(sys.argv[1::2], sys.argv[2::2]):
    rows = list(csv.reader(open(csv_path)))
    got = list(lp(lp_path))
    assert len(rows) == len(got) + 1, (len(rows), len(got))
    for (meas, head, fields), row in zip(got, rows[1:]):
        assert rows[0] == ["time", "hostname", "region", "datacenter", "rack", "os", "arch", "team",
                           "service", "service_version", "service_environment"] + [k for k, _ in fields], rows[0]
        assert row == head + [v.rstrip("i") for _, v in fields], (row, head, fields)
        if meas == "mem":
            f = {k: v for k, v in fields}
            total, avail, used = (int(f[k][:-1]) for k in ("total", "available", "used"))
            assert total == avail + used and total in (8 << 30, 16 << 30, 32 << 30, 64 << 30), f
            assert abs(float(f["used_percent"]) + float(f["available_percent"]) - 100) < 0.011, f
            assert int(f["free"][:-1]) >= 0, f
        else:
            assert meas == "cpu"
EOF
check "gen: --format csv holds the line protocol's rows and values (cpu, mem)" \
    python3 "$T/csvcheck.py" "$T/a.lp" "$T/a.csv" "$T/m.lp" "$T/m.csv"
check "gen: --measurement mem writes mem rows" sh -c "head -n 1 '$T/m.lp' | grep -q '^mem,hostname=host_0,'"

# The query benchmark's driver: instances are a function of the settings, answers are compared
# as described (tolerance, rows, InfluxDB's series tags) and a mismatch is caught.
Q=bench/tsbs_queries.py
python3 "$Q" gen --hosts 50 --duration 3d --instances 3 >"$T/q1" 2>/dev/null
python3 "$Q" gen --hosts 50 --duration 3d --instances 3 >"$T/q2" 2>/dev/null
python3 "$Q" gen --hosts 50 --duration 3d --instances 3 --seed 7 >"$T/q3" 2>/dev/null
check "queries: the same settings give the same queries" cmp -s "$T/q1" "$T/q2"
check "queries: another seed gives other queries" sh -c "! cmp -s '$T/q1' '$T/q3'"
check "queries: 15 types (3 instances, lastpoint 1) and the join" sh -c \
    "test \$(grep -c '^-- ' '$T/q1') -eq 46 && test \$(grep -c '^influxdb: ' '$T/q1') -eq 43 && test \$(grep -c '^duckdb: ' '$T/q1') -eq 46"
check "queries: a data set shorter than a window is refused" sh -c \
    "! python3 '$Q' gen --hosts 5 --duration 6h >/dev/null 2>&1"
cat >"$T/cmp.py" <<'EOF'
import sys
sys.path.insert(0, "bench")
import tsbs_queries as q
class A: pass
a = A(); a.hosts, a.start, a.end, a.seed, a.instances = 4, 1451606400, 1451606400 + 86400, "1", 1
inst = q.instances(a, "double-groupby-1", "double", (1,))[0]
influx = q.parse_influx(b'{"results":[{"series":['
    b'{"name":"cpu","tags":{"hostname":"host_1"},"columns":["time","mean"],"values":[[3600000000000,1.5]]},'
    b'{"name":"cpu","tags":{"hostname":"host_0"},"columns":["time","mean"],"values":[[3600000000000,2.25]]}]}]}')
strata = q.parse_strata(b"hour,hostname,mean_usage_user\n1970-01-01T01:00:00.000000000,host_0,2.2500000000000004\n"
                        b"1970-01-01T01:00:00.000000000,host_1,1.5\n")
duck = q.Answer(["hour", "hostname", "mean_usage_user"], [["1970-01-01 01:00:00", "host_1", 1.5],
                                                           ["1970-01-01 01:00:00", "host_0", 2.25]])
ref = q.canon("influxdb", "double", inst, influx)
assert ref == [(3600 * 10**9, "host_0", 2.25), (3600 * 10**9, "host_1", 1.5)], ref
assert q.same(q.canon("strata", "double", inst, strata), ref)[0]
assert q.same(q.canon("duckdb", "double", inst, duck), ref)[0]
off = q.Answer(duck.columns, [duck.rows[0], ["1970-01-01 01:00:00", "host_0", 2.26]])
assert not q.same(q.canon("duckdb", "double", inst, off), ref)[0]
assert not q.same(q.canon("duckdb", "double", inst, q.Answer(duck.columns, duck.rows[:1])), ref)[0]
late = q.Answer(duck.columns, [duck.rows[0], ["1970-01-01 01:00:01", "host_0", 2.25]])
assert not q.same(q.canon("duckdb", "double", inst, late), ref)[0]
assert q.parse_influx(b'{"results":[{"error":"boom"}]}').error == "boom"
# InfluxDB's fill(null) bucket before the window's first row is no row; no rows is no series.
single = q.instances(a, "single-groupby-1-1-1", "single", (1, 1, 1))[0]
filled = q.parse_influx(b'{"results":[{"series":[{"name":"cpu","columns":["time","max"],'
                        b'"values":[[0,null],[60000000000,3.5]]}]}]}')
sql = q.Answer(["minute", "max_usage_user"], [["1970-01-01T00:01:00", "3.5"]])
assert q.same(q.canon("strata", "single", single, sql), q.canon("influxdb", "single", single, filled))[0]
none = q.parse_influx(b'{"results":[{"statement_id":0}]}')
hc = q.instances(a, "high-cpu-1", "highcpu", (1,))[0]
assert q.canon("influxdb", "highcpu", hc, none) == []
assert q.canon("strata", "highcpu", hc, q.parse_strata(b"time,hostname\n")) == []
EOF
check "queries: answers compare within 1e-9, by rows, times and InfluxDB's series tags" python3 "$T/cmp.py"

"$GEN" --hosts 20 --duration 10s 2>/dev/null | head -n 7 >"$T/h20"
"$GEN" --hosts 7 --duration 10s 2>/dev/null >"$T/h7"
check "gen: a host's tags do not depend on the host count" cmp -s "$T/h7" "$T/h20"
"$GEN" --hosts 3 --duration 20s --start 2020-02-29T23:59:50+01:00 2>/dev/null | awk '{ print $NF }' | sort -u >"$T/ts"
# 2020-02-29T23:59:50+01:00 is 22:59:50Z, 1583017190 s; two steps, leap day included.
check "gen: --start with an offset" test "$(tr '\n' ' ' <"$T/ts")" = "1583017190000000000 1583017200000000000 "
check "gen: --ints writes TSBS integers" sh -c "'$GEN' --hosts 1 --duration 10s --ints 2>/dev/null | grep -Eq 'usage_user=[0-9]+i,'"

for args in "--hosts 0" "--hosts x" "--duration 12x" "--duration ''" "--duration h" \
    "--interval 0s" "--start 2016-13-01T00:00:00Z" "--start 2016-01-01" "--start 2016-01-01T00:00:00" \
    "--seed -1" "--bogus 1" "--hosts" "--start 9999999999999999999" "--duration 300y"; do
    if eval "'$GEN' $args" >/dev/null 2>&1; then
        bad "gen: rejects $args"
    else
        ok "gen: rejects $args"
    fi
done

# ------------------------------------------------------------------ loader, against a mock
cat >"$T/mock.py" <<'EOF'
# A scripted HTTP/1.1 server. argv: port-file, log-file, mode.
import socket, sys, threading
port_file, log_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
stats = {"requests": 0, "rows": 0, "auth": set(), "max_rows": 0, "conns": 0, "bad": 0}

def read_request(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"POST ") or not line.endswith(b" HTTP/1.1\r\n"):
        stats["bad"] += 1
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, v = h.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0")))
    return headers, body

def serve(conn):
    with lock:
        stats["conns"] += 1
    f = conn.makefile("rb")
    served = 0
    try:
        while True:
            req = read_request(f)
            if req is None:
                return
            headers, body = req
            rows = sum(1 for l in body.split(b"\n") if l.strip() and not l.startswith(b"#"))
            if mode == "drop-idle" and served == 2:
                return  # as if the idle timeout hit just before this request arrived
            with lock:
                stats["requests"] += 1
                stats["rows"] += rows
                stats["max_rows"] = max(stats["max_rows"], rows)
                stats["auth"].add(headers.get("authorization", "-"))
                n = stats["requests"]
            served += 1
            if mode in ("cl", "drop-idle"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            elif mode == "body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            elif mode == "204":
                conn.sendall(b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n")
            elif mode == "continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            elif mode == "chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n1a;ext=1\r\n" + b"x" * 26 + b"\r\n0\r\nX-T: 1\r\n\r\n")
            elif mode == "close":
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
                return
            elif mode == "http10":
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nbody until close")
                return
            elif mode == "slow-split":  # the response trickles in small pieces
                for piece in (b"HTTP/1.1 2", b"00 OK\r\nConte", b"nt-Length: 3\r\n", b"\r\nab", b"c"):
                    conn.sendall(piece)
            elif mode == "error":
                msg = b'{"error_code":"050014","error_message":"type conflict"}'
                status = b"500 Internal Server Error" if n == 3 else b"200 OK"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " +
                             str(len(msg) if n == 3 else 0).encode() + b"\r\n\r\n" +
                             (msg if n == 3 else b""))
            elif mode == "garbage":
                conn.sendall(b"SPDY/9 what\r\n\r\n")
                return
            elif mode == "hangup":
                return
    finally:
        conn.close()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
srv.settimeout(0.2)
open(port_file + ".tmp", "w").write(str(srv.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
threads = []
stop = False
def write_log():
    with lock:
        s = dict(stats)
        s["auth"] = ",".join(sorted(s["auth"]))
    open(log_file + ".tmp", "w").write("".join(f"{k}={v}\n" for k, v in s.items()))
    os.rename(log_file + ".tmp", log_file)
import signal
signal.signal(signal.SIGTERM, lambda *a: (write_log(), os._exit(0)))
while True:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        write_log()
        continue
    t = threading.Thread(target=serve, args=(c,), daemon=True)
    t.start()
EOF

# mock MODE: starts the mock server; sets PORT.
mock() {
    rm -f "$T/port" "$T/mock.log"
    python3 "$T/mock.py" "$T/port" "$T/mock.log" "$1" &
    MOCK_PID=$!
    for _ in $(seq 100); do
        [ -s "$T/port" ] && break
        sleep 0.05
    done
    PORT=$(cat "$T/port")
}
# mock_stop: stops it and loads its counters (one key=value a line) into M_<key> variables.
mock_stop() {
    kill -TERM "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
    MOCK_PID=""
    local line
    while IFS= read -r line; do
        printf -v "M_${line%%=*}" '%s' "${line#*=}"
    done <"$T/mock.log"
}

"$GEN" --hosts 10 --duration 1h --out "$T/data.lp" 2>/dev/null # 3600 rows
# load_mock MODE EXPECT_RC ARGS...: runs the loader against a fresh mock in MODE.
load_mock() {
    local mode=$1 want=$2
    shift 2
    mock "$mode"
    timeout 60 "$LOAD" --url "127.0.0.1:$PORT/write?db=x" --name t "$@" >"$T/load.out" 2>"$T/err"
    RC=$?
    mock_stop
    if [ "$RC" -ne "$want" ]; then
        echo "   loader exit $RC, wanted $want; stderr:" >&2
        sed 's/^/   /' "$T/err" >&2
        return 1
    fi
    return 0
}
result() { tr ' ' '\n' <"$T/load.out" | sed -n "s/^$1=//p"; }

for mode in cl body 204 continue chunked close http10 slow-split; do
    if load_mock "$mode" 0 --batch 100 --workers 3 "$T/data.lp" &&
        [ "$M_rows" = 3600 ] && [ "$M_requests" = 36 ] && [ "$M_max_rows" = 100 ] &&
        [ "$(result rows)" = 3600 ] && [ "$(result ok)" = 1 ] && [ "$M_bad" = 0 ]; then
        ok "load: mode $mode: every row arrives once, 36 batches of 100"
    else
        bad "load: mode $mode (server saw rows=${M_rows:-?} requests=${M_requests:-?})"
    fi
done

if load_mock drop-idle 0 --batch 100 --workers 2 "$T/data.lp" && [ "$M_rows" = 3600 ] &&
    [ "$M_requests" = 36 ] && [ "$M_conns" -gt 2 ]; then
    ok "load: a dropped idle keep-alive connection is reopened and the batch resent once"
else
    bad "load: drop-idle (rows=${M_rows:-?} requests=${M_requests:-?} conns=${M_conns:-?})"
fi

if load_mock error 1 --batch 100 --workers 1 "$T/data.lp" && grep -q 'HTTP 500: {"error_code":"050014"' "$T/err" &&
    [ "$(result ok)" = 0 ] && [ "$(result errors)" = 1 ]; then
    ok "load: a 500 is an error: body printed, exit 1"
else
    bad "load: 500 handling"
fi
check "load: garbage status line is an error" load_mock garbage 1 --batch 100 "$T/data.lp"
check "load: server hanging up without answering is an error" load_mock hangup 1 --batch 100 "$T/data.lp"

if load_mock cl 0 --batch 5000 --workers 8 --user root: "$T/data.lp" && [ "$M_auth" = "Basic cm9vdDo=" ] &&
    [ "$M_requests" = 1 ] && [ "$(result workers)" = 1 ]; then
    ok "load: --user sends Basic auth; workers capped at the batch count"
else
    bad "load: auth/workers (auth=${M_auth:-?} requests=${M_requests:-?})"
fi
if load_mock cl 0 --batch 7 --user 'a:b:c' "$T/data.lp" && [ "$M_auth" = "Basic YTpiOmM=" ] &&
    [ "$M_requests" = 515 ] && [ "$M_rows" = 3600 ]; then
    ok "load: uneven last batch (3600 = 514 x 7 + 2), base64 padding"
else
    bad "load: uneven batches (requests=${M_requests:-?} rows=${M_rows:-?} auth=${M_auth:-?})"
fi

# Blank lines, comments, CRLF, no final newline; field counting with quoted strings and escapes.
printf '# comment\n\nm,t=a\\ b f1="x, y z",f2=1i,f3=true 1\r\n\n  \nm f=1 2\n# c\nm f=2 3' >"$T/odd.lp"
if load_mock cl 0 --batch 2 "$T/odd.lp" && [ "$(result rows)" = 3 ] && [ "$(result fields)" = 3 ] &&
    [ "$(result values)" = 9 ] && [ "$M_rows" = 3 ] && [ "$M_requests" = 2 ]; then
    ok "load: blank/comment lines skipped, CRLF, no final newline, quoted-field counting"
else
    bad "load: odd file (rows=$(result rows) fields=$(result fields) server rows=${M_rows:-?})"
fi

: >"$T/empty.lp"
check "load: empty file is refused" sh -c "! '$LOAD' --url 127.0.0.1:1/write '$T/empty.lp' 2>/dev/null"
printf '\n# only comments\n\n' >"$T/comments.lp"
check "load: file without rows is refused" sh -c "! '$LOAD' --url 127.0.0.1:1/write '$T/comments.lp' 2>/dev/null"
check "load: missing file is refused" sh -c "! '$LOAD' --url 127.0.0.1:1/write '$T/nope.lp' 2>/dev/null"
check "load: connection refused is an error" sh -c "! '$LOAD' --url 127.0.0.1:1/write '$T/data.lp' >/dev/null 2>&1"
for args in "--batch 0" "--workers 0" "--workers x" "--url https://x/y" "--timeout -1" "--bogus" "--header nocolon"; do
    if eval "'$LOAD' --url 127.0.0.1:1/write $args '$T/data.lp'" >/dev/null 2>&1; then
        bad "load: rejects $args"
    else
        ok "load: rejects $args"
    fi
done
check "load: no --url is refused" sh -c "! '$LOAD' '$T/data.lp' 2>/dev/null"

# ------------------------------------------------------------------ query client, against the mock
QC=${QC:-build/bench/qclient}
cat >"$T/qc.py" <<'EOF'
# Drives qclient through its pipe protocol: three POSTs, prints "status body_len body" each.
import subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
for i in range(3):
    body = b"m v=%d 1\n" % i
    req = b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    p.stdin.write(b"%d\n" % len(req) + req)
    p.stdin.flush()
    status, ns, n = (int(x) for x in p.stdout.readline().split())
    data = p.stdout.read(n)
    print(status, n, data.decode())
p.stdin.close()
sys.exit(p.wait())
EOF
# qc_mock MODE EXPECTED: three requests through qclient against a fresh mock in MODE.
qc_mock() {
    mock "$1"
    local got
    got=$(timeout 30 python3 "$T/qc.py" "$QC" 127.0.0.1 "$PORT" 5 2>&1 | tr '\n' '|')
    mock_stop
    [ "$got" = "$2" ] || {
        echo "   got: $got" >&2
        return 1
    }
}
if [ -x "$QC" ]; then
    X26=$(printf 'x%.0s' $(seq 26))
    check "qclient: Content-Length bodies" qc_mock body "200 5 hello|200 5 hello|200 5 hello|"
    check "qclient: chunked bodies are unchunked" qc_mock chunked \
        "200 31 hello$X26|200 31 hello$X26|200 31 hello$X26|"
    check "qclient: 204 has no body" qc_mock 204 "204 0 |204 0 |204 0 |"
    check "qclient: Connection: close reconnects" qc_mock close "200 2 ok|200 2 ok|200 2 ok|"
    check "qclient: HTTP/1.0 body to close" qc_mock http10 \
        "200 16 body until close|200 16 body until close|200 16 body until close|"
    check "qclient: a dropped idle connection is retried once" qc_mock drop-idle "200 0 |200 0 |200 0 |"
    check "qclient: no answer is status 0 with the reason" sh -c \
        "timeout 30 python3 '$T/qc.py' '$QC' 127.0.0.1 1 5 2>&1 | grep -q '^0 .*connect'"
else
    bad "qclient: $QC is missing (make build/bench/qclient)"
fi

# ------------------------------------------------------------------ run.sh, with a fake Strata
# The fake speaks just enough of Strata's contract (flags, ping, authenticated write, the few SQL
# statements the storage benchmark sends) to walk run.sh's Strata paths end to end, and records
# what it was given. It keeps usage_user of every row in its data directory, so that a restart
# on the same directory answers the same, and it answers the scan queries from those values.
cat >"$T/fake-strata" <<'EOF'
#!/usr/bin/env python3
import argparse, http.server, json, os, re
ap = argparse.ArgumentParser()
ap.add_argument("--data"); ap.add_argument("--port", type=int); ap.add_argument("--host")
a = ap.parse_args()
mode = os.environ.get("FAKE_MODE", "")
if mode == "hang":  # never becomes ready
    import time; time.sleep(3600)
os.makedirs(a.data, exist_ok=True)
with open(os.path.join(a.data, "env"), "w") as f:
    f.write(f"wal_sync={os.environ.get('STRATA_WAL_SYNC')} host={a.host}\n")
def note(name, text):
    with open(os.path.join(a.data, name), "a") as f:
        f.write(text + "\n")
def values():
    try:
        return [float(v) for v in open(os.path.join(a.data, "usage_user")).read().split()]
    except FileNotFoundError:
        return []
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def reply(self, code, body=b""):
        self.send_response(code); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/api/v1/ping":
            self.reply(200, json.dumps({"version": "0.1.0", "status": "healthy"}).encode())
        else:
            self.reply(404)
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if mode == "fail":
            return self.reply(500, b'{"error_code":"050014","error_message":"fake failure"}')
        if self.headers.get("Authorization") != "Basic cm9vdDo=":
            return self.reply(401, b'{"error_code":"010001","error_message":"auth"}')
        if self.path == "/api/v1/write?db=public":
            note("rows", "%d" % body.count(b"\n"))
            note("usage_user", " ".join(re.findall(r" usage_user=([0-9.]+)", body.decode())))
            # The schema benchmark's tables (m<i>) and series (of table s).
            for t in re.findall(r"^(m\d+),", body.decode(), re.M):
                note("tables", t)
            note("series", "%d" % len(re.findall(r"^s,", body.decode(), re.M)))
            return self.reply(200)
        if self.path == "/api/v1/write?db=probe":
            return self.reply(200)
        if self.path != "/api/v1/sql?db=public":
            return self.reply(400, b'{"error_code":"000000","error_message":"bad request"}')
        q = body.decode()
        # Outside the data directory, whose size the benchmark measures.
        note(os.path.join("..", "queries"), q)
        v = values()
        if mode == "lose":  # a row went missing somewhere
            v = v[1:]
        if q == "CREATE DATABASE IF NOT EXISTS probe":
            return self.reply(200)
        if q == "SHOW TABLES":
            t = open(os.path.join(a.data, "tables")).read() if os.path.exists(os.path.join(a.data, "tables")) else ""
            return self.reply(200, ("table_name\n" + t).encode())
        if q == "SELECT count(*) FROM s":
            n = sum(int(x) for x in open(os.path.join(a.data, "series")).read().split())
            return self.reply(200, f"COUNT(*)\n{n}\n".encode())
        if q == "COMPACT DATABASE public":
            if mode == "compactfail":
                return self.reply(500, b'{"error_code":"050000","error_message":"compaction failed"}')
            return self.reply(200)
        hot = [x for x in v if x > 50]
        answers = {"SELECT count(*) FROM cpu": ("COUNT(*)", len(v)),
                   "SELECT count(*) FROM cpu WHERE usage_user > 50": ("COUNT(*)", len(hot)),
                   "SELECT sum(usage_user) FROM cpu WHERE usage_user > 50": ("SUM(cpu.usage_user)", sum(hot))}
        if q not in answers:
            return self.reply(422, b'{"error_code":"010001","error_message":"unknown query"}')
        head, val = answers[q]
        if mode == "garbled" and "sum" in q:
            return self.reply(200, b"SUM(cpu.usage_user)\n")
        self.reply(200, f"{head}\n{val!r}\n".encode())
http.server.ThreadingHTTPServer((a.host, a.port), H).serve_forever()
EOF
chmod +x "$T/fake-strata"
mkdir -p "$T/results"
BENCH_MODE=ingest BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/fake-strata" BENCH_OUT="$T/results" \
    BENCH_HOSTS=5 BENCH_DURATION=10m BENCH_REPEAT=3 BENCH_BATCH=50 BENCH_KEEP=1 \
    BENCH_TMPDIR="$T" ./bench/run.sh >"$T/run.out" 2>"$T/run.err"
RUN_RC=$?
check "run.sh: fake Strata run succeeds" test "$RUN_RC" -eq 0
check "run.sh: results.md written with 3 ok runs" grep -q '^| Strata | yes (WAL fsync per batch) | [0-9]* | [0-9]*-[0-9]* | .* | 3/3 |$' "$T/results/results.md"
check "run.sh: every row reached the server in each run" test "$(cat "$T"/strata-bench.*/strata.*/data/rows 2>/dev/null | awk '{ s += $1 } END { print s }')" = 900
check "run.sh: Strata got STRATA_WAL_SYNC=true and a loopback address" \
    sh -c "cat '$T'/strata-bench.*/strata.1/data/env 2>/dev/null | grep -qx 'wal_sync=true host=127.0.0.1'"
check "run.sh: no server left running" sh -c "! pgrep -f '^python3 $T/fake-strata' >/dev/null"
check "run.sh: ratios n/a without peers" grep -q 'Strata / InfluxDB (rows/s): n/a' "$T/results/results.md"

FAKE_MODE=fail BENCH_MODE=ingest BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/fake-strata" \
    BENCH_OUT="$T/results" BENCH_HOSTS=5 BENCH_DURATION=10m BENCH_REPEAT=2 BENCH_TMPDIR="$T" \
    ./bench/run.sh >"$T/run.out" 2>"$T/run.err"
RUN_RC=$?
check "run.sh: server errors fail the run (exit status, FAILED rows, 0/2 ok)" sh -c \
    "test $RUN_RC -ne 0 && grep -q 'fake failure' '$T/run.err' && grep -q '| strata | 2 | FAILED |' '$T/results/results.md' && grep -q ' 0/2 |\$' '$T/results/results.md'"
FAKE_MODE=hang BENCH_MODE=ingest BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/fake-strata" \
    BENCH_OUT="$T/results" BENCH_HOSTS=5 BENCH_DURATION=10m BENCH_REPEAT=1 BENCH_READY_TIMEOUT=2 \
    BENCH_TMPDIR="$T" ./bench/run.sh >"$T/run.out" 2>"$T/run.err"
RUN_RC=$?
check "run.sh: a server that never answers times out and is stopped" sh -c \
    "test $RUN_RC -ne 0 && grep -q 'did not become ready within 2s' '$T/run.err' && ! pgrep -f '^python3 $T/fake-strata' >/dev/null"

BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/nope" BENCH_OUT="$T/results" \
    BENCH_TMPDIR="$T" ./bench/run.sh >"$T/run.out" 2>"$T/run.err"
check "run.sh: a missing Strata binary is skipped with a message" grep -q 'SKIPPING Strata' "$T/run.err"
check "run.sh: bad BENCH_REPEAT is refused" sh -c "BENCH_SKIP_DEPS=1 BENCH_REPEAT=x ./bench/run.sh >/dev/null 2>&1; test \$? -ne 0"

# ------------------------------------------------------------------ run.sh storage mode, fake Strata
# storage_run NAME [VAR=VALUE...]: a storage-mode run against the fake with its own work
# directory $T/NAME (kept), small data sets; sets RUN_RC and W (the work directory).
storage_run() {
    local name=$1
    shift
    mkdir -p "$T/$name/results"
    env "$@" BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/fake-strata" \
        BENCH_OUT="$T/$name/results" BENCH_TMPDIR="$T/$name" BENCH_KEEP=1 BENCH_SCAN_WARMUP=2 \
        BENCH_SCAN_RUNS=5 ./bench/run.sh >"$T/$name/run.out" 2>"$T/$name/run.err"
    RUN_RC=$?
    W=$(printf '%s\n' "$T/$name"/strata-bench.* | head -n 1)
    R="$T/$name/results/results.md"
}
# expect_scan LPFILE: prints "sum count" over usage_user > 50, as the fake formats them.
expect_scan() {
    python3 -c '
import re, sys
v = [float(x) for x in re.findall(r" usage_user=([0-9.]+)", open(sys.argv[1]).read())]
hot = [x for x in v if x > 50]
print(repr(sum(hot)), len(hot))' "$1"
}
# line_has FILE START TEXT: some line of FILE containing START also contains TEXT.
line_has() { grep -F -- "$2" "$1" | grep -qF -- "$3"; }

storage_run ok BENCH_MODE=storage BENCH_STORAGE_SETS="5:10m 3:20m"
check "storage: fake Strata run succeeds" test "$RUN_RC" -eq 0
check "storage: only the storage section in results.md" sh -c "grep -q '^## Storage' '$R' && ! grep -q '^## Ingestion' '$R'"
for set in "5:10m 5 10m 300" "3:20m 3 20m 360"; do
    read -r spec h d rows <<<"$set"
    dir="$W/storage-strata-${h}h-$d"
    bytes=$(du -sb "$dir/data" | cut -f1)
    bpv=$(awk -v b="$bytes" -v v="$((rows * 10))" 'BEGIN { printf "%.3f", b / v }')
    check "storage $spec: bytes on disk = du -sb of the data directory, per value" \
        line_has "$R" "| $h hosts x $d | Strata | $((rows * 10)) | $bytes | $bpv |" "| compacted |"
    check "storage $spec: COMPACT once, the row-count check once, warm-up + timed runs of each query" \
        test "$(sort "$dir/queries" | uniq -c | awk '{ $1 = $1; print }' | tr '\n' ';')" = \
        "1 COMPACT DATABASE public;1 SELECT count(*) FROM cpu;7 SELECT count(*) FROM cpu WHERE usage_user > 50;7 SELECT sum(usage_user) FROM cpu WHERE usage_user > 50;"
    read -r esum ecount <<<"$(expect_scan "$W/storage-${h}h-$d.lp")"
    check "storage $spec: the sum query's answer and rows scanned are reported" line_has "$R" \
        "| $h hosts x $d | Strata | \`SELECT sum(usage_user) FROM cpu WHERE usage_user > 50\` | $rows |" "| $esum |"
    check "storage $spec: the count query's answer is reported" line_has "$R" \
        "| $h hosts x $d | Strata | \`SELECT count(*) FROM cpu WHERE usage_user > 50\` | $rows |" "| $ecount |"
done
check "storage: the server was restarted for the scans of each set" test "$(grep -c 'restarting for the scans' "$T/ok/run.err")" -eq 2
check "storage: values/s = rows / median time" python3 - "$R" <<'EOF'
import re, sys
n = 0
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.split("|")]
    if len(c) > 8 and c[2] == "Strata" and c[3].startswith("`SELECT"):
        rows, med, rate = int(c[4]), float(c[5]), float(c[7].split()[0]) * 1e6
        assert abs(rows / (med / 1000) - rate) <= 0.051e6 + 0.01 * rate, line
        n += 1
assert n == 4, n
EOF
check "storage: a summary line per set with the Strata scan rate" test "$(grep -c '^- .*: Strata filter + sum: .* values/s wall clock' "$R")" -eq 2
check "storage: ratios n/a without VictoriaMetrics" grep -q 'Strata / VictoriaMetrics (bytes per value): n/a' "$R"

storage_run compactfail FAKE_MODE=compactfail BENCH_MODE=storage BENCH_STORAGE_SETS=2:10m
check "storage: a failed COMPACT fails the run and is shown" sh -c \
    "test $RUN_RC -ne 0 && grep -q 'COMPACT DATABASE answered HTTP 500' '$T/compactfail/run.err' && grep -q '| not-compacted |' '$R'"
storage_run lose FAKE_MODE=lose BENCH_MODE=storage BENCH_STORAGE_SETS=2:10m
check "storage: a lost row fails the run" sh -c \
    "test $RUN_RC -ne 0 && grep -q \"answered '119', but 120 rows were loaded\" '$T/lose/run.err' && grep -q '(check)\` | 120 | FAILED' '$R'"
storage_run garbled FAKE_MODE=garbled BENCH_MODE=storage BENCH_STORAGE_SETS=2:10m
check "storage: an answer that is not one number fails the run" sh -c \
    "test $RUN_RC -ne 0 && grep -q 'did not answer one number' '$T/garbled/run.err' && grep -q 'usage_user > 50\` | 120 | FAILED | .* | NA |' '$R'"
storage_run all BENCH_HOSTS=2 BENCH_DURATION=10m BENCH_REPEAT=1 BENCH_STORAGE_SETS=2:10m \
    BENCH_SCHEMA_TABLES=3 BENCH_SCHEMA_SERIES=3 BENCH_SCHEMA_REPEAT=1 BENCH_QUERY_SETS=8:12h \
    BENCH_QUERY_RUNS=2 BENCH_QUERY_INSTANCES=1 BENCH_DUCKDB=0 BENCH_QUERY_PROFILE=0
check "run.sh: the default mode runs ingestion and storage" sh -c \
    "test $RUN_RC -eq 0 && grep -q '^## Ingestion' '$R' && grep -q '^## Storage' '$R' && grep -q '^| Strata | yes (WAL fsync per batch) | [0-9]* | .* | 1/1 |\$' '$R'"
# The fake refuses every SELECT it does not know, as Strata refuses a function it lacks: each
# type is reported as not supported, with the server's message, and the run goes on.
check "run.sh: the default mode runs the queries; refused types are reported, not hidden" sh -c \
    "grep -q '^## Queries (TSBS devops)' '$R' && test \$(grep -c '| n/a | n/a | n/a | n/a | n/a | not supported by Strata: HTTP 422: .*unknown query' '$R') -eq 15"
check "run.sh: the queries' data (cpu and mem) reached the fake and was compacted" sh -c \
    "test \$(cat '$W'/queries-8h-12h/strata/data/rows | awk '{ s += \$1 } END { print s }') -eq 69120 && grep -q 'COMPACT DATABASE public' '$W'/queries-8h-12h/strata/queries"

for bad in BENCH_MODE=bogus BENCH_STORAGE_SETS=x:1d BENCH_STORAGE_SETS=100 BENCH_STORAGE_SETS=5: \
    BENCH_STORAGE_SETS=5:1d:2 BENCH_STORAGE_SETS=0:1d "BENCH_STORAGE_SETS= " BENCH_SCAN_RUNS=0 \
    BENCH_SCAN_WARMUP=x BENCH_PEER_SCAN=2 BENCH_SETTLE=-1 BENCH_QUERY_SETS=x:1d \
    "BENCH_QUERY_SETS= " BENCH_QUERY_RUNS=0 BENCH_DUCKDB=2 BENCH_QUERY_PROFILE=x; do
    if env "$bad" BENCH_SKIP_DEPS=1 BENCH_SYSTEMS=strata BENCH_STRATA_BIN="$T/fake-strata" \
        BENCH_TMPDIR="$T" ./bench/run.sh >/dev/null 2>&1; then
        bad "run.sh: refuses $bad"
    else
        ok "run.sh: refuses $bad"
    fi
done
storage_run badduration BENCH_MODE=storage BENCH_STORAGE_SETS=2:12x
check "run.sh: a duration the generator refuses stops the run" sh -c \
    "test $RUN_RC -ne 0 && grep -q 'data generation failed for storage set 2:12x' '$T/badduration/run.err'"
check "run.sh: no fake server left running" sh -c "! pgrep -f '^python3 $T/fake-strata' >/dev/null"

echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
