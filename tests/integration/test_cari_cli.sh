#!/usr/bin/env bash
# test_cari_cli.sh — `bacsc cari build` from CSRs made by the openssl CLI,
# `bacsc cari inspect --json` checked field by field with python3, public key
# fingerprints checked against openssl, and hostile/broken input refused with
# exit 3 and a message naming the entry.
set -euo pipefail
: "${BACSC:?path of the bacsc binary}"
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

uuids=(6f1e0a52-3c7d-4b8e-9f10-a1b2c3d4e5f6 00112233-4455-4677-8899-aabbccddeeff 0a0b0c0d-1111-4222-8333-444455556666)
mkdir csrs
for i in 0 1 2; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "key$i.pem" \
    -subj "/O=Example Site/CN=device-$i" -addext "subjectAltName=URI:urn:uuid:${uuids[$i]}" \
    -out "csrs/dev$i.csr" 2>/dev/null
done
# one DER CSR too
openssl req -in csrs/dev2.csr -outform DER -out csrs/dev2.der && rm csrs/dev2.csr

"$BACSC" cari build --help | grep -q -- "--out" || fail "build --help"
"$BACSC" cari inspect --help | grep -q -- "--json" || fail "inspect --help"
"$BACSC" cari build --out req.zip --site "Site 7" --batch-id b-42 --dir csrs >build.out
grep -q "3 CSR(s)" build.out || fail "build output: $(cat build.out)"

# the zip is a real zip: python's zipfile agrees on the member list
$PY - <<'PY' || fail "zipfile listing"
import zipfile
names = sorted(zipfile.ZipFile("req.zip").namelist())
assert names == ["csr/dev0.csr", "csr/dev1.csr", "csr/dev2.csr", "manifest.json"], names
PY

"$BACSC" cari inspect req.zip --json >inspect.json
for i in 0 1 2; do
  f=csrs/dev$i.csr; [ -f "$f" ] || f=csrs/dev$i.der
  form=PEM; [ "${f##*.}" = der ] && form=DER
  openssl req -in "$f" -inform $form -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1 >"fp$i"
done
$PY - "${uuids[@]}" <<'PY' || fail "inspect --json fields"
import json, sys
uuids = sys.argv[1:]
j = json.load(open("inspect.json"))
assert j["kind"] == "request" and j["has_manifest"] and j["format"] == "bacsc-cari", j
assert j["version"] == 1 and j["site"] == "Site 7" and j["batch_id"] == "b-42", j
assert j["invalid"] == 0 and j["valid"] == 4, j
import hashlib
assert j["sha256"] == hashlib.sha256(open("req.zip", "rb").read()).hexdigest(), j
csrs = [e for e in j["entries"] if e["type"] == "csr"]
assert len(csrs) == 3
for i, e in enumerate(sorted(csrs, key=lambda e: e["name"])):
    assert e["name"] == "csr/dev%d.csr" % i, e
    assert e["status"] == "ok" and "error" not in e, e
    assert e["subject"] == "CN=device-%d,O=Example Site" % i, e["subject"]
    assert e["uuid"] == uuids[i] and e["device"]["uuid"] == uuids[i], e
    assert e["device"]["name"] == "device-%d" % i, e
    assert e["key_type"] == "EC P-256", e
    assert e["public_key_sha256"] == open("fp%d" % i).read().strip(), e
    assert len(e["request_id"]) == 36, e
PY

