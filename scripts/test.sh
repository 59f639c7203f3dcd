#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test on SQLite and PostgreSQL.
# PostgreSQL must be reachable (default postgres://postgres@127.0.0.1:5432, override with
# LOOPDESK_TEST_PG); its tests fail, not skip, when it is not.
set -euo pipefail
cd "$(dirname "$0")/.."

pg="${LOOPDESK_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
if command -v pg_isready >/dev/null 2>&1; then
  host=$(echo "$pg" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/]+).*#\2#')
  if ! pg_isready -q -h "$host" -t 10; then
    echo "error: PostgreSQL is not reachable at $host; the PostgreSQL half of the suite cannot run" >&2
    exit 1
  fi
fi

# The survey end-to-end test drives a real headless Chromium; it fails (does not skip) without it.
if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
  else
    echo "warning: chromium and chromium-driver are missing and cannot be installed here; the browser test will fail" >&2
  fi
fi

# The mail tests receive through a real SMTP listener: aiosmtpd from PyPI, in a venv under target/.
if [ ! -x target/smtp-venv/bin/python ] || ! target/smtp-venv/bin/python -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv target/smtp-venv
  target/smtp-venv/bin/pip install --quiet --disable-pip-version-check "aiosmtpd==1.4.6"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# Property-based fuzzing of the HTTP API from its OpenAPI document (schemathesis from PyPI, in a
# venv under target/), on SQLite and PostgreSQL; see the script for what it checks.
./scripts/fuzz-api.sh
