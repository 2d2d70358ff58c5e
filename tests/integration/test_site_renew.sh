#!/usr/bin/env bash
# test_site_renew.sh — certificate renewal with key rotation, end to end with
# real processes on 127.0.0.1: four commissionable devices (one `bacsc device
# --state-dir` process on BACnet/IP), a site CA (`bacsc ca`), the tool.
#   - 2001-2002 get 10-day certificates, 2003-2004 two-year ones;
#   - `site renew --expiring-days 30` selects exactly the set
#     `ca list --expiring 30` lists; the renewal CSRs carry the proof
#     (checked with openssl) and `ca sign` accepts them although the UUIDs
#     hold valid certificates with other keys; a stranger's CSR for the same
#     UUID with a new key is not signed;
#   - while renewal is pending the devices keep their certificates;
#   - `site import --ca-dir` activates the new certificates (new serials and
#     keys read back from the devices) and revokes the old ones (superseded);
#   - `--keep-old` leaves the old certificate valid;
#   - `--same-key` (devices that cannot rotate): no new key, the CSR the
#     device holds for its current key is read and signed (the CA's
#     same-key renewal), the device gets a new serial with the same key; a
#     device whose CSR file is for another key (a renewal pending) fails
#     with that said.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_site_renew.XXXXXX)
PD=""
cleanup() { [ -n "$PD" ] && kill $PD 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev.err; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
BASE=$((20000 + RANDOM % 12000))
export BACSC_SITE_DB="$T/site.db"
NET=(--bip-local 127.0.0.1:$BASE --timeout 500 --retries 2)
PY=/usr/bin/python3
run() { # run WANT-RC args… — bacsc site …, output in out/err
  local want=$1; shift
  set +e; "$BACSC" site "$@" >out 2>err; RC=$?; set -e
  [ "$RC" = "$want" ] || fail "bacsc site $* exited $RC, wanted $want"
}
serials() { # serials → "instance serial" per device, from site status
  "$BACSC" site status --json | $PY -c "
import json,sys
for r in json.load(sys.stdin)['rows']: print(r['instance'], r.get('serial',''))"
}
ca_json() { "$BACSC" ca list --dir ca --json "$@"; }

"$BACSC" ca init --dir ca --name "Renew CA" >/dev/null
run 0 init --name plant-r --ca ca/ca.pem --domain site.example
"$BACSC" device --state-dir st --instance 2001 --count 4 --bip 127.0.0.1:$((BASE + 1)) \
  --password pw --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 8 --log-level warn \
  >dev.out 2>dev.err &
PD=$!
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 4))" 2>/dev/null | grep -q . && break; sleep 0.1; done
T4=(); for i in 1 2 3 4; do T4+=(--target 127.0.0.1:$((BASE + i))); done
run 0 discover "${NET[@]}" "${T4[@]}"

# ---- first certificates: 10 days for 2001-2002, two years for 2003-2004 -------------
"$BACSC" ca policy set --dir ca validity_days 10 >/dev/null
run 0 request 2001-2002 --out r1.zip "${NET[@]}" --password pw
"$BACSC" ca sign --dir ca r1.zip --out s1.zip >/dev/null
run 0 import s1.zip "${NET[@]}" --password pw --ca-dir ca
"$BACSC" ca policy set --dir ca validity_days 730 >/dev/null
run 0 request 2003-2004 --out r2.zip "${NET[@]}" --password pw
"$BACSC" ca sign --dir ca r2.zip --out s2.zip >/dev/null
run 0 import s2.zip "${NET[@]}" --password pw --ca-dir ca
serials >before.txt
[ "$(awk '$2!=""' before.txt | wc -l)" = 4 ] || fail "4 certificates: $(cat before.txt)"

