"""The mDL PKI front door: services, KMS keys, IACA and Document Signer certificates to ISO/IEC
18013-5 Annex B, X.509 stores, and a DS key that really signs an mdoc-style COSE_Sign1."""
import base64
import json
import re
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509 import load_pem_x509_certificate

from conftest import BOOTSTRAP_TOKEN, Client, assert_error, fresh_server, openssl, unique, write
from test_lint import lint


@pytest.fixture(scope="module")
def mdl():
    """A fresh server with the spec's services: kms1, x509-service-1, x509-store-1 (attached)."""
    for server in fresh_server():
        c = Client(server.url, BOOTSTRAP_TOKEN)
        for name, kind in (("kms1", "kms"), ("x509-service-1", "x509-service"), ("x509-store-1", "x509-store"),
                           ("x509-store-2", "x509-store")):
            c.ok("post", f"/v1/default.default.{name}/resource-api/services/create", 201, json={"type": kind})
        r = c.s.post(c.url + "/v1/default.default.x509-service-1/x509-service-api/dependencies/add",
                     data='"default.default.x509-store-1"', headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        for key in ("secp256r1", "iaca-secp256r1", "ds-secp256r1", "ds2-secp256r1"):
            c.ok("post", f"/v1/default.default.kms1.{key}/kms-service-api/keys/generate", 201,
                 json={"backend": "jwk", "keyType": "secp256r1"})
        yield c


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def kms(name):
    return {"type": "kms-hosted-key-descriptor", "keyIdPath": f"default.default.kms1.{name}"}


def iaca_body(stored=None, **data):
    body = {"certificateData": {"country": "US", "commonName": "Example IACA",
                                "issuerAlternativeNameConf": {"uri": "https://iaca.example.com"}, **data},
            "iacaKeyDesc": kms("secp256r1")}
    if stored:
        body["storedCertificateId"] = stored
    return body


def test_iaca_and_ds_from_the_spec_examples(mdl, tmp):
    iaca = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json={
        **iaca_body("iaca-prod-2026-q1"),
        "vicalEntryComplementaryMetadata": {"docType": ["org.iso.18013.5.1.mDL"],
                                            "certificateProfile": ["org.iso.18013.5.1.iaca"]}})
    assert iaca["storedCertificateIds"] == ["default.default.x509-store-1.iaca-prod-2026-q1"]
    assert iaca["certificateData"]["commonName"] == "Example IACA" and iaca["certificateData"]["notBefore"].endswith("Z")
    entry = mdl.ok("get", "/v1/default.default.x509-store-1.iaca-prod-2026-q1/x509-store-api/certificates")
    assert entry["data"]["type"] == "vical-entry" and entry["data"]["complementaryMetadata"]["docType"] == ["org.iso.18013.5.1.mDL"]

    # DS signed by an IACA given as data (the spec's example), key from the KMS.
    ds = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/document-signers", json={
        "storedCertificateId": "ds-mainline-2026-01",
        "iacaSigner": {"type": "iaca-cert-data-descriptor", "iacaKeyDesc": kms("iaca-secp256r1"),
                       "certificateData": {"country": "US", "commonName": "Example IACA",
                                           "notBefore": "2025-05-28T12:23:01Z", "notAfter": "2040-05-24T12:23:01Z",
                                           "issuerAlternativeNameConf": {"uri": "https://iaca.example.com"}}},
        "certificateData": {"country": "US", "commonName": "Example DS", "crlDistributionPointUri": "https://crl-example.com"},
        "dsPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("ds-secp256r1")}})
    assert ds["storedCertificateIds"] == ["default.default.x509-store-1.ds-mainline-2026-01"]

    # DS signed by the stored IACA PEM: the chain verifies and lints clean.
    ds2 = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/document-signers", json={
        "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                       "iacaKeyDesc": kms("secp256r1")},
        "certificateData": {"country": "US", "commonName": "Example DS 2", "crlDistributionPointUri": "https://crl.example.com"},
        "dsKeyDescriptor": kms("ds2-secp256r1")})
    iaca_pem, ds_pem = write(tmp / "iaca.pem", iaca["certificatePEM"]), write(tmp / "ds.pem", ds2["certificatePEM"])
    openssl("verify", "-x509_strict", "-CAfile", iaca_pem, ds_pem)
    lint("lint_pkix_cert", iaca_pem)
    lint("lint_pkix_cert", ds_pem)
    lint("lint_pkix_signer_signee_cert_chain", iaca_pem, ds_pem)
    text = openssl("x509", "-in", ds_pem, "-noout", "-text").stdout
    assert "1.0.18013.5.1.2" in text and "URI:https://iaca.example.com" in text and "Digital Signature" in text
    iaca_subject = openssl("x509", "-in", iaca_pem, "-noout", "-subject", "-nameopt", "RFC2253").stdout.split("=", 1)[1]
    ds_issuer = openssl("x509", "-in", ds_pem, "-noout", "-issuer", "-nameopt", "RFC2253").stdout.split("=", 1)[1]
    assert iaca_subject == ds_issuer
    ids = mdl.ok("get", "/v1/default.default.x509-store-1/x509-store-api/certificates/ids")
    assert len(ids) == len(set(ids)) == 3


