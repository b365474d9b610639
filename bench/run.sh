#!/usr/bin/env bash
# bench/run.sh: the ingestion benchmark behind `make bench`.
#
# Generates TSBS cpu-only data once (build/bench/tsbs_gen), then loads it with build/bench/load
# into Strata, InfluxDB 1.x and VictoriaMetrics, one system at a time (the machine is small and
# the systems must not compete for it), each on 127.0.0.1 at a free port with a fresh data
# directory, BENCH_REPEAT times, alternating systems. Reports per-system medians, the ratios
# Strata/InfluxDB and Strata/VictoriaMetrics, data size on disk and peak RSS, and writes the
# summary to bench/out/results.md. docs/benchmarks.md explains the method.
#
# Environment (all optional):
#   BENCH_HOSTS=100          hosts in the generated data
#   BENCH_DURATION=4d        time span of the data (10 s interval: 100 hosts x 4d = 3.46M rows)
#   BENCH_WORKERS=4          concurrent HTTP connections of the loader
#   BENCH_BATCH=5000         lines per request
#   BENCH_REPEAT=3           loads per system (the median is reported)
#   BENCH_SYSTEMS="strata influxdb victoriametrics"   which systems, in this order
#   BENCH_SEED=123, BENCH_START=2016-01-01T00:00:00Z  generator settings
#   BENCH_TMPDIR=${TMPDIR:-/tmp}   where data files and server data directories go
#   BENCH_KEEP=0             1 keeps the work directory (data, logs) for inspection
#   BENCH_OUT=bench/out      where results.md is written
#   BENCH_SKIP_DEPS=0        1 skips scripts/install-deps.sh --bench
#   BENCH_READY_TIMEOUT=60, BENCH_STOP_TIMEOUT=120, BENCH_LOAD_TIMEOUT=3600   seconds
#   BENCH_STRATA_BIN=build/strata, BENCH_STRATA_ARGS="" (extra server flags),
#   BENCH_STRATA_PATH="/api/v1/write?db=public", BENCH_STRATA_USER=root:
#   STRATA_WAL_SYNC=true     passed to Strata: fsync (group commit) before each ack
# Functions below are called indirectly (start_$sys, traps), which shellcheck cannot see.
# shellcheck disable=SC2317
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

HOSTS=${BENCH_HOSTS:-100}
DURATION=${BENCH_DURATION:-4d}
WORKERS=${BENCH_WORKERS:-4}
BATCH=${BENCH_BATCH:-5000}
REPEAT=${BENCH_REPEAT:-3}
SYSTEMS=${BENCH_SYSTEMS:-strata influxdb victoriametrics}
SEED=${BENCH_SEED:-123}
START=${BENCH_START:-2016-01-01T00:00:00Z}
TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
KEEP=${BENCH_KEEP:-0}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-60}
STOP_TIMEOUT=${BENCH_STOP_TIMEOUT:-120}
LOAD_TIMEOUT=${BENCH_LOAD_TIMEOUT:-3600}
STRATA_BIN=${BENCH_STRATA_BIN:-build/strata}
STRATA_ARGS=${BENCH_STRATA_ARGS:-}
STRATA_PATH=${BENCH_STRATA_PATH:-/api/v1/write?db=public}
STRATA_USER=${BENCH_STRATA_USER:-root:}
export STRATA_WAL_SYNC=${STRATA_WAL_SYNC:-true}

GEN=build/bench/tsbs_gen
LOAD=build/bench/load
OUT_DIR=${BENCH_OUT:-bench/out}

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for v in HOSTS WORKERS BATCH REPEAT READY_TIMEOUT STOP_TIMEOUT LOAD_TIMEOUT; do
    case ${!v} in
    '' | *[!0-9]* | 0) die "BENCH_$v must be a positive integer, got '${!v}'" ;;
    esac
done
for s in $SYSTEMS; do
    case $s in
    strata | influxdb | victoriametrics) ;;
    *) die "unknown system '$s' in BENCH_SYSTEMS (known: strata influxdb victoriametrics)" ;;
    esac
done

# ---------------------------------------------------------------- cleanup on any exit
SERVER_PID=""
WORK=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=""
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# ---------------------------------------------------------------- prerequisites
if [ "${BENCH_SKIP_DEPS:-0}" != 1 ]; then
    ./scripts/install-deps.sh --bench || log "warning: scripts/install-deps.sh --bench failed; using what is installed"
