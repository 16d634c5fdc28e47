//! The pre-issuance lint: every TBSCertificate is checked against RFC 5280 and the profile that
//! applies before a CA key signs it (as Boulder lints every certificate before issuance). Rules are
//! a table, one function each, citing where the rule comes from; a finding refuses issuance.
//!
//! The lint sits inside the signer ([`Gate`]): rcgen hands the signer the exact TBS bytes it is
//! about to sign, so the lint sees what would be signed, and the CA key is never reached when a
//! rule fails.

use std::cell::RefCell;

use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use time::OffsetDateTime;
use x509_parser::certificate::TbsCertificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::{Error, KeyKind};

/// What the lint knows beyond the TBS itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct LintContext<'a> {
    /// The issuer's certificate (DER), when a CA signs; None for a self-signed certificate or
    /// an issuer Certus does not hold as a certificate.
    pub issuer_der: Option<&'a [u8]>,
    /// The ISO/IEC 18013-5 Annex B profile the certificate must meet, if any.
    pub annex_b: Option<AnnexB>,
}

/// The two Annex B certificate profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnexB {
    /// An IACA root (Annex B.1.2).
    Iaca,
    /// A Document Signer (Annex B.1.4), issued by the IACA in [`LintContext::issuer_der`].
    Ds,
}

/// One rule a TBS breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name, e.g. `key_usage_fits_key`.
    pub rule: &'static str,
    /// Where the rule comes from, e.g. `RFC 5280 §4.2.1.3`.
    pub citation: &'static str,
    /// What is wrong, for the caller.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.rule, self.citation, self.message)
    }
}

/// What a rule sees: the parsed TBS, what is known of the issuer, and the context.
struct Input<'a> {
    tbs: &'a TbsCertificate<'a>,
    /// The issuer's notBefore and notAfter, when a CA signs.
    issuer_validity: Option<(OffsetDateTime, OffsetDateTime)>,
    /// The issuer's whole TBS, parsed only for a Document Signer (Annex B compares the two).
    issuer: Option<&'a TbsCertificate<'a>>,
    annex_b: Option<AnnexB>,
}

