#!/usr/bin/env bash
# bench/run.sh: the benchmarks behind `make bench`: ingestion, storage (bytes on disk after
# compaction, scan speed), schema changes and queries, Strata next to InfluxDB 1.x and
# VictoriaMetrics (and DuckDB for the queries).
#
# Ingestion: generates TSBS cpu-only data once (build/bench/tsbs_gen), then loads it with
# build/bench/load into each system, one system at a time (the machine is small and the systems
# must not compete for it), each on 127.0.0.1 at a free port with a fresh data directory,
# BENCH_REPEAT times, alternating systems. Reports per-system medians, the ratios
# Strata/InfluxDB and Strata/VictoriaMetrics, data size on disk and peak RSS.
#
# Storage: for each data set of BENCH_STORAGE_SETS, loads it once into each system, brings the
# system to its compacted state (Strata: COMPACT DATABASE; InfluxDB: cold cache snapshot and
# full compaction; VictoriaMetrics: force_flush and force_merge), stops it and measures its data
# directory (bytes per value = du -sb / (rows x fields)). Strata and InfluxDB are then started
# again on that directory and timed on a filter + sum and a filter + count over one float
# column (warm-up runs, then the median of BENCH_SCAN_RUNS runs, and the server's CPU time).
#
# Schema: Strata and InfluxDB only. On a fresh server, BENCH_SCHEMA_TABLES new tables (one line
# each: a measurement per line), then BENCH_SCHEMA_SERIES new series of one table, each loaded
# with build/bench/load like the ingestion; meanwhile a probe (load --interval-ms) writes one
# line, to a new table each time, every BENCH_PROBE_MS ms to another database and records
# every latency. Then the server
# is stopped (shutdown time) and started again on the same data (start-up time, until ping
# answers). BENCH_SCHEMA_REPEAT rounds, alternating systems, medians reported.
#
# Queries: for each data set of BENCH_QUERY_SETS, TSBS cpu-only rows plus a `mem` table on the
# same hosts and times are loaded into Strata (then COMPACT DATABASE) and the cpu rows into
# InfluxDB (then its full compaction, waited for); both stay up, idle but for the query under
# way, while bench/tsbs_queries.py runs TSBS's 15 devops query types on each, with DuckDB
# in-process as a third system (bench/duckdb_tsbs.cjs, same rows from CSV), checks every answer
# against InfluxDB's and reports medians and ratios, then a cpu JOIN mem. Then perf profiles
# Strata on its BENCH_QUERY_PROFILE slowest types. See bench/tsbs_queries.py for the method.
#
# Everything goes into one summary, printed and written to bench/out/results.md.
# docs/benchmarks.md explains the method.
#
# Environment (all optional):
#   BENCH_MODE=all           ingest | storage | schema | queries | all
#   BENCH_QUERY_SETS="100:3d 4000:1d"   queries: data sets, HOSTS:DURATION each
#   BENCH_QUERY_RUNS=10, BENCH_QUERY_INSTANCES=10, BENCH_QUERY_WARMUP=1   queries: timed runs
#                            per type and system, generated instances, untimed runs first
#   BENCH_QUERY_TYPES=""     queries: comma-separated subset of the types (default: all 15)
#   BENCH_STREAM=1           ingestion: 0 skips the extra Strata load with a stream rollup
#   BENCH_QUERY_JOIN=1       queries: 0 skips the cpu JOIN mem benchmark
#   BENCH_QUERY_TSFUNCS=1    queries: 0 skips the time-series functions (gap filling with
#                            interpolation, gauge rate; see bench/tsbs_queries.py)
#   BENCH_DUCKDB=1           queries: 0 leaves DuckDB out; BENCH_DUCKDB_THREADS=$(nproc)
#   BENCH_QUERY_PROFILE=3    queries: perf profiles of Strata's N slowest types (0: none),
#                            BENCH_PROFILE_SECONDS=10 of repeated queries each
#   BENCH_SCHEMA_TABLES=100000, BENCH_SCHEMA_SERIES=1000000   schema: what is created
#   BENCH_SCHEMA_REPEAT=3    schema: rounds per system (the median is reported)
#   BENCH_PROBE_MS=10        schema: the probe's interval between writes
#   BENCH_HOSTS=100          ingestion: hosts in the generated data
#   BENCH_DURATION=4d        ingestion: time span (10 s interval: 100 hosts x 4d = 3.46M rows)
#   BENCH_REPEAT=3           ingestion: loads per system (the median is reported)
#   BENCH_STORAGE_SETS="100:1d 100:10d"   storage: data sets, HOSTS:DURATION each
#   BENCH_SCAN_WARMUP=3, BENCH_SCAN_RUNS=7   storage: untimed and timed runs of each query
#   BENCH_PEER_SCAN=1        storage: 0 skips the InfluxDB queries (context only)
#   BENCH_SETTLE=10          storage: seconds a peer's data directory must stay unchanged
#   BENCH_COMPACT_TIMEOUT=900, BENCH_QUERY_TIMEOUT=300   seconds
#   BENCH_WORKERS=4          concurrent HTTP connections of the loader
#   BENCH_BATCH=5000         lines per request
#   BENCH_SYSTEMS="strata influxdb victoriametrics"   which systems, in this order
#   BENCH_SEED=123, BENCH_START=2016-01-01T00:00:00Z  generator settings
#   BENCH_TMPDIR=${TMPDIR:-/tmp}   where data files and server data directories go
#   BENCH_KEEP=0             1 keeps the work directory (data, logs) for inspection
#   BENCH_OUT=bench/out      where results.md is written
#   BENCH_SKIP_DEPS=0        1 skips scripts/install-deps.sh --bench
#   BENCH_READY_TIMEOUT=60, BENCH_STOP_TIMEOUT=120, BENCH_LOAD_TIMEOUT=3600   seconds
#   BENCH_STRATA_BIN=build/strata, BENCH_STRATA_ARGS="" (extra server flags),
#   BENCH_STRATA_DB=public, BENCH_STRATA_PATH="/api/v1/write?db=$BENCH_STRATA_DB",
#   BENCH_STRATA_USER=root:
#   STRATA_WAL_SYNC=true     passed to Strata: fsync (group commit) before each ack
# Functions below are called indirectly (start_$sys, compact_$sys, traps), which shellcheck
# cannot see.
# shellcheck disable=SC2317
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

MODE=${BENCH_MODE:-all}
QUERY_SETS=${BENCH_QUERY_SETS:-100:3d 4000:1d}
QUERY_RUNS=${BENCH_QUERY_RUNS:-10}
QUERY_INSTANCES=${BENCH_QUERY_INSTANCES:-10}
QUERY_WARMUP=${BENCH_QUERY_WARMUP:-1}
QUERY_TYPES=${BENCH_QUERY_TYPES:-}
QUERY_JOIN=${BENCH_QUERY_JOIN:-1}
USE_DUCKDB=${BENCH_DUCKDB:-1}
DUCKDB_THREADS=${BENCH_DUCKDB_THREADS:-$(nproc)}
QUERY_PROFILE=${BENCH_QUERY_PROFILE:-3}
PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-10}
SCHEMA_TABLES=${BENCH_SCHEMA_TABLES:-100000}
SCHEMA_SERIES=${BENCH_SCHEMA_SERIES:-1000000}
SCHEMA_REPEAT=${BENCH_SCHEMA_REPEAT:-3}
PROBE_MS=${BENCH_PROBE_MS:-10}
HOSTS=${BENCH_HOSTS:-100}
DURATION=${BENCH_DURATION:-4d}
WORKERS=${BENCH_WORKERS:-4}
BATCH=${BENCH_BATCH:-5000}
REPEAT=${BENCH_REPEAT:-3}
STORAGE_SETS=${BENCH_STORAGE_SETS:-100:1d 100:10d}
SCAN_WARMUP=${BENCH_SCAN_WARMUP:-3}
SCAN_RUNS=${BENCH_SCAN_RUNS:-7}
PEER_SCAN=${BENCH_PEER_SCAN:-1}
SETTLE=${BENCH_SETTLE:-10}
COMPACT_TIMEOUT=${BENCH_COMPACT_TIMEOUT:-900}
QUERY_TIMEOUT=${BENCH_QUERY_TIMEOUT:-300}
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
STRATA_DB=${BENCH_STRATA_DB:-public}
STRATA_PATH=${BENCH_STRATA_PATH:-/api/v1/write?db=$STRATA_DB}
STRATA_USER=${BENCH_STRATA_USER:-root:}
export STRATA_WAL_SYNC=${STRATA_WAL_SYNC:-true}

GEN=build/bench/tsbs_gen
LOAD=build/bench/load
OUT_DIR=${BENCH_OUT:-bench/out}