def test_annex_b_rules_are_enforced(mdl):
    path = "/v1/default.default.x509-service-1/x509-service-api/iso/iacas"
    assert_error(mdl.post(path, iaca_body(country="us")), 400, "country")
    assert_error(mdl.post(path, iaca_body(notBefore="2026-01-01T00:00:00Z", notAfter="2050-01-01T00:00:00Z")), 400, "20 years")
    assert_error(mdl.post(path, {**iaca_body(), "certificateData": {"country": "US", "commonName": "X"}}), 400, "issuerAltName")
    rsa = unique("rsa")
    mdl.ok("post", f"/v1/default.default.kms1.{rsa}/kms-service-api/keys/generate", 201, json={"keyType": "RSA"})
    assert_error(mdl.post(path, {**iaca_body(), "iacaKeyDesc": kms(rsa)}), 400, "ECDSA")
    iaca = mdl.ok("post", path, json=iaca_body())
    ds_path = "/v1/default.default.x509-service-1/x509-service-api/iso/document-signers"
    ds = lambda **data: {"iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                                        "iacaKeyDesc": kms("secp256r1")},
                         "certificateData": {"country": "US", "commonName": "DS", "crlDistributionPointUri": "https://c.example", **data},
                         "dsKeyDescriptor": kms("ds-secp256r1")}
    now = iaca["certificateData"]["notBefore"]
    assert_error(mdl.post(ds_path, ds(notBefore=now, notAfter="2040-01-01T00:00:00Z")), 400, "457 days")
    iaca_from = datetime.fromisoformat(now.replace("Z", "+00:00"))
    early = {"notBefore": iso(iaca_from - timedelta(days=1)), "notAfter": iso(iaca_from + timedelta(days=30))}
    assert_error(mdl.post(ds_path, ds(**early)), 400, "within the IACA's")
    assert_error(mdl.post(ds_path, {**ds(), "dsKeyDescriptor": kms(rsa)}), 400, "DS key must be ECDSA")
    assert_error(mdl.post(ds_path, ds(country="CA")), 400, "country")
    assert_error(mdl.post(ds_path, ds(stateOrProvinceName="US-CA")), 400, "stateOrProvinceName")
    body = ds()
    del body["certificateData"]["crlDistributionPointUri"]
    assert_error(mdl.post(ds_path, body), 400, "crlDistributionPointUri")
    assert_error(mdl.post(ds_path, {**ds(), "dsKeyDescriptor": kms("nope")}), 404, "key")
    wrong_key = ds()
    wrong_key["iacaSigner"]["iacaKeyDesc"] = kms("iaca-secp256r1")
    assert_error(mdl.post(ds_path, wrong_key), 400, "not the key of the IACA")
    # An IACA given as PEM must itself conform: a TLS root is refused.
    tls_root = mdl.ok("post", "/v1/pki/ca", 201, json={"name": unique("r"), "common_name": "R", "ca_type": "root", "key_type": "ec"})
    not_iaca = ds()
    not_iaca["iacaSigner"]["iacaPemEncodedCertificate"] = mdl.ok("get", f"/v1/pki/ca/{tls_root['id']}/certificate")["certificate_pem"]
    assert_error(mdl.post(ds_path, not_iaca), 400, "Annex B")
    assert_error(mdl.post(path, iaca_body(notBefore="2020-01-01T00:00:00Z", notAfter="2021-01-01T00:00:00Z")), 400, "future")


