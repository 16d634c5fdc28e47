"""/api/v1 permission matrix: {superuser, org admin, user with / without each capability, user
and admin of another organisation, users without organisation, service accounts with / without an
issuance policy} × every CA, certificate, export, organisation and audit route → the documented
allow (2xx) or deny (403; 401 for service-account tokens on the routes that take only users), and
no list ever shows another organisation's records (research: fastpki.md sections 1.5, 1.12)."""
import itertools

import pytest
import requests

from conftest import Client, fresh_server, make_csr

CAPS = ["can_create_ca", "can_create_cert", "can_revoke_cert", "can_export_private_key", "can_delete_ca"]


@pytest.fixture(scope="module")
def world():
    for srv in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        v1 = srv.url + "/api/v1"

        def login(name):
            r = requests.post(f"{v1}/auth/token", data={"username": name, "password": "password1"})
            assert r.status_code == 200, r.text
            return Client(v1, r.json()["access_token"])

        requests.post(f"{v1}/users/", json={"username": "su", "email": "su@example.com", "password": "password1",
                                            "role": "superuser"}).raise_for_status()
        su = login("su")
        org_a = su.ok("post", "/organizations/", 201, json={"name": "Org A"})["id"]
        org_b = su.ok("post", "/organizations/", 201, json={"name": "Org B", "description": "the other one"})["id"]

        def user(name, org, role="user", **caps):
            su.ok("post", "/users/", 201, json={"username": name, "email": f"{name}@example.com", "password": "password1",
                                                "role": role, "organization_id": org, **caps})
            return login(name)

        who = {"superuser": su, "admin": user("admin_a", org_a, "admin"), "plain": user("plain", org_a)}
        for cap in CAPS:
            who[cap] = user(cap.replace("can_", ""), org_a, **{cap: True})
        who["other_admin"] = user("admin_b", org_b, "admin")
        who["other_capable"] = user("capable_b", org_b, **{c: True for c in CAPS})
        who["orgless_admin"] = user("lonely_admin", None, "admin")
        who["orgless_capable"] = user("lonely", None, **{c: True for c in CAPS})
        ca_a = who["admin"].ok("post", "/cas/", 201, json={"name": "A Root", "subject_dn": "CN=A Root", "key_size": 2048})
        parent_a = who["admin"].ok("post", "/cas/", 201, json={"name": "A Parent", "subject_dn": "CN=A Parent",
                                                               "key_size": 2048})
        ca_b = who["other_admin"].ok("post", "/cas/", 201, json={"name": "B Root", "subject_dn": "CN=B Root",
                                                                 "key_size": 2048})
        for name, policy in (("sa_policy", True), ("sa_nopolicy", False)):
            sa = who["admin"].ok("post", "/service-accounts/", 201, json={
                "name": name, "can_create_cert": True, "can_revoke_cert": True})
            if policy:
                who["admin"].ok("put", f"/service-accounts/{sa['id']}/policy", json={
                    "cn_patterns": ["*.example"], "san_dns_patterns": ["*.example"], "allowed_ca_ids": [ca_a["id"]],
                    "allowed_certificate_types": ["server"], "max_validity_days": 365})
            token = who["admin"].ok("post", f"/service-accounts/{sa['id']}/tokens", 201, json={"name": "ci"})["token"]
            who[name] = Client(v1, token)
        sa_id = next(a["id"] for a in who["admin"].ok("get", "/service-accounts/") if a["name"] == "sa_policy")
        b_cert = who["other_admin"].ok("post", f"/certificates/?ca_id={ca_b['id']}", 201, json={
            "common_name": "b.example", "subject_dn": "CN=b.example", "certificate_type": "server"})
        yield {"v1": v1, "b_cert": b_cert["id"], "sa_a": sa_id, "plain_id": who["plain"].ok("get", "/users/me")["id"], "who": who, "org_a": org_a, "org_b": org_b, "ca_a": ca_a["id"], "ca_b": ca_b["id"],
               "parent_a": parent_a["id"]}


