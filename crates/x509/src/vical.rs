//! VICALs (ISO/IEC 18013-5 Annex C): the CBOR list of trusted IACAs with their document types,
//! signed as a COSE_Sign1 (RFC 9052) whose unprotected `x5chain` header (RFC 9360, label 33)
//! carries the VICAL signer's certificate. CBOR through ciborium, COSE through coset.

use ciborium::Value;
use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use time::OffsetDateTime;

use crate::{Error, parse_certificate};

/// One trusted IACA.
#[derive(Debug, Clone)]
pub struct VicalEntry {
    /// The IACA certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The document types it may sign for (at least one).
    pub doc_types: Vec<String>,
    /// Optional certificate profiles.
    pub certificate_profiles: Vec<String>,
}

/// A VICAL's contents.
#[derive(Debug, Clone)]
pub struct Vical {
    /// Who publishes it.
    pub provider: String,
    /// When it was made.
    pub date: OffsetDateTime,
    /// Grows with every issue.
    pub issue_id: u64,
    /// The IACAs.
    pub entries: Vec<VicalEntry>,
}

/// The COSE algorithm a VICAL is signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoseAlg {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// ECDSA P-521 with SHA-512.
    Es512,
    /// Ed25519.
    EdDsa,
}

impl CoseAlg {
    fn iana(self) -> iana::Algorithm {
        match self {
            CoseAlg::Es256 => iana::Algorithm::ES256,
            CoseAlg::Es384 => iana::Algorithm::ES384,
            CoseAlg::Es512 => iana::Algorithm::ES512,
            CoseAlg::EdDsa => iana::Algorithm::EdDSA,
        }
    }
}

/// `tdate` (RFC 8949 tag 0): RFC 3339 in whole seconds, UTC.
fn tdate(t: OffsetDateTime) -> Result<Value, Error> {
    let text = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| Error::Encoding(e.to_string()))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::Encoding(e.to_string()))?;
    Ok(Value::Tag(0, Box::new(Value::Text(text))))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn texts(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| text(s)).collect())
}

/// A `CertificateInfo` (Annex C): the certificate and what a reader looks up without parsing it.
fn certificate_info(e: &VicalEntry) -> Result<Value, Error> {
    if e.doc_types.is_empty() {
        return Err(Error::InvalidValue("a VICAL entry needs at least one docType".into()));
    }
    let info = parse_certificate(&e.certificate_der)?;
    let ski = info
        .subject_key_id
        .clone()
        .ok_or_else(|| Error::InvalidValue(format!("{} has no subjectKeyIdentifier", info.subject)))?;
    let mut map = vec![
        (text("certificate"), Value::Bytes(e.certificate_der.clone())),
        // biguint (RFC 8949 tag 2): the serial's magnitude.
        (text("serialNumber"), Value::Tag(2, Box::new(Value::Bytes(info.serial.clone())))),
        (text("ski"), Value::Bytes(ski)),
        (text("docType"), texts(&e.doc_types)),
    ];
    if !e.certificate_profiles.is_empty() {
        map.push((text("certificateProfile"), texts(&e.certificate_profiles)));
    }
    let subject = &info.subject_fields;
    if let Some(authority) = subject.organization.as_ref().or(subject.common_name.as_ref()) {
        map.push((text("issuingAuthority"), text(authority)));
    }
    if let Some(country) = &subject.country {
        map.push((text("issuingCountry"), text(country)));
    }
    if let Some(state) = &subject.state {
        map.push((text("stateOrProvinceName"), text(state)));
    }
    map.extend([
        (text("issuer"), Value::Bytes(info.issuer_der.clone())),
        (text("subject"), Value::Bytes(info.subject_der.clone())),
        (text("notBefore"), tdate(info.not_before)?),
        (text("notAfter"), tdate(info.not_after)?),
    ]);
    Ok(Value::Map(map))
}

