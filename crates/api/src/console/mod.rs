//! The web console at `/ui`: server-rendered HTML (askama templates compiled into the binary)
//! with htmx for partial updates, both vendored. Every read works without JavaScript. Sessions
//! are server-side rows behind an HttpOnly, SameSite=Strict cookie; every form and htmx request
//! carries the session's CSRF token. The console acts through the same engine calls as the API
//! doors, with the /api/v1 permission model.

mod actions;
mod pages;
mod session;
mod views;

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::Path};
use certus_authority::ConsoleViewer;

use crate::AppState;

/// The session cookie.
const SESSION_COOKIE: &str = "certus_console";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/dashboard") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/dashboard") }))
        .route("/ui/assets/{name}", get(asset))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/setup", post(session::setup))
        .route("/ui/logout", post(session::logout))
        .route("/ui/tenant", post(session::switch_tenant))
        .route("/ui/dashboard", get(pages::dashboard))
        .route("/ui/cas", get(pages::cas))
        .route("/ui/certificates", get(pages::certificates))
        .route("/ui/certificates/{id}", get(pages::certificate))
        .route("/ui/certificates/{id}/pem", get(pages::certificate_pem))
        .route("/ui/certificates/{id}/revoke", post(actions::revoke))
        .route("/ui/issue", get(actions::issue_page).post(actions::issue))
        .route("/ui/csrs", get(actions::csr_queue))
        .route("/ui/csrs/{id}/{decision}", post(actions::decide_csr))
        .route("/ui/webhooks", get(pages::webhooks))
        .route("/ui/webhooks/{id}/test", post(actions::test_webhook))
        .route("/ui/audit", get(pages::audit))
        .route("/ui/audit/verify", get(pages::verify_audit))
        .layer(axum::middleware::from_fn(console_headers))
}

/// Pages may load only the console's own script and stylesheet, are never framed or cached.
async fn console_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// htmx and the stylesheet, embedded in the binary.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match name.as_str() {
        "htmx.min.js" => (include_bytes!("../../assets/htmx.min.js"), "text/javascript; charset=utf-8"),
        "console.css" => (include_bytes!("../../assets/console.css"), "text/css; charset=utf-8"),
        _ => return ConsoleError::new(StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response()
}

/// A console failure, shown as a page (or, for a lapsed session, a trip to the sign-in page).
#[derive(Debug)]
pub(crate) struct ConsoleError {
    status: StatusCode,
    message: String,
}

impl ConsoleError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ConsoleError { status, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

pub(crate) type ConsoleResult<T> = Result<T, ConsoleError>;

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: String,
    message: &'a str,
}

/// The error page, also used for rejections raised before a console handler runs.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage { status: status.to_string(), message };
    let mut res = (status, html(&page)).into_response();
    // The layer above only sees the status; keep the page.
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            // htmx follows HX-Redirect; a plain browser follows the 303.
            let mut res = Redirect::to("/ui/login").into_response();
            res.headers_mut().insert("hx-redirect", HeaderValue::from_static("/ui/login"));
            return res;
        }
        error_page(self.status, &self.message)
    }
}

impl From<certus_authority::Error> for ConsoleError {
    fn from(e: certus_authority::Error) -> Self {
        match crate::error::door_status(&e) {
            Some(status) => ConsoleError::new(status, e.message),
            None => ConsoleError::new(StatusCode::INTERNAL_SERVER_ERROR, crate::error::INTERNAL),
        }
    }
}

/// Renders a template as a page.
pub(crate) fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for a console cookie: HttpOnly, SameSite=Strict, Secure under TLS.
/// Without `max_age` it lasts the browser session (the server enforces idle and absolute
/// expiry); `Some(0)` deletes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    let text = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict{age}{secure}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// The signed-in viewer, or a trip to the sign-in page.
pub(crate) struct Viewer(pub ConsoleViewer);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ConsoleError> {
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ConsoleError::new(StatusCode::UNAUTHORIZED, "not signed in"));
        };
        Ok(Viewer(s.authority.console_viewer(value, None).await?))
    }
}

/// Refuses a state-changing request whose CSRF token (form field or `X-CSRF-Token` header)
/// is not the session's.
pub(crate) fn check_csrf(viewer: &ConsoleViewer, headers: &HeaderMap, form_token: Option<&str>) -> ConsoleResult<()> {
    let presented = form_token.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    match presented {
        Some(t) if certus_kms::ct_eq(t.as_bytes(), viewer.csrf.as_bytes()) => Ok(()),
        _ => {
            Err(ConsoleError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token; reload the page and try again"))
        }
    }
}

/// Whether htmx asked (and wants only the fragment).
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}
