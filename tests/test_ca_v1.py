"""The /api/ca/v1 CA routes: CAs with a default profile, signing under profiles, certificate
status — the same CAs and certificates the native API sees."""
import base64

import pytest

from conftest import Client, make_csr, openssl, unique, write
from test_lint import lint
from test_profiles import base, err


def b64(text):
    return base64.b64encode(text.encode()).decode()


def pem_of(cert):
    return base64.b64decode(cert["certificate"]).decode()


def test_ca_lifecycle_and_signing_under_profiles(admin, tmp):
    device = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        key_usage=["DigitalSignature"], extended_key_usages=["ClientAuth"], honor_extensions=True,
        crypto_enforcement={"enabled": True, "allowed_ecdsa_key_sizes": [256], "allow_rsa_keys": False}))
    # profile_id is required and must exist.
    err(admin.post("/api/ca/v1/cas", {"subject": {"common_name": "X"}}), 400, "profile_id")
    err(admin.post("/api/ca/v1/cas", {"subject": {"common_name": "X"}, "profile_id": "nope"}), 404, "profile")
    root_id = unique("iot-root")
    root = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "id": root_id, "subject": {"common_name": "IoT Root", "organization": "Acme", "country": "ES"},
        "key_metadata": {"type": "ECDSA", "bits": 256}, "ca_expiration": {"type": "Duration", "duration": "10y"},
        "profile_id": device["id"]})
    assert root["id"] == root_id and root["profile_id"] == device["id"] and root["certificate"]["is_ca"]
    assert root["certificate"]["subject"]["organization"] == "Acme" and root["certificate"]["status"] == "ACTIVE"
    sub = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "parent_id": root_id, "subject": {"common_name": "IoT Issuing"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "2y"}, "profile_id": device["id"]})
    # The same CA through the native API.
    native = admin.ok("get", f"/v1/pki/ca/{sub['id']}")
    assert native["parent_ca_id"] == root_id and native["common_name"] == "IoT Issuing"
    assert any(c["id"] == sub["id"] for c in admin.ok("get", "/api/ca/v1/cas")["list"])
    assert admin.ok("get", f"/api/ca/v1/cas?filter=id[eq]{root_id}")["list"][0]["id"] == root_id

    # Sign with the CA's default profile: KU/EKU from the profile, SANs copied (honor_extensions).
    csr, _ = make_csr(tmp, "dev-001", ["DNS:dev-001.iot.test"])
    cert = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/certificates/sign", 201, json={"csr": b64(csr)})
    assert cert["extensions"]["key_usage"] == ["DigitalSignature"]
    assert cert["extensions"]["extended_key_usage"] == ["ClientAuth"]
    assert cert["extensions"]["subject_alternative_names"]["dns_names"] == ["dev-001.iot.test"]
    assert cert["serial_number"] == cert["serial_number"].lower() and cert["status"] == "ACTIVE"
    leaf = write(tmp / "leaf.pem", pem_of(cert))
    chain_root = write(tmp / "root.pem", pem_of(root["certificate"]))
    chain_int = write(tmp / "int.pem", pem_of(sub["certificate"]))
    openssl("verify", "-CAfile", chain_root, "-untrusted", chain_int, "-purpose", "sslclient", leaf)
    lint("lint_pkix_cert", leaf)
    # Crypto enforcement on the CSR key.
    rsa, _ = make_csr(tmp, "dev-002", key="2048")
    err(admin.post(f"/api/ca/v1/cas/{sub['id']}/certificates/sign", {"csr": b64(rsa)}), 400, "allow_rsa_keys")
    err(admin.post(f"/api/ca/v1/cas/{sub['id']}/certificates/sign", {"csr": "!!"}), 400, "base64")
    err(admin.post(f"/api/ca/v1/cas/{sub['id']}/certificates/sign", {}), 400, "csr")

    # An inline profile beats an id, which beats the CA default.
    code = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(extended_key_usages=["CodeSigning"]))
    by_id = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/certificates/sign", 201,
                     json={"csr": b64(csr), "profile_id": code["id"]})
    assert by_id["extensions"]["extended_key_usage"] == ["CodeSigning"]
    inline = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/certificates/sign", 201, json={
        "csr": b64(csr), "profile_id": code["id"],
        "profile": {"name": "inline", "validity": {"type": "Duration", "duration": "1d"}, "honor_subject": False,
                    "subject": {"organization": "Inline Org"}, "extended_key_usages": ["ServerAuth"]}})
    assert inline["extensions"]["extended_key_usage"] == ["ServerAuth"]
    assert inline["subject"]["organization"] == "Inline Org" and inline["subject"]["common_name"] == "dev-001"
    # Profiles a CA uses cannot be deleted.
    err(admin.delete(f"/api/ca/v1/profiles/{device['id']}"), 409, "CA")
    admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/profile", json={"profile_id": code["id"]})
    assert admin.ok("get", f"/api/ca/v1/cas/{sub['id']}")["profile_id"] == code["id"]

    # Status: hold, release, revoke; visible through the native API and the CRL.
    sn = cert["serial_number"]
    assert admin.ok("get", f"/api/ca/v1/certificates/{sn}")["serial_number"] == sn
    assert admin.ok("get", f"/api/ca/v1/cas/{sub['id']}/certificates/{sn}")["serial_number"] == sn
    err(admin.get(f"/api/ca/v1/cas/{root_id}/certificates/{sn}"), 404)
    held = admin.ok("put", f"/api/ca/v1/certificates/{sn}/status", json={"status": "REVOKED", "revocation_reason": "CertificateHold"})
    assert held["status"] == "REVOKED" and held["revocation_reason"] == "CertificateHold"
    err(admin.put(f"/api/ca/v1/certificates/{sn}/status", {"status": "REVOKED"}), 400, "already revoked")
    active = admin.ok("put", f"/api/ca/v1/certificates/{sn}/status", json={"status": "ACTIVE"})
    assert active["status"] == "ACTIVE" and active["revocation_reason"] == "Unspecified"
    assert active["revocation_timestamp"] == "0001-01-01T00:00:00Z", "reactivation resets it (Go's zero time)"
    admin.ok("put", f"/api/ca/v1/certificates/{sn}/status", json={"status": "REVOKED", "revocation_reason": "keycompromise"})
    err(admin.put(f"/api/ca/v1/certificates/{sn}/status", {"status": "ACTIVE"}), 400, "cannot become active")
    err(admin.put(f"/api/ca/v1/certificates/{sn}/status", {"status": "REVOKED", "revocation_reason": "Bored"}), 400)
    native_cert = admin.ok("get", f"/v1/pki/certificates?ca_id={sub['id']}&include_revoked=true")["data"]
    assert any(c["serial_number"].replace(":", "").lower() == sn and c["is_revoked"] for c in native_cert)
    crl = tmp / "crl.der"
    crl.write_bytes(Client(admin.url).get(f"/v1/pki/ca/{sub['id']}/crl").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert sn.upper() in text.replace(":", "") and "Key Compromise" in text
    err(Client(admin.url).get("/api/ca/v1/cas"), 401)


def test_spec_iot_profile_rejects_rsa1024_and_p521(admin, tmp):
    from test_profiles import spec_json
    iot = {**spec_json("IoT Device Profile"), "id": unique("iot-device-short")}
    admin.ok("post", "/api/ca/v1/profiles", 201, json=iot)
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={"subject": {"common_name": "IoT CA"}, "profile_id": iot["id"],
                                                       "key_metadata": {"type": "ECDSA", "bits": 256}})
    sign = f"/api/ca/v1/cas/{ca['id']}/certificates/sign"
    rsa1024 = openssl("req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", str(tmp / "k1"), "-subj", "/CN=old").stdout
    err(admin.post(sign, {"csr": b64(rsa1024)}), 400, "allowed_rsa_key_sizes")
    p521 = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes", "-keyout",
                   str(tmp / "k2"), "-subj", "/CN=big").stdout
    err(admin.post(sign, {"csr": b64(p521)}), 400, "allowed_ecdsa_key_sizes")
    ok, _ = make_csr(tmp, "dev-ok")
    cert = admin.ok("post", sign, 201, json={"csr": b64(ok)})
    from datetime import datetime
    span = datetime.fromisoformat(cert["valid_to"][:-1]) - datetime.fromisoformat(cert["valid_from"][:-1])
    assert span.days == 30
    # The CA's certificates, a page at a time.
    for _ in range(2):
        admin.ok("post", sign, 201, json={"csr": b64(ok)})
    first = admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates?page_size=2")
    second = admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates?bookmark={first['next']}&page_size=2")
    ids = [c["serial_number"] for c in first["list"] + second["list"]]
    assert len(ids) == 3 == len(set(ids)) and second["next"] == ""
    active = admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates?filter=status[eq]ACTIVE")["list"]
    assert len(active) == 3 and {c["status"] for c in active} == {"ACTIVE"}
    err(admin.get(f"/api/ca/v1/cas/{ca['id']}/certificates?filter=colour[eq]red"), 400, "not filterable")


