-- The /api/v1 front door's integer ids and the attributes only it has, over the shared records:
-- an organisation there is a Certus organisation with one tenant (`default`) holding its CAs
-- and certificates; a CA or certificate there is a Certus CA or certificate.
CREATE TABLE v1_organizations (
    id           BIGSERIAL PRIMARY KEY,
    org_id       TEXT NOT NULL UNIQUE REFERENCES organizations(id),
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    description  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE v1_cas (
    id                  BIGSERIAL PRIMARY KEY,
    ca_id               TEXT NOT NULL UNIQUE REFERENCES cas(id),
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    name                TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    description         TEXT,
    valid_days          BIGINT NOT NULL,
    path_length         BIGINT,
    allow_leaf_certs    BIGINT NOT NULL,
    crl_base_url        TEXT,
    created_by_user_id  BIGINT,
    created_by_service_account_id BIGINT,
    -- A deleted CA leaves the lists but keeps its slug, so the CRL URL in what it issued works.
    deleted_at          BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
-- Names are unique among an organisation's live CAs (a name lookup must find one).
CREATE UNIQUE INDEX v1_cas_live_name ON v1_cas (tenant_id, name) WHERE deleted_at IS NULL;

CREATE TABLE v1_certificates (
    id                  BIGSERIAL PRIMARY KEY,
    cert_id             TEXT NOT NULL UNIQUE REFERENCES certificates(id),
    ca_num              BIGINT NOT NULL,
    certificate_type    TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    key_size            BIGINT NOT NULL,
    valid_days          BIGINT NOT NULL,
    is_csr_origin       BIGINT NOT NULL,
    renewed_from_id     BIGINT,
    created_by_user_id  BIGINT,
    created_by_service_account_id BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX v1_certificates_by_ca ON v1_certificates (ca_num, id);

-- Service accounts: non-human principals of one organisation, with capability flags, tokens
-- (`fpki_sa_<public_id>.<secret>`, only an HMAC of the secret stored) and an issuance policy
-- (JSON; deny by default).
CREATE TABLE v1_service_accounts (
    id                      BIGSERIAL PRIMARY KEY,
    org_id                  TEXT NOT NULL REFERENCES organizations(id),
    name                    TEXT NOT NULL,
    description             TEXT,
    can_create_ca           BIGINT NOT NULL,
    can_create_cert         BIGINT NOT NULL,
    can_revoke_cert         BIGINT NOT NULL,
    can_export_private_key  BIGINT NOT NULL,
    can_delete_ca           BIGINT NOT NULL,
    created_by_user_id      BIGINT,
    disabled_at             BIGINT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE v1_service_account_tokens (
    id                  BIGSERIAL PRIMARY KEY,
    service_account_id  BIGINT NOT NULL REFERENCES v1_service_accounts(id),
    public_id           TEXT NOT NULL UNIQUE,
    digest              TEXT NOT NULL,
    name                TEXT,
    created_at          BIGINT NOT NULL,
    last_used_at        BIGINT,
    expires_at          BIGINT,
    revoked             BIGINT NOT NULL
);

CREATE TABLE v1_issuance_policies (
    service_account_id  BIGINT PRIMARY KEY REFERENCES v1_service_accounts(id),
    body                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- Taken once, by the anonymous request that creates the first user: of two racing first-user
-- requests only one can insert it.
CREATE TABLE v1_first_user (
    id  BIGINT PRIMARY KEY
);

-- Password-login attempts of the last minute per client address, shared by every node so the
-- rate limit holds for the whole cluster; older rows are swept.
CREATE TABLE login_attempts (
    client  TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX login_attempts_by_client ON login_attempts (client, at);
CREATE INDEX login_attempts_by_at ON login_attempts (at);
