//! `/v1/pki/webhooks`: a tenant's webhook endpoints, a test delivery, and what was delivered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use certus_authority::{DeliveryRow, NewWebhook, WebhookView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiQuery, ApiResult, ErrorBody};
use crate::time_fmt::rfc3339;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    /// An http:// or https:// URL.
    url: String,
    /// Any of `certificate.issued`, `certificate.revoked`, `certificate.expiring`, `ca.expiring`,
    /// `crl.published`.
    events: Vec<String>,
    /// The HMAC secret (16 to 256 characters). Absent: Certus makes one and returns it once.
    secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Webhook {
    id: String,
    url: String,
    events: Vec<String>,
    created_at: String,
    /// Only in the creation response, and only when Certus made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn webhook_json(v: WebhookView) -> Webhook {
    Webhook { id: v.id, url: v.url, events: v.events, created_at: rfc3339(v.created_at), secret: v.secret }
}

/// Registers a webhook endpoint. Deliveries are JSON POSTs signed with
/// `Certus-Signature: t=<unix>,v1=<hex HMAC-SHA256 over "<t>.<body>">`, with `Certus-Delivery`
/// (the idempotence key) and `Certus-Event`.
#[utoipa::path(post, path = "/v1/pki/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = WebhookBody,
    responses((status = 201, body = Webhook), (status = 400, body = ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<WebhookBody>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    let view =
        state.authority.create_webhook(&caller, NewWebhook { url: b.url, events: b.events, secret: b.secret }).await?;
    Ok((StatusCode::CREATED, Json(webhook_json(view))))
}

/// The tenant's webhook endpoints.
#[utoipa::path(get, path = "/v1/pki/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Webhook>)))]
async fn list_webhooks(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(state.authority.list_webhooks(&caller).await?.into_iter().map(webhook_json).collect()))
}

#[utoipa::path(get, path = "/v1/pki/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Webhook), (status = 404, body = ErrorBody)))]
async fn get_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(webhook_json(state.authority.get_webhook(&caller, &id).await?)))
}

/// Removes an endpoint with its undelivered events.
#[utoipa::path(delete, path = "/v1/pki/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.authority.delete_webhook(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct TestDelivery {
    delivery_id: String,
}

/// Queues a `webhook.test` delivery to the endpoint.
#[utoipa::path(post, path = "/v1/pki/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    responses((status = 202, body = TestDelivery), (status = 404, body = ErrorBody)))]
async fn test_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestDelivery>)> {
    let delivery_id = state.authority.test_webhook(&caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestDelivery { delivery_id })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// At most this many, newest first (1 to 500, default 50).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct Delivery {
    id: String,
    event: String,
    /// `pending` (retried with backoff until the receiver answers 2xx) or `delivered`.
    status: String,
    attempts: i64,
    next_attempt_at: String,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

/// The endpoint's latest deliveries.
#[utoipa::path(get, path = "/v1/pki/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(DeliveriesQuery), responses((status = 200, body = Vec<Delivery>), (status = 404, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let rows = state.authority.webhook_deliveries(&caller, &id, q.limit.unwrap_or(50)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|d: DeliveryRow| Delivery {
                id: d.id,
                event: d.event,
                status: d.status,
                attempts: d.attempts,
                next_attempt_at: rfc3339(d.next_attempt_at),
                last_error: d.last_error,
                created_at: rfc3339(d.created_at),
                delivered_at: d.delivered_at.map(rfc3339),
            })
            .collect(),
    ))
}
