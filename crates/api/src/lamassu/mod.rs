//! The `/api/ca/v1` front door (spec: issuance-profiles.txt): issuance profiles, with that
//! product's list query (`page_size`, `bookmark`, `sort_by`, `sort_mode`, repeated `filter`) and
//! its error shape `{"err": "..."}`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
pub(crate) mod list;
mod managed;
mod metadata;
pub(crate) mod models;
mod signature;
mod views;

use certus_authority::{Caller, CertStatus, Error, ProfileView};
use certus_x509::RevocationReason;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use list::{Fields, ListQuery, list_json};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// This front door's errors: `{"err": "..."}`.
pub(crate) struct CaError(StatusCode, String);

impl From<Error> for CaError {
    fn from(e: Error) -> Self {
        match crate::error::door_status(&e) {
            Some(status) => CaError(status, e.message),
            None => CaError(StatusCode::INTERNAL_SERVER_ERROR, crate::error::INTERNAL.into()),
        }
    }
}

impl IntoResponse for CaError {
    fn into_response(self) -> Response {
        (self.0, Json(models::ErrorBody { err: self.1 })).into_response()
    }
}

type CaResult<T> = Result<T, CaError>;

/// The bearer token, with this front door's error shape.
pub(crate) struct CaAuth(Caller);

impl FromRequestParts<AppState> for CaAuth {
    type Rejection = CaError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(CaAuth(state.authority.authenticate(crate::auth::bearer_token(parts)).await?))
    }
}

/// A JSON body whose rejection is `{"err": ...}`: 400 naming the field of a wrong type (unknown
/// fields are ignored, as Lamassu does), 415 without a JSON content type, 413 when too large.
pub(crate) struct CaJson<T = Value>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for CaJson<T> {
    type Rejection = CaError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state).await.map(|Json(v)| CaJson(v)).map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => CaError(e.status(), e.body_text()),
            _ => CaError(StatusCode::BAD_REQUEST, e.body_text()),
        })
    }
}

/// An empty string stands for an absent field, as in Lamassu's models.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn list_query(raw: Option<String>) -> ListQuery {
    let mut q = ListQuery::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*k {
            "page_size" => q.page_size = Some(v.into_owned()),
            "bookmark" => q.bookmark = Some(v.into_owned()),
            "sort_by" => q.sort_by = Some(v.into_owned()),
            "sort_mode" => q.sort_mode = Some(v.into_owned()),
            "filter" => q.filters.push(v.into_owned()),
            _ => {}
        }
    }
    q
}

/// Issuance profiles, a page at a time: `{"list": [...], "next": "<bookmark or empty>"}`.
#[utoipa::path(get, path = "/api/ca/v1/profiles", tag = "ca-v1", security(("bearer" = [])),
    params(("page_size" = Option<u32>, Query, description = "default 25, at most 100"),
           ("bookmark" = Option<String>, Query, description = "`next` of the previous page"),
           ("sort_by" = Option<String>, Query), ("sort_mode" = Option<String>, Query, description = "asc or desc"),
           ("filter" = Option<String>, Query, description = "field[op]value, repeatable; ops eq ne contains gt ge lt le before after")),
    responses((status = 200, body = models::Page<Value>), models::Errors))]
async fn list(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<models::Page<Value>>> {
    let profiles: Vec<Value> = state.authority.list_profiles(&caller).await?.iter().map(profile_json).collect();
    let (list, next) = list_json(&state.authority, profiles, &list_query(raw), &PROFILE_FIELDS)?;
    Ok(Json(models::Page { list, next }))
}

/// A profile in the product's shape, with its record's times.
fn profile_json(v: &ProfileView) -> Value {
    let mut json = v.profile.to_json();
    json["created_at"] = crate::time_fmt::rfc3339(v.created_at).into();
    json["updated_at"] = crate::time_fmt::rfc3339(v.updated_at).into();
    json
}

#[utoipa::path(post, path = "/api/ca/v1/profiles", tag = "ca-v1", security(("bearer" = [])), request_body = Object,
    responses((status = 201, body = Object), models::Errors))]
async fn create(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(body): CaJson,
) -> CaResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(profile_json(&state.authority.create_profile(&caller, &body).await?))))
}

