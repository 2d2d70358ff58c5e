#!/usr/bin/env bash
# test_device_logs.sh — what a device logs while its hub is down: one info
# line per failed attempt, naming the device instance and the hub, with the
# error and "next try in N s"; no other info lines per retry (the WebSocket
# layer's own line is debug), for a plain device and for --count 2.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_device_logs.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; cat dev.log >&2; exit 1; }
"$BACSC" pki demo --out pki --nodes 1 >/dev/null
# a port nothing listens on
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BACSC" device --instance 1001 --count 2 --hub wss://127.0.0.1:$DEAD --cert pki/node1.pem \
  --key pki/node1.key --ca pki/ca.pem --config <(echo '{"reconnect_min": 1, "reconnect_max": 2}') \
  >dev.log 2>&1 &
PID=$!
n() { grep -c "device $1: primary hub .*next try in" dev.log || true; }
for _ in $(seq 200); do [ "$(n 1001)" -ge 4 ] && [ "$(n 1002)" -ge 4 ] && break; sleep 0.1; done
kill -TERM $PID; wait $PID || true; PID=""
python3 - "$DEAD" <<'PY' || fail "log lines"
import re, sys
dead = sys.argv[1]
lines = [l.rstrip("\n") for l in open("dev.log")]
info = [l for l in lines if re.match(r"\S+Z info ", l)]
for inst in (1001, 1002):
    fails = [l for l in info if re.search(rf"device {inst}: primary hub wss://127\.0\.0\.1:{dead}: 194 tcp-connection-refused: .*; next try in \d+\.\d+ s$", l)]
    assert len(fails) >= 4, (inst, fails)
    # between two failures of this device: at most one other info line of it
    # (the first retry after a loss says "connecting to"; later ones do not)
    idx = [i for i, l in enumerate(info) if f"device {inst}:" in l]
    per = [l for l in (info[i] for i in idx) if "next try in" not in l and "connecting to" in l]
    assert len(per) <= 2, (inst, per)
assert not [l for l in info if l.split(" info  ", 1)[1].startswith("ws to")], "ws layer lines at info"
print("ok")
PY
