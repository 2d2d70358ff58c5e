#!/usr/bin/env bash
# test_site_cli.sh — `bacsc site` end to end with real processes on
# 127.0.0.1: a site CA (`bacsc ca`), six commissionable devices on BACnet/IP
# in one process (tests/bip_devices, the device side of issue 5), and the
# tool: discover (emulated broadcast) → request → a response from the wrong
# CA refused with nothing written → `bacsc ca sign` → import → mode sc
# refused/accepted → the devices leave BACnet/IP. Also: a request with a
# device down ends partial (exit 5) and the rerun retries only that device;
# the tool killed with SIGKILL in the middle of an import resumes.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
DEV="$BACSC_BUILD/tests/bip_devices"
T=$(mktemp -d /tmp/test_site_cli.XXXXXX)
DP=""
cleanup() { [ -n "$DP" ] && kill "$DP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev.err; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
BASE=$((20000 + RANDOM % 30000))
N=6
export BACSC_SITE_DB="$T/site.db"
NET=(--bip-local 127.0.0.1:$BASE --timeout 300 --retries 2)

start_devices() { # start_devices [--count N] …
  "$DEV" --state-dir st --bip 127.0.0.1:$((BASE + 1)) --count $N --password pw \
    --broadcast 127.0.0.1:$BASE --broadcast-count 8 "$@" >dev.out 2>dev.err &
  DP=$!
  for _ in $(seq 100); do grep -q ready dev.out 2>/dev/null && return; sleep 0.1; done
  fail "devices did not start"
}
stop_devices() { kill "$DP"; wait "$DP" || true; DP=""; : >dev.out; }
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

# ---- request, with one device down: partial, then the rerun retries it ------------
stop_devices
N=5 start_devices          # devices 1001..1005 only: 1006 does not answer
N=6
run 5 request --all --out req.zip "${NET[@]}"
grep -q "device 1006 *failed" out || fail "1006 should fail: $(cat out)"
[ "$(count_status csr-pending)" = 5 ] || fail "5 CSRs pending"
stop_devices
start_devices
run 0 request --all --out req.zip "${NET[@]}"
grep -q "5 no action taken" out || fail "the rerun should take no action on 5 devices: $(cat out)"
[ "$(count_status csr-pending)" = $N ] || fail "$N CSRs pending"
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

# ---- the right response; the tool is killed mid-import and resumes ----------------
"$BACSC" ca sign --dir ca req.zip --out resp.zip >/dev/null
set +e
"$BACSC" site import resp.zip "${NET[@]}" --password pw --concurrency 1 >kill.out 2>&1 &
TP=$!
sleep 0.05; kill -9 $TP 2>/dev/null; wait $TP 2>/dev/null
set -e
run 0 import resp.zip "${NET[@]}" --password pw
[ "$(count_status valid)" = $N ] || fail "$N valid certificates: $("$BACSC" site status)"
run 0 jobs --json
/usr/bin/python3 -c "
import json; jobs=json.load(open('out'))
imp=[j for j in jobs if j['kind']=='import']
assert imp and imp[0]['state']=='done' and imp[0]['total']==$N, imp" || fail "import job record"

# the devices hold what the site says: re-read them
run 0 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 1)) --target 127.0.0.1:$((BASE + 3))
[ "$(count_status valid)" = $N ] || fail "valid after re-discover"

# ---- trust: the next CA in slot 2 on two devices ----------------------------------
run 0 trust add other/ca.pem 1001-1002 "${NET[@]}" --password pw
run 0 jobs --json
run 0 trust add other/ca.pem 1001-1002 "${NET[@]}" --password pw
grep -q "2 no action taken" out || fail "trust add twice: $(cat out)"
run 0 trust remove other/ca.pem 1001-1002 "${NET[@]}" --password pw

# ---- mode sc: accepted; the devices leave BACnet/IP -------------------------------
run 0 mode sc --all "${NET[@]}" --password pw
run 0 status --filter mode=sc --filter cert=valid
grep -q "^$N devices, $N valid" out || fail "all valid and on SC: $(cat out)"
run 4 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 1)) --wait 800
# restart the devices: they come back in SC mode (state directory), still off B/IP
stop_devices
start_devices
run 4 discover "${NET[@]}" --target 127.0.0.1:$((BASE + 2)) --wait 800
echo "ok"
