//! The native API under `/v1` (spec: pki-ca-roles-csr-crl.txt), plus health, whoami and the
//! superuser's admin routes.

mod acme_directories;
mod admin;
mod ca;
mod certs;
mod csr;
mod est_labels;
mod issue;
mod roles;
mod trust;
mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(admin::router())
        .merge(acme_directories::router())
        .merge(ca::router())
        .merge(roles::router())
        .merge(issue::router())
        .merge(csr::router())
        .merge(est_labels::router())
        .merge(certs::router())
        .merge(trust::router())
        .merge(webhooks::router())
}

/// A private key as this API's document shows it: EC keys as SEC1 `EC PRIVATE KEY` (what Go's
/// `x509.ParseECPrivateKey` reads), RSA and Ed25519 as PKCS#8.
pub(crate) fn document_key_form(pkcs8_pem: String) -> String {
    certus_kms::ec_private_key_sec1_pem(&pkcs8_pem).unwrap_or(pkcs8_pem)
}

pub(crate) fn cert_pem(der: &[u8]) -> String {
    certus_x509::to_pem(certus_x509::PemLabel::Certificate, der)
}