# The scan queries. The filter makes every value of usage_user pass through a comparison, so
# neither the row count nor page statistics can answer them. InfluxQL has no count(*) over
# one field, hence count(usage_user) there.
Q_SUM="SELECT sum(usage_user) FROM cpu WHERE usage_user > 50"
Q_COUNT_STRATA="SELECT count(*) FROM cpu WHERE usage_user > 50"
Q_COUNT_INFLUX="SELECT count(usage_user) FROM cpu WHERE usage_user > 50"
Q_ALL_STRATA="SELECT count(*) FROM cpu"
Q_ALL_INFLUX="SELECT count(usage_user) FROM cpu"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for v in HOSTS WORKERS BATCH REPEAT READY_TIMEOUT STOP_TIMEOUT LOAD_TIMEOUT SCAN_RUNS \
    COMPACT_TIMEOUT QUERY_TIMEOUT SCHEMA_TABLES SCHEMA_SERIES SCHEMA_REPEAT PROBE_MS \
    QUERY_RUNS QUERY_INSTANCES DUCKDB_THREADS PROFILE_SECONDS; do
    case ${!v} in
    '' | *[!0-9]* | 0) die "BENCH_$v must be a positive integer, got '${!v}'" ;;
    esac
done
for v in SCAN_WARMUP SETTLE QUERY_WARMUP QUERY_PROFILE; do
    case ${!v} in
    '' | *[!0-9]*) die "BENCH_$v must be a non-negative integer, got '${!v}'" ;;
    esac
done
case $MODE in
ingest | storage | schema | queries | all) ;;
*) die "BENCH_MODE must be ingest, storage, schema, queries or all, got '$MODE'" ;;
esac
for v in PEER_SCAN QUERY_JOIN USE_DUCKDB; do
    case ${!v} in
    0 | 1) ;;
    *) die "BENCH_$v must be 0 or 1, got '${!v}'" ;;
    esac
done
for s in $SYSTEMS; do
    case $s in
    strata | influxdb | victoriametrics) ;;
    *) die "unknown system '$s' in BENCH_SYSTEMS (known: strata influxdb victoriametrics)" ;;
    esac
done
do_ingest() { [ "$MODE" = ingest ] || [ "$MODE" = all ]; }
do_storage() { [ "$MODE" = storage ] || [ "$MODE" = all ]; }
do_schema() { [ "$MODE" = schema ] || [ "$MODE" = all ]; }
do_queries() { [ "$MODE" = queries ] || [ "$MODE" = all ]; }
# check_sets NAME "SETS": each set is HOSTS:DURATION (the duration is checked by tsbs_gen
# itself; here only the shape and the host count).
check_sets() {
    [ -n "${2// /}" ] || die "BENCH_$1 is empty"
    for set in $2; do
        case $set in
        *:*:* | :* | *:) die "BENCH_$1: '$set' is not HOSTS:DURATION" ;;
        *:*)
            case ${set%%:*} in
            *[!0-9]* | 0) die "BENCH_$1: '$set' needs a positive host count" ;;
            esac
            ;;
        *) die "BENCH_$1: '$set' is not HOSTS:DURATION" ;;
        esac
    done
}
if do_storage; then check_sets STORAGE_SETS "$STORAGE_SETS"; fi
if do_queries; then check_sets QUERY_SETS "$QUERY_SETS"; fi

