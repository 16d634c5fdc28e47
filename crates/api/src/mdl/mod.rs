//! The `/v1/{org}.{tenant}.{service}[.{child}]` front door (spec: x509-service-iaca-ds-generic.txt
//! and x509-store.txt): services, KMS keys, ISO 18013-5 IACA and Document Signer issuance, and
//! X.509 stores. Errors use the native shape.

mod models;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use certus_authority::{
    DsData, GenericData, GenericIssuer, IacaData, IacaSigner, KeyRef, MdlIssued, NewVicalService, PublicKeySource,
    StoreWrite,
};
use certus_x509::IssuerAltName;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiResult, ErrorBody};
use crate::{AppState, BearerAuth};
use models::{
    CoseSign1, CsrIssued, Entries, EntryData, Errors, Issued, KmsKey, ServiceCreated, Signature, StoreEntry,
    VicalPublished,
};

/// This door's own OpenAPI document (served at `/openapi/mdl.json`), from the handlers'
/// annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Certus: the mDL front door (walt.id's /v1/{target} API)",
         description = "ISO/IEC 18013-5 PKI: services, KMS keys, IACA, Document Signer and generic certificates, X.509 stores, VICALs. Errors use the native shape."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    paths(create_service, add_dependency, kms_generate, kms_import, kms_jwk, kms_delete, kms_sign, iaca, document_signer,
          generic, csr, store_list, store_add, store_update, store_delete, store_ids, vical_publish, vical_latest)
)]
pub(crate) struct MdlDoc;

/// Plain axum routes: a dotted target in the first segment does not fit the OpenAPI generator's
/// path templates well, so this front door is documented in docs/decisions.md.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{target}/resource-api/services/create", post(create_service))
        .route("/v1/{target}/x509-service-api/dependencies/add", post(add_dependency))
        .route("/v1/{target}/kms-service-api/keys/generate", post(kms_generate))
        .route("/v1/{target}/kms-service-api/keys/import/jwk", post(kms_import))
        .route("/v1/{target}/kms-service-api/keys/jwk", get(kms_jwk))
        .route("/v1/{target}/kms-service-api/keys", axum::routing::delete(kms_delete))
        .route("/v1/{target}/kms-service-api/keys/sign", post(kms_sign))
        .route("/v1/{target}/x509-service-api/iso/iacas", post(iaca))
        .route("/v1/{target}/x509-service-api/iso/document-signers", post(document_signer))
        .route("/v1/{target}/x509-service-api/certificate", post(generic))
        .route("/v1/{target}/x509-service-api/csrs", post(csr))
        .route(
            "/v1/{target}/x509-store-api/certificates",
            get(store_list).post(store_add).put(store_update).delete(store_delete),
        )
        .route("/v1/{target}/x509-store-api/certificates/ids", get(store_ids))
        .route("/v1/{target}/vical-service-api/publish", post(vical_publish))
        .route("/v1/{target}/vical-service-api/latest", get(vical_latest))
}

/// `_id`, when sent, repeats the path and is not read.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ServiceBody {
    #[serde(rename = "type")]
    service_type: String,
    /// vical-service: the KMS key that signs.
    signing_key_id: Option<String>,
    /// vical-service: the store entry of the signer certificate.
    signer_certificate_id: Option<String>,
    /// vical-service: the kms and x509-store services it reads.
    #[serde(default)]
    dependencies: Vec<String>,
}

#[utoipa::path(post, path = "/v1/{target}/resource-api/services/create", tag = "mdl", security(("bearer" = [])), request_body = ServiceBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201, body = ServiceCreated), Errors))]
async fn create_service(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceCreated>)> {
    let service = if b.service_type == "vical-service" {
        let required = |v: Option<String>, name: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| ApiError::bad_request(format!("{name} is required for a vical-service")))
        };
        let new = NewVicalService {
            signing_key_id: required(b.signing_key_id, "signingKeyId")?,
            signer_certificate_id: required(b.signer_certificate_id, "signerCertificateId")?,
            dependencies: b.dependencies,
        };
        s.authority.create_vical_service(&c, &target, new).await?
    } else {
        s.authority.create_service(&c, &target, &b.service_type).await?
    };
    Ok((StatusCode::CREATED, Json(ServiceCreated { id: service.path, service_type: service.service_type })))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublishBody {
    vical_provider: String,
}

