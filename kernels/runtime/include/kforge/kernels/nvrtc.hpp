// Compiling kernel source to a cubin at run time with NVRTC, opened with dlopen. The kernel
// library uses it to build a shipped kernel for a GPU it has no precompiled binary for; kforge's
// tests use it to prove every shipped kernel compiles for every listed architecture.
#pragma once

#include <nvrtc.h>

#include <optional>
#include <string>
#include <vector>

#include "kforge/kernels/shared_library.hpp"

namespace kforge::kernels {

// The NVRTC functions kforge and this library use, resolved by name at run time.
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

// NVRTC opened, the one loader of kforge (sandbox/nvrtc_api.hpp) and this library: libnvrtc
// where a CUDA toolkit or pip's NVIDIA wheels put it (cuda_library_candidates("libnvrtc",
// {13, 12}), cuda_paths.hpp), its function table, and its builtins library, loaded first from
// NVRTC's own folder (NVRTC dlopens it by bare soname at its first compile, which fails for a
// folder the dynamic linker does not search; loaded by path first, it is found loaded).
class NvrtcLibrary {
 public:
  // Throws KernelError naming what was tried when NVRTC is not installed, a missing symbol, or
  // the builtins when they can be found neither beside NVRTC nor by the dynamic linker.
  static NvrtcLibrary open();
  // The library names tried, in order.
  static std::vector<std::string> candidates();

  const NvrtcFunctions& api() const { return api_; }
  const SharedLibrary& library() const { return library_; }
  const SharedLibrary& builtins() const { return *builtins_; }
  int major() const { return major_; }
  int minor() const { return minor_; }

 private:
  explicit NvrtcLibrary(SharedLibrary library) : library_(std::move(library)) {}
  SharedLibrary library_;
  std::optional<SharedLibrary> builtins_;
  NvrtcFunctions api_;
  int major_ = 0;
  int minor_ = 0;
};

struct NvrtcOutput {
  bool succeeded = false;
  std::string log;          // NVRTC's program log (errors and warnings), possibly empty
  std::vector<char> cubin;  // empty unless succeeded
};

class Nvrtc {
 public:
  // NvrtcLibrary::open() and the header folders beside it; throws KernelError as that does.
  static Nvrtc open();

  // The NVRTC file in use, and the CUDA header folders compiles search (cuda_include_roots_for,
  // cuda_paths.hpp). Empty when none has cuda_fp16.h.
  std::string library_path() const { return nvrtc_.library().path(); }
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
  explicit Nvrtc(NvrtcLibrary nvrtc) : nvrtc_(std::move(nvrtc)) {}
  NvrtcLibrary nvrtc_;
  std::vector<std::string> include_paths_;
};

}  // namespace kforge::kernels
