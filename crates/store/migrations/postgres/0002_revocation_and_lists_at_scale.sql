-- OCSP responders, a revocation epoch per CA (invalidates cached OCSP answers on every node),
-- and one CRL Number sequence per CA shared by complete and delta CRLs (RFC 5280 §5.2.3).

ALTER TABLE cas ADD COLUMN revocation_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cas ADD COLUMN crl_counter BIGINT NOT NULL DEFAULT 0;
UPDATE cas SET crl_counter = COALESCE((SELECT crl_number FROM crls WHERE crls.ca_id = cas.id), 0);
-- The revocation epoch a CRL was built at: a different epoch now means it is out of date.
ALTER TABLE crls ADD COLUMN epoch BIGINT NOT NULL DEFAULT -1;

-- The delegated OCSP responder certificate of each CA (key sealed in keys).
CREATE TABLE ocsp_responders (
    ca_id       TEXT PRIMARY KEY REFERENCES cas(id),
    key_id      TEXT NOT NULL REFERENCES keys(id),
    cert_der    BYTEA NOT NULL,
    not_after   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- The current delta CRL of each CA: revocations since its base (complete) CRL.
CREATE TABLE delta_crls (
    ca_id        TEXT PRIMARY KEY REFERENCES cas(id),
    crl_number   BIGINT NOT NULL,
    base_number  BIGINT NOT NULL,
    der          BYTEA NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL,
    epoch        BIGINT NOT NULL
);

-- Lists read an index in their sort order and stop after one page: newest first per tenant or
-- per issuing CA, and soonest-expiring first for `expiring_within`.
CREATE INDEX certificates_tenant_issuer_created ON certificates (tenant_id, issuer_ca_id, created_at, id);
CREATE INDEX certificates_tenant_issuer_not_after ON certificates (tenant_id, issuer_ca_id, not_after, id);
DROP INDEX certificates_tenant_not_after;
CREATE INDEX certificates_tenant_not_after ON certificates (tenant_id, not_after, id);
