"""/api/v1 front door, first slice: first-user bootstrap, password login with JWT access tokens,
refresh rotation, logout, invalidate, users (create, list, get, patch, delete) with their
permission rules, the login rate limit, errors as {"detail"} and the security headers (research:
fastpki.md sections 1.1 to 1.3)."""
import base64
import json
import time

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, fresh_server

HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "strict-origin-when-cross-origin", "cache-control": "no-store",
           "strict-transport-security": "max-age=63072000; includeSubDomains"}


@pytest.fixture(scope="module")
def v1():
    for server in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        yield server.url + "/api/v1"


def login(v1, username, password):
    return requests.post(f"{v1}/auth/token", data={"username": username, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def detail(r, status, text=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail"}, body
    if text is not None:
        assert body["detail"] == text, body


@pytest.fixture(scope="module")
def root(v1):
    """The first user, created without a token as a superuser, and signed in."""
    r = requests.post(f"{v1}/users/", json={"username": "root", "email": "root@example.com",
                                            "password": "correct horse", "role": "superuser", "can_create_ca": True})
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["role"] == "superuser" and user["can_create_ca"] is True and user["can_delete_ca"] is False
    assert "password" not in json.dumps(user) and "hash" not in json.dumps(user)
    pair = login(v1, "root", "correct horse").json()
    return {"user": user, **pair}


def test_first_user_bootstrap_then_registration_rules(v1, root):
    anon = {"email": "x@example.com", "password": "long enough"}
    detail(requests.post(f"{v1}/users/", json={"username": "x", "role": "admin", **anon}), 403,
           "Not enough permissions to create admin or superuser accounts")
    detail(requests.post(f"{v1}/users/", json={"username": "x", **anon}), 403, "Unauthenticated registration is disabled")
    # An invalid token is an anonymous caller on this route.
    detail(requests.post(f"{v1}/users/", json={"username": "x", **anon}, headers=bearer("nope")), 403)
    su = bearer(root["access_token"])
    admin = requests.post(f"{v1}/users/", headers=su, json={"username": "adm", "email": "adm@example.com",
                                                            "password": "adminpass", "role": "admin"})
    assert admin.status_code == 201 and admin.json()["role"] == "admin", admin.text
    adm = bearer(login(v1, "adm", "adminpass").json()["access_token"])
    detail(requests.post(f"{v1}/users/", headers=adm, json={"username": "su2", "email": "su2@example.com",
                                                            "password": "password", "role": "superuser"}), 403)
    plain = {"username": "plain", "email": "plain@example.com", "password": "password"}
    # Capabilities are granted by superusers and by admins of the new user's organisation only.
    detail(requests.post(f"{v1}/users/", headers=adm, json={**plain, "can_revoke_cert": True}), 403,
           "Not enough permissions to change capabilities")
    r = requests.post(f"{v1}/users/", headers=adm, json=plain)
    assert r.status_code == 201 and r.json()["role"] == "user" and r.json()["can_revoke_cert"] is False, r.text
    detail(requests.post(f"{v1}/users/", headers=su, json={"username": "plain", "email": "o@example.com",
                                                           "password": "password"}), 400, "Username already registered")
    detail(requests.post(f"{v1}/users/", headers=su, json={"username": "other", "email": "plain@example.com",
                                                           "password": "password"}), 400, "Email already registered")
    short = requests.post(f"{v1}/users/", headers=su, json={"username": "s", "email": "s@example.com", "password": "short"})
    assert short.status_code == 422 and "Min 8 chars" in json.dumps(short.json()["detail"]), short.text
    assert requests.post(f"{v1}/users/", headers=su, data="{").status_code == 422


def test_login_and_me(v1, root):
    bad = login(v1, "root", "wrong password")
    detail(bad, 401, "Incorrect username or password")
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    detail(login(v1, "nobody", "whatever"), 401, "Incorrect username or password")
    assert requests.post(f"{v1}/auth/token", json={"username": "root", "password": "correct horse"}).status_code == 422
    assert root["refresh_token"] and requests.post(f"{v1}/auth/token", data={"username": "root"}).status_code == 422
    me = requests.get(f"{v1}/users/me", headers=bearer(root["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == root["user"]["id"]
    for name, value in HEADERS.items():
        assert me.headers[name] == value, name
    claims = json.loads(base64.urlsafe_b64decode(root["access_token"].split(".")[1] + "=="))
    assert claims["sub"] == "root" and claims["role"] == "superuser" and claims["exp"] - claims["iat"] == 15 * 60
    detail(requests.get(f"{v1}/users/me"), 401, "Not authenticated")


def test_forged_tokens_are_refused(v1, root):
    header, payload, sig = root["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "id": claims["id"] + 1}).encode()).rstrip(b"=").decode()
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for token in (f"{header}.{forged}.{sig}", f"{none_alg}.{payload}.", "a.b.c", "garbage"):
        detail(requests.get(f"{v1}/users/me", headers=bearer(token)), 401, "Could not validate credentials")


def test_refresh_rotates_and_logout_ends_the_session(v1, root):
    requests.post(f"{v1}/users/", headers=bearer(root["access_token"]),
                  json={"username": "carol", "email": "carol@example.com", "password": "carolpass"})
    first = login(v1, "carol", "carolpass").json()
    second = requests.post(f"{v1}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["token_type"] == "bearer", second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    detail(requests.post(f"{v1}/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401,
           "Invalid or expired refresh token")
    # Someone else's refresh token cannot be used to log out.
    detail(requests.post(f"{v1}/auth/logout", headers=bearer(second["access_token"]),
                         json={"refresh_token": root["refresh_token"]}), 403,
           "Refresh token does not belong to current user")
    r = requests.post(f"{v1}/auth/logout", headers=bearer(second["access_token"]),
                      json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 204, r.text
    detail(requests.get(f"{v1}/users/me", headers=bearer(second["access_token"])), 401)
    detail(requests.post(f"{v1}/auth/refresh", json={"refresh_token": second["refresh_token"]}), 401)


def test_invalidate_ends_every_session(v1, root):
    requests.post(f"{v1}/users/", headers=bearer(root["access_token"]),
                  json={"username": "dave", "email": "dave@example.com", "password": "davepass"})
    a, b = login(v1, "dave", "davepass").json(), login(v1, "dave", "davepass").json()
    assert requests.post(f"{v1}/auth/invalidate", headers=bearer(a["access_token"])).status_code == 204
    for pair in (a, b):
        detail(requests.get(f"{v1}/users/me", headers=bearer(pair["access_token"])), 401)
        detail(requests.post(f"{v1}/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401)
    time.sleep(1.1)  # whole-second iat: a token from the invalidation's second is void too
    fresh = login(v1, "dave", "davepass").json()
    assert requests.get(f"{v1}/users/me", headers=bearer(fresh["access_token"])).status_code == 200


def test_inactive_users_cannot_sign_in(v1, root):
    r = requests.post(f"{v1}/users/", headers=bearer(root["access_token"]),
                      json={"username": "eve", "email": "eve@example.com", "password": "evepass1", "is_active": False})
    assert r.status_code == 201 and r.json()["is_active"] is False
    detail(login(v1, "eve", "evepass1"), 401, "Incorrect username or password")


def test_login_rate_limit():
    for server in fresh_server():
        url = server.url + "/api/v1/auth/token"
        codes = [requests.post(url, data={"username": "u", "password": "p"}).status_code for _ in range(5)]
        assert codes == [401] * 5, codes
        limited = requests.post(url, data={"username": "u", "password": "p"})
        assert limited.status_code == 429 and limited.json() == {"error": "Rate limit exceeded: 5 per 1 minute"}


def new_user(v1, root, name, password="password1", **fields):
    r = requests.post(f"{v1}/users/", headers=bearer(root["access_token"]),
                      json={"username": name, "email": f"{name}@example.com", "password": password, **fields})
    assert r.status_code == 201, r.text
    return r.json(), bearer(login(v1, name, password).json()["access_token"])


def test_user_reads_follow_roles(v1, root):
    su = bearer(root["access_token"])
    frank, frank_h = new_user(v1, root, "frank")
    grace, _ = new_user(v1, root, "grace")
    _, boss_h = new_user(v1, root, "boss", role="admin")
    listed = requests.get(f"{v1}/users/", headers=su, params={"limit": 1000}).json()
    assert {"root", "frank", "grace", "boss"} <= {u["username"] for u in listed}
    assert [u["username"] for u in requests.get(f"{v1}/users/", headers=su, params={"skip": 0, "limit": 1}).json()] == ["root"]
    assert requests.get(f"{v1}/users/", headers=su, params={"limit": "many"}).status_code == 422
    for who in (frank_h, boss_h):
        detail(requests.get(f"{v1}/users/", headers=who), 403, "The user doesn't have sufficient privileges")
    assert requests.get(f"{v1}/users/{frank['id']}", headers=frank_h).json()["username"] == "frank"
    assert requests.get(f"{v1}/users/{frank['id']}", headers=su).status_code == 200
    detail(requests.get(f"{v1}/users/{grace['id']}", headers=frank_h), 403, "Not enough permissions")
    # An admin without an organisation manages nobody but itself.
    detail(requests.get(f"{v1}/users/{grace['id']}", headers=boss_h), 403, "Not enough permissions")
    detail(requests.get(f"{v1}/users/999999", headers=su), 404, "User not found")
    assert requests.get(f"{v1}/users/abc", headers=su).status_code == 422


def test_user_patch_rules(v1, root):
    su = bearer(root["access_token"])
    henry, henry_h = new_user(v1, root, "henry")
    ivy, _ = new_user(v1, root, "ivy")
    _, boss_h = new_user(v1, root, "boss2", role="admin")
    url = f"{v1}/users/{henry['id']}"
    r = requests.patch(url, headers=henry_h, json={"email": "henry@new.example.com"})
    assert r.status_code == 200 and r.json()["email"] == "henry@new.example.com", r.text
    detail(requests.patch(url, headers=henry_h, json={"role": "admin"}), 403,
           "Not enough permissions to change role or activation status")
    detail(requests.patch(url, headers=henry_h, json={"can_create_ca": True}), 403,
           "Not enough permissions to change capabilities")
    detail(requests.patch(f"{v1}/users/{ivy['id']}", headers=henry_h, json={"email": "x@example.com"}), 403,
           "Not enough permissions")
    # Unlike the reference, an admin cannot rewrite the email of a user outside its organisation.
    detail(requests.patch(f"{v1}/users/{ivy['id']}", headers=boss_h, json={"email": "x@example.com"}), 403,
           "Not enough permissions")
    detail(requests.patch(url, headers=su, json={"email": "ivy@example.com"}), 400, "Email already registered")
    r = requests.patch(url, headers=su, json={"can_create_ca": True, "can_delete_ca": True})
    assert r.json()["can_create_ca"] is True and r.json()["can_delete_ca"] is True and r.json()["can_revoke_cert"] is False
    detail(requests.patch(f"{v1}/users/{root['user']['id']}", headers=su, json={"role": "admin"}), 403,
           "Superusers cannot downgrade themselves")
    # A new password ends the old sessions; the new one works.
    assert requests.patch(url, headers=henry_h, json={"password": "new password"}).status_code == 200
    detail(requests.get(f"{v1}/users/me", headers=henry_h), 401)
    detail(login(v1, "henry", "password1"), 401)
    time.sleep(1.1)
    fresh = bearer(login(v1, "henry", "new password").json()["access_token"])
    assert requests.get(f"{v1}/users/me", headers=fresh).status_code == 200
    # Deactivation ends them too.
    assert requests.patch(url, headers=su, json={"is_active": False}).json()["is_active"] is False
    detail(requests.get(f"{v1}/users/me", headers=fresh), 401)


def test_user_delete(v1, root):
    su = bearer(root["access_token"])
    jack, _ = new_user(v1, root, "jack")
    _, boss_h = new_user(v1, root, "boss3", role="admin")
    detail(requests.delete(f"{v1}/users/{jack['id']}", headers=boss_h), 403)
    detail(requests.delete(f"{v1}/users/{root['user']['id']}", headers=su), 400, "Superusers cannot delete themselves")
    assert requests.delete(f"{v1}/users/{jack['id']}", headers=su).status_code == 204
    detail(requests.get(f"{v1}/users/{jack['id']}", headers=su), 404, "User not found")
    detail(requests.delete(f"{v1}/users/{jack['id']}", headers=su), 404)
    detail(login(v1, "jack", "password1"), 401)


def test_certus_superuser_token_is_a_superuser_here(v1, root):
    boot = bearer(BOOTSTRAP_TOKEN)
    me = requests.get(f"{v1}/users/me", headers=boot)
    assert me.status_code == 200 and me.json()["role"] == "superuser", me.text
    assert any(u["username"] == "root" for u in requests.get(f"{v1}/users/", headers=boot).json())
    r = requests.post(f"{v1}/users/", headers=boot, json={"username": "ops", "email": "ops@example.com",
                                                          "password": "password1", "role": "admin"})
    assert r.status_code == 201 and r.json()["role"] == "admin", r.text
    detail(requests.post(f"{v1}/auth/invalidate", headers=boot), 400)
    # A tenant's token without the superuser flag is no /api/v1 credential.
    base = v1.rsplit("/api/v1", 1)[0]
    t = requests.post(f"{base}/v1/admin/tenants", headers=boot, json={"name": "v1-tenant"}).json()
    tok = requests.post(f"{base}/v1/admin/tokens", headers=boot,
                        json={"tenant_id": t["id"], "name": "t", "scopes": ["pki:admin"]}).json()["token"]
    detail(requests.get(f"{v1}/users/me", headers=bearer(tok)), 401, "Could not validate credentials")


def test_registration_settings():
    """CERTUS_FIRST_USER_BOOTSTRAP=false closes the anonymous first-user path (the bootstrap token
    still creates users); CERTUS_ALLOW_UNAUTHENTICATED_REGISTRATION=true opens sign-up for plain
    users only, without organisation or capabilities."""
    env = {"CERTUS_FIRST_USER_BOOTSTRAP": "false", "CERTUS_ALLOW_UNAUTHENTICATED_REGISTRATION": "true"}
    for server in fresh_server(env):
        v1 = server.url + "/api/v1"
        first = {"username": "first", "email": "first@example.com", "password": "password1"}
        detail(requests.post(f"{v1}/users/", json={**first, "role": "superuser"}), 403,
               "Not enough permissions to create admin or superuser accounts")
        r = requests.post(f"{v1}/users/", json={**first, "role": "superuser"}, headers=bearer(BOOTSTRAP_TOKEN))
        assert r.status_code == 201 and r.json()["role"] == "superuser", r.text
        joe = {"username": "joe", "email": "joe@example.com", "password": "password1"}
        detail(requests.post(f"{v1}/users/", json={**joe, "can_create_ca": True}), 403,
               "Not enough permissions to change capabilities")
        detail(requests.post(f"{v1}/users/", json={**joe, "organization_id": 1}), 403)
        r = requests.post(f"{v1}/users/", json=joe)
        assert r.status_code == 201 and r.json()["role"] == "user", r.text


def test_racing_first_users_make_one_superuser():
    """Anonymous first-user requests sent together: exactly one becomes the superuser."""
    from concurrent.futures import ThreadPoolExecutor
    for server in fresh_server():
        body = lambda i: {"username": f"racer{i}", "email": f"racer{i}@example.com", "password": "password1",
                          "role": "superuser"}
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda i: requests.post(f"{server.url}/api/v1/users/", json=body(i)).status_code,
                                  range(8)))
        assert sorted(codes) == [201] + [403] * 7, codes
