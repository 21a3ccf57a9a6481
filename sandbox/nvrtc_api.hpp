// NVRTC, opened at run time so that kforge starts (and every GPU-free feature works) on machines
// without the CUDA toolkit. Only the compile worker calls it: candidate source never reaches
// NVRTC in the process that owns the store.
#pragma once

#include <nvrtc.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kforge/kernels/nvrtc.hpp"

namespace kforge {

// The NVRTC functions kforge uses: the kernel library's table (kforge/kernels/nvrtc.hpp).
using NvrtcFunctions = kernels::NvrtcFunctions;

class Nvrtc {
 public:
  // Opens NVRTC once per process through the kernel library's one loader (kernels::NvrtcLibrary:
  // the KFORGE_CUDA_LIB_DIRS folders, libnvrtc.so.13, .so.12, .so, then $CUDA_HOME/lib64 and
  // /usr/local/cuda/lib64, and its builtins from NVRTC's own folder first); throws Error naming
  // every place tried, or the builtins missing.
  static const Nvrtc& instance();

  const NvrtcFunctions& api() const { return nvrtc_.api(); }
  // "13.0"
  const std::string& version() const { return version_; }
  const std::string& library_path() const { return library_path_; }
  std::string builtins_path() const { return nvrtc_.builtins().path(); }

  // The one checked call: a result other than NVRTC_SUCCESS becomes an Error naming `function`
  // and NVRTC's name for the result, with the program's log attached when there is a program.
  void check(nvrtcResult result, const char* function, nvrtcProgram program = nullptr) const;

  // The program's whole log ("" if it cannot be read).
  std::string program_log(nvrtcProgram program) const;

 private:
  explicit Nvrtc(kernels::NvrtcLibrary nvrtc);
  kernels::NvrtcLibrary nvrtc_;
  std::string library_path_;
  std::string version_;
};

// The library names tried, in order.
std::vector<std::string> nvrtc_library_candidates();

// The header folders a candidate may include from: cuda_include_roots_for() the NVRTC this
// process opens (beside it first: a toolkit's or pip's include folders, then $CUDA_HOME and
// /usr/local/cuda). Opens NVRTC; without it, the toolkit folders only.
std::vector<std::filesystem::path> cuda_include_roots();

}  // namespace kforge
