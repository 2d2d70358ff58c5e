#!/usr/bin/env bash
# test_web_browser.sh — the web console in a real headless Chromium driven by
# Playwright (tests/web/browser.js), against a real `bacsc web` with a CA, a
# site of BACnet/IP devices (`bacsc device` processes) and the three roles:
# both approval scenarios end to end (certificates checked with `openssl
# verify`), a site job started from the Devices page and watched to
# completion, a viewer refused by the API, a login lock-out, a zip bomb, and
# the screenshots of every page. Skipped (77) only when
# Chromium is not installed.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}" "${BACSC_SRC:?}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: $CHROMIUM not installed"; exit 77; }
command -v node >/dev/null || { echo "FAIL: node is not installed" >&2; exit 1; }
WEBDIR=$BACSC_SRC/tests/web
if [ ! -d "$WEBDIR/node_modules/playwright-core" ]; then
  (cd "$WEBDIR" && npm ci --no-audit --no-fund >/dev/null)
fi
T=$(mktemp -d /tmp/test_web_browser.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- the CA, the users, the server certificate -------------------------------------
"$BACSC" pki demo --out pki --nodes 0 >/dev/null
"$BACSC" ca init --dir ca --name "Browser Test CA" >/dev/null
# a CRL file (DER) for the upload in the CRL push scenario, older than any the console makes
"$BACSC" ca crl --dir ca --der --out upload.crl >/dev/null
export BACSC_WEB_DB=$T/web.db
for u in alice:admin ivan:installer vera:viewer; do
  echo "${u%%:*}-password" >pw
  "$BACSC" web user add "${u%%:*}" --role "${u##*:}" --password-file pw >/dev/null
done
rm pw

# ---- a site: devices on BACnet/IP -------------------------------------------------------
N=6
BASE=$((20000 + RANDOM % 20000))
echo "devices-pw" >devices.pw
"$BACSC" device --state-dir devices --instance 2001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
  --domain web.example --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 1)) \
  --password-file devices.pw --log-level warn >devices.out 2>devices.log &
PIDS+=($!)
for _ in $(seq 100); do
  ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break
  sleep 0.1
done
sleep 0.3
"$BACSC" site init --db site.db --name plant-web --ca ca/ca.pem --domain web.example >/dev/null
ndev() { "$BACSC" site status --db site.db --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"])'; }
for _ in 1 2 3 4 5; do   # devices start slowly on a loaded machine: discover again
  "$BACSC" site discover --db site.db --bip-local 127.0.0.1:$BASE --broadcast 127.0.0.1:$BASE \
    --broadcast-count $((N + 1)) --wait 2000 --quiet >/dev/null 2>&1 || true
  [ "$(ndev)" -ge "$N" ] && break
done
[ "$(ndev)" -ge "$N" ] || { tail -5 devices.log >&2; fail "discover found $(ndev) of $N devices"; }

# ---- the console ----------------------------------------------------------------------------
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BACSC" web --listen 127.0.0.1:$PORT --cert pki/hub.pem --key pki/hub.key --ca-dir ca \
  --site-db site.db --bip-local 127.0.0.1:$BASE --bip-timeout 1000 --log-level info \
  --device-password-file devices.pw >web.out 2>web.log &
WEBPID=$!
PIDS+=($WEBPID)
for _ in $(seq 100); do grep -q "serving https" web.out && break; sleep 0.1; done
grep -q "serving https" web.out || { cat web.log >&2; fail "bacsc web did not start"; }

# ---- request zips for the two approval scenarios, a hostile one ---------------------------------
mkcsr() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
  -subj "/CN=$2" -out "$1" 2>/dev/null; }
mkdir manual auto
for i in 1 2 3; do mkcsr manual/m$i.csr "manual-dev$i"; mkcsr auto/a$i.csr "auto-dev$i"; done
# a subject that would be markup if it were not escaped
mkcsr manual/x.csr '<img src=x onerror=alert(1)>'
"$BACSC" cari build --out manual.zip --site plant-web manual/*.csr >/dev/null
"$BACSC" cari build --out auto.zip --site plant-web auto/*.csr >/dev/null
/usr/bin/python3 - <<'EOF'
import zipfile
with zipfile.ZipFile("bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("csr/dev.csr", b"\0" * (900 << 10))
EOF

export WEB_URL=https://127.0.0.1:$PORT WEB_DIR=$T CHROMIUM
# Screenshots go to the build tree; scripts/web-screenshots.sh runs this test
# with SCREENSHOTS=docs/screenshots to regenerate the ones in the repository.
export SCREENSHOTS=${SCREENSHOTS:-${BACSC_BUILD:-$T}/web-screenshots}
mkdir -p "$SCREENSHOTS"
node "$WEBDIR/browser.js" || { tail -30 web.log >&2; fail "browser scenarios"; }

# ---- the downloaded responses verify with openssl ---------------------------------------------
for s in manual auto; do
  [ -s "$s-response.zip" ] || fail "no $s response downloaded"
  rm -rf "x-$s" && mkdir "x-$s" && (cd "x-$s" && unzip -q "../$s-response.zip")
  n=0
  for c in $(find "x-$s/certs" -name '*.pem'); do
    openssl verify -CAfile ca/ca.pem "$c" >/dev/null || fail "$s: $c does not verify"
    n=$((n + 1))
  done
  want=3; [ $s = manual ] && want=4
  [ $n = $want ] || fail "$s: $n certificates verified, wanted $want"
  echo "ok   $s approval: $n certificates verify against the CA (openssl verify)"
done
# the console stops cleanly, and no sanitizer reported anything
kill -TERM "$WEBPID"
set +e; wait "$WEBPID"; rc=$?; set -e
[ "$rc" = 0 ] || { tail -40 web.log >&2; fail "bacsc web exited $rc on SIGTERM"; }
if grep -q -e Sanitizer -e "runtime error:" web.log; then grep -A30 Sanitizer web.log >&2; fail "sanitizer report"; fi
echo "ok   bacsc web stops cleanly on SIGTERM"
echo "all browser scenarios passed"
