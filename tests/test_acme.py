"""ACME (RFC 8555 with ARI, profiles, EAB and IP identifiers) with real clients against Certus on
loopback: certbot (PyPI) over http-01, with an IP identifier, renewal and revocation; lego (Debian)
over http-01, tls-alpn-01, dns-01 through pebble-challtestsrv, and with an EAB-bound account.
Refusals are driven with raw JWS signed here, and nothing refused is issued."""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from conftest import (BIN, BOOTSTRAP_TOKEN, PG_URL, Client, Server, free_port, make_hierarchy, make_role, openssl, psql,
                      unique, write)
from test_lint import lint

LINT_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"
CERTBOT = LINT_BIN / "certbot"
ERR = "urn:ietf:params:acme:error:"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- a challenge test server and the Certus under test ----

class ChallTestSrv:
    """pebble-challtestsrv as the DNS server Certus asks: every name resolves to 127.0.0.1;
    TXT records are set through its management API."""

    def __init__(self):
        self.dns_port, self.mgmt_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            ["pebble-challtestsrv", "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6", "",
             "-defaultIPv4", "127.0.0.1", "-dns01", f"127.0.0.1:{self.dns_port}",
             "-management", f"127.0.0.1:{self.mgmt_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                requests.post(self.mgmt_url + "/clear-txt", json={"host": "warmup."}, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("pebble-challtestsrv did not start")

    @property
    def mgmt_url(self):
        return f"http://127.0.0.1:{self.mgmt_port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def acme_server(cts, allow_loopback=True, env=None):
    data = tempfile.mkdtemp(prefix="certus-acme-")
    http01, tlsalpn01 = free_port(), free_port()
    env = {"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_ACME_DNS_RESOLVER": f"127.0.0.1:{cts.dns_port}",
           "CERTUS_ACME_HTTP01_PORT": str(http01), "CERTUS_ACME_TLSALPN01_PORT": str(tlsalpn01), **(env or {})}
    if allow_loopback:
        env["CERTUS_ACME_ALLOW_LOOPBACK"] = "true"
    srv = Server(data, env=env).start()
    srv.http01, srv.tlsalpn01, srv.data = http01, tlsalpn01, data
    return srv


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("acme")
    cts = ChallTestSrv()
    srv = acme_server(cts)
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    root, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="any", key_bits=None, allowed_domains=["example.test"])
    directory = admin.ok("post", "/v1/pki/acme/directories", 201, json={"name": unique("web"), "role": role["name"]})
    eab_dir = admin.ok("post", "/v1/pki/acme/directories", 201,
                       json={"name": unique("eab"), "role": role["name"], "require_eab": True})
    files = {
        "root": write(tmp / "root.pem", admin.ok("get", f"/v1/pki/ca/{root['id']}/certificate")["certificate_pem"]),
        "int": write(tmp / "int.pem", admin.ok("get", f"/v1/pki/ca/{inter['id']}/certificate")["certificate_pem"]),
    }
    yield {"srv": srv, "admin": admin, "cts": cts, "root": root, "inter": inter, "role": role, "tmp": tmp,
           "url": directory["directory_url"], "eab_dir": eab_dir, "files": files}
    srv.stop()
    cts.stop()
    shutil.rmtree(srv.data, ignore_errors=True)


def lint_wildcard(path):
    """pkilint's PKIX linter knows no RFC 6125 wildcards: its one finding may be the wildcard
    name's syntax, and nothing else."""
    r = subprocess.run([str(LINT_BIN / "lint_pkix_cert"), "lint", "-s", "ERROR", str(path)], capture_output=True,
                       text=True)
    findings = [line.strip() for line in r.stdout.splitlines() if "(ERROR)" in line or "(FATAL)" in line]
    assert findings, "expected the wildcard finding (has pkilint learned wildcards? then use lint())"
    for f in findings:
        assert f.startswith('pkix.invalid_domain_name_syntax (ERROR): Invalid domain name syntax: "*.'), f


