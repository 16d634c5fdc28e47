//! What the pre-issuance lint costs per certificate, with and without reading the issuer's
//! certificate: `cargo run --release -p certus-x509 --example lint_cost`. A measurement for
//! docs/benchmarks.md, not a test.

use certus_x509::{LintContext, lint_tbs};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;

const ROUNDS: u32 = 20_000;

fn main() {
    let now = OffsetDateTime::now_utc();
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let mut root = CertificateParams::default();
    root.not_before = now - Duration::days(1);
    root.not_after = now + Duration::days(365);
    root.distinguished_name.push(DnType::CommonName, "Lint Cost Root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_der = root.self_signed(&root_key).expect("root").der().to_vec();

    let mut leaf = CertificateParams::default();
    leaf.serial_number = Some(SerialNumber::from_slice(&[0x11; 20]));
    leaf.not_before = now;
    leaf.not_after = now + Duration::days(30);
    leaf.distinguished_name.push(DnType::CommonName, "svc.example.test");
    leaf.subject_alt_names = vec![SanType::DnsName("svc.example.test".try_into().expect("ASCII"))];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let issuer = Issuer::from_ca_cert_der(&root_der.clone().into(), &root_key).expect("issuer");
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let leaf_der = leaf.signed_by(&leaf_key, &issuer).expect("leaf").der().to_vec();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&leaf_der).expect("parses");
    let tbs = cert.tbs_certificate.as_ref().to_vec();

    let with_issuer = LintContext { issuer_der: Some(&root_der), annex_b: None };
    for (name, ctx) in [("with issuer", with_issuer), ("without issuer", LintContext::default())] {
        let start = std::time::Instant::now();
        for _ in 0..ROUNDS {
            assert!(lint_tbs(&tbs, &ctx).is_empty(), "a conforming leaf must pass");
        }
        println!("{name}: {:?} per TBS", start.elapsed() / ROUNDS);
    }
}
