# Precompiled headers: the standard library and nlohmann/json headers that almost every kforge
# source includes, parsed once into one precompiled header that every kforge target reuses
# (REUSE_FROM), instead of once per source. Most of a cold build's time went into parsing these
# same headers (docs/build-time.md). KFORGE_PRECOMPILED_HEADERS=OFF turns them off.
#
# Every reusing target must compile with the flags of kforge_precompiled: the project-wide ones.
# A target with flags of its own (kforge_kernels is position-independent, for shared consumers)
# stays out. Target- and source-level -D definitions are allowed: none appears in these headers.
#
# ccache caches sources compiled with a precompiled header only with the sloppiness below, which
# kforge's launcher sets (CMakeLists.txt).
set(KFORGE_PRECOMPILED_HEADERS_LIST
  <algorithm> <array> <atomic> <chrono> <cmath> <cstddef> <cstdint> <cstdio> <cstdlib> <cstring>
  <filesystem> <functional> <map> <memory> <mutex> <optional> <set> <span> <string>
  <string_view> <thread> <unordered_map> <utility> <vector> <nlohmann/json.hpp>)

function(kforge_precompiled_headers_target)
  add_library(kforge_precompiled OBJECT ${PROJECT_SOURCE_DIR}/cmake/precompiled.cpp)
  target_link_libraries(kforge_precompiled PRIVATE nlohmann_json::nlohmann_json)
  target_precompile_headers(kforge_precompiled PRIVATE ${KFORGE_PRECOMPILED_HEADERS_LIST})
endfunction()

# kforge_use_precompiled_headers(TARGET...): each target reuses kforge_precompiled's header.
function(kforge_use_precompiled_headers)
  foreach(target IN LISTS ARGN)
    target_precompile_headers(${target} REUSE_FROM kforge_precompiled)
  endforeach()
endfunction()
