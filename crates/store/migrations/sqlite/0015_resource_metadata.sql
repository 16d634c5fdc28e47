-- Free-form JSON metadata of CAs and certificates, as /api/ca/v1 keeps it (patched with RFC 6902
-- JSON Patch). Beside the rows, never in them: the hot certificate rows stay as they are.
CREATE TABLE resource_metadata (
    resource   TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    metadata   TEXT NOT NULL
);
CREATE INDEX resource_metadata_by_tenant ON resource_metadata (tenant_id);