/// Publishes the next VICAL; answers its version path, issue id and entry count.
#[utoipa::path(post, path = "/v1/{target}/vical-service-api/publish", tag = "mdl", security(("bearer" = [])), request_body = PublishBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = VicalPublished), Errors))]
async fn vical_publish(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<PublishBody>,
) -> ApiResult<Json<VicalPublished>> {
    let p = s.authority.publish_vical(&c, &target, &b.vical_provider).await?;
    Ok(Json(VicalPublished { version_id_path: p.version_path, vical_issue_id: p.issue_id, entry_count: p.entry_count }))
}

/// The latest VICAL as its COSE_Sign1 bytes, for any relying party (no token).
#[utoipa::path(get, path = "/v1/{target}/vical-service-api/latest", tag = "mdl",
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, description = "The VICAL (COSE_Sign1); its issue id in `x-vical-issue-id`", content_type = "application/cose", body = CoseSign1), Errors))]
async fn vical_latest(State(s): State<AppState>, Path(target): Path<String>) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let v = s.authority.latest_vical(&target).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "application/cose; cose-type=\"cose-sign1\"".to_owned()),
        (axum::http::HeaderName::from_static("x-vical-issue-id"), v.issue_id.to_string()),
    ];
    Ok((headers, v.cose).into_response())
}

/// The body is the dependency path as a JSON string, or `{"dependency": "..."}`.
#[utoipa::path(post, path = "/v1/{target}/x509-service-api/dependencies/add", tag = "mdl", security(("bearer" = [])), request_body(content = Object, description = "The dependency path as a JSON string, or {\"dependency\": \"org.tenant.service\"}"),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201), Errors))]
async fn add_dependency(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<Value>,
) -> ApiResult<StatusCode> {
    let dep = b
        .as_str()
        .or_else(|| b.get("dependency").and_then(Value::as_str))
        .ok_or_else(|| ApiError::bad_request("the body is the dependency path: \"org.tenant.service\""))?;
    s.authority.add_dependency(&c, &target, dep).await?;
    Ok(StatusCode::CREATED)
}

/// The body as its typed request; a wrong type or a missing field is a 400 naming the field.
fn typed<T: serde::de::DeserializeOwned>(raw: &Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(raw).map_err(|e| ApiError::bad_request(format!("{}: {}", e.path(), e.inner())))
}

/// `backend` (the spec's "jwk") is accepted and ignored: every key is a Certus KMS key.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GenerateBody {
    key_type: String,
}

#[utoipa::path(post, path = "/v1/{target}/kms-service-api/keys/generate", tag = "mdl", security(("bearer" = [])), request_body = GenerateBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201, body = KmsKey), Errors))]
async fn kms_generate(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<GenerateBody>,
) -> ApiResult<(StatusCode, Json<KmsKey>)> {
    Ok((StatusCode::CREATED, Json(kms_key(s.authority.kms_generate(&c, &target, &b.key_type).await?))))
}

#[utoipa::path(post, path = "/v1/{target}/kms-service-api/keys/import/jwk", tag = "mdl", security(("bearer" = [])), request_body(content = Object, description = "A private JWK, or {\"jwk\": {...}}"),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201, body = KmsKey), Errors))]
async fn kms_import(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(jwk): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<KmsKey>)> {
    let jwk = jwk.get("jwk").cloned().unwrap_or(jwk);
    Ok((StatusCode::CREATED, Json(kms_key(s.authority.kms_import_jwk(&c, &target, &jwk).await?))))
}

#[utoipa::path(get, path = "/v1/{target}/kms-service-api/keys/jwk", tag = "mdl", security(("bearer" = [])),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, description = "The public JWK", body = Object), Errors))]
async fn kms_jwk(State(s): State<AppState>, Auth(c): Auth, Path(target): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.authority.kms_public_jwk(&c, &target).await?.to_json()))
}

