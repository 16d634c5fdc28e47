//! What ACME needs of JOSE: JWS signature checks with the algorithm tied to the key (RFC 7518;
//! the client's `alg` alone is never trusted), HS256 for external account binding, and RFC 7638
//! key thumbprints.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use serde_json::Value;

use crate::jwk::PublicKey;
use crate::{Error, KeySpec, sha256};

/// Why a JWS signature was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum JwsRefusal {
    /// `alg` is not one Certus accepts, or does not fit the key.
    Algorithm(String),
    /// The signature does not verify.
    Signature,
}

/// Checks a JWS signature: `alg` must be RS256 for RSA keys, ES256/ES384/ES512 for P-256/384/521
/// and EdDSA for Ed25519.
pub fn verify_jws(alg: &str, key: &PublicKey, signing_input: &[u8], sig: &[u8]) -> Result<(), JwsRefusal> {
    let verifier: &dyn VerificationAlgorithm = match (alg, key.spec) {
        ("RS256", KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096) => &signature::RSA_PKCS1_2048_8192_SHA256,
        ("ES256", KeySpec::EcP256) => &signature::ECDSA_P256_SHA256_FIXED,
        ("ES384", KeySpec::EcP384) => &signature::ECDSA_P384_SHA384_FIXED,
        ("ES512", KeySpec::EcP521) => &signature::ECDSA_P521_SHA512_FIXED,
        ("EdDSA", KeySpec::Ed25519) => &signature::ED25519,
        (alg, spec) => {
            let kind = match spec.key_type() {
                "rsa" => "an RSA",
                "ec" => "an EC",
                _ => "an Ed25519",
            };
            return Err(JwsRefusal::Algorithm(format!(
                "alg {alg:?} does not fit {kind} key; use RS256, ES256, ES384, ES512 or EdDSA to match the key"
            )));
        }
    };
    UnparsedPublicKey::new(verifier, &key.raw).verify(signing_input, sig).map_err(|_| JwsRefusal::Signature)
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref().to_vec()
}

/// Checks an HS256 tag in constant time.
pub fn verify_hs256(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

/// The RFC 7638 thumbprint of a public JWK, base64url: SHA-256 over its required members in
/// lexicographic order, without whitespace.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, Error> {
    let member = |name: &str| {
        jwk.get(name).and_then(Value::as_str).ok_or_else(|| Error::MalformedKey(format!("JWK needs \"{name}\"")))
    };
    let required: &[&str] = match member("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(Error::Unsupported(format!("JWK kty {other:?}"))),
    };
    let mut canonical = serde_json::Map::new();
    for name in required {
        canonical.insert((*name).to_owned(), Value::String(member(name)?.to_owned()));
    }
    // serde_json's map is ordered by key, and to_string writes no whitespace.
    let text = Value::Object(canonical).to_string();
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn es256_signature_checks_alg_against_key() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let key = PublicKey { spec: KeySpec::EcP256, raw: pair.public_key().as_ref().to_vec() };
        let sig = pair.sign(&rng, b"input").unwrap();
        assert_eq!(verify_jws("ES256", &key, b"input", sig.as_ref()), Ok(()));
        assert_eq!(verify_jws("ES256", &key, b"other", sig.as_ref()), Err(JwsRefusal::Signature));
        assert!(matches!(verify_jws("RS256", &key, b"input", sig.as_ref()), Err(JwsRefusal::Algorithm(_))));
        assert!(matches!(verify_jws("none", &key, b"input", sig.as_ref()), Err(JwsRefusal::Algorithm(_))));
    }

    #[test]
    fn hs256_checks_the_tag() {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"k"), b"m");
        assert!(verify_hs256(b"k", b"m", tag.as_ref()));
        assert!(!verify_hs256(b"k", b"n", tag.as_ref()));
        assert!(!verify_hs256(b"j", b"m", tag.as_ref()));
    }
}
