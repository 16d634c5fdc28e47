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
        Ok(Auth(state.authority.authenticate(bearer_token(parts)).await?))
    }
}

/// The token of an `Authorization: Bearer <token>` header, for every front door (the scheme
/// name is case-insensitive, RFC 7235 §2.1).
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
