//! HTTP front doors onto the authority. Each front door parses, makes one authority call and
//! renders; no policy and no SQL here. `router()` assembles them with the OpenAPI document.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acme;
mod auth;
mod console;
mod door_errors;
mod error;
mod est;
mod fastpki;
#[cfg(fuzzing)]
pub mod fuzzing;
mod guards;
mod issue_limit;
mod lamassu;
mod mdl;
mod metrics;
mod native;
mod ocsp;
mod request_id;
mod time_fmt;

use axum::Router;
use certus_authority::Authority;
pub use est::TlsClientChain;
use std::sync::{Arc, OnceLock};

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler shares, behind one `Arc`: axum clones the state for every request, and a
/// field-by-field clone of the engine cost a few percent of the sign load.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// The engine.
    pub authority: Authority,
    /// Password logins allowed per client address and minute on /api/v1 (cluster-wide).
    pub logins_per_minute: usize,
    /// How long one request may take, body included, before it is answered 408.
    pub request_timeout: std::time::Duration,
    /// Issuing requests allowed per bearer token and per client address and minute, across
    /// nodes (0: no limit).
    pub issue_rate_limit: u64,
    /// The bearer token `/metrics` asks for (none: open).
    pub metrics_token: Option<String>,
    /// Whether console cookies are marked Secure (the server speaks TLS).
    pub secure_cookies: bool,
}

/// The default for [`AppState::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    /// `logins_per_minute`: password logins allowed per client address and minute on /api/v1.
    pub fn new(authority: Authority, logins_per_minute: usize) -> Self {
        AppState(Arc::new(Shared {
            authority,
            logins_per_minute,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            issue_rate_limit: 0,
            metrics_token: None,
            secure_cookies: false,
        }))
    }

    /// Marks console cookies Secure (set when serving over TLS).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        Arc::make_mut(&mut self.0).secure_cookies = secure;
        self
    }

    /// Limits issuing requests per bearer token and per client address and minute (0: none).
    pub fn with_issue_rate_limit(mut self, per_minute: u64) -> Self {
        Arc::make_mut(&mut self.0).issue_rate_limit = per_minute;
        self
    }

    /// Puts `/metrics` behind this bearer token.
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        Arc::make_mut(&mut self.0).metrics_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Bounds each request (a slow body, a stuck handler) to `timeout`.
    pub fn with_request_timeout(mut self, timeout: std::time::Duration) -> Self {
        Arc::make_mut(&mut self.0).request_timeout = timeout;
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Certus", description = "Certus private CA: the native /v1/pki API."),
    modifiers(&BearerAuth),
    // Referenced by the /api/ca/v1 operations' error responses (which do not register it).
    components(schemas(lamassu::models::ErrorBody)),
    tags(
        (name = "ca", description = "Certificate authorities and CRLs"),
        (name = "roles", description = "Issuance roles"),
        (name = "issue", description = "Issuing and signing"),
        (name = "csr", description = "CSR approval workflow"),
        (name = "acme", description = "ACME directories and EAB keys (clients use /acme/{name}/directory)"),
        (name = "webhooks", description = "Signed event deliveries (issued, revoked, expiring, CRL published)"),
        (name = "est", description = "EST labels and credentials (devices enroll at /.well-known/est)"),
        (name = "certificates", description = "Certificate inventory, validation, revocation"),
        (name = "trust-anchors", description = "External trust anchors"),
        (name = "admin", description = "Superuser: tenants and API tokens"),
        (name = "meta", description = "Health and identity"),
        (name = "ocsp", description = "OCSP responder (RFC 6960), public"),
        (name = "ca-v1", description = "/api/ca/v1: issuance profiles, CAs and certificates (errors as {\"err\"})"),
    )
)]
struct ApiDoc;

pub(crate) struct BearerAuth;

/// A DER download (a certificate or CRL) as the OpenAPI documents describe it: binary.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // documentation only: handlers answer the bytes
pub(crate) struct Der(Vec<u8>);

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A document as the bytes it is served as.
fn document_json(doc: &utoipa::openapi::OpenApi) -> axum::body::Bytes {
    serde_json::to_vec(doc).unwrap_or_default().into()
}

