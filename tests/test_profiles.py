"""Issuance profiles: the /api/ca/v1/profiles front door and profiles applied by native roles."""
import json
import re

import pytest

from conftest import Client, assert_error, fresh_server, make_csr, make_hierarchy, make_role, openssl, unique, write
from test_lint import lint
from pathlib import Path

SPEC = (Path(__file__).parent / "spec" / "issuance-profiles.txt").read_text()


def spec_json(after):
    """The first JSON object in the spec document after the line `after`."""
    start = SPEC.index(after)
    text = SPEC[SPEC.index("{", start):]
    depth = 0
    for i, c in enumerate(text):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth == 0:
            return json.loads(text[: i + 1])


def err(r, status, *words):
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"err"}, body
    for w in words:
        assert w.lower() in body["err"].lower(), (w, body)


@pytest.fixture(scope="module")
def own():
    """A server of its own: a fresh server has no profiles."""
    yield from fresh_server()


def test_spec_examples_in_order(own):
    from conftest import BOOTSTRAP_TOKEN
    c = Client(own.url, BOOTSTRAP_TOKEN)
    assert c.ok("get", "/api/ca/v1/profiles") == {"list": [], "next": ""}
    created = c.ok("post", "/api/ca/v1/profiles", 201, json=spec_json("curl -X POST"))
    assert created["id"] == "web-server-profile" and created["validity"] == {"type": "Duration", "duration": "90d"}
    assert created["key_usage"] == {"digital_signature": True, "key_encipherment": True}
    assert created["extended_key_usages"] == ["1.3.6.1.5.5.7.3.1"] and created["crypto_enforcement"]["enabled"] is True
    got = c.ok("get", "/api/ca/v1/profiles/web-server-profile")
    assert {k: v for k, v in got.items() if k != "updated_at"} == {k: v for k, v in created.items() if k != "updated_at"}
    updated = c.ok("put", "/api/ca/v1/profiles/web-server-profile", json=spec_json("curl -X PUT"))
    assert updated["name"] == "Web Server Certificate Profile (Updated)" and updated["validity"]["duration"] == "180d"
    assert updated["honor_subject"] is True and updated["crypto_enforcement"]["enabled"] is False
    for example in ("CA Certificate Profile", "IoT Device Profile", "Code Signing Profile"):
        c.ok("post", "/api/ca/v1/profiles", 201, json=spec_json(example))
    only_ca = c.ok("get", "/api/ca/v1/profiles?filter=sign_as_ca[eq]=true")
    assert [p["id"] for p in only_ca["list"]] == ["intermediate-ca-profile"]
    listed = c.ok("get", "/api/ca/v1/profiles")
    assert sorted(p["id"] for p in listed["list"]) == sorted(
        ["web-server-profile", "intermediate-ca-profile", "iot-device-short", "code-signing-profile"])
    err(c.delete("/api/ca/v1/profiles/old-profile"), 404)
    assert c.delete("/api/ca/v1/profiles/web-server-profile").status_code == 204
    err(c.get("/api/ca/v1/profiles/web-server-profile"), 404)


def base(**extra):
    return {"id": unique("p"), "name": "P", "validity": {"type": "Duration", "duration": "30d"}, **extra}


