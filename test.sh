#!/usr/bin/env bash
# Runs every test of the solution against a real PostgreSQL.
# Uses SENTINEL_TEST_DATABASE_URL when set; otherwise starts a throwaway cluster and removes it afterwards.
# Ends with the summary line "N passed, N failed, N skipped" and exits with the tests' status.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then scripts/pg.sh stop "$pgdir"; rm -rf "$pgdir"; fi
}
trap cleanup EXIT INT TERM

if [ -z "${SENTINEL_TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/sentinel-test-pg.XXXXXX)
  port=$(free_port)
  PG_FAST=1 scripts/pg.sh start "$pgdir" "$port" || exit 1
  export SENTINEL_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "test.sh: throwaway PostgreSQL on 127.0.0.1:$port"
fi

log=$(mktemp /tmp/sentinel-test-log.XXXXXX)
dotnet build Sentinel.sln -c Debug -nologo -v quiet 2>&1 | tee "$log.build" | grep -E "error|Warn|Error" | grep -v "0 Error" || true
if ! grep -q "Build succeeded" "$log.build"; then
  cat "$log.build" | tail -30
  echo "0 passed, 1 failed (build failed)"
  exit 1
fi
dotnet test Sentinel.sln --no-build -c Debug -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

sum() { grep -oE "$1: +[0-9]+" "$log" | grep -oE '[0-9]+' | paste -sd+ | bc 2>/dev/null || echo 0; }
passed=$(sum Passed); failed=$(sum Failed); skipped=$(sum Skipped)
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log" "$log.build"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
