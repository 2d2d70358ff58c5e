#!/usr/bin/env bash
# test_ca_cari.sh — the CA with CARI zips: `bacsc cari build` → `bacsc ca
# submit` → approve/reject → `bacsc ca respond`, `bacsc ca sign` on a
# manifest-less zip from "another vendor's tool", hostile and broken zips
# (traversal, symlink, bad signature, non-zip, truncated, a response given as
# a request): the rest of a batch is processed, nothing stored is lost, and
# openssl verifies every certificate taken out of the response zips.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_ca_cari.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, wanted $want"; }
}
mkcsr() { local f=$1 cn=$2; shift 2
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$f.key" -subj "/CN=$cn" "$@" -out "$f" 2>/dev/null; }
export BACSC_CA_DIR="$T/ca"
$BACSC ca init --name "CARI CA" >/dev/null
PY=/usr/bin/python3

# ---- a bacsc-built request, administrator flow -------------------------------------
mkdir in
for i in 1 2 3 4 5; do mkcsr in/dev$i.csr dev$i -addext "subjectAltName=URI:urn:uuid:$(cat /proc/sys/kernel/random/uuid),DNS:dev$i.local"; done
mkcsr in/sub.csr sub -addext "basicConstraints=critical,CA:TRUE"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p384.key -subj /CN=p384 -out in/p384.csr 2>/dev/null
$BACSC cari build --out req.zip --site plant-a in/*.csr >/dev/null
expect_rc 5 $BACSC ca submit req.zip
grep -q "7 entries, 0 issued, 5 pending, 2 rejected" "$T/out" || { cat "$T/out"; fail "submit summary"; }
grep -q "sub.csr: rejected: CSR requests a CA certificate" "$T/err" || fail "CA:TRUE entry named"
grep -q "p384.csr: rejected: key type EC P-384 not allowed" "$T/err" || fail "P-384 entry named"
B=$($BACSC ca batches --json | jq '.[0].id')
[ "$($BACSC ca batches --json | jq -r '.[0].site')" = plant-a ] || fail "site from the manifest"
[ "$($BACSC ca batches --json | jq -r '.[0].sha256')" = "$(sha256sum req.zip | cut -c1-64)" ] || fail "batch SHA-256"
ID=$($BACSC ca pending --json | jq '.[] | select(.subject=="CN=dev5") | .id')
$BACSC ca reject "$ID" --reason "not on the site list" >/dev/null
$BACSC ca approve --batch "$B" >/dev/null
$BACSC ca respond --batch "$B" --out resp.zip >/dev/null
$BACSC cari inspect resp.zip --json >inspect.json || fail "cari inspect of our response"
[ "$(jq '[.entries[] | select(.type=="certificate")] | length' inspect.json)" = 4 ] || fail "4 certificates in the response"
$PY - req.zip resp.zip <<'EOF' || fail "response manifest does not answer the request"
import json, sys, zipfile
req = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
rsp = json.loads(zipfile.ZipFile(sys.argv[2]).read("manifest.json"))
assert rsp["kind"] == "response" and rsp.get("request_batch_id") == req["batch_id"], rsp
ids = {e["request_id"]: e for e in req["entries"]}
certs = [e for e in rsp["entries"] if e["type"] == "certificate"]
assert len(certs) == 4
for c in certs:
    r = ids[c["request_id"]]
    assert r["public_key_sha256"] == c["public_key_sha256"], (r, c)
EOF
mkdir rz1; (cd rz1 && unzip -q ../resp.zip)
for f in rz1/certs/*.pem; do openssl verify -CAfile ca/ca.pem "$f" >/dev/null || fail "openssl verify $f"; done
cmp -s rz1/issuer/*.pem ca/ca.pem || openssl x509 -in rz1/issuer/*.pem -noout -fingerprint | \
  grep -q "$(openssl x509 -in ca/ca.pem -noout -fingerprint)" || fail "issuer in the response is not the CA"

# ---- sign: a plain zip from another tool (PEM and DER, no manifest) --------------------
mkdir other
mkcsr other/a.pem a -addext "subjectAltName=URI:urn:uuid:$(cat /proc/sys/kernel/random/uuid)"
mkcsr other/b.tmp b; openssl req -in other/b.tmp -outform DER -out other/b.der
openssl req -in other/a.pem -outform DER -out a.der
$PY - other.zip other/a.pem other/b.der a.der <<'EOF'
import sys, zipfile
a = open(sys.argv[4], 'rb').read(); bad = bytearray(a); bad[-1] ^= 1
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[2], 'a.pem'); z.write(sys.argv[3], 'sub/b.der')
    z.writestr('badsig.der', bytes(bad))
    z.writestr('../escape.csr', a)
    i = zipfile.ZipInfo('link.csr'); i.external_attr = (0o120777 << 16); z.writestr(i, '/etc/passwd')
EOF
expect_rc 5 $BACSC ca sign other.zip --out other-resp.zip
grep -q "2 issued" "$T/out" || { cat "$T/out" "$T/err"; fail "plain zip: the two good CSRs were not issued"; }
grep -q "badsig.der" "$T/err" || fail "bad-signature entry not named"
grep -q "escape.csr" "$T/err" || fail "traversal entry not named"
grep -q "link.csr" "$T/err" || fail "symlink entry not named"
[ ! -e ../escape.csr ] && [ ! -e "$T/../escape.csr" ] || fail "traversal wrote outside"
mkdir rz2; (cd rz2 && unzip -q ../other-resp.zip)
[ "$(ls rz2/certs | wc -l)" = 2 ] || fail "plain zip response holds 2 certificates"
for f in rz2/certs/*.pem; do openssl verify -CAfile ca/ca.pem "$f" >/dev/null || fail "verify $f"; done

# ---- broken input: refused whole, nothing stored ------------------------------------------
before=$($BACSC ca pending --all-states --json | jq length)
head -c 5000 /dev/urandom >noise.zip
expect_rc 3 $BACSC ca submit noise.zip
grep -q "noise.zip" "$T/err" || fail "non-zip message does not name the file"
head -c $(( $(stat -c %s req.zip) / 2 )) req.zip >trunc.zip
expect_rc 3 $BACSC ca submit trunc.zip
grep -q "trunc.zip" "$T/err" || fail "truncated zip message does not name the file"
expect_rc 3 $BACSC ca submit resp.zip
grep -q "response" "$T/err" || fail "a response given as a request"
[ "$($BACSC ca pending --all-states --json | jq length)" = "$before" ] || fail "broken input stored requests"
# a request above max_batch: refused whole
$BACSC ca policy set max_batch 3 >/dev/null
expect_rc 3 $BACSC ca submit req.zip
grep -q "max_batch" "$T/err" || fail "max_batch message"
[ "$($BACSC ca pending --all-states --json | jq length)" = "$before" ] || fail "oversized batch stored requests"
echo ok
