"""Prometheus /metrics: the exposition passes `promtool check metrics`, its counters move with
issuance (issued, policy-refused, lint-refused by rule), requests and OCSP, the inventory gauges
show expiring certificates and CA lifetimes, and a metrics token closes it."""
import re
import subprocess
import time

import requests

from conftest import BOOTSTRAP_TOKEN, Client, fresh_server, make_hierarchy, make_role, openssl, write


def scrape(url, token=None):
    r = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run(["promtool", "check", "metrics"], input=r.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return r.text


def value(text, name, **labels):
    """The sample of `name` whose labels include `labels` (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_move_with_issuance_requests_and_ocsp(tmp):
    for srv in fresh_server():
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        before = scrape(srv.url)
        issued = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "m.example.test"})
        assert admin.post(f"/v1/pki/issue/{role['name']}", {"common_name": "m.elsewhere.org"}).status_code == 400
        long_name = "a" * 60 + ".example.test"
        assert admin.post(f"/v1/pki/issue/{role['name']}", {"common_name": long_name}).status_code == 400
        ocsp = openssl("ocsp", "-issuer", write(tmp / "int.pem", issued["ca_chain"][0]),
                       "-cert", write(tmp / "leaf.pem", issued["certificate"]), "-url", srv.url + "/ocsp",
                       "-no_nonce", "-noverify")
        assert "good" in ocsp.stdout
        time.sleep(2.1)  # the inventory gauges are re-read at most every 2 s
        after = scrape(srv.url)

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("certus_issuance_total", door="native", ca=inter["id"], outcome="issued") == 1
        assert moved("certus_issuance_total", door="native", outcome="policy_refused") == 1
        assert moved("certus_issuance_total", door="native", ca=inter["id"], outcome="lint_refused") == 1
        assert moved("certus_lint_refusals_total", rule="name_attribute_upper_bounds") == 1
        assert moved("certus_http_requests_total", route="/v1/pki/issue/{role}", status="201") == 1
        assert moved("certus_http_requests_total", route="/v1/pki/issue/{role}", status="400") == 2
        assert moved("certus_http_request_duration_seconds_count", route="/v1/pki/issue/{role}") == 3
        assert moved("certus_ocsp_responses_total", status="successful") >= 1
        assert value(after, "certus_group_commit_batch_size_count") >= 3
        # Inventory gauges: the leaf (30 days by default) expires within 30 days, not 7.
        assert value(after, "certus_certificates_expiring", ca=inter["id"], within="30d") >= 1
        assert value(after, "certus_certificates_expiring", ca=inter["id"], within="7d") == 0
        assert value(after, "certus_ca_expiry_seconds", ca=inter["id"]) > 86400
        # No serials or names as labels.
        assert issued["serial_number"].replace(":", "").lower() not in after.lower()
        assert "m.example.test" not in after


def test_metrics_token_closes_the_endpoint():
    for srv in fresh_server(env={"CERTUS_METRICS_TOKEN": "metrics-secret-0123456789"}):
        assert requests.get(srv.url + "/metrics", timeout=30).status_code == 401
        wrong = requests.get(srv.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
        assert wrong.status_code == 401
        # A tenant's API token is not the metrics token.
        assert requests.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {BOOTSTRAP_TOKEN}"},
                            timeout=30).status_code == 401
        assert "certus_http_requests_total" in scrape(srv.url, "metrics-secret-0123456789")


def test_json_logs_carry_the_request_id(tmp):
    import json
    from conftest import Server
    srv = Server(tmp / "logs", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_LOG_FORMAT": "json",
                                    "RUST_LOG": "info,certus_api::request_id=debug"}).start()
    try:
        r = requests.get(srv.url + "/v1/pki/ca", headers={"X-Request-Id": "trace-4242"}, timeout=30)
        assert r.status_code == 401 and r.headers["X-Request-Id"] == "trace-4242"
        # An unusable id is replaced, not echoed.
        r = requests.get(srv.url + "/v1/health", headers={"X-Request-Id": "bad id\\x7f"}, timeout=30)
        generated = r.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{16}", generated)
    finally:
        srv.stop()
    lines = [json.loads(line) for line in srv.stderr.splitlines() if line.startswith("{")]
    assert lines and len(lines) == len([line for line in srv.stderr.splitlines() if line.strip()])
    done = [x for x in lines if x.get("span", {}).get("request_id") == "trace-4242"]
    assert done and done[-1]["fields"]["status"] == 401 and done[-1]["span"]["path"] == "/v1/pki/ca"
    assert any(x.get("span", {}).get("request_id") == generated for x in lines)
