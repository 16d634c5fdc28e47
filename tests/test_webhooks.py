"""Webhooks: signed deliveries of issued, revoked, expiring and CRL events to a receiver that
checks the HMAC; retries when the receiver fails; a delivery pending when the server was killed
arrives after the restart; refusals of bad endpoints; tenant isolation."""
import hashlib
import hmac
import json
import shutil
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Client, Server, assert_error, free_port, make_hierarchy, make_role, unique

SECRET = "whsec-test-secret-0123456789"


class Receiver:
    """Records signed deliveries; answers 500 to the first `fail_first` of them."""

    def __init__(self, port=None, fail_first=0):
        self.events, self.rejected, self.lock = [], [], threading.Lock()
        self.fail_left = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                sig = dict(part.split("=", 1) for part in self.headers["Certus-Signature"].split(","))
                expected = hmac.new(SECRET.encode(), f"{sig['t']}.{body}".encode(), hashlib.sha256).hexdigest()
                with receiver.lock:
                    if receiver.fail_left > 0:
                        receiver.fail_left -= 1
                        status = 500
                    elif hmac.compare_digest(expected, sig["v1"]) and abs(time.time() - int(sig["t"])) < 300:
                        receiver.events.append((self.headers["Certus-Delivery"], self.headers["Certus-Event"],
                                                json.loads(body)))
                        status = 200
                    else:
                        receiver.rejected.append(body)
                        status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = port or free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, predicate, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [e for e in self.events if predicate(e)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no matching delivery; got {[e[1] for e in self.events]}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def srv():
    data = tempfile.mkdtemp(prefix="certus-hooks-")
    server = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_EXPIRY_SCAN_INTERVAL": "1"}).start()
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


def test_signed_events_reach_the_receiver(srv):
    receiver = Receiver()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        events = ["certificate.issued", "certificate.revoked", "certificate.expiring", "ca.expiring", "crl.published"]
        hook = admin.ok("post", "/v1/pki/webhooks", 201, json={"url": receiver.url, "events": events,
                                                                "secret": SECRET})
        assert "secret" not in hook and hook["events"] == events
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec", max_ttl="480h")
        # A 20-day certificate crosses the 30-day threshold at once: one expiring notice.
        cert = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "h.example.test",
                                                                             "ttl": "480h"})
        issued = receiver.wait_for(lambda e: e[1] == "certificate.issued"
                                   and e[2]["data"]["certificate_id"] == cert["certificate_id"])[0]
        assert issued[2]["type"] == "certificate.issued" and issued[0].startswith(issued[2]["id"])
        expiring = receiver.wait_for(lambda e: e[1] == "certificate.expiring"
                                     and e[2]["data"]["id"] == cert["certificate_id"])
        assert expiring[0][2]["data"]["threshold_days"] == 30
        admin.ok("post", "/v1/pki/revoke", json={"serial_number": cert["serial_number"], "reason": "superseded"})
        revoked = receiver.wait_for(lambda e: e[1] == "certificate.revoked"
                                    and e[2]["data"]["certificate_id"] == cert["certificate_id"])[0]
        assert revoked[2]["data"]["reason"] == "superseded"
        admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")
        receiver.wait_for(lambda e: e[1] == "crl.published" and e[2]["data"]["ca_id"] == inter["id"])
        # Several scans later there is still one notice for that certificate and threshold.
        time.sleep(2.5)
        with receiver.lock:
            notices = [e for e in receiver.events if e[1] == "certificate.expiring"
                       and e[2]["data"]["id"] == cert["certificate_id"]]
            ids = [e[0] for e in receiver.events]
        assert len(notices) == 1 and len(ids) == len(set(ids)) and not receiver.rejected
        # The API shows what was delivered; a test delivery arrives too.
        test = admin.ok("post", f"/v1/pki/webhooks/{hook['id']}/test", 202)
        receiver.wait_for(lambda e: e[0] == test["delivery_id"] and e[1] == "webhook.test")
        deliveries = admin.ok("get", f"/v1/pki/webhooks/{hook['id']}/deliveries")
        assert deliveries and all(d["status"] == "delivered" for d in deliveries)
    finally:
        receiver.close()


