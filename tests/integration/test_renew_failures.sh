#!/usr/bin/env bash
# test_renew_failures.sh — renewal failures over BACnet/SC with real
# processes (a `bacsc hub`, devices with --state-dir on SC only, the tool
# joining the hub with its own certificate; real TLS on 127.0.0.1). Devices
# 7001-7004 run in one process, 7005 alone (the one that gets killed). Each
# scenario ends with every device on a working certificate (found through
# the hub by `site discover`, certificate valid, key file matching the
# certificate file in its state directory), and a rerun finishing the job:
#   d. a renewal response signed by another CA: `site import` refuses it
#      (exit 3) before any device is touched; the right response imports;
#   a. a device refuses its new certificate (its key changed after the
#      request: the certificate no longer matches its pending key):
#      validation fails on the device, the import reports that device failed
#      with the device's reason, the others finish, it keeps its old
#      certificate; renewing it again finishes;
#   b. the device killed (SIGKILL) at each durable step of activation, and
#      after it answered activate-changes (before the confirm): restarted,
#      it runs on one consistent set (old or new); a rerun of the import
#      finishes; killed after the answer and restarted within the confirm
#      wait, the running import itself finishes;
#   c. the tool killed (kill -9) in the middle of `site renew` and of `site
#      import`, after four of the five devices: the rerun resumes, each
#      device generated one key and activated once, the CA issued one
#      certificate per device.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_renew_failures.XXXXXX)
PA=""; PV=""; PH=""; PT=""
cleanup() { for p in $PA $PV $PH $PT; do kill -CONT $p 2>/dev/null; kill $p 2>/dev/null; done
  wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hub.log a.log v.log; do [ -f $f ] && { echo "--- $f" >&2; tail -8 $f >&2; }; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
PY=/usr/bin/python3
BASE=$((20000 + RANDOM % 11000))
HP=$((BASE + 10)); HUB=wss://127.0.0.1:$HP
export BACSC_SITE_DB=$T/site.db
ALL="7001 7002 7003 7004 7005"
# BACSC_RENEW_FAILURES=d,a,b,c (default all) runs some of the scenarios
want() { [[ ",${BACSC_RENEW_FAILURES:-d,a,b,c}," == *",$1,"* ]]; }

"$BACSC" ca init --dir ca --name "Site CA" >/dev/null
"$BACSC" ca init --dir other --name "Other CA" >/dev/null
"$BACSC" ca issue --dir ca --generate-key --cn hub --san IP:127.0.0.1 --key-out hub.key --out hub.pem >/dev/null
"$BACSC" ca issue --dir ca --generate-key --cn tool --san IP:127.0.0.1 --key-out tool.key --out tool.pem >/dev/null
"$BACSC" hub --listen 127.0.0.1:$HP --cert hub.pem --key hub.key --ca ca/ca.pem --log-level info 2>hub.log &
PH=$!
starta() { "$BACSC" device --state-dir sta --instance 7001 --count 4 --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 8 --log-level info >>a.out 2>>a.log &
  PA=$!; }
startv() { # [KILL-POINT]
  BACSC_TEST_KILL_IN_ACTIVATION=${1:-} "$BACSC" device --state-dir stv --instance 7005 \
    --bip 127.0.0.1:$((BASE + 5)) --password pw --bip-broadcast 127.0.0.1:$BASE \
    --bip-broadcast-count 8 --log-level info >>v.out 2>>v.log &
  PV=$!; }
starta; startv
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 5))" 2>/dev/null | grep -q . && break; sleep 0.1; done
TG=(); for i in 1 2 3 4 5; do TG+=(--target 127.0.0.1:$((BASE + i))); done
BIP=(--bip-local 127.0.0.1:$BASE --timeout 3000 --retries 3 --password pw)
SCD=(--hub $HUB --cert tool.pem --key tool.key --ca ca/ca.pem)
SC=("${SCD[@]}" --password pw)

