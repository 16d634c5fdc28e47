"""EST (RFC 7030) over HTTPS with curl and openssl as the device: labels backed by a role,
cacerts, csrattrs, simpleenroll with Basic auth, simplereenroll with the current certificate as
the TLS client certificate, serverkeygen, approval through the CSR workflow, and the refusals."""
import base64
import email
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Server, openssl, unique
from test_lint import lint


@pytest.fixture(scope="module")
def est(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("est")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "tls.key"), "-out", str(tmp / "tls.pem"), "-subj", "/CN=localhost", "-days", "2",
            "-addext", "subjectAltName=IP:127.0.0.1")
    data = tempfile.mkdtemp(prefix="certus-est-")
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_TLS_CERT": str(tmp / "tls.pem"),
                            "CERTUS_TLS_KEY": str(tmp / "tls.key")})
    srv.url = srv.url.replace("http://", "https://")
    _start_https(srv, tmp / "tls.pem")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {BOOTSTRAP_TOKEN}"

    def call(method, path, status, **kw):
        # verify per request: REQUESTS_CA_BUNDLE in the environment would override the session's.
        r = api.request(method, srv.url + path, timeout=60, verify=str(tmp / "tls.pem"), **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    root = call("post", "/v1/pki/ca", 201, json={"name": "est-root", "common_name": "EST Root", "ca_type": "root",
                                                  "key_type": "ec", "key_size": 256})
    inter = call("post", "/v1/pki/ca", 201, json={"name": "est-int", "common_name": "EST Issuing",
                                                   "ca_type": "intermediate", "parent_ca_id": root["id"],
                                                   "key_type": "ec", "key_size": 256})
    call("post", "/v1/pki/roles", 201, json={"name": "devices", "ca_id": inter["id"], "key_type": "ec",
                                              "key_bits": 256, "allowed_domains": ["devices.example.test"],
                                              "allow_subdomains": True})
    call("post", "/v1/pki/est/labels", 201, json={"label": "iot", "role": "devices", "revoke_on_reenroll": True})
    call("post", "/v1/pki/est/labels", 201, json={"label": "gated", "role": "devices", "require_approval": True})
    cred = call("post", "/v1/pki/est/labels/iot/credentials", 201, json={"username": "dev1"})
    gated = call("post", "/v1/pki/est/labels/gated/credentials", 201, json={})
    chain = tmp / "chain.pem"
    pem = lambda ca: call("get", f"/v1/pki/ca/{ca['id']}/certificate", 200)["certificate_pem"]
    chain.write_text(pem(inter) + pem(root))
    yield {"srv": srv, "tmp": tmp, "call": call, "cred": cred, "gated": gated, "chain": chain, "inter": inter}
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)


