#!/usr/bin/env bash
# Creates (once) the Python environment the benchmarks run task references with: a virtual
# environment over a Python that has torch (its site packages stay visible, so Debian's
# python3-torch is used as it is), plus the modules KernelBench problems import beyond torch:
# einops (level 3's Mamba problems). kforge itself needs none of them; a task whose module is
# missing fails alone, with a one-line reason naming the module. Prints the environment's python.
# Usage: bench/python_env.sh [VENV_DIR]   (default build/bench-python; BASE_PYTHON picks the
# interpreter it is made from, default /usr/bin/python3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/build/bench-python}"
base="${BASE_PYTHON:-/usr/bin/python3}"
modules=(einops)

if [[ ! -x "$venv/bin/python" ]]; then
  "$base" -c 'import torch' || { echo "python_env: $base cannot import torch" >&2; exit 1; }
  "$base" -m venv --system-site-packages "$venv" >&2
fi
missing=()
for module in "${modules[@]}"; do
  "$venv/bin/python" -c "import $module" 2>/dev/null || missing+=("$module")
done
if ((${#missing[@]} > 0)); then
  echo "python_env: installing ${missing[*]} into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi
echo "$venv/bin/python"
