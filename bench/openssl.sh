#!/usr/bin/env bash
# bench/openssl.sh — the same tree against two OpenSSLs: the system's and one
# installed under its own prefix (bench/README.md, "The same code against a
# newer OpenSSL").
#
# Builds bacsc (Release) twice — against the system's OpenSSL and against
# the one under --openssl-prefix (its lib directory in the programs' run path,
# checked with ldd and with the version the bench prints from
# OpenSSL_version()) — then runs the benchmarks alternately, A B A B … (A the
# system's, B the prefix's), and prints one table: every figure next to its
# floor measured in the same run with the same library, the ratio, median and
# range over the pairs, and the load at start and end.
#
# Exit status: 0 done, 1 a build, a check or a run failed, 2 bad command line.
set -uo pipefail
ME=bench/openssl.sh
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3

usage() {
  cat <<'EOF'
usage: bench/openssl.sh --openssl-prefix DIR [options]

Builds this tree (Release) against the system's OpenSSL (A) and against the
OpenSSL installed under DIR (B), runs the benchmarks alternately A B A B …
and prints each figure next to its floor from the same run and library.

  --openssl-prefix DIR  an installed OpenSSL 3.x: DIR/include/openssl and
                        libssl.so + libcrypto.so in DIR/lib, DIR/lib64 or
                        DIR/lib/<arch> (OpenSSL's `make install_sw`, or a
                        Debian libssl-dev unpacked with dpkg -x: DIR/usr)
  --pairs N             alternating pairs A B (default 3)
  --handshakes N        handshakes of each kind per run (default 300)
  --nodes N             client certificates used in turn (default 32)
  --hub                 also the hub figures: round trip (rtt mode) and hub
                        CPU per message at a steady 5,000 msg/s, 5 s each
  --ca N                also bench_ca N 2 (CPU per certificate), e.g. 10000
  --callgrind           also instructions per handshake (valgrind, once per
                        build: load-independent), next to the instructions of
                        the crypto floor's operations; with --hub also the
                        hub's instructions per relayed message (rtt mode),
                        with --ca the CA's per certificate and the device's
                        per CSR (bench_ca 1000 2)
  --system-build DIR    build tree for A (default build-rel; made if absent)
  --build DIR           build tree for B (default build-openssl-VERSION)
  --no-build            use both build trees as they are (still checked)
  --out DIR             raw outputs (default a new /tmp/bench-openssl-XXXXXX);
                        with --callgrind also the callgrind files of the
                        handshakes, CA, CSR and hub runs (cg*.A.1.cg, …)
                        for callgrind_annotate
  --json                print the results as JSON instead of the table
  -h, --help            this text

Each handshake run is `BENCH_HS_ONLY=full|resumed bench/bench_handshake N
NODES` of that build. Exit status: 0 done, 1 failed, 2 bad command line.
EOF
}
die() { echo "$ME: $*" >&2; exit 1; }
bad() { echo "$ME: $*" >&2; echo "usage: bench/openssl.sh --openssl-prefix DIR [options] (--help)" >&2; exit 2; }
say() { echo "== $*" >&2; }
count() { [[ "$2" =~ ^[1-9][0-9]{0,6}$ ]] || bad "$1 needs a positive number, not '$2'"; }

PREFIX='' PAIRS=3 HS=300 NODES=32 HUB=0 CA=0 CG=0 BUILD_A=build-rel BUILD_B='' NOBUILD=0 OUT='' JSON=0
while [ $# -gt 0 ]; do
  case $1 in
  -h | --help) usage; exit 0 ;;
  --openssl-prefix | --pairs | --handshakes | --nodes | --ca | --system-build | --build | --out)
    [ $# -ge 2 ] || bad "$1 needs a value"
    case $1 in
    --openssl-prefix) PREFIX=$2 ;;
    --pairs) count "$1" "$2"; PAIRS=$2 ;;
    --handshakes) count "$1" "$2"; HS=$2 ;;
    --nodes) count "$1" "$2"; [ "$2" -le 256 ] || bad "--nodes is at most 256"; NODES=$2 ;;
    --ca) count "$1" "$2"; CA=$2 ;;
    --system-build) BUILD_A=$2 ;;
    --build) BUILD_B=$2 ;;
    --out) OUT=$2 ;;
    esac
    shift ;;
  --hub) HUB=1 ;;
  --callgrind) CG=1 ;;
  --no-build) NOBUILD=1 ;;
  --json) JSON=1 ;;
  *) bad "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$PREFIX" ] || bad "--openssl-prefix DIR is required"
