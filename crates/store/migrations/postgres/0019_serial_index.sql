-- Serials are random, so every index that holds one takes a write on a random page per
-- issuance. One index now serves every serial lookup: (serial, issuer) keeps a CA's serials
-- unique, answers OCSP and CRL lookups (serial and issuer), a tenant's lookup by serial (serial,
-- then the tenant checked on the row) and the CA-revoked test; the tenant-first one goes.
DROP INDEX certificates_tenant_serial;
DROP INDEX certificates_issuer_serial;
CREATE UNIQUE INDEX certificates_serial_issuer ON certificates (serial, issuer_ca_id);
