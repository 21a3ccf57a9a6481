#!/usr/bin/env bash
# Creates (once) a Python virtual environment with Hugging Face `datasets` and TRL from PyPI, for
# the test that loads kforge's exports as their users would (tests/system/hf_datasets_test.cpp).
#
#   make_venv.sh <folder>    prints the venv's python on its last line
#
# TRL goes in without its dependencies: it requires accelerate, and accelerate torch >= 2
# (Debian's python3-torch is 1.13, so even --system-site-packages would not spare pip a torch
# with its CUDA wheels, gigabytes). What the dataset helpers (trl.data_utils) import is datasets,
# transformers (which imports without torch), numpy and pyarrow, all installed here with their own
# dependencies. The folder is kept between runs (a marker file names what it holds), so that CI
# downloads once. Exit 77 when PyPI cannot be reached.
set -euo pipefail
folder=${1:?usage: make_venv.sh <folder>}
packages=(datasets==5.2.0 transformers==5.24.0 jinja2)
without_dependencies=(trl==1.16.0)
marker="$folder/.kforge-packages"
wanted="${packages[*]} / ${without_dependencies[*]}"

if [[ -f "$marker" && "$(cat "$marker")" == "$wanted" ]]; then
  echo "$folder/bin/python"
  exit 0
fi

unreachable() {
  ! python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=15)" \
    2>/dev/null
}

rm -rf "$folder"
mkdir -p "$(dirname "$folder")"
python3 -m venv "$folder"
pip=("$folder/bin/python" -m pip install --quiet --disable-pip-version-check)
if ! "${pip[@]}" "${packages[@]}" >&2 || ! "${pip[@]}" --no-deps "${without_dependencies[@]}" >&2; then
  if unreachable; then
    echo "make_venv.sh: PyPI (https://pypi.org) cannot be reached" >&2
    rm -rf "$folder"
    exit 77
  fi
  echo "make_venv.sh: pip install ${wanted} failed" >&2
  exit 1
fi
echo "$wanted" > "$marker"
echo "$folder/bin/python"
