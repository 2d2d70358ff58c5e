#!/usr/bin/env bash
# The command-line contract: --help, usage and error output and exit status
# of every command and subcommand (discovered from the help texts) are
# exactly those recorded in tests/cli/help.golden. After an intended change,
# regenerate the file (scripts/cli-golden.sh build/bacsc > tests/cli/help.golden)
# and review the diff.
set -euo pipefail
: "${BACSC:?}" "${BACSC_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BACSC_SRC/scripts/cli-golden.sh" "$BACSC" >"$tmp/now"
n=$(grep -c '^=== ' "$tmp/now")
[ "$n" -ge 130 ] || { echo "FAIL: only $n command lines recorded" >&2; exit 1; }
if ! diff -u "$BACSC_SRC/tests/cli/help.golden" "$tmp/now" >"$tmp/diff"; then
  head -80 "$tmp/diff" >&2
  echo "FAIL: command-line output differs from tests/cli/help.golden; if intended, run" >&2
  echo "  scripts/cli-golden.sh build/bacsc > tests/cli/help.golden   and commit it" >&2
  exit 1
fi
echo "ok: $n command lines match tests/cli/help.golden"
