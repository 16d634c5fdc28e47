//! What signing under a CA certificate needs from it, read once per certificate rather than
//! once per issuance: rcgen's issuer parameters (the subject name, key identifier and key
//! usages it writes into each child) and the validity the lint holds children to. The sign path
//! used to parse the CA's DER twice per certificate it issued (rcgen, then the lint).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rcgen::string::{BmpString, UniversalString};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyIdMethod, KeyUsagePurpose};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::{Error, KeyUsageBit};

/// CA certificates kept; past this the cache starts over (a deployment has a handful).
const KEPT: usize = 256;

/// A CA certificate as its children need it.
pub(crate) struct IssuerFacts {
    /// For `rcgen::Issuer::from_params`: only the name, key identifier and key usages are set.
    pub(crate) params: CertificateParams,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
}

static KNOWN: LazyLock<Mutex<HashMap<Vec<u8>, Arc<IssuerFacts>>>> = LazyLock::new(Default::default);

/// The facts of the CA certificate `der`, parsed on first use. Keyed by the DER itself, so a
/// CA whose certificate changes is simply a new entry.
pub(crate) fn issuer_facts(der: &[u8]) -> Result<Arc<IssuerFacts>, Error> {
    if let Some(facts) = KNOWN.lock().unwrap_or_else(|p| p.into_inner()).get(der) {
        return Ok(facts.clone());
    }
    let facts = Arc::new(read(der)?);
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if known.len() >= KEPT {
        known.clear();
    }
    known.insert(der.to_vec(), facts.clone());
    Ok(facts)
}

/// What `rcgen::Issuer::from_ca_cert_der` reads (its readers are private), and the validity.
/// A CA certificate that cannot be read this way is a server fault, as it was in rcgen
/// ([`Error::Encoding`]): the caller asked for nothing wrong.
fn read(der: &[u8]) -> Result<IssuerFacts, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| Error::Encoding(format!("the issuer: {e}")))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(cert.subject())?;
    let ski = crate::parse::subject_key_id(&cert);
    params.key_identifier_method = ski.map_or(KeyIdMethod::Sha256, KeyIdMethod::PreSpecified);
    params.key_usages = key_usages(&cert)?;
    let validity = cert.validity();
    Ok(IssuerFacts {
        params,
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
    })
}

/// The subject as rcgen writes an issuer name: each attribute with its string type kept, one
/// attribute per RDN (rcgen cannot write more).
fn distinguished_name(name: &X509Name<'_>) -> Result<DistinguishedName, Error> {
    let unsupported = |why: &str| Error::Encoding(format!("the issuer's subject: {why}"));
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let [attr] = rdn.iter().collect::<Vec<_>>()[..] else {
            return Err(unsupported("a relative name with other than one attribute"));
        };
        let oid: Vec<u64> =
            attr.attr_type().iter().ok_or_else(|| unsupported("an attribute type too large"))?.collect();
        let data = attr.attr_value().data;
        let text = || std::str::from_utf8(data).map_err(|_| unsupported("a string that is not UTF-8"));
        let value = match attr.attr_value().header.tag() {
            Tag::BmpString => DnValue::BmpString(BmpString::from_utf16be(data.to_vec())?),
            Tag::Ia5String => DnValue::Ia5String(text()?.try_into()?),
            Tag::PrintableString => DnValue::PrintableString(text()?.try_into()?),
            Tag::T61String => DnValue::TeletexString(text()?.try_into()?),
            Tag::UniversalString => DnValue::UniversalString(UniversalString::from_utf32be(data.to_vec())?),
            Tag::Utf8String => DnValue::Utf8String(text()?.to_owned()),
            _ => return Err(unsupported("an attribute that is not a string")),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

/// The key usage extension's bits, in RFC 5280's order.
fn key_usages(cert: &X509Certificate<'_>) -> Result<Vec<KeyUsagePurpose>, Error> {
    let Some(ku) = cert.key_usage().map_err(|e| Error::Encoding(format!("the issuer's key usage: {e}")))? else {
        return Ok(Vec::new());
    };
    Ok(crate::parse::key_usage_bits(ku.value).into_iter().map(KeyUsageBit::to_rcgen).collect())
}

#[cfg(test)]
mod tests {
    use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
    use rcgen::{BasicConstraints, IsCa, Issuer, KeyPair};

    use super::*;

    fn ca(configure: impl FnOnce(&mut CertificateParams)) -> Vec<u8> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        configure(&mut params);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// A child signed under rcgen's own reading of the CA certificate and one signed under the
    /// cached facts have byte-identical TBSCertificates (issuer name, authority key identifier).
    fn same_as_rcgen(der: &[u8]) {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let child_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut child = CertificateParams::new(vec!["svc.example.test".to_owned()]).unwrap();
        child.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x42; 16]));
        child.use_authority_key_identifier_extension = true;
        let tbs = |issuer: &Issuer<'_, &KeyPair>| {
            let der = child.signed_by(&child_key, issuer).unwrap().der().to_vec();
            let (_, cert) = X509Certificate::from_der(&der).unwrap();
            cert.tbs_certificate.as_ref().to_vec()
        };
        let rcgen_read = Issuer::from_ca_cert_der(&der.to_vec().into(), &ca_key).unwrap();
        let facts = issuer_facts(der).unwrap();
        assert_eq!(tbs(&Issuer::from_params(&facts.params, &ca_key)), tbs(&rcgen_read));
        assert_eq!(facts.params.key_usages, rcgen_read.key_usages());
    }

    #[test]
    fn the_facts_are_what_rcgen_reads_from_the_certificate() {
        // Every string type rcgen writes, in an order that is not DnType's.
        same_as_rcgen(&ca(|p| {
            let dn = &mut p.distinguished_name;
            dn.push(DnType::CountryName, DnValue::PrintableString(PrintableString::try_from("DE").unwrap()));
            dn.push(DnType::CommonName, DnValue::Utf8String("Zürich Issuing CA".into()));
            dn.push(
                DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
                DnValue::Ia5String(Ia5String::try_from("pki@example.test").unwrap()),
            );
            dn.push(DnType::OrganizationName, DnValue::BmpString(BmpString::try_from("Org Ω").unwrap()));
            dn.push(DnType::LocalityName, DnValue::TeletexString(TeletexString::try_from("Bern").unwrap()));
            dn.push(
                DnType::OrganizationalUnitName,
                DnValue::UniversalString(UniversalString::try_from("Ops").unwrap()),
            );
            p.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        }));
        // No key usage extension; a pre-specified key identifier.
        same_as_rcgen(&ca(|p| {
            p.distinguished_name.push(DnType::CommonName, "Plain Root");
            p.key_identifier_method = KeyIdMethod::PreSpecified(vec![7; 20]);
        }));
    }

    #[test]
    fn the_validity_is_the_certificates_and_garbage_is_an_error() {
        let from = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let until = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let der = ca(|p| {
            p.not_before = from;
            p.not_after = until;
        });
        let facts = issuer_facts(&der).unwrap();
        assert_eq!((facts.not_before, facts.not_after), (from, until));
        assert!(Arc::ptr_eq(&facts, &issuer_facts(&der).unwrap()), "read once, then kept");
        assert!(matches!(issuer_facts(b"not a certificate"), Err(Error::Encoding(_))));
    }
}
