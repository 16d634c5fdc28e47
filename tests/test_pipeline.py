"""The one issuance pipeline: the pre-issuance lint refuses before anything is signed or recorded,
and every certificate, whichever front door made it, is in the one inventory."""
import subprocess

from conftest import BIN, BOOTSTRAP_TOKEN, PG_URL, Client, Server, assert_error, database_for, make_hierarchy, make_role


def audit_entries(data_dir):
    args = [str(BIN), "audit", "verify", "--data-dir", str(data_dir)]
    if PG_URL:
        args += ["--database-url", database_for(data_dir)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "intact" in out.stdout, out.stdout + out.stderr
    return int(out.stdout.split(":")[1].split()[0])


def test_the_lint_refuses_with_the_rule_and_records_nothing(tmp):
    data = tmp / "d"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        before = admin.ok("get", "/v1/pki/certificates")
        # A valid DNS name (every label under 64 characters) but a commonName over ub-common-name (64).
        long_name = "a" * 60 + ".example.test"
        r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": long_name})
        assert_error(r, 400, "name_attribute_upper_bounds", "RFC 5280")
        # The same name as a SAN only is fine: the lint judges the certificate, not the request.
        admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "ok.example.test",
                                                                     "alt_names": [long_name]})
        after = admin.ok("get", "/v1/pki/certificates")
        assert len(after["data"]) == len(before["data"]) + 1
    finally:
        srv.stop()
    # root, intermediate, role, the one issuance: the refusal left no audit entry.
    assert audit_entries(data) == 4
