"""Certificate inventory, revocation with CRL entries, validation, trust anchors, renew, import."""
from conftest import Client, assert_error, make_csr, make_hierarchy, make_role, openssl, unique, write


def issue(admin, role, cn="a.example.test", **extra):
    return admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": cn, **extra})


def test_list_filters_and_pagination(admin):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    ids = [issue(admin, role, f"n{i}.example.test")["certificate_id"] for i in range(5)]
    short = issue(admin, role, "short.example.test", ttl="24h")["certificate_id"]
    seen, cursor = [], None
    while True:
        q = f"/v1/pki/certificates?ca_id={inter['id']}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = admin.ok("get", q)
        assert len(page["data"]) <= 2
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            assert page["cursor"] is None
            break
        cursor = page["cursor"]
    assert sorted(seen) == sorted(ids + [short]) and len(seen) == len(set(seen))
    item = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&limit=1")["data"][0]
    assert set(item) >= {"id", "common_name", "issuer_ca_id", "serial_number", "valid_from", "valid_until", "is_revoked"}
    expiring = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&expiring_within=2d")["data"]
    assert [c["id"] for c in expiring] == [short]
    # An expiry window lists soonest-expiring first, and pages the same way.
    soon = [issue(admin, role, f"s{i}.example.test", ttl=f"{24 * (i + 2)}h")["certificate_id"] for i in range(3)]
    first = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&expiring_within=7d&limit=2")
    rest = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&expiring_within=7d&limit=2&cursor={first['cursor']}")
    ordered = [c["id"] for c in first["data"] + rest["data"]]
    assert ordered == [short] + soon and not rest["has_more"]
    until = [c["valid_until"] for c in first["data"] + rest["data"]]
    assert until == sorted(until)
    assert_error(admin.get(f"/v1/pki/certificates?cursor={first['cursor']}"), 400, "cursor")
    assert_error(admin.get("/v1/pki/certificates?limit=0"), 400, "limit")
    assert_error(admin.get("/v1/pki/certificates?limit=abc"), 400)
    assert_error(admin.get("/v1/pki/certificates?cursor=!!!"), 400, "cursor")
    assert_error(admin.get("/v1/pki/certificates?expiring_within=soon"), 400)


def test_revoke_shows_in_crl_with_reason(admin, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    victim = issue(admin, role)
    before = admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")["crl_number"]
    r = admin.ok("post", "/v1/pki/revoke", json={"serial_number": victim["serial_number"], "reason": "key_compromise"})
    assert r["is_revoked"] and r["reason"] == "key_compromise" and r["certificate_id"] == victim["certificate_id"]
    assert_error(admin.post("/v1/pki/revoke", {"serial_number": victim["serial_number"]}), 409, "already")
    assert_error(admin.post("/v1/pki/revoke", {"serial_number": "01:02"}), 404)
    assert_error(admin.post("/v1/pki/revoke", {"serial_number": victim["serial_number"], "reason": "bored"}), 400, "reason")
    assert_error(admin.post("/v1/pki/revoke", {"serial_number": "zz"}), 400)

    crl = Client(admin.url).get(f"/v1/pki/ca/{inter['id']}/crl").content
    f = tmp / "crl.der"
    f.write_bytes(crl)
    ca = write(tmp / "ca.pem", victim["ca_chain"][0])
    text = openssl("crl", "-inform", "DER", "-in", str(f), "-noout", "-text", "-CAfile", ca).stdout
    serial_hex = victim["serial_number"].replace(":", "")
    assert serial_hex in text.replace(":", "").upper()
    assert "Key Compromise" in text and "X509v3 CRL Number" in text and "Next Update" in text
    assert "X509v3 Authority Key Identifier" in text
    number = int(text.split("X509v3 CRL Number:")[1].split()[0])
    assert number > before

    listed = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&include_revoked=true")["data"]
    assert any(c["id"] == victim["certificate_id"] and c["is_revoked"] for c in listed)
    active = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}")["data"]
    assert all(c["id"] != victim["certificate_id"] for c in active)
    one = admin.ok("get", f"/v1/pki/certificates/{victim['certificate_id']}")
    assert one["is_revoked"] and one["revocation_reason"] == "key_compromise"


def test_unspecified_and_each_reason_name_is_accepted(admin):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    for reason in ["unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
                   "cessation_of_operation", "certificate_hold", "privilege_withdrawn", "aa_compromise"]:
        c = issue(admin, role)
        assert admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"], "reason": reason})["reason"] == reason
    c = issue(admin, role)
    # Serial without colons, lower case, is the same serial.
    assert admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"].replace(":", "").lower()})


