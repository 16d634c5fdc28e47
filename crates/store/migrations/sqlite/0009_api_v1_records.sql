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
    subject_dn          TEXT NOT NULL,
    description         TEXT,
    valid_days          INTEGER NOT NULL,
    path_length         INTEGER,
    allow_leaf_certs    INTEGER NOT NULL,
    crl_base_url        TEXT,
    created_by_user_id  INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

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
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX v1_certificates_by_ca ON v1_certificates (ca_num, id);
