-- Issuance profiles (per tenant); the profile itself is a JSON document owned by the
-- authority, with its id and name as columns. Roles may name one.
CREATE TABLE profiles (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE roles ADD COLUMN profile_id TEXT;
