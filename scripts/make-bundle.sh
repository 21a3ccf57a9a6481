#!/usr/bin/env bash
# Makes bundle/: the kforge binary and the test binaries, stripped, plus the shared libraries
# they need that a bare GPU machine lacks (found with ldd), with a RUNPATH of $ORIGIN/lib.
# Left out on purpose: the C library, libstdc++/libgcc (the device's are newer, and an older
# bundled libstdc++ would break the Python that kforge starts) and every CUDA library (libcuda
# belongs to the driver; NVRTC and CUPTI are found on the device). Carry `bundle` in the device
# tool's `carry` and run scripts/gpu-check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh >/dev/null
rm -rf bundle
mkdir -p bundle/lib
binaries=(build/kforge build/kforge_unit_tests build/kforge_system_tests)
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libpthread|libdl\.|librt\.|libutil|libstdc\+\+|libgcc_s|libcuda|libnvrtc|libcupti|libnvidia)'
for binary in "${binaries[@]}"; do
  [ -f "$binary" ] || { echo "make-bundle: $binary was not built" >&2; exit 1; }
  cp "$binary" bundle/
  strip --strip-debug "bundle/$(basename "$binary")"
  patchelf --set-rpath '$ORIGIN/lib' "bundle/$(basename "$binary")"
  ldd "$binary" | awk '/=> \// {print $1, $3}' | while read -r name path; do
    if [[ ! "$name" =~ $skip ]] && [ ! -f "bundle/lib/$name" ]; then
      cp -L "$path" "bundle/lib/$name"
      patchelf --set-rpath '$ORIGIN' "bundle/lib/$name" 2>/dev/null || true
    fi
  done
done
echo "make-bundle: $(du -sh bundle | cut -f1) in bundle/ ($(ls bundle/lib | wc -l) libraries)"
