"""Bad input on every /api/v1 write route: unreadable JSON, wrong types, absurd numbers, NUL
characters and oversized strings get a 4xx in the {"detail"} shape — never a 5xx — and leave
nothing half-written."""
import pytest
import requests

from conftest import fresh_server

# Bodies no write route accepts: unreadable, the wrong JSON type, wrong field types.
ANYWHERE = [
    "{", "[]", "null", '"text"',
    '{"name": 5, "subject_dn": 5, "common_name": 5, "csr": 5, "email": 5, "password": 5, "reason": 5, '
    '"description": 5, "expires_at": 5, "max_validity_days": "x", "username": 5}',
]
LONG = "n" * 5000
NUL = "x\\u0000y"
# Bodies that are wrong for one route in particular.
ROUTES = {
    ("post", "/organizations/"): [f'{{"name": "{NUL}"}}', f'{{"name": "{LONG}"}}'],
    ("put", "/organizations/1"): [f'{{"name": "{NUL}"}}', '{"name": " "}'],
    ("post", "/cas/"): [
        f'{{"name": "{NUL}", "subject_dn": "CN=a"}}', f'{{"name": "n", "subject_dn": "CN={NUL}"}}',
        f'{{"name": "n", "subject_dn": "CN={LONG}"}}', f'{{"name": "{LONG}", "subject_dn": "CN=n"}}',
        '{"name": "n", "subject_dn": "CN=n", "key_size": 99999999999999999999}',
        '{"name": "n", "subject_dn": "CN=n", "key_size": 2048, "valid_days": -5}',
        '{"name": "n", "subject_dn": "CN=n", "key_size": 2048, "path_length": -1}',
        '{"name": "n", "subject_dn": "CN=n", "key_size": 2048, "valid_days": 99999999}',
        # Written into every certificate the CA signs, as an IA5String URI.
        '{"name": "n", "subject_dn": "CN=n", "key_size": 2048, "crl_base_url": "http://\u00fc.example/x"}',
        '{"name": "n", "subject_dn": "CN=n", "key_size": 2048, "crl_base_url": "ftp://crl.example"}'],
    ("post", "/certificates/?ca_id=1"): [
        '{"common_name": "a", "subject_dn": "CN=a", "certificate_type": "server", "san_ip_addresses": [1, 2]}',
        f'{{"common_name": "{NUL}", "subject_dn": "CN={NUL}", "certificate_type": "server"}}',
        '{"common_name": "a.example", "subject_dn": "CN=a.example", "certificate_type": "server", "valid_days": -1}',
        '{"common_name": "a.example", "subject_dn": "CN=a.example", "certificate_type": "server", "key_size": 512}'],
    ("post", "/certificates/sign-csr"): [
        '{"csr": "-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE REQUEST-----", '
        '"certificate_type": "server", "ca_id": 1}', '{"csr": "", "certificate_type": "server", "ca_id": 1}'],
    ("post", "/certificates/1/revoke"): ['{"reason": ["a"]}'],
    ("post", "/certificates/1/renew"): ['{"csr": "junk"}'],
    ("post", "/service-accounts/"): [f'{{"name": "{NUL}", "organization_id": 1}}', '{"organization_id": 1}',
                                     '{"name": "x", "organization_id": 999}'],
    ("patch", "/service-accounts/1"): [f'{{"name": "{NUL}"}}', '{"organization_id": 2}'],
    ("post", "/service-accounts/1/tokens"): ['{"expires_at": "yesterday"}', '{"expires_at": "2001-01-01T00:00:00"}'],
    ("put", "/service-accounts/1/policy"): ['{"max_validity_days": 0}', '{"san_ip_cidrs": ["nonsense"], '
                                            '"max_validity_days": 3}', '{"max_validity_days": 3, "extra": 1}'],
    ("post", "/users/"): ['{"username": "u", "email": "not-an-email", "password": "password1"}'],
    ("patch", "/users/1"): ['{"email": "nope"}', '{"password": "short"}', '{"role": "emperor"}'],
}


@pytest.fixture(scope="module")
def v1():
    for srv in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        v1 = srv.url + "/api/v1"
        requests.post(f"{v1}/users/", json={"username": "su", "email": "su@example.com", "password": "password1",
                                            "role": "superuser"}).raise_for_status()
        token = requests.post(f"{v1}/auth/token", data={"username": "su", "password": "password1"}).json()
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token['access_token']}"
        org = s.post(f"{v1}/organizations/", json={"name": "Org"}).json()
        s.post(f"{v1}/cas/", json={"name": "CA", "subject_dn": "CN=CA", "key_size": 2048}).raise_for_status()
        s.post(f"{v1}/certificates/?ca_id=1", json={"common_name": "a.example", "subject_dn": "CN=a.example",
                                                    "certificate_type": "server"}).raise_for_status()
        s.post(f"{v1}/service-accounts/", json={"name": "sa", "organization_id": org["id"]}).raise_for_status()
        yield v1, s


@pytest.mark.parametrize("method,path", list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_bad_bodies_are_4xx_with_detail(v1, method, path):
    url, s = v1
    before = s.get(f"{url}/audit-logs/?limit=1000").json()
    for body in ANYWHERE + ROUTES[(method, path)]:
        r = s.request(method, url + path, data=body.encode(), headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (path, body[:80], r.status_code, r.text[:300])
        assert set(r.json()) == {"detail"}, (path, body[:80], r.text[:300])
    after = s.get(f"{url}/audit-logs/?limit=1000").json()
    # Refused requests record nothing (only the reads of the audit log itself happened).
    assert [e["id"] for e in after] == [e["id"] for e in before], (path, after[:2])


def test_bad_ids_and_queries(v1):
    url, s = v1
    for path in ("/cas/abc", "/certificates/1.5", "/organizations/%00", "/audit-logs/?limit=abc",
                 "/audit-logs/?since=notatime", "/certificates/?ca_id=x", "/cas/99999999999999999999"):
        r = s.get(url + path)
        assert r.status_code == 422, (path, r.status_code, r.text)
