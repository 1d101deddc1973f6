#!/usr/bin/env bash
# The one way the app is built, for every script that builds it:
#   scripts/build.sh release   what ships: the server in release; the WASM optimised for size,
#                              split into one chunk per page (`--split`), with content-hashed
#                              names and brotli/gzip copies of every static file (`--precompress`)
#   scripts/build.sh front     only the browser side of `release` (the WASM, JS, CSS and static
#                              files under target/site, and target/release/hash.txt): what the
#                              end-to-end tests need besides a server binary (scripts/test.sh)
#   scripts/build.sh dev       `make run`: a debug server, the same split WASM (the pages load
#                              their code through the splitter's loader, so an unsplit build
#                              cannot run them)
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-leptos runs wasm-opt for release builds; it comes with the end2end npm packages.
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
case "${1:-}" in
  release) exec cargo leptos build --release --split --precompress ;;
  front) exec cargo leptos build --release --split --precompress --frontend-only ;;
  dev) exec cargo leptos build --split ;;
  *) echo "usage: $0 release|front|dev" >&2; exit 2 ;;
esac
