// Compiling kernel source to a cubin at run time with NVRTC, opened with dlopen. The kernel
// library uses it to build a shipped kernel for a GPU it has no precompiled binary for; kforge's
// tests use it to prove every shipped kernel compiles for every listed architecture.
#pragma once

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
  // Opens libnvrtc (the soname of the toolkit the library was built with first); throws
  // KernelError naming what was tried when it is not installed.
  static Nvrtc open();

  // NVRTC's version as major * 1000 + minor * 10, the same encoding as the CUDA driver's.
  int version() const;

  // Compiles `source` for sm_<architecture> (80, 90, 100, ...) with `options` (such as
  // "-DBLOCK=256"). A program that does not compile is an output with succeeded == false and
  // the log; a failure of NVRTC itself (out of memory, a bad option) is a KernelError naming
  // the NVRTC function and its result.
  NvrtcOutput compile(const std::string& source, const std::string& file_name, int architecture,
                      const std::vector<std::string>& options) const;

 private:
  explicit Nvrtc(SharedLibrary library) : library_(std::move(library)) {}
  SharedLibrary library_;
};

}  // namespace kforge::kernels
