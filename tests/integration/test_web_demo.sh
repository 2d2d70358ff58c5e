#!/usr/bin/env bash
# test_web_demo.sh — scripts/web-demo.sh starts the console on a demo site and
# prints its URL and demo users; those users log in and see the devices.
set -euo pipefail
: "${BACSC:?}" "${BACSC_SRC:?}"
BUILD=$(dirname "$BACSC")
T=$(mktemp -d /tmp/test_web_demo.XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEMO_DIR=$T/demo DEMO_DEVICES=3 WEB_PORT=$PORT "$BACSC_SRC/scripts/web-demo.sh" "$BUILD" >"$T/out" 2>&1 &
DEMO=$!
cleanup() { kill "$DEMO" 2>/dev/null || true; wait "$DEMO" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$T/out" >&2; exit 1; }
for _ in $(seq 300); do grep -q "Ctrl-C stops" "$T/out" && break; sleep 0.1; done
grep -q "https://127.0.0.1:$PORT/" "$T/out" || fail "no URL printed"
pw=$(sed -n 's/^ *installer *\/ *\([^ ]*\) .*/\1/p' "$T/out")
[ -n "$pw" ] || fail "no demo users printed"
curl -sS --cacert "$T/demo/pki/ca.pem" -c "$T/cj" -H 'Content-Type: application/json' \
  -d "{\"user\":\"installer\",\"password\":\"$pw\"}" "https://127.0.0.1:$PORT/api/login" | grep -q '"role":"installer"' ||
  fail "the printed installer cannot log in"
n=$(curl -sS --cacert "$T/demo/pki/ca.pem" -b "$T/cj" "https://127.0.0.1:$PORT/api/site/devices" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$n" = 3 ] || fail "the demo site has $n devices, wanted 3"
kill -TERM "$DEMO"; wait "$DEMO" || true
echo "ok: web-demo.sh serves the demo site to its printed users"
