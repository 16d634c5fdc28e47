"""The web console (/ui) driven by a real browser: Playwright for Python driving Debian's chromium,
headless, against the real binary. Screenshots of each screen go to target/test-artifacts/console/."""
import re
import subprocess
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from conftest import (BOOTSTRAP_TOKEN, ROOT, Client, free_port, fresh_server, make_csr, make_hierarchy, make_role, openssl,
                      write)

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "target" / "test-artifacts" / "console"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "console-pass-1"


@pytest.fixture(scope="module")
def world():
    for srv in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        yield {"srv": srv, "url": srv.url, "admin": Client(srv.url, BOOTSTRAP_TOKEN)}


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def token_login(browser, url, **context_options):
    ctx = browser.new_context(**context_options)
    page = ctx.new_page()
    page.goto(url + "/ui/login")
    page.fill("#token", BOOTSTRAP_TOKEN)
    page.click("button[name=with][value=token]")
    expect(page).to_have_url(re.compile(r"/ui/dashboard$"))
    return ctx, page


def password_login(browser, url, username):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url + "/ui/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/ui/login'] button[type=submit]:not([name])")
    expect(page).to_have_url(re.compile(r"/ui/dashboard$"))
    return ctx, page


def session_client(ctx, url):
    """A requests session holding the browser's console cookie (and nothing else)."""
    s = requests.Session()
    for c in ctx.cookies():
        if c["name"] == "certus_console":
            s.cookies.set(c["name"], c["value"], path="/ui")
    return s


def issue(admin, role, cn):
    return admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": cn, "ttl": "240h"})


def ca_pem(admin, ca):
    return admin.ok("get", f"/v1/pki/ca/{ca['id']}/certificate")["certificate_pem"]


