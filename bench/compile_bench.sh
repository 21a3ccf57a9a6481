#!/usr/bin/env bash
# Builds and runs the compile benchmark (bench/compile_bench.cpp says how it measures).
# Usage: bench/compile_bench.sh [repetitions per source] [nvcc repetitions per source]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target kforge_compile_bench >/dev/null
exec build/kforge_compile_bench "${1:-10}" "${2:-3}"