fn kms_key(k: certus_authority::KmsKeyView) -> KmsKey {
    KmsKey { key_id_path: k.key_path, public_key_jwk: k.public_jwk.to_json() }
}

#[utoipa::path(delete, path = "/v1/{target}/kms-service-api/keys", tag = "mdl", security(("bearer" = [])),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 204), Errors))]
async fn kms_delete(State(s): State<AppState>, Auth(c): Auth, Path(target): Path<String>) -> ApiResult<StatusCode> {
    s.authority.kms_delete(&c, &target).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct SignBody {
    /// base64url (or standard base64) of the bytes to sign.
    data: String,
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .ok()
}

#[utoipa::path(post, path = "/v1/{target}/kms-service-api/keys/sign", tag = "mdl", security(("bearer" = [])), request_body = SignBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Signature), Errors))]
async fn kms_sign(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<SignBody>,
) -> ApiResult<Json<Signature>> {
    let data = b64_decode(&b.data).ok_or_else(|| ApiError::bad_request("data must be base64url"))?;
    let sig = s.authority.kms_sign(&c, &target, &data).await?;
    Ok(Json(Signature { signature: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig) }))
}

// ---- ISO issuance ----

#[derive(Deserialize, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyDescriptor {
    #[serde(rename = "type")]
    kind: String,
    key_id_path: Option<String>,
    jwk: Option<Value>,
    key: Option<Value>,
}

impl KeyDescriptor {
    fn to_ref(&self) -> ApiResult<KeyRef> {
        match self.kind.as_str() {
            "kms-hosted-key-descriptor" => {
                Ok(KeyRef::Kms(self.key_id_path.clone().ok_or_else(|| ApiError::bad_request("keyIdPath is required"))?))
            }
            "jwk-encoded-key-descriptor" => {
                let jwk =
                    self.jwk.clone().or(self.key.clone()).ok_or_else(|| ApiError::bad_request("jwk is required"))?;
                // walt.id clients send the JWK as an object or as a JSON string holding one.
                let jwk = match jwk {
                    Value::String(text) => serde_json::from_str::<Value>(&text)
                        .ok()
                        .filter(Value::is_object)
                        .ok_or_else(|| ApiError::bad_request("jwk: a JSON string must hold a JWK object"))?,
                    other => other,
                };
                Ok(KeyRef::Jwk(jwk))
            }
            other => Err(ApiError::bad_request(format!(
                "key descriptor type {other:?}: use kms-hosted-key-descriptor or jwk-encoded-key-descriptor"
            ))),
        }
    }
}

#[derive(Deserialize, Clone, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IanConf {
    uri: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IacaCertData {
    country: String,
    common_name: String,
    state_or_province_name: Option<String>,
    organization_name: Option<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    issuer_alternative_name_conf: Option<IanConf>,
    crl_distribution_point_uri: Option<String>,
}

fn time_of(field: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    v.as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| ApiError::bad_request(format!("{field} must be an RFC 3339 time")))
        })
        .transpose()
}