SERVICE = {"sa_policy", "sa_nopolicy"}
ALL = {"superuser", "admin", "plain", *CAPS, "other_admin", "other_capable", "orgless_admin", "orgless_capable", *SERVICE}
ORG_A = {"superuser", "admin", "plain", *CAPS, *SERVICE}
# Routes of users, organisations and service accounts take user sign-ins only (service-account
# tokens: 401).
USERS_ONLY = {"read organisation", "organisation members", "rename organisation", "create organisation", "audit log",
              "list users", "list organisations", "me", "read user", "grant capability", "delete user", "add member",
              "remove member", "delete organisation", "list service accounts", "create service account",
              "read service account", "service account tokens"}
ADMINS = {"superuser", "admin"}


def cert_in_a(world):
    return world["who"]["admin"].ok("post", f"/certificates/?ca_id={world['ca_a']}", 201, json={
        "common_name": "m.example", "subject_dn": "CN=m.example", "certificate_type": "server"})["id"]


_doomed = itertools.count()


def ca_in_a(world):
    return world["who"]["admin"].ok("post", "/cas/", 201, json={"name": f"Doomed {next(_doomed)}",
                                                                "subject_dn": "CN=Doomed", "key_size": 2048})["id"]


# (route, method, path, body, who may): paths take the fixture's ids; "{cert}" and "{doomed}" get
# a fresh certificate or CA of organisation A for every caller, so each attempt is independent.
MATRIX = [
    ("read CA", "get", "/cas/{ca_a}", None, ORG_A),
    ("CA chain", "get", "/cas/{ca_a}/chain", None, ORG_A),
    ("CA children", "get", "/cas/{ca_a}/children", None, ORG_A),
    ("CA key", "get", "/cas/{ca_a}/private-key", None, {"superuser", "admin", "can_export_private_key"}),
    ("create root CA", "post", "/cas/", {"name": "R {n}", "subject_dn": "CN=R", "key_size": 2048},
     {"superuser", "admin", "can_create_ca", "other_admin", "other_capable"}),
    ("create sub-CA under A", "post", "/cas/", {"name": "S {n}", "subject_dn": "CN=S", "key_size": 2048,
                                                "parent_ca_id": "{parent_a}"}, {"superuser", "admin", "can_create_ca"}),
    ("delete CA", "delete", "/cas/{doomed}", None, {"superuser", "admin", "can_delete_ca"}),
    ("issue", "post", "/certificates/?ca_id={ca_a}", {"common_name": "i.example", "subject_dn": "CN=i.example",
                                                      "certificate_type": "server"},
     {"superuser", "admin", "can_create_cert", "sa_policy"}),
    ("sign CSR", "post", "/certificates/sign-csr", {"csr": "{csr}", "certificate_type": "server", "ca_id": "{ca_a}"},
     {"superuser", "admin", "can_create_cert", "sa_policy"}),
    ("read certificate", "get", "/certificates/{cert}", None, ORG_A),
    ("certificate key", "get", "/certificates/{cert}/private-key", None, {"superuser", "admin", "can_export_private_key"}),
    ("revoke", "post", "/certificates/{cert}/revoke", {}, {"superuser", "admin", "can_revoke_cert", *SERVICE}),
    ("renew", "post", "/certificates/{cert}/renew", {}, {"superuser", "admin", "can_create_cert", "sa_policy"}),
    ("export CA certificate", "get", "/export/ca/{ca_a}/certificate", None, ORG_A),
    ("export CA key", "get", "/export/ca/{ca_a}/private-key", None, {"superuser", "admin", "can_export_private_key"}),
    ("export certificate", "get", "/export/certificate/{cert}", None, ORG_A),
    ("export chain", "get", "/export/certificate/{cert}/chain", None, ORG_A),
    ("export certificate key", "get", "/export/certificate/{cert}/private-key", None,
     {"superuser", "admin", "can_export_private_key"}),
    ("read organisation", "get", "/organizations/{org_a}", None, ORG_A - SERVICE),
    ("organisation members", "get", "/organizations/{org_a}/users", None, ORG_A - SERVICE),
    ("rename organisation", "put", "/organizations/{org_a}", {"description": "edited"}, {"superuser", "admin"}),
    ("create organisation", "post", "/organizations/", {"name": "New {n}"},
     {"superuser", "admin", "other_admin", "orgless_admin"}),
    ("audit log", "get", "/audit-logs/", None, {"superuser", "admin", "other_admin", "orgless_admin"}),
    ("list users", "get", "/users/", None, {"superuser"}),
    ("list CAs", "get", "/cas/", None, ALL),
    ("list certificates", "get", "/certificates/", None, ALL),
    ("list organisations", "get", "/organizations/", None, ALL - SERVICE),
    ("me", "get", "/users/me", None, ALL - SERVICE),
    ("read user", "get", "/users/{plain_id}", None, {"superuser", "admin", "plain"}),
    ("grant capability", "patch", "/users/{plain_id}", {"can_create_cert": False}, ADMINS),
    ("delete user", "delete", "/users/{victim}", None, {"superuser"}),
    ("add member", "post", "/organizations/{org_a}/users/{free}", None, ADMINS),
    ("remove member", "delete", "/organizations/{org_a}/users/{victim}", None, ADMINS),
    ("delete organisation", "delete", "/organizations/{empty_org}", None, {"superuser"}),
    ("list service accounts", "get", "/service-accounts/", None,
     {"superuser", "admin", "other_admin", "orgless_admin"}),
    ("create service account", "post", "/service-accounts/", {"name": "sa {n}", "organization_id": "{org_a}"}, ADMINS),
    # Other organisations' service accounts do not exist for their admins (404, as the reference).
    ("read service account", "get", "/service-accounts/{sa_a}", None, ADMINS,
     {"other_admin": 404, "orgless_admin": 404}),
    ("service account tokens", "get", "/service-accounts/{sa_a}/tokens", None, ADMINS,
     {"other_admin": 404, "orgless_admin": 404}),
]
MATRIX = [m if len(m) == 6 else (*m, {}) for m in MATRIX]


