#!/usr/bin/env bash
# test_ca_cli.sh — `bacsc ca` end to end, checked by the openssl CLI:
# init, policy, submit/pending/approve/reject, sign (directory form), list,
# revoke, CRL, audit, encrypted key, issuing CA under an enterprise root.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_ca_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # expect_rc CODE cmd...
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, wanted $want"; }
}
uuid() { cat /proc/sys/kernel/random/uuid; }
mkcsr() { # mkcsr FILE CN [extra -addext]...
  local f=$1 cn=$2; shift 2
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$f.key" \
    -subj "/CN=$cn" "$@" -out "$f" 2>/dev/null
}
export BACSC_CA_DIR="$T/ca"

# ---- init ------------------------------------------------------------------
$BACSC ca init --name "Plant CA" --actor alice >/dev/null
[ "$(stat -c %a ca/ca.key)" = 600 ] || fail "ca.key mode is not 0600"
openssl x509 -in ca/ca.pem -noout -text >ca.txt
grep -A1 "Basic Constraints: critical" ca.txt | grep -q "CA:TRUE, pathlen:0" || fail "CA basicConstraints"
grep -A1 "Key Usage: critical" ca.txt | grep -q "Certificate Sign, CRL Sign" || fail "CA keyUsage"
grep -q "Subject Key Identifier" ca.txt || fail "CA SKI"
[ "$(sqlite3 ca/ca.db 'PRAGMA journal_mode')" = wal ] || fail "ca.db not in WAL mode"
expect_rc 1 $BACSC ca init --name again
grep -q "already exists" "$T/err" || fail "second init not refused clearly"
expect_rc 2 $BACSC ca init --dir x --name y --key rsa-1024

# ---- policy ----------------------------------------------------------------
$BACSC ca policy show | grep -q '^key_types  *\["ec-p256"\]' || fail "policy show"
$BACSC ca policy set validity_days 400 >/dev/null
[ "$($BACSC ca policy show --json | jq .validity_days)" = 400 ] || fail "policy set"
expect_rc 2 $BACSC ca policy set validity_days banana
expect_rc 2 $BACSC ca policy set nonsense 1
grep -q "unknown key 'nonsense'" "$T/err" || fail "unknown policy key message"

# ---- CSRs: good ones and every kind of bad one --------------------------------
mkdir in
U1=$(uuid); U2=$(uuid)
mkcsr in/dev1.csr dev1 -addext "subjectAltName=URI:urn:uuid:$U1,DNS:dev1.plant.example,IP:10.0.0.1"
mkcsr in/dev2.csr dev2 -addext "subjectAltName=URI:urn:uuid:$U2,DNS:dev2.plant.example"
mkcsr in/dup.csr dup -addext "subjectAltName=URI:urn:uuid:$U1"
mkcsr in/subca.csr subca -addext "basicConstraints=critical,CA:TRUE"
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj /CN=rsa -out in/rsa.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p384.key -subj /CN=p384 \
  -outform DER -out in/p384.der 2>/dev/null
cp in/dev2.csr badsig.pem
openssl req -in in/dev2.csr -outform DER -out badsig.der
python3 - "$T/badsig.der" "$T/in/badsig.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[-1] ^= 1
open(sys.argv[2], 'wb').write(d)
EOF
echo "this is not a CSR" >in/junk.pem
for f in in/dev1.csr in/dev2.csr; do openssl req -in $f -noout -verify 2>&1 | grep -q "verify OK" || fail "openssl cannot verify $f"; done

