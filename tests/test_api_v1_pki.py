"""/api/v1 CAs, certificates, exports, public CRL/CA downloads and the audit log (spec:
certificates-orgs-capabilities.txt; research: fastpki.md sections 1.6 to 1.10), including the
spec document's curl examples run in order with the real curl, and the same records seen through
the native API."""
import json
import re
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server, make_csr, openssl, write
from test_audit import verify
from test_lint import lint

SPEC = Path(__file__).resolve().parent / "spec" / "certificates-orgs-capabilities.txt"


@pytest.fixture(scope="module")
def srv():
    for server in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        yield server


@pytest.fixture(scope="module")
def su(srv):
    """The first user (a superuser without organisation), signed in."""
    r = requests.post(f"{srv.url}/api/v1/users/", json={"username": "admin", "email": "admin@example.com",
                                                        "password": "securepassword", "role": "superuser"})
    assert r.status_code == 201, r.text
    token = requests.post(f"{srv.url}/api/v1/auth/token",
                          data={"username": "admin", "password": "securepassword"}).json()["access_token"]
    return Client(srv.url + "/api/v1", token)


@pytest.fixture(scope="module")
def ca1(su):
    """CA id 1, which the document's examples issue from."""
    ca = su.ok("post", "/cas/", 201, json={"name": "Acme Issuing CA", "subject_dn": "CN=Acme Issuing CA,O=Acme Corp,C=US",
                                           "key_size": 2048})
    assert ca["id"] == 1 and ca["is_root"] is True
    return ca


