//! The two CMS/ASN.1 bodies EST (RFC 7030) answers with: a certs-only PKCS#7 (§4.1.3) and the
//! CSR attributes a label's policy asks for (§4.5.2), both built with RustCrypto `cms` and `der`.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use crate::Error;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// PKCS#9 extensionRequest: the CSR may carry the names it wants.
const EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

/// A degenerate SignedData holding `certificates` (DER), no signers: EST's `certs-only`.
pub fn certs_only(certificates: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let certs = certificates
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    ContentInfo::try_from(certs).and_then(|ci| ci.to_der()).map_err(enc)
}

/// The key a label's policy wants, for `csrattrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WantedKey {
    /// RSA (of at least this many bits, which CsrAttrs cannot say; the policy checks it).
    Rsa,
    /// ECDSA on P-256, P-384 or P-521 (by size in bits).
    Ec(u32),
    /// Ed25519.
    Ed25519,
    /// Whatever the policy accepts.
    Any,
}

/// `CsrAttrs` (RFC 7030 §4.5.2, as clarified by RFC 9908): the key type (an Attribute naming
/// the curve for EC, as the RFC's own example does), the signature algorithm, and
/// extensionRequest so the device sends its names.
pub fn csr_attrs(key: WantedKey) -> Result<Vec<u8>, Error> {
    let oid = |o: ObjectIdentifier| Any::encode_from(&o).map_err(enc);
    let mut items: Vec<Any> = Vec::new();
    match key {
        WantedKey::Ec(bits) => {
            let (curve, sig) = match bits {
                384 => (P384, ECDSA_SHA384),
                521 => (P521, ECDSA_SHA512),
                _ => (P256, ECDSA_SHA256),
            };
            let mut values = SetOfVec::new();
            values.insert(oid(curve)?).map_err(enc)?;
            let attribute = Attribute { oid: EC_PUBLIC_KEY, values };
            items.push(Any::encode_from(&attribute).map_err(enc)?);
            items.push(oid(sig)?);
        }
        WantedKey::Rsa => {
            items.push(oid(RSA_ENCRYPTION)?);
            items.push(oid(SHA256_WITH_RSA)?);
        }
        WantedKey::Ed25519 => items.push(oid(ED25519)?),
        WantedKey::Any => {}
    }
    items.push(oid(EXTENSION_REQUEST)?);
    items.to_der().map_err(enc)
}
