-- The web console (/ui): server-side sessions, and a name index so certificates can be found by
-- any of their names (CN or SAN) without scanning the inventory.
CREATE TABLE console_sessions (
    id_hash       TEXT PRIMARY KEY,          -- SHA-256 of the cookie value, hex
    user_id       INTEGER NOT NULL,          -- 0: opened with a superuser API token
    token_id      TEXT,                      -- that API token, re-checked on every request
    csrf          TEXT NOT NULL,
    tenant_id     TEXT,                      -- the tenant being viewed
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);

-- Every name of a certificate, lower-cased: its CN and each SAN.
CREATE TABLE certificate_names (
    tenant_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    certificate_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name, certificate_id)
);

WITH RECURSIVE parts(id, tenant_id, rest, name) AS (
    SELECT id, tenant_id, sans || char(10), NULL FROM certificates
    UNION ALL
    SELECT id, tenant_id, substr(rest, instr(rest, char(10)) + 1), substr(rest, 1, instr(rest, char(10)) - 1)
    FROM parts WHERE rest <> ''
)
INSERT OR IGNORE INTO certificate_names (tenant_id, name, certificate_id)
SELECT tenant_id, lower(name), id FROM parts WHERE name IS NOT NULL AND name <> ''
UNION
SELECT tenant_id, lower(common_name), id FROM certificates WHERE common_name IS NOT NULL AND common_name <> '';

-- Recent revocations for the dashboard; revoked rows are few, so the index is small.
CREATE INDEX certificates_tenant_revoked ON certificates (tenant_id, revoked_at) WHERE revoked_at IS NOT NULL;
