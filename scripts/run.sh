#!/usr/bin/env bash
# `make run` / `make watch`: installs missing tools, starts the project's Postgres unless
# DATABASE_URL is set, builds, and serves the app (Ctrl-C stops it cleanly).
#   scripts/run.sh [serve|watch]
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-serve}
scripts/tools.sh build

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start "${DEV_PG_DIR:-.data/postgres}" "${DEV_PG_PORT:-54329}")
  export DATABASE_URL
  echo "[run] Postgres is up and stays up between runs; \`make stop-db\` stops it"
fi

case "$mode" in
  serve)
    cargo leptos build
    echo "[run] serving on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
    exec ./target/debug/server
    ;;
  watch)
    exec cargo leptos watch
    ;;
  *) echo "usage: $0 [serve|watch]" >&2; exit 2 ;;
esac
