// Where kforge looks for the CUDA libraries it opens at run time, and the CUDA driver API
// (libcuda) as a table of functions with one checked-call helper for CUresult.
// libcuda belongs to the driver; NVRTC and CUPTI come from a CUDA toolkit or from the
// nvidia-* Python packages beside PyTorch. KFORGE_CUDA_LIB_DIRS (colon-separated) is searched
// first.
#pragma once

#include <cuda.h>

#include <string>
#include <string_view>
#include <vector>

#include "harness/util/dynamic_library.hpp"

namespace kforge {

// Names to try, in order, for a library whose file names start with `stem` ("libnvrtc",
// "libcupti"), for the given major versions: the KFORGE_CUDA_LIB_DIRS folders, the bare sonames
// (the dynamic linker's own search), then CUDA_HOME, CUDA_PATH and /usr/local/cuda.
std::vector<std::string> cuda_library_candidates(std::string_view stem,
                                                 const std::vector<int>& majors);

// The subset of the driver API that kforge uses, resolved from libcuda at run time.
struct CudaDriverApi {
  CUresult (*cuInit)(unsigned int);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
};

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
