"""Property-based requests generated from the OpenAPI documents (schemathesis): whatever the
input, the server answers with no 5xx, every answer matches the document's schema for its status,
and the server keeps running. /api/v1's document runs in test_api_v1_fuzz.py, over records made
first. The OCSP POST body is binary, which the tool cannot generate; OCSP has its own
malformed-input tests."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server


@pytest.mark.parametrize("document", ["/openapi.json", "/openapi/mdl.json"])
def test_no_server_errors_on_generated_requests(document):
    """The native document (which holds /api/ca/v1 too) and the mDL door's."""
    tool = Path(sys.executable).parent / "schemathesis"
    assert tool.exists() or shutil.which("schemathesis"), "installed by scripts/test.sh from tests/requirements.txt"
    for server in fresh_server():
        r = subprocess.run([str(tool), "run", f"{server.url}{document}",
                            "-H", f"Authorization: Bearer {BOOTSTRAP_TOKEN}", "--checks", "not_a_server_error,response_schema_conformance",
                            "--max-examples", "15",
                            # One worker: with two threads, hypothesis' lambda-source reader trips on
                            # Python's AST recursion counter ("AST constructor recursion depth
                            # mismatch"), a Runtime Error of the tool, not of the server.
                            "--workers", "1", "--exclude-path", "/ocsp", "--no-color",
                            # A debug build making RSA-4096 keys on a loaded CI machine is slow, not broken.
                            "--request-timeout", "120"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-20000:] + r.stderr[-2000:]
        assert Client(server.url, BOOTSTRAP_TOKEN).ok("get", "/v1/auth/whoami")["superuser"]
        assert server.proc.poll() is None, "the server is still running"


def test_the_lamassu_door_has_its_own_document():
    """/api/ca/v1/openapi.json: that door's operations only, cut from the generated whole (which
    the schemathesis run above covers), and offered by /docs beside the native document."""
    for server in fresh_server():
        doc = requests.get(server.url + "/api/ca/v1/openapi.json").json()
        assert doc["openapi"].startswith("3.") and "Lamassu" in doc["info"]["title"]
        paths = set(doc["paths"])
        assert {"/api/ca/v1/cas", "/api/ca/v1/certificates", "/api/ca/v1/profiles"} <= paths
        assert all(p.startswith("/api/ca/v1") for p in paths)
        native = requests.get(server.url + "/openapi.json").json()
        assert paths <= set(native["paths"]) and doc["paths"]["/api/ca/v1/cas"] == native["paths"]["/api/ca/v1/cas"]
        init = requests.get(server.url + "/docs/swagger-initializer.js").text
        assert "/api/ca/v1/openapi.json" in init and "/openapi.json" in init
        schemas = doc["components"]["schemas"]
        ca = schemas["CACertificate"]["properties"]
        assert {"id", "certificate", "profile_id", "type", "level", "metadata"} <= set(ca)
        assert ca["certificate"]["$ref"] == "#/components/schemas/Certificate"
        assert schemas["Certificate"]["properties"]["revocation_reason"]["type"] == "string", "never null"
        sign = doc["paths"]["/api/ca/v1/cas/{id}/certificates/sign"]["post"]
        assert sign["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SignRequest")
        assert set(sign["responses"]) >= {"201", "400", "401", "404"}
        err = sign["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schemas[err]["required"] == ["err"], "Lamassu's error shape"
        assert "Role" not in schemas, "only the schemas this door's operations use"


def test_the_mdl_door_has_its_own_document():
    for server in fresh_server():
        doc = requests.get(server.url + "/openapi/mdl.json").json()
        assert doc["openapi"].startswith("3.") and "mDL" in doc["info"]["title"]
        paths = doc["paths"]
        assert "/v1/{target}/x509-service-api/iso/iacas" in paths and "/v1/{target}/vical-service-api/latest" in paths
        assert set(paths["/v1/{target}/x509-store-api/certificates"]) == {"get", "post", "put", "delete"}
        assert "security" not in paths["/v1/{target}/vical-service-api/latest"]["get"], "the VICAL is public"
        assert "/openapi/mdl.json" in requests.get(server.url + "/docs/swagger-initializer.js").text
        schemas = doc["components"]["schemas"]
        iaca = paths["/v1/{target}/x509-service-api/iso/iacas"]["post"]
        assert iaca["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/IacaBody")
        assert {"country", "commonName", "issuerAlternativeNameConf", "crlDistributionPointUri"} <= \
            set(schemas["IacaCertData"]["properties"])
        assert {"certificatePEM", "certificateData"} <= set(schemas["Issued"]["properties"])
        assert "application/cose" in paths["/v1/{target}/vical-service-api/latest"]["get"]["responses"]["200"]["content"]


def test_the_api_v1_door_has_its_own_document():
    for server in fresh_server():
        doc = requests.get(server.url + "/api/v1/openapi.json").json()
        assert doc["openapi"].startswith("3.") and "FastPKI" in doc["info"]["title"]
        paths = doc["paths"]
        assert {"/api/v1/cas/", "/api/v1/certificates/sign-csr", "/api/v1/auth/token", "/crl/{slug}"} <= set(paths)
        assert set(paths["/api/v1/cas/{id}"]) == {"get", "delete", "patch"}
        assert "security" not in paths["/api/v1/auth/token"]["post"]
        assert "/api/v1/openapi.json" in requests.get(server.url + "/docs/swagger-initializer.js").text
        schemas = doc["components"]["schemas"]
        create = paths["/api/v1/cas/"]["post"]
        assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CACreate")
        assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/CADetailResponse")
        assert {"id", "subject_dn", "valid_days", "organization_id", "is_root"} <= set(schemas["CAResponse"]["properties"])
        assert schemas["HTTPError"]["required"] == ["detail"], "FastAPI's error shape"
        login = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]
        assert "application/x-www-form-urlencoded" in login
        assert {"access_token", "refresh_token", "token_type"} <= set(schemas["Token"]["properties"])
