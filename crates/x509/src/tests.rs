//! Round trips through the builders and parsers, with throwaway rcgen keys.

use std::net::IpAddr;

use rcgen::KeyPair;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, ParsedExtension};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::*;

fn spec(profile: CertProfile, cn: &str, serial_byte: u8) -> CertSpec {
    let now = OffsetDateTime::now_utc();
    CertSpec {
        serial: new_serial_from([serial_byte; 20]),
        subject: Subject { common_name: Some(cn.into()), country: Some("NL".into()), ..Default::default() },
        dns_names: vec![],
        ip_addresses: vec![],
        email_addresses: vec![],
        not_before: now,
        not_after: now + Duration::days(10),
        profile,
        crl_url: None,
        ca_issuers_url: None,
        ocsp_url: None,
    }
}

fn root(cn: &str) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let der = build_certificate(&spec(CertProfile::RootCa, cn, 0x11), SignWith::SelfSigned(&key)).unwrap();
    (der, key)
}

#[test]
fn root_and_leaf_round_trip() {
    let (root_der, root_key) = root("Root");
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut leaf_spec = spec(CertProfile::TlsLeaf, "svc.example.test", 0xfe);
    leaf_spec.dns_names = vec!["svc.example.test".into()];
    leaf_spec.ip_addresses = vec!["10.0.0.1".parse::<IpAddr>().unwrap()];
    leaf_spec.crl_url = Some("http://ca.test/crl".into());
    leaf_spec.ca_issuers_url = Some("http://ca.test/ca.der".into());
    let leaf_der = build_certificate(
        &leaf_spec,
        SignWith::Issuer { issuer_der: &root_der, issuer_key: &root_key, subject_key: &leaf_key },
    )
    .unwrap();

    let root_info = parse_certificate(&root_der).unwrap();
    assert!(root_info.is_ca && root_info.self_issued && root_info.path_len.is_none());
    assert_eq!(root_info.key.kind, KeyKind::EcP256);
    let leaf = parse_certificate(&leaf_der).unwrap();
    assert!(!leaf.is_ca && !leaf.self_issued);
    assert_eq!(leaf.serial.len(), 20);
    assert_eq!(leaf.serial[0], 0x7e);
    assert_eq!(leaf.dns_names, vec!["svc.example.test".to_string()]);
    assert_eq!(leaf.ip_addresses.len(), 1);
    assert_eq!(leaf.key.kind, KeyKind::Ed25519);
    assert_eq!(leaf.issuer_der, root_info.subject_der);
    assert!(verify_issued_by(&leaf_der, &root_der));
    assert!(verify_issued_by(&root_der, &root_der));
    let (other_root, _) = root("Root");
    assert!(!verify_issued_by(&leaf_der, &other_root), "same name, different key");
    assert!(!verify_issued_by(b"junk", &root_der));
}

#[test]
fn csr_round_trip_and_tamper_detection() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let subject = Subject { common_name: Some("a.example.test".into()), ..Default::default() };
    let der = build_csr(&subject, &["b.example.test".into()], &[], &key).unwrap();
    let info = parse_csr(&der).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("a.example.test"));
    assert_eq!(info.dns_names, vec!["b.example.test".to_string()]);
    assert_eq!((info.key.kind, info.key.bits), (KeyKind::EcP384, 384));
    let mut bad = der.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x01;
    assert!(matches!(parse_csr(&bad), Err(Error::CsrSignature)));
    assert!(matches!(parse_csr(&der[..n - 1]), Err(Error::Csr(_))));
}

