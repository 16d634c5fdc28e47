-- The /api/v1 front door's integer ids and the attributes only it has, over the shared records:
-- an organisation there is a Certus organisation with one tenant (`default`) holding its CAs
-- and certificates; a CA or certificate there is a Certus CA or certificate.
CREATE TABLE v1_organizations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       TEXT NOT NULL UNIQUE REFERENCES organizations(id),
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    description  TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE v1_cas (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    ca_id               TEXT NOT NULL UNIQUE REFERENCES cas(id),
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    name                TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    description         TEXT,
    valid_days          INTEGER NOT NULL,
    path_length         INTEGER,
    allow_leaf_certs    INTEGER NOT NULL,
    crl_base_url        TEXT,
    created_by_user_id  INTEGER,
    created_by_service_account_id INTEGER,
    -- A deleted CA leaves the lists but keeps its slug, so the CRL URL in what it issued works.
    deleted_at          INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
-- Names are unique among an organisation's live CAs (a name lookup must find one).
CREATE UNIQUE INDEX v1_cas_live_name ON v1_cas (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE v1_certificates (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    cert_id             TEXT NOT NULL UNIQUE REFERENCES certificates(id),
    ca_num              INTEGER NOT NULL,
    certificate_type    TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    key_size            INTEGER NOT NULL,
    valid_days          INTEGER NOT NULL,
    is_csr_origin       INTEGER NOT NULL,
    renewed_from_id     INTEGER,
    created_by_user_id  INTEGER,
    created_by_service_account_id INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX v1_certificates_by_ca ON v1_certificates (ca_num, id);

-- Service accounts: non-human principals of one organisation, with capability flags, tokens
-- (`fpki_sa_<public_id>.<secret>`, only an HMAC of the secret stored) and an issuance policy
-- (JSON; deny by default).
CREATE TABLE v1_service_accounts (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                  TEXT NOT NULL REFERENCES organizations(id),
    name                    TEXT NOT NULL,
    description             TEXT,
    can_create_ca           INTEGER NOT NULL,
    can_create_cert         INTEGER NOT NULL,
    can_revoke_cert         INTEGER NOT NULL,
    can_export_private_key  INTEGER NOT NULL,
    can_delete_ca           INTEGER NOT NULL,
    created_by_user_id      INTEGER,
    disabled_at             INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE v1_service_account_tokens (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    service_account_id  INTEGER NOT NULL REFERENCES v1_service_accounts(id),
    public_id           TEXT NOT NULL UNIQUE,
    digest              TEXT NOT NULL,
    name                TEXT,
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER,
    expires_at          INTEGER,
    revoked             INTEGER NOT NULL
);

CREATE TABLE v1_issuance_policies (
    service_account_id  INTEGER PRIMARY KEY REFERENCES v1_service_accounts(id),
    body                TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- Taken once, by the anonymous request that creates the first user: of two racing first-user
-- requests only one can insert it.
CREATE TABLE v1_first_user (
    id  INTEGER PRIMARY KEY
);

-- Password-login attempts of the last minute per client address, shared by every node so the
-- rate limit holds for the whole cluster; older rows are swept.
CREATE TABLE login_attempts (
    client  TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_client ON login_attempts (client, at);
CREATE INDEX login_attempts_by_at ON login_attempts (at);
