"""An mdoc (ISO/IEC 18013-5 §9.1.2) whose MSO a Certus Document Signer key signed, through the KMS
sign route, verifies against the Certus IACA with an independent mdoc library (pymdoccbor, PyPI):
the DS certificate chains to the IACA, the COSE_Sign1 verifies, every element digest matches."""
import base64
import datetime
import hashlib

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pymdoccbor.mdoc.verifier import MdocCbor

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server

T = "default.default"
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"


def kms(name):
    return {"type": "kms-hosted-key-descriptor", "keyIdPath": f"{T}.kms.{name}"}


@pytest.fixture(scope="module")
def pki():
    for server in fresh_server():
        c = Client(server.url, BOOTSTRAP_TOKEN)
        for name, kind in (("kms", "kms"), ("x509", "x509-service")):
            c.ok("post", f"/v1/{T}.{name}/resource-api/services/create", 201, json={"type": kind})
        for key in ("iaca", "ds", "other-iaca"):
            c.ok("post", f"/v1/{T}.kms.{key}/kms-service-api/keys/generate", 201, json={"keyType": "secp256r1"})

        def iaca(key, cn):
            return c.ok("post", f"/v1/{T}.x509/x509-service-api/iso/iacas", json={
                "certificateData": {"country": "US", "commonName": cn,
                                    "issuerAlternativeNameConf": {"uri": "https://dmv.example.com"}},
                "iacaKeyDesc": kms(key)})["certificatePEM"]

        iaca_pem = iaca("iaca", "Certus Test IACA")
        ds = c.ok("post", f"/v1/{T}.x509/x509-service-api/iso/document-signers", json={
            "iacaSigner": {"type": "iaca-pem-cert-descriptor", "iacaPemEncodedCertificate": iaca_pem,
                           "iacaKeyDesc": kms("iaca")},
            "certificateData": {"country": "US", "commonName": "Certus Test DS",
                                "crlDistributionPointUri": "https://dmv.example.com/crl"},
            "dsKeyDescriptor": kms("ds")})
        yield {"c": c, "iaca": iaca_pem, "other_iaca": iaca("other-iaca", "Unrelated IACA"), "ds": ds["certificatePEM"]}


def sign_with_certus(c, data):
    sig = c.ok("post", f"/v1/{T}.kms.ds/kms-service-api/keys/sign",
               json={"data": base64.urlsafe_b64encode(data).decode()})["signature"]
    return base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))


def tdate(t):
    return cbor2.CBORTag(0, t.strftime("%Y-%m-%dT%H:%M:%SZ"))


def make_mdoc(c, ds_pem, claims):
    """IssuerSigned with one namespace: items as tag-24 bytes, their SHA-256 digests in the MSO, the
    MSO (tag 24) signed as an untagged COSE_Sign1 by the Certus DS key, x5chain = the DS certificate."""
    items = []
    for i, (name, value) in enumerate(claims.items()):
        item = {"digestID": i, "random": hashlib.sha256(f"salt-{i}".encode()).digest()[:16],
                "elementIdentifier": name, "elementValue": value}
        items.append(cbor2.CBORTag(24, cbor2.dumps(item)))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    device_key = {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32}  # a COSE_Key (EC2, P-256)
    mso = {
        "version": "1.0", "digestAlgorithm": "SHA-256", "docType": MDL,
        "valueDigests": {NS: {i: hashlib.sha256(cbor2.dumps(it)).digest() for i, it in enumerate(items)}},
        "deviceKeyInfo": {"deviceKey": device_key},
        "validityInfo": {"signed": tdate(now), "validFrom": tdate(now),
                         "validUntil": tdate(now + datetime.timedelta(days=365))},
    }
    payload = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso)))
    protected = cbor2.dumps({1: -7})  # alg: ES256
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    signature = sign_with_certus(c, sig_structure)
    ds_der = x509.load_pem_x509_certificate(ds_pem.encode()).public_bytes(serialization.Encoding.DER)
    issuer_auth = [protected, {33: ds_der}, payload, signature]
    return cbor2.dumps({"version": "1.0", "status": 0, "documents": [
        {"docType": MDL, "issuerSigned": {"nameSpaces": {NS: items}, "issuerAuth": issuer_auth}}]})


def verify(mdoc_bytes, roots):
    m = MdocCbor()
    m.loads(mdoc_bytes)
    return m.verify(trusted_root_certs=[x509.load_pem_x509_certificate(r.encode()) for r in roots])


def test_a_certus_signed_mdoc_verifies_against_the_iaca(pki):
    claims = {"family_name": "Doe", "given_name": "Jane", "issuing_country": "US", "document_number": "D1234567"}
    mdoc = make_mdoc(pki["c"], pki["ds"], claims)
    assert verify(mdoc, [pki["iaca"]]) is True


def test_the_wrong_iaca_or_a_changed_element_fails(pki):
    claims = {"family_name": "Doe", "given_name": "Jane"}
    mdoc = make_mdoc(pki["c"], pki["ds"], claims)
    assert verify(mdoc, [pki["other_iaca"]]) is False  # "DS certificate not signed by any trusted root"
    # Change one disclosed element after signing: its digest no longer matches the MSO.
    doc = cbor2.loads(mdoc)
    items = doc["documents"][0]["issuerSigned"]["nameSpaces"][NS]
    item = cbor2.loads(items[0].value)
    item["elementValue"] = "Mallory"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    assert verify(cbor2.dumps(doc), [pki["iaca"]]) is False
    # And a changed MSO breaks the signature.
    doc = cbor2.loads(mdoc)
    auth = doc["documents"][0]["issuerSigned"]["issuerAuth"]
    auth[2] = auth[2][:-1] + bytes([auth[2][-1] ^ 1])
    assert verify(cbor2.dumps(doc), [pki["iaca"]]) is False
