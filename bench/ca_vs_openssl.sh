#!/usr/bin/env bash
# ca_vs_openssl.sh — `bacsc ca sign REQ.zip --out RESP.zip` (one CARI request
# built by `bacsc cari build`) against a shell loop of `openssl x509 -req`
# over the same P-256 CSRs (same profile: CA:FALSE, digitalSignature,
# serverAuth+clientAuth, SKI/AKI, SANs copied).
#   bench/ca_vs_openssl.sh [N_BACSC [N_OPENSSL]]    defaults 10000 and 300
# The openssl loop is timed on N_OPENSSL CSRs (a process per certificate is
# slow) and its rate compared with bacsc's on N_BACSC.
set -euo pipefail
BACSC=${BACSC:-$(dirname "$0")/../build/bacsc}
N=${1:-10000}; M=${2:-300}
T=$(mktemp -d /tmp/ca_vs_openssl.XXXXXX); trap 'rm -rf "$T"' EXIT
mkdir "$T/csr"

seq "$N" | xargs -P 2 -I{} sh -c "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout /dev/null -subj /CN=dev{} -addext subjectAltName=DNS:dev{}.local -out $T/csr/d{}.csr 2>/dev/null"
"$BACSC" ca init --dir "$T/ca" --name "bench CA" >/dev/null
"$BACSC" ca policy set --dir "$T/ca" max_batch 1000000 >/dev/null
"$BACSC" cari build --out "$T/req.zip" --site bench --dir "$T/csr" >/dev/null
s=$(date +%s%N)
"$BACSC" ca sign --dir "$T/ca" "$T/req.zip" --out "$T/resp.zip" >/dev/null
e=$(date +%s%N)
bacsc_rate=$(( N * 1000000000 / (e - s) ))
cat >"$T/ext.cnf" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
mkdir "$T/oss"
s=$(date +%s%N)
for i in $(seq "$M"); do
  openssl x509 -req -in "$T/csr/d$i.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" -CAserial "$T/serial" -CAcreateserial \
    -days 730 -sha256 -extfile "$T/ext.cnf" -copy_extensions copy -out "$T/oss/d$i.pem" 2>/dev/null
done
e=$(date +%s%N)
oss_rate_milli=$(( M * 1000000000000 / (e - s) ))
echo "bacsc ca sign:        $N CSRs in $(awk "BEGIN{printf \"%.2f\", $N/$bacsc_rate}") s  -> $bacsc_rate cert/s (read zip + submit + sign + store + response zip)"
echo "openssl x509 -req loop: $M CSRs -> $(awk "BEGIN{printf \"%.1f\", $oss_rate_milli/1000}") cert/s"
echo "ratio: $(awk "BEGIN{printf \"%.0f\", $bacsc_rate*1000/$oss_rate_milli}")x"
# the floor, measured now: one ECDSA verify (the CSR) + one sign (the
# certificate) per certificate, on every core (bench_floor, src/cli/bench_floor.h)
FLOOR=$(dirname "$BACSC")/bench/bench_floor
if [ -x "$FLOOR" ]; then
  "$FLOOR" 0.2 --json | /usr/bin/python3 -c '
import json, os, sys
c = json.load(sys.stdin)["crypto"]; rate = float(sys.argv[1]); cores = os.cpu_count() or 1
fl = cores * 1e6 / (c["ecdsa_p256_verify_us"] + c["ecdsa_p256_sign_us"])
print(f"floor: {fl:.0f} cert/s (verify + sign per certificate on {cores} cores); bacsc ca sign at {fl / rate:.1f}x its cost")
' "$bacsc_rate"
fi
