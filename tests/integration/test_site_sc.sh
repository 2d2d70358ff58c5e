#!/usr/bin/env bash
# test_site_sc.sh — `bacsc site` over BACnet/SC: a hub and three `bacsc
# device` nodes (real TLS, 127.0.0.1); the tool joins with its own
# certificate (--hub --cert --key --ca), discovers them with Who-Is through
# the hub and reads them by VMAC; a mode job on a device without a BACnet/IP
# port fails with a clear message; a tool certificate from another CA cannot
# join (exit 4).
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_site_sc.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hub.log dev.log; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
        [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768..)
HUB=wss://127.0.0.1:$PORT
export BACSC_SITE_DB=$T/site.db
"$BACSC" pki demo --out pki --nodes 3 >/dev/null
"$BACSC" pki demo --out other --nodes 1 >/dev/null
# --count 3 below runs three devices on node1's certificate, whose urn:uuid:
# only the first instance has: the hub must not bind UUIDs to certificates.
"$BACSC" hub --listen 127.0.0.1:$PORT --cert pki/hub.pem --key pki/hub.key --ca pki/ca.pem \
  --uuid-binding off 2>hub.log &
PIDS+=($!)
"$BACSC" device --instance 3001 --count 3 --hub $HUB --cert pki/node1.pem --key pki/node1.key \
  --ca pki/ca.pem 2>dev.log &
PIDS+=($!)
run 0 init --name sc-site --ca pki/ca.pem --primary-hub $HUB
SC=(--hub $HUB --cert pki/node3.pem --key pki/node3.key --ca pki/ca.pem)
for _ in $(seq 20); do
  set +e; "$BACSC" site discover "${SC[@]}" --wait 1000 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "3 devices, 3 done" out && break
  sleep 0.5
done
[ "$RC" = 0 ] || fail "discover over SC exited $RC"
"$BACSC" site status --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin)
assert d['devices']==3, d
for r in d['rows']:
    assert r['mode']=='sc' and len(r['vmac'])==17 and r['address']=='' and r['name'].startswith('bacsc-device-'), r
" || fail "status after discover over SC: $("$BACSC" site status)"
# a BACnet/IP-only job cannot reach them
run 1 mode dual 3001 --bip-local 127.0.0.1:0 --timeout 200
grep -q "no BACnet/IP address" out || fail "mode over B/IP: $(cat out)"
# over SC the job reaches them, and the device says what it lacks
run 1 mode dual 3001 "${SC[@]}"
grep -q "no BACnet/IP Network Port" out || fail "mode dual over SC: $(cat out)"
# --hub with --bip-local is a usage error; a foreign certificate cannot join
run 2 discover "${SC[@]}" --bip-local 127.0.0.1:0
run 4 discover --hub $HUB --cert other/node1.pem --key other/node1.key --ca other/ca.pem --wait 500
echo ok
