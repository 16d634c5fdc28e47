//! What an ACME server reads from certificates: the parts of an ARI certificate identifier
//! (RFC 9773 §4.1), and the self-signed certificate a tls-alpn-01 responder presents (RFC 8737).

use std::net::IpAddr;

use der::Decode;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
const ACME_IDENTIFIER: &str = "1.3.6.1.5.5.7.1.31";

/// The two halves of a certificate's ARI identifier: the authorityKeyIdentifier's
/// keyIdentifier, and the serial number's DER content octets.
pub fn ari_parts(cert_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (_, cert) = X509Certificate::from_der(cert_der).map_err(|e| Error::Certificate(e.to_string()))?;
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
            _ => None,
        })
        .ok_or_else(|| Error::Certificate("the certificate has no authorityKeyIdentifier".into()))?;
    Ok((aki, cert.tbs_certificate.raw_serial().to_vec()))
}

/// What a tls-alpn-01 responder's certificate shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpnChallengeCert {
    /// Its dNSName SANs.
    pub dns_names: Vec<String>,
    /// Its iPAddress SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// The acmeIdentifier extension's SHA-256, if present and critical.
    pub key_authorization_digest: Option<Vec<u8>>,
}

/// Reads a tls-alpn-01 certificate.
pub fn alpn_challenge_cert(cert_der: &[u8]) -> Result<AlpnChallengeCert, Error> {
    let (_, cert) = X509Certificate::from_der(cert_der).map_err(|e| Error::Certificate(e.to_string()))?;
    let info = crate::parse::cert_info(&cert.tbs_certificate)?;
    let digest = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ACME_IDENTIFIER && e.critical)
        .and_then(|e| der::asn1::OctetString::from_der(e.value).ok())
        .map(|o| o.as_bytes().to_vec())
        .filter(|d| d.len() == 32);
    Ok(AlpnChallengeCert {
        dns_names: info.dns_names,
        ip_addresses: info.ip_addresses,
        key_authorization_digest: digest,
    })
}
