#!/usr/bin/env bash
# test_ca_tls.sh — certificates from `bacsc pki demo` and from `bacsc ca sign`
# carry a TLS 1.3 mutual-authentication handshake between openssl s_server and
# s_client (both with -verify_return_error), with the BACnet/SC baseline
# (TLS_AES_128_GCM_SHA256, ecdsa_secp256r1_sha256, P-256); a peer whose
# certificate comes from another CA is refused on either side.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_ca_tls.XXXXXX)
SERVER_PID=
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_server ARGS... — start `openssl s_server -rev -naccept 1 ARGS` on
# 127.0.0.1 and return once it listens: sets SERVER_PID and port. Ports are
# drawn at random below the ephemeral range (so no client socket of another
# test holds them); a port already taken makes s_server exit, and then the next
# port is tried. Readiness is s_server's "ACCEPT" line, which it prints after
# listen(), so the client never connects before the server listens.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [ "${st:0:1}" != Z ]; }
start_server() {
  local try i
  for try in $(seq 20); do
    port=$((20000 + RANDOM % 12000))
    openssl s_server -rev -accept "127.0.0.1:$port" -naccept 1 "$@" >srv.out 2>&1 </dev/null &
    SERVER_PID=$!
    for i in $(seq 300); do
      grep -q '^ACCEPT' srv.out 2>/dev/null && return 0
      alive "$SERVER_PID" || break
      sleep 0.1
    done
    kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  done
  cat srv.out >&2
  fail "openssl s_server did not start listening (20 ports tried)"
}

# handshake SERVER_CERT SERVER_KEY SERVER_CA CLIENT_CERT CLIENT_KEY CLIENT_CA MSG
# The server (-rev) answers each line reversed. Leaves server output in
# srv.out, client output in cli.out; returns 0 when the reversed message came
# back over a TLS 1.3 connection both sides verified.
handshake() {
  local port attempt crc rev
  rev=$(echo "$7" | rev)
  for attempt in 1 2 3; do
    start_server -tls1_3 -Verify 1 -verify_return_error \
      -cert "$1" -key "$2" -CAfile "$3" -ciphersuites TLS_AES_128_GCM_SHA256
    set +e
    # keep the client's stdin open until the answer (or an error) is in cli.out
    (echo "$7"; for _ in $(seq 100); do grep -Eq "$rev|error|alert" cli.out 2>/dev/null && break; sleep 0.1; done) |
      timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
      -verify_return_error -verify 1 -CAfile "$6" -cert "$4" -key "$5" \
      -ciphersuites TLS_AES_128_GCM_SHA256 -sigalgs ecdsa_secp256r1_sha256 -groups P-256 \
      >cli.out 2>&1
    crc=$?
    timeout 5 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
    set -e
    # A refused TCP connection is no TLS outcome: the listening server's one
    # accept (-naccept 1) was taken by a stray connection from another process
    # on this shared machine. Try again with a fresh server on another port.
    grep -q 'connect:errno=111' cli.out || break
    echo "ca_tls: connection to port $port refused (attempt $attempt), retrying" >&2
  done
  [ $crc = 0 ] && grep -q "$rev" cli.out && grep -q "Verification: OK" srv.out
}

# ---- demo PKI -------------------------------------------------------------------
$BACSC pki demo --out demo --nodes 2 >/dev/null
for f in ca hub node1 node2; do [ -s demo/$f.pem ] || fail "demo/$f.pem missing"; done
for f in ca hub node1 node2; do [ "$(stat -c %a demo/$f.key)" = 600 ] || fail "demo/$f.key not 0600"; done
[ "$(wc -l <demo/uuids.txt)" = 3 ] || fail "uuids.txt"
openssl verify -CAfile demo/ca.pem demo/hub.pem demo/node1.pem demo/node2.pem >/dev/null || fail "demo certs verify"
openssl x509 -in demo/node1.pem -noout -ext subjectAltName | grep -Eq "URI:urn:uuid:[0-9a-f-]{36}, DNS:localhost, IP Address:127.0.0.1" \
  || fail "demo SANs"
