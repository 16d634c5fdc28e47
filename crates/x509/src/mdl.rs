//! ISO/IEC 18013-5 Annex B certificates for mobile driving licences: the IACA root and the
//! Document Signer (DS), built to the profile and checked against it rule by rule. Pure: time
//! and keys come in from the caller.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PublicKeyData, SerialNumber, SigningKey,
};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::annex_b::{DS_MAX_DAYS, IACA_MAX_YEARS};
use crate::lint::{AnnexB, LintContext, gated};
use crate::{Error, KeyKind, KeyUsageBit};

const OID_IAN: &[u64] = &[2, 5, 29, 18];
/// id-mdl-kp-mdlDS (ISO/IEC 18013-5 Annex B.1.4).
const OID_MDL_DS: &[u64] = &[1, 0, 18013, 5, 1, 2];
const OID_EKU: &[u64] = &[2, 5, 29, 37];

/// Contact details for the issuerAltName extension (at least one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuerAltName {
    /// A URI to reach the issuer.
    pub uri: Option<String>,
    /// An email address to reach the issuer.
    pub email: Option<String>,
}

/// What an IACA certificate holds (Annex B.1.2).
#[derive(Debug, Clone)]
pub struct IacaSpec {
    /// The serial number (set by the pipeline).
    pub serial: [u8; 20],
    /// countryName: an upper-case ISO 3166-1 alpha-2 code.
    pub country: String,
    /// commonName.
    pub common_name: String,
    /// stateOrProvinceName.
    pub state: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// The issuerAltName contact (a URI or an email address).
    pub issuer_alt_name: IssuerAltName,
    /// CRL distribution point, if any.
    pub crl_url: Option<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// What a Document Signer certificate holds (Annex B.1.4).
#[derive(Debug, Clone)]
pub struct DsSpec {
    /// The serial number (set by the pipeline).
    pub serial: [u8; 20],
    /// countryName: an upper-case ISO 3166-1 alpha-2 code.
    pub country: String,
    /// commonName.
    pub common_name: String,
    /// stateOrProvinceName.
    pub state: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// localityName.
    pub locality: Option<String>,
    /// CRL distribution point (mandatory for a DS).
    pub crl_url: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

fn rule(text: impl Into<String>) -> Error {
    Error::InvalidValue(format!("ISO 18013-5 Annex B: {}", text.into()))
}

fn check_country(country: &str) -> Result<(), Error> {
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(rule(format!("country {country:?} must be an upper-case ISO 3166-1 alpha-2 code")))
    }
}

fn ecdsa_curve(key: &dyn PublicKeyData) -> bool {
    let alg = key.algorithm();
    [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ECDSA_P521_SHA256,
        &rcgen::PKCS_ECDSA_P521_SHA384,
        &rcgen::PKCS_ECDSA_P521_SHA512,
    ]
    .contains(&alg)
}

fn name(
    country: &str,
    state: Option<&str>,
    organization: Option<&str>,
    locality: Option<&str>,
    cn: &str,
) -> Result<DistinguishedName, Error> {
    let mut dn = DistinguishedName::new();
    let printable = rcgen::string::PrintableString::try_from(country).map_err(|_| rule("country must be printable"))?;
    dn.push(DnType::CountryName, DnValue::PrintableString(printable));
    if let Some(st) = state {
        dn.push(DnType::StateOrProvinceName, DnValue::Utf8String(st.to_owned()));
    }
    if let Some(l) = locality {
        dn.push(DnType::LocalityName, DnValue::Utf8String(l.to_owned()));
    }
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, DnValue::Utf8String(o.to_owned()));
    }
    dn.push(DnType::CommonName, DnValue::Utf8String(cn.to_owned()));
    Ok(dn)
}

