//! The key management service: the only place that touches private keys and crypto primitives.
//! Software keys are sealed with AES-256-GCM under a key-encryption key (KEK) before they are
//! stored; PKCS#11 keys never leave their token. Callers get a [`rcgen::SigningKey`] and never
//! the raw bytes unless they export a software key on purpose.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod jose;
mod jwk;
mod kek;
mod key;
mod pkcs11;
mod software_key;
mod verify;

pub use jose::{JwsRefusal, hmac_sha256, jwk_thumbprint, verify_hs256, verify_jws};
pub use jwk::{JwkKey, PublicJwk, PublicKey, key_from_jwk, public_jwk, raw_signature};
pub use kek::{Kek, write_private_file};
pub use key::Key;
pub use pkcs11::{Hsm, HsmKey, Pkcs11Config};
pub use software_key::{KeySpec, SoftwareKey, ec_private_key_sec1_pem};
pub use verify::verify_signature;

/// Why a key operation failed. Messages name no key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key type or size Certus does not make or use.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// A private key (PEM, JWK) that does not parse.
    #[error("malformed private key: {0}")]
    MalformedKey(String),
    /// A sealed key whose tag does not verify: another KEK, or a changed record.
    #[error("sealed key could not be opened (wrong KEK or corrupted record)")]
    Unseal,
    /// The KEK file could not be read, created or parsed.
    #[error("key-encryption key file: {0}")]
    KekFile(String),
    /// aws-lc-rs refused an operation.
    #[error("crypto failure: {0}")]
    Crypto(String),
    /// The PKCS#11 module or token refused an operation.
    #[error("PKCS#11: {0}")]
    Hsm(String),
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The system RNG only fails if the OS has no entropy source, which we cannot run without.
    aws_lc_rs::rand::fill(&mut out).expect("system random number generator failed");
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-1, only where a protocol fixes it (OCSP CertID, RFC 6960 §4.1.1).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Constant-time equality, for comparing token hashes.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    #[allow(deprecated)]
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