/// A rule: None if the TBS keeps it, else what is wrong.
type Check = fn(&Input<'_>) -> Option<String>;

struct Rule {
    name: &'static str,
    citation: &'static str,
    check: Check,
}

/// Every rule, in the order findings are reported.
const RULES: &[Rule] = &[
    Rule { name: "version_v3", citation: "RFC 5280 §4.1.2.1", check: version_v3 },
    Rule { name: "serial_positive_max_20_octets", citation: "RFC 5280 §4.1.2.2", check: serial_positive },
    Rule { name: "validity_ordered", citation: "RFC 5280 §4.1.2.5", check: validity_ordered },
    Rule { name: "validity_within_issuer", citation: "RFC 5280 §6.1.3 (a)(2)", check: validity_within_issuer },
    Rule { name: "country_alpha2_printable", citation: "RFC 5280 Appendix A (X520countryName)", check: country },
    Rule { name: "name_attribute_upper_bounds", citation: "RFC 5280 Appendix A (ub-*)", check: upper_bounds },
    Rule { name: "dns_name_syntax", citation: "RFC 5280 §4.2.1.6, RFC 1034 §3.5", check: dns_names },
    Rule { name: "uri_absolute_with_host", citation: "RFC 5280 §4.2.1.6, RFC 3986 §4.3", check: uris },
    Rule { name: "san_for_empty_subject", citation: "RFC 5280 §4.2.1.6", check: san_for_empty_subject },
    Rule {
        name: "key_usage_fits_key", citation: "RFC 5480 §3, RFC 8410 §5, RFC 4055 §1.2", check: key_usage_fits_key
    },
    Rule { name: "key_cert_sign_needs_ca", citation: "RFC 5280 §4.2.1.3, §4.2.1.9", check: key_cert_sign_needs_ca },
    Rule { name: "path_len_needs_ca", citation: "RFC 5280 §4.2.1.9", check: path_len_needs_ca },
    Rule { name: "ca_basic_constraints_critical", citation: "RFC 5280 §4.2.1.9", check: ca_bc_critical },
    Rule { name: "ca_subject_key_identifier", citation: "RFC 5280 §4.2.1.2", check: ca_ski },
    Rule { name: "authority_key_identifier", citation: "RFC 5280 §4.2.1.1", check: aki },
    Rule { name: "eku_consistent_with_key_usage", citation: "RFC 5280 §4.2.1.12", check: eku_with_ku },
    Rule { name: "key_strength", citation: "NIST SP 800-131A Rev. 2 §3, RFC 5480 §2.1.1.1", check: key_strength },
    Rule { name: "annex_b_iaca", citation: "ISO/IEC 18013-5 Annex B.1.2", check: annex_b_iaca },
    Rule { name: "annex_b_ds", citation: "ISO/IEC 18013-5 Annex B.1.4", check: annex_b_ds },
];

/// Lints a DER TBSCertificate: every rule it breaks (empty: it may be signed).
pub fn lint_tbs(tbs_der: &[u8], ctx: &LintContext<'_>) -> Vec<Finding> {
    let finding = |rule: &'static str, citation: &'static str, message: String| Finding { rule, citation, message };
    let tbs = match TbsCertificate::from_der(tbs_der) {
        Ok(([], tbs)) => tbs,
        _ => return vec![finding("der_well_formed", "RFC 5280 §4.1", "the TBSCertificate does not parse".into())],
    };
    let issuer_broken = || vec![finding("issuer_well_formed", "RFC 5280 §4.1", "the issuer does not parse".into())];
    // The issuer's facts are read once per CA certificate (`issuer.rs`), not per issuance.
    let issuer_validity = match ctx.issuer_der.map(crate::issuer::issuer_facts) {
        None => None,
        Some(Ok(facts)) => Some((facts.not_before, facts.not_after)),
        Some(Err(_)) => return issuer_broken(),
    };
    let issuer_cert = match (ctx.annex_b, ctx.issuer_der) {
        (Some(AnnexB::Ds), Some(der)) => match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => Some(cert),
            Err(_) => return issuer_broken(),
        },
        _ => None,
    };
    let input = Input {
        tbs: &tbs,
        issuer_validity,
        issuer: issuer_cert.as_ref().map(|c| &c.tbs_certificate),
        annex_b: ctx.annex_b,
    };
    RULES.iter().filter_map(|r| (r.check)(&input).map(|m| finding(r.name, r.citation, m))).collect()
}

/// A signer that lints what it is asked to sign and signs only what passes.
pub(crate) struct Gate<'a> {
    key: &'a dyn SigningKey,
    ctx: LintContext<'a>,
    refused: RefCell<Vec<Finding>>,
}

impl PublicKeyData for Gate<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.key.der_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.key.algorithm()
    }
    fn subject_public_key_info(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }
}

impl SigningKey for Gate<'_> {
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let findings = lint_tbs(tbs, &self.ctx);
        if !findings.is_empty() {
            *self.refused.borrow_mut() = findings;
            return Err(rcgen::Error::RemoteKeyError);
        }
        self.key.sign(tbs)
    }
}

