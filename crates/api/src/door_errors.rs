//! Errors raised before a handler runs (axum's rejections of a path, query or body, the body
//! limit) come as text. This layer rewrites every non-JSON error into the JSON shape of the door
//! the path belongs to, keeping the status, so no caller ever gets a bare-text error.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The longest rejection text kept as the message.
const MESSAGE_LIMIT: usize = 4096;

/// Which door's error shape a path answers in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Door {
    /// `{"error": {"code", "message"}}`: the native API, walt.id, OCSP, CRLs and everything else.
    Native,
    /// `{"detail": "..."}`.
    FastPki,
    /// `{"err": "..."}`.
    Lamassu,
    /// RFC 7807 with an ACME error type.
    Acme,
    /// The web console: an HTML page.
    Console,
}

fn door_of(path: &[u8]) -> Door {
    if path.starts_with(b"/acme/") {
        Door::Acme
    } else if path == b"/ui" || path.starts_with(b"/ui/") {
        Door::Console
    } else if path.starts_with(b"/api/ca/v1") {
        Door::Lamassu
    } else if path.starts_with(b"/api/v1") {
        Door::FastPki
    } else {
        Door::Native
    }
}

/// The middleware: leaves successes and JSON errors alone.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    // EST clients expect plain-text errors (RFC 7030 §4.2.3); that door keeps its own.
    if req.uri().path().starts_with("/.well-known/est/") {
        return with_retry_after(next.run(req).await);
    }
    let door = door_of(req.uri().path().as_bytes());
    let res = next.run(req).await;
    let status = res.status();
    // ACME errors are problem documents even when the router's shared fallbacks answered;
    // the console's are pages.
    let keep = match door {
        Door::Acme => is_problem(&res),
        Door::Console => is_html(&res),
        _ => is_json(&res),
    };
    if !(status.is_client_error() || status.is_server_error()) || keep {
        return with_retry_after(res);
    }
    let (parts, body) = res.into_parts();
    let text = match axum::body::to_bytes(body, MESSAGE_LIMIT).await {
        Ok(bytes) if !bytes.is_empty() => {
            native_message(&bytes).unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut rewritten = door_error(door, status, &text);
    // Keep what the status needs (Allow, Retry-After, WWW-Authenticate), not the old body's type.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    with_retry_after(rewritten)
}

/// Seconds a client is asked to wait after a 503 (the database could not take the request).
const RETRY_AFTER_SECS: &str = "5";

/// Every door's 503 says when to try again (RFC 9110 §10.2.3; RFC 7030 §4.2.3, RFC 8555 §6.6),
/// unless the handler already said.
fn with_retry_after(mut res: Response) -> Response {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE && !res.headers().contains_key(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("application/problem+json"))
}

fn is_html(res: &Response) -> bool {
    res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"))
}

fn is_problem(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/problem+json"))
}

/// The message of a native-shape error body.
fn native_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("error")?.get("message")?.as_str().map(str::to_owned)
}

fn door_error(door: Door, status: StatusCode, message: &str) -> Response {
    let body = match door {
        Door::Console => return crate::console::error_page(status, message),
        Door::Native => json!({ "error": { "code": native_code(status), "message": message } }),
        Door::FastPki => json!({ "detail": message }),
        Door::Lamassu => json!({ "err": message }),
        Door::Acme => {
            let typ = if status.is_server_error() { "serverInternal" } else { "malformed" };
            json!({ "type": format!("urn:ietf:params:acme:error:{typ}"), "detail": message, "status": status.as_u16() })
        }
    };
    let content_type = if door == Door::Acme { "application/problem+json" } else { "application/json" };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn native_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "invalid_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_doors() {
        assert_eq!(door_of(b"/api/ca/v1/cas"), Door::Lamassu);
        assert_eq!(door_of(b"/api/v1/cas/"), Door::FastPki);
        assert_eq!(door_of(b"/v1/pki/ca"), Door::Native);
        assert_eq!(door_of(b"/ocsp/abc"), Door::Native);
        assert_eq!(door_of(b"/acme/web/new-order"), Door::Acme);
        assert_eq!(door_of(b"/ui/certificates"), Door::Console);
        assert_eq!(door_of(b"/uid"), Door::Native);
        assert_eq!(door_of(b"/v1/org.tenant.kms/kms-service-api/keys"), Door::Native);
    }

    #[test]
    fn a_503_says_when_to_retry() {
        let answer = |status: StatusCode| with_retry_after(status.into_response());
        assert_eq!(answer(StatusCode::SERVICE_UNAVAILABLE).headers()[header::RETRY_AFTER], RETRY_AFTER_SECS);
        assert!(!answer(StatusCode::INTERNAL_SERVER_ERROR).headers().contains_key(header::RETRY_AFTER));
        let own = (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "60")]).into_response();
        assert_eq!(with_retry_after(own).headers()[header::RETRY_AFTER], "60", "a handler's own value stays");
    }
}
