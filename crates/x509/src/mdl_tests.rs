//! Annex B: builders produce conforming IACA and DS certificates, refuse what the profile
//! forbids, and the checker names each rule a certificate breaks.

use rcgen::KeyPair;
use time::{Duration, OffsetDateTime};

use crate::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn iaca_spec() -> IacaSpec {
    IacaSpec {
        serial: new_serial_from([0x31; 20]),
        country: "US".into(),
        common_name: "Example IACA".into(),
        state: Some("US-CA".into()),
        organization: Some("DMV".into()),
        issuer_alt_name: IssuerAltName { uri: Some("https://iaca.example.com".into()), email: None },
        crl_url: None,
        not_before: now(),
        not_after: now() + Duration::days(365 * 10),
    }
}

fn ds_spec() -> DsSpec {
    DsSpec {
        serial: new_serial_from([0x32; 20]),
        country: "US".into(),
        common_name: "Example DS".into(),
        state: Some("US-CA".into()),
        organization: None,
        locality: None,
        crl_url: "https://crl.example.com/iaca.crl".into(),
        not_before: now(),
        not_after: now() + Duration::days(365),
    }
}

fn iaca() -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    (build_iaca(&iaca_spec(), &key).unwrap(), key)
}

pub(crate) fn write_pems_for_manual_lint(dir: &std::path::Path, iaca: &[u8], ds: &[u8]) {
    std::fs::write(dir.join("iaca.pem"), to_pem(PemLabel::Certificate, iaca)).unwrap();
    std::fs::write(dir.join("ds.pem"), to_pem(PemLabel::Certificate, ds)).unwrap();
}

#[test]
fn iaca_and_ds_conform() {
    let (iaca_der, iaca_key) = iaca();
    assert_eq!(check_annex_b(&iaca_der, MdlRole::Iaca), Vec::<String>::new());
    for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519, &rcgen::PKCS_ECDSA_P384_SHA384] {
        let ds_key = KeyPair::generate_for(alg).unwrap();
        let ds = build_ds(&ds_spec(), &ds_key, &iaca_der, &iaca_key).unwrap();
        assert_eq!(check_annex_b(&ds, MdlRole::Ds { iaca_der: &iaca_der }), Vec::<String>::new());
        assert!(verify_issued_by(&ds, &iaca_der));
        if let Ok(dir) = std::env::var("CERTUS_MDL_PEM_DIR") {
            write_pems_for_manual_lint(std::path::Path::new(&dir), &iaca_der, &ds);
        }
    }
}

#[test]
fn builders_refuse_what_annex_b_forbids() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let rsa = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
    let iaca_cases: Vec<(IacaSpec, &str)> = vec![
        (IacaSpec { country: "us".into(), ..iaca_spec() }, "country"),
        (IacaSpec { country: "USA".into(), ..iaca_spec() }, "country"),
        (IacaSpec { not_after: now() + Duration::days(365 * 25), ..iaca_spec() }, "20 years"),
        (IacaSpec { issuer_alt_name: IssuerAltName::default(), ..iaca_spec() }, "issuerAltName"),
    ];
    for (spec, word) in iaca_cases {
        let err = build_iaca(&spec, &key).unwrap_err().to_string();
        assert!(err.contains(word), "{word}: {err}");
    }
    assert!(build_iaca(&iaca_spec(), &rsa).unwrap_err().to_string().contains("ECDSA"));

    let (iaca_der, iaca_key) = iaca();
    let ds_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ds_cases: Vec<(DsSpec, &str)> = vec![
        (DsSpec { not_after: now() + Duration::days(500), ..ds_spec() }, "457 days"),
        (DsSpec { not_before: now() - Duration::days(1), ..ds_spec() }, "within the IACA"),
        (DsSpec { state: None, ..ds_spec() }, "stateOrProvinceName"),
        (DsSpec { state: Some("US-NY".into()), ..ds_spec() }, "stateOrProvinceName"),
        (DsSpec { country: "CA".into(), ..ds_spec() }, "country"),
    ];
    for (spec, word) in ds_cases {
        let err = build_ds(&spec, &ds_key, &iaca_der, &iaca_key).unwrap_err().to_string();
        assert!(err.contains(word), "{word}: {err}");
    }
    assert!(build_ds(&ds_spec(), &rsa, &iaca_der, &iaca_key).unwrap_err().to_string().contains("DS key"));
}

