#!/usr/bin/env bash
# The one command for GPU checks, made to fit one device call: on the device machine, from the
# repository root with bundle/ carried (scripts/make-bundle.sh), in under 8 minutes:
#   machine    GPU, driver, toolkit, torch, ncu; what the bundle's binaries cannot find
#   doctor     kforge doctor --require nvrtc,gpu,cupti,python
#   gpu-worker the real GPU worker's tests (GpuWorkerDevice* in kforge_unit_tests)
#   prepare    workspaces sharing one reference and compile cache; every task analysed
#   parallel   concurrently: each seed once in a throwaway store (fills the caches), and every
#              catalogue entry whose verdict is decided before timing (never timed: no baseline)
#   seeds      one at a time: every seed kernel's verdict, median time, floor fraction (no
#              baseline in these evals: each would start a torch process of its own)
#   catalogue  one at a time: the catalogue entries that reach timing (honest, suspicious)
#   ncu        kforge's median against Nsight Compute's gpu__time_duration.sum, 5-6 seeds from
#              ~10 us to ~10 ms
#   spread     the ~1 ms seed evaluated 5 times: run-to-run CV, `kforge eval` wall time (warm)
#   baselines  every seed task's PyTorch eager and torch.compile baselines in ONE reference-
#              runner process (torch and CUDA start once), and each seed's speedups; last, so
#              that a run short of time loses speedup rows rather than the checks before it
# Every step has its own time limit inside an overall budget (KFORGE_GPU_CHECK_BUDGET_S, default
# 440 s); rows are printed the moment they are known, so a run cut off still shows what it did.
# The time plan (bench/gpu/check.py time_plan: each step's expected device time, an estimate)
# is printed first.
# Under $OUT (else ./gpu-check-out): summary.txt (everything printed), steps.log (every
# command's output), evals.jsonl (every kforge eval's JSON), tests.log (gtest) — 4 files.
#
# KFORGE_GPU_CHECK_EMULATED=1 runs the same steps on a machine with no GPU, with build/'s binaries
# and bench/gpu/oracle_worker.py standing in for the GPU worker (every candidate gets the
# reference's outputs: verdicts mean nothing, the CPU side is real); steps that need the GPU say
# "skipped". KFORGE_GPU_CHECK_SEEDS / KFORGE_GPU_CHECK_ENTRIES (comma-separated task names / file
# name parts) restrict the run; KFORGE_GPU_CHECK_JOBS sets how many evals run at once.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
: >"$out/summary.txt"
exec > >(tee -a "$out/summary.txt") 2>&1
tee_pid=$!
budget=${KFORGE_GPU_CHECK_BUDGET_S:-440}
# Multiplies every step's own limit (a slow, shared machine measuring the emulated run).
scale=${KFORGE_GPU_CHECK_STEP_SCALE:-1}
emulated=${KFORGE_GPU_CHECK_EMULATED:-0}
work=${KFORGE_GPU_CHECK_WORK:-${TMPDIR:-/tmp}/kforge-gpu-check}
rm -rf "$work"
mkdir -p "$work"
if [ "$emulated" = 1 ]; then
  bin=${KFORGE_GPU_CHECK_BIN:-$root/build}
else
  bin=${KFORGE_GPU_CHECK_BIN:-$root/bundle}
fi
export KFORGE_BIN=$bin/kforge KFORGE_BINARY=$bin/kforge KFORGE_SOURCE_DIR=$root
export KFORGE_GPU_CHECK_OUT=$out KFORGE_GPU_CHECK_EMULATED=$emulated PYTHONUNBUFFERED=1

# NVRTC and CUPTI: the toolkit's (lib64 and CUPTI's own folder), then the nvidia-* wheels
# beside torch. kforge looks in these folders first (KFORGE_CUDA_LIB_DIRS).
cuda_home=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")}
dirs=()
for dir in "$cuda_home/lib64" "$cuda_home/extras/CUPTI/lib64" "$cuda_home/targets/x86_64-linux/lib"; do
  [ -d "$dir" ] && dirs+=("$dir")
