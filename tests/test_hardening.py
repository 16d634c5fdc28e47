"""Hardening (issue 16): every number checked before arithmetic, wrong JSON types refused naming
the field, every rejection in its door's JSON shape, bounded input. Each test is a request that
used to answer 500 or bare text."""
import base64
import subprocess

import pytest
import requests

from conftest import assert_error, make_csr, make_hierarchy, make_role, unique

HUGE = ["3000000d", "9223372036854775807s", "9223372036854775807", "8000y", "99999999999999999999h"]


@pytest.fixture(scope="module")
def cas(admin):
    return make_hierarchy(admin)


@pytest.fixture(scope="module")
def open_role(admin, cas):
    """A role without max_ttl: nothing but the grammar bounds a TTL."""
    return make_role(admin, cas[1]["id"], max_ttl=None)


@pytest.mark.parametrize("ttl", HUGE)
def test_huge_ttl_on_issue_sign_and_renew_is_a_400(admin, open_role, tmp, ttl):
    name = open_role["name"]
    assert_error(admin.post(f"/v1/pki/issue/{name}", json={"common_name": "a.example.test", "ttl": ttl}), 400, "ttl")
    csr, _ = make_csr(tmp, "b.example.test")
    assert_error(admin.post(f"/v1/pki/sign/{name}", json={"csr_pem": csr, "ttl": ttl}), 400, "ttl")
    cert = admin.ok("post", f"/v1/pki/issue/{name}", 201, json={"common_name": "c.example.test", "ttl": "1h",
                                                               "key_type": "ec", "key_bits": 256})
    cid = cert["certificate_id"]
    assert_error(admin.post(f"/v1/pki/certificates/{cid}/renew", json={"ttl": ttl}), 400, "ttl")


@pytest.mark.parametrize("ttl", HUGE)
def test_huge_max_ttl_is_refused_when_the_role_is_made(admin, cas, ttl):
    r = admin.post("/v1/pki/roles", json={"name": unique("r"), "ca_id": cas[1]["id"], "max_ttl": ttl})
    assert_error(r, 400, "max_ttl", "100 years")


@pytest.mark.parametrize("within", HUGE)
def test_huge_expiring_within_is_a_400(admin, within):
    assert_error(admin.get("/v1/pki/certificates", params={"expiring_within": within}), 400, "expiring_within")


def test_a_profile_of_8000_years_is_refused_at_creation_in_the_lamassu_shape(admin):
    r = admin.post("/api/ca/v1/profiles", json={"id": unique("p"), "name": "p",
                                                 "validity": {"type": "Duration", "duration": "8000y"}})
    assert r.status_code == 400 and "validity.duration" in r.json()["err"], r.text
    r = admin.post("/api/ca/v1/cas", json={"profile_id": "x", "subject": {"common_name": "x"},
                                            "ca_expiration": {"type": "Duration", "duration": "8000y"}})
    assert r.status_code == 400 and "ca_expiration.duration" in r.json()["err"], r.text


@pytest.mark.parametrize("body,field", [
    ({"parent_id": 12345}, "parent_id"),
    ({"key_metadata": {"type": 7}}, "key_metadata.type"),
    ({"ca_expiration": 5}, "ca_expiration"),
    ({"subject": {"common_name": 5}}, "subject.common_name"),
    ({"key_metadata": {"bits": "big"}}, "key_metadata.bits"),
])
def test_wrong_json_types_on_lamassu_cas_are_400_naming_the_field(admin, body, field):
    full = {"profile_id": "x", "subject": {"common_name": "typed"}, **body}
    before = len(admin.ok("get", "/api/ca/v1/cas")["list"])
    r = admin.post("/api/ca/v1/cas", json=full)
    assert r.status_code == 400 and field in r.json()["err"], r.text
    assert len(admin.ok("get", "/api/ca/v1/cas")["list"]) == before, "nothing was created"