# ---------------------------------------------------------------- cleanup on any exit
SERVER_PID=""
OTHER_PIDS="" # servers kept up beside SERVER_PID (the query benchmark runs two at once)
WORK=""
# end_pid PID: SIGTERM, then SIGKILL after 10 s.
end_pid() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$1" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
    fi
}
cleanup() {
    local p
    end_pid "$SERVER_PID"
    for p in $OTHER_PIDS; do end_pid "$p"; done
    SERVER_PID=""
    OTHER_PIDS=""
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
RUNS="$WORK/runs.tsv"       # system round ok rows_per_s values_per_s secs p50 p99 disk_mb rss_mb cpu_s
SCHEMA="$WORK/schema.tsv"   # system round ok tables_s series_s probes p50 p99 max stop_s start_s rss_mb cpu_s
STORE="$WORK/storage.tsv"   # set system ok rows values load_s rows_per_s compact_s state bytes alloc detail
SCANS="$WORK/scans.tsv"     # set system query ok runs rows median_s min_s max_s cpu_ticks answer
: >"$RUNS"
: >"$SCHEMA"
: >"$STORE"
: >"$SCANS"
QSET_INFO="$WORK/query-sets.tsv" # set rows mb
: >"$QSET_INFO"
CLK_TCK=$(getconf CLK_TCK)

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

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

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

# CPU clock ticks (user + system) the server has used since it started, its exited threads
# included (the kernel folds them into the process's totals).
server_cpu_ticks() {
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$SERVER_PID/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# CPU seconds the server has used since it started.
server_cpu_s() {
    local t
    t=$(server_cpu_ticks)
    [ -n "$t" ] || {
        echo NA
        return
    }
    awk -v t="$t" -v h="$CLK_TCK" 'BEGIN { printf "%.1f", t / h }'
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

# start_<system> DIR [storage]: starts the server with its data under DIR/data (kept if it is
# already there), sets SERVER_PID, READY_URL, WRITE_URL (host:port/path for the loader),
# LOAD_ARGS and the system's port variable. "storage" asks for the settings of a storage run.
start_strata() {
    local dir=$1 port
    port=$(free_port)
    mkdir -p "$dir/data"
    # shellcheck disable=SC2086
    "$STRATA_BIN" --data "$dir/data" --port "$port" --host 127.0.0.1 $STRATA_ARGS \
        >>"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    READY_URL="http://127.0.0.1:$port/api/v1/ping"
    WRITE_URL="127.0.0.1:$port$STRATA_PATH"
    LOAD_ARGS=(--user "$STRATA_USER")
    STRATA_PORT=$port
}

start_influxdb() {
    local dir=$1 purpose=${2:-ingest} port rpc cold=""
    port=$(free_port)
    rpc=$(free_port)
    mkdir -p "$dir/data"
    # Storage runs: snapshot the cache to TSM files and fully compact a shard one second after
    # its last write (defaults: 10 minutes and 4 hours), so that the size measured is that of
    # compacted TSM files and not of the WAL.
    if [ "$purpose" = storage ]; then
        cold='  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "1s"'
    fi
    # Schema runs: a million series of one tag exceed the default limits (1M series per
    # database, 100k values per tag), which would refuse the writes.
    if [ "$purpose" = schema ]; then
        cold='  max-series-per-database = 0
  max-values-per-tag = 0'
    fi
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
$cold

[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false

[monitor]
  store-enabled = false

[logging]
  level = "warn"
EOF
    influxd -config "$dir/influxdb.conf" >>"$dir/server.log" 2>&1 &
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
        -retentionPeriod 100y -loggerLevel WARN >>"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    READY_URL="http://127.0.0.1:$port/health"
    WRITE_URL="127.0.0.1:$port/write"
    LOAD_ARGS=()
    VM_PORT=$port
}

# after_ready SYSTEM: anything needed between readiness and the load.
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

# start_and_wait SYSTEM DIR [PURPOSE]: a server on DIR, ready; on failure it is stopped and
# the end of its log shown.
start_and_wait() {
    "start_$1" "$2" "${3:-}"
    if ! wait_ready "$READY_URL"; then
        log "$1 did not become ready within ${READY_TIMEOUT}s; last lines of its log:"
        tail -n 20 "$2/server.log" >&2
        stop_server
        return 1
    fi
    return 0
}

# load_data SYSTEM DIR FILE ROWS: after_ready, then the loader; the output is in DIR/load.out.
load_data() {
    local sys=$1 dir=$2 file=$3 rows=$4 rc
    after_ready "$sys" || return 1
    log "$sys: loading $rows rows into $WRITE_URL"
    timeout "$LOAD_TIMEOUT" "$LOAD" --url "$WRITE_URL" --name "$sys" --batch "$BATCH" \
        --workers "$WORKERS" "${LOAD_ARGS[@]}" "$file" >"$dir/load.out" 2>"$dir/load.err"
    rc=$?
    cat "$dir/load.err" >&2
    head -n 1 "$dir/load.out" >&2
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "$sys exited during the load; last lines of its log:"
        tail -n 20 "$dir/server.log" >&2
        return 1
    fi
    [ "$rc" -eq 0 ] && grep -q '^RESULT .* ok=1 ' "$dir/load.out"
}

# run_one SYSTEM ROUND: one fresh server, one load, measurements, teardown.
run_one() {
    local sys=$1 round=$2 dir="$WORK/$1.$2" out rows_s values_s secs p50 p99 rss cpu disk ok=1
    mkdir -p "$dir"
    log "$sys (run $round/$REPEAT): starting"
    if ! start_and_wait "$sys" "$dir"; then
        record "$sys $round 0 NA NA NA NA NA NA NA NA"
        return 1
    fi
    load_data "$sys" "$dir" "$DATA" "$DATA_ROWS" || ok=0
    rss=$(peak_rss_mb)
    cpu=$(server_cpu_s)
    stop_server
    disk=$(du -sk "$dir/data" 2>/dev/null | awk '{ printf "%.1f", $1 / 1024 }')
    out=$(grep '^RESULT ' "$dir/load.out" 2>/dev/null)
    rows_s=$(result_field "$out" rows_per_s)
    values_s=$(result_field "$out" values_per_s)
    secs=$(result_field "$out" secs)
    p50=$(result_field "$out" p50_ms)
    p99=$(result_field "$out" p99_ms)
    record "$sys $round $ok ${rows_s:-NA} ${values_s:-NA} ${secs:-NA} ${p50:-NA} ${p99:-NA} ${disk:-NA} ${rss:-NA} ${cpu:-NA}"
    if [ "$KEEP" != 1 ]; then rm -rf "$dir/data"; fi
    # Write back whatever the run left dirty so it does not land on the next system's fsyncs.
    sync
    [ "$ok" = 1 ]
}

# ---------------------------------------------------------------- ingestion: a stream rollup
# stream_json DIR: SHOW STREAMS of the Strata under test, as JSON, into DIR/streams.json.
stream_json() {
    curl -sS -o "$1/streams.json" --max-time 10 -u "$STRATA_USER" -H 'Accept: application/json' \
        -XPOST "http://127.0.0.1:$STRATA_PORT/api/v1/sql?db=$STRATA_DB" --data-binary "SHOW STREAMS"
}

# stream_field DIR KEY: a field of the first stream in DIR/streams.json.
stream_field() {
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s[0].get(sys.argv[2], "") if s else "")' \
        "$1/streams.json" "$2" 2>/dev/null
}

# stream_one: one more Strata load of the ingestion data while a continuous job keeps a 1-minute
# rollup (max and avg of usage_user per host) of it; samples how far the job has processed
# every half second. The loader's connections deliver batches out of event-time order (each
# batch spans minutes of every host), so the job waits an hour (WATERMARK) for late rows. Records the load's rows/s, the job's event-time lag when the load ended
# (newest row minus processed_until), how long after the load's last write the job had every
# complete minute, and whether the rollup equals the same query over the raw rows.
stream_one() {
    local dir="$WORK/strata.stream" out rows_s lag catch ok=1 t_end want pu n_sink n_direct
    mkdir -p "$dir"
    log "strata with a stream rollup: starting"
    start_and_wait strata "$dir" || return 1
    local fields tags
    tags=$(printf '%s, ' hostname region datacenter rack os arch team service service_version service_environment)
    fields=$(printf '%s DOUBLE, ' usage_user usage_system usage_idle usage_nice usage_iowait usage_irq usage_softirq usage_steal usage_guest usage_guest_nice)
    sql_strata "$dir" "CREATE TABLE cpu (${fields}TAGS(${tags%, }))" &&
        sql_strata "$dir" "CREATE TABLE cpu_1m (usage_user_max DOUBLE, usage_user_avg DOUBLE, n BIGINT, TAGS(hostname))" &&
        sql_strata "$dir" "CREATE STREAM TABLE cpu_stream (time TIMESTAMP, hostname STRING, usage_user DOUBLE) WITH (db = '$STRATA_DB', table = 'cpu', event_time_column = 'time') engine = tskv" &&
        sql_strata "$dir" "CREATE STREAM cpu_rollup TRIGGER = '1s' WATERMARK = '1h' AS INSERT INTO cpu_1m (time, hostname, usage_user_max, usage_user_avg, n) SELECT date_bin(INTERVAL '1 minute', time) AS time, hostname, max(usage_user), avg(usage_user), count(usage_user) FROM cpu_stream GROUP BY date_bin(INTERVAL '1 minute', time), hostname" ||
        ok=0
    : >"$dir/samples.tsv"
    (while :; do
        sleep 0.5
        stream_json "$dir" 2>/dev/null && printf '%s\t%s\n' "$(now)" "$(stream_field "$dir" processed_until)" >>"$dir/samples.tsv"
    done) &
    local sampler=$!
    [ "$ok" = 1 ] && { load_data strata "$dir" "$DATA" "$DATA_ROWS" || ok=0; }
    t_end=$(now)
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    # the job's final mark: the minute of its watermark, an hour (its WATERMARK) behind the
    # data's last row at START + DURATION - 10 s
    want=$(python3 -c 'import datetime as d,sys; t=d.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp(); s=sys.argv[2]; n=int(s[:-1]); u={"s":1,"m":60,"h":3600,"d":86400}[s[-1]]; e=t+n*u-10-3600; print(d.datetime.utcfromtimestamp(e-e%60).strftime("%Y-%m-%dT%H:%M:%S"))' "$START" "$DURATION")
    lag=NA
    catch=NA
    if [ "$ok" = 1 ]; then
        stream_json "$dir" && pu=$(stream_field "$dir" processed_until)
        lag=$(python3 -c 'import datetime as d,sys; f=lambda s: d.datetime.fromisoformat(s).timestamp(); print("%.0f" % (f(sys.argv[1]) - f(sys.argv[2] or "1970-01-01T00:00:00")))' "$want" "${pu:-}")
        local deadline=$((SECONDS + LOAD_TIMEOUT))
        while [ $SECONDS -lt $deadline ]; do
            stream_json "$dir" && pu=$(stream_field "$dir" processed_until)
            [ -n "$pu" ] && [[ ! "$pu" < "$want" ]] && { catch=$(since "$t_end"); break; }
            sleep 0.2
        done
        [ "$catch" = NA ] && ok=0
        sql_strata "$dir" "SELECT count(*) FROM cpu_1m" && n_sink=$(tail -n 1 "$dir/sql.out")
        # update mode: once the mark is there, every minute is, the newest one too
        sql_strata "$dir" "SELECT count(*) FROM (SELECT date_bin(INTERVAL '1 minute', time) AS m, hostname FROM cpu GROUP BY m, hostname)" &&
            n_direct=$(tail -n 1 "$dir/sql.out")
        [ -n "$n_sink" ] && [ "$n_sink" = "$n_direct" ] || ok=0
    fi
    stop_server
    out=$(grep '^RESULT ' "$dir/load.out" 2>/dev/null)
    rows_s=$(result_field "$out" rows_per_s)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ok" "${rows_s:-NA}" "$lag" "$catch" "${n_sink:-NA}" "${n_direct:-NA}" >"$WORK/stream.tsv"
    [ "$KEEP" = 1 ] || rm -rf "$dir/data"
    sync
    [ "$ok" = 1 ]
}

# ---------------------------------------------------------------- storage: compaction
# dir_bytes DIR: apparent size of everything under DIR (du -sb), or NA.
dir_bytes() { du -sb "$1" 2>/dev/null | awk '{ print $1 }' || echo NA; }

# wait_settled DIR CHECK: waits until DIR's size has not changed for SETTLE seconds and the
# command CHECK (if any) succeeds, or COMPACT_TIMEOUT passes (status 1).
wait_settled() {
    local dir=$1 check=$2 deadline=$((SECONDS + COMPACT_TIMEOUT)) last=-1 cur stable_since=$SECONDS
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        cur=$(dir_bytes "$dir")
        if [ "$cur" != "$last" ]; then
            last=$cur
            stable_since=$SECONDS
        elif [ $((SECONDS - stable_since)) -ge "$SETTLE" ] && { [ -z "$check" ] || $check "$dir"; }; then
            return 0
        fi
        sleep 1
    done
    return 1
}

# compact_<system> DIR: brings the loaded server to its compacted state; status 1 on failure
# or timeout.
compact_strata() {
    local dir=$1 code
    # COMPACT DATABASE flushes every cache and merges every vnode's files; it answers when done.
    code=$(curl -sS -o "$dir/compact.out" -w '%{http_code}' --max-time "$COMPACT_TIMEOUT" \
        -u "$STRATA_USER" -XPOST "http://127.0.0.1:$STRATA_PORT/api/v1/sql?db=$STRATA_DB" \
        --data-binary "COMPACT DATABASE $STRATA_DB") || return 1
    if [ "$code" != 200 ]; then
        log "COMPACT DATABASE answered HTTP $code: $(head -c 300 "$dir/compact.out")"
        return 1
    fi
    return 0
}

# InfluxDB is compacted when its WAL holds nothing (the cache was snapshotted) and no
# compaction is writing a .tmp file.
influx_compacted() {
    [ -z "$(find "$1/wal" -name '*.wal' -size +0 2>/dev/null | head -n 1)" ] &&
        [ -z "$(find "$1/data" -name '*.tmp' 2>/dev/null | head -n 1)" ]
}

compact_influxdb() {
    wait_settled "$1/data" influx_compacted
}

# VictoriaMetrics is idle when its vm_active_merges gauges are all zero.
vm_idle() {
    local n
    n=$(curl -sf --max-time 10 "http://127.0.0.1:$VM_PORT/metrics" |
        awk '/^vm_active_merges/ { s += $2 } END { print s + 0 }') || return 1
    [ "$n" = 0 ]
}

compact_victoriametrics() {
    local dir=$1 p any=0
    # force_flush writes the in-memory parts out; force_merge merges a monthly partition's
    # parts into one, in the background (the call returns at once).
    curl -sf -o /dev/null --max-time 60 "http://127.0.0.1:$VM_PORT/internal/force_flush" ||
        log "victoriametrics: /internal/force_flush failed"
    for p in $(find "$dir/data/data/small" "$dir/data/data/big" -mindepth 1 -maxdepth 1 -type d \
        -name '[0-9][0-9][0-9][0-9]_[0-9][0-9]' -printf '%f\n' 2>/dev/null | sort -u); do
        any=1
        curl -sf -o /dev/null --max-time 60 \
            "http://127.0.0.1:$VM_PORT/internal/force_merge?partition_prefix=$p" ||
            log "victoriametrics: force_merge of partition $p failed"
    done
    [ "$any" = 1 ] || log "victoriametrics: no partition found under $dir/data/data"
    wait_settled "$dir/data" vm_idle
}

# breakdown SYSTEM DIR: where the bytes are, "part=MB ..." by file kind.
breakdown() {
    find "$2" -type f -printf '%s %P\n' 2>/dev/null | awk -v sys="$1" '
        {
            p = $2; k = "other"
            if (sys == "strata") {
                if (p ~ /\.col$/) k = "columns"; else if (p ~ /\/wal\//) k = "wal"
                else if (p ~ /\/index\//) k = "series-index"; else if (p ~ /^meta\//) k = "catalog"
            } else if (sys == "influxdb") {
                if (p ~ /\.tsm$/) k = "tsm"; else if (p ~ /^wal\//) k = "wal"
                else if (p ~ /\/_series\// || p ~ /\.idx$/) k = "series-index"; else if (p ~ /^meta\//) k = "meta"
            } else if (sys == "victoriametrics") {
                if (p ~ /^data\//) k = "data"; else if (p ~ /^indexdb\//) k = "indexdb"
                else if (p ~ /^cache\//) k = "cache"
            }
            b[k] += $1
        }
        END { for (k in b) printf "%s=%.2f\n", k, b[k] / 1e6 }' | sort | tr '\n' ' ' | sed 's/ $//; s/ /,/g'
}

srecord() { printf '%s\n' "$*" | tr ' ' '\t' >>"$STORE"; }
qrecord() { printf '%s\n' "$*" | tr ' ' '\t' >>"$SCANS"; }

# ---------------------------------------------------------------- storage: scans
# run_query SYSTEM SQL OUT: one query; prints curl's time_total in seconds; status 1 unless the
# server answered 200.
run_query() {
    local sys=$1 q=$2 out=$3 w
    case $sys in
    strata)
        w=$(curl -sS -o "$out" -w '%{http_code} %{time_total}' --max-time "$QUERY_TIMEOUT" \
            -u "$STRATA_USER" -XPOST "http://127.0.0.1:$STRATA_PORT/api/v1/sql?db=$STRATA_DB" \
            --data-binary "$q") || return 1
        ;;
    influxdb)
        w=$(curl -sS -o "$out" -w '%{http_code} %{time_total}' --max-time "$QUERY_TIMEOUT" -G \
            "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode db=benchmark \
            --data-urlencode "q=$q") || return 1
        ;;
    esac
    if [ "${w%% *}" != 200 ]; then
        log "$sys: '$q' answered HTTP ${w%% *}: $(head -c 300 "$out")"
        return 1
    fi
    echo "${w#* }"
}

# answer SYSTEM OUT: the single number a one-row, one-column query answered, or "" if the
# answer is not that. Strata answers CSV with a header line; InfluxDB JSON with [time, value].
answer() {
    local v
    case $1 in
    strata) v=$(awk 'NF { n++; l = $0 } END { if (n == 2) print l }' "$2") ;;
    influxdb) v=$(sed -n 's/.*"values":\[\[[^],]*,\([^],]*\)\]\].*/\1/p' "$2") ;;
    esac
    case $v in
    '' | *[!0-9.eE+-]*) echo "" ;;
    *) echo "$v" ;;
    esac
}

# scan_one SYSTEM SET NAME SQL ROWS DIR: warm-up runs, then SCAN_RUNS timed runs, recorded.
scan_one() {
    local sys=$1 set=$2 name=$3 q=$4 rows=$5 dir=$6 t c0 c1 times="" ans stats
    for _ in $(seq "$SCAN_WARMUP"); do
        run_query "$sys" "$q" "$dir/query.out" >/dev/null || {
            qrecord "$set $sys $name 0 0 $rows NA NA NA NA NA"
            return 1
        }
    done
    c0=$(server_cpu_ticks)
    for _ in $(seq "$SCAN_RUNS"); do
        t=$(run_query "$sys" "$q" "$dir/query.out") || {
            qrecord "$set $sys $name 0 0 $rows NA NA NA NA NA"
            return 1
        }
        times="$times $t"
    done
    c1=$(server_cpu_ticks)
    ans=$(answer "$sys" "$dir/query.out")
    # shellcheck disable=SC2086
    stats=$(printf '%s\n' $times | sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print m, v[1], v[NR] }')
    if [ -z "$ans" ]; then
        log "$sys: '$q' did not answer one number: $(head -c 300 "$dir/query.out")"
        qrecord "$set $sys $name 0 $SCAN_RUNS $rows $stats $((c1 - c0)) NA"
        return 1
    fi
    log "$sys: $q: median $(awk -v s="${stats%% *}" 'BEGIN { printf "%.1f", s * 1000 }') ms over $SCAN_RUNS runs, answer $ans"
    qrecord "$set $sys $name 1 $SCAN_RUNS $rows $stats $((c1 - c0)) $ans"
}

# scan_all SYSTEM SET ROWS DIR: checks that all rows are there, then times both queries.
scan_all() {
    local sys=$1 set=$2 rows=$3 dir=$4 all ok=0 qall qcount
    case $sys in
    strata) qall=$Q_ALL_STRATA qcount=$Q_COUNT_STRATA ;;
    influxdb) qall=$Q_ALL_INFLUX qcount=$Q_COUNT_INFLUX ;;
    esac
    run_query "$sys" "$qall" "$dir/query.out" >/dev/null && all=$(answer "$sys" "$dir/query.out")
    if [ "${all:-}" != "$rows" ]; then
        log "$sys: '$qall' answered '${all:-?}', but $rows rows were loaded"
        qrecord "$set $sys rows 0 0 $rows NA NA NA NA ${all:-NA}"
        return 1
    fi
    scan_one "$sys" "$set" sum "$Q_SUM" "$rows" "$dir" || ok=1
    scan_one "$sys" "$set" count "$qcount" "$rows" "$dir" || ok=1
    return $ok
}

# storage_one SYSTEM SET FILE ROWS: fresh server, load, compaction, stop, du; then (Strata,
# InfluxDB) a restart on the same data and the scans.
storage_one() {
    local sys=$1 set=$2 file=$3 rows=$4 dir out t0 compact_s state=compacted
    local ok=1 bytes alloc detail values load_s rows_s
    dir="$WORK/storage-$sys-$(set_tag "$set")"
    mkdir -p "$dir"
    log "storage $set: $sys: starting"
    if ! start_and_wait "$sys" "$dir" storage; then
        srecord "$set $sys 0 $rows NA NA NA NA failed NA NA -"
        return 1
    fi
    if ! load_data "$sys" "$dir" "$file" "$rows"; then
        stop_server
        srecord "$set $sys 0 $rows NA NA NA NA load-failed NA NA -"
        return 1
    fi
    out=$(grep '^RESULT ' "$dir/load.out")
    values=$(result_field "$out" values)
    load_s=$(result_field "$out" secs)
    rows_s=$(result_field "$out" rows_per_s)
    log "storage $set: $sys: compacting"
    t0=$(now)
    if ! "compact_$sys" "$dir"; then
        state=not-compacted
        ok=0
        log "storage $set: $sys: did not reach a compacted state (see above); measuring anyway"
    fi
    compact_s=$(since "$t0")
    stop_server
    bytes=$(dir_bytes "$dir/data")
    alloc=$(du -sB1 "$dir/data" 2>/dev/null | awk '{ print $1 }')
    detail=$(breakdown "$sys" "$dir/data")
    log "storage $set: $sys: $bytes bytes on disk after ${compact_s}s of compaction ($detail)"
    srecord "$set $sys $ok $rows ${values:-NA} ${load_s:-NA} ${rows_s:-NA} $compact_s $state ${bytes:-NA} ${alloc:-NA} ${detail:--}"

    if [ "$sys" = strata ] || { [ "$sys" = influxdb ] && [ "$PEER_SCAN" = 1 ]; }; then
        log "storage $set: $sys: restarting for the scans"
        if start_and_wait "$sys" "$dir" storage; then
            scan_all "$sys" "$set" "$rows" "$dir" || ok=0
            stop_server
        else
            qrecord "$set $sys rows 0 0 $rows NA NA NA NA NA"
            ok=0
        fi
    fi
    if [ "$KEEP" != 1 ]; then rm -rf "$dir/data"; fi
    sync
    [ "$ok" = 1 ]
}

# ---------------------------------------------------------------- schema changes
# sql_strata DIR Q: one SQL statement on the Strata under test (database $STRATA_DB); the answer
# goes to DIR/sql.out; status 1 unless HTTP 200.
sql_strata() {
    local code
    code=$(curl -sS -o "$1/sql.out" -w '%{http_code}' --max-time "$QUERY_TIMEOUT" -u "$STRATA_USER" \
        -XPOST "http://127.0.0.1:$STRATA_PORT/api/v1/sql?db=$STRATA_DB" --data-binary "$2") || return 1
    [ "$code" = 200 ] || {
        log "strata: '$2' answered HTTP $code: $(head -c 300 "$1/sql.out")"
        return 1
    }
}

# probe_db SYSTEM DIR: creates the probe's database; prints the probe's write URL.
probe_db() {
    case $1 in
    strata)
        sql_strata "$2" "CREATE DATABASE IF NOT EXISTS probe" || return 1
        echo "127.0.0.1:$STRATA_PORT/api/v1/write?db=probe"
        ;;
    influxdb)
        curl -sS -o /dev/null --max-time 10 -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
            --data-urlencode 'q=CREATE DATABASE probe' || return 1
        echo "127.0.0.1:$INFLUX_PORT/write?db=probe"
        ;;
    esac
}

