#!/usr/bin/env bash
# test_security_signed_batch.sh — auto-approval resting on "a batch signed by
# a known key" (docs/ca.md "Signed batches", docs/security.md): real `bacsc
# cari build`, `bacsc site request` (with a `bacsc device --state-dir`) and
# `bacsc ca submit` processes. The CA auto-approves only batches whose
# authenticated submitter is key:installer-a (auto_approve match), and the
# local user running `ca submit` is not that submitter.
#
#   unsigned                                   pending (local:root is not listed)
#   signed by installer-a's key                issued, submitter key:installer-a
#   signed by a key not in submitter_keys      pending, warning, submitter none
#   signed, then an entry changed / added      pending, "does not verify"
#   signed by installer-a's expired certificate  pending
#   auto_approve all + an invalid signature    pending (unauthenticated, although
#                                              the local user alone would pass)
#   --sign-key not matching --sign-cert        exit 1, nothing written
#   `site request --sign-cert --sign-key`      the CA sees key:installer-a
#   openssl cms -verify (independent tool)     accepts the signature over the list
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_security_signed_batch.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; for f in out err; do [ -f $f ] && { echo "--- $f" >&2; cat $f >&2; }; done; exit 1; }
PY=/usr/bin/python3
key() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key \
  -out $1.pem -subj "/CN=$1" "${@:2}" 2>/dev/null; }
key installer-a -days 30
key stranger -days 30
# the same key as installer-a, in a certificate that expired (notAfter in the past)
openssl req -new -key installer-a.key -subj /CN=installer-a -out old.csr 2>/dev/null
mkdir oldca && touch oldca/index.txt && echo 01 >oldca/serial
printf '[ca]\ndefault_ca = c\n[c]\ndatabase = oldca/index.txt\nserial = oldca/serial\nnew_certs_dir = oldca\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n' >oldca/cnf
openssl ca -batch -config oldca/cnf -selfsign -keyfile installer-a.key -in old.csr \
  -startdate 20200101000000Z -enddate 20200201000000Z -out installer-a-old.pem 2>/dev/null ||
  fail "cannot make an expired certificate"
csr() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key \
  -out $1.csr -subj "/CN=$1" 2>/dev/null; }
for d in d1 d2 d3 d4 d5 d6 d7 d8; do csr $d; done

"$BACSC" ca init --dir ca --name "Signed CA" >/dev/null
FP=$(openssl x509 -in installer-a.pem -outform DER | sha256sum | cut -c1-64)
"$BACSC" ca policy set --dir ca submitter_keys "installer-a=$FP" >/dev/null
"$BACSC" ca policy set --dir ca auto_approve match >/dev/null
"$BACSC" ca policy set --dir ca auto_approve_submitters key:installer-a >/dev/null
set +e; "$BACSC" ca policy set --dir ca submitter_keys "x=12zz" >out 2>err; RC=$?; set -e
[ $RC = 3 ] || [ $RC = 2 ] || [ $RC = 1 ] || fail "a malformed submitter key was accepted"
grep -q "NAME=SHA256" err || fail "malformed submitter key: $(cat err)"

