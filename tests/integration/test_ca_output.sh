#!/usr/bin/env bash
# What a CA administrator reads (issue: CA output):
# - ca pending, list, batches and audit print a header row before their columns;
# - ca approve takes ranges and lists of request ids (11-12, 1,3);
# - ca respond says how many requests of the batch are still pending;
# - policy set and crl --out confirm what they did; a mistyped policy key gets
#   a "did you mean";
# - ca sign checks the output path before issuing anything, recognises a
#   request file it already signed (SHA-256) and writes that response again
#   unless --reissue, and warns when nothing was issued;
# - ca sign points a single CSR file to ca issue, refuses a response named
#   .pem/.crt (it is a zip), and names a directory response's files after
#   the CSR files.
# Each check fails on a bacsc without the change.
set -euo pipefail
: "${BACSC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
B() { "$BACSC" "$@"; }
ncerts() { B ca list --dir "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

B pki demo --out p --nodes 5 >/dev/null
mkdir csrs
for n in 1 2 3 4 5; do
  openssl req -new -key "p/node$n.key" -subj "/CN=node$n" \
    -addext "subjectAltName=URI:urn:uuid:$(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -out "csrs/n$n.csr" 2>/dev/null
done
B ca init --dir ca --name "Test CA" >/dev/null

# header rows
B ca submit --dir ca csrs >/dev/null
B ca pending --dir ca >pending.txt
head -1 pending.txt | grep -q '^ID  *BATCH  *STATUS  *DEVICE UUID' || fail "pending: no header: $(head -1 pending.txt)"
[ "$(wc -l <pending.txt)" -eq 6 ] || fail "pending: $(wc -l <pending.txt) lines, expected header + 5"

# ranges and lists
B ca approve --dir ca 1-2 4 >approve.txt || fail "approve 1-2 4: exit $?"
grep -q '^3 request(s) issued' approve.txt || fail "approve 1-2 4: $(tail -1 approve.txt)"
rc=0; B ca approve --dir ca 3-x >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q "bad request id '3-x'" err.txt || fail "approve 3-x: exit $rc, $(cat err.txt)"

B ca list --dir ca >list.txt
head -1 list.txt | grep -q '^SERIAL  *STATUS  *NOT AFTER  *DEVICE UUID  *SUBJECT' || fail "list: no header"
[ "$(wc -l <list.txt)" -eq 4 ] || fail "list: $(wc -l <list.txt) lines, expected header + 3"
B ca batches --dir ca | head -1 | grep -q '^ID  *DIR  *CREATED' || fail "batches: no header"
B ca audit --dir ca | head -1 | grep -q '^ID  *TIME  *ACTOR  *ACTION' || fail "audit: no header"
# JSON output has no header
B ca pending --dir ca --json | python3 -c 'import json,sys; json.load(sys.stdin)' || fail "pending --json not JSON"

# respond names what is still pending
B ca respond --dir ca --batch 1 --out r1.zip >respond.txt
grep -q '^2 request(s) of batch 1 still pending' respond.txt || fail "respond: $(cat respond.txt)"

# policy set and crl confirm; a mistyped key gets a hint
B ca policy set --dir ca validity_days 200 >pol.txt
grep -qx 'policy validity_days set to 200' pol.txt || fail "policy set: '$(cat pol.txt)'"
rc=0; B ca policy set --dir ca validty_days 200 >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q "did you mean 'validity_days'" err.txt || fail "policy typo: exit $rc, $(cat err.txt)"
B ca crl --dir ca --out crl.pem >crl.txt
grep -q '^CRL written to crl.pem (0 revoked certificate(s), next update 20' crl.txt || fail "crl: '$(cat crl.txt)'"

# sign: the output path is checked before anything is issued
B cari build --out req.zip csrs/n1.csr csrs/n2.csr >/dev/null
B ca init --dir ca2 --name "Second CA" >/dev/null
rc=0; B ca sign --dir ca2 req.zip --out missing-dir/resp.zip >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 1 ] && grep -q 'directory missing-dir does not exist; nothing was issued' err.txt ||
  fail "sign to a missing directory: exit $rc, $(cat err.txt)"
[ "$(ncerts ca2)" -eq 0 ] || fail "sign to a missing directory issued $(ncerts ca2) certificates"
[ "$(B ca batches --dir ca2 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 0 ] ||
  fail "sign to a missing directory stored a batch"

# sign: the same request file again writes the same response, issues nothing
B ca sign --dir ca2 req.zip --out resp1.zip >/dev/null
[ "$(ncerts ca2)" -eq 2 ] || fail "first sign: $(ncerts ca2) certificates"
B ca sign --dir ca2 req.zip --out resp2.zip >out.txt 2>err.txt || fail "second sign: exit $?"
grep -q 'req.zip was already signed as batch 1 on ' err.txt || fail "second sign: $(cat err.txt)"
[ "$(ncerts ca2)" -eq 2 ] || fail "second sign issued again: $(ncerts ca2) certificates"
B cari inspect resp2.zip --json | python3 -c '
import json,sys; d=json.load(sys.stdin)
n=sum(1 for e in d["entries"] if e["type"]=="certificate")
sys.exit(0 if n==2 else 1)' || fail "second sign: response does not hold the 2 certificates"
B ca sign --dir ca2 req.zip --out resp3.zip --reissue >/dev/null || fail "--reissue: exit $?"
[ "$(ncerts ca2)" -eq 4 ] || fail "--reissue: $(ncerts ca2) certificates, expected 4"

# sign: nothing issued is said
B ca init --dir ca3 --name "Third CA" >/dev/null
B ca policy set --dir ca3 key_types rsa-3072 >/dev/null
rc=0; B ca sign --dir ca3 csrs --out resp-empty.zip >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 5 ] && grep -q 'warning: no certificate was issued for batch 1; resp-empty.zip holds only the CA certificate' err.txt ||
  fail "all rejected: exit $rc, $(cat err.txt)"

# sign: a single CSR file is pointed to ca issue; a response named like a
# certificate is refused before anything is issued; a directory response names
# each certificate after its CSR file
B ca init --dir ca4 --name "Fourth CA" >/dev/null
rc=0; B ca sign --dir ca4 csrs/n1.csr --out one.zip >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 3 ] && grep -q 'csrs/n1.csr is a single CSR: issue it with bacsc ca issue --csr csrs/n1.csr --out CERT.pem' err.txt ||
  fail "sign of one CSR file: exit $rc, $(cat err.txt)"
rc=0; B ca sign --dir ca4 csrs --out hub.pem >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--out hub.pem: a response is a CARI zip (name it .zip) or a directory' err.txt ||
  fail "sign --out hub.pem: exit $rc, $(cat err.txt)"
[ ! -e hub.pem ] && [ "$(ncerts ca4)" -eq 0 ] || fail "sign --out hub.pem wrote or issued something"
rc=0; B ca respond --dir ca2 --batch 1 --out resp.crt >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] || fail "respond --out resp.crt: exit $rc"
B ca sign --dir ca4 csrs --out outdir/ >/dev/null || fail "sign to a directory: exit $?"
for n in 1 2 3 4 5; do
  [ -f outdir/n$n.pem ] || fail "directory response: no outdir/n$n.pem ($(ls outdir | tr '\n' ' '))"
  grep -q "^n$n.pem " outdir/index.txt || fail "index.txt does not list n$n.pem"
done
openssl verify -CAfile outdir/ca.pem outdir/n3.pem >/dev/null 2>&1 || fail "outdir/n3.pem does not verify"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: headers, ranges, pending note, confirmations, sign checks"
