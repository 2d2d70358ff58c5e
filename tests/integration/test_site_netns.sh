#!/usr/bin/env bash
# test_site_netns.sh — `bacsc site discover` with a REAL BACnet/IP broadcast.
# The other site tests emulate a broadcast domain on 127.0.0.1 (unicast copies
# to consecutive ports); this one builds a real one: a Linux bridge and one
# network namespace per device plus one for the tool, joined by veth pairs on
# a private subnet (10.213.0.0/24) that exists only inside those namespaces —
# the bridge and the host-side veths carry no address, nothing is routed, and
# nothing leaves the machine. Each device namespace runs one
# `bacsc device --state-dir` on UDP 47808 — the first bound to 0.0.0.0, the
# others to their own unicast address, as an installer would configure them
# (such a link opens a second socket on the broadcast address, because Linux
# does not deliver subnet broadcasts to a socket bound to a unicast address),
# the tool namespace runs `site init`, `site discover --broadcast
# 10.213.0.255:47808` (no --broadcast-count, no --target: only a real
# broadcast Who-Is can find the devices, and their I-Am answers come back as
# real broadcasts) and `site request` (unicast to the discovered addresses).
# Needs root / CAP_NET_ADMIN and iproute2; otherwise it exits 77 (skipped).
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"

skip() { echo "SKIP: $*" >&2; exit 77; }
command -v ip >/dev/null 2>&1 || skip "iproute2 ('ip') is not installed"

N=3                       # device namespaces
TAG=b$$                   # unique per run: parallel runs use separate bridges
BR=${TAG}br               # interface names must stay within 15 characters
NS_TOOL=bacsc-$TAG-tool
NETP=10.213.0             # exists only inside the namespaces created here
T=$(mktemp -d /tmp/test_site_netns.XXXXXX)
NSS=()                    # namespaces, links and processes this run created:
LINKS=()                  # cleanup touches nothing else
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  # deleting the host end removes a veth pair at once (a deleted namespace
  # releases its interfaces asynchronously)
  for l in "${LINKS[@]}"; do ip link del "$l" 2>/dev/null; done
  for ns in "${NSS[@]}"; do
    # anything still running in the namespace (nothing should be) goes too
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null   # deletes the veth pairs inside it too
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev*.err; do [ -f "$f" ] && tail -8 "$f" >&2; done; exit 1; }

# Permission probe: a namespace we can create and delete, else skip.
if ! ip netns add "bacsc-$TAG-probe" 2>probe.err; then
  skip "cannot create a network namespace (root/CAP_NET_ADMIN needed): $(head -1 probe.err)"
fi
ip netns del "bacsc-$TAG-probe" || true
ip link add "$BR" type bridge 2>probe.err || skip "cannot create a bridge: $(head -1 probe.err)"
LINKS+=("$BR")
ip link set "$BR" up

mkns() { # mkns NAME INDEX HOSTOCTET — namespace with eth0 = NETP.HOSTOCTET/24 on the bridge
  local ns=$1 i=$2 host=$3
  ip netns add "$ns"; NSS+=("$ns")
  ip link add "${TAG}v$i" type veth peer name eth0 netns "$ns"; LINKS=("${TAG}v$i" "${LINKS[@]}")
  ip link set "${TAG}v$i" master "$BR" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$NETP.$host/24" broadcast "$NETP.255" dev eth0
  ip -n "$ns" link set eth0 up
}
mkns "$NS_TOOL" 0 2
for i in $(seq 1 $N); do mkns "bacsc-$TAG-d$i" "$i" $((10 + i)); done

# A bridge port forwards only once it is out of the listening/learning states;
# wait until every port of the bridge is "forwarding".
for _ in $(seq 100); do
  [ "$(bridge link show 2>/dev/null | grep "master $BR " | grep -c "state forwarding")" = $((N + 1)) ] && break
  sleep 0.1
done

echo "netns-pw" >"$T/pw"
for i in $(seq 1 $N); do
  ns=bacsc-$TAG-d$i
  bind=0.0.0.0; [ "$i" -gt 1 ] && bind=$NETP.$((10 + i))
  ip netns exec "$ns" "$BACSC" device --state-dir "st$i" --instance $((2000 + i)) \
    --bip "$bind:47808" --bip-broadcast "$NETP.255:47808" --log-level warn --password-file "$T/pw" \
    >"dev$i.out" 2>"dev$i.err" &
  PIDS+=($!)
done
for i in $(seq 1 $N); do
  ok=""
  for _ in $(seq 100); do
    ip netns exec "bacsc-$TAG-d$i" ss -Hlun "sport = :47808" 2>/dev/null | grep -q . && { ok=1; break; }
    sleep 0.1
  done
  [ -n "$ok" ] || fail "device $((2000 + i)) did not start"
done

tool() { # tool WANT-RC args… — bacsc site … in the tool namespace, output in out/err
  local want=$1; shift
  set +e; ip netns exec "$NS_TOOL" env BACSC_SITE_DB="$T/site.db" "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"
}
"$BACSC" ca init --dir ca --name "Netns Test CA" >/dev/null
tool 0 init --name netns --ca ca/ca.pem --domain netns.example

# Only the broadcast: no --target, no --broadcast-count.
tool 0 discover --bip-local 0.0.0.0:47808 --broadcast "$NETP.255:47808" --wait 1500 \
  --timeout 500 --retries 2 --json
tool 0 status --json
/usr/bin/python3 - "$N" "$NETP" <<'EOF' || fail "status after discover: $(cat out)"
import json, sys
n, netp = int(sys.argv[1]), sys.argv[2]
d = json.load(open("out"))
assert d["devices"] == n, d
seen = {}
for r in d["rows"]:
    assert r["mode"] == "ip" and r["cert_status"] == "none", r
    seen[r["instance"]] = r["address"]
want = {2000 + i: "%s.%d:47808" % (netp, 10 + i) for i in range(1, n + 1)}
assert seen == want, (seen, want)
EOF

# The discovered addresses are real: a request (unicast) reaches every device.
tool 0 request --all --out req.zip --timeout 500 --retries 2 --password-file "$T/pw"
tool 0 status --json
/usr/bin/python3 - "$N" <<'EOF' || fail "status after request: $(cat out)"
import json, sys
d = json.load(open("out"))
assert d["devices"] == int(sys.argv[1]), d
assert all(r["cert_status"] == "csr-pending" for r in d["rows"]), d["rows"]
EOF
# Every device is still up and stops cleanly on SIGTERM (exit 0; under ASan a
# leak or error report at exit makes it non-zero).
for i in $(seq 1 $N); do kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || fail "device $((2000 + i)) died"; done
for i in $(seq 1 $N); do
  p=${PIDS[$((i - 1))]}; kill "$p"
  set +e; wait "$p"; rc=$?; set -e
  [ "$rc" = 0 ] || fail "device $((2000 + i)) exited $rc after SIGTERM: $(tail -5 "dev$i.err")"
done
PIDS=()
echo "ok: $N devices found by a real broadcast Who-Is on $NETP.0/24 and requested"
