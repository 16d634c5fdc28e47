"""VICAL publishing (ISO/IEC 18013-5 Annex C) through the mDL door, set up as walt.id's quickstart
does, and checked with independent libraries: cbor2 decodes it, pycose verifies the COSE_Sign1 with
the key of the signer certificate in x5chain, openssl chains that certificate to its IACA."""
import base64
import datetime

import cbor2
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.headers import X5chain
from pycose.keys import EC2Key
from pycose.messages import Sign1Message

from conftest import BOOTSTRAP_TOKEN, Client, assert_error, fresh_server, openssl, write

T = "default.default"
SIGNER_EKU = "1.0.18013.5.1.8"
MDL = "org.iso.18013.5.1.mDL"


def kms(name):
    return {"type": "kms-hosted-key-descriptor", "keyIdPath": f"{T}.kms.{name}"}


@pytest.fixture(scope="module")
def world():
    for server in fresh_server():
        c = Client(server.url, BOOTSTRAP_TOKEN)
        for name, kind in (("kms", "kms"), ("x509", "x509-service"), ("store", "x509-store"), ("store2", "x509-store")):
            c.ok("post", f"/v1/{T}.{name}/resource-api/services/create", 201, json={"type": kind})
        r = c.s.post(c.url + f"/v1/{T}.x509/x509-service-api/dependencies/add", data=f'"{T}.store"',
                     headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        for key in ("iaca", "iaca2", "vical", "other"):
            c.ok("post", f"/v1/{T}.kms.{key}/kms-service-api/keys/generate", 201, json={"keyType": "secp256r1"})
        iaca = c.ok("post", f"/v1/{T}.x509/x509-service-api/iso/iacas", json={
            "storedCertificateId": "iaca-1",
            "certificateData": {"country": "US", "commonName": "VICAL Test IACA", "stateOrProvinceName": "US-CA",
                                "issuerAlternativeNameConf": {"uri": "https://iaca.example.com"}},
            "vicalEntryComplementaryMetadata": {"docType": [MDL], "certificateProfile": ["1.0.18013.5.1.7"]},
            "iacaKeyDesc": kms("iaca")})
        iaca2 = c.ok("post", f"/v1/{T}.x509/x509-service-api/iso/iacas", json={
            "storedCertificateId": "iaca-2",
            "certificateData": {"country": "DE", "commonName": "Second IACA",
                                "issuerAlternativeNameConf": {"uri": "https://iaca2.example.com"}},
            "vicalEntryComplementaryMetadata": {"docType": [MDL, "org.iso.23220.photoid.1"]},
            "iacaKeyDesc": kms("iaca2")})
        yield {"c": c, "url": server.url, "iaca": iaca, "iaca2": iaca2}


def signer(c, stored, key="vical", days=1000, eku=(SIGNER_EKU,)):
    """A VICAL signer certificate issued by Certus under the IACA key, stored in the store."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return c.ok("post", f"/v1/{T}.x509/x509-service-api/certificate", json={
        "storedCertificateId": stored,
        "certificateData": {"subjectName": {"commonName": "VICAL Signer", "country": "US"},
                            "issuerName": {"commonName": "VICAL Test IACA", "country": "US", "stateOrProvinceName": "US-CA"},
                            "notBefore": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "notAfter": (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "keyUsage": ["DigitalSignature"], "extendedKeyUsageOids": list(eku)},
        "subjectPublicKeySource": {"type": "key-descriptor", "keyDescriptor": kms(key)},
        "issuer": {"type": "ca-signed", "issuerKeyDescriptor": kms("iaca")}})


def vical_service(c, name, signer_id, key="vical", deps=("kms", "store")):
    return c.post(f"/v1/{T}.{name}/resource-api/services/create", {
        "type": "vical-service", "_id": f"{T}.{name}", "signingKeyId": f"{T}.kms.{key}",
        "signerCertificateId": f"{T}.store.{signer_id}", "dependencies": [f"{T}.{d}" for d in deps]})


def test_publish_and_verify_with_independent_libraries(world, tmp):
    c = world["c"]
    s = signer(c, "vical-signer")
    r = vical_service(c, "vical", "vical-signer")
    assert r.status_code == 201, r.text
    assert r.json() == {"_id": f"{T}.vical", "type": "vical-service"}

    # Nothing published yet: the latest is a 404.
    assert_error(requests.get(world["url"] + f"/v1/{T}.vical/vical-service-api/latest"), 404, "no VICAL")
    pub = c.ok("post", f"/v1/{T}.vical/vical-service-api/publish", json={"vicalProvider": "Certus Test Provider"})
    assert pub["entryCount"] == 2 and pub["vicalIssueID"] == 1 and pub["versionIdPath"] == f"{T}.vical.1"

    # The latest needs no token: relying parties fetch it.
    r = requests.get(world["url"] + f"/v1/{T}.vical/vical-service-api/latest")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/cose")
    msg = Sign1Message.decode(r.content)
    chain = msg.uhdr[X5chain]  # label 33
    signer_der = chain if isinstance(chain, bytes) else chain[0]
    cert = x509.load_der_x509_certificate(signer_der)
    assert cert.public_bytes(serialization.Encoding.PEM).decode() == s["certificatePEM"]
    pub_numbers = cert.public_key().public_numbers()
    msg.key = EC2Key(crv="P_256", x=pub_numbers.x.to_bytes(32, "big"), y=pub_numbers.y.to_bytes(32, "big"))
    assert msg.verify_signature()
    # The signer chains to the IACA (openssl), and carries the VICAL signer EKU.
    openssl("verify", "-CAfile", write(tmp / "iaca.pem", world["iaca"]["certificatePEM"]),
            write(tmp / "signer.pem", s["certificatePEM"]))
    assert SIGNER_EKU in [e.dotted_string for e in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]

    vical = cbor2.loads(msg.payload)
    assert vical["version"] == "1.0" and vical["vicalProvider"] == "Certus Test Provider" and vical["vicalIssueID"] == 1
    assert isinstance(vical["date"], datetime.datetime)
    infos = {x509.load_der_x509_certificate(i["certificate"]).subject.rfc4514_string(): i for i in vical["certificateInfos"]}
    assert len(infos) == 2
    for iaca in (world["iaca"], world["iaca2"]):
        c_iaca = x509.load_pem_x509_certificate(iaca["certificatePEM"].encode())
        info = infos[c_iaca.subject.rfc4514_string()]
        assert info["certificate"] == c_iaca.public_bytes(serialization.Encoding.DER)
        assert info["serialNumber"] == c_iaca.serial_number
        assert info["ski"] == c_iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert info["issuer"] == c_iaca.issuer.public_bytes() and info["subject"] == c_iaca.subject.public_bytes()
        assert info["notAfter"] == c_iaca.not_valid_after_utc
    first = infos[x509.load_pem_x509_certificate(world["iaca"]["certificatePEM"].encode()).subject.rfc4514_string()]
    assert first["docType"] == [MDL] and first["certificateProfile"] == ["1.0.18013.5.1.7"]
    assert first["issuingCountry"] == "US" and first["stateOrProvinceName"] == "US-CA"
    second = [i for i in infos.values() if i is not first][0]
    assert second["docType"] == [MDL, "org.iso.23220.photoid.1"] and "certificateProfile" not in second

    # The issue id grows; the latest follows.
    pub2 = c.ok("post", f"/v1/{T}.vical/vical-service-api/publish", json={"vicalProvider": "Certus Test Provider"})
    assert pub2["vicalIssueID"] == 2
    latest = cbor2.loads(Sign1Message.decode(requests.get(
        world["url"] + f"/v1/{T}.vical/vical-service-api/latest").content).payload)
    assert latest["vicalIssueID"] == 2
    # A tampered VICAL does not verify.
    raw = bytearray(r.content)
    raw[-70] ^= 1
    tampered = Sign1Message.decode(bytes(raw))
    tampered.key = msg.key
    assert not tampered.verify_signature()


def test_the_signer_certificate_is_checked(world, tmp):
    c = world["c"]
    signer(c, "no-eku", eku=("1.3.6.1.5.5.7.3.2",))
    assert_error(vical_service(c, "v-no-eku", "no-eku"), 400, SIGNER_EKU)
    signer(c, "too-long", days=1200)
    assert_error(vical_service(c, "v-long", "too-long"), 400, "1187")
    signer(c, "other-key", key="other")
    assert_error(vical_service(c, "v-key", "other-key"), 400, "signingKeyId")
    # A certificate Certus did not issue, for a key the KMS holds: made by openssl, added to the store.
    key = ec.generate_private_key(ec.SECP256R1())
    n = key.private_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
    c.ok("post", f"/v1/{T}.kms.foreign/kms-service-api/keys/import/jwk", 201, json={
        "kty": "EC", "crv": "P-256", "d": b64(n.private_value), "x": b64(n.public_numbers.x), "y": b64(n.public_numbers.y)})
    keyf = write(tmp / "foreign.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()).decode())
    pem = openssl("req", "-x509", "-key", keyf, "-subj", "/CN=Foreign", "-days", "100",
                  "-addext", f"extendedKeyUsage={SIGNER_EKU}").stdout
    c.ok("post", f"/v1/{T}.store.foreign/x509-store-api/certificates", 201, json={"type": "base", "certificatePem": pem})
    assert_error(vical_service(c, "v-foreign", "foreign", key="foreign"), 400, "Certus issued")
    # Missing fields and unknown entries.
    assert_error(c.post(f"/v1/{T}.v-missing/resource-api/services/create", {"type": "vical-service"}), 400, "signingKeyId")
    assert_error(vical_service(c, "v-none", "no-such-entry"), 404)
    assert_error(vical_service(c, "v-dep", "no-eku", deps=("x509",)), 400, "depend")
    # None of the refused services exists.
    for name in ("v-no-eku", "v-long", "v-key", "v-foreign", "v-missing", "v-none", "v-dep"):
        assert_error(requests.post(world["url"] + f"/v1/{T}.{name}/vical-service-api/publish",
                                   json={"vicalProvider": "x"}, headers={"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"}),
                     404)


def test_publish_input_and_access(world):
    c = world["c"]
    signer(c, "signer-b")
    assert vical_service(c, "vical-b", "signer-b").status_code == 201
    assert_error(c.post(f"/v1/{T}.vical-b/vical-service-api/publish", {"vicalProvider": ""}), 400, "vicalProvider")
    assert_error(c.post(f"/v1/{T}.vical-b/vical-service-api/publish", {"vicalProvider": 7}), 400)
    assert_error(c.post(f"/v1/{T}.vical-b/vical-service-api/publish", {}), 400)
    assert_error(c.post(f"/v1/{T}.store/vical-service-api/publish", {"vicalProvider": "x"}), 400, "not a vical-service")
    anon = requests.post(world["url"] + f"/v1/{T}.vical-b/vical-service-api/publish", json={"vicalProvider": "x"})
    assert anon.status_code == 401
    assert_error(requests.get(world["url"] + f"/v1/{T}.store/vical-service-api/latest"), 404)
    assert_error(requests.get(world["url"] + "/v1/nope.nope.vical/vical-service-api/latest"), 404)
