#!/usr/bin/env bash
# test_cert_expiry_warn.sh — the hub and a device (--cert files) warn before
# their own certificate or its issuer expires (from 30 days before; once a
# day) and report it in their status file (`certificate`: not_after,
# issuer_not_after, days_left, expiring, expired). Certificates made with
# the openssl CLI:
#   - hub certificate valid 10 days (CA 10 years): a warning naming the
#     certificate, status expiring, 9-10 days left;
#   - hub certificate valid 1 year under a CA valid 20 days: the warning
#     names the issuer certificate, 19-20 days left;
#   - hub certificate valid 1 year (CA 10 years): no warning, not expiring;
#   - `bacsc device` with a certificate valid 10 days: the same warning
#     ("device: the certificate ...") and status field.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_cert_expiry_warn.XXXXXX)
HUBPID=
cleanup() { [ -n "$HUBPID" ] && kill "$HUBPID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; [ -f hub.log ] && tail -5 hub.log >&2; exit 1; }
PY=/usr/bin/python3
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

mkca() { # NAME DAYS
  openssl req -x509 "${EC[@]}" -keyout $1.key -out $1.pem -days $2 -subj "/CN=$1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mkhub() { # CA DAYS
  openssl req -new "${EC[@]}" -keyout hub.key -out hub.csr -subj /CN=hub 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >ext
  openssl x509 -req -in hub.csr -CA $1.pem -CAkey $1.key -CAcreateserial -days $2 \
    -extfile ext -out hub.pem 2>/dev/null
  chmod 600 hub.key
}
runhub() { # CA -> status.json, hub.log
  rm -f status.json hub.log
  "$BACSC" hub --listen 127.0.0.1:0 --cert hub.pem --key hub.key --ca $1.pem \
    --status-file status.json --log-level warn 2>hub.log &
  HUBPID=$!
  for _ in $(seq 100); do [ -s status.json ] && break; sleep 0.1; done
  [ -s status.json ] || fail "no status file"
  kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true; HUBPID=
}
status() { $PY -c "import json,sys; c=json.load(open('status.json')).get('certificate') or {}; print(c.get('expiring'), c.get('expired'), c.get('days_left'))"; }

mkca ca 3650; mkca shortca 20
mkhub ca 10; runhub ca
grep -Eq "hub: the certificate hub.pem expires .* \(in (9|10) days\)" hub.log || fail "no warning for the certificate"
[[ "$(status)" =~ ^"True False "(9|10)$ ]] || fail "status: $(status)"

mkhub shortca 365; runhub shortca
grep -Eq "hub: the issuer certificate shortca.pem expires .* \(in (19|20) days\)" hub.log || fail "no warning for the issuer"
[[ "$(status)" =~ ^"True False "(19|20)$ ]] || fail "status: $(status)"

mkhub ca 365; runhub ca
grep -q "expires" hub.log && fail "a warning for a certificate valid a year"
[[ "$(status)" =~ ^"False False "(364|365)$ ]] || fail "status: $(status)"

# a device on fixed files: the hub above (not running) is its hub; it warns at start-up
mkhub ca 10; rm -f status.json dev.log
"$BACSC" device --instance 1001 --hub wss://127.0.0.1:9 --cert hub.pem --key hub.key --ca ca.pem \
  --status-file status.json --log-level warn 2>dev.log &
HUBPID=$!
for _ in $(seq 100); do [ -s status.json ] && break; sleep 0.1; done
kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true; HUBPID=
grep -Eq "device: the certificate hub.pem expires .* \(in (9|10) days\)" dev.log || fail "device: no warning: $(cat dev.log)"
[[ "$(status)" =~ ^"True False "(9|10)$ ]] || fail "device status: $(status)"
echo ok
