//! A certificate from the network (import, validate, trust anchors, IACAs given as PEM).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = certus_x509::parse_certificate(data) {
        let _ = certus_x509::verify_issued_by(data, data);
        let _ = info.subject_fields;
    }
});
