#!/usr/bin/env bash
# Scheduler benchmark: run-now latency through the real worker, and N due schedules across K worker processes.
#   bench/Scheduler/run.sh [all|latency|throughput]
# Needs a PostgreSQL server (BENCH_SERVER_URL, default: a private one on port 5501 started here).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BENCH_SERVER_URL:-}" ]; then
  PG_FAST=1 scripts/pg.sh start /tmp/pg-bench-sched 5501
  export BENCH_SERVER_URL=postgres://postgres@127.0.0.1:5501/postgres
fi
dotnet build bench/Scheduler/Scheduler.Bench.csproj -c Release --artifacts-path /tmp/art-bench-sched -v q -nologo >/dev/null
export SENTINEL_DB_INIT_DIR="$PWD/db/init"
dotnet /tmp/art-bench-sched/bin/Scheduler.Bench/release/Sentinel.Bench.Scheduler.dll "${1:-all}"
