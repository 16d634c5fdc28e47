"""PATCH /api/v1/cas/{id} (FastPKI v0.4): a superuser moves a CA to another organisation, with
what it issued, and with `cascade` its descendant CAs; the old organisation loses it, the new one
reads, revokes and serves its CRL."""
import pytest
import requests

from conftest import Client, fresh_server, openssl

PASSWORD = "password-move-1"


@pytest.fixture(scope="module")
def world():
    for srv in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        v1 = srv.url + "/api/v1"

        def login(name):
            r = requests.post(f"{v1}/auth/token", data={"username": name, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return Client(v1, r.json()["access_token"])

        requests.post(f"{v1}/users/", json={"username": "su", "email": "su@example.com", "password": PASSWORD,
                                            "role": "superuser"}).raise_for_status()
        su = login("su")
        orgs = {n: su.ok("post", "/organizations/", 201, json={"name": f"Org {n}"})["id"] for n in "AB"}
        for n in "AB":
            su.ok("post", "/users/", 201, json={"username": f"admin{n}", "email": f"{n}@example.com",
                                                "password": PASSWORD, "role": "admin", "organization_id": orgs[n]})
        yield {"srv": srv, "su": su, "orgs": orgs, "a": login("adminA"), "b": login("adminB")}


def hierarchy(admin, name):
    """Root (with a leaf issued before it got a child, as only then it may) → sub → leaf."""
    root = admin.ok("post", "/cas/", 201, json={"name": f"{name} Root", "subject_dn": f"CN={name} Root", "key_size": 2048})
    root_leaf = admin.ok("post", f"/certificates/?ca_id={root['id']}", 201, json={
        "common_name": f"r-{name.lower()}.example", "subject_dn": f"CN=r-{name.lower()}.example",
        "certificate_type": "client"})
    sub = admin.ok("post", "/cas/", 201, json={"name": f"{name} Sub", "subject_dn": f"CN={name} Sub", "key_size": 2048,
                                               "parent_ca_id": root["id"]})
    leaf = admin.ok("post", f"/certificates/?ca_id={sub['id']}", 201, json={
        "common_name": f"{name.lower()}.example", "subject_dn": f"CN={name.lower()}.example", "certificate_type": "server"})
    return root, sub, leaf, root_leaf


def test_only_a_superuser_moves_and_input_is_checked(world):
    root, _, _, _ = hierarchy(world["a"], "Guarded")
    r = world["a"].patch(f"/cas/{root['id']}", json={"organization_id": world["orgs"]["B"]})
    assert r.status_code == 403 and r.json() == {"detail": "Insufficient permissions"}
    r = world["su"].patch(f"/cas/{root['id']}", json={"organization_id": 9999})
    assert r.status_code == 400 and r.json() == {"detail": "Organization with ID 9999 not found"}
    assert world["su"].patch("/cas/9999", json={"organization_id": world["orgs"]["B"]}).status_code == 404
    for body in ({"organization_id": "B"}, {}, {"organization_id": world["orgs"]["B"], "cascade": "yes"}):
        assert world["su"].patch(f"/cas/{root['id']}", json=body).status_code == 422, body
    assert world["a"].ok("get", f"/cas/{root['id']}")["organization_id"] == world["orgs"]["A"]


def test_cascade_moves_the_hierarchy_and_what_it_issued(world, tmp):
    a, b, su = world["a"], world["b"], world["su"]
    root, sub, leaf, root_leaf = hierarchy(a, "Mover")
    moved = su.ok("patch", f"/cas/{root['id']}", json={"organization_id": world["orgs"]["B"], "cascade": True})
    assert moved["id"] == root["id"] and moved["organization_id"] == world["orgs"]["B"]
    for ca in (root, sub):
        assert b.ok("get", f"/cas/{ca['id']}")["organization_id"] == world["orgs"]["B"]
        assert a.get(f"/cas/{ca['id']}").status_code == 403
    for cert in (leaf, root_leaf):
        assert b.ok("get", f"/certificates/{cert['id']}")["organization_id"] == world["orgs"]["B"]
        assert a.get(f"/certificates/{cert['id']}").status_code == 403
    assert all(c["id"] not in (root["id"], sub["id"]) for c in a.ok("get", "/cas/"))
    assert {root["id"], sub["id"]} <= {c["id"] for c in b.ok("get", "/cas/")}

    # The new organisation uses it: issues, revokes, and the CRL lists the revocation.
    b.ok("post", f"/certificates/?ca_id={sub['id']}", 201, json={
        "common_name": "after.example", "subject_dn": "CN=after.example", "certificate_type": "server"})
    revoked = b.ok("post", f"/certificates/{leaf['id']}/revoke", json={"reason": "Key compromise"})
    assert revoked["status"] == "revoked"
    slug = f"mover-sub-{sub['id']}"
    crl = tmp / "crl.der"
    crl.write_bytes(requests.get(f"{world['srv'].url}/crl/{slug}").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert leaf["serial_number"].upper() in text.replace(":", "").upper()
    # Its key followed: the new organisation's admin may export it.
    assert "PRIVATE KEY" in b.ok("get", f"/cas/{sub['id']}/private-key")["private_key"]

    logged = su.ok("get", "/audit-logs/?action=ca_update&limit=100")
    assert any(e["resource_type"] == "ca" and e["resource_id"] == root["id"] for e in logged), logged


def test_without_cascade_the_children_stay(world):
    a, b, su = world["a"], world["b"], world["su"]
    root, sub, leaf, root_leaf = hierarchy(a, "Shallow")
    su.ok("patch", f"/cas/{root['id']}", json={"organization_id": world["orgs"]["B"]})
    assert b.ok("get", f"/cas/{root['id']}")["organization_id"] == world["orgs"]["B"]
    assert b.ok("get", f"/certificates/{root_leaf['id']}")["organization_id"] == world["orgs"]["B"]
    assert a.ok("get", f"/cas/{sub['id']}")["organization_id"] == world["orgs"]["A"]
    assert a.ok("get", f"/certificates/{leaf['id']}")["organization_id"] == world["orgs"]["A"]
    # Moving to where it already is changes nothing.
    assert su.ok("patch", f"/cas/{root['id']}", json={"organization_id": world["orgs"]["B"]})["id"] == root["id"]


def test_a_name_taken_in_the_target_is_a_conflict_and_nothing_moves(world):
    a, b, su = world["a"], world["b"], world["su"]
    mine = a.ok("post", "/cas/", 201, json={"name": "Twin", "subject_dn": "CN=Twin A", "key_size": 2048})
    b.ok("post", "/cas/", 201, json={"name": "Twin", "subject_dn": "CN=Twin B", "key_size": 2048})
    cert = a.ok("post", f"/certificates/?ca_id={mine['id']}", 201, json={
        "common_name": "twin.example", "subject_dn": "CN=twin.example", "certificate_type": "server"})
    r = su.patch(f"/cas/{mine['id']}", json={"organization_id": world["orgs"]["B"]})
    assert r.status_code == 409, r.text
    assert a.ok("get", f"/cas/{mine['id']}")["organization_id"] == world["orgs"]["A"]
    assert a.ok("get", f"/certificates/{cert['id']}")["organization_id"] == world["orgs"]["A"]
