-- A CRL reads its CA's revoked, unexpired certificates in (revoked_at, serial) order. A partial
-- covering index answers that from the index alone, in order, and an issuance (never revoked
-- when written) no longer writes to it.
DROP INDEX certificates_issuer_revoked;
CREATE INDEX certificates_issuer_revoked ON certificates (issuer_ca_id, revoked_at, serial, not_after, revocation_reason)
    WHERE revoked_at IS NOT NULL;