def test_server_keygen_import_and_orphan_delete(admin, tmp):
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        key_usage=["DigitalSignature"], extended_key_usages=["ClientAuth"]))
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "subject": {"common_name": "Keygen CA"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "2y"}, "profile_id": profile["id"]})
    # Server-side key generation under the CA's default profile; the key stays with Certus.
    made = admin.ok("post", "/api/ca/v1/certificates", 201, json={
        "ca_id": ca["id"], "subject": {"common_name": "device-7", "organization": "Acme"},
        "key_spec": {"type": "ECDSA", "bits": 256}, "metadata": {"site": "lab"}})
    assert made["key_metadata"] == {"type": "ECDSA", "bits": 256} and made["issuer_metadata"]["id"] == ca["id"]
    assert made["subject"]["common_name"] == "device-7" and made["extensions"]["extended_key_usage"] == ["ClientAuth"]
    assert made["metadata"] == {"site": "lab"}
    leaf = write(tmp / "made.pem", pem_of(made))
    openssl("verify", "-CAfile", write(tmp / "ca.pem", pem_of(ca["certificate"])), leaf)
    lint("lint_pkix_cert", leaf)
    rsa = admin.ok("post", "/api/ca/v1/certificates", 201, json={
        "ca_id": ca["id"], "subject": {"common_name": "device-8"}, "key_spec": {"type": "RSA", "bits": 2048},
        "issuance_profile": {k: v for k, v in base().items() if k != "id"}})
    assert rsa["key_metadata"]["type"] == "RSA"
    for body, word in [({"ca_id": ca["id"], "subject": {"common_name": "x"}, "key_spec": {"type": "RSA"}}, "key spec"),
                       ({"ca_id": ca["id"], "subject": {"common_name": "x"},
                         "key_spec": {"type": "RSA", "bits": 2048, "key_identifier": "k1"}}, "key spec"),
                       ({"ca_id": ca["id"], "subject": {"common_name": "x"}, "key_spec": {"type": "DSA", "bits": 1024}},
                        "key_spec.type"),
                       ({"ca_id": ca["id"], "subject": {"common_name": "x"}, "key_spec": {"type": "RSA", "bits": 1024}},
                        "key_spec"),
                       ({"ca_id": ca["id"], "subject": {}, "key_spec": {"type": "ECDSA", "bits": 256}}, "common_name"),
                       ({"subject": {"common_name": "x"}, "key_spec": {"type": "ECDSA", "bits": 256}}, "ca_id")]:
        err(admin.post("/api/ca/v1/certificates", body), 400, word)
    err(admin.post("/api/ca/v1/certificates", {"ca_id": ca["id"], "subject": {"common_name": "x"},
                                                "key_spec": {"type": "ECDSA", "bits": 256}, "metadata": 5}), 400)
    err(admin.post("/api/ca/v1/certificates", {"ca_id": "nope", "subject": {"common_name": "x"},
                                                "key_spec": {"type": "ECDSA", "bits": 256}}), 404)

    # Import: one issued elsewhere has no issuer here and may be deleted; ours may not.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(tmp / "o.key"), "-out", str(tmp / "o.pem"), "-subj", "/CN=elsewhere", "-days", "2")
    outside = admin.ok("post", "/api/ca/v1/certificates/import", 201,
                       json={"certificate": b64((tmp / "o.pem").read_text()), "metadata": {"from": "vendor"}})
    assert outside["issuer_metadata"]["id"] == "-" and outside["metadata"] == {"from": "vendor"}
    assert admin.ok("get", f"/api/ca/v1/certificates/{outside['serial_number']}")["metadata"] == {"from": "vendor"}
    err(admin.post("/api/ca/v1/certificates/import", {"certificate": made["certificate"]}), 409, "already exists")
    err(admin.post("/api/ca/v1/certificates/import", {"certificate": "!!"}), 400, "base64")
    err(admin.delete(f"/api/ca/v1/certificates/{made['serial_number']}"), 400, "issuer CA still exists")
    assert admin.delete(f"/api/ca/v1/certificates/{outside['serial_number']}").status_code == 204
    err(admin.get(f"/api/ca/v1/certificates/{outside['serial_number']}"), 404)
    err(admin.delete(f"/api/ca/v1/certificates/{outside['serial_number']}"), 404)


