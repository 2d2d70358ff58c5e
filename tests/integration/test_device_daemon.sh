#!/usr/bin/env bash
# test_device_daemon.sh — `bacsc device` as a daemon, in every runtime mode:
#  - SIGUSR1 with --state-dir --count 5: the status file is rewritten (`bacsc
#    status --pid` reads it, five devices with their mode and address) and all
#    five devices keep running (they used to die: no USR1 handler);
#  - a second copy on the same --state-dir stops at once, exit 1, naming the
#    PID that holds the directory; the first keeps answering;
#  - a device on a --bip port another process holds stops, exit 1 "port in use";
#  - `site discover --bip-local` on a device's port fails instead of finding
#    fewer devices.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
CL="$BACSC_BUILD/tests/bip_client"
T=$(mktemp -d /tmp/test_device_daemon.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in dev.log dev2.log; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
up() { # up PORT INSTANCE
  for _ in $(seq 100); do "$CL" --to 127.0.0.1:$1 --timeout 300 read device,$2 object-name >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
for try in 1 2 3 4 5 6; do
  P=$((10000 + RANDOM % 20000))
  "$BACSC" device --state-dir st --instance 4001 --count 5 --bip 127.0.0.1:$P \
    --status-file status.json >dev.log 2>&1 &
  DEV=$!
  up $((P + 4)) 4005 && break
  kill $DEV 2>/dev/null || true; wait $DEV 2>/dev/null || true
done
PIDS+=($DEV)
up $((P + 4)) 4005 || fail "devices did not start"

# ---- SIGUSR1 -------------------------------------------------------------------
"$BACSC" status --status-file status.json --pid $DEV >status.txt || fail "bacsc status --pid: $(cat status.txt)"
[ "$(grep -c '^  device 400[1-5]' status.txt)" = 5 ] || fail "status lists five devices: $(cat status.txt)"
grep -q "device 4003 .*mode ip" status.txt || fail "status shows the mode: $(cat status.txt)"
"$BACSC" status --status-file status.json --json >status2.json
python3 - <<'PY' || fail "status JSON"
import json
d = json.load(open("status2.json"))
assert d["role"] == "device" and len(d["devices"]) == 5, d
assert all(x["mode"] == "ip" and x["bip"].startswith("127.0.0.1:") and x["node"] is None for x in d["devices"]), d
PY
kill -USR1 $DEV; sleep 0.3
kill -0 $DEV 2>/dev/null || fail "SIGUSR1 killed the devices"
for i in 0 1 2 3 4; do up $((P + i)) $((4001 + i)) || fail "device $((4001 + i)) stopped answering after SIGUSR1"; done

# ---- a second copy on the same state directory ------------------------------------
set +e
timeout 10 "$BACSC" device --state-dir st --instance 4001 --count 5 --bip 127.0.0.1:$((P + 10)) >dev2.log 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "second copy: exit $rc (want 1)"
grep -q "state directory st is in use by process $DEV" dev2.log || fail "second copy names the holder: $(cat dev2.log)"
up $P 4001 || fail "the first copy stopped answering"

# ---- a BACnet/IP port in use -----------------------------------------------------------
set +e
timeout 10 "$BACSC" device --state-dir st2 --instance 4101 --bip 127.0.0.1:$((P + 2)) >dev3.log 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "device on a port in use: exit $rc (want 1): $(cat dev3.log)"
grep -q "127.0.0.1:$((P + 2)): port in use" dev3.log || fail "port in use message: $(cat dev3.log)"

# ---- site discover --bip-local on a device's port ---------------------------------------
"$BACSC" pki demo --out pki --nodes 1 >/dev/null
"$BACSC" site init --db site.db --name s --ca pki/ca.pem >/dev/null || fail "site init"
set +e
timeout 20 "$BACSC" site discover --db site.db --bip-local 127.0.0.1:$P --broadcast 127.0.0.1:$P \
  --broadcast-count 5 --quiet >disc.out 2>disc.err
rc=$?
set -e
[ "$rc" != 0 ] || fail "site discover on a device's port succeeded: $(cat disc.out)"
grep -qi "in use" disc.err || fail "site discover says the port is in use: $(cat disc.err)"

kill -TERM $DEV; wait $DEV; rc=$?
[ "$rc" = 0 ] || fail "SIGTERM exit $rc"
echo "ok"
