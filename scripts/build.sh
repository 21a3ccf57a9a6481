#!/usr/bin/env bash
# Configures and builds kforge into build/ (the binary is build/kforge): every target, or only
# the targets named as arguments (`./scripts/build.sh kforge` builds the binary and what it links).
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
# KFORGE_BUILD_FATBINS=ON (CI sets it) also builds the shipped kernels' precompiled fatbins.
options=()
if [ -n "${KFORGE_BUILD_FATBINS:-}" ]; then options=(-DKFORGE_BUILD_FATBINS="$KFORGE_BUILD_FATBINS"); fi
if [ ! -f build/CMakeCache.txt ] || [ ${#options[@]} -gt 0 ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${options[@]}"
fi
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
