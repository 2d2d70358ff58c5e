#!/usr/bin/env bash
# test_site_cli.sh — `bacsc site` end to end with real processes on
# 127.0.0.1: a site CA (`bacsc ca`), six commissionable devices on BACnet/IP
# in two `bacsc device --state-dir` processes (1001-1003 and 1004-1006), and
# the tool: discover (emulated broadcast) → request (one process down: partial,
# exit 5; the rerun retries only those) → a response from the wrong CA refused
# with nothing written → `bacsc ca sign` → import with one device process
# frozen then killed (partial; restarted; the rerun completes it with a
# consistent set) and the tool itself SIGKILLed mid-import (the rerun
# resumes) → trust add/remove → mode sc refused, then accepted → the devices
# leave BACnet/IP, also after a restart.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
T=$(mktemp -d /tmp/test_site_cli.XXXXXX)
PA=""; PB=""
cleanup() { for p in $PA $PB; do kill -CONT $p 2>/dev/null; kill $p 2>/dev/null; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err devA.err devB.err; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
BASE=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768..)
N=6
export BACSC_SITE_DB="$T/site.db"
NET=(--bip-local 127.0.0.1:$BASE --timeout 300 --retries 2)

start_group() { # start_group A|B — A: 1001-1003 on BASE+1.., B: 1004-1006 on BASE+4..
  local g=$1 first port
  if [ "$g" = A ]; then first=1001; port=$((BASE + 1)); else first=1004; port=$((BASE + 4)); fi
  "$BACSC" device --state-dir st$g --instance $first --count 3 --bip 127.0.0.1:$port \
    --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 8 --log-level warn \
    >dev$g.out 2>>dev$g.err &
  if [ "$g" = A ]; then PA=$!; else PB=$!; fi
  for _ in $(seq 100); do ss -Hlun "sport = :$((port + 2))" 2>/dev/null | grep -q . && return; sleep 0.1; done
  fail "device group $g did not start"
}
stop_group() { # stop_group A|B [SIGNAL]
  local p; if [ "$1" = A ]; then p=$PA; PA=""; else p=$PB; PB=""; fi
  kill -CONT $p 2>/dev/null || true; kill -${2:-TERM} $p 2>/dev/null || true; wait $p 2>/dev/null || true
}
start_devices() { start_group A; start_group B; }
stop_devices() { stop_group A; stop_group B; }
run() { # run WANT-RC args… — bacsc site …, output in out/err
  local want=$1; shift
  set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"
}
count_status() { # count_status STATUS → number of rows with that cert status
  "$BACSC" site status --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin); print(sum(1 for r in d['rows'] if r['cert_status']=='$1'))"
}

"$BACSC" ca init --dir ca --name "Plant A CA" >/dev/null
"$BACSC" ca init --dir other --name "Somebody Else CA" >/dev/null

# usage errors and an uninitialised database
run 2 request --out x.zip
run 1 status
run 2 init --name x
run 3 init --name plant-a --ca ca/ca.db
run 0 init --name plant-a --ca ca/ca.pem --domain site.example --primary-hub wss://127.0.0.1:4443
grep -q "Plant A CA" out || fail "init output"

start_devices

# ---- discover -------------------------------------------------------------------
run 0 discover "${NET[@]}" --broadcast 127.0.0.1:$BASE --broadcast-count $((N + 1)) --wait 1500
run 0 status
[ "$(grep -c '^10[0-9][0-9] ' out)" = $N ] || fail "status rows: $(cat out)"
grep -q "^1003 *dev-1003 .* ip *none" out || fail "status of 1003: $(grep 1003 out)"
"$BACSC" site status --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin)
assert d['devices']==$N, d
for r in d['rows']:
    assert r['mode']=='ip' and r['cert_status']=='none' and len(r['uuid'])==36, r
" || fail "status --json after discover"

# ---- request, with 1004-1006 down: partial, then the rerun retries them ----------
stop_group B
run 5 request --all --out req.zip "${NET[@]}" --password pw
grep -q "device 1006 *failed" out || fail "1006 should fail: $(cat out)"
[ "$(count_status csr-pending)" = 3 ] || fail "3 CSRs pending"
start_group B
run 0 request --all --out req.zip "${NET[@]}" --password pw
grep -q "3 no action taken" out || fail "the rerun should take no action on 3 devices: $(cat out)"
[ "$(count_status csr-pending)" = $N ] || fail "$N CSRs pending"
run 0 request --all --out req.zip "${NET[@]}" --password pw --json
/usr/bin/python3 -c "
import json; d=json.load(open('out'))
assert d['csrs']==$N and d['no_action']==$N and d['request_file']=='req.zip' and d['state']=='done', d
" || fail "request --json: $(cat out)"
"$BACSC" site status --json | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin)
assert all(len(r['csr_key_sha256'])==64 and r['csr_request_id'] for r in d['rows']), d
" || fail "status --json: CSR fingerprints"
"$BACSC" cari inspect req.zip --json >inspect.json || fail "cari inspect of the request"
/usr/bin/python3 -c "
import json; d=json.load(open('inspect.json')); print(d)" >/dev/null

