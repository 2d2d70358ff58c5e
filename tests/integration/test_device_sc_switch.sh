#!/usr/bin/env bash
# test_device_sc_switch.sh — `bacsc device --state-dir` end to end: a device
# starts on BACnet/IP without certificates, is commissioned over BACnet/IP
# (CSR, certificate signed by the site CA with the openssl CLI, issuer,
# hub URI, mode sc, activate-changes), leaves BACnet/IP, joins the real
# `bacsc hub` with its new certificate and answers `bacsc read` over
# BACnet/SC; re-activated over BACnet/SC and restarted it keeps its VMAC (kept
# in the state) and comes back on SC by itself. A second device
# given a certificate from another CA is refused and stays on BACnet/IP.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
CL="$BACSC_BUILD/tests/bip_client"
T=$(mktemp -d /tmp/test_device_sc_switch.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in hub.log dev.log; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
# Ports below the ephemeral range (32768+), retried if taken.
"$BACSC" pki demo --out pki --nodes 1 >/dev/null
for try in 1 2 3 4 5 6; do
  HP=$((10000 + RANDOM % 20000)); P=$((HP + 100))
  "$BACSC" hub --listen 127.0.0.1:$HP --cert pki/hub.pem --key pki/hub.key --ca pki/ca.pem >hub.log 2>&1 &
  HUBPID=$!
  for _ in $(seq 50); do grep -q "listening" hub.log && break; kill -0 $HUBPID 2>/dev/null || break; sleep 0.1; done
  grep -q "listening" hub.log && break
  kill $HUBPID 2>/dev/null || true; wait $HUBPID 2>/dev/null || true
done
grep -q "listening" hub.log || fail "hub did not start"
PIDS+=($HUBPID)
HUB=wss://127.0.0.1:$HP
start_dev() {
  "$BACSC" device --state-dir st --instance 2001 --count 2 --bip 127.0.0.1:$P --domain site.example \
    --password pw --hub "$HUB" --log-level info >>dev.log 2>&1 &
  DEVPID=$!; PIDS+=($DEVPID)
  for _ in $(seq 50); do "$CL" --to 127.0.0.1:$((P + 1)) --timeout 300 read device,2002 object-name >/dev/null 2>&1 && return; sleep 0.1; done
  fail "device did not come up on BACnet/IP"
}
c() { local port=$1; shift; set +e; "$CL" --to 127.0.0.1:$port --login pw "$@" >c.out 2>&1; RC=$?; set -e; cat c.out; }
ok() { c "$@" >/dev/null; [ "$RC" = 0 ] || fail "'$*' -> rc $RC: $(cat c.out)"; }
sc_read() { # sc_read INSTANCE OBJ PROP
  timeout 10 "$BACSC" read "$1" "$2" "$3" --timeout 3 --hub "$HUB" --cert pki/node1.pem --key pki/node1.key --ca pki/ca.pem 2>sc.err
}
start_dev
[ "$(c $P read device,2001 object-name)" = '"dev-2001"' ] || fail "object name: $(cat c.out)"

# a foreign CA for the negative case
openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null
openssl req -x509 -new -key other.key -subj /CN=other -days 30 -out other.pem \
  -addext basicConstraints=critical,CA:TRUE 2>/dev/null
sign() { # sign CAPEM CAKEY CSR OUT
  local uri; uri=$(openssl req -in "$3" -noout -text | grep -o 'urn:uuid:[0-9a-f-]*')
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:%s\n' "$uri" >ext.cnf
  openssl x509 -req -in "$3" -CA "$1" -CAkey "$2" -set_serial $RANDOM -days 10 -out "$4" -extfile ext.cnf 2>/dev/null
}
commission() { # commission PORT CAPEM CAKEY
  ok $1 csr req.pem
  sign "$2" "$3" req.pem cert.pem
  ok $1 put 2 pki/ca.pem
  ok $1 put 1 cert.pem
  ok $1 write network-port,1 out-of-service bool false
  ok $1 write network-port,2 out-of-service bool true
  c $1 reinit 7 pw
}

# ---- 2001: commissioned and switched to SC -------------------------------------
[ "$(c $P read network-port,1 sc-primary-hub-uri)" = "\"$HUB\"" ] || fail "initial hub URI: $(cat c.out)"
commission $P pki/ca.pem pki/ca.key >/dev/null
[ "$RC" = 0 ] || fail "activation: $(cat c.out)"
sc_wait() { local end=$((SECONDS + 40)); v=""
  while [ $SECONDS -lt $end ]; do v=$(sc_read 2001 device,2001 object-name || true); [ "$v" = '"dev-2001"' ] && return; sleep 0.25; done; }
sc_wait
[ "${v:-}" = '"dev-2001"' ] || fail "device 2001 not reachable over BACnet/SC: $(cat sc.err)"
sc_read 2001 network-port,1 sc-hub-connector-state | grep -qi "primary\|1" || fail "hub connector state"
c $P --timeout 1000 read device,2001 object-name >/dev/null; [ "$RC" = 3 ] || fail "2001 still answers on BACnet/IP"

# ---- the VMAC is kept in the state: across its own re-activation and restarts ----------
mac() { sc_read 2001 network-port,1 mac-address || true; }
VM1=$(mac); [ -n "$VM1" ] || fail "MAC_Address over SC: $(cat sc.err)"
SCP=(--hub "$HUB" --cert pki/node1.pem --key pki/node1.key --ca pki/ca.pem --vmac 02:00:00:00:00:77)
# a commissioning session for this tool's VMAC (the password), then the change
timeout 20 "$BACSC_BUILD/tests/sc_reinit" 2001 activate-changes pw "${SCP[@]}" >reinit.out 2>&1 \
  || fail "log in over SC: $(cat reinit.out)"
timeout 20 "$BACSC" write 2001 network-port,1 sc-failover-hub-uri "wss://127.0.0.1:$((HP + 1))" \
  "${SCP[@]}" >/dev/null 2>sc.err || fail "write the failover URI over SC: $(cat sc.err)"
timeout 20 "$BACSC_BUILD/tests/sc_reinit" 2001 activate-changes pw "${SCP[@]}" >reinit.out 2>&1 \
  || fail "activate-changes over SC: $(cat reinit.out)"
grep -q "activated" dev.log || fail "no activation logged"
sc_wait
[ "${v:-}" = '"dev-2001"' ] || fail "device 2001 not back after its re-activation: $(cat sc.err)"
[ "$(mac)" = "$VM1" ] || fail "VMAC changed across the re-activation: $VM1 -> $(mac)"

# ---- 2002: certificate from another CA: refused, stays on IP --------------------
commission $((P + 1)) other.pem other.key >/dev/null
grep -q "^error 0 46" c.out || fail "foreign certificate activation: $(cat c.out)"
ok $((P + 1)) read device,2002 object-name

# ---- restart: 2001 comes back on SC, 2002 on IP ------------------------------------
kill "$DEVPID"; wait "$DEVPID" || true
start_dev
sc_wait
[ "${v:-}" = '"dev-2001"' ] || fail "device 2001 not back on BACnet/SC after restart: $(cat sc.err)"
c $P --timeout 1000 read device,2001 object-name >/dev/null; [ "$RC" = 3 ] || fail "2001 on BACnet/IP after restart"
[ "$(mac)" = "$VM1" ] || fail "VMAC changed across a restart: $VM1 -> $(mac)"

# ---- usage errors ------------------------------------------------------------------------
set +e
"$BACSC" device --state-dir st2 --instance 5 --bip 127.0.0.1:$((P + 10)) --mode sc >/dev/null 2>err.txt; rc=$?
set -e
[ "$rc" = 3 ] && grep -q "no activated BACnet/SC" err.txt || fail "--mode sc on a fresh state: rc $rc $(cat err.txt)"
set +e; "$BACSC" device --instance 5 --bip 127.0.0.1:1 >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "--bip without --state-dir: rc $rc"
echo ok
