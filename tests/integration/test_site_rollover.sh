#!/usr/bin/env bash
# test_site_rollover.sh — `bacsc site rollover` from CA1 to CA2 with four
# `bacsc device --state-dir` devices over BACnet/IP: the phases refuse to
# start early (and --force leaves the listed devices out), `site status`
# shows each device's phase, every device ends trusting only CA2 with a CA2
# certificate, and the rollover record is closed.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_site_rollover.XXXXXX)
PD=""
cleanup() { [ -n "$PD" ] && kill $PD 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev.err; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
BASE=$((20000 + RANDOM % 12000))
export BACSC_SITE_DB="$T/site.db"
NET=(--bip-local 127.0.0.1:$BASE --timeout 500 --retries 2 --password pw)
PY=/usr/bin/python3
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
phases() { "$BACSC" site status --json | $PY -c "
import json,sys; print(' '.join(str(r.get('rollover_phase','-')) for r in json.load(sys.stdin)['rows']))"; }

"$BACSC" ca init --dir ca1 --name "Site CA 1" >/dev/null
"$BACSC" ca init --dir ca2 --name "Site CA 2" >/dev/null
run 0 init --name plant-r --ca ca1/ca.pem
"$BACSC" device --state-dir st --instance 3001 --count 4 --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 8 --log-level warn \
  >dev.out 2>dev.err &
PD=$!
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 4))" 2>/dev/null | grep -q . && break; sleep 0.1; done
T4=(); for i in 1 2 3 4; do T4+=(--target 127.0.0.1:$((BASE + i))); done
run 0 discover --bip-local 127.0.0.1:$BASE "${T4[@]}"
run 0 request --all --out r1.zip "${NET[@]}"
"$BACSC" ca sign --dir ca1 r1.zip --out s1.zip >/dev/null
run 0 import s1.zip "${NET[@]}"

run 1 rollover
grep -q "no CA rollover in progress" err || fail "no rollover: $(cat err)"
run 3 rollover --new-ca ca1/ca.pem
run 0 rollover --new-ca ca2/ca.pem
[ "$(phases)" = "0 0 0 0" ] || fail "phases at start: $(phases)"
run 1 rollover --phase 2 --out r2.zip "${NET[@]}"
grep -q "did not complete phase 1" err || fail "phase 2 before phase 1: $(cat err)"

# phase 1 on three devices only: phase 2 refuses, then --force leaves 3004 out
run 0 trust add ca2/ca.pem 3001-3003 "${NET[@]}"
[ "$(phases)" = "1 1 1 0" ] || fail "phases after trust on 3: $(phases)"
run 1 rollover --phase 2 --out r2.zip "${NET[@]}"
grep -q "1 device did not complete phase 1 (first: 3004)" err || fail "refusal: $(cat err)"
run 0 rollover --phase 2 --out r2.zip --force 3004 "${NET[@]}"
grep -q "wrote r2.zip: 3 CSRs" out || fail "phase 2 renew with --force: $(cat out)"
"$BACSC" ca sign --dir ca2 r2.zip --out s2.zip >/dev/null
run 0 rollover --phase 2 --response s2.zip "${NET[@]}"
[ "$(phases)" = "2 2 2 0" ] || fail "phases after forced phase 2: $(phases)"

# the rest: phase 1 for 3004, phase 2 for it alone
run 0 rollover --phase 1 "${NET[@]}"
[ "$(phases)" = "2 2 2 1" ] || fail "phases after phase 1: $(phases)"
run 1 rollover --phase 4 "${NET[@]}"
grep -q "hubs are not confirmed" err || fail "phase 4 before 3: $(cat err)"
run 0 rollover --phase 2 --out r3.zip "${NET[@]}"
grep -q "wrote r3.zip: 1 CSR" out || fail "phase 2 for 3004: $(cat out)"
"$BACSC" ca sign --dir ca2 r3.zip --out s3.zip >/dev/null
run 0 rollover --phase 2 --response s3.zip "${NET[@]}"
[ "$(phases)" = "2 2 2 2" ] || fail "phases after phase 2: $(phases)"
run 0 rollover --phase 3
grep -q "hubs-done" out || fail "phase 3 instructions: $(cat out)"
run 0 rollover --phase 3 --hubs-done
run 0 rollover --phase 4 "${NET[@]}"
# closed: no rollover any more; every device trusts only CA2 and holds a CA2 certificate
run 1 rollover
run 0 discover --bip-local 127.0.0.1:$BASE "${T4[@]}"
"$BACSC" site status --json | $PY -c "
import json,sys
d=json.load(sys.stdin)
for r in d['rows']:
    assert r['cert_status']=='valid' and r['site_ca'] and 'Site CA 2' in r['issuer'], r
" || fail "every device on CA2: $("$BACSC" site status)"
run 0 trust remove ca1/ca.pem --all "${NET[@]}"
grep -q "4 no action taken" out || fail "CA1 should be gone from every device: $(cat out)"
echo ok