@pytest.mark.parametrize("path,body,field", [
    ("/v1/pki/roles", {"name": 5}, "name"),
    ("/v1/pki/ca", {"name": "x", "common_name": "x", "ca_type": "root", "key_size": "big"}, "key_size"),
    ("/v1/pki/issue/whatever", {"common_name": ["a"]}, "common_name"),
    ("/v1/a.b.c/kms-service-api/keys/generate", {"keyType": 5}, "keyType"),
    ("/v1/a.b.x509/x509-service-api/iso/iacas",
     {"iacaKeyDesc": {"type": "kms", "keyIdPath": "x"}, "certificateData": {"country": 5, "commonName": "x"}},
     "certificateData.country"),
    ("/v1/a.b.x509/x509-service-api/iso/document-signers", {"iacaSigner": 5}, "iacaSigner"),
])
def test_wrong_json_types_on_native_and_waltid_doors_are_400_naming_the_field(admin, path, body, field):
    assert_error(admin.post(path, json=body), 400, field)


def test_wrong_json_types_on_fastpki_are_its_422_naming_the_field(admin):
    r = admin.post("/api/v1/cas/", json={"name": 5})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "name"], detail


@pytest.mark.parametrize("path,shape", [
    ("/v1/pki/ca/%ff", "error"), ("/ocsp/%ff", "error"), ("/crl/%ff", "error"), ("/ca/%ff", "error"),
    ("/api/v1/cas/%ff", "detail"), ("/api/ca/v1/cas/%ff", "err"), ("/v1/%ff/kms-service-api/keys/jwk", "error"),
])
def test_non_utf8_path_segments_answer_json_in_the_door_shape(admin, path, shape):
    r = admin.get(path)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert shape in r.json(), r.text


def test_duplicate_query_parameters_answer_json(admin):
    r = admin.get("/api/v1/users/?skip=1&skip=2")
    assert 400 <= r.status_code < 500 and "detail" in r.json(), r.text