def check_certificate(acme, cert_pem_path, name, wildcard=False):
    """Chains to the test root under openssl verify and is pkilint-clean."""
    text = Path(cert_pem_path).read_text()
    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError as e:
        raise AssertionError(f"{cert_pem_path} holds no readable chain ({e}):\n{text}") from e
    r = openssl("verify", "-CAfile", acme["files"]["root"], "-untrusted", acme["files"]["int"], str(cert_pem_path))
    assert ": OK" in r.stdout
    leaf = acme["tmp"] / f"{name}.leaf.pem"
    pem = Path(cert_pem_path).read_text()
    leaf.write_text(pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n")
    if wildcard:
        lint_wildcard(leaf)
    else:
        lint("lint_pkix_cert", str(leaf))
    return x509.load_pem_x509_certificate(leaf.read_bytes())


def issued_count(admin):
    return len(admin.ok("get", "/v1/pki/certificates?limit=1000&include_revoked=true")["data"])


def audit_actions(srv):
    """The audit log's actions, read from the database."""
    if PG_URL:
        return set(psql(srv.data, "SELECT action FROM audit_log").split())
    with sqlite3.connect(Path(srv.data) / "certus.db") as db:
        return {r[0] for r in db.execute("SELECT action FROM audit_log")}


def ocsp_status(acme, cert_path):
    out = openssl("ocsp", "-issuer", acme["files"]["int"], "-cert", str(cert_path), "-url", acme["srv"].url + "/ocsp",
                  "-CAfile", acme["files"]["root"], "-no_nonce").stdout
    return out


# ---- certbot ----

def certbot(acme, *args, check=True):
    base = acme["tmp"] / "certbot"
    cmd = [str(CERTBOT), "--config-dir", str(base / "conf"), "--work-dir", str(base / "work"),
           "--logs-dir", str(base / "logs"), "-n", "--agree-tos", "--register-unsafely-without-email",
           "--server", acme["url"], *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if check:
        assert r.returncode == 0, f"certbot {' '.join(args)}: {r.stdout}{r.stderr}"
    return r


def test_certbot_http01_issue_renew_revoke(acme):
    port = str(acme["srv"].http01)
    certbot(acme, "certonly", "--standalone", "--http-01-port", port, "--http-01-address", "127.0.0.1",
            "-d", "certbot.example.test", "--cert-name", "cb")
    live = acme["tmp"] / "certbot" / "conf" / "live" / "cb"
    first = check_certificate(acme, live / "fullchain.pem", "cb1")
    san = first.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["certbot.example.test"]
    # certbot sends no subject: the SAN carries the names and is critical.
    assert len(first.subject) == 0 and san.critical

    certbot(acme, "renew", "--force-renewal", "--no-random-sleep-on-renew", "--cert-name", "cb",
            "--http-01-port", port)
    second = check_certificate(acme, live / "fullchain.pem", "cb2")
    assert second.serial_number != first.serial_number

    certbot(acme, "revoke", "--cert-path", str(live / "cert.pem"), "--reason", "keycompromise",
            "--no-delete-after-revoke")
    assert f"{live / 'cert.pem'}: revoked" in ocsp_status(acme, live / "cert.pem")
    crl = acme["tmp"] / "cb.crl"
    crl.write_bytes(acme["admin"].get(f"/v1/pki/ca/{acme['inter']['id']}/crl").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert format(second.serial_number, "X") in text.replace(":", "").upper()
    assert "Key Compromise" in text
    # The renewal kept the first certificate valid.
    pem1 = acme["tmp"] / "cb1.leaf.pem"
    assert f"{pem1}: good" in ocsp_status(acme, pem1)


def test_certbot_ip_identifier(acme):
    certbot(acme, "certonly", "--standalone", "--http-01-port", str(acme["srv"].http01), "--http-01-address",
            "127.0.0.1", "--ip-address", "127.0.0.1", "--cert-name", "cb-ip")
    cert = check_certificate(acme, acme["tmp"] / "certbot" / "conf" / "live" / "cb-ip" / "fullchain.pem", "cbip")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert not cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)


# ---- lego ----

def lego(acme, path, *args, env=None, directory=None):
    cmd = ["lego", "--server", directory or acme["url"], "--email", "ops@example.test", "--accept-tos",
           "--path", str(path), *args, "run"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, f"lego {' '.join(args)}: {r.stdout}{r.stderr}"
    return r


def test_lego_http01(acme):
    path = acme["tmp"] / "lego-http"
    lego(acme, path, "--domains", "lego-http.example.test", "--http", "--http.port", f"127.0.0.1:{acme['srv'].http01}")
    check_certificate(acme, path / "certificates" / "lego-http.example.test.crt", "lego-http")


def test_lego_tls_alpn01(acme):
    path = acme["tmp"] / "lego-alpn"
    lego(acme, path, "--domains", "lego-alpn.example.test", "--tls", "--tls.port",
         f"127.0.0.1:{acme['srv'].tlsalpn01}")
    check_certificate(acme, path / "certificates" / "lego-alpn.example.test.crt", "lego-alpn")


def test_lego_dns01_wildcard(acme):
    path = acme["tmp"] / "lego-dns"
    hook = acme["tmp"] / "txt-hook.sh"
    hook.write_text(
        "#!/bin/sh\n"
        "# lego's exec provider: present|cleanup <fqdn> <value>, through challtestsrv's management API.\n"
        f'case "$1" in\n'
        f'  present) curl -sf -X POST -d "{{\\"host\\":\\"$2\\",\\"value\\":\\"$3\\"}}" {acme["cts"].mgmt_url}/set-txt ;;\n'
        f'  cleanup) curl -sf -X POST -d "{{\\"host\\":\\"$2\\"}}" {acme["cts"].mgmt_url}/clear-txt ;;\n'
        "esac\n")
    hook.chmod(0o755)
    env = {"EXEC_PATH": str(hook), "EXEC_POLLING_INTERVAL": "1", "EXEC_PROPAGATION_TIMEOUT": "20",
           "EXEC_SEQUENCE_INTERVAL": "1"}
    lego(acme, path, "--domains", "*.lego-dns.example.test", "--domains", "lego-dns.example.test", "--dns", "exec",
         "--dns.resolvers", f"127.0.0.1:{acme['cts'].dns_port}", "--dns.disable-cp", env=env)
    cert = check_certificate(acme, path / "certificates" / "_.lego-dns.example.test.crt", "lego-dns", wildcard=True)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["*.lego-dns.example.test", "lego-dns.example.test"]


def test_lego_with_external_account_binding(acme):
    name = acme["eab_dir"]["name"]
    key = acme["admin"].ok("post", f"/v1/pki/acme/directories/{name}/eab-keys", 201)
    path = acme["tmp"] / "lego-eab"
    lego(acme, path, "--eab", "--kid", key["kid"], "--hmac", key["hmac_key"], "--domains", "lego-eab.example.test",
         "--http", "--http.port", f"127.0.0.1:{acme['srv'].http01}", directory=acme["eab_dir"]["directory_url"])
    check_certificate(acme, path / "certificates" / "lego-eab.example.test.crt", "lego-eab")
    keys = acme["admin"].ok("get", f"/v1/pki/acme/directories/{name}/eab-keys")
    bound = next(k for k in keys if k["kid"] == key["kid"])
    assert bound["account_id"] and bound["bound_at"] and bound["account_url"].endswith(bound["account_id"])
    assert "hmac_key" not in bound


# ---- raw JWS: the protocol's refusals ----

class Responder:
    """Answers http-01 requests on the validation port with key authorizations it is given."""

    def __init__(self, port):
        answers = self.answers = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                token = self.path.rsplit("/", 1)[-1]
                body = answers.get(token, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class AcmeClient:
    """A minimal ACME client: flattened JWS with ES256 (or a given key), nonces from HEAD."""

    def __init__(self, directory_url, key=None):
        self.directory = requests.get(directory_url, timeout=30).json()
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.kid = None
        self.alg = {256: "ES256", 384: "ES384", 521: "ES512"}[self.key.curve.key_size]

    def jwk(self, key=None):
        n = (key or self.key).public_key().public_numbers()
        size = ((key or self.key).curve.key_size + 7) // 8
        return {"kty": "EC", "crv": f"P-{(key or self.key).curve.key_size}", "x": b64(n.x.to_bytes(size, "big")),
                "y": b64(n.y.to_bytes(size, "big"))}

    def thumbprint(self):
        j = self.jwk()
        canonical = json.dumps({k: j[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
        return b64(hashlib.sha256(canonical.encode()).digest())

    def nonce(self):
        return requests.head(self.directory["newNonce"], timeout=30).headers["Replay-Nonce"]

    def jws(self, url, payload, nonce=None, alg=None, use_jwk=False, key=None, header=None):
        key = key or self.key
        protected = {"alg": alg or self.alg, "url": url}
        if nonce is not False:
            protected["nonce"] = nonce or self.nonce()
        if self.kid and not use_jwk:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk(key)
        protected.update(header or {})
        p = b64(json.dumps(protected).encode())
        body = "" if payload is None else b64(json.dumps(payload).encode())
        digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
        r, s = decode_dss_signature(key.sign(f"{p}.{body}".encode(), ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return {"protected": p, "payload": body, "signature": b64(r.to_bytes(size, "big") + s.to_bytes(size, "big"))}

    def post(self, url, payload, **kw):
        return requests.post(url, data=json.dumps(self.jws(url, payload, **kw)),
                             headers={"Content-Type": "application/jose+json"}, timeout=60)

    def register(self, **payload):
        r = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True, **payload}, use_jwk=True)
        assert r.status_code in (200, 201), r.text
        self.kid = r.headers["Location"]
        return r

    def ready_order(self, responder, identifiers, **order):
        r = self.post(self.directory["newOrder"], {"identifiers": identifiers, **order})
        assert r.status_code == 201, r.text
        order_url, order = r.headers["Location"], r.json()
        for authz_url in order["authorizations"]:
            authz = self.post(authz_url, None).json()
            chall = next(c for c in authz["challenges"] if c["type"] == "http-01")
            responder.answers[chall["token"]] = f"{chall['token']}.{self.thumbprint()}"
            assert self.post(chall["url"], {}).status_code == 200
            for _ in range(100):
                if self.post(authz_url, None).json()["status"] != "pending":
                    break
                time.sleep(0.05)
        return order_url, self.post(order_url, None).json()


def problem(r, status, typ):
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["type"] == ERR + typ, body
    assert r.headers.get("Replay-Nonce"), "every ACME response carries a fresh nonce"
    assert 'rel="index"' in r.headers.get("Link", "")
    return body


def csr_der(names=(), ips=(), key=None, cn=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    import ipaddress
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    req = x509.CertificateSigningRequestBuilder().subject_name(subject).add_extension(
        x509.SubjectAlternativeName(sans), critical=False).sign(key, hashes.SHA256())
    return req.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def responder(acme):
    r = Responder(acme["srv"].http01)
    yield r
    r.close()


def test_directory_nonce_and_jws_refusals(acme):
    c = AcmeClient(acme["url"])
    d = c.directory
    assert {"newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "renewalInfo"} <= set(d)
    assert d["meta"]["externalAccountRequired"] is False
    head = requests.head(d["newNonce"], timeout=30)
    get = requests.get(d["newNonce"], timeout=30)
    assert head.status_code == 200 and get.status_code == 204
    assert head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"]
    assert head.headers["Cache-Control"] == "no-store"

    c.register(contact=["mailto:ops@example.test"])
    account = c.post(c.kid, None)
    assert account.status_code == 200 and account.json()["status"] == "valid"

    # A nonce is good once.
    nonce = c.nonce()
    assert c.post(c.kid, None, nonce=nonce).status_code == 200
    body = problem(c.post(c.kid, None, nonce=nonce), 400, "badNonce")
    assert "nonce" in body["detail"]
    problem(c.post(c.kid, None, nonce="bm90LWEtbm9uY2U"), 400, "badNonce")
    problem(c.post(c.kid, None, nonce=False), 400, "badNonce")
    # The signed url must be the one requested.
    r = requests.post(c.kid, data=json.dumps(c.jws(d["newOrder"], None)),
                      headers={"Content-Type": "application/jose+json"}, timeout=30)
    problem(r, 403, "unauthorized")
    # alg must fit the key, whatever the client claims.
    problem(c.post(c.kid, None, alg="ES384"), 400, "badSignatureAlgorithm")
    problem(c.post(c.kid, None, alg="none"), 400, "badSignatureAlgorithm")
    problem(c.post(c.kid, None, alg="HS256"), 400, "badSignatureAlgorithm")
    # jwk and kid: exactly one.
    problem(c.post(c.kid, None, header={"jwk": c.jwk()}), 400, "malformed")
    # An unknown account.
    stranger = AcmeClient(acme["url"])
    stranger.kid = acme["url"].replace("/directory", "/account/acct_nobody")
    problem(stranger.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "x.example.test"}]}), 400,
            "accountDoesNotExist")
    # onlyReturnExisting never creates.
    r = stranger.post(d["newAccount"], {"onlyReturnExisting": True}, use_jwk=True)
    problem(r, 400, "accountDoesNotExist")
    # A tampered payload does not verify.
    jws = c.jws(d["newOrder"], {"identifiers": [{"type": "dns", "value": "a.example.test"}]})
    jws["payload"] = b64(json.dumps({"identifiers": [{"type": "dns", "value": "b.example.test"}]}).encode())
    r = requests.post(d["newOrder"], data=json.dumps(jws), headers={"Content-Type": "application/jose+json"}, timeout=30)
    problem(r, 400, "malformed")
    problem(requests.post(d["newOrder"], data="not a jws", timeout=30), 400, "malformed")
    # The same key registers once: 200 with the same account.
    again = c.post(d["newAccount"], {"termsOfServiceAgreed": True}, use_jwk=True)
    assert again.status_code == 200 and again.headers["Location"] == c.kid


def test_order_refusals_issue_nothing(acme, responder):
    before = issued_count(acme["admin"])
    c = AcmeClient(acme["url"])
    c.register()
    d = c.directory
    # Identifiers outside the role: one subproblem each.
    r = c.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "ok.example.test"},
                                               {"type": "dns", "value": "evil.example.org"}]})
    body = problem(r, 400, "rejectedIdentifier")
    assert [s["identifier"]["value"] for s in body["subproblems"]] == ["evil.example.org"]
    problem(c.post(d["newOrder"], {"identifiers": [{"type": "email", "value": "a@example.test"}]}), 400,
            "rejectedIdentifier")
    problem(c.post(d["newOrder"], {"identifiers": []}), 400, "malformed")
    problem(c.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "a.example.test"}],
                                   "profile": "no-such-profile"}), 400, "invalidProfile")

    # Finalize before the order is ready.
    r = c.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "early.example.test"}]})
    order = r.json()
    problem(c.post(order["finalize"], {"csr": b64(csr_der(["early.example.test"]))}), 403, "orderNotReady")

    # A ready order refuses CSRs that do not name exactly its identifiers, and weak keys.
    order_url, order = c.ready_order(responder, [{"type": "dns", "value": "names.example.test"}])
    assert order["status"] == "ready", order
    problem(c.post(order["finalize"], {"csr": b64(csr_der(["other.example.test"]))}), 400, "badCSR")
    problem(c.post(order["finalize"], {"csr": b64(csr_der(["names.example.test", "more.example.test"]))}), 400,
            "badCSR")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    problem(c.post(order["finalize"], {"csr": b64(csr_der(["names.example.test"], key=weak))}), 400, "badCSR")
    problem(c.post(order["finalize"], {"csr": "!!!"}), 400, "malformed")
    assert c.post(order_url, None).json()["status"] == "ready"
    assert issued_count(acme["admin"]) == before


