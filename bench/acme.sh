#!/usr/bin/env bash
# ACME benchmark: N sequential lego http-01 issuances (new order, challenge, finalize, download)
# against Certus (release build, SQLite) and against pebble (PEBBLE_VA_NOSLEEP=1) on this
# machine, both resolving names through pebble-challtestsrv. Prints seconds per certificate and
# the ratio; appends the table to bench/results/acme-latest.md.
#   N (issuances per server, default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}

need=()
for tool in lego:lego pebble:pebble openssl:openssl jq:jq curl:curl bc:bc; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p certus

WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
DNS=127.0.0.1:18353; HTTP01=18302; TOKEN=bench-bootstrap-token-0123456789
pebble-challtestsrv -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv6 "" -dns01 "$DNS" \
    -management 127.0.0.1:18355 > "$WORK/cts.log" 2>&1 &

# Certus, with a role and a directory.
URL=http://127.0.0.1:18380
CERTUS_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn ./target/release/certus serve --listen 127.0.0.1:18380 \
    --data-dir "$WORK/data" --acme-dns-resolver "$DNS" --acme-http01-port "$HTTP01" --acme-allow-loopback \
    > "$WORK/certus.log" 2>&1 &
for _ in $(seq 100); do curl -sf "$URL/v1/health" >/dev/null && break; sleep 0.1; done
api() { curl -sf -X POST "$URL$1" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "$2"; }
ROOT=$(api /v1/pki/ca '{"name":"r","common_name":"Bench Root","ca_type":"root","key_type":"ec","key_size":256}' | jq -r .id)
INT=$(api /v1/pki/ca '{"name":"i","common_name":"Bench Issuing CA","ca_type":"intermediate","parent_ca_id":"'"$ROOT"'","key_type":"ec","key_size":256}' | jq -r .id)
api /v1/pki/roles '{"name":"web","ca_id":"'"$INT"'","allowed_domains":["bench.test"],"allow_subdomains":true,"key_type":"any"}' >/dev/null
CERTUS_DIR=$(api /v1/pki/acme/directories '{"name":"bench","role":"web"}' | jq -r .directory_url)

# pebble, on HTTPS with a certificate made here.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/pebble.key" \
    -out "$WORK/pebble.pem" -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 2 2>/dev/null
cat > "$WORK/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:18400", "managementListenAddress": "127.0.0.1:18401",
  "certificate": "$WORK/pebble.pem", "privateKey": "$WORK/pebble.key",
  "httpPort": $HTTP01, "tlsPort": 18303, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
PEBBLE_VA_NOSLEEP=1 pebble -config "$WORK/pebble.json" -dnsserver "$DNS" > "$WORK/pebble.log" 2>&1 &
for _ in $(seq 100); do curl -sfk https://127.0.0.1:18400/dir >/dev/null && break; sleep 0.1; done
PEBBLE_DIR=https://127.0.0.1:18400/dir

# seconds for N sequential issuances by lego against directory $1 (lego trusts $2 if given)
run_lego() {
    local dir=$1 ca=${2:-} name=$3 t0 t1
    t0=$(date +%s.%N)
    for i in $(seq "$N"); do
        LEGO_CA_CERTIFICATES=$ca lego --server "$dir" --email bench@bench.test --accept-tos \
            --path "$WORK/lego-$name" --domains "$name-$i.bench.test" --http --http.port "127.0.0.1:$HTTP01" \
            run > "$WORK/lego-$name.log" 2>&1 || { echo "lego failed against $name" >&2; cat "$WORK/lego-$name.log" >&2; exit 1; }
    done
    t1=$(date +%s.%N)
    echo "($t1 - $t0) / $N" | bc -l | xargs printf "%.2f"
}
echo "== $N lego http-01 issuances against Certus" >&2
CERTUS_S=$(run_lego "$CERTUS_DIR" "" certus)
echo "== $N lego http-01 issuances against pebble" >&2
PEBBLE_S=$(run_lego "$PEBBLE_DIR" "$WORK/pebble.pem" pebble)

mkdir -p bench/results
{
echo "ACME benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, lego $(dpkg-query -W -f='${Version}' lego 2>/dev/null || lego --version | awk '{print $3}'), $N sequential http-01 issuances each"
echo
echo "| measure | Certus | pebble (PEBBLE_VA_NOSLEEP=1) | ratio |"
echo "|---|---|---|---|"
echo "| seconds per certificate | $CERTUS_S | $PEBBLE_S | $(echo "$PEBBLE_S / $CERTUS_S" | bc -l | xargs printf "%.1f")× faster |"
} | tee bench/results/acme-latest.md
