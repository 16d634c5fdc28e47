//! PEM text from callers: certificate chains, CSRs and private keys (imports).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(certs) = certus_x509::certs_from_pem(text) {
        for der in certs {
            let _ = certus_x509::parse_certificate(&der);
        }
    }
    let _ = certus_x509::csr_from_pem(text);
    let _ = certus_kms::SoftwareKey::from_pem(text);
});
