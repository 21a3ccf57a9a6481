#!/usr/bin/env bash
# Creates (once) a Python virtual environment with packages from PyPI, for the system tests that
# check kforge against software its users run (tests/system/hf_datasets/, tests/system/mcp_sdk/).
#
#   make_pypi_venv.sh <folder> <package>... [--no-deps <package>...]
#
# Prints the venv's python on its last line. Packages after --no-deps go in without their
# dependencies. The folder is kept between runs (a marker file names what it holds), so that CI
# downloads once. Exit 77 when PyPI cannot be reached.
set -euo pipefail
folder=${1:?usage: make_pypi_venv.sh <folder> <package>... [--no-deps <package>...]}
shift
packages=()
without_dependencies=()
while (($#)); do
  if [[ "$1" == --no-deps ]]; then
    shift
    without_dependencies=("$@")
    break
  fi
  packages+=("$1")
  shift
done
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
if ! "${pip[@]}" "${packages[@]}" >&2 ||
  { ((${#without_dependencies[@]})) && ! "${pip[@]}" --no-deps "${without_dependencies[@]}" >&2; }; then
  if unreachable; then
    echo "make_pypi_venv.sh: PyPI (https://pypi.org) cannot be reached" >&2
    rm -rf "$folder"
    exit 77
  fi
  echo "make_pypi_venv.sh: pip install ${wanted} failed" >&2
  exit 1
fi
echo "$wanted" > "$marker"
echo "$folder/bin/python"