[ -x "$PY" ] || die "$PY not found (it prints the table)"
[ "$CG" = 0 ] || command -v valgrind >/dev/null || die "--callgrind: valgrind not found"

# ---- the OpenSSL under the prefix
[ -d "$PREFIX" ] || die "no directory $PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
ROOT=$PREFIX
[ ! -f "$ROOT/include/openssl/opensslv.h" ] && [ -f "$ROOT/usr/include/openssl/opensslv.h" ] && ROOT=$ROOT/usr
VH=$ROOT/include/openssl/opensslv.h
[ -f "$VH" ] || die "no OpenSSL under $PREFIX (no include/openssl/opensslv.h)"
macro() { sed -n "s/^# *define[[:space:]]\{1,\}$1[[:space:]]\{1,\}\"\{0,1\}\([^\"]*\)\"\{0,1\}.*/\1/p" "$VH" | head -1; }
B_MAJOR=$(macro OPENSSL_VERSION_MAJOR)
B_TEXT=$(macro OPENSSL_VERSION_TEXT)
B_VER=$(macro OPENSSL_VERSION_STR)
if ! [[ "$B_MAJOR" =~ ^[0-9]+$ ]] || [ "$B_MAJOR" -lt 3 ]; then
  die "$PREFIX has ${B_TEXT:-an OpenSSL older than 3.0}; OpenSSL 3.0 or later is needed"
