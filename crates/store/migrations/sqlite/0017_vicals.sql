-- VICAL services (ISO/IEC 18013-5 Annex C) of the mDL door: how each signs, and every VICAL it
-- published (the COSE_Sign1 as served).
CREATE TABLE vical_services (
    tenant_id          TEXT NOT NULL,
    service_id         TEXT NOT NULL,
    signing_key_path   TEXT NOT NULL,
    signer_entry_path  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id)
);

CREATE TABLE vicals (
    tenant_id    TEXT NOT NULL,
    service_id   TEXT NOT NULL,
    issue_id     INTEGER NOT NULL,
    cose         BLOB NOT NULL,
    entry_count  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, service_id, issue_id)
);
