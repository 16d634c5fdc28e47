//! The pre-issuance lint: one test per rule, each building a TBS that breaks it (with rcgen
//! directly, bypassing the gate), and the gate refusing before the CA key is used.

use std::cell::Cell;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;

use crate::*;

/// An RSA-1024 public key (SubjectPublicKeyInfo, base64 DER): below the floor.
const RSA_1024_SPKI: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCuy5oKsQ3uuru8TchftH1TDmUrYsLROYZ6nRWMoVjCKz0roHjy+NiYZdduQRSFgOduof4E4LIFYYeeaOpczp6nuV1RO6SdzfT4O7JDXzvuvq1aOmnWUM52F0fowjMB6pXuuQ/f2+F4Ld+7KUygspjESSwYO6nsOJkHLL1HftMFQwIDAQAB";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn ec() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

/// A conforming end-entity certificate's parameters.
fn leaf() -> CertificateParams {
    let mut p = CertificateParams::default();
    p.serial_number = Some(SerialNumber::from_slice(&[0x11; 20]));
    p.not_before = now();
    p.not_after = now() + Duration::days(30);
    p.distinguished_name.push(DnType::CommonName, "svc.example.test");
    p.subject_alt_names = vec![SanType::DnsName("svc.example.test".try_into().unwrap())];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p
}

fn root() -> (Vec<u8>, KeyPair) {
    let key = ec();
    let mut p = CertificateParams::default();
    p.serial_number = Some(SerialNumber::from_slice(&[0x22; 20]));
    p.not_before = now() - Duration::days(1);
    p.not_after = now() + Duration::days(365);
    p.distinguished_name.push(DnType::CommonName, "Lint Root");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (p.self_signed(&key).unwrap().der().to_vec(), key)
}

/// The TBS bytes of a certificate.
fn tbs_of(der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).unwrap();
    cert.tbs_certificate.as_ref().to_vec()
}

/// The rules a leaf with these parameters breaks, signed by the test root.
fn leaf_findings(params: CertificateParams, subject: &dyn rcgen::PublicKeyData) -> Vec<&'static str> {
    let (root_der, root_key) = root();
    let issuer = Issuer::from_ca_cert_der(&root_der.clone().into(), &root_key).unwrap();
    let der = params.signed_by(&subject, &issuer).unwrap().der().to_vec();
    let ctx = LintContext { issuer_der: Some(&root_der), annex_b: None };
    lint_tbs(&tbs_of(&der), &ctx).into_iter().map(|f| f.rule).collect()
}

