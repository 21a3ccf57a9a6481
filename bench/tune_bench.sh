#!/usr/bin/env bash
# Every kforge tuning strategy and Kernel Tuner's own strategies on every recorded space in
# ../shared/tuning-spaces/ (Kernel Tuner's cache format, brute-forced on real GPUs), at 1%, 2%
# and 5% of each space, 20 seeded repeats each, side by side; writes docs/tuning-performance.md.
# kforge's strategies run through `kforge tune --replay`; Kernel Tuner's through its simulation
# mode (kernel_tuner.tune_cache) on the same files and budgets, from a virtual environment this
# script creates with the kernel_tuner package from PyPI (bench/tune_bench_kernel_tuner.py).
# Usage: [SPACES_DIR=DIR | SPACES="a.json.gz b.json.gz"] [REPEATS=20] [FRACTIONS=0.01,0.02,0.05]
#        [STRATEGIES="auto random ..."] [KT_STRATEGIES=a,b] [KT_REPEATS=N] [KT_FRACTIONS=F,G]
#        [SKIP_KERNEL_TUNER=1: keep build/tune-bench/kernel_tuner.jsonl from an earlier run]
#        bench/tune_bench.sh   (run it under nice; it takes a while on a busy machine)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
spaces_dir=${SPACES_DIR:-$root/../shared/tuning-spaces}
spaces=${SPACES:-$(ls "$spaces_dir"/*.json.gz 2>/dev/null || true)}
if [[ -z "$spaces" ]]; then
  echo "tune_bench: no recorded spaces in $spaces_dir (set SPACES_DIR or SPACES)" >&2
  exit 1
fi
repeats=${REPEATS:-20}
fractions=${FRACTIONS:-0.01,0.02,0.05}
strategies=${STRATEGIES:-auto random local genetic annealing tpe}
# Four of Kernel Tuner's strategies that its authors' own benchmarks rank among the best;
# basinhopping is left out by default because its simulation took minutes a run here (478 s for
# 5 repeats on pnpoly at 5%): KT_STRATEGIES adds it back.
kt_strategies=${KT_STRATEGIES:-genetic_algorithm,dual_annealing,simulated_annealing,greedy_ils}
kt_repeats=${KT_REPEATS:-$repeats}
kt_fractions=${KT_FRACTIONS:-$fractions}
work="$root/build/tune-bench"
mkdir -p "$work"
[[ -x build/kforge ]] || scripts/build.sh kforge

: >"$work/kforge.jsonl"
for space in $spaces; do
  for fraction in ${fractions//,/ }; do
    for strategy in $strategies; do
      echo "tune_bench: kforge $strategy on $(basename "$space") at $fraction" >&2
      build/kforge tune --replay "$space" --strategy "$strategy" --budget-fraction "$fraction" \
        --repeats "$repeats" --json |
        /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d["file"]=sys.argv[1]; print(json.dumps(d))' \
          "$(basename "$space")" >>"$work/kforge.jsonl"
    done
  done
done

if [[ -z "${SKIP_KERNEL_TUNER:-}" ]]; then
  venv="$work/kernel-tuner-venv"
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import kernel_tuner' 2>/dev/null; then
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check kernel_tuner==1.5.0
  fi
  # One process per space, so that a slow space does not hold up the others' results.
  : >"$work/kernel_tuner.jsonl"
  for space in $spaces; do
    "$venv/bin/python" bench/tune_bench_kernel_tuner.py --work "$work/caches" \
      --repeats "$kt_repeats" --fractions "$kt_fractions" --strategies "$kt_strategies" "$space" \
      >>"$work/kernel_tuner.jsonl"
  done
fi

/usr/bin/python3 bench/tune_bench_report.py --kforge "$work/kforge.jsonl" \
  --kernel-tuner "$work/kernel_tuner.jsonl" --out docs/tuning-performance.md
echo "tune_bench: wrote docs/tuning-performance.md" >&2
