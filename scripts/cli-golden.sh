#!/usr/bin/env bash
# cli-golden.sh BACSC — print the command-line contract of BACSC: for the
# top level, every command listed by `bacsc help`, and every subcommand (to
# any depth) listed in a "commands:" section, the stdout, stderr and exit
# status of `--help`, of no arguments, of an unknown option and of
# `bacsc help CMD`. tests/cli/help.golden holds the expected text; regenerate
# it after an intended change with
#     scripts/cli-golden.sh build/bacsc > tests/cli/help.golden
# (integration.cli_golden compares, and says so when they differ).
set -uo pipefail
bacsc=$(realpath "${1:?usage: cli-golden.sh BACSC}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/cwd" && cd "$tmp/cwd" || exit 1 # an empty working directory
# a fixed environment: no profile, CA dir or locale from the caller
run() {
  local rc=0
  env -i PATH=/usr/bin:/bin HOME="$tmp" LC_ALL=C "$bacsc" "$@" >"$tmp/o" 2>"$tmp/e" </dev/null || rc=$?
  echo "=== bacsc $* (exit $rc)"
  if [ -s "$tmp/o" ]; then echo "--- stdout"; cat "$tmp/o"; fi
  if [ -s "$tmp/e" ]; then echo "--- stderr"; cat "$tmp/e"; fi
}
list_commands() {
  sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p'
}
walk() { # walk WORD... — record one command and recurse into its subcommands
  run "$@" --help
  run "$@"
  run "$@" --no-such-option
  local subs
  subs=$(env -i PATH=/usr/bin:/bin LC_ALL=C "$bacsc" "$@" --help 2>/dev/null | list_commands)
  for s in $subs; do walk "$@" "$s"; done
}
run
run --help
run help
run --version | sed 's/^bacsc [0-9][^ ]*$/bacsc VERSION/'
run no-such-command
for c in $(env -i PATH=/usr/bin:/bin "$bacsc" help | list_commands); do
  walk "$c"
  run help "$c"
done
# commands whose subcommands are not listed in a "commands:" section
run web user --help
run web token --no-such-option
# bad option values are refused in one line
run ca pending --batch xx
run ca list --expiring zz
run site status --expiring-days zz
run read --timeout zz 1 device,1 object-name
run hub --max-peers zz
