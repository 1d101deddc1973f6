#!/usr/bin/env bash
# Runs the checks and tests; `make test` calls it with no argument (everything).
#   scripts/test.sh [all|lint|unit|e2e]
# Postgres: DATABASE_URL when set (its role must be able to create databases), otherwise a
# throwaway cluster under target/ that is removed at the end, pass or fail.
# E2E_ARGS passes arguments to Playwright: `E2E_ARGS=tests/docs.spec.ts scripts/test.sh e2e`.
#
# What compiles, and why only three times (each dependency tree costs minutes on 2 cores):
#   1. the WASM, checked by clippy with the shipping profile (`wasm-release`), which shares its
#      build scripts and proc-macros with 3;
#   2. the server side in the dev profile, once, through clippy: `cargo test` runs with
#      clippy-driver as the workspace's compiler wrapper, so the one build that produces the
#      test binaries also lints the workspace (clippy-driver compiles as rustc does, plus the
#      lints); the server binary it builds is the one the end-to-end tests run;
#   3. the WASM that ships (`scripts/build.sh front`: release profile, split, wasm-opt, hashed,
#      precompressed), the bytes the size budget checks; kept as it is when nothing it is made
#      from changed since target/site was made (a digest of its inputs, see scripts/build.sh).
# The release *server* is not built here: its behaviour does not depend on its optimisation,
# only its speed, which `make bench` and `make cluster` measure on the release build.
set -uo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case "$what" in all|lint|unit|e2e) ;; *) echo "usage: $0 [all|lint|unit|e2e]" >&2; exit 2 ;; esac

started=$SECONDS
# Every step appends its verdict here (a file, so a step run in a subshell counts too).
results_file=$(mktemp)

# step NAME COMMAND...: runs a step, records whether it passed; returns its status.
step() {
  local name=$1; shift
  local t0=$SECONDS
  printf '\n==> %s\n' "$name"
  if "$@"; then
    printf 'passed  %s (%d s)\n' "$name" "$((SECONDS - t0))" >>"$results_file"
  else
    printf 'FAILED  %s (%d s)\n' "$name" "$((SECONDS - t0))" >>"$results_file"
    return 1
  fi
}
skip() { printf 'skipped %s (%s)\n' "$1" "$2" >>"$results_file"; }
# Whether the step named NAME has passed.
passed() { grep -qF -- "passed  $1 (" "$results_file"; }

summary() {
  local passed=0 skipped=0 failed=0 r
  printf '\n==> summary (%d s)\n' "$((SECONDS - started))"
  while IFS= read -r r; do
    printf '  %s\n' "$r"
    case "$r" in
      passed*) passed=$((passed + 1)) ;;
      skipped*) skipped=$((skipped + 1)) ;;
      FAILED*) failed=$((failed + 1)) ;;
    esac
  done <"$results_file"
  if [ "$skipped" -gt 0 ]; then
    printf 'checks: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  else
    printf 'checks: %d passed, %d failed\n' "$passed" "$failed"
  fi
  if [ "$failed" -gt 0 ]; then
    # A full disk makes compilers and Postgres fail in ways that look like anything else.
    printf 'free disk space: %s\n' "$(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ')"
  fi
  [ "$failed" -eq 0 ]
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

# Two app servers, each on its own database and port: the usual one and one with 6-digit codes
# (end2end/tests/six-digit.spec.ts). A test that needs time to pass moves rows into the past on
# the usual one's database (end2end/tests/database.ts) instead of waiting.
run_e2e() {
  local db="accounts_e2e_$$" six_db="accounts_e2e_six_digit_$$"
  local port six_port status=0
  port=$(scripts/postgres.sh free-port) || return 1
  six_port=$(scripts/postgres.sh free-port) || return 1
  while [ "$six_port" = "$port" ]; do
    six_port=$(scripts/postgres.sh free-port) || return 1
  done
  scripts/postgres.sh create-db "$DATABASE_URL" "$db" &&
    scripts/postgres.sh create-db "$DATABASE_URL" "$six_db" || status=1
  if [ "$status" -eq 0 ]; then
    (
      cd end2end &&
        E2E_DATABASE_URL="${DATABASE_URL%/*}/$db" E2E_PORT=$port \
        E2E_SIX_DIGIT_DATABASE_URL="${DATABASE_URL%/*}/$six_db" E2E_SIX_DIGIT_PORT=$six_port \
        E2E_SERVER_BINARY="${E2E_SERVER_BINARY:-target/e2e/server}" \
          npx playwright test ${E2E_ARGS:-}
    ) || status=$?
  fi
  scripts/postgres.sh drop-db "$DATABASE_URL" "$db" || true
  scripts/postgres.sh drop-db "$DATABASE_URL" "$six_db" || true
  return "$status"
}