# schema_load SYSTEM DIR FILE NAME: one loader run of FILE (its RESULT line to DIR/NAME.out).
schema_load() {
    local sys=$1 dir=$2 file=$3 name=$4
    timeout "$LOAD_TIMEOUT" "$LOAD" --url "$WRITE_URL" --name "$sys-$name" --batch "$BATCH" \
        --workers "$WORKERS" "${LOAD_ARGS[@]}" "$file" >"$dir/$name.out" 2>"$dir/$name.err"
    local rc=$?
    cat "$dir/$name.err" >&2
    head -n 1 "$dir/$name.out" >&2
    [ "$rc" -eq 0 ] && grep -q '^RESULT .* ok=1 ' "$dir/$name.out"
}

# schema_check DIR: Strata answers for every table and series created (after the restart).
schema_check() {
    local n
    sql_strata "$1" "SHOW TABLES" || return 1
    n=$(grep -c '^m[0-9]' "$1/sql.out")
    [ "$n" = "$SCHEMA_TABLES" ] || {
        log "strata: SHOW TABLES lists $n of the $SCHEMA_TABLES tables after the restart"
        return 1
    }
    sql_strata "$1" "SELECT count(*) FROM s" || return 1
    n=$(awk 'NF { l = $0 } END { print l }' "$1/sql.out")
    [ "$n" = "$SCHEMA_SERIES" ] || {
        log "strata: $n of the $SCHEMA_SERIES series' rows after the restart"
        return 1
    }
}