def detail(r, status, text=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail"}, body
    if text is not None:
        assert text in json.dumps(body["detail"]), body
    return body["detail"]


def spec_commands(text):
    """The shell commands of the document (curl and openssl), continuation lines and quoted
    multi-line bodies joined, in document order."""
    commands, current = [], ""
    for line in text.splitlines():
        if not current and not re.match(r"\s*(curl|openssl)\b", line):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\") or current.count("'") % 2 == 1:
            current += "" if line.endswith("\\") else "\n"
            continue
        commands.append(current.strip())
        current = ""
    return commands


def test_spec_curl_examples_in_order(srv, su, ca1, tmp):
    commands = spec_commands(SPEC.read_text())
    assert len(commands) == 10, commands
    token = su.s.headers["Authorization"].split()[1]
    statuses, bodies = [], []
    for cmd in commands:
        cmd = cmd.replace("http://localhost:8000", srv.url).replace(" | python -m json.tool", "")
        if cmd.startswith("curl"):
            cmd = cmd.replace("curl -s", "curl -s -w '\\n%{http_code}'", 1)
        out = subprocess.run(["bash", "-c", cmd], cwd=tmp, env={"TOKEN": token, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (cmd, out.stderr)
        if cmd.startswith("curl"):
            body, status = out.stdout.rsplit("\n", 1)
            statuses.append(int(status))
            bodies.append(json.loads(body))
    assert statuses == [201, 201, 201, 201, 200, 200, 200, 200, 200], statuses
    server, sans, client, signed, listed, by_ca, one, with_key, revoked = bodies
    assert server["private_key"].startswith("-----BEGIN PRIVATE KEY-----") and server["status"] == "valid"
    assert "private_key" not in signed and signed["common_name"] == "api.example.com"
    assert {c["id"] for c in listed} == {1, 2, 3, 4} and {c["id"] for c in by_ca} == {1, 2, 3, 4}
    assert "private_key" not in one and with_key["private_key"] == server["private_key"]
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    detail(su.post("/certificates/1/revoke", json={"reason": "Key compromise"}), 409, "Certificate is already revoked")
    # Every certificate chains to CA 1 under openssl verify; the signed one holds the CSR's key.
    write(tmp / "ca.pem", ca1["certificate"])
    for c in (server, sans, client, signed):
        write(tmp / "leaf.pem", c["certificate"])
        assert "OK" in openssl("verify", "-CAfile", str(tmp / "ca.pem"), str(tmp / "leaf.pem")).stdout
    key_pub = openssl("pkey", "-in", str(tmp / "api.example.com.key"), "-pubout").stdout
    write(tmp / "signed.pem", signed["certificate"])
    assert openssl("x509", "-in", str(tmp / "signed.pem"), "-noout", "-pubkey").stdout == key_pub
    text = openssl("x509", "-in", str(tmp / "signed.pem"), "-noout", "-text").stdout
    assert "DNS:api.example.com" in text and "TLS Web Server Authentication" in text
    write(tmp / "sans.pem", sans["certificate"])
    text = openssl("x509", "-in", str(tmp / "sans.pem"), "-noout", "-text").stdout
    assert "DNS:api.example.com, DNS:api-v2.example.com, IP Address:10.0.0.42" in text
    write(tmp / "client.pem", client["certificate"])
    text = openssl("x509", "-in", str(tmp / "client.pem"), "-noout", "-text").stdout
    assert "TLS Web Client Authentication" in text and "Subject Alternative Name" not in text


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def cert_text(tmp, pem, name="c.pem"):
    return openssl("x509", "-in", str(write(tmp / name, pem)), "-noout", "-text").stdout


def test_ca_defaults_subject_dn_and_hierarchy_rules(su, tmp):
    root = su.ok("post", "/cas/", 201, json={"name": "Defaults Root", "subject_dn": "O=Acme\\, Inc.,CN=Defaults Root,C=NL"})
    assert root["key_size"] == 4096 and root["valid_days"] == 3650
    assert root["private_key"].startswith("-----BEGIN PRIVATE KEY-----"), "returned on creation, as the reference does"
    assert root["subject_dn"] == "O=Acme\\, Inc.,CN=Defaults Root,C=NL" and root["path_length"] is None
    subject = openssl("x509", "-in", str(write(tmp / "r.pem", root["certificate"])), "-noout", "-subject",
                      "-nameopt", "RFC2253").stdout
    # The attribute order of subject_dn is kept (RFC 2253 prints it last-first).
    assert subject.strip() == "subject=C=NL,CN=Defaults Root,O=Acme\\, Inc.", subject
    assert "Public-Key: (4096 bit)" in cert_text(tmp, root["certificate"])
    detail(su.post("/cas/", json={"name": "bad", "subject_dn": "invalid"}), 400, "Failed to create CA")
    detail(su.post("/cas/", json={"name": "bad", "subject_dn": "CN=x", "parent_ca_id": 999}), 400,
           "Parent CA with ID 999 not found")
    detail(su.post("/cas/", json={"name": "bad", "subject_dn": "CN=x", "key_size": 1024}), 400, "key_size")

    top = su.ok("post", "/cas/", 201, json={"name": "Top", "subject_dn": "CN=Top", "key_size": 2048, "path_length": 1})
    mid = su.ok("post", "/cas/", 201, json={"name": "Mid", "subject_dn": "CN=Mid", "key_size": 2048,
                                            "parent_ca_id": top["id"]})
    assert mid["path_length"] == 0 and mid["is_root"] is False and mid["parent_ca_id"] == top["id"]
    detail(su.post("/cas/", json={"name": "Low", "subject_dn": "CN=Low", "key_size": 2048, "parent_ca_id": mid["id"]}),
           400, "Parent CA path_length (0) does not allow sub-CAs")
    detail(su.post("/cas/", json={"name": "Mid2", "subject_dn": "CN=Mid2", "key_size": 2048, "parent_ca_id": top["id"],
                                  "path_length": 3}), 400, "Requested path_length (3) exceeds maximum allowed by parent (0)")
    # An intermediate turns its parent into a CA that signs only CAs.
    assert su.ok("get", f"/cas/{top['id']}")["allow_leaf_certs"] is False
    detail(su.post(f"/certificates/?ca_id={top['id']}", json={"common_name": "x.example", "subject_dn": "CN=x.example",
                                                              "certificate_type": "server"}), 400,
           "does not allow leaf certificate")
    assert [c["id"] for c in su.ok("get", f"/cas/{mid['id']}/chain")] == [mid["id"], top["id"]]
    assert [c["id"] for c in su.ok("get", f"/cas/{top['id']}/children")] == [mid["id"]]
    detail(su.delete(f"/cas/{top['id']}"), 409, f"CA {top['id']} has 1 child CA(s) and cannot be deleted")
    text = cert_text(tmp, mid["certificate"])
    assert "pathlen:0" in text and f"/crl/top-{top['id']}" in text and f"/ca/top-{top['id']}.crt" in text
    write(tmp / "top.pem", top["certificate"])
    assert "OK" in openssl("verify", "-x509_strict", "-CAfile", str(tmp / "top.pem"), str(tmp / "c.pem")).stdout
    lint("lint_pkix_cert", str(tmp / "c.pem"))
    leaf = su.ok("post", f"/certificates/?ca_id={mid['id']}", 201,
                 json={"common_name": "deep.example", "subject_dn": "CN=deep.example", "certificate_type": "server"})
    chain = su.get(f"/export/certificate/{leaf['id']}/chain")
    assert chain.status_code == 200 and chain.text.count("BEGIN CERTIFICATE") == 3
    assert chain.headers["content-disposition"] == f"attachment; filename=certificate_{leaf['id']}_chain.pem"
    # Deleting a CA takes it (and its certificates) out of /api/v1; its parent can then go too.
    assert su.delete(f"/cas/{mid['id']}").status_code == 204
    detail(su.get(f"/cas/{mid['id']}"), 404, f"Certificate Authority with ID {mid['id']} not found")
    detail(su.get(f"/certificates/{leaf['id']}"), 404, f"Certificate with ID {leaf['id']} not found")
    # The CRL its certificates point at is still served, and its name can be used again.
    crl_url = re.search(r"URI:(http\S+/crl/mid-\d+)", cert_text(tmp, leaf["certificate"]))[1]
    assert requests.get(crl_url).status_code == 200
    again = su.ok("post", "/cas/", 201, json={"name": "Mid", "subject_dn": "CN=Mid again", "key_size": 2048})
    assert again["name"] == "Mid" and again["id"] != mid["id"]
    assert [c["id"] for c in su.ok("get", "/cas/") if c["name"] == "Mid"] == [again["id"]]
    assert su.delete(f"/cas/{top['id']}").status_code == 204


def test_certificate_types_sans_and_keys(su, ca1, tmp):
    issue = lambda **b: su.post("/certificates/?ca_id=1", json={"subject_dn": f"CN={b['common_name']}", **b})
    detail(issue(common_name="s.example", certificate_type="server", san_email_addresses=["a@b.example"]), 400,
           "Email SANs are not allowed for server certificates")
    detail(issue(common_name="bob", certificate_type="client", san_dns_names=["bob.example"]), 400,
           "DNS SANs are not allowed for client certificates")
    detail(issue(common_name="bob", certificate_type="client", san_ip_addresses=["10.1.1.1"]), 400,
           "IP SANs are not allowed for client certificates")
    detail(issue(common_name="s.example", certificate_type="server", san_ip_addresses=["300.1.1.1"]), 400,
           "does not appear to be an IPv4 or IPv6 address")
    bad_type = issue(common_name="s.example", certificate_type="printer")
    assert bad_type.status_code == 422 and isinstance(bad_type.json()["detail"], list), bad_type.text
    assert su.post("/certificates/", json={"common_name": "s", "subject_dn": "CN=s",
                                           "certificate_type": "server"}).status_code == 422  # ca_id is required

    mail = issue(common_name="carol@example.com", certificate_type="client")
    assert mail.status_code == 201, mail.text
    assert "email:carol@example.com" in cert_text(tmp, mail.json()["certificate"], "mail.pem")
    lint("lint_pkix_cert", str(tmp / "mail.pem"))
    dual = issue(common_name="d.example", certificate_type="dual_purpose", san_email_addresses=["ops@example.com"])
    text = cert_text(tmp, dual.json()["certificate"], "dual.pem")
    lint("lint_pkix_cert", str(tmp / "dual.pem"))
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "DNS:d.example, email:ops@example.com" in text
    sub = issue(common_name="Sub CA cert", certificate_type="ca")
    text = cert_text(tmp, sub.json()["certificate"], "ca.pem")
    assert "CA:TRUE" in text and "Certificate Sign, CRL Sign" in text and "Alternative Name" not in text
    lint("lint_pkix_cert", str(tmp / "ca.pem"))
    server = issue(common_name="lint.example", certificate_type="server", valid_days=30).json()
    assert "Key Encipherment" in cert_text(tmp, server["certificate"], "s.pem")
    lint("lint_pkix_cert", str(tmp / "s.pem"))

    # include_private_key false: nothing kept, nothing returned.
    nokey = issue(common_name="nokey.example", certificate_type="server", include_private_key=False).json()
    assert nokey["private_key"] is None
    assert su.ok("get", f"/certificates/{nokey['id']}/private-key")["private_key"] is None
    detail(su.get(f"/export/certificate/{nokey['id']}/private-key"), 404,
           f"Certificate with ID {nokey['id']} does not have a private key")
    exported = su.get(f"/export/certificate/{server['id']}/private-key")
    assert exported.status_code == 200 and exported.text == server["private_key"]
    assert exported.headers["content-type"] == "application/x-pem-file"
    assert exported.headers["content-disposition"] == f"attachment; filename=certificate_{server['id']}_private_key.pem"
    ca_key = su.get("/export/ca/1/private-key")
    assert ca_key.status_code == 200 and ca_key.text.startswith("-----BEGIN PRIVATE KEY-----")
    assert su.ok("get", "/cas/1/private-key")["private_key"] == ca_key.text
    ca_cert = su.get("/export/ca/1/certificate")
    assert ca_cert.text == ca1["certificate"]
    assert ca_cert.headers["content-disposition"] == "attachment; filename=ca_1_certificate.pem"


def test_sign_csr_by_name_overrides_and_errors(su, ca1, tmp):
    csr, _ = make_csr(tmp, cn="csr.example", sans=("DNS:csr.example", "DNS:alt.example"), key="ec")
    by_name = su.ok("post", "/certificates/sign-csr", 201, json={"csr": csr, "certificate_type": "server",
                                                                 "ca_name": "Acme Issuing CA"})
    assert by_name["issuer_id"] == 1 and "private_key" not in by_name and by_name["subject_dn"] == "CN=csr.example"
    text = cert_text(tmp, by_name["certificate"])
    assert "DNS:csr.example, DNS:alt.example" in text and "Key Encipherment" not in text  # EC key
    lint("lint_pkix_cert", str(tmp / "c.pem"))
    over = su.ok("post", "/certificates/sign-csr", 201, json={
        "csr": csr, "certificate_type": "server", "ca_id": 1, "ca_name": "no such CA", "common_name": "other.example",
        "san_dns_names": ["other.example"], "san_ip_addresses": ["::1"]})
    assert over["common_name"] == "other.example"
    assert "DNS:other.example, IP Address:0:0:0:0:0:0:0:1" in cert_text(tmp, over["certificate"])
    detail(su.post("/certificates/sign-csr", json={"csr": csr, "certificate_type": "server"}), 400, "ca_id")
    detail(su.post("/certificates/sign-csr", json={"csr": csr, "certificate_type": "server", "ca_name": "nope"}), 404,
           "CA 'nope' not found")
    detail(su.post("/certificates/sign-csr", json={"csr": "junk", "certificate_type": "server", "ca_id": 1}), 400,
           "Invalid CSR")
    no_cn, _ = make_csr(tmp, key="ec")
    detail(su.post("/certificates/sign-csr", json={"csr": no_cn, "certificate_type": "server", "ca_id": 1}), 400,
           "No common name in CSR or request")
    weak, _ = make_csr(tmp, cn="weak.example", key=1024)
    detail(su.post("/certificates/sign-csr", json={"csr": weak, "certificate_type": "server", "ca_id": 1}), 400,
           "at least 2048 bits")
    # Renewal: a CSR-born certificate needs a new CSR; a server-key one gets a new key.
    r = su.post(f"/certificates/{by_name['id']}/renew", json={})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "csr_required_for_csr_origin_cert", r.text
    renewed = su.ok("post", f"/certificates/{by_name['id']}/renew", 201, json={"csr": csr})
    assert renewed["renewed_from_id"] == by_name["id"] and renewed["serial_number"] != by_name["serial_number"]
    assert su.ok("get", f"/certificates/{by_name['id']}")["renewed_to_ids"] == [renewed["id"]]
    made = su.ok("post", "/certificates/?ca_id=1", 201, json={"common_name": "r.example", "subject_dn": "CN=r.example",
                                                              "certificate_type": "server"})
    r = su.post(f"/certificates/{made['id']}/renew", json={"csr": csr})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "csr_not_allowed_for_server_key_cert", r.text
    again = su.ok("post", f"/certificates/{made['id']}/renew", 201, json={})
    assert again["private_key"] and again["private_key"] != made["private_key"]
    assert again["subject_dn"] == made["subject_dn"] and su.ok("get", f"/certificates/{made['id']}")["status"] == "valid"


def test_public_crl_and_ca_downloads_and_the_native_view(srv, su, ca1, tmp):
    """A CA made here is the native API's CA (bootstrap tenant): listed there, issuing through a
    native role; a revocation here is in the native CRL, the public slug CRL and OCSP."""
    made = su.ok("post", "/certificates/?ca_id=1", 201, json={"common_name": "gone.example",
                                                              "subject_dn": "CN=gone.example", "certificate_type": "server"})
    su.ok("post", f"/certificates/{made['id']}/revoke", json={"reason": "Key compromise"})
    assert su.post(f"/certificates/{made['id']}/revoke").status_code == 422  # the body is required
    slug = "acme-issuing-ca-1"
    assert f"http://127.0.0.1:{srv.port}/crl/{slug}" in cert_text(tmp, made["certificate"])
    anon = requests.Session()
    assert anon.get(f"{srv.url}/").status_code == 200  # the reference's liveness check
    crl = anon.get(f"{srv.url}/crl/{slug}")
    assert crl.status_code == 200 and crl.headers["content-type"] == "application/pkix-crl"
    assert crl.headers["content-disposition"] == f"attachment; filename={slug}.crl"
    text = openssl("crl", "-inform", "DER", "-in", str(write_bytes(tmp / "c.crl", crl.content)), "-noout", "-text").stdout
    assert made["serial_number"].upper() in text.replace(":", "") and "Key Compromise" in text
    lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(tmp / "c.crl"))
    crl_pem = openssl("crl", "-inform", "DER", "-in", str(tmp / "c.crl")).stdout
    r = openssl("verify", "-crl_check", "-CRLfile", str(write(tmp / "crl.pem", crl_pem)), "-CAfile",
                str(write(tmp / "ca1.pem", ca1["certificate"])), str(write(tmp / "gone.pem", made["certificate"])),
                check=False)
    assert r.returncode != 0 and "certificate revoked" in r.stdout + r.stderr, r.stdout + r.stderr
    # OCSP, at the URL the certificate names, answers "revoked" with the reason.
    ocsp = openssl("ocsp", "-issuer", str(write(tmp / "issuer.pem", ca1["certificate"])), "-cert",
                   str(write(tmp / "made.pem", made["certificate"])), "-url", f"{srv.url}/ocsp", "-CAfile",
                   str(tmp / "issuer.pem"))
    assert "Response verify OK" in ocsp.stderr + ocsp.stdout and "revoked" in ocsp.stdout, ocsp.stdout + ocsp.stderr
    assert "keyCompromise" in ocsp.stdout, ocsp.stdout
    pem = anon.get(f"{srv.url}/crl/{slug}.pem")
    assert pem.text.startswith("-----BEGIN X509 CRL-----") and pem.headers["content-type"] == "application/x-pem-file"
    assert anon.get(f"{srv.url}/ca/{slug}.pem").text == ca1["certificate"]
    der = anon.get(f"{srv.url}/ca/{slug}.crt")
    assert der.headers["content-type"] == "application/pkix-cert" and der.content[:1] == b"\x30"
    for wrong in ("other-name-1", "acme-issuing-ca-999", "1"):
        detail(anon.get(f"{srv.url}/crl/{wrong}"), 404, "CA not found")
        detail(anon.get(f"{srv.url}/ca/{wrong}.crt"), 404, "CA not found")
    # The native front door, with the bootstrap token, sees the same CA and revocation.
    native = Client(srv.url, BOOTSTRAP_TOKEN)
    cas = native.ok("get", "/v1/pki/ca")
    cas = cas["data"] if isinstance(cas, dict) else cas
    ca = next(c for c in cas if c["name"] == "Acme Issuing CA")
    role = native.ok("post", "/v1/pki/roles", 201, json={"name": "via-native", "ca_id": ca["id"],
                                                         "allowed_domains": ["example.test"], "allow_subdomains": True})
    issued = native.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "n.example.test"})
    write(tmp / "n.pem", issued["certificate"])
    assert "OK" in openssl("verify", "-CAfile", str(write(tmp / "ca.pem", ca1["certificate"])), str(tmp / "n.pem")).stdout
    native_crl = anon.get(f"{srv.url}/v1/pki/ca/{ca['id']}/crl").content
    text = openssl("crl", "-inform", "DER", "-in", str(write_bytes(tmp / "n.crl", native_crl)), "-noout", "-text").stdout
    assert made["serial_number"].upper() in text.replace(":", "")
    listed = native.ok("get", f"/v1/pki/certificates?issuer_ca_id={ca['id']}&include_revoked=true&limit=100")
    assert any(c["serial_number"].replace(":", "").lower().lstrip("0") == made["serial_number"]
               for c in listed["data"]), listed


