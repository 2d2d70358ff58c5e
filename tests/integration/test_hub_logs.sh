#!/usr/bin/env bash
# What the hub logs and counts, and how `bacsc read` prints enumerations:
# - a refused TLS handshake is logged once, with the subject and serial of
#   the certificate the peer presented;
# - "node joined" names the node's certificate subject and serial and its UUID;
# - the status file's `refused` counts TLS refusals (refused_tls too);
# - read/readm print an enumerated value by name (sc-hub-connector-state =
#   connected-to-primary); --json keeps the number in "value" and adds
#   "value_name".
# Real hub, device and tools on 127.0.0.1.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_hub_logs.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; tail -8 hub.log >&2; exit 1; }
B() { "$BACSC" "$@"; }
P=$((20000 + RANDOM % 12000))
HUB=wss://127.0.0.1:$P
B pki demo --out p --nodes 2 >/dev/null
B pki demo --out q --nodes 1 >/dev/null   # another CA
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
"$BACSC" hub --listen 127.0.0.1:$P --cert p/hub.pem --key p/hub.key --ca p/ca.pem --status-file st.json \
  --log-level info >hub.log 2>&1 &
HP=$!; PIDS+=($HP)
for _ in $(seq 100); do ss -Hltn "sport = :$P" | grep -q . && break; sleep 0.05; done

# a refused handshake: one line, with the presented certificate
set +e; B whois --hub $HUB --cert q/node1.pem --key q/node1.key --ca p/ca.pem --timeout 3 >/dev/null 2>&1; set -e
sleep 0.3
n=$(grep -c "error 180\|: 180 " hub.log || true)
[ "$n" -eq 1 ] || fail "refused handshake logged $n times, wanted once"
grep -q "closed before open: 180 tls-client-certificate-error: .*peer certificate subject CN=node1, serial $(serial q/node1.pem)" hub.log ||
  fail "refusal line without the peer's subject and serial"

# a node joins: subject, serial and UUID
"$BACSC" device --hub $HUB --cert p/node1.pem --key p/node1.key --ca p/ca.pem --instance 1001 --log-level warn >dev.log 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "node joined" hub.log && break; sleep 0.1; done
grep -q "node joined: vmac [0-9a-f:]* uuid [0-9a-f-]* from 127.0.0.1:[0-9]*, subject CN=node1, serial $(serial p/node1.pem)" hub.log ||
  fail "node joined without subject/serial: $(grep 'node joined' hub.log)"

# the status file counts the TLS refusal
rm -f st.json
kill -USR1 $HP
for _ in $(seq 50); do [ -s st.json ] && python3 -c 'import json; json.load(open("st.json"))' 2>/dev/null && break; sleep 0.1; done
python3 -c '
import json; s=json.load(open("st.json"))["hub"]["stats"]
assert s["refused"] >= 1 and s["refused_tls"] == 1, s' || fail "status: $(cat st.json)"

# enumerations by name
CONN=(--hub $HUB --cert p/node2.pem --key p/node2.key --ca p/ca.pem --timeout 10)
out=$(B read 1001 network-port,1 sc-hub-connector-state "${CONN[@]}")
[ "$out" = "connected-to-primary" ] || fail "read: '$out'"
B read 1001 network-port,1 sc-hub-connector-state "${CONN[@]}" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["value"] == 1 and d["value_name"] == "connected-to-primary", d' || fail "read --json"
out=$(B readm 1001 network-port,1 sc-hub-connector-state,network-type device,1001 system-status,object-name "${CONN[@]}")
echo "$out" | grep -qx "network-port,1 sc-hub-connector-state = connected-to-primary" || fail "readm: $out"
echo "$out" | grep -qx "network-port,1 network-type = secure-connect" || fail "readm network-type: $out"
echo "$out" | grep -qx "device,1001 system-status = operational" || fail "readm system-status: $out"
echo "$out" | grep -q "device,1001 object-name = " || fail "readm object-name: $out"
echo "ok: hub logs and counters, enumeration names"
