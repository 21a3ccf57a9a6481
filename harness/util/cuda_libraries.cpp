#include "harness/util/cuda_libraries.hpp"

#include "harness/util/error.hpp"
#include "kforge/kernels/error.hpp"

namespace kforge {

CudaDriver& CudaDriver::instance() {
  static CudaDriver driver;
  return driver;
}

CudaDriver::CudaDriver()
    : library_(DynamicLibrary::open({"libcuda.so.1", "libcuda.so"}, "the CUDA driver (libcuda)")) {
  try {
    api_ = kernels::resolve_driver_api(library_.library());
  } catch (const kernels::KernelError& missing) {
    throw Error(missing.problem(), missing.where());
  }
}

void CudaDriver::check(CUresult result, const char* function) const {
  if (result == CUDA_SUCCESS)
    return;
  throw Error(kernels::describe_driver_failure(api_, result, function), path());
}

}  // namespace kforge
