"""The OCSP responder, checked with the openssl ocsp client and pkilint."""
import base64
import re
import subprocess

import pytest

from conftest import BOOTSTRAP_TOKEN, Client, Server, make_hierarchy, make_role, openssl, unique, write
from test_lint import lint


@pytest.fixture()
def pki(admin, tmp):
    root, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    issue = lambda cn: admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": cn})
    first = issue("a.example.test")
    files = {
        "int": write(tmp / "int.pem", first["ca_chain"][0]),
        "chain": write(tmp / "chain.pem", first["ca_chain"][0] + first["ca_chain"][1]),
    }
    return admin, issue, files, first


def ocsp(url, files, *certs, extra=(), check=True):
    args = ["ocsp", "-issuer", files["int"], "-url", url + "/ocsp", "-CAfile", files["chain"], *extra]
    for c in certs:
        args += ["-cert", c]
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stderr
    return r.stdout + r.stderr


def test_good_then_revoked_with_reason(pki, server, tmp):
    admin, issue, files, first = pki
    leaf = write(tmp / "leaf.pem", first["certificate"])
    assert f"OCSP - URI:{server.url}/ocsp" in openssl("x509", "-in", leaf, "-noout", "-text").stdout
    out = ocsp(server.url, files, leaf)
    assert "Response verify OK" in out and f"{leaf}: good" in out
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": first["serial_number"], "reason": "key_compromise"})
    for digest in ([], ["-sha256"]):
        args = ["ocsp", *digest, "-issuer", files["int"], "-cert", leaf, "-url", server.url + "/ocsp",
                "-CAfile", files["chain"], "-resp_text"]
        out = openssl(*args).stdout
        assert "Cert Status: revoked" in out and "keyCompromise" in out
        assert ("sha256" if digest else "sha1") in out.split("Hash Algorithm:")[1].split()[0]
        assert "OCSP Nonce" in out  # the client's nonce is echoed (openssl also checks it matches)


def test_several_certids_unknown_and_nonce(pki, server, tmp):
    admin, issue, files, first = pki
    a = write(tmp / "a.pem", first["certificate"])
    b_issued = issue("b.example.test")
    b = write(tmp / "b.pem", b_issued["certificate"])
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": b_issued["serial_number"], "reason": "superseded"})
    out = ocsp(server.url, files, a, b)
    assert f"{a}: good" in out and f"{b}: revoked" in out and "Response verify OK" in out
    out = ocsp(server.url, files, extra=["-serial", "0x0123456789"])
    assert "0x0123456789: unknown" in out


def test_get_cache_and_invalidation_on_revoke(pki, server, tmp):
    admin, issue, files, first = pki
    c = issue("cached.example.test")
    leaf = write(tmp / "c.pem", c["certificate"])
    req = tmp / "req.der"
    openssl("ocsp", "-issuer", files["int"], "-cert", leaf, "-no_nonce", "-reqout", str(req))
    path = "/ocsp/" + base64.b64encode(req.read_bytes()).decode()
    anon = Client(server.url)

    def status():
        r = anon.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == "application/ocsp-response"
        resp = tmp / "resp.der"
        resp.write_bytes(r.content)
        out = openssl("ocsp", "-respin", str(resp), "-issuer", files["int"], "-CAfile", files["chain"],
                      "-cert", leaf, "-resp_text").stdout
        return re.search(r"Cert Status: (\w+)", out)[1], r.headers["cache-control"], resp

    # Cacheable both times; the second answer comes from the cache, so its max-age counts down
    # from the first's (comparing the two headers failed whenever a second ticked over between).
    (first_status, first_cache, _), (again_status, again_cache, _) = status(), status()
    ages = [int(re.search(r"max-age=(\d+)", h)[1]) for h in (first_cache, again_cache)]
    assert (first_status, again_status) == ("good", "good")
    assert 0 < ages[1] <= ages[0] <= 300, (first_cache, again_cache)
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"], "reason": "cessation_of_operation"})
    st, _, resp = status()
    assert st == "revoked", "a revocation must retire the cached good answer"
    lint("lint_ocsp_response", str(resp))


