#!/usr/bin/env bash
# The one way the app is built, for every script that builds it:
#   scripts/build.sh release   what ships: the server in release; the WASM optimised for size,
#                              split into one chunk per page (`--split`), with content-hashed
#                              names and brotli/gzip copies of every static file (`--precompress`)
#   scripts/build.sh dev       `make run`: a debug server, the same split WASM (the pages load
#                              their code through the splitter's loader, so an unsplit build
#                              cannot run them)
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-leptos runs wasm-opt for release builds; it comes with the end2end npm packages.
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
case "${1:-}" in
  release) exec cargo leptos build --release --split --precompress ;;
  dev) exec cargo leptos build --split ;;
  *) echo "usage: $0 release|dev" >&2; exit 2 ;;
esac
