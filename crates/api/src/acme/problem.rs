//! Engine errors as RFC 7807 problem documents with ACME error types (RFC 8555 §6.7).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certus_authority::{DetailValue, Error, ErrorKind};
use serde_json::{Value, json};

/// The ACME error types Certus uses, with their statuses.
const TYPES: &[(&str, u16)] = &[
    ("accountDoesNotExist", 400),
    ("alreadyReplaced", 409),
    ("alreadyRevoked", 400),
    ("badCSR", 400),
    ("badNonce", 400),
    ("badPublicKey", 400),
    ("badRevocationReason", 400),
    ("badSignatureAlgorithm", 400),
    ("externalAccountRequired", 403),
    ("invalidContact", 400),
    ("invalidProfile", 400),
    ("malformed", 400),
    ("orderNotReady", 403),
    ("rateLimited", 429),
    ("rejectedIdentifier", 400),
    ("serverInternal", 500),
    ("unauthorized", 403),
    ("unsupportedContact", 400),
    ("unsupportedIdentifier", 400),
    ("userActionRequired", 403),
];

/// An error on the ACME door.
pub(crate) struct AcmeError(Error);

impl From<Error> for AcmeError {
    fn from(e: Error) -> Self {
        certus_authority::note_error(e.kind);
        AcmeError(e)
    }
}

fn typed(code: &str) -> Option<(&'static str, u16)> {
    TYPES.iter().find(|(t, _)| *t == code).copied()
}

impl IntoResponse for AcmeError {
    fn into_response(self) -> Response {
        let e = self.0;
        let code = e.detail.as_ref().map(|d| d.code).unwrap_or_default();
        // keyChange to a key another account holds: 409 naming that account (RFC 8555 §7.3.5).
        if code == "keyInUse" {
            let mut res =
                problem_response("malformed", StatusCode::CONFLICT, "the new key belongs to another account", None);
            if let Ok(v) = HeaderValue::from_str(&e.message) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            return res;
        }
        let (typ, status) = match typed(code) {
            Some((t, s)) => (t, s),
            None => match e.kind {
                ErrorKind::Malformed => ("malformed", 400),
                ErrorKind::Policy => ("rejectedIdentifier", 400),
                ErrorKind::Unauthorized | ErrorKind::Forbidden => ("unauthorized", 403),
                ErrorKind::NotFound => ("malformed", 404),
                ErrorKind::Conflict => ("malformed", 409),
                // RFC 8555 has no type for it; 503 with Retry-After says to come back.
                ErrorKind::Unavailable => ("serverInternal", 503),
                _ => ("serverInternal", 500),
            },
        };
        // A missing resource answers 404 whatever its type.
        let status = if e.kind == ErrorKind::NotFound { 404 } else { status };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let message = if status.is_server_error() && e.kind != ErrorKind::Unavailable {
            tracing::error!(error = %e.message, "ACME request failed");
            "internal error".to_owned()
        } else {
            e.message
        };
        let subproblems = e.detail.as_ref().filter(|d| d.field == Some("subproblems")).and_then(|d| match &d.value {
            Some(DetailValue::Text(t)) => serde_json::from_str::<Vec<Value>>(t).ok(),
            _ => None,
        });
        problem_response(typ, status, &message, subproblems)
    }
}

fn problem_response(typ: &str, status: StatusCode, detail: &str, subproblems: Option<Vec<Value>>) -> Response {
    let mut body = json!({
        "type": format!("urn:ietf:params:acme:error:{typ}"),
        "detail": detail,
        "status": status.as_u16(),
    });
    if let Some(list) = subproblems {
        body["subproblems"] = Value::Array(
            list.into_iter()
                .map(|s| {
                    json!({
                        "type": format!("urn:ietf:params:acme:error:{}", s["problem"].as_str().unwrap_or("malformed")),
                        "detail": s["detail"],
                        "identifier": {"type": s["type"], "value": s["value"]},
                    })
                })
                .collect(),
        );
    }
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}
