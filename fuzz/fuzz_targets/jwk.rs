//! A JWK from the walt.id door's key import.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = certus_kms::key_from_jwk(&value);
    }
});
