-- Certus schema v1. Timestamps are Unix seconds (UTC); booleans are 0/1 integers; lists of names
-- are newline-separated text. Kept to portable SQL so PostgreSQL gets the same shape.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    scopes       TEXT NOT NULL,
    superuser    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    spec        TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE cas (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    common_name   TEXT NOT NULL,
    ca_type       TEXT NOT NULL,
    parent_ca_id  TEXT REFERENCES cas(id),
    key_id        TEXT NOT NULL REFERENCES keys(id),
    key_type      TEXT NOT NULL,
    key_size      INTEGER NOT NULL,
    cert_der      BLOB NOT NULL,
    serial        TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

-- The current CRL of each CA; crl_number only grows (RFC 5280 §5.2.3).
CREATE TABLE crls (
    ca_id        TEXT PRIMARY KEY REFERENCES cas(id),
    crl_number   INTEGER NOT NULL,
    der          BLOB NOT NULL,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER NOT NULL
);

CREATE TABLE roles (
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    name                TEXT NOT NULL,
    ca_id               TEXT NOT NULL REFERENCES cas(id),
    allowed_domains     TEXT NOT NULL,
    allow_subdomains    INTEGER NOT NULL,
    allow_ip_sans       INTEGER NOT NULL,
    max_ttl_secs        INTEGER,
    key_type            TEXT,
    key_bits            INTEGER,
    require_cn          INTEGER NOT NULL,
    store_private_keys  INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE certificates (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    issuer_ca_id       TEXT REFERENCES cas(id),
    serial             TEXT NOT NULL,
    common_name        TEXT,
    sans               TEXT NOT NULL,
    not_before         INTEGER NOT NULL,
    not_after          INTEGER NOT NULL,
    cert_der           BLOB NOT NULL,
    chain_pem          TEXT,
    key_id             TEXT REFERENCES keys(id),
    role_name          TEXT,
    source             TEXT NOT NULL,
    revoked_at         INTEGER,
    revocation_reason  TEXT,
    created_at         INTEGER NOT NULL
);
CREATE INDEX certificates_tenant_serial ON certificates (tenant_id, serial);
CREATE INDEX certificates_tenant_created ON certificates (tenant_id, created_at, id);
CREATE INDEX certificates_tenant_not_after ON certificates (tenant_id, not_after);
CREATE INDEX certificates_issuer_revoked ON certificates (issuer_ca_id, revoked_at);
CREATE UNIQUE INDEX certificates_issuer_serial ON certificates (issuer_ca_id, serial);

CREATE TABLE csrs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    csr_der         BLOB NOT NULL,
    common_name     TEXT,
    sans            TEXT NOT NULL,
    key_type        TEXT NOT NULL,
    key_bits        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    reject_reason   TEXT,
    key_id          TEXT REFERENCES keys(id),
    certificate_id  TEXT REFERENCES certificates(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE trust_anchors (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    cert_der    BLOB NOT NULL,
    subject     TEXT NOT NULL,
    not_after   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    tenant_id   TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
