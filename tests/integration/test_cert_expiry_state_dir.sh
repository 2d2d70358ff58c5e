#!/usr/bin/env bash
# test_cert_expiry_state_dir.sh — `bacsc device --state-dir` warns before
# each device's own certificate or its issuer expires, like the hub and
# fixed-file devices (test_cert_expiry_warn.sh): two devices in one process
# (--count 2), commissioned over BACnet/IP by `bacsc site` from a `bacsc ca`:
#   - before commissioning: no warning, no `certificate` in the status;
#   - 2001 gets a 10-day certificate: at its activation the process logs
#     "device 2001: the certificate …/tls/2001/cert.pem expires … (in 9|10
#     days)", and the status (SIGUSR1) shows 2001 expiring, 2002 without a
#     certificate; a restart warns again at start-up;
#   - 2002 gets a one-year certificate: no warning, not expiring;
#   - 2001 renewed with a one-year certificate: the status follows the new
#     certificate at once (not expiring, 364-365 days);
#   - 2002 trusts a second CA (made with the openssl CLI) valid 20 days:
#     at that activation the warning names the issuer certificate
#     …/tls/2002/issuer2.pem (19-20 days), and the status says expiring.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_cert_expiry_state_dir.XXXXXX)
PD=""
cleanup() { [ -n "$PD" ] && kill $PD 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev.log; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
PY=/usr/bin/python3
BASE=$((20000 + RANDOM % 12000))
export BACSC_SITE_DB=$T/site.db
NET=(--bip-local 127.0.0.1:$BASE --timeout 500 --retries 2 --password pw)
start() {
  "$BACSC" device --state-dir st --instance 2001 --count 2 --bip 127.0.0.1:$((BASE + 1)) \
    --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 4 \
    --status-file status.json --log-level warn 2>>dev.log &
  PD=$!
  for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 2))" 2>/dev/null | grep -q . && break; sleep 0.1; done
}
# status of INSTANCE: "expiring expired days_left" or "none"
status() { rm -f status.json; kill -USR1 $PD
  for _ in $(seq 50); do [ -s status.json ] && break; sleep 0.1; done
  $PY -c "
import json
for d in json.load(open('status.json'))['devices']:
    if d['instance']==$1:
        c=d.get('certificate')
        print('none' if c is None else '%s %s %s' % (c['expiring'], c['expired'], c['days_left']))"; }

"$BACSC" ca init --dir ca --name "Expiry CA" >/dev/null
run 0 init --name plant-e --ca ca/ca.pem --domain site.example
start
run 0 discover --bip-local 127.0.0.1:$BASE --target 127.0.0.1:$((BASE + 1)) --target 127.0.0.1:$((BASE + 2))
[ "$(status 2001)" = none ] || fail "no certificate yet: $(status 2001)"
grep -q "expires" dev.log && fail "a warning without a certificate"

# 2001: a 10-day certificate; 2002: a one-year one
"$BACSC" ca policy set --dir ca validity_days 10 >/dev/null
run 0 request 2001 --out r1.zip "${NET[@]}"
"$BACSC" ca sign --dir ca r1.zip --out s1.zip >/dev/null
run 0 import s1.zip "${NET[@]}"
for _ in $(seq 30); do grep -q "device 2001: the certificate" dev.log && break; sleep 0.1; done
grep -Eq "device 2001: the certificate st/tls/2001/cert.pem expires .* \(in (9|10) days\)" dev.log ||
  fail "no warning at activation: $(cat dev.log)"
[[ "$(status 2001)" =~ ^"True False "(9|10)$ ]] || fail "2001 status: $(status 2001)"
[ "$(status 2002)" = none ] || fail "2002 has no certificate: $(status 2002)"
"$BACSC" ca policy set --dir ca validity_days 365 >/dev/null
run 0 request 2002 --out r2.zip "${NET[@]}"
"$BACSC" ca sign --dir ca r2.zip --out s2.zip >/dev/null
run 0 import s2.zip "${NET[@]}"
[[ "$(status 2002)" =~ ^"False False "(364|365)$ ]] || fail "2002 status: $(status 2002)"
grep -q "device 2002: .*expires" dev.log && fail "a warning for a certificate valid a year"

# a restart warns again at start-up (the state directory's certificate)
kill $PD; wait $PD 2>/dev/null || true; : >dev.log; start
for _ in $(seq 30); do grep -q "device 2001: the certificate" dev.log && break; sleep 0.1; done
grep -Eq "device 2001: the certificate st/tls/2001/cert.pem expires .* \(in (9|10) days\)" dev.log ||
  fail "no warning at start-up: $(cat dev.log)"
grep -q "device 2002: .*expires" dev.log && fail "2002 warned at start-up"

# renewed: the status follows the activated certificate at once
run 0 renew 2001 --out r3.zip "${NET[@]}"
"$BACSC" ca sign --dir ca r3.zip --out s3.zip >/dev/null
run 0 import s3.zip "${NET[@]}"
[[ "$(status 2001)" =~ ^"False False "(364|365)$ ]] || fail "2001 after renewal: $(status 2001)"

# a second issuer that expires in 20 days
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout short.key \
  -out short.pem -days 20 -subj "/CN=Short CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
run 0 trust add short.pem 2002 "${NET[@]}"
for _ in $(seq 30); do grep -q "device 2002: the issuer" dev.log && break; sleep 0.1; done
grep -Eq "device 2002: the issuer certificate st/tls/2002/issuer2.pem expires .* \(in (19|20) days\)" dev.log ||
  fail "no warning for the issuer: $(cat dev.log)"
[[ "$(status 2002)" =~ ^"True False "(19|20)$ ]] || fail "2002 with the short issuer: $(status 2002)"
echo ok
