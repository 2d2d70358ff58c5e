#!/usr/bin/env bash
# web-demo.sh — the web console on a demo site (docs/web-api.md): a site CA,
# DEMO_DEVICES devices on BACnet/IP (127.0.0.1), a discovered site database,
# three console users, then `bacsc web` on https://127.0.0.1:8443/ until
# Ctrl-C. Prints the URL and the demo users; open the URL in a browser (the
# certificate is from the demo CA: accept it, or trust DIR/pki/ca.pem).
#
# usage: scripts/web-demo.sh [BUILD_DIR]      (default: build; must be built)
# Environment: DEMO_DIR (kept if set; else a temporary directory, removed),
#              DEMO_DEVICES (20), WEB_PORT (8443), DEMO_LISTEN (127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bacsc
[ -x "$B" ] || { echo "web-demo: $B not found (build first: cmake -S . -B build -G Ninja && cmake --build build)" >&2; exit 1; }
N=${DEMO_DEVICES:-20}
PORT=${WEB_PORT:-8443}
LISTEN=${DEMO_LISTEN:-127.0.0.1}
if [ -n "${DEMO_DIR:-}" ]; then mkdir -p "$DEMO_DIR"; D=$(cd "$DEMO_DIR" && pwd); KEEP=1
else D=$(mktemp -d /tmp/bacsc-web-demo.XXXXXX); KEEP=0; fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$KEEP" = 1 ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
cd "$D"
say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "A site CA, a server certificate for the console"
[ -d ca ] || "$B" ca init --dir ca --name "Demo Site CA" >/dev/null
[ -d pki ] || "$B" pki demo --out pki --nodes 0 >/dev/null

say "$N devices on BACnet/IP, discovered into the site database"
BASE=$((30000 + RANDOM % 20000))
"$B" device --state-dir devices --instance 1001 --count "$N" --bip 127.0.0.1:$((BASE + 1)) \
  --domain demo.example --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 1)) \
  --log-level warn >devices.out 2>devices.log &
PIDS+=($!)
for _ in $(seq 100); do
  ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break
  sleep 0.1
done
sleep 0.3
export BACSC_SITE_DB=$D/site.db
[ -f site.db ] || "$B" site init --name demo-site --ca ca/ca.pem --domain demo.example >/dev/null
"$B" site discover --bip-local 127.0.0.1:$BASE --broadcast 127.0.0.1:$BASE \
  --broadcast-count $((N + 1)) --wait 1500 --quiet >/dev/null || true

say "Console users"
export BACSC_WEB_DB=$D/web.db
USERS=(admin:admin installer:installer viewer:viewer)
for u in "${USERS[@]}"; do
  name=${u%%:*}
  if ! "$B" web user list | grep -q "^$name "; then
    printf '%s-demo-pw\n' "$name" >pw && chmod 600 pw
    "$B" web user add "$name" --role "${u##*:}" --password-file pw >/dev/null
    rm -f pw
  fi
done

"$B" web --listen "$LISTEN:$PORT" --cert pki/hub.pem --key pki/hub.key --ca-dir ca --site-db site.db \
  --bip-local 127.0.0.1:$BASE --log-level warn >web.out 2>web.log &
PIDS+=($!)
for _ in $(seq 100); do grep -q "serving https" web.out && break; sleep 0.1; done
grep -q "serving https" web.out || { cat web.log >&2; echo "web-demo: bacsc web did not start" >&2; exit 1; }

cat <<EOF

  bacsc web console:  https://$LISTEN:$PORT/
  (certificate from the demo CA $D/pki/ca.pem; the browser will ask to accept it)

  users (user / password / role):
    admin     / admin-demo-pw      admin: approves requests, approval mode, users, audit
    installer / installer-demo-pw  installer: uploads requests, runs site jobs, downloads
    viewer    / viewer-demo-pw     viewer: read-only

  Try: Devices → Status "none" → Filter → "Select all matching" → Request certificates →
  Start job; then "Send pending CSRs to the CA", approve them on Requests, and import the
  batch from Devices. Files in $D. Ctrl-C stops.
EOF
wait "${PIDS[-1]}"