def test_finalize_download_ari_replace_and_revoke_by_certificate_key(acme, responder):
    c = AcmeClient(acme["url"])
    c.register()
    d = c.directory
    order_url, order = c.ready_order(responder, [{"type": "dns", "value": "ari.example.test"},
                                                 {"type": "ip", "value": "127.0.0.1"}])
    key = ec.generate_private_key(ec.SECP256R1())
    r = c.post(order["finalize"], {"csr": b64(csr_der(["ari.example.test"], ["127.0.0.1"], key=key,
                                                      cn="ari.example.test"))})
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text
    cert_r = c.post(r.json()["certificate"], None)
    assert cert_r.headers["Content-Type"] == "application/pem-certificate-chain"
    chain = cert_r.text
    assert chain.count("BEGIN CERTIFICATE") == 3
    path = write(acme["tmp"] / "ari.pem", chain)
    cert = check_certificate(acme, path, "ari")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ari.example.test"
    orders = c.post(c.kid + "/orders", None).json()["orders"]
    assert order_url in orders
    far = c.post(c.kid + "/orders?cursor=9223372036854775807", None)
    assert far.status_code == 200 and far.json()["orders"] == []

    # Renewal information: a window inside the certificate's life.
    ari_id = ari_id_of(cert)
    info = requests.get(f"{d['renewalInfo']}/{ari_id}", timeout=30)
    assert info.status_code == 200 and int(info.headers["Retry-After"]) > 0
    window = info.json()["suggestedWindow"]
    not_before = cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    not_after = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not_before < window["start"] < window["end"] < not_after
    unknown_serial = b64(bytes([1, 2]))
    problem(requests.get(f"{d['renewalInfo']}/{ari_id.split('.')[0]}.{unknown_serial}", timeout=30), 404, "malformed")

    # replaces marks the old certificate replaced; a second replacement is refused.
    r = c.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "ari.example.test"}], "replaces": ari_id})
    assert r.status_code == 201 and r.json()["replaces"] == ari_id, r.text
    problem(c.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "ari.example.test"}],
                                   "replaces": ari_id}), 409, "alreadyReplaced")
    other = AcmeClient(acme["url"])
    other.register()
    problem(other.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "ari.example.test"}],
                                       "replaces": ari_id}), 403, "unauthorized")

    # Another account may not revoke it; the certificate's own key may.
    der = cert.public_bytes(serialization.Encoding.DER)
    problem(other.post(d["revokeCert"], {"certificate": b64(der)}), 403, "unauthorized")
    keyholder = AcmeClient(acme["url"], key=key)
    problem(keyholder.post(d["revokeCert"], {"certificate": b64(der), "reason": 7}, use_jwk=True), 400,
            "badRevocationReason")
    r = keyholder.post(d["revokeCert"], {"certificate": b64(der), "reason": 1}, use_jwk=True)
    assert r.status_code == 200, r.text
    problem(c.post(d["revokeCert"], {"certificate": b64(der)}), 400, "alreadyRevoked")
    leaf = acme["tmp"] / "ari.leaf.pem"
    assert f"{leaf}: revoked" in ocsp_status(acme, leaf)
    # A revoked certificate's window is in the past.
    window = requests.get(f"{d['renewalInfo']}/{ari_id}", timeout=30).json()["suggestedWindow"]
    assert window["end"] < time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ari_id_of(cert):
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
    return f"{b64(aki)}.{b64(serial)}"


