"""Roles, issue and sign: policy enforcement and chains that openssl accepts."""
import pytest

from conftest import assert_error, make_csr, make_hierarchy, make_role, openssl, unique, write
from test_lint import lint


def verify_chain(tmp, issued):
    """openssl verify -x509_strict: root (last of ca_chain) → intermediates → leaf."""
    chain = issued["ca_chain"]
    root = write(tmp / "root.pem", chain[-1])
    untrusted = write(tmp / "untrusted.pem", "".join(chain[:-1]))
    leaf = write(tmp / "leaf.pem", issued["certificate"])
    r = openssl("verify", "-x509_strict", "-CAfile", root, "-untrusted", untrusted, leaf)
    assert r.stdout.strip().endswith("OK")
    return leaf


def test_role_crud(admin):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec", key_bits=256, store_private_keys=True)
    assert role["allowed_domains"] == ["example.test"] and role["max_ttl"] == "720h"
    assert role["require_cn"] is True and role["store_private_keys"] is True
    assert admin.ok("get", f"/v1/pki/roles/{role['name']}") == role
    patched = admin.ok("patch", f"/v1/pki/roles/{role['name']}", json={"max_ttl": "24h", "allow_ip_sans": False})
    assert patched["max_ttl"] == "24h" and patched["allow_ip_sans"] is False and patched["key_type"] == "ec"
    assert any(r["name"] == role["name"] for r in admin.ok("get", "/v1/pki/roles")["data"])
    assert_error(admin.post("/v1/pki/roles", {"name": role["name"], "ca_id": inter["id"]}), 409)
    assert_error(admin.post("/v1/pki/roles", {"name": unique("x"), "ca_id": "ca_nope"}), 404, "CA")
    assert_error(admin.post("/v1/pki/roles", {"name": unique("x"), "ca_id": inter["id"], "max_ttl": "soon"}), 400, "duration")
    assert_error(admin.post("/v1/pki/roles", {"name": unique("x"), "ca_id": inter["id"], "key_type": "ec", "key_bits": 2048}), 400)
    assert_error(admin.post("/v1/pki/roles", {"name": unique("x"), "ca_id": inter["id"], "allowed_domains": ["bad domain"]}), 400)
    assert admin.delete(f"/v1/pki/roles/{role['name']}").status_code == 204
    assert_error(admin.get(f"/v1/pki/roles/{role['name']}"), 404)
    assert_error(admin.delete(f"/v1/pki/roles/{role['name']}"), 404)


@pytest.mark.parametrize("key_type,bits", [("rsa", 2048), ("ec", 256), ("ec", 384), ("ed25519", None)])
def test_issue_chain_verifies_with_openssl(admin, tmp, key_type, bits):
    _, inter = make_hierarchy(admin, key_type, bits)
    role = make_role(admin, inter["id"], key_type=key_type, key_bits=bits)
    issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={
        "common_name": "api.example.test", "alt_names": ["www.example.test"], "ip_sans": ["10.0.5.100"], "ttl": "168h"})
    form = "EC PRIVATE KEY" if key_type == "ec" else "PRIVATE KEY"  # SEC1 for EC, as the document shows
    assert issued["private_key"].startswith(f"-----BEGIN {form}-----")
    assert len(issued["serial_number"].split(":")) == 20 and int(issued["serial_number"][:2], 16) < 0x80
    assert issued["not_after"].endswith("Z") and len(issued["ca_chain"]) == 2
    leaf = verify_chain(tmp, issued)
    text = openssl("x509", "-in", leaf, "-noout", "-text").stdout
    for needle in ("DNS:api.example.test", "DNS:www.example.test", "IP Address:10.0.5.100",
                   "TLS Web Server Authentication, TLS Web Client Authentication", "X509v3 Subject Key Identifier",
                   "X509v3 Authority Key Identifier", f"/v1/pki/ca/{inter['id']}/crl", "CA Issuers - URI:"):
        assert needle in text, needle
    # The key returned matches the certificate.
    key = write(tmp / "key.pem", issued["private_key"])
    pub_cert = openssl("x509", "-in", leaf, "-noout", "-pubkey").stdout
    pub_key = openssl("pkey", "-in", key, "-pubout").stdout
    assert pub_cert == pub_key


def test_issue_policy_violations(admin):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], allowed_domains=["*.svc.cluster.local"], allow_subdomains=False,
                     allow_ip_sans=False, key_type="ec", key_bits=256)
    path = f"/v1/pki/issue/{role['name']}"
    assert_error(admin.post(path, {"common_name": "evil.example.com"}), 400, "allowed_domains")
    assert_error(admin.post(path, {"common_name": "a.b.svc.cluster.local"}), 400, "allowed_domains")
    assert_error(admin.post(path, {"common_name": "x.svc.cluster.local", "alt_names": ["evil.org"]}), 400, "evil.org")
    assert_error(admin.post(path, {"common_name": "x.svc.cluster.local", "ip_sans": ["10.0.0.1"]}), 400, "allow_ip_sans")
    assert_error(admin.post(path, {"common_name": "x.svc.cluster.local", "ip_sans": ["not-an-ip"]}), 400, "IP")
    assert_error(admin.post(path, {"common_name": "x.svc.cluster.local", "ttl": "1000h"}), 400, "max_ttl")
    assert_error(admin.post(path, {"common_name": "x.svc.cluster.local", "ttl": "forever"}), 400, "duration")
    assert_error(admin.post(path, {"alt_names": ["x.svc.cluster.local"]}), 400, "require_cn")
    assert_error(admin.post(path, {"common_name": 42}), 400)
    assert_error(admin.post("/v1/pki/issue/no-such-role", {"common_name": "x.svc.cluster.local"}), 404, "role")
    ok = admin.ok("post", path, 201, json={"common_name": "x.svc.cluster.local"})
    assert ok["serial_number"]


