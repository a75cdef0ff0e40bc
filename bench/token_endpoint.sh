#!/usr/bin/env bash
# Token endpoint throughput, measured the way ../shared/reference/README.md measured the peers:
# server pinned to CPU 0 (one worker), wrk pinned to CPU 1 with 2 threads and 64 connections,
# a 3 s warm-up, then RUNS runs of DURATION seconds; prints each run and the median.
#
# Usage: bench/token_endpoint.sh [AUTH] where AUTH is post (client_secret_post, default) or basic.
# Env: PORT (8899), DURATION (10), RUNS (3), WORKERS (1), SERVER_CPUS (0), WRK_CPUS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
AUTH=${1:-post}
PORT=${PORT:-8899}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-1}
SERVER_CPUS=${SERVER_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

DATA=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
export GATEHOUSE_DATA_DIR=$DATA GATEHOUSE_PORT=$PORT GATEHOUSE_HOST=127.0.0.1
DEMO=$(.venv/bin/gatehouse demo --json)
field() { .venv/bin/python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$DEMO" "$1"; }
CLIENT_ID=$(field client_id)
SECRET=$(field client_secret)
URL=$(field token_url)

taskset -c "$SERVER_CPUS" .venv/bin/gatehouse serve --workers "$WORKERS" --log-level warning \
  >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

if [ "$AUTH" = basic ]; then
  export WRK_BODY="grant_type=client_credentials"
  WRK_AUTH="Basic $(printf '%s:%s' "$CLIENT_ID" "$SECRET" | base64 -w0)"
  export WRK_AUTH
else
  export WRK_BODY="grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$SECRET"
fi
LUA=bench/wrk-client-credentials.lua
curl -fs -X POST "$URL" -H 'Content-Type: application/x-www-form-urlencoded' ${WRK_AUTH:+-H "Authorization: $WRK_AUTH"} \
  -d "$WRK_BODY" >/dev/null || { echo "token request failed"; cat "$DATA/server.log"; exit 1; }

taskset -c "$WRK_CPUS" wrk -t2 -c64 -d3s -s "$LUA" "$URL" >/dev/null
results=()
for i in $(seq 1 "$RUNS"); do
  line=$(taskset -c "$WRK_CPUS" wrk -t2 -c64 -d"${DURATION}s" -s "$LUA" "$URL" | grep '^WRKJSON' | cut -c9-)
  echo "run $i: $line"
  results+=("$line")
done
printf '%s\n' "${results[@]}" | .venv/bin/python -c '
import json, statistics, sys
runs = [json.loads(line) for line in sys.stdin if line.strip()]
errors = sum(r["err_status"] + r["err_connect"] + r["err_read"] + r["err_timeout"] for r in runs)
mid = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
rps, p50, p99 = mid["rps"], mid["p50_ms"], mid["p99_ms"]
print(f"median: {rps:.0f} tokens/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, non-2xx/errors {errors}")
'
