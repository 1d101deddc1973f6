#!/usr/bin/env bash
# `make cluster`: several app servers on one Postgres behind Debian's nginx, configured with the
# production site deploy/nginx/accounts.conf (TLS with a self-signed certificate made here,
# HSTS, forwarding headers, /pkg served by nginx). Ctrl-C stops everything it started.
#
#   scripts/cluster.sh [REPLICAS]        2 or 3 (default 3)
#   scripts/cluster.sh nginx-conf DIR HTTPS_PORT HTTP_PORT HOST:PORT...
#                                        only write DIR/nginx.conf (and the site, and a
#                                        certificate) for those app servers: bench/run.sh's
#                                        cluster run uses it
#
# CLUSTER_PORT (default 8443) is where nginx serves https; CLUSTER_HTTP_PORT (8080) only
# redirects there; the app servers listen on CLUSTER_APP_PORT (3101) and the ports after it.
# Postgres: DATABASE_URL when set, otherwise the project's own (as `make run`).
# PGBOUNCER=1: the migrations and every app server reach it through Debian's PgBouncer in
# session mode (scripts/pgbouncer.sh) on CLUSTER_PGBOUNCER_PORT (6432), with Postgres
# connections for every replica's whole pool (PGBOUNCER_POOL_SIZE to change it).
#
# Mail: with SMTP_URL set, the servers run with APP_ENV=production (the settings production
# demands: an https APP_BASE_URL, a SECRET_KEY of our own, SMTP). Without it they run in
# development with the dev mailbox (production refuses to start without SMTP), which every
# replica serves from the shared outbox at https://127.0.0.1:8443/dev/mailbox.
set -euo pipefail
cd "$(dirname "$0")/.."

nginx_bin=${NGINX:-/usr/sbin/nginx}

log() { printf '[cluster] %s\n' "$*" >&2; }

# make_cert DIR: a self-signed certificate for 127.0.0.1 and localhost, unless DIR has one.
make_cert() {
  if [ ! -s "$1/cert.pem" ] || [ ! -s "$1/key.pem" ]; then
    log "making a self-signed certificate for 127.0.0.1 and localhost"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
  fi
}

# nginx_conf DIR HTTPS_PORT HTTP_PORT HOST:PORT...: the production site filled in for this
# machine (DIR/accounts.conf), and what Debian's /etc/nginx/nginx.conf provides in production
# (DIR/nginx.conf), with logs, pid and temporary files in DIR.
nginx_conf() {
  local dir=$1 https_port=$2 http_port=$3 servers="" server
  shift 3
  for server in "$@"; do servers+="server $server; "; done
  mkdir -p "$dir/tmp"
  make_cert "$dir"
  SERVER_NAME="127.0.0.1 localhost" APP_BASE_URL="https://127.0.0.1:$https_port" \
    HTTPS_PORT="$https_port" HTTP_PORT="$http_port" TLS_CERT="$dir/cert.pem" \
    TLS_KEY="$dir/key.pem" SITE_ROOT="$PWD/target/site" APP_SERVERS="$servers" \
    envsubst '${SERVER_NAME} ${APP_BASE_URL} ${HTTPS_PORT} ${HTTP_PORT} ${TLS_CERT} ${TLS_KEY} ${SITE_ROOT} ${APP_SERVERS}' \
    <deploy/nginx/accounts.conf >"$dir/accounts.conf"
  {
    # As root, nginx's workers would otherwise run as nobody, who may not read the checkout.
    [ "$(id -u)" -ne 0 ] || echo "user root;"
    cat <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $dir/nginx-access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/accounts.conf;
}
CONF
  } >"$dir/nginx.conf"
  "$nginx_bin" -t -q -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf"
}

if [ "${1:-}" = nginx-conf ]; then
  [ $# -ge 5 ] || { echo "usage: $0 nginx-conf DIR HTTPS_PORT HTTP_PORT HOST:PORT..." >&2; exit 2; }
  shift
  nginx_conf "$@"
  exit 0
fi

replicas=${1:-3}
case "$replicas" in 2|3) ;; *) echo "usage: $0 [2|3]" >&2; exit 2 ;; esac
https_port=${CLUSTER_PORT:-8443}
http_port=${CLUSTER_HTTP_PORT:-8080}
app_port=${CLUSTER_APP_PORT:-3101}
dir="$PWD/target/cluster"
base_url="https://127.0.0.1:$https_port"

