//! `/api/v1/cas/`: root and intermediate CAs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use certus_authority::{ErrorKind, FastPkiCaView, NewFastPkiCa};
use certus_x509::{PemLabel, to_pem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FastPkiJson, FastPkiPrincipal, FastPkiResult, Ids, to_collection};
use crate::AppState;
use crate::time_fmt::rfc3339;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cas/", post(create).get(list))
        .route("/api/v1/cas", any(to_collection))
        .route("/api/v1/cas/{id}", get(read).delete(remove).patch(move_to_org))
        .route("/api/v1/cas/{id}/private-key", get(private_key))
        .route("/api/v1/cas/{id}/chain", get(chain))
        .route("/api/v1/cas/{id}/children", get(children))
}

/// A CA as the reference shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = CAResponse)]
pub(super) struct CaResponse {
    id: i64,
    name: String,
    description: Option<String>,
    subject_dn: String,
    key_size: i64,
    /// The validity asked for, or the days given when the parent's life cut it short.
    valid_days: i64,
    created_at: String,
    updated_at: String,
    /// The CA certificate, PEM.
    certificate: String,
    organization_id: Option<i64>,
    created_by_user_id: Option<i64>,
    created_by_service_account_id: Option<i64>,
    parent_ca_id: Option<i64>,
    path_length: Option<i64>,
    allow_leaf_certs: bool,
    crl_base_url: Option<String>,
    is_root: bool,
}

impl From<&FastPkiCaView> for CaResponse {
    fn from(ca: &FastPkiCaView) -> Self {
        CaResponse {
            id: ca.fastpki.id,
            name: ca.fastpki.name.clone(),
            description: ca.fastpki.description.clone(),
            subject_dn: ca.fastpki.subject_dn.clone(),
            key_size: ca.ca.key_size,
            valid_days: super::given_days(ca.fastpki.valid_days, ca.ca.valid_from, ca.ca.valid_until),
            created_at: rfc3339(ca.ca.created_at),
            updated_at: rfc3339(ca.fastpki.updated_at),
            certificate: to_pem(PemLabel::Certificate, &ca.ca.cert_der),
            organization_id: ca.org_num,
            created_by_user_id: ca.fastpki.created_by_user_id,
            created_by_service_account_id: ca.fastpki.created_by_service_account_id,
            parent_ca_id: ca.parent_num,
            path_length: ca.fastpki.path_length,
            allow_leaf_certs: ca.fastpki.allow_leaf_certs,
            crl_base_url: ca.fastpki.crl_base_url.clone(),
            is_root: ca.ca.parent_ca_id.is_none(),
        }
    }
}

/// A CA with its private key: PKCS#8 PEM, or null when the caller may not export it or it is
/// held on a PKCS#11 token.
#[derive(Serialize, ToSchema)]
#[schema(as = CADetailResponse)]
struct CaDetailResponse {
    #[serde(flatten)]
    ca: CaResponse,
    private_key: Option<String>,
}

fn with_key(ca: &FastPkiCaView, private_key: Option<String>) -> CaDetailResponse {
    CaDetailResponse { ca: ca.into(), private_key }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CACreate)]
struct CaBody {
    name: String,
    subject_dn: String,
    description: Option<String>,
    key_size: Option<i64>,
    valid_days: Option<i64>,
    parent_ca_id: Option<i64>,
    path_length: Option<i64>,
    allow_leaf_certs: Option<bool>,
    crl_base_url: Option<String>,
}

/// 201 with the reference's detail shape: `private_key` is the new CA's key when the caller may
/// export it (the same right, and the same audit entry, as `GET /cas/{id}/private-key`), else
/// null, and null for a key held on a PKCS#11 token.
#[utoipa::path(post, path = "/api/v1/cas/", tag = "api-v1", security(("bearer" = [])), request_body = CaBody, responses((status = 201, body = CaDetailResponse), super::Errors))]
async fn create(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    FastPkiJson(b): FastPkiJson<CaBody>,
) -> FastPkiResult<(StatusCode, Json<CaDetailResponse>)> {
    let req = NewFastPkiCa {
        name: b.name,
        subject_dn: b.subject_dn,
        description: b.description,
        key_size: b.key_size,
        valid_days: b.valid_days,
        parent_ca_id: b.parent_ca_id,
        path_length: b.path_length,
        allow_leaf_certs: b.allow_leaf_certs,
        crl_base_url: b.crl_base_url,
    };
    let ca = s.authority.create_fastpki_ca(&user, req).await?;
    let key = match s.authority.export_fastpki_ca_key(&user, ca.fastpki.id).await {
        Ok((_, pem)) => Some(pem),
        Err(e) if matches!(e.kind, ErrorKind::Forbidden | ErrorKind::Conflict) => None,
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::CREATED, Json(with_key(&ca, key))))
}

#[utoipa::path(get, path = "/api/v1/cas/", tag = "api-v1", security(("bearer" = [])), responses((status = 200, body = Vec<CaResponse>), super::Errors))]
async fn list(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
) -> FastPkiResult<Json<Vec<CaResponse>>> {
    Ok(Json(s.authority.list_fastpki_cas(&user).await?.iter().map(CaResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = CaResponse), super::Errors))]
async fn read(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<CaResponse>> {
    Ok(Json(CaResponse::from(&s.authority.read_fastpki_ca(&user, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = CaDetailResponse), super::Errors))]
async fn private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<CaDetailResponse>> {
    let (ca, pem) = s.authority.export_fastpki_ca_key(&user, id).await?;
    Ok(Json(with_key(&ca, Some(pem))))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/chain", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Vec<CaResponse>), super::Errors))]
async fn chain(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<CaResponse>>> {
    Ok(Json(s.authority.fastpki_ca_chain(&user, id).await?.iter().map(CaResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/cas/{id}/children", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Vec<CaResponse>), super::Errors))]
async fn children(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Json<Vec<CaResponse>>> {
    Ok(Json(s.authority.fastpki_ca_children(&user, id).await?.iter().map(CaResponse::from).collect()))
}

#[utoipa::path(delete, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), super::Errors))]
async fn remove(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<StatusCode> {
    s.authority.delete_fastpki_ca(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CAMove)]
struct MoveBody {
    organization_id: i64,
    #[serde(default)]
    cascade: bool,
}

/// Moves the CA (and what it issued; with `cascade`, its descendant CAs) to another
/// organisation: superusers only.
#[utoipa::path(patch, path = "/api/v1/cas/{id}", tag = "api-v1", security(("bearer" = [])), request_body = MoveBody, params(("id" = i64, Path)), responses((status = 200, body = CaResponse), super::Errors))]
async fn move_to_org(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
    FastPkiJson(b): FastPkiJson<MoveBody>,
) -> FastPkiResult<Json<CaResponse>> {
    Ok(Json(CaResponse::from(&s.authority.move_fastpki_ca(&user, id, b.organization_id, b.cascade).await?)))
}