#[test]
fn crl_carries_number_reason_and_aki() {
    let (root_der, root_key) = root("CRL Root");
    let now = OffsetDateTime::now_utc();
    let spec = CrlSpec {
        crl_number: 7,
        this_update: now,
        next_update: now + Duration::hours(24),
        entries: vec![
            CrlEntry { serial: vec![0x01, 0x02], revoked_at: now, reason: RevocationReason::KeyCompromise },
            CrlEntry { serial: vec![0x03], revoked_at: now, reason: RevocationReason::Unspecified },
        ],
        kind: CrlKind::Complete { delta_url: Some("http://ca.test/crl/delta".into()) },
    };
    let der = build_crl(&spec, &root_der, &root_key).unwrap();
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("7".into()));
    let entries: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].reason_code().map(|r| r.1.0), Some(1));
    assert!(entries[1].reason_code().is_none(), "unspecified is not encoded");
    assert!(
        crl.extensions().iter().any(|e| matches!(e.parsed_extension(), ParsedExtension::AuthorityKeyIdentifier(_)))
    );
    assert!(crl.extensions().iter().any(|e| e.oid.to_id_string() == "2.5.29.46"), "Freshest CRL");
    let (_, issuer) = x509_parser::parse_x509_certificate(&root_der).unwrap();
    assert!(crl.verify_signature(issuer.public_key()).is_ok());
    // The list is assembled around the signed TBS bytes: x509-cert must read it and encode it
    // back to the very same bytes.
    let typed: x509_cert::crl::CertificateList = der::Decode::from_der(&der).unwrap();
    assert_eq!(der::Encode::to_der(&typed).unwrap(), der);

    let delta = CrlSpec { crl_number: 8, kind: CrlKind::Delta { base_number: 7 }, ..spec };
    let der = build_crl(&delta, &root_der, &root_key).unwrap();
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    let indicator = crl.extensions().iter().find(|e| e.oid.to_id_string() == "2.5.29.27").unwrap();
    assert!(indicator.critical);
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("8".into()));
}

#[test]
fn large_crl_matches_x509_cert_entry_for_entry() {
    // Enough entries to be encoded in parts on several threads; serials with a high bit
    // (encoded with a leading zero), with leading zeros (stripped), every reason, and a
    // revocation time past 2049 (GeneralizedTime).
    let (root_der, root_key) = root("Big CRL Root");
    let now = OffsetDateTime::now_utc();
    let entries: Vec<CrlEntry> = (0..100_003u32)
        .map(|i| {
            let mut serial = i.to_be_bytes().to_vec();
            serial[0] = [0x00, 0x7f, 0x80, 0xff][i as usize % 4];
            let revoked_at =
                if i == 99_999 { now + Duration::days(365 * 40) } else { now - Duration::seconds(i.into()) };
            CrlEntry { serial, revoked_at, reason: RevocationReason::ALL[i as usize % RevocationReason::ALL.len()] }
        })
        .collect();
    let spec = CrlSpec {
        crl_number: 9,
        this_update: now,
        next_update: now + Duration::hours(24),
        entries: entries.clone(),
        kind: CrlKind::Complete { delta_url: None },
    };
    let der = build_crl(&spec, &root_der, &root_key).unwrap();
    let typed: x509_cert::crl::CertificateList = der::Decode::from_der(&der).unwrap();
    assert_eq!(der::Encode::to_der(&typed).unwrap(), der);
    let listed = typed.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(listed.len(), entries.len());
    for (got, want) in listed.iter().zip(&entries) {
        let serial = x509_cert::serial_number::SerialNumber::<x509_cert::certificate::Rfc5280>::new(&want.serial);
        assert_eq!(got.serial_number, serial.unwrap());
        let when = got.revocation_date.to_unix_duration().as_secs() as i64;
        assert_eq!(when, want.revoked_at.unix_timestamp());
        let reason = got.crl_entry_extensions.as_ref().map(|x| x[0].extn_value.as_bytes()[2]);
        assert_eq!(reason, want.reason.crl_reason().map(|r| r as u8));
    }
    let too_long = CrlSpec { entries: vec![CrlEntry { serial: vec![0x7f; 21], ..entries[0].clone() }], ..spec };
    assert!(build_crl(&too_long, &root_der, &root_key).unwrap_err().to_string().contains("longer than 20 octets"));
}

