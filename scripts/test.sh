#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (openssl, curl,
# PostgreSQL, SoftHSM2, lego, pebble, prometheus (promtool) and chromium from Debian; pkilint, pytest,
# certbot and Playwright (driving Debian's chromium, no browser download) in ./.venv), checks formatting and
# clippy, builds, runs the Rust unit tests with cargo-nextest (the store suite on SQLite and on a
# throwaway PostgreSQL cluster) and the integration tests against the real binary twice: on the
# embedded SQLite default, then on PostgreSQL (which adds the three-node tests); finally a short
# run of every fuzz target (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
command -v jq >/dev/null || need_apt+=(jq)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v softhsm2-util >/dev/null || need_apt+=(softhsm2)
command -v lego >/dev/null || need_apt+=(lego)
command -v pebble-challtestsrv >/dev/null || need_apt+=(pebble)
command -v promtool >/dev/null || need_apt+=(prometheus)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/pip ]; then
    echo "==> creating .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
fi
echo "==> test tools (pytest, pkilint, schemathesis, certbot, playwright)"
.venv/bin/pip install -q -r tests/requirements.txt

echo "==> formatting and lints"
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add clippy rustfmt
fi
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings

echo "==> building"
cargo build --locked --workspace

echo "==> starting a throwaway PostgreSQL"
read -r PG_DIR PG_URL < <(./scripts/postgres-temp.sh)
trap './scripts/postgres-temp.sh stop "$PG_DIR"' EXIT

echo "==> unit tests (the store suite on SQLite and PostgreSQL)"
if command -v cargo-nextest >/dev/null; then
    CERTUS_TEST_PG_URL="$PG_URL" CERTUS_REQUIRE_PG=1 cargo nextest run --locked --workspace --no-fail-fast
else
    CERTUS_TEST_PG_URL="$PG_URL" CERTUS_REQUIRE_PG=1 cargo test --locked --workspace
fi

export CERTUS_BIN="$PWD/target/debug/certus"
# Two pytest workers (pytest-xdist): most tests wait on a server, a client or a subprocess, so two
# share the two cores well (a pass took 158 s instead of 236 s). Each test module runs whole on one
# worker: some build up one server's state test by test. CERTUS_TEST_WORKERS=0 runs them serially.
workers=(-n "${CERTUS_TEST_WORKERS:-2}" --dist loadscope)
echo "==> integration tests on SQLite"
.venv/bin/pytest -q "${workers[@]}" tests "$@"

echo "==> integration tests on PostgreSQL"
CERTUS_TEST_PG_URL="$PG_URL" .venv/bin/pytest -q "${workers[@]}" tests "$@"

echo "==> fuzz smoke (each cargo-fuzz target briefly, over its kept corpus)"
./scripts/fuzz.sh 10