#[utoipa::path(get, path = "/api/ca/v1/profiles/{id}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = Object), models::Errors))]
async fn get_one(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
) -> CaResult<Json<Value>> {
    Ok(Json(profile_json(&state.authority.get_profile(&caller, &id).await?)))
}

#[utoipa::path(put, path = "/api/ca/v1/profiles/{id}", tag = "ca-v1", security(("bearer" = [])), request_body = Object,
    responses((status = 200, body = Object), models::Errors))]
async fn update(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(body): CaJson,
) -> CaResult<Json<Value>> {
    Ok(Json(profile_json(&state.authority.update_profile(&caller, &id, &body).await?)))
}

#[utoipa::path(delete, path = "/api/ca/v1/profiles/{id}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 204), models::Errors))]
async fn delete(State(state): State<AppState>, CaAuth(caller): CaAuth, Path(id): Path<String>) -> CaResult<StatusCode> {
    state.authority.delete_profile(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- CAs and certificates ----

pub(crate) fn ca_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ca, list_cas))
        .routes(routes!(import_ca))
        .routes(routes!(get_ca, delete_ca))
        .routes(routes!(set_profile))
        .routes(routes!(reissue_ca))
        .routes(routes!(sign))
        .routes(routes!(ca_certificate))
        .routes(routes!(ca_certificates))
        .routes(routes!(certificates, managed::create_certificate))
        .routes(routes!(certificate, managed::delete_certificate))
        .routes(routes!(managed::import_certificate))
        .routes(routes!(signature::sign_data))
        .routes(routes!(signature::verify_data))
        .routes(routes!(metadata::put_ca_metadata, metadata::patch_ca_metadata))
        .routes(routes!(metadata::put_certificate_metadata, metadata::patch_certificate_metadata))
        .routes(routes!(certificate_status))
        .routes(routes!(views::cas_by_cn))
        .routes(routes!(views::ca_status))
        .routes(routes!(views::certificates_by_status))
        .routes(routes!(views::ca_certificates_by_status))
        .routes(routes!(views::certificates_by_expiration))
        .routes(routes!(views::stats))
        .routes(routes!(views::ca_stats))
}

/// A required field holding base64 of a PEM document, as Lamassu sends certificates, CSRs and
/// keys; `what` names the document in the error.
fn pem_field(value: Option<String>, field: &str, what: &str) -> CaResult<String> {
    use base64::Engine;
    let bad = |m: String| CaError(StatusCode::BAD_REQUEST, m);
    let encoded = given(value).ok_or_else(|| bad(format!("{field} is required (base64 of the PEM)")))?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad(format!("{field} must be base64 of a PEM {what}")))
}

