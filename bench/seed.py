"""Adds synthetic certificate rows straight into a stopped Certus SQLite database, so list and
CRL benchmarks run at 100k-1M certificates without issuing them one by one. The rows carry real
metadata (serials, times, issuer) and a placeholder certificate body; CRL and list code read only
the metadata."""
import os
import sqlite3
import sys
import time

db, tenant_id, ca_id, count, revoked = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "revoked"
con = sqlite3.connect(db)
now = int(time.time())
start = con.execute("SELECT COUNT(*) FROM certificates WHERE issuer_ca_id = ?", (ca_id,)).fetchone()[0]
rows = []
for i in range(start, start + count):
    serial = "7f" + os.urandom(19).hex()
    rows.append((
        f"cert_seed{i:012d}", tenant_id, ca_id, serial, f"host{i}.bench.test", f"host{i}.bench.test",
        now - 3600, now + 86400 * (1 + i % 90), b"\x30\x00", "issued",
        (now - 1000000 + i) if revoked else None, "key_compromise" if revoked else None, now - 3600 + (i % 3600),
    ))
con.executemany(
    "INSERT INTO certificates (id, tenant_id, issuer_ca_id, serial, common_name, sans, not_before, not_after, "
    "cert_der, source, revoked_at, revocation_reason, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
# The search index the console reads: every name of each row.
con.executemany("INSERT INTO certificate_names (tenant_id, name, certificate_id) VALUES (?,?,?)",
                [(r[1], r[4], r[0]) for r in rows])
con.commit()
print(start + count)
