//! Certificate and CSR construction (RFC 5280 §4.2 extensions) for the three profiles Certus issues.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
    SigningKey,
};
use time::OffsetDateTime;

use crate::Error;
use crate::lint::{LintContext, gated};

/// id-pe-authorityInfoAccess (RFC 5280 §4.2.2.1) and id-ad-caIssuers.
const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_AD_CA_ISSUERS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];
const OID_AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): clients need not check the responder's status.
const OID_OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];

/// A distinguished name Certus writes: the attributes it issues under, in a chosen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// commonName (CN).
    pub common_name: Option<String>,
    /// organizationName (O).
    pub organization: Option<String>,
    /// organizationalUnitName (OU).
    pub organization_unit: Option<String>,
    /// countryName (C), two letters.
    pub country: Option<String>,
    /// stateOrProvinceName (ST).
    pub state: Option<String>,
    /// localityName (L).
    pub locality: Option<String>,
    /// The order of the attributes in the encoded name; those not listed follow in the default
    /// order C, ST, L, O, OU, CN.
    pub order: Vec<SubjectAttr>,
}

/// The name attributes a [`Subject`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectAttr {
    /// countryName (C).
    Country,
    /// stateOrProvinceName (ST).
    State,
    /// localityName (L).
    Locality,
    /// organizationName (O).
    Organization,
    /// organizationalUnitName (OU).
    OrganizationUnit,
    /// commonName (CN).
    CommonName,
}

impl SubjectAttr {
    const DEFAULT_ORDER: [SubjectAttr; 6] = [
        SubjectAttr::Country,
        SubjectAttr::State,
        SubjectAttr::Locality,
        SubjectAttr::Organization,
        SubjectAttr::OrganizationUnit,
        SubjectAttr::CommonName,
    ];

    /// The attribute of a short name as written in DNs (`CN`, `O`, `OU`, `C`, `ST`, `L`).
    pub fn from_short_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "C" => Self::Country,
            "ST" => Self::State,
            "L" => Self::Locality,
            "O" => Self::Organization,
            "OU" => Self::OrganizationUnit,
            "CN" => Self::CommonName,
            _ => return None,
        })
    }

    pub(crate) fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "2.5.4.6" => Self::Country,
            "2.5.4.8" => Self::State,
            "2.5.4.7" => Self::Locality,
            "2.5.4.10" => Self::Organization,
            "2.5.4.11" => Self::OrganizationUnit,
            "2.5.4.3" => Self::CommonName,
            _ => return None,
        })
    }
}

impl Subject {
    /// The attribute's value, if set.
    pub fn get(&self, attr: SubjectAttr) -> Option<&String> {
        match attr {
            SubjectAttr::Country => self.country.as_ref(),
            SubjectAttr::State => self.state.as_ref(),
            SubjectAttr::Locality => self.locality.as_ref(),
            SubjectAttr::Organization => self.organization.as_ref(),
            SubjectAttr::OrganizationUnit => self.organization_unit.as_ref(),
            SubjectAttr::CommonName => self.common_name.as_ref(),
        }
    }

    /// Sets the attribute's value.
    pub fn set(&mut self, attr: SubjectAttr, value: String) {
        let slot = match attr {
            SubjectAttr::Country => &mut self.country,
            SubjectAttr::State => &mut self.state,
            SubjectAttr::Locality => &mut self.locality,
            SubjectAttr::Organization => &mut self.organization,
            SubjectAttr::OrganizationUnit => &mut self.organization_unit,
            SubjectAttr::CommonName => &mut self.common_name,
        };
        *slot = Some(value);
    }

    /// The attributes present, in encoding order.
    pub fn attributes(&self) -> Vec<(SubjectAttr, &String)> {
        let listed = self.order.iter().copied();
        let rest = SubjectAttr::DEFAULT_ORDER.into_iter().filter(|a| !self.order.contains(a));
        listed.chain(rest).filter_map(|a| self.get(a).map(|v| (a, v))).collect()
    }
}

/// The nine keyUsage bits (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyUsageBit {
    /// digitalSignature (0).
    DigitalSignature,
    /// contentCommitment, formerly nonRepudiation (1).
    ContentCommitment,
    /// keyEncipherment (2).
    KeyEncipherment,
    /// dataEncipherment (3).
    DataEncipherment,
    /// keyAgreement (4).
    KeyAgreement,
    /// keyCertSign (5).
    KeyCertSign,
    /// cRLSign (6).
    CrlSign,
    /// encipherOnly (7).
    EncipherOnly,
    /// decipherOnly (8).
    DecipherOnly,
}

impl KeyUsageBit {
    pub(crate) fn to_rcgen(self) -> KeyUsagePurpose {
        match self {
            Self::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            Self::ContentCommitment => KeyUsagePurpose::ContentCommitment,
            Self::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
            Self::DataEncipherment => KeyUsagePurpose::DataEncipherment,
            Self::KeyAgreement => KeyUsagePurpose::KeyAgreement,
            Self::KeyCertSign => KeyUsagePurpose::KeyCertSign,
            Self::CrlSign => KeyUsagePurpose::CrlSign,
            Self::EncipherOnly => KeyUsagePurpose::EncipherOnly,
            Self::DecipherOnly => KeyUsagePurpose::DecipherOnly,
        }
    }
}