#[test]
fn checker_names_each_broken_rule() {
    let (iaca_der, iaca_key) = iaca();
    // A TLS leaf from the same IACA is not a Document Signer.
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf_spec = CertSpec {
        serial: new_serial_from([0x41; 20]),
        subject: Subject { common_name: Some("tls".into()), country: Some("US".into()), ..Default::default() },
        dns_names: vec!["tls.example.test".into()],
        ip_addresses: vec![],
        email_addresses: vec![],
        not_before: now(),
        not_after: now() + Duration::days(600),
        profile: CertProfile::TlsLeaf,
        crl_url: None,
        ca_issuers_url: None,
        ocsp_url: None,
    };
    let leaf = build_certificate(
        &leaf_spec,
        SignWith::Issuer { issuer_der: &iaca_der, issuer_key: &iaca_key, subject_key: &leaf_key },
    )
    .unwrap();
    let found = check_annex_b(&leaf, MdlRole::Ds { iaca_der: &iaca_der });
    for rule in
        ["1.0.18013.5.1.2", "issuerAltName is mandatory", "cRLDistributionPoints", "457 days", "stateOrProvinceName"]
    {
        assert!(found.iter().any(|f| f.contains(rule)), "{rule} missing from {found:?}");
    }
    // A generic root is not an IACA.
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let root_spec = CertSpec { profile: CertProfile::RootCa, not_after: now() + Duration::days(365 * 30), ..leaf_spec };
    let root = build_certificate(&root_spec, SignWith::SelfSigned(&root_key)).unwrap();
    let found = check_annex_b(&root, MdlRole::Iaca);
    for rule in ["keyCertSign and cRLSign only", "pathLenConstraint 0", "issuerAltName is mandatory", "20 years"] {
        assert!(found.iter().any(|f| f.contains(rule)), "{rule} missing from {found:?}");
    }
    assert_eq!(check_annex_b(b"junk", MdlRole::Iaca), vec!["not a DER certificate".to_string()]);
}

#[test]
fn checker_catches_serial_signature_country_and_forbidden_extensions() {
    // A self-made "IACA" breaking the rules the builders never break: a 2-octet serial, an
    // Ed25519 signature, a lower-case UTF8String country, nameConstraints, a SHA-256 key id.
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.serial_number = Some(rcgen::SerialNumber::from(vec![0x01, 0x02]));
    params.distinguished_name.push(rcgen::DnType::CountryName, rcgen::DnValue::Utf8String("us".into()));
    params.distinguished_name.push(rcgen::DnType::CommonName, "bad iaca");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.com".into())],
        excluded_subtrees: vec![],
    });
    params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let found = check_annex_b(&der, MdlRole::Iaca);
    for rule in [
        "serialNumber must be a positive integer",
        "signature must be ECDSA",
        "countryName must be an upper-case alpha-2",
        "nameConstraints must not be used",
        "IACA key must be ECDSA",
        "keyUsage is mandatory",
    ] {
        assert!(found.iter().any(|f| f.contains(rule)), "{rule} missing from {found:?}");
    }
    // The conforming IACA breaks none of them.
    assert_eq!(check_annex_b(&iaca().0, MdlRole::Iaca), Vec::<String>::new());
}

