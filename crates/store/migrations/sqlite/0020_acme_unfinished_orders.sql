-- Orders not (yet) valid, by expiry: the sweep of long-expired ones reads this instead of every
-- order ever issued.
CREATE INDEX acme_orders_unfinished ON acme_orders (expires_at) WHERE status <> 'valid';
