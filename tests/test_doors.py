"""What real clients of each product tripped on (issue 17): ScaiVault's SEC1 EC keys, CA
revocation and an empty chain_pem; FastPKI's organisation echo and typed audit filter; Lamassu's
string fields that its Go SDK cannot read as null."""
import pytest

from conftest import Client, make_hierarchy, make_role, openssl, unique, write


@pytest.mark.parametrize("key_type,bits,form", [("ec", 256, "EC PRIVATE KEY"), ("ec", 384, "EC PRIVATE KEY"),
                                                ("rsa", 2048, "PRIVATE KEY"), ("ed25519", 256, "PRIVATE KEY")])
def test_scaivault_keys_come_in_the_documents_form(admin, tmp, key_type, bits, form):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type=key_type, key_bits=bits, store_private_keys=True)
    issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "k.example.test"})
    key = issued["private_key"]
    assert key.startswith(f"-----BEGIN {form}-----"), key[:40]
    exported = admin.ok("post", f"/v1/pki/certificates/{issued['certificate_id']}/private-key")["private_key"]
    assert exported == key
    keyf, certf = write(tmp / "k.pem", key), write(tmp / "c.pem", issued["certificate"])
    if form == "EC PRIVATE KEY":
        assert "EC Key valid" in openssl("ec", "-in", keyf, "-check", "-noout").stderr + \
            openssl("ec", "-in", keyf, "-check", "-noout").stdout
    key_pub = openssl("pkey", "-in", keyf, "-pubout").stdout
    assert key_pub == openssl("x509", "-in", certf, "-noout", "-pubkey").stdout


def test_scaivault_ca_revoke(admin, tmp):
    root, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    leaf = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "l.example.test"})
    revoked = admin.ok("post", f"/v1/pki/ca/{inter['id']}/revoke", json={"reason": "ca_compromise"})
    assert revoked["is_revoked"] is True and revoked["is_active"] is False
    r = admin.post(f"/v1/pki/ca/{inter['id']}/revoke", json={})
    assert r.status_code == 409, r.text
    # It signs nothing more.
    r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "m.example.test"})
    assert r.status_code == 400 and "revoked" in r.json()["error"]["message"], r.text
    # Its certificate is in its parent's CRL, with the reason; OCSP says revoked.
    rootf = write(tmp / "root.pem", admin.ok("get", f"/v1/pki/ca/{root['id']}/certificate")["certificate_pem"])
    interf = write(tmp / "int.pem", admin.ok("get", f"/v1/pki/ca/{inter['id']}/certificate")["certificate_pem"])
    crl = tmp / "root.crl"
    crl.write_bytes(admin.get(f"/v1/pki/ca/{root['id']}/crl").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    inter_serial = openssl("x509", "-in", interf, "-noout", "-serial").stdout.strip().split("=")[1]
    assert inter_serial in text.replace(":", "").upper() and "CA Compromise" in text
    out = openssl("ocsp", "-issuer", rootf, "-cert", interf, "-url", admin.url + "/ocsp", "-CAfile", rootf,
                  "-no_nonce").stdout
    assert f"{interf}: revoked" in out, out
    # Its own CRL stays served and lists what it issued.
    r = admin.get(f"/v1/pki/ca/{inter['id']}/crl")
    assert r.status_code == 200
    (tmp / "int.crl").write_bytes(r.content)
    own = openssl("crl", "-inform", "DER", "-in", str(tmp / "int.crl"), "-noout", "-text").stdout
    assert leaf["serial_number"].replace(":", "") in own.replace(":", "").upper()
    assert admin.post("/v1/pki/ca/ca_nope/revoke", json={}).status_code == 404


def test_validate_treats_an_empty_chain_pem_as_absent(admin):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    leaf = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "v.example.test"})
    for chain in ("", "  \n"):
        v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": leaf["certificate"],
                                                                       "chain_pem": chain})
        assert "valid" in v


def test_fastpki_user_create_echoes_its_organisation(server):
    from conftest import BOOTSTRAP_TOKEN
    su = Client(server.url + "/api/v1", BOOTSTRAP_TOKEN)
    org = su.ok("post", "/organizations/", 201, json={"name": unique("org")})["id"]
    name = unique("member")
    made = su.ok("post", "/users/", 201, json={"username": name, "email": f"{name}@example.com",
                                               "password": "password1", "organization_id": org})
    assert made["organization_id"] == org
    assert su.ok("get", f"/users/{made['id']}")["organization_id"] == org


def test_fastpki_audit_action_is_typed(server):
    from conftest import BOOTSTRAP_TOKEN
    su = Client(server.url + "/api/v1", BOOTSTRAP_TOKEN)
    r = su.get("/audit-logs/", params={"action": "no_such_action"})
    assert r.status_code == 422 and "action" in str(r.json()["detail"]), r.text
    assert su.get("/audit-logs/", params={"action": "user_create"}).status_code == 200


def test_lamassu_never_sends_null_where_its_sdk_reads_a_string(admin):
    pid = unique("p")
    admin.ok("post", "/api/ca/v1/profiles", 201, json={"id": pid, "name": "p",
                                                        "validity": {"type": "Duration", "duration": "1y"}})
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={"profile_id": pid, "subject": {"common_name": "Lamassu Root"},
                                                        "ca_expiration": {"type": "Duration", "duration": "5y"}})
    for field in ("profile_id", "type", "engine_id"):
        assert isinstance(ca[field], str), (field, ca)
    cert = ca["certificate"]
    for field in ("revocation_reason", "revocation_timestamp", "type", "engine_id"):
        assert isinstance(cert[field], str), (field, cert)
    assert cert["revocation_timestamp"] == "0001-01-01T00:00:00Z" and cert["revocation_reason"] == "Unspecified"
    _, inter = make_hierarchy(admin)
    listed = admin.ok("get", "/v1/pki/ca")
    plain = next(c for c in (listed["data"] if isinstance(listed, dict) else listed) if c["id"] == inter["id"])
    got = admin.ok("get", f"/api/ca/v1/cas/{plain['id']}")
    assert isinstance(got["profile_id"], str), got
