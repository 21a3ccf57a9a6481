// NVRTC, opened at run time so that kforge starts (and every GPU-free feature works) on machines
// without the CUDA toolkit. Only the compile worker calls it: candidate source never reaches
// NVRTC in the process that owns the store.
#pragma once

#include <nvrtc.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness/util/dynamic_library.hpp"

namespace kforge {

// The NVRTC functions kforge uses; filled from the table in nvrtc_api.cpp.
struct NvrtcFunctions {
  decltype(&::nvrtcVersion) version = nullptr;
  decltype(&::nvrtcGetErrorString) get_error_string = nullptr;
  decltype(&::nvrtcCreateProgram) create_program = nullptr;
  decltype(&::nvrtcDestroyProgram) destroy_program = nullptr;
  decltype(&::nvrtcCompileProgram) compile_program = nullptr;
  decltype(&::nvrtcGetProgramLogSize) get_program_log_size = nullptr;
  decltype(&::nvrtcGetProgramLog) get_program_log = nullptr;
  decltype(&::nvrtcGetPTXSize) get_ptx_size = nullptr;
  decltype(&::nvrtcGetPTX) get_ptx = nullptr;
  decltype(&::nvrtcGetCUBINSize) get_cubin_size = nullptr;
  decltype(&::nvrtcGetCUBIN) get_cubin = nullptr;
};

class Nvrtc {
 public:
  // Opens NVRTC once per process (libnvrtc.so.13, .so.12, .so, then $CUDA_HOME/lib64 and
  // /usr/local/cuda/lib64); throws Error naming every place tried.
  static const Nvrtc& instance();

  const NvrtcFunctions& api() const { return api_; }
  // "13.0"
  const std::string& version() const { return version_; }
  const std::string& library_path() const { return library_.path(); }

  // The one checked call: a result other than NVRTC_SUCCESS becomes an Error naming `function`
  // and NVRTC's name for the result, with the program's log attached when there is a program.
  void check(nvrtcResult result, const char* function, nvrtcProgram program = nullptr) const;

  // The program's whole log ("" if it cannot be read).
  std::string program_log(nvrtcProgram program) const;

 private:
  explicit Nvrtc(DynamicLibrary library);
  DynamicLibrary library_;
  NvrtcFunctions api_;
  std::string version_;
};

// The library names tried, in order.
std::vector<std::string> nvrtc_library_candidates();

// The toolkit's header folders a candidate may include from: <toolkit>/include and its cccl/
// folder, found from $CUDA_HOME, the NVRTC library's location and /usr/local/cuda. Existing
// folders only, canonical, in search order.
std::vector<std::filesystem::path> cuda_include_roots();

}  // namespace kforge
