//! Reads certificates and CSRs into plain structs the authority can apply policy to.

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::certificate::TbsCertificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::Error;

/// The key algorithms Certus reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA (rsaEncryption).
    Rsa,
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// ECDSA on P-521.
    EcP521,
    /// Ed25519.
    Ed25519,
    /// Anything else (refused for issuance).
    Other,
}

impl KeyKind {
    /// The API's key_type name: `rsa`, `ec`, `ed25519` (or `unknown`).
    pub fn type_name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "rsa",
            KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => "ec",
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Other => "unknown",
        }
    }
}

/// Key type and size, as roles and crypto policies see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The algorithm.
    pub kind: KeyKind,
    /// The size in bits.
    pub bits: u32,
}

/// A parsed CSR whose signature verified.
#[derive(Debug, Clone)]
pub struct CsrInfo {
    /// The first commonName.
    pub common_name: Option<String>,
    /// The subject as text.
    pub subject: String,
    /// The subject's attributes Certus can issue under (CN, O, OU, C, ST, L).
    pub subject_fields: crate::Subject,
    /// dNSName SANs.
    pub dns_names: Vec<String>,
    /// iPAddress SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// rfc822Name SANs.
    pub emails: Vec<String>,
    /// The subject key's type and size.
    pub key: KeyInfo,
    /// DER SubjectPublicKeyInfo, to certify this key.
    pub spki_der: Vec<u8>,
    /// The keyUsage the CSR asks for, if it asks.
    pub key_usage: Option<Vec<crate::KeyUsageBit>>,
    /// The EKU OIDs (dotted) the CSR asks for.
    pub extended_key_usage: Vec<String>,
}

/// A parsed certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Serial without leading zero octets.
    pub serial: Vec<u8>,
    /// The first commonName.
    pub common_name: Option<String>,
    /// The subject as text.
    pub subject: String,
    /// The issuer as text.
    pub issuer: String,
    /// The subject name, DER.
    pub subject_der: Vec<u8>,
    /// The issuer name, DER.
    pub issuer_der: Vec<u8>,
    /// dNSName SANs.
    pub dns_names: Vec<String>,
    /// iPAddress SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// rfc822Name SANs.
    pub emails: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint, when present.
    pub path_len: Option<u32>,
    /// Subject and issuer names are equal.
    pub self_issued: bool,
    /// The subject key's type and size.
    pub key: KeyInfo,
    /// The DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// The subjectPublicKey BIT STRING contents: what OCSP issuerKeyHash hashes.
    pub public_key_bits: Vec<u8>,
    /// The subject's attributes.
    pub subject_fields: crate::Subject,
    /// The issuer's attributes.
    pub issuer_fields: crate::Subject,
    /// keyUsage bits.
    pub key_usage: Vec<crate::KeyUsageBit>,
    /// EKU OIDs, dotted.
    pub extended_key_usage: Vec<String>,
    /// The subjectKeyIdentifier, when present.
    pub subject_key_id: Option<Vec<u8>>,
}

/// Signature algorithms too weak to prove possession of a key (SHA-1 and older digests).
const WEAK_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "MD2 with RSA"),
    ("1.2.840.113549.1.1.4", "MD5 with RSA"),
    ("1.2.840.113549.1.1.5", "SHA-1 with RSA"),
    ("1.2.840.10045.4.1", "ECDSA with SHA-1"),
    ("1.2.840.10040.4.3", "DSA with SHA-1"),
    ("1.3.14.3.2.29", "SHA-1 with RSA (OIW)"),
];