def test_metadata_json_patch_on_cas_and_certificates(admin, tmp):
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(honor_extensions=True))
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "subject": {"common_name": "Meta CA"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "2y"}, "profile_id": profile["id"]})
    assert admin.ok("get", f"/api/ca/v1/cas/{ca['id']}")["metadata"] == {}
    ops = {"patches": [{"op": "add", "path": "/env", "value": "prod"},
                       {"op": "add", "path": "/tags", "value": ["a"]},
                       {"op": "add", "path": "/tags/-", "value": "b"}]}
    patched = admin.ok("patch", f"/api/ca/v1/cas/{ca['id']}/metadata", json=ops)
    assert patched["metadata"] == {"env": "prod", "tags": ["a", "b"]} and patched["id"] == ca["id"]
    again = admin.ok("put", f"/api/ca/v1/cas/{ca['id']}/metadata",
                     json={"patches": [{"op": "replace", "path": "/env", "value": "staging"},
                                       {"op": "remove", "path": "/tags/0"}]})
    assert again["metadata"] == {"env": "staging", "tags": ["b"]}
    assert admin.ok("get", f"/api/ca/v1/cas/{ca['id']}")["metadata"] == again["metadata"]
    listed = [c for c in admin.ok("get", "/api/ca/v1/cas")["list"] if c["id"] == ca["id"]]
    assert listed[0]["metadata"] == again["metadata"]
    # A failing operation changes nothing; bad shapes are 400; unknown CAs 404.
    err(admin.patch(f"/api/ca/v1/cas/{ca['id']}/metadata",
                    {"patches": [{"op": "add", "path": "/x", "value": 1}, {"op": "remove", "path": "/missing"}]}), 400)
    assert admin.ok("get", f"/api/ca/v1/cas/{ca['id']}")["metadata"] == again["metadata"]
    err(admin.patch(f"/api/ca/v1/cas/{ca['id']}/metadata", {"patches": [{"op": "replace", "path": "", "value": 3}]}),
        400, "object")
    err(admin.patch(f"/api/ca/v1/cas/{ca['id']}/metadata", {"patches": "nope"}), 400)
    err(admin.patch(f"/api/ca/v1/cas/{ca['id']}/metadata", {}), 400, "patches")
    err(admin.patch("/api/ca/v1/cas/nope/metadata", ops), 404)

    csr, _ = make_csr(tmp, "meta-1", ["DNS:meta-1.iot.test"])
    cert = admin.ok("post", f"/api/ca/v1/cas/{ca['id']}/certificates/sign", 201, json={"csr": b64(csr)})
    sn = cert["serial_number"]
    done = admin.ok("put", f"/api/ca/v1/certificates/{sn}/metadata",
                    json={"patches": [{"op": "add", "path": "/owner", "value": "team-a"}]})
    assert done["metadata"] == {"owner": "team-a"} and done["serial_number"] == sn
    assert admin.ok("get", f"/api/ca/v1/certificates/{sn}")["metadata"] == {"owner": "team-a"}
    page = admin.ok("get", f"/api/ca/v1/cas/{ca['id']}/certificates")["list"]
    assert [c["metadata"] for c in page if c["serial_number"] == sn] == [{"owner": "team-a"}]
    # The CA's metadata is not the certificate's.
    assert admin.ok("get", f"/api/ca/v1/cas/{ca['id']}")["metadata"] == again["metadata"]


