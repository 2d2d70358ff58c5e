#!/usr/bin/env bash
# test_renew_zero_downtime.sh — certificate renewal without downtime over
# BACnet/SC: N devices (default 8; BACSC_RENEW_SC_DEVICES, 200 in the `scale`
# test integration.renew_zero_downtime_scale) in one `bacsc device
# --state-dir --count N` process, commissioned onto a real hub (real TLS);
# one `bacsc read --repeat` client per device (its own certificate) reads the
# Device object through the hub every 0.2 s while `site renew --all` →
# `ca sign` → `site import` run over BACnet/SC.
#   - no read fails: a read that gets no answer within the client's normal
#     retries (2 s APDU timeout, 2 retries) ends the reader and the test;
#     the readers' overall --timeout is the length of the whole run;
#   - every device ends on its new certificate (new serial read back over
#     SC) and on a new key (the renewed certificate's public key differs from
#     the old one's), the old certificates are revoked;
#   - prints the longest gap between two successful reads of any device.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
N=${BACSC_RENEW_SC_DEVICES:-8}
T=$(mktemp -d /tmp/test_renew_zero_downtime.XXXXXX)
PIDS=(); READERS=()
cleanup() { for p in "${READERS[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err hub.log dev.err; do [ -f $f ] && tail -6 $f >&2; done; exit 1; }
run() { local want=$1; shift; set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"; }
PY=/usr/bin/python3
BASE=$((20000 + RANDOM % 11000))
HUBP=$((BASE + N + 10))
HUB=wss://127.0.0.1:$HUBP
export BACSC_SITE_DB=$T/site.db
BIP=(--bip-local 127.0.0.1:$BASE --timeout 1000 --retries 2 --password pw --concurrency 16)

"$BACSC" ca init --dir ca --name "SC Renew CA" >/dev/null
# one identity per reader: the hub binds a Device UUID to one connection
for who in hub tool $(seq -f reader%g 5001 $((5000 + N))); do
  "$BACSC" ca issue --dir ca --generate-key --cn $who --san IP:127.0.0.1 --san DNS:localhost \
    --key-out $who.key --out $who.pem >/dev/null || fail "ca issue $who"
done
"$BACSC" hub --listen 127.0.0.1:$HUBP --cert hub.pem --key hub.key --ca ca/ca.pem \
  --log-level warn 2>hub.log &
PIDS+=($!)
"$BACSC" device --state-dir st --instance 5001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 2)) \
  --log-level warn >dev.out 2>dev.err &
PIDS+=($!)
for _ in $(seq 200); do ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break; sleep 0.1; done
TG=(); for i in $(seq $N); do TG+=(--target 127.0.0.1:$((BASE + i))); done

# ---- commission onto BACnet/SC -------------------------------------------------------
run 0 init --name sc-renew --ca ca/ca.pem --domain site.example --primary-hub $HUB
run 0 discover --bip-local 127.0.0.1:$BASE "${TG[@]}"
run 0 request --all --out r0.zip "${BIP[@]}"
"$BACSC" ca sign --dir ca r0.zip --out s0.zip >/dev/null
run 0 import s0.zip "${BIP[@]}"
run 0 mode sc --all "${BIP[@]}"
SC=(--hub $HUB --cert tool.pem --key tool.key --ca ca/ca.pem)
for _ in $(seq 40); do
  set +e; "$BACSC" site discover "${SC[@]}" --wait 1500 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "$N devices, $N done" out && break
  sleep 0.5
done
grep -q "$N devices, $N done" out || fail "discover over SC: $(cat out err)"
"$BACSC" site status --json | $PY -c "
import json,sys
for r in json.load(sys.stdin)['rows']: print(r['instance'], r['serial'])" >before.txt

# ---- readers through the hub -----------------------------------------------------------
for i in $(seq $N); do
  inst=$((5000 + i))
  mkfifo fifo$inst
  ( while read -r _; do date +%s.%N; done <fifo$inst >reads$inst.txt ) &
  PIDS+=($!)
  "$BACSC" read $inst device,$inst object-name --repeat 1000000 --interval 0.2 --timeout 3600 \
    --hub $HUB --cert reader$inst.pem --key reader$inst.key --ca ca/ca.pem \
    >fifo$inst 2>reader$inst.err &
  READERS+=($!)