def test_errors_are_ocsp_statuses(server, tmp):
    anon = Client(server.url)
    r = anon.post("/ocsp", data=b"not an ocsp request", headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200 and r.content == bytes.fromhex("30030a0101")  # malformedRequest
    assert anon.get("/ocsp/%%%not-base64").content == bytes.fromhex("30030a0101")
    # A CA we do not run: unauthorized.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(tmp / "k"), "-out", str(tmp / "other.pem"), "-subj", "/CN=Other", "-days", "1")
    openssl("ocsp", "-issuer", str(tmp / "other.pem"), "-serial", "0x01", "-reqout", str(tmp / "q.der"))
    r = anon.post("/ocsp", data=(tmp / "q.der").read_bytes())
    assert r.content == bytes.fromhex("30030a0106")  # unauthorized


def test_responder_certificate_profile(pki, server, tmp):
    admin, issue, files, first = pki
    leaf = write(tmp / "leaf.pem", first["certificate"])
    out = openssl("ocsp", "-issuer", files["int"], "-cert", leaf, "-url", server.url + "/ocsp",
                  "-CAfile", files["chain"], "-resp_text").stdout
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out, re.S)[0]
    text = openssl("x509", "-noout", "-text", input=pem).stdout
    assert "OCSP Signing" in text and "OCSP No Check" in text and "CA:FALSE" in text
    lint("lint_pkix_cert", write(tmp / "responder.pem", pem))


def test_ca_signed_responses(tmp):
    srv = Server(tmp / "d", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_OCSP_SIGNER": "ca"}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        c = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "x.example.test"})
        files = {"int": write(tmp / "int.pem", c["ca_chain"][0]),
                 "chain": write(tmp / "chain.pem", c["ca_chain"][0] + c["ca_chain"][1])}
        leaf = write(tmp / "leaf.pem", c["certificate"])
        out = ocsp(srv.url, files, leaf, extra=["-resp_text"])
        assert "Response verify OK" in out and "Responder Id: CN = Test Issuing CA" in out
        assert "BEGIN CERTIFICATE" not in out
    finally:
        srv.stop()


def test_requests_are_capped_at_20_certids_and_64_kib(pki, server, tmp):
    """One anonymous request may not buy thousands of lookups: over 20 CertIDs (or 64 KiB) is
    malformedRequest, answered without signing; 20 are answered."""
    admin, issue, files, first = pki
    serials = []
    for n in range(21):
        serials += ["-serial", hex(0x1000 + n)]
    openssl("ocsp", "-issuer", files["int"], *serials, "-no_nonce", "-reqout", str(tmp / "21.der"))
    anon = Client(server.url)
    r = anon.post("/ocsp", data=(tmp / "21.der").read_bytes(), headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200 and r.content == bytes.fromhex("30030a0101")
    path = "/ocsp/" + base64.b64encode((tmp / "21.der").read_bytes()).decode()
    assert anon.get(path).content == bytes.fromhex("30030a0101"), "the GET form is capped the same way"
    openssl("ocsp", "-issuer", files["int"], *serials[:40], "-no_nonce", "-reqout", str(tmp / "20.der"))
    r = anon.post("/ocsp", data=(tmp / "20.der").read_bytes(), headers={"Content-Type": "application/ocsp-request"})
    (tmp / "20.resp").write_bytes(r.content)
    out = openssl("ocsp", "-respin", str(tmp / "20.resp"), "-issuer", files["int"], "-CAfile", files["chain"],
                  "-resp_text", "-noverify").stdout
    assert out.count("Cert Status: unknown") == 20, out
    big = b"\x30\x83\x01\x00\x00" + b"\x00" * 0x10000
    r = anon.post("/ocsp", data=big, headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200 and r.content == bytes.fromhex("30030a0101")


def test_hold_release_and_ca_revocation_show_at_once_with_nonce(pki, server, tmp):
    """Signed-per-request answers (openssl sends a nonce) reflect every kind of revocation the
    moment it is acknowledged, through any door: a hold, its release, and the CA's revocation."""
    admin, issue, files, first = pki
    held = issue("held.example.test")
    leaf = write(tmp / "held.pem", held["certificate"])
    sn = held["serial_number"]

    def status():
        out = ocsp(server.url, files, leaf, extra=["-resp_text"])
        assert "Response verify OK" in out and "OCSP Nonce" in out, out
        return re.search(r"Cert Status: (\w+)", out)[1]

    assert status() == "good"
    admin.ok("put", f"/api/ca/v1/certificates/{sn}/status",
             json={"status": "REVOKED", "revocation_reason": "CertificateHold"})
    assert status() == "revoked"
    admin.ok("put", f"/api/ca/v1/certificates/{sn}/status", json={"status": "ACTIVE"})
    assert status() == "good"
    ca_id = admin.ok("get", f"/v1/pki/certificates/{held['certificate_id']}")["issuer_ca_id"]
    admin.ok("post", f"/v1/pki/ca/{ca_id}/revoke", json={"reason": "ca_compromise"})
    assert status() == "revoked"