@pytest.mark.parametrize("key_type,bits,alg", [("ECDSA", 256, "ECDSA_SHA_256"), ("ECDSA", 384, "ECDSA_SHA_384"),
                                               ("RSA", 2048, "RSASSA_PKCS1_V1_5_SHA_256")])
def test_sign_and_verify_with_a_ca_key(admin, tmp, key_type, bits, alg):
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base())
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "subject": {"common_name": f"Signer {key_type} {bits}"}, "key_metadata": {"type": key_type, "bits": bits},
        "ca_expiration": {"type": "Duration", "duration": "1y"}, "profile_id": profile["id"]})
    message = b"firmware image 1.2.3"
    body = {"message": base64.b64encode(message).decode(), "message_type": "raw", "signature_algorithm": alg}
    signed = admin.ok("post", f"/api/ca/v1/cas/{ca['id']}/signature/sign", json=body)
    signature = base64.b64decode(signed["signed_data"])
    # openssl, with the CA certificate's key, agrees.
    (tmp / "msg").write_bytes(message)
    (tmp / "sig").write_bytes(signature)
    cert = write(tmp / "ca.pem", pem_of(ca["certificate"]))
    pub = openssl("x509", "-in", cert, "-noout", "-pubkey").stdout
    write(tmp / "pub.pem", pub)
    digest = {"ECDSA_SHA_256": "-sha256", "ECDSA_SHA_384": "-sha384", "RSASSA_PKCS1_V1_5_SHA_256": "-sha256"}[alg]
    assert "Verified OK" in openssl("dgst", digest, "-verify", str(tmp / "pub.pem"), "-signature", str(tmp / "sig"),
                                    str(tmp / "msg")).stdout
    verify = lambda sig, msg=message: admin.ok("post", f"/api/ca/v1/cas/{ca['id']}/signature/verify", json={
        **body, "message": base64.b64encode(msg).decode(), "signature": base64.b64encode(sig).decode()})["valid"]
    assert verify(signature) is True
    assert verify(signature, b"firmware image 1.2.4") is False
    assert verify(b"\x00" * len(signature)) is False
    err(admin.post(f"/api/ca/v1/cas/{ca['id']}/signature/sign", {**body, "message_type": "hash"}), 400, "raw")
    err(admin.post(f"/api/ca/v1/cas/{ca['id']}/signature/sign", {**body, "signature_algorithm": "RSASSA_PSS_SHA_256"}),
        400, "signs with")
    err(admin.post(f"/api/ca/v1/cas/{ca['id']}/signature/sign", {**body, "message": "%%%"}), 400, "base64")
    err(admin.post("/api/ca/v1/cas/nope/signature/sign", body), 404)


