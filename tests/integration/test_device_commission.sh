#!/usr/bin/env bash
# test_device_commission.sh — the device side of site commissioning with real
# processes on BACnet/IP (127.0.0.1): three devices in one process
# (tests/bip_devices), driven over UDP by tests/bip_client; certificates made
# and checked with the openssl CLI. Covers Who-Is over the emulated broadcast
# range, CSR (CN/SAN), writes of garbage/issuer/certificate, validate-changes,
# wrong CA refused with the old set kept, password, switch to SC-only (the
# device leaves BACnet/IP), dual mode, restart keeping everything.
set -euo pipefail
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
DEV="$BACSC_BUILD/tests/bip_devices"
CL="$BACSC_BUILD/tests/bip_client"
T=$(mktemp -d /tmp/test_device_commission.XXXXXX)
DP=""
cleanup() { [ -n "$DP" ] && kill "$DP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; [ -f dev.err ] && tail -5 dev.err >&2; exit 1; }
start_devices() {
  "$DEV" --state-dir st --bip 127.0.0.1:$P1 --count 3 --domain site.example --password pw \
    --broadcast 127.0.0.1:$BASE --broadcast-count 4 >dev.out 2>dev.err &
  DP=$!
  for _ in $(seq 50); do grep -q ready dev.out 2>/dev/null && return 0; kill -0 $DP 2>/dev/null || break; sleep 0.1; done
  wait $DP 2>/dev/null || true; DP=""
  return 1
}
# Ports below the ephemeral range, retried if taken.
for try in 1 2 3 4 5 6; do
  BASE=$((10000 + RANDOM % 20000))
  P1=$((BASE + 1)); P2=$((BASE + 2)); P3=$((BASE + 3))
  start_devices && break
done
[ -n "$DP" ] || fail "devices did not start"

stop_devices() { kill "$DP"; wait "$DP" || true; DP=""; }
c() { # c PORT args... — one request; prints the tool's output, never fails
  local port=$1; shift
  set +e; "$CL" --to 127.0.0.1:$port --login pw "$@" >c.out 2>c.err; RC=$?; set -e
  cat c.out
}
expect() { # expect WANT-RC PORT args...
  local want=$1; shift
  c "$@" >/dev/null
  [ "$RC" = "$want" ] || { cat c.out c.err >&2; fail "'$*' exited $RC, wanted $want"; }
}

# ---- discovery over the emulated broadcast range ---------------------------
"$CL" --bind 127.0.0.1:$BASE --to 127.0.0.1:$BASE whois 4 >iam.txt
[ "$(grep -c '^iam' iam.txt)" = 3 ] || { cat iam.txt; fail "Who-Is found $(grep -c '^iam' iam.txt) devices"; }
grep -q "^iam 1002 127.0.0.1:$P2\$" iam.txt || fail "I-Am of 1002"
[ "$(c $P1 read network-port,2 network-type)" = "5" ] || [ "$(c $P1 read network-port,2 network-type)" = "ipv4" ] || fail "IP port network type: $(c $P1 read network-port,2 network-type)"
c $P1 read network-port,1 out-of-service | grep -q true || fail "SC port should start out of service"

# ---- a site CA and a foreign CA (openssl CLI) -------------------------------
for ca in ca other; do
  openssl ecparam -name prime256v1 -genkey -noout -out $ca.key 2>/dev/null
  openssl req -x509 -new -key $ca.key -subj "/CN=$ca" -days 30 -out $ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
done
sign() { # sign CA CSR OUT
  local uri; uri=$(openssl req -in "$2" -noout -text | grep -o 'urn:uuid:[0-9a-f-]*')
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:%s\n' "$uri" >ext.cnf
  openssl x509 -req -in "$2" -CA $1.pem -CAkey $1.key -set_serial $RANDOM -days 10 -out "$3" -extfile ext.cnf 2>/dev/null
}

# ---- device 1001: CSR, certificates, validation, SC only -------------------
expect 0 $P1 csr req1.pem
openssl req -in req1.pem -noout -verify 2>&1 | grep -q "verify OK\|Certificate request self-signature verify OK" || fail "CSR signature"
openssl req -in req1.pem -noout -subject | grep -q "CN *= *dev-1001.site.example" || fail "CSR CN: $(openssl req -in req1.pem -noout -subject)"
openssl req -in req1.pem -noout -text | grep -q "ASN1 OID: prime256v1" || fail "CSR key is not P-256"
uuid_dev=$(c $P1 read device,1001 507 | tr -dc '0-9a-fA-F' | tr A-F a-f)
uuid_csr=$(openssl req -in req1.pem -noout -text | grep -o 'urn:uuid:[0-9a-f-]*' | sed 's/urn:uuid://; s/-//g')
[ -n "$uuid_csr" ] && [ "${uuid_dev: -32}" = "$uuid_csr" ] || fail "CSR UUID $uuid_csr vs Device_UUID $uuid_dev"
echo "this is not a certificate" >junk.pem
c $P1 put 1 junk.pem >/dev/null; [ "$RC" = 1 ] && grep -q "^error 2 9" c.out || fail "garbage certificate accepted: $(cat c.out)"
sign ca req1.pem dev1.pem
expect 0 $P1 put 2 ca.pem
expect 0 $P1 put 1 dev1.pem
expect 0 $P1 write network-port,1 command enum 9
c $P1 read network-port,1 510 | grep -q '"valid' || fail "validation result: $(c $P1 read network-port,1 510)"
cmp -s <(c $P1 getfile 1 /dev/stdout) dev1.pem || { c $P1 getfile 1 back.pem; cmp back.pem dev1.pem || fail "file read-back differs"; }
expect 0 $P1 write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
expect 0 $P1 write network-port,1 out-of-service bool false
expect 0 $P1 write network-port,2 out-of-service bool true
c $P1 read network-port,2 changes-pending | grep -q true || fail "IP port Changes_Pending"
c $P1 reinit 7 >/dev/null; grep -q "^error 4 26" c.out || fail "activate without password: $(cat c.out)"
c $P1 reinit 7 wrong >/dev/null; grep -q "^error 4 26" c.out || fail "activate with a wrong password"
expect 0 $P1 reinit 7 pw
sleep 0.3
expect 3 $P1 --timeout 1200 read device,1001 object-name   # left BACnet/IP
[ "$(stat -c %a st/tls/1001/key.pem)" = 600 ] || fail "TLS key file mode"
for k in st/keys/*; do [ "$(stat -c %a "$k")" = 600 ] || fail "$k mode"; done
openssl verify -CAfile ca.pem st/tls/1001/cert.pem >/dev/null || fail "installed certificate does not verify"
cmp <(openssl x509 -in st/tls/1001/cert.pem -noout -pubkey) <(openssl pkey -in st/tls/1001/key.pem -pubout) >/dev/null || fail "installed key/cert mismatch"

# ---- device 1002: certificate from the wrong CA is refused, IP keeps working
expect 0 $P2 csr req2.pem
sign other req2.pem dev2.pem
expect 0 $P2 put 2 ca.pem
expect 0 $P2 put 1 dev2.pem
c $P2 write network-port,1 command enum 9 >/dev/null; [ "$RC" = 1 ] || fail "validate accepted a foreign certificate"
c $P2 read network-port,1 510 | grep -q "unknown-issuer" || fail "510 after foreign cert: $(c $P2 read network-port,1 510)"
expect 0 $P2 write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
expect 0 $P2 write network-port,1 out-of-service bool false
expect 0 $P2 write network-port,2 out-of-service bool true
c $P2 reinit 7 pw >/dev/null; grep -q "^error 0 46" c.out || fail "activation of a foreign set: $(cat c.out)"
expect 0 $P2 read device,1002 object-name           # still on BACnet/IP
c $P2 read network-port,2 out-of-service | grep -q true || fail "pending value should read back"
expect 0 $P2 write network-port,1 command enum 1      # discard-changes
c $P2 read network-port,2 out-of-service | grep -q false || fail "discard-changes"
# both ports off is refused outright
c $P2 write network-port,2 out-of-service bool true >/dev/null; grep -q "^error 2 37" c.out || fail "both ports off accepted"

# ---- device 1003: dual mode --------------------------------------------------
expect 0 $P3 csr req3.pem
sign ca req3.pem dev3.pem
expect 0 $P3 put 3 ca.pem                            # issuer slot 2
expect 0 $P3 put 1 dev3.pem
expect 0 $P3 write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
expect 0 $P3 write network-port,1 out-of-service bool false
expect 0 $P3 reinit 7 pw
sleep 0.3
expect 0 $P3 read device,1003 object-name
c $P3 read network-port,1 out-of-service | grep -q false || fail "1003 SC port not in service"

# ---- restart: everything persists ------------------------------------------------
stop_devices
start_devices || fail "devices did not restart"
expect 3 $P1 --timeout 1200 read device,1001 object-name
expect 0 $P2 read device,1002 object-name
c $P3 read network-port,1 510 | grep -q valid || fail "1003 validation result after restart"
c $P3 read network-port,1 sc-primary-hub-uri | grep -q "wss://127.0.0.1:4443" || fail "hub URI after restart"
openssl verify -CAfile ca.pem st/tls/1001/cert.pem >/dev/null || fail "TLS files not rebuilt after restart"
cmp <(openssl x509 -in st/tls/1001/cert.pem -noout -pubkey) <(openssl pkey -in st/tls/1001/key.pem -pubout) >/dev/null || fail "key changed across restart"
echo "ok"