impl IacaCertData {
    fn to_data(&self) -> ApiResult<IacaData> {
        let ian = self.issuer_alternative_name_conf.clone().unwrap_or_default();
        Ok(IacaData {
            country: self.country.clone(),
            common_name: self.common_name.clone(),
            state: self.state_or_province_name.clone(),
            organization: self.organization_name.clone(),
            not_before: time_of("notBefore", &self.not_before)?,
            not_after: time_of("notAfter", &self.not_after)?,
            issuer_alt_name: IssuerAltName { uri: ian.uri, email: ian.email },
            crl_url: self.crl_distribution_point_uri.clone(),
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IacaBody {
    stored_certificate_id: Option<String>,
    certificate_data: IacaCertData,
    vical_entry_complementary_metadata: Option<Value>,
    iaca_key_desc: KeyDescriptor,
}

fn echo(mut data: Value, issued: &MdlIssued) -> Value {
    data["notBefore"] = json!(crate::time_fmt::rfc3339(issued.not_before));
    data["notAfter"] = json!(crate::time_fmt::rfc3339(issued.not_after));
    data
}

impl Issued {
    fn new(issued: &MdlIssued, certificate_data: Value) -> Issued {
        Issued {
            certificate_pem: issued.certificate_pem.clone(),
            certificate_data: echo(certificate_data, issued),
            stored_certificate_ids: issued.stored_certificate_ids.clone(),
        }
    }
}

#[utoipa::path(post, path = "/v1/{target}/x509-service-api/iso/iacas", tag = "mdl", security(("bearer" = [])), request_body = IacaBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Issued), Errors))]
async fn iaca(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(raw): ApiJson<Value>,
) -> ApiResult<Json<Issued>> {
    let b: IacaBody = typed(&raw)?;
    let write = StoreWrite {
        stored_certificate_id: b.stored_certificate_id.clone(),
        vical_metadata: b.vical_entry_complementary_metadata.clone(),
    };
    let issued =
        s.authority.issue_iaca(&c, &target, &b.certificate_data.to_data()?, &b.iaca_key_desc.to_ref()?, &write).await?;
    Ok(Json(Issued::new(&issued, raw["certificateData"].clone())))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IacaSignerBody {
    #[serde(rename = "type")]
    kind: String,
    iaca_key_desc: KeyDescriptor,
    certificate_data: Option<IacaCertData>,
    iaca_pem_encoded_certificate: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DsCertData {
    country: String,
    common_name: String,
    state_or_province_name: Option<String>,
    organization_name: Option<String>,
    locality_name: Option<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    crl_distribution_point_uri: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublicKeySourceBody {
    #[serde(rename = "type")]
    kind: String,
    key_descriptor: Option<KeyDescriptor>,
    csr: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DsBody {
    stored_certificate_id: Option<String>,
    iaca_signer: IacaSignerBody,
    certificate_data: DsCertData,
    ds_public_key_source: Option<PublicKeySourceBody>,
    /// Older clients send the DS key directly.
    ds_key_descriptor: Option<KeyDescriptor>,
}

#[utoipa::path(post, path = "/v1/{target}/x509-service-api/iso/document-signers", tag = "mdl", security(("bearer" = [])), request_body = DsBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Issued), Errors))]
async fn document_signer(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(raw): ApiJson<Value>,
) -> ApiResult<Json<Issued>> {
    let b: DsBody = typed(&raw)?;
    let key = b.iaca_signer.iaca_key_desc.to_ref()?;
    let signer = match b.iaca_signer.kind.as_str() {
        "iaca-pem-cert-descriptor" => IacaSigner::Pem {
            pem: b
                .iaca_signer
                .iaca_pem_encoded_certificate
                .ok_or_else(|| ApiError::bad_request("iacaPemEncodedCertificate is required"))?,
            key,
        },
        "iaca-cert-data-descriptor" => IacaSigner::Data {
            data: b
                .iaca_signer
                .certificate_data
                .ok_or_else(|| ApiError::bad_request("iacaSigner.certificateData is required"))?
                .to_data()?,
            key,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "iacaSigner type {other:?}: use iaca-pem-cert-descriptor or iaca-cert-data-descriptor"
            )));
        }
    };
    let source = match (b.ds_public_key_source, b.ds_key_descriptor) {
        (Some(src), _) if src.kind == "key-descriptor" => PublicKeySource::Key(
            src.key_descriptor
                .ok_or_else(|| ApiError::bad_request("dsPublicKeySource.keyDescriptor is required"))?
                .to_ref()?,
        ),
        (Some(src), _) if src.kind == "csr" => {
            PublicKeySource::Csr(src.csr.ok_or_else(|| ApiError::bad_request("dsPublicKeySource.csr is required"))?)
        }
        (Some(src), _) => {
            return Err(ApiError::bad_request(format!(
                "dsPublicKeySource type {:?}: use key-descriptor or csr",
                src.kind
            )));
        }
        (None, Some(k)) => PublicKeySource::Key(k.to_ref()?),
        (None, None) => return Err(ApiError::bad_request("dsPublicKeySource is required")),
    };
    let d = &b.certificate_data;
    let data = DsData {
        country: d.country.clone(),
        common_name: d.common_name.clone(),
        state: d.state_or_province_name.clone(),
        organization: d.organization_name.clone(),
        locality: d.locality_name.clone(),
        not_before: time_of("notBefore", &d.not_before)?,
        not_after: time_of("notAfter", &d.not_after)?,
        crl_url: d
            .crl_distribution_point_uri
            .clone()
            .ok_or_else(|| ApiError::bad_request("certificateData.crlDistributionPointUri is required for a DS"))?,
    };
    let write = StoreWrite { stored_certificate_id: b.stored_certificate_id, vical_metadata: None };
    let issued = s.authority.issue_ds(&c, &target, &signer, &data, &source, &write).await?;
    Ok(Json(Issued::new(&issued, raw["certificateData"].clone())))
}

// ---- stores ----

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EntryBody {
    #[serde(rename = "type", default = "base_type")]
    kind: String,
    certificate_pem: Option<String>,
    pem: Option<String>,
    complementary_metadata: Option<Value>,
}

fn base_type() -> String {
    "base".into()
}

impl EntryBody {
    fn pem(&self) -> ApiResult<&str> {
        self.certificate_pem
            .as_deref()
            .or(self.pem.as_deref())
            .ok_or_else(|| ApiError::bad_request("certificatePem is required"))
    }
}

/// On a store path: every entry; on an entry path: that entry.
#[utoipa::path(get, path = "/v1/{target}/x509-store-api/certificates", tag = "mdl", security(("bearer" = [])),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Entries), Errors))]
async fn store_list(State(s): State<AppState>, Auth(c): Auth, Path(target): Path<String>) -> ApiResult<Json<Entries>> {
    let entries = s.authority.store_list(&c, &target).await?;
    if target.split('.').count() == 4 {
        let entry = entries
            .first()
            .ok_or_else(|| ApiError::from(certus_authority::Error::not_found("store entry not found")))?;
        return Ok(Json(Entries::One(entry.into())));
    }
    Ok(Json(Entries::All(entries.iter().map(StoreEntry::from).collect())))
}

/// A store entry in the spec's shape: `_id`, `data` (`type`, `pem`, `complementaryMetadata`), `updatedAt`.
impl From<&certus_authority::StoreEntry> for StoreEntry {
    fn from(e: &certus_authority::StoreEntry) -> Self {
        StoreEntry {
            id: e.path.clone(),
            data: EntryData {
                kind: e.entry_type.clone(),
                pem: e.pem.clone(),
                complementary_metadata: e.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()),
            },
            updated_at: crate::time_fmt::rfc3339(e.updated_at),
        }
    }
}

#[utoipa::path(get, path = "/v1/{target}/x509-store-api/certificates/ids", tag = "mdl", security(("bearer" = [])),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Vec<String>), Errors))]
async fn store_ids(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(s.authority.store_list(&c, &target).await?.into_iter().map(|e| e.path).collect()))
}

#[utoipa::path(post, path = "/v1/{target}/x509-store-api/certificates", tag = "mdl", security(("bearer" = [])), request_body = EntryBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201, body = StoreEntry), Errors))]
async fn store_add(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<EntryBody>,
) -> ApiResult<(StatusCode, Json<StoreEntry>)> {
    let entry = s.authority.store_add(&c, &target, &b.kind, b.pem()?, b.complementary_metadata.clone()).await?;
    Ok((StatusCode::CREATED, Json(StoreEntry::from(&entry))))
}

#[utoipa::path(put, path = "/v1/{target}/x509-store-api/certificates", tag = "mdl", security(("bearer" = [])), request_body = EntryBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = StoreEntry), Errors))]
async fn store_update(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<EntryBody>,
) -> ApiResult<Json<StoreEntry>> {
    let entry = s.authority.store_update(&c, &target, &b.kind, b.pem()?, b.complementary_metadata.clone()).await?;
    Ok(Json(StoreEntry::from(&entry)))
}

#[utoipa::path(delete, path = "/v1/{target}/x509-store-api/certificates", tag = "mdl", security(("bearer" = [])),
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 204), Errors))]
async fn store_delete(State(s): State<AppState>, Auth(c): Auth, Path(target): Path<String>) -> ApiResult<StatusCode> {
    s.authority.store_delete(&c, &target).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- generic certificates ----

#[derive(Deserialize, Clone, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NameBody {
    common_name: Option<String>,
    country: Option<String>,
    state_or_province_name: Option<String>,
    organization_name: Option<String>,
    locality_name: Option<String>,
    organizational_unit_name: Option<String>,
}