/// IssuerAltName ::= GeneralNames with a URI [6] and/or an rfc822Name [1], encoded with yasna.
fn issuer_alt_name(ian: &IssuerAltName) -> Result<CustomExtension, Error> {
    if ian.uri.is_none() && ian.email.is_none() {
        return Err(rule("issuerAltName needs a URI or an email address"));
    }
    // IA5String: refuse anything but ASCII before the encoder (which panics on it) sees it.
    if [&ian.uri, &ian.email].into_iter().flatten().any(|v| !v.is_ascii()) {
        return Err(rule("issuerAltName URI and email address must be ASCII"));
    }
    let der = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            if let Some(email) = &ian.email {
                w.next().write_tagged_implicit(yasna::Tag::context(1), |w| w.write_ia5_string(email));
            }
            if let Some(uri) = &ian.uri {
                w.next().write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(uri));
            }
        })
    });
    Ok(CustomExtension::from_oid_content(OID_IAN, der))
}

fn method1(key: &dyn PublicKeyData) -> KeyIdMethod {
    KeyIdMethod::PreSpecified(certus_kms::sha1(key.der_bytes()).to_vec())
}

/// Builds a self-signed IACA root certificate (Annex B.1.2).
pub fn build_iaca(spec: &IacaSpec, key: &dyn SigningKey) -> Result<Vec<u8>, Error> {
    let params = iaca_params(spec, key)?;
    let ctx = LintContext { issuer_der: None, annex_b: Some(AnnexB::Iaca) };
    Ok(gated(key, ctx, |gate| params.self_signed(gate))?.der().to_vec())
}

/// The IACA's fields after every Annex B check on the request (tests alter them to break a rule).
pub(crate) fn iaca_params(spec: &IacaSpec, key: &dyn PublicKeyData) -> Result<CertificateParams, Error> {
    check_country(&spec.country)?;
    if !ecdsa_curve(key) {
        return Err(rule("an IACA key must be ECDSA on P-256, P-384 or P-521"));
    }
    if spec.not_after <= spec.not_before || spec.not_after > spec.not_before + Duration::days(365 * IACA_MAX_YEARS + 5)
    {
        return Err(rule("an IACA is valid for at most 20 years"));
    }
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&spec.serial));
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.distinguished_name =
        name(&spec.country, spec.state.as_deref(), spec.organization.as_deref(), None, &spec.common_name)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = method1(key);
    params.custom_extensions.push(issuer_alt_name(&spec.issuer_alt_name)?);
    if let Some(url) = &spec.crl_url {
        params.crl_distribution_points = crate::build::crl_distribution_point(url)?;
    }
    Ok(params)
}

/// Builds a Document Signer certificate under `iaca_der` (Annex B.1.4). The issuer name and the
/// issuerAltName are the IACA's; the result is checked to carry them byte for byte.
pub fn build_ds(
    spec: &DsSpec,
    ds_key: &dyn PublicKeyData,
    iaca_der: &[u8],
    iaca_key: &dyn SigningKey,
) -> Result<Vec<u8>, Error> {
    let (_, iaca) = X509Certificate::from_der(iaca_der).map_err(|e| Error::Certificate(e.to_string()))?;
    let params = ds_params(spec, ds_key, &iaca)?;
    let ctx = LintContext { issuer_der: Some(iaca_der), annex_b: Some(AnnexB::Ds) };
    let facts = crate::issuer::issuer_facts(iaca_der)?;
    let der = gated(iaca_key, ctx, |gate| params.signed_by(&ds_key, &Issuer::from_params(&facts.params, gate)))?
        .der()
        .to_vec();
    let (_, ds) = X509Certificate::from_der(&der).map_err(|e| Error::Encoding(e.to_string()))?;
    if ds.issuer().as_raw() != iaca.subject().as_raw() {
        return Err(Error::Encoding("DS issuer would not be byte-identical to the IACA subject".into()));
    }
    Ok(der)
}

