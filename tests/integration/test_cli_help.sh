#!/usr/bin/env bash
# Every command listed by `bacsc help`, and every subcommand its own --help
# lists, (1) answers --help with exit 0 and a "usage:" line on stdout,
# (2) refuses --no-such-option with exit 2 and exactly one stderr line
# "bacsc ...", (3) `bacsc help CMD` works, and (4) an argument past the
# documented ones is refused (exit 2, one line naming it). Commands are
# discovered from the help output, so new ones are covered without editing
# this test.
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

# an argument beyond the documented ones is refused before anything is done:
# exit 2 and one line naming it (PROG|COMMAND LINE, run against the CA made
# above; nothing may be written)
mkdir "$tmp/x"
cp "$tmp/ca/policy.json" "$tmp/policy.before"
C="--dir $tmp/ca"
X=$tmp/x
while IFS='|' read -r prog args; do
  rc=0
  # shellcheck disable=SC2086
  "$BACSC" $args EXTRA </dev/null >/dev/null 2>"$tmp/err" || rc=$?
  want="bacsc $prog: unexpected argument 'EXTRA'" # a hint may follow
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ "$(head -c ${#want} "$tmp/err")" = "$want" ] ||
    fail "$args EXTRA: exit $rc, stderr: $(head -3 "$tmp/err")"
done <<EOF
ca init|ca init $C --name T2
ca csr|ca csr $C --out $X/ca.csr
ca install-cert|ca install-cert $C $X/ca.pem
ca policy|ca policy $C show
ca policy|ca policy $C set validity_days 30
ca submit|ca submit $C $X/req.zip
ca pending|ca pending $C
ca sign|ca sign $C $X/req.zip --out $X/resp.zip
ca issue|ca issue $C --generate-key --cn t --key-out $X/t.key --out $X/t.pem
ca respond|ca respond $C --batch 1 --out $X/resp.zip
ca list|ca list $C
ca revoke|ca revoke $C 01
ca crl|ca crl $C --out $X/ca.crl
ca batches|ca batches $C
ca audit|ca audit $C
ca backup|ca backup $C --out $X/ca.bak --unencrypted
ca restore|ca restore --dir $X/restored $X/ca.bak
cari inspect|cari inspect $X/req.zip
pki demo|pki demo --out $X/demo
site init|site init --db $X/site.db --name S --ca $tmp/ca/ca.pem
site import|site import --db $X/site.db $X/resp.zip
web user|web user --web-db $X/web.db list
web token|web token --web-db $X/web.db list
web token|web token --web-db $X/web.db create --user u
web|web --listen 127.0.0.1:1 --cert $X/c.pem --key $X/k.pem
status|status --status-file $X/s.json
read|read 1 device,1 object-name
write|write 1 analog-value,1 present-value 5
readm|readm 1 all object-name
device|device --pics
EOF

# other bad command lines: exit 2 and exactly this one line on stderr, before
# anything is opened or written (ARGS, shell-quoted | the whole stderr line)
"$BACSC" site init --db "$tmp/site.db" --name S --ca "$tmp/ca/ca.pem" >/dev/null
S="--db $tmp/site.db"
while IFS='|' read -r args want; do
  rc=0
  eval "set -- $args"
  "$BACSC" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" -eq 2 ] && [ "$(cat "$tmp/err")" = "$want" ] ||
    fail "$args: exit $rc, stderr: $(head -3 "$tmp/err") (expected: $want)"