#[test]
fn ocsp_response_embeds_the_signer_as_stored_and_reads_back_through_x509_ocsp() {
    use der::asn1::OctetString;
    use der::{Decode, Encode};
    let (root_der, root_key) = root("OCSP Root");
    let nonce = OctetString::new(vec![0x04, 0x02, 0xab, 0xcd]).unwrap();
    let request = x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: x509_ocsp::CertId {
                    hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
                        oid: const_oid::ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
                        parameters: None,
                    },
                    issuer_name_hash: OctetString::new(vec![1; 20]).unwrap(),
                    issuer_key_hash: OctetString::new(vec![2; 20]).unwrap(),
                    serial_number: x509_cert::serial_number::SerialNumber::new(&[0x7f, 1, 2]).unwrap(),
                },
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![x509_cert::ext::Extension {
                extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: nonce.clone(),
            }]),
        },
        optional_signature: None,
    };
    let query = parse_ocsp_request(&request.to_der().unwrap()).unwrap();
    let responder = OcspResponder::new(root_der.clone()).unwrap();
    let now = OffsetDateTime::now_utc();
    let status = OcspStatus::Revoked { at: now, reason: RevocationReason::KeyCompromise };
    let spec = OcspResponseSpec {
        produced_at: now,
        this_update: now,
        next_update: now + Duration::hours(1),
        answers: vec![(&query.items[0], status)],
        nonce: query.nonce.clone(),
        responder: &responder,
        include_signer_cert: true,
    };
    let der = build_ocsp_response(&spec, &root_key).unwrap();
    let response = x509_ocsp::OcspResponse::from_der(&der).unwrap();
    let basic_der = response.response_bytes.unwrap().response;
    let basic = x509_ocsp::BasicOcspResponse::from_der(basic_der.as_bytes()).unwrap();
    assert_eq!(basic.to_der().unwrap(), basic_der.as_bytes(), "re-encodes byte-identical");
    assert_eq!(basic.certs.as_ref().unwrap()[0].to_der().unwrap(), root_der, "the signer, as stored");
    let subject = x509_cert::Certificate::from_der(&root_der).unwrap().tbs_certificate.subject;
    assert_eq!(basic.tbs_response_data.responder_id, x509_ocsp::ResponderId::ByName(subject));
    let single = &basic.tbs_response_data.responses[0];
    assert_eq!(single.cert_id, request.tbs_request.request_list[0].req_cert);
    assert!(matches!(single.cert_status, x509_ocsp::CertStatus::Revoked(_)));
    assert_eq!(
        single.next_update.unwrap().0.to_unix_duration().as_secs(),
        (now + Duration::hours(1)).unix_timestamp() as u64
    );
    let echoed = &basic.tbs_response_data.response_extensions.as_ref().unwrap()[0];
    assert_eq!(echoed.extn_value, nonce);

    let without = OcspResponseSpec { include_signer_cert: false, ..spec };
    let der = build_ocsp_response(&without, &root_key).unwrap();
    let basic_der = x509_ocsp::OcspResponse::from_der(&der).unwrap().response_bytes.unwrap().response;
    assert!(x509_ocsp::BasicOcspResponse::from_der(basic_der.as_bytes()).unwrap().certs.is_none());
}

#[test]
fn pem_output_is_rfc7468_with_lf_lines_of_64() {
    // DER is never empty (for empty input the two differ by a blank line).
    for n in [1usize, 47, 48, 49, 1000] {
        let der: Vec<u8> = (0..n).map(|i| i as u8).collect();
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        let reference = pem::encode_config(&pem::Pem::new("X509 CRL", der.clone()), config);
        assert_eq!(to_pem(PemLabel::X509Crl, &der), reference, "{n} bytes");
    }
}

