-- Named services of a tenant (kms, x509-service, x509-store), their dependencies, the named keys
-- of KMS services (pointing at sealed keys), and X.509 store entries.
CREATE TABLE services (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE service_dependencies (
    tenant_id   TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    dependency  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, dependency)
);

CREATE TABLE kms_keys (
    tenant_id   TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    key_id      TEXT NOT NULL REFERENCES keys(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, name)
);

CREATE TABLE store_entries (
    tenant_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    pem         TEXT NOT NULL,
    metadata    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, store_id, entry_id)
);