def test_a_failed_replacement_order_does_not_block_the_next(acme, responder):
    """As Boulder: an invalid (or expired) replacement order no longer replaces anything, so the
    client may send `replaces` again; a replacement being worked on or finalized still blocks."""
    c = AcmeClient(acme["url"])
    c.register()
    d = c.directory
    ids = [{"type": "dns", "value": "again.example.test"}]

    def finalize(order):
        r = c.post(order["finalize"], {"csr": b64(csr_der(["again.example.test"]))})
        assert r.status_code == 200 and r.json()["status"] == "valid", r.text
        return x509.load_pem_x509_certificate(c.post(r.json()["certificate"], None).text.encode())

    ari_id = ari_id_of(finalize(c.ready_order(responder, ids)[1]))
    first = c.post(d["newOrder"], {"identifiers": ids, "replaces": ari_id})
    assert first.status_code == 201, first.text
    problem(c.post(d["newOrder"], {"identifiers": ids, "replaces": ari_id}), 409, "alreadyReplaced")
    authz = c.post(first.json()["authorizations"][0], {"status": "deactivated"})
    assert authz.status_code == 200 and authz.json()["status"] == "deactivated", authz.text
    assert c.post(first.headers["Location"], None).json()["status"] == "invalid"

    _, second = c.ready_order(responder, ids, replaces=ari_id)
    assert second["replaces"] == ari_id and second["status"] == "ready"
    finalize(second)
    problem(c.post(d["newOrder"], {"identifiers": ids, "replaces": ari_id}), 409, "alreadyReplaced")


