#!/usr/bin/env bash
# CPU work per request, counted in instructions (valgrind's callgrind), for one or two certus
# binaries: the sign-CSR path (P-256, every certificate stored) and OCSP with a nonce. Unlike
# requests per second, the count does not move with the host's speed (which varies by 2x here),
# so it shows what a change to the code did. Requests are sent one at a time on one keep-alive
# connection, so each issuance is its own group commit (the writer's share is larger than under
# load), and crypto runs on valgrind's CPU (without the ADX code paths, so it counts more than
# it costs natively). Compare binaries with it; do not read it as a share of real time.
#   bench/instructions.sh [BINARY_A [BINARY_B]]     (default: a fresh release build)
#   REQUESTS (measured per path, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200}
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind
fi
if (($# == 0)); then
    cargo build --release -q -p certus
    set -- target/release/certus
fi

WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
TOKEN=bench-bootstrap-token-0123456789
PORT=18185; URL="http://127.0.0.1:$PORT"
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
make_sign_body

send() {  # PATH BODY_FILE CONTENT_TYPE STATUS COUNT: requests one after another on one connection
    python3 - "$PORT" "$@" "$TOKEN" <<'PY'
import http.client, sys
port, path, body_file, content_type, status, count, token = sys.argv[1:]
body = open(body_file, "rb").read()
conn = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(int(count)):
    conn.request("POST", path, body, {"Authorization": f"Bearer {token}", "Content-Type": content_type})
    response = conn.getresponse()
    response.read()
    if response.status != int(status):
        sys.exit(f"{path}: {response.status}")
PY
}
counted() {  # PID PATH BODY_FILE CONTENT_TYPE STATUS → instructions per request
    local pid=$1; shift
    send "$@" 20                                   # warm-up: caches, the OCSP responder, statements
    callgrind_control -z "$pid" >/dev/null 2>&1
    send "$@" "$REQUESTS"
    callgrind_control -d "$pid" >/dev/null 2>&1
    local dump; dump=$(ls -t "$WORK"/callgrind.out.* | head -1)
    awk -v n="$REQUESTS" '/^totals:/ {printf "%.0f", $2 / n}' "$dump"
}
measure() {  # BINARY → "sign ocsp"
    rm -rf "$WORK/data" "$WORK"/callgrind.out.*
    CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" \
        "$1" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" > "$WORK/certus.log" 2>&1 &
    local pid=$!
    wait_healthy 300
    make_bench_role
    api POST /v1/pki/issue/bench '{"common_name":"ocsp.bench.test"}' > "$WORK/leaf.json"
    jq -r .certificate "$WORK/leaf.json" > "$WORK/ocsp-leaf.pem"; jq -r '.ca_chain[0]' "$WORK/leaf.json" > "$WORK/int.pem"
    openssl ocsp -issuer "$WORK/int.pem" -cert "$WORK/ocsp-leaf.pem" -reqout "$WORK/ocsp.der" >/dev/null 2>&1
    local sign ocsp
    sign=$(counted "$pid" /v1/pki/sign/bench "$WORK/sign.json" application/json 201)
    ocsp=$(counted "$pid" /ocsp "$WORK/ocsp.der" application/ocsp-request 200)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$sign $ocsp"
}

read -r A_SIGN A_OCSP < <(measure "$1")
echo "| instructions per request | $1 |${2:+ $2 | B/A |}"
echo "|---|---|${2:+---|---|}"
if (($# > 1)); then
    read -r B_SIGN B_OCSP < <(measure "$2")
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; }
    echo "| sign P-256 CSR, stored | $A_SIGN | $B_SIGN | $(ratio "$A_SIGN" "$B_SIGN") |"
    echo "| OCSP with nonce | $A_OCSP | $B_OCSP | $(ratio "$A_OCSP" "$B_OCSP") |"
else
    echo "| sign P-256 CSR, stored | $A_SIGN |"
    echo "| OCSP with nonce | $A_OCSP |"
fi
