//! PEM downloads under `/api/v1/export/` (signed in), and the public `/crl/{slug}` and
//! `/ca/{slug}` downloads relying parties fetch (the URLs written into what /api/v1 CAs sign).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use certus_x509::{PemLabel, to_pem};

use super::{FastPkiPrincipal, FastPkiResult, Ids};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/export/ca/{id}/certificate", get(ca_certificate))
        .route("/api/v1/export/ca/{id}/private-key", get(ca_private_key))
        .route("/api/v1/export/certificate/{id}", get(certificate))
        .route("/api/v1/export/certificate/{id}/private-key", get(certificate_private_key))
        .route("/api/v1/export/certificate/{id}/chain", get(certificate_chain))
        .route("/crl/{slug}", get(public_crl))
        .route("/ca/{file}", get(public_ca))
}

fn download(content_type: &'static str, filename: String, body: impl Into<axum::body::Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename={filename}")),
        ],
        body.into(),
    )
        .into_response()
}

fn pem_file(filename: String, pem: String) -> Response {
    download("application/x-pem-file", filename, pem)
}

#[utoipa::path(get, path = "/api/v1/export/ca/{id}/certificate", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, description = "A PEM file", content_type = "application/x-pem-file", body = String), super::Errors))]
async fn ca_certificate(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Response> {
    let ca = s.authority.read_fastpki_ca(&user, id).await?;
    Ok(pem_file(format!("ca_{id}_certificate.pem"), to_pem(PemLabel::Certificate, &ca.ca.cert_der)))
}

#[utoipa::path(get, path = "/api/v1/export/ca/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, description = "A PEM file", content_type = "application/x-pem-file", body = String), super::Errors))]
async fn ca_private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Response> {
    let (_, pem) = s.authority.export_fastpki_ca_key(&user, id).await?;
    Ok(pem_file(format!("ca_{id}_private_key.pem"), pem))
}

#[utoipa::path(get, path = "/api/v1/export/certificate/{id}", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, description = "A PEM file", content_type = "application/x-pem-file", body = String), super::Errors))]
async fn certificate(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Response> {
    let view = s.authority.read_fastpki_certificate(&user, id).await?;
    Ok(pem_file(format!("certificate_{id}.pem"), to_pem(PemLabel::Certificate, &view.cert.cert.cert_der)))
}

#[utoipa::path(get, path = "/api/v1/export/certificate/{id}/private-key", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, description = "A PEM file", content_type = "application/x-pem-file", body = String), super::Errors))]
async fn certificate_private_key(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Response> {
    let view = s.authority.export_fastpki_certificate_key(&user, id).await?;
    let pem = view.private_key.ok_or_else(|| {
        certus_authority::Error::not_found(format!("Certificate with ID {id} does not have a private key"))
    })?;
    Ok(pem_file(format!("certificate_{id}_private_key.pem"), pem))
}

/// The certificate, then its CA and the CA's ancestors up to the root.
#[utoipa::path(get, path = "/api/v1/export/certificate/{id}/chain", tag = "api-v1", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, description = "A PEM file", content_type = "application/x-pem-file", body = String), super::Errors))]
async fn certificate_chain(
    State(s): State<AppState>,
    FastPkiPrincipal(user): FastPkiPrincipal,
    Ids(id): Ids<i64>,
) -> FastPkiResult<Response> {
    let view = s.authority.read_fastpki_certificate(&user, id).await?;
    let mut pems = vec![to_pem(PemLabel::Certificate, &view.cert.cert.cert_der)];
    for ca in s.authority.fastpki_ca_chain(&user, view.cert.fastpki.ca_num).await? {
        pems.push(to_pem(PemLabel::Certificate, &ca.ca.cert_der));
    }
    Ok(pem_file(format!("certificate_{id}_chain.pem"), pems.join("\n")))
}

/// The CA's complete CRL (DER, or PEM for `{slug}.pem`): the same CRL, with CRL number and
/// reason codes, that the native API and OCSP answer from.
#[utoipa::path(get, path = "/crl/{slug}", tag = "api-v1", params(("slug" = String, Path)), responses((status = 200, description = "The CRL: DER, or PEM for `{slug}.pem`", content((crate::Der = "application/pkix-crl"), (String = "application/x-pem-file"))), (status = 404, body = super::ErrorBody)))]
async fn public_crl(State(s): State<AppState>, Path(slug): Path<String>) -> FastPkiResult<Response> {
    let (name, pem) = match slug.strip_suffix(".pem") {
        Some(name) => (name, true),
        None => (slug.as_str(), false),
    };
    let ca = s.authority.fastpki_ca_by_slug(name).await?;
    let crl = s.authority.public_crl(&ca.ca.id).await?;
    Ok(if pem {
        pem_file(format!("{name}.crl.pem"), to_pem(PemLabel::X509Crl, &crl.der))
    } else {
        download("application/pkix-crl", format!("{name}.crl"), crl.der)
    })
}

#[utoipa::path(get, path = "/ca/{file}", tag = "api-v1", params(("file" = String, Path)), responses((status = 200, description = "The CA certificate: DER for `{slug}.crt`, PEM for `{slug}.pem`", content((crate::Der = "application/pkix-cert"), (String = "application/x-pem-file"))), (status = 404, body = super::ErrorBody)))]
async fn public_ca(State(s): State<AppState>, Path(file): Path<String>) -> FastPkiResult<Response> {
    let not_found = || certus_authority::Error::not_found("CA not found");
    let (name, pem) = match (file.strip_suffix(".crt"), file.strip_suffix(".pem")) {
        (Some(name), _) => (name, false),
        (_, Some(name)) => (name, true),
        _ => return Err(not_found().into()),
    };
    let ca = s.authority.fastpki_ca_by_slug(name).await?;
    Ok(if pem {
        pem_file(format!("{name}.pem"), to_pem(PemLabel::Certificate, &ca.ca.cert_der))
    } else {
        download("application/pkix-cert", format!("{name}.crt"), ca.ca.cert_der)
    })
}
