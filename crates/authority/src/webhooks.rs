//! Webhooks: endpoints a tenant registers for events, the sender that drains the outbox (signed
//! `Certus-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, retried with backoff, at least
//! once), and the expiry scanner that enqueues `certificate.expiring` and `ca.expiring`.

use std::sync::Arc;
use std::time::Duration;

use certus_store::{DeliveryRow, WebhookRow};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::auth::{Caller, Scope};
use crate::error::{Error, NotFoundAs, Result};
use crate::{Authority, new_id};

/// The events an endpoint may ask for.
pub const EVENTS: [&str; 5] =
    ["certificate.issued", "certificate.revoked", "certificate.expiring", "ca.expiring", "crl.published"];
/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sender holds a leased delivery before another may try it.
const LEASE_SECS: i64 = 60;
/// Retry delays double from this, up to an hour.
const FIRST_RETRY_SECS: i64 = 2;
const MAX_RETRY_SECS: i64 = 3600;
/// Deliveries taken per pass.
const PASS_SIZE: i64 = 32;
/// How long a delivered delivery stays listed (`/v1/pki/webhooks/{id}/deliveries`): 30 days.
const DELIVERED_KEPT_SECS: i64 = 30 * 86_400;

/// A new endpoint.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// An http(s) URL.
    pub url: String,
    /// Event names from [`EVENTS`].
    pub events: Vec<String>,
    /// The HMAC secret (16 to 256 characters); a random one is made and returned when absent.
    pub secret: Option<String>,
}

/// An endpoint as shown.
#[derive(Debug, Clone)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// Its events.
    pub events: Vec<String>,
    /// When it was made.
    pub created_at: i64,
    /// The secret, only when Certus made it, this once.
    pub secret: Option<String>,
}

fn view(row: &WebhookRow) -> Result<WebhookView> {
    Ok(WebhookView {
        id: row.id.clone(),
        url: row.url.clone(),
        events: serde_json::from_str(&row.events_json).map_err(Error::internal)?,
        created_at: row.created_at,
        secret: None,
    })
}

/// The `Certus-Signature` value for `body` at `t`.
pub fn signature(secret: &[u8], t: i64, body: &str) -> String {
    let mac = certus_kms::hmac_sha256(secret, format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac))
}

