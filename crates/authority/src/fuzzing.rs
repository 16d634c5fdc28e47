//! Entry points for the fuzz targets (`fuzz/`), built only under cargo-fuzz's `--cfg fuzzing`.

/// The /api/v1 `subject_dn` parser.
pub fn subject_dn(text: &str) -> bool {
    crate::fastpki::parse_subject_dn(text).is_ok()
}
