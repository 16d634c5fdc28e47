//! The public OCSP front door (RFC 6960 Appendix A): `POST /ocsp` with an
//! `application/ocsp-request` body, or `GET /ocsp/{base64 request}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use certus_authority::OcspReply;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // GET's request is base64 and may contain '/', so it takes the rest of the path (a
    // catch-all the OpenAPI document cannot express; POST documents the responder).
    OpenApiRouter::new().routes(routes!(ocsp_post)).route("/ocsp/{*request}", axum::routing::get(ocsp_get))
}

fn render(reply: OcspReply) -> Response {
    let cache = match reply.max_age {
        Some(secs) => format!("public, max-age={secs}, no-transform, must-revalidate"),
        None => "no-store".to_owned(),
    };
    ([(header::CONTENT_TYPE, "application/ocsp-response".to_owned()), (header::CACHE_CONTROL, cache)], reply.der)
        .into_response()
}

/// OCSP over POST; the body is a DER OCSPRequest. `GET /ocsp/{base64 request}` answers the
/// same. Public.
#[utoipa::path(post, path = "/ocsp", tag = "ocsp", request_body(content = crate::Der, content_type = "application/ocsp-request"),
    responses((status = 200, content_type = "application/ocsp-response", body = crate::Der)))]
async fn ocsp_post(State(state): State<AppState>, body: Bytes) -> Response {
    render(state.authority.ocsp_respond(&body).await)
}

/// OCSP over GET; the path is the base64 (URL-encoded) DER OCSPRequest.
async fn ocsp_get(State(state): State<AppState>, Path(request): Path<String>) -> Response {
    let engines = [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE];
    let trimmed = request.trim_start_matches('/');
    let der = engines.iter().find_map(|e| e.decode(trimmed).ok()).unwrap_or_default();
    render(state.authority.ocsp_respond(&der).await)
}
