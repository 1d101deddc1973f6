#!/usr/bin/env bash
# Fails when the build would not compile the patched tachys in vendor/tachys
# (vendor/tachys/PATCHED.md). Cargo applies a `[patch.crates-io]` entry only while its version
# satisfies what the dependencies ask for: after a Leptos bump that needs another tachys, it
# prints a warning, resolves the published crate instead and builds on, and the browser bundle
# silently carries both hydration paths again.
#
# Checks, from `cargo metadata --locked` (offline when the sources are already downloaded) and
# Cargo.lock:
#   1. the build resolves exactly one tachys, with no source (a path) and its manifest at
#      vendor/tachys/Cargo.toml;
#   2. Cargo.lock has no tachys from a registry and no unused tachys patch (`[[patch.unused]]`);
#   3. the copy still carries the change (the `lazy` feature and the synchronous-only hydration
#      in src/view/any_view.rs), so a fresh copy of the published crate does not pass for it.
# Then runs the same checks on three broken inputs, to prove that each can fail.
#   scripts/vendor_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[vendor] %s\n' "$*" >&2; }

command -v python3 >/dev/null || {
  log "python3 is needed (it reads cargo's JSON)"
  exit 1
}

metadata=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$metadata" "$errors"' EXIT
if ! cargo metadata --format-version 1 --locked --offline >"$metadata" 2>"$errors"; then
  if grep -q -- '--locked' "$errors"; then
    cat "$errors" >&2
    log "Cargo.lock is out of date: run cargo with the new manifests and commit Cargo.lock"
    exit 1
  fi
  log "offline metadata failed (sources not downloaded yet?); asking the registry"
  cargo metadata --format-version 1 --locked >"$metadata" 2>"$errors" || {
    cat "$errors" >&2
    exit 1
  }
fi

python3 - "$metadata" "$errors" <<'PY'
import json
import sys
from pathlib import Path

metadata = json.loads(Path(sys.argv[1]).read_text())
# As cargo spells the workspace's path (symbolic links resolved), for comparing manifest paths.
root = Path(metadata["workspace_root"])
vendor = root / "vendor" / "tachys"
cargo_warnings = Path(sys.argv[2]).read_text()
lock = (root / "Cargo.lock").read_text()
manifest = (vendor / "Cargo.toml").read_text()
any_view = (vendor / "src" / "view" / "any_view.rs").read_text()


def lock_entries(text):
    """The [[package]] and [[patch.unused]] tables of a Cargo.lock, as (table, fields)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[["):
            entries.append((line.strip("[]"), {}))
        elif entries and " = " in line and not line.startswith(("[", "]", '"')):
            key, value = line.split(" = ", 1)
            entries[-1][1][key] = value.strip('"')
    return entries


def problems(metadata, lock, manifest, any_view, cargo_warnings=""):
    found = []
    tachys = [p for p in metadata["packages"] if p["name"] == "tachys"]
    if not tachys:
        found.append("the build resolves no tachys at all: drop the patch (PATCHED.md)")
    if len(tachys) > 1:
        found.append(f"the build resolves {len(tachys)} tachys: {[p['id'] for p in tachys]}")
    expected = str(vendor / "Cargo.toml")
    for package in tachys:
        if package["source"] is not None or package["manifest_path"] != expected:
            found.append(
                f"the build resolves tachys {package['version']} from "
                f"{package['source'] or package['manifest_path']}, not {expected}"
            )
    for table, fields in lock_entries(lock):
        if fields.get("name") != "tachys":
            continue
        if table == "patch.unused":
            found.append(f"Cargo.lock lists the tachys {fields.get('version')} patch as unused")
        elif "source" in fields:
            found.append(f"Cargo.lock locks tachys {fields.get('version')} from {fields['source']}")
    if "was not used in the crate graph" in cargo_warnings and "tachys" in cargo_warnings:
        found.append("cargo warns that the tachys patch was not used")
    if "\nlazy = []" not in manifest:
        found.append("vendor/tachys/Cargo.toml has no `lazy` feature: is the change still there?")
    if 'hydrate_from_server: fn(' not in any_view or 'not(feature = "lazy")' not in any_view:
        found.append("vendor/tachys/src/view/any_view.rs does not carry the change")
    return found


real = problems(metadata, lock, manifest, any_view, cargo_warnings)
if real:
    for problem in real:
        print(f"[vendor] FAIL: {problem}", file=sys.stderr)
    print("[vendor] see vendor/tachys/PATCHED.md for what to do", file=sys.stderr)
    sys.exit(1)
version = next(p["version"] for p in metadata["packages"] if p["name"] == "tachys")
print(f"[vendor] the build uses the patched tachys {version} in vendor/tachys", file=sys.stderr)

# The same checks on broken inputs: each must be caught.
published = json.loads(json.dumps(metadata))
for package in published["packages"]:
    if package["name"] == "tachys":
        package["source"] = "registry+https://github.com/rust-lang/crates.io-index"
        package["manifest_path"] = "/registry/tachys-0.3.0/Cargo.toml"
unused = lock + '\n[[patch.unused]]\nname = "tachys"\nversion = "0.2.19"\n'
pristine = any_view.replace('not(feature = "lazy")', "feature = \"hydrate\"")
cases = {
    "the published crate resolved instead": (published, lock, manifest, any_view),
    "the patch listed as unused in Cargo.lock": (metadata, unused, manifest, any_view),
    "a copy without the change": (metadata, lock, manifest, pristine),
}
for name, case in cases.items():
    if not problems(*case):
        print(f"[vendor] FAIL: the check misses {name}", file=sys.stderr)
        sys.exit(1)
print(f"[vendor] and it catches {len(cases)} broken cases", file=sys.stderr)
PY
