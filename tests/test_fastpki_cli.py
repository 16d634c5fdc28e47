"""FastPKI's own CLI (PyPI `fastpki`) drives /api/v1: login, organisation, `user create --org`, CA
and certificate creation, sign-csr, revoke, chain export and an error; each command's exit status
and output are checked, and what it made is checked with openssl."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import fresh_server, openssl

CLI = Path(sys.executable).parent / "fastpki"
PASSWORD = "cli-password-1"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    assert CLI.exists() or shutil.which("fastpki"), "installed by scripts/test.sh from tests/requirements.txt"
    config = tmp_path_factory.mktemp("fastpki-config")
    for srv in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "1000"}):
        r = requests.post(srv.url + "/api/v1/users/", json={"username": "su", "email": "su@example.com",
                                                            "password": PASSWORD, "role": "superuser"})
        assert r.status_code == 201, r.text

        def run(*args, ok=True):
            p = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60,
                               env={"XDG_CONFIG_HOME": str(config), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
            if ok:
                assert p.returncode == 0, f"fastpki {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}"
            return p

        run("auth", "login", "-u", "su", "-p", PASSWORD, "-s", srv.url)
        yield run


def as_json(p):
    return json.loads(p.stdout)


def test_login_and_status(cli):
    out = cli("auth", "status").stdout
    assert "su" in out and "superuser" in out


def test_organisation_and_user_create_with_org(cli):
    org = as_json(cli("org", "--output", "json", "create", "-n", "CLI Org", "-d", "made by the CLI"))
    assert org["name"] == "CLI Org" and org["description"] == "made by the CLI"
    user = as_json(cli("user", "--output", "json", "create", "-u", "alice", "-e", "alice@example.com",
                       "-p", PASSWORD, "--org", str(org["id"]), "--can-create-cert"))
    assert user["organization_id"] == org["id"] and user["can_create_cert"] is True
    # The table form shows the organisation too (the reference printed nothing there).
    table = cli("user", "create", "-u", "bob", "-e", "bob@example.com", "-p", PASSWORD, "--org", str(org["id"])).stdout
    assert any(line.split("│")[1:3] and "Organization" in line and str(org["id"]) in line for line in table.splitlines())
    listed = as_json(cli("org", "--output", "json", "list"))
    assert any(o["id"] == org["id"] for o in listed)


def test_ca_certificates_sign_csr_revoke_and_chain_export(cli, tmp):
    root = as_json(cli("ca", "--output", "json", "create", "-n", "CLI Root", "-s", "CN=CLI Root,O=CLI,C=US", "-k", "2048"))
    assert root["is_root"] is True and root["subject_dn"] == "CN=CLI Root,O=CLI,C=US"
    sub = as_json(cli("ca", "--output", "json", "create", "-n", "CLI Sub", "-s", "CN=CLI Sub", "-k", "2048",
                      "--parent", str(root["id"])))
    assert sub["parent_ca_id"] == root["id"]
    chain = as_json(cli("ca", "--output", "json", "chain", str(sub["id"])))
    assert [c["id"] for c in chain] == [sub["id"], root["id"]]

    cert = as_json(cli("cert", "--output", "json", "create", "--ca", str(sub["id"]), "--cn", "host.example",
                       "-s", "CN=host.example", "--san-dns", "host.example"))
    assert cert["status"] == "valid" and "PRIVATE KEY" in cert["private_key"]

    csr = tmp / "c.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(tmp / "k.pem"), "-subj", "/CN=csr.example", "-out", str(csr))
    signed = as_json(cli("cert", "--output", "json", "sign-csr", str(csr), "--ca", str(sub["id"])))
    assert signed["common_name"] == "csr.example" and signed["status"] == "valid"

    revoked = cli("cert", "revoke", str(signed["id"]), "--reason", "Key compromise", "-f")
    assert "Revoked" in revoked.stdout
    assert as_json(cli("cert", "--output", "json", "show", str(signed["id"])))["status"] == "revoked"
    again = cli("cert", "revoke", str(signed["id"]), "-f", ok=False)
    assert again.returncode == 1 and "409" in again.stdout + again.stderr

    out = tmp / "chain.pem"
    saved = cli("export", "cert-chain", str(cert["id"]), "-o", str(out))
    assert "Saved" in saved.stdout and out.read_text().count("BEGIN CERTIFICATE") == 3
    # The chain verifies against its root; the leaf's own file is the first block.
    pems = ["-----BEGIN CERTIFICATE-----" + p for p in out.read_text().split("-----BEGIN CERTIFICATE-----")[1:]]
    (tmp / "leaf.pem").write_text(pems[0])
    (tmp / "sub.pem").write_text(pems[1])
    (tmp / "root.pem").write_text(pems[2])
    openssl("verify", "-CAfile", str(tmp / "root.pem"), "-untrusted", str(tmp / "sub.pem"), str(tmp / "leaf.pem"))


def test_errors_exit_non_zero_with_the_detail(cli):
    p = cli("ca", "show", "9999", ok=False)
    assert p.returncode == 1 and "404" in p.stdout + p.stderr and "not found" in (p.stdout + p.stderr)
