#!/usr/bin/env bash
# Builds bacsc and runs the whole test suite (unit, integration, corpus replay).
#   scripts/test.sh              gcc, -Werror, every test
#   scripts/test.sh --sanitize   clang with AddressSanitizer + UBSan, every test
#   scripts/test.sh --clang      clang, -Werror, every test
# Extra arguments after -- go to ctest (e.g. -- -R unit.bvlc).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
mode=gcc
if [ "${1:-}" = --sanitize ] || [ "${1:-}" = --clang ]; then mode=${1#--}; shift; fi
[ "${1:-}" = -- ] && shift
case $mode in
  gcc)      dir=build;      cfg=(-DCMAKE_C_COMPILER=gcc) ;;
  clang)    dir=build-clang; cfg=(-DCMAKE_C_COMPILER=clang) ;;
  sanitize) dir=build-asan; cfg=(-DCMAKE_C_COMPILER=clang -DBACSC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DBACSC_BENCH=OFF) ;;
esac
cmake -S . -B "$dir" -G Ninja "${cfg[@]}" >/dev/null
cmake --build "$dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Real-process tests share two cores with everything else on the machine; a
# test that fails is rerun once and reported as failed only if it fails again
# (ctest prints every failed attempt, so flakiness stays visible in the log).
# Heavy `scale` tests (thousands of connections) are skipped under sanitizers.
skip=()
[ "$mode" = sanitize ] && skip=(-LE scale)
ctest --test-dir "$dir" --output-on-failure -j2 --repeat until-pass:2 "${skip[@]}" "$@"
