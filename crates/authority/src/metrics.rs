//! Prometheus metrics (text exposition through `prometheus-client`). Counters and histograms are
//! kept in memory per node; the inventory gauges (certificates expiring, CA lifetimes, CRL ages)
//! are read from the store at scrape time, at most every [`GAUGE_REFRESH`]. Labels are bounded:
//! doors, CA ids, routes, statuses and lint rules, never serials or names.

use std::cell::Cell;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::error::{ErrorKind, Result};

/// How stale the inventory gauges may be (bounds the store reads a burst of scrapes costs).
const GAUGE_REFRESH: Duration = Duration::from_secs(2);

type Labels = Vec<(&'static str, String)>;

/// What one request did, for the metrics layer: the door it came through, whether the pipeline
/// counted an issuance, and the kind of the engine error it answered with.
struct RequestNote {
    door: &'static str,
    pipeline_counted: Cell<bool>,
    error_kind: Cell<Option<ErrorKind>>,
}

tokio::task_local! {
    static REQUEST: RequestNote;
}

/// How a request ended, as far as the engine knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOutcome {
    /// The pipeline counted an issuance (issued or lint-refused).
    pub pipeline_counted: bool,
    /// The engine error the request answered with, if any.
    pub error_kind: Option<ErrorKind>,
}

/// Runs a request's future with its door noted, so engine events are counted by door.
pub async fn in_request<F: Future>(door: &'static str, fut: F) -> (F::Output, RequestOutcome) {
    let note = RequestNote { door, pipeline_counted: Cell::new(false), error_kind: Cell::new(None) };
    REQUEST
        .scope(note, async {
            let out = fut.await;
            let outcome = REQUEST
                .try_with(|n| RequestOutcome {
                    pipeline_counted: n.pipeline_counted.get(),
                    error_kind: n.error_kind.get(),
                })
                .unwrap_or_default();
            (out, outcome)
        })
        .await
}

/// Notes the kind of engine error a door answers with (called where doors render errors).
pub fn note_error(kind: ErrorKind) {
    let _ = REQUEST.try_with(|n| n.error_kind.set(Some(kind)));
}

fn current_door() -> &'static str {
    REQUEST.try_with(|n| n.door).unwrap_or("internal")
}

/// Inventory figures read from the store.
struct Inventory {
    expiring: Family<Labels, Gauge>,
    ca_expiry: Family<Labels, Gauge>,
    crl_age: Family<Labels, Gauge>,
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    issuance: Family<Labels, Counter>,
    lint_refusals: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    ocsp: Family<Labels, Counter>,
    batch: Histogram,
    inventory: Inventory,
    refreshed: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("certus");
        let issuance = Family::<Labels, Counter>::default();
        registry.register("issuance", "Issuance attempts by door, CA and outcome", issuance.clone());
        let lint_refusals = Family::<Labels, Counter>::default();
        registry.register(
            "lint_refusals",
            "Certificates the pre-issuance lint refused, by rule",
            lint_refusals.clone(),
        );
        let requests = Family::<Labels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        let latency =
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route",
            Unit::Seconds,
            latency.clone(),
        );
        let ocsp = Family::<Labels, Counter>::default();
        registry.register("ocsp_responses", "OCSP responses by response status", ocsp.clone());
        let batch = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register("group_commit_batch_size", "Issuances written per group-commit transaction", batch.clone());
        let inventory =
            Inventory { expiring: Family::default(), ca_expiry: Family::default(), crl_age: Family::default() };
        registry.register(
            "certificates_expiring",
            "Unrevoked certificates expiring within the window, per issuing CA",
            inventory.expiring.clone(),
        );
        registry.register_with_unit(
            "ca_expiry",
            "Seconds until each CA's certificate expires",
            Unit::Seconds,
            inventory.ca_expiry.clone(),
        );
        registry.register_with_unit(
            "crl_age",
            "Seconds since each CA's current complete CRL was built",
            Unit::Seconds,
            inventory.crl_age.clone(),
        );
        Metrics {
            registry,
            issuance,
            lint_refusals,
            requests,
            latency,
            ocsp,
            batch,
            inventory,
            refreshed: Mutex::new(None),
        }
    }
}