scripts/tools.sh build node nginx

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start "${DEV_PG_DIR:-.data/postgres}" "${DEV_PG_PORT:-54329}")
  export DATABASE_URL
  log "Postgres is up and stays up between runs; \`make stop-db\` stops it"
fi

pgbouncer_dir=""
stop_pgbouncer() { [ -z "$pgbouncer_dir" ] || scripts/pgbouncer.sh stop "$pgbouncer_dir"; }
if [ -n "${PGBOUNCER:-}" ] && [ "$PGBOUNCER" != 0 ]; then
  scripts/tools.sh pgbouncer
  pgbouncer_dir="$dir/pgbouncer"
  # Session pooling keeps a Postgres connection per client connection: room for every
  # replica's whole pool (the workers' LISTEN connections are in it) and the migrations.
  export PGBOUNCER_POOL_SIZE=${PGBOUNCER_POOL_SIZE:-$((replicas * ${DATABASE_MAX_CONNECTIONS:-10} + 2))}
  DATABASE_URL=$(scripts/pgbouncer.sh start "$pgbouncer_dir" "${CLUSTER_PGBOUNCER_PORT:-6432}" "$DATABASE_URL")
  export DATABASE_URL
  trap stop_pgbouncer EXIT
  trap 'exit 130' INT TERM
fi

scripts/build.sh release
# Once, before any server starts (each would otherwise race to apply them at start-up; sqlx's
# advisory lock makes that safe, but one clear step is easier to read when it fails).
target/release/server migrate

mkdir -p "$dir"
# Every replica must share the key of the one-time codes: one made once, kept for later runs
# so that codes sent before a restart still work.
if [ ! -s "$dir/secret_key" ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret_key")
fi

mode_env=(APP_ENV=development)
if [ -n "${SMTP_URL:-}" ]; then
  mode_env=(APP_ENV=production SMTP_URL="$SMTP_URL")
fi

pids=()
nginx_pid=""
stop_all() {
  trap - EXIT INT TERM
  if [ -n "$nginx_pid" ]; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
  fi
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" $nginx_pid; do wait "$pid" 2>/dev/null || true; done
  stop_pgbouncer
  log "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

servers=()
for i in $(seq 1 "$replicas"); do
  port=$((app_port + i - 1))
  # env execs the server: $! is the server's own process.
  env "${mode_env[@]}" \
    DATABASE_URL="$DATABASE_URL" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT=target/site \
    APP_BASE_URL="$base_url" \
    SECRET_KEY="$(cat "$dir/secret_key")" \
    TRUSTED_PROXIES=127.0.0.1/32 \
    METRICS_ADDR="127.0.0.1:$((9100 + i))" \
    RUST_LOG="${RUST_LOG:-info,sqlx=warn}" \
    target/release/server >"$dir/server-$i.log" 2>&1 &
  pids+=($!)
  servers+=("127.0.0.1:$port")
done

for i in $(seq 1 "$replicas"); do
  port=$((app_port + i - 1))
  deadline=$((SECONDS + 30))
  until curl --noproxy '*' -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "app server $i did not start; the end of $dir/server-$i.log:"
      tail -n 20 "$dir/server-$i.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done

nginx_conf "$dir" "$https_port" "$http_port" "${servers[@]}"
"$nginx_bin" -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
nginx_pid=$!

deadline=$((SECONDS + 10))
until curl --noproxy '*' -ksS -o /dev/null --max-time 2 "$base_url/healthz" 2>/dev/null; do
  if ! kill -0 "$nginx_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    log "nginx did not start; the end of $dir/nginx-error.log:"
    tail -n 20 "$dir/nginx-error.log" >&2
    exit 1
  fi
  sleep 0.2
done

log "$replicas app servers on ports $app_port-$((app_port + replicas - 1)) (logs: $dir/server-*.log; metrics on 127.0.0.1:9101-$((9100 + replicas)))"
[ -z "$pgbouncer_dir" ] || log "through PgBouncer (session pooling, $PGBOUNCER_POOL_SIZE Postgres connections): $pgbouncer_dir/pgbouncer.log"
if [ -n "${SMTP_URL:-}" ]; then
  log "APP_ENV=production, mail through SMTP_URL"
else
  log "APP_ENV=development: read the activation codes at $base_url/dev/mailbox"
fi
log "serving on $base_url (self-signed certificate: your browser will ask once); Ctrl-C stops it all"
wait "$nginx_pid"
