-- The web console (/ui): server-side sessions, and a name index so certificates can be found by
-- any of their names (CN or SAN) without scanning the inventory.
CREATE TABLE console_sessions (
    id_hash       TEXT PRIMARY KEY,          -- SHA-256 of the cookie value, hex
    user_id       BIGINT NOT NULL,           -- 0: opened with a superuser API token
    token_id      TEXT,                      -- that API token, re-checked on every request
    csrf          TEXT NOT NULL,
    tenant_id     TEXT,                      -- the tenant being viewed
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);

-- Every name of a certificate, lower-cased: its CN and each SAN. Byte order ("C") so a prefix
-- search is an index range.
CREATE TABLE certificate_names (
    tenant_id       TEXT NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    certificate_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name, certificate_id)
);

INSERT INTO certificate_names (tenant_id, name, certificate_id)
SELECT tenant_id, lower(n), id FROM certificates, regexp_split_to_table(sans, E'\n') AS n WHERE n <> ''
UNION
SELECT tenant_id, lower(common_name), id FROM certificates WHERE common_name IS NOT NULL AND common_name <> ''
ON CONFLICT DO NOTHING;

-- Recent revocations for the dashboard; revoked rows are few, so the index is small.
CREATE INDEX certificates_tenant_revoked ON certificates (tenant_id, revoked_at) WHERE revoked_at IS NOT NULL;
