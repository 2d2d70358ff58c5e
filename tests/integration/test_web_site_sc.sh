#!/usr/bin/env bash
# test_web_site_sc.sh — site jobs of the web console over BACnet/SC: a hub and
# three `bacsc device` nodes (real TLS, 127.0.0.1); `bacsc web` joins with its
# own identity (--hub --sc-cert --sc-key --sc-ca) and a mode job started
# through the API reaches the device over the hub (the device's own answer,
# "no BACnet/IP Network Port", comes back as the item's error).
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_web_site_sc.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in web.log hub.log dev.log; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
PORT=$((20000 + RANDOM % 12000))
HUB=wss://127.0.0.1:$PORT
export BACSC_SITE_DB=$T/site.db BACSC_WEB_DB=$T/web.db
"$BACSC" pki demo --out pki --nodes 3 >/dev/null
"$BACSC" hub --listen 127.0.0.1:$PORT --cert pki/hub.pem --key pki/hub.key --ca pki/ca.pem \
  --uuid-binding off 2>hub.log &
PIDS+=($!)
"$BACSC" device --instance 3001 --count 3 --hub $HUB --cert pki/node1.pem --key pki/node1.key \
  --ca pki/ca.pem 2>dev.log &
PIDS+=($!)
"$BACSC" site init --name sc-site --ca pki/ca.pem --primary-hub $HUB >/dev/null
SC=(--hub $HUB --cert pki/node3.pem --key pki/node3.key --ca pki/ca.pem)
for _ in $(seq 20); do
  set +e; "$BACSC" site discover "${SC[@]}" --wait 1000 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "3 devices, 3 done" out && break
  sleep 0.5
done
[ "$RC" = 0 ] || fail "discover over SC exited $RC"
echo "admin-password" >pw
"$BACSC" web user add admin --role admin --password-file pw >/dev/null
TOKEN=$("$BACSC" web token create --user admin | tail -1)

# --hub excludes --bip-local
set +e
"$BACSC" web --listen 127.0.0.1:0 --cert pki/hub.pem --key pki/hub.key --site-db site.db \
  --hub $HUB --sc-cert pki/node2.pem --sc-key pki/node2.key --sc-ca pki/ca.pem \
  --bip-local 127.0.0.1:0 >out 2>err
RC=$?
set -e
[ "$RC" != 0 ] && grep -q "exclude each other" err || fail "--hub with --bip-local accepted ($RC)"

# an unusable identity is refused at start-up, in one line naming the file
set +e
"$BACSC" web --listen 127.0.0.1:0 --cert pki/hub.pem --key pki/hub.key --site-db site.db \
  --hub $HUB --sc-cert pki/node2.pem --sc-key pki/node1.key --sc-ca pki/ca.pem >out 2>err
RC=$?
set -e
[ "$RC" = 1 ] && [ "$(wc -l <err)" = 1 ] && grep -q "identity for site jobs: pki/node1.key: key does not match" err ||
  fail "a mismatched --sc-key: exit $RC, $(cat err)"

WPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BACSC" web --listen 127.0.0.1:$WPORT --cert pki/hub.pem --key pki/hub.key --site-db site.db \
  --hub $HUB --sc-cert pki/node2.pem --sc-key pki/node2.key --sc-ca pki/ca.pem \
  --log-level info >web.out 2>web.log &
PIDS+=($!)
for _ in $(seq 100); do grep -q "serving https" web.out && break; sleep 0.1; done
grep -q "serving https" web.out || fail "bacsc web did not start"
api() { curl -sS --cacert pki/ca.pem -H "Authorization: Bearer $TOKEN" "$@"; }
api "https://127.0.0.1:$WPORT/api/site/devices?mode=sc" | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin); assert d['matched']==3, d" || fail "devices over the API"
JOB=$(api -H 'Content-Type: application/json' -d '{"kind":"mode","mode":"dual","devices":[3001]}' \
  "https://127.0.0.1:$WPORT/api/site/jobs" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 60); do
  api "https://127.0.0.1:$WPORT/api/site/jobs/$JOB" >job.json
  /usr/bin/python3 -c 'import json; exit(0 if json.load(open("job.json"))["state"] != "running" else 1)' && break
  sleep 0.5
done
/usr/bin/python3 - <<'PY' || fail "mode job over SC: $(cat job.json)"
import json
j = json.load(open("job.json"))
assert j["state"] == "failed" and j["failed"] == 1, j
assert "no BACnet/IP Network Port" in j["items"][0]["error"], j["items"][0]
PY
echo "ok: a site job from the web console reached a device over BACnet/SC"
