//! Software keys: generated or imported with aws-lc-rs (through rcgen's KeyPair), held as PEM.

use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm, SigningKey};
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// The key algorithms Certus generates and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// RSA, 4096-bit modulus.
    Rsa4096,
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// ECDSA on P-521.
    EcP521,
    /// EdDSA on Ed25519.
    Ed25519,
}

impl KeySpec {
    /// From the API's `key_type` (`rsa`, `ec`, `ed25519`) and optional size; sizes default to
    /// RSA 2048 and EC P-256.
    pub fn from_type_and_size(key_type: &str, size: Option<u32>) -> Result<Self, Error> {
        Ok(match (key_type, size) {
            ("rsa", None | Some(2048)) => Self::Rsa2048,
            ("rsa", Some(3072)) => Self::Rsa3072,
            ("rsa", Some(4096)) => Self::Rsa4096,
            ("ec", None | Some(256)) => Self::EcP256,
            ("ec", Some(384)) => Self::EcP384,
            ("ec", Some(521)) => Self::EcP521,
            ("ed25519", None | Some(0) | Some(256)) => Self::Ed25519,
            ("rsa", Some(n)) => return Err(Error::Unsupported(format!("RSA key size {n}; use 2048, 3072 or 4096"))),
            ("ec", Some(n)) => return Err(Error::Unsupported(format!("EC key size {n}; use 256, 384 or 521"))),
            ("ed25519", Some(n)) => return Err(Error::Unsupported(format!("Ed25519 has a fixed size, not {n}"))),
            (t, _) => return Err(Error::Unsupported(format!("key_type {t:?}; use rsa, ec or ed25519"))),
        })
    }

    /// The API's key type name: `rsa`, `ec` or `ed25519`.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => "rsa",
            Self::EcP256 | Self::EcP384 | Self::EcP521 => "ec",
            Self::Ed25519 => "ed25519",
        }
    }

    /// The key size in bits (256 for Ed25519).
    pub fn bits(self) -> u32 {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
            Self::EcP256 | Self::Ed25519 => 256,
            Self::EcP384 => 384,
            Self::EcP521 => 521,
        }
    }

    pub(crate) fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
            Self::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Self::EcP521 => &rcgen::PKCS_ECDSA_P521_SHA512,
            Self::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A private key in memory. Debug output never shows key material; its encodings are wiped
/// when it is dropped (aws-lc clears its own copy as it frees it).
pub struct SoftwareKey {
    pair: KeyPair,
    spec: KeySpec,
    pem: Zeroizing<String>,
}

impl Drop for SoftwareKey {
    fn drop(&mut self) {
        self.pair.zeroize();
    }
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareKey({:?})", self.spec)
    }
}

impl SoftwareKey {
    /// Generates a fresh key. RSA generation takes tens to hundreds of milliseconds: callers on
    /// an async runtime should run this on a blocking thread.
    pub fn generate(spec: KeySpec) -> Result<Self, Error> {
        let alg = spec.algorithm();
        let crypto = |e: rcgen::Error| Error::Crypto(e.to_string());
        let pair = match spec {
            KeySpec::Rsa2048 => KeyPair::generate_rsa_for(alg, RsaKeySize::_2048).map_err(crypto)?,
            KeySpec::Rsa3072 => KeyPair::generate_rsa_for(alg, RsaKeySize::_3072).map_err(crypto)?,
            KeySpec::Rsa4096 => KeyPair::generate_rsa_for(alg, RsaKeySize::_4096).map_err(crypto)?,
            // aws-lc writes Ed25519 as PKCS#8 v2 (RFC 5958), which OpenSSL 3.0 cannot read;
            // export v1 so the key we hand out works everywhere.
            KeySpec::Ed25519 => {
                let fastpki = aws_lc_rs::signature::Ed25519KeyPair::generate()
                    .and_then(|k| k.to_pkcs8v1())
                    .map_err(|_| Error::Crypto("Ed25519 key generation failed".into()))?;
                KeyPair::from_pkcs8_der_and_sign_algo(&fastpki.as_ref().into(), alg).map_err(crypto)?
            }
            _ => KeyPair::generate_for(alg).map_err(crypto)?,
        };
        let pem = Zeroizing::new(pair.serialize_pem());
        Ok(SoftwareKey { pair, spec, pem })
    }

    /// Imports a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#1
    /// (`RSA PRIVATE KEY`). Encrypted PEM is not accepted.
    pub fn from_pem(pem_text: &str) -> Result<Self, Error> {
        let block = pem::parse(pem_text).map_err(|e| Error::MalformedKey(e.to_string()))?;
        if !block.tag().ends_with("PRIVATE KEY") || block.tag().contains("ENCRYPTED") {
            return Err(Error::MalformedKey(format!(
                "expected an unencrypted PRIVATE KEY block, found {}",
                block.tag()
            )));
        }
        let pair = KeyPair::from_pem(pem_text).map_err(|e| Error::MalformedKey(e.to_string()))?;
        let spec = spec_of(&pair, block.contents())?;
        Self::from_parts(spec, pem_text)
    }

