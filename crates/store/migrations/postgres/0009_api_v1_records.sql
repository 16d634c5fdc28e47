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
    subject_dn          TEXT NOT NULL,
    description         TEXT,
    valid_days          BIGINT NOT NULL,
    path_length         BIGINT,
    allow_leaf_certs    BIGINT NOT NULL,
    crl_base_url        TEXT,
    created_by_user_id  BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

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
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX v1_certificates_by_ca ON v1_certificates (ca_num, id);
