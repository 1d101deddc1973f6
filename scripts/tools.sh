#!/usr/bin/env bash
# Installs what building and testing need, only when missing or at the wrong version:
#   scripts/tools.sh build   the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching Cargo.lock
#   scripts/tools.sh node    npm packages of end2end/ (Playwright, binaryen's wasm-opt)
#   scripts/tools.sh browser Debian's Chromium, for the end-to-end tests
#   scripts/tools.sh nginx   Debian's nginx (with openssl and envsubst), the load balancer of `make cluster`
#                            and of the several-replicas test
#   scripts/tools.sh deploy  systemd-analyze and pg_dump/pg_restore, for the tests of deploy/
#   scripts/tools.sh pgbouncer  Debian's PgBouncer (1.18 on Debian 12), for `make cluster PGBOUNCER=1`
#   scripts/tools.sh flame   Debian's perf and the inferno crate, for bench/flame.sh
# Nothing here downloads from outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
INFERNO_VERSION=0.12.8

log() { printf '[tools] %s\n' "$*" >&2; }

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

lock_version() { # the version of a package in Cargo.lock
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

build_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores, once)"
    cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION" >&2
  fi
  local want; want=$(lock_version wasm-bindgen)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (matches Cargo.lock; about 3 minutes, once)"
    # Not --locked: a dependency it locked is gone from the registry.
    cargo install wasm-bindgen-cli --version "$want" >&2
  fi
}

node_tools() {
  command -v npm >/dev/null || apt_install nodejs npm
  local stamp=end2end/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ end2end/package-lock.json -nt "$stamp" ]; then
    log "installing end2end npm packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

browser() {
  local chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
  if [ ! -x "$chromium" ]; then
    log "installing Debian's chromium"
    apt_install chromium
  fi
}

# Debian's package installs the binary at /usr/sbin/nginx (not on a normal user's PATH) and
# starts a system service on port 80; the project never uses that service: `make cluster` and
# the tests run their own nginx with their own configuration, as whoever runs them.
nginx_tools() {
  local nginx=${NGINX:-/usr/sbin/nginx}
  if [ ! -x "$nginx" ] || ! command -v openssl >/dev/null || ! command -v envsubst >/dev/null; then
    log "installing Debian's nginx, openssl and envsubst"
    apt_install nginx openssl gettext-base
  fi
}

# Like nginx: Debian's package may start a system service (on 6432); the project never uses it,
# scripts/pgbouncer.sh runs its own, as whoever runs it, from a directory under target/.
pgbouncer_tools() {
  local pgbouncer=${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}
  if [ ! -x "$pgbouncer" ] || ! command -v psql >/dev/null; then
    log "installing Debian's pgbouncer (and psql)"
    apt_install pgbouncer postgresql-client
  fi
}

deploy_tools() {
  if ! command -v systemd-analyze >/dev/null; then
    log "installing Debian's systemd (for systemd-analyze)"
    apt_install systemd
  fi
  if ! command -v pg_dump >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_dump >/dev/null 2>&1; then
    log "installing Debian's postgresql-client (for pg_dump)"
    apt_install postgresql-client
  fi
}

flame_tools() {
  if ! command -v perf >/dev/null; then
    log "installing Debian's perf"
    apt_install linux-perf
  fi
  if ! cargo install --list | grep -qx "inferno v$INFERNO_VERSION:"; then
    log "installing inferno $INFERNO_VERSION (flame graphs from perf's stacks; about a minute, once)"
    cargo install --locked "inferno@$INFERNO_VERSION" >&2
  fi
}

for what in "$@"; do
  case "$what" in
    build) build_tools ;;
    node) node_tools ;;
    browser) browser ;;
    nginx) nginx_tools ;;
    deploy) deploy_tools ;;
    pgbouncer) pgbouncer_tools ;;
    flame) flame_tools ;;
    *) echo "usage: $0 build|node|browser|nginx|deploy|pgbouncer|flame ..." >&2; exit 2 ;;
  esac
done
