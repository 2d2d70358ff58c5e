#!/usr/bin/env bash
# test_bench_openssl.sh — bench/openssl.sh refuses what it cannot use before
# building anything: a bad command line exits 2, a prefix without a usable
# OpenSSL 3 exits 1 with one line naming the problem, --help exits 0.
# (A real comparison needs a second OpenSSL, which CI does not have; see
# bench/README.md, "The same code against a newer OpenSSL".)
set -euo pipefail
: "${BACSC_SRC:?source directory}"
S=$BACSC_SRC/bench/openssl.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # exit-status message-pattern args...
  local want=$1 pat=$2 rc=0
  shift 2
  "$S" "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$work/err" >&2; fail "'$*' exited $rc, not $want"; }
  [ ! -s "$work/out" ] || fail "'$*' printed on stdout: $(head -2 "$work/out")"
  head -1 "$work/err" | grep -q -- "^bench/openssl.sh: .*$pat" ||
    fail "'$*': first line '$(head -1 "$work/err")' does not name '$pat'"
  if [ "$want" = 1 ]; then
    [ "$(wc -l <"$work/err")" = 1 ] || fail "'$*': more than one line: $(cat "$work/err")"
  fi
  echo "ok: $* -> $rc: $(head -1 "$work/err")"
}

expect 2 "--openssl-prefix DIR is required"
expect 2 "--openssl-prefix DIR is required" --pairs 2
expect 2 "unknown argument '--frobnicate'" --openssl-prefix "$work" --frobnicate
expect 2 "--pairs needs a positive number, not 'x'" --openssl-prefix "$work" --pairs x
expect 2 "--pairs needs a positive number, not '0'" --openssl-prefix "$work" --pairs 0
expect 2 "--handshakes needs a positive number" --openssl-prefix "$work" --handshakes -5
expect 2 "--nodes is at most 256" --openssl-prefix "$work" --nodes 300
expect 2 "--ca needs a value" --openssl-prefix "$work" --ca
expect 1 "no directory $work/none" --openssl-prefix "$work/none"
expect 1 "no OpenSSL under $work (no include/openssl/opensslv.h)" --openssl-prefix "$work"

# OpenSSL 1.1.1's header: no OPENSSL_VERSION_MAJOR
mkdir -p "$work/old/include/openssl"
cat >"$work/old/include/openssl/opensslv.h" <<'H'
# define OPENSSL_VERSION_NUMBER  0x1010117fL
# define OPENSSL_VERSION_TEXT    "OpenSSL 1.1.1w  11 Sep 2023"
H
expect 1 "has OpenSSL 1.1.1w  11 Sep 2023; OpenSSL 3.0 or later is needed" --openssl-prefix "$work/old"

# 3.x headers (laid out as Debian's unpacked package: DIR/usr) but no libraries
mkdir -p "$work/deb/usr/include/openssl"
cat >"$work/deb/usr/include/openssl/opensslv.h" <<'H'
# define OPENSSL_VERSION_MAJOR 3
# define OPENSSL_VERSION_STR "3.5.7"
# define OPENSSL_VERSION_TEXT "OpenSSL 3.5.7 1 Jan 2026"
H
expect 1 "has OpenSSL 3.5.7 headers but no libssl.so and libcrypto.so" --openssl-prefix "$work/deb"

# the system's own OpenSSL is nothing to compare with (refused before building)
if [ "$(pkg-config --variable=prefix openssl 2>/dev/null)" = /usr ]; then
  expect 1 "holds the system's own OpenSSL .*: nothing to compare" --openssl-prefix /usr
fi

"$S" --help >"$work/out" 2>&1 || fail "--help exited $?"
grep -q -- "--openssl-prefix DIR" "$work/out" || fail "--help does not describe --openssl-prefix"
echo ok