@pytest.mark.parametrize("path,shape", [
    ("/v1/pki/roles", "error"), ("/api/ca/v1/cas", "err"), ("/api/v1/cas/", "detail"),
    ("/v1/a.b.c/kms-service-api/keys/generate", "error"),
])
def test_oversized_bodies_are_413_in_the_door_shape(admin, path, shape):
    r = admin.post(path, data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text[:300]
    assert shape in r.json()


def test_unknown_routes_and_methods_stay_json(server):
    for method, path in [("get", "/nope"), ("delete", "/ocsp"), ("get", "/api/ca/v1/nope")]:
        r = requests.request(method, server.url + path, timeout=10)
        assert r.status_code in (404, 405) and r.headers["content-type"].startswith("application/json"), r.text


# --- Bounds: subjects, SANs, keys and CSR signatures are checked where they enter. ---

@pytest.mark.parametrize("field,value,words", [
    ("country", "USA", ["alpha-2"]), ("country", "1", ["alpha-2"]), ("country", "us", ["alpha-2"]),
    ("organization", "O" * 200_000, ["organizationName", "1 to 64"]),
    ("common_name", "C" * 65, ["common_name", "64"]),
])
def test_ca_subject_fields_are_bounded(admin, field, value, words):
    body = {"name": unique("ca"), "common_name": "Bounded", "ca_type": "root", "key_type": "ec", "key_size": 256,
            field: value}
    assert_error(admin.post("/v1/pki/ca", json=body), 400, *words)


def test_a_huge_cn_never_enters_the_csr_queue(admin):
    r = admin.post("/v1/pki/csr", json={"subject": {"common_name": "X" * 100_000}, "key_type": "ec", "key_size": 256})
    assert_error(r, 400, "commonName")


def openssl_csr(tmp, *key_args, digest="-sha256", name="k"):
    key, csr = tmp / f"{name}.key", tmp / f"{name}.csr"
    subprocess.run(["openssl", *key_args, "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), digest, "-subj", "/CN=a.example.test",
                    "-out", str(csr)], check=True, capture_output=True)
    return csr.read_text()


def test_a_weak_rsa_csr_is_refused_at_import_not_queued(admin, tmp):
    csr = openssl_csr(tmp, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")
    assert_error(admin.post("/v1/pki/csr/import", json={"csr_pem": csr}), 400, "2048")


def test_sha1_signed_csrs_are_refused_on_every_sign_route(admin, cas, open_role, tmp):
    csr = openssl_csr(tmp, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", digest="-sha1")
    assert_error(admin.post(f"/v1/pki/sign/{open_role['name']}", json={"csr_pem": csr}), 400, "SHA-1")
    assert_error(admin.post("/v1/pki/csr/import", json={"csr_pem": csr}), 400, "SHA-1")
    r = admin.post(f"/api/ca/v1/cas/{cas[1]['id']}/certificates/sign",
                   json={"csr": base64.b64encode(csr.encode()).decode(),
                         "profile": {"name": "inline", "validity": {"type": "Duration", "duration": "1d"}}})
    assert r.status_code == 400 and "SHA-1" in r.json()["err"], r.text


@pytest.mark.parametrize("key_args", [
    ["genpkey", "-algorithm", "ED448"],
    ["ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout"],
    ["ecparam", "-name", "prime192v1", "-genkey", "-noout"],
])
def test_unsupported_keys_are_named_as_such(admin, open_role, tmp, key_args):
    csr = openssl_csr(tmp, *key_args)
    assert_error(admin.post(f"/v1/pki/sign/{open_role['name']}", json={"csr_pem": csr}), 400, "unsupported key")


def test_at_most_100_sans_by_default(admin, open_role):
    names = [f"h{i}.example.test" for i in range(101)]
    r = admin.post(f"/v1/pki/issue/{open_role['name']}",
                   json={"common_name": "a.example.test", "alt_names": names, "key_type": "ec", "key_bits": 256})
    assert_error(r, 400, "at most 100")
    admin.ok("post", f"/v1/pki/issue/{open_role['name']}", 201,
             json={"common_name": "a.example.test", "alt_names": names[:99], "key_type": "ec", "key_bits": 256})


# --- Files and the first-user bootstrap. ---

def test_data_files_are_0600_under_umask_022_in_a_0755_directory(tmp):
    import os
    import stat
    from conftest import BOOTSTRAP_TOKEN, PG_URL, Server
    data = tmp / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    old = os.umask(0o022)
    try:
        server = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    finally:
        os.umask(old)
    try:
        requests.post(server.url + "/v1/pki/ca", headers={"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"}, timeout=30,
                      json={"name": "m", "common_name": "Mode Root", "ca_type": "root", "key_type": "ec",
                            "key_size": 256}).raise_for_status()
        names = sorted(p.name for p in data.iterdir())
        expected = {"kek", "admin-token"} | (set() if PG_URL else {"certus.db", "certus.db-wal", "certus.db-shm"})
        assert expected <= set(names), names
        for p in data.iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p.name, oct(p.stat().st_mode))
    finally:
        server.stop()


def test_the_first_user_bootstrap_happens_once_per_database():
    """First users made with the bootstrap token, then all deleted: the anonymous path stays shut."""
    from conftest import BOOTSTRAP_TOKEN, fresh_server
    boot = {"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"}
    for server in fresh_server():
        v1 = server.url + "/api/v1"
        made = requests.post(f"{v1}/users/", headers=boot, timeout=30,
                             json={"username": "a1", "email": "a1@example.com", "password": "password1",
                                   "role": "superuser"})
        assert made.status_code == 201, made.text
        for u in requests.get(f"{v1}/users/", headers=boot, timeout=30).json():
            assert requests.delete(f"{v1}/users/{u['id']}", headers=boot, timeout=30).status_code in (200, 204)
        assert requests.get(f"{v1}/users/", headers=boot, timeout=30).json() == []
        r = requests.post(f"{v1}/users/", timeout=30, json={"username": "evil", "email": "evil@example.com",
                                                            "password": "password1", "role": "superuser"})
        assert r.status_code == 403 and "detail" in r.json(), r.text
        server.stop()
        server.start()
        r = requests.post(f"{v1}/users/", timeout=30, json={"username": "evil", "email": "evil@example.com",
                                                            "password": "password1", "role": "superuser"})
        assert r.status_code == 403, "not after a restart either: " + r.text
