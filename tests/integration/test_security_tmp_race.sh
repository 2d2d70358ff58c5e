#!/usr/bin/env bash
# test_security_tmp_race.sh — another user attacks bacsc's output files
# (docs/security.md "Files"). Needs root (to act as the other user, `nobody`,
# with runuser); skipped (77) otherwise.
#
# The other user may write into the output directory in three ways — the
# directory is world-writable (sticky, like /tmp), writable by a group the
# other user is in, or owned by the other user — and there plants a symlink
# at the output name pointing at a file of ours, pre-creates the output file
# (keeping it open, to read whatever lands in it) and pre-creates likely
# temporary names, then swaps the temporary file while bacsc writes. bacsc
# must refuse such a directory before writing anything; in a directory only
# we can write, a symlink at the output name is replaced, never followed.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
[ "$(id -u)" = 0 ] || { echo "skip: needs root to act as another user"; exit 77; }
command -v runuser >/dev/null || { echo "skip: no runuser"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "skip: no user nobody"; exit 77; }
NOGROUP=$(id -gn nobody)
T=$(mktemp -d /tmp/test_security_tmp_race.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
chmod 711 "$T"
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
as_other() { runuser -u nobody -- "$@"; }
"$BACSC" ca init --dir ca --name "Race CA" >/dev/null
printf 'secret of ours\n' >victim && chmod 600 victim
VICTIM_SUM=$(sha256sum victim)

# the other user's preparations in DIR for output name NAME: likely temporary
# names pre-created (world-readable), and with LINK a symlink at NAME itself
# (a key output is never written over an existing name, so that one is left
# free for the key)
plant() { # plant DIR NAME [LINK]
  [ -n "${3:-}" ] && as_other ln -s "$T/victim" "$1/$2"
  for t in "$2.tmp" ".$2.tmp" "$2.new" "$2~" "$2.tmpXXXXXX"; do as_other touch "$1/$t"; done
  as_other chmod 666 "$1/$2.tmp"
}
# while bacsc runs: replace every temporary file that appears with the other
# user's own (what it would then rename into place)
swapper() { # swapper DIR
  as_other bash -c 'end=$((SECONDS + 20)); while [ $SECONDS -lt $end ]; do
    for f in "$1"/*.tmp??????; do [ -e "$f" ] || continue
      case "$f" in *XXXXXX) continue;; esac
      rm -f "$f" 2>/dev/null && printf "swapped by the other user\n" >"$f" 2>/dev/null; done; done' _ "$1" &
  PIDS+=($!)
}
check_unharmed() { # check_unharmed DIR NAME WHAT
  [ "$(sha256sum victim)" = "$VICTIM_SUM" ] || fail "$3: the symlink's target was overwritten"
  if [ -e "$1/$2" ] && [ ! -L "$1/$2" ]; then
    grep -q "swapped by the other user" "$1/$2" && fail "$3: the output holds the other user's content"
    [ "$(stat -c %U "$1/$2")" = root ] || fail "$3: the output is owned by $(stat -c %U "$1/$2")"
    as_other cat "$1/$2" >/dev/null 2>&1 && case "$2" in *.key) fail "$3: the other user reads the key";; esac
  fi
  return 0
}

attack() { # attack DIR WHAT — every writer refused, nothing written, nothing harmed
  local d=$1 what=$2 rc
  plant "$d" k.key; plant "$d" c.pem link; plant "$d" crl.pem link
  swapper "$d"
  set +e
  "$BACSC" ca issue --dir ca --generate-key --cn race --key-out "$d/k.key" --out "$d/c.pem" >out 2>err
  rc=$?
  set -e
  [ $rc != 0 ] || fail "$what: ca issue --key-out wrote into the directory"
  grep -q "another user can write into its directory" err || fail "$what: ca issue: $(cat err)"
  set +e; "$BACSC" ca crl --dir ca --out "$d/crl.pem" >out 2>err; rc=$?; set -e
  [ $rc != 0 ] || fail "$what: ca crl --out wrote into the directory"
  grep -q "another user can write into its directory" err || fail "$what: ca crl: $(cat err)"
  [ -e "$d/k.key" ] && fail "$what: a key file was written"
  for n in c.pem crl.pem; do
    [ -L "$d/$n" ] || fail "$what: $n is no longer the other user's symlink"
    check_unharmed "$d" $n "$what"
  done
  find "$d" -mindepth 1 -user root | grep -q . && fail "$what: bacsc left a file: $(find "$d" -mindepth 1 -user root)"
  echo "ok   $what: refused, nothing written, the symlink's target untouched"
}

# 1. world-writable sticky directory (like /tmp)
mkdir ww && chmod 1777 ww
attack ww "world-writable directory"
# 2. directory writable by a group the other user is in
mkdir grp && chgrp "$NOGROUP" grp && chmod 2770 grp
attack grp "directory writable by the other user's group"
# 3. directory owned by the other user
mkdir theirs && chown nobody theirs && chmod 755 theirs
attack theirs "directory owned by the other user"

# 4. our own directory (0755, only we write): a symlink left at an output
#    name (e.g. planted earlier, when the directory was open) is replaced, not
#    followed, and at a key's name refused; the key is 0600 and unreadable to
#    the other user
mkdir ours && chmod 755 ours
ln -s "$T/victim" ours/c.pem
ln -s "$T/victim" ours/old.key
"$BACSC" ca issue --dir ca --generate-key --cn race1 --key-out ours/old.key --out ours/c1.pem \
  >/dev/null 2>err && fail "our directory: a key was written through a symlink"
"$BACSC" ca issue --dir ca --generate-key --cn race2 --key-out ours/k.key --out ours/c.pem >/dev/null ||
  fail "writing into our own directory failed"
[ "$(sha256sum victim)" = "$VICTIM_SUM" ] || fail "our directory: the symlink's target was overwritten"
[ -L ours/c.pem ] && fail "our directory: the symlink was kept"
grep -q "BEGIN CERTIFICATE" ours/c.pem || fail "our directory: no certificate written"
[ "$(stat -c %a ours/k.key)" = 600 ] || fail "our directory: key mode $(stat -c %a ours/k.key)"
as_other cat ours/k.key >/dev/null 2>&1 && fail "our directory: the other user reads the key"
ls ours | grep -q tmp && fail "our directory: temporary files left: $(ls ours)"
echo "ok   own directory: a symlink at the output name is replaced, the key is 0600 and unreadable to others"
echo ok
