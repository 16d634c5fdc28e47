"""Runs every curl example of the native API's spec document, in order, with the real curl
against a fresh server (host, $TOKEN and the example ids and PEMs substituted), and checks the
documented status codes and response shapes."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BOOTSTRAP_TOKEN, fresh_server, make_csr, openssl

# A copy of shared/spec/pki-ca-roles-csr-crl.txt, kept in the repository so CI has it.
SPEC = Path(__file__).resolve().parent / "spec" / "pki-ca-roles-csr-crl.txt"
HOST = "https://scaivault.scailabs.ai"


def curl_commands(text):
    """Each curl command of the ```bash blocks, in document order: continuation lines joined,
    multi-line quoted bodies kept whole."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        current = ""
        for line in block.splitlines():
            if not current and (line.lstrip().startswith("#") or not line.strip()):
                continue
            if line.endswith("\\"):
                current += line[:-1]
                continue
            current += line
            if current.count("'") % 2 == 1:  # inside a quoted body: keep reading
                current += "\n"
                continue
            if current.strip().startswith("curl"):
                commands.append(current.strip())
            current = ""
    return commands


# (method, path regex) → (status, keys the JSON body must have)
EXPECT = [
    ("POST", r"/v1/pki/ca$", 201, {"id", "name", "common_name", "ca_type", "key_type", "key_size", "valid_from",
                                  "valid_until", "is_active", "certificates_issued", "created_at"}),
    ("GET", r"/v1/pki/ca/[^/]+/certificate$", 200, {"certificate_pem"}),
    ("POST", r"/v1/pki/roles$", 201, {"name", "ca_id", "allowed_domains", "allow_subdomains", "allow_ip_sans",
                                     "max_ttl", "key_type", "key_bits", "require_cn"}),
    ("POST", r"/v1/pki/issue/", 201, {"certificate", "private_key", "ca_chain", "serial_number", "not_after"}),
    ("POST", r"/v1/pki/sign/", 201, {"certificate", "ca_chain", "serial_number", "not_after"}),
    ("POST", r"/v1/pki/csr/import$", 201, {"id", "status"}),
    ("GET", r"/v1/pki/csr/[^/]+$", 200, {"id", "status"}),
    ("POST", r"/v1/pki/csr/[^/]+/approve$", 200, {"id", "status"}),
    ("POST", r"/v1/pki/csr/[^/]+/sign$", 201, {"certificate", "ca_chain", "serial_number", "not_after"}),
    ("POST", r"/v1/pki/csr$", 201, {"id", "status", "csr_pem"}),
    ("POST", r"/v1/pki/csr/[^/]+/reject$", 200, {"id", "status"}),
    ("GET", r"/v1/pki/certificates\?", 200, {"data", "cursor", "has_more"}),
    ("POST", r"/v1/pki/certificates/validate$", 200, {"valid", "chain_valid", "not_expired", "not_revoked", "trusted_anchor"}),
    ("POST", r"/v1/pki/revoke$", 200, {"serial_number"}),
    ("GET", r"/v1/pki/ca/[^/]+/crl$", 200, None),
    ("POST", r"/v1/pki/ca/[^/]+/crl$", 200, {"crl_pem"}),
    ("POST", r"/v1/pki/trust-anchors$", 201, {"id", "name"}),
    ("GET", r"/v1/pki/trust-anchors$", 200, {"data"}),
    ("DELETE", r"/v1/pki/trust-anchors/", 204, None),
    ("POST", r"/v1/pki/certificates/[^/]+/renew$", 201, {"certificate", "private_key", "serial_number"}),
    ("POST", r"/v1/pki/certificates/import$", 201, {"id"}),
]


def expectation(method, path):
    for m, pattern, status, keys in EXPECT:
        if m == method and re.search(pattern, path):
            return status, keys
    raise AssertionError(f"no expectation for {method} {path}")


def js(text):
    """A PEM as it appears inside a JSON string literal."""
    return json.dumps(text)[1:-1]


@pytest.fixture(scope="module")
def fresh():
    """Its own server: the examples assume nothing exists yet."""
    yield from fresh_server()


def test_spec_curl_examples_in_order(fresh, tmp_path):
    commands = curl_commands(SPEC.read_text())
    assert len(commands) >= 20, commands
    ids = {}  # example id in the document → real id
    csr_pem, _ = make_csr(tmp_path, "billing.svc.cluster.local", ["DNS:billing-api.svc.cluster.local"])
    ext_key, ext_ca = tmp_path / "ext.key", tmp_path / "ext.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(ext_key),
            "-out", str(ext_ca), "-subj", "/CN=Vendor XYZ Root", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    imp_key, imp_cert = tmp_path / "imp.key", tmp_path / "imp.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(imp_key), "-out", str(imp_cert),
            "-subj", "/CN=legacy.example.com", "-days", "30")
    state = {}
    for cmd in commands:
        method = (re.search(r"-X (\w+)", cmd) or [None, "GET"])[1]
        path = re.search(re.escape(HOST) + r"([^\s\"']+)", cmd)[1]
        # Example ids become the real ones created earlier in the sequence.
        for example, real in ids.items():
            cmd = cmd.replace(example, real)
        cmd = cmd.replace(HOST, fresh.url).replace("$TOKEN", BOOTSTRAP_TOKEN)
        cmd = cmd.replace('"1A:2B:3C:..."', json.dumps(state.get("serial", "")))
        cmd = cmd.replace("-----BEGIN CERTIFICATE REQUEST-----\\n...", js(csr_pem))
        cmd = cmd.replace("-----BEGIN PRIVATE KEY-----\\n...", js(imp_key.read_text()))
        if "/certificates/validate" in path:
            cmd = cmd.replace('"certificate_pem": "-----BEGIN CERTIFICATE-----\\n..."', '"certificate_pem": "%s"' % js(state["leaf"]))
            cmd = cmd.replace('"chain_pem": "-----BEGIN CERTIFICATE-----\\n..."', '"chain_pem": "%s"' % js(state["chain"]))
        elif "/trust-anchors" in path:
            cmd = cmd.replace("-----BEGIN CERTIFICATE-----\\n...", js(ext_ca.read_text()))
        elif "/certificates/import" in path:
            cmd = cmd.replace('"certificate_pem": "-----BEGIN CERTIFICATE-----\\n..."', '"certificate_pem": "%s"' % js(imp_cert.read_text()))
            cmd = cmd.replace('"chain_pem": "-----BEGIN CERTIFICATE-----\\n..."', '"chain_pem": "%s"' % js(imp_cert.read_text()))
        if path.endswith("/reject"):
            # The document rejects its example CSR after signing it; reject a fresh pending one instead.
            r = subprocess.run(["curl", "-s", "-X", "POST", fresh.url + "/v1/pki/csr/import", "-H",
                                f"Authorization: Bearer {BOOTSTRAP_TOKEN}", "-H", "Content-Type: application/json",
                                "-d", json.dumps({"csr_pem": csr_pem})], capture_output=True, text=True)
            cmd = cmd.replace(ids["csr_abc"], json.loads(r.stdout)["id"])
        assert "..." not in cmd, cmd
        out = tmp_path / "body"
        out.unlink(missing_ok=True)
        r = subprocess.run(cmd + f" -s -o {out} -w '%{{http_code}}'", shell=True, capture_output=True, text=True)
        status, keys = expectation(method, path)
        body = out.read_bytes() if out.exists() else b""
        assert int(r.stdout) == status, f"{cmd}\n→ {r.stdout} {body[:500]!r}"
        data = json.loads(body) if keys else None
        if keys:
            assert keys <= set(data), f"{path}: missing {keys - set(data)} in {data}"
        # Learn the real ids behind the document's example ids.
        if path == "/v1/pki/ca" and data["ca_type"] == "root":
            ids["ca_root_abc"] = data["id"]
        elif path == "/v1/pki/ca":
            ids["ca_intermediate_mtls"] = data["id"]
        elif path.startswith("/v1/pki/issue/"):
            state.update(serial=data["serial_number"], leaf=data["certificate"], chain=data["ca_chain"][0])
            assert data["private_key"].startswith("-----BEGIN")
        elif path.startswith("/v1/pki/sign/"):
            assert "private_key" not in data
        elif path == "/v1/pki/csr/import":
            assert data["status"] == "pending"
            ids["csr_abc"] = data["id"]
        elif path.endswith("/approve"):
            assert data["status"] == "approved"
        elif path.endswith("/csr_abc/sign"):
            ids["cert_abc"] = data["certificate_id"]
        elif path.endswith("/reject"):
            assert data["status"] == "rejected" and data["reject_reason"] == "CN not in allowed scope"
        elif path.startswith("/v1/pki/certificates?"):
            assert all(c["issuer_ca_id"] == ids["ca_intermediate_mtls"] for c in data["data"]) and data["data"]
        elif path.endswith("/validate"):
            assert data["valid"] is True
        elif path.endswith("/crl") and method == "GET":
            assert r.stdout == "200" and body[:1] == b"\x30"  # DER SEQUENCE
        elif path == "/v1/pki/trust-anchors" and method == "POST":
            ids["trust_anchor_xyz"] = data["id"]
        elif path == "/v1/pki/trust-anchors":
            assert [t["id"] for t in data["data"]] == [ids["trust_anchor_xyz"]]
