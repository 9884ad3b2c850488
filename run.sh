#!/usr/bin/env bash
# Brings up the whole product locally with the demo tenant:
# private PostgreSQL under .data/, the tenant simulator (demo profile), the worker and the web.
# Ctrl-C stops everything this script started. Running it again reuses .data/ and starts in seconds.
#
# Ports and paths can be changed with environment variables (the end-to-end test uses free ports):
#   SENTINEL_DATA_DIR (.data)  SENTINEL_PG_PORT (5433)  SENTINEL_SIM_PORT (5443)
#   SENTINEL_WORKER_PORT (8081)  SENTINEL_WEB_PORT (3000)  SENTINEL_CONFIGURATION (Release)
#   SIM_MUTATE_PER_TICK (5: random tenant changes per tick, so later ingests show deltas)
#   SIM_RU_BUDGET (60000: the demo app's RU per minute; the simulator enforces it, the seeded ingest job draws from it)
#   SENTINEL_SEED_INGEST_CONFIG (the seeded graph_ingest job's config; default: the demo RU budget above)
#   SENTINEL_SKIP_BUILD (0; 1 = use the binaries already built for SENTINEL_CONFIGURATION)
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

data=${SENTINEL_DATA_DIR:-$root/.data}
mkdir -p "$data/logs"
data=$(cd "$data" && pwd)
pg_port=${SENTINEL_PG_PORT:-5433}
sim_port=${SENTINEL_SIM_PORT:-5443}
worker_port=${SENTINEL_WORKER_PORT:-8081}
demo_ru_per_minute=${SIM_RU_BUDGET:-60000}
web_port=${SENTINEL_WEB_PORT:-3000}
config=${SENTINEL_CONFIGURATION:-Release}
logs=$data/logs

command -v dotnet >/dev/null 2>&1 || { echo "error: the .NET 10 SDK (dotnet) is required; or use 'docker compose --profile demo up --build'" >&2; exit 1; }

pids=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return; stopping=1
  echo; echo "run.sh: stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # One 10 s deadline for all of them together (not 10 s each), then SIGKILL whatever is left.
  for _ in $(seq 1 100); do
    alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  "$root/scripts/pg.sh" stop "$data/pg"
  echo "run.sh: stopped"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

: >"$logs/build.log"
if [ "${SENTINEL_SKIP_BUILD:-0}" != 1 ]; then
  echo "run.sh: building ($config)..."
  for project in GraphSimulator Worker Web; do
    dotnet build "$root/src/$project/$project.csproj" -c "$config" -nologo -v quiet >>"$logs/build.log" 2>&1 \
      || { tail -30 "$logs/build.log" >&2; echo "error: build failed, see $logs/build.log" >&2; exit 1; }
  done
fi

echo "run.sh: starting PostgreSQL on 127.0.0.1:$pg_port (data in $data/pg)..."
"$root/scripts/pg.sh" start "$data/pg" "$pg_port"
psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'sentinel'" | grep -q 1 \
  || psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qc "CREATE DATABASE sentinel" >/dev/null

# Demo identity: one app registration shared by web, worker and the simulator. The secret is generated once
# per machine into .data/demo.env (never committed). A .env in the repo root overrides these.
if [ ! -f "$data/demo.env" ]; then
  umask 077
  cat >"$data/demo.env" <<ENV
ENTRA_TENANT_ID=$(python3 -c 'import uuid; print(uuid.uuid4())')
ENTRA_CLIENT_ID=$(python3 -c 'import uuid; print(uuid.uuid4())')
ENTRA_CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
ENV
fi
set -a; . "$data/demo.env"; set +a

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/sentinel"
export ENTRA_INSTANCE="https://127.0.0.1:$sim_port/"
export GRAPH_BASE_URL="https://127.0.0.1:$sim_port/v1.0"
# The simulator keeps its CA key in $data/sim and publishes the CA certificate alone to $data/sim-ca.
export SENTINEL_CA_FILE="$data/sim-ca/ca.pem"
export WORKER_API_URL="http://127.0.0.1:$worker_port"
export WEB_PUBLIC_URL="http://localhost:$web_port"
export SCHEDULER_POLL_SECONDS=${SCHEDULER_POLL_SECONDS:-5}
export SENTINEL_SEED_DEMO_JOBS=1

