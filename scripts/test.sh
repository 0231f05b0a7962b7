#!/usr/bin/env bash
# The project's test command: Rust lint + tests, the stock-client interop suite, then the web
# client in three browser engines. Works alone on a fresh Debian machine: it first runs
# scripts/install-deps.sh (idempotent; a few seconds when everything is already there).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

section "dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh </dev/null

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

section "web client: build, then browser tests (chromium, firefox-esr, WebKitGTK vs. the easel binary)"
# Screenshots of every page (desktop and phone width) land in artifacts/screenshots/.
# install-deps.sh put all three engines here, so a missing one is a failure, not a skip.
(cd web-client && npm run build && EASEL_ENGINES_REQUIRED=1 npm test)

section "all tests passed"
