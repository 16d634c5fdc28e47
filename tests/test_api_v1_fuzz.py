"""Property-based requests on every /api/v1 route (schemathesis, from a schema of the routes'
documented shapes written here, since /openapi.json covers the other front doors): whatever the
input, no 5xx, and the server keeps running."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
STRINGS = {"type": "array", "items": S}
CAPS = {c: B for c in ("can_create_ca", "can_create_cert", "can_revoke_cert", "can_export_private_key",
                       "can_delete_ca")}
TYPE = {"type": "string", "enum": ["server", "client", "ca", "dual_purpose", "printer"]}


def body(props, required=()):
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": props, "required": list(required)}}}}


def op(params=(), request=None):
    o = {"responses": {"default": {"description": "any"}},
         # Small ids, so that generated requests reach the records made before the run.
         "parameters": [{"name": n, "in": "path", "required": True, "schema": {**I, "minimum": 1, "maximum": 3}}
                        for n in params]}
    if request:
        o["requestBody"] = request
    return o


USER = body({"username": S, "email": S, "password": S, "role": S, "is_active": B, "organization_id": I, **CAPS},
            ["username", "email", "password"])
CA = body({"name": S, "subject_dn": S, "description": S, "key_size": {"type": "integer", "enum": [1024, 2048]},
           "valid_days": I, "parent_ca_id": I, "path_length": I, "allow_leaf_certs": B, "crl_base_url": S},
          ["name", "subject_dn"])
CERT = body({"common_name": S, "subject_dn": S, "certificate_type": TYPE, "key_size": I, "valid_days": I,
             "include_private_key": B, "san_dns_names": STRINGS, "san_ip_addresses": STRINGS,
             "san_email_addresses": STRINGS}, ["common_name", "subject_dn", "certificate_type"])
CSR = body({"csr": S, "certificate_type": TYPE, "ca_id": I, "ca_name": S, "valid_days": I, "common_name": S,
            "subject_dn": S, "san_dns_names": STRINGS}, ["csr", "certificate_type"])
ACCOUNT = body({"name": S, "description": S, "organization_id": I, "disabled": B, **CAPS})
POLICY = body({"cn_patterns": STRINGS, "san_dns_patterns": STRINGS, "san_ip_cidrs": STRINGS,
               "san_email_domains": STRINGS, "allowed_ca_ids": {"type": "array", "items": I},
               "allowed_certificate_types": STRINGS, "max_validity_days": I}, ["max_validity_days"])

PATHS = {
    "/api/v1/users/": {"post": op(request=USER), "get": op()},
    "/api/v1/users/{id}": {"get": op(["id"]), "patch": op(["id"], USER), "delete": op(["id"])},
    "/api/v1/organizations/": {"post": op(request=body({"name": S, "description": S}, ["name"])), "get": op()},
    "/api/v1/organizations/{id}": {"get": op(["id"]), "put": op(["id"], body({"name": S, "description": S})),
                                   "delete": op(["id"])},
    "/api/v1/organizations/{id}/users/{user_id}": {"post": op(["id", "user_id"]), "delete": op(["id", "user_id"])},
    "/api/v1/cas/": {"post": op(request=CA), "get": op()},
    "/api/v1/cas/{id}": {"get": op(["id"]), "delete": op(["id"])},
    "/api/v1/cas/{id}/chain": {"get": op(["id"])},
    "/api/v1/cas/{id}/private-key": {"get": op(["id"])},
    "/api/v1/certificates/": {"get": op(), "post": {**op(request=CERT), "parameters": [
        {"name": "ca_id", "in": "query", "required": True, "schema": {**I, "minimum": 1, "maximum": 3}}]}},
    "/api/v1/certificates/sign-csr": {"post": op(request=CSR)},
    "/api/v1/certificates/{id}": {"get": op(["id"])},
    "/api/v1/certificates/{id}/revoke": {"post": op(["id"], body({"reason": S}))},
    "/api/v1/certificates/{id}/renew": {"post": op(["id"], body({"csr": S}))},
    "/api/v1/export/certificate/{id}/chain": {"get": op(["id"])},
    "/api/v1/service-accounts/": {"post": op(request=ACCOUNT), "get": op()},
    "/api/v1/service-accounts/{id}": {"patch": op(["id"], ACCOUNT), "delete": op(["id"])},
    "/api/v1/service-accounts/{id}/tokens": {"post": op(["id"], body({"name": S, "expires_at": S}))},
    "/api/v1/service-accounts/{id}/policy": {"put": op(["id"], POLICY)},
    "/api/v1/audit-logs/": {"get": {**op(), "parameters": [
        {"name": n, "in": "query", "required": False, "schema": s} for n, s in
        (("action", S), ("user_id", I), ("resource_type", S), ("resource_id", I), ("since", S), ("until", S),
         ("skip", I), ("limit", I))]}},
}


def test_no_server_errors_on_generated_v1_requests(tmp):
    tool = Path(sys.executable).parent / "schemathesis"
    assert tool.exists() or shutil.which("schemathesis"), "installed by scripts/test.sh from tests/requirements.txt"
    schema = tmp / "api_v1.json"
    schema.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "api/v1", "version": "1"}, "paths": PATHS}))
    for server in fresh_server({"CERTUS_AUTH_RATE_LIMIT": "100000"}):
        su = Client(server.url + "/api/v1", BOOTSTRAP_TOKEN)
        org = su.ok("post", "/organizations/", 201, json={"name": "Fuzz Org"})
        su.ok("post", "/cas/", 201, json={"name": "Fuzz CA", "subject_dn": "CN=Fuzz CA", "key_size": 2048})
        su.ok("post", "/service-accounts/", 201, json={"name": "fuzz", "organization_id": org["id"]})
        r = subprocess.run([str(tool), "run", str(schema), "--url", server.url,
                            "-H", f"Authorization: Bearer {BOOTSTRAP_TOKEN}", "--checks", "not_a_server_error",
                            "--max-examples", "25", "--workers", "2", "--no-color"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
        assert server.proc.poll() is None, "the server is still running"
        assert su.ok("get", "/users/") is not None
