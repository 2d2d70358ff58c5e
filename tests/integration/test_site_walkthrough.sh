#!/usr/bin/env bash
# The new-user walk-through of docs/site.md, run verbatim: every fenced block
# marked "sh walkthrough" is taken from the document, in order, and run in an
# empty folder with `bacsc` on PATH, against real processes (CA, hub, five
# devices, the tool). Then the site must be commissioned: five devices on
# BACnet/SC with valid certificates. The document's fixed ports (4443,
# 47808…) are made safe by a private network namespace (unshare -n as root,
# else a user namespace; neither available: skipped, exit 77). If the docs
# drift from the tool, this fails.
set -euo pipefail
: "${BACSC:?BACSC must name the bacsc binary}"
: "${BACSC_SRC:?BACSC_SRC must name the source tree}"
if [ "${BACSC_WALK_NETNS:-}" != 1 ]; then
  export BACSC_WALK_NETNS=1
  if unshare -n true 2>/dev/null; then exec unshare -n bash "$0" "$@"; fi
  if unshare -rn true 2>/dev/null; then exec unshare -rn bash "$0" "$@"; fi
  echo "skipped: no network namespace available (unshare -n / unshare -rn)"
  exit 77
fi
ip link set lo up
T=$(mktemp -d /tmp/test_site_walkthrough.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin" "$T/run"
ln -s "$(realpath "$BACSC")" "$T/bin/bacsc"
unset BACSC_SITE_DB BACSC_CA_DIR BACSC_PROFILE

python3 - "$BACSC_SRC/docs/site.md" >"$T/walk.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^```sh walkthrough\n(.*?)^```\n", text, flags=re.S | re.M)
if len(blocks) < 8:
    sys.exit(f"docs/site.md: only {len(blocks)} walk-through blocks")
# background processes (hub, devices) end with the walk-through
print("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT")
for i, b in enumerate(blocks, 1):
    print(f"echo '--- block {i}' >&2")
    print(b)
# the result: a commissioned site
print('''bacsc site status --json | python3 -c "
import json, sys
rows = json.load(sys.stdin)['rows']
assert len(rows) == 5, rows
for r in rows:
    assert r['mode'] == 'sc' and r['cert_status'] == 'valid', r
print('walk-through: 5 devices on BACnet/SC with valid certificates')"''')
PY
for cmd in "ca init" "ca issue" "bacsc hub" "bacsc device" "site init" "site discover" \
           "site request" "ca sign" "site import" "site mode sc" "bacsc read" "bacsc whois"; do
  grep -q "$cmd" "$T/walk.sh" || { echo "FAIL: the walk-through has no '$cmd'" >&2; exit 1; }
done
cd "$T/run"
start=$(date +%s)
PATH="$T/bin:$PATH" bash -euo pipefail -x "$T/walk.sh" >"$T/out" 2>"$T/err" || {
  echo "FAIL: the walk-through stopped (exit $?):" >&2; tail -30 "$T/err" >&2; tail -10 "$T/out" >&2
  for f in hub.log devices.log; do [ -f "plant-a/$f" ] && { echo "== $f" >&2; tail -5 "plant-a/$f" >&2; }; done
  exit 1
}
grep -qx "connected-to-primary" "$T/out" || { echo "FAIL: read did not print connected-to-primary" >&2; cat "$T/out" >&2; exit 1; }
tail -1 "$T/out"
echo "ok: docs/site.md walk-through ran verbatim in $(($(date +%s) - start)) s"