def test_subdomains_and_ttl_cap(admin, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], allowed_domains=["example.test"], allow_subdomains=True, max_ttl="48h",
                     key_type="ec")
    issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "deep.a.example.test"})
    leaf = write(tmp / "l.pem", issued["certificate"])
    dates = openssl("x509", "-in", leaf, "-noout", "-startdate", "-enddate").stdout
    from datetime import datetime
    nb, na = [datetime.strptime(l.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT") for l in dates.strip().splitlines()]
    assert (na - nb).total_seconds() == 48 * 3600  # default TTL is capped by max_ttl


def test_sign_csr(admin, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec", key_bits=256)
    path = f"/v1/pki/sign/{role['name']}"
    csr, key = make_csr(tmp, "svc.example.test", ["DNS:alt.example.test", "IP:192.0.2.7"])
    signed = admin.ok("post", path, 201, json={"csr_pem": csr, "ttl": "24h"})
    assert "private_key" not in signed
    leaf = verify_chain(tmp, signed)
    text = openssl("x509", "-in", leaf, "-noout", "-text").stdout
    assert "DNS:svc.example.test" in text and "DNS:alt.example.test" in text and "IP Address:192.0.2.7" in text
    # The certificate certifies the CSR's key.
    assert openssl("x509", "-in", leaf, "-noout", "-pubkey").stdout == openssl(
        "pkey", "-in", write(tmp / "k.pem", key), "-pubout").stdout

    rsa_csr, _ = make_csr(tmp, "svc.example.test", key="2048")
    assert_error(admin.post(path, {"csr_pem": rsa_csr}), 400, "ec")
    outside, _ = make_csr(tmp, "svc.elsewhere.org")
    assert_error(admin.post(path, {"csr_pem": outside}), 400, "allowed_domains")
    no_cn, _ = make_csr(tmp, None, ["DNS:a.example.test"])
    assert_error(admin.post(path, {"csr_pem": no_cn}), 400, "require_cn")
    assert_error(admin.post(path, {"csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}), 400, "CSR")
    assert_error(admin.post(path, {"csr_pem": "garbage"}), 400, "PEM")
    assert_error(admin.post(path, {"csr_pem": signed["certificate"]}), 400, "CERTIFICATE REQUEST")
    # Flip one byte of the signature: proof of possession fails.
    import base64
    raw = bytearray(base64.b64decode("".join(l for l in csr.splitlines() if "-----" not in l)))
    raw[-3] ^= 0xFF
    bad = "-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(raw)).decode() + "-----END CERTIFICATE REQUEST-----\n"
    assert_error(admin.post(path, {"csr_pem": bad}), 400, "signature")


def test_name_override_on_sign(admin, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"])
    csr, _ = make_csr(tmp, "orig.example.test")
    signed = admin.ok("post", f"/v1/pki/sign/{role['name']}", 201, json={
        "csr_pem": csr, "common_name": "other.example.test", "alt_names": []})
    text = openssl("x509", "-noout", "-text", input=signed["certificate"]).stdout
    assert "other.example.test" in text and "orig.example.test" not in text


def test_p521_and_rsa3072_hierarchies(admin, tmp):
    for kt, bits in (("ec", 521), ("rsa", 3072)):
        _, inter = make_hierarchy(admin, kt, bits)
        role = make_role(admin, inter["id"], key_type=kt, key_bits=bits)
        issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "p.example.test"})
        verify_chain(tmp, issued)
        v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": issued["certificate"]})
        assert v["valid"] and v["trusted_anchor"] == inter["id"], v


def test_p521_csr_signed_with_sha256(admin, tmp):
    """openssl signs P-521 CSRs with ecdsa-with-SHA256 by default; that is a valid CSR."""
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec", key_bits=521)
    csr = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes", "-keyout",
                  str(tmp / "k"), "-subj", "/CN=p521.example.test").stdout
    verify_chain(tmp, admin.ok("post", f"/v1/pki/sign/{role['name']}", 201, json={"csr_pem": csr}))


def test_the_common_name_is_written_as_its_san_entry(admin, tmp):
    """A CN is one of the certificate's names: it is spelled as its SAN entry is (no trailing
    dot, canonical address; case kept, names compare case-insensitively)."""
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    for asked, written, san in [("  WWW.Example.TEST. ", "WWW.Example.TEST", "DNS:www.example.test"),
                                ("2001:DB8:0::1", "2001:db8::1", "IP Address:2001:DB8:0:0:0:0:0:1")]:
        issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": asked})
        text = openssl("x509", "-noout", "-subject", "-ext", "subjectAltName", "-nameopt", "RFC2253",
                       input=issued["certificate"]).stdout
        assert f"subject=CN={written}\n" in text and text.split("Name: \n")[1].strip() == san, text
        lint("lint_pkix_cert", write(tmp / "cn.pem", issued["certificate"]))


def test_an_address_among_alt_names_is_an_ip_san(admin):
    _, inter = make_hierarchy(admin)
    strict = make_role(admin, inter["id"], key_type="ec", allow_ip_sans=False)
    body = {"common_name": "a.example.test", "alt_names": ["b.example.test", "192.0.2.9"]}
    assert_error(admin.post(f"/v1/pki/issue/{strict['name']}", body), 400, "IP SANs")
    role = make_role(admin, inter["id"], key_type="ec", allow_ip_sans=True)
    issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json=body)
    san = openssl("x509", "-noout", "-ext", "subjectAltName", input=issued["certificate"]).stdout
    assert san.split("Name: \n")[1].strip() == "DNS:a.example.test, DNS:b.example.test, IP Address:192.0.2.9", san
