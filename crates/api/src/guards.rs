//! Guards every request passes: a body-size limit answered before parsing, a request timeout,
//! and panics contained to a 500.

/// The largest request body any route reads.
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// How much of a body declared too large is read away before the 413, so a client that sends its
/// whole body before reading the answer gets the answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 32 * 1024 * 1024;

/// A body whose Content-Length is over [`BODY_LIMIT`] is answered 413 before any route parses it
/// (the door layer gives the answer its door's shape).
pub(crate) async fn refuse_oversized(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(declared) = declared.filter(|n| *n > BODY_LIMIT as u64) else { return next.run(req).await };
    if declared <= DRAIN_LIMIT {
        let mut body = req.into_body().into_data_stream();
        while let Some(Ok(_)) = body.next().await {}
    }
    let message = format!("the request body is {declared} bytes; at most {BODY_LIMIT} are accepted");
    (axum::http::StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
}

/// A request that takes longer than the configured timeout (a client trickling its body, a
/// stuck handler) is answered 408; the door layer gives it the door's JSON shape.
pub(crate) async fn request_timeout(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => (axum::http::StatusCode::REQUEST_TIMEOUT, "the request did not complete in time").into_response(),
    }
}

/// A handler that panics (a bug) answers 500 and is logged, instead of dropping the connection;
/// the server keeps serving.
pub(crate) async fn contain_panics(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!("request handler panicked");
            let body = serde_json::json!({ "error": { "code": "internal", "message": "internal error" } });
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
}