type Breakage = (&'static str, Box<dyn Fn(&mut rcgen::CertificateParams)>);

fn without_ext(p: &mut rcgen::CertificateParams, oid: &[u64]) {
    p.custom_extensions.retain(|e| !e.oid_components().eq(oid.iter().copied()));
}

fn uri_ian(uri: &str) -> rcgen::CustomExtension {
    let der = yasna::construct_der(|w| {
        w.write_sequence(|w| w.next().write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(uri)))
    });
    rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 18], der)
}

/// An extension Annex B forbids; the checker looks only at its presence.
fn forbidden_ext(oid: &str) -> rcgen::CustomExtension {
    let arcs: Vec<u64> = oid.split('.').map(|a| a.parse().unwrap()).collect();
    rcgen::CustomExtension::from_oid_content(&arcs, yasna::construct_der(|w| w.write_sequence(|_| {})))
}

/// Every Annex B rule a DS can break: start from the conforming DS fields, break one rule,
/// sign with the real IACA, and the checker must name that rule.
#[test]
fn each_ds_rule_is_checked() {
    use rcgen::{DnType, DnValue, KeyIdMethod, KeyUsagePurpose as Ku};
    let (iaca_der, iaca_key) = iaca();
    let (_, iaca_cert) = x509_parser::parse_x509_certificate(&iaca_der).unwrap();
    let ds_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let iaca_from = iaca_cert.validity().not_before.to_datetime();
    let table: Vec<Breakage> = vec![
        ("serialNumber must be a positive integer", Box::new(|p| p.serial_number = Some(vec![1, 2].into()))),
        (
            "countryName must be an upper-case alpha-2",
            Box::new(|p| p.distinguished_name.push(DnType::CountryName, DnValue::Utf8String("US".into()))),
        ),
        ("countryName must match", Box::new(|p| p.distinguished_name.push(DnType::CountryName, "DE"))),
        (
            "stateOrProvinceName must match",
            Box::new(|p| {
                p.distinguished_name.remove(DnType::StateOrProvinceName);
            }),
        ),
        (
            "commonName is mandatory",
            Box::new(|p| {
                p.distinguished_name.remove(DnType::CommonName);
            }),
        ),
        ("subjectKeyIdentifier must be method 1", Box::new(|p| p.key_identifier_method = KeyIdMethod::Sha256)),
        ("keyUsage is mandatory and critical", Box::new(|p| p.key_usages.clear())),
        ("digitalSignature only", Box::new(|p| p.key_usages.push(Ku::KeyEncipherment))),
        ("must not be a CA", Box::new(|p| p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained))),
        ("1.0.18013.5.1.2 only", Box::new(|p| without_ext(p, &[2, 5, 29, 37]))),
        ("issuerAltName is mandatory", Box::new(|p| without_ext(p, &[2, 5, 29, 18]))),
        (
            "issuerAltName must copy the IACA's",
            Box::new(|p| {
                without_ext(p, &[2, 5, 29, 18]);
                p.custom_extensions.push(uri_ian("https://other.example"));
            }),
        ),
        ("cRLDistributionPoints", Box::new(|p| p.crl_distribution_points.clear())),
        ("authorityKeyIdentifier", Box::new(|p| p.use_authority_key_identifier_extension = false)),
        ("at most 457 days", Box::new(|p| p.not_after = p.not_before + Duration::days(458))),
        ("within the IACA's", Box::new(move |p| p.not_before = iaca_from - Duration::days(1))),
    ];
    let issuer = rcgen::Issuer::from_ca_cert_der(&iaca_der.clone().into(), &iaca_key).unwrap();
    let check = |rule: &str, breaks: &dyn Fn(&mut rcgen::CertificateParams)| {
        let mut params = crate::mdl::ds_params(&ds_spec(), &ds_key, &iaca_cert).unwrap();
        breaks(&mut params);
        let der = params.signed_by(&ds_key, &issuer).unwrap().der().to_vec();
        let found = check_annex_b(&der, MdlRole::Ds { iaca_der: &iaca_der });
        assert!(found.iter().any(|f| f.contains(rule)), "{rule} missing from {found:?}");
    };
    for (rule, breaks) in &table {
        check(rule, breaks);
    }
    for (oid, what) in crate::annex_b::FORBIDDEN {
        check(&format!("{what} must not be used"), &|p| p.custom_extensions.push(forbidden_ext(oid)));
    }
    // The issuer Name re-encoded (CN as PrintableString instead of UTF8String) reads the same
    // but is not byte-identical, which verifiers that compare raw Names reject.
    let mut reencoded = crate::mdl::iaca_params(&iaca_spec(), &iaca_key).unwrap();
    reencoded.distinguished_name.remove(DnType::CommonName);
    let cn = DnValue::PrintableString("Example IACA".try_into().unwrap());
    reencoded.distinguished_name.push(DnType::CommonName, cn);
    let params = crate::mdl::ds_params(&ds_spec(), &ds_key, &iaca_cert).unwrap();
    let der = params.signed_by(&ds_key, &rcgen::Issuer::new(reencoded, &iaca_key)).unwrap().der().to_vec();
    let found = check_annex_b(&der, MdlRole::Ds { iaca_der: &iaca_der });
    assert!(found.iter().any(|f| f.contains("byte-identical")), "{found:?}");
    // Unbroken, the same path conforms: each finding above comes from its one change.
    let params = crate::mdl::ds_params(&ds_spec(), &ds_key, &iaca_cert).unwrap();
    let der = params.signed_by(&ds_key, &issuer).unwrap().der().to_vec();
    assert_eq!(check_annex_b(&der, MdlRole::Ds { iaca_der: &iaca_der }), Vec::<String>::new());
}