done
wheel_dirs=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
found = set()
for base in site.getsitepackages():
    for lib in glob.glob(os.path.join(base, "nvidia", "**", "lib*", "lib*.so*"), recursive=True):
        if any(n in lib for n in ("nvrtc", "cupti")):
            found.add(os.path.dirname(lib))
print(":".join(sorted(found)))
PY
)
KFORGE_CUDA_LIB_DIRS=$(IFS=:; echo "${dirs[*]}")${wheel_dirs:+:$wheel_dirs}
export KFORGE_CUDA_LIB_DIRS=${KFORGE_CUDA_LIB_DIRS#:}
export NCU=${NCU:-$(command -v ncu || echo "$cuda_home/bin/ncu")}
# The reference runner's Python: the first python3 whose torch sees a GPU (on the device), else
# whichever kforge finds itself.
if [ "$emulated" != 1 ]; then
  for python in "$(command -v python3)" /opt/torch/.venv/bin/python3 /usr/bin/python3; do
    if [ -x "$python" ] && "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
      export KFORGE_GPU_CHECK_PYTHON=$python
      break
    fi
  done
else
  export KFORGE_GPU_WORKER="$(command -v python3) $root/bench/gpu/oracle_worker.py --reference-cache $work/cache/reference"
  # The baselines step's Python: one with torch (it has no CUDA here, so every task is refused,
  # but torch's start is real).
  for python in "$(command -v python3)" /usr/bin/python3; do
    if [ -x "$python" ] && "$python" -c 'import torch' 2>/dev/null; then
      export KFORGE_GPU_CHECK_PYTHON=$python
      break
    fi
  done
fi

declare -a rows
started_all=$SECONDS
# step NAME LIMIT RESERVE COMMAND...: runs COMMAND under `timeout`, with at most LIMIT seconds
# and never into the last RESERVE seconds of the budget (kept for the steps after it).
step() {
  local name=$1 limit=$2 reserve=$3
  shift 3
  local left=$((budget - (SECONDS - started_all) - reserve))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 10 ]; then
    rows+=("$(printf '%-11s %-8s %5s  %s' "$name" skipped - "the ${budget} s budget is spent")")
    echo "---- $name: skipped, the ${budget} s budget is spent"
    return
  fi
  echo "---- $name (limit ${limit} s, at $((SECONDS - started_all)) s)"
  local began=$SECONDS code cpu cpu_before
  cpu_seconds
  cpu_before=$cpu
  # A step is a shell function: it runs in a child bash so that `timeout` can end it.
  timeout -k 5 "$limit" bash -c '"$@"' "$name" "$@"
  code=$?
  local result=ok
  [ $code -ne 0 ] && result=FAIL
  [ $code -eq 124 ] || [ $code -eq 137 ] && result=TIMEOUT
  [ $code -eq 99 ] && result=skipped
  cpu_seconds
  cpu=$(awk -v a="$cpu" -v b="$cpu_before" 'BEGIN { printf "%.1f", a - b }')
  rows+=("$(printf '%-11s %-8s %4ss %8ss' "$name" "$result" $((SECONDS - began)) "$cpu")")
  echo "---- $name: $result in $((SECONDS - began)) s (CPU ${cpu} s)"
}
log() { { echo; echo "==== $1"; } >>"$out/steps.log"; }
# CPU seconds (user + system) of every finished child process so far. `times` must run in this
# shell, not in a command substitution's subshell (whose children are not these).
cpu_seconds() {
  times >"$work/.times"
  cpu=$(tail -n 1 "$work/.times" | awk '{ total = 0; for (i = 1; i <= 2; i++) {
    split($i, p, /[ms]/); total += p[1] * 60 + p[2] } printf "%.1f", total }')
}

