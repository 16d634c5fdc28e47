#!/usr/bin/env bash
# A/B of the sign-CSR load (P-256, every certificate stored) between two certus binaries, in
# alternating rounds on fresh data directories, so drift of the machine hits both alike.
#   bench/ab.sh A_BINARY B_BINARY [ROUNDS]      DURATION (seconds per round, default 10), CONNECTIONS (32)
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-3}
command -v wrk >/dev/null || { echo "bench/ab.sh needs wrk (bench/run.sh installs it)" >&2; exit 1; }
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"; export BENCH_DIR
DURATION=${DURATION:-10}; CONNECTIONS=${CONNECTIONS:-32}
TOKEN=bench-bootstrap-token-0123456789; export TOKEN
PORT=18190; URL="http://127.0.0.1:$PORT"
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/leaf.key" \
    -subj /CN=svc.bench.test -addext subjectAltName=DNS:svc.bench.test -out "$WORK/leaf.csr" 2>/dev/null
jq -n --rawfile csr "$WORK/leaf.csr" '{csr_pem: $csr, ttl: "24h"}' > "$WORK/sign.json"
api() { curl -sf -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" ${3:+-d "$3"}; }

round() {  # binary → requests per second
    rm -rf "$WORK/data"
    CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn "$1" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
        > "$WORK/certus.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do curl -sf "$URL/v1/health" >/dev/null && break; sleep 0.1; done
    local root int
    root=$(api POST /v1/pki/ca '{"name":"r","common_name":"Bench Root","ca_type":"root","key_type":"ec","key_size":256}' | jq -r .id)
    int=$(api POST /v1/pki/ca '{"name":"i","common_name":"Bench CA","ca_type":"intermediate","parent_ca_id":"'"$root"'","key_type":"ec","key_size":256}' | jq -r .id)
    api POST /v1/pki/roles '{"name":"bench","ca_id":"'"$int"'","allowed_domains":["bench.test"],"allow_subdomains":true,"key_type":"ec","key_bits":256}' >/dev/null
    BODY_FILE="$WORK/sign.json" wrk -t"$(nproc)" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_DIR/post.lua" \
        "$URL/v1/pki/sign/bench" | awk '/^RESULT/ {for (i=2;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]}
            print v["rps"] (v["failed"] > 0 ? " (" v["failed"] " failed)" : "")}'
    kill -TERM "$pid"; wait "$pid" || true
}

# Odd rounds run A first, even rounds B first.
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then a=$(round "$A"); b=$(round "$B"); else b=$(round "$B"); a=$(round "$A"); fi
    echo "round $r: A $a req/s, B $b req/s"
done
