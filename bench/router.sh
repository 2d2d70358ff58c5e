#!/usr/bin/env bash
# bench/router.sh — what one `bacsc router` hop costs (see bench/README.md, "bench_router").
#
#   bench/router.sh [BUILD_DIR]       default BUILD_DIR=build (RelWithDebInfo or Release)
#
# Starts on 127.0.0.1: a `bacsc hub`, a `bacsc device` (instance 1001) on
# BACnet/SC network 2, a `bacsc router` between BACnet/IP network 1 and
# network 2, then bench_router, which measures in one run:
#   - the forwarding rate IP->SC and SC->IP of small NPDUs, next to the floor
#     SC->SC through the hub alone;
#   - the ReadProperty round trip to the device from an SC client (no router,
#     the floor) and from a B/IP client through the router: the difference is
#     the latency one router hop adds.
# Environment: SECONDS_PER_RUN (default 3), REQUESTS (default 1000), WINDOW
# (default 32), OUT (logs; default a new /tmp/bench-router-XXXXXX).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
BACSC=$BUILD/bacsc
OUT=${OUT:-$(mktemp -d /tmp/bench-router-XXXXXX)}
PY=/usr/bin/python3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
port() { $PY -c 'import socket,sys; s=socket.socket(socket.AF_INET, int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
wait_log() { # FILE TEXT
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for '$2' in $1:" >&2; tail -5 "$1" >&2; exit 1
}
"$BACSC" pki demo --out "$OUT/pki" --nodes 4 >/dev/null
P=$OUT/pki
HUBPORT=$(port 1)
BIPPORT=$(port 2)
BENCHPORT=$(port 2)
HUB=wss://127.0.0.1:$HUBPORT
"$BACSC" hub --listen "127.0.0.1:$HUBPORT" --cert "$P/hub.pem" --key "$P/hub.key" --ca "$P/ca.pem" \
  --log-level info >"$OUT/hub.log" 2>&1 &
pids+=($!)
wait_log "$OUT/hub.log" "listening on"
"$BACSC" device --instance 1001 --hub "$HUB" --cert "$P/node1.pem" --key "$P/node1.key" \
  --ca "$P/ca.pem" >"$OUT/device.log" 2>&1 &
pids+=($!)
"$BACSC" router --bip "127.0.0.1:$BIPPORT" --bip-net 1 --bip-broadcast "127.0.0.1:$BENCHPORT" \
  --sc-net 2 --hub "$HUB" \
  --cert "$P/node2.pem" --key "$P/node2.key" --ca "$P/ca.pem" --instance 900 \
  --log-level info >"$OUT/router.log" 2>&1 &
pids+=($!)
wait_log "$OUT/device.log" "connected-to-primary"
wait_log "$OUT/router.log" "connected to the primary hub"
"$BUILD/bench/bench_router" --router "127.0.0.1:$BIPPORT" --bind "127.0.0.1:$BENCHPORT" --bip-net 1 --sc-net 2 --hub "$HUB" \
  --cert "$P/node3.pem" --key "$P/node3.key" --cert2 "$P/node4.pem" --key2 "$P/node4.key" \
  --ca "$P/ca.pem" --device 1001 \
  --seconds "${SECONDS_PER_RUN:-3}" --requests "${REQUESTS:-1000}" --window "${WINDOW:-32}"
