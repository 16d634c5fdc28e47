"""Bootstrap, restart persistence, clean shutdown, and keys encrypted at rest."""
import os
import shutil
import signal
import stat
import threading

from conftest import PG_URL, Client, Server, assert_error, make_hierarchy, make_role, psql, unique


def test_bootstrap_once_and_restart_keeps_everything(tmp):
    data = tmp / "data"
    srv = Server(data).start()
    try:
        token = (data / "admin-token").read_text().strip()
        assert token.startswith("certus_")
        assert stat.S_IMODE(os.stat(data / "admin-token").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(data / "kek").st_mode) == 0o600
        admin = Client(srv.url, token)
        root, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec", store_private_keys=True)
        cert = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "keep.example.test"})
    finally:
        assert srv.stop() == 0, "SIGTERM must shut down cleanly"
    assert "shown once" in srv.stdout

    # Keys are sealed: no private key material in the database.
    if PG_URL:
        assert psql(data, "SELECT count(*) FROM keys").strip() != "0"
        leaked = psql(data, "SELECT count(*) FROM keys WHERE position('PRIVATE KEY'::bytea in sealed) > 0")
        assert leaked.strip() == "0"
    else:
        raw = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("certus.db"))
        assert b"PRIVATE KEY" not in raw and cert["private_key"].encode()[40:80] not in raw

    again = Server(data).start()
    try:
        admin = Client(again.url, token)
        assert admin.ok("get", f"/v1/pki/ca/{root['id']}")["name"] == root["name"]
        assert admin.ok("get", f"/v1/pki/roles/{role['name']}")["ca_id"] == inter["id"]
        assert admin.ok("get", f"/v1/pki/certificates/{cert['certificate_id']}")["common_name"] == "keep.example.test"
        # The CA key still opens under the KEK: it can sign after a restart.
        admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "after.example.test"})
        assert admin.ok("post", f"/v1/pki/certificates/{cert['certificate_id']}/private-key")["private_key"] == cert["private_key"]
    finally:
        again.stop()
    assert "Superuser API token" not in again.stdout, "bootstrap happens once per database"


def test_wrong_kek_cannot_open_keys(tmp):
    data = tmp / "data"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": "a-chosen-bootstrap-token-123"}).start()
    admin = Client(srv.url, "a-chosen-bootstrap-token-123")
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    srv.stop()
    other = tmp / "other-kek"
    other.write_text("11" * 32)
    srv = Server(data, env={"CERTUS_KEK_FILE": str(other)}).start()
    try:
        admin = Client(srv.url, "a-chosen-bootstrap-token-123")
        r = admin.post(f"/v1/pki/issue/{role['name']}", {"common_name": "x.example.test"})
        assert r.status_code == 500 and r.json()["error"]["message"] == "internal error"
        assert admin.ok("get", "/v1/health")["status"] == "ok"
    finally:
        srv.stop()


def test_acknowledged_writes_survive_sigterm(tmp):
    data = tmp / "data"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": "another-bootstrap-token-xyz"}).start()
    admin = Client(srv.url, "another-bootstrap-token-xyz")
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    acked, stop = [], threading.Event()

    def worker():
        c = Client(srv.url, "another-bootstrap-token-xyz")
        while not stop.is_set():
            try:
                r = c.post(f"/v1/pki/issue/{role['name']}", {"common_name": "load.example.test"})
            except Exception:
                return
            if r.status_code == 201:
                acked.append(r.json()["certificate_id"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    import time
    deadline = time.time() + 60
    while len(acked) < 20 and time.time() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 20
    assert srv.stop(signal.SIGTERM) == 0
    stop.set()
    for t in threads:
        t.join()
    srv = Server(data).start()
    try:
        admin = Client(srv.url, "another-bootstrap-token-xyz")
        for cert_id in acked:
            admin.ok("get", f"/v1/pki/certificates/{cert_id}")
    finally:
        srv.stop()


def test_short_bootstrap_token_is_refused(tmp):
    import subprocess
    from conftest import BIN
    r = subprocess.run([str(BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp / "d")],
                       env=dict(os.environ, CERTUS_BOOTSTRAP_TOKEN="short"), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "16 characters" in r.stderr


def test_https_with_tls_flags(tmp):
    """--tls-cert/--tls-key serve HTTPS (checked with curl); issued certificates point at the
    https public URL."""
    import json
    import subprocess
    import time
    from conftest import BIN, free_port, openssl
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(tmp / "tls.key"), "-out", str(tmp / "tls.pem"), "-subj", "/CN=localhost", "-days", "2",
            "-addext", "subjectAltName=IP:127.0.0.1")
    port = free_port()
    token = "tls-bootstrap-token-0123456"
    proc = subprocess.Popen([str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp / "d"),
                             "--tls-cert", str(tmp / "tls.pem"), "--tls-key", str(tmp / "tls.key")],
                            env=dict(os.environ, CERTUS_BOOTSTRAP_TOKEN=token),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}"

    def curl(method, path, body=None):
        cmd = ["curl", "-sS", "--fail-with-body", "--cacert", str(tmp / "tls.pem"), "-X", method, url + path,
               "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
        if body is not None:
            cmd += ["-d", json.dumps(body)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + r.stdout
        return json.loads(r.stdout)

    try:
        for _ in range(400):
            if subprocess.run(["curl", "-s", "--cacert", str(tmp / "tls.pem"), url + "/v1/health"]).returncode == 0:
                break
            time.sleep(0.05)
        root = curl("POST", "/v1/pki/ca", {"name": "r", "common_name": "R", "ca_type": "root", "key_type": "ec"})
        role = curl("POST", "/v1/pki/roles", {"name": "w", "ca_id": root["id"], "allowed_domains": ["example.test"],
                                              "allow_subdomains": True})
        leaf = curl("POST", f"/v1/pki/issue/{role['name']}", {"common_name": "tls.example.test"})
        text = openssl("x509", "-noout", "-text", input=leaf["certificate"]).stdout
        assert f"URI:{url}/v1/pki/ca/{root['id']}/crl" in text
        plain = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/v1/health"], capture_output=True)
        assert plain.returncode != 0 or not plain.stdout.startswith(b'{"status"'), "plain HTTP must not be served"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
