#!/usr/bin/env bash
# test_rollover_sc.sh — CA rollover CA1 -> CA2 over BACnet/SC, end to end:
# N `bacsc device --state-dir` devices (default 6; BACSC_ROLLOVER_SC_DEVICES,
# 50 in the `scale` run of test_rollover_sc_scale.sh) commissioned onto SC
# behind a primary and a failover `bacsc hub` (real TLS, 127.0.0.1), then
# `bacsc site rollover` phases 1-4 run over SC, with the hubs' manual step of
# docs/lifecycle.md done by replacing their files and SIGHUP (issuer slot 2 :=
# CA2 in phase 1, certificate from CA2 in phase 3, slot 1 := CA2 in phase 4).
# At every phase boundary every device is reached through the hub: `site
# discover` over SC finds all N, and a client holding a CA1 certificate (while
# CA1 is trusted) and one holding a CA2 certificate (once CA2 is trusted) each
# read every device's Object_Name. At the end: every device holds a valid CA2
# certificate and trusts CA1 in no slot, a CA1 client is refused by both hubs,
# no hub connection was dropped by the reloads, and a rogue hub with a CA1
# certificate put in the primary's place is refused by every device (they stay
# reachable through the failover hub).
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
N=${BACSC_ROLLOVER_SC_DEVICES:-6}
T=$(mktemp -d /tmp/test_rollover_sc.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hubp.log hubf.log dev.err rogue.log; do [ -f $f ] && { echo "--- $f" >&2; tail -6 $f >&2; }; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
PY=/usr/bin/python3
BASE=$((20000 + RANDOM % 11000))
HP=$((BASE + N + 10)); HF=$((BASE + N + 11))
HUBP=wss://127.0.0.1:$HP; HUBF=wss://127.0.0.1:$HF
export BACSC_SITE_DB=$T/site.db
BIP=(--bip-local 127.0.0.1:$BASE --timeout 3000 --retries 3 --password pw --concurrency 16)

"$BACSC" ca init --dir ca1 --name "Site CA 1" >/dev/null
"$BACSC" ca init --dir ca2 --name "Site CA 2" >/dev/null
issue() { "$BACSC" ca issue --dir $1 --generate-key --cn $2 --san IP:127.0.0.1 --san DNS:localhost \
  --key-out $3.key --out $3.pem >/dev/null || fail "ca issue $3"; }
issue ca1 hubp hubp; issue ca1 hubf hubf; issue ca1 tool tool1; issue ca2 tool tool2
issue ca1 rogue rogue
# each hub: two issuer slots (files), both CA1 at first
for h in hubp hubf; do cp ca1/ca.pem $h-slot1.pem; cp ca1/ca.pem $h-slot2.pem; done
"$BACSC" hub --listen 127.0.0.1:$HP --cert hubp.pem --key hubp.key --ca hubp-slot1.pem \
  --ca hubp-slot2.pem --log-level info 2>hubp.log &
PIDP=$!; PIDS+=($PIDP)
"$BACSC" hub --listen 127.0.0.1:$HF --cert hubf.pem --key hubf.key --ca hubf-slot1.pem \
  --ca hubf-slot2.pem --log-level info 2>hubf.log &
PIDF=$!; PIDS+=($PIDF)
"$BACSC" device --state-dir st --instance 6001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 2)) \
  --log-level warn >dev.out 2>dev.err &
PIDS+=($!)
for _ in $(seq 200); do ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break; sleep 0.1; done
TG=(); for i in $(seq $N); do TG+=(--target 127.0.0.1:$((BASE + i))); done

# ---- commission onto BACnet/SC (CA1) ---------------------------------------------------
run 0 init --name sc-rollover --ca ca1/ca.pem --domain site.example --primary-hub $HUBP --failover-hub $HUBF
run 0 discover --bip-local 127.0.0.1:$BASE "${TG[@]}"
run 0 request --all --out r0.zip "${BIP[@]}"
"$BACSC" ca sign --dir ca1 r0.zip --out s0.zip >/dev/null
run 0 import s0.zip "${BIP[@]}"
run 0 mode sc --all "${BIP[@]}"
SC1=(--hub $HUBP --failover $HUBF --cert tool1.pem --key tool1.key --ca ca1/ca.pem --ca ca2/ca.pem)
SC2=(--hub $HUBP --failover $HUBF --cert tool2.pem --key tool2.key --ca ca1/ca.pem --ca ca2/ca.pem)
SCF=(--hub $HUBF --cert tool2.pem --key tool2.key --ca ca2/ca.pem)  # failover hub only, CA2 only

