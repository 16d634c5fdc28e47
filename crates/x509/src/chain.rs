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
    child.issuer().as_raw() == issuer.subject().as_raw() && child.verify_signature(Some(issuer.public_key())).is_ok()
}
