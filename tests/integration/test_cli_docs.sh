#!/usr/bin/env bash
# Man pages, bash completion, systemd units and example configs:
# (1) the build rendered bacsc.1 and one bacsc-<command>.1 per command, and
#     each still equals what `bacsc help --man` renders now (no drift);
# (2) every option named in a command's (or subcommand's) --help appears in
#     its man page, and man renders every page without a warning;
# (3) the bash completion completes commands, subcommands (also after
#     options: "ca --dir X pe") and option names;
# (4) `cmake --install` puts the pages where `man bacsc-site` finds them, the
#     completion, the systemd units (pointing at the installed bacsc) and the
#     example configs;
# (5) the example hub.json and device.json are accepted by bacsc hub/device:
#     a hub started from one and a device from the other join up.
set -euo pipefail
: "${BACSC:?}" "${BACSC_BUILD:?}" "${BACSC_SRC:?}"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
list_commands() { sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p'; }
roff_text() { sed 's/\\-/-/g; s/\\e/\\/g; s/\\f[BIR]//g' "$1"; }

# (1) pages exist and match
mapfile -t cmds < <("$BACSC" help | list_commands)
[ "${#cmds[@]}" -ge 10 ] || fail "only ${#cmds[@]} commands"
"$BACSC" help --man >"$tmp/bacsc.1"
cmp -s "$tmp/bacsc.1" "$BACSC_BUILD/man/bacsc.1" || fail "build/man/bacsc.1 is stale"
for c in "${cmds[@]}"; do
  page="$BACSC_BUILD/man/bacsc-$c.1"
  [ -f "$page" ] || { fail "no $page"; continue; }
  "$BACSC" help --man "$c" >"$tmp/now.1"
  cmp -s "$tmp/now.1" "$page" || fail "$page differs from 'bacsc help --man $c'"
  roff_text "$tmp/bacsc.1" | grep -q "^bacsc-$c(1)" || fail "bacsc.1 does not list bacsc-$c(1)"
  # (2) options of the command and of each subcommand are in its page
  roff_text "$page" >"$tmp/page.txt"
  { "$BACSC" "$c" --help
    for s in $("$BACSC" "$c" --help | list_commands); do "$BACSC" "$c" "$s" --help; done
  } >"$tmp/help.txt"
  for o in $(grep -oE '(^|[ [(,|])--[a-z][a-z0-9-]+' "$tmp/help.txt" | sed 's/^[^-]*//' | grep -vx -- --help | sort -u); do
    grep -qe "$o" "$tmp/page.txt" || fail "bacsc-$c.1 does not mention $o"
  done
  warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warn" ] || fail "man warns on bacsc-$c.1: $(echo "$warn" | head -2)"
  LC_ALL=C MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "bacsc-$c  *- " || fail "bacsc-$c.1: no NAME line"
done

# (3) completion
comp() { # expected words... -- COMP_WORDS...
  local want=() got
  while [ "$1" != "--" ]; do want+=("$1"); shift; done; shift
  got=$(bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _bacsc; echo "${COMPREPLY[*]}"' \
        _ "$BACSC_BUILD/bacsc.bash-completion" "$@")
  [ "$got" = "${want[*]}" ] || fail "completion of '$*': '$got', expected '${want[*]}'"
}
comp ca cari -- bacsc c
comp pending -- bacsc ca pen
comp pending -- bacsc ca --dir x pen
comp --listen -- bacsc hub --lis
comp --all-states -- bacsc ca pending --all
comp --expiring-days -- bacsc site status --exp

# (4) install
prefix="$tmp/prefix"
cmake --install "$BACSC_BUILD" --prefix "$prefix" >/dev/null
LC_ALL=C MANPATH="$prefix/share/man" MANWIDTH=80 man bacsc-site 2>/dev/null | grep -q 'site discover' ||
  fail "man bacsc-site does not work after install"
MANPATH="$prefix/share/man" man -w bacsc >/dev/null 2>&1 || fail "man bacsc not found after install"
[ -f "$prefix/share/bash-completion/completions/bacsc" ] || fail "completion not installed"
for u in bacsc-hub.service bacsc-device@.service bacsc-web.service; do
  f="$prefix/lib/systemd/system/$u"
  [ -f "$f" ] || { fail "$u not installed"; continue; }
  exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$f")
  [ "$exe" = "$prefix/bin/bacsc" ] && [ -x "$exe" ] || fail "$u: ExecStart binary '$exe'"
  grep -q '^ExecStart=.* --config /etc/bacsc/' "$f" || fail "$u: no --config"
done
for e in hub.json device.json web.json; do
  [ -f "$prefix/share/doc/bacsc/examples/$e" ] || fail "example $e not installed"
done

# (5) the examples work: paths swapped for test certificates on 127.0.0.1
cd "$tmp"
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' >ext
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 2 -subj /CN=testCA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
for n in hub device; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out $n.pem 2>/dev/null
done
chmod 600 ./*.key
/usr/bin/python3 - "$BACSC_SRC/docs/examples" "$tmp" <<'PY'
import json, sys
src, tmp = sys.argv[1], sys.argv[2]
def fix(v):
    if isinstance(v, list): return [fix(x) for x in v]
    if isinstance(v, str) and v.startswith(("/etc/bacsc/", "/var/lib/bacsc/", "/run/bacsc/")):
        name = v.rsplit("/", 1)[1]
        return f"{tmp}/run-{name}" if v.startswith("/run/") else f"{tmp}/{name}"
    return v
for name in ("hub.json", "device.json", "web.json"):
    d = {k: fix(v) for k, v in json.load(open(f"{src}/{name}")).items()}
    if name == "web.json":
        d["listen"] = "127.0.0.1:0"
        d["ca-dir"] = f"{tmp}/ca"
        del d["ca-passphrase-file"], d["site-db"]
    elif name == "hub.json":
        d["listen"] = "127.0.0.1:0"
    else:
        d["hub"] = "wss://127.0.0.1:HUBPORT"; d["failover"] = "wss://127.0.0.1:HUBPORT"
    json.dump(d, open(f"{tmp}/{name}", "w"))
PY
openssl ca -gencrl -keyfile ca.key -cert ca.pem -out ca.crl -config <(printf '[ca]\ndefault_ca=d\n[d]\ndatabase=idx\ndefault_md=sha256\ndefault_crl_days=2\n') 2>/dev/null ||
  { : >idx; openssl ca -gencrl -keyfile ca.key -cert ca.pem -out ca.crl -config <(printf '[ca]\ndefault_ca=d\n[d]\ndatabase=idx\ndefault_md=sha256\ndefault_crl_days=2\n') 2>/dev/null; }
"$BACSC" hub --config hub.json --log-level info >hub.log 2>&1 &
pids+=($!)
port=
for _ in $(seq 100); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' hub.log | head -1 | grep -oE '[0-9]+$' || true)
  [ -n "$port" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  fail "hub did not start from the example hub.json: $(tail -3 hub.log)"
else
  sed -i "s/HUBPORT/$port/g" device.json
  "$BACSC" device --config device.json --log-level info >device.log 2>&1 &
  pids+=($!)
  ok=
  for _ in $(seq 100); do
    grep -q 'node joined' hub.log && { ok=1; break; }
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ok" ] || fail "device from the example device.json did not join: $(tail -3 device.log)"
fi

# the web console from the example web.json (a CA to serve; web.pem from the test CA)
"$BACSC" ca init --dir ca --name "Example CA" >/dev/null
cp hub.pem web.pem; cp hub.key web.key
"$BACSC" web --config web.json >web.log 2>&1 &
pids+=($!)
ok=
for _ in $(seq 100); do
  grep -q '^bacsc web: serving https://127.0.0.1:[0-9]*/' web.log && { ok=1; break; }
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ok" ] || fail "web console did not start from the example web.json: $(tail -3 web.log)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "ok: ${#cmds[@]} man pages, completion, install, examples"
