#!/usr/bin/env bash
# A certificate refusal is final: the SC client tools (read, whois, site
# discover --hub) stop at the first TLS refusal with exit 4 and one line naming
# the reason, instead of retrying until --timeout; transient failures
# (nothing listening yet) are still retried. Real hub, device and tools on
# 127.0.0.1.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_sc_cert_refusal.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in err hub.log dev.log; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
B() { "$BACSC" "$@"; }
P=$((20000 + RANDOM % 12000))
HUB=wss://127.0.0.1:$P
B pki demo --out p --nodes 2 >/dev/null
B pki demo --out q --nodes 1 >/dev/null   # another CA
start_hub() {
  "$BACSC" hub --listen 127.0.0.1:$P --cert p/hub.pem --key p/hub.key --ca p/ca.pem --log-level info >>hub.log 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do ss -Hltn "sport = :$P" | grep -q . && return; sleep 0.05; done
  fail "hub did not start"
}
# ms CMD... — run, set RC and MS (wall time), output in err
ms() { local t0 t1; t0=$(date +%s%N); set +e; "$@" >out 2>err; RC=$?; set -e; t1=$(date +%s%N); MS=$(((t1 - t0) / 1000000)); }

# transient: nothing listening — still retried until --timeout
ms B read 1001 device,1001 object-name --hub $HUB --cert p/node2.pem --key p/node2.key --ca p/ca.pem --timeout 2
[ "$RC" -eq 4 ] && [ "$MS" -ge 1900 ] || fail "no hub: exit $RC after $MS ms, wanted 4 after the 2 s timeout"
grep -q "tcp-connection-refused" err || fail "no hub: $(cat err)"

# ... and a hub that comes up while the tool waits is joined
"$BACSC" device --hub $HUB --cert p/node1.pem --key p/node1.key --ca p/ca.pem --instance 1001 --log-level warn >dev.log 2>&1 &
PIDS+=($!)
"$BACSC" read 1001 device,1001 object-name --hub $HUB --cert p/node2.pem --key p/node2.key --ca p/ca.pem --timeout 20 >late.out 2>late.err &
RP=$!
sleep 1
start_hub
wait $RP || fail "read with a late hub: exit $?, $(cat late.err)"
grep -q "bacsc-device-1001" late.out || fail "read with a late hub: $(cat late.out)"

# our certificate from another CA: exit 4 at once, the reason named
for tool in "read 1001 device,1001 object-name" "whois"; do
  ms B $tool --hub $HUB --cert q/node1.pem --key q/node1.key --ca p/ca.pem --timeout 10
  [ "$RC" -eq 4 ] || fail "$tool, refused certificate: exit $RC"
  [ "$MS" -lt 3000 ] || fail "$tool, refused certificate: took $MS ms (retried until --timeout?)"
  [ "$(wc -l <err)" -eq 1 ] || fail "$tool: more than one line: $(cat err)"
  grep -qx "bacsc [a-z]*: hub $HUB refused our certificate (q/node1.pem): unknown issuer (180 tls-client-certificate-error)" err ||
    fail "$tool, refused certificate: $(cat err)"
done
# the hub's certificate is not from our --ca: the same, from our side
ms B read 1001 device,1001 object-name --hub $HUB --cert p/node2.pem --key p/node2.key --ca q/ca.pem --timeout 10
[ "$RC" -eq 4 ] && [ "$MS" -lt 3000 ] || fail "hub certificate refused: exit $RC after $MS ms"
grep -q "^bacsc read: the certificate of hub $HUB is refused: .*not signed directly by a configured issuer; peer certificate subject CN=hub, serial [0-9A-F]* (181 tls-server-certificate-error)$" err ||
  fail "hub certificate refused: $(cat err)"
# site jobs over the hub
export BACSC_SITE_DB=$T/site.db
B site init --name s --ca p/ca.pem >/dev/null
ms B site discover --hub $HUB --cert q/node1.pem --key q/node1.key --ca p/ca.pem
[ "$RC" -eq 4 ] && [ "$MS" -lt 3000 ] || fail "site discover, refused certificate: exit $RC after $MS ms"
grep -q "refused our certificate.*: unknown issuer (180 tls-client-certificate-error)" err || fail "site discover: $(cat err)"
echo "ok: certificate refusals are final, transient failures retried"
