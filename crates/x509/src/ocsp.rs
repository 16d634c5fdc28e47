//! OCSP (RFC 6960): reads requests and builds signed BasicOCSPResponses, with the RustCrypto
//! `x509-ocsp` types for the ASN.1.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc6960::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NONCE};
use der::asn1::{AnyRef, BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode, Sequence};
use rcgen::SigningKey;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, OcspResponseStatus, ResponderId, ResponseBytes,
    RevokedInfo,
};

use crate::{Error, RevocationReason};

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// The hash a CertID was computed with (RFC 6960 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertIdHash {
    /// SHA-1 CertIDs (what most clients send).
    Sha1,
    /// SHA-256 CertIDs.
    Sha256,
}

/// One CertID of a request.
#[derive(Debug, Clone)]
pub struct OcspItem {
    /// `None` for a hash algorithm we do not support.
    pub hash: Option<CertIdHash>,
    /// Hash of the issuer's DER name.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's public key bits.
    pub issuer_key_hash: Vec<u8>,
    /// Serial without leading zero octets.
    pub serial: Vec<u8>,
    cert_id_der: Vec<u8>,
}

/// A parsed OCSP request (RFC 6960 §4.1).
#[derive(Debug, Clone)]
pub struct OcspQuery {
    /// The certificates asked about.
    pub items: Vec<OcspItem>,
    /// The request's nonce extension value, echoed back as is (RFC 8954).
    pub nonce: Option<Vec<u8>>,
}

/// A certificate's status in a response (RFC 6960 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked at `at` for `reason`.
    Revoked {
        /// When the revocation was recorded.
        at: OffsetDateTime,
        /// Why (RFC 5280 §5.3.1).
        reason: RevocationReason,
    },
    /// Not a serial this CA issued.
    Unknown,
}

/// The non-successful response statuses, which carry no signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspFailure {
    /// malformedRequest (1).
    MalformedRequest,
    /// internalError (2).
    InternalError,
    /// tryLater (3).
    TryLater,
    /// unauthorized (6): not one of our issuers.
    Unauthorized,
}

/// What a signed OCSP response holds.
pub struct OcspResponseSpec<'a> {
    /// producedAt.
    pub produced_at: OffsetDateTime,
    /// thisUpdate of every answer.
    pub this_update: OffsetDateTime,
    /// nextUpdate of every answer.
    pub next_update: OffsetDateTime,
    /// One answer per CertID asked about.
    pub answers: Vec<(&'a OcspItem, OcspStatus)>,
    /// The request's nonce, echoed.
    pub nonce: Option<Vec<u8>>,
    /// Who signs: its certificate's subject is the ResponderID. A delegated responder's
    /// certificate is also included in the response so clients can verify it.
    pub responder: &'a OcspResponder,
    /// Whether the signer's certificate goes into the response (a delegated responder's does).
    pub include_signer_cert: bool,
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::InvalidValue(format!("OCSP request: {e}"))
}

/// The largest OCSPRequest read; larger ones are malformedRequest without being parsed.
pub(crate) const MAX_OCSP_REQUEST_BYTES: usize = 64 * 1024;
/// The most CertIDs one request may ask about (one response signs them all).
pub(crate) const MAX_OCSP_CERT_IDS: usize = 20;

