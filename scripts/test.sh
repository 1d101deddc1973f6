#!/usr/bin/env bash
# Runs the checks and tests; `make test` calls it with no argument (everything).
#   scripts/test.sh [all|lint|unit|e2e]
# Postgres: DATABASE_URL when set (its role must be able to create databases), otherwise a
# throwaway cluster under target/ that is removed at the end, pass or fail.
# E2E_ARGS passes arguments to Playwright: `E2E_ARGS=tests/docs.spec.ts scripts/test.sh e2e`.
set -uo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case "$what" in all|lint|unit|e2e) ;; *) echo "usage: $0 [all|lint|unit|e2e]" >&2; exit 2 ;; esac

results=()
failed=0
started=$SECONDS

# step NAME COMMAND...: runs a step, records whether it passed.
step() {
  local name=$1; shift
  local t0=$SECONDS
  printf '\n==> %s\n' "$name"
  if "$@"; then
    results+=("passed  $name ($((SECONDS - t0)) s)")
  else
    results+=("FAILED  $name ($((SECONDS - t0)) s)")
    failed=$((failed + 1))
  fi
}
skip() { results+=("skipped $1 ($2)"); }

summary() {
  local passed=0 skipped=0 r
  printf '\n==> summary (%d s)\n' "$((SECONDS - started))"
  for r in "${results[@]}"; do
    printf '  %s\n' "$r"
    case "$r" in passed*) passed=$((passed + 1)) ;; skipped*) skipped=$((skipped + 1)) ;; esac
  done
  if [ "$skipped" -gt 0 ]; then
    printf 'checks: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  else
    printf 'checks: %d passed, %d failed\n' "$passed" "$failed"
  fi
  if [ "$failed" -gt 0 ]; then
    # A full disk makes compilers and Postgres fail in ways that look like anything else.
    printf 'free disk space: %s\n' "$(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ')"
  fi
}

# A fresh clone's builds and tests take about 16 GB under target/.
free_kb=$(df -k --output=avail . 2>/dev/null | tail -1 | tr -d ' ')
if [ -n "$free_kb" ] && [ "$free_kb" -lt $((16 * 1024 * 1024)) ]; then
  printf '[test] warning: only %s MB of disk free; a cold run needs about 16 GB under target/\n' \
    "$((free_kb / 1024))" >&2
fi

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    scripts/postgres.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
    pg_dir=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "[test] using DATABASE_URL from the environment"
    return 0
  fi
  pg_dir="target/pg-test-$$"
  local port; port=$(scripts/postgres.sh free-port)
  DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$port" --throwaway) || return 1
  export DATABASE_URL
}

# Three app servers, each on its own database and port: the usual one, one whose activation
# codes live 2 seconds (end2end/tests/expiry.spec.ts), and one with 6-digit codes
# (end2end/tests/six-digit.spec.ts).
run_e2e() {
  local db="accounts_e2e_$$" short_db="accounts_e2e_short_ttl_$$" six_db="accounts_e2e_six_digit_$$"
  local port short_port six_port status=0
  port=$(scripts/postgres.sh free-port) || return 1
  short_port=$(scripts/postgres.sh free-port) || return 1
  while [ "$short_port" = "$port" ]; do
    short_port=$(scripts/postgres.sh free-port) || return 1
  done
  six_port=$(scripts/postgres.sh free-port) || return 1
  while [ "$six_port" = "$port" ] || [ "$six_port" = "$short_port" ]; do
    six_port=$(scripts/postgres.sh free-port) || return 1
  done
  scripts/postgres.sh create-db "$DATABASE_URL" "$db" &&
    scripts/postgres.sh create-db "$DATABASE_URL" "$short_db" &&
    scripts/postgres.sh create-db "$DATABASE_URL" "$six_db" || status=1
  if [ "$status" -eq 0 ]; then
    (
      cd end2end &&
        E2E_DATABASE_URL="${DATABASE_URL%/*}/$db" E2E_PORT=$port \
        E2E_SHORT_TTL_DATABASE_URL="${DATABASE_URL%/*}/$short_db" E2E_SHORT_TTL_PORT=$short_port \
        E2E_SIX_DIGIT_DATABASE_URL="${DATABASE_URL%/*}/$six_db" E2E_SIX_DIGIT_PORT=$six_port \
          npx playwright test ${E2E_ARGS:-}
    ) || status=$?
  fi
  scripts/postgres.sh drop-db "$DATABASE_URL" "$db" || true
  scripts/postgres.sh drop-db "$DATABASE_URL" "$short_db" || true
  scripts/postgres.sh drop-db "$DATABASE_URL" "$six_db" || true
  return "$status"
}

scripts/tools.sh build || { echo "[test] could not install the build tools" >&2; exit 1; }
if [ "$what" = all ] || [ "$what" = unit ]; then
  # The several-replicas test (server/tests/api/cluster.rs) runs nginx in front of the servers.
  scripts/tools.sh nginx || { echo "[test] could not install nginx" >&2; exit 1; }
  # systemd-analyze and pg_dump, for server/tests/api/deploy.rs.
  scripts/tools.sh deploy || { echo "[test] could not install the deploy test tools" >&2; exit 1; }
fi
if [ "$what" = all ] || [ "$what" = e2e ]; then
  scripts/tools.sh node browser || { echo "[test] could not install the browser test tools" >&2; exit 1; }
fi

if [ "$what" = all ] || [ "$what" = lint ]; then
  step "rustfmt" cargo fmt --all --check
  step "clippy (server build)" cargo clippy -p app -p server -p bench --all-targets --features app/ssr -- -D warnings
  # The target directory and profile of cargo-leptos's WASM build (Cargo.toml: `lib-profile-dev`),
  # so the two share proc-macros and build scripts.
  step "clippy (WASM build)" cargo clippy -p frontend -p app --target wasm32-unknown-unknown \
    --target-dir target/front --profile wasm-dev -- -D warnings
fi

if [ "$what" != lint ]; then
  if start_postgres; then
    if [ "$what" = all ] || [ "$what" = unit ]; then
      step "unit and integration tests" cargo test --no-fail-fast -p app -p server -p bench --features app/ssr
    fi
    if [ "$what" = all ] || [ "$what" = e2e ]; then
      # What ships (split, hashed, precompressed): the end-to-end tests include its download budget
      # (end2end/tests/size.spec.ts).
      step "build (release)" scripts/build.sh release
      if [ "${results[-1]%% *}" = passed ]; then
        step "end-to-end tests (Playwright, Chromium)" run_e2e
      else
        skip "end-to-end tests" "the build failed"
      fi
    fi
  else
    step "start Postgres" false
  fi
fi

cleanup # now, so that the summary is the last thing printed
summary
[ "$failed" -eq 0 ]
