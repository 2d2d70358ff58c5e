#!/usr/bin/env bash
# test_security_crl_push.sh — a CA's CRL delivered to devices by the site tool
# over BACnet (docs/security.md "Revocation", docs/lifecycle.md "Revoking a
# certificate"): real `bacsc ca`, `bacsc hub`, `bacsc device --state-dir` and
# `bacsc site` processes on 127.0.0.1.
#
#   1. three devices commissioned in dual mode behind a hub (CA1); a stolen
#      CA1 certificate ("rogue1") run as a hub in the hub's place: the devices
#      join it (the attack works before the CRL)
#   2. `ca revoke` + `ca crl`, `site crl push` over BACnet/IP while the devices
#      are connected to the rogue hub: they drop it at once and refuse it from
#      then on ("revoked"), also a fresh rogue hub, and after a restart of the
#      device process (the CRL is kept in the state directory)
#   3. the genuine hub back; a second certificate revoked, the new CRL pushed
#      over BACnet/SC through the hub — the devices reload their CRLs in place
#      and keep their connection to the genuine hub; a hub with it is refused
#   4. refused, and nothing changes: a CRL of a foreign CA, the older CRL
#      (rollback), a push without the devices' password
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_security_crl_push.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hub.log dev.err rogue*.log; do [ -f $f ] && { echo "--- $f" >&2; tail -8 $f >&2; }; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want: $(cat out err)"; }
N=3
BASE=$((20000 + RANDOM % 11000))
HP=$((BASE + N + 10))
HUB=wss://127.0.0.1:$HP
export BACSC_SITE_DB=$T/site.db
BIP=(--bip-local 127.0.0.1:$BASE --timeout 3000 --retries 3 --password pw)
SCD=(--hub $HUB --cert tool.pem --key tool.key --ca ca1/ca.pem)
SC=("${SCD[@]}" --timeout 3000 --retries 3 --password pw)

"$BACSC" ca init --dir ca1 --name "Site CA" >/dev/null
"$BACSC" ca init --dir ca2 --name "Foreign CA" >/dev/null
issue() { "$BACSC" ca issue --dir $1 --generate-key --cn $2 --san IP:127.0.0.1 --san DNS:localhost \
  --key-out $2.key --out $2.pem >/dev/null || fail "ca issue $2"; }
issue ca1 hub; issue ca1 tool; issue ca1 rogue1; issue ca1 rogue2
serial() { openssl x509 -noout -serial -in $1.pem | cut -d= -f2; }

start_hub() { # start_hub CERT LOG
  "$BACSC" hub --listen 127.0.0.1:$HP --cert $1.pem --key $1.key --ca ca1/ca.pem \
    --log-level info 2>$2 &
  HUBPID=$!; PIDS+=($HUBPID)
  for _ in $(seq 50); do grep -q "listening on" $2 2>/dev/null && return; sleep 0.1; done
  fail "hub $1 did not start"
}
stop_hub() { kill $HUBPID; wait $HUBPID 2>/dev/null || true; }
start_devices() {
  "$BACSC" device --state-dir st --instance 7001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
    --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 2)) \
    --log-level info >>dev.out 2>>dev.err &
  DEVPID=$!; PIDS+=($DEVPID)
  for _ in $(seq 200); do ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && return; sleep 0.1; done
  fail "devices did not start"
}
joined() { grep -c "node joined" $1 2>/dev/null || true; }
wait_joined() { # wait_joined LOG COUNT
  for _ in $(seq 150); do [ "$(joined $1)" -ge $2 ] && return 0; sleep 0.1; done
  return 1
}
# a hub with CERT in the genuine hub's place: no device may join it in 6 s,
# and the devices say why
refused_hub() { # refused_hub CERT LOG WHAT
  start_hub $1 $2
  sleep 6
  [ "$(joined $2)" = 0 ] || fail "$3: a device joined the $1 hub: $(grep joined $2 | head -3)"
  grep -q "revoked" $2 || fail "$3: the $1 hub does not log the devices' refusal (revoked)"
  stop_hub
  echo "ok   $3"
}

# ---- 1. commission (dual: reachable over BACnet/IP and BACnet/SC) -----------------------
start_hub hub hub.log
start_devices
TG=(); for i in $(seq $N); do TG+=(--target 127.0.0.1:$((BASE + i))); done
run 0 init --name crl-site --ca ca1/ca.pem --domain site.example --primary-hub $HUB
run 0 discover --bip-local 127.0.0.1:$BASE "${TG[@]}"
run 0 request --all --out r.zip "${BIP[@]}"
"$BACSC" ca sign --dir ca1 r.zip --out s.zip >/dev/null
run 0 import s.zip "${BIP[@]}"
run 0 mode dual --all "${BIP[@]}"
wait_joined hub.log $N || fail "the devices did not join the hub"
echo "ok   $N devices commissioned, joined the hub"