    /// Reloads a key this service stored earlier, with its recorded spec.
    pub fn from_parts(spec: KeySpec, pem_text: &str) -> Result<Self, Error> {
        let pair = KeyPair::from_pem_and_sign_algo(pem_text, spec.algorithm())
            .map_err(|e| Error::MalformedKey(e.to_string()))?;
        let mut pem = Zeroizing::new(String::with_capacity(pem_text.len() + 1));
        pem.push_str(pem_text.trim());
        pem.push('\n');
        Ok(SoftwareKey { pair, spec, pem })
    }

    /// Its type and size.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The private key as PEM, for sealing or for an authorised export.
    pub fn private_key_pem(&self) -> &str {
        &self.pem
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// The public key as PEM.
    pub fn public_key_pem(&self) -> String {
        self.pair.public_key_pem()
    }
}

impl PublicKeyData for SoftwareKey {
    fn der_bytes(&self) -> &[u8] {
        self.pair.der_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.pair.algorithm()
    }
}

impl SigningKey for SoftwareKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.pair.sign(msg)
    }
}

fn spec_of(pair: &KeyPair, der: &[u8]) -> Result<KeySpec, Error> {
    let alg = pair.algorithm();
    if alg == &rcgen::PKCS_ED25519 {
        return Ok(KeySpec::Ed25519);
    }
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        return Ok(KeySpec::EcP256);
    }
    if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        return Ok(KeySpec::EcP384);
    }
    if [&rcgen::PKCS_ECDSA_P521_SHA256, &rcgen::PKCS_ECDSA_P521_SHA384, &rcgen::PKCS_ECDSA_P521_SHA512].contains(&alg) {
        return Ok(KeySpec::EcP521);
    }
    let rsa = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
        .or_else(|_| aws_lc_rs::rsa::KeyPair::from_der(der))
        .map_err(|_| Error::Unsupported("key algorithm".into()))?;
    match rsa.public_modulus_len() * 8 {
        2048 => Ok(KeySpec::Rsa2048),
        3072 => Ok(KeySpec::Rsa3072),
        4096 => Ok(KeySpec::Rsa4096),
        n => Err(Error::Unsupported(format!("RSA key of {n} bits; use 2048, 3072 or 4096"))),
    }
}

/// An EC private key as SEC1 `EC PRIVATE KEY` PEM (RFC 5915, with its named curve and public
/// key), from its PKCS#8 PEM: the form Go's `x509.ParseECPrivateKey` and OpenSSL's traditional
/// readers take. `None` for other key types (RSA and Ed25519 stay PKCS#8).
pub fn ec_private_key_sec1_pem(pkcs8_pem: &str) -> Option<String> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
    };
    let block = pem::parse(pkcs8_pem).ok().filter(|b| b.tag() == "PRIVATE KEY")?;
    [&ECDSA_P256_SHA256_ASN1_SIGNING, &ECDSA_P384_SHA384_ASN1_SIGNING, &ECDSA_P521_SHA512_ASN1_SIGNING]
        .into_iter()
        .find_map(|alg| EcdsaKeyPair::from_pkcs8(alg, block.contents()).ok())
        .and_then(|pair| pair.private_key().as_der().ok())
        .map(|sec1| {
            let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
            pem::encode_config(&pem::Pem::new("EC PRIVATE KEY", sec1.as_ref().to_vec()), config)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_reload_from_their_pem() {
        for spec in [KeySpec::EcP256, KeySpec::EcP384, KeySpec::EcP521, KeySpec::Ed25519, KeySpec::Rsa2048] {
            let key = SoftwareKey::generate(spec).unwrap();
            let again = SoftwareKey::from_pem(key.private_key_pem()).unwrap();
            assert_eq!(again.spec(), spec);
            assert_eq!(again.spki_der(), key.spki_der());
            assert!(!format!("{key:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn key_type_and_size_are_validated() {
        assert_eq!(KeySpec::from_type_and_size("rsa", None).unwrap(), KeySpec::Rsa2048);
        assert_eq!(KeySpec::from_type_and_size("ec", Some(384)).unwrap(), KeySpec::EcP384);
        assert!(KeySpec::from_type_and_size("ec", Some(1024)).is_err());
        assert!(KeySpec::from_type_and_size("dsa", None).is_err());
    }

    #[test]
    fn garbage_and_non_key_pem_are_rejected() {
        assert!(SoftwareKey::from_pem("not pem").is_err());
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(SoftwareKey::from_pem(cert).is_err());
    }
}
