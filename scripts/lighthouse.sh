#!/usr/bin/env bash
# `make lighthouse`: Lighthouse (mobile preset: a mid-range phone, simulated slow 4G and a 4x
# slower CPU) on the release build, for /, /register, /login, /products and /account (signed
# in). Prints one table and keeps the JSON reports in target/lighthouse/. Not part of `make test`:
# scores move with whatever else a 2-core machine is doing.
#
# Lighthouse 12.2.3 is the newest that runs on Node 20; it is installed here on first use (into
# target/lighthouse/node_modules) and drives Debian's Chromium (CHROME_PATH).
# Postgres: DATABASE_URL when set, otherwise a throwaway cluster under target/, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

LIGHTHOUSE_VERSION=12.2.3
out="$PWD/target/lighthouse"
chrome=${CHROME_PATH:-/usr/bin/chromium}
log() { printf '[lighthouse] %s\n' "$*" >&2; }

scripts/tools.sh build node browser
mkdir -p "$out"
if [ "$(node -p "try { require('$out/node_modules/lighthouse/package.json').version } catch { '' }")" != "$LIGHTHOUSE_VERSION" ]; then
  log "installing lighthouse@$LIGHTHOUSE_VERSION"
  npm install --prefix "$out" --no-audit --no-fund --silent "lighthouse@$LIGHTHOUSE_VERSION" >/dev/null
fi
scripts/build.sh release

pg_dir="" server_pid="" db="accounts_lighthouse_$$"
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "${DATABASE_URL:-}" ]; then scripts/postgres.sh drop-db "$DATABASE_URL" "$db" >/dev/null 2>&1 || true; fi
  if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; fi
}
trap cleanup EXIT
if [ -z "${DATABASE_URL:-}" ]; then
  pg_dir="target/pg-lighthouse-$$"
  DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$(scripts/postgres.sh free-port)" --throwaway)
fi
scripts/postgres.sh create-db "$DATABASE_URL" "$db"
database="${DATABASE_URL%/*}/$db"
port=$(scripts/postgres.sh free-port)
base="http://127.0.0.1:$port"

export DATABASE_URL="$database" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
  METRICS_ADDR=off APP_ENV=development SMTP_URL= RUST_LOG=warn
target/release/server migrate
# The demo catalogue, so that /products shows what a visitor would see.
scripts/postgres.sh psql "$database" -X -q -At -v ON_ERROR_STOP=1 -f scripts/seed.sql >/dev/null
# Someone to be signed in as on /account.
email="lighthouse-$$@example.com" password="lighthouse-$$-correct-horse"
printf '%s\n' "$password" | target/release/server create-admin --email "$email" \
  --first-name Ada --last-name Lovelace --phone "+44 20 7946 0000" >/dev/null
target/release/server >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null
cookie=$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/api/login" |
  awk 'tolower($1) == "set-cookie:" { sub(/;.*/, "", $2); print $2; exit }' | tr -d '\r')
[ -n "$cookie" ] || { log "could not sign in"; exit 1; }

run() { # NAME PATH [HEADERS_JSON]
  local args=("$base$2" --quiet --output=json --output-path="$out/$1.json"
    --only-categories=performance,accessibility,best-practices,seo
    --chrome-flags="--headless=new --no-sandbox --disable-gpu")
  [ -z "${3:-}" ] || args+=(--extra-headers="$3")
  log "$2"
  CHROME_PATH="$chrome" "$out/node_modules/.bin/lighthouse" "${args[@]}"
}
run home /
run register /register
run login /login
run products /products
run account /account "{\"Cookie\":\"$cookie\"}"

node - "$out" home register login products account <<'EOF'
const [dir, ...names] = process.argv.slice(2);
const rows = [['page', 'perf', 'a11y', 'best', 'seo', 'LCP', 'TBT', 'CLS', 'transfer']];
for (const name of names) {
  const r = require(`${dir}/${name}.json`);
  const score = (c) => String(Math.round(r.categories[c].score * 100));
  const audit = (a) => r.audits[a].numericValue;
  rows.push([
    new URL(r.finalDisplayedUrl).pathname,
    score('performance'), score('accessibility'), score('best-practices'), score('seo'),
    `${(audit('largest-contentful-paint') / 1000).toFixed(2)} s`,
    `${Math.round(audit('total-blocking-time'))} ms`,
    audit('cumulative-layout-shift').toFixed(3),
    `${(audit('total-byte-weight') / 1024).toFixed(0)} KiB`,
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
EOF
log "reports: $out/*.json"
