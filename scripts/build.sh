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
# What `front` makes, and the record of the inputs it was made from (outside target/site, which
# the server serves).
site=target/site
hashes=target/release/hash.txt
record=target/front/site-inputs

# A digest of everything the browser build reads: each local source file the last WASM build
# read (cargo's dep-info lists them, include_str! files too; a new file is reached only through
# one of them), the manifests and lock files (dependencies from the registry are fixed by
# Cargo.lock), the style and static files, the toolchain, the build tools and their settings.
# Fails when there is no earlier build to take the list from.
front_inputs() {
  local depinfo=target/front/wasm32-unknown-unknown/wasm-release/frontend.d
  [ -s "$depinfo" ] || return 1
  {
    cut -d: -f2- "$depinfo" | tr ' ' '\n' | grep -v '^$'
    printf '%s\n' Cargo.lock scripts/build.sh end2end/package-lock.json
    find . -name Cargo.toml -not -path './target/*' -not -path './end2end/*'
    find .cargo style public -type f
  } | sort -u | while IFS= read -r path; do
    # A folder the build reads as a whole (the translations, `app/locales`): every file in it.
    if [ -d "$path" ]; then find "$path" -type f; else printf '%s\n' "$path"; fi
  done | sort -u | xargs sha256sum || return 1
  rustc -vV && cargo leptos --version && wasm-bindgen --version && wasm-opt --version
  env | grep -E '^(RUSTFLAGS|RUSTC|CARGO_BUILD|CARGO_ENCODED|CARGO_PROFILE|CARGO_TARGET|LEPTOS_)' | sort || true
}
# A digest of what the browser build made.
front_outputs() {
  [ -s "$hashes" ] && [ -d "$site/pkg" ] || return 1
  find "$site" -type f -print0 | sort -z | xargs -0 sha256sum && sha256sum "$hashes"
}

case "${1:-}" in
  release) exec cargo leptos build --release --split --precompress ;;
  front)
    # Nothing the WASM is made from changed since the site under target/site was made from it,
    # and the site is as that build left it (a dev build writes there too): the build would make
    # the same bytes again, and wasm-bindgen and wasm-opt alone take over a minute on 2 cores.
    if [ -s "$record" ] && inputs=$(front_inputs 2>/dev/null | sha256sum | cut -d' ' -f1) &&
      outputs=$(front_outputs 2>/dev/null | sha256sum | cut -d' ' -f1) &&
      [ "$(cat "$record")" = "$inputs $outputs" ]; then
      echo "[build] the WASM's inputs and target/site are as the last build left them: kept"
      exit 0
    fi
    rm -f "$record"
    mkdir -p target/front
    : >"$record.started"
    cargo leptos build --release --split --precompress --frontend-only
    # Recorded only when no input changed while the build ran (the build may have read either
    # version of such a file).
    inputs=$(front_inputs | sha256sum | cut -d' ' -f1) &&
      outputs=$(front_outputs | sha256sum | cut -d' ' -f1) || exit 0
    for file in $(cut -d: -f2- target/front/wasm32-unknown-unknown/wasm-release/frontend.d); do
      [ "$file" -nt "$record.started" ] && exit 0
    done
    echo "$inputs $outputs" >"$record"
    ;;
  dev) exec cargo leptos build --split ;;
  *) echo "usage: $0 release|front|dev" >&2; exit 2 ;;
esac
