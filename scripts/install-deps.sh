#!/usr/bin/env bash
# Installs what kforge needs from Debian 12's packages. Safe to run twice: it installs only what
# is missing, and touches nothing when all is present. The CUDA toolkit (headers; NVRTC and CUPTI
# at run time) is assumed present, not installed.
#
#   install-deps.sh          everything the test command builds and tests with
#   install-deps.sh --build  only what building kforge and its main job need (the quick start)
set -euo pipefail

# Building kforge and running it on a built-in task: compilers, the libraries it links, ccache,
# and the Python with torch that runs the PyTorch references.
build_packages=(
  build-essential cmake ninja-build git pkg-config ccache
  libsqlite3-dev libpq-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libboost-dev libboost-filesystem-dev libcli11-dev libtomlplusplus-dev zlib1g-dev
  python3 python3-torch python3-numpy
)
# What only the tests, the benchmarks and the bundle for a lent GPU add.
test_packages=(
  clang-format sqlite3 postgresql libgtest-dev libgmock-dev patchelf clang libclang-rt-14-dev
  python3-venv python3-jsonschema python3-yaml
  chromium
  # the single-node Slurm that tests/system/slurm_test.cpp starts (docs/scale-out.md)
  slurmctld slurmd slurm-client munge
)

packages=("${build_packages[@]}")
case "${1:-}" in
  --build) ;;
  "") packages+=("${test_packages[@]}") ;;
  *) echo "install-deps: unknown option '$1' (use --build, or nothing for everything)" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