fn self_signed_findings(params: CertificateParams, ctx: LintContext<'_>) -> Vec<&'static str> {
    let key = ec();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    lint_tbs(&tbs_of(&der), &ctx).into_iter().map(|f| f.rule).collect()
}

#[test]
fn a_conforming_leaf_and_root_pass() {
    assert_eq!(leaf_findings(leaf(), &ec()), Vec::<&str>::new());
    let (root_der, _) = root();
    assert!(lint_tbs(&tbs_of(&root_der), &LintContext::default()).is_empty());
}

#[test]
fn version_v3() {
    let (root_der, _) = root();
    let mut tbs = tbs_of(&root_der);
    // The TBS opens with its SEQUENCE header, then [0] EXPLICIT INTEGER 2 (v3): make it 1 (v2).
    let at = tbs.windows(5).position(|w| w == [0xa0, 0x03, 0x02, 0x01, 0x02]).unwrap();
    tbs[at + 4] = 0x01;
    let found: Vec<_> = lint_tbs(&tbs, &LintContext::default()).into_iter().map(|f| f.rule).collect();
    assert_eq!(found, vec!["version_v3"]);
}

#[test]
fn serial_positive_max_20_octets() {
    let mut p = leaf();
    p.serial_number = Some(SerialNumber::from_slice(&[0x11; 21]));
    assert_eq!(leaf_findings(p, &ec()), vec!["serial_positive_max_20_octets"]);
}

#[test]
fn validity_ordered() {
    let mut p = leaf();
    p.not_after = p.not_before - Duration::days(1);
    assert!(leaf_findings(p, &ec()).contains(&"validity_ordered"));
}

#[test]
fn validity_within_issuer() {
    let mut p = leaf();
    p.not_after = now() + Duration::days(400);
    assert_eq!(leaf_findings(p, &ec()), vec!["validity_within_issuer"]);
}

#[test]
fn country_alpha2_printable() {
    for value in [DnValue::PrintableString("USA".try_into().unwrap()), DnValue::Utf8String("US".into())] {
        let mut p = leaf();
        p.distinguished_name.push(DnType::CountryName, value);
        assert_eq!(leaf_findings(p, &ec()), vec!["country_alpha2_printable"]);
    }
}

#[test]
fn name_attribute_upper_bounds() {
    let mut p = leaf();
    p.distinguished_name.push(DnType::CommonName, "a".repeat(65));
    assert_eq!(leaf_findings(p, &ec()), vec!["name_attribute_upper_bounds"]);
}

#[test]
fn dns_name_syntax() {
    for bad in ["under_score.example", "-lead.example", "a..b", "x.*.example"] {
        let mut p = leaf();
        p.subject_alt_names = vec![SanType::DnsName(bad.try_into().unwrap())];
        assert_eq!(leaf_findings(p, &ec()), vec!["dns_name_syntax"], "{bad}");
    }
    let mut p = leaf();
    p.subject_alt_names = vec![SanType::DnsName("*.Example-1.test".try_into().unwrap())];
    assert_eq!(leaf_findings(p, &ec()), Vec::<&str>::new());
}

#[test]
fn uri_absolute_with_host() {
    for bad in ["urn:example:x", "http:///path", "relative/path"] {
        let mut p = leaf();
        p.crl_distribution_points = vec![rcgen::CrlDistributionPoint { uris: vec![bad.into()] }];
        assert_eq!(leaf_findings(p, &ec()), vec!["uri_absolute_with_host"], "{bad}");
    }
    let mut p = leaf();
    p.subject_alt_names.push(SanType::URI("spiffe://trust.example/ns/a".try_into().unwrap()));
    p.crl_distribution_points = vec![rcgen::CrlDistributionPoint { uris: vec!["http://[::1]:8080/crl".into()] }];
    assert_eq!(leaf_findings(p, &ec()), Vec::<&str>::new());
}

#[test]
fn san_for_empty_subject() {
    let mut p = leaf();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.subject_alt_names.clear();
    assert_eq!(leaf_findings(p, &ec()), vec!["san_for_empty_subject"]);
    // rcgen marks the SAN critical when the subject is empty: that passes.
    let mut p = leaf();
    p.distinguished_name = rcgen::DistinguishedName::new();
    assert_eq!(leaf_findings(p, &ec()), Vec::<&str>::new());
}

#[test]
fn key_usage_fits_key() {
    let mut p = leaf();
    p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    assert_eq!(leaf_findings(p, &ec()), vec!["key_usage_fits_key"]);
    let mut p = leaf();
    p.key_usages.push(KeyUsagePurpose::KeyAgreement);
    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    assert_eq!(leaf_findings(p, &ed), vec!["key_usage_fits_key"]);
}

#[test]
fn key_cert_sign_needs_ca() {
    let mut p = leaf();
    p.key_usages.push(KeyUsagePurpose::KeyCertSign);
    assert_eq!(leaf_findings(p, &ec()), vec!["key_cert_sign_needs_ca"]);
}

#[test]
fn path_len_needs_ca() {
    let mut p = leaf();
    p.extended_key_usages.clear();
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    assert_eq!(leaf_findings(p, &ec()), vec!["path_len_needs_ca"]);
}

/// basicConstraints cA=TRUE written by hand, with the given criticality.
fn ca_flag(critical: bool) -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(
        &[2, 5, 29, 19],
        yasna::construct_der(|w| w.write_sequence(|w| w.next().write_bool(true))),
    );
    ext.set_criticality(critical);
    ext
}

#[test]
fn ca_basic_constraints_critical() {
    let mut p = leaf();
    p.is_ca = IsCa::NoCa;
    p.extended_key_usages.clear();
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![1; 20]);
    p.custom_extensions.push(ca_flag(false));
    p.custom_extensions
        .push(CustomExtension::from_oid_content(&[2, 5, 29, 14], yasna::construct_der(|w| w.write_bytes(&[1; 20]))));
    assert_eq!(leaf_findings(p, &ec()), vec!["ca_basic_constraints_critical"]);
}

