#!/usr/bin/env bash
# bacsc decode: every independent vector decodes with the right function and
# message ID in JSON; malformed input gives the right code/offset/marker and
# exit 3; hex/file input forms agree; usage errors exit 2.
set -euo pipefail
: "${BACSC:?}" "${BACSC_TESTDATA:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the 18 independent vectors, checked field by field against the JSON file
/usr/bin/python3 - "$BACSC" "$BACSC_TESTDATA/bvlc-sc-independent.json" <<'PY'
import json, subprocess, sys
bacsc, path = sys.argv[1], sys.argv[2]
for v in json.load(open(path)):
    r = subprocess.run([bacsc, "decode", "--json", v["hex"]], capture_output=True, text=True)
    assert r.returncode == 0, (v["name"], r.returncode, r.stderr)
    d = json.loads(r.stdout)
    f = v["fields"]
    assert d["function"] == f["function"], (v["name"], d["function"])
    assert d["length"] * 2 == len(v["hex"])
    if "message_id" in f: assert d["message_id"] == f["message_id"], v["name"]
    if "destination" in f: assert d["destination_vmac"].replace(":", "") == f["destination"]
    if "originating" in f: assert d["originating_vmac"].replace(":", "") == f["originating"]
    if "npdu" in f: assert d["npdu"] == f["npdu"]
    if "uris" in f: assert d["uris"] == f["uris"], d["uris"]
    if "vmac" in f: assert d["connect"]["vmac"].replace(":", "") == f["vmac"]
    if "uuid" in f: assert d["connect"]["device_uuid"].replace("-", "") == f["uuid"]
    if "details" in f: assert d["result"]["error_details"] == f["details"]
    if "error_code" in f: assert d["result"]["error_code"] == f["error_code"]
    if "vendor_id" in f: assert d["proprietary"]["vendor_id"] == f["vendor_id"]
    if "hub_connection_status" in f:
        assert d["advertisement"]["hub_connection_status"] == f["hub_connection_status"]
    if "dest_options" in f:
        o = d["destination_options"][0]
        assert o["vendor_id"] == f["dest_options"][0]["vendor_id"]
        assert d["not_understood_marker"] == o["marker"] == 0x7f
print("vectors ok")
PY

# 2. malformed: exit 3, error code, offset and marker in JSON and on stderr
set +e
out=$("$BACSC" decode --json 0101000123 2>"$tmp/err"); rc=$?
set -e
[ "$rc" = 3 ] || fail "malformed exit $rc"
echo "$out" | /usr/bin/python3 -c '
import json,sys; e=json.load(sys.stdin)["error"]
assert (e["error_code"], e["offset"], e["marker"], e["error_name"]) == (145, 5, 0x23, "header-encoding-error"), e'
grep -q 'header-encoding-error (145) at offset 5, header option marker 0x23' "$tmp/err" || fail "stderr: $(cat "$tmp/err")"
set +e; "$BACSC" decode 010000 2>"$tmp/err"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q 'message-incomplete (147)' "$tmp/err" || fail "short frame: $rc $(cat "$tmp/err")"
set +e; "$BACSC" decode 0d000001 2>"$tmp/err"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q 'bvlc-function-unknown (143)' "$tmp/err" || fail "unknown function"
set +e; "$BACSC" decode 01zz 2>"$tmp/err"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q 'not hex' "$tmp/err" || fail "bad hex"

# 3. input forms agree: args with separators, stdin, --file binary
a=$("$BACSC" decode --json "0x01:04:00:04" "11-22-33-44-55-66" "01 00 10 08")
b=$(printf '01040004112233445566\n01001008\n' | "$BACSC" decode --json)
printf '\x01\x04\x00\x04\x11\x22\x33\x44\x55\x66\x01\x00\x10\x08' > "$tmp/f.bin"
c=$("$BACSC" decode --json --file "$tmp/f.bin")
[ "$a" = "$b" ] && [ "$b" = "$c" ] || fail "input forms differ"
"$BACSC" decode 01040004112233445566 01001008 | grep -q 'destination-vmac *11:22:33:44:55:66' || fail human

# 4. the NPDU inside an Encapsulated-NPDU and BACnet/IP datagrams (--bip)
"$BACSC" decode --json 01040004112233445566 01040005010c0c020003e9194d | /usr/bin/python3 -c '
import json,sys; d=json.load(sys.stdin); n=d["npdu_header"]; a=n["apdu"]
assert n["expecting_reply"] is True and n["priority"] == 0, n
assert (a["pdu_type_name"], a["invoke_id"], a["service_name"], a["max_apdu"]) == ("confirmed-request", 1, "read-property", 1476), a
assert a["read_property"] == {"object": "device,1001", "property": 77, "property_name": "object-name"}, a'
"$BACSC" decode --json 01000001 0100 30010c0c020003e919553e4441ac00003f | /usr/bin/python3 -c '
import json,sys; a=json.load(sys.stdin)["npdu_header"]["apdu"]
assert a["read_property_ack"]["value"] == ["Real 21.5"], a'
"$BACSC" decode --json 01000001 0100 50010c91029120 | /usr/bin/python3 -c '
import json,sys; e=json.load(sys.stdin)["npdu_header"]["apdu"]["error"]
assert (e["error_class_name"], e["error_code_name"]) == ("property", "unknown-property"), e'
# a malformed NPDU inside a valid BVLC-SC message: reported, exit 0
"$BACSC" decode --json 01000001 02 | grep -q '"npdu_error"' || fail "npdu_error"
"$BACSC" decode --bip --json 810b000c 0120ffff00ff1008 | /usr/bin/python3 -c '
import json,sys; d=json.load(sys.stdin)
assert (d["function"], d["function_code"], d["length"]) == ("Original-Broadcast-NPDU", 11, 12), d
n=d["npdu_header"]; assert n["dnet"] == 65535 and n["apdu"]["service_name"] == "who-is", n'
"$BACSC" decode --bip 810a0011 01040005010c0c020003e9194d | grep -q 'object *device,1001' || fail "bip text"
set +e; "$BACSC" decode --bip 810a00 2>"$tmp/err"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q 'malformed BACnet/IP' "$tmp/err" || fail "bad bip: $rc"

# 5. usage
"$BACSC" decode --help | grep -q 'usage: bacsc decode' || fail help
set +e; "$BACSC" decode --bogus 2>/dev/null; rc=$?; set -e
[ "$rc" = 2 ] || fail "bad option exit $rc"
set +e; "$BACSC" decode --file "$tmp/nope" 2>/dev/null; rc=$?; set -e
[ "$rc" = 3 ] || fail "missing file exit $rc"
echo "decode cli ok"
