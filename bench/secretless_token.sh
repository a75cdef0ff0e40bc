#!/usr/bin/env bash
# private_key_jwt token requests per second on one worker, beside the secret path, measured
# like token_endpoint.sh (server on CPU 0, wrk -t2 -c64 on CPU 1) and in one sitting: the
# secret client (client_secret_post) and the private_key_jwt client alternate, A B A B.
# Each assertion request carries a fresh ES256 assertion (its own jti) pre-built by
# make_assertions.py, so the server does the whole check: ES256 verification, the claims, the
# jti recorded in the store.
#
# Usage: bench/secretless_token.sh    Env: PORT (8898), DURATION (5), PAIRS (2), BODIES (60000)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8898}
DURATION=${DURATION:-5}
PAIRS=${PAIRS:-2}
BODIES=${BODIES:-60000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

DATA=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
export GATEHOUSE_DATA_DIR=$DATA GATEHOUSE_PORT=$PORT GATEHOUSE_HOST=127.0.0.1
DEMO=$(.venv/bin/gatehouse demo --json)
field() { .venv/bin/python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
URL=$(field "$DEMO" token_url)
ISSUER=$(field "$DEMO" issuer)
SECRET_BODY="grant_type=client_credentials&client_id=$(field "$DEMO" client_id)&client_secret=$(field "$DEMO" client_secret)"

openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt >"$DATA/key.pem"
.venv/bin/python - "$DATA/key.pem" >"$DATA/jwks.json" <<'PY'
import json, sys
from joserfc.jwk import ECKey
key = ECKey.import_key(open(sys.argv[1]).read())
print(json.dumps({"keys": [{**key.as_dict(private=False), "kid": "bench"}]}))
PY
CREATED=$(.venv/bin/gatehouse clients create --customer demo --name bench-signer --role viewer \
  --auth-method private_key_jwt --jwks "$DATA/jwks.json" --json)
CLIENT_ID=$(field "$CREATED" client_id)
.venv/bin/python bench/make_assertions.py "$DATA/key.pem" "$CLIENT_ID" "$ISSUER" "$BODIES" "$DATA/bodies.txt"

taskset -c 0 .venv/bin/gatehouse serve --workers 1 --log-level warning >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -fs -X POST "$URL" -d "$(head -n1 "$DATA/bodies.txt")" >/dev/null \
  || { echo "assertion request failed"; cat "$DATA/server.log"; exit 1; }
sed -i 1d "$DATA/bodies.txt"
split -n "l/$PAIRS" -d "$DATA/bodies.txt" "$DATA/bodies."  # fresh assertions for every run

run() {  # run LABEL [BODIES_FILE]: one wrk run; the secret body or the assertion bodies
  local lua=bench/wrk-client-credentials.lua
  [ "$1" = private_key_jwt ] && lua=bench/wrk-assertions.lua
  WRK_BODY=$SECRET_BODY WRK_BODIES=${2:-} taskset -c 1 \
    wrk -t2 -c64 -d"${DURATION}s" -s "$lua" "$URL" | grep '^WRKJSON' | cut -c9- \
    | .venv/bin/python -c '
import json, sys
r = json.loads(sys.stdin.read()); label = sys.argv[1]
bad = r["err_status"] + r["err_connect"] + r["err_read"] + r["err_timeout"]
rps, p50, p99 = r["rps"], r["p50_ms"], r["p99_ms"]
print(f"{label:16} {rps:8.0f} tokens/s  p50 {p50:.1f} ms  p99 {p99:.1f} ms  non-2xx/errors {bad}")
' "$1"
}
WRK_BODY=$SECRET_BODY taskset -c 1 wrk -t2 -c64 -d2s -s bench/wrk-client-credentials.lua "$URL" >/dev/null
for i in $(seq 0 $((PAIRS - 1))); do
  run client_secret
  run private_key_jwt "$DATA/bodies.$(printf '%02d' "$i")"
done
