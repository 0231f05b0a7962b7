#!/usr/bin/env bash
# Build the web client and the server, then run Easel on http://127.0.0.1:8080
# (data in ./easel-data). Extra arguments go to `easel serve`, e.g.
#   scripts/run.sh --listen 0.0.0.0:8080 --data-dir /var/lib/easel
# The server prints its address and, on the first start, the demo links.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "[run] building the web client (web-client/dist)"
(
  cd web-client
  if [[ ! -d node_modules ]]; then npm ci --no-audit --no-fund --loglevel=error; fi
  npm run build --silent
)

echo "[run] building and starting the server"
exec cargo run --release -q -p easel -- serve --web-dir "$ROOT/web-client/dist" "$@"
