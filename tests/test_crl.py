"""CRLs at scale: delta CRLs, one growing CRL Number sequence, HTTP caching, and revocation that
does not rebuild the complete CRL."""
import re

from conftest import BOOTSTRAP_TOKEN, Client, Server, make_hierarchy, make_role, openssl, write
from test_lint import lint


def crl_text(tmp, content, name="c.der"):
    f = tmp / name
    f.write_bytes(content)
    return openssl("crl", "-inform", "DER", "-in", str(f), "-noout", "-text").stdout, f


def number(text):
    return int(re.search(r"X509v3 CRL Number: *\n? *(\d+)", text)[1])


def test_delta_crl_and_freshest_pointer(admin, server, tmp):
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    anon = Client(server.url)
    base = admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")
    base_text, base_file = crl_text(tmp, anon.get(f"/v1/pki/ca/{inter['id']}/crl").content, "base.der")
    assert f"{server.url}/v1/pki/ca/{inter['id']}/crl/delta" in base_text  # Freshest CRL
    assert number(base_text) == base["crl_number"]

    c = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "d.example.test"})
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"], "reason": "key_compromise"})
    delta_text, delta_file = crl_text(tmp, anon.get(f"/v1/pki/ca/{inter['id']}/crl/delta").content, "delta.der")
    assert "Delta CRL Indicator: critical" in delta_text
    assert re.search(r"Delta CRL Indicator: critical\s*\n\s*(\d+)", delta_text)[1] == str(base["crl_number"]), \
        "the revocation built a delta on the existing complete CRL, not a new complete CRL"
    assert c["serial_number"].replace(":", "") in delta_text.replace(":", "").upper()
    assert number(delta_text) > base["crl_number"]
    lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(delta_file))

    # openssl, given the old complete CRL plus the delta, sees the certificate revoked.
    pem = lambda f: openssl("crl", "-inform", "DER", "-in", str(f)).stdout
    crls = write(tmp / "crls.pem", pem(base_file) + pem(delta_file))
    leaf = write(tmp / "leaf.pem", c["certificate"])
    r = openssl("verify", "-crl_check", "-use_deltas", "-CRLfile", crls, "-CAfile",
                write(tmp / "root.pem", c["ca_chain"][1]), "-untrusted", write(tmp / "int.pem", c["ca_chain"][0]),
                leaf, check=False)
    assert r.returncode != 0 and "certificate revoked" in r.stdout + r.stderr
    # Without the delta, the stale complete CRL does not know yet.
    r = openssl("verify", "-crl_check", "-CRLfile", write(tmp / "b.pem", pem(base_file)), "-CAfile",
                str(tmp / "root.pem"), "-untrusted", str(tmp / "int.pem"), leaf, check=False)
    assert r.returncode == 0, r.stdout + r.stderr

    # The next complete CRL includes it and takes a higher number than the delta.
    full_text, _ = crl_text(tmp, anon.get(f"/v1/pki/ca/{inter['id']}/crl").content, "full2.der")
    assert c["serial_number"].replace(":", "") in full_text.replace(":", "").upper()
    assert number(full_text) > number(delta_text)


def test_http_caching_headers(admin, server):
    _, inter = make_hierarchy(admin)
    anon = Client(server.url)
    r = anon.get(f"/v1/pki/ca/{inter['id']}/crl")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert re.fullmatch(r'"ca_[0-9a-f]+-\d+"', etag) and modified.endswith("GMT")
    age = int(re.search(r"max-age=(\d+)", r.headers["cache-control"])[1])
    assert 0 < age <= 3600
    again = anon.get(f"/v1/pki/ca/{inter['id']}/crl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert anon.get(f"/v1/pki/ca/{inter['id']}/crl", headers={"If-None-Match": '"other"'}).status_code == 200
    d = anon.get(f"/v1/pki/ca/{inter['id']}/crl/delta")
    assert d.status_code == 200 and d.headers["content-type"] == "application/pkix-crl"


def test_crl_numbers_grow_across_restart(tmp):
    srv = Server(tmp / "d", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    _, inter = make_hierarchy(admin)
    seen = [admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")["crl_number"] for _ in range(3)]
    srv.stop()
    srv = Server(tmp / "d").start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        seen += [admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")["crl_number"] for _ in range(2)]
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    finally:
        srv.stop()