def test_store_writes_are_all_or_nothing(mdl):
    r = mdl.s.post(mdl.url + "/v1/default.default.x509-service-1/x509-service-api/dependencies/add",
                   json={"dependency": "default.default.x509-store-2"})
    assert r.status_code == 201, r.text
    taken = unique("taken")
    mdl.ok("post", f"/v1/default.default.x509-store-2.{taken}/x509-store-api/certificates", 201,
           json={"type": "base", "certificatePem": mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas",
                                                          json=iaca_body())["certificatePEM"]})
    before = mdl.ok("get", "/v1/default.default.x509-store-1/x509-store-api/certificates/ids")
    r = mdl.post("/v1/default.default.x509-service-1/x509-service-api/iso/iacas", iaca_body(taken))
    assert_error(r, 409)
    assert mdl.ok("get", "/v1/default.default.x509-store-1/x509-store-api/certificates/ids") == before, "no partial entry"
    fresh = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json=iaca_body())
    assert len(fresh["storedCertificateIds"]) == 2
    ids = {i.rsplit(".", 1)[1] for i in fresh["storedCertificateIds"]}
    assert len(ids) == 1, "one id in every store"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids.pop()), "a UUID when omitted"


def test_without_a_store_the_stored_id_is_ignored_and_omitted(mdl):
    bare = unique("x509-bare")
    mdl.ok("post", f"/v1/default.default.{bare}/resource-api/services/create", 201, json={"type": "x509-service"})
    before = mdl.ok("get", "/v1/default.default.x509-store-1/x509-store-api/certificates/ids")
    r = mdl.ok("post", f"/v1/default.default.{bare}/x509-service-api/iso/iacas", json=iaca_body(unique("ignored")))
    assert "storedCertificateIds" not in r and r["certificatePEM"].startswith("-----BEGIN CERTIFICATE-----")
    assert mdl.ok("get", "/v1/default.default.x509-store-1/x509-store-api/certificates/ids") == before


def test_store_crud(mdl):
    pem = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json=iaca_body())["certificatePEM"]
    base = "/v1/default.default.x509-store-1"
    e = mdl.ok("post", f"{base}.base-001/x509-store-api/certificates", 201, json={"type": "base", "certificatePem": pem})
    assert e["_id"] == "default.default.x509-store-1.base-001" and e["data"]["type"] == "base"
    assert mdl.ok("get", f"{base}.base-001/x509-store-api/certificates")["data"]["pem"] == pem
    assert_error(mdl.post(f"{base}.base-001/x509-store-api/certificates", {"type": "base", "certificatePem": pem}), 409)
    assert_error(mdl.post(f"{base}.v-1/x509-store-api/certificates", {"type": "vical-entry", "certificatePem": pem}), 400, "complementaryMetadata")
    assert_error(mdl.post(f"{base}.bad/x509-store-api/certificates", {"type": "base", "certificatePem": "nope"}), 400)
    upd = mdl.ok("put", f"{base}.base-001/x509-store-api/certificates", json={
        "type": "vical-entry", "certificatePem": pem, "complementaryMetadata": {"docType": ["org.iso.18013.5.1.mDL"]}})
    assert upd["data"]["type"] == "vical-entry"
    assert mdl.delete(f"{base}.base-001/x509-store-api/certificates").status_code == 204
    assert_error(mdl.delete(f"{base}.base-001/x509-store-api/certificates"), 404)
    assert_error(mdl.get(f"{base}.base-001/x509-store-api/certificates"), 404)