def test_unfinished_orders_per_account_are_capped(tmp_path):
    zero = subprocess.run([str(BIN), "serve", "--data-dir", str(tmp_path / "zero"),
                           "--acme-max-unfinished-orders", "0"], capture_output=True, text=True, timeout=30)
    assert zero.returncode != 0 and "--acme-max-unfinished-orders" in zero.stderr, "a cap of 0 would refuse every order"
    cts = ChallTestSrv()
    srv = acme_server(cts, env={"CERTUS_ACME_MAX_UNFINISHED_ORDERS": "2"})
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="any", key_bits=None, allowed_domains=["example.test"])
        url = admin.ok("post", "/v1/pki/acme/directories", 201, json={"name": unique("cap"), "role": role["name"]})
        c = AcmeClient(url["directory_url"])
        c.register()

        def new_order(client, n):
            return client.post(client.directory["newOrder"],
                               {"identifiers": [{"type": "dns", "value": f"cap{n}.example.test"}]})

        first, second = new_order(c, 1), new_order(c, 2)
        assert (first.status_code, second.status_code) == (201, 201), first.text + second.text
        body = problem(new_order(c, 3), 429, "rateLimited")
        assert "2 unfinished orders" in body["detail"], body
        other = AcmeClient(url["directory_url"])
        other.register()
        assert new_order(other, 4).status_code == 201, "the cap is per account"
        # An order whose authorization is deactivated is finished (invalid) and frees its place.
        assert c.post(first.json()["authorizations"][0], {"status": "deactivated"}).status_code == 200
        assert new_order(c, 5).status_code == 201
        assert len(c.post(c.kid + "/orders", None).json()["orders"]) == 3, "the refused order wrote nothing"
    finally:
        srv.stop()
        cts.stop()
        shutil.rmtree(srv.data, ignore_errors=True)


