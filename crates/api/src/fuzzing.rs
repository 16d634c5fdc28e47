//! Entry points for the fuzz targets (`fuzz/`), built only under cargo-fuzz's `--cfg fuzzing`.

/// One `/api/ca/v1` list filter (`field[op]value`), parsed and applied to a small dataset.
pub fn lamassu_filter(text: &str) -> bool {
    crate::lamassu::list::fuzz_filter(text)
}
