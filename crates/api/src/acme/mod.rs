//! The ACME wire protocol (RFC 8555, RFC 9773 renewal information, IP identifiers, profiles) at
//! `/acme/{directory}/…`. Every response carries a fresh `Replay-Nonce` and the directory's
//! `Link: rel="index"`; errors are RFC 7807 problem documents with ACME error types.

mod objects;
mod problem;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use certus_authority::{AccountUpdate, AcmeRequest, KeyRule, RETRY_AFTER_SECS};
use serde_json::json;

use self::objects::{account_json, authz_json, challenge_json, order_json};
use self::problem::AcmeError;
use crate::AppState;

type AcmeResult<T> = Result<T, AcmeError>;

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/acme/{dir}/directory", get(directory))
        .route("/acme/{dir}/new-nonce", get(new_nonce_get).head(new_nonce_head))
        .route("/acme/{dir}/new-account", post(new_account))
        .route("/acme/{dir}/account/{id}", post(account))
        .route("/acme/{dir}/account/{id}/orders", post(orders))
        .route("/acme/{dir}/key-change", post(key_change))
        .route("/acme/{dir}/new-order", post(new_order))
        .route("/acme/{dir}/order/{id}", post(order))
        .route("/acme/{dir}/order/{id}/finalize", post(finalize))
        .route("/acme/{dir}/authz/{id}", post(authz))
        .route("/acme/{dir}/chall/{authz}/{typ}", post(challenge))
        .route("/acme/{dir}/cert/{id}", post(certificate))
        .route("/acme/{dir}/revoke-cert", post(revoke))
        .route("/acme/{dir}/renewal-info/{id}", get(renewal_info))
        .layer(axum::middleware::from_fn_with_state(state, protocol_headers))
}

