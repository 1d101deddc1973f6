#!/usr/bin/env bash
# Builds the form three ways (alone, under the router, as an island) as the app's release build
# is built (size profile, wasm-bindgen, wasm-opt -Oz), and prints each one's WASM and JS, raw
# and brotli (quality 11). The JS is not minified here, as cargo-leptos would. Needs `make tools`
# (wasm-bindgen, the end2end npm packages).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD/../..
export PATH="$root/end2end/node_modules/.bin:$PATH"
out=$root/target/size-floor
mkdir -p "$out"
printf '%-8s %12s %10s %10s\n' build 'WASM bytes' 'WASM br' 'JS br'
for build in alone router islands; do
  features=()
  [[ $build != alone ]] && features=(--features "$build")
  cargo build -q --locked --release --target wasm32-unknown-unknown \
    --target-dir "$out/cargo" "${features[@]}"
  rm -rf "${out:?}/$build"
  wasm-bindgen --target web --no-typescript --out-dir "$out/$build" \
    "$out/cargo/wasm32-unknown-unknown/release/size_floor.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --strip-debug --strip-producers \
    "$out/$build/size_floor_bg.wasm" -o "$out/$build/size_floor_bg.wasm"
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const br = (f) => zlib.brotliCompressSync(fs.readFileSync(f),
      { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length / 1024;
    const [build, wasm, js] = process.argv.slice(1);
    console.log(build.padEnd(8), String(fs.statSync(wasm).size).padStart(12),
      (br(wasm).toFixed(1) + " KiB").padStart(10), (br(js).toFixed(1) + " KiB").padStart(10));
  ' "$build" "$out/$build/size_floor_bg.wasm" "$out/$build/size_floor.js"
done
