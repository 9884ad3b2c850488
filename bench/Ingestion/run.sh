#!/usr/bin/env bash
# Ingestion benchmark: large profile (1M drive items) served by the simulator in its own process, the ingestion
# code (this bench) in another, against a local PostgreSQL.
#   PG_FAST=1 scripts/pg.sh start /tmp/pg-ingest 5503
#   bench/Ingestion/run.sh            # env: BENCH_DATABASE_URL, SIM_PROFILE (large), SIM_PORT (5601), BENCH_PERMISSION_FILES,
#                                     #      BENCH_WARM_SIMULATOR (1: warm the simulator's code before measuring; 0: cold)
set -euo pipefail
cd "$(dirname "$0")/../.."
ART=${ART:-/tmp/art-ingest-bench}
PROFILE=${SIM_PROFILE:-large}
PORT=${SIM_PORT:-5601}
CERTS=${SIM_CERT_DIR:-/tmp/sentinel-bench-sim}
export BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5503/postgres}

dotnet build src/GraphSimulator/GraphSimulator.csproj -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
dotnet build bench/Ingestion/Ingestion.Bench.csproj -c Release --artifacts-path "$ART" -v q -nologo >/dev/null

dotnet "$ART/bin/GraphSimulator/release/Sentinel.GraphSimulator.dll" --profile "$PROFILE" --seed 42 --port "$PORT" --cert-dir "$CERTS" \
  > /tmp/bench-sim.log 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true; sleep 1; kill -9 $SIM 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 600); do
  if curl -fsS --cacert "$CERTS/ca.pem" "https://127.0.0.1:$PORT/_sim/stats" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
export SIM_BASE_URL="https://127.0.0.1:$PORT" SIM_CA_FILE="$CERTS/ca.pem"
# The simulator stands in for Graph, which is always warm: its JIT runs before the measurement (BENCH_WARM_SIMULATOR=0 skips it).
if [ "${BENCH_WARM_SIMULATOR:-1}" != 0 ]; then
  BENCH_MODE=warm-simulator dotnet "$ART/bin/Ingestion.Bench/release/Sentinel.Bench.dll"
fi
/usr/bin/time -v dotnet "$ART/bin/Ingestion.Bench/release/Sentinel.Bench.dll" 2> /tmp/bench-ingest.time
grep -E "Maximum resident|Elapsed" /tmp/bench-ingest.time || true