expect_rc 5 $BACSC ca submit --actor bob --site plant-a in
grep -q "batch 1: 8 entries, 0 issued, 3 pending, 5 rejected" "$T/out" || { cat "$T/out"; fail "submit summary"; }
grep -q "badsig.der: rejected: CSR signature does not verify" "$T/err" || fail "bad signature message"
grep -q "subca.csr: rejected: CSR requests a CA certificate" "$T/err" || fail "CA:TRUE message"
grep -q "rsa.csr: rejected: key type RSA-2048 not allowed" "$T/err" || fail "RSA message"
grep -q "p384.der: rejected: key type EC P-384 not allowed" "$T/err" || fail "P-384 message"
grep -q "junk.pem: rejected: not a DER PKCS#10" "$T/err" || fail "junk message"
[ "$($BACSC ca pending --json | jq length)" = 3 ] || fail "pending count"
$BACSC ca pending --json | jq -e --arg u "$U1" '.[] | select(.subject=="CN=dup") | .reason | contains("Device UUID \($u) is also requested by request") and contains("needs an administrator")' >/dev/null \
  || fail "a second key for a UUID is not left to the administrator"
IDDUP=$($BACSC ca pending --json | jq '.[] | select(.subject=="CN=dup") | .id')
$BACSC ca reject "$IDDUP" --reason "not the device's key" >/dev/null
ID1=$($BACSC ca pending --json | jq '.[] | select(.subject=="CN=dev1") | .id')
ID2=$($BACSC ca pending --json | jq '.[] | select(.subject=="CN=dev2") | .id')

# reject one with a reason; approving it afterwards is reported
$BACSC ca reject "$ID2" --reason "unknown device" --actor carol >/dev/null
expect_rc 2 $BACSC ca reject "$ID2"
$BACSC ca approve "$ID1" --actor carol >approve.out
grep -q "request $ID1: issued" approve.out || fail "approve output"
expect_rc 5 $BACSC ca approve "$ID2"
grep -q "is rejected, not pending" "$T/err" || fail "approve of rejected request message"

# ---- sign: directory in, directory out ------------------------------------------
mkdir in2
for i in 1 2 3 4 5; do
  mkcsr in2/n$i.csr node$i -addext "subjectAltName=URI:urn:uuid:$(uuid),DNS:node$i.local,IP:127.0.0.$i"