/// What kind of certificate is being made; decides basicConstraints, keyUsage and EKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProfile {
    /// A self-signed root with no pathLenConstraint.
    RootCa,
    /// A CA whose pathLenConstraint `path_len` limits the CAs below it (an intermediate, or a
    /// self-signed root when signed with [`SignWith::SelfSigned`]).
    SubCa {
        /// The pathLenConstraint; `None` leaves the CA unconstrained.
        path_len: Option<u8>,
    },
    /// An end-entity certificate for TLS servers and clients (serverAuth + clientAuth).
    TlsLeaf,
    /// A delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck).
    OcspResponder,
    /// Exactly what an issuance profile says: CA or not, these keyUsage bits (none: no
    /// extension) and these EKU OIDs (none: no extension).
    Custom {
        /// basicConstraints cA.
        is_ca: bool,
        /// The keyUsage bits.
        key_usage: Vec<KeyUsageBit>,
        /// The EKU OIDs, as arcs.
        extended_key_usage: Vec<Vec<u64>>,
    },
}

/// What an RFC 5280 certificate holds, as the plan decided it.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// The serial number (20 octets, positive).
    pub serial: [u8; 20],
    /// The subject name.
    pub subject: Subject,
    /// dNSName SANs.
    pub dns_names: Vec<String>,
    /// iPAddress SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// rfc822Name SANs.
    pub email_addresses: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The kind of certificate: basicConstraints, keyUsage and EKU follow from it.
    pub profile: CertProfile,
    /// Where relying parties fetch the issuer's CRL (CRL distribution point).
    pub crl_url: Option<String>,
    /// Where relying parties fetch the issuer's certificate (AIA caIssuers).
    pub ca_issuers_url: Option<String>,
    /// Where relying parties ask for this certificate's status (AIA OCSP).
    pub ocsp_url: Option<String>,
}

/// Who signs a certificate, and for whom.
pub enum SignWith<'a> {
    /// A self-signed root: the key certifies itself.
    SelfSigned(&'a dyn SigningKey),
    /// The CA with certificate `issuer_der` and key `issuer_key` certifies `subject_key`.
    Issuer {
        /// The issuing CA's certificate.
        issuer_der: &'a [u8],
        /// The issuing CA's key.
        issuer_key: &'a dyn SigningKey,
        /// The key being certified.
        subject_key: &'a dyn PublicKeyData,
    },
}

