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
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
make_sign_body

round() {  # binary → requests per second
    rm -rf "$WORK/data"
    CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn "$1" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
        > "$WORK/certus.log" 2>&1 &
    local pid=$!
    wait_healthy 50
    make_bench_role
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
