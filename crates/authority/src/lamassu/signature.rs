//! `signature/sign` and `signature/verify` with a CA's key: raw messages, in the algorithm the
//! key signs with (RSASSA_PKCS1_V1_5_SHA_256 for RSA, ECDSA_SHA_256/384/512 for P-256/384/521).
//! Pre-hashed messages and PSS are refused: the signer signs whole messages, one way per key.

use certus_kms::KeySpec;
use certus_x509::{KeyKind, SigningKey, parse_certificate};

use crate::auth::{Caller, Scope};
use crate::error::{Error, Result};
use crate::{Authority, signing};

/// The product's algorithm name a key signs with, and its signature OID.
fn native_algorithm(spec: KeySpec) -> Option<(&'static str, &'static str)> {
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            Some(("RSASSA_PKCS1_V1_5_SHA_256", "1.2.840.113549.1.1.11"))
        }
        KeySpec::EcP256 => Some(("ECDSA_SHA_256", "1.2.840.10045.4.3.2")),
        KeySpec::EcP384 => Some(("ECDSA_SHA_384", "1.2.840.10045.4.3.3")),
        KeySpec::EcP521 => Some(("ECDSA_SHA_512", "1.2.840.10045.4.3.4")),
        KeySpec::Ed25519 => None,
    }
}

fn check_request(spec: KeySpec, message_type: &str, algorithm: &str) -> Result<&'static str> {
    if message_type != "raw" {
        return Err(Error::malformed(format!(
            "message_type {message_type:?} is not supported; send the raw message (message_type \"raw\")"
        )));
    }
    let (name, oid) = native_algorithm(spec)
        .ok_or_else(|| Error::malformed("this CA's key type has no signature algorithm of this API"))?;
    if algorithm != name {
        return Err(Error::malformed(format!("this CA's key signs with {name}, not {algorithm:?}")));
    }
    Ok(oid)
}

impl Authority {
    /// Signs `message` with the CA's key (audited with the message's SHA-256).
    pub async fn ca_sign_data(
        &self,
        caller: &Caller,
        ca_id: &str,
        message: Vec<u8>,
        message_type: &str,
        algorithm: &str,
    ) -> Result<Vec<u8>> {
        caller.require(Scope::Admin)?;
        let ca = self.usable_ca(&caller.tenant_id, ca_id).await?;
        let key = self.load_key(&caller.tenant_id, &ca.key_id).await?;
        check_request(key.spec(), message_type, algorithm)?;
        let digest = hex::encode(certus_kms::sha256(&message));
        // The signature leaves only once its audit entry is written.
        self.audit_before_release(caller, "ca.sign_data", &ca.id, format!("sha256={digest} alg={algorithm}")).await?;
        signing(key.spec(), move || key.sign(&message).map_err(Error::internal)).await
    }

    /// Checks a signature against the CA's certificate.
    pub async fn ca_verify_data(
        &self,
        caller: &Caller,
        ca_id: &str,
        message: &[u8],
        message_type: &str,
        algorithm: &str,
        signature: &[u8],
    ) -> Result<bool> {
        let ca = self.get_ca(caller, ca_id).await?.row;
        let info = parse_certificate(&ca.cert_der).map_err(Error::internal)?;
        let spec = match info.key.kind {
            KeyKind::Rsa => KeySpec::Rsa2048,
            KeyKind::EcP256 => KeySpec::EcP256,
            KeyKind::EcP384 => KeySpec::EcP384,
            KeyKind::EcP521 => KeySpec::EcP521,
            _ => KeySpec::Ed25519,
        };
        let oid = check_request(spec, message_type, algorithm)?;
        let curve = match info.key.kind {
            KeyKind::EcP256 => Some("1.2.840.10045.3.1.7"),
            KeyKind::EcP384 => Some("1.3.132.0.34"),
            KeyKind::EcP521 => Some("1.3.132.0.35"),
            _ => None,
        };
        Ok(certus_kms::verify_signature(oid, curve, &info.public_key_bits, message, signature))
    }
}
