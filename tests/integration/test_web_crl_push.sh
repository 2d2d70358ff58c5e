#!/usr/bin/env bash
# test_web_crl_push.sh — a CRL push started through the web console's API
# (POST /api/site/jobs {"kind":"crl"}, docs/web-api.md): real `bacsc ca`,
# `bacsc device --state-dir` (BACnet/IP), `bacsc site` and `bacsc web`
# processes on 127.0.0.1, the API spoken with curl.
#
#   1. refused: a viewer and an installer (403 JSON), a body that is not JSON,
#      a "crl" that is not a string, no device selection (400 JSON), a "crl"
#      that is not a CRL (422), a CRL larger than a device's CRL file (413)
#   2. the CA's current CRL (made by the console) pushed to every device: the
#      job finishes done on all of them, the live progress stream ends with
#      "done", and each device's crl.pem holds the CA's CRL (openssl crl)
#   3. a newer CRL downloaded from the console and uploaded in "crl" replaces it
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_web_crl_push.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in web.log devices.log; do [ -f $f ] && { echo "--- $f" >&2; tail -8 $f >&2; }; done; exit 1; }
PY=/usr/bin/python3

# ---- a CA, devices on BACnet/IP with certificates of it ------------------------------------
N=3
BASE=$((20000 + RANDOM % 20000))
"$BACSC" pki demo --out pki --nodes 0 >/dev/null
"$BACSC" ca init --dir ca --name "Web CRL CA" >/dev/null
"$BACSC" ca issue --dir ca --generate-key --cn stolen --key-out stolen.key --out stolen.pem >/dev/null
"$BACSC" ca issue --dir ca --generate-key --cn stolen2 --key-out stolen2.key --out stolen2.pem >/dev/null
"$BACSC" ca revoke --dir ca "$(openssl x509 -noout -serial -in stolen.pem | cut -d= -f2)" \
  --reason keyCompromise >/dev/null
echo "devices-pw" >devices.pw
"$BACSC" device --state-dir devices --instance 4001 --count $N --bip 127.0.0.1:$((BASE + 1)) \
  --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count $((N + 1)) \
  --password-file devices.pw --log-level warn >devices.out 2>devices.log &
PIDS+=($!)
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + N))" 2>/dev/null | grep -q . && break; sleep 0.1; done
export BACSC_SITE_DB=$T/site.db BACSC_WEB_DB=$T/web.db
BIP=(--bip-local 127.0.0.1:$BASE --timeout 3000 --retries 3 --password-file devices.pw)
"$BACSC" site init --name web-crl --ca ca/ca.pem >/dev/null
TG=(); for i in $(seq $N); do TG+=(--target 127.0.0.1:$((BASE + i))); done
"$BACSC" site discover --bip-local 127.0.0.1:$BASE "${TG[@]}" >out 2>&1 || fail "discover: $(cat out)"
"$BACSC" site request --all --out r.zip "${BIP[@]}" >out 2>&1 || fail "request: $(cat out)"
"$BACSC" ca sign --dir ca r.zip --out s.zip >/dev/null
"$BACSC" site import s.zip "${BIP[@]}" >out 2>&1 || fail "import: $(cat out)"
echo "ok   $N devices hold certificates of the CA"

# ---- the console, users and tokens -----------------------------------------------------------
token() { # token USER ROLE
  echo "$1-password" >pw
  "$BACSC" web user add "$1" --role "$2" --password-file pw >/dev/null
  "$BACSC" web token create --user "$1" | tail -1
}
ADMIN=$(token alice admin); INST=$(token ivan installer); VIEW=$(token vera viewer)
WPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BACSC" web --listen 127.0.0.1:$WPORT --cert pki/hub.pem --key pki/hub.key --ca-dir ca \
  --site-db site.db --bip-local 127.0.0.1:$BASE --bip-timeout 3000 \
  --device-password-file devices.pw --log-level info >web.out 2>web.log &
PIDS+=($!)
for _ in $(seq 100); do grep -q "serving https" web.out && break; sleep 0.1; done
grep -q "serving https" web.out || fail "bacsc web did not start"
URL=https://127.0.0.1:$WPORT
post() { # post TOKEN BODY-FILE → status in $ST, body in resp.json
  ST=$(curl -sS --cacert pki/ca.pem -o resp.json -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "@$2" "$URL/api/site/jobs")
}
expect() { # expect STATUS CODE WHAT
  [ "$ST" = "$1" ] || fail "$3: HTTP $ST, wanted $1: $(cat resp.json)"
  $PY -c "import json,sys; d=json.load(open('resp.json')); sys.exit(0 if d.get('code')=='$2' and d.get('error') else 1)" ||
    fail "$3: not a JSON error '$2': $(cat resp.json)"
  echo "ok   $3: $1 $2"
}

