//! Webhook endpoints and their outbox. Events are enqueued inside the transaction that makes
//! them true (`enqueue`), one delivery per subscribed endpoint of the tenant, so a delivery is
//! never lost and never announces what did not commit. Senders lease due deliveries, so each
//! goes out from one node at a time.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Backend, Sql};
use crate::error::{Error, Result, found};
use crate::exec::Exec;
use crate::records::AuditRow;
use crate::store::Store;

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Where deliveries go (http or https).
    pub url: String,
    /// JSON array of the event names it receives.
    pub events_json: String,
    /// The HMAC secret, sealed under the KEK.
    pub secret_sealed: Vec<u8>,
    /// When it was made.
    pub created_at: i64,
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Its id (the receiver's idempotence key).
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event name.
    pub event: String,
    /// The JSON body.
    pub body: String,
    /// `pending` or `delivered`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next tried.
    pub next_attempt_at: i64,
    /// What the last failed attempt met.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When the receiver accepted it.
    pub delivered_at: Option<i64>,
}

const WEBHOOK_COLUMNS: &str = "SELECT id, tenant_id, url, events, secret_sealed, created_at FROM webhooks";
const DELIVERY_COLUMNS: &str = "SELECT id, webhook_id, event, body, status, attempts, next_attempt_at, last_error, \
                                created_at, delivered_at FROM webhook_deliveries";

fn webhook_row(r: &AnyRow) -> Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        url: r.try_get("url")?,
        events_json: r.try_get("events")?,
        secret_sealed: r.try_get("secret_sealed")?,
        created_at: r.try_get("created_at")?,
    })
}

fn delivery_row(r: &AnyRow) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        event: r.try_get("event")?,
        body: r.try_get("body")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