/// The DS's fields after every Annex B check on the request (tests alter them to break a rule).
pub(crate) fn ds_params(
    spec: &DsSpec,
    ds_key: &dyn PublicKeyData,
    iaca: &X509Certificate<'_>,
) -> Result<CertificateParams, Error> {
    check_country(&spec.country)?;
    let iaca_country = iaca.subject().iter_country().next().and_then(|c| c.as_str().ok()).unwrap_or_default();
    if spec.country != iaca_country {
        return Err(rule(format!("the DS country {:?} must be the IACA's {iaca_country:?}", spec.country)));
    }
    let iaca_state = iaca.subject().iter_state_or_province().next().and_then(|s| s.as_str().ok());
    if spec.state.as_deref() != iaca_state {
        return Err(rule(
            "stateOrProvinceName must be present in the DS exactly when the IACA has it, with the same value",
        ));
    }
    let ds_kind = crate::parse::key_info_of_public(ds_key);
    if !matches!(ds_kind, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 | KeyKind::Ed25519) {
        return Err(rule("a DS key must be ECDSA on P-256, P-384 or P-521, or Ed25519"));
    }
    if spec.not_after <= spec.not_before || spec.not_after > spec.not_before + Duration::days(DS_MAX_DAYS) {
        return Err(rule("a DS certificate is valid for at most 457 days"));
    }
    let iaca_from = iaca.validity().not_before.to_datetime();
    let iaca_until = iaca.validity().not_after.to_datetime();
    if spec.not_before < iaca_from || spec.not_after > iaca_until {
        return Err(rule("the DS validity must lie within the IACA's"));
    }
    let ian = iaca
        .extensions()
        .iter()
        .find(|e| matches!(e.parsed_extension(), ParsedExtension::IssuerAlternativeName(_)))
        .map(|e| e.value.to_vec())
        .ok_or_else(|| rule("the IACA has no issuerAltName to copy"))?;
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&spec.serial));
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.distinguished_name = name(
        &spec.country,
        spec.state.as_deref(),
        spec.organization.as_deref(),
        spec.locality.as_deref(),
        &spec.common_name,
    )?;
    // ExplicitNoCa: basicConstraints cA=FALSE, and rcgen writes the SKI with it.
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.key_identifier_method = method1(ds_key);
    params.use_authority_key_identifier_extension = true;
    params.crl_distribution_points = crate::build::crl_distribution_point(&spec.crl_url)?;
    params.custom_extensions.push(CustomExtension::from_oid_content(OID_IAN, ian));
    let eku = yasna::construct_der(|w| {
        w.write_sequence(|w| w.next().write_oid(&yasna::models::ObjectIdentifier::from_slice(OID_MDL_DS)))
    });
    let mut eku = CustomExtension::from_oid_content(OID_EKU, eku);
    eku.set_criticality(true);
    params.custom_extensions.push(eku);
    Ok(params)
}

/// A generic certificate: the caller sets every field (walt.id's generic X.509 profile).
#[derive(Debug, Clone)]
pub struct GenericSpec {
    /// The serial number (set by the pipeline).
    pub serial: [u8; 20],
    /// The subject name.
    pub subject: crate::Subject,
    /// The issuer name written into the certificate.
    pub issuer_name: crate::Subject,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// pathLenConstraint, for a CA.
    pub path_len: Option<u8>,
    /// keyUsage bits (none: no extension).
    pub key_usage: Vec<KeyUsageBit>,
    /// EKU OIDs as arcs.
    pub extended_key_usage: Vec<Vec<u64>>,
    /// dNSName SANs.
    pub dns_names: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// rfc822Name SANs.
    pub emails: Vec<String>,
    /// iPAddress SANs.
    pub ip_addresses: Vec<std::net::IpAddr>,
    /// CRL distribution point, if any.
    pub crl_url: Option<String>,
}

