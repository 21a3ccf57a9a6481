#!/usr/bin/env bash
# The one command for GPU checks, run on the device machine from the repository root with
# bundle/ carried (see scripts/make-bundle.sh): reports the machine, runs every test (GPU tests
# included, which skip only where no GPU is visible) and the GPU benchmarks, writes full logs
# under $OUT and prints a short table last.
set -uo pipefail
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
root=$PWD
export KFORGE_BINARY=$root/bundle/kforge KFORGE_SOURCE_DIR=$root
# NVRTC and CUPTI: the toolkit's, or the nvidia-* Python packages beside torch.
extra=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = set()
for base in site.getsitepackages():
    for lib in glob.glob(os.path.join(base, "nvidia", "**", "lib*", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(lib))
print(":".join(sorted(dirs)))
PY
)
export KFORGE_CUDA_LIB_DIRS=/usr/local/cuda/lib64${extra:+:$extra}

declare -a rows
step() {
  local name=$1; shift
  local started=$SECONDS
  "$@" >"$out/$name.log" 2>&1
  local code=$?
  rows+=("$(printf '%-16s %-6s %5ss  %s' "$name" "$([ $code -eq 0 ] && echo ok || echo FAIL)" \
    $((SECONDS - started)) "$(tail -n 1 "$out/$name.log" | cut -c1-70)")")
}

step machine bash -c 'nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv; python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())"'
step doctor bundle/kforge doctor --require nvrtc,gpu,cupti
# The real GPU worker first, on its own line of the table: a trivial kernel, poisoned outputs,
# an illegal address then a good kernel on a fresh worker, a refused launch, a printf flood, a
# timed kernel, the device measurement (tests/unit/gpu_worker_device_test.cpp).
step gpu-worker bundle/kforge_unit_tests --gtest_brief=1 --gtest_filter='GpuWorkerDevice*'
step unit-tests bundle/kforge_unit_tests --gtest_brief=1
step system-tests bundle/kforge_system_tests --gtest_brief=1
for bench in bench/gpu/*.sh; do
  [ -f "$bench" ] && step "$(basename "$bench" .sh)" bash "$bench" "$out"
done

echo
printf '%-16s %-6s %6s  %s\n' step result time "last line"
printf '%s\n' "${rows[@]}"
