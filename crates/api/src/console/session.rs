//! Signing in and out: the sign-in page (with the first-user form while the bootstrap is open),
//! password or superuser-token login, logout and the tenant switch. Before a session exists,
//! forms are protected by a double-submit cookie.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use certus_authority::NewUser;
use serde::Deserialize;

use super::{ConsoleError, ConsoleResult, SESSION_COOKIE, Viewer, check_csrf, cookie, html, set_cookie};
use crate::AppState;

/// The pre-session CSRF cookie of the sign-in forms.
const LOGIN_CSRF_COOKIE: &str = "certus_login_csrf";

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    bootstrap_open: bool,
    error: Option<String>,
}

/// The sign-in page; sets a fresh pre-session CSRF cookie.
pub(super) async fn login_page(State(s): State<AppState>) -> ConsoleResult<Response> {
    render_login(&s, None, StatusCode::OK).await
}

async fn render_login(s: &AppState, error: Option<String>, status: StatusCode) -> ConsoleResult<Response> {
    let csrf = hex::encode(certus_kms::random_bytes::<24>());
    let page = LoginPage { bootstrap_open: s.authority.first_user_bootstrap_open().await?, csrf, error };
    let mut res = (status, html(&page)).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, &page.csrf, Some(3600), s.secure_cookies));
    Ok(res)
}

fn check_login_csrf(headers: &HeaderMap, form_token: &str) -> ConsoleResult<()> {
    match cookie(headers, LOGIN_CSRF_COOKIE) {
        Some(c) if !c.is_empty() && certus_kms::ct_eq(c.as_bytes(), form_token.as_bytes()) => Ok(()),
        _ => Err(ConsoleError::new(StatusCode::FORBIDDEN, "the sign-in form expired; reload the page")),
    }
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    with: String,
}

fn signed_in(s: &AppState, session: &str) -> Response {
    let mut res = Redirect::to("/ui/dashboard").into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, session, None, s.secure_cookies));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", Some(0), s.secure_cookies));
    res
}

/// Password or token sign-in; login attempts count into the same per-address limit as /api/v1.
pub(super) async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult<Response> {
    let Form(f) = form.map_err(|e| ConsoleError::bad_request(format!("the sign-in form could not be read: {e}")))?;
    check_login_csrf(&headers, &f.csrf)?;
    if !s.authority.login_allowed(&peer.ip().to_string(), s.logins_per_minute).await? {
        return render_login(
            &s,
            Some("Too many sign-in attempts; wait a minute".into()),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let by_token = f.with == "token" || (f.username.is_empty() && !f.token.is_empty());
    let result = if by_token {
        s.authority.console_login_with_token(f.token.trim()).await
    } else {
        s.authority.console_login(f.username.trim(), &f.password).await
    };
    match result {
        Ok(session) => Ok(signed_in(&s, &session)),
        Err(e) if e.kind == certus_authority::ErrorKind::Unauthorized => {
            render_login(&s, Some(e.message), StatusCode::UNAUTHORIZED).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct SetupForm {
    #[serde(default)]
    csrf: String,
    username: String,
    email: String,
    password: String,
}

/// Creates the first user (a superuser) while the bootstrap is open, then signs in as it.
pub(super) async fn setup(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SetupForm>, axum::extract::rejection::FormRejection>,
) -> ConsoleResult<Response> {
    let Form(f) = form.map_err(|e| ConsoleError::bad_request(format!("the form could not be read: {e}")))?;
    check_login_csrf(&headers, &f.csrf)?;
    if !s.authority.first_user_bootstrap_open().await? {
        return Err(ConsoleError::new(StatusCode::FORBIDDEN, "the first user exists already; sign in instead"));
    }
    let new = NewUser {
        username: f.username.trim().to_owned(),
        email: f.email.trim().to_owned(),
        password: f.password.clone(),
        role: Some("superuser".into()),
        ..Default::default()
    };
    if let Err(e) = s.authority.create_user(None, new).await {
        return render_login(&s, Some(e.message), StatusCode::BAD_REQUEST).await;
    }
    Ok(signed_in(&s, &s.authority.console_login(f.username.trim(), &f.password).await?))
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

/// Ends the session.
pub(super) async fn logout(
    State(s): State<AppState>,
    Viewer(viewer): Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> ConsoleResult<Response> {
    check_csrf(&viewer, &headers, f.csrf.as_deref())?;
    s.authority.console_logout(&viewer).await?;
    let mut res = Redirect::to("/ui/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0), s.secure_cookies));
    Ok(res)
}

/// Switches the tenant on screen (one of the viewer's).
pub(super) async fn switch_tenant(
    State(s): State<AppState>,
    Viewer(viewer): Viewer,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> ConsoleResult<Response> {
    check_csrf(&viewer, &headers, f.csrf.as_deref())?;
    let wanted = f.tenant.unwrap_or_default();
    if !viewer.tenants.iter().any(|t| t.id == wanted) {
        return Err(ConsoleError::new(StatusCode::NOT_FOUND, "no such tenant"));
    }
    let Some(session) = cookie(&headers, SESSION_COOKIE) else {
        return Err(ConsoleError::new(StatusCode::UNAUTHORIZED, "not signed in"));
    };
    s.authority.console_viewer(session, Some(&wanted)).await?;
    Ok(Redirect::to("/ui/dashboard").into_response())
}
