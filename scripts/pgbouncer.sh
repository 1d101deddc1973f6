#!/usr/bin/env bash
# Debian's PgBouncer in front of a Postgres, run as an ordinary user from a directory of its own.
#
#   scripts/pgbouncer.sh start DIR PORT DATABASE_URL   start it on 127.0.0.1:PORT in front of
#                                                      DATABASE_URL's server; prints the same URL
#                                                      through PgBouncer
#   scripts/pgbouncer.sh stop DIR                      stop it (no-op when not running)
#
# PGBOUNCER_POOL_MODE (default `session`), PGBOUNCER_POOL_SIZE (Postgres connections per
# database and user, default 20) and PGBOUNCER_MAX_CLIENT_CONN (default 500) tune it.
#
# Session mode is what the server needs with Debian 12's PgBouncer 1.18: sqlx prepares every
# query as a named statement, which transaction mode loses between transactions before 1.21
# (`max_prepared_statements`), and the workers' LISTEN and the migrations' advisory lock hold a
# session. What was measured is in deploy/kubernetes/README.md ("PgBouncer").
#
# Clients log in with SCRAM-SHA-256 against the URL's user and password, which PgBouncer keeps
# in DIR/userlist.txt (mode 600) and also uses to log in to Postgres (SCRAM as well). Every
# database name is passed through (`*`), so the tests' throwaway databases work. As root it runs
# as the `postgres` user: PgBouncer refuses to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[pgbouncer] %s\n' "$*" >&2; }
die() { printf '[pgbouncer] error: %s\n' "$*" >&2; exit 1; }

pgbouncer_bin=${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}

as_runner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The parts of a postgres:// URL, one per line: user, password, host, port, database.
url_parts() {
  python3 - "$1" <<'PY'
import sys
from urllib.parse import urlsplit, unquote
u = urlsplit(sys.argv[1])
if u.scheme not in ("postgres", "postgresql") or not u.hostname:
    sys.exit("not a postgres:// URL with a host")
print(unquote(u.username or ""))
print(unquote(u.password or ""))
print(u.hostname)
print(u.port or 5432)
print(unquote(u.path.lstrip("/")) or unquote(u.username or ""))
PY
}

cmd_start() {
  local dir=${1:?usage: $0 start DIR PORT DATABASE_URL} port=${2:?port} url=${3:?DATABASE_URL}
  local mode=${PGBOUNCER_POOL_MODE:-session}
  case "$mode" in session|transaction|statement) ;; *) die "PGBOUNCER_POOL_MODE: session, transaction or statement" ;; esac
  [ -x "$pgbouncer_bin" ] || scripts/tools.sh pgbouncer
  local parts user password host pg_port database
  parts=$(url_parts "$url") || die "DATABASE_URL is not a postgres:// URL with a host"
  { read -r user; read -r password; read -r host; read -r pg_port; read -r database; } <<<"$parts"
  [ -n "$user" ] && [ -n "$password" ] || die "DATABASE_URL needs a user and a password (SCRAM)"
  case "$user$password" in *'"'*) die "a double quote in the user or password is not supported here" ;; esac

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  cmd_stop "$dir" 2>/dev/null || true
  [ "$(id -u)" -ne 0 ] || as_runner test -x "$dir" ||
    die "the postgres user cannot reach $dir"
  (umask 077; printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt")
  cat >"$dir/pgbouncer.ini" <<INI
; Written by scripts/pgbouncer.sh: $mode pooling in front of $host:$pg_port.
[databases]
* = host=$host port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = $user
stats_users = $user
pool_mode = $mode
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
max_client_conn = ${PGBOUNCER_MAX_CLIENT_CONN:-500}
; sqlx sends extra_float_digits at start-up; PgBouncer 1.18 refuses a parameter it does not
; know unless told to ignore it (DateStyle, TimeZone, client_encoding, application_name it
; tracks itself). sqlx's options parameter (sent only when the URL sets it) cannot be ignored safely.
ignore_startup_parameters = extra_float_digits
; Session state would otherwise leak from one client to the next on a reused connection.
server_reset_query = DISCARD ALL
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir" "$dir/userlist.txt" "$dir/pgbouncer.ini"
    touch "$dir/pgbouncer.log" && chown postgres: "$dir/pgbouncer.log"
  fi
  as_runner "$pgbouncer_bin" -d -q "$dir/pgbouncer.ini" ||
    { tail -n 20 "$dir/pgbouncer.log" >&2 2>/dev/null; die "could not start (log: $dir/pgbouncer.log)"; }

  local through
  through=$(python3 - "$url" "$port" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
auth = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
print(urlunsplit((u.scheme, f"{auth}127.0.0.1:{sys.argv[2]}", u.path, u.query, u.fragment)))
PY
)
  local deadline=$((SECONDS + 10))
  until PGCONNECT_TIMEOUT=2 psql "$through" -Atqc 'select 1' >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 20 "$dir/pgbouncer.log" >&2 || true
      die "PgBouncer on 127.0.0.1:$port does not pass connections to $host:$pg_port"
    fi
    sleep 0.2
  done
  log "$mode pooling on 127.0.0.1:$port in front of $host:$pg_port (log: $dir/pgbouncer.log)"
  echo "$through"
}

cmd_stop() {
  local dir=${1:?usage: $0 stop DIR} pid
  [ -s "$dir/pgbouncer.pid" ] || return 0
  pid=$(cat "$dir/pgbouncer.pid")
  if kill -0 "$pid" 2>/dev/null; then
    # SIGTERM: stop at once (SIGINT would wait for every client to leave).
    kill -TERM "$pid"
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    log "stopped ($dir)"
  fi
  rm -f "$dir/pgbouncer.pid"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
