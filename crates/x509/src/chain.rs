//! Signature checks between a certificate and a candidate issuer (RFC 5280 §6.1.3 (a)(1)-(4)).

use x509_parser::prelude::{FromDer, X509Certificate};

/// True when `issuer_der`'s subject names `child_der`'s issuer and its key verifies the signature.
/// Unparseable input is simply "not issued by".
pub fn verify_issued_by(child_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, child)), Ok((_, issuer))) =
        (X509Certificate::from_der(child_der), X509Certificate::from_der(issuer_der))
    else {
        return false;
    };
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return false;
    }
    match child.verify_signature(Some(issuer.public_key())) {
        Ok(()) => true,
        // x509-parser lacks some ECDSA pairs (P-521, SHA-512): check those with the KMS verifier.
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => certus_kms::verify_signature(
            &child.signature_algorithm.algorithm.to_id_string(),
            crate::parse::curve_of(issuer.public_key()).as_deref(),
            &issuer.public_key().subject_public_key.data,
            child.tbs_certificate.as_ref(),
            &child.signature_value.data,
        ),
        Err(_) => false,
    }
}