def test_first_user_is_created_from_the_sign_in_page_once(world, browser):
    url = world["url"]
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url + "/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    expect(page.locator("#first-user")).to_be_visible()
    shot(page, "login-first-user")
    page.fill("#setup-username", "root-admin")
    page.fill("#setup-email", "root@example.com")
    page.fill("#setup-password", PASSWORD)
    page.click("#first-user button[type=submit]")
    expect(page).to_have_url(re.compile(r"/ui/dashboard$"))
    expect(page.locator("#whoami")).to_have_text("root-admin")
    cookie = next(c for c in ctx.cookies() if c["name"] == "certus_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    # The API sees the same superuser.
    r = requests.post(url + "/api/v1/auth/token", data={"username": "root-admin", "password": PASSWORD})
    assert r.status_code == 200 and requests.get(url + "/api/v1/users/me", headers={
        "Authorization": f"Bearer {r.json()['access_token']}"}).json()["role"] == "superuser"

    page.click("form[action='/ui/logout'] button")
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    expect(page.locator("#first-user")).to_have_count(0)
    # The old cookie no longer opens anything.
    old = requests.get(url + "/ui/dashboard", cookies={"certus_console": cookie["value"]}, allow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == "/ui/login"
    # A stale or forged setup post is refused too.
    s = requests.Session()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', s.get(url + "/ui/login").text).group(1)
    r = s.post(url + "/ui/setup", data={"csrf": csrf, "username": "late", "email": "l@example.com",
                                        "password": PASSWORD}, allow_redirects=False)
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    ctx.close()


def test_wrong_password_and_login_without_csrf_are_refused(world, browser):
    url = world["url"]
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url + "/ui/login")
    page.fill("#username", "root-admin")
    page.fill("#password", "not-the-password")
    page.click("form[action='/ui/login'] button[type=submit]:not([name])")
    expect(page.locator("#login-error")).to_contain_text("Incorrect")
    ctx.close()
    # No pre-session cookie, no sign-in (login CSRF).
    r = requests.post(url + "/ui/login", data={"token": BOOTSTRAP_TOKEN, "with": "token", "csrf": "x" * 48},
                      allow_redirects=False)
    assert r.status_code == 403 and "certus_console" not in r.headers.get("set-cookie", "")


def test_dashboard_counts_match_the_api(world, browser):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    issued = [issue(admin, role, f"dash{i}.example.test") for i in range(3)]
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": issued[0]["serial_number"], "reason": "superseded"})
    ctx, page = token_login(browser, world["url"])
    shot(page, "dashboard")
    row = page.locator(f"#ca-counts tr[data-ca-id='{inter['id']}']")
    listed = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&include_revoked=true&limit=1000")["data"]
    active = admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&limit=1000")["data"]
    expect(row.locator(".issued")).to_have_text(str(len(listed)))
    expect(row.locator(".revoked")).to_have_text(str(len(listed) - len(active)))
    expect(row.locator(".exp30")).to_have_text(str(len(active)))  # 240 h certificates
    expect(row.locator(".exp7")).to_have_text("0")
    expect(page.locator("#expiry-plot rect.bar")).to_have_count(1)
    page.click("a[href='/ui/cas']")
    expect(page.locator(f"#ca-tree [data-ca-id='{inter['id']}']")).to_have_attribute("data-parent", inter["parent_ca_id"])
    shot(page, "ca-tree")
    crl = requests.get(world["url"] + page.locator(f"#ca-tree [data-ca-id='{inter['id']}'] a", has_text="CRL")
                       .get_attribute("href"))
    assert crl.status_code == 200 and crl.content[:1] == b"\x30"
    ctx.close()


def test_search_by_cn_and_serial_then_revoke_from_the_page(world, browser, tmp):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    target = issue(admin, role, "findme.example.test")
    other = issue(admin, role, "someone-else.example.test")
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/certificates")
    page.fill("#q", "FINDME.example")  # a prefix, any case
    page.click(".filters button[type=submit]")
    rows = page.locator("#results table.certs tbody tr")
    expect(rows).to_have_count(1)
    serial_hex = target["serial_number"].replace(":", "").lower()
    expect(rows.first).to_have_attribute("data-serial", serial_hex)
    shot(page, "search")

    page.goto(world["url"] + "/ui/certificates?serial=" + target["serial_number"])
    expect(page.locator("#results table.certs tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr").first).to_have_attribute("data-serial", serial_hex)
    page.click("#results tbody tr a")
    expect(page.locator("#cert-serial")).to_have_text(serial_hex)
    expect(page.locator("#chain li")).to_have_count(3)
    pem = session_client(ctx, world["url"]).get(world["url"] + page.locator("#download-pem").get_attribute("href"))
    assert pem.status_code == 200 and pem.text.count("BEGIN CERTIFICATE") == 3
    shot(page, "certificate")

    page.select_option("#reason", "key_compromise")
    page.click("#revoke-form button")
    expect(page.locator("#cert-status")).to_contain_text("revoked")
    expect(page.locator("#revoke-form")).to_have_count(0)
    one = admin.ok("get", f"/v1/pki/certificates/{target['certificate_id']}")
    assert one["is_revoked"] and one["revocation_reason"] == "key_compromise"
    assert not admin.ok("get", f"/v1/pki/certificates/{other['certificate_id']}")["is_revoked"]
    crl = tmp / "crl.der"
    crl.write_bytes(requests.get(f"{world['url']}/v1/pki/ca/{inter['id']}/crl").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert serial_hex.upper() in text.replace(":", "").upper() and "Key Compromise" in text

    page.goto(world["url"] + f"/ui/certificates?q=findme&status=revoked")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.goto(world["url"] + f"/ui/certificates?q=findme&status=valid")
    expect(page.locator("#results tbody tr td", has_text="None.")).to_have_count(1)
    ctx.close()


def test_search_updates_in_place_with_htmx(world, browser):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    issue(admin, role, "htmx-one.example.test")
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/certificates")
    page.evaluate("window.__sameDocument = true")
    with page.expect_request(lambda r: "/ui/certificates?" in r.url and r.headers.get("hx-request") == "true"):
        page.fill("#q", "htmx-one")
        page.click(".filters button[type=submit]")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True, "the results were swapped in, not a new page"
    expect(page).to_have_url(re.compile(r"q=htmx-one"))
    ctx.close()


def test_reads_work_without_javascript(world, browser):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    issue(admin, role, "nojs.example.test")
    ctx, page = token_login(browser, world["url"], java_script_enabled=False)
    page.goto(world["url"] + "/ui/certificates")
    page.fill("#q", "nojs")
    page.click(".filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"/ui/certificates\?q=nojs"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    ctx.close()


def test_state_changes_need_the_csrf_token(world, browser):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    victim = issue(admin, role, "csrf.example.test")
    ctx, page = token_login(browser, world["url"])
    s = session_client(ctx, world["url"])
    path = f"{world['url']}/ui/certificates/{victim['certificate_id']}/revoke"
    for data, headers in (({"reason": "key_compromise"}, {}), ({"reason": "key_compromise", "csrf": "0" * 64}, {}),
                          ({"reason": "key_compromise"}, {"X-CSRF-Token": "nope"})):
        r = s.post(path, data=data, headers=headers, allow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text, r.text
    assert not admin.ok("get", f"/v1/pki/certificates/{victim['certificate_id']}")["is_revoked"]
    # The header form (what htmx sends) with the right token works.
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', s.get(world["url"] + "/ui/dashboard").text).group(1)
    r = s.post(path, data={"reason": "superseded"}, headers={"X-CSRF-Token": csrf}, allow_redirects=False)
    assert r.status_code == 303
    assert admin.ok("get", f"/v1/pki/certificates/{victim['certificate_id']}")["is_revoked"]
    ctx.close()


def test_issue_from_the_console_shows_the_key_once(world, browser, tmp):
    admin = world["admin"]
    root, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/issue")
    page.select_option("#template", f"role:{role['name']}")
    page.fill("#common_name", "console-made.example.test")
    page.fill("#alt_names", "console-made.example.test, www.console-made.example.test")
    page.fill("#ttl", "72h")
    page.click("#issue-form button[type=submit]")
    key = page.locator("#private-key").input_value()
    cert = page.locator("#certificate-pem").input_value()
    assert key.startswith("-----BEGIN") and "PRIVATE KEY" in key
    shot(page, "issued")
    leaf = write(tmp / "leaf.pem", cert)
    openssl("verify", "-CAfile", write(tmp / "root.pem", ca_pem(admin, root)),
            "-untrusted", write(tmp / "int.pem", ca_pem(admin, inter)), leaf)
    keyf = write(tmp / "leaf.key", key)
    assert openssl("pkey", "-in", keyf, "-pubout").stdout == openssl("x509", "-in", leaf, "-noout", "-pubkey").stdout
    page.click("#issued-link")
    expect(page.locator("#cert-fields")).to_contain_text("www.console-made.example.test")
    assert "PRIVATE KEY" not in page.content()

    # A name outside the role is refused on the form, naming why; nothing is issued.
    before = len(admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&limit=1000")["data"])
    page.goto(world["url"] + "/ui/issue")
    page.select_option("#template", f"role:{role['name']}")
    page.fill("#common_name", "evil.example.com")
    page.click("#issue-form button[type=submit]")
    expect(page.locator("#issue-error")).to_be_visible()
    assert len(admin.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&limit=1000")["data"]) == before

    # With a pasted CSR: no key on the result page.
    csr_pem, _ = make_csr(tmp, "pasted.example.test", ["DNS:pasted.example.test"])
    page.goto(world["url"] + "/ui/issue")
    page.select_option("#template", f"role:{role['name']}")
    page.check("input[name=key][value=csr]")
    page.fill("#csr", csr_pem)
    page.click("#issue-form button[type=submit]")
    expect(page.locator("#certificate-pem")).to_be_visible()
    expect(page.locator("#private-key")).to_have_count(0)
    ctx.close()


def test_approve_and_sign_a_pending_csr(world, browser, tmp):
    admin = world["admin"]
    _, inter = make_hierarchy(admin)
    csr_pem, _ = make_csr(tmp, "queued.example.test", ["DNS:queued.example.test"])
    csr = admin.ok("post", "/v1/pki/csr/import", 201, json={"csr_pem": csr_pem})
    doomed = admin.ok("post", "/v1/pki/csr/import", 201, json={"csr_pem": make_csr(tmp, "doomed.example.test")[0]})
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/csrs")
    shot(page, "csr-queue")
    row = page.locator(f"#csr-queue tr[data-csr-id='{csr['id']}']")
    row.locator("button", has_text="Approve").click()
    expect(row.locator(".csr-status")).to_have_text("approved")
    row.locator("select[name=ca_id]").select_option(inter["id"])
    row.locator("input[name=validity_days]").fill("30")
    row.locator("button", has_text="Sign").click()
    expect(page.locator("#flash")).to_contain_text("Signed")
    signed = admin.ok("get", f"/v1/pki/csr/{csr['id']}")
    assert signed["status"] == "signed" and signed["certificate_id"]
    cert = admin.ok("get", f"/v1/pki/certificates/{signed['certificate_id']}")
    assert cert["issuer_ca_id"] == inter["id"]

    drow = page.locator(f"#csr-queue tr[data-csr-id='{doomed['id']}']")
    drow.locator("input[name=reason]").fill("not ours")
    drow.locator("button", has_text="Reject").click()
    expect(page.locator("#flash")).to_contain_text("Rejected")
    rejected = admin.ok("get", f"/v1/pki/csr/{doomed['id']}")
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "not ours"
    ctx.close()


def test_audit_log_page_and_chain_check(world, browser):
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    page.click("#chain-check button")
    expect(page.locator("p#chain-check")).to_contain_text("verifies")
    page.fill("#action", "certificate.revoke")
    page.click(".filters button[type=submit]")
    cells = page.locator("#audit tbody tr td:nth-child(4)")
    expect(cells.first).to_have_text("certificate.revoke")
    shot(page, "audit")
    ctx.close()


def test_an_organisation_sees_nothing_of_another(world, browser):
    url, admin = world["url"], world["admin"]
    v1 = url + "/api/v1"
    su_token = requests.post(f"{v1}/auth/token", data={"username": "root-admin", "password": PASSWORD}).json()
    su = Client(v1, su_token["access_token"])
    org_a = su.ok("post", "/organizations/", 201, json={"name": "Console A"})["id"]
    org_b = su.ok("post", "/organizations/", 201, json={"name": "Console B"})["id"]
    for name, org in (("alice", org_a), ("bob", org_b)):
        su.ok("post", "/users/", 201, json={"username": name, "email": f"{name}@example.com", "password": PASSWORD,
                                            "role": "admin", "organization_id": org})
    bob = Client(v1, requests.post(f"{v1}/auth/token", data={"username": "bob", "password": PASSWORD})
                 .json()["access_token"])
    ca_b = bob.ok("post", "/cas/", 201, json={"name": "B Secret Root", "subject_dn": "CN=B Secret Root"})
    bob.ok("post", f"/certificates/?ca_id={ca_b['id']}", 201, json={
        "common_name": "secret-b.example", "subject_dn": "CN=secret-b.example", "certificate_type": "server"})

    ctx, page = password_login(browser, url, "alice")
    shot(page, "dashboard-org-a")
    assert "B Secret Root" not in page.content()
    page.goto(url + "/ui/certificates?q=secret-b")
    expect(page.locator("#results tbody tr td", has_text="None.")).to_have_count(1)
    page.goto(url + "/ui/cas")
    assert "B Secret Root" not in page.content()
    expect(page.locator("#tenant-switch option")).to_have_count(1)

    # The superuser sees every tenant: find Bob's certificate through the switch.
    su_ctx, su_page = token_login(browser, url)
    b_href = b_tenant = None
    for value in [o.get_attribute("value") for o in su_page.locator("#tenant-switch option").all()]:
        su_page.select_option("#tenant-switch", value)
        su_page.click("form[action='/ui/tenant'] button")
        su_page.goto(url + "/ui/certificates?q=secret-b")
        link = su_page.locator("#results tbody tr a")
        if link.count():
            b_href, b_tenant = link.first.get_attribute("href"), value
            break
    assert b_href, "the superuser finds Bob's certificate in Bob's tenant"
    su_ctx.close()

    # Alice cannot open it, nor switch to Bob's tenant.
    s = session_client(ctx, url)
    assert s.get(url + b_href, allow_redirects=False).status_code == 404
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', s.get(url + "/ui/dashboard").text).group(1)
    r = s.post(url + "/ui/tenant", data={"csrf": csrf, "tenant": b_tenant}, allow_redirects=False)
    assert r.status_code == 404, r.text
    assert "secret-b" not in s.get(url + "/ui/certificates?q=secret").text
    # Alice is an admin of A: she reads A's audit log, never B's entries.
    audit = s.get(url + "/ui/audit").text
    assert "secret-b" not in audit and "B Secret Root" not in audit
    ctx.close()


def test_console_errors_are_pages_and_assets_are_embedded(world):
    url = world["url"]
    r = requests.get(url + "/ui/assets/htmx.min.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"] and "htmx" in r.text[:200]
    r = requests.get(url + "/ui/assets/nope.js")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = requests.get(url + "/ui/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # A malformed form body is a page, not bare text or JSON.
    s = requests.Session()
    r = s.post(url + "/ui/login", data=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("text/html")


def test_webhook_deliveries_are_visible(world, browser):
    admin = world["admin"]
    # Nothing listens on this port: deliveries stay pending and show their error.
    dead = f"http://127.0.0.1:{free_port()}/hook"
    hook = admin.ok("post", "/v1/pki/webhooks", 201, json={"url": dead, "events": ["certificate.issued"]})
    _, inter = make_hierarchy(admin)
    issue(admin, make_role(admin, inter["id"], key_type="ec"), "hooked.example.test")
    ctx, page = token_login(browser, world["url"])
    page.goto(world["url"] + "/ui/webhooks")
    card = page.locator(f".webhook[data-webhook-id='{hook['id']}']")
    api = admin.ok("get", f"/v1/pki/webhooks/{hook['id']}/deliveries")
    assert api and all(d["event"] == "certificate.issued" for d in api)  # the CAs' certificates and the leaf
    expect(card.locator(".deliveries tbody tr td:nth-child(2)", has_text="certificate.issued")).to_have_count(len(api))
    card.locator("button", has_text="test delivery").click()
    expect(page.locator("#flash")).to_contain_text("queued")
    delivery = page.locator("#flash").inner_text().split()[2]
    assert any(d["id"] == delivery for d in admin.ok("get", f"/v1/pki/webhooks/{hook['id']}/deliveries"))
    expect(page.locator(f".webhook[data-webhook-id='{hook['id']}'] tr[data-delivery-id='{delivery}']")).to_have_count(1)
    shot(page, "webhooks")
    admin.ok("delete", f"/v1/pki/webhooks/{hook['id']}", 204)
    ctx.close()
