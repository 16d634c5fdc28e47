"""The server stays up under connection abuse (issue 16): idle and slowloris connections are
closed by their timeouts while other clients are served, a trickled body gets a 408, a cap on
connections holds, and running out of file descriptors is recovered from."""
import socket
import tempfile
import shutil
import time

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, Server

TIMEOUTS = {"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_HEADER_READ_TIMEOUT": "2",
            "CERTUS_REQUEST_TIMEOUT": "3"}


def server_with(env, prefix=()):
    d = tempfile.mkdtemp(prefix="certus-conn-")
    srv = Server(d, env=env, prefix=prefix).start()
    yield srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def srv():
    yield from server_with(TIMEOUTS)


def connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    return s


def seconds_until_closed(s):
    start = time.time()
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    return time.time() - start


def health_ok(srv):
    return requests.get(srv.url + "/v1/health", timeout=5).status_code == 200


def test_idle_and_keep_alive_connections_are_closed_by_the_header_timeout(srv):
    idle = connect(srv)
    assert 1.5 <= seconds_until_closed(idle) <= 6
    kept = connect(srv)
    kept.sendall(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert kept.recv(4096).startswith(b"HTTP/1.1 200")
    assert seconds_until_closed(kept) <= 6, "an idle keep-alive connection is not kept forever"


def test_slowloris_connections_are_cut_while_others_are_served(srv):
    slow = [connect(srv) for _ in range(50)]
    for s in slow:
        s.sendall(b"GET /v1/health HTTP/1.1\r\n")
    open_ = set(range(len(slow)))
    start = time.time()
    while time.time() - start < 8 and open_:
        assert health_ok(srv), "others are served meanwhile"
        for i in list(open_):
            try:
                slow[i].sendall(b"X-Trickle: 1\r\n")
            except OSError:
                open_.discard(i)
        time.sleep(0.5)
    assert not open_, f"{len(open_)} slowloris connections are still open"


def test_a_trickled_body_is_answered_408_in_json(srv):
    s = connect(srv)
    s.sendall(b"POST /v1/pki/roles HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + BOOTSTRAP_TOKEN.encode()
              + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    try:
        for _ in range(12):
            s.sendall(b" ")
            time.sleep(0.5)
    except OSError:
        pass
    answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/json" in answer and b'"error"' in answer


def test_the_connection_cap_queues_clients_instead_of_failing():
    for srv in server_with({**TIMEOUTS, "CERTUS_MAX_CONNECTIONS": "4"}):
        held = [connect(srv) for _ in range(4)]
        start = time.time()
        assert health_ok(srv), "the fifth client is served once a held connection times out"
        assert time.time() - start >= 1, "it waited for a slot"
        for s in held:
            s.close()


def test_running_out_of_file_descriptors_is_recovered_from():
    prefix = ["bash", "-c", 'ulimit -n 96 && exec "$@"', "certus"]
    for srv in server_with(TIMEOUTS, prefix=prefix):
        hogs = []
        for _ in range(200):  # far past the limit: the server's accepts fail with EMFILE
            try:
                hogs.append(connect(srv))
            except OSError:
                break
        time.sleep(1)
        start = time.time()
        while time.time() - start < 20:
            try:
                if health_ok(srv):
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("the server did not recover after the idle connections timed out")
        assert srv.proc.poll() is None, "still running"
        for s in hogs:
            s.close()
        assert health_ok(srv)
        srv.proc.terminate()
        _, err = srv.proc.communicate(timeout=30)
        assert "accept failed" in err, "the test did exhaust the descriptors: " + err[-2000:]


def test_issuing_routes_are_rate_limited_per_token_with_retry_after():
    from conftest import Client, make_hierarchy, make_role
    env = {"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_ISSUE_RATE_LIMIT": "5"}
    for srv in server_with(env):
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        codes = [admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "r.example.test"}).status_code
                 for _ in range(6)]
        if codes[-1] != 429:  # the minute rolled over mid-way: the next five fill the new window
            codes = [admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "r.example.test"}).status_code
                     for _ in range(6)]
        assert codes[:5] == [201] * 5 and codes[5] == 429, codes
        r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "r.example.test"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["error"]["code"] == "rate_limited"
        r = admin.post(f"/api/ca/v1/cas/{inter['id']}/certificates/sign", json={"csr": "x"})
        assert r.status_code == 429 and "err" in r.json(), "every door's issuing route, in its shape"
        assert admin.get("/v1/pki/roles").status_code == 200, "other routes are not limited"
