#!/usr/bin/env bash
# Makes bundle/ (ignored): what scripts/gpu-check.sh needs on a GPU machine that has the CUDA
# toolkit and PyTorch but none of kforge's Debian development packages. The kforge binary and
# kforge_unit_tests (for the GpuWorkerDevice tests), stripped, plus every shared library they
# need (ldd) except those the device has or must provide itself, with a RUNPATH of $ORIGIN/lib
# (the libraries: $ORIGIN). Left out on purpose:
#   - the C library family (libc, libm, libpthread, libdl, librt, libutil, libresolv, the
#     dynamic linker): the device's glibc is newer than the one this builds against;
#   - libstdc++ and libgcc_s: the device's are newer (and an
#     older bundled libstdc++ breaks the Python that kforge starts);
#   - every CUDA library (libcuda belongs to the driver; NVRTC and CUPTI are found on the device
#     through KFORGE_CUDA_LIB_DIRS, which gpu-check.sh sets).
# Ends by checking that the bundled binaries resolve every library from bundle/lib or the
# excluded set, and by measuring what a device call carries: the working tree plus bundle/,
# which must stay under 64 MiB.
#   ./scripts/make-bundle.sh            build (kforge, kforge_unit_tests) into build/, then bundle
#   BUILD_DIR=dir ./scripts/make-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 5 cmake --build "$build" -j"$(nproc)" --target kforge kforge_unit_tests >/dev/null
rm -rf bundle
mkdir -p bundle/lib
binaries=("$build/kforge" "$build/kforge_unit_tests")
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec|libpthread|libdl\.so|librt\.so|libutil|libresolv|libanl|libnsl|libstdc\+\+|libgcc_s|libcuda|libnvrtc|libcupti|libnvidia|libnvJitLink)'
for binary in "${binaries[@]}"; do
  [ -f "$binary" ] || { echo "make-bundle: $binary was not built" >&2; exit 1; }
  name=$(basename "$binary")
  cp "$binary" "bundle/$name"
  strip --strip-all "bundle/$name"
  patchelf --set-rpath '$ORIGIN/lib' "bundle/$name"
  ldd "$binary" | awk '/=> \// {print $1, $3}' | while read -r soname path; do
    if [[ ! "$soname" =~ $skip ]] && [ ! -f "bundle/lib/$soname" ]; then
      cp -L "$path" "bundle/lib/$soname"
      chmod u+w "bundle/lib/$soname"
      strip --strip-unneeded "bundle/lib/$soname" 2>/dev/null || true
      patchelf --set-rpath '$ORIGIN' "bundle/lib/$soname"
    fi
  done
done

# Every library a bundled binary needs comes from bundle/lib or is one the device provides.
for binary in bundle/kforge bundle/kforge_unit_tests bundle/lib/*; do
  ldd "$binary" | awk '/=>/ {print $1, $3}' | while read -r soname path; do
    if [ "$path" = "not" ]; then
      echo "make-bundle: $binary: $soname not found" >&2
      exit 1
    fi
    if [[ ! "$soname" =~ $skip ]] && [[ "$path" != "$PWD/bundle/"* ]]; then
      echo "make-bundle: $binary takes $soname from $path, not from bundle/lib" >&2
      exit 1
    fi
  done
done
readelf -d bundle/kforge | grep -q 'RUNPATH.*\$ORIGIN/lib' ||
  { echo "make-bundle: bundle/kforge has no RUNPATH \$ORIGIN/lib" >&2; exit 1; }

# What a device call carries: tracked and untracked-not-ignored files, plus bundle/.
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null |
  tail -n 1 | cut -f1)
bundle_bytes=$(du -sb bundle | cut -f1)
total=$((tree_bytes + bundle_bytes))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "make-bundle: bundle/ $(mib "$bundle_bytes") MiB ($(ls bundle/lib | wc -l) libraries:" \
  "$(ls bundle/lib | tr '\n' ' '))"
echo "make-bundle: working tree $(mib "$tree_bytes") MiB + bundle = $(mib "$total") MiB of the" \
  "64 MiB a device call carries"
if [ "$total" -ge $((64 * 1048576)) ]; then
  echo "make-bundle: over 64 MiB: the device tool would refuse the call" >&2
  exit 1
fi
