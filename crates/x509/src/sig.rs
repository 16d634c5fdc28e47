//! The AlgorithmIdentifier of what a signing key produces, for structures we assemble
//! ourselves (OCSP responses, CRLs).

use const_oid::ObjectIdentifier;
use der::asn1::Null;
use rcgen::SigningKey;
use spki::AlgorithmIdentifierOwned;

use crate::Error;

/// The signatureAlgorithm for what `key` signs with (RFC 5758, RFC 4055, RFC 8410).
pub(crate) fn signature_algorithm(key: &dyn SigningKey) -> Result<AlgorithmIdentifierOwned, Error> {
    let alg = key.algorithm();
    let (oid, null_params) = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 || alg == &rcgen::PKCS_ECDSA_P521_SHA256 {
        ("1.2.840.10045.4.3.2", false)
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 || alg == &rcgen::PKCS_ECDSA_P521_SHA384 {
        ("1.2.840.10045.4.3.3", false)
    } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
        ("1.2.840.10045.4.3.4", false)
    } else if alg == &rcgen::PKCS_RSA_SHA256 {
        ("1.2.840.113549.1.1.11", true)
    } else if alg == &rcgen::PKCS_RSA_SHA384 {
        ("1.2.840.113549.1.1.12", true)
    } else if alg == &rcgen::PKCS_RSA_SHA512 {
        ("1.2.840.113549.1.1.13", true)
    } else if alg == &rcgen::PKCS_ED25519 {
        ("1.3.101.112", false)
    } else {
        return Err(Error::Encoding("unsupported signing algorithm for OCSP".into()));
    };
    let parameters = if null_params { Some(Null.into()) } else { None };
    Ok(AlgorithmIdentifierOwned { oid: ObjectIdentifier::new_unwrap(oid), parameters })
}
