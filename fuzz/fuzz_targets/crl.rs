//! Certus reads no CRLs from callers; it writes them. This target builds CRLs from arbitrary
//! entries (serials of any length, any times, any reason) and checks that whatever the builder
//! accepts parses back with every entry.
#![no_main]
use std::sync::OnceLock;

use certus_x509::{CrlEntry, CrlKind, CrlSpec, RevocationReason, build_crl};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

fn issuer() -> &'static (Vec<u8>, rcgen::KeyPair) {
    static ISSUER: OnceLock<(Vec<u8>, rcgen::KeyPair)> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params").self_signed(&key).expect("cert");
        (cert.der().to_vec(), key)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&number, rest)) = data.split_first() else { return };
    let entries: Vec<CrlEntry> = rest
        .chunks(24)
        .map(|c| {
            let secs = c.iter().take(4).fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
            let reason = RevocationReason::ALL[usize::from(c[0]) % RevocationReason::ALL.len()];
            CrlEntry {
                serial: c.iter().skip(4).copied().collect(),
                revoked_at: OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                reason,
            }
        })
        .collect();
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
    let spec = CrlSpec {
        crl_number: u64::from(number),
        this_update: now,
        next_update: now + time::Duration::days(1),
        entries: entries.clone(),
        kind: if number % 2 == 0 { CrlKind::Complete { delta_url: None } } else { CrlKind::Delta { base_number: 1 } },
    };
    let (issuer_der, key) = issuer();
    if let Ok(der) = build_crl(&spec, issuer_der, key) {
        let (_, crl) = CertificateRevocationList::from_der(&der).expect("a CRL Certus built parses");
        assert_eq!(crl.iter_revoked_certificates().count(), entries.len());
    }
});
