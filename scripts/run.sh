#!/usr/bin/env bash
# `make run` / `make watch` / `make admin` / `make seed`: installs missing tools, starts the
# project's Postgres unless DATABASE_URL is set, builds, and serves the app (Ctrl-C stops it
# cleanly), creates an administrator in the same database, or fills it with demo products.
#   scripts/run.sh [serve|watch]
#   scripts/run.sh admin EMAIL FIRST LAST PHONE     (the password: asked for, or one stdin line)
#   scripts/run.sh seed                             (scripts/seed.sql; running it again adds nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-serve}
if [ "$mode" = admin ]; then
  if [ $# -ne 5 ] || [ -z "$2" ] || [ -z "$3" ] || [ -z "$4" ] || [ -z "$5" ]; then
    echo "usage: make admin EMAIL=… FIRST=… LAST=… PHONE=…" >&2
    exit 2
  fi
fi
scripts/tools.sh build

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start "${DEV_PG_DIR:-.data/postgres}" "${DEV_PG_PORT:-54329}")
  export DATABASE_URL
  echo "[run] Postgres is up and stays up between runs; \`make stop-db\` stops it"
fi

case "$mode" in
  serve)
    scripts/build.sh dev
    addr=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
    # A host name, not the IP address: passkeys (WebAuthn) refuse an IP address.
    echo "[run] serving on http://$addr: open ${APP_BASE_URL:-http://localhost:${addr##*:}}"
    exec ./target/debug/server
    ;;
  watch)
    exec cargo leptos watch --split
    ;;
  admin)
    # The binary `make run` serves, so a following `make run` has nothing to rebuild.
    scripts/build.sh dev >&2
    exec ./target/debug/server create-admin --email "$2" --first-name "$3" --last-name "$4" --phone "$5"
    ;;
  seed)
    # The same binary again, to bring the schema up to date before the seed writes to it.
    scripts/build.sh dev >&2
    ./target/debug/server migrate
    scripts/postgres.sh psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -f scripts/seed.sql
    ;;
  *) echo "usage: $0 [serve|watch|admin EMAIL FIRST LAST PHONE|seed]" >&2; exit 2 ;;
esac
