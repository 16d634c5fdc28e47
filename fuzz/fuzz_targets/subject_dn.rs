//! The `/api/v1` `subject_dn` parser (`CN=a,O=Acme\, Inc.,C=US`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = certus_authority::fuzzing::subject_dn(text);
    }
});