/// The VICAL's CBOR payload.
pub fn vical_payload(v: &Vical) -> Result<Vec<u8>, Error> {
    let infos = v.entries.iter().map(certificate_info).collect::<Result<Vec<_>, _>>()?;
    let vical = Value::Map(vec![
        (text("version"), text("1.0")),
        (text("vicalProvider"), text(&v.provider)),
        (text("date"), tdate(v.date)?),
        (text("vicalIssueID"), Value::Integer(v.issue_id.into())),
        (text("certificateInfos"), Value::Array(infos)),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&vical, &mut out).map_err(|e| Error::Encoding(e.to_string()))?;
    Ok(out)
}

/// Signs `payload` as a tagged COSE_Sign1 with `alg` in the protected header and the signer's
/// certificate as `x5chain`. `sign` gets the Sig_structure and returns the raw signature
/// (r || s for ECDSA); its failure is an encoding error.
pub fn cose_sign1(
    payload: Vec<u8>,
    alg: CoseAlg,
    signer_cert_der: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, Error> {
    let protected = HeaderBuilder::new().algorithm(alg.iana()).build();
    let unprotected = HeaderBuilder::new()
        .value(iana::HeaderParameter::X5Chain as i64, Value::Bytes(signer_cert_der.to_vec()))
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .payload(payload)
        .try_create_signature(&[], sign)
        .map_err(Error::Encoding)?
        .build()
        .to_tagged_vec()
        .map_err(|e| Error::Encoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::CborSerializable;

    fn iaca() -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "Test IACA");
        params.distinguished_name.push(rcgen::DnType::CountryName, "US");
        params.distinguished_name.push(rcgen::DnType::StateOrProvinceName, "US-CA");
        params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.use_authority_key_identifier_extension = false;
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_vical_is_a_signed_cbor_list_of_its_iacas() {
        let der = iaca();
        let v = Vical {
            provider: "Test Provider".into(),
            date: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            issue_id: 7,
            entries: vec![VicalEntry {
                certificate_der: der.clone(),
                doc_types: vec!["org.iso.18013.5.1.mDL".into()],
                certificate_profiles: vec![],
            }],
        };
        let payload = vical_payload(&v).unwrap();
        let cose = cose_sign1(payload.clone(), CoseAlg::Es256, &der, |tbs| Ok(tbs[..4].to_vec())).unwrap();
        assert_eq!(cose[0], 0xd2, "tag 18: COSE_Sign1");
        let sign1 = coset::CoseSign1::from_tagged_slice(&cose).unwrap();
        assert_eq!(sign1.payload.as_deref(), Some(payload.as_slice()));
        assert_eq!(
            sign1.protected.header.alg,
            Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256))
        );
        let (label, chain) = &sign1.unprotected.rest[0];
        assert_eq!(*label, coset::Label::Int(33));
        assert_eq!(chain.as_bytes(), Some(&der));
        // The signature is over the Sig_structure the library builds (here: its first 4 bytes).
        let tbs = sign1.tbs_data(&[]);
        assert_eq!(sign1.signature, tbs[..4].to_vec());

        let value: Value = ciborium::from_reader(payload.as_slice()).unwrap();
        let map = value.as_map().unwrap();
        let get = |k: &str| map.iter().find(|(key, _)| key.as_text() == Some(k)).map(|(_, v)| v.clone());
        assert_eq!(get("version"), Some(text("1.0")));
        assert_eq!(get("vicalIssueID"), Some(Value::Integer(7.into())));
        assert_eq!(get("date"), Some(Value::Tag(0, Box::new(text("2027-01-15T08:00:00Z")))));
        let infos = get("certificateInfos").unwrap();
        let info = infos.as_array().unwrap()[0].as_map().unwrap().clone();
        let field = |k: &str| info.iter().find(|(key, _)| key.as_text() == Some(k)).map(|(_, v)| v.clone());
        assert_eq!(field("certificate"), Some(Value::Bytes(der)));
        assert_eq!(field("docType"), Some(texts(&["org.iso.18013.5.1.mDL".into()])));
        assert_eq!(field("issuingCountry"), Some(text("US")));
        assert_eq!(field("issuingAuthority"), Some(text("Test IACA")));
        assert!(field("certificateProfile").is_none());
        assert_eq!(field("ski").and_then(|v| v.as_bytes().map(Vec::len)), Some(20));
        let _ = sign1.to_vec().unwrap();
    }

    #[test]
    fn an_entry_needs_a_doc_type() {
        let v = Vical {
            provider: "p".into(),
            date: OffsetDateTime::UNIX_EPOCH,
            issue_id: 1,
            entries: vec![VicalEntry { certificate_der: iaca(), doc_types: vec![], certificate_profiles: vec![] }],
        };
        assert!(matches!(vical_payload(&v), Err(Error::InvalidValue(_))));
    }
}
