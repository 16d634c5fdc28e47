"""Integration tests: start the real `certus` binary on an ephemeral port and drive it over HTTP,
checking real outputs with the openssl CLI and pkilint."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("CERTUS_BIN", ROOT / "target" / "debug" / "certus"))
BOOTSTRAP_TOKEN = "certus-test-bootstrap-token-0123456789"
# Set by scripts/test.sh for the PostgreSQL pass: every data directory gets its own database.
PG_URL = os.environ.get("CERTUS_TEST_PG_URL")


def database_for(data_dir):
    """The PostgreSQL database URL standing for `data_dir` (created on first use), or None."""
    if not PG_URL:
        return None
    import hashlib
    name = "certus_" + hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    host = PG_URL.split("@", 1)[1]
    hostname, port = host.split(":")
    exists = subprocess.run(["psql", "-h", hostname, "-p", port, "-U", "postgres", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if not exists:
        subprocess.run(["psql", "-h", hostname, "-p", port, "-U", "postgres", "-qc", f"CREATE DATABASE {name}"],
                       check=True, capture_output=True)
    return f"{PG_URL}/{name}"


def psql(data_dir, query):
    """Runs a query against the data directory's PostgreSQL database."""
    url = database_for(data_dir)
    return subprocess.run(["psql", url, "-tAc", query], capture_output=True, text=True, check=True).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One certus process over a data directory; can be stopped and started again."""

    def __init__(self, data_dir, env=None, prefix=()):
        self.data_dir = Path(data_dir)
        self.prefix = list(prefix)  # e.g. a shell that lowers `ulimit -n` before exec
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "RUST_LOG": "warn", **(env or {})}
        if PG_URL:
            self.env["CERTUS_DATABASE_URL"] = database_for(self.data_dir)
        self.proc = None
        self.stdout = ""
        self.stderr = ""

    def start(self):
        self.proc = subprocess.Popen(
            [*self.prefix, str(BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"certus exited: {self.proc.stderr.read()}")
            try:
                if requests.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("certus did not become healthy")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                out, err = self.proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate()
            self.stdout += out or ""
            self.stderr += err or ""
        return self.proc.returncode


class Client:
    """A requests session bound to a server and a bearer token."""

    def __init__(self, url, token=None):
        self.url = url
        self.s = requests.Session()
        if token:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **kw):
        return self.s.get(self.url + path, timeout=60, **kw)

    def post(self, path, json=None, **kw):
        return self.s.post(self.url + path, json=json, timeout=60, **kw)

    def put(self, path, json=None, **kw):
        return self.s.put(self.url + path, json=json, timeout=60, **kw)

    def patch(self, path, json=None, **kw):
        return self.s.patch(self.url + path, json=json, timeout=60, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.url + path, timeout=60, **kw)

    def ok(self, method, path, status=200, **kw):
        r = getattr(self, method)(path, **kw)
        assert r.status_code == status, f"{method.upper()} {path}: {r.status_code} {r.text}"
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r


def assert_error(r, status, *words):
    """A 4xx in the native error shape whose message mentions each word."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    for w in words:
        assert w.lower() in body["error"]["message"].lower(), (w, body)
    return body["error"]


def fresh_server(env=None):
    """A server on a new data directory with the well-known bootstrap token; removed afterwards."""
    d = tempfile.mkdtemp(prefix="certus-test-")
    srv = Server(d, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, **(env or {})}).start()
    yield srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    yield from fresh_server()


@pytest.fixture(scope="module")
def admin(server):
    return Client(server.url, BOOTSTRAP_TOKEN)


@pytest.fixture()
def tmp(tmp_path):
    return tmp_path


_counter = [0]


def unique(prefix):
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}"


def make_hierarchy(client, key_type="ec", key_size=256):
    """Root → intermediate; returns (root, intermediate) CA objects."""
    root = client.ok("post", "/v1/pki/ca", 201, json={
        "name": unique("root"), "common_name": "Test Root CA", "ca_type": "root",
        "key_type": key_type, "key_size": key_size})
    inter = client.ok("post", "/v1/pki/ca", 201, json={
        "name": unique("int"), "common_name": "Test Issuing CA", "ca_type": "intermediate",
        "parent_ca_id": root["id"], "key_type": key_type, "key_size": key_size})
    return root, inter


def make_role(client, ca_id, **fields):
    body = {"name": unique("role"), "ca_id": ca_id, "allowed_domains": ["example.test"],
            "allow_subdomains": True, "allow_ip_sans": True, "max_ttl": "720h"}
    body.update(fields)
    return client.ok("post", "/v1/pki/roles", 201, json=body)


def openssl(*args, input=None, check=True):
    r = subprocess.run(["openssl", *args], input=input, capture_output=True, text=isinstance(input, str) or input is None)
    if check:
        assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"
    return r


def write(path, text):
    Path(path).write_text(text)
    return str(path)


def make_csr(tmp, cn=None, sans=(), key="ec"):
    """A CSR made by the openssl CLI; returns (csr_pem, key_pem)."""
    keyf, csrf = tmp / f"k{_next()}.pem", tmp / f"c{_next()}.pem"
    if key in ("ec", "ec384"):
        curve = "P-384" if key == "ec384" else "P-256"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", str(keyf))
    elif key == "ed25519":
        openssl("genpkey", "-algorithm", "ED25519", "-out", str(keyf))
    else:
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{key}", "-out", str(keyf))
    args = ["req", "-new", "-key", str(keyf), "-out", str(csrf), "-subj", f"/CN={cn}" if cn else "/"]
    if sans:
        args += ["-addext", "subjectAltName=" + ",".join(sans)]
    openssl(*args)
    return csrf.read_text(), keyf.read_text()


def _next():
    _counter[0] += 1
    return _counter[0]
