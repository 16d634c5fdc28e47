"""pkilint on real outputs: nothing at ERROR or above for a root, an intermediate, a leaf and a CRL."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Client, make_hierarchy, make_role, openssl, write

BIN = Path(sys.executable).parent


def lint(tool, *args):
    """Runs a pkilint tool at severity ERROR: it must report nothing."""
    r = subprocess.run([str(BIN / tool), "lint", "-s", "ERROR", *args], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), f"{tool}: {r.stdout}{r.stderr}"


def test_lint_helper_catches_errors(tmp):
    """The helper itself fails on a certificate with a known ERROR finding."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "k.pem"), "-out", str(tmp / "bad.pem"), "-subj", "/CN=bad", "-days", "1",
            "-addext", "keyUsage=keyCertSign", "-addext", "basicConstraints=CA:FALSE")
    with pytest.raises(AssertionError):
        lint("lint_pkix_cert", str(tmp / "bad.pem"))


@pytest.mark.parametrize("key_type,bits", [("ec", 256), ("rsa", 2048), ("ed25519", None), ("ec", 384)])
def test_pkilint_root_intermediate_leaf_crl(admin, tmp, key_type, bits):
    root, inter = make_hierarchy(admin, key_type, bits)
    role = make_role(admin, inter["id"], key_type=key_type, key_bits=bits)
    leaf = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={
        "common_name": "lint.example.test", "alt_names": ["www.lint.example.test"], "ip_sans": ["192.0.2.1"]})
    revoked = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "gone.example.test"})
    admin.ok("post", "/v1/pki/revoke", json={"serial_number": revoked["serial_number"], "reason": "key_compromise"})
    for name, pem in (("root", leaf["ca_chain"][1]), ("int", leaf["ca_chain"][0]), ("leaf", leaf["certificate"])):
        path = write(tmp / f"{name}.pem", pem)
        lint("lint_pkix_cert", path)
        # Key identifiers are RFC 5280 method 1 (SHA-1 of the public key bits).
        info = subprocess.run([str(BIN / "lint_pkix_cert"), "lint", "-s", "INFO", path], capture_output=True, text=True)
        assert "subject_key_identifier_method_1_identified" in info.stdout, info.stdout
    crl = tmp / "crl.der"
    crl.write_bytes(Client(admin.url).get(f"/v1/pki/ca/{inter['id']}/crl").content)
    assert "Key Compromise" in openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(crl))
    root_crl = tmp / "root-crl.der"
    root_crl.write_bytes(Client(admin.url).get(f"/v1/pki/ca/{root['id']}/crl").content)
    lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(root_crl))
