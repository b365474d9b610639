#!/bin/sh
# Installs the Debian packages Strata needs to build, test and benchmark.
# Used by the README's first command and by .ci/run, so both see the same set.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds the peers the benchmarks compare against)
set -eu

PKGS="build-essential pkg-config
  libmicrohttpd-dev libjansson-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libbz2-dev liblzma-dev libbrotli-dev
  libxxhash-dev libpcre2-dev libssl-dev libroaring-dev libdouble-conversion-dev libargon2-dev
  libprotobuf-c-dev protobuf-c-compiler libgeos-dev
  libcmocka-dev python3 python3-pytest python3-requests python3-snappy prometheus
  gzip zstd lz4 brotli xz-utils
  collectd-core python3-influxdb influxdb-client"

# node and npm, for the InfluxDB client tests (and the benchmarks), may come from another nodejs
# package that bundles npm (and conflicts with Debian's npm): only when there is no npm at all
# are Debian's asked for.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS influxdb victoria-metrics curl linux-perf"
fi

# DuckDB for the query benchmark and the Parquet tests: the npm package (a prebuilt library
# inside it), installed under build/bench/duckdb (found by bench/run.sh) and build/test/duckdb
# (tests/http/test_parquet.py), git-ignored. Its versions carry an "-r.N" suffix that npm ranges
# do not match, hence the exact version.
DUCKDB_NPM="@duckdb/node-api@1.5.6-r.1"
duckdb_npm() {
    dir="$(cd "$(dirname "$0")/.." && pwd)/build/${1:-bench}/duckdb"
    [ -d "$dir/node_modules/@duckdb/node-api" ] && return 0
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$DUCKDB_NPM"
}

# InfluxDB's JavaScript clients for tests/http/test_influx_clients.py (node-influx and the 2.x
# client), under build/ (git-ignored), exact versions so every machine tests the same code.
INFLUX_NPM="influx@5.12.0 @influxdata/influxdb-client@1.35.0"
influx_npm() {
    dir="$(cd "$(dirname "$0")/.." && pwd)/build/test/influx"
    [ -d "$dir/node_modules/influx" ] && [ -d "$dir/node_modules/@influxdata/influxdb-client" ] &&
        return 0
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    npm install --silent --no-audit --no-fund --prefix "$dir" $INFLUX_NPM
}

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    influx_npm
    duckdb_npm test
    if [ "${1:-}" = "--bench" ]; then duckdb_npm; fi
    exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
if [ "${1:-}" = "--bench" ]; then duckdb_npm; fi
influx_npm
duckdb_npm test
