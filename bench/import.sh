#!/usr/bin/env bash
# Times `loopdesk import customers` of a 10,000-row CSV on SQLite and on PostgreSQL (release build).
# Usage: bench/import.sh [ROWS]   (PostgreSQL at postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000}"
cargo build --release -p loopdesk --locked --quiet
bin=target/release/loopdesk
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS loopdesk_bench_import" >/dev/null 2>&1 || true' EXIT
python3 - "$rows" > "$work/customers.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("客户编号,客户名称,客户类别,区域,地址,电话,电子邮件,标签,新客户")
for i in range(n):
    print(f"K{i:06},测试客户{i}号有限公司,{'经销商' if i % 3 == 0 else 'end_user'},{['华东','华南','华北'][i % 3]},"
          f"浙江省杭州市西湖区文三路{i}号,0571-{10000000 + i},buyer{i}@example.cn,重点;长期,{'是' if i % 2 else '否'}")
PY
echo "| engine | rows | seconds | rows/s |"
echo "|---|---|---|---|"
run() {
  local name=$1 url=$2
  LOOPDESK_DATABASE_URL="$url" LOOPDESK_LOG=warn "$bin" migrate >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  LOOPDESK_DATABASE_URL="$url" LOOPDESK_LOG=warn "$bin" import customers "$work/customers.csv" >/dev/null
  t1=$(date +%s.%N)
  python3 -c "d=$t1-$t0; print(f'| $name | $rows | {d:.2f} | {$rows/d:.0f} |')"
}
run sqlite "sqlite://$work/bench.db"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS loopdesk_bench_import" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE loopdesk_bench_import" >/dev/null
run postgres "postgres://postgres@127.0.0.1:5432/loopdesk_bench_import"
