#!/usr/bin/env bash
# One command for issue #7's benchmark: builds in release mode, loads N generated cases
# (`loopdesk demo --cases N`, default 1,000,000) into a fresh SQLite file and a fresh, uniquely
# named PostgreSQL database, starts the real server on each, drives it over HTTP with
# `loopdesk-bench` (intake with 64 clients, case list, case page, yearly report, the engine's raw
# limits, peak RSS) and prints one Markdown table. The PostgreSQL database is dropped afterwards.
#
# Usage: bench/run.sh [N] [SECONDS_PER_MEASUREMENT]     e.g. bench/run.sh 100000 5 for a quick run
# PostgreSQL: LOOPDESK_BENCH_PG (default postgres://postgres@127.0.0.1:5432), a role that may create databases.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
secs="${2:-10}"
pg="${LOOPDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
# LOOPDESK_BENCH_NO_BUILD=1 reuses the binaries already in target/release.
[ -n "${LOOPDESK_BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet -p loopdesk -p loopdesk-bench
bin=target/release/loopdesk
bench=target/release/loopdesk-bench
work=$(mktemp -d)
pgdb="loopdesk_bench_$(date +%s)_$$"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export LOOPDESK_LOG=warn
# The escalation scheduler would spend the run recording breaches of the generated clocks.
export LOOPDESK_ESCALATION_INTERVAL_SECS=0
export LOOPDESK_DATA_DIR="$work/data"

run() {
  local engine=$1 url=$2 raw=$3
  export LOOPDESK_DATABASE_URL="$url"
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" demo --cases "$n" >"$work/$engine-demo.log"
  t1=$(date +%s.%N)
  local load_secs
  load_secs=$(python3 -c "print(f'{$t1-$t0:.1f}')")
  local token
  token=$("$bin" token create admin --name bench 2>/dev/null)
  LOOPDESK_LISTEN=127.0.0.1:0 "$bin" serve >"$work/$engine-serve.log" 2>&1 &
  server=$!
  local addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -o 'http://[0-9.:]*' "$work/$engine-serve.log" | head -n1 || true)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/$engine-serve.log" >&2; echo "the $engine server did not start" >&2; exit 1; }
  "$bench" --engine "$engine" --url "$addr" --token "$token" --pid "$server" --raw "$raw" \
    --loaded "$n" --load-secs "$load_secs" --secs "$secs" >"$work/$engine.md"
  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
}

echo "Loopdesk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "SQLite: WAL, synchronous=FULL. PostgreSQL: $(psql "$pg/postgres" -tAc 'SHOW server_version'), synchronous_commit=$(psql "$pg/postgres" -tAc 'SHOW synchronous_commit'), fsync=$(psql "$pg/postgres" -tAc 'SHOW fsync')."
echo "$n generated cases per engine; each measurement runs ${secs} s."
echo
run sqlite "sqlite://$work/loopdesk.db" "$work/raw.db"
psql "$pg/postgres" -qc "CREATE DATABASE $pgdb" >/dev/null
run postgres "$pg/$pgdb" "$pg/$pgdb"
cat "$work/sqlite.md"
tail -n +3 "$work/postgres.md"
