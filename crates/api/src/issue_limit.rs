//! The rate limit on issuing routes: per bearer token and per client address, in one-minute
//! windows shared by every node through the database; over it, 429 with `Retry-After` (the door
//! layer gives the body its door's shape). Off while the limit is 0.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Whether the request asks for a certificate to be signed, on any door.
pub(crate) fn is_issuing(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    let under = |prefix: &str, suffix: &str| path.starts_with(prefix) && path.ends_with(suffix);
    path.starts_with("/v1/pki/issue/")
        || path.starts_with("/v1/pki/sign/")
        || under("/v1/pki/certificates/", "/renew")
        || under("/v1/pki/csr/", "/sign")
        || path == "/api/v1/certificates/"
        || path == "/api/v1/certificates/sign-csr"
        || under("/api/v1/certificates/", "/renew")
        || under("/api/ca/v1/cas/", "/certificates/sign")
        || (path.starts_with("/v1/") && path.contains("/x509-service-api/"))
        || under("/acme/", "/finalize")
        || (path.starts_with("/.well-known/est/")
            && ["/simpleenroll", "/simplereenroll", "/serverkeygen"].iter().any(|op| path.ends_with(op)))
}

pub(crate) async fn issue_rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.issue_rate_limit == 0 || !is_issuing(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let mut buckets = Vec::with_capacity(2);
    if let Some(token) = req.headers().get(header::AUTHORIZATION) {
        // Keyed digest: the bucket name reveals nothing about the token.
        let tag = state.authority.mac(token.as_bytes());
        buckets.push(format!("token:{}", hex::encode(&tag[..16.min(tag.len())])));
    }
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        buckets.push(format!("addr:{}", peer.ip()));
    }
    match state.authority.issue_allowed(&buckets, state.issue_rate_limit).await {
        Ok(None) => next.run(req).await,
        Ok(Some(retry_after)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after.to_string())],
            format!("more than {} issuing requests this minute; retry later", state.issue_rate_limit),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e.message, "rate limit check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the rate limit could not be checked").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuing_routes_of_every_door() {
        for path in [
            "/v1/pki/issue/web",
            "/v1/pki/sign/web",
            "/v1/pki/certificates/cert_1/renew",
            "/v1/pki/csr/csr_1/sign",
            "/api/v1/certificates/",
            "/api/v1/certificates/sign-csr",
            "/api/v1/certificates/7/renew",
            "/api/ca/v1/cas/ca1/certificates/sign",
            "/v1/o.t.x509/x509-service-api/iso/iacas",
            "/acme/web/order/order_1/finalize",
            "/.well-known/est/iot/simpleenroll",
        ] {
            assert!(is_issuing(&Method::POST, path), "{path}");
        }
        assert!(!is_issuing(&Method::GET, "/v1/pki/issue/web"));
        assert!(!is_issuing(&Method::POST, "/v1/pki/roles"));
        assert!(!is_issuing(&Method::POST, "/v1/pki/revoke"));
    }
}