/// Which profile signs: an inline one beats an id, an id beats the CA's default.
fn profile_choice(inline: Option<Value>, id: Option<String>) -> certus_authority::ProfileChoice {
    match (inline, given(id)) {
        (Some(inline), _) => certus_authority::ProfileChoice::Inline(inline),
        (None, Some(pid)) => certus_authority::ProfileChoice::Id(pid),
        (None, None) => certus_authority::ProfileChoice::CaDefault,
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn subject(s: &certus_x509::Subject) -> models::Subject {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    models::Subject {
        common_name: text(&s.common_name),
        organization: text(&s.organization),
        organization_unit: text(&s.organization_unit),
        country: text(&s.country),
        state: text(&s.state),
        locality: text(&s.locality),
    }
}

/// Go's zero `time.Time`, which Lamassu sends for "never".
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A certificate in that product's shape: base64(PEM), lower-case hex serial, parsed subject,
/// issuer, key and extensions.
fn certificate_model(
    der: &[u8],
    status: &'static str,
    reason: Option<&str>,
    revoked_at: Option<i64>,
    issuer_ca: Option<&str>,
) -> models::Certificate {
    let pem = certus_x509::to_pem(certus_x509::PemLabel::Certificate, der);
    let Ok(info) = certus_x509::parse_certificate(der) else {
        return models::Certificate { certificate: b64(&pem), status, ..Default::default() };
    };
    let key_type = match info.key.kind {
        certus_x509::KeyKind::Rsa => "RSA",
        certus_x509::KeyKind::Ed25519 => "Ed25519",
        certus_x509::KeyKind::Other => "UNKNOWN",
        _ => "ECDSA",
    };
    // Lamassu's Go models have string-typed fields here; its SDK fails on null, so an unrevoked
    // certificate carries Go's zero values, as Lamassu sends them.
    let reason = reason
        .map(|r| RevocationReason::from_name(r).unwrap_or(RevocationReason::Unspecified).pascal_name())
        .unwrap_or_else(|| "Unspecified".to_owned());
    models::Certificate {
        serial_number: hex::encode(&info.serial),
        certificate: b64(&pem),
        status,
        subject: subject(&info.subject_fields),
        issuer: subject(&info.issuer_fields),
        valid_from: crate::time_fmt::rfc3339(info.not_before.unix_timestamp()),
        valid_to: crate::time_fmt::rfc3339(info.not_after.unix_timestamp()),
        key_metadata: models::KeyMetadata { kind: key_type, bits: info.key.bits },
        extensions: models::Extensions {
            key_usage: info.key_usage.iter().map(|b| certus_authority::key_usage_name(*b)).collect(),
            extended_key_usage: info.extended_key_usage.iter().map(|o| certus_authority::eku_name(o)).collect(),
            subject_alternative_names: models::SubjectAlternativeNames {
                ip_addresses: info.ip_addresses.iter().map(|i| i.to_string()).collect(),
                dns_names: info.dns_names,
            },
        },
        issuer_metadata: models::IssuerMetadata { id: issuer_ca.unwrap_or("-").to_owned() },
        revocation_timestamp: revoked_at.map_or_else(|| GO_ZERO_TIME.to_owned(), crate::time_fmt::rfc3339),
        revocation_reason: reason,
        kind: "MANAGED",
        engine_id: "",
        is_ca: info.is_ca,
        metadata: None,
    }
}

/// A model as the JSON the list filters and metadata work on.
fn to_json(model: &impl serde::Serialize) -> Value {
    serde_json::to_value(model).unwrap_or_default()
}

/// The product's name of a certificate's status.
fn status_of(revoked_at: Option<i64>, not_after: i64) -> &'static str {
    match CertStatus::of(revoked_at.is_some(), not_after, crate::time_fmt::now_secs()) {
        CertStatus::Revoked => "REVOKED",
        CertStatus::Expired => "EXPIRED",
        CertStatus::Active => "ACTIVE",
    }
}

fn cert_view_json(c: &certus_authority::CertView) -> Value {
    to_json(&certificate_model(
        &c.cert_der,
        status_of(c.revoked_at, c.not_after),
        c.revocation_reason.as_deref(),
        c.revoked_at,
        c.issuer_ca_id.as_deref(),
    ))
}

/// The tenant's CAs this door shows: deleted (retired) ones are gone from it.
pub(super) async fn live_cas(state: &AppState, caller: &Caller) -> CaResult<Vec<certus_authority::CaView>> {
    Ok(state.authority.list_cas(caller).await?.into_iter().filter(|c| c.row.is_active).collect())
}

fn ca_json(v: &certus_authority::CaView) -> Value {
    let r = &v.row;
    let status = if r.revoked { "REVOKED" } else { status_of(None, r.valid_until) };
    to_json(&models::CertificateAuthority {
        id: r.id.clone(),
        serial_number: r.serial.clone(),
        certificate: certificate_model(&r.cert_der, status, None, None, r.parent_ca_id.as_deref().or(Some(&r.id))),
        profile_id: r.profile_id.clone().unwrap_or_default(),
        kind: if r.key_store == "none" { "IMPORTED_WITHOUT_KEY" } else { "MANAGED" },
        engine_id: "",
        creation_ts: crate::time_fmt::rfc3339(r.created_at),
        level: if r.parent_ca_id.is_some() { 1 } else { 0 },
        metadata: Default::default(),
    })
}

/// Lamassu's `CreateCAPayload`; every field typed, so a number where a string belongs is a 400.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = CreateCAPayload)]
struct CreateCa {
    id: Option<String>,
    parent_id: Option<String>,
    profile_id: Option<String>,
    #[serde(default)]
    subject: CaSubject,
    #[serde(default)]
    key_metadata: KeyMetadata,
    #[serde(default)]
    ca_expiration: Expiration,
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
struct CaSubject {
    common_name: Option<String>,
    organization: Option<String>,
    organization_unit: Option<String>,
    country: Option<String>,
    state: Option<String>,
    locality: Option<String>,
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[schema(as = KeyMetadataInput)]
struct KeyMetadata {
    #[serde(rename = "type")]
    kind: Option<String>,
    bits: Option<u32>,
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
struct Expiration {
    #[serde(rename = "type")]
    kind: Option<String>,
    duration: Option<String>,
    time: Option<String>,
}

/// Creates a root (no `parent_id`) or subordinate CA with a required default `profile_id`.
#[utoipa::path(post, path = "/api/ca/v1/cas", tag = "ca-v1", security(("bearer" = [])), request_body = CreateCa,
    responses((status = 201, body = models::CertificateAuthority), models::Errors))]
async fn create_ca(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(b): CaJson<CreateCa>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let bad = |m: &str| CaError(StatusCode::BAD_REQUEST, m.to_owned());
    let profile_id = given(b.profile_id).ok_or_else(|| bad("profile_id is required"))?;
    let subject = b.subject;
    let common_name = given(subject.common_name).ok_or_else(|| bad("subject.common_name is required"))?;
    let key_type = match given(b.key_metadata.kind).as_deref().unwrap_or("ECDSA") {
        "RSA" => "rsa",
        "ECDSA" => "ec",
        other => return Err(bad(&format!("key_metadata.type must be RSA or ECDSA, not {other:?}"))),
    };
    let exp = b.ca_expiration;
    let (validity_secs, not_after) = match given(exp.kind).as_deref() {
        None => (None, None),
        Some("Duration") => {
            let d = given(exp.duration).ok_or_else(|| bad("ca_expiration.duration is required for type Duration"))?;
            (Some(certus_authority::policy::parse_duration("ca_expiration.duration", &d)?), None)
        }
        Some("Time") => {
            let t = given(exp.time).ok_or_else(|| bad("ca_expiration.time is required for type Time"))?;
            let at = time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| bad("ca_expiration.time must be an RFC 3339 time"))?;
            (None, Some(at.unix_timestamp()))
        }
        Some(other) => return Err(bad(&format!("ca_expiration.type must be Duration or Time, not {other:?}"))),
    };
    let id = given(b.id).unwrap_or_else(|| certus_authority::new_id("ca"));
    let parent = given(b.parent_id);
    let req = certus_authority::NewCa {
        name: id.clone(),
        id: Some(id),
        common_name,
        ca_type: if parent.is_some() { "intermediate" } else { "root" }.to_owned(),
        parent_ca_id: parent,
        key_type: Some(key_type.to_owned()),
        key_size: b.key_metadata.bits,
        validity_secs,
        not_after,
        organization: given(subject.organization),
        organization_unit: given(subject.organization_unit),
        country: given(subject.country),
        state: given(subject.state),
        locality: given(subject.locality),
        profile_id: Some(profile_id),
        ..Default::default()
    };
    let ca = state.authority.create_ca(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(ca_json(&ca))))
}

