#!/usr/bin/env bash
# Site jobs find a device again by instance when its address changed. Three
# state-directory devices on BACnet/IP are discovered, then restart on other
# UDP ports: `site request` finds them by a Who-Is broadcast and stores the
# new addresses. They are commissioned (certificates → BACnet/SC) and
# discovered over the hub; then they restart with new VMACs (their stored
# VMACs deleted, as a device that does not keep one would). A `site trust
# add` over the hub times out at the stored VMACs, asks for each device by
# instance (Who-Is through the hub), continues at the new VMAC and finishes;
# the site database then holds the new VMACs. A device that is really gone
# fails with a line that says so. Real CA, hub, devices and tool on 127.0.0.1.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_site_refind.XXXXXX)
PH=""; PD=""
cleanup() { for p in $PH $PD; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hub.log dev.log; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
B() { "$BACSC" "$@"; }
BASE=$((20000 + RANDOM % 12000))
HUB=wss://127.0.0.1:$((BASE + 10))
export BACSC_SITE_DB=$T/site.db
echo pw-refind >pw
NET=(--bip-local 127.0.0.1:$BASE)

B ca init --dir ca --name "Refind CA" >/dev/null
B ca init --dir ca2 --name "Next CA" >/dev/null
B ca issue --dir ca --generate-key --cn hub --key-out hub.key --out hub.pem >/dev/null
B ca issue --dir ca --generate-key --cn tool --key-out tool.key --out tool.pem >/dev/null
"$BACSC" hub --listen 127.0.0.1:$((BASE + 10)) --cert hub.pem --key hub.key --ca ca/ca.pem 2>hub.log &
PH=$!
start_devices() { # [FIRST_PORT]
  local first=${1:-$((BASE + 1))}
  "$BACSC" device --state-dir st --instance 3001 --count 3 --bip 127.0.0.1:$first \
    --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 8 --password-file pw 2>>dev.log &
  PD=$!
  for _ in $(seq 100); do ss -Hlun "sport = :$((first + 2))" | grep -q . && return; sleep 0.05; done
}
addresses() { B site status --json | python3 -c '
import json,sys; print(" ".join(r["address"] for r in json.load(sys.stdin)["rows"]))'; }
start_devices
B site init --name refind --ca ca/ca.pem --primary-hub $HUB >/dev/null
B site discover "${NET[@]}" --broadcast 127.0.0.1:$BASE --broadcast-count 8 --wait 800 >out 2>err || fail "discover"
[ "$(addresses)" = "127.0.0.1:$((BASE + 1)) 127.0.0.1:$((BASE + 2)) 127.0.0.1:$((BASE + 3))" ] ||
  fail "addresses after discover: $(addresses)"

# BACnet/IP: the devices come back on other ports; the job finds them by a
# Who-Is broadcast (--broadcast on one host) and stores the new addresses
kill $PD; wait $PD 2>/dev/null || true
start_devices $((BASE + 5))
set +e; B site request --all --out req.zip "${NET[@]}" --broadcast 127.0.0.1:$BASE --broadcast-count 8 \
  --timeout 300 --retries 1 --password-file pw --quiet >out 2>err; RC=$?; set -e
[ "$RC" = 0 ] || fail "request after the B/IP addresses changed: exit $RC: $(cat out)"
[ "$(addresses)" = "127.0.0.1:$((BASE + 5)) 127.0.0.1:$((BASE + 6)) 127.0.0.1:$((BASE + 7))" ] ||
  fail "addresses not updated: $(addresses)"
B ca sign --dir ca req.zip --out resp.zip >out 2>err || fail "sign"
B site import resp.zip "${NET[@]}" --password-file pw --quiet >out 2>err || fail "import"
B site mode sc --all "${NET[@]}" --password-file pw --quiet >out 2>err || fail "mode sc"
SC=(--hub $HUB --cert tool.pem --key tool.key --ca ca/ca.pem)
vmacs() { B site status --json | python3 -c '
import json,sys; print(" ".join(r["vmac"] for r in json.load(sys.stdin)["rows"]))'; }
for _ in $(seq 20); do
  set +e; B site discover "${SC[@]}" --wait 1000 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "3 devices, 3 done" out && break
  sleep 0.5
done
[ "$RC" = 0 ] || fail "discover over SC exited $RC"
before=$(vmacs)
[ "$(echo $before | wc -w)" = 3 ] || fail "VMACs after discover: $before"

# new VMACs: the job still reaches every device and finishes
kill $PD; wait $PD 2>/dev/null || true
python3 -c 'import sqlite3; c=sqlite3.connect("st/state.db"); c.execute("UPDATE device SET vmac = NULL"); c.commit()'
start_devices $((BASE + 5))
for _ in $(seq 100); do [ "$(grep -c 'connected-to-primary' dev.log)" -ge 6 ] && break; sleep 0.1; done
set +e; B site trust add ca2/ca.pem --all "${SC[@]}" --password-file pw --timeout 500 --retries 1 >out 2>err; RC=$?; set -e
[ "$RC" = 0 ] || fail "trust add after the VMACs changed: exit $RC: $(cat out)"
grep -q "3 devices, 3 done, 0 failed" out || fail "trust add: $(cat out)"
after=$(vmacs)
[ "$(echo $after | wc -w)" = 3 ] || fail "status VMACs: $after"
for v in $after; do
  case " $before " in *" $v "*) fail "VMAC $v not updated (before: $before, after: $after)" ;; esac
done

# a device that is gone: the job fails and says it did not answer Who-Is either
kill $PD; wait $PD 2>/dev/null || true; PD=""
set +e; B site trust remove ca2/ca.pem 3001 "${SC[@]}" --password-file pw --timeout 300 --retries 0 >out 2>err; RC=$?; set -e
[ "$RC" = 1 ] || fail "job on a device that is gone: exit $RC"
grep -q "timeout.*no answer to a Who-Is for it either" out || fail "gone device: $(cat out)"
echo "ok: jobs re-find devices by instance after a VMAC change and store the new VMACs"
