#!/usr/bin/env bash
# The nightly's own overhead: everything a night spends outside evaluations (and LLM waits,
# which happen inside the optimize loop's evaluation time here: the search agent asks no LLM).
# Method: a workspace of TASKS tiny ReLU tasks (imported, analysed before the clock starts), one
# seed kernel each (the library step is off: nightly.library = false); one `kforge nightly` with the emulated
# GPU worker (tests/support/emulated_gpu_worker.py). The night reports its wall time, the time
# inside the evaluation service and the optimize loop (evaluation_s) and the workers' start
# (startup_s) in `--json` (`timing`); overhead = wall - evaluation_s - startup_s, which is the
# environment probe, the library scan, the step and checkpoint rows, promotion, the report and
# the lock. Also printed: the whole process's wall time from outside, the evaluations made, and
# the load average. WALL (seconds, 0: none) bounds the night with nightly.wall_time_s, for a
# machine too slow or too loaded to evaluate every task; the night then stops cleanly.
# Usage: bench/nightly_overhead.sh [TASKS=100] [WALL=0]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-100}
wall=${2:-0}
work=$(mktemp -d /tmp/kforge-nightly-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kforge="$PWD/build/kforge --workspace $work --python /usr/bin/python3 -q"
candidate() {  # the emulated worker runs a kernel by its name: `relu` is an honest ReLU
  cat <<'CU'
/* kforge:launch
{"kernels": [{"name": "relu", "grid": ["ceil_div(x.numel, 128)"], "block": ["128"],
  "shared_bytes": "0", "args": ["x", "out", "x.numel"]}], "scratch": [], "defines": {}}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * 128 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
CU
}
cat >"$work/kforge.toml" <<'TOML'
[verify]
seeds = 2
[timing]
input_sets = 2
warmup = 1
min_samples = 4
max_samples = 4
baselines = false
[nightly]
library = false
tasks = "bench/*"
report_dir = "reports"
TOML
mkdir -p "$work/tasks"
for i in $(seq -f "%03g" 1 "$tasks"); do
  cat >"$work/tasks/relu_$i.py" <<PY
import torch
import torch.nn as nn

rows = 64
cols = 100 + $((10#$i))


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return []
PY
  mkdir -p "$work/seeds/relu_$i"
  candidate >"$work/seeds/relu_$i/seed.cu"
done
echo "importing and analysing $tasks tasks (before the clock)..." >&2
$kforge tasks import "$work/tasks" --suite bench >/dev/null
export KFORGE_SEEDS_DIR="$work/seeds"
export KFORGE_GPU_WORKER="/usr/bin/python3 $PWD/tests/support/emulated_gpu_worker.py"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
$kforge nightly --json --wall-time "$wall" >"$work/night.json" || true
end=$(date +%s.%N)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$work/night.json" "$start" "$end" "$load_before" "$load_after" "$(nproc)" \
  "$work/kforge.db" <<'PY'
import json, sqlite3, sys
night = json.load(open(sys.argv[1]))
evaluations = sqlite3.connect(sys.argv[7]).execute("SELECT count(*) FROM evaluations").fetchone()[0]
start, end = float(sys.argv[2]), float(sys.argv[3])
timing = night["timing"]
wall, evaluation, startup = timing["wall_s"], timing["evaluation_s"], timing["startup_s"]
overhead = wall - evaluation - startup
steps = {step["name"]: (step["status"], round(step["seconds"], 2), step["detail"])
         for step in night["steps"]}
print(f"night {night['night']}: {night['outcome']}, exit code {night['exit_code']}")
print(f"steps: {steps}")
print(f"process wall {end - start:.2f} s; night wall {wall:.2f} s = evaluations {evaluation:.2f} s "
      f"+ worker start {startup:.2f} s + nightly overhead {overhead:.2f} s")
print(f"{evaluations} evaluations, {evaluation / max(evaluations, 1):.1f} s each")
print(f"nightly overhead: {overhead / wall * 100:.2f} % of the night's wall time (goal < 2 %); "
      f"with the worker start counted as overhead: {(overhead + startup) / wall * 100:.2f} %")
print(f"load average before {sys.argv[4]}, after {sys.argv[5]}, on {sys.argv[6]} cores")
PY