def test_import_a_ca_with_its_key_then_sign_under_it(admin, tmp):
    """POST /cas/import: an openssl-made root and intermediate (with keys) become CAs that sign;
    the intermediate finds its parent by signature; what it signs chains and lands in its CRL."""
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        key_usage=["DigitalSignature"], extended_key_usages=["ClientAuth"]))
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "root.key"), "-out", str(tmp / "root.pem"), "-subj", "/CN=External Root/O=Ext",
            "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "int.key"), "-out", str(tmp / "int.csr"), "-subj", "/CN=External Issuing/O=Ext")
    write(tmp / "ext.cnf", "[v]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                           "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", str(tmp / "int.csr"), "-CA", str(tmp / "root.pem"), "-CAkey", str(tmp / "root.key"),
            "-CAcreateserial", "-days", "1000", "-extfile", str(tmp / "ext.cnf"), "-extensions", "v",
            "-out", str(tmp / "int.pem"))
    read = lambda name: (tmp / name).read_text()

    root_id = unique("ext-root")
    root = admin.ok("post", "/api/ca/v1/cas/import", 201, json={
        "id": root_id, "ca": b64(read("root.pem")), "private_key": b64(read("root.key")), "profile_id": profile["id"],
        "engine_id": "ignored", "ca_type": "IMPORTED"})
    assert root["id"] == root_id and root["certificate"]["subject"]["common_name"] == "External Root"
    assert root["level"] == 0 and root["profile_id"] == profile["id"]
    inter = admin.ok("post", "/api/ca/v1/cas/import", 201, json={
        "ca": b64(read("int.pem")), "private_key": b64(read("int.key")), "profile_id": profile["id"]})
    assert inter["level"] == 1
    assert admin.ok("get", f"/v1/pki/ca/{inter['id']}")["parent_ca_id"] == root_id

    csr, _ = make_csr(tmp, "device-7")
    leaf = admin.ok("post", f"/api/ca/v1/cas/{inter['id']}/certificates/sign", 201, json={"csr": b64(csr)})
    leaf_pem = write(tmp / "leaf.pem", pem_of(leaf))
    openssl("verify", "-CAfile", str(tmp / "root.pem"), "-untrusted", str(tmp / "int.pem"), leaf_pem)
    admin.ok("put", f"/api/ca/v1/certificates/{leaf['serial_number']}/status",
             json={"status": "REVOKED", "revocation_reason": "KeyCompromise"})
    crl = tmp / "crl.der"
    crl.write_bytes(Client(admin.url).get(f"/v1/pki/ca/{inter['id']}/crl").content)
    text = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text", "-CAfile", str(tmp / "int.pem")).stdout
    assert leaf["serial_number"].upper() in text.replace(":", "").upper()


