#!/bin/sh
# Installs the Debian packages Strata needs to build, test and benchmark.
# Used by the README's first command and by .ci/run, so both see the same set.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds the peers the benchmarks compare against)
set -eu

PKGS="build-essential pkg-config
  libmicrohttpd-dev libjansson-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libbz2-dev libbrotli-dev
  libxxhash-dev libpcre2-dev libroaring-dev
  libcmocka-dev python3 python3-pytest python3-requests
  gzip zstd lz4 brotli"

if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS influxdb victoria-metrics curl"
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