# Data Protection keys (sessions, token cache) encrypted at rest with a demo certificate generated once.
if [ -z "${WEB_DATA_PROTECTION_CERT:-}" ]; then
  if [ ! -f "$data/dataprotection/cert.pem" ] && command -v openssl >/dev/null 2>&1; then
    mkdir -p "$data/dataprotection"
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Princeton Sentinel demo data protection" \
      -keyout "$data/dataprotection/key.pem" -out "$data/dataprotection/cert.pem" >/dev/null 2>&1)
  fi
  if [ -f "$data/dataprotection/cert.pem" ]; then
    export WEB_DATA_PROTECTION_CERT="$data/dataprotection/cert.pem" WEB_DATA_PROTECTION_KEY="$data/dataprotection/key.pem"
  fi
fi

bin() { echo "$root/src/$1/bin/$config/net10.0/$2"; }

wait_http() { # url name pid
  for _ in $(seq 1 240); do
    if curl -fsS --max-time 2 ${CURL_CA:+--cacert "$CURL_CA"} "$1" >/dev/null 2>&1; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "error: $2 exited; see $logs/$2.log" >&2; tail -20 "$logs/$2.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "error: $2 did not answer at $1; see $logs/$2.log" >&2; exit 1
}

if [ -f "$root/src/GraphSimulator/GraphSimulator.csproj" ]; then
  echo "run.sh: starting the tenant simulator (demo profile) on https://127.0.0.1:$sim_port ..."
  "$(bin GraphSimulator Sentinel.GraphSimulator)" --profile demo --seed 42 --port "$sim_port" --cert-dir "$data/sim" \
    --ca-export-dir "$data/sim-ca" --mutate-per-tick "${SIM_MUTATE_PER_TICK:-5}" --ru-budget "$demo_ru_per_minute" >"$logs/simulator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do [ -f "$SENTINEL_CA_FILE" ] && break; sleep 0.25; done
  CURL_CA="$SENTINEL_CA_FILE" wait_http "https://127.0.0.1:$sim_port/$ENTRA_TENANT_ID/v2.0/.well-known/openid-configuration" simulator "${pids[-1]}"
fi

# The demo tenant's app budget: the simulator answers 429 above it, and the seeded ingest job draws from the same
# figure (a real tenant's budget follows its licence count: set tenant_licences / graph_ru_per_* on the job instead).
seed_default="{\"graph_ru_per_minute\": $demo_ru_per_minute, \"graph_ru_per_day\": $((demo_ru_per_minute * 1440))}"
export SENTINEL_SEED_INGEST_CONFIG="${SENTINEL_SEED_INGEST_CONFIG:-$seed_default}"

echo "run.sh: starting the worker on http://127.0.0.1:$worker_port ..."
ASPNETCORE_URLS="http://127.0.0.1:$worker_port" "$(bin Worker Sentinel.Worker)" serve >"$logs/worker.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$worker_port/health" worker "${pids[-1]}"

echo "run.sh: starting the web on http://localhost:$web_port ..."
# The web's content root (views, wwwroot) is its project folder.
(cd "$root/src/Web" && ASPNETCORE_URLS="http://127.0.0.1:$web_port" exec "$(bin Web Sentinel.Web)") >"$logs/web.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$web_port/healthz" web "${pids[-1]}"

cat <<MSG

  Princeton Sentinel is running.

    Dashboard   http://localhost:$web_port
    Sign in as  admin@contoso.onmicrosoft.com     (Sentinel.Admin: everything)
                operator@contoso.onmicrosoft.com  (Sentinel.Operator: + run-now, pause, resume, cancel, live drill-down)
                reader@contoso.onmicrosoft.com    (Sentinel.Reader: dashboards, inventory, runs)
                norole@contoso.onmicrosoft.com    (no app role: sees the 403 page)
    Tenant      demo tenant simulator at https://127.0.0.1:$sim_port (changes a little every tick)
    Ingest      the seeded graph_ingest job runs shortly after startup, then every 5 minutes
    Logs        $logs/{worker,web,simulator}.log
    Stop        Ctrl-C (stops every process this script started, PostgreSQL included)

MSG

# Exit (and stop everything) as soon as any child dies.
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "run.sh: a process exited unexpectedly; see $logs" >&2; exit 1; fi
  done
  sleep 1
done
