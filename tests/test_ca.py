"""CAs: create, defaults, errors, public certificate and CRL downloads."""
import os

import pytest

from conftest import Client, assert_error, make_hierarchy, openssl, unique, write


def test_root_defaults_and_fields(admin):
    ca = admin.ok("post", "/v1/pki/ca", 201, json={
        "name": unique("r"), "common_name": "Default Root", "ca_type": "root"})
    assert ca["key_type"] == "rsa" and ca["key_size"] == 2048
    assert ca["ca_type"] == "root" and ca["is_active"] is True and ca["certificates_issued"] == 0
    for f in ("id", "valid_from", "valid_until", "created_at"):
        assert ca[f]
    assert ca["valid_from"].endswith("Z")
    # 3650 days by default for a root.
    from datetime import datetime
    span = datetime.fromisoformat(ca["valid_until"].replace("Z", "+00:00")) - datetime.fromisoformat(
        ca["valid_from"].replace("Z", "+00:00"))
    assert span.days == 3650
    assert admin.ok("get", f"/v1/pki/ca/{ca['id']}") == ca
    assert any(c["id"] == ca["id"] for c in admin.ok("get", "/v1/pki/ca")["data"])


def test_intermediate_defaults_to_1825_days_and_pathlen_0(admin, tmp):
    root, inter = make_hierarchy(admin)
    from datetime import datetime
    span = datetime.fromisoformat(inter["valid_until"][:-1]) - datetime.fromisoformat(inter["valid_from"][:-1])
    assert span.days == 1825
    assert inter["parent_ca_id"] == root["id"] and inter["path_length"] == 0
    # The parent counts the intermediate among the certificates it issued.
    assert admin.ok("get", f"/v1/pki/ca/{root['id']}")["certificates_issued"] == 1
    pem = admin.ok("get", f"/v1/pki/ca/{inter['id']}/certificate")["certificate_pem"]
    text = openssl("x509", "-noout", "-text", input=pem).stdout
    assert "CA:TRUE, pathlen:0" in text and "Certificate Sign, CRL Sign" in text


@pytest.mark.parametrize("key_type,key_size,alg", [
    ("rsa", 2048, "rsaEncryption"), ("rsa", 4096, "rsaEncryption"), ("ec", 256, "prime256v1"),
    ("ec", 384, "secp384r1"), ("ec", 521, "secp521r1"), ("ed25519", None, "ED25519")])
def test_key_types(admin, key_type, key_size, alg):
    body = {"name": unique("k"), "common_name": "Key Test", "ca_type": "root", "key_type": key_type}
    if key_size:
        body["key_size"] = key_size
    ca = admin.ok("post", "/v1/pki/ca", 201, json=body)
    pem = admin.ok("get", f"/v1/pki/ca/{ca['id']}/certificate")["certificate_pem"]
    assert alg in openssl("x509", "-noout", "-text", input=pem).stdout


def test_ca_errors(admin):
    base = {"name": unique("e"), "common_name": "E", "ca_type": "root"}
    assert_error(admin.post("/v1/pki/ca", {**base, "ca_type": "leaf"}), 400, "ca_type")
    assert_error(admin.post("/v1/pki/ca", {**base, "key_type": "dsa"}), 400, "key_type")
    assert_error(admin.post("/v1/pki/ca", {**base, "key_type": "ec", "key_size": 1024}), 400, "EC key size")
    assert_error(admin.post("/v1/pki/ca", {**base, "validity_days": 0}), 400, "validity_days")
    assert_error(admin.post("/v1/pki/ca", {k: v for k, v in base.items() if k != "name"}), 400, "name")
    assert_error(admin.post("/v1/pki/ca", {**base, "key_size": "big"}), 400)
    assert_error(admin.post("/v1/pki/ca", {**base, "ca_type": "intermediate"}), 400, "parent_ca_id")
    assert_error(admin.post("/v1/pki/ca", {**base, "ca_type": "intermediate", "parent_ca_id": "ca_nope"}), 404)
    r = admin.s.post(admin.url + "/v1/pki/ca", data="{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400)
    assert_error(admin.get("/v1/pki/ca/ca_missing"), 404)
    # Names are unique per tenant.
    admin.ok("post", "/v1/pki/ca", 201, json={**base, "key_type": "ec"})
    assert_error(admin.post("/v1/pki/ca", {**base, "key_type": "ec"}), 409, "already exists")


def test_intermediate_under_pathlen_zero_is_refused(admin):
    _, inter = make_hierarchy(admin)
    r = admin.post("/v1/pki/ca", {"name": unique("sub"), "common_name": "Sub", "ca_type": "intermediate",
                                   "parent_ca_id": inter["id"], "key_type": "ec"})
    assert_error(r, 400, "path_length")


def test_public_downloads_need_no_token(admin, server, tmp):
    root, inter = make_hierarchy(admin)
    anon = Client(server.url)
    pem = anon.ok("get", f"/v1/pki/ca/{root['id']}/certificate")["certificate_pem"]
    der = anon.get(f"/v1/pki/ca/{root['id']}/certificate.der")
    assert der.headers["content-type"] == "application/pkix-cert"
    assert openssl("x509", "-inform", "DER", "-outform", "PEM", input=der.content).stdout.decode().strip() == pem.strip()
    crl = anon.get(f"/v1/pki/ca/{inter['id']}/crl")
    assert crl.status_code == 200 and crl.headers["content-type"] == "application/pkix-crl"
    crl_file = tmp / "c.der"
    crl_file.write_bytes(crl.content)
    write(tmp / "root.pem", pem)
    openssl("crl", "-inform", "DER", "-in", str(crl_file), "-noout", "-CAfile",
            write(tmp / "int.pem", admin.ok("get", f"/v1/pki/ca/{inter['id']}/certificate")["certificate_pem"]))
    crl_pem = anon.get(f"/v1/pki/ca/{inter['id']}/crl", headers={"Accept": "application/x-pem-file"})
    assert crl_pem.headers["content-type"] == "application/x-pem-file"
    assert crl_pem.text.startswith("-----BEGIN X509 CRL-----")
    # Everything else needs a token.
    assert_error(anon.get(f"/v1/pki/ca/{root['id']}"), 401)
    assert_error(anon.post(f"/v1/pki/ca/{inter['id']}/crl"), 401)


def test_forced_crl_regeneration_increments_number(admin):
    _, inter = make_hierarchy(admin)
    a = admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")
    b = admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")
    assert b["crl_number"] > a["crl_number"]
    assert b["crl_pem"].startswith("-----BEGIN X509 CRL-----") and b["next_update"] > b["this_update"]
    assert_error(admin.post("/v1/pki/ca/ca_missing/crl"), 404)


def test_nul_characters_never_cause_a_server_error(admin):
    # PostgreSQL refuses NUL in text: that is the caller's input, so a 400 and nothing stored.
    # SQLite stores it; then the name must come back exactly as sent, not cut at the NUL.
    name = unique("nul") + "\u0000x"
    r = admin.post("/v1/pki/ca", {"name": name, "common_name": "R", "ca_type": "root", "key_type": "ec"})
    names = [c["name"] for c in admin.ok("get", "/v1/pki/ca", params={"limit": 1000})["data"]]
    if os.environ.get("CERTUS_TEST_PG_URL"):
        assert_error(r, 400, "NUL")
        assert name not in names
        assert_error(admin.post("/v1/admin/tenants", {"name": "t\u0000"}), 400, "NUL")
    else:
        assert r.status_code == 201 and r.json()["name"] == name, r.text
        assert name in names
