#!/usr/bin/env bash
# test_startup_checks.sh — bad certificate, key and issuer files are found at
# start-up of `bacsc hub`, `bacsc device`, the client tools (whois, read,
# readm, write) and `site init --ca`: ONE line naming the file and what is
# wrong with it, exit 3, before any connection is tried. An own certificate
# that expires within 30 days starts with a warning. Bad files are made with
# the openssl CLI (an independent tool) from a `bacsc pki demo` PKI.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
T=$(mktemp -d /tmp/test_startup_checks.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BACSC" pki demo --out . --nodes 1 >/dev/null
openssl req -new -key node1.key -subj /CN=startup-check -out node.csr 2>/dev/null
openssl req -in node.csr -outform DER -out node.csr.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
mkdir -p cadb certdir && : >cadb/index.txt && echo 01 >cadb/serial
cat >ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
database = cadb/index.txt
new_certs_dir = cadb
serial = cadb/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
[caext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
CNF
sign() { # OUT then openssl ca validity options
  local out=$1; shift
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in node.csr -out "$out" \
    -extensions ext "$@" >/dev/null 2>&1 || fail "openssl ca could not make $out"
}
sign expired.pem -startdate 20200101000000Z -enddate 20210101000000Z
sign future.pem -startdate 20400101000000Z -enddate 20410101000000Z
sign soon.pem -days 10
openssl req -new -key other.key -subj /CN=old-ca -out oldca.csr 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in oldca.csr -out expired-ca.pem \
  -extensions caext -startdate 20200101000000Z -enddate 20210101000000Z >/dev/null 2>&1 ||
  fail "openssl ca could not make expired-ca.pem"
echo "not a certificate" >junk.pem

# expect_bad "EXPECTED TEXT" COMMAND... — exit 3, exactly one line on stderr
# from bacsc (log lines at info level aside) that contains the text.
expect_bad() {
  local want=$1; shift
  local rc=0
  timeout 20 "$@" >out.txt 2>err.txt </dev/null || rc=$?
  local lines
  lines=$(grep -v ' info ' err.txt || true)
  [ "$rc" = 3 ] || { cat err.txt >&2; fail "$* → exit $rc, expected 3 ($want)"; }
  [ "$(printf '%s\n' "$lines" | grep -c .)" = 1 ] || { cat err.txt >&2; fail "$*: not one line"; }
  printf '%s\n' "$lines" | grep -qF -- "$want" || { cat err.txt >&2; fail "$*: expected \"$want\""; }
}

HUB=(hub --listen 127.0.0.1:0)
expect_bad "node1.pem: is not a CA certificate" "$BACSC" "${HUB[@]}" --cert hub.pem --key hub.key --ca node1.pem
expect_bad "expired.pem: certificate expired on 2021-01-01" "$BACSC" "${HUB[@]}" --cert expired.pem --key node1.key --ca ca.pem
expect_bad "future.pem: certificate not yet valid (valid from 2040-01-01" "$BACSC" "${HUB[@]}" --cert future.pem --key node1.key --ca ca.pem
expect_bad "node.csr: is a CSR" "$BACSC" "${HUB[@]}" --cert node.csr --key node1.key --ca ca.pem
expect_bad "node.csr.der: is a CSR" "$BACSC" "${HUB[@]}" --cert node.csr.der --key node1.key --ca ca.pem
expect_bad "other.key: key does not match the certificate hub.pem" "$BACSC" "${HUB[@]}" --cert hub.pem --key other.key --ca ca.pem
expect_bad "certdir: is a directory" "$BACSC" "${HUB[@]}" --cert hub.pem --key hub.key --ca certdir
expect_bad "junk.pem: is not a PEM or DER certificate" "$BACSC" "${HUB[@]}" --cert junk.pem --key hub.key --ca ca.pem
expect_bad "hub.pem: is a certificate, not a private key" "$BACSC" "${HUB[@]}" --cert hub.pem --key hub.pem --ca ca.pem
expect_bad "expired-ca.pem: certificate expired on 2021-01-01" "$BACSC" "${HUB[@]}" --cert hub.pem --key hub.key --ca ca.pem --ca expired-ca.pem

# The hub is not reachable at port 1: a check that ran late would exit 4.
CONN=(--hub wss://127.0.0.1:1 --timeout 1)
expect_bad "expired.pem: certificate expired on" "$BACSC" device --instance 1001 "${CONN[@]:0:2}" \
  --cert expired.pem --key node1.key --ca ca.pem
expect_bad "node1.pem: is not a CA certificate" "$BACSC" whois "${CONN[@]}" \
  --cert node1.pem --key node1.key --ca node1.pem
expect_bad "node.csr: is a CSR" "$BACSC" read 1001 device,1001 object-name "${CONN[@]}" \
  --cert node.csr --key node1.key --ca ca.pem
expect_bad "other.key: key does not match" "$BACSC" readm 1001 device,1001 object-name "${CONN[@]}" \
  --cert node1.pem --key other.key --ca ca.pem
expect_bad "future.pem: certificate not yet valid" "$BACSC" write 1001 analog-value,1 present-value 1 \
  "${CONN[@]}" --cert future.pem --key node1.key --ca ca.pem

expect_bad "certdir: is a directory" "$BACSC" site init --db s.db --name S --ca certdir
expect_bad "node1.pem: is not a CA certificate" "$BACSC" site init --db s.db --name S --ca node1.pem
expect_bad "node.csr: is a CSR" "$BACSC" site init --db s.db --name S --ca node.csr
"$BACSC" site init --db s.db --name S --ca ca.pem >/dev/null || fail "site init with a good CA"

# Own certificate expiring in 10 days: a warning naming the file and the date,
# then the tool goes on (here: the hub is unreachable → exit 4).
rc=0
timeout 20 "$BACSC" whois "${CONN[@]}" --cert soon.pem --key node1.key --ca ca.pem >out.txt 2>err.txt || rc=$?
[ "$rc" = 4 ] || { cat err.txt >&2; fail "soon.pem: exit $rc, expected 4"; }
grep -E 'warn .*soon\.pem: certificate expires on [0-9-]+ .*within 30 days' err.txt >/dev/null ||
  { cat err.txt >&2; fail "no expiry warning for soon.pem"; }
grep -q 'soon.pem' <(grep -v warn err.txt) && fail "soon.pem named outside the warning"
echo "PASS: startup checks"
