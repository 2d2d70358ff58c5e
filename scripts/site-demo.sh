#!/usr/bin/env bash
# site-demo.sh — commission a site end to end on 127.0.0.1 (docs/site.md):
# a site CA, a BACnet/SC hub, ten devices on BACnet/IP without certificates,
# then discover → request → `bacsc ca sign` → import → mode sc → Who-Is and
# ReadProperty over BACnet/SC, ending with a status table where every device
# is valid and on SC — and, at the end, a BACnet/IP workstation (the bacsc
# tools over BACnet/IP) still reading the devices through a `bacsc router`
# between BACnet/IP network 1 and the BACnet/SC network 2 (docs/router.md).
#
# usage: scripts/site-demo.sh [BUILD_DIR]      (default: build; must be built)
# Environment: DEMO_DIR (kept if set; else a temporary directory, removed),
#              DEMO_DEVICES (10).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bacsc
[ -x "$B" ] || { echo "site-demo: $B not found (build first)" >&2; exit 1; }
N=${DEMO_DEVICES:-10}
if [ -n "${DEMO_DIR:-}" ]; then mkdir -p "$DEMO_DIR"; D=$DEMO_DIR; KEEP=1
else D=$(mktemp -d /tmp/bacsc-site-demo.XXXXXX); KEEP=0; fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$KEEP" = 1 ] || rm -rf "$D"
}
trap cleanup EXIT
cd "$D"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

# free-ish ports: hub, tool (B/IP), devices (B/IP, consecutive)
HUBP=$((20000 + RANDOM % 20000)); BASE=$((HUBP + 100))
HUB=wss://127.0.0.1:$HUBP
export BACSC_SITE_DB=$D/site.db

say "A site CA"
run "$B" ca init --dir ca --name "Demo Site CA" >/dev/null
echo "ca/ca.pem: $(openssl x509 -in ca/ca.pem -noout -subject)"

say "Certificates for the hub, the tool's BACnet/SC identity and the router (keys stay here)"
for who in hub tool router; do
  openssl ecparam -name prime256v1 -genkey -noout -out $who.key 2>/dev/null
  chmod 600 $who.key
  mkdir -p csr-$who
  openssl req -new -key $who.key -subj "/CN=demo-$who" \
    -addext "subjectAltName=URI:urn:uuid:$(cat /proc/sys/kernel/random/uuid),DNS:localhost,IP:127.0.0.1" \
    -out csr-$who/$who.csr 2>/dev/null
  "$B" ca sign --dir ca csr-$who --out cert-$who/ >/dev/null
  cp "$(ls cert-$who/*.pem | grep -v -e '/ca.pem$' -e '/chain.pem$' | head -1)" $who.pem
done
echo "hub.pem, tool.pem, router.pem signed by the site CA"

say "A BACnet/SC hub on $HUB"
"$B" hub --listen 127.0.0.1:$HUBP --cert hub.pem --key hub.key --ca ca/ca.pem \
  --log-level warn 2>hub.log &
PIDS+=($!)

say "$N devices on BACnet/IP (127.0.0.1:$((BASE + 1))…$((BASE + N))), no certificates"
SC_OK=1
# The devices' ReinitializeDevice password: without one each device would
# generate its own at the first start and show it once (docs/security.md).
head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16 >device.pw
chmod 600 device.pw
if "$B" device --help 2>/dev/null | grep -- '--state-dir' >/dev/null; then
  "$B" device --state-dir devices --instance 1001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
    --domain demo.example --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 1)) \
    --password-file device.pw --log-level warn >devices.out 2>devices.log &
  PIDS+=($!)
elif [ -x "$BUILD/tests/bip_devices" ]; then
  echo "(bacsc device has no BACnet/IP mode in this build: using tests/bip_devices;"
  echo " those devices switch to SC mode but do not connect to the hub)"
  SC_OK=0
  "$BUILD/tests/bip_devices" --state-dir devices --bip 127.0.0.1:$((BASE + 1)) \
    --password "$(cat device.pw)" --count $N --broadcast 127.0.0.1:$BASE --broadcast-count $((N + 1)) >devices.out 2>devices.log &
  PIDS+=($!)