# `cargo test` with clippy-driver as the compiler of the workspace's own crates (dependencies
# are compiled by plain rustc): the same lints and `-D warnings` as `cargo clippy --all-targets
# -- -D warnings`, in the build that makes the test binaries. CLIPPY_ARGS is how `cargo clippy`
# hands its arguments to clippy-driver (each one followed by the separator).
server_build() {
  local driver
  driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) || {
    echo "[test] clippy-driver not found (rustup component add clippy)" >&2
    return 1
  }
  RUSTC_WORKSPACE_WRAPPER="$driver" CLIPPY_ARGS="-Dwarnings__CLIPPY_HACKERY__" \
    cargo test -p app -p server -p bench --features app/ssr "$@"
}

# The server binary the end-to-end tests run: the one `server_build` made, in a directory of its
# own with the hashed names of the WASM build (hash.txt beside the binary, as it is installed).
e2e_server() {
  local hashes=target/release/hash.txt
  [ -f "$hashes" ] || { echo "[test] $hashes is missing: the WASM build did not write it" >&2; return 1; }
  mkdir -p target/e2e &&
    cp -f target/debug/server target/e2e/server &&
    cp -f "$hashes" target/e2e/hash.txt
}

scripts/tools.sh build || { echo "[test] could not install the build tools" >&2; exit 1; }
if [ "$what" = all ] || [ "$what" = unit ]; then
  # The several-replicas test (server/tests/api/cluster.rs) runs nginx in front of the servers.
  scripts/tools.sh nginx || { echo "[test] could not install nginx" >&2; exit 1; }
  # ...and reaches Postgres through PgBouncer in session mode, as `make cluster PGBOUNCER=1`.
  scripts/tools.sh pgbouncer || { echo "[test] could not install PgBouncer" >&2; exit 1; }
  export PGBOUNCER="${PGBOUNCER:-1}"
  # systemd-analyze and pg_dump, for server/tests/api/deploy.rs.
  scripts/tools.sh deploy || { echo "[test] could not install the deploy test tools" >&2; exit 1; }
fi
if [ "$what" = all ] || [ "$what" = e2e ]; then
  scripts/tools.sh node browser || { echo "[test] could not install the browser test tools" >&2; exit 1; }
fi

# The one server-side build (clippy included), a step of its own: a test that fails still leaves
# a server binary the end-to-end tests can run; a build that fails leaves none for them.
server_built() {
  step "clippy (server build) and the test build" server_build --no-run
}

unit_tests() {
  if passed "clippy (server build) and the test build"; then
    # One test per core (the default). Four at a time took 80-95 s against 108 s on 2 cores,
    # but in one run of four a page request never answered (every thread idle, the test waiting
    # on its response): not safe until that is understood.
    step "unit and integration tests" server_build --no-fail-fast
  else
    skip "unit and integration tests" "the build failed"
  fi
}

# The WASM steps: clippy on the browser build (the shipping profile and cargo-leptos's target
# directory, Cargo.toml's `lib-profile-release`, so the build after it reuses this step's build
# scripts and proc-macros), then what ships (split, hashed, precompressed), whose download
# budget the end-to-end tests check (end2end/tests/size.spec.ts).
wasm_lane() {
  local lint=$1
  [ "$lint" = no ] || step "clippy (WASM build)" cargo clippy -p frontend -p app \
    --target wasm32-unknown-unknown --target-dir target/front --profile wasm-release -- -D warnings
  step "build (WASM, release)" scripts/build.sh front
}

if [ "$what" = all ] || [ "$what" = lint ]; then
  step "rustfmt" cargo fmt --all --check
  # cargo skips a [patch] that no longer matches without a word (vendor/tachys/PATCHED.md).
  step "the patched tachys is the one built" scripts/vendor_check.sh
fi
if [ "$what" = all ]; then
  step "Kubernetes manifests (kustomize, schemas, drift)" scripts/kubernetes.sh
fi
if [ "$what" = lint ]; then
  step "clippy (WASM build)" cargo clippy -p frontend -p app --target wasm32-unknown-unknown \
    --target-dir target/front --profile wasm-release -- -D warnings
  step "clippy (server build)" cargo clippy -p app -p server -p bench --all-targets --features app/ssr -- -D warnings
elif start_postgres; then
  # One step after the other. Two at once does not pay on 2 cores, measured on a fresh clone:
  # compiling the server and the WASM together took 930 s in all against 894 s one after the
  # other, and the tests beside the WASM lane 906 s (the tests keep a core busier than their
  # waiting suggests, and two compilers at once slow each other down more than they gain).
  server_built
  case "$what" in
    unit) unit_tests ;;
    e2e) wasm_lane no ;;
    all) unit_tests; wasm_lane yes ;;
  esac
  if [ "$what" != unit ]; then
    # The end-to-end tests' TypeScript, type-checked (Playwright runs it without checking).
    step "tsc (end-to-end tests)" bash -c 'cd end2end && npx --no-install tsc -p .'
    if passed "build (WASM, release)" && passed "clippy (server build) and the test build" &&
      e2e_server; then
      step "end-to-end tests (Playwright, Chromium)" run_e2e
    else
      skip "end-to-end tests" "a build failed"
    fi
  fi
else
  step "start Postgres" false
fi

cleanup # now, so that the summary is the last thing printed
summary
status=$?
rm -f "$results_file"
exit "$status"
