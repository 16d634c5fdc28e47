#!/usr/bin/env bash
# Certus benchmark: builds release, starts Certus on the embedded default (SQLite), and measures
# it side by side with cfssl serve (sign, newcert) and the openssl speed ceiling on this machine;
# the sign load also runs against a second Certus on a throwaway local PostgreSQL. Prints a
# markdown table; writes it to bench/results/latest.md.
#   DURATION (seconds per load run, default 10), CONNECTIONS (default 32), ROWS (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR="$PWD/bench"; export BENCH_DIR
DURATION=${DURATION:-10}; CONNECTIONS=${CONNECTIONS:-32}; ROWS=${ROWS:-1000000}
THREADS=$(nproc)

need=()
for tool in wrk:wrk cfssl:golang-cfssl openssl:openssl jq:jq curl:curl bc:bc; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p certus

WORK=$(mktemp -d); PG_DIR=""
trap 'kill $(jobs -p) 2>/dev/null || true; [ -z "$PG_DIR" ] || scripts/postgres-temp.sh stop "$PG_DIR"; rm -rf "$WORK"' EXIT
TOKEN=bench-bootstrap-token-0123456789; export TOKEN
PORT=18180; URL="http://127.0.0.1:$PORT"
start_certus() {
    CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn ./target/release/certus serve --listen 127.0.0.1:$PORT \
        --data-dir "$WORK/data" > "$WORK/certus.log" 2>&1 &
    CERTUS_PID=$!
    for _ in $(seq 100); do curl -sf "$URL/v1/health" >/dev/null && return; sleep 0.1; done
    echo "certus did not start" >&2; cat "$WORK/certus.log" >&2; exit 1
}
stop_certus() { kill -TERM "$CERTUS_PID"; wait "$CERTUS_PID" || true; }
api() {  # METHOD PATH [BODY], against $API_URL (default: the SQLite instance)
    curl -sf -X "$1" "${API_URL:-$URL}$2" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" ${3:+-d "$3"}
}
bench_ca() {  # a P-256 root, an issuing CA under it and the role "bench"; prints the issuing CA's id
    local root int
    root=$(api POST /v1/pki/ca '{"name":"bench-root","common_name":"Bench Root","ca_type":"root","key_type":"ec","key_size":256}' | jq -r .id)
    int=$(api POST /v1/pki/ca '{"name":"bench-int","common_name":"Bench Issuing CA","ca_type":"intermediate","parent_ca_id":"'"$root"'","key_type":"ec","key_size":256}' | jq -r .id)
    api POST /v1/pki/roles '{"name":"bench","ca_id":"'"$int"'","allowed_domains":["bench.test"],"allow_subdomains":true,"key_type":"ec","key_bits":256}' >/dev/null
    echo "$int"
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# wrk → "rps p50 p99 failed"
load() {
    local script=$1 url=$2 conns=${3:-$CONNECTIONS}
    wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency -s "$BENCH_DIR/$script" "$url" \
        | awk '/^RESULT/ {for (i=2;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]} print v["rps"], v["p50_ms"], v["p99_ms"], v["failed"]}'
}
peak_rss_during() {  # samples VmRSS of $1 while the command runs; prints "output|peak"
    local pid=$1; shift
    local peak=0 out
    ( while sleep 0.2; do rss_mb "$pid"; echo; done ) > "$WORK/rss" 2>/dev/null & local sampler=$!
    out=$("$@"); kill $sampler 2>/dev/null || true
    peak=$(sort -n "$WORK/rss" | tail -1)
    echo "$out|$peak"
}

echo "== starting Certus and cfssl" >&2
start_certus
IDLE_RSS=$(rss_mb "$CERTUS_PID")
INT=$(bench_ca)
api POST /v1/pki/roles '{"name":"bench-rsa","ca_id":"'"$INT"'","allowed_domains":["bench.test"],"allow_subdomains":true,"key_type":"rsa","key_bits":2048}' >/dev/null

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/leaf.key" \
    -subj /CN=svc.bench.test -addext subjectAltName=DNS:svc.bench.test -out "$WORK/leaf.csr" 2>/dev/null
jq -n --rawfile csr "$WORK/leaf.csr" '{csr_pem: $csr, ttl: "24h"}' > "$WORK/sign.json"
jq -n --rawfile csr "$WORK/leaf.csr" '{certificate_request: $csr}' > "$WORK/cfssl.json"
echo '{"common_name":"svc.bench.test"}' > "$WORK/issue.json"
echo '{"request":{"CN":"svc.bench.test","hosts":["svc.bench.test"],"key":{"algo":"ecdsa","size":256}}}' > "$WORK/cfssl-newcert.json"

# cfssl serve with its own P-256 CA, signing the same CSR (it stores nothing).
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/cfssl-ca.key"
openssl req -x509 -new -key "$WORK/cfssl-ca.key" -subj "/CN=cfssl Bench CA" -days 30 -out "$WORK/cfssl-ca.pem" 2>/dev/null
cfssl serve -address 127.0.0.1 -port 18181 -ca "$WORK/cfssl-ca.pem" -ca-key "$WORK/cfssl-ca.key" > "$WORK/cfssl.log" 2>&1 &
CFSSL_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:18181/api/v1/cfssl/info" -d '{}' && break; sleep 0.1; done

echo "== sign CSR" >&2
read -r SIGN_RPS SIGN_P50 SIGN_P99 SIGN_FAIL LOAD_RSS < <(BODY_FILE="$WORK/sign.json" peak_rss_during "$CERTUS_PID" \
    load post.lua "$URL/v1/pki/sign/bench" | tr '|' ' ')
read -r CF_RPS CF_P50 CF_P99 CF_FAIL < <(BODY_FILE="$WORK/cfssl.json" TOKEN="" load post.lua "http://127.0.0.1:18181/api/v1/cfssl/sign")
echo "== issue" >&2
read -r ISS_RPS ISS_P50 ISS_P99 ISS_FAIL < <(BODY_FILE="$WORK/issue.json" load post.lua "$URL/v1/pki/issue/bench")
read -r RSA_RPS RSA_P50 RSA_P99 RSA_FAIL < <(BODY_FILE="$WORK/issue.json" load post.lua "$URL/v1/pki/issue/bench-rsa" 8)
read -r CFN_RPS CFN_P50 CFN_P99 CFN_FAIL < <(BODY_FILE="$WORK/cfssl-newcert.json" TOKEN="" \
    load post.lua "http://127.0.0.1:18181/api/v1/cfssl/newcert")

echo "== sign CSR on PostgreSQL" >&2
# The same CSR load against a second Certus on a throwaway local PostgreSQL (fsync on).
read -r PG_DIR PG_URL < <(scripts/postgres-temp.sh)
PG_API="http://127.0.0.1:18182"
CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn ./target/release/certus serve --listen 127.0.0.1:18182 \
    --data-dir "$WORK/pg-node" --database-url "$PG_URL/postgres" > "$WORK/certus-pg.log" 2>&1 &
PG_CERTUS_PID=$!
for _ in $(seq 100); do curl -sf "$PG_API/v1/health" >/dev/null && break; sleep 0.1; done
API_URL=$PG_API bench_ca > /dev/null
read -r PGS_RPS PGS_P50 PGS_P99 PGS_FAIL < <(BODY_FILE="$WORK/sign.json" load post.lua "$PG_API/v1/pki/sign/bench")
kill -TERM "$PG_CERTUS_PID"; wait "$PG_CERTUS_PID" || true
scripts/postgres-temp.sh stop "$PG_DIR"; PG_DIR=""

echo "== OCSP" >&2
api POST /v1/pki/issue/bench '{"common_name":"ocsp.bench.test"}' > "$WORK/ocsp-leaf.json"
jq -r .certificate "$WORK/ocsp-leaf.json" > "$WORK/ocsp-leaf.pem"; jq -r '.ca_chain[0]' "$WORK/ocsp-leaf.json" > "$WORK/int.pem"
openssl ocsp -issuer "$WORK/int.pem" -cert "$WORK/ocsp-leaf.pem" -no_nonce -reqout "$WORK/ocsp.der" >/dev/null 2>&1
openssl ocsp -issuer "$WORK/int.pem" -cert "$WORK/ocsp-leaf.pem" -reqout "$WORK/ocsp-nonce.der" >/dev/null 2>&1
OCSP_PATH=$(base64 -w0 "$WORK/ocsp.der" | jq -sRr @uri)
read -r OCSP_RPS OCSP_P50 OCSP_P99 OCSP_FAIL < <(TOKEN="" load get.lua "$URL/ocsp/$OCSP_PATH")
read -r OCSPN_RPS OCSPN_P50 OCSPN_P99 OCSPN_FAIL < <(BODY_FILE="$WORK/ocsp-nonce.der" CONTENT_TYPE=application/ocsp-request TOKEN="" \
    load post.lua "$URL/ocsp")

echo "== CRL build and filtered list at scale" >&2
TENANT=$(api GET /v1/auth/whoami | jq -r .tenant_id)
crl_build() {  # seconds for one forced rebuild of the complete CRL
    local t0 t1; t0=$(date +%s.%N); api POST "/v1/pki/ca/$INT/crl" > /dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l | xargs printf "%.2f"
}
stop_certus
python3 "$BENCH_DIR/seed.py" "$WORK/data/certus.db" "$TENANT" "$INT" 100000 revoked > /dev/null
start_certus
CRL_100K=$(crl_build)
stop_certus
python3 "$BENCH_DIR/seed.py" "$WORK/data/certus.db" "$TENANT" "$INT" $((ROWS - 100000)) revoked > /dev/null
start_certus
CRL_1M=$(crl_build)
CRL_BYTES=$(curl -s "$URL/v1/pki/ca/$INT/crl" | wc -c)
read -r LIST_RPS LIST_P50 LIST_P99 LIST_FAIL < <(load get.lua \
    "$URL/v1/pki/certificates?ca_id=$INT&expiring_within=30d&include_revoked=true&limit=50" 8)
# The console's search path over the same rows: a name prefix, signed in with the token.
JAR="$WORK/console.jar"
LOGIN_CSRF=$(curl -s -c "$JAR" "$URL/ui/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | cut -d'"' -f4)
curl -s -b "$JAR" -c "$JAR" -o /dev/null -d "csrf=$LOGIN_CSRF&token=$TOKEN&with=token" "$URL/ui/login"
SESSION=$(awk '$6 == "certus_console" {print $7}' "$JAR")
read -r SEARCH_RPS SEARCH_P50 SEARCH_P99 SEARCH_FAIL < <(TOKEN="" COOKIE="certus_console=$SESSION" load get.lua \
    "$URL/ui/certificates?q=host12345&status=any" 8)

echo "== openssl speed (ceiling)" >&2
SPEED=$(openssl speed -seconds 3 -multi "$THREADS" ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1), $NF}')
read -r SSL_SIGN SSL_VERIFY <<< "$SPEED"
# Signing a CSR costs one verify (its self-signature) and one sign.
CEILING=$(echo "1 / (1/$SSL_SIGN + 1/$SSL_VERIFY)" | bc -l)

ratio() { echo "$1 / $2" | bc -l | xargs printf "%.2f"; }
mkdir -p "$BENCH_DIR/results"
{
echo "Certus benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), ${DURATION}s runs, ${CONNECTIONS} connections"
echo
echo "| measure | Certus | peer | ratio |"
echo "|---|---|---|---|"
echo "| sign P-256 CSR, stored (req/s) | $SIGN_RPS (p99 ${SIGN_P99} ms) | cfssl serve $CF_RPS (p99 ${CF_P99} ms), stores nothing | $(ratio "$SIGN_RPS" "$CF_RPS")× cfssl |"
echo "| sign P-256 CSR vs crypto ceiling | $SIGN_RPS | openssl verify+sign $(printf %.0f "$CEILING")/s | $(ratio "$SIGN_RPS" "$CEILING") of ceiling |"
echo "| sign P-256 CSR, stored in local PostgreSQL (req/s) | $PGS_RPS (p99 ${PGS_P99} ms) | cfssl serve $CF_RPS | $(ratio "$PGS_RPS" "$CF_RPS")× cfssl |"
echo "| issue, server key P-256 (req/s) | $ISS_RPS (p99 ${ISS_P99} ms) | cfssl newcert $CFN_RPS (p99 ${CFN_P99} ms) | $(ratio "$ISS_RPS" "$CFN_RPS")× cfssl |"
echo "| issue, server key RSA-2048 (req/s) | $RSA_RPS (p99 ${RSA_P99} ms) | | |"
echo "| OCSP GET, cacheable (resp/s) | $OCSP_RPS (p99 ${OCSP_P99} ms) | openssl sign $(printf %.0f "$SSL_SIGN")/s | $(ratio "$OCSP_RPS" "$SSL_SIGN") of sign ceiling |"
echo "| OCSP POST with nonce, signed each time (resp/s) | $OCSPN_RPS (p99 ${OCSPN_P99} ms) | openssl sign $(printf %.0f "$SSL_SIGN")/s | $(ratio "$OCSPN_RPS" "$SSL_SIGN") of sign ceiling |"
echo "| complete CRL build, 100k revoked (s) | $CRL_100K | | |"
echo "| complete CRL build, $ROWS revoked (s) | $CRL_1M ($((CRL_BYTES / 1048576)) MiB) | | |"
echo "| filtered list over $ROWS certificates | p50 ${LIST_P50} ms, p99 ${LIST_P99} ms ($LIST_RPS req/s) | | |"
echo "| console search by name prefix over $ROWS certificates | p50 ${SEARCH_P50} ms, p99 ${SEARCH_P99} ms ($SEARCH_RPS req/s) | | |"
echo "| RSS idle / peak under sign load (MB) | $IDLE_RSS / $LOAD_RSS | | |"
echo "| openssl speed ecdsap256, $THREADS processes | sign $SSL_SIGN/s, verify $SSL_VERIFY/s | | |"
echo
echo "Failed requests: sign $SIGN_FAIL, cfssl $CF_FAIL, sign-pg $PGS_FAIL, issue $ISS_FAIL, cfssl-newcert $CFN_FAIL, issue-rsa $RSA_FAIL, ocsp $OCSP_FAIL, ocsp-nonce $OCSPN_FAIL, list $LIST_FAIL, search $SEARCH_FAIL"
} | tee "$BENCH_DIR/results/latest.md"
kill $CFSSL_PID 2>/dev/null || true
stop_certus
