//! The `/api/ca/v1` list filter grammar (`field[op]value`), parsed and applied.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = certus_api::fuzzing::lamassu_filter(text);
    }
});