def test_key_change_and_deactivation(acme):
    c = AcmeClient(acme["url"])
    c.register()
    d = c.directory
    new_key = ec.generate_private_key(ec.SECP384R1())
    inner = c.jws(d["keyChange"], {"account": c.kid, "oldKey": c.jwk()}, nonce=False, alg="ES384", use_jwk=True,
                  key=new_key)
    r = c.post(d["keyChange"], inner)
    assert r.status_code == 200, r.text
    # The old key no longer signs for the account (its ES256 does not fit the new P-384 key).
    problem(c.post(c.kid, None), 400, "badSignatureAlgorithm")
    rolled = AcmeClient(acme["url"], key=new_key)
    rolled.kid = c.kid
    assert rolled.post(c.kid, None).json()["status"] == "valid"
    # Deactivated accounts can do nothing more.
    assert rolled.post(c.kid, {"status": "deactivated"}).json()["status"] == "deactivated"
    problem(rolled.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "k.example.test"}]}), 403,
            "unauthorized")
    assert {"acme.account.create", "acme.account.key_change", "acme.account.deactivate",
            "acme.order.finalize"} <= audit_actions(acme["srv"])


def test_eab_directory_refuses_accounts_without_binding(acme):
    eab = acme["eab_dir"]
    c = AcmeClient(eab["directory_url"])
    assert c.directory["meta"]["externalAccountRequired"] is True
    problem(c.post(c.directory["newAccount"], {"termsOfServiceAgreed": True}, use_jwk=True), 403,
            "externalAccountRequired")
    # A used or forged binding is refused too.
    key = acme["admin"].ok("post", f"/v1/pki/acme/directories/{eab['name']}/eab-keys", 201)
    def binding(client, hmac_key, kid):
        import hmac as hmac_mod
        protected = b64(json.dumps({"alg": "HS256", "kid": kid, "url": client.directory["newAccount"]}).encode())
        payload = b64(json.dumps(client.jwk()).encode())
        mac = hmac_mod.new(base64.urlsafe_b64decode(hmac_key + "=" * (-len(hmac_key) % 4)),
                           f"{protected}.{payload}".encode(), hashlib.sha256).digest()
        return {"protected": protected, "payload": payload, "signature": b64(mac)}
    forged = binding(c, b64(b"0" * 32), key["kid"])
    problem(c.post(c.directory["newAccount"], {"termsOfServiceAgreed": True, "externalAccountBinding": forged},
                   use_jwk=True), 403, "unauthorized")
    r = c.post(c.directory["newAccount"], {"termsOfServiceAgreed": True,
                                           "externalAccountBinding": binding(c, key["hmac_key"], key["kid"])},
               use_jwk=True)
    assert r.status_code == 201, r.text
    # A lookup skips EAB; a second account with the same key is refused.
    lookup = c.post(c.directory["newAccount"], {"onlyReturnExisting": True}, use_jwk=True)
    assert lookup.status_code == 200 and lookup.headers["Location"] == r.headers["Location"]
    d2 = AcmeClient(eab["directory_url"])
    problem(d2.post(d2.directory["newAccount"], {"termsOfServiceAgreed": True,
                                                 "externalAccountBinding": binding(d2, key["hmac_key"], key["kid"])},
                    use_jwk=True), 403, "unauthorized")


