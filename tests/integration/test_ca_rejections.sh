#!/usr/bin/env bash
# Why a device got no certificate reaches the installer: the CA's response
# manifest lists every request of the batch it did not issue (rejected by the
# administrator with a reason, refused by policy, still pending) with its
# device and reason; `bacsc cari inspect` shows them; `bacsc site import`
# reports "device N: rejected by the CA: REASON" (and in --json), installs the
# others and exits 5; when nothing was issued it exits 3 naming the reasons.
# Real processes: a CA, three commissionable devices on BACnet/IP, the tool.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_ca_rejections.XXXXXX)
PD=""
cleanup() { [ -n "$PD" ] && kill $PD 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err dev.err; do [ -f $f ] && tail -8 $f >&2; done; exit 1; }
B() { "$BACSC" "$@"; }
BASE=$((20000 + RANDOM % 12000))
export BACSC_SITE_DB="$T/site.db"
NET=(--bip-local 127.0.0.1:$BASE --timeout 500 --retries 3)
echo pw >pw.txt

B ca init --dir ca --name "Plant A CA" >/dev/null
B site init --name plant-a --ca ca/ca.pem >/dev/null
"$BACSC" device --state-dir st --instance 1001 --count 3 --bip 127.0.0.1:$((BASE + 1)) \
  --password-file pw.txt --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 4 \
  --log-level warn >dev.out 2>dev.err &
PD=$!
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 3))" 2>/dev/null | grep -q . && break; sleep 0.1; done
B site discover "${NET[@]}" --broadcast 127.0.0.1:$BASE --broadcast-count 4 --wait 1000 >out 2>err ||
  fail "discover: exit $?"
B site request --all --out req.zip "${NET[@]}" --password-file pw.txt --quiet >out 2>err ||
  fail "request: exit $?"

# the CA: 1001 issued, 1002 rejected with a reason, 1003 left pending
B ca submit --dir ca req.zip >/dev/null
B ca pending --dir ca --json >pending.json
id_of() { python3 -c "
import json,sys
for r in json.load(open('pending.json')):
    if r.get('device_instance')==$1: print(r['id'])"; }
B ca approve --dir ca "$(id_of 1001)" >/dev/null
B ca reject --dir ca "$(id_of 1002)" --reason "serial number not on the delivery note" >/dev/null
B ca respond --dir ca --batch 1 --out resp.zip >/dev/null

# the manifest carries status and reason per device
unzip -p resp.zip manifest.json >manifest.json
python3 - <<'PY' || fail "manifest: $(cat manifest.json)"
import json
m = json.load(open("manifest.json"))
assert m["format"] == "bacsc-cari" and m["version"] == 1 and m["kind"] == "response"
certs = [e for e in m["entries"] if e["type"] == "certificate"]
assert [e["device"]["instance"] for e in certs] == [1001], certs
ni = {r["device"]["instance"]: r for r in m["not_issued"]}
assert [r["device"]["instance"] for r in m["not_issued"]] == [1002, 1003], m["not_issued"]  # request order
assert ni[1002]["status"] == "rejected" and ni[1002]["reason"] == "serial number not on the delivery note", ni
assert ni[1003]["status"] == "pending" and "reason" not in ni[1003], ni
for r in ni.values():
    assert len(r["public_key_sha256"]) == 64 and r["request_id"], r
PY

# cari inspect shows them (text and JSON); a rejection is not a bad entry
B cari inspect resp.zip >out 2>err || fail "inspect: exit $?"
grep -q '^not issued: 2$' out || fail "inspect: no not-issued section: $(cat out)"
grep -q '^  device 1002 .*rejected by the CA: serial number not on the delivery note$' out ||
  fail "inspect: no reason for 1002: $(cat out)"
grep -q '^  device 1003 .*pending at the CA' out || fail "inspect: 1003 not pending: $(cat out)"
B cari inspect resp.zip --json | python3 -c '
import json,sys; d=json.load(sys.stdin)
r={x["device"]["instance"]:x for x in d["not_issued"]}
assert r[1002]["status"]=="rejected" and r[1002]["reason"].startswith("serial number"), r
assert r[1003]["status"]=="pending", r' || fail "inspect --json"

# site import: the issued one is installed, the others reported per device, exit 5
rc=0; B site import resp.zip "${NET[@]}" --password-file pw.txt --quiet >out 2>err || rc=$?
[ "$rc" -eq 5 ] || fail "import: exit $rc, wanted 5"
grep -q '^bacsc site import: device 1002: rejected by the CA: serial number not on the delivery note$' err ||
  fail "import: no rejection line: $(cat err)"
grep -q '^bacsc site import: device 1003: pending at the CA' err || fail "import: no pending line"
B site status --json | python3 -c '
import json,sys; d={r["instance"]:r for r in json.load(sys.stdin)["rows"]}
assert d[1001]["cert_status"]=="valid", d[1001]' || fail "import: 1001 not installed: $(B site status)"

# a policy refusal: nothing issued, exit 3, the reasons in --json
B ca init --dir ca-rsa --name "RSA only CA" >/dev/null
B ca policy set --dir ca-rsa key_types rsa-3072 >/dev/null
rc=0; B ca sign --dir ca-rsa req.zip --out resp-none.zip >/dev/null 2>err || rc=$?
[ "$rc" -eq 5 ] || fail "sign with a refusing policy: exit $rc"
rc=0; B site import resp-none.zip "${NET[@]}" --password-file pw.txt --json >out 2>err || rc=$?
[ "$rc" -eq 3 ] || fail "import of nothing issued: exit $rc, wanted 3"
python3 -c '
import json,sys; d=json.load(open("out"))
assert "issued none of the 3 requests" in d["error"], d
r={x["instance"]:x["reason"] for x in d["not_issued"]}
assert sorted(r)==[1001,1002,1003], r
assert all(v.startswith("rejected by the CA: ") and "key" in v for v in r.values()), r' ||
  fail "import --json of nothing issued: $(cat out)"
echo "ok: rejection reasons in the response, cari inspect and site import"