fi
for b in "$GEN" "$LOAD"; do
    [ -x "$b" ] || die "$b is missing: run 'make bench' (it builds bench/*.c into build/bench/)"
done
command -v curl >/dev/null || die "curl is required"

WORK=$(mktemp -d "$TMPBASE/strata-bench.XXXXXX") || die "cannot create a work directory under $TMPBASE"
mkdir -p "$OUT_DIR"
RUNS="$WORK/runs.tsv" # system round ok rows_per_s values_per_s secs p50 p99 disk_mb rss_mb cpu_s
: >"$RUNS"

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    # Fallback: a random high port nobody answers on.
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
            echo "$p"
            return
        }
    done
}

# wait_ready URL: polls until URL answers 2xx, the server dies, or READY_TIMEOUT passes.
wait_ready() {
    local url=$1 deadline=$((SECONDS + READY_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        curl -sf -o /dev/null --max-time 2 "$url" && return 0
        sleep 0.2
    done
    return 1
}

# Peak resident set of the server so far, in MB (VmHWM is the high-water mark).
peak_rss_mb() {
    awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo NA
}

# CPU seconds (user + system) the server has used since it started.
server_cpu_s() {
    local tck
    tck=$(getconf CLK_TCK)
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$SERVER_PID/stat" 2>/dev/null |
        awk -v t="$tck" '{ printf "%.1f", ($12 + $13) / t }' || echo NA
}

stop_server() {
    local deadline=$((SECONDS + STOP_TIMEOUT))
    kill -TERM "$SERVER_PID" 2>/dev/null
    while kill -0 "$SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "server did not stop within ${STOP_TIMEOUT}s; killing it"
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# start_<system> DIR: starts the server with its data under DIR/data, sets SERVER_PID,
# READY_URL, WRITE_URL (host:port/path for the loader) and LOAD_ARGS.
start_strata() {
    local dir=$1 port
    port=$(free_port)
    mkdir -p "$dir/data"
    # shellcheck disable=SC2086
    "$STRATA_BIN" --data "$dir/data" --port "$port" --host 127.0.0.1 $STRATA_ARGS \
        >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    READY_URL="http://127.0.0.1:$port/api/v1/ping"
    WRITE_URL="127.0.0.1:$port$STRATA_PATH"
    LOAD_ARGS=(--user "$STRATA_USER")
}

start_influxdb() {
    local dir=$1 port rpc
    port=$(free_port)
    rpc=$(free_port)
    mkdir -p "$dir/data"
    # wal-fsync-delay 0s (the default) fsyncs the WAL before each write is acknowledged.
    # The _internal monitor database and HTTP request logging are off so that only the
    # benchmark's writes touch the disk.
    cat >"$dir/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"

[meta]
  dir = "$dir/data/meta"

[data]
  dir = "$dir/data/data"
  wal-dir = "$dir/data/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false

[monitor]
  store-enabled = false

[logging]
  level = "warn"
EOF
    influxd -config "$dir/influxdb.conf" >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    READY_URL="http://127.0.0.1:$port/ping"
    WRITE_URL="127.0.0.1:$port/write?db=benchmark"
    LOAD_ARGS=()
    INFLUX_PORT=$port
}

start_victoriametrics() {
    local dir=$1 port
    port=$(free_port)
    mkdir -p "$dir/data"
    # The data starts in 2016: without a long retention VictoriaMetrics would drop it.
    victoria-metrics -storageDataPath "$dir/data" -httpListenAddr "127.0.0.1:$port" \
        -retentionPeriod 100y -loggerLevel WARN >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    READY_URL="http://127.0.0.1:$port/health"
    WRITE_URL="127.0.0.1:$port/write"
    LOAD_ARGS=()
}

# after_ready_<system>: anything needed between readiness and the load.
after_ready() {
    case $1 in
    influxdb)
        local out
        out=$(curl -sS --max-time 10 -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
            --data-urlencode 'q=CREATE DATABASE benchmark') || return 1
        case $out in *error*) log "CREATE DATABASE failed: $out"; return 1 ;; esac
        ;;
    esac
    return 0
}

record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RUNS"; }

# result_field LINE KEY: the value of KEY in the loader's "RESULT k=v ..." line.
result_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run_one SYSTEM ROUND: one fresh server, one load, measurements, teardown.
run_one() {
    local sys=$1 round=$2 dir="$WORK/$1.$2" out rows_s values_s secs p50 p99 rss cpu disk ok=1
    mkdir -p "$dir"
    log "$sys (run $round/$REPEAT): starting"
    "start_$sys" "$dir"
    if ! wait_ready "$READY_URL"; then
        log "$sys did not become ready within ${READY_TIMEOUT}s; last lines of its log:"
        tail -n 20 "$dir/server.log" >&2
        stop_server
        record "$sys $round 0 NA NA NA NA NA NA NA NA"
        return 1
    fi
    if ! after_ready "$sys"; then
        stop_server
        record "$sys $round 0 NA NA NA NA NA NA NA NA"
        return 1
    fi
    log "$sys (run $round/$REPEAT): loading $DATA_ROWS rows into $WRITE_URL"
    timeout "$LOAD_TIMEOUT" "$LOAD" --url "$WRITE_URL" --name "$sys" --batch "$BATCH" \
        --workers "$WORKERS" "${LOAD_ARGS[@]}" "$DATA" >"$dir/load.out" 2>"$dir/load.err"
    local rc=$?
    cat "$dir/load.err" >&2
    head -n 1 "$dir/load.out" >&2
    rss=$(peak_rss_mb)
    cpu=$(server_cpu_s)
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "$sys exited during the load; last lines of its log:"
        tail -n 20 "$dir/server.log" >&2
        ok=0
    fi
    stop_server
    disk=$(du -sk "$dir/data" 2>/dev/null | awk '{ printf "%.1f", $1 / 1024 }')
    out=$(grep '^RESULT ' "$dir/load.out")
    [ $rc -eq 0 ] && [ -n "$out" ] || ok=0
    rows_s=$(result_field "$out" rows_per_s)
    values_s=$(result_field "$out" values_per_s)
    secs=$(result_field "$out" secs)
    p50=$(result_field "$out" p50_ms)
    p99=$(result_field "$out" p99_ms)
    record "$sys $round $ok ${rows_s:-NA} ${values_s:-NA} ${secs:-NA} ${p50:-NA} ${p99:-NA} ${disk:-NA} ${rss:-NA} ${cpu:-NA}"
    if [ "$KEEP" != 1 ]; then rm -rf "$dir/data"; fi
    # Write back whatever the run left dirty so it does not land on the next system's fsyncs.
    sync
    [ $ok = 1 ]
}

# median COLUMN SYSTEM: median of a runs.tsv column over the successful runs of SYSTEM.
median() {
    awk -F'\t' -v c="$1" -v s="$2" '$1 == s && $3 == 1 && $c != "NA" { print $c }' "$RUNS" |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "NA"; exit }
            if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m }'
}

