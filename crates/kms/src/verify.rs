//! Signature verification for the algorithm pairs x509-parser's verifier lacks (ECDSA on
//! P-521, ECDSA with SHA-512, P-384 with SHA-256, RSA keys below 2048 bits): the curve comes
//! from the signer's key. Verifying a weak key's signature is only ever used to read a CSR;
//! policy then refuses to certify such a key.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

/// Verifies `signature` over `message` with the public key bits of the signer. `signature_oid`
/// is the signatureAlgorithm, `curve_oid` the signer's named curve (EC keys only). Unknown
/// combinations do not verify.
pub fn verify_signature(
    signature_oid: &str,
    curve_oid: Option<&str>,
    public_key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> bool {
    let alg: &dyn VerificationAlgorithm = match (signature_oid, curve_oid) {
        ("1.2.840.113549.1.1.11", _) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        ("1.2.840.113549.1.1.13", _) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        ("1.3.101.112", _) => &signature::ED25519,
        ("1.2.840.10045.4.3.2", Some(P256)) => &signature::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.2", Some(P384)) => &signature::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.10045.4.3.2", Some(P521)) => &signature::ECDSA_P521_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some(P256)) => &signature::ECDSA_P256_SHA384_ASN1,
        ("1.2.840.10045.4.3.3", Some(P384)) => &signature::ECDSA_P384_SHA384_ASN1,
        ("1.2.840.10045.4.3.3", Some(P521)) => &signature::ECDSA_P521_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", Some(P521)) => &signature::ECDSA_P521_SHA512_ASN1,
        _ => return false,
    };
    UnparsedPublicKey::new(alg, public_key).verify(message, sig).is_ok()
}
