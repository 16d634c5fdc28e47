"""Tokens, scopes and tenant isolation; the superuser's admin API."""
from conftest import Client, assert_error, make_hierarchy, make_role, unique


def new_tenant(admin, scopes=("pki:issue", "pki:admin")):
    t = admin.ok("post", "/v1/admin/tenants", 201, json={"name": unique("tenant")})
    tok = admin.ok("post", "/v1/admin/tokens", 201, json={"tenant_id": t["id"], "name": "ci", "scopes": list(scopes)})
    assert tok["token"] and tok["tenant_id"] == t["id"]
    return t, Client(admin.url, tok["token"]), tok


def test_unauthenticated_and_bad_tokens(server):
    for token in (None, "wrong-token-wrong-token", ""):
        r = Client(server.url, token).get("/v1/pki/ca")
        assert_error(r, 401)
        assert r.headers.get("www-authenticate") == "Bearer"


def test_whoami(admin):
    me = admin.ok("get", "/v1/auth/whoami")
    assert me["superuser"] is True and set(me["scopes"]) == {"pki:issue", "pki:admin"} and me["tenant_id"]


def test_cross_tenant_isolation(admin):
    a_tenant, a, _ = new_tenant(admin)
    b_tenant, b, _ = new_tenant(admin)
    root, inter = make_hierarchy(a)
    role = make_role(a, inter["id"], key_type="ec")
    cert = a.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "t.example.test"})
    # Tenant B sees none of it: 404, never 403, and empty lists.
    assert_error(b.get(f"/v1/pki/ca/{root['id']}"), 404)
    assert_error(b.get(f"/v1/pki/roles/{role['name']}"), 404)
    assert_error(b.post(f"/v1/pki/issue/{role['name']}", {"common_name": "t.example.test"}), 404)
    assert_error(b.get(f"/v1/pki/certificates/{cert['certificate_id']}"), 404)
    assert_error(b.post("/v1/pki/revoke", {"serial_number": cert["serial_number"]}), 404)
    assert_error(b.post("/v1/pki/roles", {"name": unique("r"), "ca_id": inter["id"]}), 404)
    assert_error(b.post("/v1/pki/ca", {"name": "x", "common_name": "x", "ca_type": "intermediate",
                                      "parent_ca_id": root["id"], "key_type": "ec"}), 404)
    assert_error(b.post(f"/v1/pki/certificates/{cert['certificate_id']}/private-key"), 404)
    assert b.ok("get", "/v1/pki/ca")["data"] == []
    assert b.ok("get", "/v1/pki/certificates")["data"] == []
    # The same CA name is free in another tenant.
    b.ok("post", "/v1/pki/ca", 201, json={"name": root["name"], "common_name": "B", "ca_type": "root", "key_type": "ec"})
    # Relying parties fetch any CA's public material by id.
    assert Client(admin.url).get(f"/v1/pki/ca/{inter['id']}/crl").status_code == 200


def test_scopes(admin):
    _, issuer, _ = new_tenant(admin, ("pki:issue",))
    _, full, _ = new_tenant(admin)
    assert_error(issuer.post("/v1/pki/ca", {"name": "x", "common_name": "x", "ca_type": "root"}), 403, "pki:admin")
    _, operator, _ = new_tenant(admin, ("pki:admin",))
    _, inter = make_hierarchy(operator)
    role = make_role(operator, inter["id"], key_type="ec")
    assert_error(operator.post(f"/v1/pki/issue/{role['name']}", {"common_name": "a.example.test"}), 403, "pki:issue")
    assert_error(full.post("/v1/admin/tenants", {"name": "nope"}), 403, "superuser")
    assert_error(full.get("/v1/admin/tokens"), 403)


def test_token_admin(admin):
    t, client, tok = new_tenant(admin)
    assert client.ok("get", "/v1/auth/whoami")["tenant_id"] == t["id"]
    listed = admin.ok("get", "/v1/admin/tokens")["data"]
    assert any(x["id"] == tok["id"] for x in listed) and all("token" not in x for x in listed)
    assert any(x["id"] == t["id"] for x in admin.ok("get", "/v1/admin/tenants")["data"])
    assert_error(admin.post("/v1/admin/tokens", {"tenant_id": t["id"], "name": "x", "scopes": ["root"]}), 400, "scope")
    assert_error(admin.post("/v1/admin/tokens", {"tenant_id": "tnt_nope", "name": "x", "scopes": ["pki:issue"]}), 404)
    assert_error(admin.post("/v1/admin/tenants", {"name": t["name"]}), 409)
    revoked = admin.ok("delete", f"/v1/admin/tokens/{tok['id']}")
    assert revoked["revoked_at"]
    assert_error(client.get("/v1/auth/whoami"), 401)
    assert_error(admin.delete(f"/v1/admin/tokens/{tok['id']}"), 409)
    me = admin.ok("get", "/v1/auth/whoami")["identity_id"]
    assert_error(admin.delete(f"/v1/admin/tokens/{me}"), 409, "last superuser")
    assert admin.ok("get", "/v1/auth/whoami")["superuser"]


def test_unknown_route_and_method(admin):
    assert_error(admin.get("/v1/pki/nothing-here"), 404)
    r = admin.s.put(admin.url + "/v1/pki/revoke")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = admin.s.post(admin.url + "/v1/pki/revoke", data="serial=1", headers={"Content-Type": "text/plain"})
    assert_error(r, 415)


def test_openapi_and_docs(server):
    anon = Client(server.url)
    doc = anon.ok("get", "/openapi.json")
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/pki/ca", "/v1/pki/issue/{role}", "/v1/pki/sign/{role}", "/v1/pki/revoke",
                 "/v1/pki/csr/{id}/approve", "/v1/pki/certificates/validate", "/v1/pki/trust-anchors",
                 "/v1/admin/tokens", "/v1/health"):
        assert path in doc["paths"], path
    assert "bearer" in doc["components"]["securitySchemes"]
    docs = anon.get("/docs/")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