/// Builds a generic certificate: basicConstraints always (critical), keyUsage (critical) and
/// EKU only when given, SKI (method 1) and AKI always, SANs and CRL DP when given. Signed by
/// `issuer_key` under the name `spec.issuer_name` (the subject's own key when self-signed).
/// `issuer_der` is the issuer's certificate when the signing key is a CA's (its validity then
/// bounds this one's).
pub fn build_generic(
    spec: &GenericSpec,
    subject_key: &dyn PublicKeyData,
    issuer_key: &dyn SigningKey,
    issuer_der: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    if spec.not_after <= spec.not_before {
        return Err(Error::InvalidValue("notBefore must be before notAfter".into()));
    }
    let dn = |s: &crate::Subject| -> Result<DistinguishedName, Error> {
        let cn = s.common_name.as_deref().ok_or_else(|| Error::InvalidValue("commonName is required".into()))?;
        let mut dn = DistinguishedName::new();
        if let Some(c) = &s.country {
            check_country(c)
                .map_err(|_| Error::InvalidValue(format!("country {c:?} must be an upper-case 2-letter code")))?;
            let p =
                rcgen::string::PrintableString::try_from(c.as_str()).map_err(|_| rule("country must be printable"))?;
            dn.push(DnType::CountryName, DnValue::PrintableString(p));
        }
        for (ty, v) in [
            (DnType::StateOrProvinceName, &s.state),
            (DnType::LocalityName, &s.locality),
            (DnType::OrganizationName, &s.organization),
            (DnType::OrganizationalUnitName, &s.organization_unit),
        ] {
            if let Some(v) = v {
                dn.push(ty, DnValue::Utf8String(v.clone()));
            }
        }
        dn.push(DnType::CommonName, DnValue::Utf8String(cn.to_owned()));
        Ok(dn)
    };
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&spec.serial));
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.distinguished_name = dn(&spec.subject)?;
    params.is_ca = match (spec.is_ca, spec.path_len) {
        (true, Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
        (true, None) => IsCa::Ca(BasicConstraints::Unconstrained),
        (false, _) => IsCa::ExplicitNoCa,
    };
    params.key_usages = spec
        .key_usage
        .iter()
        .map(|b| match b {
            KeyUsageBit::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            KeyUsageBit::ContentCommitment => KeyUsagePurpose::ContentCommitment,
            KeyUsageBit::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
            KeyUsageBit::DataEncipherment => KeyUsagePurpose::DataEncipherment,
            KeyUsageBit::KeyAgreement => KeyUsagePurpose::KeyAgreement,
            KeyUsageBit::KeyCertSign => KeyUsagePurpose::KeyCertSign,
            KeyUsageBit::CrlSign => KeyUsagePurpose::CrlSign,
            KeyUsageBit::EncipherOnly => KeyUsagePurpose::EncipherOnly,
            KeyUsageBit::DecipherOnly => KeyUsagePurpose::DecipherOnly,
        })
        .collect();
    params.extended_key_usages =
        spec.extended_key_usage.iter().map(|o| rcgen::ExtendedKeyUsagePurpose::Other(o.clone())).collect();
    let mut sans = Vec::new();
    for d in &spec.dns_names {
        sans.push(rcgen::SanType::DnsName(
            rcgen::string::Ia5String::try_from(d.as_str())
                .map_err(|_| Error::InvalidValue(format!("DNS name {d:?}")))?,
        ));
    }
    for u in &spec.uris {
        sans.push(rcgen::SanType::URI(
            rcgen::string::Ia5String::try_from(u.as_str()).map_err(|_| Error::InvalidValue(format!("URI {u:?}")))?,
        ));
    }
    for e in &spec.emails {
        sans.push(rcgen::SanType::Rfc822Name(
            rcgen::string::Ia5String::try_from(e.as_str()).map_err(|_| Error::InvalidValue(format!("email {e:?}")))?,
        ));
    }
    sans.extend(spec.ip_addresses.iter().map(|ip| rcgen::SanType::IpAddress(*ip)));
    params.subject_alt_names = sans;
    if let Some(url) = &spec.crl_url {
        params.crl_distribution_points = crate::build::crl_distribution_point(url)?;
    }
    params.key_identifier_method = method1(subject_key);
    params.use_authority_key_identifier_extension = true;
    let mut issuer_params = CertificateParams::default();
    issuer_params.distinguished_name = dn(&spec.issuer_name)?;
    issuer_params.key_identifier_method = method1(issuer_key);
    let ctx = LintContext { issuer_der, annex_b: None };
    let cert = gated(issuer_key, ctx, |gate| params.signed_by(&subject_key, &Issuer::new(issuer_params, gate)))?;
    Ok(cert.der().to_vec())
}