done <<EOF
ca policy $C FOO|bacsc ca policy: unknown command 'FOO' (see 'bacsc ca policy --help')
ca policy $C sho|bacsc ca policy: unknown command 'sho'; did you mean 'show'? (see 'bacsc ca policy --help')
ca policy $C set validity_days|bacsc ca policy: set: KEY and VALUE are required
web user --web-db $X/web.db FOO|bacsc web user: unknown command 'FOO' (see 'bacsc web user --help')
web token --web-db $X/web.db revok 1|bacsc web token: unknown command 'revok'; did you mean 'revoke'? (see 'bacsc web token --help')
web user --web-db $X/web.db remove|bacsc web user: remove: NAME is required
web token --web-db $X/web.db revoke abc|bacsc web token: revoke: 'abc' is not a token id (a number, see 'bacsc web token list')
web token --web-db $X/web.db revoke 0|bacsc web token: revoke: '0' is not a token id (a number, see 'bacsc web token list')
readm 1 device,1 object-name device,2|bacsc readm: object 'device,2' has no PROPERTY-LIST (see --help)
ca pending --dir ''|bacsc ca pending: --dir: empty DIR
ca csr $C --out=|bacsc ca csr: --out: empty FILE
decode --file ''|bacsc decode: --file: empty FILE
hub --config ''|bacsc hub: --config: empty FILE
status --status-file ''|bacsc status: --status-file: empty FILE
site show --db ''|bacsc site show: --db: empty FILE
web --listen 127.0.0.1:1 --cert ''|bacsc web: --cert: empty FILE
ca approve $C ''|bacsc ca approve: bad request id '' (ids and ranges: 11,12,14-16)
ca approve $C 1,,2|bacsc ca approve: bad request id '1,,2' (ids and ranges: 11,12,14-16)
ca revoke $C zz|bacsc ca revoke: 'zz' is not a serial number (hex, as 'bacsc ca list' shows it)
ca revoke $C ''|bacsc ca revoke: '' is not a serial number (hex, as 'bacsc ca list' shows it)
site request $S --out $X/r.zip ''|bacsc site request: bad device list '' (instances and ranges: 1001-1010,1020)
site status $S --filter ''|bacsc site status: bad filter '' (cert=S, mode=M, name=GLOB or 1001-1010)
site status $S --filter name=|bacsc site status: bad filter 'name=' (cert=S, mode=M, name=GLOB or 1001-1010)
site trust $S foo $tmp/ca/ca.pem 1|bacsc site trust: unknown command 'foo' (see 'bacsc site trust --help')
site trust $S ad $tmp/ca/ca.pem 1|bacsc site trust: unknown command 'ad'; did you mean 'add'? (see 'bacsc site trust --help')
site trust $S add $tmp/ca/ca.pem 1 EXTRA|bacsc site trust: unexpected argument 'EXTRA'
site trust $S add '' 1|bacsc site trust: empty CA_CERT
site crl $S pash $tmp/ca/ca.pem 1|bacsc site crl: unknown command 'pash'; did you mean 'push'? (see 'bacsc site crl --help')
site crl $S push $tmp/ca/ca.pem 1 EXTRA|bacsc site crl: unexpected argument 'EXTRA'
site crl $S push '' 1|bacsc site crl: empty CRL
site mode $S xx 1|bacsc site mode: unknown mode 'xx' (ip, dual or sc)
site mode $S sc 1 EXTRA|bacsc site mode: unexpected argument 'EXTRA'
site import $S ''|bacsc site import: empty response FILE
site init --db $X/s.db --name S --ca ''|bacsc site init: --ca: empty CA_CERT
ca install-cert $C ''|bacsc ca install-cert: empty certificate FILE
ca submit $C ''|bacsc ca submit: empty SOURCE
ca sign $C --out $X/r.zip ''|bacsc ca sign: empty SOURCE
ca restore --dir $X/r ''|bacsc ca restore: empty backup FILE
cari inspect ''|bacsc cari inspect: empty FILE
ca list $C --expiring ' 5'|bacsc ca list: --expiring: ' 5' is not a number in 1..36500
ca list $C --expiring +5|bacsc ca list: --expiring: '+5' is not a number in 1..36500
ca pending $C --batch ' 5'|bacsc ca pending: bad value ' 5' for --batch (see --help)
ca approve $C +1|bacsc ca approve: bad request id '+1' (ids and ranges: 11,12,14-16)
status --status-file $X/s.json --timeout 0x10|bacsc status: --timeout: '0x10' is not a number of seconds (0..86400)
read +1 device,1 object-name|bacsc read: DEVICE: '+1' is not a number in 0..4194302
ca help pendng|bacsc ca: unknown command 'pendng'; did you mean 'pending'? (see 'bacsc ca --help')
site help FOO|bacsc site: unknown command 'FOO' (see 'bacsc site --help')
help ca FOO|bacsc ca: unknown command 'FOO' (see 'bacsc ca --help')
help ca pending EXTRA|bacsc help: unexpected argument 'EXTRA'
ca init --dir $X/ca2 --name ''|bacsc ca init: --name: empty NAME
hub --listen '' --insecure-plaintext|bacsc hub: --listen: empty ADDR:PORT
site discover $S --bip-local ''|bacsc site discover: --bip-local: empty ADDR:PORT
EOF
# "help CMD SUB" is "CMD SUB --help"
"$BACSC" help ca pending >"$tmp/out" && "$BACSC" ca pending --help | cmp -s - "$tmp/out" ||
  fail "bacsc help ca pending is not the help of ca pending"
[ -z "$(ls -A "$tmp/x")" ] || fail "refused command lines left files: $(ls "$tmp/x")"
cmp -s "$tmp/ca/policy.json" "$tmp/policy.before" || fail "a refused 'ca policy set' changed the policy"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: ${#cmds[@]} commands, $nsub subcommands"