impl NameBody {
    fn subject(&self) -> certus_x509::Subject {
        certus_x509::Subject {
            common_name: self.common_name.clone(),
            organization: self.organization_name.clone(),
            organization_unit: self.organizational_unit_name.clone(),
            country: self.country.clone(),
            state: self.state_or_province_name.clone(),
            locality: self.locality_name.clone(),
            order: Vec::new(),
        }
    }
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SansBody {
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    uris: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    ip_addresses: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GenericCertData {
    subject_name: NameBody,
    issuer_name: Option<NameBody>,
    not_before: Option<String>,
    not_after: Option<String>,
    #[serde(default)]
    is_certificate_authority: bool,
    path_length_constraint: Option<u8>,
    #[serde(default)]
    key_usage: Vec<String>,
    #[serde(default)]
    extended_key_usage_oids: Vec<String>,
    #[serde(default)]
    subject_alternative_names: SansBody,
    crl_distribution_point_uri: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct IssuerBody {
    #[serde(rename = "type")]
    kind: String,
    issuer_key_descriptor: Option<KeyDescriptor>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GenericBody {
    stored_certificate_id: Option<String>,
    certificate_data: GenericCertData,
    subject_public_key_source: PublicKeySourceBody,
    issuer: IssuerBody,
}

/// walt.id's key-usage names.
const KEY_USAGE_NAMES: &[(&str, certus_x509::KeyUsageBit)] = &[
    ("DigitalSignature", certus_x509::KeyUsageBit::DigitalSignature),
    ("NonRepudiation", certus_x509::KeyUsageBit::ContentCommitment),
    ("KeyEncipherment", certus_x509::KeyUsageBit::KeyEncipherment),
    ("DataEncipherment", certus_x509::KeyUsageBit::DataEncipherment),
    ("KeyAgreement", certus_x509::KeyUsageBit::KeyAgreement),
    ("KeyCertSign", certus_x509::KeyUsageBit::KeyCertSign),
    ("CRLSign", certus_x509::KeyUsageBit::CrlSign),
    ("EncipherOnly", certus_x509::KeyUsageBit::EncipherOnly),
    ("DecipherOnly", certus_x509::KeyUsageBit::DecipherOnly),
];

#[utoipa::path(post, path = "/v1/{target}/x509-service-api/certificate", tag = "mdl", security(("bearer" = [])), request_body = GenericBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 200, body = Issued), Errors))]
async fn generic(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(raw): ApiJson<Value>,
) -> ApiResult<Json<Issued>> {
    let b: GenericBody = typed(&raw)?;
    let d = &b.certificate_data;
    let key_usage = d
        .key_usage
        .iter()
        .map(|n| {
            KEY_USAGE_NAMES
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, bit)| *bit)
                .ok_or_else(|| ApiError::bad_request(format!("keyUsage: unknown value {n:?}")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let data = GenericData {
        subject: d.subject_name.subject(),
        issuer_name: d.issuer_name.as_ref().map(NameBody::subject),
        not_before: time_of("notBefore", &d.not_before)?,
        not_after: time_of("notAfter", &d.not_after)?,
        is_ca: d.is_certificate_authority,
        path_len: d.path_length_constraint,
        key_usage,
        extended_key_usage_oids: d.extended_key_usage_oids.clone(),
        dns_names: d.subject_alternative_names.dns_names.clone(),
        uris: d.subject_alternative_names.uris.clone(),
        emails: d.subject_alternative_names.emails.clone(),
        ip_addresses: d.subject_alternative_names.ip_addresses.clone(),
        crl_url: d.crl_distribution_point_uri.clone(),
    };
    let src = &b.subject_public_key_source;
    let source = match src.kind.as_str() {
        "key-descriptor" => PublicKeySource::Key(
            src.key_descriptor
                .clone()
                .ok_or_else(|| ApiError::bad_request("subjectPublicKeySource.keyDescriptor is required"))?
                .to_ref()?,
        ),
        "csr" => PublicKeySource::Csr(
            src.csr.clone().ok_or_else(|| ApiError::bad_request("subjectPublicKeySource.csr is required"))?,
        ),
        other => {
            return Err(ApiError::bad_request(format!(
                "subjectPublicKeySource type {other:?}: use key-descriptor or csr"
            )));
        }
    };
    let issuer = match b.issuer.kind.as_str() {
        "self-signed" => GenericIssuer::SelfSigned,
        "ca-signed" => GenericIssuer::CaSigned(
            b.issuer
                .issuer_key_descriptor
                .clone()
                .ok_or_else(|| ApiError::bad_request("issuer.issuerKeyDescriptor is required"))?
                .to_ref()?,
        ),
        other => return Err(ApiError::bad_request(format!("issuer type {other:?}: use self-signed or ca-signed"))),
    };
    let write = StoreWrite { stored_certificate_id: b.stored_certificate_id.clone(), vical_metadata: None };
    let (issued, jwk) = s.authority.issue_generic(&c, &target, &data, &source, &issuer, &write).await?;
    let mut echo_data = raw["certificateData"].clone();
    if echo_data.get("issuerName").is_none() {
        echo_data["issuerName"] = echo_data["subjectName"].clone();
    }
    echo_data["isCertificateAuthority"] = json!(d.is_certificate_authority);
    echo_data["keyUsage"] = json!(d.key_usage);
    echo_data["publicKeyJwk"] = jwk.to_json();
    Ok(Json(Issued::new(&issued, echo_data)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CsrBody {
    /// `generic` (subjectName) or `document-signer` (certificateData).
    #[serde(rename = "type", default = "generic_type")]
    kind: String,
    subject_key_descriptor: KeyDescriptor,
    subject_name: Option<NameBody>,
    certificate_data: Option<NameBody>,
    #[serde(default)]
    subject_alternative_names: SansBody,
}

fn generic_type() -> String {
    "generic".into()
}

/// A CSR signed by the subject key, returned as `{"csrPEM": ...}`.
#[utoipa::path(post, path = "/v1/{target}/x509-service-api/csrs", tag = "mdl", security(("bearer" = [])), request_body = CsrBody,
    params(("target" = String, Path, description = "org.tenant.service[.id]")),
    responses((status = 201, body = CsrIssued), Errors))]
async fn csr(
    State(s): State<AppState>,
    Auth(c): Auth,
    Path(target): Path<String>,
    ApiJson(b): ApiJson<CsrBody>,
) -> ApiResult<(StatusCode, Json<CsrIssued>)> {
    let name = match b.kind.as_str() {
        "generic" => b.subject_name.as_ref(),
        "document-signer" => b.certificate_data.as_ref(),
        other => return Err(ApiError::bad_request(format!("type {other:?}: use generic or document-signer"))),
    }
    .ok_or_else(|| ApiError::bad_request("subjectName (generic) or certificateData (document-signer) is required"))?;
    let pem = s
        .authority
        .issue_csr(
            &c,
            &target,
            &name.subject(),
            &b.subject_alternative_names.dns_names,
            &b.subject_key_descriptor.to_ref()?,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CsrIssued { csr_pem: pem })))
}
