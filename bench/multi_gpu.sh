#!/usr/bin/env bash
# Throughput of kforge's GPU pool (gpu.devices, harness/evaluation/gpu_pool.hpp) with 1, 2, 4, 8
# emulated GPU workers (tests/support/emulated_gpu_worker.py, --latency-ms per evaluation), the
# rest real: `kforge optimize --agent replay` over one task's candidates, the real compile pool,
# reference runner and store. Method and figures: docs/scale-out.md, "Every GPU of a machine".
#
# Throughput is evaluations / busy span, the span running from the first request any worker
# received to the last reply any worker sent (the workers' own --log), so that starting the
# workers (a Python that imports torch, each) is not counted; the whole command's wall time is
# printed beside it. One warm-up run first fills the compile and reference caches, as a long run
# has them, so that compiles (2 workers on this machine) are not what is measured.
#
# Usage: [KFORGE=build/kforge] [CANDIDATES=32] [LATENCY_MS=300] [WORKERS="1 2 4 8"]
#        bench/multi_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd)
kforge=$(realpath "${KFORGE:-build/kforge}")
candidates=${CANDIDATES:-32}
latency_ms=${LATENCY_MS:-300}
workers=${WORKERS:-"1 2 4 8"}
work=$(mktemp -d /tmp/kforge-multi-gpu.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir problems candidates
cat >problems/tiny_relu.py <<'PY'
import torch
import torch.nn as nn

rows = 64
cols = 100


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return []
PY
cat >kforge.toml <<'TOML'
python = "/usr/bin/python3"
[timing]
baselines = false
TOML
for ((index = 0; index < candidates; ++index)); do
  cat >"candidates/relu_$index.cu" <<CU
/* kforge:launch
{"kernels": [{"name": "relu_$index", "grid": ["ceil_div(x.numel, 128)"], "block": ["128"],
  "shared_bytes": "0", "args": ["x", "out", "x.numel"]}], "scratch": [], "defines": {}}
*/
extern "C" __global__ void relu_$index(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * 128 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
CU
done
"$kforge" -q tasks import problems --suite bench >/dev/null

run() {  # devices log
  KFORGE_GPU_WORKER="/usr/bin/python3 $source_dir/tests/support/emulated_gpu_worker.py --latency-ms $latency_ms --log $2" \
    "$kforge" -q optimize bench/tiny_relu --agent replay --from candidates --gpus "$1" --json
}

run 0 "$work/warm.jsonl" >/dev/null
echo "# $candidates candidates, ${latency_ms} ms per evaluation on the emulated GPU, $(nproc) cores"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %-12s %-10s %-10s %-12s %-9s %-10s %s\n" workers evaluations wall_s busy_s \
  "eval/s" speedup efficiency "per device"
base=""
for n in $workers; do
  devices=$(seq -s, 0 $((n - 1)))
  log="$work/log-$n.jsonl"
  started=$(date +%s.%N)
  run "$devices" "$log" >"$work/out-$n.json"
  ended=$(date +%s.%N)
  /usr/bin/python3 - "$log" "$work/out-$n.json" "$n" "$started" "$ended" "${base:-0}" \
    >"$work/line-$n.txt" <<'PY'
import collections, json, sys
log, out, n, started, ended, base = sys.argv[1:]
entries = [json.loads(line) for line in open(log) if line.strip()]
report = json.load(open(out))
assert report["status"] == "completed", report
evaluations = sum(1 for e in entries if e["op"] == "time")
busy = max(e["end"] for e in entries) - min(e["start"] for e in entries)
rate = evaluations / busy
per_device = collections.Counter(e["device"] for e in entries if e["op"] == "time")
speedup = rate / float(base) if float(base) > 0 else 1.0
print("%-8s %-12d %-10.1f %-10.1f %-12.2f %-9.2f %-10.2f %s" % (
    n, evaluations, float(ended) - float(started), busy, rate, speedup, speedup / int(n),
    " ".join("%d:%d" % item for item in sorted(per_device.items()))))
PY
  cat "$work/line-$n.txt"
  if [ -z "$base" ]; then
    base=$(/usr/bin/python3 -c "import json,sys; e=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(sum(1 for x in e if x['op']=='time')/(max(x['end'] for x in e)-min(x['start'] for x in e)))" "$log")
  fi
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
