#!/usr/bin/env bash
# Configures (once) and builds the fuzz targets: build_fuzz.sh SOURCE_DIR BUILD_DIR CLANGXX.
set -euo pipefail
source_dir=$1 build_dir=$2 compiler=$3
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" -DCMAKE_CXX_COMPILER="$compiler" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKFORGE_FUZZ=ON
fi
cmake --build "$build_dir" -j "$(nproc)" --target kforge_fuzz_targets