def fill(value, ids):
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, str):
        if value in ("{ca_a}", "{parent_a}", "{org_a}"):  # ids in JSON bodies are integers
            return ids[value[1:-1]]
        return value.format(**ids)
    return value


_people = itertools.count()


def new_user(world, org):
    n = next(_people)
    return world["who"]["superuser"].ok("post", "/users/", 201, json={
        "username": f"extra{n}", "email": f"extra{n}@example.com", "password": "password1", "organization_id": org})["id"]


@pytest.mark.parametrize("route,method,path,body,allowed,deny", MATRIX, ids=[m[0] for m in MATRIX])
def test_permission_matrix(world, tmp, route, method, path, body, allowed, deny):
    csr, _ = make_csr(tmp, cn="csr.example", key="ec")
    for n, (name, client) in enumerate(sorted(world["who"].items())):
        ids = {"ca_a": world["ca_a"], "parent_a": world["parent_a"], "org_a": world["org_a"], "n": f"{route} {n}",
               "csr": csr, "plain_id": world["plain_id"], "sa_a": world["sa_a"]}
        if "{cert}" in path:
            ids["cert"] = cert_in_a(world)
        if "{doomed}" in path:
            ids["doomed"] = ca_in_a(world)
        if "{victim}" in path:
            ids["victim"] = new_user(world, world["org_a"])
        if "{free}" in path:
            ids["free"] = new_user(world, None)
        if "{empty_org}" in path:
            ids["empty_org"] = world["who"]["superuser"].ok("post", "/organizations/", 201, json={
                "name": f"Empty {route} {n}"})["id"]
        url = fill(path, ids)
        r = getattr(client, method)(url, **({"json": fill(body, ids)} if body is not None else {}))
        if name in allowed:
            assert r.status_code < 300, f"{route}: {name} should be allowed: {r.status_code} {r.text}"
        else:
            expected = 401 if name in SERVICE and route in USERS_ONLY else deny.get(name, 403)
            assert r.status_code == expected, f"{route}: {name} should get {expected}: {r.status_code} {r.text}"
            if "{cert}" in path and route == "revoke":
                assert world["who"]["superuser"].ok("get", f"/certificates/{ids['cert']}")["status"] == "valid"


