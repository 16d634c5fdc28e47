"""Backup, restore and KEK rotation (issue 16): a backup taken under issuance load restores into a
new directory where a server starts with every certificate and key and the audit chain verifies;
a KEK rotation killed halfway resumes when rerun, and every key still signs."""
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN, BOOTSTRAP_TOKEN, PG_URL, Client, Server, database_for, make_hierarchy, make_role


def certus(*args, data_dir=None, **kw):
    cmd = [str(BIN), *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
        if PG_URL and args[0] in ("backup", "kek", "audit"):
            cmd += ["--database-url", database_for(data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


@pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL is backed up with pg_dump (docs/operations.md)")
def test_backup_under_load_restores_with_every_certificate_and_key(tmp):
    src = tmp / "src"
    srv = Server(src, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    _, inter = make_hierarchy(admin)
    role = make_role(admin, inter["id"], key_type="ec", store_private_keys=True)
    issued, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            r = admin.post(f"/v1/pki/issue/{role['name']}", json={"common_name": "load.example.test"})
            if r.status_code == 201:
                issued.append(r.json()["certificate_id"])

    workers = [threading.Thread(target=load) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        while len(issued) < 20:
            time.sleep(0.05)
        backup = tmp / "snap.db"
        out = certus("backup", "--to", str(backup), data_dir=src)
        assert out.returncode == 0, out.stdout + out.stderr
        assert (backup.stat().st_mode & 0o777) == 0o600
    finally:
        stop.set()
        for w in workers:
            w.join()
        srv.stop()

    dst = tmp / "dst"
    out = certus("restore", "--from", str(backup), "--data-dir", str(dst))
    assert out.returncode == 0 and "intact" in out.stdout, out.stdout + out.stderr
    shutil.copy(src / "kek", dst / "kek")
    restored = Server(dst).start()
    try:
        c = Client(restored.url, BOOTSTRAP_TOKEN)
        listed = c.ok("get", "/v1/pki/certificates", params={"limit": 1000})
        ids = {x["id"] for x in listed["data"]}
        in_snapshot = [i for i in issued if i in ids]
        assert len(in_snapshot) >= 20, "every certificate acknowledged before the backup is in it"
        key = c.ok("post", f"/v1/pki/certificates/{in_snapshot[0]}/private-key")
        assert "PRIVATE KEY" in str(key)
        c.ok("post", f"/v1/pki/issue/{role['name']}", 201, json={"common_name": "after.example.test"})
    finally:
        restored.stop()
    assert certus("audit", "verify", data_dir=dst).returncode == 0
    out = certus("restore", "--from", str(backup), "--data-dir", str(dst))
    assert out.returncode != 0 and "exists" in out.stderr, "restore never overwrites a database"


def test_kek_rotation_killed_halfway_resumes_and_every_key_signs(tmp):
    data = tmp / "rot"
    srv = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    admin = Client(srv.url, BOOTSTRAP_TOKEN)
    cas = [make_hierarchy(admin) for _ in range(2)]
    role = make_role(admin, cas[0][1]["id"], key_type="ec", store_private_keys=True)
    certs = [admin.ok("post", f"/v1/pki/issue/{role['name']}", 201,
                      json={"common_name": f"r{i}.example.test"})["certificate_id"] for i in range(60)]
    srv.stop()
    old_kek = (data / "kek").read_text()

    cmd = [str(BIN), "kek", "rotate", "--data-dir", str(data)]
    if PG_URL:
        cmd += ["--database-url", database_for(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("progress"), first + proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (data / "kek.next").exists() and (data / "kek").read_text() == old_kek, "killed before the swap"

    # A server started halfway reads keys under either KEK.
    mid = Server(data).start()
    try:
        Client(mid.url, BOOTSTRAP_TOKEN).ok("post", f"/v1/pki/certificates/{certs[-1]}/private-key")
    finally:
        mid.stop()

    out = certus("kek", "rotate", data_dir=data)
    assert out.returncode == 0 and "resuming" in out.stdout and "rotated" in out.stdout, out.stdout + out.stderr
    assert not (data / "kek.next").exists() and (data / "kek").read_text() != old_kek
    assert (data / "kek").stat().st_mode & 0o777 == 0o600

    srv = Server(data).start()
    try:
        c = Client(srv.url, BOOTSTRAP_TOKEN)
        for root, inter in cas:
            r = make_role(c, inter["id"], key_type="ec")
            c.ok("post", f"/v1/pki/issue/{r['name']}", 201, json={"common_name": "after.example.test"})
        for cid in certs[::10]:
            assert "PRIVATE KEY" in str(c.ok("post", f"/v1/pki/certificates/{cid}/private-key"))
    finally:
        srv.stop()
    out = certus("audit", "verify", data_dir=data)
    assert out.returncode == 0, out.stdout


@pytest.mark.skipif(bool(PG_URL), reason="many servers share one PostgreSQL")
def test_a_second_server_on_one_sqlite_database_is_refused_and_the_first_keeps_serving(tmp):
    data = tmp / "one"
    first = Server(data, env={"CERTUS_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN}).start()
    try:
        with pytest.raises(RuntimeError, match="another Certus server is running on .*certus.db"):
            Server(data).start()
        admin = Client(first.url, BOOTSTRAP_TOKEN)
        make_hierarchy(admin)
        assert (data / "certus.db.lock").stat().st_mode & 0o777 == 0o600
        out = certus("backup", "--to", str(tmp / "snap.db"), data_dir=data)
        assert out.returncode == 0, "a reading tool runs beside the server: " + out.stderr
    finally:
        first.stop()
    Server(data).start().stop()  # the lock goes with the process