# submit ZIP → the batch's state ("issued"/"pending") and submitter, from --json
submit() { "$BACSC" ca submit --dir ca "$1" >out 2>err || fail "ca submit $1 exited $?"; }
last() { "$BACSC" ca batches --dir ca --json | $PY -c "
import json,sys; b=json.load(sys.stdin)[-1]
print('issued' if b['issued']==b['requests'] else 'pending' if b['pending'] else 'other', b['submitter'])"; }
expect() { # expect ZIP STATE SUBMITTER WHAT
  submit "$1"; local got; got=$(last)
  [ "$got" = "$2 $3" ] || fail "$4: got '$got', wanted '$2 $3'"
  echo "ok   $4: $2, submitter $3"
}

"$BACSC" cari build --out unsigned.zip d1.csr >/dev/null
expect unsigned.zip pending local:root "unsigned batch (local user not listed)"

"$BACSC" cari build --out signed.zip --sign-cert installer-a.pem --sign-key installer-a.key d2.csr >/dev/null
$PY -c "import zipfile,sys; n=zipfile.ZipFile('signed.zip').namelist(); assert 'signature.p7s' in n, n"
# an independent check of the signature: openssl cms over the entry list
$PY - <<'EOF' >content.txt
import zipfile, hashlib
z = zipfile.ZipFile('signed.zip')
lines = sorted((n, hashlib.sha256(z.read(n)).hexdigest()) for n in z.namelist()
               if n != 'signature.p7s' and not n.endswith('/'))
print('bacsc-cari-signature 1', end='\n')
for n, h in lines:
    print(f'{h}  {n}', end='\n')
EOF
$PY -c "import zipfile; open('sig.der','wb').write(zipfile.ZipFile('signed.zip').read('signature.p7s'))"
openssl cms -verify -binary -inform DER -in sig.der -content content.txt -noverify \
  -certsout signer.pem >/dev/null 2>err || fail "openssl cms -verify refused the signature: $(cat err)"
cmp <(openssl x509 -in signer.pem -outform DER) <(openssl x509 -in installer-a.pem -outform DER) ||
  fail "the CMS signer is not installer-a"
echo "ok   openssl cms -verify accepts signature.p7s over the entry list; signer installer-a"
expect signed.zip issued key:installer-a "signed by a listed key"
grep -q "signed by key:installer-a" err || fail "no 'signed by' line: $(cat err)"

"$BACSC" cari build --out stranger.zip --sign-cert stranger.pem --sign-key stranger.key d3.csr >/dev/null
expect stranger.zip pending none "signed by a key not in submitter_keys"
grep -q "not in the policy's submitter_keys" err || fail "unknown key: $(cat err)"

# tampering after signing: one entry replaced by another CSR; one entry added
"$BACSC" cari build --out t1.zip --sign-cert installer-a.pem --sign-key installer-a.key d4.csr >/dev/null
$PY - <<'EOF'
import zipfile
src = zipfile.ZipFile('t1.zip')
for out, change in (('tampered.zip', 'replace'), ('added.zip', 'add')):
    with zipfile.ZipFile(out, 'w') as z:
        for n in src.namelist():
            data = src.read(n)
            if change == 'replace' and n.startswith('csr/'):
                data = open('d5.csr', 'rb').read()
            z.writestr(n, data)
        if change == 'add':
            z.writestr('csr/extra.csr', open('d6.csr', 'rb').read())
EOF
expect tampered.zip pending none "signed, then an entry replaced"
grep -q "does not verify" err || fail "tampered: $(cat err)"
expect added.zip pending none "signed, then an entry added"
grep -q "does not verify" err || fail "added entry: $(cat err)"
"$BACSC" cari inspect signed.zip >out 2>err || true
grep -q "signed:   by CN=installer-a" out || fail "cari inspect of a signed zip: $(cat out)"
"$BACSC" cari inspect tampered.zip >out 2>err || true
grep -q "signed:   INVALID" out || fail "cari inspect of a tampered zip: $(cat out)"
"$BACSC" cari inspect --json added.zip 2>/dev/null | $PY -c "
import json,sys; s=json.load(sys.stdin)['signature']; assert s['state']=='invalid', s" ||
  fail "cari inspect --json of an added entry"
echo "ok   cari inspect shows the signer, and INVALID after tampering"

"$BACSC" cari build --out old.zip --sign-cert installer-a-old.pem --sign-key installer-a.key d7.csr >/dev/null
FPOLD=$(openssl x509 -in installer-a-old.pem -outform DER | sha256sum | cut -c1-64)
"$BACSC" ca policy set --dir ca submitter_keys "installer-a=$FP,installer-a=$FPOLD" >/dev/null
expect old.zip pending none "signed with an expired certificate"
grep -q "not valid now" err || fail "expired signer: $(cat err)"

# auto_approve all: the local user alone would do, an invalid signature does not
"$BACSC" ca policy set --dir ca auto_approve all >/dev/null
"$BACSC" cari build --out t2.zip --sign-cert installer-a.pem --sign-key installer-a.key d8.csr >/dev/null
$PY - <<'EOF'
import zipfile
src = zipfile.ZipFile('t2.zip')
with zipfile.ZipFile('t2bad.zip', 'w') as z:
    for n in src.namelist():
        d = src.read(n)
        z.writestr(n, d + b'\n' if n == 'manifest.json' else d)
EOF
expect t2bad.zip pending none "auto_approve all, manifest changed after signing"
"$BACSC" ca policy set --dir ca auto_approve match >/dev/null

# a key that does not match the certificate: refused, nothing written
set +e; "$BACSC" cari build --out mismatch.zip --sign-cert installer-a.pem --sign-key stranger.key d1.csr >out 2>err
RC=$?; set -e
[ $RC = 1 ] || fail "mismatched signing key: exit $RC"
[ -e mismatch.zip ] && fail "mismatched signing key: a request was written"
echo "ok   --sign-key not matching --sign-cert: exit 1, nothing written"

# site request signs what it writes
BASE=$((20000 + RANDOM % 11000))
export BACSC_SITE_DB=$T/site.db
"$BACSC" device --state-dir st --instance 8001 --bip 127.0.0.1:$((BASE + 1)) --password pw \
  --bip-broadcast 127.0.0.1:$BASE --bip-broadcast-count 2 \
  --log-level warn >dev.out 2>dev.err &
PIDS+=($!)
for _ in $(seq 100); do ss -Hlun "sport = :$((BASE + 1))" 2>/dev/null | grep -q . && break; sleep 0.1; done
"$BACSC" site init --name signed --ca ca/ca.pem >/dev/null
"$BACSC" site discover --bip-local 127.0.0.1:$BASE --target 127.0.0.1:$((BASE + 1)) >out 2>err ||
  fail "discover"
"$BACSC" site request --all --out site.zip --bip-local 127.0.0.1:$BASE --password pw \
  --sign-cert installer-a.pem --sign-key installer-a.key >out 2>err || fail "site request --sign-*"
grep -q "signed" out || fail "site request: $(cat out)"
"$BACSC" ca policy set --dir ca submitter_keys "installer-a=$FP" >/dev/null
expect site.zip issued key:installer-a "site request --sign-cert/--sign-key"
echo ok
