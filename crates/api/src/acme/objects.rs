//! ACME resources as JSON (RFC 8555 §7.1).

use certus_authority::{AcmeAccountRow, AcmeAuthzRow};
use certus_authority::{AcmeUrls, OrderView, offered_challenges};
use serde_json::{Value, json};

use crate::time_fmt::rfc3339;

/// A stored problem document, or null.
fn stored_problem(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

pub(super) fn account_json(urls: &AcmeUrls, a: &AcmeAccountRow) -> Value {
    let contact: Value = serde_json::from_str(&a.contact_json).unwrap_or_else(|_| json!([]));
    let key: Value = serde_json::from_str(&a.jwk).unwrap_or(Value::Null);
    json!({
        "status": a.status,
        "contact": contact,
        "key": key,
        "orders": urls.at(&format!("account/{}/orders", a.id)),
        "createdAt": rfc3339(a.created_at),
    })
}

pub(super) fn order_json(urls: &AcmeUrls, o: &OrderView) -> Value {
    let r = &o.row;
    let identifiers: Value = serde_json::from_str(&r.identifiers_json).unwrap_or_else(|_| json!([]));
    let mut v = json!({
        "status": r.status,
        "expires": rfc3339(r.expires_at),
        "identifiers": identifiers,
        "authorizations": o.authz_ids.iter().map(|id| urls.at(&format!("authz/{id}"))).collect::<Vec<_>>(),
        "finalize": urls.at(&format!("order/{}/finalize", r.id)),
    });
    if r.certificate_id.is_some() && r.status == "valid" {
        v["certificate"] = json!(urls.at(&format!("cert/{}", r.id)));
    }
    if let Some(p) = &r.profile {
        v["profile"] = json!(p);
    }
    if let Some(id) = &r.replaces {
        v["replaces"] = json!(id);
    }
    if let Some(e) = stored_problem(&r.error_json) {
        v["error"] = e;
    }
    v
}

pub(super) fn authz_json(urls: &AcmeUrls, a: &AcmeAuthzRow) -> Value {
    let status = if a.status == "processing" { "pending" } else { a.status.as_str() };
    let challenges: Vec<Value> = offered_challenges(a).into_iter().map(|t| challenge_json(urls, a, t)).collect();
    let mut v = json!({
        "identifier": {"type": a.id_type, "value": a.id_value},
        "status": status,
        "expires": rfc3339(a.expires_at),
        "challenges": challenges,
    });
    if a.wildcard {
        v["wildcard"] = json!(true);
    }
    v
}

/// A challenge of an authorization: the chosen one follows the authorization's state; the
/// others stay pending.
pub(super) fn challenge_json(urls: &AcmeUrls, a: &AcmeAuthzRow, typ: &str) -> Value {
    let chosen = a.chall_type.as_deref() == Some(typ);
    let status = if chosen {
        match a.status.as_str() {
            "valid" => "valid",
            "invalid" => "invalid",
            "processing" => "processing",
            _ => "pending",
        }
    } else {
        "pending"
    };
    let mut v = json!({
        "type": typ,
        "url": urls.at(&format!("chall/{}/{typ}", a.id)),
        "token": a.token,
        "status": status,
    });
    if chosen {
        if let Some(at) = a.validated_at {
            v["validated"] = json!(rfc3339(at));
        }
        if let Some(e) = stored_problem(&a.error_json) {
            v["error"] = e;
        }
    }
    v
}
