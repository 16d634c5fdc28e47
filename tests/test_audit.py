"""The hash-chained audit log and `certus audit verify`."""
import sqlite3
import subprocess

import pytest

from conftest import BIN, BOOTSTRAP_TOKEN, PG_URL, Client, Server, database_for, make_hierarchy, make_role, psql


def verify(data_dir):
    args = [str(BIN), "audit", "verify", "--data-dir", str(data_dir)]
    if PG_URL:
        args += ["--database-url", database_for(data_dir)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def audit_entries(data_dir):
    """How many entries `certus audit verify` found, having required the chain intact."""
    out = verify(data_dir)
    assert out.returncode == 0 and "intact" in out.stdout, out.stdout + out.stderr
    return int(out.stdout.split(":")[1].split()[0])


def test_verify_passes_then_names_the_edited_entry(tmp):
    data = tmp / "d"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        for i in range(5):
            c = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": f"a{i}.example.test"})
        admin.ok("post", "/v1/pki/revoke", json={"serial_number": c["serial_number"], "reason": "superseded"})
    finally:
        srv.stop()
    assert audit_entries(data) == 9  # root, intermediate, role, 5 issuances, the revocation

    # Rewrite history: pretend the revocation's reason was different.
    query = "UPDATE audit_log SET detail = 'serial=00 reason=unspecified' WHERE action = 'certificate.revoke'"
    if PG_URL:
        psql(data, query)
        seq = int(psql(data, "SELECT seq FROM audit_log WHERE action = 'certificate.revoke'").strip())
    else:
        with sqlite3.connect(data / "certus.db") as db:
            db.execute(query)
            seq = db.execute("SELECT seq FROM audit_log WHERE action = 'certificate.revoke'").fetchone()[0]
    bad = verify(data)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"broken at entry {seq}" in bad.stdout and "hash" in bad.stdout


def query(data_dir, sql):
    if PG_URL:
        return [line.strip() for line in psql(data_dir, sql).splitlines() if line.strip()]
    with sqlite3.connect(data_dir / "certus.db") as db:
        return [str(r[0]) for r in db.execute(sql)]


def test_revocations_killed_midway_each_keep_their_audit_entry(tmp):
    """kill -9 while revocations are in flight: every stored revocation has its audit entry (they
    commit in one transaction), and the chain verifies."""
    import signal
    import threading
    data = tmp / "k"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    serials = [admin.ok("post", f"/v1/pki/issue/{role['name']}", 201,
                        json={"common_name": f"k{i}.example.test"})["serial_number"] for i in range(60)]

    def revoke_all(part):
        for s in part:
            try:
                admin.post("/v1/pki/revoke", json={"serial_number": s, "reason": "superseded"})
            except Exception:
                return

    workers = [threading.Thread(target=revoke_all, args=(serials[i::4],)) for i in range(4)]
    for w in workers:
        w.start()
    import time
    time.sleep(0.3)
    srv.stop(signal.SIGKILL)
    for w in workers:
        w.join()
    revoked = set(query(data, "SELECT id FROM certificates WHERE revoked_at IS NOT NULL"))
    audited = set(query(data, "SELECT resource FROM audit_log WHERE action = 'certificate.revoke'"))
    assert revoked, "some revocations landed before the kill"
    assert revoked == audited, (revoked ^ audited)
    audit_entries(data)


def test_a_renewal_is_one_audit_entry_naming_what_it_renews(tmp):
    data = tmp / "r"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        old = admin.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "r.example.test"})
        new = admin.ok("post", f"/v1/pki/certificates/{old['certificate_id']}/renew", 201, json={})
    finally:
        srv.stop()
    rows = query(data, "SELECT action || '|' || resource || '|' || detail FROM audit_log "
                       "WHERE action IN ('certificate.issue', 'certificate.renew') ORDER BY seq")
    renewals = [r for r in rows if r.startswith("certificate.renew|")]
    assert len(renewals) == 1 and len(rows) == 2, rows
    action, resource, detail = renewals[0].split("|")
    assert resource == new["certificate_id"] and f"renews={old['certificate_id']}" in detail
    assert verify(data).returncode == 0