def test_a_failing_receiver_is_retried(srv):
    receiver = Receiver(fail_first=2)
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        hook = admin.ok("post", "/v1/pki/webhooks", 201, json={"url": receiver.url, "events": ["certificate.issued"],
                                                                "secret": SECRET})
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        cert = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "r.example.test"})
        receiver.wait_for(lambda e: e[2]["data"].get("certificate_id") == cert["certificate_id"], timeout=30)
        # Two CA certificates and the leaf were announced; all arrived, after two refused attempts.
        receiver.wait_for(lambda e: len(receiver.events) >= 3)
        deliveries = admin.ok("get", f"/v1/pki/webhooks/{hook['id']}/deliveries")
        assert len(deliveries) == 3 and all(d["status"] == "delivered" for d in deliveries)
        assert sum(d["attempts"] for d in deliveries) == 3 + 2
        assert any(d["last_error"] is None and d["attempts"] > 1 for d in deliveries)
    finally:
        receiver.close()


def test_a_pending_delivery_survives_kill_and_restart(tmp_path):
    data = tempfile.mkdtemp(prefix="certus-hooks-")
    port = free_port()  # nothing listens here yet
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    receiver = None
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        admin.ok("post", "/v1/pki/webhooks", 201, json={"url": f"http://127.0.0.1:{port}/hook",
                                                        "events": ["certificate.issued"], "secret": SECRET})
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        cert = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "k.example.test"})
        time.sleep(1)
        srv.stop(signal.SIGKILL)
        receiver = Receiver(port=port)
        srv.start()
        receiver.wait_for(lambda e: e[2]["data"].get("certificate_id") == cert["certificate_id"], timeout=40)
    finally:
        srv.stop()
        if receiver:
            receiver.close()
        shutil.rmtree(data, ignore_errors=True)


def test_bad_endpoints_are_refused_and_tenants_see_only_theirs(srv):
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    for body, word in [({"url": "ftp://example.com/x", "events": ["certificate.issued"]}, "url"),
                       ({"url": "file:///etc/passwd", "events": ["certificate.issued"]}, "url"),
                       ({"url": "https://example.com/x", "events": []}, "events"),
                       ({"url": "https://example.com/x", "events": ["certificate.eaten"]}, "event"),
                       ({"url": "https://example.com/x", "events": ["ca.expiring"], "secret": "short"}, "secret")]:
        assert_error(admin.post("/v1/pki/webhooks", body), 400, word)
    assert admin.post("/v1/pki/webhooks", {"url": 5, "events": "x"}).status_code == 400
    made = admin.ok("post", "/v1/pki/webhooks", 201, json={"url": "https://hooks.example.com/c",
                                                           "events": ["ca.expiring"]})
    assert len(made["secret"]) >= 32, "a secret Certus made is shown once"
    assert "secret" not in admin.ok("get", f"/v1/pki/webhooks/{made['id']}")
    tenant = admin.ok("post", "/v1/admin/tenants", 201, json={"name": unique("t")})
    token = admin.ok("post", "/v1/admin/tokens", 201, json={"tenant_id": tenant["id"], "name": "w",
                                                            "scopes": ["pki:admin"]})
    other = Client(srv.url, token["token"])
    assert other.ok("get", "/v1/pki/webhooks") == []
    assert other.get(f"/v1/pki/webhooks/{made['id']}").status_code == 404
    assert other.delete(f"/v1/pki/webhooks/{made['id']}").status_code == 404
    assert other.post(f"/v1/pki/webhooks/{made['id']}/test").status_code == 404
    admin.ok("delete", f"/v1/pki/webhooks/{made['id']}", 204)
    assert admin.get(f"/v1/pki/webhooks/{made['id']}").status_code == 404


def test_webhook_secrets_follow_a_kek_rotation(tmp_path):
    from test_maintenance import certus
    data = tmp_path / "rot"
    receiver = Receiver()
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        hook = admin.ok("post", "/v1/pki/webhooks", 201, json={"url": receiver.url, "events": ["ca.expiring"],
                                                                "secret": SECRET})
        srv.stop()
        out = certus("kek", "rotate", data_dir=data)
        assert out.returncode == 0 and "rotated" in out.stdout, out.stdout + out.stderr
        srv.start()
        test = admin.ok("post", f"/v1/pki/webhooks/{hook['id']}/test", 202)
        receiver.wait_for(lambda e: e[0] == test["delivery_id"])
    finally:
        srv.stop()
        receiver.close()
