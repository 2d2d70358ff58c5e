#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded
# time, starting from the committed seed corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default 60 s, every target
# New inputs found go to build-fuzz/corpus/<target>/; crashes to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
secs=${1:-60}; shift || true
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DBACSC_FUZZ=ON -DBACSC_SANITIZE=ON \
      -DBACSC_TESTS=OFF -DBACSC_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
mkdir -p build-fuzz/crashes
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Targets run side by side, one per core (BACSC_FUZZ_JOBS overrides), so CI's
# time grows with targets/cores rather than with the number of targets.
jobs=${BACSC_FUZZ_JOBS:-$(nproc)}
run_target() {
  local t=$1 dict=()
  mkdir -p "build-fuzz/corpus/$t"
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  if "build-fuzz/fuzz/fuzz_$t" "build-fuzz/corpus/$t" "fuzz/corpus/$t" "${dict[@]}" \
       -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/crashes/$t-" 2>"build-fuzz/$t.log"; then
    echo ok >"build-fuzz/$t.result"
  else
    echo failed >"build-fuzz/$t.result"
  fi
}
running=0
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${secs}s"
  rm -f "build-fuzz/$t.result"
  run_target "$t" &
  running=$((running+1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running-1)); fi
done
wait
fail=0; passed=0; failed=0
for t in "${targets[@]}"; do
  if [ "$(cat "build-fuzz/$t.result" 2>/dev/null)" = ok ]; then
    echo "fuzz $t: $(grep -E 'stat::number_of_executed_units' "build-fuzz/$t.log" | tail -1)"
    passed=$((passed+1))
  else
    echo "FUZZ FAILURE in $t:"; tail -60 "build-fuzz/$t.log"; fail=1; failed=$((failed+1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
exit $fail