def test_validate_chain_expiry_revocation_and_trust_anchors(admin, tmp):
    root, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    c = issue(admin, role)
    v = admin.ok("post", "/v1/pki/certificates/validate", json={
        "certificate_pem": c["certificate"], "chain_pem": c["ca_chain"][0], "check_revocation": True})
    assert v == {"valid": True, "chain_valid": True, "not_expired": True, "not_revoked": True,
                 "trusted_anchor": inter["id"], "errors": []}
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"], "reason": "superseded"})
    v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": c["certificate"]})
    assert v["valid"] is False and v["not_revoked"] is False and v["chain_valid"] is True
    v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": c["certificate"], "check_revocation": False})
    assert v["valid"] is True

    # An external chain is untrusted until its root is registered as a trust anchor.
    ext = tmp / "ext"
    ext.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(ext / "ca.key"), "-out", str(ext / "ca.pem"), "-subj", "/CN=Vendor Root", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    csr, _ = make_csr(ext, "device.vendor.test")
    write(ext / "csr.pem", csr)
    write(ext / "ext.cnf", "basicConstraints=CA:FALSE\nsubjectAltName=DNS:device.vendor.test\n")
    openssl("x509", "-req", "-in", str(ext / "csr.pem"), "-CA", str(ext / "ca.pem"), "-CAkey", str(ext / "ca.key"),
            "-CAcreateserial", "-out", str(ext / "leaf.pem"), "-days", "5", "-extfile", str(ext / "ext.cnf"))
    leaf = (ext / "leaf.pem").read_text()
    v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": leaf})
    assert v["valid"] is False and v["chain_valid"] is False and v["trusted_anchor"] is None and v["errors"]
    ta = admin.ok("post", "/v1/pki/trust-anchors", 201, json={"name": unique("vendor"), "certificate_pem": (ext / "ca.pem").read_text()})
    assert ta["id"].startswith("trust_anchor_") and "Vendor Root" in ta["subject"]
    v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": leaf})
    assert v["valid"] is True and v["trusted_anchor"] == ta["id"]
    assert any(t["id"] == ta["id"] for t in admin.ok("get", "/v1/pki/trust-anchors")["data"])
    assert_error(admin.post("/v1/pki/trust-anchors", {"name": ta["name"], "certificate_pem": (ext / "ca.pem").read_text()}), 409)
    assert_error(admin.post("/v1/pki/trust-anchors", {"name": unique("leaf"), "certificate_pem": leaf}), 400, "CA")
    assert_error(admin.post("/v1/pki/trust-anchors", {"name": unique("bad"), "certificate_pem": "xx"}), 400)
    assert admin.delete(f"/v1/pki/trust-anchors/{ta['id']}").status_code == 204
    assert_error(admin.delete(f"/v1/pki/trust-anchors/{ta['id']}"), 404)
    v = admin.ok("post", "/v1/pki/certificates/validate", json={"certificate_pem": leaf})
    assert v["valid"] is False
    assert_error(admin.post("/v1/pki/certificates/validate", {"certificate_pem": "junk"}), 400)


def test_renew_same_names_new_key_old_stays_valid(admin, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    old = issue(admin, role, "renew.example.test", alt_names=["alt.example.test"], ip_sans=["10.1.1.1"])
    new = admin.ok("post", f"/v1/pki/certificates/{old['certificate_id']}/renew", 201, json={"ttl": "48h"})
    assert new["certificate_id"] != old["certificate_id"] and new["serial_number"] != old["serial_number"]
    assert new["private_key"] and new["private_key"] != old["private_key"]
    sans = lambda pem: openssl("x509", "-noout", "-ext", "subjectAltName", "-subject", input=pem).stdout.split("\n", 1)[1]
    assert sans(new["certificate"]) == sans(old["certificate"])
    assert not admin.ok("get", f"/v1/pki/certificates/{old['certificate_id']}")["is_revoked"]
    assert admin.ok("post", f"/v1/pki/certificates/{old['certificate_id']}/renew", 201)  # no body: same lifetime
    assert_error(admin.post("/v1/pki/certificates/cert_missing/renew", {}), 404)
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": old["serial_number"], "reason": "superseded"})
    assert_error(admin.post(f"/v1/pki/certificates/{old['certificate_id']}/renew", {}), 409, "revoked")


def test_import_and_private_key_rules(admin, tmp):
    _, inter = make_hierarchy(admin)
    keeper = make_role(admin, inter["id"], key_type="ec", store_private_keys=True)
    forgetful = make_role(admin, inter["id"], key_type="ec")
    kept = issue(admin, keeper)
    got = admin.ok("post", f"/v1/pki/certificates/{kept['certificate_id']}/private-key")
    assert got["private_key"] == kept["private_key"]
    lost = issue(admin, forgetful)
    assert_error(admin.post(f"/v1/pki/certificates/{lost['certificate_id']}/private-key"), 404, "no private key")

    # Import a certificate made elsewhere, with its key and chain.
    d = tmp / "imp"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "k.pem"), "-out", str(d / "c.pem"),
            "-subj", "/CN=legacy.example.test", "-days", "10", "-addext", "subjectAltName=DNS:legacy.example.test")
    cert_pem, key_pem = (d / "c.pem").read_text(), (d / "k.pem").read_text()
    imp = admin.ok("post", "/v1/pki/certificates/import", 201, json={
        "certificate_pem": cert_pem, "private_key_pem": key_pem, "chain_pem": cert_pem})
    assert imp["source"] == "imported" and imp["common_name"] == "legacy.example.test" and imp["has_private_key"]
    assert imp["issuer_ca_id"] is None
    assert admin.ok("post", f"/v1/pki/certificates/{imp['id']}/private-key")["private_key"].strip() == key_pem.strip()
    other_key = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").stdout
    assert_error(admin.post("/v1/pki/certificates/import", {"certificate_pem": cert_pem, "private_key_pem": other_key}), 400, "match")
    assert_error(admin.post("/v1/pki/certificates/import", {"certificate_pem": "nope"}), 400)
    # Re-importing one of our own certificates links it to its CA; a duplicate is a conflict.
    assert_error(admin.post("/v1/pki/certificates/import", {"certificate_pem": lost["certificate"]}), 409)
    pem = admin.get(f"/v1/pki/certificates/{imp['id']}/pem")
    assert pem.headers["content-type"] == "application/x-pem-file" and pem.text.strip() == cert_pem.strip()
