#!/usr/bin/env bash
# test_ca_migrate.sh — a CA directory made at store schema 2 (tests/data/ca_v2,
# written by the bacsc of that schema) is upgraded to schema 3 when opened:
# the requests table's status check is rewritten in place to the text a new
# CA gets, nothing stored changes, the upgrade is one audit row, the audit
# chain and its anchor still verify, the check still refuses a bad status,
# the store keeps working (the pending request is issued) and opening it
# again changes nothing.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_TESTDATA:?BACSC_TESTDATA must name tests/data}"
T=$(mktemp -d /tmp/test_ca_migrate.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { sqlite3 -batch ca/ca.db "$1"; }
cp -r "$BACSC_TESTDATA/ca_v2" ca
chmod 700 ca
chmod 600 ca/ca.db ca/ca.key

[ "$(q 'PRAGMA user_version')" = 2 ] || fail "fixture is not schema 2"
dump() {
  q "SELECT * FROM batches ORDER BY id; SELECT * FROM requests ORDER BY id;
     SELECT * FROM certificates ORDER BY serial; SELECT * FROM audit ORDER BY id;
     SELECT * FROM audit_chain ORDER BY id; SELECT * FROM meta WHERE key != 'audit_anchor' ORDER BY key"
}
before=$(dump)
audit_before=$(q 'SELECT count(*) FROM audit')

out=$($BACSC ca audit --dir ca --verify) || fail "audit --verify after the upgrade: $out"
echo "$out" | grep -q "intact" || fail "audit not intact: $out"
[ "$(q 'PRAGMA user_version')" = 3 ] || fail "not upgraded to schema 3"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
[ -z "$(q 'PRAGMA foreign_key_check')" ] || fail "foreign keys"
[ "$(q 'SELECT count(*) FROM audit')" = $((audit_before + 1)) ] || fail "not one audit row for the upgrade"
[ "$(q "SELECT action || '|' || detail FROM audit ORDER BY id DESC LIMIT 1")" = \
  "upgrade|schema 2 -> 3: request status check without a temporary table" ] || fail "upgrade audit row"
# nothing stored changed but the new audit row (and its chain entry)
after=$(q "SELECT * FROM batches ORDER BY id; SELECT * FROM requests ORDER BY id;
           SELECT * FROM certificates ORDER BY serial;
           SELECT * FROM audit WHERE id <= $audit_before ORDER BY id;
           SELECT * FROM audit_chain WHERE id <= $audit_before ORDER BY id;
           SELECT * FROM meta WHERE key != 'audit_anchor' ORDER BY key")
[ "$before" = "$after" ] || fail "stored rows changed by the upgrade"

# the same schema text as a CA made now
$BACSC ca init --dir fresh --name "Fresh CA" >/dev/null
fresh=$(sqlite3 -batch fresh/ca.db "SELECT sql FROM sqlite_master WHERE name = 'requests'")
[ "$(q "SELECT sql FROM sqlite_master WHERE name = 'requests'")" = "$fresh" ] \
  || fail "upgraded requests table differs from a new CA's"
echo "$fresh" | grep -q "status = 'pending' OR status = 'approved'" || fail "new check text"
[ "$(sqlite3 -batch fresh/ca.db 'PRAGMA user_version')" = 3 ] || fail "new CA not at schema 3"
# no temporary table per request row any more
[ "$(q "EXPLAIN INSERT INTO requests(csr, key_fp, status, created) VALUES (x'00', '', 'pending', 0)" \
     | grep -c OpenEphemeral)" = 0 ] || fail "insert still builds a temporary table"

# the check still refuses what it refused
if err=$(q "INSERT INTO requests(csr, key_fp, status, created) VALUES (x'00', '', 'bogus', 0)" 2>&1); then
  fail "a request with status 'bogus' was stored"
fi
echo "$err" | grep -q "CHECK constraint failed" || fail "bogus status: $err"

# the store works: the pending request is issued, the chain still verifies
$BACSC ca approve --dir ca --all >/dev/null
[ "$(q "SELECT count(*) FROM requests WHERE status = 'issued'")" = 4 ] || fail "pending request not issued"
$BACSC ca audit --dir ca --verify | grep -q intact || fail "audit after issuing"
# opening again changes nothing
n=$(q 'SELECT count(*) FROM audit')
v=$(q 'PRAGMA schema_version')
$BACSC ca list --dir ca >/dev/null
[ "$(q 'SELECT count(*) FROM audit')" = "$n" ] || fail "second open wrote to the audit log"
[ "$(q 'PRAGMA schema_version')" = "$v" ] || fail "second open changed the schema"
echo "ok: schema 2 CA upgraded to 3"