/// Lamassu's `ImportCABody`: the fields its controller forwards (others are ignored, as there).
#[derive(serde::Deserialize, utoipa::ToSchema)]
struct ImportCaBody {
    id: Option<String>,
    profile_id: Option<String>,
    ca: Option<String>,
    private_key: Option<String>,
}

/// Imports a CA made elsewhere (base64 of PEM), with its private key (it signs) or without
/// (`IMPORTED_WITHOUT_KEY`: held for chains and the inventory); 201 with the CA.
#[utoipa::path(post, path = "/api/ca/v1/cas/import", tag = "ca-v1", security(("bearer" = [])), request_body = ImportCaBody,
    responses((status = 201, body = models::CertificateAuthority), models::Errors))]
async fn import_ca(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    CaJson(b): CaJson<ImportCaBody>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let req = certus_authority::ImportCa {
        id: given(b.id),
        certificate_pem: pem_field(b.ca, "ca", "certificate")?,
        private_key_pem: given(b.private_key).map(|k| pem_field(Some(k), "private_key", "private key")).transpose()?,
        profile_id: given(b.profile_id),
    };
    let ca = state.authority.import_ca(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(ca_json(&ca))))
}

/// CAs of the tenant: `{"list": [...], "next": ""}`, with the same list query as profiles.
#[utoipa::path(get, path = "/api/ca/v1/cas", tag = "ca-v1", security(("bearer" = [])), responses((status = 200, body = models::Page<models::CertificateAuthority>), models::Errors))]
async fn list_cas(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<models::Page<Value>>> {
    let meta = state.authority.resource_metadata(&caller).await?;
    let cas: Vec<Value> = live_cas(&state, &caller)
        .await?
        .iter()
        .map(|c| {
            let mut v = ca_json(c);
            metadata::attach(&mut v, &meta);
            v
        })
        .collect();
    let (list, next) = list_json(&state.authority, cas, &list_query(raw), &CA_FIELDS)?;
    Ok(Json(models::Page { list, next }))
}

/// Profile fields lists may filter and sort on (Lamassu's model has only `id` and `name`; the
/// rest are this door's own).
const PROFILE_FIELDS: Fields = Fields {
    certificate_at: None,
    own: &[
        ("id", "id"),
        ("name", "name"),
        ("description", "description"),
        ("sign_as_ca", "sign_as_ca"),
        ("honor_key_usage", "honor_key_usage"),
        ("honor_extended_key_usages", "honor_extended_key_usages"),
        ("honor_subject", "honor_subject"),
        ("honor_extensions", "honor_extensions"),
        ("validity.type", "validity.type"),
        ("validity.duration", "validity.duration"),
        ("validity.time", "validity.time"),
        ("extended_key_usages", "extended_key_usages"),
        ("crypto_enforcement.enabled", "crypto_enforcement.enabled"),
        ("crypto_enforcement.allow_rsa_keys", "crypto_enforcement.allow_rsa_keys"),
        ("crypto_enforcement.allow_ecdsa_keys", "crypto_enforcement.allow_ecdsa_keys"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
    ],
};

/// CA list fields: its own, then its certificate's (Lamassu's model names, nested under
/// `certificate` in this door's JSON), then the JSON paths this door first offered.
const CA_FIELDS: Fields = Fields {
    own: &[
        ("id", "id"),
        ("profile_id", "profile_id"),
        ("level", "level"),
        ("creation_ts", "creation_ts"),
        ("certificate.status", "certificate.status"),
        ("certificate.subject.common_name", "certificate.subject.common_name"),
        ("certificate.valid_from", "certificate.valid_from"),
        ("certificate.valid_to", "certificate.valid_to"),
        ("certificate.key_metadata.type", "certificate.key_metadata.type"),
    ],
    certificate_at: Some("certificate."),
};

/// Certificate list fields: the model's.
const CERTIFICATE_FIELDS: Fields = Fields { own: &[], certificate_at: Some("") };

#[utoipa::path(get, path = "/api/ca/v1/cas/{id}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = models::CertificateAuthority), models::Errors))]
async fn get_ca(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
) -> CaResult<Json<Value>> {
    let ca = state.authority.get_ca(&caller, &id).await?;
    if !ca.row.is_active {
        return Err(CaError(StatusCode::NOT_FOUND, "CA not found".into()));
    }
    let mut ca = ca_json(&ca);
    metadata::attach(&mut ca, &state.authority.resource_metadata(&caller).await?);
    Ok(Json(ca))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct ReissueBody {
    profile: Option<Value>,
    profile_id: Option<String>,
}

/// Reissues the CA's certificate for the same key (400 `CA already revoked` / `CA is expired`);
/// 200 with the CA.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/reissue", tag = "ca-v1", security(("bearer" = [])), request_body = ReissueBody,
    responses((status = 200, body = models::CertificateAuthority), models::Errors))]
async fn reissue_ca(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<ReissueBody>,
) -> CaResult<Json<Value>> {
    let choice = profile_choice(b.profile, b.profile_id);
    Ok(Json(ca_json(&state.authority.reissue_ca_lamassu(&caller, &id, choice).await?)))
}

#[derive(serde::Deserialize)]
struct DeleteCaQuery {
    cascade_delete: Option<String>,
}

/// Deletes an expired or revoked CA (400 `CA Status inconsistent` otherwise; 403 with
/// `cascade_delete`, which Lamassu's default configuration refuses); 200 `{}`.
#[utoipa::path(delete, path = "/api/ca/v1/cas/{id}", tag = "ca-v1", security(("bearer" = [])),
    params(("cascade_delete" = Option<String>, Query, description = "true or 1: refused (403)")),
    responses((status = 200, body = Object), models::Errors))]
