#!/usr/bin/env bash
# A CPU profile of the server under one of the bench's loads, as a flame graph:
#   bench/flame.sh NAME "TITLE" RUN...
# runs `bench/run.sh RUN...` and, once the phase whose title starts with TITLE has begun (and
# had 4 s to warm up), records the release server with perf for 10 s (299 Hz, call graphs
# unwound from DWARF: the release build keeps no frame pointers), then folds the stacks with
# inferno into target/bench/flame-NAME.svg (and .folded), and prints the frames that take the
# most samples, with and without what they call. For example:
#   bench/flame.sh profile "profile with a bearer token" profile
#   bench/flame.sh orders "orders of 3" place-order
#   bench/flame.sh search "catalogue search over" products-search
# perf slows the server while it records (DWARF stacks are copied at every sample), so the
# run's own figures are not the ones to quote; run the bench again without it for those.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
name=$1 title=$2
shift 2
scripts/tools.sh flame
out=target/bench
mkdir -p "$out"
log="$out/flame-$name.log" data="$out/flame-$name.perf"
rm -f "$log" "$data"

bench/run.sh "$@" >"$log" 2>&1 &
bench=$!
# The bench prints "==> TITLE…" when the phase starts.
until grep -q "^==> $title" "$log" 2>/dev/null; do
  kill -0 "$bench" 2>/dev/null || { echo "[flame] the bench ended before \"$title\" began: $log" >&2; exit 1; }
  sleep 0.5
done
sleep 4
pid=$(pgrep -f -n '^target/release/server$' || true)
[ -n "$pid" ] || { echo "[flame] no release server is running" >&2; exit 1; }
echo "[flame] recording the server ($pid) for 10 s during \"$title\"" >&2
perf record -q -F 299 --call-graph dwarf,16384 -p "$pid" -o "$data" -- sleep 10 2>/dev/null
wait "$bench" || echo "[flame] the bench reported a miss or failed: $log" >&2

perf script -i "$data" 2>/dev/null | inferno-collapse-perf >"$out/flame-$name.folded"
inferno-flamegraph --title "server: $title" <"$out/flame-$name.folded" >"$out/flame-$name.svg"
echo "[flame] $out/flame-$name.svg" >&2
python3 - "$out/flame-$name.folded" <<'PY'
import collections, re, sys
inclusive, own, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, count = line.rsplit(" ", 1)
    count = int(count)
    total += count
    frames = stack.split(";")
    for frame in set(frames):
        inclusive[frame] += count
    own[frames[-1]] += count
short = lambda f: re.sub(r"::h[0-9a-f]{16}", "", f)[:120]
for heading, counter, n in (("with what they call", inclusive, 30), ("on their own", own, 20)):
    print(f"top frames, {heading} (share of the server's samples):")
    for frame, count in counter.most_common(n):
        print(f"  {100 * count / total:5.1f} %  {short(frame)}")
PY
