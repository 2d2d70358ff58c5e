#!/usr/bin/env bash
# Regenerates the seed corpora of fuzz_cari, fuzz_json_manifest and fuzz_pem_der
# with the openssl CLI, python's zipfile and a built bacsc:
#   BACSC=build/bacsc fuzz/make_cari_seeds.sh
set -euo pipefail
: "${BACSC:?path of the bacsc binary}"
out=$(cd "$(dirname "$0")" && pwd)/corpus
BACSC=$(realpath "$BACSC")
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
for i in 0 1 2; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k$i.pem -subj "/CN=dev-$i" \
    -addext "subjectAltName=URI:urn:uuid:6f1e0a52-3c7d-4b8e-9f10-a1b2c3d4e5f$i" -out d$i.csr 2>/dev/null
done
openssl req -new -newkey rsa:1024 -nodes -keyout rk.pem -subj "/CN=rsa" -out rsa.csr 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=Seed CA" -days 3650 \
  -addext basicConstraints=critical,CA:TRUE -out ca.pem 2>/dev/null
for i in 0 1; do
  openssl x509 -req -in d$i.csr -CA ca.pem -CAkey ca.key -set_serial $((10+i)) -days 3650 -copy_extensions copy -out c$i.pem 2>/dev/null
done
openssl req -in d0.csr -outform DER -out d0.der
openssl x509 -in c0.pem -outform DER -out c0.der
"$BACSC" cari build --out req.zip --site seeds --batch-id seed-1 d0.csr d1.csr d2.csr >/dev/null
python3 - "$out" <<'PY'
import sys, zipfile, io, stat, os, json
out = sys.argv[1]
def rd(p): return open(p, "rb").read()
def zbytes(members, comp=zipfile.ZIP_DEFLATED):
    b = io.BytesIO(); z = zipfile.ZipFile(b, "w", comp)
    for m in members:
        if isinstance(m[0], zipfile.ZipInfo): z.writestr(m[0], m[1])
        else: z.writestr(m[0], m[1])
    z.close(); return b.getvalue()
req = rd("req.zip")
man = zipfile.ZipFile("req.zip").read("manifest.json")
seeds = {
  "request.zip": req,
  "request-half.zip": req[:len(req)//2],
  "request-cut.zip": req[:-5],
  "plain-csrs.zip": zbytes([("a.csr", rd("d0.csr")), ("b.der", rd("d0.der")), ("rsa.csr", rd("rsa.csr"))]),
  "plain-certs.zip": zbytes([("ca.pem", rd("ca.pem")), ("c0.pem", rd("c0.pem")), ("c0.der", rd("c0.der")), ("c1.pem", rd("c1.pem"))]),
  "bundle.zip": zbytes([("chain.pem", rd("c0.pem") + rd("c1.pem") + rd("ca.pem"))]),
  "stored.zip": zbytes([("a.csr", rd("d1.csr"))], zipfile.ZIP_STORED),
  "traversal.zip": zbytes([("../x.csr", rd("d0.csr")), ("/etc/y.csr", rd("d1.csr")), ("ok.csr", rd("d2.csr"))]),
  "bomb.zip": zbytes([("zeros.csr", b"\0" * (4 << 20)), ("ok.csr", rd("d2.csr"))]),
  "junk-members.zip": zbytes([("readme.txt", b"hello"), ("key.pem", rd("k0.pem")), ("empty.csr", b"")]),
  "badmanifest.zip": zbytes([("manifest.json", b'{"format":"bacsc-cari","version":1,'), ("a.csr", rd("d0.csr"))]),
  "mixed.zip": zbytes([("a.csr", rd("d0.csr")), ("c.pem", rd("c0.pem"))]),
  "empty.zip": zbytes([]),
  "junk.bin": os.urandom(300),
}
li = zipfile.ZipInfo("link.csr"); li.external_attr = (stat.S_IFLNK | 0o777) << 16
seeds["symlink.zip"] = zbytes([(li, "/etc/passwd"), ("ok.csr", rd("d0.csr"))])
d = zbytes([("dup.csr", rd("d0.csr")), ("dUp.csr", rd("d1.csr"))]); seeds["dup.zip"] = d.replace(b"dUp.csr", b"dup.csr")
# a response with manifest, written by hand the way bacsc writes it
m = {"format": "bacsc-cari", "version": 1, "kind": "response", "site": "seeds", "batch_id": "r-1",
     "request_batch_id": "seed-1", "created": "2026-01-01T00:00:00Z", "generator": "seed",
     "entries": [{"file": "issuer/ca.pem", "type": "issuer"},
                 {"file": "certs/c0.pem", "type": "certificate", "request_id": "x", "device": {"instance": 7, "name": "d", "uuid": "6f1e0a52-3c7d-4b8e-9f10-a1b2c3d4e5f0"}},
                 {"file": "certs/gone.pem", "type": "certificate"}]}
seeds["response.zip"] = zbytes([("manifest.json", json.dumps(m)), ("issuer/ca.pem", rd("ca.pem")), ("certs/c0.pem", rd("c0.pem"))])
for k, v in seeds.items(): open(os.path.join(out, "cari", k), "wb").write(v)
mans = {"request.json": man, "response.json": json.dumps(m).encode(),
        "truncated.json": man[:len(man)//2], "version2.json": man.replace(b'"version": 1', b'"version": 2'),
        "dupkey.json": b'{"format":"bacsc-cari","format":"x"}', "array.json": b"[1,2,3]",
        "badentry.json": b'{"format":"bacsc-cari","version":1,"kind":"request","entries":[{"file":"a","type":"csr","device":{"instance":-1,"uuid":"zz"},"public_key_sha256":"00"}]}',
        "dupfile.json": b'{"format":"bacsc-cari","version":1,"kind":"request","entries":[{"file":"a","type":"csr"},{"file":"a","type":"issuer"}]}',
        "deep.json": b"[" * 300 + b"]" * 300, "empty.json": b""}
for k, v in mans.items(): open(os.path.join(out, "json_manifest", k), "wb").write(v)
objs = {"csr.pem": rd("d0.csr"), "csr.der": rd("d0.der"), "rsa.csr": rd("rsa.csr"), "cert.pem": rd("c0.pem"),
        "cert.der": rd("c0.der"), "ca.pem": rd("ca.pem"), "key.pem": rd("k0.pem"), "bundle.pem": rd("c0.pem") + rd("d1.csr") + b"trailer\n",
        "badsig.der": rd("d0.der")[:-1] + bytes([rd("d0.der")[-1] ^ 1]), "cut.der": rd("c0.der")[:100],
        "badb64.pem": b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "text.txt": b"hello"}
for k, v in objs.items(): open(os.path.join(out, "pem_der", k), "wb").write(v)
PY
echo "seeds written to $out"
