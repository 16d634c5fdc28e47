//! Resolves `Authorization: Bearer <token>` to the authority's `Caller`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use certus_authority::Caller;

use crate::AppState;
use crate::error::ApiError;

pub(crate) struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        Ok(Auth(state.authority.authenticate(bearer).await?))
    }
}