async fn delete_ca(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    Query(q): Query<DeleteCaQuery>,
) -> CaResult<Json<Value>> {
    let cascade = matches!(q.cascade_delete.as_deref().map(str::trim), Some("true" | "1" | "TRUE" | "True"));
    state.authority.delete_ca_lamassu(&caller, &id, cascade).await?;
    Ok(Json(json!({})))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct ProfileRef {
    profile_id: Option<String>,
}

/// Changes the CA's default issuance profile.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/profile", tag = "ca-v1", security(("bearer" = [])), request_body = ProfileRef,
    responses((status = 200, body = models::CertificateAuthority), models::Errors))]
async fn set_profile(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<ProfileRef>,
) -> CaResult<Json<Value>> {
    let profile =
        given(b.profile_id).ok_or_else(|| CaError(StatusCode::BAD_REQUEST, "profile_id is required".into()))?;
    Ok(Json(ca_json(&state.authority.set_ca_profile(&caller, &id, &profile).await?)))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct SignRequest {
    csr: Option<String>,
    /// An inline issuance profile, checked by the engine like a stored one.
    profile: Option<Value>,
    profile_id: Option<String>,
}

/// Signs `csr` (base64 of the PEM) under an inline `profile`, else `profile_id`, else the CA's
/// default profile.
#[utoipa::path(post, path = "/api/ca/v1/cas/{id}/certificates/sign", tag = "ca-v1", security(("bearer" = [])),
    request_body = SignRequest, responses((status = 201, body = models::Certificate), models::Errors))]