def test_audit_log_records_each_event_once(srv, su, ca1):
    su.ok("post", "/certificates/?ca_id=1", 201, json={"common_name": "a.example", "subject_dn": "CN=a.example",
                                                       "certificate_type": "server"})
    entries = su.ok("get", "/audit-logs/?limit=1000")
    actions = [e["action"] for e in entries]
    assert entries == sorted(entries, key=lambda e: e["id"], reverse=True)
    for action in ("user_create", "login_success", "ca_create", "cert_create", "cert_revoke",
                   "cert_export_private_key", "ca_export_private_key"):
        assert action in actions, (action, actions)
    creates = su.ok("get", "/audit-logs/?action=ca_create&limit=1000")
    assert creates and all(e["action"] == "ca_create" and e["resource_type"] == "ca" for e in creates)
    assert 1 in [e["resource_id"] for e in creates] and creates[-1]["user_id"] == 1
    assert creates[-1]["username"] == "admin"
    one = su.ok("get", "/audit-logs/?resource_type=certificate&resource_id=1")
    assert {e["action"] for e in one} == {"cert_create", "cert_export_private_key", "cert_revoke"}, one
    assert [e["action"] for e in one].count("cert_create") == 1  # recorded once, not per front door
    assert len(su.ok("get", "/audit-logs/?limit=2&skip=1")) == 2
    assert su.ok("get", "/audit-logs/?since=2999-01-01T00:00:00") == []
    assert su.get("/audit-logs/?limit=0").status_code == 422
    # The whole chain, with this front door's entries in it, still verifies.
    r = verify(srv.data_dir)
    assert r.returncode == 0 and str(len(su.ok("get", "/audit-logs/?limit=1000"))) in r.stdout, r.stdout + r.stderr


