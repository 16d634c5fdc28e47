//! The native API's one error shape, `{"error": {"code", "message"}}`, and extractors whose
//! rejections use it, so a malformed body or query never produces a bare-text error.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use certus_authority::{Error, ErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable machine-readable code: invalid_request, policy_violation, unauthorized,
    /// forbidden, not_found, conflict, internal_error.
    pub code: String,
    /// What was wrong, for humans.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

/// Counts an engine error and gives the status the doors answer it with: 400 for malformed
/// input and policy refusals, 401, 403, 404, 409, 503 when the database cannot take the request
/// just now. `None` for an internal error, which is logged
/// here and answered without its message (it may name tables or files).
pub(crate) fn door_status(e: &Error) -> Option<StatusCode> {
    certus_authority::note_error(e.kind);
    match e.kind {
        ErrorKind::Malformed | ErrorKind::Policy => Some(StatusCode::BAD_REQUEST),
        ErrorKind::Unauthorized => Some(StatusCode::UNAUTHORIZED),
        ErrorKind::Forbidden => Some(StatusCode::FORBIDDEN),
        ErrorKind::NotFound => Some(StatusCode::NOT_FOUND),
        ErrorKind::Conflict => Some(StatusCode::CONFLICT),
        // Logged where it was made; its message says only to retry.
        ErrorKind::Unavailable => Some(StatusCode::SERVICE_UNAVAILABLE),
        _ => {
            tracing::error!(error = %e.message, "internal error");
            None
        }
    }
}

/// The message an internal error is answered with.
pub(crate) const INTERNAL: &str = "internal error";

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let Some(status) = door_status(&e) else {
            return ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal_error",
                message: INTERNAL.into(),
            };
        };
        let code = match e.kind {
            ErrorKind::Malformed => "invalid_request",
            ErrorKind::Policy => "policy_violation",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unavailable => "unavailable",
            _ => "conflict",
        };
        ApiError { status, code, message: e.message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// JSON body extractor; a bad body is a 400 (415 without a JSON content type) in our shape.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A JSON body that may be absent entirely (then `T::default()`).
pub(crate) struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "invalid_request", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

fn json_rejection(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection::*;
    match rejection {
        MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "expected a JSON body with Content-Type: application/json",
        ),
        // Too large stays 413; a wrong type or bad syntax is a 400 naming the field.
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", other.body_text())
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// Query-string extractor with our error shape.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

pub(crate) async fn not_found_fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub(crate) async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this endpoint")
}
