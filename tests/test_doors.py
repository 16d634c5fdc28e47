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


def test_lamassu_filter_operators_over_one_dataset(admin):
    pid = unique("p")
    admin.ok("post", "/api/ca/v1/profiles", 201, json={"id": pid, "name": "p",
                                                        "validity": {"type": "Duration", "duration": "1y"}})
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={"profile_id": pid, "subject": {"common_name": unique("Ops Root")},
                                                        "ca_expiration": {"type": "Duration", "duration": "5y"}})
    role = make_role(admin, ca["id"], key_type="ec", allowed_domains=["example.test", "other.test"])
    serial = {}
    for cn in ("alpha.example.test", "Beta.example.test", "gamma.other.test"):
        serial[cn] = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": cn})["serial_number"]
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": serial["gamma.other.test"], "reason": "superseded"})
    every = {"alpha.example.test", "Beta.example.test", "gamma.other.test"}
    table = [
        ("subject.common_name[eq]alpha.example.test", {"alpha.example.test"}),
        ("subject.common_name[equal]beta.example.test", set()),
        ("subject.common_name[eq_ic]beta.example.test", {"Beta.example.test"}),
        ("subject.common_name[equal_ignorecase]BETA.EXAMPLE.TEST", {"Beta.example.test"}),
        ("subject.common_name[ne]alpha.example.test", {"Beta.example.test", "gamma.other.test"}),
        ("subject.common_name[ne_ic]BETA.example.test", {"alpha.example.test", "gamma.other.test"}),
        ("subject.common_name[ct]example", {"alpha.example.test", "Beta.example.test"}),
        ("subject.common_name[contains]EXAMPLE", set()),
        ("subject.common_name[ct_ic]EXAMPLE", {"alpha.example.test", "Beta.example.test"}),
        ("subject.common_name[nc]example", {"gamma.other.test"}),
        ("subject.common_name[notcontains]Example", every),
        ("subject.common_name[nc_ic]EXAMPLE", {"gamma.other.test"}),
        ("subject.common_name[in]alpha.example.test,gamma.other.test", {"alpha.example.test", "gamma.other.test"}),
        ("subject.common_name[in_ic]ALPHA.example.test,,", {"alpha.example.test"}),
        ("subject.common_name[nin]alpha.example.test", {"Beta.example.test", "gamma.other.test"}),
        ("subject.common_name[nin_ic]BETA.EXAMPLE.TEST,ALPHA.EXAMPLE.TEST", {"gamma.other.test"}),
        ("status[eq]REVOKED", {"gamma.other.test"}),
        ("status[in]ACTIVE,EXPIRED", {"alpha.example.test", "Beta.example.test"}),
        ("valid_from[bf]2999-01-01T00:00:00Z", every),
        ("valid_from[af]2999-01-01T00:00:00Z", set()),
        ("extensions.key_usage[ct]DigitalSignature", every),
        ("extensions.key_usage[ct]CRLSign", set()),
        ("extensions.extended_key_usage[ct_ic]serverauth", every),
        ("revocation_reason[eq]Superseded", {"gamma.other.test"}),
        ("is_ca[eq]false", every),
    ]
    path = f"/api/ca/v1/cas/{ca['id']}/certificates"
    for flt, expected in table:
        got = admin.ok("get", path, params={"filter": flt, "page_size": 100})["list"]
        assert {c["subject"]["common_name"] for c in got} == expected, flt
    ordered = admin.ok("get", path, params={"sort_by": "subject.common_name", "sort_mode": "desc"})["list"]
    assert [c["subject"]["common_name"] for c in ordered] == ["gamma.other.test", "alpha.example.test", "Beta.example.test"]
    page = admin.ok("get", path, params={"filter": "status[ne]REVOKED", "page_size": 1})
    rest = admin.ok("get", path, params={"bookmark": page["next"]})
    assert len(page["list"]) == 1 and len(rest["list"]) == 1 and rest["next"] == ""
    bad = admin.get(path, params={"filter": "subject.common_name[like]x"})
    assert bad.status_code == 400 and "operator" in bad.json()["err"]
    found = admin.ok("get", "/api/ca/v1/cas", params={"filter": f"subject.common_name[eq]{ca['certificate']['subject']['common_name']}"})
    assert [c["id"] for c in found["list"]] == [ca["id"]], "CA lists take the model's field names too"


def test_lamassu_ca_reads_by_cn_status_expiration_stats_and_ca_revocation(admin):
    pid = unique("p")
    admin.ok("post", "/api/ca/v1/profiles", 201, json={"id": pid, "name": "p",
                                                        "validity": {"type": "Duration", "duration": "1y"}})
    cn = unique("Reads Root")
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={"profile_id": pid, "subject": {"common_name": cn},
                                                        "ca_expiration": {"type": "Duration", "duration": "5y"}})
    role = make_role(admin, ca["id"], key_type="ec")
    serials = [admin.ok("post", f"/v1/pki/issue/{role['name']}", 201,
                        json={"common_name": f"s{i}.example.test"})["serial_number"] for i in range(3)]
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": serials[0], "reason": "superseded"})
    assert [c["id"] for c in admin.ok("get", f"/api/ca/v1/cas/cn/{cn}")["list"]] == [ca["id"]]
    assert admin.ok("get", "/api/ca/v1/cas/cn/no-such-cn")["list"] == []
    revoked = admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates/status/REVOKED")["list"]
    assert [c["serial_number"] for c in revoked] == [serials[0].replace(":", "").lower()]
    assert len(admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates/status/ACTIVE")["list"]) == 2
    assert admin.get("/api/ca/v1/certificates/status/SLEEPING").status_code == 400
    soon = admin.ok("get", "/api/ca/v1/certificates/expiration",
                    params={"expires_before": "2999-01-01T00:00:00Z", "filter": f"issuer_meta.id[eq]{ca['id']}"})
    assert len(soon["list"]) == 3
    later = admin.ok("get", "/api/ca/v1/certificates/expiration", params={"expires_after": "2999-01-01T00:00:00Z"})
    assert later["list"] == []
    assert admin.ok("get", f"/api/ca/v1/stats/{ca['id']}") == {"ACTIVE": 2, "EXPIRED": 0, "REVOKED": 1}
    stats = admin.ok("get", "/api/ca/v1/stats")
    assert stats["cas"]["total"] >= 1 and stats["certificates"]["total"] >= 3
    # Revoking the CA through this door: 201 with the CA, REVOKED; then 400 "already revoked".
    out = admin.post(f"/api/ca/v1/cas/{ca['id']}/status", json={"status": "REVOKED", "revocation_reason": "KeyCompromise"})
    assert out.status_code == 201 and out.json()["certificate"]["status"] == "REVOKED", out.text
    again = admin.post(f"/api/ca/v1/cas/{ca['id']}/status", json={"status": "REVOKED"})
    assert again.status_code == 400 and "already revoked" in again.json()["err"]
    assert admin.ok("get", f"/api/ca/v1/stats/{ca['id']}")["REVOKED"] == 3, "what it issued is revoked with it"