/// Adds `Replay-Nonce`, `Link: <directory>;rel="index"` and `Cache-Control: no-store` to every
/// ACME response, errors included.
async fn protocol_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let dir = req.uri().path().split('/').nth(2).unwrap_or_default().to_owned();
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.authority.acme_new_nonce()) {
        headers.insert("replay-nonce", v);
    }
    let index = format!("<{}>;rel=\"index\"", state.authority.acme_urls(&dir).directory());
    if let Ok(v) = HeaderValue::from_str(&index) {
        headers.append(header::LINK, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A request whose JWS checked out, signed as `RULE` demands ([`KID`], [`JWK`] or [`EITHER`]).
struct Signed<const RULE: u8>(AcmeRequest);

const KID: u8 = 0;
const JWK: u8 = 1;
const EITHER: u8 = 2;

impl<const RULE: u8> FromRequest<AppState> for Signed<RULE> {
    type Rejection = AcmeError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AcmeError> {
        let path_and_query = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
        let dir = path_and_query.split('/').nth(2).unwrap_or_default().to_owned();
        let url = format!("{}{path_and_query}", state.authority.public_url());
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            AcmeError::from(certus_authority::Error::malformed(format!("unreadable request body: {e}")))
        })?;
        let rule = match RULE {
            JWK => KeyRule::Jwk,
            EITHER => KeyRule::Either,
            _ => KeyRule::Kid,
        };
        Ok(Signed(state.authority.acme_verify(&dir, &url, &body, rule).await?))
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn with_location(mut res: Response, url: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn with_retry_after(mut res: Response) -> Response {
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    res
}

async fn directory(State(state): State<AppState>, Path(dir): Path<String>) -> AcmeResult<Response> {
    let view = state.authority.acme_directory(&dir).await?;
    let urls = state.authority.acme_urls(&dir);
    let mut meta = serde_json::Map::new();
    meta.insert("externalAccountRequired".into(), json!(view.row.require_eab));
    if let Some(tos) = &view.row.terms_of_service {
        meta.insert("termsOfService".into(), json!(tos));
    }
    if !view.profiles.is_empty() {
        let profiles: serde_json::Map<String, serde_json::Value> =
            view.profiles.iter().map(|p| (p.clone(), json!(format!("issuance profile {p}")))).collect();
        meta.insert("profiles".into(), json!(profiles));
    }
    Ok(json_response(
        StatusCode::OK,
        json!({
            "newNonce": urls.at("new-nonce"),
            "newAccount": urls.at("new-account"),
            "newOrder": urls.at("new-order"),
            "revokeCert": urls.at("revoke-cert"),
            "keyChange": urls.at("key-change"),
            "renewalInfo": urls.at("renewal-info"),
            "meta": meta,
        }),
    ))
}

async fn new_nonce_get(State(state): State<AppState>, Path(dir): Path<String>) -> AcmeResult<StatusCode> {
    state.authority.acme_directory(&dir).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn new_nonce_head(State(state): State<AppState>, Path(dir): Path<String>) -> AcmeResult<StatusCode> {
    state.authority.acme_directory(&dir).await?;
    Ok(StatusCode::OK)
}

async fn new_account(
    State(state): State<AppState>,
    Path(dir): Path<String>,
    Signed(req): Signed<JWK>,
) -> AcmeResult<Response> {
    let urls = state.authority.acme_urls(&dir);
    let (status, row) = match state.authority.acme_new_account(&req).await? {
        AccountUpdate::Created(row) => (StatusCode::CREATED, row),
        AccountUpdate::Existing(row) => (StatusCode::OK, row),
    };
    let location = urls.account(&row.id);
    Ok(with_location(json_response(status, account_json(&urls, &row)), &location))
}

async fn account(
    State(state): State<AppState>,
    Path((dir, id)): Path<(String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let row = state.authority.acme_update_account(&req, &id).await?;
    Ok(json_response(StatusCode::OK, account_json(&state.authority.acme_urls(&dir), &row)))
}

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    cursor: i64,
}

async fn orders(
    State(state): State<AppState>,
    Path((dir, id)): Path<(String, String)>,
    Query(page): Query<Page>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let (ids, more) = state.authority.acme_list_orders(&req, &id, page.cursor).await?;
    let urls = state.authority.acme_urls(&dir);
    let list: Vec<String> = ids.iter().map(|o| urls.at(&format!("order/{o}"))).collect();
    let mut res = json_response(StatusCode::OK, json!({ "orders": list }));
    if more {
        let next = format!(
            "<{}?cursor={}>;rel=\"next\"",
            urls.at(&format!("account/{id}/orders")),
            page.cursor.saturating_add(1)
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            res.headers_mut().append(header::LINK, v);
        }
    }
    Ok(res)
}

async fn key_change(
    State(state): State<AppState>,
    Path(dir): Path<String>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let row = state.authority.acme_key_change(&req).await?;
    Ok(json_response(StatusCode::OK, account_json(&state.authority.acme_urls(&dir), &row)))
}

async fn new_order(
    State(state): State<AppState>,
    Path(dir): Path<String>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let order = state.authority.acme_new_order(&req).await?;
    let urls = state.authority.acme_urls(&dir);
    let location = urls.at(&format!("order/{}", order.row.id));
    Ok(with_location(json_response(StatusCode::CREATED, order_json(&urls, &order)), &location))
}

fn order_response(urls: &certus_authority::AcmeUrls, order: &certus_authority::OrderView) -> Response {
    let res = json_response(StatusCode::OK, order_json(urls, order));
    let res = with_location(res, &urls.at(&format!("order/{}", order.row.id)));
    if order.row.status == "processing" { with_retry_after(res) } else { res }
}

async fn order(
    State(state): State<AppState>,
    Path((dir, id)): Path<(String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let order = state.authority.acme_get_order(&req, &id).await?;
    Ok(order_response(&state.authority.acme_urls(&dir), &order))
}

async fn finalize(
    State(state): State<AppState>,
    Path((dir, id)): Path<(String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let order = state.authority.acme_finalize(&req, &id).await?;
    Ok(order_response(&state.authority.acme_urls(&dir), &order))
}

async fn authz(
    State(state): State<AppState>,
    Path((dir, id)): Path<(String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let row = state.authority.acme_authz(&req, &id).await?;
    let res = json_response(StatusCode::OK, authz_json(&state.authority.acme_urls(&dir), &row));
    Ok(if row.status == "processing" { with_retry_after(res) } else { res })
}

async fn challenge(
    State(state): State<AppState>,
    Path((dir, authz, typ)): Path<(String, String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let row = state.authority.acme_challenge(&req, &authz, &typ).await?;
    let urls = state.authority.acme_urls(&dir);
    let mut res = json_response(StatusCode::OK, challenge_json(&urls, &row, &typ));
    let up = format!("<{}>;rel=\"up\"", urls.at(&format!("authz/{}", row.id)));
    if let Ok(v) = HeaderValue::from_str(&up) {
        res.headers_mut().append(header::LINK, v);
    }
    Ok(if row.status == "processing" { with_retry_after(res) } else { res })
}

async fn certificate(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Signed(req): Signed<KID>,
) -> AcmeResult<Response> {
    let pem = state.authority.acme_certificate(&req, &id).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/pem-certificate-chain")], pem).into_response())
}

async fn revoke(State(state): State<AppState>, Signed(req): Signed<EITHER>) -> AcmeResult<StatusCode> {
    state.authority.acme_revoke(&req).await?;
    Ok(StatusCode::OK)
}

/// How long a client should wait before asking again for renewal information.
const ARI_RETRY_AFTER_SECS: u32 = 6 * 3600;

async fn renewal_info(State(state): State<AppState>, Path((dir, id)): Path<(String, String)>) -> AcmeResult<Response> {
    let window = state.authority.acme_renewal_info(&dir, &id).await?;
    let body = json!({
        "suggestedWindow": {
            "start": crate::time_fmt::rfc3339(window.start),
            "end": crate::time_fmt::rfc3339(window.end),
        }
    });
    let mut res = json_response(StatusCode::OK, body);
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(ARI_RETRY_AFTER_SECS));
    Ok(res)
}