# every device reachable through the hub, by `site discover` and by one read per device
# from each client given ("1" = CA1 client, "2" = CA2 client)
check() { local what=$1; shift
  local sc=("${SC2[@]}"); [ "$1" = 1 ] && sc=("${SC1[@]}"); [ "$1" = F ] && sc=("${SCF[@]}")
  for _ in $(seq 60); do
    set +e; "$BACSC" site discover "${sc[@]}" --wait 1500 >out 2>err; RC=$?; set -e
    [ "$RC" = 0 ] && grep -q "$N devices, $N done" out && break
    sleep 0.5
  done
  grep -q "$N devices, $N done" out || fail "$what: discover over SC: $(cat out err)"
  for c in "$@"; do
    local cl=("${SC2[@]}"); [ "$c" = 1 ] && cl=("${SC1[@]}"); [ "$c" = F ] && cl=("${SCF[@]}")
    for i in $(seq $N); do
      local inst=$((6000 + i))
      "$BACSC" read $inst device,$inst object-name --timeout 3000 "${cl[@]}" >rd.out 2>rd.err \
        || fail "$what: CA$c client cannot read $inst: $(cat rd.err)"
      grep -q "$inst" rd.out || fail "$what: CA$c read of $inst: $(cat rd.out)"
    done
  done
  echo "$what: $N devices read through the hub by the CA$* client(s)"
}
hup() { kill -HUP $PIDP $PIDF; sleep 1; }
# every phase job finishes in one run: the import's confirm step waits for devices that are
# still reconnecting to the hubs with their new certificates (no partial rerun needed)
phase() { run 0 rollover "$@"; }
check "commissioned" 1
run 0 rollover --new-ca ca2/ca.pem

# ---- phase 1: every device and both hubs trust CA2 as second issuer ----------------------
phase --phase 1 "${SC1[@]}" --password pw
for h in hubp hubf; do cp ca2/ca.pem $h-slot2.pem; done; hup
check "after phase 1" 1 2

# ---- phase 2: every device gets a CA2 certificate --------------------------------------
run 0 rollover --phase 2 --out r2.zip "${SC1[@]}" --password pw
"$BACSC" ca sign --dir ca2 r2.zip --out s2.zip >/dev/null
phase --phase 2 --response s2.zip "${SC1[@]}" --password pw
check "after phase 2" 1 2

# ---- phase 3: the hubs get CA2 certificates (same files, SIGHUP) ---------------------------
issue ca2 hubp hubp.new; issue ca2 hubf hubf.new
for h in hubp hubf; do mv $h.new.key $h.key; mv $h.new.pem $h.pem; done; hup
run 0 rollover --phase 3 --hubs-done
check "after phase 3" 1 2
for p in $HP $HF; do  # cross-check with the openssl CLI: the hub serves a CA2 certificate
  for _ in 1 2 3; do
    openssl s_client -connect 127.0.0.1:$p -cert tool2.pem -key tool2.key -CAfile ca2/ca.pem \
      -verify_return_error </dev/null >sclient.out 2>&1 || true
    openssl x509 -noout -issuer <sclient.out >issuer.out 2>&1 && grep -q "Site CA 2" issuer.out && break
    sleep 1
  done
  grep -q "Site CA 2" issuer.out || fail "hub :$p serves no CA2 certificate: $(cat issuer.out; tail -3 sclient.out)"
done

# ---- phase 4: CA1 removed from every device and both hubs ---------------------------------
phase --phase 4 "${SC2[@]}" --password pw
for h in hubp hubf; do cp ca2/ca.pem $h-slot1.pem; done; hup
check "after phase 4" 2
run 1 rollover
# no reload found a connected node whose certificate it no longer accepts
grep -h "no longer accepted" hubp.log hubf.log && fail "a hub reload disconnected a node"
"$BACSC" site status --json | $PY -c "
import json,sys
d=json.load(sys.stdin)
assert d['devices']==$N, d
for r in d['rows']:
    assert r['mode']=='sc' and r['cert_status']=='valid' and 'Site CA 2' in r['issuer'], r
" || fail "every device on CA2: $("$BACSC" site status)"
run 0 trust remove ca1/ca.pem --all "${SC2[@]}" --password pw
grep -q "$N no action taken" out || fail "CA1 should be in no device's slot: $(cat out)"

# ---- a node with a CA1 certificate is refused ---------------------------------------------
for h in $HUBP $HUBF; do
  run 4 discover --hub $h --cert tool1.pem --key tool1.key --ca ca2/ca.pem --wait 1000
done
for l in hubp.log hubf.log; do
  grep -q "tls-client-certificate-error.*unable to get local issuer" $l || fail "$l: no refusal of the CA1 client"
done
# a rogue hub with a CA1 certificate (trusting both CAs) takes the primary's place: the
# devices refuse it and stay reachable through the failover hub
kill $PIDP; wait $PIDP 2>/dev/null || true
"$BACSC" hub --listen 127.0.0.1:$HP --cert rogue.pem --key rogue.key --ca ca1/ca.pem --ca ca2/ca.pem \
  --log-level info 2>rogue.log &
PIDS+=($!)
check "primary replaced by a CA1 hub (read through the failover hub)" F
sleep 3
grep -q "joined" rogue.log && fail "a device joined the CA1 hub: $(grep joined rogue.log | head -3)"
grep -q "the peer rejected our certificate.*unknown ca" rogue.log || fail "no device refused the CA1 hub"
echo ok
