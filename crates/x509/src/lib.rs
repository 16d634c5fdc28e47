//! Pure X.509: builds and parses certificates, CSRs and CRLs. No I/O, no clock (time is an argument);
//! signing goes through [`SigningKey`], so the caller decides whether a key is software or hardware.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acme;
mod annex_b;
mod build;
mod chain;
mod crl;
mod est;
mod issuer;
mod lint;
#[cfg(test)]
mod lint_tests;
mod mdl;
#[cfg(test)]
mod mdl_tests;
mod ocsp;
mod parse;
mod pem_io;
mod serial;
mod sig;
#[cfg(test)]
mod tests;
mod vical;

pub use acme::{AlpnChallengeCert, alpn_challenge_cert, ari_parts};
pub use annex_b::{MdlRole, check_annex_b};
pub use build::{CertProfile, CertSpec, KeyUsageBit, SignWith, Subject, SubjectAttr, build_certificate, build_csr};
pub use chain::verify_issued_by;
pub use crl::{CrlEntry, CrlKind, CrlSpec, RevocationReason, build_crl};
pub use est::{WantedKey, certs_only, csr_attrs};
pub use lint::{
    AnnexB, Finding, LintContext, dns_name_valid, key_strength_finding, key_usage_applies, lint_tbs, subject_finding,
};
pub use mdl::{DsSpec, GenericSpec, IacaSpec, IssuerAltName, build_ds, build_generic, build_iaca};
pub use ocsp::{
    CertIdHash, OcspFailure, OcspItem, OcspQuery, OcspResponder, OcspResponseSpec, OcspStatus, build_ocsp_response,
    ocsp_failure, parse_ocsp_request,
};
pub use parse::{CertInfo, CsrInfo, KeyInfo, KeyKind, parse_certificate, parse_csr};
pub use pem_io::{PemLabel, certs_from_pem, csr_from_pem, private_key_der_from_pem, to_pem};
pub use rcgen::{PublicKeyData, SigningKey, SubjectPublicKeyInfo};
pub use serial::{format_serial, new_serial_from, parse_serial};
pub use vical::{CoseAlg, Vical, VicalEntry, cose_sign1, vical_payload};

/// Why an X.509 operation failed. Messages are safe to show to the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PEM that does not parse or holds the wrong label.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// A certificate that does not parse.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// A CSR that does not parse.
    #[error("malformed CSR: {0}")]
    Csr(String),
    /// A CSR whose self-signature does not verify (no proof of possession).
    #[error("CSR signature does not verify")]
    CsrSignature,
    /// A value a certificate cannot carry (a name, a URI, an Annex B rule).
    #[error("invalid name or value: {0}")]
    InvalidValue(String),
    /// Encoding or signing failed: a server fault.
    #[error("certificate encoding failed: {0}")]
    Encoding(String),
    /// The pre-issuance lint refused the certificate; nothing was signed.
    #[error("refused by the pre-issuance lint: {}", .0.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Lint(Vec<Finding>),
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Error::Encoding(e.to_string())
    }
}