def test_import_refuses_what_it_cannot_hold(admin, tmp):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "ca.key"), "-out", str(tmp / "ca.pem"), "-subj", "/CN=Refused CA", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "leaf.key"), "-out", str(tmp / "leaf.pem"), "-subj", "/CN=not a ca", "-days", "30",
            "-addext", "basicConstraints=critical,CA:FALSE")
    read = lambda name: (tmp / name).read_text()
    before = len(admin.ok("get", "/api/ca/v1/cas")["list"])
    err(admin.post("/api/ca/v1/cas/import", {"ca": b64(read("ca.pem")), "private_key": b64(read("leaf.key"))}), 400,
        "does not match")
    err(admin.post("/api/ca/v1/cas/import", {"ca": b64(read("leaf.pem")), "private_key": b64(read("leaf.key"))}), 400,
        "not a CA")
    err(admin.post("/api/ca/v1/cas/import", {"ca": "not base64!"}), 400, "base64")
    err(admin.post("/api/ca/v1/cas/import", {"ca": 7}), 400)
    err(admin.post("/api/ca/v1/cas/import", {"ca": b64(read("ca.pem")), "private_key": b64(read("ca.key")),
                                             "profile_id": "nope"}), 404, "profile")
    assert len(admin.ok("get", "/api/ca/v1/cas")["list"]) == before