async fn sign(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    CaJson(b): CaJson<SignRequest>,
) -> CaResult<(StatusCode, Json<Value>)> {
    let csr_pem = pem_field(b.csr, "csr", "CSR")?;
    let choice = profile_choice(b.profile, b.profile_id);
    let issued = state.authority.sign_with_profile(&caller, &id, &csr_pem, choice).await?;
    let cert = state.authority.get_certificate(&caller, &issued.certificate_id).await?;
    Ok((StatusCode::CREATED, Json(cert_view_json(&cert))))
}

/// A certificate of this CA by serial (lower-case hex).
#[utoipa::path(get, path = "/api/ca/v1/cas/{id}/certificates/{sn}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = models::Certificate), models::Errors))]
async fn ca_certificate(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path((id, sn)): Path<(String, String)>,
) -> CaResult<Json<Value>> {
    let cert = state.authority.certificate_by_serial(&caller, &sn).await?;
    if cert.issuer_ca_id.as_deref() != Some(id.as_str()) {
        return Err(CaError(StatusCode::NOT_FOUND, "certificate not found".into()));
    }
    Ok(Json(cert_view_json(&cert)))
}

#[utoipa::path(get, path = "/api/ca/v1/certificates/{sn}", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = models::Certificate), models::Errors))]
async fn certificate(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(sn): Path<String>,
) -> CaResult<Json<Value>> {
    let mut cert = cert_view_json(&state.authority.certificate_by_serial(&caller, &sn).await?);
    metadata::attach(&mut cert, &state.authority.resource_metadata(&caller).await?);
    Ok(Json(cert))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct StatusChange {
    status: Option<String>,
    revocation_reason: Option<String>,
}

/// `{"status": "REVOKED", "revocation_reason": "KeyCompromise"}` revokes;
/// `{"status": "ACTIVE"}` releases a CertificateHold.
#[utoipa::path(put, path = "/api/ca/v1/certificates/{sn}/status", tag = "ca-v1", security(("bearer" = [])),
    request_body = StatusChange, responses((status = 200, body = models::Certificate), models::Errors))]
