-- The certificates of a kept or KMS key (walt.id's CA-signed generic certificates name their
-- issuer by the certificate Certus holds for the issuer key). Partial: most leaves keep no key.
CREATE INDEX certificates_by_key ON certificates (tenant_id, key_id, created_at) WHERE key_id IS NOT NULL;