fi
LIBDIR=
for d in "$ROOT/lib64" "$ROOT/lib" "$ROOT"/lib/*-linux-*; do
  if [ -e "$d/libssl.so" ] && [ -e "$d/libcrypto.so" ]; then LIBDIR=$d; break; fi
done
[ -n "$LIBDIR" ] || die "$PREFIX has OpenSSL $B_VER headers but no libssl.so and libcrypto.so in lib, lib64 or lib/<arch>"
INCS="-I$ROOT/include"
# Debian's multiarch layout keeps configuration.h apart
if [ ! -f "$ROOT/include/openssl/configuration.h" ]; then
  for d in "$ROOT"/include/*-linux-*; do [ -f "$d/openssl/configuration.h" ] && INCS="$INCS -I$d"; done
fi

SYSLIB=$(pkg-config --variable=libdir openssl 2>/dev/null)
[ -n "$SYSLIB" ] && [ "$(realpath "$SYSLIB")" = "$(realpath "$LIBDIR")" ] &&
  die "$PREFIX holds the system's own OpenSSL ($LIBDIR): nothing to compare"

cd "$SRC" || die "cannot enter $SRC"
BUILD_B=${BUILD_B:-build-openssl-$B_VER}
TARGETS=(bacsc bench_handshake)
[ "$CA" != 0 ] && TARGETS+=(bench_ca)
OUT=${OUT:-$(mktemp -d /tmp/bench-openssl-XXXXXX)}
mkdir -p "$OUT" || die "cannot make $OUT"
OUT=$(cd "$OUT" && pwd)

# B is found through a pkg-config file written for it (the prefix's own may
# name another prefix, as Debian's /usr does); A through the system's.
PCDIR=$OUT/pkgconfig
mkdir -p "$PCDIR"
cat >"$PCDIR/openssl.pc" <<EOF
Name: OpenSSL
Description: OpenSSL under $PREFIX (written by bench/openssl.sh)
Version: $B_VER
Libs: -L$LIBDIR -lssl -lcrypto
Cflags: $INCS
EOF

cache_get() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt" 2>/dev/null | head -1; }
build() { # dir pkg-config-path-or-empty what
  local dir=$1 pcp=$2 what=$3 gen=()
  if [ "$NOBUILD" = 1 ]; then
    [ -f "$dir/CMakeCache.txt" ] || die "--no-build: $dir is not a build tree"
  else
    if [ ! -f "$dir/CMakeCache.txt" ]; then
      command -v ninja >/dev/null && gen=(-G Ninja)
      say "configure $dir ($what)"
      (if [ -n "$pcp" ]; then export PKG_CONFIG_PATH=$pcp; fi
       cmake -S "$SRC" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release) >"$OUT/build-$what.log" 2>&1 ||
        die "configuring $dir failed: $(tail -3 "$OUT/build-$what.log" | tr '\n' ' ')"
    fi
    # an existing tree keeps the OpenSSL it was configured with
    local lib
    lib=$(cache_get "$dir" pkgcfg_lib_OPENSSL_ssl)
    if [ -n "$lib" ]; then
      lib=$(dirname "$(realpath -m "$lib")")
      if [ -n "$pcp" ] && [ "$lib" != "$(realpath "$LIBDIR")" ]; then
        die "$dir was configured against the OpenSSL in $lib, not $LIBDIR; pass another --build"
      elif [ -z "$pcp" ] && [ "$lib" = "$(realpath "$LIBDIR")" ]; then
        die "$dir was configured against the OpenSSL in $lib (the prefix's); pass another --system-build"
      fi
    fi
    say "build $dir ($what): ${TARGETS[*]}"
    (if [ -n "$pcp" ]; then export PKG_CONFIG_PATH=$pcp; fi
     cmake --build "$dir" --target "${TARGETS[@]}") >>"$OUT/build-$what.log" 2>&1 ||
      die "building $dir failed (log: $OUT/build-$what.log)"
  fi
  [ "$(cache_get "$dir" CMAKE_BUILD_TYPE)" = Release ] ||
    die "$dir is not a Release build (CMAKE_BUILD_TYPE=$(cache_get "$dir" CMAKE_BUILD_TYPE)); pass another directory"
  for t in "${TARGETS[@]}"; do
    local p=$dir/$t
    [ "$t" = bacsc ] || p=$dir/bench/$t
    [ -x "$p" ] || die "$p not built"
  done
}
# the libssl/libcrypto a program loads (ldd), as real paths
loaded() { ldd "$1" 2>/dev/null | awk '/lib(ssl|crypto)\.so/ { print $3 }' | xargs -r realpath; }
check() { # dir A|B
  local dir=$1 ab=$2 libs p l ours
  ours=$(realpath "$LIBDIR"/libssl.so* "$LIBDIR"/libcrypto.so* | sort -u)
  for p in "$dir/bacsc" "$dir/bench/bench_handshake"; do
    libs=$(loaded "$p")
    [ "$(echo "$libs" | grep -c .)" -ge 2 ] || die "$p: ldd finds no libssl/libcrypto"
    for l in $libs; do
      if grep -qxF -- "$l" <<<"$ours"; then
        [ "$ab" = B ] || die "$PREFIX holds the system's own OpenSSL ($l): nothing to compare"
      else
        [ "$ab" = A ] || die "$p loads $l, not the one in $LIBDIR (its run path?)"
      fi
    done
  done
  local line run hdr
  line=$(BENCH_HS_ONLY=floor "$dir/bench/bench_handshake" 1 2>/dev/null | head -1)
  run=$(echo "$line" | sed -n 's/^OpenSSL: \(.*\) (headers: .*)$/\1/p')
  hdr=$(echo "$line" | sed -n 's/^OpenSSL: .* (headers: \(.*\))$/\1/p')
  [ -n "$run" ] || die "$dir/bench/bench_handshake does not print its OpenSSL version (an older tree?)"
  [ "$run" = "$hdr" ] || die "$dir runs with $run but was compiled with the headers of $hdr"
  [ "$ab" = A ] || [ "$hdr" = "$B_TEXT" ] || die "$dir was built with $hdr, not $B_TEXT of $PREFIX"
  echo "$run"
}

build "$BUILD_A" "" system
build "$BUILD_B" "$PCDIR" prefix
A_RUN=$(check "$BUILD_A" A) || exit 1
B_RUN=$(check "$BUILD_B" B) || exit 1
say "A: $A_RUN ($BUILD_A)"
say "B: $B_RUN ($BUILD_B, $LIBDIR)"
BA=$(cd "$BUILD_A" && pwd) BB=$(cd "$BUILD_B" && pwd)
bdir() { if [ "$1" = A ]; then echo "$BA"; else echo "$BB"; fi; }

hub_pid=
cleanup() { [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null; true; }
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$HUB" = 1 ]; then
  "$BA/bacsc" pki demo --out "$OUT/pki" --nodes 1 >/dev/null 2>"$OUT/pki.log" || die "bacsc pki demo failed: $(head -1 "$OUT/pki.log")"
  # every node connects from 127.0.0.1: the per-address admission limits off
  echo '{"max_handshakes_per_address": 0, "accept_rate_per_address": 0, "uuid_binding": "off"}' >"$OUT/hub.json"
fi
hub_runs() { # A|B i
  local d PORT N
  d=$(bdir "$1")
  PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$d/bacsc" hub --log-level warn --config "$OUT/hub.json" --listen "127.0.0.1:$PORT" \
    --cert "$OUT/pki/hub.pem" --key "$OUT/pki/hub.key" --ca "$OUT/pki/ca.pem" >>"$OUT/hub.$1.log" 2>&1 &
  hub_pid=$!
  listening "$PORT" "$hub_pid" "$1"
  N=(--hub "wss://127.0.0.1:$PORT" --cert "$OUT/pki/node1.pem" --key "$OUT/pki/node1.key" --ca "$OUT/pki/ca.pem"
     --hub-pid "$hub_pid" --json --quiet)
  run "$1" "$2" rtt "$d/bacsc" bench hub "${N[@]}" --mode rtt --size 64 --duration 5 --floor-time 2
  run "$1" "$2" steady "$d/bacsc" bench hub "${N[@]}" --pairs 8 --size 64 --rate 5000 --duration 5 --floor-time 1
  kill "$hub_pid" 2>/dev/null; wait "$hub_pid" 2>/dev/null; hub_pid=
}
listening() { # port pid what: wait until 127.0.0.1:port accepts
  for _ in $(seq 600); do
    $PY -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || die "the hub of $3 exited: $(tail -1 "$OUT/hub.$3.log")"
    sleep 0.05
  done
  die "the hub of $3 did not listen on 127.0.0.1:$1"
}
cg_hub() { # A|B: the hub under callgrind, instructions on only while the nodes relay
  local ab=$1 d PORT bp f
  f=$OUT/cghub.$ab.1
  d=$(bdir "$ab")
  PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$f.cg" "$d/bacsc" hub --log-level warn --config "$OUT/hub.json" \
    --listen "127.0.0.1:$PORT" --cert "$OUT/pki/hub.pem" --key "$OUT/pki/hub.key" \
    --ca "$OUT/pki/ca.pem" >>"$OUT/hub.cg$ab.log" 2>&1 &
  hub_pid=$!
  listening "$PORT" "$hub_pid" "cg$ab"
  echo "load-start $(cut -d' ' -f1 /proc/loadavg) $(date -u +%H:%M:%S)" >"$f.meta"
  "$d/bacsc" bench hub --hub "wss://127.0.0.1:$PORT" --cert "$OUT/pki/node1.pem" \
    --key "$OUT/pki/node1.key" --ca "$OUT/pki/ca.pem" --mode rtt --size 64 --duration 4 \
    --floor-time 0 --json >"$f.out" 2>"$f.err" &
  bp=$!
  for _ in $(seq 600); do grep -q "connected in" "$f.err" && break; sleep 0.05; done
  callgrind_control -i on "$hub_pid" >/dev/null 2>&1 || die "callgrind_control -i on $hub_pid failed"
  wait "$bp" || die "bench hub against the hub of $ab under callgrind failed: $(tail -1 "$f.err")"
  callgrind_control -i off "$hub_pid" >/dev/null 2>&1
  kill -INT "$hub_pid"; wait "$hub_pid"; hub_pid=
  echo "exit 0" >>"$f.meta"
}
run() { # A|B i name command... : output with the load before and after
  local ab=$1 i=$2 name=$3 f
  shift 3
  f=$OUT/$name.$ab.$i
  { echo "load-start $(cut -d' ' -f1 /proc/loadavg) $(date -u +%H:%M:%S)"
    "$@" >"$f.out" 2>"$f.err"
    echo "exit $?"
    echo "load-end $(cut -d' ' -f1 /proc/loadavg) $(date -u +%H:%M:%S)"; } >"$f.meta"
  grep -q '^exit 0$' "$f.meta" || die "$name with $ab failed: $(tail -2 "$f.err" | tr '\n' ' ') (command: $*)"
}

echo "start $(date -u +%FT%H:%M:%SZ) $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/load"
for i in $(seq 1 "$PAIRS"); do
  for ab in A B; do
    d=$(bdir $ab)
    say "pair $i/$PAIRS, $ab: handshakes"
    BENCH_HS_ONLY=full run $ab "$i" hsfull "$d/bench/bench_handshake" "$HS" "$NODES"
    BENCH_HS_ONLY=resumed run $ab "$i" hsres "$d/bench/bench_handshake" "$HS" "$NODES"
    if [ "$HUB" = 1 ]; then say "pair $i/$PAIRS, $ab: hub"; hub_runs $ab "$i"; fi
    if [ "$CA" != 0 ]; then
      say "pair $i/$PAIRS, $ab: bench_ca $CA 2"
      run $ab "$i" ca "$d/bench/bench_ca" "$CA" 2 --runs 1 --json
    fi
  done
done
echo "end $(date -u +%FT%H:%M:%SZ) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load"

if [ "$CG" = 1 ]; then
  for ab in A B; do
    d=$(bdir $ab)
    say "$ab: callgrind (handshakes and the crypto floor's operations)"
    BENCH_HS_ONLY=full run $ab 1 cgfull valgrind --tool=callgrind --callgrind-out-file="$OUT/cgfull.$ab.1.cg" \
      --toggle-collect=server_step "$d/bench/bench_handshake" 50 16
    BENCH_HS_ONLY=resumed run $ab 1 cgres valgrind --tool=callgrind --callgrind-out-file="$OUT/cgres.$ab.1.cg" \
      --toggle-collect=server_step "$d/bench/bench_handshake" 48 16
    for op in ecdhe sign verify; do # 50 steps: 50 ECDHE, 50 signs, 100 verifies
      BENCH_HS_ONLY=floor run $ab 1 cgfloor$op valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect=floor_${op}_step "$d/bench/bench_handshake" 50
    done
    if [ "$HUB" = 1 ]; then say "$ab: the hub under callgrind (rtt mode, 4 s)"; cg_hub $ab; fi
    if [ "$CA" != 0 ]; then # the stages of `bacsc ca sign` with their threads; the CSRs of the setup
      say "$ab: bench_ca 1000 2 under callgrind"
      run $ab 1 cgca valgrind --tool=callgrind --callgrind-out-file="$OUT/cgca.$ab.1.cg" \
        --toggle-collect=bacsc_ca_source_load_policy --toggle-collect=bacsc_ca_submit \
        --toggle-collect=bacsc_ca_approve --toggle-collect=bacsc_ca_response_write \
        --toggle-collect=worker --toggle-collect=file_sha_run --toggle-collect=fsync_run \
        --toggle-collect=ckpt_main "$d/bench/bench_ca" 1000 2 --json
      run $ab 1 cgcsr valgrind --tool=callgrind --callgrind-out-file="$OUT/cgcsr.$ab.1.cg" \
        --toggle-collect=bacsc_pki_make_csr "$d/bench/bench_ca" 1000 2 --json
    fi
  done
fi

say "raw outputs: $OUT"
A_RUN=$A_RUN B_RUN=$B_RUN BUILD_A=$BUILD_A BUILD_B=$BUILD_B PREFIX=$PREFIX JSON=$JSON \
  PAIRS=$PAIRS HS=$HS NODES=$NODES CA=$CA REV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?') \
  exec "$PY" "$SRC/bench/openssl_table.py" "$OUT"