impl Metrics {
    /// An issuance through the pipeline (`issued` or `lint_refused`), or a refusal before it
    /// (`policy_refused`), by the current request's door.
    pub fn issuance(&self, ca_id: &str, outcome: &'static str) {
        let _ = REQUEST.try_with(|n| n.pipeline_counted.set(true));
        self.count_issuance(current_door(), ca_id, outcome);
    }

    /// Counts an issuance outcome for an explicit door.
    pub fn count_issuance(&self, door: &'static str, ca_id: &str, outcome: &'static str) {
        let labels = vec![("door", door.to_owned()), ("ca", ca_id.to_owned()), ("outcome", outcome.to_owned())];
        self.issuance.get_or_create(&labels).inc();
    }

    /// A lint refusal by rule.
    pub fn lint_refusal(&self, rule: &str) {
        self.lint_refusals.get_or_create(&vec![("rule", rule.to_owned())]).inc();
    }

    /// One HTTP request.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&vec![("route", route.to_owned()), ("status", status.to_string())]).inc();
        self.latency.get_or_create(&vec![("route", route.to_owned())]).observe(seconds);
    }

    /// One OCSP response.
    pub fn ocsp_response(&self, status: &'static str) {
        self.ocsp.get_or_create(&vec![("status", status.to_owned())]).inc();
    }

    /// One group-commit transaction of `size` issuances.
    pub fn batch(&self, size: usize) {
        self.batch.observe(size as f64);
    }

    fn encode(&self) -> Result<String> {
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(crate::Error::internal)?;
        Ok(out)
    }
}

/// OpenMetrics text as Prometheus's 0.0.4 text format (what `promtool check metrics` and
/// older scrapers read): counter families are named with their `_total`, and the `# UNIT` and
/// `# EOF` lines go.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> =
        openmetrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

impl crate::Authority {
    /// This node's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The text exposition, with the inventory gauges refreshed if stale.
    pub async fn render_metrics(&self) -> Result<String> {
        let stale = {
            let mut at = self.metrics.refreshed.lock().unwrap_or_else(|p| p.into_inner());
            let stale = at.is_none_or(|t| t.elapsed() >= GAUGE_REFRESH);
            if stale {
                *at = Some(Instant::now());
            }
            stale
        };
        if stale {
            let now = self.now_secs();
            let rows = self.store.inventory_gauges(now).await?;
            let inv = &self.metrics.inventory;
            inv.expiring.clear();
            for (ca, window, count) in rows.expiring {
                inv.expiring.get_or_create(&vec![("ca", ca), ("within", window.to_owned())]).set(count);
            }
            inv.ca_expiry.clear();
            for (ca, not_after) in rows.ca_not_after {
                inv.ca_expiry.get_or_create(&vec![("ca", ca)]).set(not_after - now);
            }
            inv.crl_age.clear();
            for (ca, this_update) in rows.crl_this_update {
                inv.crl_age.get_or_create(&vec![("ca", ca)]).set(now - this_update);
            }
        }
        self.metrics.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_counters_become_prometheus_text() {
        let om = "# HELP certus_x Things.\n# TYPE certus_x counter\ncertus_x_total{a=\"b\"} 1\n\
                  # HELP certus_age_seconds Age.\n# TYPE certus_age_seconds gauge\n# UNIT certus_age_seconds seconds\n\
                  certus_age_seconds 3\n# EOF\n";
        let text = prometheus_text(om);
        assert_eq!(
            text,
            "# HELP certus_x_total Things.\n# TYPE certus_x_total counter\ncertus_x_total{a=\"b\"} 1\n\
             # HELP certus_age_seconds Age.\n# TYPE certus_age_seconds gauge\ncertus_age_seconds 3\n"
        );
    }

    #[tokio::test]
    async fn door_and_outcome_follow_the_request() {
        let m = Metrics::default();
        let ((), outcome) = in_request("acme", async {
            m.issuance("ca1", "issued");
            note_error(ErrorKind::Policy);
        })
        .await;
        assert!(outcome.pipeline_counted && outcome.error_kind == Some(ErrorKind::Policy));
        m.issuance("ca1", "issued");
        let text = prometheus_text(&m.encode().unwrap());
        assert!(text.contains(r#"certus_issuance_total{door="acme",ca="ca1",outcome="issued"} 1"#), "{text}");
        assert!(text.contains(r#"certus_issuance_total{door="internal",ca="ca1",outcome="issued"} 1"#), "{text}");
    }
}
