#!/usr/bin/env bash
# test_security_device.sh — who may change a device (docs/security.md), with a
# real `bacsc device --state-dir` on BACnet/IP and tests/bip_client as the
# attacker and as the installer:
#
#  1. factory fresh: a password is generated, shown once, kept hashed 0600
#  2. a tool without the password cannot stage anything: an extra issuer,
#     a hub URI, a new key (generate-csr) are all refused
#  3. password guessing: after 3 failures the source is locked out (even the
#     right password is refused), and the failures are logged
#  4. after a restart without any password flag the stored password holds
#  5. the commissioning lock refuses changes even with the password
#  6. `site request` with a wrong password reports security/password-failure
#     and the option that supplies the password
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_BUILD:?BACSC_BUILD must name the build directory}"
CL="$BACSC_BUILD/tests/bip_client"
T=$(mktemp -d /tmp/test_security_device.XXXXXX)
DP=""
cleanup() { [ -n "$DP" ] && kill "$DP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; [ -f dev.err ] && tail -5 dev.err >&2; exit 1; }

start_device() { # start_device [extra args] — sets P (device port), BASE, DP
  local try
  for try in 1 2 3 4 5 6; do
    BASE=$((10000 + RANDOM % 20000)); P=$((BASE + 1))
    "$BACSC" device --state-dir st --instance 3001 --count 1 --bip 127.0.0.1:$P \
      --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 2 --log-level info "$@" >dev.out 2>>dev.err &
    DP=$!
    for _ in $(seq 50); do
      "$CL" --to 127.0.0.1:$P --timeout 300 read device,3001 object-name >/dev/null 2>&1 && return 0
      kill -0 $DP 2>/dev/null || break
      sleep 0.1
    done
    kill $DP 2>/dev/null || true; wait $DP 2>/dev/null || true; DP=""
  done
  fail "device did not start"
}
stop_device() { kill "$DP"; wait "$DP" || true; DP=""; }
c() { # c args… — one bip_client run; output in c.out, exit status in RC
  set +e; "$CL" --to 127.0.0.1:$P "$@" >c.out 2>&1; RC=$?; set -e
}

# ---- 1. factory fresh -------------------------------------------------------------
start_device
grep -q "device password generated for st: " dev.err || fail "no generated password shown"
PW=$(sed -n 's/.*device password generated for st: \([A-Za-z0-9]*\) .*/\1/p' dev.err | head -1)
[ ${#PW} = 16 ] || fail "generated password '$PW'"
[ "$(stat -c %a st/password)" = 600 ] || fail "st/password mode $(stat -c %a st/password)"
grep -q "$PW" st/password && fail "the password is stored in clear"
grep -q "^scrypt " st/password || fail "st/password is not a scrypt hash"

# ---- 2. no password, no change ------------------------------------------------------
openssl ecparam -name prime256v1 -genkey -noout -out evil.key 2>/dev/null
openssl req -x509 -new -key evil.key -subj "/CN=evil CA" -days 30 -out evil.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
c put 3 evil.pem
[ "$RC" = 1 ] && grep -q "error 5 5" c.out || { cat c.out; fail "an extra issuer was staged without the password"; }
c write network-port,1 sc-primary-hub-uri string wss://10.6.6.6:4443
[ "$RC" = 1 ] && grep -q "error 2 40" c.out || { cat c.out; fail "a hub URI was staged without the password"; }
c csr stolen.pem
[ "$RC" = 1 ] || { cat c.out; fail "generate-csr-file worked without the password"; }
grep -q "change refused: no commissioning session" dev.err || fail "refused changes are not logged"
# the installer, with the password, may
c --login "$PW" write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
[ "$RC" = 0 ] || { cat c.out; fail "the installer could not stage a change"; }

# ---- 3. password guessing -------------------------------------------------------------
GP=$((BASE + 5))
for i in 1 2 3 4 5 6 7 8; do
  set +e; "$CL" --to 127.0.0.1:$P --bind 127.0.0.1:$GP dcc "guess$i" >g.out 2>&1; set -e
done
set +e; "$CL" --to 127.0.0.1:$P --bind 127.0.0.1:$GP dcc "$PW" >g.out 2>&1; grc=$?; set -e
[ "$grc" = 1 ] && grep -q "error 4 26" g.out || { cat g.out; fail "a guessing source was not locked out"; }
[ "$(grep -c 'password failure\|locked out' dev.err)" -ge 8 ] || fail "password failures not logged"
grep -q "source locked out after repeated failures (from 127.0.0.1:$GP)" dev.err || fail "lock-out not logged with the source"
# another source is not affected
c dcc "$PW"
[ "$RC" = 0 ] || { cat c.out; fail "the lock-out of one source hit another"; }

# ---- 4. restart without a password flag: the stored one holds ----------------------------
stop_device
start_device
grep -c "device password generated" dev.err | grep -qx 1 || fail "a second password was generated"
c reinit 7 wrong-password
[ "$RC" = 1 ] && grep -q "error 4 26" c.out || { cat c.out; fail "a wrong password was accepted after a restart"; }
c --login "$PW" read device,3001 object-name
[ "$RC" = 0 ] || { cat c.out; fail "the stored password no longer works"; }

# ---- 5. commissioning lock ------------------------------------------------------------------
touch st/commissioning-lock
c --login "$PW" write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
[ "$RC" = 1 ] && grep -q "error 2 40" c.out || { cat c.out; fail "the commissioning lock did not refuse a change"; }
grep -q "commissioning lock is on" dev.err || fail "lock refusal not logged"
rm st/commissioning-lock
c --login "$PW" write network-port,1 sc-primary-hub-uri string wss://127.0.0.1:4443
[ "$RC" = 0 ] || { cat c.out; fail "unlocked device still refuses"; }

# ---- 6. the site tool names a refused password -------------------------------------------------
"$BACSC" ca init --dir ca --name "Dev Test CA" >/dev/null
export BACSC_SITE_DB="$T/site.db"
"$BACSC" site init --name s --ca ca/ca.pem --domain site.example >/dev/null
"$BACSC" site discover --bip-local 127.0.0.1:$BASE --broadcast 127.0.0.1:$BASE --broadcast-count 2 \
  --wait 1000 >/dev/null || fail "discover"
echo wrong-password >wrong.pw
set +e
"$BACSC" site request --all --out req.zip --bip-local 127.0.0.1:$BASE --timeout 300 --retries 1 \
  --password-file wrong.pw >site.out 2>site.err
src=$?
set -e
[ "$src" != 0 ] || fail "site request succeeded with a wrong password"
grep -q "security/password-failure" site.out site.err || { cat site.out site.err; fail "the password failure is not reported as such"; }
grep -q -- "--password-file" site.out site.err || fail "the option that supplies the password is not named"
echo ok
