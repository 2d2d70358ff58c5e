#!/usr/bin/env bash
# test_site_demo.sh — scripts/site-demo.sh must keep working: site CA, hub,
# four `bacsc device --state-dir` devices on BACnet/IP, discover → request →
# ca sign → import → mode sc → Who-Is/ReadProperty over BACnet/SC; the script
# itself fails unless every device ends valid and on SC; then a B/IP client
# reads them through `bacsc router`.
set -euo pipefail
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
: "${BACSC_SRC:?BACSC_SRC must name the source directory}"
out=$(mktemp /tmp/test_site_demo.XXXXXX)
trap 'rm -f "$out"' EXIT
if ! DEMO_DEVICES=4 "$BACSC_SRC/scripts/site-demo.sh" "$BACSC_BUILD" >"$out" 2>&1; then
  tail -30 "$out" >&2; echo "FAIL: site-demo.sh" >&2; exit 1
fi
grep -q '"dev-1001"' "$out" || { tail -30 "$out" >&2; echo "FAIL: no ReadProperty over SC" >&2; exit 1; }
grep -q "^4 devices, 4 valid" "$out" || { tail -30 "$out" >&2; echo "FAIL: final status" >&2; exit 1; }
# the end: a BACnet/IP client through the router finds all four on network 2
[ "$(grep -c '  network 2  mac .*  via 127.0.0.1:' "$out")" = 4 ] ||
  { tail -30 "$out" >&2; echo "FAIL: global Who-Is over B/IP through the router" >&2; exit 1; }
[ "$(tail -1 "$out")" = 2 ] || { tail -5 "$out" >&2; echo "FAIL: router Network_Number" >&2; exit 1; }
echo ok