/// One front door's own OpenAPI document: the operations under `prefix`, cut from the generated
/// whole, so it cannot drift from the code.
fn door_document(mut doc: utoipa::openapi::OpenApi, prefix: &str, title: &str) -> utoipa::openapi::OpenApi {
    doc.paths.paths.retain(|path, _| path.starts_with(prefix));
    doc.info.title = title.to_owned();
    doc.info.description = Some(format!("The operations under {prefix}, in that product's shapes."));
    keep_reached_schemas(&mut doc);
    doc
}

/// Drops the component schemas that none of the document's operations reach.
fn keep_reached_schemas(doc: &mut utoipa::openapi::OpenApi) {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(name) =
                    map.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let Some(components) = doc.components.as_mut() else { return };
    let mut todo = Vec::new();
    refs(&serde_json::to_value(&doc.paths).unwrap_or_default(), &mut todo);
    let mut reached = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        if let Some(schema) = components.schemas.get(&name).filter(|_| reached.insert(name.clone())) {
            refs(&serde_json::to_value(schema).unwrap_or_default(), &mut todo);
        }
    }
    components.schemas.retain(|name, _| reached.contains(name));
}

/// The routes whose OpenAPI tree is gathered as they are merged (the native API, OCSP and the
/// /api/ca/v1 door), with that tree.
fn documented_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(native::router())
        .merge(ocsp::router())
        .merge(lamassu::router())
        .merge(lamassu::ca_router())
        .split_for_parts()
}

/// Makes one served OpenAPI document.
type MakeDocument = fn() -> utoipa::openapi::OpenApi;

/// The whole HTTP surface: native API, `/openapi.json` and interactive docs at `/docs`.
pub fn router(state: AppState) -> Router {
    let (api, _) = documented_parts();
    // Each document is made on its first request and kept as JSON: made at start-up, they and
    // the trees they came from held ~3.3 MB of the idle server's ~32 MB RSS.
    let documents: [(&str, &str, MakeDocument); 4] = [
        ("Certus native API", "/openapi.json", || documented_parts().1),
        ("/api/ca/v1 (Lamassu CA service)", "/api/ca/v1/openapi.json", || {
            door_document(
                documented_parts().1,
                "/api/ca/v1",
                "Certus: the /api/ca/v1 front door (Lamassu's CA service)",
            )
        }),
        ("/v1/{target} (walt.id mDL PKI)", "/openapi/mdl.json", <mdl::MdlDoc as OpenApi>::openapi),
        ("/api/v1 (FastPKI)", "/api/v1/openapi.json", <fastpki::FastPkiDoc as OpenApi>::openapi),
    ];
    let mut router = api
        .merge(mdl::router())
        .merge(est::router())
        .merge(acme::router(state.clone()))
        .merge(fastpki::router())
        .merge(console::router());
    let urls =
        documents.iter().enumerate().map(|(i, (name, url, _))| utoipa_swagger_ui::Url::with_primary(name, url, i == 0));
    let docs_ui = SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::new(urls));
    for (_, url, make) in documents {
        let json = Arc::new(OnceLock::new());
        router = router.route(
            url,
            axum::routing::get(move || async move {
                let json = json.get_or_init(|| document_json(&make())).clone();
                ([(axum::http::header::CONTENT_TYPE, "application/json")], json)
            }),
        );
    }
    router
        .merge(docs_ui)
        .route("/metrics", axum::routing::get(metrics::metrics))
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), issue_limit::issue_rate_limit))
        .layer(axum::middleware::from_fn(guards::refuse_oversized))
        .layer(axum::extract::DefaultBodyLimit::max(guards::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guards::request_timeout))
        .layer(axum::middleware::from_fn(door_errors::json_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(guards::contain_panics))
        .layer(axum::middleware::from_fn(request_id::request_id))
        .with_state(state)
}
