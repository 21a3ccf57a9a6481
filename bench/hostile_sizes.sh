#!/usr/bin/env bash
# Measures what a hostile candidate size costs `kforge eval` (issue 11, item 9): candidates of
# growing size, each the ReLU candidate followed by filler of one shape (line comments, which
# made the plan-comment search quadratic, or `__global__` tokens, which did the same to the
# declaration reader), evaluated against builtin/relu on a store where the task is already
# analysed. Per run: the wall time, kforge's own CPU time (user + sys of kforge and its compile
# worker, from GNU time), the peak resident memory, the verdict and the parse and compile stage
# times kforge records. The figures go to docs/hostile-sizes.md by hand, with the machine.
# Usage: bench/hostile_sizes.sh [MEGABYTES...]   (default: 0.5 0.9 2 4 10 40 100)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0.5 0.9 2 4 10 40 100)
work=$(mktemp -d /tmp/kforge-hostile-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kforge=(build/kforge -q --workspace "$work" --python /usr/bin/python3)
relu=tests/system/data/eval/relu_ok.cu
"${kforge[@]}" eval "$relu" --task builtin/relu >/dev/null  # analyse the task once
for shape in comments globals; do
  for megabytes in "${sizes[@]}"; do
    file="$work/hostile.cu"
    /usr/bin/python3 - "$relu" "$file" "$megabytes" "$shape" <<'PY'
import sys
relu, path, megabytes, shape = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
unit = "// a comment line\n" if shape == "comments" else "__global__ "
text = open(relu).read()
count = max(0, (int(megabytes * 2**20) - len(text)) // len(unit))
open(path, "w").write(text + unit * count)
PY
    bytes=$(stat -c %s "$file")
    /usr/bin/time -v "${kforge[@]}" eval "$file" --task builtin/relu --json \
      >"$work/report.json" 2>"$work/time.txt"
    wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
    user=$(grep "User time" "$work/time.txt" | awk '{print $NF}')
    system=$(grep "System time" "$work/time.txt" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
    /usr/bin/python3 - "$work/report.json" "$shape" "$bytes" "$wall" "$user" "$system" "$rss" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
shape, size, wall, user, system, rss = sys.argv[2:]
seconds = sum(float(x) * 60**i for i, x in enumerate(reversed(wall.split(":"))))
stages = {s["name"]: s for s in report["stages"]}
def ms(name):
    stage = stages.get(name)
    return "-" if stage is None or stage["status"] == "skipped" else f'{stage["ms"]:.1f}'
print(f"shape={shape} bytes={size} verdict={report['verdict']}/{report['reason']} "
      f"wall_s={seconds:.2f} cpu_s={float(user) + float(system):.2f} peak_rss_kb={rss} "
      f"parse_ms={ms('parse')} compile_ms={ms('compile')}")
PY
  done
done
echo "load=$(cut -d' ' -f1-3 /proc/loadavg) cores=$(nproc)"