done
$BACSC ca sign --site plant-b in2 --out resp/ >sign.out
grep -q "5 issued" sign.out || { cat sign.out; fail "sign summary"; }
[ "$(ls resp/*.pem | grep -vc '/ca\.pem$')" = 5 ] || fail "response holds 5 certificates"
for f in resp/*.pem; do
  [ "$f" = resp/ca.pem ] && continue
  openssl verify -CAfile ca/ca.pem "$f" >/dev/null || fail "openssl verify $f"
  # the certificate carries the CSR's key
  k=$(grep "^$(basename $f) " resp/index.txt | cut -d' ' -f3)
  [ "$(openssl x509 -in $f -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)" = "$k" ] \
    || fail "$f key fingerprint does not match index"
done
C=$(ls resp/*.pem | grep -v '/ca\.pem$' | head -1)
openssl x509 -in "$C" -noout -text >c.txt
grep -A1 "Basic Constraints: critical" c.txt | grep -q "CA:FALSE" || fail "leaf basicConstraints"
grep -A1 "Key Usage: critical" c.txt | grep -q "^ *Digital Signature$" || fail "leaf keyUsage"
grep -A1 "Extended Key Usage" c.txt | grep -q "TLS Web Server Authentication, TLS Web Client Authentication" || fail "EKU"
grep -q "Subject Key Identifier" c.txt || fail "SKI"
grep -q "Authority Key Identifier" c.txt || fail "AKI"
grep -A1 "Subject Alternative Name" c.txt | grep -Eq "URI:urn:uuid:[0-9a-f-]{36}$" || fail "SANs (by default only the Device UUID is carried)"
grep -q "Signature Algorithm: ecdsa-with-SHA256" c.txt || fail "signature algorithm"
SER=$(openssl x509 -in "$C" -noout -serial | cut -d= -f2)
[ ${#SER} = 32 ] || fail "serial is not 16 octets: $SER"
nb=$(date -d "$(openssl x509 -in "$C" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$C" -noout -enddate | cut -d= -f2)" +%s)
[ $(( (na - nb) / 86400 )) = 400 ] || fail "validity is not the policy's 400 days"

# policy: DNS SANs only under configured domains, when carry_dns is on
$BACSC ca policy set carry_dns true >/dev/null
$BACSC ca policy set san_domains plant.example >/dev/null
mkdir in3; mkcsr in3/x.csr x -addext "subjectAltName=URI:urn:uuid:$(uuid),DNS:x.plant.example,IP:10.9.9.9"
$BACSC ca sign in3 --out resp3/ >/dev/null
X=$(ls resp3/*.pem | grep -v '/ca\.pem$')
openssl x509 -in "$X" -noout -ext subjectAltName | grep -q "DNS:x.plant.example" || fail "DNS SAN under san_domains not carried"
openssl x509 -in "$X" -noout -ext subjectAltName | grep -q "IP Address" && fail "IP SAN carried against policy"
openssl x509 -in "$X" -noout -ext subjectAltName | grep -q "URI:urn:uuid:" || fail "UUID SAN not carried"
$BACSC ca policy set carry_dns false >/dev/null

# unreadable entries of a directory are reported, the rest processed
mkdir in5
mkcsr in5/ok.csr ok5
ln -s /etc/passwd in5/link.csr
head -c 300000 /dev/zero >in5/huge.csr
expect_rc 5 $BACSC ca sign in5 --out resp5/
grep -q "1 issued" "$T/out" || { cat "$T/out"; fail "good entry next to unreadable ones"; }
grep -q "link.csr: cannot open" "$T/err" || fail "symlink entry not reported"
grep -q "huge.csr: larger than 256 KiB" "$T/err" || fail "oversized entry not reported"
mkdir empty
expect_rc 3 $BACSC ca submit empty
grep -q "holds no certificate request" "$T/err" || fail "empty source message"
expect_rc 1 $BACSC ca sign no-such-dir --out x/
grep -q "no-such-dir" "$T/err" || fail "missing source not named"

# ---- list, revoke, CRL ----------------------------------------------------------
[ "$($BACSC ca list --json | jq length)" = 8 ] || fail "list count"
[ "$($BACSC ca list --expiring 10 --json | jq length)" = 0 ] || fail "expiring 10"
[ "$($BACSC ca list --expiring 401 --json | jq length)" = 8 ] || fail "expiring 401"
$BACSC ca revoke "$SER" --reason keyCompromise >/dev/null
expect_rc 1 $BACSC ca revoke "$SER"
grep -q "already revoked" "$T/err" || fail "double revoke message"
expect_rc 3 $BACSC ca revoke 0123456789
expect_rc 2 $BACSC ca revoke "$SER" --reason bogus
$BACSC ca crl --out crl.pem
openssl crl -in crl.pem -noout -text >crl.txt
grep -q "Serial Number: $SER" crl.txt || fail "CRL lacks the revoked serial"
grep -A4 "Serial Number: $SER" crl.txt | grep -q "Key Compromise" || fail "CRL reason"
grep -q "Next Update" crl.txt || fail "CRL nextUpdate"
grep -q "X509v3 CRL Number" crl.txt || fail "CRL number"
openssl crl -in crl.pem -CAfile ca/ca.pem -noout 2>&1 | grep -q "verify OK" || fail "CRL signature"
openssl verify -crl_check -CRLfile crl.pem -CAfile ca/ca.pem "$C" >/dev/null 2>&1 && fail "revoked cert verifies with CRL"
[ "$($BACSC ca list --valid --json | jq length)" = 7 ] || fail "valid count after revoke"

# ---- audit --------------------------------------------------------------------
$BACSC ca audit --json >audit.json
for a in init submit reject approve issue revoke crl policy-set respond; do
  jq -e --arg a $a 'any(.[]; .action == $a)' audit.json >/dev/null || fail "audit lacks $a"
done
jq -e 'any(.[]; .action == "approve" and .actor == "carol")' audit.json >/dev/null || fail "audit actor"
sqlite3 ca/ca.db "UPDATE audit SET actor='x'" 2>/dev/null && fail "audit log is not append-only"

# ---- encrypted CA key -----------------------------------------------------------
printf 'correct horse\n' >pass.txt
$BACSC ca init --dir enc --name "Enc CA" --passphrase-file pass.txt >/dev/null
head -1 enc/ca.key | grep -q "ENCRYPTED PRIVATE KEY" || fail "key not encrypted"
openssl pkey -in enc/ca.key -passin file:pass.txt -noout || fail "openssl cannot decrypt the key"
expect_rc 1 $BACSC ca sign --dir enc in3 --out enc-resp/
grep -q "encrypted" "$T/err" || fail "no-passphrase message"
$BACSC ca sign --dir enc --passphrase-file pass.txt in3 --out enc-resp/ >/dev/null
openssl verify -CAfile enc/ca.pem $(ls enc-resp/*.pem | grep -v '/ca\.pem$') >/dev/null || fail "encrypted CA signs"

# ---- issuing CA under an enterprise root -----------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout root.key -subj "/CN=Enterprise Root" \
  -days 3650 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.pem 2>/dev/null
$BACSC ca init --dir iss --name "Site Issuing CA" --issuing >/dev/null
[ -f iss/ca.csr ] && [ ! -f iss/ca.pem ] || fail "issuing init files"
openssl req -in iss/ca.csr -noout -verify 2>&1 | grep -q "verify OK" || fail "openssl cannot verify ca.csr"
openssl req -in iss/ca.csr -noout -text | grep -q "CA:TRUE" || fail "ca.csr does not ask for CA:TRUE"
$BACSC ca csr --dir iss --out iss2.csr
openssl req -in iss2.csr -noout -verify 2>&1 | grep -q "verify OK" || fail "ca csr --out"
expect_rc 1 $BACSC ca sign --dir iss in3 --out x/
grep -q "install-cert" "$T/err" || fail "no-certificate message"
cat >ext.cnf <<'EOF'
[ca]
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[leaf]
basicConstraints=CA:FALSE
keyUsage=digitalSignature
EOF
openssl x509 -req -in iss/ca.csr -CA root.pem -CAkey root.key -CAcreateserial -days 365 \
  -extfile ext.cnf -extensions leaf -out notca.pem 2>/dev/null
expect_rc 3 $BACSC ca install-cert --dir iss notca.pem
grep -q "not a CA certificate" "$T/err" || fail "install of CA:FALSE cert message"
expect_rc 3 $BACSC ca install-cert --dir iss root.pem
grep -q "does not match the CA key" "$T/err" || fail "install of foreign cert message"
openssl x509 -req -in iss/ca.csr -CA root.pem -CAkey root.key -CAcreateserial -days 365 \
  -extfile ext.cnf -extensions ca -out issca.pem 2>/dev/null
cat issca.pem root.pem >bundle.pem
$BACSC ca install-cert --dir iss bundle.pem >/dev/null
[ -f iss/chain.pem ] || fail "chain.pem not written"
mkdir in4; mkcsr in4/y.csr y -addext "subjectAltName=URI:urn:uuid:$(uuid)"
$BACSC ca sign --dir iss in4 --out iss-resp/ >/dev/null
Y=$(ls iss-resp/*.pem | grep -v -e '/ca\.pem$' -e '/chain\.pem$')
# direct issuer only (what a BACnet/SC device has) and the full chain both verify
openssl verify -partial_chain -CAfile iss/ca.pem "$Y" >/dev/null || fail "issuing CA does not verify its cert directly"
openssl verify -CAfile root.pem -untrusted iss/ca.pem "$Y" >/dev/null || fail "chain to root"
openssl verify -CAfile root.pem "$Y" >/dev/null 2>&1 && fail "root alone must not verify a leaf it did not sign"
cmp -s iss-resp/chain.pem <(openssl x509 -in root.pem) || fail "response chain.pem is not the root"

# ---- help on every subcommand ---------------------------------------------------
for s in init csr install-cert policy submit pending approve reject sign respond list revoke crl batches audit; do
  $BACSC ca $s --help | grep -q "usage: bacsc ca $s" || fail "ca $s --help"
done
echo "ok"