def test_validation_and_conflicts(admin):
    post = lambda body: admin.post("/api/ca/v1/profiles", body)
    err(post({"id": unique("p"), "name": "P"}), 400, "validity")
    err(post(base(validity={"type": "Duration", "duration": "3 fortnights"})), 400, "validity.duration")
    err(post(base(validity={"type": "Sometimes"})), 400, "validity.type")
    err(post(base(name="")), 400, "name")
    err(post(base(key_usage={"time_travel": True})), 400, "key_usage")
    err(post(base(extended_key_usages=["NotAnEku"])), 400, "extended_key_usages")
    err(admin.post("/api/ca/v1/profiles", data="{", headers={"Content-Type": "application/json"}), 400)
    err(Client(admin.url).get("/api/ca/v1/profiles"), 401)
    p = admin.ok("post", "/api/ca/v1/profiles", 201, json=base())
    err(post({**base(), "id": p["id"]}), 409)
    err(admin.put(f"/api/ca/v1/profiles/{p['id']}", {**base(), "id": "other"}), 400, "match")
    err(admin.get("/api/ca/v1/profiles/nope"), 404)
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], profile_id=p["id"])
    assert role["profile_id"] == p["id"]
    err(admin.delete(f"/api/ca/v1/profiles/{p['id']}"), 409, "role")
    assert_error(admin.post("/v1/pki/roles", {"name": unique("r"), "ca_id": inter["id"], "profile_id": "nope"}), 404, "profile")
    admin.ok("patch", f"/v1/pki/roles/{role['name']}", json={"profile_id": ""})
    assert admin.delete(f"/api/ca/v1/profiles/{p['id']}").status_code == 204


def test_client_forms_are_accepted_and_documented_forms_returned(admin):
    p = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        key_usage=["DigitalSignature", "CRLSign"], extended_key_usages=["ServerAuth", "clientauth", "1.3.6.1.5.5.7.3.3"]))
    assert p["key_usage"] == {"digital_signature": True, "crl_sign": True}
    assert p["extended_key_usages"] == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.3"]
    assert p["honor_subject"] is True and p["sign_as_ca"] is False and p["crypto_enforcement"]["enabled"] is False


def test_lists_page_sort_filter_and_bookmarks(own):
    from conftest import BOOTSTRAP_TOKEN
    c = Client(own.url, BOOTSTRAP_TOKEN)
    tag = unique("list")
    for i in range(7):
        c.ok("post", "/api/ca/v1/profiles", 201, json={**base(), "id": f"{tag}-{i}", "name": f"{tag} {i}",
                                                       "description": "even" if i % 2 == 0 else "odd"})
    q = f"/api/ca/v1/profiles?filter=name[contains]{tag}&sort_by=name&sort_mode=desc&page_size=3"
    seen, page = [], c.ok("get", q)
    while True:
        seen += [p["id"] for p in page["list"]]
        if not page["next"]:
            break
        nxt = page["next"]
        page = c.ok("get", f"/api/ca/v1/profiles?bookmark={nxt}")
    assert seen == [f"{tag}-{i}" for i in range(6, -1, -1)]
    first = c.ok("get", q)
    tampered = first["next"][:-2] + ("A" if first["next"][-2] != "A" else "B") + first["next"][-1]
    err(c.get(f"/api/ca/v1/profiles?bookmark={tampered}"), 400, "bookmark")
    evens = c.ok("get", f"/api/ca/v1/profiles?filter=name[contains]={tag}&filter=description[eq]even&page_size=100")
    assert len(evens["list"]) == 4
    odd = c.ok("get", f"/api/ca/v1/profiles?filter=name[contains]{tag}&filter=description[ne]even")
    assert len(odd["list"]) == 3
    err(c.get("/api/ca/v1/profiles?filter=colour[eq]red"), 400, "not filterable")
    err(c.get("/api/ca/v1/profiles?filter=name[like]x"), 400, "operator")
    err(c.get("/api/ca/v1/profiles?sort_by=colour"), 400, "sort")
    err(c.get("/api/ca/v1/profiles?page_size=zero"), 400, "page_size")
    assert len(c.ok("get", "/api/ca/v1/profiles?page_size=100000")["list"]) <= 100


def issued_text(pem):
    return openssl("x509", "-noout", "-text", input=pem).stdout