def test_directory_admin_and_tenancy(acme):
    admin = acme["admin"]
    name = acme["eab_dir"]["name"]
    listed = admin.ok("get", "/v1/pki/acme/directories")
    assert name in [x["name"] for x in listed]
    got = admin.ok("get", f"/v1/pki/acme/directories/{name}")
    assert got["require_eab"] is True and got["directory_url"].endswith(f"/acme/{name}/directory")
    r = admin.post("/v1/pki/acme/directories", {"name": name, "role": acme["role"]["name"]})
    assert r.status_code == 409
    assert admin.post("/v1/pki/acme/directories", {"name": "Bad Name", "role": acme["role"]["name"]}).status_code == 400
    assert admin.post("/v1/pki/acme/directories", {"name": unique("x"), "role": "nope"}).status_code == 404
    assert admin.post("/v1/pki/acme/directories", {"name": unique("x")}).status_code == 400
    assert admin.post("/v1/pki/acme/directories", {"name": 7, "role": "r"}).status_code in (400, 422)
    # Another tenant sees none of it.
    tenant = admin.ok("post", "/v1/admin/tenants", 201, json={"name": unique("t")})
    token = admin.ok("post", "/v1/admin/tokens", 201, json={"tenant_id": tenant["id"], "name": "acme", "scopes": ["pki:admin"]})
    other = Client(acme["srv"].url, token["token"])
    assert other.get(f"/v1/pki/acme/directories/{name}").status_code == 404
    assert other.post(f"/v1/pki/acme/directories/{name}/eab-keys").status_code == 404
    assert other.delete(f"/v1/pki/acme/directories/{name}").status_code == 404
    assert other.ok("get", "/v1/pki/acme/directories") == []
    # Deleting a directory takes its ACME endpoints away.
    temp = admin.ok("post", "/v1/pki/acme/directories", 201, json={"name": unique("gone"), "role": acme["role"]["name"]})
    admin.ok("delete", f"/v1/pki/acme/directories/{temp['name']}", 204)
    r = requests.get(temp["directory_url"], timeout=30)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/problem+json")