def test_lists_never_cross_organisations(world):
    who = world["who"]
    for name in ALL - {"superuser"} - SERVICE:
        client = who[name]
        mine = {"other_admin": world["org_b"], "other_capable": world["org_b"]}.get(name, world["org_a"])
        if name.startswith("orgless"):
            mine = None
        cas = client.ok("get", "/cas/")
        certs = client.ok("get", "/certificates/")
        orgs = client.ok("get", "/organizations/")
        assert all(c["organization_id"] == mine for c in cas + certs), (name, cas, certs)
        assert [o["id"] for o in orgs] == ([mine] if mine else []), (name, orgs)
        if mine is None:
            assert cas == [] and certs == [], name
        else:
            assert cas and certs, name
        logs = client.get("/audit-logs/?limit=1000")
        if logs.status_code == 200:
            assert all(e["organization_id"] == mine for e in logs.json()), (name, logs.json()[:3])
            assert (logs.json() != []) == (mine is not None), name
    all_cas = who["superuser"].ok("get", "/cas/")
    assert {world["ca_a"], world["ca_b"]} <= {c["id"] for c in all_cas}


def test_cross_organisation_reads_are_refused(world):
    who = world["who"]
    b_cert = {"id": world["b_cert"]}
    for name in ORG_A - {"superuser"}:
        for path in (f"/cas/{world['ca_b']}", f"/certificates/{b_cert['id']}", f"/organizations/{world['org_b']}",
                     f"/export/certificate/{b_cert['id']}"):
            expected = 401 if name in SERVICE and path.startswith("/organizations/") else 403
            assert who[name].get(path).status_code == expected, (name, path)
    # A sign-csr by name only finds CAs of the caller's own organisation.
    r = who["admin"].post("/certificates/sign-csr", json={"csr": "x", "certificate_type": "server", "ca_name": "B Root"})
    assert r.status_code == 404 and r.json()["detail"] == "CA 'B Root' not found", r.text


def test_membership_rules(world):
    who, org_a, org_b = world["who"], world["org_a"], world["org_b"]
    newbie = who["superuser"].ok("post", "/users/", 201, json={"username": "newbie", "email": "newbie@example.com",
                                                                "password": "password1"})
    assert newbie["organization_id"] is None
    added = who["admin"].ok("post", f"/organizations/{org_a}/users/{newbie['id']}")
    assert added["organization_id"] == org_a
    b_member = who["other_admin"].ok("get", "/users/me")
    r = who["admin"].post(f"/organizations/{org_a}/users/{b_member['id']}")
    assert r.status_code == 403 and "add users" in r.json()["detail"], r.text
    assert who["admin"].delete(f"/organizations/{org_b}/users/{b_member['id']}").status_code == 403
    assert who["plain"].post(f"/organizations/{org_a}/users/{newbie['id']}").status_code == 403
    removed = who["admin"].ok("delete", f"/organizations/{org_a}/users/{newbie['id']}")
    assert removed["organization_id"] is None
    # Admins grant capabilities inside their organisation only; users never.
    assert who["admin"].patch(f"/users/{newbie['id']}", json={"can_create_cert": True}).status_code == 403
    assert who["plain"].patch(f"/users/{b_member['id']}", json={"can_create_cert": True}).status_code == 403
    assert who["admin"].patch(f"/users/{newbie['id']}", json={"organization_id": org_a}).status_code == 403
    r = who["superuser"].delete(f"/organizations/{org_a}")
    assert r.status_code == 400 and "Remove all users first" in r.json()["detail"], r.text
    assert who["admin"].delete(f"/organizations/{org_a}").status_code == 403
    dup = who["superuser"].post("/organizations/", json={"name": "Org A"})
    assert dup.status_code == 400 and dup.json()["detail"] == "Organization with this name already exists"
    assert who["superuser"].post("/organizations/", json={"name": "  "}).status_code == 422
    assert who["admin"].get("/organizations/999").status_code == 403  # non-members cannot probe ids
    assert who["superuser"].get("/organizations/999").status_code == 404


