//! A signing key wherever it lives: in memory (sealed at rest) or on a PKCS#11 token.

use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};

use crate::{HsmKey, KeySpec, SoftwareKey};

/// A private key Certus signs with: software (sealed at rest) or on a PKCS#11 token.
#[derive(Debug)]
pub enum Key {
    /// In memory, unsealed from its record.
    Software(SoftwareKey),
    /// On the token; never leaves it.
    Hsm(HsmKey),
}

impl Key {
    /// Its type and size.
    pub fn spec(&self) -> KeySpec {
        match self {
            Key::Software(k) => k.spec(),
            Key::Hsm(k) => k.spec(),
        }
    }

    /// The private key as PEM; `None` for a token key, which cannot leave the token.
    pub fn private_key_pem(&self) -> Option<&str> {
        match self {
            Key::Software(k) => Some(k.private_key_pem()),
            Key::Hsm(_) => None,
        }
    }
}

impl PublicKeyData for Key {
    fn der_bytes(&self) -> &[u8] {
        match self {
            Key::Software(k) => k.der_bytes(),
            Key::Hsm(k) => k.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            Key::Software(k) => k.algorithm(),
            Key::Hsm(k) => k.algorithm(),
        }
    }
}

impl SigningKey for Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            Key::Software(k) => k.sign(msg),
            Key::Hsm(k) => k.sign(msg),
        }
    }
}