# ---- a response from another CA: refused, nothing written ------------------------
"$BACSC" ca sign --dir other req.zip --out wrong.zip >/dev/null
run 3 import wrong.zip "${NET[@]}"
grep -q "not the site CA" err || fail "wrong-CA message: $(cat err)"
grep -q "nothing was written" err || fail "nothing-written message: $(cat err)"
run 0 jobs --json
/usr/bin/python3 -c "
import json; jobs=json.load(open('out'))
assert not any(j['kind']=='import' for j in jobs), jobs" || fail "an import job was created"

# ---- mode sc before certificates: refused for every device ------------------------
run 1 mode sc --all "${NET[@]}" --password pw
grep -q "refused: no valid operational certificate" out || fail "mode sc refusal: $(cat out)"

# ---- the right response; the tool SIGKILLed mid-import while 1004-1006 are ---------
# ---- frozen; they are killed and restarted; the rerun resumes the same job --------
"$BACSC" ca sign --dir ca req.zip --out resp.zip >/dev/null
kill -STOP $PB
"$BACSC" site import resp.zip --bip-local 127.0.0.1:$BASE --timeout 4000 --retries 0 \
  --concurrency 1 --password pw >kill.out 2>&1 &
TP=$!
for _ in $(seq 50); do [ "$(count_status valid)" = 3 ] && break; sleep 0.1; done
sleep 0.3
kill -9 $TP; wait $TP 2>/dev/null || true
[ "$(count_status valid)" = 3 ] || fail "1001-1003 should be done before the kill: $("$BACSC" site status)"
run 0 jobs --json
/usr/bin/python3 -c "
import json; jobs=json.load(open('out'))
imp=[j for j in jobs if j['kind']=='import']
assert len(imp)==1 and imp[0]['state']=='running' and imp[0]['done']==3 and imp[0]['pending']==3, imp
print(imp[0]['job'])" >jobid || fail "the killed import should be running with 3 done: $(cat out)"
stop_group B KILL
start_group B
run 0 import resp.zip "${NET[@]}" --password pw
grep -q "resuming import job $(cat jobid)" err || fail "the rerun should resume job $(cat jobid): $(cat err)"
[ "$(count_status valid)" = $N ] || fail "$N valid certificates: $("$BACSC" site status)"
run 0 jobs --job "$(cat jobid)" --json
/usr/bin/python3 -c "
import json; j=json.load(open('out'))
assert j['state']=='done' and j['total']==$N and j['done']==$N, j
att={d['device']: d['attempts'] for d in j['devices']}
assert att[1001]==1 and att[1004]==2, att" || fail "job record after resume: $(cat out)"
# the killed-and-restarted devices hold a consistent set: re-read them
run 0 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 4)) --target 127.0.0.1:$((BASE + 5)) --target 127.0.0.1:$((BASE + 6))
[ "$(count_status valid)" = $N ] || fail "valid after re-discover: $("$BACSC" site status)"
run 0 import resp.zip "${NET[@]}"
grep -q "nothing to do" out || fail "a third import of the same file: $(cat out)"

# ---- trust: the next CA in slot 2 on two devices ----------------------------------
run 0 trust add other/ca.pem 1001-1002 "${NET[@]}" --password pw
run 0 jobs --json
run 0 trust add other/ca.pem 1001-1002 "${NET[@]}" --password pw
grep -q "2 no action taken" out || fail "trust add twice: $(cat out)"
run 0 trust remove other/ca.pem 1001-1002 "${NET[@]}" --password pw

# ---- mode sc: accepted; the devices leave BACnet/IP -------------------------------
echo pw >pw.txt
run 0 mode sc --all "${NET[@]}" --password-file pw.txt
run 0 status --filter mode=sc --filter cert=valid
grep -q "^$N devices, $N valid" out || fail "all valid and on SC: $(cat out)"
run 4 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 1)) --wait 800
# restart the devices: they come back in SC mode (state directory), still off B/IP
stop_devices
"$BACSC" device --state-dir stA --instance 1001 --count 3 --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --log-level warn >devA.out 2>>devA.err &
PA=$!
sleep 1
kill -0 $PA || fail "devices did not restart"
run 4 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 2)) --wait 800
echo "ok"
