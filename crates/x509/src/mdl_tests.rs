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