# the attack, before any CRL: a stolen certificate impersonates the hub
stop_hub
start_hub rogue1 rogue1.log
wait_joined rogue1.log $N || fail "control: the devices did not join the rogue1 hub before the CRL"
echo "ok   before the CRL: the devices join a hub holding the stolen rogue1 certificate"

# ---- 2. revoke, publish, push over BACnet/IP (while they are on the rogue hub) ----------
"$BACSC" ca revoke --dir ca1 "$(serial rogue1)" --reason keyCompromise >/dev/null
"$BACSC" ca crl --dir ca1 --out crl1.pem >/dev/null
"$BACSC" ca crl --dir ca2 --out foreign.pem >/dev/null
run 0 crl push crl1.pem --all "${BIP[@]}"
grep -q "$N devices, $N done" out || fail "crl push over IP: $(cat out)"
for _ in $(seq 150); do [ "$(grep -c revoked rogue1.log)" -ge $N ] && break; sleep 0.1; done
[ "$(grep -c revoked rogue1.log)" -ge $N ] ||
  fail "the devices did not drop and refuse the connected rogue1 hub at once"
before=$(joined rogue1.log); sleep 4
[ "$(joined rogue1.log)" = "$before" ] || fail "a device joined the rogue1 hub again after the CRL"
echo "ok   after the push over BACnet/IP the devices dropped the connected rogue1 hub and refuse it"
stop_hub
# pushing the same CRL again: nothing to do
run 0 crl push crl1.pem --all "${BIP[@]}"
grep -q "no action taken" out || fail "second push of the same CRL: $(cat out)"
refused_hub rogue1 rogue1b.log "a fresh rogue1 hub is refused"
# the CRL is part of the device state: still refused after a restart
kill $DEVPID; wait $DEVPID 2>/dev/null || true
start_devices
refused_hub rogue1 rogue1c.log "still refused after the devices restarted (CRL kept in the state directory)"

# ---- 3. the genuine hub; a newer CRL pushed over BACnet/SC ---------------------------------
start_hub hub hub2.log
wait_joined hub2.log $N || fail "the devices did not join the genuine hub (not revoked)"
for _ in $(seq 20); do
  set +e; "$BACSC" site discover "${SCD[@]}" --wait 1500 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "$N devices, $N done" out && break
  sleep 0.5
done
grep -q "$N devices, $N done" out || fail "discover over SC: $(cat out err)"
"$BACSC" ca revoke --dir ca1 "$(serial rogue2)" --reason keyCompromise >/dev/null
sleep 1 # a later thisUpdate as well as a higher number
"$BACSC" ca crl --dir ca1 --out crl2.pem >/dev/null
devjoins() { grep -c "node joined.*CN=dev-" hub2.log || true; }
joins=$(devjoins)
run 0 crl push crl2.pem --all "${SC[@]}"
grep -q "$N devices, $N done" out || fail "crl push over SC: $(cat out)"
sleep 1
[ "$(devjoins)" = "$joins" ] ||
  fail "a CRL activation dropped the devices' connection to the genuine hub (not revoked)"
grep -q "CRLs reloaded" dev.err || fail "the devices did not reload their CRLs in place"
echo "ok   the newer CRL pushed over BACnet/SC through the hub; the genuine hub connection stays"
stop_hub
refused_hub rogue2 rogue2.log "a hub with rogue2 (revoked in the second CRL) is refused"
start_hub hub hub3.log
wait_joined hub3.log $N || fail "the devices did not rejoin the genuine hub"

# ---- 4. refusals ------------------------------------------------------------------------------
run 1 crl push foreign.pem --all "${BIP[@]}"
grep -q "crl-unknown-issuer" out || fail "foreign CRL: $(cat out)"
echo "ok   a CRL of a foreign CA is refused by every device (crl-unknown-issuer)"
run 1 crl push crl1.pem --all "${BIP[@]}"
grep -q "crl-rollback" out || fail "older CRL: $(cat out)"
echo "ok   the older CRL is refused by every device (crl-rollback)"
# (from another source: a commissioning session belongs to the source that opened it)
"$BACSC" ca crl --dir ca1 --out crl3.pem >/dev/null
set +e; "$BACSC" site crl push crl3.pem --all --bip-local 127.0.0.1:$((BASE + N + 6)) --timeout 3000 >out 2>err
RC=$?; set -e
[ "$RC" = 0 ] && fail "a push without the password succeeded"
grep -q "password\|write-access-denied" out || fail "push without the password: $(cat out)"
echo "ok   a push without the devices' password is refused"
stop_hub
refused_hub rogue2 rogue2b.log "after the refused pushes the devices still refuse rogue2"
echo ok