# schema_one SYSTEM ROUND: fresh server, probe started, tables, series, probe stopped, stop and
# start timed, recorded in schema.tsv.
schema_one() {
    local sys=$1 round=$2 dir="$WORK/schema-$1.$2" ok=1 probe_url probe_pid t0 stop_s start_s
    local rss cpu tables_s series_s p
    mkdir -p "$dir"
    log "schema $sys (run $round/$SCHEMA_REPEAT): starting"
    if ! start_and_wait "$sys" "$dir" schema || ! after_ready "$sys" ||
        ! probe_url=$(probe_db "$sys" "$dir"); then
        [ -n "$SERVER_PID" ] && stop_server
        printf '%s\t%s\t0\n' "$sys" "$round" >>"$SCHEMA"
        return 1
    fi
    "$LOAD" --url "$probe_url" --name "$sys-probe" --batch 1 --workers 1 \
        --interval-ms "$PROBE_MS" --until-file "$dir/stop" "${LOAD_ARGS[@]}" "$PROBE_FILE" \
        >"$dir/probe.out" 2>"$dir/probe.err" &
    probe_pid=$!
    sleep 1 # the probe's latencies with nothing else running, for comparison
    log "schema $sys: $SCHEMA_TABLES new tables"
    schema_load "$sys" "$dir" "$TABLES_FILE" tables || ok=0
    log "schema $sys: $SCHEMA_SERIES new series"
    [ "$ok" = 1 ] && { schema_load "$sys" "$dir" "$SERIES_FILE" series || ok=0; }
    touch "$dir/stop"
    wait "$probe_pid" || ok=0
    cat "$dir/probe.err" >&2
    head -n 1 "$dir/probe.out" >&2
    rss=$(peak_rss_mb)
    cpu=$(server_cpu_s)
    t0=$(now)
    stop_server
    stop_s=$(since "$t0")
    t0=$(now)
    if start_and_wait "$sys" "$dir" schema; then
        start_s=$(since "$t0")
        if [ "$sys" = strata ] && [ "$ok" = 1 ]; then schema_check "$dir" || ok=0; fi
        stop_server
    else
        start_s=NA
        ok=0
    fi
    tables_s=$(result_field "$(grep '^RESULT ' "$dir/tables.out" 2>/dev/null)" rows_per_s)
    series_s=$(result_field "$(grep '^RESULT ' "$dir/series.out" 2>/dev/null)" rows_per_s)
    p=$(grep '^RESULT ' "$dir/probe.out" 2>/dev/null)
    log "schema $sys: ${tables_s:-?} tables/s, ${series_s:-?} series/s; probe p99 $(result_field "$p" p99_ms) ms, max $(result_field "$p" max_ms) ms; stop ${stop_s}s, start ${start_s}s"
    printf '%s\n' "$sys $round $ok ${tables_s:-NA} ${series_s:-NA} $(result_field "$p" batches) $(result_field "$p" p50_ms) $(result_field "$p" p99_ms) $(result_field "$p" max_ms) $stop_s $start_s ${rss:-NA} ${cpu:-NA}" |
        tr ' ' '\t' >>"$SCHEMA"
    if [ "$KEEP" != 1 ]; then rm -rf "$dir/data"; fi
    sync
    [ "$ok" = 1 ]
}

# ---------------------------------------------------------------- queries
QUERY_PY=bench/tsbs_queries.py
DUCKDB_MODULES=${BENCH_DUCKDB_MODULES:-build/bench/duckdb/node_modules}

# duckdb_ok: DuckDB can run (node and the npm package that install-deps.sh --bench installs).
duckdb_ok() {
    [ "$USE_DUCKDB" = 1 ] && command -v node >/dev/null && [ -d "$DUCKDB_MODULES/@duckdb/node-api" ]
}

# keep_up: the server just started stays up for the queries (cleanup still ends it).
keep_up() {
    OTHER_PIDS="$OTHER_PIDS $SERVER_PID"
    SERVER_PID=""
}

# query_args: the data set's description for bench/tsbs_queries.py.
query_args() {
    local a=(--hosts "${1%%:*}" --duration "${1#*:}" --start "$START" --seed "$SEED"
        --instances "$QUERY_INSTANCES" --timeout "$QUERY_TIMEOUT")
    [ -n "$QUERY_TYPES" ] && a+=(--types "$QUERY_TYPES")
    printf '%s\n' "${a[@]}"
}

# profile_slowest DIR TAG SET PID: perf profiles of the Strata server PID on its QUERY_PROFILE
# slowest types (median ms in the run's TSV), each while tsbs_queries.py repeats that type for
# PROFILE_SECONDS; the top of each report goes to DIR/profile-<type>.txt.
profile_slowest() {
    local dir=$1 tag=$2 set=$3 pid=$4 t perf_pid args
    command -v perf >/dev/null || {
        log "queries $set: perf is not installed; no profiles"
        return 0
    }
    mapfile -t args < <(query_args "$set")
    # Each type's (upper) median: its times sorted, the middle one printed at the type's end.
    for t in $(awk -F'\t' '$3 == "strata" && $2 != "join-cpu-mem" { print $2 "\t" $6 }' \
        "$dir/queries-$tag.tsv" | sort -t "$(printf '\t')" -k1,1 -k2,2g |
        awk -F'\t' '$1 != k { if (n) print v[int(n / 2) + 1], k; k = $1; n = 0 }
            { v[++n] = $2 } END { if (n) print v[int(n / 2) + 1], k }' |
        sort -gr | head -n "$QUERY_PROFILE" | awk '{ print $2 }'); do
        log "queries $set: profiling Strata on $t for ${PROFILE_SECONDS}s"
        perf record -g -F 499 -p "$pid" -o "$dir/perf-$t.data" >"$dir/perf-$t.log" 2>&1 &
        perf_pid=$!
        sleep 0.5
        python3 "$QUERY_PY" repeat "${args[@]}" --types "$t" --strata "127.0.0.1:$STRATA_PORT" \
            --strata-db "$STRATA_DB" --strata-user "$STRATA_USER" --seconds "$PROFILE_SECONDS" \
            2>"$dir/repeat-$t.log"
        kill -INT "$perf_pid" 2>/dev/null
        wait "$perf_pid" 2>/dev/null
        {
            sed 's/^\[[^]]*\] //' "$dir/repeat-$t.log" | tail -n 1
            perf report -i "$dir/perf-$t.data" --stdio --no-children --sort symbol \
                --percent-limit 1.5 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
                head -n 15 | awk '{ printf "%s %s\n", $1, $3 }'
        } >"$dir/profile-$t.txt"
        rm -f "$dir/perf-$t.data"
    done
}