def test_delete_follows_lamassus_status_rule(admin, tmp):
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(key_usage=["DigitalSignature"]))
    ca = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "subject": {"common_name": "Doomed CA"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "1y"}, "profile_id": profile["id"]})
    csr, _ = make_csr(tmp, "kept.example")
    leaf = admin.ok("post", f"/api/ca/v1/cas/{ca['id']}/certificates/sign", 201, json={"csr": b64(csr)})
    # An active CA cannot be deleted; cascade is refused by configuration.
    err(admin.delete(f"/api/ca/v1/cas/{ca['id']}"), 400, "CA Status inconsistent")
    err(admin.delete(f"/api/ca/v1/cas/{ca['id']}?cascade_delete=true"), 403, "cascade delete")
    err(admin.delete("/api/ca/v1/cas/no-such-ca"), 404)
    admin.ok("post", f"/api/ca/v1/cas/{ca['id']}/status", 201, json={"status": "REVOKED",
                                                                    "revocation_reason": "CessationOfOperation"})
    assert admin.ok("delete", f"/api/ca/v1/cas/{ca['id']}") == {}
    # Gone from this door; the inventory and relying parties keep what it issued.
    err(admin.get(f"/api/ca/v1/cas/{ca['id']}"), 404)
    err(admin.delete(f"/api/ca/v1/cas/{ca['id']}"), 404)
    assert all(c["id"] != ca["id"] for c in admin.ok("get", "/api/ca/v1/cas")["list"])
    assert admin.ok("get", f"/api/ca/v1/certificates/{leaf['serial_number']}")["serial_number"] == leaf["serial_number"]
    crl = Client(admin.url).get(f"/v1/pki/ca/{ca['id']}/crl")
    assert crl.status_code == 200 and crl.content[:1] == b"\x30"
    # It signs nothing more.
    r = admin.post(f"/api/ca/v1/cas/{ca['id']}/certificates/sign", {"csr": b64(csr)})
    assert r.status_code in (400, 404), r.text


