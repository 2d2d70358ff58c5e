#!/usr/bin/env bash
# test_site_settings.sh — `site init` checks hub URIs at once (one line, exit
# 2, nothing stored); a rerun changes only the settings it is given (the
# saved domain and hubs survive a rerun without them); replacing the site CA
# is refused (exit 3) without --force and warned about with it; `site show`
# prints the settings (text and --json, checked with python's json parser).
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_site_settings.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; [ -f err ] && cat err >&2; exit 1; }
export BACSC_SITE_DB="$T/site.db"
"$BACSC" pki demo --out a --nodes 1 >/dev/null
"$BACSC" pki demo --out b --nodes 1 >/dev/null
run() { # run EXPECTED_EXIT ARGS...
  local want=$1; shift
  local rc=0
  "$BACSC" site "$@" >out 2>err || rc=$?
  [ "$rc" = "$want" ] || fail "site $* → exit $rc, expected $want"
}
one_line() { [ "$(grep -c . err)" = 1 ] || fail "not one line on stderr"; grep -qF -- "$1" err || fail "expected \"$1\""; }

for bad in http://127.0.0.1:4443 wss//127.0.0.1:4443 wss://127.0.0.1 wss://:4443 "wss://h:99999" "wss://h:44a3"; do
  run 2 init --name S --ca a/ca.pem --primary-hub "$bad"
  one_line "'$bad'"
  [ ! -e site.db ] || fail "a bad --primary-hub $bad created the database"
done
run 2 init --name S --ca a/ca.pem --primary-hub wss://127.0.0.1:4443 --failover-hub ftp://x:1
one_line "--failover-hub 'ftp://x:1'"

run 0 init --name S --ca a/ca.pem --domain site.example --primary-hub wss://127.0.0.1:4443 \
  --failover-hub "wss://[::1]:4444/sc"
# rerun with only a new name: domain, hubs and CA kept
run 0 init --name S2
run 0 show --json
python3 - <<'PY' || fail "site show --json after a partial rerun: $(cat out)"
import json
j = json.load(open("out"))
assert j["name"] == "S2", j
assert j["domain"] == "site.example", j
assert j["primary_hub"] == "wss://127.0.0.1:4443", j
assert j["failover_hub"] == "wss://[::1]:4444/sc", j
assert "Demo" in j["ca"] or j["ca"], j
assert len(j["ca_sha256"]) == 64, j
PY
fp=$(openssl x509 -in a/ca.pem -outform DER | sha256sum | cut -d' ' -f1)
run 0 show
grep -q "^CA SHA-256 *$fp" out || fail "site show: CA fingerprint $fp missing: $(cat out)"
grep -q "^domain *site.example" out || fail "site show: domain"
# a bad URI on a rerun: refused, nothing changed
run 2 init --primary-hub http://x:1
run 0 show --json
python3 -c 'import json,sys; j=json.load(open("out")); sys.exit(j["primary_hub"] != "wss://127.0.0.1:4443")' ||
  fail "a refused rerun changed the primary hub"
# the same CA again: no question asked
run 0 init --ca a/ca.pem
# another CA: refused without --force, nothing changed
run 3 init --ca b/ca.pem
one_line "--force"
run 0 show
grep -q "^CA SHA-256 *$fp" out || fail "the CA changed without --force"
run 0 init --ca b/ca.pem --force
grep -q "warning: the site CA changes" err || fail "no warning when the CA changes with --force"
fpb=$(openssl x509 -in b/ca.pem -outform DER | sha256sum | cut -d' ' -f1)
run 0 show
grep -q "^CA SHA-256 *$fpb" out || fail "the CA did not change with --force"
grep -q "^domain *site.example" out || fail "domain lost when the CA changed"
# clearing a setting explicitly
run 0 init --domain ""
run 0 show
grep -q "^domain *(none)" out || fail "--domain \"\" did not clear the domain"
# show without a database
rc=0; BACSC_SITE_DB="$T/none.db" "$BACSC" site show >out 2>err || rc=$?
[ $rc = 1 ] || fail "site show without a database: exit $rc"
echo "PASS: site settings"
