#!/usr/bin/env bash
# The four CA listings (ca pending, list, batches, audit) are one column table
# each driving the text and the JSON output. Their bytes are a contract: this
# test renders every text row again from the --json output with the column
# formats shipped (independently, in Python) and compares them byte for byte,
# and checks the JSON members and their order. A changed width, separator,
# placeholder ("-"), column order or JSON member fails it.
set -euo pipefail
: "${BACSC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
B() { "$BACSC" "$@"; }

B pki demo --out p --nodes 6 >/dev/null
mkdir csrs csrs2
for n in 1 2 3 4 5 6; do
  d=csrs; [ "$n" -gt 4 ] && d=csrs2
  openssl req -new -key "p/node$n.key" -subj "/CN=node$n with a subject longer than thirty" \
    -addext "subjectAltName=URI:urn:uuid:$(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -out "$d/n$n.csr" 2>/dev/null
done
openssl req -new -key p/node1.key -subj "/CN=no uuid" -out csrs2/x.csr 2>/dev/null
B ca init --dir ca --name "Test CA" >/dev/null
B ca submit --dir ca csrs >/dev/null
B ca approve --dir ca 1-2 >/dev/null
B ca reject --dir ca 3 --reason "bad subject" >/dev/null
B ca respond --dir ca --batch 1 --out resp.zip >/dev/null
B ca submit --dir ca csrs2 >/dev/null
serial=$(B ca list --dir ca --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])')
B ca revoke --dir ca "$serial" --reason superseded >/dev/null

run() { # name, args...: text and JSON of one listing
  local n=$1; shift
  B ca "$@" --dir ca >"$n.txt"
  B ca "$@" --dir ca --json >"$n.json"
}
run pending pending --all-states
run list list
run batches batches
run audit audit

python3 - <<'EOF'
import json, sys

fails = []

def s(v, none=None):
    if v is None:
        return none if none is not None else "(null)"
    return v

def t(v):
    return v if v is not None else "-"

def pending(r):
    return ("%-6d %-5d %-8s %-36s %-30s %.16s %s%s" % (
        r["id"], r["batch"], r["status"], s(r["device_uuid"], "-"), s(r["subject"], "-"),
        s(r["key_sha256"], "-"), t(r["created"]), "  " + r["reason"] if r["reason"] else ""))

def cert(r):
    return "%-32s %-7s %-20s %-36s %s" % (r["serial"], r["status"], t(r["not_after"]),
                                          s(r["device_uuid"], "-"), s(r["subject"], "-"))

def batch(r):
    return "%-5d %-3s %s %-20s req %d pending %d issued %d rejected %d  %s" % (
        r["id"], r["direction"], t(r["created"]), s(r["site"], "-"), r["requests"],
        r["pending"], r["issued"], r["rejected"], s(r["file"], ""))

def audit(r):
    return "%-6d %s %-12s %-12s %-40s %s" % (r["id"], t(r["time"]), s(r["actor"]),
                                            s(r["action"]), s(r["object"], "-"),
                                            s(r["detail"], ""))

KEYS = {
    "pending": ["id", "batch", "status", "entry", "ref", "device_uuid", "device_instance",
                "device_name", "subject", "key_sha256", "created", "decided", "decided_by",
                "reason", "serial"],
    "list": ["serial", "status", "subject", "device_uuid", "key_sha256", "not_before",
             "not_after", "issued", "request", "batch"],
    "batches": ["id", "direction", "file", "sha256", "site", "origin", "ref", "submitter",
                "created", "requests", "pending", "issued", "rejected"],
    "audit": ["id", "time", "actor", "auth", "action", "object", "detail"],
}
HEAD = {
    "pending": "ID     BATCH STATUS   DEVICE UUID                          SUBJECT                        KEY SHA-256      CREATED  [REASON]",
    "list": "SERIAL                           STATUS  NOT AFTER            DEVICE UUID                          SUBJECT",
    "batches": "ID    DIR CREATED              SITE                 COUNTS  FILE",
    "audit": "ID     TIME                 ACTOR        ACTION       OBJECT                                   DETAIL",
}
RENDER = {"pending": pending, "list": cert, "batches": batch, "audit": audit}

for name, render in RENDER.items():
    rows = json.load(open(name + ".json"))
    text = open(name + ".txt", "rb").read().decode()
    want = HEAD[name] + "\n" + "".join(render(r) + "\n" for r in rows)
    if text != want:
        fails.append("%s: text differs from the rendering of its JSON:\n--- got\n%s--- want\n%s"
                     % (name, text, want))
    for r in rows:
        keys = [k for k in r.keys()]
        base = [k for k in keys if k not in ("revocation_reason", "revoked_at", "for_batch")]
        if base != KEYS[name]:
            fails.append("%s: JSON members %s, expected %s" % (name, keys, KEYS[name]))
            break
    if len(rows) < 2:
        fails.append("%s: only %d rows" % (name, len(rows)))

lst = json.load(open("list.json"))
rev = [r for r in lst if r["status"] == "revoked"]
if not rev or list(rev[0].keys())[-2:] != ["revocation_reason", "revoked_at"] \
        or rev[0]["revocation_reason"] != "superseded":
    fails.append("list: the revoked certificate lacks revocation_reason/revoked_at last: %s" % rev)
if any("revoked_at" in r for r in lst if r["status"] != "revoked"):
    fails.append("list: revoked_at on a certificate not revoked")
out = [r for r in json.load(open("batches.json")) if r["direction"] == "out"]
if not out or out[0].get("for_batch") != 1 or list(out[0].keys()).index("for_batch") != 9:
    fails.append("batches: the response batch lacks for_batch after created: %s" % out)
if any("for_batch" in r for r in json.load(open("batches.json")) if r["direction"] == "in"):
    fails.append("batches: for_batch on a received batch")
pend = json.load(open("pending.json"))
if not any(r["reason"] == "bad subject" for r in pend) or not any(r["device_uuid"] is None for r in pend):
    fails.append("pending: the rows do not cover a reason and a missing Device UUID")

for f in fails:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fails else 0)
EOF
echo "ca listings: ok"