# queries_one SET: generates the set, loads Strata (cpu and mem) and InfluxDB (cpu), runs the
# query benchmark with DuckDB beside them, profiles Strata, stops everything.
queries_one() {
    local set=$1 tag dir rows rc=0 strata_pid influx_pid="" args duck=() influx=() m tables=cpu
    tag=$(set_tag "$set")
    dir="$WORK/queries-$tag"
    mkdir -p "$dir"
    # mem is only for the join.
    [ "$QUERY_JOIN" = 1 ] && tables="cpu mem"
    log "queries $set: generating $(set_label "$set") ($tables) at 10s from $START (seed $SEED)"
    for m in $tables; do
        "$GEN" --hosts "${set%%:*}" --duration "${set#*:}" --start "$START" --seed "$SEED" \
            --measurement "$m" --out "$dir/$m.lp" || die "data generation failed for query set $set"
    done
    rows=$(wc -l <"$dir/cpu.lp")
    printf '%s\t%s\t%s\n' "$set" "$rows" "$(du -sk "$dir/cpu.lp" | awk '{ printf "%.0f", $1 / 1024 }')" >>"$QSET_INFO"
    sync

    log "queries $set: strata: loading $tables, then COMPACT DATABASE"
    start_and_wait strata "$dir/strata" || return 1
    for m in $tables; do
        load_data strata "$dir/strata" "$dir/$m.lp" "$rows" && continue
        stop_server
        return 1
    done
    compact_strata "$dir/strata" || log "queries $set: strata: COMPACT DATABASE failed; querying anyway"
    strata_pid=$SERVER_PID
    keep_up
    if in_run influxdb; then
        log "queries $set: influxdb: loading cpu, then waiting for its full compaction"
        if ! start_and_wait influxdb "$dir/influxdb" storage || ! load_data influxdb "$dir/influxdb" "$dir/cpu.lp" "$rows"; then
            stop_server
            end_pid "$strata_pid"
            return 1
        fi
        compact_influxdb "$dir/influxdb" || log "queries $set: influxdb did not settle; querying anyway"
        influx_pid=$SERVER_PID
        keep_up
        influx=(--influx "127.0.0.1:$INFLUX_PORT")
    fi
    [ "$KEEP" = 1 ] || rm -f "$dir/cpu.lp" "$dir/mem.lp"
    if duckdb_ok; then
        for m in $tables; do
            "$GEN" --hosts "${set%%:*}" --duration "${set#*:}" --start "$START" --seed "$SEED" \
                --measurement "$m" --format csv --out "$dir/$m.csv" 2>/dev/null ||
                die "CSV generation failed for query set $set"
        done
        # node's default heap is too small for the 1.8M-row answers of high-cpu-all on 4000
        # hosts as JavaScript objects: half the machine's memory
        local heap_mb
        heap_mb=$(awk '/^MemTotal:/ {print int($2 / 2048)}' /proc/meminfo)
        duck=(--duckdb "env NODE_PATH=$DUCKDB_MODULES node --max-old-space-size=$heap_mb bench/duckdb_tsbs.cjs --db $dir/duck.db --cpu $dir/cpu.csv --threads $DUCKDB_THREADS")
        [ "$QUERY_JOIN" = 1 ] && duck[1]="${duck[1]} --mem $dir/mem.csv"
    else
        log "queries $set: DuckDB left out (BENCH_DUCKDB=0, or node or $DUCKDB_MODULES missing: scripts/install-deps.sh --bench)"
    fi
    sync
    mapfile -t args < <(query_args "$set")
    log "queries $set: running the query types"
    python3 "$QUERY_PY" run "${args[@]}" --runs "$QUERY_RUNS" --warmup "$QUERY_WARMUP" \
        --join "$QUERY_JOIN" --tsfuncs "${BENCH_QUERY_TSFUNCS:-1}" --strata "127.0.0.1:$STRATA_PORT" --strata-db "$STRATA_DB" \
        --strata-user "$STRATA_USER" "${influx[@]}" "${duck[@]}" --set "$tag" --out "$dir" \
        --warm "$dir/strata/data" --warm "$dir/influxdb/data" \
        >"$dir/queries.out" || rc=1
    [ "$KEEP" = 1 ] || rm -f "$dir/cpu.csv" "$dir/mem.csv" "$dir/duck.db" "$dir/duck.db.wal"
    [ -f "$dir/queries-$tag.md" ] || rc=1
    if [ "$QUERY_PROFILE" -gt 0 ] && [ -f "$dir/queries-$tag.tsv" ]; then
        profile_slowest "$dir" "$tag" "$set" "$strata_pid"
    fi
    end_pid "$strata_pid"
    end_pid "$influx_pid"
    OTHER_PIDS=""
    if [ "$KEEP" != 1 ]; then rm -rf "$dir/strata/data" "$dir/influxdb/data"; fi
    sync
    return $rc
}

# ---------------------------------------------------------------- summary helpers
# median COLUMN SYSTEM [FILE]: median of a column of runs.tsv (or FILE) over the successful runs
# of SYSTEM.
median() {
    awk -F'\t' -v c="$1" -v s="$2" '$1 == s && $3 == 1 && $c != "NA" { print $c }' "${3:-$RUNS}" |
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

# sfield SET SYSTEM COLUMN: a storage.tsv column of a successful storage run, or NA.
sfield() {
    awk -F'\t' -v s="$1" -v y="$2" -v c="$3" '$1 == s && $2 == y && $3 == 1 { v = $c } END { print (v == "" ? "NA" : v) }' "$STORE"
}

# bpv SET SYSTEM [COLUMN]: bytes per value (apparent size by default; 11 = allocated).
bpv() {
    local b v
    b=$(sfield "$1" "$2" "${3:-10}")
    v=$(sfield "$1" "$2" 5)
    case "$b$v" in
    *NA*) echo NA ;;
    *) awk -v b="$b" -v v="$v" 'BEGIN { if (v > 0) printf "%.4f", b / v; else print "NA" }' ;;
    esac
}

# qfield SET SYSTEM QUERY COLUMN: a scans.tsv column of a successful scan, or NA.
qfield() {
    awk -F'\t' -v s="$1" -v y="$2" -v q="$3" -v c="$4" '$1 == s && $2 == y && $3 == q && $4 == 1 { v = $c } END { print (v == "" ? "NA" : v) }' "$SCANS"
}

# Throughput figures of a scan: values/s by wall clock, values per server CPU second.
scan_rate() { # scan_rate SET SYSTEM QUERY
    local m r
    m=$(qfield "$1" "$2" "$3" 7)
    r=$(qfield "$1" "$2" "$3" 6)
    case "$m$r" in *NA*) echo NA ;; *) awk -v m="$m" -v r="$r" 'BEGIN { if (m > 0) printf "%.0f", r / m; else print "NA" }' ;; esac
}
scan_cpu_rate() { # scan_cpu_rate SET SYSTEM QUERY
    local t n r
    t=$(qfield "$1" "$2" "$3" 10)
    n=$(qfield "$1" "$2" "$3" 5)
    r=$(qfield "$1" "$2" "$3" 6)
    case "$t$n$r" in
    *NA*) echo NA ;;
    *) awk -v t="$t" -v n="$n" -v r="$r" -v h="$CLK_TCK" 'BEGIN { if (t > 0) printf "%.0f", r * n / (t / h); else print "NA" }' ;;
    esac
}
scan_cpu_ms() { # scan_cpu_ms SET SYSTEM QUERY: server CPU ms per query
    local t n
    t=$(qfield "$1" "$2" "$3" 10)
    n=$(qfield "$1" "$2" "$3" 5)
    case "$t$n" in *NA*) echo NA ;; *) awk -v t="$t" -v n="$n" -v h="$CLK_TCK" 'BEGIN { printf "%.1f", t / h / n * 1000 }' ;; esac
}
millions() { # millions VALUE: "123.4 M", or n/a
    case $1 in NA | '') echo "n/a" ;; *) awk -v v="$1" 'BEGIN { printf "%.1f M", v / 1e6 }' ;; esac
}

# agree A B: whether two answers are the same number (a relative 1e-9 allows for a different
# order of floating-point additions).
agree() {
    case "$1$2" in
    *NA*) echo "n/a" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a)
           print (d <= 1e-9 * m || d == 0) ? "yes" : "NO" }' ;;
    esac
}

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
set_label() { echo "${1%%:*} hosts x ${1#*:}"; }
set_tag() { echo "${1%%:*}h-${1#*:}"; } # a set's name in file names

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
BENCH_T0=$SECONDS
FAILED=0

in_run() { [[ " $RUN_SYSTEMS " == *" $1 "* ]]; }

# rounds N FUNC "SYSTEMS": FUNC SYSTEM ROUND for N rounds, the systems taking turns.
rounds() {
    local n=$1 f=$2 systems=$3 r s
    for r in $(seq "$n"); do
        for s in $systems; do
            "$f" "$s" "$r" || FAILED=1
        done
    done
}

