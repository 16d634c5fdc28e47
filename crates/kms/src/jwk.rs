//! JSON Web Keys (RFC 7517/7518, RFC 8037) in and out of the KMS: public JWKs for any key,
//! private JWK import for EC, OKP (Ed25519) and RSA keys, re-encoded with yasna as the
//! standard DER structures (SEC1, PKCS#8, PKCS#1) that the key loader reads.

use base64::Engine;
use rcgen::{PublicKeyData, SignatureAlgorithm};
use serde_json::{Value, json};

use crate::{Error, KeySpec, SoftwareKey};

/// The magnitude of a DER INTEGER read as (big-endian two's complement bytes, positive), without
/// leading zero octets.
fn unsigned((bytes, _positive): (Vec<u8>, bool)) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn field(jwk: &Value, name: &str) -> Result<Vec<u8>, Error> {
    let text =
        jwk.get(name).and_then(Value::as_str).ok_or_else(|| Error::MalformedKey(format!("JWK needs \"{name}\"")))?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| Error::MalformedKey(format!("JWK \"{name}\" is not base64url")))
}

fn curve(spec: KeySpec) -> (&'static str, usize, &'static [u64]) {
    match spec {
        KeySpec::EcP384 => ("P-384", 48, &[1, 3, 132, 0, 34]),
        KeySpec::EcP521 => ("P-521", 66, &[1, 3, 132, 0, 35]),
        _ => ("P-256", 32, &[1, 2, 840, 10045, 3, 1, 7]),
    }
}

/// The public JWK of a key, from its spec and subjectPublicKey bits.
pub fn public_jwk(spec: KeySpec, public_key: &[u8]) -> PublicJwk {
    match spec.key_type() {
        "ec" => {
            let (crv, len, _) = curve(spec);
            let point = public_key.get(1..).unwrap_or_default();
            PublicJwk::Ec { crv, x: b64(&point[..len.min(point.len())]), y: b64(point.get(len..).unwrap_or_default()) }
        }
        "ed25519" => PublicJwk::Okp { crv: "Ed25519", x: b64(public_key) },
        _ => {
            let (n, e) = yasna::parse_der(public_key, |r| {
                r.read_sequence(|r| {
                    Ok((unsigned(r.next().read_bigint_bytes()?), unsigned(r.next().read_bigint_bytes()?)))
                })
            })
            .unwrap_or_default();
            PublicJwk::Rsa { n: b64(&n), e: b64(&e) }
        }
    }
}

/// A public key as a JWK, with the members of its key type (RFC 7518 §6.2 EC, §6.3 RSA; RFC
/// 8037 §2 OKP), base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicJwk {
    /// An elliptic-curve point (`P-256`, `P-384`, `P-521`).
    Ec {
        /// The curve's JOSE name.
        crv: &'static str,
        /// The x coordinate.
        x: String,
        /// The y coordinate.
        y: String,
    },
    /// An octet key pair (`Ed25519`).
    Okp {
        /// The curve's JOSE name.
        crv: &'static str,
        /// The public key.
        x: String,
    },
    /// An RSA public key.
    Rsa {
        /// The modulus.
        n: String,
        /// The public exponent.
        e: String,
    },
}

impl PublicJwk {
    /// The JWK as a JSON object.
    pub fn to_json(&self) -> Value {
        match self {
            PublicJwk::Ec { crv, x, y } => json!({"kty": "EC", "crv": crv, "x": x, "y": y}),
            PublicJwk::Okp { crv, x } => json!({"kty": "OKP", "crv": crv, "x": x}),
            PublicJwk::Rsa { n, e } => json!({"kty": "RSA", "n": n, "e": e}),
        }
    }
}

/// A public key that came as a JWK (no private part).
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Its type and size.
    pub spec: KeySpec,
    /// The subjectPublicKey bits (what rcgen's `der_bytes` means).
    pub raw: Vec<u8>,
}

impl PublicKeyData for PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.spec.algorithm()
    }
}

/// A key read from a JWK: private (imported into the KMS) or public only.
#[derive(Debug)]
pub enum JwkKey {
    /// The JWK had its private part (`d`).
    Private(SoftwareKey),
    /// Only the public part.
    Public(PublicKey),
}

fn ec_spec(jwk: &Value) -> Result<KeySpec, Error> {
    match jwk.get("crv").and_then(Value::as_str) {
        Some("P-256") => Ok(KeySpec::EcP256),
        Some("P-384") => Ok(KeySpec::EcP384),
        Some("P-521") => Ok(KeySpec::EcP521),
        other => Err(Error::Unsupported(format!("EC curve {other:?}; use P-256, P-384 or P-521"))),
    }
}

