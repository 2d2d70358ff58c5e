#!/usr/bin/env bash
# test_bench_router.sh — bench/router.sh keeps working: a short run (0.5 s per
# flood, 50 ReadProperty per latency run) must print every row, deliver
# NPDUs in both directions through the router and report the added latency.
# Skipped (77) when the build has no benchmarks.
set -euo pipefail
: "${BACSC_BUILD:?build directory}"
: "${BACSC_SRC:?source directory}"
[ -x "$BACSC_BUILD/bench/bench_router" ] || { echo "bench_router not built: skipped"; exit 77; }
out=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT
if ! OUT=$work SECONDS_PER_RUN=0.5 REQUESTS=50 "$BACSC_SRC/bench/router.sh" "$BACSC_BUILD" >"$out" 2>&1; then
  cat "$out" >&2; echo "FAIL: bench/router.sh" >&2; exit 1
fi
cat "$out"
for row in "floor: SC -> hub -> SC" "IP -> router -> hub -> SC" "SC -> hub -> router -> IP" \
           "floor: ReadProperty" "ReadProperty IP client -> router" "added by one router hop"; do
  grep -q -- "$row" "$out" || { echo "FAIL: no row '$row'" >&2; exit 1; }
done
# both directions delivered something through the router
awk '/router -> hub -> SC|hub -> router -> IP/ { if ($(NF-9) + 0 <= 0) bad = 1 } END { exit bad }' "$out" ||
  { echo "FAIL: nothing delivered through the router" >&2; exit 1; }
echo ok