# ---- renewal selection = ca list --expiring ------------------------------------------
ca_json --expiring 30 | $PY -c "
import json,sys; print(' '.join(sorted(c['serial'] for c in json.load(sys.stdin))))" >ca_set.txt
run 0 renew --expiring-days 30 --out renew.zip "${NET[@]}" --password pw --json
$PY -c "
import json; d=json.load(open('out'))
assert d['kind']=='renew' and d['csrs']==2 and d['done']==2 and d['state']=='done', d
print(' '.join(sorted(str(x['device']) for x in d['devices'])))" >renewed.txt || fail "renew --json: $(cat out)"
[ "$(cat renewed.txt)" = "2001 2002" ] || fail "renewed $(cat renewed.txt), wanted 2001 2002"
site_set=$(awk '$1==2001||$1==2002{print $2}' before.txt | sort | tr '\n' ' ' | sed 's/ $//')
[ "$site_set" = "$(cat ca_set.txt)" ] || fail "site renew set ($site_set) != ca list --expiring ($(cat ca_set.txt))"

# the renewal CSRs carry the proof (an attribute with the bacsc renewal OID)
mkdir req && (cd req && $PY -c "import zipfile; zipfile.ZipFile('../renew.zip').extractall()")
n=0
for f in $(find req -name '*.csr' -o -name '*.pem' -o -name '*.der' | grep -iv manifest); do
  if openssl req -in "$f" -inform PEM -noout -text 2>/dev/null | grep -q "2.25.135735018967677497100129653802789581465" ||
     openssl req -in "$f" -inform DER -noout -text 2>/dev/null | grep -q "2.25.135735018967677497100129653802789581465"; then
    n=$((n + 1))
  fi
done
[ "$n" = 2 ] || fail "renewal proofs in the request: $n (files: $(find req -type f))"

# while pending, the devices still run on their certificates
run 0 discover "${NET[@]}" "${T4[@]}"
serials >pending.txt
cmp -s before.txt pending.txt || fail "certificates changed before import: $(cat pending.txt)"

