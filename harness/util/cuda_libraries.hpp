// Where kforge looks for the CUDA libraries it opens at run time and for the CUDA headers a
// candidate may include, and the CUDA driver API (libcuda) as a table of functions with one
// checked-call helper for CUresult.
// libcuda belongs to the driver; NVRTC and CUPTI come from a CUDA toolkit or from the
// nvidia-* Python packages beside PyTorch. KFORGE_CUDA_LIB_DIRS (colon-separated) is searched
// first.
#pragma once

#include <cuda.h>

#include <filesystem>
#include <optional>
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

// The folders whose CUDA headers (cuda_fp16.h, cuda_bf16.h, CCCL's cuda/std, cub, thrust) a
// candidate may include, in search order (CCCL first, as nvcc searches them), existing and
// canonical. Looked for first beside `nvrtc_library`, the NVRTC file in use, as each layout
// places them:
//   toolkit          <root>/lib64/libnvrtc.so.13   <root>/include/cccl, <root>/include
//   pip, CUDA 13     nvidia/cu13/lib/              nvidia/cu13/include/cccl, nvidia/cu13/include
//   pip, CUDA 12     nvidia/cuda_nvrtc/lib/        nvidia/cuda_cccl/include,
//   nvidia/cuda_runtime/include
// then in $CUDA_HOME, $CUDA_PATH and /usr/local/cuda. Headers of one installation only: the
// first that has cuda_fp16.h (mixing two versions' headers helps nobody).
std::vector<std::filesystem::path> cuda_include_roots_for(
    const std::optional<std::filesystem::path>& nvrtc_library);

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
  // Contexts, modules, memory, launches and streams, for the GPU worker.
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuCtxSetLimit)(CUlimit, size_t);
  CUresult (*cuMemGetInfo)(size_t*, size_t*);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuFuncSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*cuFuncGetAttribute)(int*, CUfunction_attribute, CUfunction);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
                             unsigned int, unsigned int, unsigned int, CUstream, void**, void**);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuMemsetD32)(CUdeviceptr, unsigned int, size_t);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
  CUresult (*cuStreamCreate)(CUstream*, unsigned int);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
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