/// Parses a DER CSR and verifies its self-signature (RFC 2986 §3: proof of possession).
pub fn parse_csr(der: &[u8]) -> Result<CsrInfo, Error> {
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| Error::Csr(e.to_string()))?;
    if !rest.is_empty() {
        return Err(Error::Csr("trailing bytes after the CSR".into()));
    }
    let key = key_info(&csr.certification_request_info.subject_pki);
    if key.kind == KeyKind::Other {
        let alg = csr.certification_request_info.subject_pki.algorithm.algorithm.to_id_string();
        return Err(Error::Csr(format!(
            "unsupported key (algorithm {alg}, or EC parameters other than a named curve); \
             use RSA, ECDSA P-256/384/521 or Ed25519"
        )));
    }
    let sig_alg = csr.signature_algorithm.algorithm.to_id_string();
    if let Some(name) = WEAK_SIGNATURES.iter().find(|(oid, _)| *oid == sig_alg).map(|(_, name)| name) {
        return Err(Error::Csr(format!(
            "the CSR is signed with {name}, which is refused; sign it with SHA-256 or stronger"
        )));
    }
    let with_kms = || {
        let spki = &csr.certification_request_info.subject_pki;
        certus_kms::verify_signature(
            &csr.signature_algorithm.algorithm.to_id_string(),
            curve_of(spki).as_deref(),
            &spki.subject_public_key.data,
            csr.certification_request_info.raw,
            &csr.signature_value.data,
        )
    };
    // x509-parser lacks some pairs (P-521, SHA-512, RSA below 2048 bits): those are checked by
    // the KMS verifier, so the CSR is read and policy can say why its key is refused.
    let verified = match csr.verify_signature() {
        Ok(()) => true,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => with_kms(),
        Err(_) if key.kind == KeyKind::Rsa && key.bits < 2048 => with_kms(),
        Err(_) => false,
    };
    if !verified {
        return Err(Error::CsrSignature);
    }
    let info = &csr.certification_request_info;
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut emails = Vec::new();
    let mut key_usage = None;
    let mut extended_key_usage = Vec::new();
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            match ext {
                ParsedExtension::SubjectAlternativeName(san) => {
                    collect_names(&san.general_names, &mut dns_names, &mut ip_addresses, &mut emails)?
                }
                ParsedExtension::KeyUsage(ku) => key_usage = Some(key_usage_bits(ku)),
                ParsedExtension::ExtendedKeyUsage(eku) => extended_key_usage = eku_oids(eku),
                _ => {}
            }
        }
    }
    let subject_fields = name_fields(&info.subject);
    Ok(CsrInfo {
        common_name: first_cn(&info.subject),
        subject: info.subject.to_string(),
        subject_fields,
        dns_names,
        ip_addresses,
        emails,
        key,
        spki_der: info.subject_pki.raw.to_vec(),
        key_usage,
        extended_key_usage,
    })
}

/// Parses one DER certificate (no trailing bytes).
pub fn parse_certificate(der: &[u8]) -> Result<CertInfo, Error> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(Error::Certificate("trailing bytes after the certificate".into()));
    }
    cert_info(&cert.tbs_certificate)
}

/// The fields of a certificate's TBS (also what the pre-issuance lint reads).
pub(crate) fn cert_info(cert: &TbsCertificate<'_>) -> Result<CertInfo, Error> {
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut emails = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        collect_names(&san.value.general_names, &mut dns_names, &mut ip_addresses, &mut emails)?;
    }
    let mut serial = cert.raw_serial().to_vec();
    while serial.len() > 1 && serial[0] == 0 {
        serial.remove(0);
    }
    Ok(CertInfo {
        serial,
        common_name: first_cn(cert.subject()),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        subject_der: cert.subject().as_raw().to_vec(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        dns_names,
        ip_addresses,
        emails,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        is_ca: cert.is_ca(),
        path_len: cert.basic_constraints().ok().flatten().and_then(|bc| bc.value.path_len_constraint),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        key: key_info(cert.public_key()),
        spki_der: cert.public_key().raw.to_vec(),
        public_key_bits: cert.public_key().subject_public_key.data.to_vec(),
        subject_fields: name_fields(cert.subject()),
        issuer_fields: name_fields(cert.issuer()),
        key_usage: cert.key_usage().ok().flatten().map(|k| key_usage_bits(k.value)).unwrap_or_default(),
        extended_key_usage: cert.extended_key_usage().ok().flatten().map(|e| eku_oids(e.value)).unwrap_or_default(),
        subject_key_id: subject_key_id(cert),
    })
}