fn event_id() -> String {
    let bytes = certus_kms::random_bytes::<8>();
    format!("evt_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Which endpoints of a tenant get an event.
enum Recipients<'a> {
    /// Those registered for it.
    Subscribed,
    /// This one (a test delivery).
    Endpoint(&'a str),
}

/// Enqueues `event` for every endpoint of the tenant that receives it, in the caller's
/// transaction. The body is `{"id", "type", "created", "tenant_id", "data"}`; each delivery's
/// id is the event id and the endpoint id.
pub(crate) async fn enqueue(
    tx: &mut impl Exec,
    tenant_id: &str,
    event: &str,
    data: serde_json::Value,
    at: i64,
) -> Result<()> {
    insert_deliveries(tx, tenant_id, event, data, at, Recipients::Subscribed).await.map(|_| ())
}

/// Writes the deliveries of one event; returns the event id and how many were written.
async fn insert_deliveries(
    tx: &mut impl Exec,
    tenant_id: &str,
    event: &str,
    data: serde_json::Value,
    at: i64,
    to: Recipients<'_>,
) -> Result<(String, u64)> {
    let id = event_id();
    let body = serde_json::json!({"id": id, "type": event, "created": at, "tenant_id": tenant_id, "data": data});
    let (filter, value) = match to {
        Recipients::Subscribed => ("w.events LIKE $6", format!("%\"{event}\"%")),
        Recipients::Endpoint(webhook_id) => ("w.id = $6", webhook_id.to_owned()),
    };
    let sql = format!(
        "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event, body, status, attempts, next_attempt_at, \
         lease_until, created_at) \
         SELECT $1 || '.' || w.id, w.id, w.tenant_id, $2, $3, 'pending', 0, $4, 0, $4 FROM webhooks w \
         WHERE w.tenant_id = $5 AND {filter}"
    );
    let sql = Sql::new(&sql).arg(&id).arg(event).arg(body.to_string()).arg(at).arg(tenant_id).arg(value);
    let written = tx.run(sql).await?;
    Ok((id, written))
}

/// Enqueues `certificate.issued` for each certificate whose tenant has an endpoint for it
/// (one query per batch finds those tenants; none costs nothing more).
pub(crate) async fn announce_issued(tx: &mut impl Exec, certs: &[&crate::records::CertRow]) -> Result<()> {
    let subscribed: Vec<String> = tx
        .fetch(Sql::new("SELECT DISTINCT tenant_id FROM webhooks WHERE events LIKE '%\"certificate.issued\"%'"))
        .await?;
    for c in certs.iter().filter(|c| subscribed.contains(&c.tenant_id)) {
        let data = serde_json::json!({"certificate_id": c.id, "serial": c.serial, "issuer_ca_id": c.issuer_ca_id,
                                      "common_name": c.common_name, "not_after": c.not_after, "source": c.source});
        enqueue(tx, &c.tenant_id, "certificate.issued", data, c.created_at).await?;
    }
    Ok(())
}

impl Store {
    /// Stores an endpoint with its audit entry.
    pub async fn insert_webhook(&self, w: &WebhookRow, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, events, secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&w.id)
        .bind(&w.tenant_id)
        .bind(&w.url)
        .bind(&w.events_json)
        .bind(&w.secret_sealed)
        .bind(w.created_at)
        .execute(&mut *tx)
        .await?;
        crate::audit::append(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's endpoints.
    pub async fn list_webhooks(&self, tenant_id: &str) -> Result<Vec<WebhookRow>> {
        let sql = format!("{WEBHOOK_COLUMNS} WHERE tenant_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).fetch_all(self.pool()).await?;
        rows.iter().map(webhook_row).collect()
    }

    /// An endpoint of the tenant.
    pub async fn get_webhook(&self, tenant_id: &str, id: &str) -> Result<WebhookRow> {
        let sql = format!("{WEBHOOK_COLUMNS} WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(webhook_row).transpose()?.ok_or(Error::NotFound)
    }

    /// Deletes an endpoint of the tenant with its deliveries.
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str, audit: &AuditRow) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // The audit head before the endpoint's row: an issuance batch holds the head while its
        // deliveries' foreign keys wait on that row, so the other order could deadlock with it.
        crate::audit::append(&mut tx, &[audit]).await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        found(&done)?;
        tx.commit().await?;
        Ok(())
    }

    /// Enqueues a test event for one endpoint of the tenant; returns the delivery id.
    pub async fn enqueue_webhook_test(&self, tenant_id: &str, webhook_id: &str, at: i64) -> Result<String> {
        let mut tx = self.begin_write().await?;
        let data = serde_json::json!({"webhook_id": webhook_id});
        let to = Recipients::Endpoint(webhook_id);
        let (id, written) = insert_deliveries(&mut tx, tenant_id, "webhook.test", data, at, to).await?;
        if written == 0 {
            return Err(Error::NotFound);
        }
        tx.commit().await?;
        Ok(format!("{id}.{webhook_id}"))
    }

    /// An endpoint's latest deliveries, newest first.
    pub async fn list_deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
        let sql = format!("{DELIVERY_COLUMNS} WHERE webhook_id = $1 ORDER BY created_at DESC, id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(webhook_id).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(delivery_row).collect()
    }

    /// Leases up to `limit` due deliveries until `lease_until`, with their endpoints. A leased
    /// delivery is not handed to another sender until the lease runs out.
    pub async fn lease_due_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<(DeliveryRow, WebhookRow)>> {
        // A read first: an empty outbox costs no write lock.
        let any_due = sqlx::query(
            "SELECT 1 AS one FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND lease_until <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        // On PostgreSQL the due rows are locked here, at once, skipping any another transaction
        // holds: taken one UPDATE at a time, they could wait on an endpoint's deletion (whose
        // cascade locks its deliveries in another order) while it waited on them, a deadlock.
        // SQLite's writers never overlap.
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "{DELIVERY_COLUMNS} WHERE status = 'pending' AND next_attempt_at <= $1 AND lease_until <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2{lock}"
        );
        let due = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(&mut *tx).await?;
        let mut out = Vec::with_capacity(due.len());
        for row in &due {
            let d = delivery_row(row)?;
            // The lease condition again: another node may have taken it since the read.
            let took = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 AND status = 'pending' AND lease_until <= $3",
            )
            .bind(lease_until)
            .bind(&d.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if took.rows_affected() != 1 {
                continue;
            }
            let sql = format!("{WEBHOOK_COLUMNS} WHERE id = $1");
            if let Some(w) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&d.webhook_id).fetch_optional(&mut *tx).await? {
                out.push((d, webhook_row(&w)?));
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records an attempt: delivered, or failed with the time of the next try.
    pub async fn finish_delivery(&self, id: &str, at: i64, failure: Option<(&str, i64)>) -> Result<()> {
        let query = match failure {
            None => sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, \
                 lease_until = 0, last_error = NULL WHERE id = $2",
            )
            .bind(at)
            .bind(id),
            Some((error, next)) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, \
                 lease_until = 0 WHERE id = $3",
            )
            .bind(error)
            .bind(next)
            .bind(id),
        };
        query.execute(self.pool()).await?;
        Ok(())
    }

    /// Deletes up to `limit` deliveries that were delivered before `before`; returns how many.
    /// Pending ones (still being retried) are never deleted here. The due index (status, next
    /// attempt) finds them: a delivered row was last due no later than it was delivered.
    pub async fn sweep_delivered_webhooks(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE status = 'delivered' AND next_attempt_at < $1 AND delivered_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Enqueues `certificate.expiring` and `ca.expiring` for tenants that receive them, once per
    /// certificate (or CA) and threshold: a subject past several thresholds gets one notice, for
    /// the nearest, and all of them count as sent. Returns how many notices were enqueued.
    pub async fn enqueue_expiry_notices(&self, now: i64, thresholds_days: &[i64]) -> Result<u64> {
        let mut ascending = thresholds_days.to_vec();
        ascending.sort_unstable();
        ascending.dedup();
        let mut sent = 0;
        for (event, sql) in [
            (
                "certificate.expiring",
                "SELECT c.id AS subject, c.tenant_id, c.not_after, c.serial, c.issuer_ca_id, c.common_name \
                 FROM certificates c WHERE c.revoked_at IS NULL AND c.not_after > $1 AND c.not_after <= $2 \
                 AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = c.tenant_id AND w.events LIKE $3) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_expiry_sent s WHERE s.subject = c.id AND s.threshold_days = $4) \
                 ORDER BY c.not_after LIMIT 1000",
            ),
            (
                "ca.expiring",
                "SELECT c.id AS subject, c.tenant_id, c.valid_until AS not_after, c.serial, c.id AS issuer_ca_id, \
                 c.name AS common_name FROM cas c WHERE c.valid_until > $1 AND c.valid_until <= $2 \
                 AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = c.tenant_id AND w.events LIKE $3) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_expiry_sent s WHERE s.subject = c.id AND s.threshold_days = $4) \
                 ORDER BY c.valid_until LIMIT 1000",
            ),
        ] {
            // Nearest threshold first: a subject handled there is marked for the wider ones too.
            for &window in &ascending {
                let rows = sqlx::query(sql)
                    .bind(now)
                    .bind(now + window * 86_400)
                    .bind(format!("%\"{event}\"%"))
                    .bind(window)
                    .fetch_all(self.pool())
                    .await?;
                for r in rows {
                    if self.notify_expiry(event, &r, now, &ascending).await? {
                        sent += 1;
                    }
                }
            }
        }
        Ok(sent)
    }

    /// One expiry notice, marked sent for every threshold it crossed; false if another node
    /// sent it first.
    async fn notify_expiry(&self, event: &str, r: &AnyRow, now: i64, ascending: &[i64]) -> Result<bool> {
        let subject: String = r.try_get("subject")?;
        let not_after: i64 = r.try_get("not_after")?;
        let crossed: Vec<i64> = ascending.iter().copied().filter(|d| not_after - now <= d * 86_400).collect();
        let Some(&nearest) = crossed.first() else { return Ok(false) };
        let mut tx = self.begin_write().await?;
        let mut fresh = false;
        for d in &crossed {
            let done = sqlx::query(
                "INSERT INTO webhook_expiry_sent (subject, threshold_days) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&subject)
            .bind(d)
            .execute(&mut *tx)
            .await?;
            fresh |= *d == nearest && done.rows_affected() == 1;
        }
        if !fresh {
            return Ok(false);
        }
        let data = serde_json::json!({
            "id": subject,
            "serial": r.try_get::<String, _>("serial")?,
            "issuer_ca_id": r.try_get::<Option<String>, _>("issuer_ca_id")?,
            "name": r.try_get::<Option<String>, _>("common_name")?,
            "not_after": not_after,
            "threshold_days": nearest,
        });
        enqueue(&mut tx, &r.try_get::<String, _>("tenant_id")?, event, data, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}
