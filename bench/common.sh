# Shared by bench/ab.sh and bench/instructions.sh (sourced; the caller sets WORK, URL and TOKEN):
# the sign request's body, the native API, and the CA hierarchy and role the sign load uses.

api() { curl -sf -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" ${3:+-d "$3"}; }

# $WORK/sign.json: a P-256 CSR for svc.bench.test, as /v1/pki/sign/{role} takes it.
make_sign_body() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/leaf.key" \
        -subj /CN=svc.bench.test -addext subjectAltName=DNS:svc.bench.test -out "$WORK/leaf.csr" 2>/dev/null
    jq -n --rawfile csr "$WORK/leaf.csr" '{csr_pem: $csr, ttl: "24h"}' > "$WORK/sign.json"
}

wait_healthy() {  # TRIES (0.2 s apart)
    for _ in $(seq "$1"); do curl -sf "$URL/v1/health" >/dev/null && return; sleep 0.2; done
}

# A root, an intermediate under it and the role "bench" on the intermediate (EC P-256, *.bench.test).
make_bench_role() {
    local root int
    root=$(api POST /v1/pki/ca '{"name":"r","common_name":"Bench Root","ca_type":"root","key_type":"ec","key_size":256}' | jq -r .id)
    int=$(api POST /v1/pki/ca '{"name":"i","common_name":"Bench CA","ca_type":"intermediate","parent_ca_id":"'"$root"'","key_type":"ec","key_size":256}' | jq -r .id)
    api POST /v1/pki/roles '{"name":"bench","ca_id":"'"$int"'","allowed_domains":["bench.test"],"allow_subdomains":true,"key_type":"ec","key_bits":256}' >/dev/null
}