def _start_https(srv, cafile):
    import time
    srv.proc = subprocess.Popen(
        [str(__import__("conftest").BIN), "serve", "--listen", f"127.0.0.1:{srv.port}", "--data-dir",
         str(srv.data_dir)], env=srv.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        try:
            if requests.get(srv.url + "/v1/health", verify=str(cafile), timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("certus (HTTPS) did not start")


def curl(e, path, *args, data=None):
    """curl as the device; returns (status, body bytes, headers text)."""
    tmp = e["tmp"]
    out, head = tmp / "out.bin", tmp / "head.txt"
    cmd = ["curl", "-sS", "--cacert", str(tmp / "tls.pem"), "-o", str(out), "-D", str(head),
           "-w", "%{http_code}", *args, e["srv"].url + path]
    if data is not None:
        cmd += ["-H", "Content-Type: application/pkcs10", "--data-binary", "@" + str(data)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return int(r.stdout), out.read_bytes(), head.read_text()


def device_csr(tmp, cn, key=None, name="dev", fmt="b64", san=None):
    """A CSR made by openssl, written base64 (with line breaks), raw DER or PEM."""
    keyf = key or tmp / f"{name}.key"
    if key is None:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(keyf))
    der = tmp / f"{name}.der"
    args = ["req", "-new", "-key", str(keyf), "-subj", f"/CN={cn}", "-outform", "DER", "-out", str(der)]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    openssl(*args)
    if fmt == "der":
        return der, keyf
    out = tmp / f"{name}.{fmt}"
    if fmt == "pem":
        openssl("req", "-inform", "DER", "-in", str(der), "-out", str(out))
    else:
        out.write_text(base64.encodebytes(der.read_bytes()).decode())
    return out, keyf


def certs_of(tmp, body, name):
    """The certificates of a base64 certs-only body, as a PEM file."""
    p7 = tmp / f"{name}.p7"
    p7.write_bytes(base64.b64decode(body))
    pem = tmp / f"{name}.pem"
    pem.write_text(openssl("pkcs7", "-inform", "DER", "-in", str(p7), "-print_certs").stdout)
    return pem


def basic(cred):
    return ["-u", f"{cred['username']}:{cred['password']}"]


def test_cacerts_is_the_label_chain(est):
    status, body, head = curl(est, "/.well-known/est/iot/cacerts")
    assert status == 200 and "application/pkcs7-mime; smime-type=certs-only" in head
    assert "content-transfer-encoding" not in head.lower()
    text = certs_of(est["tmp"], body, "cacerts").read_text()
    assert "subject=CN = EST Issuing" in text and "subject=CN = EST Root" in text


def test_csrattrs_decode(est):
    status, body, _ = curl(est, "/.well-known/est/iot/csrattrs")
    assert status == 200
    (est["tmp"] / "attrs.der").write_bytes(base64.b64decode(body))
    parsed = openssl("asn1parse", "-inform", "DER", "-in", str(est["tmp"] / "attrs.der")).stdout
    assert "id-ecPublicKey" in parsed and "prime256v1" in parsed and "ecdsa-with-SHA256" in parsed


@pytest.mark.parametrize("fmt", ["b64", "der", "pem"])
def test_simpleenroll_with_basic_auth_chains_and_lints(est, fmt):
    tmp = est["tmp"]
    csr, _ = device_csr(tmp, "a.devices.example.test", name=f"a-{fmt}", fmt=fmt)
    status, body, head = curl(est, "/.well-known/est/iot/simpleenroll", *basic(est["cred"]), data=csr)
    assert status == 200, body
    pem = certs_of(tmp, body, f"a-{fmt}")
    assert "OK" in openssl("verify", "-CAfile", str(est["chain"]), str(pem)).stdout
    clean = tmp / f"a-{fmt}.crt"
    openssl("x509", "-in", str(pem), "-out", str(clean))
    lint("lint_pkix_cert", str(clean))
    serial = openssl("x509", "-in", str(pem), "-noout", "-serial").stdout.strip().split("=")[1]
    listed = est["call"]("get", "/v1/pki/certificates", 200, params={"limit": 500})["data"]
    assert any(c["serial_number"].replace(":", "").lower() == serial.lower() for c in listed), "in the inventory"


def test_simplereenroll_needs_the_current_certificate(est):
    tmp = est["tmp"]
    csr, key = device_csr(tmp, "r.devices.example.test", name="r1")
    status, body, _ = curl(est, "/.well-known/est/iot/simpleenroll", *basic(est["cred"]), data=csr)
    assert status == 200
    current = certs_of(tmp, body, "r1")
    again, _ = device_csr(tmp, "r.devices.example.test", key=key, name="r2")
    status, body, _ = curl(est, "/.well-known/est/iot/simplereenroll", "--cert", str(current), "--key", str(key),
                           data=again)
    assert status == 200, body
    renewed = certs_of(tmp, body, "r2")
    subject = lambda p: openssl("x509", "-in", str(p), "-noout", "-subject").stdout
    assert subject(renewed) == subject(current)
    assert "OK" in openssl("verify", "-CAfile", str(est["chain"]), str(renewed)).stdout
    # No client certificate: refused. The replaced (now revoked) certificate: refused.
    status, body, _ = curl(est, "/.well-known/est/iot/simplereenroll", data=again)
    assert status == 401 and b"client certificate" in body
    status, body, _ = curl(est, "/.well-known/est/iot/simplereenroll", "--cert", str(current), "--key", str(key),
                           data=again)
    assert status == 403 and b"revoked" in body
    # A name the current certificate lacks: refused.
    wider, _ = device_csr(tmp, "other.devices.example.test", key=key, name="r3")
    status, body, _ = curl(est, "/.well-known/est/iot/simplereenroll", "--cert", str(renewed), "--key", str(key),
                           data=wider)
    assert status == 400 and b"subject" in body
    # The revocation shows in the CRL and OCSP.
    crl = tmp / "crl.der"
    r = requests.get(est["srv"].url + f"/v1/pki/ca/{est['inter']['id']}/crl", verify=str(tmp / "tls.pem"))
    crl.write_bytes(r.content)
    serial = openssl("x509", "-in", str(current), "-noout", "-serial").stdout.strip().split("=")[1]
    crl_text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert serial.upper() in crl_text.replace(":", "").upper() and "Superseded" in crl_text
    issuer = tmp / "issuer.pem"
    issuer.write_text(est["call"]("get", f"/v1/pki/ca/{est['inter']['id']}/certificate", 200)["certificate_pem"])
    ocsp = openssl("ocsp", "-issuer", str(issuer), "-cert", str(current), "-url", est["srv"].url + "/ocsp",
                   "-CAfile", str(est["chain"]), "-no_nonce").stdout
    assert f"{current}: revoked" in ocsp, ocsp


def test_serverkeygen_key_matches_its_certificate(est):
    tmp = est["tmp"]
    csr, _ = device_csr(tmp, "k.devices.example.test", name="k")
    status, body, head = curl(est, "/.well-known/est/iot/serverkeygen", *basic(est["cred"]), data=csr)
    assert status == 200 and "multipart/mixed" in head, body
    boundary = head.split("boundary=")[1].split()[0].strip()
    msg = email.message_from_bytes(f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode() + body)
    parts = {p.get_content_type(): p.get_payload() for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"application/pkcs8", "application/pkcs7-mime"}
    (tmp / "skg.key").write_bytes(base64.b64decode(parts["application/pkcs8"]))
    pem = certs_of(tmp, parts["application/pkcs7-mime"], "skg")
    key_pub = openssl("pkey", "-inform", "DER", "-in", str(tmp / "skg.key"), "-pubout").stdout
    cert_pub = openssl("x509", "-in", str(pem), "-noout", "-pubkey").stdout
    assert key_pub == cert_pub


def test_approval_gives_202_then_the_certificate(est):
    tmp = est["tmp"]
    csr, _ = device_csr(tmp, "g.devices.example.test", name="g")
    status, _, head = curl(est, "/.well-known/est/gated/simpleenroll", *basic(est["gated"]), data=csr)
    assert status == 202 and "retry-after:" in head.lower()
    status, _, _ = curl(est, "/.well-known/est/gated/simpleenroll", *basic(est["gated"]), data=csr)
    assert status == 202, "still waiting"
    csr_id = _pending_csr_id(est, "g.devices.example.test")
    est["call"]("post", f"/v1/pki/csr/{csr_id}/approve", 200)
    status, body, _ = curl(est, "/.well-known/est/gated/simpleenroll", *basic(est["gated"]), data=csr)
    assert status == 200
    assert "OK" in openssl("verify", "-CAfile", str(est["chain"]), str(certs_of(tmp, body, "g"))).stdout
    # A rejected one answers 403 with the reason.
    csr2, _ = device_csr(tmp, "h.devices.example.test", name="h")
    assert curl(est, "/.well-known/est/gated/simpleenroll", *basic(est["gated"]), data=csr2)[0] == 202
    est["call"]("post", f"/v1/pki/csr/{_pending_csr_id(est, 'h.devices.example.test')}/reject", 200,
                json={"reason": "unknown device"})
    status, body, _ = curl(est, "/.well-known/est/gated/simpleenroll", *basic(est["gated"]), data=csr2)
    assert status == 403 and b"unknown device" in body


def _pending_csr_id(est, cn):
    """The queued CSR's id, read from the audit of the queue (the CSR list is not an API)."""
    from conftest import PG_URL, psql
    query = f"SELECT id FROM csrs WHERE common_name = '{cn}' ORDER BY created_at DESC LIMIT 1"
    if PG_URL:
        return psql(est["srv"].data_dir, query).strip()
    import sqlite3
    with sqlite3.connect(Path(est["srv"].data_dir) / "certus.db") as db:
        return db.execute(query).fetchone()[0]


@pytest.mark.parametrize("case", ["wrong password", "garbage", "bad signature", "outside the role", "no auth"])
def test_refusals_are_4xx_plain_text_and_record_nothing(est, case):
    tmp = est["tmp"]
    before = len(est["call"]("get", "/v1/pki/certificates", 200, params={"limit": 1000})["data"])
    csr, _ = device_csr(tmp, "x.devices.example.test" if case != "outside the role" else "x.elsewhere.test",
                        name=f"x-{case.replace(' ', '-')}")
    args = basic(est["cred"])
    if case == "wrong password":
        args = ["-u", f"{est['cred']['username']}:nope"]
    elif case == "no auth":
        args = []
    elif case == "garbage":
        csr.write_text("%%% not base64 %%%")
    elif case == "bad signature":
        der = bytearray(base64.b64decode(csr.read_text()))
        der[-5] ^= 0xFF
        csr.write_text(base64.b64encode(bytes(der)).decode())
    status, body, head = curl(est, "/.well-known/est/iot/simpleenroll", *args, data=csr)
    expected = {"wrong password": 401, "no auth": 401, "garbage": 400, "bad signature": 400, "outside the role": 400}
    assert status == expected[case], (status, body)
    assert "text/plain" in head and body.strip(), "a plain-text reason"
    after = len(est["call"]("get", "/v1/pki/certificates", 200, params={"limit": 1000})["data"])
    assert after == before


def test_label_administration(est):
    call = est["call"]
    assert {l["label"] for l in call("get", "/v1/pki/est/labels", 200)} >= {"iot", "gated"}
    got = call("get", "/v1/pki/est/labels/iot", 200)
    assert got["role"] == "devices" and got["est_url"].endswith("/.well-known/est/iot")
    for body, status in [({"label": "iot", "role": "devices"}, 409),
                         ({"label": "nope", "role": "no-such-role"}, 404),
                         ({"label": "Bad Label", "role": "devices"}, 400),
                         ({"label": "cacerts", "role": "devices"}, 400),
                         ({"label": "both", "role": "devices", "ca_id": est["inter"]["id"]}, 400),
                         ({"label": 5, "role": "devices"}, 400)]:
        call("post", "/v1/pki/est/labels", status, json=body)
    call("post", "/v1/pki/est/labels", 201, json={"label": "main", "role": "devices", "default": True})
    call("post", "/v1/pki/est/labels", 409, json={"label": "main2", "role": "devices", "default": True})
    status, body, _ = curl(est, "/.well-known/est/cacerts")
    assert status == 200 and "EST Issuing" in certs_of(est["tmp"], body, "default").read_text()
    call("post", "/v1/pki/est/labels/main/credentials", 201, json={"username": "u"})
    call("post", "/v1/pki/est/labels/main/credentials", 409, json={"username": "u"})
    call("delete", "/v1/pki/est/labels/main", 204)
    assert curl(est, "/.well-known/est/cacerts")[0] == 404
    assert curl(est, "/.well-known/est/nope/cacerts")[0] == 404


def test_another_tenant_neither_sees_nor_uses_the_label(est):
    call = est["call"]
    tenant = call("post", "/v1/admin/tenants", 201, json={"name": unique("est-other")})
    token = call("post", "/v1/admin/tokens", 201, json={"tenant_id": tenant["id"], "name": "t",
                                                         "scopes": ["pki:issue", "pki:admin"]})["token"]
    other = {"Authorization": f"Bearer {token}"}
    verify = str(est["tmp"] / "tls.pem")
    r = requests.get(est["srv"].url + "/v1/pki/est/labels/iot", headers=other, verify=verify, timeout=30)
    assert r.status_code == 404
    assert requests.get(est["srv"].url + "/v1/pki/est/labels", headers=other, verify=verify, timeout=30).json() == []
    csr, _ = device_csr(est["tmp"], "t.devices.example.test", name="t")
    status, body, _ = curl(est, "/.well-known/est/iot/simpleenroll", "-H", f"Authorization: Bearer {token}", data=csr)
    assert status == 403 and b"another tenant" in body
