#!/usr/bin/env bash
# The fuzzing campaign (docs/fuzzing.md): builds the libFuzzer targets into build-fuzz/ with
# clang++ (AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for a stated number of
# executions, at most JOBS at a time, under `nice -n 19`, starting from its seed corpus
# (tests/fuzz/corpus/<target>/, never written to) plus what earlier campaigns found
# (build-fuzz/campaign/corpus/<target>/, where new inputs go).
#
# Usage: bench/fuzz.sh [--runs N] [--jobs J] [--until HH:MM] [target ...]
#   --runs N      executions per target (default 10000000)
#   --jobs J      targets fuzzed at once (default 2)
#   --until HH:MM end the campaign by that UTC time: each target gets its share of the time left
#                 (libFuzzer's -max_total_time), so that every log ends with its final statistics
#   targets       default: all (tests/fuzz/targets.cmake)
# Per target: build-fuzz/campaign/logs/<target>.log, crashes under
# build-fuzz/campaign/artifacts/<target>/, and a row in build-fuzz/campaign/summary.tsv:
# target, executions, seconds, exec/s, cov, ft, corpus files, corpus bytes, exit status, crash files.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10000000
jobs=2
until_time=""
targets=()
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --until) until_time=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  read -r -a targets <<<"$(sed -n 's/^set(KFORGE_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/targets.cmake)"
fi

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  cmake -S . -B build-fuzz "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKFORGE_FUZZ=ON >/dev/null
fi
nice -n 19 cmake --build build-fuzz -j "$jobs" --target kforge_fuzz_targets

campaign=build-fuzz/campaign
mkdir -p "$campaign/logs"
summary=$campaign/summary.tsv
[ -f "$summary" ] || printf 'target\texecutions\tseconds\texec_per_s\tcov\tft\tcorpus_files\tcorpus_bytes\texit\tcrashes\n' >"$summary"

fuzz_one() {
  local target=$1
  local corpus=$campaign/corpus/$target artifacts=$campaign/artifacts/$target/
  local log=$campaign/logs/$target.log
  mkdir -p "$corpus" "$artifacts"
  local limit=() remaining=$2
  if [ -n "$until_time" ]; then
    # This target's share of the time left: the slots still to fill share it evenly.
    local end
    end=$(date -u -d "$until_time" +%s)
    # A time earlier than now is tomorrow's (a campaign started before midnight).
    if ((end < $(date -u +%s))); then end=$((end + 86400)); fi
    local left=$((end - $(date -u +%s)))
    local share=$((left * jobs / (remaining > jobs ? remaining : jobs)))
    if ((left < 10)); then echo "fuzz: $target: no time left before $until_time"; return; fi
    limit=(-max_total_time="$((share < left ? share : left))")
  fi
  local started=$(date +%s) status=0
  nice -n 19 "build-fuzz/fuzz_$target" -runs="$runs" "${limit[@]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  local seconds=$(($(date +%s) - started))
  # The last status line: "#N DONE cov: C ft: F corp: K/SIZE lim: L exec/s: E rss: R".
  local last executions cov ft exec_per_s
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  executions=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' ||
    echo "${last%%[[:space:]]*}" | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
  exec_per_s=$(grep -oE 'stat::average_exec_per_sec:[[:space:]]+[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  local files bytes crashes
  files=$(find "$corpus" "tests/fuzz/corpus/$target" -type f | wc -l)
  bytes=$(find "$corpus" "tests/fuzz/corpus/$target" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  crashes=$(find "$artifacts" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$executions" "$seconds" \
    "$exec_per_s" "$cov" "$ft" "$files" "$bytes" "$status" "$crashes" >>"$summary"
  echo "fuzz: $target: $executions executions in ${seconds}s, cov $cov, ft $ft, exit $status, $crashes crash file(s)"
}

remaining=${#targets[@]}
for target in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  fuzz_one "$target" "$remaining" &
  remaining=$((remaining - 1))
done
wait
echo "fuzz: summary in $summary"
