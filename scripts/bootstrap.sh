#!/usr/bin/env bash
# Installs what `make run` / `make test` need and is missing, from the package registries only:
# the wasm32 target, wasm-bindgen-cli (same version as Cargo.lock), the npm tools in end2end/
# (Playwright, binaryen's wasm-opt, sass) and, with --browser (what `make test` asks for),
# Debian's chromium + chromedriver and the PostgreSQL server the store tests start a throwaway
# cluster of (scripts/pg-test-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== [bootstrap] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

WANT=$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
HAVE=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$HAVE" != "$WANT" ]; then
  step "cargo install wasm-bindgen-cli $WANT (have: ${HAVE:-none})"
  cargo install wasm-bindgen-cli --version "$WANT" --locked
fi

if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "npm ci (end2end: playwright, binaryen, sass)"
  (cd end2end && npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "--browser" ]; then
  APT=()
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    APT+=(chromium chromium-driver)
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null; then
    APT+=(postgresql postgresql-client)
  fi
  if [ ${#APT[@]} -gt 0 ]; then
    step "apt-get install ${APT[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # RUNLEVEL=1: the package need not start its own cluster; the tests start throwaway ones.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${APT[@]}"
  fi
fi