def test_kms_jwk_import_export_and_isolation(mdl):
    from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key, SECP384R1
    key = generate_private_key(SECP384R1())
    n = key.private_numbers()
    b64 = lambda i, size: base64.urlsafe_b64encode(i.to_bytes(size, "big")).rstrip(b"=").decode()
    jwk = {"kty": "EC", "crv": "P-384", "x": b64(n.public_numbers.x, 48), "y": b64(n.public_numbers.y, 48), "d": b64(n.private_value, 48)}
    name = unique("imported")
    mdl.ok("post", f"/v1/default.default.kms1.{name}/kms-service-api/keys/import/jwk", 201, json=jwk)
    public = mdl.ok("get", f"/v1/default.default.kms1.{name}/kms-service-api/keys/jwk")
    assert public == {"kty": "EC", "crv": "P-384", "x": jwk["x"], "y": jwk["y"]}
    assert_error(mdl.post(f"/v1/default.default.kms1.{unique('pub')}/kms-service-api/keys/import/jwk",
                          {k: v for k, v in jwk.items() if k != "d"}), 400, "private")
    assert_error(mdl.post(f"/v1/default.default.kms1.{name}/kms-service-api/keys/import/jwk", jwk), 409)
    assert mdl.delete(f"/v1/default.default.kms1.{name}/kms-service-api/keys").status_code == 204
    assert_error(mdl.delete(f"/v1/default.default.kms1.{name}/kms-service-api/keys"), 404)
    assert_error(mdl.get(f"/v1/default.default.kms1.{name}/kms-service-api/keys/jwk"), 404)
    assert_error(mdl.post("/v1/default.default.kms1.x/kms-service-api/keys/generate", {"keyType": "dsa"}), 400, "keyType")
    assert_error(mdl.get("/v1/nope.default.kms1.x/kms-service-api/keys/jwk"), 404)
    # Another tenant's token cannot reach this tenant's services, even by id.
    other = mdl.ok("post", "/v1/admin/tenants", 201, json={"name": unique("other")})
    tok = mdl.ok("post", "/v1/admin/tokens", 201, json={"tenant_id": other["id"], "name": "o", "scopes": ["pki:admin", "pki:issue"]})
    outsider = Client(mdl.url, tok["token"])
    assert_error(outsider.get("/v1/default.default.kms1.secp256r1/kms-service-api/keys/jwk"), 404)
    assert_error(outsider.post("/v1/default.default.x509-service-1/x509-service-api/iso/iacas", iaca_body()), 404)
    # Its own tenant is addressable by id.
    outsider.ok("post", f"/v1/default.{other['id']}.kms/resource-api/services/create", 201, json={"type": "kms"})


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25]) + n.to_bytes(2, "big")


def cbor_bstr(b):
    return cbor_head(2, len(b)) + b


