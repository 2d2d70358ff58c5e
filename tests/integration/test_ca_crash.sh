#!/usr/bin/env bash
# test_ca_crash.sh — crash safety of the CA store: `bacsc ca sign REQ.zip` of
# a 300-CSR CARI request (every third run: `bacsc ca approve --all`) is killed
# with SIGKILL at random points, RUNS times; after
# every kill the store must be intact: integrity_check ok, no foreign-key
# violations, every batch stored whole, every certificate row belongs to an
# issued request and vice versa, no serial recorded twice, one audit row per
# certificate. At the end the leftovers are approved and every certificate in
# the store verifies with `openssl verify`.
#   RUNS (default 30) and N (default 300) may be set in the environment.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
RUNS=${RUNS:-30}
N=${N:-300}
T=$(mktemp -d /tmp/test_ca_crash.XXXXXX)
PID=
cleanup() { if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { sqlite3 -batch ca/ca.db "$1"; }

mkdir in
seq "$N" | xargs -P 2 -I{} sh -c 'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout /dev/null -subj "/CN=dev{}" \
  -addext "subjectAltName=DNS:dev{}.local" \
  -out in/dev{}.csr 2>/dev/null'
[ "$(ls in | wc -l)" = "$N" ] || fail "could not make $N CSRs"
$BACSC ca init --dir ca --name "Crash CA" >/dev/null
$BACSC cari build --out req.zip --site crash --dir in >/dev/null
# The CSRs carry no Device UUID, so every run's batch passes policy and goes
# through the whole submit → approve → sign → store path (UUID uniqueness is
# covered by test_pki and test_ca_cli).

check() {
  local what=$1
  [ "$(q 'PRAGMA integrity_check')" = ok ] || fail "$what: integrity_check"
  [ -z "$(q 'PRAGMA foreign_key_check')" ] || fail "$what: foreign keys"
  [ -z "$(q "SELECT batch_id FROM requests GROUP BY batch_id HAVING count(*) != $N")" ] \
    || fail "$what: a batch was stored partly"
  [ "$(q "SELECT count(*) FROM batches b WHERE direction = 'in' AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.batch_id = b.id)")" = 0 ] \
    || fail "$what: a batch without its requests"
  [ "$(q "SELECT count(*) FROM certificates c LEFT JOIN requests r ON r.id = c.request_id WHERE r.status IS NOT 'issued'")" = 0 ] \
    || fail "$what: a certificate without an issued request"
  [ "$(q "SELECT count(*) FROM requests r WHERE status = 'issued' AND (SELECT count(*) FROM certificates c WHERE c.request_id = r.id) != 1")" = 0 ] \
    || fail "$what: an issued request without exactly one certificate"
  [ "$(q 'SELECT count(*) - count(DISTINCT serial) FROM certificates')" = 0 ] || fail "$what: serial twice"
  [ "$(q "SELECT count(*) FROM audit WHERE action = 'issue'")" = "$(q 'SELECT count(*) FROM certificates')" ] \
    || fail "$what: audit 'issue' rows differ from certificate rows"
  [ "$(q "SELECT count(*) FROM requests WHERE status NOT IN ('pending','approved','rejected','issued')")" = 0 ] \
    || fail "$what: bad request status"
}

# how long does a full run take? kill points are spread over 1.3x that
start=$(date +%s%N)
$BACSC ca sign --dir ca req.zip --out resp0.zip >/dev/null
full=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$full" -gt 0 ] || full=1
check "after a complete run"
[ "$(q "SELECT count(*) FROM requests WHERE status = 'issued'")" = "$N" ] || fail "first run did not issue $N"

killed=0
for run in $(seq "$RUNS"); do
  delay=$(( RANDOM % (full * 13 / 10 + 1) ))
  if [ $((run % 3)) = 0 ]; then
    # every third run: kill an administrator's approve of what earlier kills left
    $BACSC ca approve --dir ca --all >/dev/null 2>&1 &
  else
    $BACSC ca sign --dir ca req.zip --out "resp$run.zip" >/dev/null 2>&1 &
  fi
  PID=$!
  sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep 1
  if kill -9 "$PID" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$PID" 2>/dev/null || true
  PID=
  check "run $run (killed after ${delay} ms)"
done
echo "full run ${full} ms; $killed of $RUNS runs killed before they finished"
[ "$killed" -gt 0 ] || fail "no run was killed mid-way; the test proved nothing"

# finish what the killed runs left approved or pending
$BACSC ca approve --dir ca --all >/dev/null 2>&1 || true
check "after approve --all"
[ "$(q "SELECT count(*) FROM requests WHERE status IN ('pending','approved')")" = 0 ] \
  || fail "requests left undecided after approve --all"
total=$(q 'SELECT count(*) FROM certificates')
echo "$total certificates in the store; $(q "SELECT count(*) FROM requests WHERE status='rejected'") requests rejected"
# every certificate in the store verifies against the CA
mkdir -p all
for b in $(q "SELECT id FROM batches WHERE direction = 'in'"); do
  $BACSC ca respond --dir ca --batch "$b" --out "all/$b/" >/dev/null
done
nv=0
for d in all/*/; do
  files=$(ls "$d" | grep -vx -e 'ca\.pem' -e 'chain\.pem' -e 'index\.txt' | sed "s|^|$d|")
  [ -z "$files" ] && continue
  # shellcheck disable=SC2086
  openssl verify -CAfile ca/ca.pem $files >verify.out 2>&1 || { tail -3 verify.out; fail "openssl verify in $d"; }
  nv=$((nv + $(grep -c ': OK$' verify.out)))
done
[ "$nv" = "$total" ] || fail "verified $nv certificates, store holds $total"
echo ok
