"""Three Certus nodes sharing one PostgreSQL: concurrent issuance and revocation through all of
them. Runs in the PostgreSQL pass of scripts/test.sh (CERTUS_TEST_PG_URL)."""
import json
import re
import subprocess
import threading

import pytest
import requests

from conftest import BOOTSTRAP_TOKEN, PG_URL, Client, Server, database_for, openssl

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL pass (CERTUS_TEST_PG_URL)")


def serials_in(crl_der, tmp, name):
    f = tmp / name
    f.write_bytes(crl_der)
    text = openssl("crl", "-inform", "DER", "-in", str(f), "-noout", "-text").stdout
    number = int(re.search(r"X509v3 CRL Number: *\n? *(\d+)", text)[1])
    return number, {s.replace(":", "").upper() for s in re.findall(r"Serial Number: ([0-9A-Fa-f:]+)", text)}


def test_three_nodes_one_database(tmp):
    kek = tmp / "kek"
    kek.write_text("ab" * 32)
    shared = tmp / "shared"  # one database for all three: keyed by this directory
    url = database_for(shared)
    nodes = []
    for i in range(3):
        srv = Server(tmp / f"node{i}", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_KEK_FILE": str(kek)})
        srv.env["CERTUS_DATABASE_URL"] = url
        nodes.append(srv)
    # Start them together: exactly one bootstraps.
    threads = [threading.Thread(target=n.start) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        clients = [Client(n.url, BOOTSTRAP_TOKEN) for n in nodes]
        tenants = subprocess.run(["psql", url, "-tAc", "SELECT count(*) FROM tenants"], capture_output=True, text=True)
        assert tenants.stdout.strip() == "1"
        # A CA made on one node signs on every node (shared KEK, shared database).
        root = clients[0].ok("post", "/v1/pki/ca", 201, json={"name": "r", "common_name": "Cluster Root", "ca_type": "root", "key_type": "ec"})
        inter = clients[1].ok("post", "/v1/pki/ca", 201, json={"name": "i", "common_name": "Cluster CA", "ca_type": "intermediate",
                                                               "parent_ca_id": root["id"], "key_type": "ec"})
        clients[2].ok("post", "/v1/pki/roles", 201, json={"name": "w", "ca_id": inter["id"], "allowed_domains": ["example.test"],
                                                          "allow_subdomains": True, "key_type": "ec"})
        issued, revoked, crls, lock = [], [], [], threading.Lock()

        def worker(n):
            c = Client(nodes[n % 3].url, BOOTSTRAP_TOKEN)
            for i in range(30):
                cert = c.ok("post", "/v1/pki/issue/w", 201, json={"common_name": f"n{n}-{i}.example.test"})
                with lock:
                    issued.append(cert)
                if i % 3 == 0:
                    # Revoke through another node than the one that issued.
                    other = Client(nodes[(n + 1) % 3].url, BOOTSTRAP_TOKEN)
                    other.ok("post", "/v1/pki/revoke", json={"serial_number": cert["serial_number"], "reason": "superseded"})
                    with lock:
                        revoked.append(cert["serial_number"].replace(":", "").upper())
                if i % 5 == 0:
                    with lock:
                        before = set(revoked)
                    crl = Client(nodes[(n + 2) % 3].url).get(f"/v1/pki/ca/{inter['id']}/crl").content
                    with lock:
                        crls.append((before, crl))

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

        serials = [c["serial_number"] for c in issued]
        assert len(serials) == 180 and len(set(serials)) == 180, "no duplicate serial"
        listed, cursor = [], None
        while True:
            page = clients[0].ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&include_revoked=true&limit=50"
                                 + (f"&cursor={cursor}" if cursor else ""))
            listed += [c["id"] for c in page["data"]]
            if not page["has_more"]:
                break
            cursor = page["cursor"]
        assert sorted(listed) == sorted(c["certificate_id"] for c in issued), "every certificate listed exactly once"

        # Each CRL contains every revocation acknowledged before it was fetched, and the final one
        # carries the highest number of all.
        numbers = []
        for i, (before, der) in enumerate(crls):
            number, listed_serials = serials_in(der, tmp, f"crl{i}.der")
            assert before <= listed_serials, f"CRL {number} misses {before - listed_serials}"
            numbers.append(number)
        final_number, final = serials_in(Client(nodes[0].url).get(f"/v1/pki/ca/{inter['id']}/crl").content, tmp, "final.der")
        assert set(revoked) <= final and final_number >= max(numbers)
        # Forced rebuilds on all nodes at once never reuse a number.
        forced, flock = [], threading.Lock()

        def force(c):
            n = c.ok("post", f"/v1/pki/ca/{inter['id']}/crl")["crl_number"]
            with flock:
                forced.append(n)

        ts = [threading.Thread(target=force, args=(clients[i % 3],)) for i in range(9)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(set(forced)) == 9 and min(forced) > final_number - 1
        # Three nodes appended to one audit chain concurrently; it is intact.
        from conftest import BIN
        check = subprocess.run([str(BIN), "audit", "verify", "--database-url", url], capture_output=True, text=True)
        assert check.returncode == 0 and "intact" in check.stdout, check.stdout + check.stderr
    finally:
        for n in nodes:
            n.stop()


def two_nodes(tmp, kek_hex):
    """Two started nodes sharing one KEK and one PostgreSQL database."""
    kek = tmp / "kek"
    kek.write_text(kek_hex * 32)
    url = database_for(tmp / "shared")
    nodes = []
    for i in range(2):
        srv = Server(tmp / f"n{i}", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_KEK_FILE": str(kek)})
        srv.env["CERTUS_DATABASE_URL"] = url
        nodes.append(srv.start())
    return nodes


def test_login_limit_is_shared_by_nodes(tmp):
    """The /api/v1 login limit (5 a minute per client address by default) counts attempts made
    through any node: three on one node and two on another use it up for both."""
    nodes = two_nodes(tmp, "cd")
    try:
        login = lambda node: requests.post(f"{node.url}/api/v1/auth/token",
                                           data={"username": "nobody", "password": "wrong password"}).status_code
        assert [login(nodes[0]) for _ in range(3)] + [login(nodes[1]) for _ in range(2)] == [401] * 5
        assert login(nodes[1]) == 429 and login(nodes[0]) == 429
    finally:
        for n in nodes:
            n.stop()


def test_acme_nonces_are_single_use_across_nodes(tmp):
    from test_acme import AcmeClient
    kek = tmp / "kek"
    kek.write_text("cd" * 32)
    url = database_for(tmp / "shared-acme")
    nodes = []
    for i in range(2):
        srv = Server(tmp / f"acme{i}", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_KEK_FILE": str(kek)})
        srv.env["CERTUS_DATABASE_URL"] = url
        nodes.append(srv.start())
    try:
        admin = Client(nodes[0].url, BOOTSTRAP_TOKEN)
        root = admin.ok("post", "/v1/pki/ca", 201, json={"name": "ar", "common_name": "ACME Cluster Root",
                                                         "ca_type": "root", "key_type": "ec"})
        admin.ok("post", "/v1/pki/roles", 201, json={"name": "aw", "ca_id": root["id"],
                                                     "allowed_domains": ["example.test"], "allow_subdomains": True})
        admin.ok("post", "/v1/pki/acme/directories", 201, json={"name": "cluster", "role": "aw"})
        # A nonce one node made is good once on any node.
        client = AcmeClient(f"{nodes[0].url}/acme/cluster/directory")
        nonce = client.nonce()
        at_second = f"{nodes[1].url}/acme/cluster/new-account"
        first = requests.post(at_second, data=json.dumps(client.jws(at_second, {}, nonce=nonce, use_jwk=True)),
                              headers={"Content-Type": "application/jose+json"}, timeout=30)
        assert first.status_code == 201, first.text
        at_first = f"{nodes[0].url}/acme/cluster/new-account"
        again = requests.post(at_first, data=json.dumps(client.jws(at_first, {}, nonce=nonce, use_jwk=True)),
                              headers={"Content-Type": "application/jose+json"}, timeout=30)
        assert again.status_code == 400 and again.json()["type"].endswith(":badNonce"), again.text
    finally:
        for n in nodes:
            n.stop()


def test_each_webhook_delivery_goes_out_from_one_node(tmp):
    from test_webhooks import Receiver
    kek = tmp / "kek"
    kek.write_text("ef" * 32)
    url = database_for(tmp / "shared-hooks")
    nodes = []
    for i in range(2):
        srv = Server(tmp / f"hooks{i}", env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN, "CERTUS_KEK_FILE": str(kek)})
        srv.env["CERTUS_DATABASE_URL"] = url
        nodes.append(srv.start())
    receiver = Receiver()
    try:
        admin = Client(nodes[0].url, BOOTSTRAP_TOKEN)
        admin.ok("post", "/v1/pki/webhooks", 201, json={"url": receiver.url, "events": ["certificate.issued"],
                                                        "secret": "whsec-test-secret-0123456789"})
        root = admin.ok("post", "/v1/pki/ca", 201, json={"name": "hr", "common_name": "Hooks Root",
                                                         "ca_type": "root", "key_type": "ec"})
        admin.ok("post", "/v1/pki/roles", 201, json={"name": "hw", "ca_id": root["id"],
                                                     "allowed_domains": ["example.test"], "allow_subdomains": True})
        issued = [Client(nodes[i % 2].url, BOOTSTRAP_TOKEN).ok(
            "post", "/v1/pki/issue/hw", 201, json={"common_name": f"h{i}.example.test"})["certificate_id"]
            for i in range(12)]
        receiver.wait_for(lambda e: len({x[2]["data"].get("certificate_id") for x in receiver.events}
                                        & set(issued)) == len(issued), timeout=30)
        import time
        time.sleep(2)  # both nodes poll every 0.5 s: a second sender would have sent by now
        with receiver.lock:
            ids = [e[0] for e in receiver.events]
        assert len(ids) == len(set(ids)), "a delivery went out twice"
        assert len(ids) == len(issued) + 1  # the root CA's certificate too
    finally:
        receiver.close()
        for n in nodes:
            n.stop()


def test_a_revocation_on_one_node_shows_at_once_in_the_others_ocsp(tmp):
    """Node B answers OCSP for a certificate (with a nonce, and without: both cached there),
    node A revokes it, and B's very next answers say revoked: its caches follow the CA's
    revocation epoch in the shared database."""
    nodes = two_nodes(tmp, "ef")
    try:
        a, b = (Client(n.url, BOOTSTRAP_TOKEN) for n in nodes)
        root = a.ok("post", "/v1/pki/ca", 201, json={"name": "r", "common_name": "Root", "ca_type": "root", "key_type": "ec"})
        inter = a.ok("post", "/v1/pki/ca", 201, json={"name": "i", "common_name": "Issuing", "ca_type": "intermediate",
                                                      "parent_ca_id": root["id"], "key_type": "ec"})
        a.ok("post", "/v1/pki/roles", 201, json={"name": "w", "ca_id": inter["id"], "allowed_domains": ["example.test"],
                                                 "allow_subdomains": True, "key_type": "ec"})
        cert = a.ok("post", "/v1/pki/issue/w", 201, json={"common_name": "o.example.test"})
        leaf, issuer = tmp / "leaf.pem", tmp / "int.pem"
        leaf.write_text(cert["certificate"])
        issuer.write_text(cert["ca_chain"][0])

        def status_on_b(*extra):
            r = openssl("ocsp", "-issuer", str(issuer), "-cert", str(leaf), "-url", nodes[1].url + "/ocsp",
                        "-noverify", *extra)
            return r.stdout

        for _ in range(2):  # the second round is answered from B's caches
            assert f"{leaf}: good" in status_on_b()
            assert f"{leaf}: good" in status_on_b("-no_nonce")
        a.ok("post", "/v1/pki/revoke", json={"serial_number": cert["serial_number"], "reason": "key_compromise"})
        assert f"{leaf}: revoked" in status_on_b()
        assert f"{leaf}: revoked" in status_on_b("-no_nonce")
    finally:
        for n in nodes:
            n.stop()
