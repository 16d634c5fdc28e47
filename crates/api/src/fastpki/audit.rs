//! `GET /api/v1/audit-logs/`: the product's one audit log, newest first, with the reference's
//! filters and visibility (superusers all, admins their organisation, users nothing).

use axum::extract::{Query, State};
use axum::routing::{any, get};
use axum::{Json, Router};
use certus_authority::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{FastPkiAuth, FastPkiError, FastPkiResult, int, to_collection};
use crate::AppState;
use crate::time_fmt::rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit-logs/", get(list)).route("/api/v1/audit-logs", any(to_collection))
}

/// FastPKI's `AuditAction` enum: the only values its `action` filter takes.
const ACTIONS: &[&str] = &[
    "ca_create",
    "ca_delete",
    "ca_export_private_key",
    "ca_update",
    "cert_create",
    "cert_revoke",
    "cert_export_private_key",
    "login_success",
    "login_failure",
    "user_create",
    "user_update",
    "org_create",
    "org_delete",
    "org_add_user",
    "org_remove_user",
    "service_account_create",
    "service_account_update",
    "service_account_delete",
    "service_account_token_create",
    "service_account_token_revoke",
];

/// The filters, read as text so that a bad value is FastAPI's 422.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// One of the reference's `AuditAction` values.
    action: Option<String>,
    #[param(value_type = Option<i64>)]
    user_id: Option<String>,
    resource_type: Option<String>,
    #[param(value_type = Option<i64>)]
    resource_id: Option<String>,
    /// ISO 8601; UTC without an offset.
    since: Option<String>,
    until: Option<String>,
    #[param(value_type = Option<i64>, minimum = 0)]
    skip: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One audit entry as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditLogResponse)]
struct AuditLogResponse {
    id: i64,
    created_at: String,
    action: String,
    user_id: Option<i64>,
    username: Option<String>,
    organization_id: Option<i64>,
    resource_type: Option<String>,
    resource_id: Option<i64>,
    detail: String,
}

impl From<&AuditEntry> for AuditLogResponse {
    fn from(e: &AuditEntry) -> Self {
        AuditLogResponse {
            id: e.id,
            created_at: rfc3339(e.at),
            action: e.action.clone(),
            user_id: e.user_id,
            username: e.username.clone(),
            organization_id: e.organization_id,
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id,
            detail: e.detail.clone(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit-logs/", tag = "api-v1", security(("bearer" = [])), params(AuditQuery), responses((status = 200, body = Vec<AuditLogResponse>), super::Errors))]
async fn list(
    State(s): State<AppState>,
    FastPkiAuth(session): FastPkiAuth,
    Query(q): Query<AuditQuery>,
) -> FastPkiResult<Json<Vec<AuditLogResponse>>> {
    let skip = int("skip", q.skip.as_deref(), 0)?;
    let limit = int("limit", q.limit.as_deref(), 100)?;
    if skip < 0 {
        return Err(FastPkiError::invalid("skip: Input should be greater than or equal to 0"));
    }
    if !(1..=1000).contains(&limit) {
        return Err(FastPkiError::invalid("limit: Input should be between 1 and 1000"));
    }
    if let Some(action) = q.action.as_deref().filter(|a| !ACTIONS.contains(a)) {
        let expected: Vec<String> = ACTIONS.iter().map(|a| format!("'{a}'")).collect();
        return Err(FastPkiError::invalid(format!(
            "action: Input should be {} ({action:?} is not one)",
            expected.join(", ")
        )));
    }
    let filter = AuditFilter {
        action: q.action,
        user_id: q.user_id.as_deref().map(|u| int("user_id", Some(u), 0)).transpose()?,
        resource_type: q.resource_type,
        resource_id: q.resource_id.as_deref().map(|r| int("resource_id", Some(r), 0)).transpose()?,
        since: super::instant("since", q.since.as_deref())?,
        until: super::instant("until", q.until.as_deref())?,
        skip,
        limit,
    };
    Ok(Json(s.authority.list_fastpki_audit(&session.user, filter).await?.iter().map(AuditLogResponse::from).collect()))
}