def test_loopback_targets_need_permission(tmp_path):
    cts = ChallTestSrv()
    srv = acme_server(cts, allow_loopback=False)
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="any", key_bits=None)
        directory = admin.ok("post", "/v1/pki/acme/directories", 201, json={"name": "strict", "role": role["name"]})
        responder = Responder(srv.http01)
        before = issued_count(admin)
        try:
            c = AcmeClient(directory["directory_url"])
            c.register()
            _, order = c.ready_order(responder, [{"type": "dns", "value": "loop.example.test"}])
            assert order["status"] == "invalid", order
            authz = c.post(order["authorizations"][0], None).json()
            chall = next(ch for ch in authz["challenges"] if ch["type"] == "http-01")
            assert chall["status"] == "invalid"
            assert chall["error"]["type"] == ERR + "rejectedIdentifier"
            assert "loopback" in chall["error"]["detail"]
            problem(c.post(order["finalize"], {"csr": b64(csr_der(["loop.example.test"]))}), 403, "orderNotReady")
            # An IP identifier in loopback is refused when the order is placed.
            r = c.post(c.directory["newOrder"], {"identifiers": [{"type": "ip", "value": "127.0.0.1"}]})
            problem(r, 400, "rejectedIdentifier")
        finally:
            responder.close()
        assert issued_count(admin) == before
    finally:
        srv.stop()
        cts.stop()
        shutil.rmtree(srv.data, ignore_errors=True)


def test_profiles_directory_over_a_ca_and_profile(acme, responder):
    admin = acme["admin"]
    short = admin.ok("post", "/api/ca/v1/profiles", 201, json={
        "id": unique("acme-short"), "name": "short", "validity": {"type": "Duration", "duration": "2d"},
        "key_usage": ["DigitalSignature"], "extended_key_usages": ["ServerAuth"]})
    client = admin.ok("post", "/api/ca/v1/profiles", 201, json={
        "id": unique("acme-client"), "name": "client", "validity": {"type": "Duration", "duration": "3d"},
        "key_usage": ["DigitalSignature"], "extended_key_usages": ["ClientAuth"]})
    d = admin.ok("post", "/v1/pki/acme/directories", 201, json={
        "name": unique("prof"), "ca_id": acme["inter"]["id"], "profile_id": short["id"], "profiles": [client["id"]]})
    assert d["profiles"] == [short["id"], client["id"]]
    c = AcmeClient(d["directory_url"])
    assert set(c.directory["meta"]["profiles"]) == {short["id"], client["id"]}
    c.register()

    def issue(profile=None):
        ids = [{"type": "dns", "value": unique("p") + ".example.test"}]
        payload = {"identifiers": ids, **({"profile": profile} if profile else {})}
        r = c.post(c.directory["newOrder"], payload)
        assert r.status_code == 201 and r.json().get("profile") == profile, r.text
        authz = c.post(r.json()["authorizations"][0], None).json()
        chall = next(ch for ch in authz["challenges"] if ch["type"] == "http-01")
        responder.answers[chall["token"]] = f"{chall['token']}.{c.thumbprint()}"
        assert c.post(chall["url"], {}).json()["status"] in ("valid", "processing")
        for _ in range(100):
            if c.post(r.headers["Location"], None).json()["status"] == "ready":
                break
            time.sleep(0.05)
        done = c.post(r.json()["finalize"], {"csr": b64(csr_der([ids[0]["value"]]))})
        assert done.status_code == 200, done.text
        got = c.post(done.json()["certificate"], None)
        assert got.status_code == 200, (got.status_code, got.text)
        pem = got.content.decode("ascii")
        cert = check_certificate(acme, write(acme["tmp"] / f"{profile}.pem", pem), f"prof-{profile}")
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        return days, eku

    assert issue() == (2, [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH])
    assert issue(client["id"]) == (3, [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