# spread COLUMN SYSTEM: "min-max" of a runs.tsv column over the successful runs of SYSTEM.
spread() {
    awk -F'\t' -v c="$1" -v s="$2" '$1 == s && $3 == 1 && $c != "NA" { print $c }' "$RUNS" |
        sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.0f-%.0f", lo, hi; else print "n/a" }'
}

fmt() { # fmt VALUE DECIMALS: the number rounded, or n/a
    case $1 in
    NA | '') echo "n/a" ;;
    *) awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }' ;;
    esac
}

ratio() {
    case "$1$2" in
    *NA*) echo "n/a" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }' ;;
    esac
}

# ---------------------------------------------------------------- the run
RUN_SYSTEMS=""
SKIPPED=""
for s in $SYSTEMS; do
    case $s in
    strata) bin=$STRATA_BIN ;;
    influxdb) bin=$(command -v influxd) ;;
    victoriametrics) bin=$(command -v victoria-metrics) ;;
    esac
    if [ -n "$bin" ] && [ -x "$bin" ]; then
        RUN_SYSTEMS="$RUN_SYSTEMS $s"
    else
        case $s in
        strata) log "SKIPPING Strata: $STRATA_BIN does not exist (build it with 'make')" ;;
        *) log "SKIPPING $s: its server binary is not installed (scripts/install-deps.sh --bench)" ;;
        esac
        SKIPPED="$SKIPPED $s"
    fi
done
[ -n "$RUN_SYSTEMS" ] || die "no system to benchmark"

DATA="$WORK/cpu-only.lp"
log "generating data: $HOSTS hosts x $DURATION at 10s from $START (seed $SEED)"
"$GEN" --hosts "$HOSTS" --duration "$DURATION" --start "$START" --seed "$SEED" --out "$DATA" ||
    die "data generation failed"
