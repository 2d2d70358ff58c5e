#!/usr/bin/env bash
# bacsc ca issue: certificates for infrastructure, checked by using them.
# A hub certificate made with --generate-key and a tool certificate from the
# tool's own CSR (openssl) come out of the site CA's store (listed, audited),
# verify with openssl against ca.pem, the key file is 0600 and matches; then a
# real `bacsc hub` runs on them, a device (also from --generate-key) joins it,
# and `bacsc whois` with the tool certificate finds the device.
# Refusals: missing output directory (nothing issued), existing --key-out,
# a certificate given as --csr, --cn without --generate-key.
set -euo pipefail
: "${BACSC:?}"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
B() { "$BACSC" "$@"; }  # (background daemons are started with "$BACSC" itself, so $! is their PID)
ncerts() { B ca list --dir ca --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
pub() { openssl pkey -in "$1" -pubout 2>/dev/null || openssl x509 -in "$1" -noout -pubkey; }

B ca init --dir ca --name "Site CA" >/dev/null
B ca issue --dir ca --generate-key --cn hub.site --key-out hub.key --out hub.pem >out.txt ||
  fail "issue --generate-key: exit $?"
grep -q '^certificate [0-9a-f]* (CN=hub.site) written to hub.pem; key in hub.key$' out.txt || fail "$(cat out.txt)"
[ "$(stat -c %a hub.key)" = 600 ] || fail "hub.key mode $(stat -c %a hub.key)"
openssl verify -CAfile ca/ca.pem hub.pem >/dev/null || fail "openssl verify hub.pem"
[ "$(openssl pkey -in hub.key -pubout)" = "$(openssl x509 -in hub.pem -noout -pubkey)" ] || fail "hub.key does not match hub.pem"
openssl x509 -in hub.pem -noout -ext subjectAltName | grep -q 'URI:urn:uuid:' || fail "no urn:uuid SAN"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tool.key -subj /CN=tool \
  -addext "subjectAltName=URI:urn:uuid:$(python3 -c 'import uuid; print(uuid.uuid4())')" -out tool.csr 2>/dev/null
B ca issue --dir ca --csr tool.csr --out tool.pem >/dev/null || fail "issue --csr: exit $?"
openssl verify -CAfile ca/ca.pem tool.pem >/dev/null || fail "openssl verify tool.pem"
[ "$(openssl pkey -in tool.key -pubout)" = "$(openssl x509 -in tool.pem -noout -pubkey)" ] || fail "tool.pem is not for tool.key"
B ca issue --dir ca --generate-key --cn dev-1001 --key-out dev.key --out dev.pem >/dev/null || fail "issue dev: exit $?"
[ "$(ncerts)" -eq 3 ] || fail "store holds $(ncerts) certificates, expected 3"
[ "$(B ca audit --dir ca --json | python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["action"]=="issue"))')" -eq 3 ] ||
  fail "audit does not record 3 issues"

# refusals (nothing issued)
rc=0; B ca issue --dir ca --csr tool.csr --out nodir/x.pem >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 1 ] && grep -q 'nothing was issued' err.txt || fail "missing dir: exit $rc $(cat err.txt)"
rc=0; B ca issue --dir ca --generate-key --cn x --key-out hub.key --out x.pem >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q 'hub.key exists' err.txt || fail "existing key: exit $rc $(cat err.txt)"
rc=0; B ca issue --dir ca --csr hub.pem --out x.pem >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 3 ] && grep -q 'hub.pem is not a CSR' err.txt || fail "cert as CSR: exit $rc $(cat err.txt)"
rc=0; B ca issue --dir ca --csr tool.csr --cn x --out x.pem >/dev/null 2>err.txt || rc=$?
[ "$rc" -eq 2 ] || fail "--cn with --csr: exit $rc"
[ "$(ncerts)" -eq 3 ] || fail "a refusal issued a certificate"

# use them: hub, device, whois with the tool certificate
"$BACSC" hub --listen 127.0.0.1:0 --cert hub.pem --key hub.key --ca ca/ca.pem --log-level info >hub.log 2>&1 &
pids+=($!)
port=
for _ in $(seq 100); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' hub.log | head -1 | grep -oE '[0-9]+$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { fail "hub did not start: $(tail -3 hub.log)"; exit 1; }
"$BACSC" device --instance 1001 --hub "wss://127.0.0.1:$port" --cert dev.pem --key dev.key --ca ca/ca.pem >dev.log 2>&1 &
pids+=($!)
found=
for _ in $(seq 20); do
  if B whois --hub "wss://127.0.0.1:$port" --cert tool.pem --key tool.key --ca ca/ca.pem --timeout 1 --json >whois.json 2>whois.err &&
     grep -q '"instance": 1001' whois.json; then found=1; break; fi
  sleep 0.3
done
[ -n "$found" ] || fail "whois with the issued tool certificate did not find device 1001: $(cat whois.err) $(tail -2 hub.log)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: hub, tool and device certificates from ca issue work together"
