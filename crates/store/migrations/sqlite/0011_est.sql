-- EST (RFC 7030) labels: /.well-known/est/{label} enrolls under a role, or a CA plus an
-- issuance profile, of one tenant. Labels are one namespace (the URL carries no tenant).
CREATE TABLE est_labels (
    label             TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    role_name         TEXT,
    ca_id             TEXT,
    profile_id        TEXT,
    require_approval  INTEGER NOT NULL,
    revoke_on_reenroll INTEGER NOT NULL,
    is_default        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX est_labels_one_default ON est_labels (is_default) WHERE is_default = 1;

-- HTTP Basic credentials of a label; the password is an argon2 PHC string.
CREATE TABLE est_credentials (
    label          TEXT NOT NULL REFERENCES est_labels(label) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (label, username)
);

-- An enrollment waiting for approval: the device's retry of the same CSR finds its queued CSR.
CREATE TABLE est_pending (
    label       TEXT NOT NULL REFERENCES est_labels(label) ON DELETE CASCADE,
    csr_sha256  TEXT NOT NULL,
    csr_id      TEXT NOT NULL REFERENCES csrs(id),
    PRIMARY KEY (label, csr_sha256)
);
