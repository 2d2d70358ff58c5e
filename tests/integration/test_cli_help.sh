#!/usr/bin/env bash
# Every command listed by `bacsc help`, and every subcommand its own --help
# lists, (1) answers --help with exit 0 and a "usage:" line on stdout,
# (2) refuses --no-such-option with exit 2 and exactly one stderr line
# "bacsc ...", and (3) `bacsc help CMD` works. Commands are discovered from
# the help output, so new ones are covered without editing this test.
set -euo pipefail
: "${BACSC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# names in the "commands:" section of a help text (read on stdin)
list_commands() {
  sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p'
}

check() { # check WORD... — one command or "command subcommand"
  local rc=0 n
  "$BACSC" "$@" --help >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 0 ] || fail "'$*' --help exit $rc"
  grep -q '^usage:' "$tmp/out" || fail "'$*' --help: no usage: line on stdout"
  rc=0
  "$BACSC" "$@" --no-such-option >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  [ "$rc" -eq 2 ] || fail "'$*' --no-such-option: exit $rc, expected 2"
  n=$(wc -l <"$tmp/err")
  [ "$n" -eq 1 ] || fail "'$*' --no-such-option: $n lines on stderr, expected 1: $(head -3 "$tmp/err")"
  grep -q '^bacsc ' "$tmp/err" || fail "'$*' --no-such-option: stderr does not begin 'bacsc ': $(head -1 "$tmp/err")"
}

"$BACSC" help >"$tmp/top" || fail "bacsc help exit $?"
mapfile -t cmds < <(list_commands <"$tmp/top")
[ "${#cmds[@]}" -ge 10 ] || { echo "FAIL: only ${#cmds[@]} commands parsed from bacsc help" >&2; exit 1; }

nsub=0
for c in "${cmds[@]}"; do
  check "$c"
  rc=0
  "$BACSC" help "$c" >"$tmp/h" 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 0 ] || fail "bacsc help $c: exit $rc"
  grep -q '^usage:' "$tmp/h" || fail "bacsc help $c: no usage: line"
  "$BACSC" "$c" --help 2>/dev/null | list_commands >"$tmp/subs" || true
  while read -r s; do
    check "$c" "$s"
    nsub=$((nsub + 1))
  done <"$tmp/subs"
done
# the commands known to have subcommands must have been found to have them
for c in ca cari pki site bench; do
  "$BACSC" "$c" --help | list_commands | grep -q . || fail "no subcommands parsed for $c"
done
[ "$nsub" -ge 25 ] || fail "only $nsub subcommands parsed"

# an unknown command is refused the same way
rc=0
"$BACSC" no-such-command >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "unknown command exit $rc"

# a bad option value is refused in one line too (ca: no usage dump)
for a in "pending --batch xx" "approve --reason r 1" "list --expiring zz" "audit --since -3"; do
  rc=0
  # shellcheck disable=SC2086
  "$BACSC" ca $a --dir "$tmp/no-ca" >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "ca $a: exit $rc"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^bacsc ca ' "$tmp/err" || fail "ca $a: stderr $(head -3 "$tmp/err")"
done

# a mistyped command gets a hint, still in one line with exit 2
for a in "sit|bacsc: unknown command 'sit'; did you mean 'site'? (see 'bacsc help')" \
         "help sitee|bacsc: unknown command 'sitee'; did you mean 'site'?" \
         "ca pendng|bacsc ca: unknown command 'pendng'; did you mean 'pending'? (see 'bacsc ca --help')"; do
  rc=0
  # shellcheck disable=SC2086
  "$BACSC" ${a%%|*} >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 2 ] && [ "$(cat "$tmp/err")" = "${a#*|}" ] || fail "${a%%|*}: exit $rc, stderr $(cat "$tmp/err")"
done

# options before the subcommand work as after it
rc=0
"$BACSC" ca --dir "$tmp/no-ca" --json pending >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "^bacsc ca pending: no CA in $tmp/no-ca" "$tmp/err" ||
  fail "ca --dir X --json pending: exit $rc, $(head -2 "$tmp/err")"
"$BACSC" ca init --dir "$tmp/ca" --name T >/dev/null
"$BACSC" ca --dir "$tmp/ca" --json pending >"$tmp/out" || fail "ca --dir X --json pending failed"
[ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] || fail "ca --dir X --json pending: $(head -3 "$tmp/out")"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: ${#cmds[@]} commands, $nsub subcommands"
