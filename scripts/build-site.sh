#!/usr/bin/env bash
# Builds the site without cargo-leptos: the WASM frontend (wasm-release), wasm-bindgen,
# sass, and the release server binary (wasm-opt only with WASM_OPT=1, see below).
# Steps mirror `cargo leptos build --release`; see ../shared/docs/leptos-notes.md §5.
# Each output is rebuilt only when its inputs changed, so a second run does almost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=stablesteering
SITE=target/site
PKG=$SITE/pkg
FRONT_TARGET=target/front
WASM_IN=$FRONT_TARGET/wasm32-unknown-unknown/wasm-release/frontend.wasm
export LEPTOS_OUTPUT_NAME=$NAME LEPTOS_SITE_ROOT=$SITE LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_LIB_DIR=frontend LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=false LEPTOS_HASH_FILES=false

step() { printf '== [%ss] %s\n' "$SECONDS" "$*"; }

step "frontend (wasm-release)"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown \
  --no-default-features --profile wasm-release --target-dir "$FRONT_TARGET"

step "server (release)"
cargo build --locked -p server --bin stablesteering --release ${SERVER_FEATURES:+--features "$SERVER_FEATURES"}

mkdir -p "$PKG"
if [ ! -f "$PKG/$NAME.wasm" ] || [ "$WASM_IN" -nt "$PKG/$NAME.wasm" ]; then
  step "wasm-bindgen + wasm-opt"
  tmp=$(mktemp -d)
  wasm-bindgen --target=web --remove-name-section --remove-producers-section \
    --out-name="$NAME" --out-dir="$tmp" "$WASM_IN"
  mv "$tmp/${NAME}_bg.wasm" "$tmp/$NAME.wasm"
  # wasm-opt -Oz (npm binaryen 132) is skipped: on this app it shrinks the raw module
  # (1.39 → 1.14 MB) but grows the gzipped download (397 → 426 KB), which is what a person waits
  # for. Set WASM_OPT=1 to run it anyway.
  if [ "${WASM_OPT:-0}" = 1 ]; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$tmp/$NAME.wasm" -o "$tmp/$NAME.wasm"
  fi
  cp "$tmp/$NAME.js" "$PKG/$NAME.js"
  cp "$tmp/$NAME.wasm" "$PKG/$NAME.wasm"
  rm -rf "$tmp"
else
  step "wasm unchanged: skipping wasm-bindgen and wasm-opt"
fi

if [ ! -f "$PKG/$NAME.css" ] || [ -n "$(find style -newer "$PKG/$NAME.css" -type f)" ]; then
  step "sass"
  sass --no-source-map style/main.scss "$PKG/$NAME.css"
fi

# Precompressed copies for the server's /pkg route (brotli q11 and gzip -9, with node's zlib so
# no extra tool is needed); rebuilt whenever the original is newer.
for f in "$PKG/$NAME.wasm" "$PKG/$NAME.js" "$PKG/$NAME.css"; do
  if [ ! -f "$f.br" ] || [ "$f" -nt "$f.br" ]; then
    node -e 'const z=require("zlib"),fs=require("fs"),f=process.argv[1],b=fs.readFileSync(f);
      fs.writeFileSync(f+".br",z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}));
      fs.writeFileSync(f+".gz",z.gzipSync(b,{level:9}));' "$f"
  fi
done

if [ -d public ]; then cp -r public/. "$SITE/"; fi
step "site ready in $SITE"