done
# every reader reading (up to 60 s for all of them to join and resolve), then 3 s more
for _ in $(seq 600); do
  all=1; for i in $(seq $N); do [ -s reads$((5000 + i)).txt ] || { all=0; break; }; done
  [ $all = 1 ] && break; sleep 0.1
done
for i in $(seq $N); do [ -s reads$((5000 + i)).txt ] || fail "reader $((5000 + i)) reads nothing: $(cat reader$((5000 + i)).err)"; done
sleep 3

# ---- renew, sign, import over BACnet/SC while the readers read --------------------------
T0=$(date +%s.%N)
run 0 renew --all --out renew.zip "${SC[@]}" --password pw
"$BACSC" ca sign --dir ca renew.zip --out renew-resp.zip >/dev/null
run 0 import renew-resp.zip "${SC[@]}" --password pw --ca-dir ca
T1=$(date +%s.%N)
sleep 3
for i in $(seq $N); do
  inst=$((5000 + i))
  [ -s reader$inst.err ] && fail "reader $inst failed: $(cat reader$inst.err)"
  kill -0 "${READERS[$((i - 1))]}" 2>/dev/null || fail "reader $inst stopped"
done
$PY - "$T0" "$T1" "$N" <<'PY' || fail "gaps"
import sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
worst = (0.0, None)
for i in range(1, n + 1):
    ts = [float(x) for x in open(f"reads{5000 + i}.txt") if x.strip()]
    during = [t for t in ts if t0 - 1 <= t <= t1 + 3]
    assert len(during) >= 2, (i, len(during))
    gap = max(b - a for a, b in zip(during, during[1:]))
    if gap > worst[0]:
        worst = (gap, 5000 + i)
print(f"renewal of {n} devices over BACnet/SC took {t1 - t0:.1f} s; "
      f"longest gap between two reads of one device: {worst[0]:.2f} s (device {worst[1]})")
PY
# the readers have done their part: stop them so the checks below run unloaded
for p in "${READERS[@]}"; do kill "$p" 2>/dev/null || true; done
for _ in $(seq 20); do
  set +e; "$BACSC" site discover "${SC[@]}" --wait 1500 >out 2>err; RC=$?; set -e
  [ "$RC" = 0 ] && grep -q "$N devices, $N done" out && break
  sleep 0.5
done
grep -q "$N devices, $N done" out || fail "discover over SC after the renewal: $(cat out err)"
"$BACSC" site status --json | $PY -c "
import json,sys
for r in json.load(sys.stdin)['rows']: print(r['instance'], r['serial'])" >after.txt
$PY -c "
b=dict(l.split() for l in open('before.txt')); a=dict(l.split() for l in open('after.txt'))
assert len(a)==$N and all(a[k]!=b[k] for k in b), (b, a)" || fail "new serials: $(cat before.txt after.txt)"
"$BACSC" ca list --dir ca --json | $PY -c "
import json,sys; c={x['serial']: x for x in json.load(sys.stdin)}
b=[l.split()[1] for l in open('before.txt')]
assert all(c[s]['status']=='revoked' for s in b), [c[s] for s in b]" || fail "old certificates revoked"
# a new key: each renewed certificate's public key differs from the old one's
$PY - "$N" <<'PY' || fail "new keys"
import subprocess, sys, zipfile
def keys(z):
    out = {}
    with zipfile.ZipFile(z) as f:
        for n in f.namelist():
            if n.startswith("certs/"):
                pem = f.read(n)
                out[n] = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=pem,
                                        capture_output=True, check=True).stdout
    return out
old, new = keys("s0.zip"), keys("renew-resp.zip")
assert len(new) == int(sys.argv[1]) and set(new) == set(old), (sorted(old), sorted(new))
assert all(new[n] != old[n] for n in new), [n for n in new if new[n] == old[n]]
PY
echo ok