def test_an_organisation_is_a_native_tenant(srv, su, tmp):
    """An organisation's CA is listed by a native token of its tenant (and not by one of another
    tenant), signs through a native role there, and a revocation here is in its native CRL."""
    org = su.ok("post", "/organizations/", 201, json={"name": "Native Org"})
    su.ok("post", "/users/", 201, json={"username": "orgadmin", "email": "orgadmin@example.com",
                                        "password": "password1", "role": "admin", "organization_id": org["id"]})
    token = requests.post(f"{srv.url}/api/v1/auth/token", data={"username": "orgadmin", "password": "password1"})
    admin = Client(srv.url + "/api/v1", token.json()["access_token"])
    ca = admin.ok("post", "/cas/", 201, json={"name": "Org CA", "subject_dn": "CN=Org CA,O=Native Org", "key_size": 2048})
    assert ca["organization_id"] == org["id"]
    boot = Client(srv.url, BOOTSTRAP_TOKEN)
    native_token = boot.ok("post", "/v1/admin/tokens", 201, json={"tenant_id": org["tenant_id"], "name": "org",
                                                                  "scopes": ["pki:issue", "pki:admin"]})["token"]
    native = Client(srv.url, native_token)
    listed = native.ok("get", "/v1/pki/ca")
    listed = listed["data"] if isinstance(listed, dict) else listed
    assert [c["name"] for c in listed] == ["Org CA"]
    role = native.ok("post", "/v1/pki/roles", 201, json={"name": "org-role", "ca_id": listed[0]["id"],
                                                         "allowed_domains": ["org.test"], "allow_subdomains": True})
    issued = native.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "a.org.test"})
    write(tmp / "ca.pem", ca["certificate"])
    assert "OK" in openssl("verify", "-CAfile", str(tmp / "ca.pem"), str(write(tmp / "a.pem", issued["certificate"]))).stdout
    made = admin.ok("post", f"/certificates/?ca_id={ca['id']}", 201, json={
        "common_name": "b.org.test", "subject_dn": "CN=b.org.test", "certificate_type": "server"})
    admin.ok("post", f"/certificates/{made['id']}/revoke", json={"reason": "superseded"})
    crl = requests.get(f"{srv.url}/v1/pki/ca/{listed[0]['id']}/crl").content
    text = openssl("crl", "-inform", "DER", "-in", str(write_bytes(tmp / "o.crl", crl)), "-noout", "-text").stdout
    assert made["serial_number"].upper() in text.replace(":", "") and "Superseded" in text
    # The bootstrap tenant's token does not see the organisation's CA.
    boot_cas = boot.ok("get", "/v1/pki/ca")
    boot_cas = boot_cas["data"] if isinstance(boot_cas, dict) else boot_cas
    assert "Org CA" not in [c["name"] for c in boot_cas]


