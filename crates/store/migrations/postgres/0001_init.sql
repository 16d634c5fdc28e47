-- Certus schema v1, PostgreSQL edition of migrations/sqlite/0001_init.sql: the same tables and
-- columns. Timestamps are Unix seconds (UTC); booleans are 0/1 integers; lists of names are
-- newline-separated text.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL,
    scopes       TEXT NOT NULL,
    superuser    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    spec        TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
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
    key_size      BIGINT NOT NULL,
    cert_der      BYTEA NOT NULL,
    serial        TEXT NOT NULL,
    valid_from    BIGINT NOT NULL,
    valid_until   BIGINT NOT NULL,
    is_active     BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- The current CRL of each CA; crl_number only grows (RFC 5280 §5.2.3).
CREATE TABLE crls (
    ca_id        TEXT PRIMARY KEY REFERENCES cas(id),
    crl_number   BIGINT NOT NULL,
    der          BYTEA NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL
);

CREATE TABLE roles (
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    name                TEXT NOT NULL,
    ca_id               TEXT NOT NULL REFERENCES cas(id),
    allowed_domains     TEXT NOT NULL,
    allow_subdomains    BIGINT NOT NULL,
    allow_ip_sans       BIGINT NOT NULL,
    max_ttl_secs        BIGINT,
    key_type            TEXT,
    key_bits            BIGINT,
    require_cn          BIGINT NOT NULL,
    store_private_keys  BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE certificates (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    issuer_ca_id       TEXT REFERENCES cas(id),
    serial             TEXT NOT NULL,
    common_name        TEXT,
    sans               TEXT NOT NULL,
    not_before         BIGINT NOT NULL,
    not_after          BIGINT NOT NULL,
    cert_der           BYTEA NOT NULL,
    chain_pem          TEXT,
    key_id             TEXT REFERENCES keys(id),
    role_name          TEXT,
    source             TEXT NOT NULL,
    revoked_at         BIGINT,
    revocation_reason  TEXT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX certificates_tenant_serial ON certificates (tenant_id, serial);
CREATE INDEX certificates_tenant_created ON certificates (tenant_id, created_at, id);
CREATE INDEX certificates_tenant_not_after ON certificates (tenant_id, not_after);
CREATE INDEX certificates_issuer_revoked ON certificates (issuer_ca_id, revoked_at);
CREATE UNIQUE INDEX certificates_issuer_serial ON certificates (issuer_ca_id, serial);

CREATE TABLE csrs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    csr_der         BYTEA NOT NULL,
    common_name     TEXT,
    sans            TEXT NOT NULL,
    key_type        TEXT NOT NULL,
    key_bits        BIGINT NOT NULL,
    status          TEXT NOT NULL,
    reject_reason   TEXT,
    key_id          TEXT REFERENCES keys(id),
    certificate_id  TEXT REFERENCES certificates(id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE trust_anchors (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    cert_der    BYTEA NOT NULL,
    subject     TEXT NOT NULL,
    not_after   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    tenant_id   TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