/// Runs `sign` with `key` behind the lint: a refusal comes back as [`Error::Lint`].
pub(crate) fn gated<T>(
    key: &dyn SigningKey,
    ctx: LintContext<'_>,
    sign: impl FnOnce(&Gate<'_>) -> Result<T, rcgen::Error>,
) -> Result<T, Error> {
    let gate = Gate { key, ctx, refused: RefCell::new(Vec::new()) };
    match sign(&gate) {
        Ok(v) => Ok(v),
        Err(e) => {
            let refused = gate.refused.take();
            Err(if refused.is_empty() { e.into() } else { Error::Lint(refused) })
        }
    }
}

// ---- helpers ----

fn key_info(tbs: &TbsCertificate<'_>) -> crate::KeyInfo {
    crate::parse::key_info(tbs.public_key())
}

fn basic_ca(tbs: &TbsCertificate<'_>) -> bool {
    matches!(tbs.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

fn key_usage(tbs: &TbsCertificate<'_>) -> Option<x509_parser::extensions::KeyUsage> {
    tbs.key_usage().ok().flatten().map(|k| *k.value)
}

fn has_ext(tbs: &TbsCertificate<'_>, oid: &str) -> bool {
    tbs.extensions().iter().any(|e| e.oid.to_id_string() == oid)
}

fn self_signed(tbs: &TbsCertificate<'_>) -> bool {
    tbs.subject().as_raw() == tbs.issuer().as_raw()
}

/// An absolute URI with a scheme and a host (`scheme://host...`).
fn absolute_with_host(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') { host } else { host.split(':').next().unwrap_or_default() };
    scheme_ok && !host.is_empty() && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// The one DNS-name syntax check (RFC 1034 §3.5 preferred name syntax, labels of letters, digits
/// and hyphens, at most 253 characters); a leading `*.` label is allowed for wildcards.
pub fn dns_name_valid(name: &str) -> bool {
    let body = name.strip_prefix("*.").unwrap_or(name);
    !body.is_empty()
        && name.len() <= 253
        && body.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

// ---- rules ----

fn version_v3(i: &Input<'_>) -> Option<String> {
    (i.tbs.version().0 != 2).then(|| format!("version is v{}, not v3", i.tbs.version().0 + 1))
}

fn serial_positive(i: &Input<'_>) -> Option<String> {
    let raw = i.tbs.raw_serial();
    if raw.first().is_some_and(|b| b & 0x80 != 0) || raw.iter().all(|b| *b == 0) {
        return Some("the serial number must be positive".into());
    }
    (raw.len() > 20).then(|| format!("the serial number has {} octets (at most 20)", raw.len()))
}

fn validity_ordered(i: &Input<'_>) -> Option<String> {
    let v = i.tbs.validity();
    (v.not_after.to_datetime() <= v.not_before.to_datetime()).then(|| "notAfter must be after notBefore".into())
}

fn validity_within_issuer(i: &Input<'_>) -> Option<String> {
    let (from, until) = i.issuer_validity?;
    let v = i.tbs.validity();
    (v.not_before.to_datetime() < from || v.not_after.to_datetime() > until)
        .then(|| format!("the validity must lie within the issuer's ({from} to {until})"))
}

fn country(i: &Input<'_>) -> Option<String> {
    i.tbs.subject().iter_country().find_map(|c| {
        let printable = c.attr_value().tag() == x509_parser::der_parser::asn1_rs::Tag::PrintableString;
        let code = c.as_str().unwrap_or_default();
        match country_finding(code) {
            None if !printable => Some(format!("countryName {code:?} must be a PrintableString")),
            finding => finding,
        }
    })
}

/// RFC 5280 upper bounds of the name attributes Certus reads: (OID, name, most characters).
const NAME_BOUNDS: &[(&str, &str, usize)] = &[
    ("2.5.4.3", "commonName", 64),
    ("2.5.4.10", "organizationName", 64),
    ("2.5.4.11", "organizationalUnitName", 64),
    ("2.5.4.7", "localityName", 128),
    ("2.5.4.8", "stateOrProvinceName", 128),
    ("2.5.4.5", "serialNumber", 64),
    ("2.5.4.12", "title", 64),
    ("1.2.840.113549.1.9.1", "emailAddress", 255),
];

fn country_finding(code: &str) -> Option<String> {
    (code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| format!("countryName {code:?} must be an ISO 3166-1 alpha-2 code (two upper-case letters)"))
}

fn bound_finding(name: &str, max: usize, value: &str) -> Option<String> {
    let len = value.chars().count();
    (len == 0 || len > max).then(|| format!("{name} has {len} characters (1 to {max})"))
}

fn upper_bounds(i: &Input<'_>) -> Option<String> {
    i.tbs.subject().iter_attributes().find_map(|attr| {
        let oid = attr.attr_type().to_id_string();
        let (_, name, max) = NAME_BOUNDS.iter().find(|(o, _, _)| *o == oid)?;
        bound_finding(name, *max, attr.as_str().unwrap_or_default())
    })
}

/// What the lint would refuse in a subject, checked where a subject enters (CA requests, the CSR
/// workflow) so nothing is stored that could never be signed: RFC 5280 upper bounds, and a
/// country that is two upper-case letters.
pub fn subject_finding(subject: &crate::Subject) -> Option<String> {
    let bounded = [
        (&subject.common_name, "2.5.4.3"),
        (&subject.organization, "2.5.4.10"),
        (&subject.organization_unit, "2.5.4.11"),
        (&subject.locality, "2.5.4.7"),
        (&subject.state, "2.5.4.8"),
    ];
    bounded
        .iter()
        .find_map(|(value, oid)| {
            let (_, name, max) = NAME_BOUNDS.iter().find(|(o, _, _)| o == oid)?;
            bound_finding(name, *max, value.as_deref()?)
        })
        .or_else(|| country_finding(subject.country.as_deref()?))
}

fn dns_names(i: &Input<'_>) -> Option<String> {
    let san = i.tbs.subject_alternative_name().ok().flatten()?;
    san.value.general_names.iter().find_map(|g| match g {
        GeneralName::DNSName(d) if !dns_name_valid(d) => Some(format!("dNSName {d:?} is not a valid host name")),
        _ => None,
    })
}

fn uris(i: &Input<'_>) -> Option<String> {
    let mut found = Vec::new();
    for ext in i.tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => found.extend(names_uris(&s.general_names)),
            ParsedExtension::IssuerAlternativeName(s) => found.extend(names_uris(&s.general_names)),
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        found.extend(names_uris(names));
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                found.extend(aia.accessdescs.iter().filter_map(|d| match &d.access_location {
                    GeneralName::URI(u) => Some(*u),
                    _ => None,
                }))
            }
            _ => {}
        }
    }
    found.into_iter().find(|u| !absolute_with_host(u)).map(|u| format!("URI {u:?} must be absolute with a host"))
}

fn names_uris<'a>(names: &'a [GeneralName<'a>]) -> impl Iterator<Item = &'a str> {
    names.iter().filter_map(|g| match g {
        GeneralName::URI(u) => Some(*u),
        _ => None,
    })
}

fn san_for_empty_subject(i: &Input<'_>) -> Option<String> {
    if i.tbs.subject().iter_attributes().next().is_some() {
        return None;
    }
    match i.tbs.subject_alternative_name() {
        Ok(Some(san)) if san.critical => None,
        Ok(Some(_)) => Some("with an empty subject, subjectAltName must be critical".into()),
        _ => Some("with an empty subject, subjectAltName is required".into()),
    }
}

fn key_usage_fits_key(i: &Input<'_>) -> Option<String> {
    let ku = key_usage(i.tbs)?;
    let kind = key_info(i.tbs).kind;
    let bits = crate::parse::key_usage_bits(&ku);
    if let Some(bit) = bits.iter().find(|b| !key_usage_applies(kind, **b)) {
        return Some(format!("keyUsage {bit:?} does not apply to a {} key", kind.type_name()));
    }
    ((ku.encipher_only() || ku.decipher_only()) && !ku.key_agreement())
        .then(|| "encipherOnly and decipherOnly need keyAgreement".into())
}

/// Whether a keyUsage bit means anything for a key type: EC and Ed25519 keys encipher nothing
/// (RFC 5480 §3, RFC 8410 §5), Ed25519 and RSA keys agree on no keys (RFC 8410 §5, RFC 4055).
pub fn key_usage_applies(kind: KeyKind, bit: crate::KeyUsageBit) -> bool {
    use crate::KeyUsageBit::{DataEncipherment, KeyAgreement, KeyEncipherment};
    match kind {
        KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => !matches!(bit, KeyEncipherment | DataEncipherment),
        KeyKind::Ed25519 => !matches!(bit, KeyEncipherment | DataEncipherment | KeyAgreement),
        KeyKind::Rsa => bit != KeyAgreement,
        KeyKind::Other => true,
    }
}

fn key_cert_sign_needs_ca(i: &Input<'_>) -> Option<String> {
    let ku = key_usage(i.tbs)?;
    (ku.key_cert_sign() && !basic_ca(i.tbs)).then(|| "keyCertSign needs basicConstraints cA=TRUE".into())
}

fn path_len_needs_ca(i: &Input<'_>) -> Option<String> {
    let bc = i.tbs.basic_constraints().ok().flatten()?;
    bc.value.path_len_constraint?;
    let cert_sign = key_usage(i.tbs).is_some_and(|k| k.key_cert_sign());
    (!bc.value.ca || !cert_sign).then(|| "pathLenConstraint needs cA=TRUE and keyUsage keyCertSign".into())
}

fn ca_bc_critical(i: &Input<'_>) -> Option<String> {
    let bc = i.tbs.basic_constraints().ok().flatten()?;
    (bc.value.ca && !bc.critical).then(|| "a CA's basicConstraints must be critical".into())
}

fn ca_ski(i: &Input<'_>) -> Option<String> {
    (basic_ca(i.tbs) && !has_ext(i.tbs, "2.5.29.14")).then(|| "a CA certificate needs a subjectKeyIdentifier".into())
}

fn aki(i: &Input<'_>) -> Option<String> {
    if self_signed(i.tbs) {
        return None;
    }
    let key_id = i.tbs.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => Some(a.key_identifier.is_some()),
        _ => None,
    });
    match key_id {
        Some(true) => None,
        _ => Some("a certificate not self-signed needs an authorityKeyIdentifier with a keyIdentifier".into()),
    }
}

fn eku_with_ku(i: &Input<'_>) -> Option<String> {
    // In a CA certificate the EKU constrains what the CA issues (as browsers and Go read it), not
    // what its own key does, so only end-entity certificates must have a purpose both allow.
    if basic_ca(i.tbs) {
        return None;
    }
    let ku = key_usage(i.tbs)?;
    let eku = i.tbs.extended_key_usage().ok().flatten()?.value;
    let signs = ku.digital_signature() || ku.non_repudiation();
    let tls_server = ku.digital_signature() || ku.key_encipherment() || ku.key_agreement();
    let tls_client = ku.digital_signature() || ku.key_agreement();
    let mdl_ds = eku.other.iter().any(|o| o.to_id_string() == "1.0.18013.5.1.2");
    let checks = [
        (eku.server_auth, tls_server, "serverAuth", "digitalSignature, keyEncipherment or keyAgreement"),
        (eku.client_auth, tls_client, "clientAuth", "digitalSignature or keyAgreement"),
        (eku.code_signing, signs, "codeSigning", "digitalSignature or nonRepudiation"),
        (eku.time_stamping, signs, "timeStamping", "digitalSignature or nonRepudiation"),
        (eku.ocsp_signing, signs, "OCSPSigning", "digitalSignature or nonRepudiation"),
        (mdl_ds, ku.digital_signature(), "mdlDS", "digitalSignature"),
    ];
    checks
        .into_iter()
        .find(|(asked, ok, _, _)| *asked && !*ok)
        .map(|(_, _, purpose, needs)| format!("extendedKeyUsage {purpose} needs keyUsage {needs}"))
}

fn key_strength(i: &Input<'_>) -> Option<String> {
    key_strength_finding(&key_info(i.tbs))
}

/// The one key-strength floor: RSA of at least 2048 bits, ECDSA on P-256, P-384 or P-521, or
/// Ed25519. None if the key is strong enough, else why not.
pub fn key_strength_finding(key: &crate::KeyInfo) -> Option<String> {
    match key.kind {
        KeyKind::Rsa if key.bits < 2048 => {
            Some(format!("RSA keys must be at least 2048 bits; this one has {}", key.bits))
        }
        KeyKind::Other => Some("the key algorithm is not supported (use RSA, ECDSA P-256/384/521 or Ed25519)".into()),
        _ => None,
    }
}

fn annex_b_iaca(i: &Input<'_>) -> Option<String> {
    if i.annex_b != Some(AnnexB::Iaca) {
        return None;
    }
    let broken = crate::annex_b::annex_b_findings(i.tbs, None);
    (!broken.is_empty()).then(|| broken.join("; "))
}

fn annex_b_ds(i: &Input<'_>) -> Option<String> {
    if i.annex_b != Some(AnnexB::Ds) {
        return None;
    }
    let Some(iaca) = i.issuer else { return Some("a DS is linted against its IACA, and none was given".into()) };
    let broken = crate::annex_b::annex_b_findings(i.tbs, Some(iaca));
    (!broken.is_empty()).then(|| broken.join("; "))
}