def test_deleting_an_organisation_keeps_what_relying_parties_need(srv, su):
    org = su.ok("post", "/organizations/", 201, json={"name": "Short-lived Org"})
    member = su.ok("post", "/users/", 201, json={"username": "temp", "email": "temp@example.com",
                                                 "password": "password1", "role": "admin", "organization_id": org["id"]})
    token = requests.post(f"{srv.url}/api/v1/auth/token", data={"username": "temp", "password": "password1"})
    ca = Client(srv.url + "/api/v1", token.json()["access_token"]).ok(
        "post", "/cas/", 201, json={"name": "Temp CA", "subject_dn": "CN=Temp CA", "key_size": 2048})
    detail(su.delete(f"/organizations/{org['id']}"), 400, "Remove all users first")
    su.ok("delete", f"/organizations/{org['id']}/users/{member['id']}")
    assert su.delete(f"/organizations/{org['id']}").status_code == 204
    detail(su.get(f"/cas/{ca['id']}"), 404)
    assert requests.get(f"{srv.url}/crl/temp-ca-{ca['id']}").status_code == 200
    assert su.post("/organizations/", json={"name": "Short-lived Org"}).status_code == 201
    assert "org_delete" in [e["action"] for e in su.ok("get", "/audit-logs/?resource_type=organization")]


