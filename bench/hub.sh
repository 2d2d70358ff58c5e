#!/usr/bin/env bash
# bench/hub.sh — the BACnet/SC hub benchmark set (see bench/README.md, "bench hub").
#
#   bench/hub.sh [BUILD_DIR]          default BUILD_DIR=build (RelWithDebInfo or Release)
#
# Environment: DUR (seconds per traffic run, default 5), NODES (connect scale,
# default 10000), PAIRS (throughput pairs, default 8), WINDOW (default 32),
# OUT (result directory, default a new /tmp/bench-hub-XXXXXX), SKIP_SCALE=1
# (skip the 10,000-node run), SKIP_TRAFFIC=1 (only the 10,000-node run), HUB_CMD (override the hub command; it gets
# --listen 127.0.0.1:PORT --cert --key --ca appended), CONCURRENCY (the 10,000-node run's
# --concurrency: connection attempts the generator keeps in flight, default 1000; with
# CONCURRENCY=$NODES every node connects when it wants to, as independent devices do, and the
# hub's own queues take the storm).
#
# Hub: `bacsc hub` when the command exists, else bench_hub_server (the hub
# function over the WebSocket listener, bench/bench_hub_server.c).
# Certificates: `bacsc pki demo` when the command exists, else the openssl CLI.
# Everything runs on 127.0.0.1 with mutual TLS 1.3. Each traffic measurement
# runs twice: unpinned, and with the hub on CPU 0 and the generator on CPU 1.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
BACSC=$BUILD/bacsc
DUR=${DUR:-5}
NODES=${NODES:-10000}
PAIRS=${PAIRS:-8}
WINDOW=${WINDOW:-32}
OUT=${OUT:-$(mktemp -d /tmp/bench-hub-XXXXXX)}
PY=/usr/bin/python3
mkdir -p "$OUT"
hub_pid=
gen_pid=
cleanup() {
  [ -n "$gen_pid" ] && kill "$gen_pid" 2>/dev/null
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  true
}
trap cleanup EXIT
say() { echo "== $*" >&2; }

