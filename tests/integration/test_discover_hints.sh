#!/usr/bin/env bash
# test_discover_hints.sh — discovery on one host. A device answers a unicast
# Who-Is with a BROADCAST I-Am to its --bip-broadcast address; when that is not
# the port the tool listens on, `site discover` finds nothing and must say
# where the Who-Is went, where it listened and what to check; --log-level
# debug shows every datagram sent and received, with the addresses (tool and
# device). With --bip-local on the device's broadcast port the device is found.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_discover_hints.XXXXXX)
DEV=
cleanup() { [ -n "$DEV" ] && { kill "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; }; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in err dev.err; do [ -f $f ] && tail -5 $f >&2; done; exit 1; }
BASE=$((20000 + RANDOM % 12000))
TOOL=$BASE DEVP=$((BASE + 1)) BC=$((BASE + 2))
export BACSC_SITE_DB="$T/site.db"
"$BACSC" pki demo --out pki --nodes 1 >/dev/null
"$BACSC" site init --name hints --ca pki/ca.pem >/dev/null || fail "site init"

"$BACSC" device --state-dir st --instance 4001 --bip 127.0.0.1:$DEVP \
  --bip-broadcast 127.0.0.1:$BC --log-level debug >dev.out 2>dev.err &
DEV=$!
for _ in $(seq 100); do ss -Hlun "sport = :$DEVP" 2>/dev/null | grep -q . && break; sleep 0.1; done
ss -Hlun "sport = :$DEVP" | grep -q . || fail "device did not start"

rc=0
"$BACSC" site discover --bip-local 127.0.0.1:$TOOL --target 127.0.0.1:$DEVP --wait 1500 \
  --log-level debug >out 2>err || rc=$?
[ $rc = 4 ] || fail "discover with the I-Am going elsewhere: exit $rc, expected 4"
msg=$(grep 'no device answered' err) || fail "no 'no device answered' line"
[ "$(printf '%s\n' "$msg" | wc -l)" = 1 ] || fail "not one line: $msg"
for want in "Who-Is sent to 127.0.0.1:$DEVP" "listens on 127.0.0.1:$TOOL" \
            "--bip-broadcast port is $TOOL" "--bip-local"; do
  printf '%s\n' "$msg" | grep -qF -- "$want" || fail "hint lacks \"$want\": $msg"
done
# debug: what the tool sent where; what the device got from where and where it answered
grep -q "debug .*bip: sent Original-Unicast-NPDU, [0-9]* bytes, to 127.0.0.1:$DEVP" err ||
  fail "tool's debug log lacks the Who-Is sent to 127.0.0.1:$DEVP"
grep -q "debug .*bip: received Original-Unicast-NPDU, [0-9]* bytes, from 127.0.0.1:$TOOL" dev.err ||
  fail "device's debug log lacks the Who-Is received from 127.0.0.1:$TOOL"
grep -q "debug .*bip: sent Original-Broadcast-NPDU, [0-9]* bytes, to 127.0.0.1:$BC" dev.err ||
  fail "device's debug log lacks its I-Am broadcast to 127.0.0.1:$BC"

# Listening on the device's broadcast port, as the hint says: found, and the
# debug log names where the answer came from.
rc=0
"$BACSC" site discover --bip-local 127.0.0.1:$BC --target 127.0.0.1:$DEVP --wait 1500 \
  --log-level debug >out 2>err || rc=$?
[ $rc = 0 ] || fail "discover on the broadcast port: exit $rc"
grep -q "debug .*bip: received Original-Broadcast-NPDU, [0-9]* bytes, from 127.0.0.1:$DEVP" err ||
  fail "tool's debug log lacks the I-Am received from 127.0.0.1:$DEVP"
grep -q "1 device answered" err || fail "device not found"
# whois over B/IP with the I-Am going elsewhere: the same kind of hint
rc=0
"$BACSC" whois --bip-local 127.0.0.1:$TOOL --timeout 1 >out 2>err || rc=$?
[ $rc = 4 ] || fail "whois with nothing answering: exit $rc, expected 4"
grep -q "no device answered within .*--bip-local port of this tool" err || fail "whois: no hint"
echo "PASS: discover hints"