def test_administrative_writes_carry_exactly_their_audit_entries(tmp):
    """mDL services, dependencies, store updates and deletions, KMS key deletions and a forced
    CRL rebuild each commit with their one audit entry; a write that finds nothing to change
    leaves no entry."""
    data = tmp / "w"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        t = "default.default"
        for name, kind in (("kms", "kms"), ("x509", "x509-service"), ("store", "x509-store")):
            admin.ok("post", f"/v1/{t}.{name}/resource-api/services/create", 201, json={"type": kind})
        r = admin.s.post(admin.url + f"/v1/{t}.x509/x509-service-api/dependencies/add", data=f'"{t}.store"',
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        admin.ok("post", f"/v1/{t}.kms.k1/kms-service-api/keys/generate", 201, json={"keyType": "secp256r1"})
        pem = admin.ok("post", f"/v1/{t}.x509/x509-service-api/iso/iacas", json={
            "certificateData": {"country": "US", "commonName": "Audit IACA",
                                "issuerAlternativeNameConf": {"uri": "https://a.example.com"}},
            "iacaKeyDesc": {"type": "kms-hosted-key-descriptor", "keyIdPath": f"{t}.kms.k1"}})["certificatePEM"]
        admin.ok("post", f"/v1/{t}.store.e1/x509-store-api/certificates", 201, json={"type": "base", "certificatePem": pem})
        admin.ok("put", f"/v1/{t}.store.e1/x509-store-api/certificates", json={"type": "base", "certificatePem": pem})
        admin.ok("delete", f"/v1/{t}.store.e1/x509-store-api/certificates", 204)
        assert admin.delete(f"/v1/{t}.store.e1/x509-store-api/certificates").status_code == 404
        assert admin.put(f"/v1/{t}.store.nope/x509-store-api/certificates",
                         json={"type": "base", "certificatePem": pem}).status_code == 404
        admin.ok("delete", f"/v1/{t}.kms.k1/kms-service-api/keys", 204)
        assert admin.delete(f"/v1/{t}.kms.k1/kms-service-api/keys").status_code == 404
        _, inter = make_hierarchy(admin)
        number = admin.ok("post", f"/v1/pki/ca/{inter['id']}/crl")["crl_number"]
    finally:
        srv.stop()
    rows = query(data, "SELECT action || '|' || detail FROM audit_log WHERE action IN ('service.create', "
                       "'service.dependency', 'store.update', 'store.delete', 'kms.delete', 'crl.regenerate') "
                       "ORDER BY seq")
    actions = [r.split("|")[0] for r in rows]
    assert actions == ["service.create"] * 3 + ["service.dependency", "store.update", "store.delete", "kms.delete",
                                                 "crl.regenerate"], rows
    assert rows[-1] == f"crl.regenerate|crl_number={number}"
    assert verify(data).returncode == 0


def test_issuances_killed_midway_lose_nothing_acknowledged(tmp):
    """Concurrent CSR signing (group commit) under kill -9, then a restart: every certificate
    whose 201 reached its client is stored and listed, no serial is doubled, the audit chain
    verifies with one issuance entry per stored certificate, and SQLite's integrity check is ok."""
    import signal
    import threading
    import time
    data = tmp / "crash"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec")
    key = subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"],
                         capture_output=True, check=True).stdout
    (tmp / "k.pem").write_bytes(key)
    csr = subprocess.run(["openssl", "req", "-new", "-key", str(tmp / "k.pem"), "-subj", "/CN=crash.example.test"],
                         capture_output=True, text=True, check=True).stdout
    acknowledged, lock, stop = [], threading.Lock(), threading.Event()

    def sign():
        client = Client(srv.url, BOOTSTRAP_TOKEN)
        while not stop.is_set():
            try:
                r = client.post(f"/v1/pki/sign/{role['name']}", json={"csr_pem": csr})
            except Exception:
                return
            if r.status_code == 201:
                with lock:
                    acknowledged.append(r.json()["serial_number"])

    workers = [threading.Thread(target=sign) for _ in range(8)]
    for w in workers:
        w.start()
    time.sleep(2)
    srv.stop(signal.SIGKILL)
    stop.set()
    for w in workers:
        w.join()
    assert len(acknowledged) > 20, "the load was running when the server was killed"

    def plain(serial):
        return serial.replace(":", "").lower().lstrip("0")

    stored = query(data, f"SELECT serial FROM certificates WHERE issuer_ca_id = '{inter['id']}'")
    assert len(stored) == len(set(stored)), "no serial twice"
    missing = {plain(s) for s in acknowledged} - {plain(s) for s in stored}
    assert not missing, f"{len(missing)} acknowledged certificates lost"
    issues = query(data, "SELECT count(*) FROM audit_log WHERE action = 'certificate.issue'")
    assert int(issues[0]) >= len(stored), "every stored certificate has its audit entry"
    audit_entries(data)
    if not PG_URL:
        with sqlite3.connect(data / "certus.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        client, serials, after = Client(srv.url, BOOTSTRAP_TOKEN), set(), ""
        while after is not None:
            page = client.ok("get", f"/v1/pki/certificates?ca_id={inter['id']}&limit=1000{after}")
            serials |= {plain(c["serial_number"]) for c in page["data"]}
            after = page["cursor"] and f"&cursor={page['cursor']}"
        assert {plain(s) for s in acknowledged} <= serials, "listed after the restart"
    finally:
        srv.stop()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's connections, which the server does not own")
def test_issuance_resumes_after_postgresql_ends_the_servers_connections(tmp):
    """PostgreSQL ends every connection of the server (as a restart or failover does): issuance
    answers again without restarting Certus, every 201 is stored once, and the chain verifies."""
    data = tmp / "dropped"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")

        def issue():
            return admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "dropped.example.test"})

        first = issue()
        assert first.status_code == 201, first.text
        ended = query(data, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert int(ended[0]) >= 2, "the pool's connections and the issuance writer's"
        answers = [issue() for _ in range(6)]
        statuses = [r.status_code for r in answers]
        # The batch that meets the ended connection fails as 503 "retry later" in the door's shape
        # (not the caller's mistake, nor a fault of the request); the writer connects again for
        # the next one.
        assert statuses[-3:] == [201, 201, 201], statuses
        for r in answers:
            if r.status_code != 201:
                assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
                assert r.headers["retry-after"] == "5" and "retry" in r.json()["error"]["message"]
        serials = [first.json()["serial_number"]] + [r.json()["serial_number"] for r in answers if r.status_code == 201]
        stored = query(data, "SELECT serial FROM certificates WHERE common_name = 'dropped.example.test'")
        assert len(stored) == len(serials) == len(set(stored))
    finally:
        srv.stop()
    audit_entries(data)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock, which another process can hold")
def test_issuance_answers_503_while_another_process_holds_sqlites_write_lock(tmp):
    """Another process holds the database's write lock past the 10 s busy timeout: issuance
    answers 503 with Retry-After in the native shape (the request was sound), stores nothing,
    and succeeds once the lock is released."""
    data = tmp / "locked"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        admin = Client(srv.url, BOOTSTRAP_TOKEN)
        _, inter = make_hierarchy(admin)
        role = make_role(admin, inter["id"], key_type="ec")
        holder = sqlite3.connect(data / "certus.db", isolation_level=None, timeout=1)
        holder.execute("BEGIN IMMEDIATE")
        try:
            r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "locked.example.test"})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
        assert r.headers["retry-after"] == "5"
        assert query(data, "SELECT count(*) FROM certificates WHERE common_name = 'locked.example.test'") == ["0"]
        again = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "locked.example.test"})
        assert again.status_code == 201, again.text
    finally:
        srv.stop()
    audit_entries(data)