machine() {
  log machine
  {
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [ "$emulated" = 1 ]; then
      echo "gpu: none (emulated run: bench/gpu/oracle_worker.py stands in for the GPU worker)"
    else
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
    fi
    echo "cores: $(nproc)"
    echo "disk: $(df -h --output=avail,size "$work" 2>/dev/null | tail -n 1 | awk '{ print $1 " free of " $2 }') under $work; memory: $(free -g 2>/dev/null | awk '/^Mem:/ { print $7 " GiB available of " $2 }')"
    echo "nvcc: $("$cuda_home/bin/nvcc" --version 2>/dev/null | tail -n 1 || echo none)"
    local version
    version=$("$NCU" --version 2>/dev/null | tail -n 1)
    echo "ncu: ${version:-none} ($NCU)"
    echo "python: ${KFORGE_GPU_CHECK_PYTHON:-"(kforge's own choice)"} $(${KFORGE_GPU_CHECK_PYTHON:-python3} -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -n 1)"
    echo "KFORGE_CUDA_LIB_DIRS=$KFORGE_CUDA_LIB_DIRS"
    echo "kforge: $("$KFORGE_BIN" --version 2>&1)"
    local missing
    missing=$(for binary in "$bin"/kforge "$bin"/kforge_unit_tests; do [ -f "$binary" ] && ldd "$binary"; done | grep 'not found' | sort -u)
    echo "libraries not found: ${missing:-none}"
  } 2>&1 | tee -a "$out/steps.log"
  [ -x "$KFORGE_BIN" ] && "$KFORGE_BIN" --version >/dev/null 2>&1
}

doctor() {
  local require=nvrtc,gpu,cupti,python
  [ "$emulated" = 1 ] && require=nvrtc,python
  log "kforge doctor --require $require"
  mkdir -p "$work/doctor"
  "$KFORGE_BIN" --workspace "$work/doctor" doctor --require "$require" 2>&1 | tee -a "$out/steps.log"
}

gpu_worker_tests() {
  if [ "$emulated" = 1 ]; then
    echo "skipped: emulated run (the GpuWorkerDevice tests need a GPU)"
    return 99
  fi
  log "GpuWorkerDevice tests (full output in tests.log)"
  "$bin/kforge_unit_tests" --gtest_filter='GpuWorkerDevice*' >"$out/tests.log" 2>&1
  local code=$?
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|^\[==========\]|^\[  PASSED  \]' "$out/tests.log" | grep -v ' listed below'
  return $code
}

check() { python3 -u "$root/bench/gpu/check.py" "$1" "$work" --seconds "$2"; }
checked() {  # checked NAME LIMIT RESERVE: a check.py step, told its own limit
  local name=$1 limit=$(($2 * scale)) reserve=$3
  local left=$((budget - (SECONDS - started_all) - reserve))
  [ "$limit" -gt "$left" ] && limit=$left
  step "$name" "$limit" 0 check "$name" $((limit > 8 ? limit - 5 : 3))
}

export root out work bin emulated cuda_home
export -f log machine doctor gpu_worker_tests check

echo "kforge GPU check: budget ${budget} s, emulated=${emulated}, out=${out}"
python3 -u "$root/bench/gpu/check.py" plan "$work"
# Each step's limit, and the reserve it leaves for the steps after it (about their planned
# times). No eval in ws times a baseline: the baselines step times them all in one process.
step machine $((20 * scale)) 400 machine
step doctor $((30 * scale)) 380 doctor
step gpu-worker $((60 * scale)) 340 gpu_worker_tests
checked prepare 45 330
checked parallel 170 240
checked seeds 130 150
checked catalogue 90 110
checked ncu 60 70
checked spread 40 50
checked baselines 110 0

echo
echo "kforge GPU check: $((SECONDS - started_all)) s in all (budget ${budget} s)"
printf '%-11s %-8s %5s %9s\n' step result wall cpu
printf '%s\n' "${rows[@]}"
exec >&- 2>&-
wait "$tee_pid"
