#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (unit, system,
# formatting). GPU tests skip, saying so, on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The tests also check the precompiled fatbins of every shipped kernel, so build them.
export KFORGE_BUILD_FATBINS=${KFORGE_BUILD_FATBINS:-ON}
./scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
