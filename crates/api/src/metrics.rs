//! `GET /metrics` (Prometheus text exposition, off the tenant API; behind a bearer token when one
//! is configured) and the layer that counts every request by route and status, times it, and
//! counts issuing requests refused before the pipeline.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use certus_authority::ErrorKind;

use crate::AppState;

/// The door a path belongs to, as the issuance counters name it.
fn door_of(path: &str) -> &'static str {
    if path.starts_with("/api/ca/v1") {
        "lamassu"
    } else if path.starts_with("/api/v1") || path.starts_with("/crl/") || path.starts_with("/ca/") {
        "fastpki"
    } else if path.starts_with("/acme/") {
        "acme"
    } else if path.starts_with("/.well-known/est") {
        "est"
    } else if path.starts_with("/ocsp") {
        "ocsp"
    } else if path.starts_with("/v1/pki") || path.starts_with("/v1/admin") || path.starts_with("/v1/auth") {
        "native"
    } else if path.starts_with("/v1/") {
        "mdl"
    } else if path == "/ui" || path.starts_with("/ui/") {
        "console"
    } else {
        "other"
    }
}

/// Counts and times the request; an issuing request that the engine refused for policy before
/// its pipeline counted anything is counted as `policy_refused`.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let door = door_of(req.uri().path());
    let issuing = crate::issue_limit::is_issuing(req.method(), req.uri().path());
    let (res, outcome) = certus_authority::in_request(door, next.run(req)).await;
    let metrics = state.authority.metrics();
    metrics.request(route.as_deref().unwrap_or("unmatched"), res.status().as_u16(), started.elapsed().as_secs_f64());
    if issuing && !outcome.pipeline_counted && outcome.error_kind == Some(ErrorKind::Policy) {
        metrics.count_issuance(door, "", "policy_refused");
    }
    res
}

/// The exposition.
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !certus_kms::ct_eq(given.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the metrics token\n",
            )
                .into_response();
        }
    }
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    match state.authority.render_metrics().await {
        Ok(text) if openmetrics => {
            ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                .into_response()
        }
        Ok(text) => {
            let text = certus_authority::prometheus_text(&text);
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e.message, "rendering metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doors_by_path() {
        assert_eq!(door_of("/v1/pki/issue/web"), "native");
        assert_eq!(door_of("/ui/certificates"), "console");
        assert_eq!(door_of("/api/v1/certificates/"), "fastpki");
        assert_eq!(door_of("/api/ca/v1/cas/x/certificates/sign"), "lamassu");
        assert_eq!(door_of("/acme/web/order/o/finalize"), "acme");
        assert_eq!(door_of("/.well-known/est/iot/simpleenroll"), "est");
        assert_eq!(door_of("/v1/org.tenant.x509/x509-service-api/iso/iacas"), "mdl");
    }
}