/// Builds and signs a certificate.
pub fn build_certificate(spec: &CertSpec, sign_with: SignWith<'_>) -> Result<Vec<u8>, Error> {
    let subject_key: &dyn PublicKeyData = match &sign_with {
        SignWith::SelfSigned(key) => *key,
        SignWith::Issuer { subject_key, .. } => *subject_key,
    };
    let mut params = CertificateParams::default();
    params.serial_number = Some(SerialNumber::from_slice(&spec.serial));
    params.not_before = whole_seconds(spec.not_before);
    params.not_after = whole_seconds(spec.not_after);
    params.distinguished_name = distinguished_name(&spec.subject)?;
    params.subject_alt_names = subject_alt_names(&spec.dns_names, &spec.ip_addresses)?;
    for email in &spec.email_addresses {
        let ia5 = rcgen::string::Ia5String::try_from(email.as_str())
            .map_err(|_| Error::InvalidValue(format!("email address {email:?} is not ASCII")))?;
        params.subject_alt_names.push(SanType::Rfc822Name(ia5));
    }
    // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (what ISO 18013-5 and most
    // validators expect; the AKI of children copies it from this certificate).
    params.key_identifier_method = KeyIdMethod::PreSpecified(certus_kms::sha1(subject_key.der_bytes()).to_vec());
    let is_rsa = is_rsa(subject_key);
    match spec.profile {
        CertProfile::RootCa | CertProfile::SubCa { .. } => {
            params.is_ca = IsCa::Ca(match spec.profile {
                CertProfile::SubCa { path_len: Some(n) } => BasicConstraints::Constrained(n),
                _ => BasicConstraints::Unconstrained,
            });
            params.key_usages =
                vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        CertProfile::TlsLeaf => {
            // ExplicitNoCa also makes rcgen emit the subjectKeyIdentifier on the leaf.
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            if is_rsa {
                params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        }
        CertProfile::Custom { is_ca, ref key_usage, ref extended_key_usage } => {
            params.is_ca = if is_ca { IsCa::Ca(BasicConstraints::Unconstrained) } else { IsCa::ExplicitNoCa };
            params.key_usages = key_usage.iter().map(|b| b.to_rcgen()).collect();
            params.extended_key_usages =
                extended_key_usage.iter().map(|oid| ExtendedKeyUsagePurpose::Other(oid.clone())).collect();
        }
        CertProfile::OcspResponder => {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(OID_OCSP_NOCHECK, yasna::construct_der(|w| w.write_null())));
        }
    }
    if let Some(url) = &spec.crl_url {
        params.crl_distribution_points = crl_distribution_point(url)?;
    }
    if spec.ca_issuers_url.is_some() || spec.ocsp_url.is_some() {
        params.custom_extensions.push(authority_info_access(spec.ocsp_url.as_deref(), spec.ca_issuers_url.as_deref())?);
    }
    // The CA key signs only what the pre-issuance lint passes.
    let cert = match sign_with {
        SignWith::Issuer { issuer_der, issuer_key, subject_key } => {
            params.use_authority_key_identifier_extension = true;
            let ctx = LintContext { issuer_der: Some(issuer_der), annex_b: None };
            let facts = crate::issuer::issuer_facts(issuer_der)?;
            gated(issuer_key, ctx, |gate| params.signed_by(&subject_key, &Issuer::from_params(&facts.params, gate)))?
        }
        SignWith::SelfSigned(key) => gated(key, LintContext::default(), |gate| params.self_signed(gate))?,
    };
    Ok(cert.der().to_vec())
}

/// A PKCS#10 request for `subject` and the given SANs, signed by `key` (RFC 2986).
pub fn build_csr(
    subject: &Subject,
    dns_names: &[String],
    ip_addresses: &[IpAddr],
    key: &dyn SigningKey,
) -> Result<Vec<u8>, Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(subject)?;
    params.subject_alt_names = subject_alt_names(dns_names, ip_addresses)?;
    Ok(params.serialize_request(&key)?.der().to_vec())
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

fn is_rsa(key: &dyn PublicKeyData) -> bool {
    let alg = key.algorithm();
    [&rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_RSA_SHA384, &rcgen::PKCS_RSA_SHA512].contains(&alg)
}

fn distinguished_name(subject: &Subject) -> Result<DistinguishedName, Error> {
    let mut dn = DistinguishedName::new();
    for (attr, value) in subject.attributes() {
        // X.520: countryName is a PrintableString; the rest are UTF8String (RFC 5280 §4.1.2.6).
        let (ty, value) = match attr {
            SubjectAttr::Country => {
                let p = rcgen::string::PrintableString::try_from(value.as_str())
                    .map_err(|_| Error::InvalidValue(format!("country {value:?} is not printable")))?;
                (DnType::CountryName, DnValue::PrintableString(p))
            }
            SubjectAttr::State => (DnType::StateOrProvinceName, DnValue::Utf8String(value.clone())),
            SubjectAttr::Locality => (DnType::LocalityName, DnValue::Utf8String(value.clone())),
            SubjectAttr::Organization => (DnType::OrganizationName, DnValue::Utf8String(value.clone())),
            SubjectAttr::OrganizationUnit => (DnType::OrganizationalUnitName, DnValue::Utf8String(value.clone())),
            SubjectAttr::CommonName => (DnType::CommonName, DnValue::Utf8String(value.clone())),
        };
        dn.push(ty, value);
    }
    Ok(dn)
}

fn subject_alt_names(dns: &[String], ips: &[IpAddr]) -> Result<Vec<SanType>, Error> {
    let mut sans = Vec::with_capacity(dns.len() + ips.len());
    for name in dns {
        let ia5 = rcgen::string::Ia5String::try_from(name.as_str())
            .map_err(|_| Error::InvalidValue(format!("DNS name {name:?} is not ASCII")))?;
        sans.push(SanType::DnsName(ia5));
    }
    sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    Ok(sans)
}

/// One CRL distribution point. URIs are IA5Strings: anything but ASCII is refused here, before
/// the encoder (which panics on it) sees it.
pub(crate) fn crl_distribution_point(url: &str) -> Result<Vec<CrlDistributionPoint>, Error> {
    if !url.is_ascii() {
        return Err(Error::InvalidValue(format!("CRL URL {url:?} is not ASCII")));
    }
    Ok(vec![CrlDistributionPoint { uris: vec![url.to_owned()] }])
}

/// AuthorityInfoAccessSyntax with an OCSP and/or a caIssuers URI, encoded with yasna
/// (RFC 5280 §4.2.2.1).
fn authority_info_access(ocsp: Option<&str>, ca_issuers: Option<&str>) -> Result<CustomExtension, Error> {
    let entries: Vec<(&[u64], &str)> = [(OID_AD_OCSP, ocsp), (OID_AD_CA_ISSUERS, ca_issuers)]
        .into_iter()
        .filter_map(|(o, u)| u.map(|u| (o, u)))
        .collect();
    // An IA5String URI (yasna would panic on anything else).
    if let Some((_, url)) = entries.iter().find(|(_, u)| !u.is_ascii()) {
        return Err(Error::InvalidValue(format!("URL {url:?} is not ASCII")));
    }
    let content = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for (method, url) in &entries {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&yasna::models::ObjectIdentifier::from_slice(method));
                    w.next().write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(url));
                });
            }
        });
    });
    Ok(CustomExtension::from_oid_content(OID_AIA, content))
}
