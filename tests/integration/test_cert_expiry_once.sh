#!/usr/bin/env bash
# test_cert_expiry_once.sh — one expiry warning per certificate per start.
# The start-up check of the files (before the TLS context) and the daemons'
# expiry warnings read the same certificate; they must say it once:
#   - a hub whose certificate expires in 10 days: exactly one warning line
#     at start-up (the hub's own words, with the days left);
#   - a device with --hub-listen (a client and a server TLS context from the
#     same files): exactly one line;
#   - a client tool (whois): exactly one line, the start-up check's;
#   - a hub whose issuer expires in 20 days (its own certificate in a year):
#     exactly one line, naming the issuer.
# Certificates are made with the openssl CLI.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_cert_expiry_once.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
EC=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

mkca() { # NAME DAYS
  openssl req -x509 "${EC[@]}" -keyout $1.key -out $1.pem -days $2 -subj "/CN=$1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mkleaf() { # NAME CA DAYS
  openssl req -new "${EC[@]}" -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days $3 \
    -extfile ext -out $1.pem 2>/dev/null
  chmod 600 $1.key
}
# Run a daemon until its status file appears, then stop it; its log in $1.
daemon() { # LOG ARGS...
  local log=$1; shift
  rm -f status.json
  "$BACSC" "$@" --status-file status.json --log-level warn 2>"$log" &
  PID=$!
  for _ in $(seq 100); do [ -s status.json ] && break; sleep 0.1; done
  [ -s status.json ] || fail "$*: no status file"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
count() { grep -c 'expire' "$1" || true; }

mkca ca 3650; mkca shortca 20
mkleaf hub ca 10; mkleaf node ca 10; mkleaf both shortca 365

daemon hub.log hub --listen 127.0.0.1:0 --cert hub.pem --key hub.key --ca ca.pem
[ "$(count hub.log)" = 1 ] || fail "hub: $(count hub.log) expiry lines at start-up, expected 1: $(cat hub.log)"
grep -Eq "hub: the certificate hub.pem expires .* \(in (9|10) days\)" hub.log ||
  fail "hub: not the hub's own warning: $(cat hub.log)"

daemon dev.log device --instance 1001 --hub wss://127.0.0.1:9 --hub-listen 127.0.0.1:0 \
  --cert node.pem --key node.key --ca ca.pem
[ "$(count dev.log)" = 1 ] || fail "device: $(count dev.log) expiry lines at start-up, expected 1: $(cat dev.log)"

rc=0
timeout 20 "$BACSC" whois --hub wss://127.0.0.1:9 --cert node.pem --key node.key --ca ca.pem \
  >/dev/null 2>whois.log || rc=$?
[ "$rc" = 4 ] || fail "whois: exit $rc, expected 4 (hub unreachable): $(cat whois.log)"
[ "$(count whois.log)" = 1 ] || fail "whois: $(count whois.log) expiry lines, expected 1: $(cat whois.log)"
grep -Eq 'node\.pem: certificate expires on [0-9-]+ .*within 30 days' whois.log ||
  fail "whois: not the start-up check's warning: $(cat whois.log)"

daemon both.log hub --listen 127.0.0.1:0 --cert both.pem --key both.key --ca shortca.pem
[ "$(count both.log)" = 1 ] || fail "hub: $(count both.log) expiry lines for the issuer, expected 1: $(cat both.log)"
grep -q "issuer certificate shortca.pem expires" both.log ||
  fail "hub: no warning for the issuer: $(cat both.log)"

[ "$fails" = 0 ] || exit 1
echo ok
