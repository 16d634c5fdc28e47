"""Property-based requests generated from /openapi.json (schemathesis): whatever the input,
the server answers with no 5xx and keeps running. The OCSP POST body is binary, which the tool
cannot generate; OCSP has its own malformed-input tests."""
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server


def test_no_server_errors_on_generated_requests():
    tool = Path(sys.executable).parent / "schemathesis"
    assert tool.exists() or shutil.which("schemathesis"), "installed by scripts/test.sh from tests/requirements.txt"
    for server in fresh_server():
        r = subprocess.run([str(tool), "run", f"{server.url}/openapi.json",
                            "-H", f"Authorization: Bearer {BOOTSTRAP_TOKEN}", "--checks", "not_a_server_error",
                            "--max-examples", "15", "--workers", "2", "--exclude-path", "/ocsp", "--no-color"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
        assert Client(server.url, BOOTSTRAP_TOKEN).ok("get", "/v1/auth/whoami")["superuser"]
        assert server.proc.poll() is None, "the server is still running"