# ---- certificates
PKI=$OUT/pki
if [ ! -f "$PKI/ca.pem" ]; then
  if "$BACSC" pki demo --help >/dev/null 2>&1; then
    "$BACSC" pki demo --out "$PKI" --nodes 1 >/dev/null
  else
    mkdir -p "$PKI"
    printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' >"$PKI/ext"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
      -out "$PKI/ca.pem" -days 30 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign 2>/dev/null
    for n in hub node1; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$n.key" \
        -out "$PKI/$n.csr" -subj "/CN=$n" 2>/dev/null
      openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -CAcreateserial -days 30 -extfile "$PKI/ext" -out "$PKI/$n.pem" 2>/dev/null
    done
    chmod 600 "$PKI"/*.key
  fi
fi

# ---- hub
if [ -n "${HUB_CMD:-}" ]; then
  read -r -a HUB <<<"$HUB_CMD"
elif "$BACSC" hub --help >/dev/null 2>&1; then
  # Every simulated node connects from 127.0.0.1: the per-source-address
  # admission limits (docs/hub.md, HARDENING) would throttle the benchmark.
  echo '{"max_handshakes_per_address": 0, "accept_rate_per_address": 0, "uuid_binding": "off"}' >"$OUT/hub-bench.json"
  HUB=("$BACSC" hub --log-level warn --config "$OUT/hub-bench.json")
else
  HUB=("$BUILD/bench/bench_hub_server")
fi
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URI=wss://127.0.0.1:$PORT

start_hub() { # [cpu]
  local pin=()
  [ -n "${1:-}" ] && pin=(taskset -c "$1")
  "${pin[@]}" "${HUB[@]}" --listen "127.0.0.1:$PORT" --cert "$PKI/hub.pem" --key "$PKI/hub.key" \
    --ca "$PKI/ca.pem" >>"$OUT/hub.log" 2>&1 &
  hub_pid=$!
  for _ in $(seq 200); do
    $PY -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2).close()" 2>/dev/null && return 0
    kill -0 "$hub_pid" 2>/dev/null || { echo "hub exited: $(tail -3 "$OUT/hub.log")" >&2; exit 1; }
    sleep 0.05
  done
  echo "hub did not listen on $PORT" >&2
  exit 1
}
hub_cpu() { # CPU seconds (user + system) the running hub has used
  awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) / t }' "/proc/$hub_pid/stat"
}
stop_hub() {
  kill -TERM "$hub_pid" 2>/dev/null || true
  wait "$hub_pid" 2>/dev/null || true
  hub_pid=
}
gen() { # name [cpu] args...
  local name=$1 cpu=$2
  shift 2
  local pin=()
  [ -n "$cpu" ] && pin=(taskset -c "$cpu")
  say "$name: bacsc bench hub $*"
  "${pin[@]}" "$BACSC" bench hub --hub "$URI" --cert "$PKI/node1.pem" --key "$PKI/node1.key" \
    --ca "$PKI/ca.pem" --quiet --json --hub-pid "$hub_pid" "$@" >"$OUT/$name.json" || echo "  (exit $?: errors counted)" >&2
}

say "hub: ${HUB[*]} on $URI; results in $OUT"
pins=("" pinned)
[ "${SKIP_TRAFFIC:-0}" = 1 ] && pins=()
for pin in "${pins[@]}"; do
  hcpu= gcpu= sfx=
  if [ -n "$pin" ]; then hcpu=0 gcpu=1 sfx=-pinned; fi
  start_hub "$hcpu"
  gen "throughput-64$sfx" "$gcpu" --pairs "$PAIRS" --window "$WINDOW" --size 64 --duration "$DUR"
  gen "throughput-1400$sfx" "$gcpu" --pairs "$PAIRS" --window "$WINDOW" --size 1400 --duration "$DUR"
  gen "rtt$sfx" "$gcpu" --mode rtt --size 64 --duration "$DUR"
  gen "steady-5000$sfx" "$gcpu" --pairs "$PAIRS" --size 64 --rate 5000 --duration "$DUR"
  stop_hub
done

if [ "${SKIP_SCALE:-0}" != 1 ]; then
  start_hub
  say "connect-$NODES: bacsc bench hub --mode connect --connections $NODES --hub-pid $hub_pid --restart-wait${CONCURRENCY:+ --concurrency $CONCURRENCY}"
  "$BACSC" bench hub --hub "$URI" --cert "$PKI/node1.pem" --key "$PKI/node1.key" --ca "$PKI/ca.pem" \
    --mode connect --connections "$NODES" --duration 5 --hub-pid "$hub_pid" --restart-wait \
    ${CONCURRENCY:+--concurrency "$CONCURRENCY"} \
    --restart-timeout 180 --connect-timeout 300 --json >"$OUT/connect-$NODES.json" 2>"$OUT/connect.err" &
  gen_pid=$!
  while ! grep -q "waiting for the hub to restart" "$OUT/connect.err" 2>/dev/null; do
    kill -0 "$gen_pid" 2>/dev/null || break
    sleep 0.5
  done
  cpu_a=$(hub_cpu)
  say "restarting the hub (SIGTERM, start again on the same port)"
  t0=$(date +%s.%N)
  stop_hub
  t1=$(date +%s.%N)
  start_hub
  t2=$(date +%s.%N)
  say "$($PY -c "print(f'hub stopped in {$t1-$t0:.2f} s, listening again {$t2-$t0:.2f} s after SIGTERM')")"
  wait "$gen_pid" || echo "  (exit $?: errors counted)" >&2
  gen_pid=
  cpu_b=$(hub_cpu)
  # hub CPU seconds per connection set up (TCP + TLS + upgrade + Connect-Request):
  # before the restart (every handshake full) and after it (resumed when the hub
  # has a --ticket-key-file and the nodes kept their sessions)
  $PY - "$OUT/connect-$NODES.json" "$cpu_a" "$cpu_b" >"$OUT/hub-cpu.txt" <<'PY' || true
import json, os, sys
r = json.load(open(sys.argv[1])); a, b = float(sys.argv[2]), float(sys.argv[3])
rs = r.get("restart", {})
full = r["tls"]["handshakes"] - rs.get("tls_handshakes", 0)
again = rs.get("tls_handshakes", 0)
print(f"hub CPU per connection: first {full} connections {1e3 * a / max(full, 1):.2f} ms "
      f"(≈{full / max(a, 1e-9):.0f}/s per core); after the restart {again} connections, "
      f"{rs.get('tls_resumed', 0)} resumed: {1e3 * b / max(again, 1):.2f} ms "
      f"(≈{again / max(b, 1e-9):.0f}/s per core)")
# next to the crypto floor of the same run (bench hub --floor-time): full =
# ECDHE + sign + 2 verifies, resumed = ECDHE; the restart floor is every
# reconnect's resumed (or full) floor spread over all cores
c = r.get("floors", {}).get("crypto", {})
cores = os.cpu_count() or 1
if c:
    ff, fr = c["full_handshake_us"], c["resumed_handshake_us"]
    print(f"  full: {1e6 * a / max(full, 1):.0f} µs/connection, floor {ff:.0f} µs, "
          f"ratio {1e6 * a / max(full, 1) / ff:.2f}×")
    if again:
        resumed = rs.get("tls_resumed", 0) == again
        fl = fr if resumed else ff
        print(f"  after the restart ({'resumed' if resumed else 'not all resumed'}): "
              f"{1e6 * b / again:.0f} µs/connection, floor {fl:.0f} µs, "
              f"ratio {1e6 * b / again / fl:.2f}×")
        if "reestablish_s" in rs:
            fs = again * fl / 1e6 / cores
            print(f"  all back in {rs['reestablish_s']:.1f} s after the first loss; floor "
                  f"{again} × {fl:.0f} µs / {cores} cores = {fs:.2f} s of hub crypto "
                  f"(+ the nodes' first reconnect wait, 2–4 s by default)")
        # what this machine allows, hub and generator sharing its cores: the
        # nodes lose their connections over `spread` s, each first retries
        # 2–4 s later (SC_Minimum_Reconnect_Time 2 s, jitter up to 2×), and
        # every reconnect costs the hub's and the generator's CPU together
        gr = rs.get("generator_cpu_s")
        if gr and "reestablish_s" in rs:
            per = (b + gr) / again
            spread = rs.get("loss_spread_s", 0.0)
            busy = again * per / cores
            floor = max(4.0 + spread, 2.0 + busy)
            print(f"  generator CPU per connection: first set-up "
                  f"{1e6 * r.get('generator_cpu_establish_s', 0) / max(full, 1):.0f} µs, after the "
                  f"restart {1e6 * gr / again:.0f} µs; nodes lost their connection over "
                  f"{spread:.2f} s")
            print(f"  this machine: hub + generator {1e6 * per:.0f} µs CPU per reconnect on {cores} "
                  f"cores = {busy:.1f} s for {again}; all back ≥ max(4 s longest first wait + "
                  f"{spread:.1f} s, 2 s + {busy:.1f} s) = {floor:.1f} s "
                  f"(ratio {rs['reestablish_s'] / floor:.2f}×)")
PY
  cat "$OUT/hub-cpu.txt" >&2
  stop_hub
fi

# ---- summary
$PY - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print(f"{'run':24} {'relayed msg/s':>14} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} {'errors':>7}"
      f"  hub syscalls/msg (floor 2.00), hub CPU µs/msg")
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(f)[:-5]
    try:
        r = json.load(open(f))
    except Exception:
        print(f"{name:24} (no result)")
        continue
    if "mode" not in r:  # hub-bench.json, the hub's configuration
        continue
    err = r["errors"]["total"]
    if r["mode"] == "connect":
        line = (f"{name:24} {r['connected']}/{r['nodes']} connected in {r['establish_s']:.1f} s")
        if "hub_kb_per_connection" in r:
            line += f", hub {r['hub_kb_per_connection']:.1f} KB/connection"
        if "restart" in r:
            rs = r["restart"]
            line += f", restart: {rs['back']}/{rs['lost']} back in {rs['reestablish_s']:.1f} s"
        print(line + f", errors {err}")
        continue
    lat = r["rtt"] if r["mode"] == "rtt" else r["one_way"]
    kind = "round trip" if r["mode"] == "rtt" else "one way"
    fl = r.get("floors", {})
    print(f"{name:24} {r['relayed_per_s']:14.0f} {lat['p50_us']:8.1f} {lat['p99_us']:8.1f} "
          f"{lat['p999_us']:9.1f} {err:7d}   ({kind})"
          + (f"  {r['hub_syscalls_per_msg']:.2f} ({r['hub_syscalls_floor']:.2f}), "
             f"{r['hub_cpu_us_per_msg']:.2f}" if "hub_syscalls_per_msg" in r else "")
          + (f" (floor {fl['hub_cpu_us_per_msg']['floor']:.2f}, {fl['hub_cpu_us_per_msg']['ratio']:.2f}×)"
             if "hub_cpu_us_per_msg" in fl else ""))
    if "rtt_p50" in fl:
        print(f"{'':24} round trip floor (2 loopback TCP round trips, same run): p50 "
              f"{fl['tcp_2rtt']['p50_us']:.1f} µs ({fl['rtt_p50']['ratio']:.2f}×), p99 "
              f"{fl['tcp_2rtt']['p99_us']:.1f} µs ({fl['rtt_p99']['ratio']:.2f}×)")
PY