def test_ca_key_on_creation_follows_the_export_right_and_valid_days_tells_the_truth(su, srv):
    """A superuser gets the new CA's key, audited as an export; valid_days shows the days given when
    the parent's life cut them."""
    short = su.ok("post", "/cas/", 201, json={"name": "Short Root", "subject_dn": "CN=Short Root", "key_size": 2048,
                                             "valid_days": 30})
    assert short["private_key"] and short["valid_days"] == 30
    child = su.ok("post", "/cas/", 201, json={"name": "Long Child", "subject_dn": "CN=Long Child", "key_size": 2048,
                                             "valid_days": 3650, "parent_ca_id": short["id"]})
    assert child["valid_days"] <= 30, child["valid_days"]
    assert su.ok("get", f"/cas/{child['id']}")["valid_days"] == child["valid_days"]
    leaf = su.ok("post", f"/certificates/?ca_id={child['id']}", 201,
                 json={"common_name": "short.example.test", "subject_dn": "CN=short.example.test",
                       "certificate_type": "server", "valid_days": 365})
    assert leaf["valid_days"] <= 30, leaf["valid_days"]
    logs = su.ok("get", "/audit-logs/", params={"action": "ca_export_private_key", "limit": 1000})
    assert any(str(short["id"]) == str(e["resource_id"]) for e in logs), "the key handed out at creation is audited"