def test_reissue_keeps_the_key_and_chains(admin, tmp):
    profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(key_usage=["DigitalSignature"]))
    ca_profile = admin.ok("post", "/api/ca/v1/profiles", 201, json=base(
        sign_as_ca=True, key_usage=["CertSign", "CRLSign"], validity={"type": "Duration", "duration": "400d"}))
    root = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "subject": {"common_name": "Reissue Root", "organization": "Acme"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "3y"}, "profile_id": profile["id"]})
    sub = admin.ok("post", "/api/ca/v1/cas", 201, json={
        "parent_id": root["id"], "subject": {"common_name": "Reissue Sub"}, "key_metadata": {"type": "ECDSA", "bits": 256},
        "ca_expiration": {"type": "Duration", "duration": "1y"}, "profile_id": profile["id"]})
    csr, _ = make_csr(tmp, "before.example")
    before = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/certificates/sign", 201, json={"csr": b64(csr)})

    new_sub = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/reissue", json={"profile_id": ca_profile["id"]})
    assert new_sub["id"] == sub["id"] and new_sub["serial_number"] != sub["serial_number"]
    old_pem, new_pem = write(tmp / "old.pem", pem_of(sub["certificate"])), write(tmp / "new.pem", pem_of(new_sub["certificate"]))
    key = lambda p: openssl("x509", "-in", p, "-noout", "-pubkey").stdout
    assert key(old_pem) == key(new_pem), "the same key"
    subject = lambda p: openssl("x509", "-in", p, "-noout", "-subject").stdout
    assert subject(old_pem) == subject(new_pem)
    days = openssl("x509", "-in", new_pem, "-noout", "-startdate", "-enddate").stdout
    from datetime import datetime
    nb, na = [datetime.strptime(l.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT") for l in days.strip().splitlines()]
    assert (na - nb).days == 400, "the CA profile's validity"
    root_pem = write(tmp / "root.pem", pem_of(root["certificate"]))
    openssl("verify", "-CAfile", root_pem, new_pem)
    # What it signed before still verifies under the new certificate, and what it signs now too;
    # the native API and the chain it returns show the new certificate.
    openssl("verify", "-CAfile", root_pem, "-untrusted", new_pem, write(tmp / "before.pem", pem_of(before)))
    after = admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/certificates/sign", 201, json={"csr": b64(csr)})
    openssl("verify", "-CAfile", root_pem, "-untrusted", new_pem, write(tmp / "after.pem", pem_of(after)))
    native = admin.ok("get", f"/v1/pki/ca/{sub['id']}")
    assert native["serial_number"].replace(":", "").lower() == new_sub["serial_number"].lower()
    # A root reissues itself (default lifetime: the current one).
    new_root = admin.ok("post", f"/api/ca/v1/cas/{root['id']}/reissue", json={})
    assert new_root["serial_number"] != root["serial_number"]
    # A profile that is not a CA profile is refused; a revoked CA cannot be reissued.
    err(admin.post(f"/api/ca/v1/cas/{sub['id']}/reissue", {"profile_id": profile["id"]}), 400, "sign_as_ca")
    admin.ok("post", f"/api/ca/v1/cas/{sub['id']}/status", 201, json={"status": "REVOKED"})
    err(admin.post(f"/api/ca/v1/cas/{sub['id']}/reissue", {}), 400, "CA already revoked")
    err(admin.post("/api/ca/v1/cas/nope/reissue", {}), 404)


def test_a_ca_imported_without_its_key_is_held_but_signs_nothing(admin, tmp):
    """IMPORTED_WITHOUT_KEY: listed, found as the issuer of imported certificates, deletable in
    any status; it signs no certificate, CRL or OCSP answer, and nothing about it is a 5xx."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "k.key"), "-out", str(tmp / "k.pem"), "-subj", "/CN=Keyless CA", "-days", "365",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    csr, _ = make_csr(tmp, "held.example")
    write(tmp / "leaf.csr", csr)
    openssl("x509", "-req", "-in", str(tmp / "leaf.csr"), "-CA", str(tmp / "k.pem"), "-CAkey", str(tmp / "k.key"),
            "-CAcreateserial", "-days", "30", "-out", str(tmp / "leaf.pem"))
    ca = admin.ok("post", "/api/ca/v1/cas/import", 201, json={"ca": b64((tmp / "k.pem").read_text())})
    assert ca["type"] == "IMPORTED_WITHOUT_KEY" and ca["certificate"]["status"] == "ACTIVE"
    assert any(c["id"] == ca["id"] for c in admin.ok("get", "/api/ca/v1/cas")["list"])
    leaf = admin.ok("post", "/api/ca/v1/certificates/import", 201, json={"certificate": b64((tmp / "leaf.pem").read_text())})
    assert leaf["issuer_metadata"]["id"] == ca["id"]
    # Nothing signs with it.
    r = admin.post(f"/api/ca/v1/cas/{ca['id']}/certificates/sign", {"csr": b64(csr)})
    assert r.status_code == 400 and "without its private key" in r.json()["err"], r.text
    r = admin.post(f"/api/ca/v1/cas/{ca['id']}/signature/sign", {"message": b64("hi"), "message_type": "raw",
                                                                  "signature_algorithm": "ECDSA_SHA_256"})
    assert 400 <= r.status_code < 500, r.text
    anon = Client(admin.url)
    crl = anon.get(f"/v1/pki/ca/{ca['id']}/crl")
    assert crl.status_code == 404 and "without its private key" in crl.text
    # OCSP for its certificate: "unauthorized" (status 6), not an error.
    ocsp = openssl("ocsp", "-issuer", str(tmp / "k.pem"), "-cert", str(tmp / "leaf.pem"), "-url",
                   f"{admin.url}/ocsp", "-noverify", check=False)
    assert "unauthorized" in (ocsp.stdout + ocsp.stderr).lower(), ocsp.stdout + ocsp.stderr
    # Revoking what it issued is recorded (its CRL cannot be signed, and nothing fails for it).
    admin.ok("put", f"/api/ca/v1/certificates/{leaf['serial_number']}/status",
             json={"status": "REVOKED", "revocation_reason": "Superseded"})
    # A keyless CA may be deleted in any status.
    assert admin.ok("delete", f"/api/ca/v1/cas/{ca['id']}") == {}
    err(admin.get(f"/api/ca/v1/cas/{ca['id']}"), 404)