# ---- commissioning onto BACnet/SC --------------------------------------------------------
run 0 init --name fail-site --ca ca/ca.pem --domain site.example --primary-hub $HUB
run 0 discover --bip-local 127.0.0.1:$BASE "${TG[@]}"
run 0 request --all --out r0.zip "${BIP[@]}"
"$BACSC" ca sign --dir ca r0.zip --out s0.zip >/dev/null
run 0 import s0.zip "${BIP[@]}"
run 0 mode sc --all "${BIP[@]}"

statedir() { [ "$1" = 7005 ] && echo stv || echo sta; }
serials() { "$BACSC" site status --json | $PY -c "
import json,sys
for r in json.load(sys.stdin)['rows']: print(r['instance'], r.get('serial',''))"; }
serial_of() { serials | awk -v i=$1 '$1==i{print $2}'; }
lower() { sed 's/serial=//' | tr A-F a-f; }
# the certificate a device runs on (its TLS files; the site reads the file object, which shows a
# pending certificate too)
running_serial() { openssl x509 -in $(statedir $1)/tls/$1/cert.pem -noout -serial | lower; }
# every device found through the hub with a valid certificate, and in its
# state directory the key file belongs to the certificate file
check_all() { local what=$1
  for _ in $(seq 40); do
    set +e; "$BACSC" site discover "${SCD[@]}" --wait 1500 >out 2>err; RC=$?; set -e
    [ "$RC" = 0 ] && grep -q "5 devices, 5 done" out && break
    sleep 0.5
  done
  grep -q "5 devices, 5 done" out || fail "$what: discover over SC: $(cat out err)"
  "$BACSC" site status --json | $PY -c "
import json,sys; d=json.load(sys.stdin)
assert d['devices']==5, d
for r in d['rows']: assert r['mode']=='sc' and r['cert_status'] in ('valid', 'csr-pending') and r['serial'], r
" || fail "$what: $("$BACSC" site status)"
  for i in $ALL; do
    local dir; dir=$(statedir $i)/tls/$i
    a=$(openssl x509 -in $dir/cert.pem -noout -pubkey 2>/dev/null) || fail "$what: $i: no certificate file"
    b=$(openssl pkey -in $dir/key.pem -pubout 2>/dev/null) || fail "$what: $i: no key file"
    [ "$a" = "$b" ] || fail "$what: $i: key and certificate files do not match"
  done
  serials >"serials.$what"
  echo "$what: every device on a working certificate"
}
activations() { # INSTANCE -> how many activations its process logged
  local log=a.log; [ "$1" = 7005 ] && log=v.log
  grep -c "device $1: activated" $log || true; }
check_all commissioned

# ---- d. a renewal response from another CA ----------------------------------------------
if want d; then
run 0 renew --all --out rd.zip "${SC[@]}"
"$BACSC" ca sign --dir other rd.zip --out sd-other.zip >/dev/null
"$BACSC" ca sign --dir ca rd.zip --out sd.zip >/dev/null
jobs_before=$("$BACSC" site jobs --json | $PY -c "import json,sys; print(len(json.load(sys.stdin)))")
declare -A ACT; for i in $ALL; do ACT[$i]=$(activations $i); done
run 3 import sd-other.zip "${SC[@]}"
grep -q "not the site CA" err out || fail "d: the refusal should name the CA: $(cat out err)"
grep -q "nothing was written to any device" err out || fail "d: $(cat out err)"
jobs_after=$("$BACSC" site jobs --json | $PY -c "import json,sys; print(len(json.load(sys.stdin)))")
[ "$jobs_before" = "$jobs_after" ] || fail "d: a job was created for the refused response"
for i in $ALL; do [ "$(activations $i)" = "${ACT[$i]}" ] || fail "d: device $i was activated"; done
check_all d-refused
cmp -s serials.commissioned serials.d-refused || fail "d: certificates changed"
run 0 import sd.zip "${SC[@]}" --ca-dir ca
check_all d-imported
for i in $ALL; do
  [ "$(serial_of $i)" != "$(awk -v i=$i '$1==i{print $2}' serials.commissioned)" ] || fail "d: $i not renewed"
done

fi

# ---- a. a device that refuses its new certificate ----------------------------------------
if want a; then
run 0 renew --all --out ra.zip "${SC[@]}"
# 7002 makes another key meanwhile (a renewal run from a copy of the site database)
$PY -c "
import sqlite3; s=sqlite3.connect('site.db'); d=sqlite3.connect('site-copy.db'); s.backup(d)"
BACSC_SITE_DB=$T/site-copy.db "$BACSC" site renew 7002 --overwrite --out ra-copy.zip "${SC[@]}" >/dev/null 2>&1 ||
  fail "a: renew from the copy"
"$BACSC" ca sign --dir ca ra.zip --out sa.zip >/dev/null
run 5 import sa.zip "${SC[@]}" --ca-dir ca
grep -E "7002.*validation failed on the device: key" out err >/dev/null ||
  fail "a: 7002 should fail with the device's reason: $(cat out err)"
check_all a-partial
for i in 7001 7003 7004 7005; do
  [ "$(serial_of $i)" != "$(awk -v i=$i '$1==i{print $2}' serials.d-imported)" ] || fail "a: $i not renewed"
done
[ "$(serial_of 7002)" = "$(awk '$1==7002{print $2}' serials.d-imported)" ] || fail "a: 7002 should keep its certificate"
run 0 renew 7002 --overwrite --out ra2.zip "${SC[@]}"
"$BACSC" ca sign --dir ca ra2.zip --out sa2.zip >/dev/null
run 0 import sa2.zip "${SC[@]}" --ca-dir ca
check_all a-rerun
[ "$(serial_of 7002)" != "$(awk '$1==7002{print $2}' serials.d-imported)" ] || fail "a: 7002 not renewed by the rerun"

fi

# ---- b. the device killed during activation ----------------------------------------------
if want b; then
for k in ${BACSC_RENEW_KILL_POINTS:-1 2 3 4 5 after-switch}; do
  kill $PV; wait $PV 2>/dev/null || true; startv $k
  check_all "b$k-armed"
  old=$(running_serial 7005)
  run 0 renew 7005 --out rb.zip "${SC[@]}"
  "$BACSC" ca sign --dir ca rb.zip --out sb.zip >/dev/null
  new=$(unzip -p sb.zip 'certs/*.pem' | openssl x509 -noout -serial | lower)
  if [ $k = after-switch ]; then
    # killed after its answer: restarted while the import waits in confirm, longer than one
    # request's retries (1 s + 2 retries) after the kill
    set +e; "$BACSC" site import sb.zip "${SC[@]}" --timeout 1000 --retries 2 --ca-dir ca >out 2>err &
    PT=$!; set -e
    for _ in $(seq 100); do kill -0 $PV 2>/dev/null || break; sleep 0.1; done
    kill -0 $PV 2>/dev/null && fail "b$k: the device was not killed"
    wait $PV 2>/dev/null || true; sleep 6; startv
    set +e; wait $PT; RC=$?; set -e; PT=""
    [ "$RC" = 0 ] || fail "b$k: the import should finish once the device is back (exit $RC)"
  else
    run 1 import sb.zip "${SC[@]}" --timeout 2000 --retries 2 --ca-dir ca
    for _ in $(seq 50); do kill -0 $PV 2>/dev/null || break; sleep 0.1; done
    kill -0 $PV 2>/dev/null && fail "b$k: the device was not killed"
    wait $PV 2>/dev/null || true; startv
    check_all "b$k-restarted"
    now=$(running_serial 7005)
    [ "$now" = "$old" ] || [ "$now" = "$new" ] || fail "b$k: serial $now is neither old nor new"
    echo "b$k: restarted on the $([ "$now" = "$old" ] && echo old || echo new) certificate"
    run 0 import sb.zip "${SC[@]}" --ca-dir ca
  fi
  check_all "b$k-done"
  [ "$(running_serial 7005)" = "$new" ] && [ "$(serial_of 7005)" = "$new" ] || fail "b$k: 7005 not renewed"
  # the certificate it ran on before is the one revoked as superseded (4, 5: it already ran on
  # the new one when the rerun came, and the discover in between recorded that: the rerun
  # cannot tell which certificate it replaced; docs/lifecycle.md)
  [ $k = 4 ] || [ $k = 5 ] || "$BACSC" ca list --dir ca --json | $PY -c "
import json,sys; c={x['serial']: x for x in json.load(sys.stdin)}
assert c['$old']['status']=='revoked' and c['$old']['revocation_reason']=='superseded', c['$old']
assert c['$new']['status']=='valid', c['$new']" || fail "b$k: the replaced certificate $old is not revoked"
done

fi

# ---- c. the tool killed mid-job ----------------------------------------------------------
if want c; then
# 7005 is stopped, so a job with one device at a time hangs on it after the other four
running_done() { "$BACSC" site jobs --json | $PY -c "
import json,sys; j=json.load(sys.stdin)[0]; print(j['kind'], j['state'], j['done'])"; }
killmid() { # KIND args… : start the job, kill -9 it once four devices are done
  local kind=$1; shift
  kill -STOP $PV
  "$BACSC" site "$@" --concurrency 1 >out 2>err & PT=$!
  for _ in $(seq 200); do [ "$(running_done)" = "$kind running 4" ] && break; sleep 0.05; done
  [ "$(running_done)" = "$kind running 4" ] || fail "c: $kind never reached 4 done: $(running_done)"
  kill -9 $PT; wait $PT 2>/dev/null || true; PT=""
  kill -CONT $PV
  echo "c: $kind killed after 4 devices"
}
serials >serials.c-before
ncerts() { "$BACSC" ca list --dir ca --json | $PY -c "import json,sys; print(len(json.load(sys.stdin)))"; }
NC0=$(ncerts)
declare -A ACT; for i in $ALL; do ACT[$i]=$(activations $i); done
killmid renew renew --all --out rc.zip "${SC[@]}"
[ -f rc.zip ] && fail "c: the killed renew wrote its file"
run 0 renew --all --out rc.zip "${SC[@]}"
grep -qi "resum" out err || fail "c: the renew rerun should resume: $(cat out err)"
"$BACSC" ca sign --dir ca rc.zip --out sc.zip >/dev/null
ncert=$(unzip -l sc.zip | grep -c 'certs/.*\.pem$' || true)
killmid import import sc.zip "${SC[@]}" --ca-dir ca
run 0 import sc.zip "${SC[@]}" --ca-dir ca
grep -qi "resum" out err || fail "c: the import rerun should resume: $(cat out err)"
check_all c-done
for i in $ALL; do
  [ "$(activations $i)" = "$((ACT[$i] + 1))" ] || fail "c: device $i activated $(( $(activations $i) - ACT[$i] )) times"
done
# the CA issued one certificate per device for this renewal (the rerun regenerated no CSR
# that was already taken), and each replaced certificate is revoked as superseded
[ "$ncert" = 5 ] || fail "c: $ncert certificates in the response, wanted 5"
[ "$(ncerts)" = "$((NC0 + 5))" ] || fail "c: the CA issued $(( $(ncerts) - NC0 )) certificates, wanted 5"
"$BACSC" ca list --dir ca --json | $PY -c "
import json,sys
certs={c['serial']: c for c in json.load(sys.stdin)}
before=dict(l.split() for l in open('serials.c-before'))
after=dict(l.split() for l in open('serials.c-done'))
for i in before:
    assert certs[after[i]]['status']=='valid', certs[after[i]]
    o=certs[before[i]]
    assert o['status']=='revoked' and o['revocation_reason']=='superseded', o
" || fail "c: CA records"
fi
echo ok