def test_ds_key_signs_an_mdoc_cose_sign1(mdl):
    """COSE_Sign1 (RFC 9052 §4.4) as an mdoc MSO is signed: ES256 over Sig_structure."""
    iaca = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json=iaca_body())
    ds = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/document-signers", json={
        "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                       "iacaKeyDesc": kms("secp256r1")},
        "certificateData": {"country": "US", "commonName": "Signer", "crlDistributionPointUri": "https://c.example"},
        "dsKeyDescriptor": kms("ds-secp256r1")})
    protected = bytes([0xA1, 0x01, 0x26])  # {1: -7} (alg: ES256)
    payload = json.dumps({"docType": "org.iso.18013.5.1.mDL", "valueDigests": {"x": 1}}).encode()
    sig_structure = (cbor_head(4, 4) + cbor_head(3, len("Signature1")) + b"Signature1"
                     + cbor_bstr(protected) + cbor_bstr(b"") + cbor_bstr(payload))
    sig = mdl.ok("post", "/v1/default.default.kms1.ds-secp256r1/kms-service-api/keys/sign",
                 json={"data": base64.urlsafe_b64encode(sig_structure).decode()})["signature"]
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    assert len(raw) == 64, "ES256 signatures are r || s"
    cert = load_pem_x509_certificate(ds["certificatePEM"].encode())
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    cert.public_key().verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))  # raises if it does not verify
    with pytest.raises(Exception):
        cert.public_key().verify(der, sig_structure + b"x", ec.ECDSA(hashes.SHA256()))


def test_generic_certificates_from_the_spec(mdl, tmp):
    for key in ("leaf-secp256r1", "intermediate-secp256r1", "root-secp256r1"):
        mdl.ok("post", f"/v1/default.default.kms1.{key}/kms-service-api/keys/generate", 201, json={"keyType": "secp256r1"})
    path = "/v1/default.default.x509-service-1/x509-service-api/certificate"
    leaf = mdl.ok("post", path, json={
        "storedCertificateId": "generic-leaf-01",
        "certificateData": {"subjectName": {"commonName": "Example Leaf", "country": "US", "organizationName": "Example Org"},
                            "isCertificateAuthority": False, "keyUsage": ["DigitalSignature"]},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("leaf-secp256r1")},
        "issuer": {"type": "self-signed"}})
    data = leaf["certificateData"]
    assert data["issuerName"] == data["subjectName"] and data["keyUsage"] == ["DigitalSignature"]
    assert data["publicKeyJwk"] == mdl.ok("get", "/v1/default.default.kms1.leaf-secp256r1/kms-service-api/keys/jwk")
    assert "default.default.x509-store-1.generic-leaf-01" in leaf["storedCertificateIds"]
    text = openssl("x509", "-noout", "-text", input=leaf["certificatePEM"]).stdout
    assert "Basic Constraints: critical" in text and "CA:FALSE" in text and "Key Usage: critical" in text
    assert "Authority Key Identifier" in text and "O = Example Org" in text

    # A self-signed root, then the spec's CA-signed intermediate under it (issuerName = the root's subject).
    root = mdl.ok("post", path, json={
        "certificateData": {"subjectName": {"commonName": "Example Root", "country": "US"}, "isCertificateAuthority": True,
                            "keyUsage": ["KeyCertSign", "CRLSign"]},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("root-secp256r1")},
        "issuer": {"type": "self-signed"}})
    inter = mdl.ok("post", path, json={
        "storedCertificateId": "generic-intermediate-01",
        "certificateData": {"subjectName": {"commonName": "Example Intermediate CA", "country": "US"},
                            "issuerName": {"commonName": "Example Root", "country": "US"},
                            "isCertificateAuthority": True, "pathLengthConstraint": 0, "keyUsage": ["KeyCertSign", "CRLSign"],
                            "extendedKeyUsageOids": ["1.3.6.1.5.5.7.3.2"],
                            "subjectAlternativeNames": {"uris": ["https://ca.example.com"], "emails": ["pki@example.com"]}},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("intermediate-secp256r1")},
        "issuer": {"type": "ca-signed", "issuerKeyDescriptor": kms("root-secp256r1")}})
    root_pem, inter_pem = write(tmp / "root.pem", root["certificatePEM"]), write(tmp / "inter.pem", inter["certificatePEM"])
    openssl("verify", "-CAfile", root_pem, inter_pem)
    text = openssl("x509", "-in", inter_pem, "-noout", "-text").stdout
    assert "CA:TRUE, pathlen:0" in text and "URI:https://ca.example.com" in text and "email:pki@example.com" in text
    assert "TLS Web Client Authentication" in text

    # CSR-based issuance must be ca-signed; bad key usage names are a 400.
    csr = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                  str(tmp / "k"), "-subj", "/CN=csr").stdout
    body = lambda issuer, **extra: {"certificateData": {"subjectName": {"commonName": "From CSR"}, **extra},
                                    "subjectPublicKeySource": {"type": "csr", "csr": csr}, "issuer": issuer}
    assert_error(mdl.post(path, body({"type": "self-signed"})), 400, "ca-signed")
    from_csr = mdl.ok("post", path, json=body({"type": "ca-signed", "issuerKeyDescriptor": kms("root-secp256r1")},
                                              issuerName={"commonName": "Example Root", "country": "US"}))
    openssl("verify", "-CAfile", root_pem, write(tmp / "csr-leaf.pem", from_csr["certificatePEM"]))
    assert_error(mdl.post(path, body({"type": "ca-signed", "issuerKeyDescriptor": kms("root-secp256r1")}, keyUsage=["Fly"])), 400, "keyUsage")


