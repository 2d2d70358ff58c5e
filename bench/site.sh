#!/usr/bin/env bash
# bench/site.sh — commission N devices (default 500) end to end with real
# processes on 127.0.0.1 and report the wall time of each phase:
# devices run as many instances per process (tests/bip_devices, or `bacsc
# device --bip` when it has that mode), each with its own UDP port and its
# own state (SQLite + key files); the tool is `bacsc site` over BACnet/IP;
# the CA is `bacsc ca`. Phases: discover → request (every device makes an
# EC P-256 key and CSR) → ca sign → import (issuer, certificate, validate,
# activate: the device persists the new set and builds a TLS context) →
# mode sc (activate again); then, not counted in the total, every device
# joins a real hub and the tool finds and reads all of them over BACnet/SC.
#
# usage: bench/site.sh [BUILD_DIR] [N] [PROCESSES]     (build, 500, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; N=${2:-500}; P=${3:-5}
B=$PWD/$BUILD/bacsc
DEVBIN=$PWD/$BUILD/tests/bip_devices
[ -x "$B" ] || { echo "bench/site.sh: $B not found" >&2; exit 1; }
D=$(mktemp -d /tmp/bench-site.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
cd "$D"
BASE=$((20000 + RANDOM % 25000))
PER=$(( (N + P - 1) / P ))
export BACSC_SITE_DB=$D/site.db
now() { date +%s.%N; }
secs() { /usr/bin/python3 -c "print('%.2f' % ($2 - $1))"; }

HUBP=$((BASE - 7))
HUB=wss://127.0.0.1:$HUBP
"$B" ca init --dir ca --name "Bench Site CA" >/dev/null
for who in hub tool; do   # the hub's and the tool's certificates, from the site CA
  openssl ecparam -name prime256v1 -genkey -noout -out $who.key 2>/dev/null
  mkdir -p csr-$who
  openssl req -new -key $who.key -subj "/CN=bench-$who" \
    -addext "subjectAltName=URI:urn:uuid:$(cat /proc/sys/kernel/random/uuid),IP:127.0.0.1" \
    -out csr-$who/$who.csr 2>/dev/null
  "$B" ca sign --dir ca csr-$who --out cert-$who/ >/dev/null
  cp "$(ls cert-$who/*.pem | grep -v -e '/ca.pem$' -e '/chain.pem$' | head -1)" $who.pem
done
"$B" hub --listen 127.0.0.1:$HUBP --cert hub.pem --key hub.key --ca ca/ca.pem --log-level error 2>hub.log &
PIDS+=($!)
"$B" site init --name bench --ca ca/ca.pem --domain bench.example --primary-hub $HUB >/dev/null

T0=$(now)
echo "bench-pw" >device.pw
left=$N; first=1001; port=$((BASE + 1)); i=0
while [ "$left" -gt 0 ]; do
  c=$(( left < PER ? left : PER ))
  if "$B" device --help 2>/dev/null | grep -- '--state-dir' >/dev/null; then
    "$B" device --state-dir st$i --instance $first --count $c --bip 127.0.0.1:$port \
      --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 1 --log-level warn \
      --password-file device.pw >dev$i.out 2>dev$i.err &
  else
    "$DEVBIN" --state-dir st$i --bip 127.0.0.1:$port --count $c --first $first --password bench-pw \
      --broadcast 127.0.0.1:$BASE --broadcast-count 1 \
      >dev$i.out 2>dev$i.err &
  fi
  PIDS+=($!)
  left=$((left - c)); first=$((first + c)); port=$((port + c)); i=$((i + 1))
done
# up when the last UDP port of each process is bound (or it says "ready")
port=$BASE
left=$N
for k in $(seq 0 $((i - 1))); do
  c=$(( left < PER ? left : PER )); port=$((port + c)); left=$((left - c))
  for _ in $(seq 300); do
    grep -q ready dev$k.out 2>/dev/null && break
    ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  kill -0 "${PIDS[$k]}" 2>/dev/null || { echo "bench/site.sh: device process $k died" >&2; cat dev$k.err >&2; exit 1; }
done
T1=$(now)
for p in $(seq $((BASE + 1)) $((BASE + N))); do echo 127.0.0.1:$p; done >targets.txt
NET=(--bip-local 127.0.0.1:$BASE --quiet --concurrency 64 --timeout 2000)

t=$(now); "$B" site discover "${NET[@]}" --targets-file targets.txt --wait 10000 >/dev/null; td=$(secs $t $(now))
t=$(now); "$B" site request --all --out req.zip "${NET[@]}" --password-file device.pw >/dev/null; tr=$(secs $t $(now))
t=$(now); "$B" ca sign --dir ca req.zip --out resp.zip >/dev/null; ts=$(secs $t $(now))
t=$(now); "$B" site import resp.zip "${NET[@]}" --password-file device.pw >/dev/null; ti=$(secs $t $(now))
t=$(now); "$B" site mode sc --all "${NET[@]}" --password-file device.pw >/dev/null; tm=$(secs $t $(now))
T2=$(now)
# every device joins the hub with its new certificate: the tool finds them
# all with a Who-Is over BACnet/SC and reads them again by VMAC
SC=(--hub $HUB --cert tool.pem --key tool.key --ca ca/ca.pem --quiet --concurrency 64)
t=$(now)
for _ in $(seq 60); do
  n=$("$B" site discover "${SC[@]}" --wait 3000 --json 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])' 2>/dev/null || echo 0)
  [ "$n" = "$N" ] && break
  sleep 1
done
tj=$(secs $t $(now))
ok=$("$B" site status --filter cert=valid --filter mode=sc --json |
     /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"])')
echo "bench/site.sh: $N devices in $i processes"
printf '  %-30s %7s s\n' "start devices" "$(secs $T0 $T1)" "discover" "$td" "request (keygen + CSR)" "$tr" \
  "ca sign" "$ts" "import (distribute+activate)" "$ti" "mode sc" "$tm"
printf '  %-30s %7s s   (%s/%s devices valid and on SC)\n' "commissioning total" "$(secs $T1 $T2)" "$ok" "$N"
printf '  %-30s %7s s   (%s/%s devices found and read over BACnet/SC)\n' "join hub + discover over SC" "$tj" "$n" "$N"
# the floor, measured now on this machine: the crypto each device needs
# (key generation, CSR signature + check, certificate signature + check)
# back to back on one core (bench_floor, src/cli/bench_floor.h)
if [ -x "$PWD/$BUILD/bench/bench_floor" ]; then
  "$PWD/$BUILD/bench/bench_floor" 0.2 --json | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["crypto"]; n = int(sys.argv[1]); total = float(sys.argv[2])
fl = n * (c["p256_keygen_us"] + 2 * c["ecdsa_p256_sign_us"] + 2 * c["ecdsa_p256_verify_us"]) / 1e6
label = "floor: the crypto alone"
print(f"  {label:30} {fl:7.2f} s   (ratio {total / fl:.0f}x; keygen + 2 sign + 2 verify per device, one core)")
' "$N" "$(secs $T1 $T2)"
fi
[ "$ok" = "$N" ] && [ "$n" = "$N" ]
