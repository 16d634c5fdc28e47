#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for SECONDS each (default 15; the test suite's
# smoke runs 10) over a copy of its kept corpus in fuzz/corpus. Needs the nightly toolchain; installs
# cargo-fuzz from crates.io if missing. For a long local run that grows the kept corpus:
#   cd fuzz && cargo +nightly fuzz run -O <target> corpus/<target> -- -max_total_time=600
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-15}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "==> fuzz smoke SKIPPED: no nightly toolchain on this machine (cargo-fuzz needs it)"
    exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

# A debug build without a sanitizer: a third of the optimised ASan build's time, enough to
# catch panics, overflows (debug assertions) and hangs in a smoke.
opts=(--dev --sanitizer none --target-dir ../target/fuzz)
cargo +nightly fuzz build "${opts[@]}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$work/$target"
    if [ -d "corpus/$target" ]; then cp -r "corpus/$target/." "$work/$target/"; fi
    echo "==> fuzz $target (${secs}s)"
    if ! cargo +nightly fuzz run "${opts[@]}" "$target" "$work/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 >"$work/$target.log" 2>&1; then
        tail -60 "$work/$target.log"
        echo "fuzz target $target failed (the crashing input is in fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -E '^Done' "$work/$target.log"
done