def test_ds_from_a_csr_workflow(mdl, tmp):
    csr = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/csrs", 201, json={
        "type": "document-signer", "subjectKeyDescriptor": kms("ds2-secp256r1"),
        "certificateData": {"country": "US", "commonName": "DS via CSR"}})["csrPEM"]
    assert "subject=C = US, CN = DS via CSR" in openssl("req", "-noout", "-subject", "-verify", input=csr).stdout
    iaca = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json=iaca_body())
    ds = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/document-signers", json={
        "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca["certificatePEM"],
                       "iacaKeyDesc": kms("secp256r1")},
        "certificateData": {"country": "US", "commonName": "DS via CSR", "crlDistributionPointUri": "https://c.example"},
        "dsPublicKeySource": {"type": "csr", "csr": csr}})
    jwk = mdl.ok("get", "/v1/default.default.kms1.ds2-secp256r1/kms-service-api/keys/jwk")
    pub = openssl("x509", "-noout", "-pubkey", input=ds["certificatePEM"]).stdout
    assert pub == openssl("req", "-noout", "-pubkey", input=csr).stdout, "the DS certifies the CSR's key"
    assert jwk["kty"] == "EC"
    openssl("verify", "-CAfile", write(tmp / "iaca.pem", iaca["certificatePEM"]), write(tmp / "ds.pem", ds["certificatePEM"]))
    assert_error(mdl.post("/v1/default.default.x509-service-1/x509-service-api/csrs",
                          {"type": "generic", "subjectKeyDescriptor": kms("ds2-secp256r1")}), 400, "subjectName")


@pytest.mark.parametrize("data,words", [
    ({"issuerAlternativeNameConf": {"uri": "iaca.example.com"}}, "absolute URI"),
    ({"issuerAlternativeNameConf": {"uri": "/relative/path"}}, "absolute URI"),
    ({"country": "ZZ"}, "ISO 3166-1"),
    ({"country": "UK"}, "ISO 3166-1"),
    ({"crlDistributionPointUri": "ldap://crl.example.com/iaca"}, "HTTP or HTTPS"),
    ({"crlDistributionPointUri": "https://user@crl.example.com/iaca"}, "without user information"),
    ({"stateOrProvinceName": "   "}, "must not be blank"),
    ({"notBefore": "2026-12-01T00:00:00Z", "notAfter": "2046-12-01T00:00:00Z"}, "20 years"),
])
def test_iaca_input_is_checked_as_waltid_checks_it(mdl, data, words):
    path = "/v1/default.default.x509-service-1/x509-service-api/iso/iacas"
    assert_error(mdl.post(path, iaca_body(**data)), 400, words)


