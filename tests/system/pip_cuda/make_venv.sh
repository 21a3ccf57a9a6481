#!/usr/bin/env bash
# Creates (once) a Python virtual environment holding NVIDIA's CUDA 13 wheels from PyPI, as
# pip installs them beside PyTorch: NVRTC with its builtins, the runtime's headers (cuda_fp16.h,
# cuda_bf16.h) and CCCL, all under site-packages/nvidia/cu13/{lib,include}. The versions are
# those of the toolkit kforge is built against here (its dist-info: nvrtc 13.0.88, runtime
# 13.0.96, cccl 13.0.85).
#
#   make_venv.sh <folder>    prints the wheels' nvidia/cu13 folder on its last line
#
# The folder is kept between runs (a marker file names the wheels it holds), so that CI
# downloads once; pip's own cache helps a fresh folder too. Exit 77 when PyPI cannot be reached.
set -euo pipefail
folder=${1:?usage: make_venv.sh <folder>}
wheels=(nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85)
marker="$folder/.kforge-wheels"

cu13() {
  "$folder/bin/python" - <<'PY'
import pathlib, sysconfig
print(pathlib.Path(sysconfig.get_paths()["purelib"]) / "nvidia" / "cu13")
PY
}

if [[ -f "$marker" && "$(cat "$marker")" == "${wheels[*]}" ]]; then
  cu13
  exit 0
fi

rm -rf "$folder"
mkdir -p "$(dirname "$folder")"
python3 -m venv "$folder"
if ! "$folder/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    "${wheels[@]}" >&2; then
  if ! python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=15)" \
      2>/dev/null; then
    echo "make_venv.sh: PyPI (https://pypi.org) cannot be reached" >&2
    rm -rf "$folder"
    exit 77
  fi
  echo "make_venv.sh: pip install ${wheels[*]} failed" >&2
  exit 1
fi
echo "${wheels[*]}" > "$marker"
cu13