# ---- by policy (auto_approve all): the renewal is signed at once; a stranger's ----------
# ---- CSR for 2001's UUID with a new key waits for an administrator ------------------
"$BACSC" ca policy set --dir ca auto_approve all >/dev/null
uuid=$("$BACSC" site status --json | $PY -c "
import json,sys; print([r['uuid'] for r in json.load(sys.stdin)['rows'] if r['instance']==2001][0])")
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout thief.key \
  -subj "/CN=dev-2001.site.example" -addext "subjectAltName=URI:urn:uuid:$uuid" \
  -outform DER -out thief.csr 2>/dev/null
mkdir thief && cp thief.csr thief/
"$BACSC" ca submit --dir ca thief --json >thief.json 2>thief.err || true
"$BACSC" ca pending --dir ca --json >pend.json
$PY -c "
import json; p=json.load(open('pend.json'))
assert len(p)==1 and p[0]['device_uuid']=='$uuid' and 'needs an administrator' in p[0]['reason'], p
" || fail "the stranger's CSR should wait for an administrator: $(cat thief.json thief.err pend.json)"
"$BACSC" ca reject --dir ca --all --reason "test: stranger" >/dev/null
"$BACSC" ca submit --dir ca renew.zip --json >sub.json 2>sub.err || fail "ca submit of the renewal: $(cat sub.err)"
batch=$($PY -c "
import json; d=json.load(open('sub.json'))
assert d['issued']==2 and d.get('pending',0)==0 and d['rejected']==0, d
print(d['batch'])") || fail "the renewal should be signed at once: $(cat sub.json)"
"$BACSC" ca respond --dir ca --batch "$batch" --out renew_resp.zip >/dev/null
"$BACSC" ca policy set --dir ca auto_approve off >/dev/null
run 0 import renew_resp.zip "${NET[@]}" --password pw --ca-dir ca
grep -q "revoked (superseded)" err || fail "import should revoke the old certificates: $(cat err)"
run 0 discover "${NET[@]}" "${T4[@]}"
serials >after.txt
for i in 2001 2002; do
  old=$(awk -v i=$i '$1==i{print $2}' before.txt); new=$(awk -v i=$i '$1==i{print $2}' after.txt)
  [ -n "$new" ] && [ "$new" != "$old" ] || fail "device $i: serial $old -> $new"
done
for i in 2003 2004; do
  [ "$(awk -v i=$i '$1==i{print $2}' before.txt)" = "$(awk -v i=$i '$1==i{print $2}' after.txt)" ] ||
    fail "device $i should keep its certificate"
done
ca_json | $PY -c "
import json,sys
certs={c['serial']: c for c in json.load(sys.stdin)}
before=dict(l.split() for l in open('before.txt')); after=dict(l.split() for l in open('after.txt'))
for i in ('2001','2002'):
    o=certs[before[i]]; n=certs[after[i]]
    assert o['status']=='revoked' and o['revocation_reason']=='superseded', o
    assert n['status']=='valid', n
    assert n['key_sha256']!=o['key_sha256'] and n['device_uuid']==o['device_uuid'], (o, n)
for i in ('2003','2004'):
    assert certs[before[i]]['status']=='valid'
" || fail "CA records after import: $(ca_json)"
"$BACSC" site status --json | $PY -c "
import json,sys
for r in json.load(sys.stdin)['rows']: assert r['cert_status']=='valid', r" || fail "all valid"

# ---- --keep-old ------------------------------------------------------------------------
run 0 renew 2003 --out k.zip "${NET[@]}" --password pw
"$BACSC" ca sign --dir ca k.zip --out k_resp.zip >/dev/null
run 0 import k_resp.zip "${NET[@]}" --password pw --keep-old
grep -q "kept (--keep-old)" err || fail "--keep-old: $(cat err)"
old3=$(awk '$1==2003{print $2}' before.txt)
ca_json | $PY -c "
import json,sys; c={x['serial']: x for x in json.load(sys.stdin)}
assert c['$old3']['status']=='valid', c['$old3']" || fail "--keep-old should leave $old3 valid"

# ---- --same-key ------------------------------------------------------------------------
cur4=$(serials | awk '$1==2004{print $2}')
run 0 renew 2004 --same-key --out sk.zip "${NET[@]}" --password pw
mkdir sk && (cd sk && $PY -c "import zipfile; zipfile.ZipFile('../sk.zip').extractall()")
csr=$(find sk -type f ! -name manifest.json | head -1)
openssl req -in "$csr" -inform PEM -noout -text 2>/dev/null | grep -q "2.25.135735018967677497100129653802789581465" &&
  fail "--same-key: the device made a new key (its CSR carries a renewal proof)"
"$BACSC" ca sign --dir ca sk.zip --out sk_resp.zip >/dev/null || fail "--same-key: ca sign"
run 0 import sk_resp.zip "${NET[@]}" --password pw --ca-dir ca
run 0 discover "${NET[@]}" "${T4[@]}"
new4=$(serials | awk '$1==2004{print $2}')
[ -n "$new4" ] && [ "$new4" != "$cur4" ] || fail "--same-key: 2004 serial $cur4 -> $new4"
ca_json | $PY -c "
import json,sys; c={x['serial']: x for x in json.load(sys.stdin)}
o=c['$cur4']; n=c['$new4']
assert n['status']=='valid' and o['status']=='revoked', (o, n)
assert n['key_sha256']==o['key_sha256'] and n['device_uuid']==o['device_uuid'], (o, n)
" || fail "--same-key: the new certificate should have the same key"
# a device whose CSR file holds a new key's request cannot renew with --same-key
run 0 renew 2001 --out k2.zip "${NET[@]}" --password pw
run 1 renew 2001 --same-key --out sk2.zip "${NET[@]}" --password pw
grep -q "2001.*--same-key: the device's CSR file holds no request for the key it runs on" out err ||
  fail "--same-key with a new key pending: $(cat out err)"
run 2 renew 2001 --same-key --overwrite --out x.zip "${NET[@]}"
echo ok
