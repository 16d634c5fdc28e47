"""/api/v1 CAs, certificates, exports, public CRL/CA downloads and the audit log (spec:
certificates-orgs-capabilities.txt; research: fastpki.md sections 1.6 to 1.10), including the
spec document's curl examples run in order with the real curl, and the same records seen through
the native API."""
import json
import re
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server, make_csr, openssl, write
from test_lint import lint

SPEC = Path(__file__).resolve().parent / "spec" / "certificates-orgs-capabilities.txt"


@pytest.fixture(scope="module")
def srv():
    for server in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        yield server


@pytest.fixture(scope="module")
def su(srv):
    """The first user (a superuser without organisation), signed in."""
    r = requests.post(f"{srv.url}/api/v1/users/", json={"username": "admin", "email": "admin@example.com",
                                                        "password": "securepassword", "role": "superuser"})
    assert r.status_code == 201, r.text
    token = requests.post(f"{srv.url}/api/v1/auth/token",
                          data={"username": "admin", "password": "securepassword"}).json()["access_token"]
    return Client(srv.url + "/api/v1", token)


@pytest.fixture(scope="module")
def ca1(su):
    """CA id 1, which the document's examples issue from."""
    ca = su.ok("post", "/cas/", 201, json={"name": "Acme Issuing CA", "subject_dn": "CN=Acme Issuing CA,O=Acme Corp,C=US",
                                           "key_size": 2048})
    assert ca["id"] == 1 and ca["is_root"] is True
    return ca


def detail(r, status, text=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail"}, body
    if text is not None:
        assert text in json.dumps(body["detail"]), body
    return body["detail"]


def spec_commands(text):
    """The shell commands of the document (curl and openssl), continuation lines and quoted
    multi-line bodies joined, in document order."""
    commands, current = [], ""
    for line in text.splitlines():
        if not current and not re.match(r"\s*(curl|openssl)\b", line):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\") or current.count("'") % 2 == 1:
            current += "" if line.endswith("\\") else "\n"
            continue
        commands.append(current.strip())
        current = ""
    return commands


def test_spec_curl_examples_in_order(srv, su, ca1, tmp):
    commands = spec_commands(SPEC.read_text())
    assert len(commands) == 10, commands
    token = su.s.headers["Authorization"].split()[1]
    statuses, bodies = [], []
    for cmd in commands:
        cmd = cmd.replace("http://localhost:8000", srv.url).replace(" | python -m json.tool", "")
        if cmd.startswith("curl"):
            cmd = cmd.replace("curl -s", "curl -s -w '\\n%{http_code}'", 1)
        out = subprocess.run(["bash", "-c", cmd], cwd=tmp, env={"TOKEN": token, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (cmd, out.stderr)
        if cmd.startswith("curl"):
            body, status = out.stdout.rsplit("\n", 1)
            statuses.append(int(status))
            bodies.append(json.loads(body))
    assert statuses == [201, 201, 201, 201, 200, 200, 200, 200, 200], statuses
    server, sans, client, signed, listed, by_ca, one, with_key, revoked = bodies
    assert server["private_key"].startswith("-----BEGIN PRIVATE KEY-----") and server["status"] == "valid"
    assert "private_key" not in signed and signed["common_name"] == "api.example.com"
    assert {c["id"] for c in listed} == {1, 2, 3, 4} and {c["id"] for c in by_ca} == {1, 2, 3, 4}
    assert "private_key" not in one and with_key["private_key"] == server["private_key"]
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    detail(su.post("/certificates/1/revoke", json={"reason": "Key compromise"}), 409, "Certificate is already revoked")
    # Every certificate chains to CA 1 under openssl verify; the signed one holds the CSR's key.
    write(tmp / "ca.pem", ca1["certificate"])
    for c in (server, sans, client, signed):
        write(tmp / "leaf.pem", c["certificate"])
        assert "OK" in openssl("verify", "-CAfile", str(tmp / "ca.pem"), str(tmp / "leaf.pem")).stdout
    key_pub = openssl("pkey", "-in", str(tmp / "api.example.com.key"), "-pubout").stdout
    write(tmp / "signed.pem", signed["certificate"])
    assert openssl("x509", "-in", str(tmp / "signed.pem"), "-noout", "-pubkey").stdout == key_pub
    text = openssl("x509", "-in", str(tmp / "signed.pem"), "-noout", "-text").stdout
    assert "DNS:api.example.com" in text and "TLS Web Server Authentication" in text
    write(tmp / "sans.pem", sans["certificate"])
    text = openssl("x509", "-in", str(tmp / "sans.pem"), "-noout", "-text").stdout
    assert "DNS:api.example.com, DNS:api-v2.example.com, IP Address:10.0.0.42" in text
    write(tmp / "client.pem", client["certificate"])
    text = openssl("x509", "-in", str(tmp / "client.pem"), "-noout", "-text").stdout
    assert "TLS Web Client Authentication" in text and "Subject Alternative Name" not in text