# openssl can read every CSR the project wrote, and its self-signature verifies
mkdir x && (cd x && $PY -c 'import zipfile; zipfile.ZipFile("../req.zip").extractall()')
for f in x/csr/*.csr; do openssl req -in "$f" -verify -noout 2>&1 | grep -q "verify OK" || fail "openssl verify $f"; done

# a file holding two PEM CSRs gives two entries (nothing silently dropped)
cat csrs/dev0.csr csrs/dev1.csr >both.csr
"$BACSC" cari build --out both.zip --json both.csr >both.json
$PY -c '
import json; j = json.load(open("both.json"))
assert j["csrs"] == 2 and [e["entry"] for e in j["entries"]] == ["csr/both.csr", "csr/both-2.csr"], j' || fail "bundle build"

# a CSR with a broken signature is refused by build (exit 3, names the file)
openssl req -in csrs/dev0.csr -outform DER -out bad.der
$PY -c 'import sys; b=bytearray(open("bad.der","rb").read()); b[-1]^=1; open("bad.der","wb").write(b)'
set +e
"$BACSC" cari build --out bad.zip bad.der csrs/dev1.csr 2>err.txt; rc=$?
set -e
[ $rc -eq 3 ] || fail "bad CSR build exit $rc"
grep -q "bad.der: CSR self-signature does not verify" err.txt || fail "bad CSR message: $(cat err.txt)"
[ ! -e bad.zip ] || fail "bad.zip written"
set +e
"$BACSC" cari build --out part.zip --keep-going bad.der csrs/dev1.csr 2>/dev/null; rc=$?
set -e
[ $rc -eq 5 ] || fail "keep-going exit $rc"

# hostile zip made by python: traversal, symlink, non-CSR; inspect exits 3 naming each
$PY - <<'PY'
import zipfile, stat
z = zipfile.ZipFile("hostile.zip", "w")
csr = open("csrs/dev1.csr", "rb").read()
z.writestr("../evil.csr", csr)
z.writestr("/etc/evil.csr", csr)
info = zipfile.ZipInfo("link.csr"); info.external_attr = (stat.S_IFLNK | 0o777) << 16
z.writestr(info, "/etc/passwd")
z.writestr("notes.txt", "hello")
z.writestr("ok.csr", csr)
z.close()
PY
set +e
"$BACSC" cari inspect hostile.zip --json >h.json 2>h.err; rc=$?
set -e
[ $rc -eq 3 ] || fail "hostile inspect exit $rc"
grep -q "^bacsc cari inspect: ../evil.csr: path traversal" h.err || fail "traversal msg: $(cat h.err)"
grep -q "^bacsc cari inspect: /etc/evil.csr: absolute path" h.err || fail "absolute msg"
grep -q "^bacsc cari inspect: link.csr: symbolic link" h.err || fail "symlink msg"
grep -q "^bacsc cari inspect: notes.txt: neither a CSR nor a certificate" h.err || fail "junk msg"
$PY -c '
import json; j = json.load(open("h.json"))
st = {e["name"]: e["status"] for e in j["entries"]}
assert st == {"../evil.csr": "invalid", "/etc/evil.csr": "invalid", "link.csr": "invalid", "notes.txt": "invalid", "ok.csr": "ok"}, st
assert j["invalid"] == 4' || fail "hostile json"

# non-zip and truncated input
head -c 3000 /dev/urandom >junk.bin
set +e
"$BACSC" cari inspect junk.bin 2>e1 >/dev/null; r1=$?
head -c $(( $(stat -c %s req.zip) / 2 )) req.zip >half.zip
"$BACSC" cari inspect half.zip 2>e2 >/dev/null; r2=$?
"$BACSC" cari inspect nonexistent.zip 2>e3 >/dev/null; r3=$?
"$BACSC" cari build 2>/dev/null; r4=$?
set -e
[ $r1 -eq 3 ] && grep -q "not a zip archive" e1 || fail "junk: $r1 $(cat e1)"
[ $r2 -eq 3 ] && grep -q "half.zip" e2 || fail "half: $r2 $(cat e2)"
[ $r3 -eq 1 ] || fail "missing file exit $r3"
[ $r4 -eq 2 ] || fail "usage exit $r4"

# a response made by the openssl CLI as "another CA" (plain zip of PEM certs), matched by key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=Test CA" \
  -days 30 -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca2.key -subj "/CN=Other CA" \
  -days 30 -out ca2.pem 2>/dev/null
mkdir resp
openssl x509 -req -in csrs/dev0.csr -CA ca.pem -CAkey ca.key -set_serial 10 -days 30 -copy_extensions copy -out resp/dev0.pem 2>/dev/null
openssl x509 -req -in csrs/dev1.csr -CA ca2.pem -CAkey ca2.key -set_serial 11 -days 30 -out resp/dev1.pem 2>/dev/null
openssl x509 -req -in csrs/dev2.der -inform DER -CA ca.pem -CAkey ca.key -set_serial 12 -days 30 -outform DER -out resp/dev2.der 2>/dev/null \
  || { openssl req -in csrs/dev2.der -inform DER -out dev2.csr && openssl x509 -req -in dev2.csr -CA ca.pem -CAkey ca.key -set_serial 12 -days 30 -outform DER -out resp/dev2.der 2>/dev/null; }
cp ca.pem resp/
(cd resp && $PY -c 'import zipfile,os; z=zipfile.ZipFile("../resp.zip","w",zipfile.ZIP_DEFLATED); [z.write(f) for f in sorted(os.listdir("."))]')
set +e
"$BACSC" cari inspect resp.zip --ca ca.pem --request req.zip --json >r.json 2>r.err; rc=$?
set -e
[ $rc -eq 3 ] || fail "response inspect exit $rc (dev1 is from another CA)"
grep -q "dev1.pem: signed by a different CA (issuer CN=Other CA)" r.err || fail "other CA msg: $(cat r.err)"
$PY - <<'PY' || fail "response json"
import json
j = json.load(open("r.json"))
assert j["kind"] == "response" and not j["has_manifest"], j
e = {x["name"]: x for x in j["entries"]}
assert e["ca.pem"]["type"] == "issuer" and e["ca.pem"]["status"] == "ok", e["ca.pem"]
assert e["dev0.pem"]["match"] == "key" and e["dev0.pem"]["status"] == "ok", e["dev0.pem"]
assert e["dev2.der"]["match"] == "key" and e["dev2.der"]["serial"] == "0C", e["dev2.der"]
assert e["dev0.pem"]["uuid"] == "6f1e0a52-3c7d-4b8e-9f10-a1b2c3d4e5f6"
assert e["dev1.pem"]["status"] == "invalid"
assert j["invalid"] == 1
PY
echo "cari cli: all checks passed"