def test_service_accounts_tokens_and_policies(world):
    who, ca_a = world["who"], world["ca_a"]
    sa_client = who["sa_policy"]
    issue = lambda client, **b: client.post(f"/certificates/?ca_id={ca_a}", json={
        "subject_dn": f"CN={b.get('common_name', 'x')}", "certificate_type": "server", **b})
    r = issue(sa_client, common_name="ok.example")
    assert r.status_code == 201 and r.json()["created_by_service_account_id"] is not None, r.text
    assert r.json()["created_by_user_id"] is None and r.json()["organization_id"] == world["org_a"]
    r = issue(sa_client, common_name="evil.other")
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == {"code": "policy_violation", "field": "common_name", "value": "evil.other"}
    r = issue(sa_client, common_name="a.example", san_dns_names=["a.example", "b.other"])
    assert r.json()["detail"]["field"] == "san_dns_names", r.text
    r = issue(sa_client, common_name="a.example", valid_days=400)
    assert r.json()["detail"] == {"code": "policy_violation", "field": "valid_days", "value": 400}, r.text
    r = issue(sa_client, common_name="a.example", certificate_type="dual_purpose")
    assert r.json()["detail"]["field"] == "certificate_type", r.text
    r = issue(who["sa_nopolicy"], common_name="a.example")
    assert r.status_code == 403 and r.json()["detail"] == {"code": "service_account_has_no_policy"}, r.text
    # Only the account's own organisation, and only CA/certificate/export routes.
    assert sa_client.get(f"/cas/{world['ca_b']}").status_code == 403
    assert sa_client.get("/users/me").status_code == 401
    assert {c["organization_id"] for c in sa_client.ok("get", "/certificates/")} == {world["org_a"]}

    admin = who["admin"]
    accounts = admin.ok("get", "/service-accounts/")
    sa = next(a for a in accounts if a["name"] == "sa_policy")
    assert who["plain"].get("/service-accounts/").status_code == 403
    assert who["other_admin"].get(f"/service-accounts/{sa['id']}").status_code == 404
    assert who["other_admin"].ok("get", "/service-accounts/") == []
    dup = admin.post("/service-accounts/", json={"name": "sa_policy"})
    assert dup.status_code == 400, dup.text
    r = who["superuser"].post("/service-accounts/", json={"name": "needs-org"})
    assert r.status_code == 400 and r.json()["detail"] == "organization_id is required", r.text
    bad = admin.put(f"/service-accounts/{sa['id']}/policy", json={"max_validity_days": 0})
    assert bad.status_code == 422, bad.text
    policy = admin.ok("get", f"/service-accounts/{sa['id']}/policy")
    assert policy["cn_patterns"] == ["*.example"] and policy["allowed_ca_ids"] == [ca_a]
    tokens = admin.ok("get", f"/service-accounts/{sa['id']}/tokens")
    assert tokens and all("token" not in t for t in tokens) and tokens[0]["last_used_at"]
    # A wrong secret, a revoked token and a disabled account all get 401.
    good = sa_client.s.headers["Authorization"].split()[1]
    assert Client(world["v1"], good[:-2] + ("11" if good.endswith("00") else "00")).get("/cas/").status_code == 401
    extra = admin.ok("post", f"/service-accounts/{sa['id']}/tokens", 201, json={})
    assert Client(world["v1"], extra["token"]).get("/cas/").status_code == 200
    assert admin.delete(f"/service-accounts/{sa['id']}/tokens/{extra['id']}").status_code == 204
    assert Client(world["v1"], extra["token"]).get("/cas/").status_code == 401
    admin.ok("patch", f"/service-accounts/{sa['id']}", json={"disabled": True})
    assert sa_client.get("/cas/").status_code == 401
    admin.ok("patch", f"/service-accounts/{sa['id']}", json={"disabled": False})
    assert sa_client.get("/cas/").status_code == 200
    entries = admin.ok("get", f"/audit-logs/?resource_type=service_account&resource_id={sa['id']}")
    assert {e["action"] for e in entries} >= {"service_account_token_create", "service_account_update"}, entries
    actions = {e["action"] for e in admin.ok("get", "/audit-logs/?limit=1000")}
    assert {"service_account_create", "service_account_token_create", "service_account_token_revoke",
            "service_account_update"} <= actions, actions