if do_ingest; then
    DATA="$WORK/cpu-only.lp"
    log "ingestion: generating data: $HOSTS hosts x $DURATION at 10s from $START (seed $SEED)"
    "$GEN" --hosts "$HOSTS" --duration "$DURATION" --start "$START" --seed "$SEED" --out "$DATA" ||
        die "data generation failed"
    DATA_ROWS=$(wc -l <"$DATA")
    DATA_MB=$(du -sk "$DATA" | awk '{ printf "%.0f", $1 / 1024 }')
    log "data: $DATA_ROWS rows, ${DATA_MB} MB"
    # The fresh file is a gigabyte of dirty page cache; written back later, it would compete
    # with the first system's fsyncs.
    sync
    rounds "$REPEAT" run_one "$RUN_SYSTEMS"
    if in_run strata && [ "${BENCH_STREAM:-1}" = 1 ]; then stream_one || FAILED=1; fi
    [ "$KEEP" = 1 ] || rm -f "$DATA"
fi
INGEST_SECS=$((SECONDS - BENCH_T0))

SET_INFO="$WORK/sets.tsv" # set rows mb
: >"$SET_INFO"
if do_storage; then
    for set in $STORAGE_SETS; do
        file="$WORK/storage-$(set_tag "$set").lp"
        log "storage: generating data: $(set_label "$set") at 10s from $START (seed $SEED)"
        "$GEN" --hosts "${set%%:*}" --duration "${set#*:}" --start "$START" --seed "$SEED" \
            --out "$file" || die "data generation failed for storage set $set"
        rows=$(wc -l <"$file")
        printf '%s\t%s\t%s\n' "$set" "$rows" "$(du -sk "$file" | awk '{ printf "%.0f", $1 / 1024 }')" >>"$SET_INFO"
        sync
        for s in $RUN_SYSTEMS; do
            storage_one "$s" "$set" "$file" "$rows" || FAILED=1
        done
        [ "$KEEP" = 1 ] || rm -f "$file"
    done
fi
STORAGE_SECS=$((SECONDS - BENCH_T0 - INGEST_SECS))

if do_schema; then
    TABLES_FILE="$WORK/schema-tables.lp"
    SERIES_FILE="$WORK/schema-series.lp"
    PROBE_FILE="$WORK/schema-probe.lp"
    log "schema: generating $SCHEMA_TABLES tables and $SCHEMA_SERIES series"
    # One line per table (measurement m<i>), then one line per series of table s. The probe's
    # lines each name a new table too (in their own database): every probe write is a schema
    # change of its own, the case where it could wait for the storm's.
    awk -v n="$SCHEMA_TABLES" 'BEGIN { for (i = 0; i < n; i++) printf "m%d,host=a v=1 %d\n", i, 1700000000000000000 + i }' >"$TABLES_FILE"
    awk -v n="$SCHEMA_SERIES" 'BEGIN { for (i = 0; i < n; i++) printf "s,host=h%d v=1 %d\n", i, 1700000000000000000 + i }' >"$SERIES_FILE"
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf "probe%d,host=a v=%di %d\n", i, i, 1700000000000000000 + i }' >"$PROBE_FILE"
    sync
    SCHEMA_SYSTEMS=""
    for s in $RUN_SYSTEMS; do
        case $s in strata | influxdb) SCHEMA_SYSTEMS="$SCHEMA_SYSTEMS $s" ;; esac
    done
    rounds "$SCHEMA_REPEAT" schema_one "$SCHEMA_SYSTEMS"
    [ "$KEEP" = 1 ] || rm -f "$TABLES_FILE" "$SERIES_FILE" "$PROBE_FILE"
fi
SCHEMA_SECS=$((SECONDS - BENCH_T0 - INGEST_SECS - STORAGE_SECS))

if do_queries; then
    if ! in_run strata; then
        log "queries: Strata is not benchmarked (BENCH_SYSTEMS or a missing binary); skipping"
    else
        for set in $QUERY_SETS; do
            queries_one "$set" || FAILED=1
        done
    fi
fi
QUERIES_SECS=$((SECONDS - BENCH_T0 - INGEST_SECS - STORAGE_SECS - SCHEMA_SECS))

# ---------------------------------------------------------------- the summary

ingest_summary() {
    echo "## Ingestion"
    echo
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
    in_run strata || st=NA
    echo "- Strata / InfluxDB (rows/s): $(ratio "$st" "$(median 4 influxdb)") (target: at least 2x)"
    echo "- Strata / VictoriaMetrics (rows/s): $(ratio "$st" "$(median 4 victoriametrics)")"
    echo
    echo "VictoriaMetrics acknowledges a write before it is on disk (it buffers recent data in memory and"
    echo "writes it out in the background; no fsync per request), so its numbers are not for a durable ack. InfluxDB"
    echo "(wal-fsync-delay 0s) and Strata (WAL fsync per batch, group commit) fsync before answering."
    echo "disk MB is du of the data directory after the load and a clean shutdown (not compacted); peak RSS is VmHWM;"
    echo "server CPU s is the server's user+system time from start to the end of the load."
    echo
    if [ -f "$WORK/stream.tsv" ]; then
        local sok srows slag scatch ssink sdirect
        IFS=$'\t' read -r sok srows slag scatch ssink sdirect <"$WORK/stream.tsv"
        echo "### A stream rollup during the load"
        echo
        echo "One more Strata load with a continuous job (\`CREATE STREAM ... TRIGGER = '1s' WATERMARK = '1h' AS INSERT INTO"
        echo "cpu_1m SELECT date_bin(INTERVAL '1 minute', time), hostname, max, avg, count ... FROM cpu_stream\`)"
        echo "keeping a 1-minute rollup per host (docs/streams.md):"
        echo
        echo "| rows/s with the job | rows/s without (median above) | job's event-time lag at the load's end | caught up after the last write | rollup rows | equal to the direct query |"
        echo "|---:|---:|---:|---:|---:|---|"
        echo "| $(fmt "$srows" 0) | $(fmt "$st" 0) | ${slag} s of event time | ${scatch} s | ${ssink} | $([ "$sok" = 1 ] && echo yes || echo "NO (direct: $sdirect)") |"
        echo
        echo "The data is days written in seconds, so the job's lag is in event time: how much of the"
        echo "written data (up to its watermark, an hour behind the newest row) it had still to roll up when"
        echo "the writes stopped, and then how long it took. The hour absorbs the loader's disorder: its"
        echo "connections deliver batches, each minutes of every host, out of event-time order."
        echo
    fi
    echo "### All ingestion runs"
    echo
    echo "| system | run | ok | rows/s | values/s | load s | p50 ms | p99 ms | disk MB | peak RSS MB | server CPU s |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s |", $1, $2, ($3 == 1 ? "yes" : "FAILED")
                  for (i = 4; i <= 11; i++) printf " %s |", $i; printf "\n" }' "$RUNS"
}