def test_iaca_without_a_crl_dp_points_at_certus(mdl, tmp):
    path = "/v1/default.default.x509-service-1/x509-service-api/iso/iacas"
    iaca = mdl.ok("post", path, json=iaca_body(notBefore="2026-12-01T00:00:00Z", notAfter="2046-11-26T00:00:00Z"))
    text = openssl("x509", "-noout", "-text", input=iaca["certificatePEM"]).stdout
    assert "X509v3 CRL Distribution Points" in text and "/v1/pki/ca/ca_" in text and "/crl" in text
    crl_uri = [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("URI:") and "/crl" in line][0]
    crl = mdl.get(crl_uri.replace(mdl.url, ""))
    assert crl.status_code == 200, "the default CRL DP is served"


def test_generic_ca_signed_without_issuer_name_chains_and_path_len_needs_ca(mdl, tmp):
    for key in ("g-root-secp256r1", "g-int-secp256r1"):
        mdl.ok("post", f"/v1/default.default.kms1.{key}/kms-service-api/keys/generate", 201, json={"keyType": "secp256r1"})
    path = "/v1/default.default.x509-service-1/x509-service-api/certificate"
    root = mdl.ok("post", path, json={
        "certificateData": {"subjectName": {"commonName": "Generic Root", "country": "US"}, "isCertificateAuthority": True,
                            "keyUsage": ["KeyCertSign", "CRLSign"]},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("g-root-secp256r1")},
        "issuer": {"type": "self-signed"}})
    inter = mdl.ok("post", path, json={
        "certificateData": {"subjectName": {"commonName": "Generic Intermediate", "country": "US"},
                            "isCertificateAuthority": True, "pathLengthConstraint": 0, "keyUsage": ["KeyCertSign"]},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("g-int-secp256r1")},
        "issuer": {"type": "ca-signed", "issuerKeyDescriptor": kms("g-root-secp256r1")}})
    root_pem, inter_pem = write(tmp / "g-root.pem", root["certificatePEM"]), write(tmp / "g-int.pem", inter["certificatePEM"])
    openssl("verify", "-CAfile", root_pem, inter_pem)
    assert_error(mdl.post(path, {
        "certificateData": {"subjectName": {"commonName": "Leaf"}, "isCertificateAuthority": False,
                            "pathLengthConstraint": 1, "keyUsage": ["DigitalSignature"]},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms("g-int-secp256r1")},
        "issuer": {"type": "self-signed"}}), 400, "pathLengthConstraint")
    # The certificate records its KMS key, which no door exports.
    listed = mdl.ok("get", "/v1/pki/certificates", params={"limit": 1000})["data"]
    generic = next(c for c in listed if c["common_name"] == "Generic Root")
    r = mdl.post(f"/v1/pki/certificates/{generic['id']}/private-key")
    assert r.status_code == 403 and "KMS key" in r.json()["error"]["message"], r.text


@pytest.mark.parametrize("as_string", [False, True])
def test_a_jwk_key_descriptor_is_an_object_or_a_json_string(mdl, as_string):
    from cryptography.hazmat.primitives.asymmetric import ec
    n = ec.generate_private_key(ec.SECP256R1()).private_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(n.public_numbers.x), "y": b64(n.public_numbers.y), "d": b64(n.private_value)}
    body = iaca_body(commonName=f"JWK IACA {as_string}")
    body["iacaKeyDesc"] = {"type": "jwk-encoded-key-descriptor", "jwk": json.dumps(jwk) if as_string else jwk}
    issued = mdl.ok("post", "/v1/default.default.x509-service-1/x509-service-api/iso/iacas", json=body)
    assert "BEGIN CERTIFICATE" in issued["certificatePEM"]
    body["iacaKeyDesc"]["jwk"] = "not json"
    assert_error(mdl.post("/v1/default.default.x509-service-1/x509-service-api/iso/iacas", body), 400, "jwk")
