# Every external dependency is found here, in one place, with a message that says what to
# install when something is missing (scripts/install-deps.sh installs all of them).

set(KFORGE_INSTALL_HINT "run scripts/install-deps.sh")

# The CUDA toolkit: only its headers are needed at build time. libcuda, NVRTC and CUPTI are
# opened at run time, so kforge starts on machines that lack them.
set(_kforge_cuda_hints $ENV{CUDA_HOME} $ENV{CUDA_PATH} /usr/local/cuda /usr/local/cuda-13.0 /usr)
find_path(KFORGE_CUDA_INCLUDE_DIR NAMES cuda.h nvrtc.h
  HINTS ${_kforge_cuda_hints} PATH_SUFFIXES include targets/x86_64-linux/include)
find_path(KFORGE_CUPTI_INCLUDE_DIR NAMES cupti.h
  HINTS ${_kforge_cuda_hints} PATH_SUFFIXES include extras/CUPTI/include targets/x86_64-linux/include)
if(NOT KFORGE_CUDA_INCLUDE_DIR OR NOT KFORGE_CUPTI_INCLUDE_DIR)
  string(JOIN ", " _where ${_kforge_cuda_hints})
  message(FATAL_ERROR "kforge: the CUDA toolkit headers (cuda.h, nvrtc.h, cupti.h) were not found; "
    "looked in: ${_where} (set CUDA_HOME to the toolkit's folder)")
endif()
message(STATUS "kforge: CUDA headers in ${KFORGE_CUDA_INCLUDE_DIR}")
add_library(kforge_cuda_headers INTERFACE)
target_include_directories(kforge_cuda_headers SYSTEM INTERFACE
  ${KFORGE_CUDA_INCLUDE_DIR} ${KFORGE_CUPTI_INCLUDE_DIR})

macro(kforge_require package)
  find_package(${package} ${ARGN})
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR "kforge: ${package} was not found; ${KFORGE_INSTALL_HINT}")
  endif()
endmacro()

kforge_require(Threads)
kforge_require(SQLite3)
kforge_require(PostgreSQL)
kforge_require(CURL)
kforge_require(OpenSSL)
kforge_require(nlohmann_json)
kforge_require(CLI11)
kforge_require(tomlplusplus)
kforge_require(Boost COMPONENTS filesystem)
kforge_require(ZLIB)