fn pem(label: &str, der: Vec<u8>) -> String {
    ::pem::encode(&::pem::Pem::new(label, der))
}

/// Reads a JWK (`kty` EC, OKP with Ed25519, or RSA), private if it carries `d`.
pub fn key_from_jwk(jwk: &Value) -> Result<JwkKey, Error> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or_else(|| Error::MalformedKey("JWK needs \"kty\"".into()))?;
    let private = jwk.get("d").is_some();
    match kty {
        "EC" => {
            let spec = ec_spec(jwk)?;
            let (_, len, oid) = curve(spec);
            let (x, y) = (field(jwk, "x")?, field(jwk, "y")?);
            if x.len() != len || y.len() != len {
                return Err(Error::MalformedKey("JWK x and y do not fit the curve".into()));
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if !private {
                return Ok(JwkKey::Public(PublicKey { spec, raw: point }));
            }
            let d = field(jwk, "d")?;
            // ECPrivateKey (RFC 5915).
            let der = yasna::construct_der(|w| {
                w.write_sequence(|w| {
                    w.next().write_u8(1);
                    w.next().write_bytes(&d);
                    w.next().write_tagged(yasna::Tag::context(0), |w| {
                        w.write_oid(&yasna::models::ObjectIdentifier::from_slice(oid))
                    });
                    w.next().write_tagged(yasna::Tag::context(1), |w| w.write_bitvec_bytes(&point, point.len() * 8));
                })
            });
            Ok(JwkKey::Private(SoftwareKey::from_pem(&pem("EC PRIVATE KEY", der))?))
        }
        "OKP" => {
            if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err(Error::Unsupported("OKP keys other than Ed25519".into()));
            }
            let x = field(jwk, "x")?;
            if !private {
                return Ok(JwkKey::Public(PublicKey { spec: KeySpec::Ed25519, raw: x }));
            }
            let d = field(jwk, "d")?;
            // OneAsymmetricKey v1 (RFC 8410 §7) with the seed as CurvePrivateKey.
            let der = yasna::construct_der(|w| {
                w.write_sequence(|w| {
                    w.next().write_u8(0);
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&yasna::models::ObjectIdentifier::from_slice(&[1, 3, 101, 112]))
                    });
                    w.next().write_bytes(&yasna::construct_der(|w| w.write_bytes(&d)));
                })
            });
            Ok(JwkKey::Private(SoftwareKey::from_pem(&pem("PRIVATE KEY", der))?))
        }
        "RSA" => {
            let (n, e) = (field(jwk, "n")?, field(jwk, "e")?);
            let spec =
                KeySpec::from_type_and_size("rsa", Some((n.iter().skip_while(|b| **b == 0).count() * 8) as u32))?;
            if !private {
                let raw = yasna::construct_der(|w| {
                    w.write_sequence(|w| {
                        w.next().write_bigint_bytes(&n, true);
                        w.next().write_bigint_bytes(&e, true);
                    })
                });
                return Ok(JwkKey::Public(PublicKey { spec, raw }));
            }
            let parts: Vec<Vec<u8>> =
                ["d", "p", "q", "dp", "dq", "qi"].iter().map(|f| field(jwk, f)).collect::<Result<_, _>>()?;
            // RSAPrivateKey (RFC 8017 A.1.2).
            let der = yasna::construct_der(|w| {
                w.write_sequence(|w| {
                    w.next().write_u8(0);
                    w.next().write_bigint_bytes(&n, true);
                    w.next().write_bigint_bytes(&e, true);
                    for p in &parts {
                        w.next().write_bigint_bytes(p, true);
                    }
                })
            });
            Ok(JwkKey::Private(SoftwareKey::from_pem(&pem("RSA PRIVATE KEY", der))?))
        }
        other => Err(Error::Unsupported(format!("JWK kty {other:?}"))),
    }
}

/// A signature as JOSE/COSE carry it: ECDSA as fixed-width r || s (RFC 7518 §3.4), others as is.
pub fn raw_signature(spec: KeySpec, der_or_raw: &[u8]) -> Result<Vec<u8>, Error> {
    if spec.key_type() != "ec" {
        return Ok(der_or_raw.to_vec());
    }
    let (_, len, _) = curve(spec);
    let (r, s) = yasna::parse_der(der_or_raw, |rd| {
        rd.read_sequence(|rd| Ok((unsigned(rd.next().read_bigint_bytes()?), unsigned(rd.next().read_bigint_bytes()?))))
    })
    .map_err(|_| Error::Crypto("ECDSA signature is not DER".into()))?;
    let mut out = vec![0u8; 2 * len];
    out[len - r.len()..len].copy_from_slice(&r);
    out[2 * len - s.len()..].copy_from_slice(&s);
    Ok(out)
}
