#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (openssl and curl from
# Debian, pkilint and pytest in ./.venv), builds, runs the Rust unit tests with cargo-nextest and
# the integration tests against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/pytest ] || [ ! -x .venv/bin/lint_pkix_cert ]; then
    echo "==> creating .venv with pkilint and pytest"
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r tests/requirements.txt
fi

echo "==> building"
cargo build --locked --workspace

echo "==> unit tests"
if command -v cargo-nextest >/dev/null; then
    cargo nextest run --locked --workspace --no-fail-fast
else
    cargo test --locked --workspace
fi

echo "==> integration tests"
CERTUS_BIN="$PWD/target/debug/certus" .venv/bin/pytest -q tests "$@"