storage_summary() {
    local set rows mb s vm st b
    echo "## Storage"
    echo
    echo "- data: TSBS cpu-only at 10 s from $START (seed $SEED), 10 float fields per row:"
    while IFS=$'\t' read -r set rows mb; do
        echo "  $(set_label "$set"): $rows rows, $((rows * 10)) values, $mb MB of line protocol"
    done <"$SET_INFO"
    echo "- each set loaded once per system ($BATCH lines per request, $WORKERS connections), then compacted"
    echo "  (Strata: COMPACT DATABASE $STRATA_DB; InfluxDB: cold snapshot + full compaction after 1 s, waited for;"
    echo "  VictoriaMetrics: /internal/force_flush + /internal/force_merge, waited for), stopped, and measured;"
    echo "  \"settled\" = the data directory unchanged for ${SETTLE} s"
    echo
    echo "### Bytes on disk after compaction"
    echo
    echo "| data | system | values | bytes on disk (du -sb) | bytes/value | allocated bytes/value | vs VictoriaMetrics | load rows/s | compaction s | state | where the MB are |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    while IFS=$'\t' read -r set _ _; do
        vm=$(bpv "$set" victoriametrics)
        for s in $RUN_SYSTEMS; do
            awk -F'\t' -v z="$set" -v y="$s" '$1 == z && $2 == y' "$STORE" | while IFS=$'\t' read -r _ _ ok _ values _ rows_s compact_s state bytes alloc detail; do
                b=NA
                [ "$ok" = 1 ] && b=$(bpv "$set" "$s")
                echo "| $(set_label "$set") | $(label "$s") | ${values} | ${bytes} | $(fmt "$b" 3) | $(fmt "$([ "$ok" = 1 ] && bpv "$set" "$s" 11 || echo NA)" 3) | $(ratio "$b" "$vm") | $(fmt "$rows_s" 0) | $compact_s | $state | ${detail//,/, } |"
            done
        done
    done <"$SET_INFO"
    echo
    while IFS=$'\t' read -r set _ _; do
        st=NA
        in_run strata && st=$(bpv "$set" strata)
        echo "- $(set_label "$set"): Strata / VictoriaMetrics (bytes per value): $(ratio "$st" "$(bpv "$set" victoriametrics)") (target: at most 1.0); Strata / InfluxDB: $(ratio "$st" "$(bpv "$set" influxdb)")"
    done <"$SET_INFO"
    echo
    echo "### Scan speed"
    echo
    echo "Each query run $SCAN_WARMUP times untimed, then $SCAN_RUNS times timed (curl time_total, client side);"
    echo "values/s = rows scanned / median time; server CPU from /proc/PID/stat (utime+stime, 1/$CLK_TCK s ticks) over the timed runs."
    echo "Strata runs a query on one thread, so its values/s is also per core. The servers were restarted on"
    echo "their compacted data before the queries. VictoriaMetrics is not queried: MetricsQL has no equivalent"
    echo "of a filter + sum over raw samples."
    echo
    echo "| data | system | query | rows scanned | median ms | min-max ms | values/s | server CPU ms/query | values per CPU-s | answer |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    local name ok rows med lo hi ans q
    while IFS=$'\t' read -r set s name ok _ rows med lo hi _ ans; do
        case "$s:$name" in
        strata:sum | influxdb:sum) q=$Q_SUM ;;
        strata:count) q=$Q_COUNT_STRATA ;;
        influxdb:count) q=$Q_COUNT_INFLUX ;;
        strata:rows) q="$Q_ALL_STRATA (check)" ;;
        *) q="$Q_ALL_INFLUX (check)" ;;
        esac
        if [ "$ok" = 1 ]; then
            echo "| $(set_label "$set") | $(label "$s") | \`$q\` | $rows | $(fmt "$(awk -v m="$med" 'BEGIN { print m * 1000 }')" 1) | $(fmt "$(awk -v m="$lo" 'BEGIN { print m * 1000 }')" 1)-$(fmt "$(awk -v m="$hi" 'BEGIN { print m * 1000 }')" 1) | $(millions "$(scan_rate "$set" "$s" "$name")") | $(fmt "$(scan_cpu_ms "$set" "$s" "$name")" 1) | $(millions "$(scan_cpu_rate "$set" "$s" "$name")") | $ans |"
        else
            echo "| $(set_label "$set") | $(label "$s") | \`$q\` | $rows | FAILED | | | | | $ans |"
        fi
    done <"$SCANS"
    echo
    while IFS=$'\t' read -r set _ _; do
        in_run strata || continue
        echo "- $(set_label "$set"): Strata filter + sum: $(millions "$(scan_rate "$set" strata sum)") values/s wall clock, $(millions "$(scan_cpu_rate "$set" strata sum)") values per CPU-second (target: at least 100 M per core); filter + count: $(millions "$(scan_rate "$set" strata count)") values/s"
        if in_run influxdb && [ "$PEER_SCAN" = 1 ]; then
            echo "  - answers agree with InfluxDB: sum $(agree "$(qfield "$set" strata sum 11)" "$(qfield "$set" influxdb sum 11)"), count $(agree "$(qfield "$set" strata count 11)" "$(qfield "$set" influxdb count 11)"); Strata / InfluxDB (sum, wall clock): $(ratio "$(scan_rate "$set" strata sum)" "$(scan_rate "$set" influxdb sum)")"
        fi
    done <"$SET_INFO"
}

schema_summary() {
    local s okr st
    echo "## Schema changes"
    echo
    echo "- $SCHEMA_TABLES new tables (one line each), then $SCHEMA_SERIES new series of one table, $BATCH lines per request, $WORKERS connections, on a fresh server; $SCHEMA_REPEAT runs per system (alternating), medians shown"
    echo "- probe: one line every $PROBE_MS ms, each to a new table, in another database, during both loads (and 1 s before them); its latency per write"
    echo "- stop: SIGTERM until the process exits; start: from exec until ping answers, on the same data"
    echo
    echo "| system | tables/s | series/s | probe writes | probe p50 ms | probe p99 ms | probe max ms | stop s | start s | peak RSS MB | server CPU s | ok runs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in $SCHEMA_SYSTEMS; do
        okr=$(awk -F'\t' -v s="$s" '$1 == s && $3 == 1' "$SCHEMA" | wc -l)
        echo "| $(label "$s") | $(fmt "$(median 4 "$s" "$SCHEMA")" 0) | $(fmt "$(median 5 "$s" "$SCHEMA")" 0) | $(fmt "$(median 6 "$s" "$SCHEMA")" 0) | $(fmt "$(median 7 "$s" "$SCHEMA")" 1) | $(fmt "$(median 8 "$s" "$SCHEMA")" 1) | $(fmt "$(median 9 "$s" "$SCHEMA")" 1) | $(fmt "$(median 10 "$s" "$SCHEMA")" 2) | $(fmt "$(median 11 "$s" "$SCHEMA")" 2) | $(fmt "$(median 12 "$s" "$SCHEMA")" 0) | $(fmt "$(median 13 "$s" "$SCHEMA")" 1) | $okr/$SCHEMA_REPEAT |"
    done
    echo
    st=NA
    in_run strata && st=$(median 4 strata "$SCHEMA")
    echo "- Strata / InfluxDB (tables/s): $(ratio "$st" "$(median 4 influxdb "$SCHEMA")") (target: at least 2x)"
    in_run strata && st=$(median 5 strata "$SCHEMA")
    echo "- Strata / InfluxDB (series/s): $(ratio "$st" "$(median 5 influxdb "$SCHEMA")") (target: at least 2x)"
    echo "- worst probe latency over all Strata runs: $(awk -F'\t' '$1 == "strata" && $3 == 1 && $9 != "NA" { if ($9 > m) m = $9 } END { print (m == "" ? "n/a" : m " ms") }' "$SCHEMA")"
    echo
    echo "### All schema runs"
    echo
    echo "| system | run | ok | tables/s | series/s | probe writes | probe p50 ms | probe p99 ms | probe max ms | stop s | start s | peak RSS MB | server CPU s |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s |", $1, $2, ($3 == 1 ? "yes" : "FAILED")
                  for (i = 4; i <= 13; i++) printf " %s |", ($i == "" ? "NA" : $i); printf "\n" }' "$SCHEMA"
}

queries_summary() {
    local set rows mb tag dir f
    echo "## Queries (TSBS devops)"
    echo
    echo "- data: TSBS cpu-only at 10 s from $START (seed $SEED), plus a mem table on the same hosts and times (Strata and DuckDB, for the join):"
    while IFS=$'\t' read -r set rows mb; do
        echo "  $(set_label "$set"): $rows cpu rows, $mb MB of line protocol"
    done <"$QSET_INFO"
    echo "- Strata: loaded ($BATCH lines per request, $WORKERS connections), then COMPACT DATABASE; InfluxDB: loaded, then its full compaction (waited for);"
    echo "  DuckDB: the same rows from CSV into a database file, in-process (node, @duckdb/node-api), threads=$DUCKDB_THREADS"
    echo "- per type: $QUERY_INSTANCES generated instances, $QUERY_WARMUP untimed then $QUERY_RUNS timed runs per system, the systems taking turns; median ms"
    echo "  (Strata and InfluxDB: HTTP request to last byte on a kept-alive connection; DuckDB: runAndReadAll); every answer compared with InfluxDB's (with Strata's when InfluxDB is left out)"
    echo
    while IFS=$'\t' read -r set _ _; do
        tag=$(set_tag "$set")
        dir="$WORK/queries-$tag"
        if [ -f "$dir/queries-$tag.md" ]; then
            cat "$dir/queries-$tag.md"
        else
            echo "### $(set_label "$set")"
            echo
            echo "FAILED before a report (see the log above)"
        fi
        echo
        for f in "$dir"/profile-*.txt; do
            [ -f "$f" ] || continue
            f=${f##*/profile-}
            echo "Strata profile, ${f%.txt} ($(head -n 1 "$dir/profile-$f")): $(tail -n +2 "$dir/profile-$f" | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
            echo
        done
    done <"$QSET_INFO"
}

# busy_others: processes other than the benchmark's using more than 20% of a core, as
# "name (pid) %cpu" (a fuzzer on one of the two cores changes what a figure means).
busy_others() {
    ps -eo pid=,pcpu=,comm= --sort=-pcpu | awk -v me=$$ '$2 > 20 && $1 != me { printf "%s%s %s%%", (n++ ? ", " : ""), $3, $2 }
        END { if (!n) printf "none" }'
}

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
SUMMARY="$WORK/summary.md"
{
    echo "# Strata benchmarks"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- machine: ${CPU_MODEL:-unknown CPU}, $(nproc) cores, ${MEM_GB} GB RAM, $(uname -sr)"
    echo "- mode: $MODE; systems:${RUN_SYSTEMS}${SKIPPED:+ (skipped:$SKIPPED)}; time: ingestion ${INGEST_SECS} s, storage ${STORAGE_SECS} s, schema ${SCHEMA_SECS} s, queries ${QUERIES_SECS} s"
    echo "- load while it ran: $(uptime | sed 's/.*load average/load average/'); other busy processes at the end: $(busy_others)"
    echo
    if do_ingest; then
        ingest_summary
        echo
    fi
    if do_storage; then
        storage_summary
        echo
    fi
    if do_schema; then
        schema_summary
        echo
    fi
    if do_queries; then queries_summary; fi
} >"$SUMMARY"

cp "$SUMMARY" "$OUT_DIR/results.md"
echo
cat "$SUMMARY"
echo
log "summary written to $OUT_DIR/results.md"
[ $FAILED = 0 ] || log "some runs FAILED (see above)"
exit $FAILED
