//! The rest of Lamassu's CA-service reads: CAs by common name, certificates by status and by
//! expiration, the stats, and a CA's status change (revocation).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use certus_x509::RevocationReason;
use serde_json::Value;

use super::models::{CaCounts, CertificateCounts, Stats, StatusCounts};
use super::{
    CA_FIELDS, CaAuth, CaError, CaJson, CaResult, StatusChange, ca_json, certificate_page, given, list_query, live_cas,
    newest_certificates,
};
use crate::AppState;
use crate::lamassu::list::list_json;

/// CAs whose certificate's common name is `cn`, with the list query.
#[utoipa::path(get, path = "/api/ca/v1/cas/cn/{cn}", tag = "ca-v1", security(("bearer" = [])), responses((status = 200, body = super::models::Page<super::models::CertificateAuthority>), super::models::Errors))]
pub(super) async fn cas_by_cn(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(cn): Path<String>,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<super::models::Page<Value>>> {
    let cas: Vec<Value> = live_cas(&state, &caller)
        .await?
        .iter()
        .map(ca_json)
        .filter(|ca| ca["certificate"]["subject"]["common_name"] == cn.as_str())
        .collect();
    let (list, next) = list_json(&state.authority, cas, &list_query(raw), &CA_FIELDS)?;
    Ok(Json(super::models::Page { list, next }))
}

/// `{"status": "REVOKED", "revocation_reason": "KeyCompromise"}` revokes the CA: its
/// certificate in its parent's CRL and OCSP, what it issued with it; 201 with the CA.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/status", tag = "ca-v1", security(("bearer" = [])), request_body = StatusChange,
    responses((status = 201, body = super::models::CertificateAuthority), super::models::Errors))]
pub(super) async fn ca_status(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<StatusChange>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let bad = |m: String| CaError(StatusCode::BAD_REQUEST, m);
    let ca = state.authority.get_ca(&caller, &id).await?;
    match given(b.status).as_deref() {
        Some("REVOKED") if ca.row.revoked => return Err(bad("CA already revoked".into())),
        Some("REVOKED") => {
            let name = given(b.revocation_reason);
            let name = name.as_deref().unwrap_or("Unspecified");
            let reason = RevocationReason::from_text(name)
                .ok_or_else(|| bad(format!("unsupported revocation reason {name:?}")))?;
            state.authority.revoke_ca(&caller, &id, Some(reason.name())).await?;
        }
        other => return Err(bad(format!("new status transition not allowed for certificate: {other:?}"))),
    }
    Ok((StatusCode::CREATED, Json(ca_json(&state.authority.get_ca(&caller, &id).await?))))
}

fn status_filter(status: &str) -> CaResult<String> {
    match status {
        "ACTIVE" | "EXPIRED" | "REVOKED" => Ok(format!("status[eq]{status}")),
        other => {
            Err(CaError(StatusCode::BAD_REQUEST, format!("status must be ACTIVE, EXPIRED or REVOKED, not {other:?}")))
        }
    }
}

#[utoipa::path(get, path = "/api/ca/v1/certificates/status/{status}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = super::models::Page<super::models::Certificate>), super::models::Errors))]
pub(super) async fn certificates_by_status(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(status): Path<String>,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<super::models::Page<Value>>> {
    let filter = status_filter(&status)?;
    certificate_page(&state, &caller, None, raw, vec![filter]).await
}

#[utoipa::path(get, path = "/api/ca/v1/cas/{id}/certificates/status/{status}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = super::models::Page<super::models::Certificate>), super::models::Errors))]
pub(super) async fn ca_certificates_by_status(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path((id, status)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<super::models::Page<Value>>> {
    state.authority.get_ca(&caller, &id).await?;
    let filter = status_filter(&status)?;
    certificate_page(&state, &caller, Some(id), raw, vec![filter]).await
}

/// Certificates whose notAfter lies after `expires_after` and before `expires_before` (RFC 3339,
/// either optional), with the list query.
#[utoipa::path(get, path = "/api/ca/v1/certificates/expiration", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = super::models::Page<super::models::Certificate>), super::models::Errors))]
pub(super) async fn certificates_by_expiration(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<super::models::Page<Value>>> {
    let mut filters = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
        match &*k {
            "expires_after" if !v.is_empty() => filters.push(format!("valid_to[af]{v}")),
            "expires_before" if !v.is_empty() => filters.push(format!("valid_to[bf]{v}")),
            _ => {}
        }
    }
    certificate_page(&state, &caller, None, raw, filters).await
}

/// Counts by status of a list of certificate JSON objects.
fn status_distribution(certs: &[Value]) -> StatusCounts {
    let count = |status: &str| certs.iter().filter(|c| c["status"].as_str().unwrap_or("ACTIVE") == status).count();
    StatusCounts { active: count("ACTIVE"), expired: count("EXPIRED"), revoked: count("REVOKED") }
}

/// `CAStats`: CAs and certificates, in total and by status (certificates: the newest
/// 10,000, as the filtered lists see them).
#[utoipa::path(get, path = "/api/ca/v1/stats", tag = "ca-v1", security(("bearer" = [])), responses((status = 200, body = super::models::Stats), super::models::Errors))]
pub(super) async fn stats(State(state): State<AppState>, CaAuth(caller): CaAuth) -> CaResult<Json<Stats>> {
    let cas: Vec<Value> = live_cas(&state, &caller).await?.iter().map(ca_json).collect();
    let ca_certs: Vec<Value> = cas.iter().map(|c| c["certificate"].clone()).collect();
    let certs = newest_certificates(&state, &caller, None).await?;
    Ok(Json(Stats {
        cas: CaCounts {
            total: cas.len(),
            engine_distribution: Default::default(),
            status_distribution: status_distribution(&ca_certs),
        },
        certificates: CertificateCounts {
            total: certs.len(),
            ca_distribution: Default::default(),
            status_distribution: status_distribution(&certs),
        },
    }))
}

/// A CA's certificates by status: `{"ACTIVE": n, "EXPIRED": n, "REVOKED": n}`.
#[utoipa::path(get, path = "/api/ca/v1/stats/{id}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = super::models::StatusCounts), super::models::Errors))]
pub(super) async fn ca_stats(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
) -> CaResult<Json<StatusCounts>> {
    state.authority.get_ca(&caller, &id).await?;
    let certs = newest_certificates(&state, &caller, Some(id)).await?;
    Ok(Json(status_distribution(&certs)))
}
