#!/usr/bin/env bash
# Installs every dependency kforge builds and tests with, from Debian 12's packages. Safe to
# run twice: it installs only what is missing, and touches nothing when all is present.
# The CUDA toolkit (headers; NVRTC and CUPTI at run time) is assumed present, not installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config clang-format
  libsqlite3-dev sqlite3 libpq-dev postgresql libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libboost-dev libboost-filesystem-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev zlib1g-dev patchelf ccache clang libclang-rt-14-dev
  python3 python3-torch python3-numpy python3-venv python3-jsonschema python3-yaml
  chromium
  # the single-node Slurm that tests/system/slurm_test.cpp starts (docs/scale-out.md)
  slurmctld slurmd slurm-client munge
)

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