handshake demo/hub.pem demo/hub.key demo/ca.pem demo/node1.pem demo/node1.key demo/ca.pem hello-demo \
  || { cat srv.out cli.out; fail "demo mutual TLS handshake"; }
grep -q "Protocol *: TLSv1.3" cli.out || grep -q "TLSv1.3" cli.out || fail "not TLS 1.3"
grep -q "Cipher *: TLS_AES_128_GCM_SHA256" cli.out || fail "cipher"
grep -q "Verify return code: 0 (ok)" cli.out || fail "client did not verify the server"
grep -q "Peer signature type: ECDSA" cli.out || fail "peer signature type"
grep -q "Peer certificate: CN = node1" srv.out || fail "server did not see the client certificate"

# ---- certificates issued by `bacsc ca sign` -------------------------------------------
$BACSC ca init --dir ca --name "TLS test CA" >/dev/null
mkdir csr
for n in hub dev; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -subj "/CN=$n" \
    -addext "subjectAltName=URI:urn:uuid:$(cat /proc/sys/kernel/random/uuid),DNS:localhost,IP:127.0.0.1" \
    -out csr/$n.csr 2>/dev/null
done
$BACSC ca sign --dir ca csr --out resp/ >/dev/null
cert_for() { # the response certificate holding key $1
  local fp; fp=$(openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -c1-64)
  echo "resp/$(grep " $fp " resp/index.txt | cut -d' ' -f1)"
}
HUB=$(cert_for hub.key); DEV=$(cert_for dev.key)
[ -s "$HUB" ] && [ -s "$DEV" ] || fail "issued certificates not found by key"
handshake "$HUB" hub.key ca/ca.pem "$DEV" dev.key ca/ca.pem hello-ca \
  || { cat srv.out cli.out; fail "bacsc-issued mutual TLS handshake"; }
grep -q "Verify return code: 0 (ok)" cli.out || fail "client verify (ca)"

# ---- refusals: a peer from another CA ----------------------------------------------
# client certificate from the demo CA, server trusts only the site CA
handshake "$HUB" hub.key ca/ca.pem demo/node1.pem demo/node1.key ca/ca.pem hello-foreign-client \
  && fail "server accepted a client certificate from another CA"
grep -q "tneilc-ngierof-olleh" cli.out && fail "data was exchanged with a foreign client"
# server certificate from the demo CA, client trusts only the site CA
handshake demo/hub.pem demo/hub.key ca/ca.pem "$DEV" dev.key ca/ca.pem hello-foreign-server \
  && fail "client accepted a server certificate from another CA"
grep -Eq "Verify return code: (20|21|2)|verify error" cli.out || { cat cli.out; fail "client refusal reason"; }
# no client certificate at all: the handshake must reach the server and be
# refused for exactly that reason (not for any other failure to connect)
for attempt in 1 2 3; do
  start_server -tls1_3 -Verify 1 -verify_return_error -cert "$HUB" -key hub.key -CAfile ca/ca.pem
  (echo hello-anon; for _ in $(seq 50); do grep -Eq "nona-olleh|error|alert" cli.out 2>/dev/null && break; sleep 0.1; done) |
    timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
    -CAfile ca/ca.pem >cli.out 2>&1 || true
  timeout 5 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null || true
  kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  grep -q 'connect:errno=111' cli.out || break
done
grep -q nona-olleh cli.out && fail "server answered a client without a certificate"
grep -q "Verify return code: 0 (ok)" cli.out || { cat cli.out; fail "no-certificate case: the client never verified the server (no handshake)"; }
grep -q "peer did not return a certificate" srv.out || { cat srv.out; fail "no-certificate case: the server did not refuse for a missing certificate"; }
grep -Eq "alert certificate required|alert number 116" cli.out || { cat cli.out; fail "no-certificate case: no certificate-required alert"; }
echo ok