fn check_url(url: &str) -> Result<()> {
    let uri: hyper::Uri = url.parse().map_err(|_| Error::malformed(format!("url {url:?} is not a URL")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) || url.len() > 2048 {
        return Err(Error::malformed("url must be an http:// or https:// URL with a host (at most 2048 characters)"));
    }
    Ok(())
}

impl Authority {
    /// Registers an endpoint of the caller's tenant.
    pub async fn create_webhook(&self, caller: &Caller, new: NewWebhook) -> Result<WebhookView> {
        caller.require(Scope::Admin)?;
        check_url(&new.url)?;
        if new.events.is_empty() {
            return Err(Error::malformed(format!("events must name at least one of {}", EVENTS.join(", "))));
        }
        let mut events = Vec::new();
        for e in &new.events {
            if !EVENTS.contains(&e.as_str()) {
                return Err(Error::malformed(format!("unknown event {e:?}; use {}", EVENTS.join(", "))));
            }
            if !events.contains(e) {
                events.push(e.clone());
            }
        }
        let made = new.secret.is_none();
        let secret = new.secret.unwrap_or_else(|| hex::encode(certus_kms::random_bytes::<32>()));
        if !(16..=256).contains(&secret.len()) {
            return Err(Error::malformed("secret must be 16 to 256 characters"));
        }
        let id = new_id("whk");
        let row = WebhookRow {
            id: id.clone(),
            tenant_id: caller.tenant_id.clone(),
            url: new.url,
            events_json: serde_json::to_string(&events).map_err(Error::internal)?,
            secret_sealed: self.kek.seal(id.as_bytes(), secret.as_bytes()),
            created_at: self.now_secs(),
        };
        let audit =
            self.audit_row(caller, "webhook.create", &id, format!("url={} events={}", row.url, events.join(",")));
        self.store.insert_webhook(&row, &audit).await?;
        Ok(WebhookView { secret: made.then_some(secret), ..view(&row)? })
    }

    /// The tenant's endpoints.
    pub async fn list_webhooks(&self, caller: &Caller) -> Result<Vec<WebhookView>> {
        self.store.list_webhooks(&caller.tenant_id).await?.iter().map(view).collect()
    }

    /// An endpoint of the tenant.
    pub async fn get_webhook(&self, caller: &Caller, id: &str) -> Result<WebhookView> {
        view(&self.store.get_webhook(&caller.tenant_id, id).await.not_found_as("webhook")?)
    }

    /// Removes an endpoint and its pending deliveries.
    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Scope::Admin)?;
        let audit = self.audit_row(caller, "webhook.delete", id, String::new());
        self.store.delete_webhook(&caller.tenant_id, id, &audit).await.not_found_as("webhook")
    }

    /// Enqueues a `webhook.test` delivery to the endpoint; returns its delivery id.
    pub async fn test_webhook(&self, caller: &Caller, id: &str) -> Result<String> {
        caller.require(Scope::Admin)?;
        self.store.enqueue_webhook_test(&caller.tenant_id, id, self.now_secs()).await.not_found_as("webhook")
    }

    /// An endpoint's latest deliveries.
    pub async fn webhook_deliveries(&self, caller: &Caller, id: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
        self.store.get_webhook(&caller.tenant_id, id).await.not_found_as("webhook")?;
        Ok(self.store.list_deliveries(id, limit.clamp(1, 500)).await?)
    }

    /// Deletes deliveries delivered more than [`DELIVERED_KEPT_SECS`] ago; returns how many.
    pub async fn sweep_webhook_deliveries(&self) -> Result<u64> {
        let before = self.now_secs() - DELIVERED_KEPT_SECS;
        crate::sweep_in_steps(|limit| self.store.sweep_delivered_webhooks(before, limit)).await
    }

    /// Sends what is due; returns how many deliveries were attempted.
    pub async fn send_due_webhooks(&self) -> Result<usize> {
        let now = self.now_secs();
        let due = self.store.lease_due_deliveries(now, now + LEASE_SECS, PASS_SIZE).await?;
        let count = due.len();
        let sends = due.into_iter().map(|(delivery, hook)| {
            let authority = self.clone();
            tokio::spawn(async move { authority.attempt(delivery, hook).await })
        });
        for send in sends.collect::<Vec<_>>() {
            if let Ok(Err(e)) = send.await {
                tracing::warn!(error = %e, "recording a webhook attempt failed");
            }
        }
        Ok(count)
    }

    async fn attempt(&self, delivery: DeliveryRow, hook: WebhookRow) -> Result<()> {
        let secret = self.kek.open(hook.id.as_bytes(), &hook.secret_sealed)?;
        let t = self.now_secs();
        let outcome =
            tokio::time::timeout(ATTEMPT_TIMEOUT, post(&hook.url, &delivery, &signature(&secret, t, &delivery.body)))
                .await
                .unwrap_or_else(|_| Err("timed out".into()));
        let now = self.now_secs();
        let failure = outcome.err().map(|e| {
            let delay = (FIRST_RETRY_SECS << delivery.attempts.clamp(0, 20)).min(MAX_RETRY_SECS);
            tracing::info!(delivery = %delivery.id, error = %e, retry_in = delay, "webhook delivery failed");
            (e, now + delay)
        });
        self.store.finish_delivery(&delivery.id, now, failure.as_ref().map(|(e, next)| (e.as_str(), *next))).await?;
        Ok(())
    }

    /// Enqueues expiry notices at these thresholds (days); returns how many.
    pub async fn scan_expiry(&self, thresholds_days: &[i64]) -> Result<u64> {
        Ok(self.store.enqueue_expiry_notices(self.now_secs(), thresholds_days).await?)
    }
}

/// POSTs one delivery; Ok on a 2xx answer.
async fn post(url: &str, delivery: &DeliveryRow, signature: &str) -> std::result::Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|_| "bad url".to_owned())?;
    let host = uri.host().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connect: {e}"))?;
    let request = hyper::Request::post(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(hyper::header::HOST, uri.authority().map(|a| a.as_str()).unwrap_or(&host))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "Certus webhooks")
        .header("certus-signature", signature)
        .header("certus-delivery", &delivery.id)
        .header("certus-event", &delivery.event)
        .body(Full::new(Bytes::from(delivery.body.clone())))
        .map_err(|e| e.to_string())?;
    let status = if https {
        let tls = tls_connector()?
            .connect(rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        send(TokioIo::new(tls), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    if status.is_success() { Ok(()) } else { Err(format!("answered {status}")) }
}

async fn send<T>(io: T, request: hyper::Request<Full<Bytes>>) -> std::result::Result<hyper::StatusCode, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    let connection = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    // Read (a bounded part of) the answer so the connection closes cleanly.
    let _ = Limited::new(response.into_body(), 4096).collect().await;
    connection.abort();
    Ok(status)
}

/// TLS to receivers, trusting the system's roots (where a private CA's root is installed).
fn tls_connector() -> std::result::Result<tokio_rustls::TlsConnector, String> {
    static CONFIG: std::sync::OnceLock<std::result::Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
    });
    config.clone().map(tokio_rustls::TlsConnector::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_over_time_dot_body() {
        let sig = signature(b"secret", 1700000000, "{}");
        let mac = certus_kms::hmac_sha256(b"secret", b"1700000000.{}");
        assert_eq!(sig, format!("t=1700000000,v1={}", hex::encode(mac)));
    }

    #[test]
    fn only_http_urls_with_a_host() {
        assert!(check_url("https://hooks.example.com/certus").is_ok());
        assert!(check_url("http://127.0.0.1:9000/x").is_ok());
        for bad in ["ftp://example.com/", "file:///etc/passwd", "example.com", "http://", "javascript:alert(1)"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