/// Parses a DER OCSPRequest of at most [`MAX_OCSP_REQUEST_BYTES`] and [`MAX_OCSP_CERT_IDS`]
/// CertIDs. Signed requests are accepted; their signature is not required.
pub fn parse_ocsp_request(der: &[u8]) -> Result<OcspQuery, Error> {
    if der.len() > MAX_OCSP_REQUEST_BYTES {
        return Err(malformed(format!("larger than {MAX_OCSP_REQUEST_BYTES} bytes")));
    }
    let req = OcspRequest::from_der(der).map_err(malformed)?;
    match req.tbs_request.request_list.len() {
        0 => return Err(malformed("no CertID")),
        n if n > MAX_OCSP_CERT_IDS => return Err(malformed(format!("{n} CertIDs; at most {MAX_OCSP_CERT_IDS}"))),
        _ => {}
    }
    let items = req
        .tbs_request
        .request_list
        .iter()
        .map(|r| {
            let id = &r.req_cert;
            let hash = match id.hash_algorithm.oid {
                o if o == OID_SHA1 => Some(CertIdHash::Sha1),
                o if o == OID_SHA256 => Some(CertIdHash::Sha256),
                _ => None,
            };
            let mut serial = id.serial_number.as_bytes().to_vec();
            while serial.len() > 1 && serial[0] == 0 {
                serial.remove(0);
            }
            Ok(OcspItem {
                hash,
                issuer_name_hash: id.issuer_name_hash.as_bytes().to_vec(),
                issuer_key_hash: id.issuer_key_hash.as_bytes().to_vec(),
                serial,
                cert_id_der: id.to_der().map_err(malformed)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let nonce = req
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_PKIX_OCSP_NONCE)
        .map(|e| e.extn_value.as_bytes().to_vec());
    Ok(OcspQuery { items, nonce })
}

fn generalized(t: OffsetDateTime) -> Result<OcspGeneralizedTime, Error> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(|_| Error::Encoding("time before 1970".into()))?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map(OcspGeneralizedTime)
        .map_err(|e| Error::Encoding(e.to_string()))
}

/// The certificate that signs OCSP responses, with its responder ID encoded once (not per response).
#[derive(Debug, Clone)]
pub struct OcspResponder {
    /// `ResponderID` byName, DER.
    id_der: Vec<u8>,
    cert_der: Vec<u8>,
}

impl OcspResponder {
    /// Reads the signer's certificate.
    pub fn new(cert_der: Vec<u8>) -> Result<Self, Error> {
        let encoding = |e: der::Error| Error::Encoding(e.to_string());
        let cert = Certificate::from_der(&cert_der).map_err(encoding)?;
        let id_der = ResponderId::ByName(cert.tbs_certificate.subject).to_der().map_err(encoding)?;
        Ok(OcspResponder { id_der, cert_der })
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }
}

/// Builds and signs a successful OCSP response.
pub fn build_ocsp_response(spec: &OcspResponseSpec<'_>, key: &dyn SigningKey) -> Result<Vec<u8>, Error> {
    let enc = |e: der::Error| Error::Encoding(e.to_string());
    let this_update = generalized(spec.this_update)?;
    let next_update = generalized(spec.next_update)?;
    let responses = spec
        .answers
        .iter()
        .map(|(item, status)| {
            let cert_status = match status {
                OcspStatus::Good => CertStatus::good(),
                OcspStatus::Unknown => CertStatus::unknown(),
                OcspStatus::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                    revocation_time: generalized(*at)?,
                    revocation_reason: reason.crl_reason(),
                }),
            };
            Ok(Single {
                cert_id: AnyRef::from_der(&item.cert_id_der).map_err(enc)?,
                cert_status,
                this_update,
                next_update: Some(next_update),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let response_extensions = match &spec.nonce {
        Some(value) => Some(vec![Extension {
            extn_id: ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(value.clone()).map_err(enc)?,
        }]),
        None => None,
    };
    let tbs = Tbs {
        responder_id: AnyRef::from_der(&spec.responder.id_der).map_err(enc)?,
        produced_at: generalized(spec.produced_at)?,
        responses,
        response_extensions,
    }
    .to_der()
    .map_err(enc)?;
    let signature = key.sign(&tbs)?;
    let signer_cert = AnyRef::from_der(&spec.responder.cert_der).map_err(enc)?;
    let basic = SignedBasic {
        tbs: AnyRef::from_der(&tbs).map_err(enc)?,
        signature_algorithm: crate::sig::signature_algorithm(key)?,
        signature: BitString::from_bytes(&signature).map_err(enc)?,
        certs: spec.include_signer_cert.then(|| vec![signer_cert]),
    };
    let response = OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: ID_PKIX_OCSP_BASIC,
            response: OctetString::new(basic.to_der().map_err(enc)?).map_err(enc)?,
        }),
    };
    response.to_der().map_err(enc)
}

/// `ResponseData` (RFC 6960 §4.2.1) as x509-ocsp defines it, always version 1 (the default, so
/// never encoded), with the responder ID encoded once per responder and each CertID as encoded
/// when the request was read: decoding and encoding them again was about two fifths of a
/// response's encoding (10.6 → 6.2 µs of it).
#[derive(Sequence)]
struct Tbs<'a> {
    responder_id: AnyRef<'a>,
    produced_at: OcspGeneralizedTime,
    responses: Vec<Single<'a>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    response_extensions: Option<Vec<Extension>>,
}

/// x509-ocsp's `SingleResponse` around an encoded CertID (no single extensions).
#[derive(Sequence)]
struct Single<'a> {
    cert_id: AnyRef<'a>,
    cert_status: CertStatus,
    this_update: OcspGeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<OcspGeneralizedTime>,
}

/// `BasicOCSPResponse` (RFC 6960 §4.2.1) as x509-ocsp defines it, around the response data as
/// encoded and signed and the signer's certificate as stored: neither is decoded and encoded
/// again for every response.
#[derive(Sequence)]
struct SignedBasic<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<AnyRef<'a>>>,
}

/// An unsigned error response (RFC 6960 §4.2.1).
pub fn ocsp_failure(failure: OcspFailure) -> Vec<u8> {
    let response_status = match failure {
        OcspFailure::MalformedRequest => OcspResponseStatus::MalformedRequest,
        OcspFailure::InternalError => OcspResponseStatus::InternalError,
        OcspFailure::TryLater => OcspResponseStatus::TryLater,
        OcspFailure::Unauthorized => OcspResponseStatus::Unauthorized,
    };
    // Encoding an enum and an absent field cannot fail.
    OcspResponse { response_status, response_bytes: None }.to_der().unwrap_or_default()
}
