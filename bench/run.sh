#!/usr/bin/env bash
# `make bench`: release-builds the server and bench/, starts the server on its own database
# with an SMTP URL pointing at the bench's sink, runs the five measurements and prints a
# summary against the targets. Exits 0 when every target is met, 1 when one is missed.
#
# Postgres: DATABASE_URL when set (its role must be able to create databases; a database
# bench_<pid> is created and dropped), otherwise a throwaway cluster under target/ that is
# removed at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

ARGON2_SECONDS=15
SATURATION_CONNECTIONS=8
SATURATION_SECONDS=20
RATE=25
RATE_SECONDS=20
PROFILE_CONNECTIONS=32
PROFILE_SECONDS=20
TOKEN_CONNECTIONS=8
TOKEN_SECONDS=10

log() { printf '[bench] %s\n' "$*" >&2; }

work_dir="target/bench"
server_log="$work_dir/server.log"
results="$work_dir/results-$$.txt"
pg_dir=""
db_url=""
db_name="bench_$$"
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
  rm -f "$results"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Asks the server to shut down (SIGTERM: it finishes in-flight requests), then insists.
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

build() {
  scripts/tools.sh build node
  # cargo-leptos runs wasm-opt, which comes with the end2end npm packages.
  export PATH="$PWD/end2end/node_modules/.bin:$PATH"
  log "building the server and the site (release)"
  cargo leptos build --release
  log "building the bench (release)"
  cargo build --release -p bench
}

# Sets db_url to a fresh database on DATABASE_URL's server, or on a throwaway cluster.
prepare_database() {
  if [ -z "${DATABASE_URL:-}" ]; then
    pg_dir="target/pg-bench-$$"
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

# free_port_except PORT: a free port other than PORT (two quick asks may get the same one).
free_port_except() {
  local port
  port=$(scripts/postgres.sh free-port)
  while [ "$port" = "$1" ]; do port=$(scripts/postgres.sh free-port); done
  echo "$port"
}

start_server() {
  local port=$1 smtp_port=$2 secret
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$work_dir"
  log "starting the server on 127.0.0.1:$port (log: $server_log)"
  DATABASE_URL="$db_url" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT=target/site \
    APP_ENV=production \
    RUST_LOG=warn \
    SMTP_URL="smtp://127.0.0.1:$smtp_port" \
    RATE_LIMIT_REGISTER_PER_IP=0 \
    RATE_LIMIT_LOGIN_PER_IP=0 \
    SECRET_KEY="$secret" \
    target/release/server >"$server_log" 2>&1 &
  server_pid=$!
}

# Polls GET /readyz for up to 30 s; gives up early if the server exits.
wait_ready() {
  local url=$1 deadline=$((SECONDS + 30))
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
  log "the server was not ready within 30 s; the end of its log:"
  tail -n 20 "$server_log" >&2
  return 1
}

# phase TITLE ARGS...: runs the bench binary, showing its output and keeping its RESULT line.
phase() {
  printf '\n==> %s\n' "$1"
  shift
  target/release/bench "$@" | tee -a "$results"
}

# Reads the RESULT lines and prints the summary; exits 1 if a target is missed.
summary() {
  python3 - "$results" "$RATE" <<'PY'
import json
import sys

path, rate = sys.argv[1], sys.argv[2]
results = {}
with open(path) as f:
    for line in f:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            results[result["name"]] = result

bare = results["argon2"]
saturation = results["register-saturation"]
fixed = results["register-rate"]
profile = results["profile"]
token = results["token"]
rows = []

def row(label, value, passed=None):
    verdict = "" if passed is None else ("PASS" if passed else "MISS")
    rows.append((label, value, verdict))

def ms(value):
    return "n/a" if value is None else f"{value:.1f} ms"

ratio = saturation["registrations_per_sec"] / bare["hashes_per_sec"]
row("argon2 bare loop", f"{bare['hashes_per_sec']:.1f} hashes/s")
row(
    "registrations at saturation",
    f"{saturation['registrations_per_sec']:.1f}/s, {saturation['error_count']} errors",
)
row(
    "ratio (>= 0.85, zero errors)",
    f"{ratio:.2f}",
    ratio >= 0.85 and saturation["error_count"] == 0,
)
p95 = fixed["latency_ms"]["p95"]
row(
    f"p95 latency at {rate}/s (<= 25 ms)",
    f"{ms(p95)}, {fixed['error_count']} errors",
    p95 is not None and p95 <= 25 and fixed["error_count"] == 0,
)
email = fixed["email"]
email_p95 = email["latency_ms"]["p95"]
row(
    f"email latency p95 at {rate}/s (<= 1 s)",
    f"{ms(email_p95)}, {email['missing']} of {email['expected']} missing",
    email_p95 is not None and email_p95 <= 1000 and email["missing"] == 0,
)
profile_p99 = profile["latency_ms"]["p99"]
row(
    "GET /api/profile (>= 6000/s, p99 <= 10 ms, zero errors)",
    f"{profile['requests_per_sec']:.0f}/s, p99 {ms(profile_p99)}, {profile['error_count']} errors",
    profile["requests_per_sec"] >= 6000
    and profile_p99 is not None
    and profile_p99 <= 10
    and profile["error_count"] == 0,
)
row(
    "token issue",
    f"{token['tokens_per_sec']:.1f} tokens/s, p99 {ms(token['latency_ms']['p99'])}, "
    f"{token['error_count']} errors",
)
row(
    "token issue / argon2 bare loop",
    f"{token['tokens_per_sec'] / bare['hashes_per_sec']:.2f}",
)

print("\n==> summary")
width = max(len(label) for label, _, _ in rows)
for label, value, verdict in rows:
    print(f"  {label:<{width}}  {value:<36} {verdict}".rstrip())
sys.exit(1 if any(verdict == "MISS" for _, _, verdict in rows) else 0)
PY
}

build
prepare_database
server_port=$(scripts/postgres.sh free-port)
smtp_port=$(free_port_except "$server_port")
start_server "$server_port" "$smtp_port"
url="http://127.0.0.1:$server_port"
wait_ready "$url"

mkdir -p "$work_dir"
: >"$results"
phase "argon2 bare loop, ${ARGON2_SECONDS} s" argon2 --seconds "$ARGON2_SECONDS"
# The fixed rate first, on a quiet server: its email latency is what a person waits for. The
# saturation run leaves a queue of mail behind that would otherwise skew it.
phase "registration at $RATE/s, ${RATE_SECONDS} s" \
  register --url "$url" --smtp-port "$smtp_port" --seconds "$RATE_SECONDS" --rate "$RATE"
phase "registration at saturation, $SATURATION_CONNECTIONS connections, ${SATURATION_SECONDS} s" \
  register --url "$url" --smtp-port "$smtp_port" \
  --seconds "$SATURATION_SECONDS" --connections "$SATURATION_CONNECTIONS"
phase "profile with a bearer token, $PROFILE_CONNECTIONS connections, ${PROFILE_SECONDS} s" \
  profile --url "$url" --smtp-port "$smtp_port" \
  --seconds "$PROFILE_SECONDS" --connections "$PROFILE_CONNECTIONS"
phase "token issue at saturation, $TOKEN_CONNECTIONS connections, ${TOKEN_SECONDS} s" \
  token --url "$url" --smtp-port "$smtp_port" \
  --seconds "$TOKEN_SECONDS" --connections "$TOKEN_CONNECTIONS"

stop_server # now, so that the summary is the last thing printed
status=0
summary || status=$?
exit "$status"
