#!/usr/bin/env bash
# docs/application.md's PICS table is exactly what `bacsc device --pics`
# prints (generated from the device's own tables), so the two cannot drift.
set -euo pipefail
: "${BACSC:?}" "${BACSC_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BACSC" device --pics >"$tmp/now"
sed -n '/<!-- pics:begin -->/,/<!-- pics:end -->/p' "$BACSC_SRC/docs/application.md" |
  sed '1d;$d' >"$tmp/doc"
[ -s "$tmp/doc" ] || { echo "FAIL: no pics block in docs/application.md" >&2; exit 1; }
grep -q '^| analog-value (commandable) | current-command-priority | required | R |$' "$tmp/now" ||
  { echo "FAIL: the table lacks Current_Command_Priority" >&2; exit 1; }
if ! diff -u "$tmp/doc" "$tmp/now"; then
  echo "FAIL: docs/application.md PICS differs from 'bacsc device --pics'; paste the new output" >&2
  exit 1
fi
echo "ok: PICS in docs/application.md matches bacsc device --pics ($(wc -l <"$tmp/now") lines)"
