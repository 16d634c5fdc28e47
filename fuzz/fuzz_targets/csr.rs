//! A CSR from the network: DER (every sign route, EST) or PEM; parsing and verifying it must
//! never panic, and whatever parses has a key the policy can judge.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = certus_x509::parse_csr(data) {
        let _ = certus_x509::key_strength_finding(&info.key);
        let _ = certus_x509::subject_finding(&info.subject_fields);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(der) = certus_x509::csr_from_pem(text)
    {
        let _ = certus_x509::parse_csr(&der);
    }
});
