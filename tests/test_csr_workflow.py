"""CSR workflow: import → pending → approve/reject → sign; CSRs generated with a KMS-held key."""
from conftest import assert_error, make_csr, make_hierarchy, openssl, write


def test_import_approve_sign(admin, tmp):
    root, inter = make_hierarchy(admin)
    csr_pem, key = make_csr(tmp, "billing.svc.cluster.local", ["DNS:billing-api.svc.cluster.local"])
    csr = admin.ok("post", "/v1/pki/csr/import", 201, json={"csr_pem": csr_pem})
    assert csr["status"] == "pending" and csr["id"].startswith("csr_")
    assert csr["common_name"] == "billing.svc.cluster.local" and "billing-api.svc.cluster.local" in csr["sans"]
    assert csr["key_type"] == "ec" and csr["key_bits"] == 256 and csr["key_in_kms"] is False
    assert admin.ok("get", f"/v1/pki/csr/{csr['id']}") == csr

    # Signing before approval is refused and changes nothing.
    assert_error(admin.post(f"/v1/pki/csr/{csr['id']}/sign", {"ca_id": inter["id"], "validity_days": 90}), 409, "approved")
    approved = admin.ok("post", f"/v1/pki/csr/{csr['id']}/approve")
    assert approved["status"] == "approved"
    assert_error(admin.post(f"/v1/pki/csr/{csr['id']}/approve"), 409)
    assert_error(admin.post(f"/v1/pki/csr/{csr['id']}/sign", {"ca_id": "ca_nope"}), 404)

    signed = admin.ok("post", f"/v1/pki/csr/{csr['id']}/sign", 201, json={"ca_id": inter["id"], "validity_days": 90})
    assert signed["csr"]["status"] == "signed" and signed["csr"]["certificate_id"] == signed["certificate_id"]
    assert "private_key" not in signed
    leaf = write(tmp / "leaf.pem", signed["certificate"])
    openssl("verify", "-CAfile", write(tmp / "root.pem", signed["ca_chain"][-1]),
            "-untrusted", write(tmp / "int.pem", signed["ca_chain"][0]), leaf)
    dates = openssl("x509", "-in", leaf, "-noout", "-startdate", "-enddate").stdout
    from datetime import datetime
    nb, na = [datetime.strptime(l.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT") for l in dates.strip().splitlines()]
    assert (na - nb).days == 90
    assert_error(admin.post(f"/v1/pki/csr/{csr['id']}/sign", {"ca_id": inter["id"]}), 409)
    cert = admin.ok("get", f"/v1/pki/certificates/{signed['certificate_id']}")
    assert cert["issuer_ca_id"] == inter["id"]


def test_reject_with_reason(admin, tmp):
    csr_pem, _ = make_csr(tmp, "x.example.test")
    csr = admin.ok("post", "/v1/pki/csr/import", 201, json={"csr_pem": csr_pem})
    rejected = admin.ok("post", f"/v1/pki/csr/{csr['id']}/reject", json={"reason": "CN not in allowed scope"})
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "CN not in allowed scope"
    assert_error(admin.post(f"/v1/pki/csr/{csr['id']}/approve"), 409, "rejected")


def test_import_errors(admin, tmp):
    assert_error(admin.post("/v1/pki/csr/import", {"csr_pem": "nope"}), 400)
    assert_error(admin.post("/v1/pki/csr/import", {}), 400, "csr_pem")
    assert_error(admin.get("/v1/pki/csr/csr_missing"), 404)
    assert_error(admin.post("/v1/pki/csr/csr_missing/approve"), 404)


def test_generate_keeps_key_in_kms(admin, tmp):
    _, inter = make_hierarchy(admin)
    csr = admin.ok("post", "/v1/pki/csr", 201, json={
        "subject": {"common_name": "billing.svc.cluster.local"}, "san_dns": ["billing-api.svc.cluster.local"],
        "key_type": "ec", "key_size": 256})
    assert csr["key_in_kms"] is True and csr["status"] == "pending" and "private_key" not in csr
    text = openssl("req", "-noout", "-text", "-verify", input=csr["csr_pem"])
    assert "billing-api.svc.cluster.local" in text.stdout and "prime256v1" in text.stdout
    admin.ok("post", f"/v1/pki/csr/{csr['id']}/approve")
    signed = admin.ok("post", f"/v1/pki/csr/{csr['id']}/sign", 201, json={"ca_id": inter["id"]})
    assert "private_key" not in signed
    assert_error(admin.post("/v1/pki/csr", {"subject": {}, "key_type": "ec"}), 400)
    assert_error(admin.post("/v1/pki/csr", {"subject": {"common_name": "a"}, "key_type": "ec", "key_size": 7}), 400)


def test_weak_keys_never_enter_the_queue(admin, tmp):
    weak = openssl("req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", str(tmp / "k"), "-subj", "/CN=weak.example.test").stdout
    assert_error(admin.post("/v1/pki/csr/import", json={"csr_pem": weak}), 400, "2048")
