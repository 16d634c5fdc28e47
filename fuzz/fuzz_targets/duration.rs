//! The one duration grammar: whatever parses is positive and at most 100 years, so no time
//! arithmetic downstream can overflow.
#![no_main]
use certus_authority::policy::{MAX_DURATION_SECS, parse_duration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(secs) = parse_duration("ttl", text)
    {
        assert!(secs > 0 && secs <= MAX_DURATION_SECS, "{text:?} gave {secs}");
    }
});
