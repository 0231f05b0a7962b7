#!/usr/bin/env bash
# The project's test command: Rust lint + tests, then the stock-client interop suite.
# Assumes scripts/install-deps.sh has run (.ci/run does that).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

section "deployment files (docker-compose config, hadolint; CI has no Docker engine)"
docker-compose -f docker-compose.yml config -q
"${EASEL_TOOLS_DIR:-${HOME:-/tmp}/.cache/easel-tools}/bin/hadolint" Dockerfile

section "cargo test"
cargo test --workspace

section "interop: stock y-websocket clients vs. reference server (tests/interop)"
# With EASEL_URL=ws://HOST:PORT/sync set, the same suite runs against a running Easel instead.
(cd tests/interop && npm test)
# The same suite against the real easel binary runs inside `cargo test`
# (tests/integration/interop.rs, with EASEL_URL, EASEL_TOKEN and EASEL_ROOM set).

section "web client: build, then browser tests (headless Debian chromium vs. the easel binary)"
# Screenshots of every page (desktop and phone width) land in artifacts/screenshots/.
(cd web-client && npm run build && npm test)

section "all tests passed"
