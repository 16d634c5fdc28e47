"""CA keys on a PKCS#11 token (SoftHSM2): generated there, signing there, never exported."""
import os
import shutil
import subprocess

import pytest

from conftest import BOOTSTRAP_TOKEN, Client, Server, assert_error, make_role, openssl, unique, write

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
pytestmark = pytest.mark.skipif(not shutil.which("softhsm2-util"), reason="softhsm2 is installed by scripts/test.sh")


@pytest.fixture()
def token_env(tmp):
    (tmp / "tokens").mkdir()
    conf = write(tmp / "softhsm2.conf", f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "certus-test", "--pin", "1234", "--so-pin", "5678"],
                   env=env, check=True, capture_output=True)
    return {"SOFTHSM2_CONF": conf, "CERTUS_PKCS11_MODULE": MODULE, "CERTUS_PKCS11_TOKEN_LABEL": "certus-test",
            "CERTUS_PKCS11_PIN": "1234", "CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}


def test_hsm_hierarchy_signs_certificates_crls_and_ocsp(token_env, tmp):
    srv = Server(tmp / "d", env={**token_env, "CERTUS_OCSP_SIGNER": "ca"}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        root = admin.ok("post", "/v1/pki/ca", 201, json={"name": unique("r"), "common_name": "HSM Root", "ca_type": "root",
                                                         "key_type": "ec", "key_size": 384, "key_store": "pkcs11"})
        inter = admin.ok("post", "/v1/pki/ca", 201, json={"name": unique("i"), "common_name": "HSM Issuing CA",
                                                          "ca_type": "intermediate", "parent_ca_id": root["id"],
                                                          "key_type": "rsa", "key_size": 2048, "key_store": "pkcs11"})
        assert root["key_store"] == inter["key_store"] == "pkcs11"
        role = make_role(admin, inter["id"], key_type="ec")
        leaf = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "hsm.example.test"})
        files = {n: write(tmp / f"{n}.pem", pem) for n, pem in
                 (("leaf", leaf["certificate"]), ("int", leaf["ca_chain"][0]), ("root", leaf["ca_chain"][1]))}
        openssl("verify", "-x509_strict", "-CAfile", files["root"], "-untrusted", files["int"], files["leaf"])
        admin.ok("post", "/v1/pki/revoke", json={"serial_number": leaf["serial_number"], "reason": "key_compromise"})
        crl = tmp / "crl.der"
        crl.write_bytes(Client(srv.url).get(f"/v1/pki/ca/{inter['id']}/crl").content)
        out = openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text", "-CAfile", files["int"])
        assert "verify OK" in out.stderr + out.stdout and "Key Compromise" in out.stdout
        chain = write(tmp / "chain.pem", leaf["ca_chain"][0] + leaf["ca_chain"][1])
        r = openssl("ocsp", "-issuer", files["int"], "-cert", files["leaf"], "-url", srv.url + "/ocsp", "-CAfile", chain)
        assert "Response verify OK" in r.stdout + r.stderr and "revoked" in r.stdout

        # The intermediate's certificate record refers to its token key: export is refused.
        records = admin.ok("get", f"/v1/pki/certificates?ca_id={root['id']}")["data"]
        record = next(c for c in records if c["source"] == "ca")
        assert_error(admin.post(f"/v1/pki/certificates/{record['id']}/private-key"), 409, "PKCS#11")
        assert_error(admin.post("/v1/pki/ca", {"name": unique("e"), "common_name": "E", "ca_type": "root",
                                               "key_type": "ed25519", "key_store": "pkcs11"}), 400, "Ed25519")
        assert_error(admin.post("/v1/pki/ca", {"name": unique("e"), "common_name": "E", "ca_type": "root",
                                               "key_store": "vault"}), 400, "key_store")
    finally:
        srv.stop()

    # After a restart the keys are found on the token again and keep signing.
    srv = Server(tmp / "d", env=token_env).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        again = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "again.example.test"})
        openssl("verify", "-CAfile", files["root"], "-untrusted", files["int"], write(tmp / "again.pem", again["certificate"]))
    finally:
        srv.stop()


def test_pkcs11_without_a_token_is_a_clear_400(admin):
    assert_error(admin.post("/v1/pki/ca", {"name": unique("h"), "common_name": "H", "ca_type": "root", "key_type": "ec",
                                           "key_store": "pkcs11"}), 400, "PKCS#11")


def test_software_ca_keys_are_not_exported(admin):
    root = admin.ok("post", "/v1/pki/ca", 201, json={"name": unique("r"), "common_name": "R", "ca_type": "root", "key_type": "ec"})
    admin.ok("post", "/v1/pki/ca", 201, json={"name": unique("i"), "common_name": "I", "ca_type": "intermediate",
                                              "parent_ca_id": root["id"], "key_type": "ec"})
    record = admin.ok("get", f"/v1/pki/certificates?ca_id={root['id']}")["data"][0]
    assert_error(admin.post(f"/v1/pki/certificates/{record['id']}/private-key"), 403, "CA private keys")
