-- ACME (RFC 8555): directories over a role, or a CA plus an issuance profile, of one tenant;
-- their accounts, orders, authorizations and nonces. Directory names are one namespace (the URL
-- carries no tenant).
CREATE TABLE acme_directories (
    name         TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    role_name    TEXT,
    ca_id        TEXT,
    profile_id   TEXT,
    -- JSON array of issuance profile ids a newOrder may name (meta.profiles).
    profiles     TEXT NOT NULL,
    require_eab  INTEGER NOT NULL,
    terms_of_service TEXT,
    created_at   INTEGER NOT NULL
);

-- Used replay nonces, shared by every node (a nonce itself is MAC'd and dated; only its use is
-- stored, until it would have expired anyway).
CREATE TABLE acme_nonces (
    nonce       TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);

-- Accounts, one per key per directory. `jwk` is the public key as JSON.
CREATE TABLE acme_accounts (
    id          TEXT PRIMARY KEY,
    directory   TEXT NOT NULL REFERENCES acme_directories(name) ON DELETE CASCADE,
    thumbprint  TEXT NOT NULL,
    jwk         TEXT NOT NULL,
    status      TEXT NOT NULL,
    contact     TEXT NOT NULL,
    eab_kid     TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (directory, thumbprint)
);

-- External account binding keys; the HMAC key itself is derived from the KEK, never stored.
CREATE TABLE acme_eab_keys (
    kid         TEXT PRIMARY KEY,
    directory   TEXT NOT NULL REFERENCES acme_directories(name) ON DELETE CASCADE,
    account_id  TEXT,
    created_at  INTEGER NOT NULL,
    bound_at    INTEGER
);

CREATE TABLE acme_orders (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES acme_accounts(id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    -- JSON array of {"type", "value"}.
    identifiers     TEXT NOT NULL,
    profile         TEXT,
    replaces        TEXT,
    expires_at      INTEGER NOT NULL,
    error           TEXT,
    certificate_id  TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX acme_orders_by_account ON acme_orders (account_id, created_at);
CREATE UNIQUE INDEX acme_orders_replacing ON acme_orders (replaces) WHERE replaces IS NOT NULL;
CREATE INDEX acme_orders_by_certificate ON acme_orders (certificate_id) WHERE certificate_id IS NOT NULL;

-- One authorization per identifier of an order; its challenges share `token`, and
-- `chall_type` is the one the client asked to validate.
CREATE TABLE acme_authzs (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES acme_orders(id) ON DELETE CASCADE,
    id_type      TEXT NOT NULL,
    id_value     TEXT NOT NULL,
    wildcard     INTEGER NOT NULL,
    status       TEXT NOT NULL,
    token        TEXT NOT NULL,
    chall_type   TEXT,
    validated_at INTEGER,
    error        TEXT,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX acme_authzs_by_order ON acme_authzs (order_id);
