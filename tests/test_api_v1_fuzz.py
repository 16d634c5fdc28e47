"""Property-based requests on every /api/v1 route, from that door's own OpenAPI document
(schemathesis): whatever the input, no 5xx, every answer matches the document's schema for its
status, and the server keeps running. Records are made first and path ids are held to 1..3, so
that generated requests reach them rather than stopping at 404."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import requests

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server


def with_small_ids(doc):
    for operations in doc["paths"].values():
        for op in operations.values():
            for p in op.get("parameters", []):
                if p["in"] == "path" and p["schema"].get("type") == "integer":
                    p["schema"].update({"minimum": 1, "maximum": 3})
    return doc


def test_no_server_errors_on_generated_v1_requests(tmp):
    tool = Path(sys.executable).parent / "schemathesis"
    assert tool.exists() or shutil.which("schemathesis"), "installed by scripts/test.sh from tests/requirements.txt"
    for server in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "100000"}):
        su = Client(server.url + "/api/v1", BOOTSTRAP_TOKEN)
        org = su.ok("post", "/organizations/", 201, json={"name": "Fuzz Org"})
        ca = su.ok("post", "/cas/", 201, json={"name": "Fuzz CA", "subject_dn": "CN=Fuzz CA", "key_size": 2048})
        su.ok("post", f"/certificates/?ca_id={ca['id']}", 201, json={
            "common_name": "fuzz.example", "subject_dn": "CN=fuzz.example", "certificate_type": "server"})
        su.ok("post", "/service-accounts/", 201, json={"name": "fuzz", "organization_id": org["id"]})
        schema = tmp / "api_v1.json"
        schema.write_text(json.dumps(with_small_ids(requests.get(server.url + "/api/v1/openapi.json").json())))
        r = subprocess.run([str(tool), "run", str(schema), "--url", server.url,
                            "-H", f"Authorization: Bearer {BOOTSTRAP_TOKEN}",
                            "--checks", "not_a_server_error,response_schema_conformance",
                            "--max-examples", "15", "--workers", "1", "--no-color", "--request-timeout", "120"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-20000:] + r.stderr[-2000:]
        assert server.proc.poll() is None, "the server is still running"
        assert su.ok("get", "/users/") is not None