def test_profiles_applied_by_native_roles(admin, tmp):
    root, inter = make_hierarchy(admin)
    iot = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        crypto_enforcement={"enabled": True, "allowed_rsa_key_sizes": [2048], "allowed_ecdsa_key_sizes": [256]}))
    role = make_role(admin, inter["id"], profile_id=iot["id"])
    sign = f"/v1/pki/sign/{role['name']}"
    p521 = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes", "-keyout",
                   str(tmp / "k521"), "-subj", "/CN=d.example.test").stdout
    assert_error(admin.post(sign, {"csr_pem": p521}), 400, "allowed_ecdsa_key_sizes")
    rsa3072, _ = make_csr(tmp, "d.example.test", key="3072")
    assert_error(admin.post(sign, {"csr_pem": rsa3072}), 400, "allowed_rsa_key_sizes")
    ed, _ = make_csr(tmp, "d.example.test", key="ed25519")
    assert_error(admin.post(sign, {"csr_pem": ed}), 400, "Ed25519")
    ok_csr, _ = make_csr(tmp, "d.example.test")
    admin.ok("post", sign, 201, json={"csr_pem": ok_csr})

    # honor_subject false: the profile's subject, keeping the requested CN; KU and EKU bit for bit.
    code = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        honor_subject=False, subject={"organization": "Lamassu IoT", "country": "US"},
        key_usage={"digital_signature": True}, extended_key_usages=["1.3.6.1.5.5.7.3.3"]))
    code_role = make_role(admin, inter["id"], profile_id=code["id"], key_type="ec")
    csr, _ = make_csr(tmp, "signer.example.test")
    cert = admin.ok("post", f"/v1/pki/sign/{code_role['name']}", 201, json={"csr_pem": csr})
    text = issued_text(cert["certificate"])
    subject = openssl("x509", "-noout", "-subject", "-nameopt", "RFC2253", input=cert["certificate"]).stdout
    assert "CN=signer.example.test" in subject and "O=Lamassu IoT" in subject and "C=US" in subject
    eku = text.split("X509v3 Extended Key Usage:")[1].splitlines()[1].strip()
    assert eku == "Code Signing"
    ku = text.split("X509v3 Key Usage: critical")[1].splitlines()[1].strip()
    assert ku == "Digital Signature"
    leaf = write(tmp / "code.pem", cert["certificate"])
    openssl("verify", "-CAfile", write(tmp / "root.pem", cert["ca_chain"][1]), "-untrusted",
            write(tmp / "int.pem", cert["ca_chain"][0]), "-purpose", "any", leaf)
    lint("lint_pkix_cert", leaf)

    # Validity: the shorter of role and profile, and never past the CA (a 400, not a cut).
    short = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(validity={"type": "Duration", "duration": "2d"}))
    short_role = make_role(admin, inter["id"], profile_id=short["id"], max_ttl=None, key_type="ec")
    c2 = admin.ok("post", f"/v1/pki/issue/{short_role['name']}", 201, json={"common_name": "v.example.test", "ttl": "240h"})
    dates = openssl("x509", "-noout", "-startdate", "-enddate", input=c2["certificate"]).stdout
    from datetime import datetime
    nb, na = [datetime.strptime(l.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT") for l in dates.strip().splitlines()]
    assert (na - nb).days == 2
    small_ca = admin.ok("post", "/v1/pki/ca", 201, json={"name": unique("s"), "common_name": "Short CA", "ca_type": "intermediate",
                                                         "parent_ca_id": root["id"], "key_type": "ec", "validity_days": 10})
    long = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(validity={"type": "Duration", "duration": "1y"}))
    long_role = make_role(admin, small_ca["id"], profile_id=long["id"], max_ttl=None, key_type="ec")
    assert_error(admin.post(f"/v1/pki/issue/{long_role['name']}", {"common_name": "l.example.test", "ttl": "8760h"}), 400,
                 "outlive its CA")
    past = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(validity={"type": "Time", "time": "2020-01-01T00:00:00Z"}))
    past_role = make_role(admin, inter["id"], profile_id=past["id"], key_type="ec")
    assert_error(admin.post(f"/v1/pki/issue/{past_role['name']}", {"common_name": "p.example.test"}), 400, "past")