else
  echo "site-demo: no device runtime with BACnet/IP found" >&2; exit 1
fi
# up when the last device's UDP port is bound
for _ in $(seq 100); do
  ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break
  grep -q ready devices.out 2>/dev/null && break
  sleep 0.1
done
sleep 0.2
NET=(--bip-local 127.0.0.1:$BASE)

say "The site"
run "$B" site init --name demo-site --ca ca/ca.pem --domain demo.example --primary-hub "$HUB"

say "Discover: Who-Is over BACnet/IP, then read every device"
run "$B" site discover "${NET[@]}" --broadcast 127.0.0.1:$BASE --broadcast-count $((N + 1)) --wait 1000
run "$B" site status

say "Request: every device makes a key pair and a CSR; one CARI request"
run "$B" site request --all --out request.zip "${NET[@]}" --password-file device.pw

say "The site CA signs the request"
run "$B" ca sign --dir ca request.zip --out response.zip

say "Import: check, then distribute issuer + certificate, validate, activate"
run "$B" site import response.zip "${NET[@]}" --password-file device.pw

say "Switch every device to BACnet/SC only"
run "$B" site mode sc --all "${NET[@]}" --password-file device.pw

if [ "$SC_OK" = 1 ]; then
  CONN=(--hub "$HUB" --cert tool.pem --key tool.key --ca ca/ca.pem)
  say "Who-Is over BACnet/SC (through the hub)"
  for _ in $(seq 30); do
    n=$("$B" whois "${CONN[@]}" --timeout 2 --json 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
    [ "$n" -ge "$N" ] && break
    sleep 1
  done
  run "$B" whois "${CONN[@]}" --timeout 2
  say "ReadProperty over BACnet/SC"
  run "$B" read 1001 device,1001 object-name "${CONN[@]}"
  run "$B" read $((1000 + N)) network-port,1 sc-hub-connector-state "${CONN[@]}"
  say "The site tool re-reads every device over BACnet/SC (by VMAC, through the hub)"
  run "$B" site discover "${CONN[@]}" --wait 2000
fi

say "Every device: certificate from the site CA, on BACnet/SC"
run "$B" site status
"$B" site status --json | /usr/bin/python3 -c "
import json,sys
d=json.load(sys.stdin)
bad=[r['instance'] for r in d['rows'] if r['cert_status']!='valid' or r['mode']!='sc']
sys.exit('devices not valid+sc: %s' % bad if bad or d['devices']!=$N else 0)"
run "$B" site jobs

if [ "$SC_OK" = 1 ]; then
  say "A BACnet/IP workstation keeps reading the devices, now on BACnet/SC, through a router"
  RP=$((BASE + N + 1)); WS=$((BASE + N + 2))
  ROUTER=("$B" router --bip 127.0.0.1:$RP --bip-net 1 --bip-broadcast 127.0.0.1:$WS --sc-net 2
          --hub "$HUB" --cert router.pem --key router.key --ca ca/ca.pem --instance 900)
  printf '\033[2m$ %s &\033[0m\n' "${ROUTER[*]}"
  "${ROUTER[@]}" --log-level info 2>router.log &
  PIDS+=($!)
  for _ in $(seq 100); do grep -qs "connected to the primary hub" router.log && break; sleep 0.1; done
  BIP=(--bip-local 127.0.0.1:$WS --bip-broadcast 127.0.0.1:$RP)
  run "$B" whois --global "${BIP[@]}" --timeout 2
  run "$B" read 1001 device,1001 object-name --dnet 2 "${BIP[@]}"
  run "$B" read $((1000 + N)) analog-value,1 present-value --dnet 2 "${BIP[@]}"
  run "$B" read 900 network-port,2 network-number "${BIP[@]}"
fi