async fn certificate_status(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(sn): Path<String>,
    CaJson(b): CaJson<StatusChange>,
) -> CaResult<Json<Value>> {
    let bad = |m: String| CaError(StatusCode::BAD_REQUEST, m);
    match given(b.status).as_deref() {
        Some("REVOKED") => {
            let name = given(b.revocation_reason);
            let name = name.as_deref().unwrap_or("Unspecified");
            let ours = RevocationReason::from_text(name)
                .map(RevocationReason::name)
                .ok_or_else(|| bad(format!("unsupported revocation reason {name:?}")))?;
            let already = state.authority.certificate_by_serial(&caller, &sn).await?;
            if already.revoked_at.is_some() {
                return Err(bad("certificate already revoked".into()));
            }
            state.authority.revoke(&caller, &sn, Some(ours)).await?;
        }
        Some("ACTIVE") => {
            state.authority.release_hold(&caller, &sn).await?;
        }
        other => return Err(bad(format!("status must be REVOKED or ACTIVE, not {other:?}"))),
    }
    Ok(Json(cert_view_json(&state.authority.certificate_by_serial(&caller, &sn).await?)))
}

/// Certificates newest first, `page_size` at a time (default 25, at most 100); `next` is the
/// bookmark of the following page. With `filter` or `sort_by`, the newest
/// [`FILTERED_CERTIFICATE_WINDOW`] are filtered and sorted in memory.
async fn certificate_page(
    state: &AppState,
    caller: &Caller,
    ca_id: Option<String>,
    raw: Option<String>,
    extra_filters: Vec<String>,
) -> CaResult<Json<models::Page<Value>>> {
    let mut q = list_query(raw);
    q.filters.extend(extra_filters);
    let in_memory =
        !q.filters.is_empty() || q.sort_by.is_some() || q.bookmark.as_deref().is_some_and(|b| b.contains('.'));
    if in_memory {
        let meta = state.authority.resource_metadata(caller).await?;
        let mut all = newest_certificates(state, caller, ca_id).await?;
        all.iter_mut().for_each(|v| metadata::attach(v, &meta));
        let (list, next) = list_json(&state.authority, all, &q, &CERTIFICATE_FIELDS)?;
        return Ok(Json(models::Page { list, next }));
    }
    let limit = match q.page_size.as_deref() {
        None => 25,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| CaError(StatusCode::BAD_REQUEST, "page_size must be a positive integer".into()))?
            .min(100),
    };
    let req = certus_authority::ListRequest {
        ca_id,
        include_revoked: true,
        limit: Some(limit),
        cursor: q.bookmark.filter(|b| !b.is_empty()),
        ..Default::default()
    };
    let page = state.authority.list_certificates(caller, req).await?;
    let meta = state.authority.resource_metadata(caller).await?;
    let list: Vec<Value> = page
        .data
        .iter()
        .map(|c| {
            let mut v = cert_view_json(c);
            metadata::attach(&mut v, &meta);
            v
        })
        .collect();
    Ok(Json(models::Page { list, next: page.cursor.unwrap_or_default() }))
}

/// The newest [`FILTERED_CERTIFICATE_WINDOW`] certificates of the tenant (or of one CA), as JSON.
async fn newest_certificates(state: &AppState, caller: &Caller, ca_id: Option<String>) -> CaResult<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor = None;
    while all.len() < FILTERED_CERTIFICATE_WINDOW {
        let req = certus_authority::ListRequest {
            ca_id: ca_id.clone(),
            include_revoked: true,
            limit: Some(1000),
            cursor: cursor.take(),
            ..Default::default()
        };
        let page = state.authority.list_certificates(caller, req).await?;
        all.extend(page.data.iter().map(cert_view_json));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(all)
}

/// How many of the newest certificates a filtered or sorted certificate list looks at.
const FILTERED_CERTIFICATE_WINDOW: usize = 10_000;

#[utoipa::path(get, path = "/api/ca/v1/cas/{id}/certificates", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = models::Page<models::Certificate>), models::Errors))]
async fn ca_certificates(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<models::Page<Value>>> {
    state.authority.get_ca(&caller, &id).await?;
    certificate_page(&state, &caller, Some(id), raw, Vec::new()).await
}

#[utoipa::path(get, path = "/api/ca/v1/certificates", tag = "ca-v1", security(("bearer" = [])),
    responses((status = 200, body = models::Page<models::Certificate>), models::Errors))]
async fn certificates(
    State(state): State<AppState>,
    CaAuth(caller): CaAuth,
    RawQuery(raw): RawQuery,
) -> CaResult<Json<models::Page<Value>>> {
    certificate_page(&state, &caller, None, raw, Vec::new()).await
}
