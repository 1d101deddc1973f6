#!/usr/bin/env bash
# A project-local Postgres, for when DATABASE_URL is not set.
#
#   scripts/postgres.sh start DIR PORT [--throwaway]   start (initialising DIR if new); prints DATABASE_URL
#   scripts/postgres.sh stop DIR                       stop it (no-op when not running)
#   scripts/postgres.sh create-db URL NAME             create database NAME on URL's server unless it exists
#   scripts/postgres.sh drop-db URL NAME               drop database NAME on URL's server
#   scripts/postgres.sh free-port                      print a free TCP port on 127.0.0.1
#   scripts/postgres.sh psql URL [ARGS...]             psql on URL (the cluster's own if psql is not on PATH)
#
# It listens on 127.0.0.1 only (no Unix socket), with password authentication for the role
# `accounts`; the password is generated once and kept beside the data directory.
# As root it runs the server as the `postgres` user (initdb refuses to run as root).
set -euo pipefail

log() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] error: %s\n' "$*" >&2; exit 1; }

pg_bindir() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  return 1
}

ensure_binaries() {
  pg_bindir >/dev/null && return
  log "PostgreSQL server binaries not found; installing Debian's postgresql package"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  pg_bindir >/dev/null || die "postgresql installed but pg_ctl is still missing"
}

# Runs a command as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

run_psql() {
  if command -v psql >/dev/null 2>&1; then
    psql "$@"
  else
    ensure_binaries
    "$(pg_bindir)/psql" "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
  local dir=$1 port=$2 throwaway=${3:-}
  ensure_binaries
  local bin; bin=$(pg_bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local data="$dir/data" pwfile="$dir/password" logfile="$dir/postgres.log"

  if [ ! -s "$pwfile" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
  fi
  local password; password=$(cat "$pwfile")

  if [ "$(id -u)" -eq 0 ]; then
    as_owner test -x "$dir" 2>/dev/null ||
      die "the postgres user cannot reach $dir; clone the project somewhere every user can read, or set DATABASE_URL"
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a new cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    chmod 700 "$data"
    local tmp_pw; tmp_pw=$(mktemp)
    printf '%s\n' "$password" > "$tmp_pw"
    chmod 644 "$tmp_pw"
    as_owner "$bin/initdb" --pgdata="$data" --username=accounts --auth=scram-sha-256 \
      --pwfile="$tmp_pw" --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { rm -f "$tmp_pw"; cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$tmp_pw"
  fi

  local url="postgres://accounts:${password}@127.0.0.1:${port}/accounts"
  if as_owner "$bin/pg_ctl" status --pgdata="$data" >/dev/null 2>&1; then
    log "already running ($data)"
  else
    local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories= -c max_connections=200"
    # A throwaway test cluster trades durability for speed; the dev cluster keeps your data safe.
    [ "$throwaway" = "--throwaway" ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    touch "$logfile"; [ "$(id -u)" -eq 0 ] && chown postgres: "$logfile"
    as_owner "$bin/pg_ctl" start --pgdata="$data" --wait --timeout=60 --log="$logfile" -o "$opts" >/dev/null ||
      { tail -n 20 "$logfile" >&2; die "could not start Postgres (log: $logfile)"; }
    log "started on 127.0.0.1:$port (log: $logfile)"
  fi
  cmd_create_db "$url" accounts
  echo "$url"
}

cmd_stop() {
  local dir=$1
  [ -f "$dir/data/PG_VERSION" ] || return 0
  local bin; bin=$(pg_bindir) || return 0
  if as_owner "$bin/pg_ctl" status --pgdata="$dir/data" >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" stop --pgdata="$dir/data" --mode=fast --wait >/dev/null
    log "stopped ($dir/data)"
  fi
}

cmd_create_db() {
  local url=$1 name=$2
  local admin_url="${url%/*}/postgres"
  local exists
  exists=$(run_psql "$admin_url" -Atqc "select 1 from pg_database where datname = '$name'")
  if [ "$exists" != "1" ]; then
    run_psql "$admin_url" -qc "create database \"$name\"" >/dev/null
  fi
}

cmd_drop_db() {
  local url=$1 name=$2
  run_psql "${url%/*}/postgres" -qc "drop database if exists \"$name\" with (force)" >/dev/null
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  create-db) shift; cmd_create_db "$@" ;;
  drop-db) shift; cmd_drop_db "$@" ;;
  free-port) free_port ;;
  psql) shift; run_psql "$@" ;;
  ensure-binaries) ensure_binaries ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
