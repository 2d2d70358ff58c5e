#!/usr/bin/env bash
# test_bench_hub.sh — `bacsc bench hub` against a real hub over mutual TLS on
# 127.0.0.1: a 2-second low-rate throughput run and a 1-second rtt run must
# relay messages with zero errors (checked in the --json output with python3);
# the NPDU it sends dissects in tshark as UnconfirmedPrivateTransfer without a
# malformed mark; a wrong CA makes it exit 4 (hub unreachable); bad options
# exit 2.
#
# The hub is `bacsc hub` when that command exists, else the minimal runner
# build/bench/bench_hub_server (hub function over the WebSocket listener).
set -euo pipefail
: "${BACSC:?path of the bacsc binary}"
: "${BACSC_BUILD:?build directory}"
PY=/usr/bin/python3
work=$(mktemp -d)
hub_pid=
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; [ -f hub.log ] && tail -5 hub.log >&2; exit 1; }

# --- certificates: one CA for hub and nodes, another CA for the negative case
mkpki() { # dir
  mkdir -p "$1"
  printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' >"$1/ext"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
    -out "$1/ca.pem" -days 2 -subj /CN=testCA -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
  for n in hub node1; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$n.key" \
      -out "$1/$n.csr" -subj "/CN=$n" 2>/dev/null
    openssl x509 -req -in "$1/$n.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
      -days 2 -extfile "$1/ext" -out "$1/$n.pem" 2>/dev/null
  done
  chmod 600 "$1"/*.key
}
mkpki pki
mkpki other

# The hub binds port 0 and we read the port it got from its output ("listening
# on 127.0.0.1:PORT" in bacsc hub's log, "listening PORT" from the runner):
# no window in which another process could take a port we picked.
if "$BACSC" hub --help >/dev/null 2>&1; then
  "$BACSC" hub --listen "127.0.0.1:0" --cert pki/hub.pem --key pki/hub.key --ca pki/ca.pem \
    >hub.log 2>&1 &
else
  runner="$BACSC_BUILD/bench/bench_hub_server"
  [ -x "$runner" ] || fail "no hub: neither 'bacsc hub' nor $runner"
  "$runner" --listen "127.0.0.1:0" --cert pki/hub.pem --key pki/hub.key --ca pki/ca.pem \
    >hub.log 2>&1 &
fi
hub_pid=$!
port=
for _ in $(seq 200); do
  port=$(grep -oE 'listening (on 127\.0\.0\.1:)?[0-9]+' hub.log | head -1 | grep -oE '[0-9]+$' || true)
  [ -n "$port" ] && break
  kill -0 "$hub_pid" 2>/dev/null || fail "hub exited"
  sleep 0.05
done
[ -n "$port" ] && [ "$port" != 0 ] || fail "hub did not report its port"

common=(--hub "wss://127.0.0.1:$port" --cert pki/node1.pem --key pki/node1.key --ca pki/ca.pem --quiet)

"$BACSC" bench --help | grep -q "hub" || fail "bench --help lists no hub"
"$BACSC" bench hub --help | grep -q -- "--pairs" || fail "bench hub --help"

# --- throughput, low rate: nonzero relay, zero errors
"$BACSC" bench hub "${common[@]}" --pairs 2 --size 64 --duration 2 --rate 2000 --hub-pid "$hub_pid" \
  --json >tp.json ||
  fail "throughput run exited $? : $(cat tp.json)"
$PY - tp.json <<'PY' || fail "throughput figures: $(cat tp.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mode"] == "throughput" and r["nodes"] == 4 and r["connected"] == 4, r
assert r["received"] > 1000, r["received"]
# the rate limit holds (2000/s ± 30 %) and every request came back
assert 1400 < r["relayed_per_s"] < 2600, r["relayed_per_s"]
assert r["errors"]["total"] == 0 and r["errors"]["connect_failures"] == 0, r["errors"]
assert 0 < r["one_way"]["p50_us"] <= r["one_way"]["p99_us"] <= r["one_way"]["max_us"], r["one_way"]
assert r["rtt"]["count"] > 500, r["rtt"]
# --hub-pid: the hub's read/write system calls and CPU per relayed message, next to the floor
assert r["hub_syscalls_floor"] == 2.0, r
assert 0.2 < r["hub_syscalls_per_msg"] < 20, r
assert abs(r["hub_reads_per_msg"] + r["hub_writes_per_msg"] - r["hub_syscalls_per_msg"]) < 1e-6, r
assert 0 <= r["hub_cpu_us_per_msg"] < 10000, r
# each node receives from one peer only, so the hub reads about as often as it
# writes; a read round that always ends in an EAGAIN read doubles the reads
assert r["hub_reads_per_msg"] < 1.5 * r["hub_writes_per_msg"], r
# the floors measured in the same run: hub CPU next to open + seal + read + write
f = r["floors"]["hub_cpu_us_per_msg"]
assert f["floor"] > 0 and f["unit"] == "us", f
assert abs(f["ratio"] - f["value"] / f["floor"]) < 1e-6 * f["ratio"] + 1e-9, f
assert r["floors"]["hub_syscalls_per_msg"]["floor"] == 2.0, r["floors"]
# the generator's own side of every message (this process), next to the same floors
assert 0.2 < r["generator_reads_per_msg"] + r["generator_writes_per_msg"] < 20, r
assert 0 < r["generator_cpu_us_per_msg"] < 10000, r
g = r["floors"]["generator_cpu_us_per_msg"]
assert g["floor"] == f["floor"] and g["value"] == r["generator_cpu_us_per_msg"], g
assert r["floors"]["generator_syscalls_per_msg"]["floor"] == 2.0, r["floors"]
PY

# --- 1400-octet NPDUs, human table
"$BACSC" bench hub "${common[@]}" --pairs 1 --size 1400 --duration 1 --rate 1000 >big.txt ||
  fail "1400-octet run: $(cat big.txt)"
grep -q "errors                 0 " big.txt || fail "1400-octet errors: $(cat big.txt)"
grep -Eq "relayed +[1-9][0-9]* messages/s" big.txt || fail "1400-octet rate: $(cat big.txt)"

# --- round trip mode
"$BACSC" bench hub "${common[@]}" --mode rtt --duration 1 --floor-time 0.5 --json >rtt.json ||
  fail "rtt run"
$PY - rtt.json <<'PY' || fail "rtt figures: $(cat rtt.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mode"] == "rtt" and r["window"] == 1 and r["nodes"] == 2, r
assert r["rtt"]["count"] > 100 and r["rtt"]["p50_us"] > 0, r["rtt"]
assert r["errors"]["total"] == 0, r["errors"]
# the floor: two plain loopback TCP round trips between two processes
f = r["floors"]
assert f["tcp_2rtt"]["samples"] > 100 and 0 < f["tcp_2rtt"]["p50_us"] <= f["tcp_2rtt"]["p99_us"], f
assert f["tcp_rtt"]["p50_us"] < f["tcp_2rtt"]["p50_us"], f
assert f["rtt_p50"]["value"] == r["rtt"]["p50_us"] and f["rtt_p50"]["floor"] == f["tcp_2rtt"]["p50_us"], f
assert f["rtt_p50"]["ratio"] > 0 and f["rtt_p99"]["ratio"] > 0, f
# OpenSSL's record layer per hop (in memory), and the round trip next to the
# TCP floor plus four such hops
assert 0 < f["tls_record_us"] < 1000, f
w = f["rtt_p50_with_tls_records"]
assert w["value"] == r["rtt"]["p50_us"], w
assert abs(w["floor"] - (f["tcp_2rtt"]["p50_us"] + 4 * f["tls_record_us"])) < 1e-6 * w["floor"], w
PY
"$BACSC" bench hub "${common[@]}" --mode rtt --duration 0.5 --floor-time 0.4 >rtt.txt || fail "rtt table"
grep -Eq "round trip p50 \(floor: 2 TCP round trips\) +[0-9.]+ µs +floor +[0-9.]+ µs +ratio +[0-9.]+×" rtt.txt ||
  fail "rtt table has no floor line: $(cat rtt.txt)"
grep -Eq "round trip p50 \(2 TCP RTT \+ 4 TLS records\) +[0-9.]+ µs +floor +[0-9.]+ µs" rtt.txt ||
  fail "rtt table has no TLS-record line: $(cat rtt.txt)"
grep -Eq "^generator +[0-9.]+ read\+write, [0-9.]+ µs CPU per relayed message" rtt.txt ||
  fail "rtt table has no generator line: $(cat rtt.txt)"
"$BACSC" bench hub "${common[@]}" --mode rtt --duration 0.5 --floor-time 0 --json >rtt0.json ||
  fail "rtt run without floors"
$PY -c 'import json,sys; assert json.load(open(sys.argv[1]))["floors"] == {}' rtt0.json ||
  fail "--floor-time 0 still measured floors"

# --- connect mode: 20 idle nodes, hub memory figure present
"$BACSC" bench hub "${common[@]}" --mode connect --connections 20 --duration 0.2 \
  --hub-pid "$hub_pid" --json >conn.json || fail "connect run: $(cat conn.json)"
$PY - conn.json <<'PY' || fail "connect figures: $(cat conn.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["connected"] == 20 and r["hub_rss_after_kb"] > 0, r
# hub CPU per connection set up, next to the crypto floor of a full handshake
c = r["floors"]["crypto"]
assert 0 < c["ecdh_p256_us"] and 0 < c["ecdsa_p256_sign_us"] and 0 < c["ecdsa_p256_verify_us"], c
assert abs(c["full_handshake_us"] - (c["p256_keygen_us"] + c["ecdh_p256_us"] + c["ecdsa_p256_sign_us"]
                                     + 2 * c["ecdsa_p256_verify_us"])) < 1e-6, c
h = r["floors"]["hub_cpu_us_per_connection"]
assert h["floor"] == c["full_handshake_us"] and h["value"] == r["hub_cpu_us_per_connection"] > 0, r
PY

# --- bench_floor: every floor present and plausible (ordering facts, not machine speeds)
if [ -x "$BACSC_BUILD/bench/bench_floor" ]; then
  "$BACSC_BUILD/bench/bench_floor" 0.05 --json >floor.json || fail "bench_floor"
  $PY - floor.json <<'PY' || fail "bench_floor figures: $(cat floor.json)"
import json, sys
r = json.load(open(sys.argv[1])); c = r["crypto"]
assert 0 < r["tcp_rtt_64"]["p50_us"] < r["tcp_2rtt_64"]["p50_us"], r
assert 0 < r["syscall_ns"] < 1000 * r["sock_rw_64_us"], r
# an ECDSA verify costs more than a sign on P-256; a 1400-octet record more than a 64-octet one
assert 0 < c["ecdsa_p256_sign_us"] < c["ecdsa_p256_verify_us"], c
assert 0 < c["aes128_gcm_64_us"] < c["aes128_gcm_1400_us"] and c["sha256_64_us"] > 0, c
assert r["relay_80_us"] > r["aes128_gcm_open_64_us"] > 0, r
PY
fi

# --- the NPDU is valid BACnet for an independent dissector
if command -v tshark >/dev/null && command -v text2pcap >/dev/null; then
  npdu=$("$BACSC" bench hub --print-npdu --size 64)
  [ ${#npdu} -eq 128 ] || fail "NPDU of 64 octets is ${#npdu} hex digits"
  msg="0104abcd020000000001$npdu" # Encapsulated-NPDU, destination VMAC
  printf '0000 %s\n' "$(echo "$msg" | sed 's/../& /g')" >f.hex
  text2pcap -q -l 147 f.hex f.pcap
  tshark -r f.pcap -o 'uat:user_dlts:"User 0 (DLT=147)","bscvlc","0","","0",""' -V >f.txt 2>&1
  grep -q "unconfirmedPrivateTransfer" f.txt || fail "tshark: not a private transfer: $(cat f.txt)"
  ! grep -qi "malformed" f.txt || fail "tshark: malformed NPDU"
fi

# --- failures are reported, not hidden
set +e
"$BACSC" bench hub --hub "wss://127.0.0.1:$port" --cert other/node1.pem --key other/node1.key \
  --ca other/ca.pem --quiet --pairs 1 --duration 1 --connect-timeout 3 >bad.txt 2>bad.err
rc=$?
set -e
[ $rc -eq 4 ] || fail "wrong CA: exit $rc, want 4 ($(cat bad.err))"
grep -q "no node could connect" bad.err || fail "wrong CA message: $(cat bad.err)"
set +e
"$BACSC" bench hub "${common[@]}" --size 20 >/dev/null 2>usage.err
rc=$?
set -e
[ $rc -eq 2 ] || fail "--size 20: exit $rc, want 2"
kill -0 "$hub_pid" || fail "hub died"
echo "ok"
