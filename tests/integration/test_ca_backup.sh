#!/usr/bin/env bash
# test_ca_backup.sh — `bacsc ca backup` / `bacsc ca restore` with real
# processes and files: a backup taken while `ca sign` batches keep writing
# to the store is consistent (SQLite integrity check, every certificate
# before the backup is in it); the encrypted backup opens with the openssl
# CLI (CMS password recipient) too; no passphrase → refused unless
# --unencrypted; wrong passphrase, a flipped byte, a non-empty target → refused
# with nothing written; the restored CA knows every serial it issued, revokes
# them, and issues certificates that verify (openssl verify) with new serials.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_ca_backup.XXXXXX)
BG=""
cleanup() { [ -n "$BG" ] && kill $BG 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3
ca() { "$BACSC" ca "$@"; }
mkcsrs() { # mkcsrs DIR N PREFIX
  mkdir -p "$1"
  for i in $(seq "$2"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=$3-$i" -outform DER -out "$1/$3-$i.csr" 2>/dev/null
  done
}
serials() { ca list --dir "$1" --json | $PY -c "import json,sys; print('\n'.join(sorted(c['serial'] for c in json.load(sys.stdin))))"; }

echo 'correct horse battery staple' >pass
echo 'wrong' >wrong
ca init --dir ca --name "Backup CA" >/dev/null
mkcsrs first 20 a
ca sign --dir ca first --out r0/ >/dev/null
[ "$(serials ca | wc -l)" = 20 ] || fail "20 certificates issued"

# ---- refusals before anything is written ---------------------------------------------
set +e; ca backup --dir ca --out plain.bak >out 2>err; rc=$?; set -e
[ $rc = 2 ] && grep -q "refusing to write the CA key unencrypted" err || fail "no passphrase: $rc $(cat err)"
[ ! -e plain.bak ] || fail "a backup was written without a passphrase"

# ---- a backup while the CA signs ---------------------------------------------------------
mkcsrs more 12 b
( for i in $(seq 12); do mkdir -p "m$i"; cp "more/b-$i.csr" "m$i/"; ca sign --dir ca "m$i" --out "rm$i/" >/dev/null; done ) &
BG=$!
sleep 0.3
serials ca >before.txt
ca backup --dir ca --out ca.bak --backup-passphrase-file pass >/dev/null
wait $BG; BG=""
serials ca >final.txt
[ "$(wc -l <final.txt)" = 32 ] || fail "32 certificates at the end: $(wc -l <final.txt)"
[ "$(stat -c %a ca.bak)" = 600 ] || fail "backup mode $(stat -c %a ca.bak)"
grep -q "BEGIN" ca.bak && fail "the backup holds PEM text in the clear"

# the openssl CLI opens it (CMS, password recipient); the store inside is sound
openssl cms -decrypt -inform DER -in ca.bak -pwri_password 'correct horse battery staple' -out x.zip \
  || fail "openssl cms cannot decrypt the backup"
$PY - <<'PY' || fail "backup contents"
import hashlib, json, sqlite3, zipfile
z = zipfile.ZipFile("x.zip")
m = json.loads(z.read("bacsc-ca-backup.json"))
names = {f["name"] for f in m["files"]}
assert {"ca.db", "ca.key", "ca.pem", "policy.json"} <= names, names
for f in m["files"]:
    assert hashlib.sha256(z.read(f["name"])).hexdigest() == f["sha256"], f["name"]
open("x.db", "wb").write(z.read("ca.db"))
db = sqlite3.connect("x.db")
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
inside = {r[0] for r in db.execute("SELECT serial FROM certificates")}
before = set(open("before.txt").read().split())
final = set(open("final.txt").read().split())
assert before <= inside <= final, (len(before), len(inside), len(final))
PY

# ---- restore refusals --------------------------------------------------------------------
set +e
ca restore ca.bak --dir r1 --backup-passphrase-file wrong >out 2>err; rc=$?
[ $rc = 3 ] && grep -q "wrong passphrase" err && [ ! -e r1 ] || fail "wrong passphrase: $rc $(cat err)"
ca restore ca.bak --dir r1 >out 2>err; rc=$?
[ $rc = 3 ] && grep -q "passphrase is needed" err || fail "no passphrase: $rc $(cat err)"
# a flipped byte in the middle (inside the store's data): the SHA-256 of the manifest
# catches it (CMS with a password recipient has no MAC; see docs/lifecycle.md)
cp ca.bak bad.bak; printf '\x55' | dd of=bad.bak bs=1 seek=$(( $(stat -c %s ca.bak) / 2 )) conv=notrunc 2>/dev/null
ca restore bad.bak --dir r1 --backup-passphrase-file pass >out 2>err; rc=$?
[ $rc = 3 ] && [ ! -e r1 ] || fail "a damaged backup: $rc $(cat err)"
mkdir busy; touch busy/x
ca restore ca.bak --dir busy --backup-passphrase-file pass >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "not empty" err || fail "non-empty target: $rc $(cat err)"
set -e

# ---- the restored CA ---------------------------------------------------------------------
ca restore ca.bak --dir r1 --backup-passphrase-file pass >out
[ "$(stat -c %a r1/ca.key)" = 600 ] || fail "key mode $(stat -c %a r1/ca.key)"
cmp -s ca/ca.key r1/ca.key && cmp -s ca/ca.pem r1/ca.pem || fail "key/certificate restored"
serials r1 >restored.txt
comm -23 before.txt restored.txt | grep -q . && fail "certificates issued before the backup are missing"
mkcsrs new 3 c
ca sign --dir r1 new --out rnew/ >/dev/null
for f in rnew/*.pem; do
  [ "$(basename "$f")" = ca.pem ] && continue
  grep -q "BEGIN CERTIFICATE" "$f" || continue
  openssl verify -CAfile r1/ca.pem "$f" >/dev/null 2>&1 || openssl verify -partial_chain -CAfile r1/ca.pem "$f" >/dev/null || fail "$f does not verify"
done
serials r1 >after.txt
[ "$(sort after.txt | uniq -d | wc -l)" = 0 ] || fail "duplicate serials"
[ "$(wc -l <after.txt)" = $(( $(wc -l <restored.txt) + 3 )) ] || fail "3 new certificates"
# it knows the serials it issued before: it revokes them, and the store refuses a duplicate
old=$(head -1 before.txt)
ca revoke --dir r1 "$old" --reason superseded >/dev/null || fail "revoke a pre-backup serial"
$PY -c "
import sqlite3
db = sqlite3.connect('r1/ca.db')
try:
    db.execute('INSERT INTO certificates(serial) SELECT serial FROM certificates LIMIT 1')
    raise SystemExit('a duplicate serial was accepted')
except sqlite3.IntegrityError:
    pass" || fail "the restored store must refuse a serial it already issued"

# ---- an encrypted CA key stays encrypted; plain backups when told ----------------------------
ca init --dir eca --name "Enc CA" --passphrase-file pass >/dev/null
ca backup --dir eca --out plain.bak --unencrypted >/dev/null
ca restore plain.bak --dir r2 --passphrase-file pass >/dev/null
grep -q "ENCRYPTED" r2/ca.key || fail "the restored key should still be encrypted"
echo ok
