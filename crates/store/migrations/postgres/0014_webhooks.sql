-- Webhook endpoints of a tenant and their outbox. A delivery row is written in the transaction
-- of the event it reports (issuance, revocation, CRL) and stays until delivered: retried with
-- backoff, on any node, and one node at a time (lease_until).
CREATE TABLE webhooks (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    url            TEXT NOT NULL,
    -- JSON array of event names.
    events         TEXT NOT NULL,
    -- The HMAC secret, sealed under the KEK (AAD: the webhook id).
    secret_sealed  BYTEA NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);

-- Expiry notices already sent: a certificate or CA, per threshold (days).
CREATE TABLE webhook_expiry_sent (
    subject         TEXT NOT NULL,
    threshold_days  BIGINT NOT NULL,
    PRIMARY KEY (subject, threshold_days)
);