/// The subjectKeyIdentifier extension's value, if the certificate has one.
pub(crate) fn subject_key_id(cert: &TbsCertificate<'_>) -> Option<Vec<u8>> {
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
        _ => None,
    })
}

/// The named curve of an EC key, as a dotted OID.
pub(crate) fn curve_of(spki: &SubjectPublicKeyInfo<'_>) -> Option<String> {
    spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string())
}

pub(crate) fn key_usage_bits(ku: &x509_parser::extensions::KeyUsage) -> Vec<crate::KeyUsageBit> {
    use crate::KeyUsageBit as B;
    [
        (ku.digital_signature(), B::DigitalSignature),
        (ku.non_repudiation(), B::ContentCommitment),
        (ku.key_encipherment(), B::KeyEncipherment),
        (ku.data_encipherment(), B::DataEncipherment),
        (ku.key_agreement(), B::KeyAgreement),
        (ku.key_cert_sign(), B::KeyCertSign),
        (ku.crl_sign(), B::CrlSign),
        (ku.encipher_only(), B::EncipherOnly),
        (ku.decipher_only(), B::DecipherOnly),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, b)| b)
    .collect()
}

fn eku_oids(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let named = [
        (eku.any, "2.5.29.37.0"),
        (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
        (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ];
    let mut out: Vec<String> = named.into_iter().filter(|(on, _)| *on).map(|(_, o)| o.to_owned()).collect();
    out.extend(eku.other.iter().map(|o| o.to_id_string()));
    out
}

/// CN, O, OU, C, ST and L of a name (the first of each), in the order the name has them.
fn name_fields(name: &x509_parser::x509::X509Name<'_>) -> crate::Subject {
    let first = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        it.next().and_then(|a| a.as_str().ok()).map(str::to_owned)
    };
    let mut order = Vec::new();
    for attr in name.iter_attributes() {
        if let Some(a) = crate::SubjectAttr::from_oid(&attr.attr_type().to_id_string())
            && !order.contains(&a)
        {
            order.push(a);
        }
    }
    crate::Subject {
        order,
        common_name: first(&mut name.iter_common_name()),
        organization: first(&mut name.iter_organization()),
        organization_unit: first(&mut name.iter_organizational_unit()),
        country: first(&mut name.iter_country()),
        state: first(&mut name.iter_state_or_province()),
        locality: first(&mut name.iter_locality()),
    }
}

fn first_cn(name: &x509_parser::x509::X509Name<'_>) -> Option<String> {
    name.iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
}

fn collect_names(
    names: &[GeneralName<'_>],
    dns: &mut Vec<String>,
    ips: &mut Vec<IpAddr>,
    emails: &mut Vec<String>,
) -> Result<(), Error> {
    for name in names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::RFC822Name(e) => emails.push((*e).to_owned()),
            GeneralName::IPAddress(bytes) => {
                let ip = match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default()),
                    16 => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default()),
                    n => return Err(Error::InvalidValue(format!("IP SAN of {n} octets"))),
                };
                ips.push(ip);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Key type and size of a public key given as rcgen key data.
pub(crate) fn key_info_of_public(key: &dyn rcgen::PublicKeyData) -> KeyKind {
    let spki = key.subject_public_key_info();
    SubjectPublicKeyInfo::from_der(&spki).map(|(_, s)| key_info(&s).kind).unwrap_or(KeyKind::Other)
}

pub(crate) fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        let bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
        return KeyInfo { kind: KeyKind::Rsa, bits: bits as u32 };
    }
    if *alg == OID_SIG_ED25519 {
        return KeyInfo { kind: KeyKind::Ed25519, bits: 256 };
    }
    if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => KeyInfo { kind: KeyKind::EcP256, bits: 256 },
            Some(c) if c == OID_NIST_EC_P384 => KeyInfo { kind: KeyKind::EcP384, bits: 384 },
            Some(c) if c == OID_NIST_EC_P521 => KeyInfo { kind: KeyKind::EcP521, bits: 521 },
            _ => KeyInfo { kind: KeyKind::Other, bits: 0 },
        };
    }
    KeyInfo { kind: KeyKind::Other, bits: 0 }
}