# ---- 1. refused ------------------------------------------------------------------------------
echo '{"kind":"crl","filter":{}}' >all.json
post "$VIEW" all.json; expect 403 forbidden "a viewer"
post "$INST" all.json; expect 403 forbidden "an installer"
echo '{"kind":"crl",' >bad.json
post "$ADMIN" bad.json; expect 400 bad-json "a body that is not JSON"
echo '{"kind":"crl","filter":{},"crl":5}' >bad.json
post "$ADMIN" bad.json; expect 400 bad-request "\"crl\" not a string"
echo '{"kind":"crl"}' >bad.json
post "$ADMIN" bad.json; expect 400 bad-request "no device selection"
echo '{"kind":"crl","filter":{},"crl":"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"}' >bad.json
post "$ADMIN" bad.json; expect 422 refused "a \"crl\" that is not a CRL"
$PY -c 'import json; print(json.dumps({"kind":"crl","filter":{},"crl":"A"*(64*1024+1)}))' >big.json
post "$ADMIN" big.json; expect 413 too-large "a CRL larger than a device's CRL file"
curl -sS --cacert pki/ca.pem -H "Authorization: Bearer $ADMIN" "$URL/api/site/jobs" |
  $PY -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; sys.exit(0 if not any(x["kind"]=="crl-push" for x in j) else 1)' ||
  fail "a refused request created a job"
echo "ok   no job was created by the refused requests"

# ---- 2. the CA's current CRL -----------------------------------------------------------------
wait_job() { # wait_job ID → job.json; also checks the event stream ends with "done"
  timeout 120 curl -sS -N --cacert pki/ca.pem -H "Authorization: Bearer $ADMIN" \
    "$URL/api/site/jobs/$1/events" >events.txt || fail "the event stream of job $1 did not end"
  grep -q "^event: done" events.txt || fail "job $1: no done event: $(tail -3 events.txt)"
  curl -sS --cacert pki/ca.pem -H "Authorization: Bearer $ADMIN" "$URL/api/site/jobs/$1" >job.json
}
post "$ADMIN" all.json
[ "$ST" = 202 ] || fail "CRL push: HTTP $ST: $(cat resp.json)"
JOB=$($PY -c 'import json; d=json.load(open("resp.json")); assert d["kind"]=="crl-push", d; print(d["id"])')
wait_job "$JOB"
$PY - "$N" <<'PY' || fail "the CRL push job: $(cat job.json)"
import json, sys
n = int(sys.argv[1])
j = json.load(open("job.json"))
assert j["state"] == "done" and j["done"] == n and j["failed"] == 0, j
assert all(i["status"] == "done" for i in j["items"]), j["items"]
PY
grep -q '"done":'"$N" events.txt || fail "the progress stream did not report $N done"
echo "ok   the CA's current CRL pushed to $N devices (job $JOB), progress streamed to the end"
devcrls() { find devices -name crl.pem | sort; }
[ "$(devcrls | wc -l)" -ge "$N" ] || fail "the devices hold $(devcrls | wc -l) crl.pem files"
crlnum() { openssl crl -in "$1" -noout -crlnumber | cut -d= -f2; }
serial1=$(openssl x509 -noout -serial -in stolen.pem | cut -d= -f2)
for f in $(devcrls); do
  openssl crl -in "$f" -noout -CAfile ca/ca.pem 2>&1 | grep -q "verify OK" || fail "$f does not verify against the CA"
  openssl crl -in "$f" -noout -text | grep -qi "$serial1" || fail "$f does not revoke the stolen certificate"
done
N1=$(crlnum "$(devcrls | head -1)")
echo "ok   every device's crl.pem is signed by the CA and revokes the stolen certificate (crlNumber $N1)"

# ---- 3. an uploaded CRL: a newer one, made after a second revocation -------------------------
serial2=$(openssl x509 -noout -serial -in stolen2.pem | cut -d= -f2)
curl -sS --cacert pki/ca.pem -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"reason":"keyCompromise"}' "$URL/api/ca/certificates/$serial2/revoke" >/dev/null
curl -sS --cacert pki/ca.pem -H "Authorization: Bearer $ADMIN" -o new.crl "$URL/api/ca/crl"
openssl crl -inform DER -in new.crl -out new.pem || fail "GET /api/ca/crl is not a DER CRL"
$PY -c 'import json; print(json.dumps({"kind":"crl","devices":[4001,4002,4003],"crl":open("new.pem").read()}))' >up.json
post "$ADMIN" up.json
[ "$ST" = 202 ] || fail "uploaded CRL push: HTTP $ST: $(cat resp.json)"
JOB=$($PY -c 'import json; print(json.load(open("resp.json"))["id"])')
wait_job "$JOB"
$PY -c "import json; j=json.load(open('job.json')); assert j['state']=='done' and j['done']==$N, j" ||
  fail "the uploaded CRL push: $(cat job.json)"
N2=$(crlnum new.pem)
for f in $(devcrls); do
  [ "$(crlnum "$f")" = "$N2" ] || fail "$f has crlNumber $(crlnum "$f"), wanted the uploaded $N2"
  openssl crl -in "$f" -noout -text | grep -qi "$serial2" || fail "$f does not revoke the second certificate"
done
echo "ok   the uploaded CRL (crlNumber $N2, newer than $N1) replaced it on every device"
