#!/usr/bin/env bash
# `make soak`: release-builds the server and bench/, starts the server on its own database with
# a catalogue of SOAK_PRODUCTS products, and runs `bench soak`: a saturation probe of the mix,
# then SOAK_SECONDS (default 600) of mixed traffic at half the probe's rate (registrations and
# activations, sign-ins, profile reads, catalogue searches, orders). Exits 1 on any 5xx or
# unanswered request, or when the server's resident memory in the last minute is more than
# 10 % off the first minute's. Not part of `make test`.
#
#   SOAK_SECONDS=120 bench/soak.sh      a shorter run
#   SOAK_RATE=40 bench/soak.sh          a fixed rate instead of half the probe's
#   SOAK_BUILD=0 bench/soak.sh          use the binaries already built
#
# Postgres: DATABASE_URL when set (its role must be able to create databases; a database
# soak_<pid> is created and dropped), otherwise a throwaway cluster under target/ that is
# removed at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-}
SOAK_BUILD=${SOAK_BUILD:-1}
PROBE_SECONDS=${PROBE_SECONDS:-20}
PROBE_CONNECTIONS=${PROBE_CONNECTIONS:-8}
# Often enough that a minute's median is not moved by the 19 MiB argon2 blocks of hashes in flight.
SAMPLE_SECONDS=${SAMPLE_SECONDS:-2}
# Products named "Soak <colour> <thing> N", with stock no soak can exhaust.
SOAK_PRODUCTS=2000

log() { printf '[soak] %s\n' "$*" >&2; }

target_dir=${CARGO_TARGET_DIR:-target}
work_dir="target/soak"
server_log="$work_dir/server.log"
pg_dir=""
db_url=""
db_name="soak_$$"
server_pid=""

cleanup() {
  stop_server
  if [ -n "$pg_dir" ]; then
    scripts/postgres.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
    pg_dir=""
  elif [ -n "$db_url" ]; then
    scripts/postgres.sh drop-db "$DATABASE_URL" "$db_name" || true
  fi
  db_url=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 300 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

build() {
  scripts/tools.sh build node
  log "building the server and the site (release)"
  scripts/build.sh release
  log "building the bench (release)"
  cargo build --release -p bench
}

prepare_database() {
  if [ -z "${DATABASE_URL:-}" ]; then
    pg_dir="target/pg-soak-$$"
    local port
    port=$(scripts/postgres.sh free-port)
    DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$port" --throwaway)
    export DATABASE_URL
  else
    log "using DATABASE_URL from the environment"
  fi
  scripts/postgres.sh create-db "$DATABASE_URL" "$db_name"
  db_url="${DATABASE_URL%/*}/$db_name"
}

# The catalogue, after the server applied the migrations.
seed_products() {
  scripts/postgres.sh psql "$db_url" -X -q -v ON_ERROR_STOP=1 -v products="$SOAK_PRODUCTS" <<'SQL'
insert into products (name, description, price_cents, stock)
select 'Soak ' || (array['Sage', 'Ochre', 'Indigo', 'Charcoal', 'Ivory', 'Teal', 'Mustard',
                          'Navy'])[1 + n % 8]
       || ' ' || (array['Kettle', 'Teapot', 'Mug', 'Skillet', 'Whisk', 'Lantern', 'Vase',
                        'Cushion', 'Blanket', 'Notebook'])[1 + n / 8 % 10]
       || ' ' || n,
       'A product of the soak run', 100 + n % 5000, 100000000
from generate_series(1, :products) as n;
vacuum (analyze) products;
SQL
}

wait_ready() {
  local url=$1 deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl --noproxy '*' -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "the server exited during start-up; the end of its log:"
      tail -n 20 "$server_log" >&2
      return 1
    fi
    sleep 0.5
  done
  log "the server was not ready within 60 s"
  return 1
}

[ "$SOAK_BUILD" = 0 ] || build
prepare_database
server_port=$(scripts/postgres.sh free-port)
smtp_port=$(scripts/postgres.sh free-port)
while [ "$smtp_port" = "$server_port" ]; do smtp_port=$(scripts/postgres.sh free-port); done
mkdir -p "$work_dir"
log "starting the server on 127.0.0.1:$server_port (log: $server_log)"
# As production runs it (JSON logs, the production refusals), with the rate limits off: all the
# traffic comes from one address.
env DATABASE_URL="$db_url" LEPTOS_SITE_ADDR="127.0.0.1:$server_port" LEPTOS_SITE_ROOT=target/site \
  APP_ENV=production RUST_LOG=warn SMTP_URL="smtp://127.0.0.1:$smtp_port" \
  APP_BASE_URL="https://127.0.0.1:$server_port" RATE_LIMIT_REGISTER_PER_IP=0 RATE_LIMIT_LOGIN_PER_IP=0 \
  SECRET_KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  "$target_dir/release/server" >"$server_log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$server_port"
wait_ready "$url"
seed_products

rate_args=(--probe-seconds "$PROBE_SECONDS" --probe-connections "$PROBE_CONNECTIONS")
[ -z "$SOAK_RATE" ] || rate_args=(--rate "$SOAK_RATE")
status=0
"$target_dir/release/bench" soak --url "$url" --smtp-port "$smtp_port" --server-pid "$server_pid" \
  --seconds "$SOAK_SECONDS" --sample-seconds "$SAMPLE_SECONDS" "${rate_args[@]}" || status=$?
stop_server
exit "$status"