DATA_ROWS=$(wc -l <"$DATA")
DATA_MB=$(du -sk "$DATA" | awk '{ printf "%.0f", $1 / 1024 }')
log "data: $DATA_ROWS rows, ${DATA_MB} MB"
# The fresh file is a gigabyte of dirty page cache; written back later, it would compete with
# the first system's fsyncs.
sync

FAILED=0
for round in $(seq "$REPEAT"); do
    for s in $RUN_SYSTEMS; do
        run_one "$s" "$round" || FAILED=1
    done
done

# ---------------------------------------------------------------- the summary
label() {
    case $1 in
    strata) echo "Strata" ;;
    influxdb) echo "InfluxDB $(dpkg-query -W -f='${Version}' influxdb 2>/dev/null)" ;;
    victoriametrics) echo "VictoriaMetrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null)" ;;
    esac
}
durable() {
    case $1 in
    strata) echo "yes (WAL fsync per batch)" ;;
    influxdb) echo "yes (wal-fsync-delay 0s)" ;;
    victoriametrics) echo "no (buffered in memory)" ;;
    esac
}

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
SUMMARY="$WORK/summary.md"
{
    echo "# Strata ingestion benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- machine: ${CPU_MODEL:-unknown CPU}, $(nproc) cores, ${MEM_GB} GB RAM, $(uname -sr)"
    echo "- data: TSBS cpu-only, $HOSTS hosts, $DURATION at 10 s, $DATA_ROWS rows x 10 fields, ${DATA_MB} MB of line protocol (seed $SEED)"
    echo "- load: $BATCH lines per request, $WORKERS connections, $REPEAT runs per system (alternating), medians shown"
    echo
    echo "| system | durable ack | rows/s | rows/s min-max | values/s | load s | p50 ms | p99 ms | disk MB | peak RSS MB | server CPU s | ok runs |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in $RUN_SYSTEMS; do
        okr=$(awk -F'\t' -v s="$s" '$1 == s && $3 == 1' "$RUNS" | wc -l)
        echo "| $(label "$s") | $(durable "$s") | $(fmt "$(median 4 "$s")" 0) | $(spread 4 "$s") | $(fmt "$(median 5 "$s")" 0) | $(fmt "$(median 6 "$s")" 2) | $(fmt "$(median 7 "$s")" 1) | $(fmt "$(median 8 "$s")" 1) | $(fmt "$(median 9 "$s")" 1) | $(fmt "$(median 10 "$s")" 0) | $(fmt "$(median 11 "$s")" 1) | $okr/$REPEAT |"
    done
    for s in $SKIPPED; do
        echo "| $(label "$s") | $(durable "$s") | skipped | | | | | | | | | |"
    done
    echo
    st=$(median 4 strata)
    [[ " $RUN_SYSTEMS " == *" strata "* ]] || st=NA
    echo "- Strata / InfluxDB (rows/s): $(ratio "$st" "$(median 4 influxdb)") (target: at least 2x)"
    echo "- Strata / VictoriaMetrics (rows/s): $(ratio "$st" "$(median 4 victoriametrics)")"
    echo
    echo "VictoriaMetrics acknowledges a write before it is on disk (it buffers recent data in memory and"
    echo "writes it out in the background; no fsync per request), so its numbers are not for a durable ack. InfluxDB"
    echo "(wal-fsync-delay 0s) and Strata (WAL fsync per batch, group commit) fsync before answering."
    echo "disk MB is du of the data directory after the load and a clean shutdown; peak RSS is VmHWM;"
    echo "server CPU s is the server's user+system time from start to the end of the load."
    echo
    echo "## All runs"
    echo
    echo "| system | run | ok | rows/s | values/s | load s | p50 ms | p99 ms | disk MB | peak RSS MB | server CPU s |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s |", $1, $2, ($3 == 1 ? "yes" : "FAILED")
                  for (i = 4; i <= 11; i++) printf " %s |", $i; printf "\n" }' "$RUNS"
} >"$SUMMARY"

cp "$SUMMARY" "$OUT_DIR/results.md"
echo
cat "$SUMMARY"
echo
log "summary written to $OUT_DIR/results.md"
[ $FAILED = 0 ] || log "some runs FAILED (see above)"
exit $FAILED
