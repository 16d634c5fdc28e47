//! An anonymous OCSP request (POST body or GET path).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = certus_x509::parse_ocsp_request(data) {
        assert!(!query.items.is_empty() && query.items.len() <= 20, "the CertID cap holds");
    }
});
