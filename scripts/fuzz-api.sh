#!/usr/bin/env bash
# Property-based API fuzzing (issue #7 item 5): schemathesis, generating requests from the real
# server's /api/openapi.json, against the real binary with the demo data, on SQLite and PostgreSQL.
#
#   1. Positive and negative requests for every operation: no response may be a 5xx, and
#      responses must match the documented status codes, content types and schemas.
#   2. Negative requests only (outside the schema): each must be refused, and the length of the
#      audit trail — every change to every record appends to it — must not change.
#
# Usage: scripts/fuzz-api.sh [sqlite|postgres ...]   (default: both)
# FUZZ_EXAMPLES (default 12) bounds the generated requests per operation and phase; FUZZ_SEED (default 7)
# picks the generated requests, and any seed must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
examples="${FUZZ_EXAMPLES:-12}"
venv=target/fuzz-venv
st="$venv/bin/schemathesis"
pg="${LOOPDESK_TEST_PG:-postgres://postgres@127.0.0.1:5432}"

if ! "$st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The binary exactly as the test run built it (same features, so no second build after the tests).
cargo test --workspace --locked --no-run --quiet
bin=target/debug/loopdesk

work=$(mktemp -d)
server_pid=""
pg_db=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql "$pg/postgres" -q -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# The audit trail's length, from `loopdesk audit verify` (which also checks the hash chain).
audit_len() {
  "$bin" audit verify 2>/dev/null | sed -nE 's/^audit trail intact: ([0-9]+) events verified.*/\1/p'
}

# One schemathesis phase. schemathesis itself has crashed here now and then (a CPython "AST
# constructor recursion depth mismatch" inside its coverage phase) with every generated case
# passed; such a run found nothing, so the phase runs once more. A finding is never retried.
st_run() {
  local log="$work/st.log" rc=0
  "$st" run "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  if [ "$rc" -ne 0 ] && grep -q 'Runtime Error' "$log" && grep -qE '^ +[0-9]+ generated, [0-9]+ passed$' "$log"; then
    echo "schemathesis crashed without a finding; running this phase once more" >&2
    "$st" run "$@"
    return
  fi
  return "$rc"
}

fuzz_engine() {
  local engine=$1 url
  case "$engine" in
    sqlite) url="sqlite://$work/$engine/loopdesk.db" ;;
    postgres)
      pg_db="loopdesk_fuzz_$$_$RANDOM"
      psql "$pg/postgres" -q -c "CREATE DATABASE $pg_db" >/dev/null
      url="$pg/$pg_db"
      ;;
    *) echo "unknown engine $engine" >&2; return 2 ;;
  esac
  mkdir -p "$work/$engine"
  export LOOPDESK_DATABASE_URL="$url" LOOPDESK_DATA_DIR="$work/$engine" LOOPDESK_LOG=warn
  "$bin" demo >/dev/null
  LOOPDESK_LISTEN=127.0.0.1:0 "$bin" serve >"$work/$engine/banner" 2>"$work/$engine/server.log" &
  server_pid=$!
  base=""
  for _ in $(seq 1 200); do
    base=$(grep -o 'http://[0-9.:]*' "$work/$engine/banner" | head -n1 || true)
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$engine/server.log" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$base" ] || { echo "the server did not start" >&2; return 1; }
  token=$(curl -sf -H 'content-type: application/json' -d '{"username":"admin","password":"loopdesk-demo"}' \
    "$base/api/v1/auth/token" | json_field '["token"]')

  # Revoking tokens would end the run's own authority, so that operation is left out.
  local common=(-H "Authorization: Bearer $token" --max-examples "$examples"
    --seed "${FUZZ_SEED:-7}" --no-color --exclude-path-regex '/auth/tokens/' --suppress-health-check all
    --request-timeout 30 --workers 2)

  # First on the untouched demo data, requests outside the schema only.
  echo "== schemathesis on $engine: requests outside the schema are refused and change nothing"
  local before after
  before=$(audit_len)
  [ -n "$before" ] || { echo "error: audit verify failed before fuzzing on $engine" >&2; return 1; }
  st_run "$base/api/openapi.json" "${common[@]}" --mode negative \
    --checks not_a_server_error,negative_data_rejection
  after=$(audit_len)
  if [ "$before" != "$after" ]; then
    echo "error: requests outside the schema changed data on $engine: the audit trail went from $before to ${after:-a broken chain}" >&2
    return 1
  fi
  echo "audit trail unchanged on $engine ($before events)"

  echo "== schemathesis on $engine: valid and invalid requests, no 5xx, responses as documented"
  st_run "$base/api/openapi.json" "${common[@]}" --mode all \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  [ -n "$(audit_len)" ] || { echo "error: the audit trail is broken after fuzzing on $engine" >&2; return 1; }

  if grep -q 'panicked' "$work/$engine/server.log"; then
    echo "error: the server panicked on $engine:" >&2
    grep -A3 'panicked' "$work/$engine/server.log" >&2
    return 1
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  if [ -n "$pg_db" ]; then psql "$pg/postgres" -q -c "DROP DATABASE $pg_db WITH (FORCE)" >/dev/null; pg_db=""; fi
}

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
for e in "${engines[@]}"; do fuzz_engine "$e"; done
echo "api fuzzing passed on: ${engines[*]}"
echo "fuzz: ${#engines[@]} passed, 0 failed"
