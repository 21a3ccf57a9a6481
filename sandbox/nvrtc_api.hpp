// NVRTC, opened at run time so that kforge starts (and every GPU-free feature works) on machines
// without the CUDA toolkit. Only the compile worker calls it: candidate source never reaches
// NVRTC in the process that owns the store.
#pragma once

#include <nvrtc.h>

#include <filesystem>
#include <optional>
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
  // Opens NVRTC once per process (the KFORGE_CUDA_LIB_DIRS folders, libnvrtc.so.13, .so.12,
  // .so, then $CUDA_HOME/lib64 and /usr/local/cuda/lib64) and its builtins library, from
  // NVRTC's own folder first; throws Error naming every place tried, or the builtins missing.
  static const Nvrtc& instance();

  const NvrtcFunctions& api() const { return api_; }
  // "13.0"
  const std::string& version() const { return version_; }
  const std::string& library_path() const { return library_.path(); }
  const std::string& builtins_path() const { return builtins_->path(); }

  // The one checked call: a result other than NVRTC_SUCCESS becomes an Error naming `function`
  // and NVRTC's name for the result, with the program's log attached when there is a program.
  void check(nvrtcResult result, const char* function, nvrtcProgram program = nullptr) const;

  // The program's whole log ("" if it cannot be read).
  std::string program_log(nvrtcProgram program) const;

 private:
  explicit Nvrtc(DynamicLibrary library);
  DynamicLibrary library_;
  std::optional<DynamicLibrary> builtins_;  // loaded before the first compile needs it
  NvrtcFunctions api_;
  std::string version_;
};

// The library names tried, in order.
std::vector<std::string> nvrtc_library_candidates();

// The header folders a candidate may include from: cuda_include_roots_for() the NVRTC this
// process opens (beside it first: a toolkit's or pip's include folders, then $CUDA_HOME and
// /usr/local/cuda). Opens NVRTC; without it, the toolkit folders only.
std::vector<std::filesystem::path> cuda_include_roots();

}  // namespace kforge