#[test]
fn ca_subject_key_identifier() {
    let mut p = leaf();
    p.is_ca = IsCa::NoCa;
    p.extended_key_usages.clear();
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.custom_extensions.push(ca_flag(true));
    assert_eq!(leaf_findings(p, &ec()), vec!["ca_subject_key_identifier"]);
}

#[test]
fn authority_key_identifier() {
    let mut p = leaf();
    p.use_authority_key_identifier_extension = false;
    assert_eq!(leaf_findings(p, &ec()), vec!["authority_key_identifier"]);
}

#[test]
fn eku_consistent_with_key_usage() {
    let mut p = leaf();
    p.key_usages = vec![KeyUsagePurpose::KeyAgreement];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    assert_eq!(leaf_findings(p, &ec()), vec!["eku_consistent_with_key_usage"]);
}

#[test]
fn key_strength() {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(RSA_1024_SPKI).unwrap();
    let weak = SubjectPublicKeyInfo::from_der(&der).unwrap();
    assert_eq!(leaf_findings(leaf(), &weak), vec!["key_strength"]);
    assert!(key_strength_finding(&KeyInfo { kind: KeyKind::Rsa, bits: 2048 }).is_none());
}

#[test]
fn annex_b_iaca() {
    // A root that is fine by RFC 5280 but is no IACA (no issuerAltName, country, or pathLen 0).
    let mut p = leaf();
    p.subject_alt_names.clear();
    p.extended_key_usages.clear();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = false;
    let ctx = LintContext { issuer_der: None, annex_b: Some(AnnexB::Iaca) };
    assert_eq!(self_signed_findings(p.clone(), ctx), vec!["annex_b_iaca"]);
    assert_eq!(self_signed_findings(p, LintContext::default()), Vec::<&str>::new());
}

#[test]
fn annex_b_ds() {
    // A TLS leaf is no Document Signer.
    let (root_der, root_key) = root();
    let issuer = Issuer::from_ca_cert_der(&root_der.clone().into(), &root_key).unwrap();
    let der = leaf().signed_by(&ec(), &issuer).unwrap().der().to_vec();
    let ctx = LintContext { issuer_der: Some(&root_der), annex_b: Some(AnnexB::Ds) };
    let found: Vec<_> = lint_tbs(&tbs_of(&der), &ctx).into_iter().map(|f| f.rule).collect();
    assert_eq!(found, vec!["annex_b_ds"]);
}

/// A key that counts its signatures.
struct Counting {
    key: KeyPair,
    signed: Cell<u32>,
}

impl rcgen::PublicKeyData for Counting {
    fn der_bytes(&self) -> &[u8] {
        self.key.der_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.key.algorithm()
    }
}

impl rcgen::SigningKey for Counting {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signed.set(self.signed.get() + 1);
        self.key.sign(msg)
    }
}

#[test]
fn the_gate_refuses_before_the_ca_key_signs() {
    let ca = Counting { key: ec(), signed: Cell::new(0) };
    let spec = |cn: String| CertSpec {
        serial: new_serial_from([0x33; 20]),
        subject: Subject { common_name: Some(cn), ..Default::default() },
        dns_names: vec![],
        ip_addresses: vec![],
        email_addresses: vec![],
        not_before: now(),
        not_after: now() + Duration::days(1),
        profile: CertProfile::RootCa,
        crl_url: None,
        ca_issuers_url: None,
        ocsp_url: None,
    };
    match build_certificate(&spec("x".repeat(65)), SignWith::SelfSigned(&ca)) {
        Err(Error::Lint(found)) => {
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].rule, "name_attribute_upper_bounds");
            assert!(found[0].to_string().contains("RFC 5280"));
        }
        other => panic!("expected a lint refusal, got {other:?}"),
    }
    assert_eq!(ca.signed.get(), 0, "the CA key signed something the lint refused");
    build_certificate(&spec("Fine Root".into()), SignWith::SelfSigned(&ca)).unwrap();
    assert_eq!(ca.signed.get(), 1);
}

#[test]
fn a_ca_may_carry_an_eku_as_a_constraint() {
    let mut p = leaf();
    p.subject_alt_names.clear();
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    assert_eq!(leaf_findings(p, &ec()), Vec::<&str>::new());
}