/// Every Annex B rule only an IACA can break, one change at a time.
#[test]
fn each_iaca_rule_is_checked() {
    use rcgen::KeyUsagePurpose as Ku;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let table: Vec<Breakage> = vec![
        ("keyCertSign and cRLSign only", Box::new(|p| p.key_usages.push(Ku::DigitalSignature))),
        ("pathLenConstraint 0", Box::new(|p| p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1)))),
        ("at most 20 years", Box::new(|p| p.not_after = p.not_before + Duration::days(365 * 21))),
        (
            "must hold a URI or an rfc822Name",
            Box::new(|p| {
                without_ext(p, &[2, 5, 29, 18]);
                let dns = yasna::construct_der(|w| {
                    w.write_sequence(|w| {
                        w.next().write_tagged_implicit(yasna::Tag::context(2), |w| w.write_ia5_string("iaca.example"))
                    })
                });
                p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 18], dns));
            }),
        ),
    ];
    for (rule, breaks) in &table {
        let mut params = crate::mdl::iaca_params(&iaca_spec(), &key).unwrap();
        breaks(&mut params);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let found = check_annex_b(&der, MdlRole::Iaca);
        assert!(found.iter().any(|f| f.contains(rule)), "{rule} missing from {found:?}");
    }
    // Signed by another key under another name, the subject is no longer the issuer.
    let other = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut other_params = crate::mdl::iaca_params(&iaca_spec(), &other).unwrap();
    other_params.distinguished_name.push(rcgen::DnType::CommonName, "Other IACA");
    let params = crate::mdl::iaca_params(&iaca_spec(), &key).unwrap();
    let der = params.signed_by(&key, &rcgen::Issuer::new(other_params, &other)).unwrap().der().to_vec();
    let found = check_annex_b(&der, MdlRole::Iaca);
    assert!(found.iter().any(|f| f.contains("subject must equal its issuer")), "{found:?}");
}

#[test]
fn non_ascii_issuer_alt_names_are_refused_not_panicked_on() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut spec = iaca_spec();
    spec.issuer_alt_name = IssuerAltName { uri: None, email: Some("ïaca@example.com".into()) };
    let e = build_iaca(&spec, &key).unwrap_err();
    assert!(e.to_string().contains("ASCII"), "{e}");
}
