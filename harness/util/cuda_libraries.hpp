// Where kforge looks for the CUDA libraries it opens at run time and for the CUDA headers a
// candidate may include, and the CUDA driver API (libcuda) as a table of functions with one
// checked-call helper for CUresult. The search, the table and the dlopen under it are the kernel
// library's (kforge/kernels/cuda_paths.hpp, driver_api.hpp, shared_library.hpp), one copy for
// kforge and its shipped runtime; this adds kforge::Error and one process-wide driver.
#pragma once

#include <cuda.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/util/dynamic_library.hpp"
#include "kforge/kernels/cuda_paths.hpp"
#include "kforge/kernels/driver_api.hpp"

namespace kforge {

// The places searched: the kernel library's (kforge/kernels/cuda_paths.hpp).
using kernels::cuda_include_roots_for;
using kernels::cuda_library_candidates;

// The driver API that kforge uses: the kernel library's one driver table, resolved from libcuda
// at run time under the names cuda.h maps each function to.
using CudaDriverApi = kernels::DriverApi;

class CudaDriver {
 public:
  // Opens libcuda.so.1; throws Error naming what was tried when the driver is absent.
  static CudaDriver& instance();

  const CudaDriverApi& api() const { return api_; }
  const std::string& path() const { return library_.path(); }

  // Throws Error("<function> failed: CUDA_ERROR_X: <description>") unless result is success.
  void check(CUresult result, const char* function) const;

 private:
  CudaDriver();
  DynamicLibrary library_;
  CudaDriverApi api_{};
};

}  // namespace kforge
