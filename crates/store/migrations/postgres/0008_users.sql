-- Accounts of the /api/v1 front door: users with argon2 password hashes, a role and five
-- capability flags; refresh tokens (SHA-256 of the secret only); access-token ids blocked by
-- logout until they expire.
CREATE TABLE users (
    id                     BIGSERIAL PRIMARY KEY,
    username               TEXT NOT NULL UNIQUE,
    email                  TEXT NOT NULL UNIQUE,
    password_hash          TEXT NOT NULL,
    role                   TEXT NOT NULL,
    is_active              BIGINT NOT NULL,
    org_id                 TEXT REFERENCES organizations(id),
    can_create_ca          BIGINT NOT NULL,
    can_create_cert        BIGINT NOT NULL,
    can_revoke_cert        BIGINT NOT NULL,
    can_export_private_key BIGINT NOT NULL,
    can_delete_ca          BIGINT NOT NULL,
    tokens_invalidated_at  BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    expires_at  BIGINT NOT NULL,
    revoked     BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE blocked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