#[test]
fn pem_helpers_name_what_is_wrong() {
    let (root_der, _) = root("PEM");
    let pem = to_pem(PemLabel::Certificate, &root_der);
    assert_eq!(certs_from_pem(&(pem.clone() + &pem)).unwrap().len(), 2);
    assert!(matches!(certs_from_pem("nothing"), Err(Error::Pem(_))));
    let csr_pem = to_pem(PemLabel::CertificateRequest, b"x");
    assert!(certs_from_pem(&csr_pem).unwrap_err().to_string().contains("CERTIFICATE REQUEST"));
    assert!(csr_from_pem(&pem).unwrap_err().to_string().contains("expected CERTIFICATE REQUEST"));
}

#[test]
fn a_csr_reads_the_same_in_every_pem_form() {
    let der: Vec<u8> = (0..300).map(|i| (i * 7) as u8).collect();
    let strict = to_pem(PemLabel::CertificateRequest, &der);
    let body: String = strict.lines().filter(|l| !l.starts_with("-----")).collect();
    let wide: String = body.as_bytes().chunks(76).map(|c| format!("{}\n", std::str::from_utf8(c).unwrap())).collect();
    let forms = [
        strict.clone(),
        strict.replace('\n', "\r\n"),
        format!("Certificate Request:\n    (text before the block)\n{strict}"),
        format!("-----BEGIN CERTIFICATE REQUEST-----\n{wide}-----END CERTIFICATE REQUEST-----\n"),
        strict.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
    ];
    for form in &forms {
        assert_eq!(csr_from_pem(form).unwrap(), der, "{form}");
    }
    let key = strict.replace("CERTIFICATE REQUEST", "PRIVATE KEY");
    assert!(csr_from_pem(&key).unwrap_err().to_string().contains("found PRIVATE KEY"));
}

#[test]
fn p521_chains_and_csrs_verify() {
    // x509-parser cannot check P-521 signatures itself; the KMS verifier covers them.
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let root_der =
        build_certificate(&spec(CertProfile::RootCa, "P-521 Root", 0x21), SignWith::SelfSigned(&root_key)).unwrap();
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let leaf_der = build_certificate(
        &spec(CertProfile::TlsLeaf, "leaf", 0x22),
        SignWith::Issuer { issuer_der: &root_der, issuer_key: &root_key, subject_key: &leaf_key },
    )
    .unwrap();
    assert!(verify_issued_by(&leaf_der, &root_der));
    let (other, _) = root("P-521 Root");
    assert!(!verify_issued_by(&leaf_der, &other));
    let csr = build_csr(&Subject { common_name: Some("x".into()), ..Default::default() }, &[], &[], &leaf_key).unwrap();
    assert_eq!(parse_csr(&csr).unwrap().key.kind, KeyKind::EcP521);
    let mut bad = csr.clone();
    let n = bad.len();
    bad[n - 2] ^= 1;
    assert!(matches!(parse_csr(&bad), Err(Error::CsrSignature)));
}

#[test]
fn non_ascii_urls_are_refused_not_panicked_on() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    for (crl, aia) in [(Some("http://ü.example/crl"), None), (None, Some("http://ü.example/ca.crt"))] {
        let mut s = spec(CertProfile::RootCa, "Root", 0x21);
        s.crl_url = crl.map(str::to_owned);
        s.ca_issuers_url = aia.map(str::to_owned);
        let e = build_certificate(&s, SignWith::SelfSigned(&key)).unwrap_err();
        assert!(e.to_string().contains("not ASCII"), "{e}");
    }
}

#[test]
fn revocation_reasons_read_any_spelling_and_print_lamassus() {
    for text in ["key_compromise", "KeyCompromise", "keyCompromise", "Key compromise"] {
        assert_eq!(RevocationReason::from_text(text), Some(RevocationReason::KeyCompromise), "{text}");
    }
    assert_eq!(RevocationReason::from_text("CACompromise"), Some(RevocationReason::CaCompromise));
    assert_eq!(RevocationReason::from_text("the laptop fell in a lake"), None);
    assert_eq!(RevocationReason::AaCompromise.pascal_name(), "AACompromise");
    assert_eq!(RevocationReason::CessationOfOperation.pascal_name(), "CessationOfOperation");
}
