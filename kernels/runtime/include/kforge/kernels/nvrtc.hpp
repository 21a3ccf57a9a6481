// Compiling kernel source to a cubin at run time with NVRTC, opened with dlopen. The kernel
// library uses it to build a shipped kernel for a GPU it has no precompiled binary for; kforge's
// tests use it to prove every shipped kernel compiles for every listed architecture.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kforge/kernels/shared_library.hpp"

namespace kforge::kernels {

struct NvrtcOutput {
  bool succeeded = false;
  std::string log;          // NVRTC's program log (errors and warnings), possibly empty
  std::vector<char> cubin;  // empty unless succeeded
};

class Nvrtc {
 public:
  // Opens libnvrtc where a CUDA toolkit or pip's NVIDIA wheels put it: the folders in
  // KFORGE_CUDA_LIB_DIRS (colon-separated), the dynamic linker's search (libnvrtc.so.13, .so.12,
  // .so), then $CUDA_HOME/lib64, $CUDA_PATH/lib64 and /usr/local/cuda/lib64; then its builtins
  // library, from NVRTC's own folder first (NVRTC opens it by bare soname, which fails for a
  // folder the dynamic linker does not search). Throws KernelError naming what was tried when
  // NVRTC is not installed, or naming the builtins when they cannot be found.
  static Nvrtc open();

  // The NVRTC file in use, and the CUDA header folders compiles search (cuda_fp16.h and CCCL
  // beside it: <toolkit>/include, pip's nvidia/cu13/include or nvidia/cuda_runtime/include;
  // else $CUDA_HOME/include or /usr/local/cuda/include). Empty when none has cuda_fp16.h.
  std::string library_path() const { return library_.path(); }
  const std::vector<std::string>& include_paths() const { return include_paths_; }

  // NVRTC's version as major * 1000 + minor * 10, the same encoding as the CUDA driver's.
  int version() const;

  // Compiles `source` for sm_<architecture> (80, 90, 100, ...) with `options` (such as
  // "-DBLOCK=256"). A program that does not compile is an output with succeeded == false and
  // the log; a failure of NVRTC itself (out of memory, a bad option) is a KernelError naming
  // the NVRTC function and its result.
  NvrtcOutput compile(const std::string& source, const std::string& file_name, int architecture,
                      const std::vector<std::string>& options) const;
  // The same for a target named in full: "sm_90", or an architecture-specific "sm_90a" (a
  // kernel whose plan asks for one: wgmma, TMA, tcgen05).
  NvrtcOutput compile(const std::string& source, const std::string& file_name,
                      const std::string& target, const std::vector<std::string>& options) const;

 private:
  explicit Nvrtc(SharedLibrary library) : library_(std::move(library)) {}
  SharedLibrary library_;
  std::optional<SharedLibrary> builtins_;
  std::vector<std::string> include_paths_;
};

}  // namespace kforge::kernels
